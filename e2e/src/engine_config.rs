//! The provider's Ratify-format `config.json` for the box: one `oras` store (plain HTTP,
//! the registry is on loopback), `configPolicy` requiring any valid notary signature, and
//! one notation verifier trusting the given certificates for every registry (strict).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The notation verifier's name in reports.
pub const VERIFIER_NAME: &str = "verifier-notation";

/// The config for a verifier trusting `certs` (PEM files) as the `ca:certs` store.
pub fn engine_config(certs: &[PathBuf]) -> Value {
    json!({
        "store": {"version": "1.0.0", "plugins": [{"name": "oras", "useHttp": true}]},
        "policy": {"version": "1.0.0", "plugin": {
            "name": "configPolicy",
            "artifactVerificationPolicies": {"application/vnd.cncf.notary.signature": "any"}
        }},
        "verifier": {"version": "1.0.0", "plugins": [{
            "name": VERIFIER_NAME,
            "type": "notation",
            "artifactTypes": "application/vnd.cncf.notary.signature",
            "verificationCerts": certs,
            "trustPolicyDoc": {
                "version": "1.0",
                "trustPolicies": [{
                    "name": "default",
                    "registryScopes": ["*"],
                    "signatureVerification": {"level": "strict"},
                    "trustStores": ["ca:certs"],
                    "trustedIdentities": ["*"]
                }]
            }
        }]},
        "executor": {"verificationRequestTimeout": 8000, "mutationRequestTimeout": 4000}
    })
}

/// Writes [`engine_config`] as `dir/config.json`; returns its path.
pub fn write_engine_config(dir: &Path, certs: &[PathBuf]) -> std::io::Result<PathBuf> {
    let path = dir.join("config.json");
    let text = serde_json::to_vec_pretty(&engine_config(certs)).map_err(std::io::Error::other)?;
    std::fs::write(&path, text)?;
    Ok(path)
}
