//! A single-pass, regex-free scanner for Docker's `distribution/reference`
//! grammar, with `ParseNormalizedNamed` domain detection (distribution/reference
//! v0.6.0, the version Ratify v1.4 uses through `ParseDockerRef`).
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path
//! domain     := host [ ":" port ]        host := domain-name | "[" ipv6 "]"
//! domain-name:= label ( "." label )*     label := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! ipv6       := [a-fA-F0-9:]+            port := [0-9]+
//! path       := component ( "/" component )*
//! component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest     := algorithm ":" [0-9a-fA-F]{32,}
//! algorithm  := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )*
//! ```
//!
//! On top of the grammar: sha256/sha512 only, with lowercase hex of exactly the
//! algorithm's length; the repository path (after normalisation) is at most 255
//! bytes; a bare 64-hex string is refused; the whole input is at most 4096 bytes.
//! Everything is ASCII: any other byte makes the input invalid.

use super::error::RefError;

/// Longest input accepted at all, in bytes.
pub(super) const INPUT_MAX: usize = 4096;
/// Longest repository path, in bytes (Docker's `RepositoryNameTotalLengthMax`).
pub(super) const NAME_MAX: usize = 255;
/// Longest tag, in bytes.
const TAG_MAX: usize = 128;
/// The legacy Docker Hub host that is normalised to `docker.io`.
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
pub(super) const OFFICIAL_PREFIX: &str = "library/";
/// The only dot-less, colon-less, lowercase first component taken as a registry.
const LOCALHOST: &str = "localhost";

/// A parsed reference whose pieces borrow from the input.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    /// The registry as written, or `None` for Docker Hub.
    pub(super) registry: Option<&'a str>,
    /// Whether [`OFFICIAL_PREFIX`] goes in front of `path`.
    pub(super) official: bool,
    /// The repository path as written.
    pub(super) path: &'a str,
    /// The tag, if one was written.
    pub(super) tag: Option<&'a str>,
    /// The digest (`algorithm:hex`), if one was written.
    pub(super) digest: Option<&'a str>,
}

/// Splits and validates `input`; see the module documentation for the rules.
pub(super) fn parse(input: &str) -> Result<Parts<'_>, RefError> {
    if input.len() > INPUT_MAX {
        return Err(RefError::InputTooLong);
    }
    if input.is_empty() {
        return Err(RefError::Empty);
    }
    if input.len() == 64 && input.bytes().all(is_lower_hex) {
        return Err(RefError::HexIdentifier);
    }
    let (mut registry, remainder) = split_domain(input);
    if registry == Some(super::DOCKER_HUB) {
        registry = None;
    }
    let official = registry.is_none() && !remainder.contains('/');

    let (name, digest) = match remainder.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (remainder, None),
    };
    let (path, tag) = match name.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (name, None),
    };

    match scan_path(path) {
        PathScan::Valid => {}
        PathScan::Uppercase => return Err(RefError::Uppercase),
        PathScan::Invalid => return Err(RefError::Format),
    }
    let mut path_len = path.len() + if official { OFFICIAL_PREFIX.len() } else { 0 };
    if let Some(host) = registry {
        if !is_domain(host) {
            // Docker's regex then reads `host/path` as a domain-less path, which
            // only succeeds when `host` is itself a path component (it has an
            // `_`); the name is then `host/path` and the length rule covers it.
            if scan_path(host) != PathScan::Valid {
                return Err(RefError::Host);
            }
            path_len += host.len() + 1;
        }
    }
    if path_len > NAME_MAX {
        return Err(RefError::NameTooLong);
    }
    if let Some(tag) = tag {
        if !is_tag(tag) {
            return Err(RefError::Tag);
        }
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(Parts {
        registry,
        official,
        path,
        tag,
        digest,
    })
}

/// Docker's `splitDockerDomain`: the first `/`-separated component is the
/// registry if it is `localhost`, contains `.` or `:`, or is not lowercase;
/// `index.docker.io` means Docker Hub (`None`).
fn split_domain(input: &str) -> (Option<&str>, &str) {
    let Some((first, rest)) = input.split_once('/') else {
        return (None, input);
    };
    if first == DOCKER_HUB_LEGACY {
        (None, rest)
    } else if first == LOCALHOST
        || first
            .bytes()
            .any(|b| b == b'.' || b == b':' || b.is_ascii_uppercase())
    {
        (Some(first), rest)
    } else {
        (None, input)
    }
}

/// Outcome of scanning a repository path.
#[derive(Debug, PartialEq, Eq)]
enum PathScan {
    /// Matches the path grammar.
    Valid,
    /// Would match if ASCII upper case were lower case.
    Uppercase,
    /// Does not match.
    Invalid,
}

/// Scans `path` against `component ("/" component)*` in one pass.
fn scan_path(path: &str) -> PathScan {
    /// Where the scanner stands.
    #[derive(Clone, Copy)]
    enum S {
        /// An alphanumeric must come next (start, after `/`, `.` or `__`).
        NeedAlnum,
        /// Inside an alphanumeric run; the component may end here.
        Alnum,
        /// After one `_`: an alphanumeric or a second `_`.
        Underscore,
        /// After one or more `-`: an alphanumeric or another `-`.
        Dashes,
    }
    let mut state = S::NeedAlnum;
    let mut upper = false;
    for b in path.bytes() {
        state = match (state, b) {
            (_, b'a'..=b'z' | b'0'..=b'9') => S::Alnum,
            (_, b'A'..=b'Z') => {
                upper = true;
                S::Alnum
            }
            (S::Alnum, b'.' | b'/') | (S::Underscore, b'_') => S::NeedAlnum,
            (S::Alnum, b'_') => S::Underscore,
            (S::Alnum | S::Dashes, b'-') => S::Dashes,
            _ => return PathScan::Invalid,
        };
    }
    match (state, upper) {
        (S::Alnum, false) => PathScan::Valid,
        (S::Alnum, true) => PathScan::Uppercase,
        _ => PathScan::Invalid,
    }
}

/// `host [":" port]` where host is a domain name or a bracketed IPv6 address.
fn is_domain(s: &str) -> bool {
    let (host_ok, port) = match s.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inner, port)) => (
                !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
                port,
            ),
            None => return false,
        },
        None => {
            let (host, port) = match s.find(':') {
                Some(i) => s.split_at(i),
                None => (s, ""),
            };
            (host.split('.').all(is_label), port)
        }
    };
    host_ok
        && (port.is_empty()
            || port.strip_prefix(':').is_some_and(|digits| {
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            }))
}

/// One DNS-style label: alphanumerics and inner `-`.
fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            bytes.len() <= TAG_MAX
                && is_word(*first)
                && rest.iter().all(|b| is_word(*b) || *b == b'.' || *b == b'-')
        }
        None => false,
    }
}

/// The ASCII word class `[A-Za-z0-9_]`.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[a-f0-9]`.
fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// The digest grammar, then sha256/sha512 with lowercase hex of the right length.
fn check_digest(digest: &str) -> Result<(), RefError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(RefError::DigestFormat);
    };
    if !is_algorithm(algorithm) || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RefError::DigestFormat);
    }
    let want = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(RefError::DigestUnsupported),
    };
    if hex.len() != want {
        return Err(RefError::DigestLength);
    }
    if !hex.bytes().all(is_lower_hex) {
        return Err(RefError::DigestFormat);
    }
    Ok(())
}

/// `[A-Za-z][A-Za-z0-9]*` components joined by single `-`, `_`, `+` or `.`.
fn is_algorithm(algorithm: &str) -> bool {
    let mut need_letter = true;
    for b in algorithm.bytes() {
        need_letter = if need_letter {
            if !b.is_ascii_alphabetic() {
                return false;
            }
            false
        } else if b.is_ascii_alphanumeric() {
            false
        } else if matches!(b, b'-' | b'_' | b'+' | b'.') {
            true
        } else {
            return false;
        };
    }
    !need_letter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_and_separators() {
        for ok in [
            "a",
            "a.b",
            "a_b",
            "a__b",
            "a-b",
            "a---b",
            "a/b/c",
            "0x",
            "a.b_c__d-e/f",
        ] {
            assert_eq!(scan_path(ok), PathScan::Valid, "{ok}");
        }
        for bad in [
            "", "a.", ".a", "a..b", "a___b", "a_-b", "a-_b", "a-", "-a", "a//b", "a/", "/a", "a b",
            "a:b", "é",
        ] {
            assert_eq!(scan_path(bad), PathScan::Invalid, "{bad}");
        }
        assert_eq!(scan_path("a/B"), PathScan::Uppercase);
        assert_eq!(scan_path("A-"), PathScan::Invalid);
    }

    #[test]
    fn domains_ports_and_ipv6() {
        for ok in [
            "localhost",
            "a.b",
            "A.B:5000",
            "127.0.0.1:5000",
            "[::1]",
            "[::1]:5000",
            "[2001:DB8::1]",
            "a-b.c--d.e",
            "x:0",
        ] {
            assert!(is_domain(ok), "{ok}");
        }
        for bad in [
            "", "a.", ".a", "a..b", "-a.b", "a-.b", "a_b.c", "a:", "a:x", "a:5000:1", "[]",
            "[::g]", "[::1", "[::1]x", "[::1]:", "::1",
        ] {
            assert!(!is_domain(bad), "{bad}");
        }
    }

    #[test]
    fn tags() {
        let longest = "a".repeat(128);
        for ok in ["a", "_", "1.0-rc_1", "V1", longest.as_str()] {
            assert!(is_tag(ok), "{ok}");
        }
        let too_long = "a".repeat(129);
        for bad in ["", ".a", "-a", "a/b", "a:b", "é", too_long.as_str()] {
            assert!(!is_tag(bad), "{bad}");
        }
    }

    #[test]
    fn digests() {
        let h64 = "0123456789abcdef".repeat(4);
        assert_eq!(check_digest(&format!("sha256:{h64}")), Ok(()));
        assert_eq!(check_digest(&format!("sha512:{h64}{h64}")), Ok(()));
        let cases = [
            (
                format!("sha256:{}", h64.to_uppercase()),
                RefError::DigestFormat,
            ),
            (format!("sha256:{}", &h64[..40]), RefError::DigestLength),
            (
                format!("sha384:{h64}{}", &h64[..32]),
                RefError::DigestUnsupported,
            ),
            (format!("sha256+b64:{h64}"), RefError::DigestUnsupported),
            (format!("sha256:{}", &h64[..31]), RefError::DigestFormat),
            (format!("1sha:{h64}"), RefError::DigestFormat),
            (format!("sha256-:{h64}"), RefError::DigestFormat),
            (h64.clone(), RefError::DigestFormat),
        ];
        for (input, want) in cases {
            assert_eq!(check_digest(&input), Err(want), "{input}");
        }
    }

    #[test]
    fn docker_domain_detection() {
        assert_eq!(split_domain("a/b"), (None, "a/b"));
        assert_eq!(split_domain("localhost/b"), (Some("localhost"), "b"));
        assert_eq!(split_domain("A/b"), (Some("A"), "b"));
        assert_eq!(split_domain("a:1/b"), (Some("a:1"), "b"));
        assert_eq!(split_domain("index.docker.io/b"), (None, "b"));
        assert_eq!(split_domain("nginx"), (None, "nginx"));
    }

    #[test]
    fn underscore_host_is_a_path_for_the_length_rule() {
        let parts = parse("my_reg.io/app").unwrap();
        assert_eq!(parts.registry, Some("my_reg.io"));
        let long = format!("my_reg.io/{}", "a".repeat(NAME_MAX - 9));
        assert_eq!(parse(&long).unwrap_err(), RefError::NameTooLong);
        let fits = format!("my_reg.io/{}", "a".repeat(NAME_MAX - 10));
        assert!(parse(&fits).is_ok());
    }
}
