//! Security checks (issue 6). One test binary, one module per attack surface.
#![allow(unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod dependencies;
mod mtls;
mod promises;
mod redirects;
mod support;
