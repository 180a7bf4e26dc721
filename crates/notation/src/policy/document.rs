//! The trust policy document: JSON shape, validation and statement lookup.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::dn::DistinguishedName;

use super::error::{InvalidPolicy, PolicyError};
use super::kinds::{is_valid_store_name, StoreType, TrustStoreRef, VerifyTimestamp};
use super::level::{LevelName, VerificationLevel};
use super::scope::{validate_scope, WILDCARD};
use super::statement::{TrustPolicyStatement, TrustedIdentity, X509_SUBJECT_PREFIX};

/// The only trust policy version defined by the specification.
pub const SUPPORTED_VERSION: &str = "1.0";
/// Largest accepted document (bytes).
pub const MAX_DOCUMENT_SIZE: usize = 1024 * 1024;
/// Most statements accepted in one document.
pub const MAX_STATEMENTS: usize = 1000;
/// Most entries accepted in one statement's `registryScopes`, `trustStores` or
/// `trustedIdentities` (identity overlap checking is quadratic).
pub const MAX_LIST_ENTRIES: usize = 1000;

#[derive(Deserialize)]
struct RawDocument {
    version: Option<String>,
    #[serde(rename = "trustPolicies")]
    trust_policies: Option<Vec<RawStatement>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatement {
    name: Option<String>,
    registry_scopes: Option<Vec<String>>,
    signature_verification: Option<RawSignatureVerification>,
    trust_stores: Option<Vec<String>>,
    trusted_identities: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSignatureVerification {
    level: Option<String>,
    #[serde(rename = "override")]
    overrides: Option<BTreeMap<String, String>>,
    verify_timestamp: Option<String>,
}

/// A parsed and validated OCI trust policy document (version `1.0`).
///
/// Unknown JSON fields are ignored, as in notation-go; field names are matched exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicyDocument {
    version: String,
    statements: Vec<TrustPolicyStatement>,
}

impl TrustPolicyDocument {
    /// Parse and validate a `trustpolicy.json` / `trustpolicy.oci.json` document.
    ///
    /// Every rule of notation-go's `Document.Validate` is applied, in the same order, with the
    /// same messages: version, at least one statement, unique names, level/override validity,
    /// `skip` without stores/identities, stores and identities present otherwise,
    /// `<type>:<name>` store values, identity syntax and overlap, `verifyTimestamp` values,
    /// registry scope syntax, `*` alone, and each scope in only one statement.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        Ok(Self::parse(bytes)?)
    }

    fn parse(bytes: &[u8]) -> Result<Self, InvalidPolicy> {
        if bytes.len() > MAX_DOCUMENT_SIZE {
            return Err(InvalidPolicy::TooLarge {
                size: bytes.len(),
                max: MAX_DOCUMENT_SIZE,
            });
        }
        let raw: RawDocument =
            serde_json::from_slice(bytes).map_err(|e| InvalidPolicy::Json(e.to_string()))?;
        let version = raw.version.unwrap_or_default();
        if version.is_empty() {
            return Err(InvalidPolicy::EmptyVersion);
        }
        if version != SUPPORTED_VERSION {
            return Err(InvalidPolicy::UnsupportedVersion(version));
        }
        let raw_statements = raw.trust_policies.unwrap_or_default();
        if raw_statements.is_empty() {
            return Err(InvalidPolicy::NoStatements);
        }
        check_count(
            "trust policy statements",
            raw_statements.len(),
            MAX_STATEMENTS,
        )?;
        let mut names = HashSet::new();
        let mut statements = Vec::with_capacity(raw_statements.len());
        for raw in raw_statements {
            let name = raw.name.clone().unwrap_or_default();
            if !names.insert(name.clone()) {
                return Err(InvalidPolicy::DuplicateName(name));
            }
            statements.push(parse_statement(raw)?);
        }
        validate_scopes(&statements)?;
        Ok(Self {
            version,
            statements,
        })
    }

    /// The document version (always `1.0`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// All statements, in document order.
    pub fn statements(&self) -> &[TrustPolicyStatement] {
        &self.statements
    }

    /// The statement applicable to an OCI artifact reference such as
    /// `registry.io/repo@sha256:…`: the statement whose `registryScopes` contains the exact
    /// repository (the part before the last `@`), else the `*` statement.
    pub fn statement_for(
        &self,
        artifact_reference: &str,
    ) -> Result<&TrustPolicyStatement, PolicyError> {
        let invalid = || PolicyError::InvalidReference {
            reference: artifact_reference.to_owned(),
        };
        let (repository, _) = artifact_reference.rsplit_once('@').ok_or_else(invalid)?;
        validate_scope(repository).map_err(|_| invalid())?;
        let has_scope =
            |s: &TrustPolicyStatement, scope: &str| s.registry_scopes.iter().any(|x| x == scope);
        self.statements
            .iter()
            .find(|s| has_scope(s, repository))
            .or_else(|| self.statements.iter().find(|s| has_scope(s, WILDCARD)))
            .ok_or_else(|| PolicyError::NoApplicableTrustPolicy {
                reference: artifact_reference.to_owned(),
            })
    }
}

fn check_count(what: &'static str, count: usize, max: usize) -> Result<(), InvalidPolicy> {
    if count > max {
        Err(InvalidPolicy::TooMany { what, count, max })
    } else {
        Ok(())
    }
}

/// notation-go `validatePolicyCore` for one statement.
fn parse_statement(raw: RawStatement) -> Result<TrustPolicyStatement, InvalidPolicy> {
    let name = raw.name.unwrap_or_default();
    if name.is_empty() {
        return Err(InvalidPolicy::MissingName);
    }
    let verification = raw.signature_verification;
    let level_text = verification
        .as_ref()
        .and_then(|v| v.level.as_deref())
        .unwrap_or("");
    let overrides = verification.as_ref().and_then(|v| v.overrides.as_ref());
    let level = VerificationLevel::parse(
        level_text,
        overrides
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|reason| InvalidPolicy::Level {
        statement: name.clone(),
        reason,
    })?;
    let verify_timestamp = match verification
        .as_ref()
        .and_then(|v| v.verify_timestamp.as_deref())
    {
        None | Some("") | Some("always") => VerifyTimestamp::Always,
        Some("afterCertExpiry") => VerifyTimestamp::AfterCertExpiry,
        Some(other) => {
            return Err(InvalidPolicy::VerifyTimestamp {
                statement: name,
                value: other.to_owned(),
            })
        }
    };
    let registry_scopes = raw.registry_scopes.unwrap_or_default();
    let raw_stores = raw.trust_stores.unwrap_or_default();
    let raw_identities = raw.trusted_identities.unwrap_or_default();
    check_count(
        "registry scopes in one statement",
        registry_scopes.len(),
        MAX_LIST_ENTRIES,
    )?;
    check_count(
        "trust stores in one statement",
        raw_stores.len(),
        MAX_LIST_ENTRIES,
    )?;
    check_count(
        "trusted identities in one statement",
        raw_identities.len(),
        MAX_LIST_ENTRIES,
    )?;

    let (trust_stores, trusted_identities) = if level.base() == LevelName::Skip {
        if !raw_stores.is_empty() || !raw_identities.is_empty() {
            return Err(InvalidPolicy::SkipWithTrust(name));
        }
        (Vec::new(), Vec::new())
    } else {
        if raw_stores.is_empty() || raw_identities.is_empty() {
            return Err(InvalidPolicy::MissingTrust(name));
        }
        (
            parse_trust_stores(&name, &raw_stores)?,
            parse_identities(&name, &raw_identities)?,
        )
    };
    Ok(TrustPolicyStatement {
        name,
        registry_scopes,
        level,
        trust_stores,
        trusted_identities,
        raw_identities,
        verify_timestamp,
    })
}

fn parse_trust_stores(
    statement: &str,
    values: &[String],
) -> Result<Vec<TrustStoreRef>, InvalidPolicy> {
    values
        .iter()
        .map(|value| {
            let (store_type, name) =
                value
                    .split_once(':')
                    .ok_or_else(|| InvalidPolicy::StoreMissingSeparator {
                        statement: statement.to_owned(),
                        value: value.clone(),
                    })?;
            let store_type =
                StoreType::from_name(store_type).ok_or_else(|| InvalidPolicy::StoreType {
                    statement: statement.to_owned(),
                    store_type: store_type.to_owned(),
                    value: value.clone(),
                })?;
            if !is_valid_store_name(name) {
                return Err(InvalidPolicy::StoreName {
                    statement: statement.to_owned(),
                    name: name.to_owned(),
                    value: value.clone(),
                });
            }
            Ok(TrustStoreRef {
                store_type,
                name: name.to_owned(),
            })
        })
        .collect()
}

/// notation-go `validateTrustedIdentities` (and `validateOverlappingDNs`).
fn parse_identities(
    statement: &str,
    values: &[String],
) -> Result<Vec<TrustedIdentity>, InvalidPolicy> {
    if values.len() > 1 && values.iter().any(|v| v == WILDCARD) {
        return Err(InvalidPolicy::WildcardIdentityMixed(statement.to_owned()));
    }
    let mut identities = Vec::with_capacity(values.len());
    let mut subjects: Vec<(&str, DistinguishedName)> = Vec::new();
    for identity in values {
        if identity.is_empty() {
            return Err(InvalidPolicy::EmptyIdentity(statement.to_owned()));
        }
        if identity == WILDCARD {
            identities.push(TrustedIdentity::Any);
            continue;
        }
        let (prefix, value) =
            identity
                .split_once(':')
                .ok_or_else(|| InvalidPolicy::IdentityMissingSeparator {
                    statement: statement.to_owned(),
                    identity: identity.clone(),
                })?;
        if prefix != X509_SUBJECT_PREFIX {
            identities.push(TrustedIdentity::Other(identity.clone()));
            continue;
        }
        if value.is_empty() {
            return Err(InvalidPolicy::EmptyIdentityValue {
                statement: statement.to_owned(),
                identity: identity.clone(),
            });
        }
        let dn = DistinguishedName::parse(value).map_err(|source| InvalidPolicy::IdentityDn {
            statement: statement.to_owned(),
            identity: identity.clone(),
            source,
        })?;
        subjects.push((identity, dn.clone()));
        identities.push(TrustedIdentity::X509Subject(dn));
    }
    for (i, (first, a)) in subjects.iter().enumerate() {
        for (j, (second, b)) in subjects.iter().enumerate() {
            if i != j && a.is_subset_of(b) {
                return Err(InvalidPolicy::OverlappingIdentities {
                    statement: statement.to_owned(),
                    first: (*first).to_owned(),
                    second: (*second).to_owned(),
                });
            }
        }
    }
    Ok(identities)
}

/// notation-go `validateRegistryScopes`.
fn validate_scopes(statements: &[TrustPolicyStatement]) -> Result<(), InvalidPolicy> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut repeated: Option<&str> = None;
    for statement in statements {
        let scopes = &statement.registry_scopes;
        if scopes.is_empty() {
            return Err(InvalidPolicy::NoScopes(statement.name.clone()));
        }
        if scopes.len() > 1 && scopes.iter().any(|s| s == WILDCARD) {
            return Err(InvalidPolicy::WildcardScopeMixed(statement.name.clone()));
        }
        for scope in scopes {
            if scope != WILDCARD {
                validate_scope(scope)?;
            }
            if !seen.insert(scope) && repeated.is_none() {
                repeated = Some(scope);
            }
        }
    }
    match repeated {
        Some(scope) => Err(InvalidPolicy::ScopeInMultipleStatements(scope.to_owned())),
        None => Ok(()),
    }
}
