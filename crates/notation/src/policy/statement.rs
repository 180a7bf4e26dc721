//! One trust policy statement and its trusted identities.

use std::fmt::Write as _;

use crate::dn::DistinguishedName;

use super::kinds::{Action, CheckKind, TrustStoreRef, VerifyTimestamp};
use super::level::VerificationLevel;

/// The prefix of X.509 subject identities.
pub(crate) const X509_SUBJECT_PREFIX: &str = "x509.subject";

/// A trusted identity of a statement (`trustedIdentities`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustedIdentity {
    /// `*`: any signer whose chain leads to the statement's trust stores.
    Any,
    /// `x509.subject: <DN>`: the leaf certificate's subject must contain this DN.
    X509Subject(DistinguishedName),
    /// An identity with another `<prefix>:` (meant for verification plugins); the built-in
    /// matcher ignores it. Holds the raw value.
    Other(String),
}

/// One statement of an OCI trust policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicyStatement {
    pub(crate) name: String,
    pub(crate) registry_scopes: Vec<String>,
    pub(crate) level: VerificationLevel,
    pub(crate) trust_stores: Vec<TrustStoreRef>,
    pub(crate) trusted_identities: Vec<TrustedIdentity>,
    /// The identities as written in the document (same order as `trusted_identities`).
    pub(crate) raw_identities: Vec<String>,
    pub(crate) verify_timestamp: VerifyTimestamp,
}

impl TrustPolicyStatement {
    /// The statement name (unique within the document).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry scopes (`*` for the global statement).
    pub fn registry_scopes(&self) -> &[String] {
        &self.registry_scopes
    }

    /// The verification level, with overrides.
    pub fn level(&self) -> &VerificationLevel {
        &self.level
    }

    /// The action applied when `check` fails (level table plus `override`).
    pub fn action(&self, check: CheckKind) -> Action {
        self.level.action(check)
    }

    /// Whether signature verification is skipped entirely (level `skip`).
    pub fn is_skip(&self) -> bool {
        self.level.base() == super::LevelName::Skip
    }

    /// The referenced trust stores, in document order.
    pub fn trust_stores(&self) -> &[TrustStoreRef] {
        &self.trust_stores
    }

    /// The referenced trust stores of one type, in document order.
    pub fn trust_stores_of(
        &self,
        store_type: super::StoreType,
    ) -> impl Iterator<Item = &TrustStoreRef> + '_ {
        self.trust_stores
            .iter()
            .filter(move |s| s.store_type == store_type)
    }

    /// The trusted identities, in document order.
    pub fn trusted_identities(&self) -> &[TrustedIdentity] {
        &self.trusted_identities
    }

    /// The trusted identities as written in the document.
    pub fn raw_trusted_identities(&self) -> &[String] {
        &self.raw_identities
    }

    /// When the timestamp countersignature is verified (default `always`).
    pub fn verify_timestamp(&self) -> VerifyTimestamp {
        self.verify_timestamp
    }

    /// True when the trusted identities are `["*"]` or some `x509.subject` identity matches the
    /// leaf certificate's subject (see [`DistinguishedName::is_matched_by`]). Identities with
    /// other prefixes never match (as in notation-go without a plugin).
    pub fn identity_matches(&self, leaf_subject: &DistinguishedName) -> bool {
        self.trusted_identities
            .iter()
            .any(|identity| match identity {
                TrustedIdentity::Any => true,
                TrustedIdentity::X509Subject(dn) => dn.is_matched_by(leaf_subject),
                TrustedIdentity::Other(_) => false,
            })
    }

    /// The `x509.subject` identities rendered like Go's `%q` of `[]map[string]string`, as in
    /// notation-go's message "signing certificate from the digital signature does not match the
    /// X.509 trusted identities %q defined in the trust policy %q", e.g.
    /// `[map["C":"US" "CN":"e2e" "L":"Seattle" "O":"Notary" "ST":"WA"]]`.
    pub fn x509_identities_go_repr(&self) -> String {
        let mut out = String::from("[");
        let subjects = self.trusted_identities.iter().filter_map(|i| match i {
            TrustedIdentity::X509Subject(dn) => Some(dn),
            _ => None,
        });
        for (i, dn) in subjects.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str("map[");
            for (j, (k, v)) in dn.attribute_map().iter().enumerate() {
                if j > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{k:?}:{v:?}");
            }
            out.push(']');
        }
        out.push(']');
        out
    }
}
