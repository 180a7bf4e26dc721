//! Where the repository's policy and deployment files are, relative to this crate.

use std::path::PathBuf;

/// The repository root (the parent of this crate's directory).
pub fn repo_root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().map(PathBuf::from).unwrap_or(crate_dir)
}

/// `policies/templates`: the ConstraintTemplates.
pub fn templates_dir() -> PathBuf {
    repo_root().join("policies").join("templates")
}

/// `policies/constraints`: example Constraints.
pub fn constraints_dir() -> PathBuf {
    repo_root().join("policies").join("constraints")
}

/// `policies/azure`: Azure Policy definitions and the initiative.
pub fn azure_dir() -> PathBuf {
    repo_root().join("policies").join("azure")
}

/// `deploy`: kustomize base and overlays.
pub fn deploy_dir() -> PathBuf {
    repo_root().join("deploy")
}

/// The overlays `deploy/overlays/*` that `deploy/check.sh` renders.
pub const OVERLAYS: [&str; 2] = ["gatekeeper", "aks"];

/// The Notation test vectors shipped in the repository (`<repo>/testdata/notation`), read in place.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/notation"))
}
