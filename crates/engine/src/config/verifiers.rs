//! A configured verifier as plain data ([`VerifierSpec`]): what `verifier.plugins[]` and
//! `Verifier` CRDs say. The executor builds the working verifier from it
//! ([`crate::verifier::build`]) when a configuration generation takes effect, so the
//! configuration never depends on the verification machinery.

use std::sync::Arc;

use imagegate_notation::policy::TrustPolicyDocument;
use imagegate_notation::store::TrustStore;

/// Which referrer artifact types a verifier handles (Ratify `artifactTypes`, comma-separated,
/// `*` for all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactTypes {
    /// `*`: every artifact type.
    Any,
    /// Exactly these.
    List(Vec<String>),
}

impl ArtifactTypes {
    /// Parses Ratify's comma-separated form; blanks are ignored.
    pub fn parse(s: &str) -> Self {
        let items: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if items.iter().any(|t| t == "*") {
            Self::Any
        } else {
            Self::List(items)
        }
    }

    /// Whether `artifact_type` is handled.
    pub fn matches(&self, artifact_type: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(items) => items.iter().any(|t| t == artifact_type),
        }
    }
}

/// One configured verifier: `name`, `type`, `artifactTypes` and its trust material.
#[derive(Debug, Clone)]
pub struct VerifierSpec {
    /// The configured name (`name`; CRD `metadata.name`).
    pub name: String,
    /// The verifier type (`type`, else `name`), e.g. `notation`.
    pub kind: String,
    /// The artifact types it handles.
    pub artifact_types: ArtifactTypes,
    /// The trust policy document.
    pub policy: Arc<TrustPolicyDocument>,
    /// The trust stores the policy refers to.
    pub store: Arc<TrustStore>,
}

impl VerifierSpec {
    /// The configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The artifact types it handles.
    pub fn artifact_types(&self) -> &ArtifactTypes {
        &self.artifact_types
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_types() {
        let t = ArtifactTypes::parse("application/a, application/b");
        assert!(t.matches("application/a") && t.matches("application/b"));
        assert!(!t.matches("application/c"));
        assert_eq!(ArtifactTypes::parse("x,*"), ArtifactTypes::Any);
        assert!(!ArtifactTypes::parse("").matches(""));
    }
}
