//! Which images and namespaces a v2 `Executor` serves: v2's scope syntax and matching, the
//! refusal of images no scope covers, and which configuration generation (v1 kinds or an
//! Executor) owns each namespace.

use std::collections::BTreeMap;

use super::error::ConfigError;

/// Checks one scope as v2 does: `registry`, `registry/repository` or `*.zone`; bare `*` and
/// tags, digests or wildcards in repository scopes are invalid.
pub(crate) fn check_scope(scope: &str) -> Result<(), String> {
    if scope == "*" {
        return Err("bare \"*\" is not a valid scope; use \"*.zone\" or a registry".into());
    }
    if let Some(zone) = scope.strip_prefix("*.") {
        if zone.is_empty() || zone.contains(['/', '*', '@']) {
            return Err(format!("wildcard scope {scope:?} must be \"*.<domain>\""));
        }
        return Ok(());
    }
    let (registry, repository) = scope.split_once('/').unwrap_or((scope, ""));
    if registry.is_empty() || registry.contains(['*', '@']) {
        return Err(format!("scope {scope:?}: invalid registry"));
    }
    if repository.contains(['*', '@', ':']) || scope.ends_with('/') {
        return Err(format!(
            "scope {scope:?}: a repository scope names a repository, without tag, digest or \
             wildcard"
        ));
    }
    Ok(())
}

/// How specifically `scopes` match an image in `registry`/`repository` (v2's order: exact
/// repository 3, registry 2, `*.zone` 1); `None` when no scope matches.
pub fn scope_matches(scopes: &[String], registry: &str, repository: &str) -> Option<u8> {
    let zone = registry.split_once('.').map(|(_, z)| z);
    scopes
        .iter()
        .filter_map(|s| {
            if let Some((reg, repo)) = s.split_once('/') {
                (reg == registry && repo == repository).then_some(3)
            } else if let Some(z) = s.strip_prefix("*.") {
                (Some(z) == zone).then_some(1)
            } else {
                (s == registry).then_some(2)
            }
        })
        .max()
}

/// Who defines the components of each scope (the cluster, or one namespace) in a CRD
/// directory: v1 kinds or one v2 Executor, never both.
///
/// Which wins where v1 and v2 overlap: CRDs of either generation replace `config.json`'s
/// stores, policy and verifiers (as v1 CRDs always did); within the CRDs, a scope is defined
/// either by v1 kinds (Store/Policy/Verifier) or by one Executor. Both, or two Executors for
/// the same scope, is ambiguous and refused. KeyManagementProviders define no components.
#[derive(Debug, Default)]
pub(crate) struct Owners {
    by_scope: BTreeMap<Option<String>, (bool, String)>,
}

impl Owners {
    /// Records that the object at `origin` (of base kind `kind`) defines components for
    /// `namespace` (`None`: the cluster); refuses an ambiguous set-up.
    pub(crate) fn claim(
        &mut self,
        namespace: Option<&str>,
        kind: &str,
        origin: &str,
    ) -> Result<(), ConfigError> {
        if kind == "KeyManagementProvider" {
            return Ok(());
        }
        let executor = kind == "Executor";
        let scope = namespace.map_or("the cluster".to_owned(), |n| format!("namespace {n:?}"));
        match self.by_scope.get(&namespace.map(str::to_owned)) {
            None => {
                self.by_scope
                    .insert(namespace.map(str::to_owned), (executor, origin.to_owned()));
                Ok(())
            }
            Some((false, _)) if !executor => Ok(()),
            Some((true, first)) if executor => Err(ConfigError::invalid(
                origin,
                format!(
                    "a second Executor for {scope} ({first} is the first): imagegate serves \
                     one Executor per scope for now; merge their scopes into one"
                ),
            )),
            Some((_, first)) => Err(ConfigError::invalid(
                origin,
                format!(
                    "ambiguous configuration: {scope} is configured by both Ratify v1 kinds \
                     (Store/Policy/Verifier) and a v2 Executor ({first}); keep one generation \
                     per scope (see docs/migration-v1-v2.md)"
                ),
            )),
        }
    }
}

impl super::EngineConfig {
    /// Refuses an image no Executor scope covers, as v2 does: a namespace with its own
    /// Executor uses its scopes, otherwise the cluster's; v1 components serve every image.
    pub(crate) fn check_scope(
        &self,
        namespace: Option<&str>,
        image: &str,
        reference: &imagegate_oci::Reference,
    ) -> Result<(), imagegate_ratify::Failure> {
        let own = namespace
            .and_then(|n| self.namespaced.get(n))
            .filter(|c| !c.scopes.is_empty());
        let scopes = &own.unwrap_or(&self.cluster).scopes;
        if scopes.is_empty()
            || scope_matches(scopes, &reference.registry, &reference.repository).is_some()
        {
            return Ok(());
        }
        Err(imagegate_ratify::Failure::new(
            imagegate_ratify::RatifyCode::ConfigInvalid,
            imagegate_ratify::CauseKind::Config,
            format!(
                "{NO_EXECUTOR_PREFIX} {image:?}: no executor configured for the artifact {image:?}"
            ),
        ))
    }
}

pub use imagegate_ratify::v2::NO_EXECUTOR_PREFIX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_most_specific_first() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let all = s(&["*.azurecr.io", "myacr.azurecr.io", "myacr.azurecr.io/app"]);
        assert_eq!(scope_matches(&all, "myacr.azurecr.io", "app"), Some(3));
        assert_eq!(scope_matches(&all, "myacr.azurecr.io", "other"), Some(2));
        assert_eq!(scope_matches(&all, "b.azurecr.io", "app"), Some(1));
        // `*.zone` is the registry minus its first label only.
        assert_eq!(scope_matches(&all, "a.b.azurecr.io", "app"), None);
        assert_eq!(scope_matches(&all, "azurecr.io", "app"), None);
        assert_eq!(
            scope_matches(&s(&["ghcr.io/app"]), "ghcr.io", "app/sub"),
            None
        );
    }

    #[test]
    fn scope_syntax_follows_v2() {
        for ok in [
            "ghcr.io",
            "ghcr.io/a/b",
            "*.azurecr.io",
            "127.0.0.1:5000",
            "localhost:5000/x",
        ] {
            assert_eq!(check_scope(ok), Ok(()), "{ok}");
        }
        for bad in [
            "*",
            "*.",
            "ghcr.io/a:1",
            "ghcr.io/a@sha256:00",
            "ghcr.io/*",
            "*.a/b",
            "ghcr.io/",
            "",
        ] {
            assert!(check_scope(bad).is_err(), "{bad}");
        }
    }
}
