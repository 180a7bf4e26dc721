//! Trust policy (Notary Project `trust-store-trust-policy` specification, version `1.0`).
//!
//! [`TrustPolicyDocument::from_json`] parses and validates an OCI trust policy document with
//! notation-go's rules and messages; [`TrustPolicyDocument::statement_for`] selects the
//! statement for an artifact; a [`TrustPolicyStatement`] answers which stores to use, which
//! identities to trust and what [`Action`] to take when a [`CheckKind`] fails.

mod document;
mod error;
mod kinds;
mod level;
mod scope;
mod statement;

pub use document::{
    TrustPolicyDocument, MAX_DOCUMENT_SIZE, MAX_LIST_ENTRIES, MAX_STATEMENTS, SUPPORTED_VERSION,
};
pub use error::{InvalidPolicy, PolicyError};
pub use kinds::{
    is_valid_store_name, Action, CheckKind, StoreType, TrustStoreRef, VerifyTimestamp,
};
pub use level::{LevelName, VerificationLevel};
pub use statement::{TrustPolicyStatement, TrustedIdentity};
