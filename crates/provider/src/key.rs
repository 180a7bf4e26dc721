//! Request keys: `[namespace]image`, split as Ratify does.
//!
//! Ratify reads an optional leading `[namespace]` (everything up to the first `]`) and treats
//! the rest as an image reference. The provider only splits the key and rejects what cannot be
//! split; checking the image reference itself is the engine's job.

use thiserror::Error;

/// The code Ratify puts in front of an invalid-reference error.
const REFERENCE_INVALID: &str = "REFERENCE_INVALID";

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

/// Why a key could not be split; reported as that key's `error`, never as a request failure.
#[derive(Clone, Debug, Eq, Error, PartialEq)]
pub enum KeyError {
    /// The key is the empty string.
    #[error(
        "{REFERENCE_INVALID}: the key is empty; send an image reference such as \
         registry.example/app@sha256:<digest>, optionally prefixed by [namespace]"
    )]
    Empty,
    /// The key is longer than the configured bound.
    #[error(
        "{REFERENCE_INVALID}: the key is {len} bytes long, over the {limit}-byte limit; \
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
        "{REFERENCE_INVALID}: the key starts with '[' but the namespace prefix is never closed \
         with ']'; use [namespace]image or a bare image reference"
    )]
    UnclosedNamespace,
    /// The namespace prefix is not a Kubernetes namespace name.
    #[error(
        "{REFERENCE_INVALID}: the namespace prefix {namespace:?} is not a Kubernetes namespace \
         name (lower-case letters, digits and '-', at most 63 characters, starting and ending \
         with a letter or digit)"
    )]
    InvalidNamespace {
        /// The namespace text between the brackets.
        namespace: String,
    },
    /// Nothing follows the namespace prefix.
    #[error(
        "{REFERENCE_INVALID}: the key has a namespace prefix but no image reference after it; \
         use [namespace]image"
    )]
    MissingImage,
}

// === impl RequestKey ===

impl RequestKey {
    /// Splits `raw` into namespace and image, rejecting keys longer than `max_len` bytes.
    pub fn parse(raw: &str, max_len: usize) -> Result<Self, KeyError> {
        let (namespace, image) = split(raw, max_len)?;
        Ok(Self {
            raw: raw.to_owned(),
            namespace,
            image,
        })
    }

    /// [`RequestKey::parse`] keeping `raw` itself; on error `raw` comes back with it.
    pub(crate) fn parse_owned(raw: String, max_len: usize) -> Result<Self, (KeyError, String)> {
        match split(&raw, max_len) {
            Ok((namespace, image)) => Ok(Self {
                raw,
                namespace,
                image,
            }),
            Err(err) => Err((err, raw)),
        }
    }
}

/// The namespace and image of `raw`.
fn split(raw: &str, max_len: usize) -> Result<(Option<String>, String), KeyError> {
    if raw.is_empty() {
        return Err(KeyError::Empty);
    }
    if raw.len() > max_len {
        return Err(KeyError::TooLong {
            len: raw.len(),
            limit: max_len,
        });
    }
    let (namespace, image) = match raw.strip_prefix('[') {
        None => (None, raw),
        Some(rest) => {
            let (namespace, image) = rest.split_once(']').ok_or(KeyError::UnclosedNamespace)?;
            if !namespace.is_empty() && !is_namespace_name(namespace) {
                return Err(KeyError::InvalidNamespace {
                    namespace: namespace.to_owned(),
                });
            }
            let namespace = (!namespace.is_empty()).then(|| namespace.to_owned());
            (namespace, image)
        }
    };
    if image.is_empty() {
        return Err(KeyError::MissingImage);
    }
    Ok((namespace, image.to_owned()))
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
            ("", KeyError::Empty),
            ("[team-a", KeyError::UnclosedNamespace),
            ("[", KeyError::UnclosedNamespace),
            ("[team-a]", KeyError::MissingImage),
            ("[]", KeyError::MissingImage),
            (
                "[Team A]nginx",
                KeyError::InvalidNamespace {
                    namespace: "Team A".into(),
                },
            ),
            (
                "[-a]nginx",
                KeyError::InvalidNamespace {
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
            Err(KeyError::InvalidNamespace { .. })
        ));
    }

    #[test]
    fn key_length_is_bounded() {
        let long = "a".repeat(11);
        assert_eq!(
            RequestKey::parse(&long, 10),
            Err(KeyError::TooLong { len: 11, limit: 10 })
        );
    }

    #[test]
    fn error_text_carries_the_ratify_code() {
        assert!(KeyError::Empty
            .to_string()
            .starts_with("REFERENCE_INVALID: "));
    }
}
