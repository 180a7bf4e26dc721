//! Integration tests of the provider over real TLS on loopback.

// `pub` in a test binary only shares helpers between its modules.
#![allow(unreachable_pub)]
// Test helpers may unwrap and panic: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod deadline;
mod mtls;
mod ops;
mod pipelining;
mod reload;
mod support;
mod wire;
