//! Pure Notary Project (Notation) signature verification.
//!
//! This crate does no I/O of its own: no network, no clock and (unless the `fs`
//! feature is enabled for trust-store loading) no filesystem. Callers hand in the
//! envelope bytes, the artifact descriptor, a parsed trust policy, a trust store,
//! the verification time and a revocation checker, and get back a typed verdict.
#![deny(missing_docs)]

pub mod descriptor;
pub mod dn;
pub mod envelope;
pub mod error;
pub mod limits;
pub mod payload;
pub mod policy;
pub mod revocation;
pub mod store;
pub mod timestamp;
