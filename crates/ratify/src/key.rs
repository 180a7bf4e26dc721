//! Request keys: `[namespace]image`, split as Ratify does.
//!
//! Ratify reads an optional leading `[namespace]` (everything up to the first `]`) and treats
//! the rest as an image reference. This is the one splitter: the provider splits every key
//! with it, and the engine splits the keys it is given directly (`imagegate verify`) with it
//! too. A key that cannot be split is a [`KeyFormatError`] (wire code `REFERENCE_INVALID`);
//! checking the image reference itself is the engine's job.

use thiserror::Error;

use crate::code::{CauseKind, Failure, RatifyCode};

/// The longest Kubernetes namespace name (a DNS-1123 label).
const MAX_NAMESPACE_LEN: usize = 63;

/// One request key, split into its optional namespace and its image reference.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RequestKey {
    /// The key exactly as Gatekeeper sent it.
    pub raw: String,
    /// The namespace of a `[namespace]image` key; `None` for a bare image or `[]image`.
    pub namespace: Option<String>,
    /// The image reference, not yet normalised or validated.
    pub image: String,
}

/// A key split into namespace and image, borrowed from the key text.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SplitKey<'a> {
    /// The namespace of a `[namespace]image` key; `None` for a bare image or `[]image`.
    pub namespace: Option<&'a str>,
    /// The image reference, not yet normalised or validated.
    pub image: &'a str,
}

/// Why a key could not be split; reported as that key's `error` (code `REFERENCE_INVALID`,
/// see [`Failure`]'s `From`), never as a request failure. Its `Display` is the detail only.
#[derive(Clone, Debug, Eq, Error, PartialEq)]
pub enum KeyFormatError {
    /// The key is the empty string.
    #[error(
        "the key is empty; send an image reference such as \
         registry.example/app@sha256:<digest>, optionally prefixed by [namespace]"
    )]
    Empty,
    /// The key is longer than the configured bound.
    #[error(
        "the key is {len} bytes long, over the {limit}-byte limit; \
         send a real image reference"
    )]
    TooLong {
        /// The key's length in bytes.
        len: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The key starts with `[` but has no closing `]`.
    #[error(
        "the key starts with '[' but the namespace prefix is never closed \
         with ']'; use [namespace]image or a bare image reference"
    )]
    UnclosedNamespace,
    /// The namespace prefix is not a Kubernetes namespace name.
    #[error(
        "the namespace prefix {namespace:?} is not a Kubernetes namespace \
         name (lower-case letters, digits and '-', at most 63 characters, starting and ending \
         with a letter or digit)"
    )]
    InvalidNamespace {
        /// The namespace text between the brackets.
        namespace: String,
    },
    /// Nothing follows the namespace prefix.
    #[error(
        "the key has a namespace prefix but no image reference after it; \
         use [namespace]image"
    )]
    MissingImage,
}

// === impl RequestKey ===

impl RequestKey {
    /// Splits `raw` into namespace and image, rejecting keys longer than `max_len` bytes.
    pub fn parse(raw: &str, max_len: usize) -> Result<Self, KeyFormatError> {
        let (namespace, image) = split_owned(raw, max_len)?;
        Ok(Self {
            raw: raw.to_owned(),
            namespace,
            image,
        })
    }

    /// [`RequestKey::parse`] keeping `raw` itself; on error `raw` comes back with it.
    pub fn parse_owned(raw: String, max_len: usize) -> Result<Self, (KeyFormatError, String)> {
        match split_owned(&raw, max_len) {
            Ok((namespace, image)) => Ok(Self {
                raw,
                namespace,
                image,
            }),
            Err(err) => Err((err, raw)),
        }
    }
}

/// The namespace and image of `raw`, owned, with the length bound applied first.
fn split_owned(raw: &str, max_len: usize) -> Result<(Option<String>, String), KeyFormatError> {
    if raw.len() > max_len {
        return Err(KeyFormatError::TooLong {
            len: raw.len(),
            limit: max_len,
        });
    }
    let key = split(raw)?;
    Ok((key.namespace.map(str::to_owned), key.image.to_owned()))
}

/// Splits `raw` into namespace and image: an optional leading `[namespace]` (up to the first
/// `]`; `[]` means none), then a non-empty image. A `[` without `]`, a namespace that is not a
/// Kubernetes namespace name and an empty key or image are errors. No length bound: use
/// [`RequestKey::parse`] for keys from the network.
pub fn split(raw: &str) -> Result<SplitKey<'_>, KeyFormatError> {
    if raw.is_empty() {
        return Err(KeyFormatError::Empty);
    }
    let (namespace, image) = match raw.strip_prefix('[') {
        None => (None, raw),
        Some(rest) => {
            let (namespace, image) = rest
                .split_once(']')
                .ok_or(KeyFormatError::UnclosedNamespace)?;
            if !namespace.is_empty() && !is_namespace_name(namespace) {
                return Err(KeyFormatError::InvalidNamespace {
                    namespace: namespace.to_owned(),
                });
            }
            ((!namespace.is_empty()).then_some(namespace), image)
        }
    };
    if image.is_empty() {
        return Err(KeyFormatError::MissingImage);
    }
    Ok(SplitKey { namespace, image })
}

impl From<KeyFormatError> for Failure {
    fn from(err: KeyFormatError) -> Self {
        Failure::new(
            RatifyCode::ReferenceInvalid,
            CauseKind::ReferenceInvalid,
            err,
        )
    }
}

/// Whether `name` is a DNS-1123 label, the form of every Kubernetes namespace name.
fn is_namespace_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAMESPACE_LEN
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 4096;

    fn ok(raw: &str) -> (Option<String>, String) {
        let key = RequestKey::parse(raw, MAX).unwrap();
        assert_eq!(key.raw, raw);
        assert_eq!(
            RequestKey::parse_owned(raw.to_owned(), MAX),
            Ok(key.clone())
        );
        (key.namespace, key.image)
    }

    #[test]
    fn bare_image_has_no_namespace() {
        assert_eq!(ok("nginx:1.25"), (None, "nginx:1.25".to_owned()));
    }

    #[test]
    fn namespace_prefix_is_split_at_the_first_bracket() {
        assert_eq!(
            ok("[team-a]ghcr.io/org/x:1.2"),
            (Some("team-a".to_owned()), "ghcr.io/org/x:1.2".to_owned())
        );
        // Everything after the first `]` is the image, even if odd; the engine judges it.
        assert_eq!(ok("[a]b]c"), (Some("a".to_owned()), "b]c".to_owned()));
    }

    #[test]
    fn empty_namespace_means_cluster_scope() {
        assert_eq!(ok("[]nginx"), (None, "nginx".to_owned()));
    }

    #[test]
    fn bracket_later_in_the_key_is_not_a_prefix() {
        assert_eq!(ok("img[x]"), (None, "img[x]".to_owned()));
    }

    #[test]
    fn rejects_what_cannot_be_split() {
        let cases = [
            ("", KeyFormatError::Empty),
            ("[team-a", KeyFormatError::UnclosedNamespace),
            ("[", KeyFormatError::UnclosedNamespace),
            ("[team-a]", KeyFormatError::MissingImage),
            ("[]", KeyFormatError::MissingImage),
            (
                "[Team A]nginx",
                KeyFormatError::InvalidNamespace {
                    namespace: "Team A".into(),
                },
            ),
            (
                "[-a]nginx",
                KeyFormatError::InvalidNamespace {
                    namespace: "-a".into(),
                },
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(
                RequestKey::parse(raw, MAX),
                Err(want.clone()),
                "key {raw:?}"
            );
            assert_eq!(
                RequestKey::parse_owned(raw.to_owned(), MAX),
                Err((want, raw.to_owned()))
            );
        }
    }

    #[test]
    fn namespace_length_limit_is_63() {
        let ok63 = format!("[{}]img", "a".repeat(63));
        assert!(RequestKey::parse(&ok63, MAX).is_ok());
        let bad64 = format!("[{}]img", "a".repeat(64));
        assert!(matches!(
            RequestKey::parse(&bad64, MAX),
            Err(KeyFormatError::InvalidNamespace { .. })
        ));
    }

    #[test]
    fn key_length_is_bounded() {
        let long = "a".repeat(11);
        assert_eq!(
            RequestKey::parse(&long, 10),
            Err(KeyFormatError::TooLong { len: 11, limit: 10 })
        );
    }

    #[test]
    fn error_text_carries_the_ratify_code() {
        assert!(Failure::from(KeyFormatError::Empty)
            .to_string()
            .starts_with("REFERENCE_INVALID: the key is empty"));
    }

    #[test]
    fn borrowed_split_agrees_with_parse() {
        for raw in [
            "nginx", "[a]b]c", "[]x", "[open", "[", "", "[Team]x", "[ns]",
        ] {
            let owned = RequestKey::parse(raw, MAX).map(|k| (k.namespace, k.image));
            let borrowed = split(raw).map(|k| (k.namespace.map(str::to_owned), k.image.to_owned()));
            assert_eq!(owned, borrowed, "{raw:?}");
        }
        // Control characters are part of the image; they are never stripped.
        let key = split("[ns]app\r\n:v1").unwrap();
        assert_eq!(key.image, "app\r\n:v1");
    }
}
