//! Registry scope syntax (`registry[:port]/namespace/repository`), notation-go
//! `validateRegistryScopeFormat` rules, implemented without regular expressions.

use super::error::InvalidPolicy;

/// The global scope value.
pub(crate) const WILDCARD: &str = "*";

/// Validate one non-wildcard registry scope.
pub(crate) fn validate_scope(scope: &str) -> Result<(), InvalidPolicy> {
    if scope.contains('*') {
        return Err(InvalidPolicy::ScopeWildcard(scope.to_owned()));
    }
    let valid = match scope.split_once('/') {
        Some((domain, repository)) => is_valid_domain(domain) && is_valid_repository(repository),
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(InvalidPolicy::ScopeFormat(scope.to_owned()))
    }
}

/// DNS-style labels separated by dots, optionally followed by `:port`.
fn is_valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty() && host.split('.').all(is_valid_label)
}

fn is_valid_label(label: &str) -> bool {
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

/// Lower-case path components separated by `/`.
fn is_valid_repository(repository: &str) -> bool {
    repository.split('/').all(is_valid_component)
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn is_valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let is_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(is_alnum) || !bytes.last().is_some_and(is_alnum) {
        return false;
    }
    let mut separator: Vec<u8> = Vec::new();
    for b in bytes {
        if is_alnum(b) {
            let ok = match separator.as_slice() {
                [] | [b'.'] | [b'_'] | [b'_', b'_'] => true,
                dashes => dashes.iter().all(|d| *d == b'-'),
            };
            if !ok {
                return false;
            }
            separator.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(*b);
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_fully_qualified_repositories() {
        for s in [
            "registry.acme-rockets.io/software/net-monitor",
            "localhost:5000/a/b",
            "local/myOCILayout".to_lowercase().as_str(),
            "docker.io/library/registry",
            "r.io/a__b/c---d/e.f_g",
        ] {
            assert!(validate_scope(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_malformed_scopes() {
        for s in [
            "registry",
            "https://r.io/a",
            "r.io/A",
            "r.io/a:tag",
            "r.io/a@sha256:00",
            "r.io/",
            "/a",
            "r.io/a//b",
            "r.io/a..b",
            "r.io/a___b",
            "r.io/-a",
            "-r.io/a",
            "r.io:/a",
            "r.io:x/a",
        ] {
            assert_eq!(
                validate_scope(s),
                Err(InvalidPolicy::ScopeFormat(s.to_owned())),
                "{s}"
            );
        }
        assert_eq!(
            validate_scope("r.io/*"),
            Err(InvalidPolicy::ScopeWildcard("r.io/*".to_owned()))
        );
    }
}
