//! The wording of a failed report's `message`: Ratify's own text, or imagegate's cause-first
//! text (the default).
//!
//! Operators read `message`, not `errorReason`: Azure's Image Integrity template prints it
//! after the subject and a fixed sentence, and Gatekeeper's audit keeps only the first 256
//! characters of a violation. Ratify's messages put the cause last ("failed to verify
//! artifact: <subject>", "Failed to validate the Notation signature: {MediaType:…}") or leave
//! it out, so the cause rarely reaches the compliance view. A cause-first message starts with
//! a short label of its [`CauseKind`] ("unsigned", "untrusted signer", "expired", "revoked",
//! …) and is cut at [`MAX_MESSAGE_CHARS`] characters. `errorReason` keeps Ratify's text in
//! both wordings.
//!
//! The choice is made once per verdict (the reports are rendered with it), never per answer.

use std::fmt::{self, Write as _};

use serde::Deserialize;

use crate::code::CauseKind;

/// Which wording failed reports' `message` uses (`imagegate.messages` in `config.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
pub enum Wording {
    /// `"<cause>: <detail>"`, short (the default).
    #[default]
    #[serde(rename = "cause-first")]
    CauseFirst,
    /// Ratify v1's text, byte for byte.
    #[serde(rename = "ratify")]
    Ratify,
}

impl Wording {
    /// The value as written in `config.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CauseFirst => "cause-first",
            Self::Ratify => "ratify",
        }
    }
}

impl fmt::Display for Wording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest cause-first message, in characters. Azure's template writes up to ~190
/// characters (its sentence and a digest reference) before the message, Gatekeeper's audit
/// cuts at 256: the label always fits, and the message as a whole stays short.
pub const MAX_MESSAGE_CHARS: usize = 160;

/// Text Azure's Image Integrity template looks for in the `message` of a report without a
/// verifier name to say "signature artifact not found"; the cause-first message of an
/// unsigned subject contains it.
pub const NO_REFERRERS_FOUND: &str = "no referrers found";

/// Text Azure's Image Integrity template looks for in such a `message` to hint at registry
/// permissions; the cause-first message of a registry refusal on the subject contains it.
pub const RESOLVING_DESCRIPTOR: &str = "resolving descriptor";

impl CauseKind {
    /// The label a cause-first message starts with: short, lower case, for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Config => "configuration error",
            Self::Expired => "expired",
            Self::Internal => "internal error",
            Self::InvalidContent => "invalid registry content",
            Self::InvalidSignature => "invalid signature",
            Self::InvalidTimestamp => "invalid timestamp",
            Self::LimitExceeded => "limit exceeded",
            Self::NotFound => "not found",
            Self::ReferenceInvalid => "invalid reference",
            Self::RegistryAuth => "registry auth failed",
            Self::RegistryProtocol => "registry protocol error",
            Self::RegistryStatus => "registry error",
            Self::RegistryUnreachable => "registry unreachable",
            Self::Revoked => "revoked",
            Self::Timeout => "timeout",
            Self::TrustPolicy => "trust policy",
            Self::Unsigned => "unsigned",
            Self::UntrustedSigner => "untrusted signer",
        }
    }
}

/// `"<label>: <detail>"` with `kind`'s [`CauseKind::label`], cut to [`MAX_MESSAGE_CHARS`]
/// characters (ending in `…` when cut).
pub fn cause_first(kind: CauseKind, detail: impl fmt::Display) -> String {
    labelled(kind.label(), detail)
}

/// The label of a subject that is not in the registry ([`CauseKind::NotFound`] about the
/// image itself rather than one of its signatures).
pub const IMAGE_NOT_FOUND: &str = "image not found";

/// `"<label>: <detail>"`, cut to [`MAX_MESSAGE_CHARS`] characters (ending in `…` when cut):
/// [`cause_first`] with a more specific label, e.g. [`IMAGE_NOT_FOUND`].
pub fn labelled(label: &str, detail: impl fmt::Display) -> String {
    let mut out = String::with_capacity(MAX_MESSAGE_CHARS + 8);
    out.push_str(label);
    out.push_str(": ");
    // Writing into a String cannot fail.
    let _ = write!(out, "{detail}");
    truncate_chars(out, MAX_MESSAGE_CHARS)
}

/// `text` cut to at most `max` characters, the last one `…` when anything was cut.
fn truncate_chars(mut text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let keep = max.saturating_sub(1);
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    text.truncate(end);
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_label_and_messages_start_with_it() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in CauseKind::ALL {
            let label = kind.label();
            assert!(!label.is_empty() && label.len() < 30, "{label}");
            assert!(seen.insert(label), "duplicate label {label}");
            let m = cause_first(kind, "detail");
            assert_eq!(m, format!("{label}: detail"));
        }
    }

    #[test]
    fn long_details_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let m = cause_first(CauseKind::UntrustedSigner, &long);
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS);
        assert!(m.starts_with("untrusted signer: éé"), "{m}");
        assert!(m.ends_with('…'), "{m}");
        let exact = "x".repeat(MAX_MESSAGE_CHARS - "unsigned: ".len());
        let m = cause_first(CauseKind::Unsigned, &exact);
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS);
        assert!(!m.ends_with('…'));
        let m = labelled(IMAGE_NOT_FOUND, &long);
        assert!(m.starts_with("image not found: é"), "{m}");
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn wording_reads_from_config_values() {
        let w: Wording = serde_json::from_str("\"ratify\"").unwrap();
        assert_eq!(w, Wording::Ratify);
        let w: Wording = serde_json::from_str("\"cause-first\"").unwrap();
        assert_eq!(w, Wording::CauseFirst);
        assert_eq!(Wording::default(), Wording::CauseFirst);
        assert!(serde_json::from_str::<Wording>("\"Ratify\"").is_err());
        for w in [Wording::CauseFirst, Wording::Ratify] {
            let back: Wording = serde_json::from_str(&format!("\"{w}\"")).unwrap();
            assert_eq!(back, w);
        }
    }
}
