//! Why a string is not an image reference.

/// The reasons [`super::Reference::parse`] refuses an input. The Display text is
/// the `reason` of [`crate::OciError::InvalidReference`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum RefError {
    /// Longer than the input bound.
    #[error("it is longer than {} bytes", super::grammar::INPUT_MAX)]
    InputTooLong,
    /// The empty string.
    #[error("the reference is empty")]
    Empty,
    /// A bare 64-hex identifier, which Docker refuses as a name.
    #[error(
        "it is a bare 64-character hex string, which Docker refuses as a repository name; \
         write <repository>@sha256:<hex> instead"
    )]
    HexIdentifier,
    /// The first component was taken as a registry but is not `host[:port]`.
    #[error(
        "the registry part must be a host name, an IPv4 address or a bracketed IPv6 address, \
         optionally followed by :<port>"
    )]
    Host,
    /// The repository path, or the overall shape, is malformed.
    #[error(
        "it does not match [registry/]repository[:tag][@digest] (lowercase letters, digits, \
         separators . _ __ - and /)"
    )]
    Format,
    /// The repository path would be valid if it were lowercase.
    #[error("repository name must be lowercase")]
    Uppercase,
    /// The repository path is longer than Docker allows.
    #[error(
        "the repository name is longer than {} characters",
        super::grammar::NAME_MAX
    )]
    NameTooLong,
    /// The tag is malformed.
    #[error("the tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")]
    Tag,
    /// The digest is not `algorithm:hex` with lowercase hex.
    #[error(
        "the digest must look like sha256:<64 lowercase hex digits> or \
         sha512:<128 lowercase hex digits>"
    )]
    DigestFormat,
    /// The digest's hex part has the wrong length for its algorithm.
    #[error(
        "the digest has the wrong number of hex digits for its algorithm \
         (sha256 needs 64, sha512 needs 128)"
    )]
    DigestLength,
    /// A well-formed digest of an algorithm other than sha256/sha512.
    #[error("only sha256 and sha512 digests are supported")]
    DigestUnsupported,
}
