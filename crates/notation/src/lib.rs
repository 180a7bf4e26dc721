//! Pure Notary Project (Notation) signature verification.
//!
//! This crate does no I/O of its own: no network, no clock and (unless the `fs`
//! feature is enabled for trust-store loading) no filesystem. Callers hand in the
//! envelope bytes, the artifact descriptor, a parsed trust policy, a trust store,
//! the verification time and a revocation checker, and get back a typed verdict.
//!
//! # Verifying a signature
//!
//! 1. Parse the trust policy ([`policy::TrustPolicyDocument::from_json`]) and build the
//!    [`store::TrustStore`] it refers to.
//! 2. For each signature of the artifact (the caller bounds how many: the engine's
//!    `maxSignaturesPerSubject`), call [`verify`] with the envelope bytes and media type
//!    (the signature manifest's layer), the artifact descriptor and reference, the clock and a
//!    [`revocation::RevocationChecker`]. Long-running callers keep one [`ChainCache`] and call
//!    [`verify_with_cache`] instead, so a signing chain seen before is not validated again.
//! 3. The artifact is verified when one [`Outcome::is_verified`]; report
//!    [`Outcome::warnings`] (logged failures) and [`Outcome::failure`] otherwise.
//!
//! Lower-level pieces are public for tools: [`envelope::parse`] (envelope decoding and
//! header rules), [`envelope::ParsedEnvelope::verify_signature`],
//! [`cert::validate_signing_chain`] and [`payload::Payload`].
#![deny(missing_docs)]

pub mod alg;
pub mod cert;
pub mod descriptor;
pub mod dn;
pub mod envelope;
pub mod error;
pub mod limits;
pub mod outcome;
pub mod payload;
pub mod policy;
pub mod revocation;
pub mod sign;
pub mod store;
pub mod timestamp;
pub mod verifier;

pub use cert::ChainCache;
pub use descriptor::Descriptor;
pub use error::Error;
pub use limits::Limits;
pub use outcome::{CheckResult, Outcome, SignerInfo};
pub use verifier::{verify, verify_with_cache, VerifyRequest};
