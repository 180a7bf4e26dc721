//! Security checks of imagegate (issue 6). The checks themselves are integration tests in
//! `tests/security/`; `docs/security.md` at the repository root lists which test backs
//! which claim of the threat model.
//!
//! The library holds only what the dependency-policy test needs and deserves unit tests of
//! its own: an evaluator of SPDX license expressions against an allowlist ([`spdx`]).
#![deny(missing_docs)]

pub mod spdx;
