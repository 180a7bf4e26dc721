//! Image references: parsing and Docker-style normalisation.
//!
//! The grammar is Docker's `distribution/reference` with `ParseNormalizedNamed`
//! normalisation (`nginx` → `docker.io/library/nginx:latest`), scanned by hand in
//! one pass without regular expressions (see `reference/grammar.rs`): this runs once per
//! admission key before the verdict cache lookup, so it is on the warm path.

mod error;
mod grammar;

use std::fmt;

use crate::error::OciError;

/// The registry Docker Hub references are normalised to.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves the Docker Hub registry API.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The tag filled in when a reference has neither tag nor digest.
const DEFAULT_TAG: &str = "latest";

/// A normalised image reference: `registry/repository[:tag][@digest]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host, with port if one was given (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path inside the registry (`library/nginx`).
    pub repository: String,
    /// Tag, if any. `latest` is filled in when neither tag nor digest was given.
    pub tag: Option<String>,
    /// Digest (`sha256:<hex>`), if any. When both are present the digest wins.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses and normalises a reference the way Docker and Ratify do.
    ///
    /// `nginx` becomes `docker.io/library/nginx:latest`, `host:5000/repo:tag@sha256:…`
    /// keeps all parts, `[::1]:5000/app` is a registry with an IPv6 address, and
    /// an upper-case first component (`Registry/app`) is a registry, as in Docker.
    /// Upper-case repository names, malformed tags and digests, digests other than
    /// sha256/sha512 and bare 64-hex names are rejected with
    /// [`OciError::InvalidReference`], whose `reason` says what to fix.
    pub fn parse(input: &str) -> Result<Self, OciError> {
        let parts = grammar::parse(input).map_err(|e| OciError::InvalidReference {
            input: input.chars().take(256).collect(),
            reason: e.to_string(),
        })?;
        let repository = if parts.official {
            let mut repository =
                String::with_capacity(grammar::OFFICIAL_PREFIX.len() + parts.path.len());
            repository.push_str(grammar::OFFICIAL_PREFIX);
            repository.push_str(parts.path);
            repository
        } else {
            parts.path.to_owned()
        };
        let tag = match (parts.tag, parts.digest) {
            (Some(tag), _) => Some(tag.to_owned()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_owned()),
        };
        Ok(Self {
            registry: parts.registry.unwrap_or(DOCKER_HUB).to_owned(),
            repository,
            tag,
            digest: parts.digest.map(str::to_owned),
        })
    }

    /// The same repository pinned to `digest` (the tag is kept for display).
    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }

    /// What to put after `/manifests/` to address this reference: the digest if
    /// present, otherwise the tag.
    pub fn manifest_reference(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d,
            (None, Some(t)) => t,
            (None, None) => "latest",
        }
    }

    /// The host (and port) that serves the registry API for this reference.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = OciError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn normalises_docker_hub_short_names() {
        assert_eq!(p("nginx").to_string(), "docker.io/library/nginx:latest");
        assert_eq!(p("user/app:1").to_string(), "docker.io/user/app:1");
        assert_eq!(
            p("docker.io/nginx").to_string(),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(p("nginx").api_host(), "registry-1.docker.io");
    }

    #[test]
    fn keeps_host_port_tag_and_digest() {
        let d = "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
        let r = p(&format!("127.0.0.1:5000/a/b:v1@{d}"));
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_deref(), Some(d));
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(r.api_host(), "127.0.0.1:5000");
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:v1@{d}"));
        let only_digest = p(&format!("localhost:5000/x@{d}"));
        assert_eq!(only_digest.tag, None);
        assert_eq!(only_digest.to_string(), format!("localhost:5000/x@{d}"));
    }

    #[test]
    fn with_digest_pins() {
        let d = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        let r = p("registry.example:443/app:v2").with_digest(d);
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(r.tag.as_deref(), Some("v2"));
    }

    #[test]
    fn rejects_invalid_with_a_reason() {
        for bad in [
            "",
            "Nginx",
            "registry.example/Upper/case",
            "a:b:c",
            "repo@sha256:abc",
            "repo@md5:d41d8cd98f00b204e9800998ecf8427e",
            "repo:-bad",
            "/leading",
            "repo@sha256:ZZ79de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9",
        ] {
            let err = Reference::parse(bad).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, OciError::InvalidReference { .. }),
                "{bad}: {msg}"
            );
            assert!(msg.contains("invalid image reference"), "{msg}");
        }
        let long = "a".repeat(5000);
        assert!(Reference::parse(&long).is_err());
    }

    #[test]
    fn docker_domain_rules() {
        let ipv6 = p("[::1]:5000/app:v1");
        assert_eq!(ipv6.registry, "[::1]:5000");
        assert_eq!(ipv6.api_host(), "[::1]:5000");
        assert_eq!(p("Registry/app").registry, "Registry");
        assert_eq!(
            p("index.docker.io/nginx").to_string(),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(p("localhost/app").registry, "localhost");
        assert_eq!(
            p("localhost:5000").to_string(),
            "docker.io/library/localhost:5000"
        );
        let hex = "b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
        let err = Reference::parse(hex).unwrap_err().to_string();
        assert!(err.contains("64-character hex"), "{err}");
    }
}
