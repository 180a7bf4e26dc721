//! Configuration errors. Each names the file and field path that is wrong.

/// Why a configuration could not be loaded. The engine keeps running on the previous
/// configuration when a reload fails with one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {reason}; check that it exists and is readable")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A file is not valid JSON or YAML.
    #[error("{path} is not valid {format}: {reason}")]
    Syntax {
        /// The path.
        path: String,
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A field has a wrong value, or a required field is missing.
    #[error("{field}: {reason}")]
    Invalid {
        /// Where: a field path such as `verifier.plugins[0].trustPolicyDoc.trustPolicies[0]`,
        /// prefixed with the CRD file and object for CRD input.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
