//! Small vocabulary types of the trust policy: checks, actions, store types and references.

use std::fmt;

/// A validation step of signature verification (notation-go `ValidationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckKind {
    /// Envelope parsing and cryptographic signature check. Always enforced.
    Integrity,
    /// The chain leads to a trusted certificate and the signer identity is trusted.
    Authenticity,
    /// Certificates valid at the authentic time (timestamp, authentic signing time or now).
    AuthenticTimestamp,
    /// The signature's own `expiry` attribute.
    Expiry,
    /// Revocation status of the signing chain.
    Revocation,
}

impl CheckKind {
    /// All checks, in the order the specification lists them.
    pub const ALL: [CheckKind; 5] = [
        CheckKind::Integrity,
        CheckKind::Authenticity,
        CheckKind::AuthenticTimestamp,
        CheckKind::Expiry,
        CheckKind::Revocation,
    ];

    /// The name used in trust policies and messages (`authenticTimestamp`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integrity => "integrity",
            Self::Authenticity => "authenticity",
            Self::AuthenticTimestamp => "authenticTimestamp",
            Self::Expiry => "expiry",
            Self::Revocation => "revocation",
        }
    }

    /// Parse a policy name such as `authenticTimestamp`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do when a check fails (notation-go `ValidationAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// A failure stops verification of the signature.
    Enforce,
    /// A failure is recorded as a warning and verification continues.
    Log,
    /// The check is not run.
    Skip,
}

impl Action {
    /// All actions.
    pub const ALL: [Action; 3] = [Action::Enforce, Action::Log, Action::Skip];

    /// The name used in trust policies (`enforce`, `log`, `skip`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Log => "log",
            Self::Skip => "skip",
        }
    }

    /// Parse a policy name such as `log`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When the timestamp countersignature is verified (`signatureVerification.verifyTimestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VerifyTimestamp {
    /// `always` (the default): verify the timestamp whenever a `tsa` store is configured.
    #[default]
    Always,
    /// `afterCertExpiry`: verify it only when some signing-chain certificate has expired.
    AfterCertExpiry,
}

impl VerifyTimestamp {
    /// The name used in trust policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::AfterCertExpiry => "afterCertExpiry",
        }
    }
}

impl fmt::Display for VerifyTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kind of trust store (`x509/<type>/<name>/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreType {
    /// `ca`: roots for the `notary.x509` signing scheme.
    Ca,
    /// `signingAuthority`: roots for `notary.x509.signingAuthority`.
    SigningAuthority,
    /// `tsa`: roots of timestamping authorities.
    Tsa,
}

impl StoreType {
    /// All store types.
    pub const ALL: [StoreType; 3] = [StoreType::Ca, StoreType::SigningAuthority, StoreType::Tsa];

    /// The name used in trust policies and directory layouts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ca => "ca",
            Self::SigningAuthority => "signingAuthority",
            Self::Tsa => "tsa",
        }
    }

    /// Parse `ca`, `signingAuthority` or `tsa`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for StoreType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `<type>:<name>` reference to a named trust store, from a statement's `trustStores`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrustStoreRef {
    /// Store type.
    pub store_type: StoreType,
    /// Store name (`[a-zA-Z0-9_.-]+`).
    pub name: String,
}

impl fmt::Display for TrustStoreRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.store_type, self.name)
    }
}

/// Whether `name` is a valid named-store name (`[a-zA-Z0-9_.-]+`, notation-go
/// `file.IsValidFileName`).
pub fn is_valid_store_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
