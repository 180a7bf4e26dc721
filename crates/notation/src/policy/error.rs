//! Trust-policy errors. Messages follow notation-go's wording (notation.md §15) so that logs and
//! Ratify-compatible results read the same as with the Go verifier.

use crate::dn::DnError;

/// Error of trust-policy loading or statement lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No statement's `registryScopes` covers the artifact (nor is there a `*` statement).
    #[error("artifact {reference:?} has no applicable oci trust policy statement. Trust policy applicability for a given artifact is determined by registryScopes; add a statement whose registryScopes lists its repository or \"*\"")]
    NoApplicableTrustPolicy {
        /// The artifact reference that was looked up.
        reference: String,
    },
    /// The artifact reference is not `registry/repository@digest`.
    #[error("artifact URI {reference:?} could not be parsed, make sure it is the fully qualified OCI artifact URI without the scheme/protocol. e.g domain.com:80/my/repository@sha256:digest")]
    InvalidReference {
        /// The reference that was looked up.
        reference: String,
    },
    /// The trust policy document is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidPolicy),
}

/// Why a trust policy document is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPolicy {
    /// The document is larger than the accepted maximum.
    #[error("oci trust policy document is {size} bytes, larger than the {max} bytes accepted")]
    TooLarge {
        /// Size of the document.
        size: usize,
        /// Maximum accepted size.
        max: usize,
    },
    /// A list in the document is longer than the accepted maximum.
    #[error("oci trust policy document has {count} {what}, more than the {max} accepted")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many there are.
        count: usize,
        /// Maximum accepted.
        max: usize,
    },
    /// The document is not JSON of the expected shape.
    #[error("malformed trust policy document: {0}")]
    Json(String),
    /// `version` is missing or empty.
    #[error("oci trust policy document has empty version, version must be specified")]
    EmptyVersion,
    /// `version` is not `1.0`.
    #[error("oci trust policy document uses unsupported version {0:?}, the supported version is \"1.0\"")]
    UnsupportedVersion(String),
    /// `trustPolicies` is missing or empty.
    #[error("oci trust policy document can not have zero trust policy statements")]
    NoStatements,
    /// Two statements share a name.
    #[error("multiple oci trust policy statements use the same name {0:?}, statement names must be unique")]
    DuplicateName(String),
    /// A statement has no name.
    #[error("oci trust policy: a trust policy statement is missing a name, every statement requires a name")]
    MissingName,
    /// `signatureVerification` is invalid.
    #[error("oci trust policy: trust policy statement {statement:?} has invalid signatureVerification: {reason}")]
    Level {
        /// Statement name.
        statement: String,
        /// What is wrong.
        reason: String,
    },
    /// A `skip` statement lists trust stores or identities.
    #[error("oci trust policy: trust policy statement {0:?} is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped")]
    SkipWithTrust(String),
    /// A non-`skip` statement lacks trust stores or identities.
    #[error("oci trust policy: trust policy statement {0:?} is either missing trust stores or trusted identities, both must be specified")]
    MissingTrust(String),
    /// A `trustStores` value has no `:`.
    #[error("oci trust policy: trust policy statement {statement:?} is missing separator in trust store value {value:?}. The required format is <TrustStoreType>:<TrustStoreName>")]
    StoreMissingSeparator {
        /// Statement name.
        statement: String,
        /// The offending value.
        value: String,
    },
    /// A `trustStores` value has an unknown type.
    #[error("oci trust policy: trust policy statement {statement:?} uses an unsupported trust store type {store_type:?} in trust store value {value:?}, supported types are \"ca\", \"signingAuthority\" and \"tsa\"")]
    StoreType {
        /// Statement name.
        statement: String,
        /// The unknown type.
        store_type: String,
        /// The offending value.
        value: String,
    },
    /// A `trustStores` value has an invalid store name.
    #[error("oci trust policy: trust policy statement {statement:?} uses an unsupported trust store name {name:?} in trust store value {value:?}. Named store name needs to follow [a-zA-Z0-9_.-]+ format")]
    StoreName {
        /// Statement name.
        statement: String,
        /// The invalid name.
        name: String,
        /// The offending value.
        value: String,
    },
    /// `*` is combined with other trusted identities.
    #[error("oci trust policy: trust policy statement {0:?} uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values")]
    WildcardIdentityMixed(String),
    /// A trusted identity is the empty string.
    #[error("oci trust policy: trust policy statement {0:?} has an empty trusted identity")]
    EmptyIdentity(String),
    /// A trusted identity has no `:`.
    #[error("oci trust policy: trust policy statement {statement:?} has trusted identity {identity:?} missing separator")]
    IdentityMissingSeparator {
        /// Statement name.
        statement: String,
        /// The offending identity.
        identity: String,
    },
    /// An `x509.subject:` identity has no value.
    #[error("oci trust policy: trust policy statement {statement:?} has trusted identity {identity:?} without an identity value")]
    EmptyIdentityValue {
        /// Statement name.
        statement: String,
        /// The offending identity.
        identity: String,
    },
    /// An `x509.subject:` identity is not a valid distinguished name.
    #[error("oci trust policy: trust policy statement {statement:?} has trusted identity {identity:?} with invalid identity value: {source}")]
    IdentityDn {
        /// Statement name.
        statement: String,
        /// The offending identity.
        identity: String,
        /// Why the DN is invalid.
        source: DnError,
    },
    /// One `x509.subject` identity is a subset of another in the same statement.
    #[error("oci trust policy: trust policy statement {statement:?} has overlapping x509 trustedIdentities, {first:?} overlaps with {second:?}")]
    OverlappingIdentities {
        /// Statement name.
        statement: String,
        /// The identity that is a subset of `second`.
        first: String,
        /// The identity it overlaps with.
        second: String,
    },
    /// `verifyTimestamp` is neither `always` nor `afterCertExpiry`.
    #[error("oci trust policy: trust policy statement {statement:?} has invalid signatureVerification: verifyTimestamp {value:?} is not supported, supported values are \"always\" and \"afterCertExpiry\"")]
    VerifyTimestamp {
        /// Statement name.
        statement: String,
        /// The offending value.
        value: String,
    },
    /// A statement has no registry scope.
    #[error("oci trust policy statement {0:?} has zero registry scopes, it must specify registry scopes with at least one value")]
    NoScopes(String),
    /// `*` is combined with other registry scopes.
    #[error("oci trust policy statement {0:?} uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values")]
    WildcardScopeMixed(String),
    /// A registry scope contains `*` next to other characters.
    #[error("registry scope {0:?} with wild card(s) is not valid, make sure it is a fully qualified repository without wild card(s), for example domain.com/my/repository")]
    ScopeWildcard(String),
    /// A registry scope is not a fully qualified repository.
    #[error("registry scope {0:?} is not valid, make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout")]
    ScopeFormat(String),
    /// A registry scope appears in several statements.
    #[error("registry scope {0:?} is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement")]
    ScopeInMultipleStatements(String),
}
