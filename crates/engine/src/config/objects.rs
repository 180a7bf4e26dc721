//! A set of Ratify CRD objects → configuration: the one code path shared by the CRD directory
//! (`crd.rs` parses files into [`CrdObject`]s) and the Kubernetes API (`imagegate-kube` turns
//! watched objects into [`CrdObject`]s).
//!
//! [`EngineConfig::from_objects`] builds what it can: an object that does not load is left
//! out and reported with its index, so one bad object never takes the good ones down; the
//! caller decides what to do about it (file mode fails the whole load on the first one).

use std::path::Path;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::{combine, crd, json, read_bounded, validate_cluster, Components, ConfigError};
use super::{EngineConfig, ExecutorConfig, Settings, WatchedFiles};

/// One Ratify v1 CRD object (`config.ratify.deislabs.io/v1beta1`).
#[derive(Debug, Clone, PartialEq)]
pub struct CrdObject {
    /// Kind, e.g. `Verifier` or `NamespacedStore`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (namespaced kinds only).
    pub namespace: Option<String>,
    /// `spec`.
    pub spec: Map<String, Value>,
    /// Where it came from, the prefix of every error about it (e.g. `crds/v.yaml Verifier
    /// "notation"` or `Verifier "notation"`).
    pub origin: String,
}

/// What [`EngineConfig::from_objects`] produced.
#[derive(Debug)]
pub struct ObjectsBuild {
    /// The configuration built from every object that loaded, or why there is none (no
    /// store, policy or verifier left, or a bad `config.json`).
    pub config: Result<EngineConfig, ConfigError>,
    /// Objects left out, by index into the input, with the reason.
    pub rejected: Vec<(usize, ConfigError)>,
}

impl EngineConfig {
    /// Builds the configuration from CRD objects, on top of an optional `config.json` (executor
    /// and `imagegate` settings, and components the CRDs do not define; relative paths resolve
    /// against its directory, else the working directory). Without one the defaults apply.
    pub fn from_objects(objects: &[CrdObject], config_path: Option<&Path>) -> ObjectsBuild {
        let base = config_path
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let (set, rejected) = crd::build_each(objects, &base);
        let config = base_file(config_path).and_then(|(file, documents)| {
            let mut cluster = file.0;
            let mut watched = file.3;
            watched.merge(set.watched);
            cluster.overlay(set.cluster);
            validate_cluster(&cluster, true)?;
            let documents = combine(&documents, &objects_digest(objects));
            let fingerprint = combine(&documents, &watched.loaded_digest());
            Ok(EngineConfig {
                cluster,
                namespaced: set.namespaced,
                executor: file.1,
                settings: file.2,
                fingerprint,
                watched,
            })
        });
        ObjectsBuild { config, rejected }
    }
}

type BaseFile = (Components, ExecutorConfig, Settings, WatchedFiles);

/// The `config.json` part (or the defaults) and its digest.
fn base_file(config_path: Option<&Path>) -> Result<(BaseFile, String), ConfigError> {
    let Some(path) = config_path else {
        let defaults = (
            Components::default(),
            ExecutorConfig::default(),
            Settings::default(),
            WatchedFiles::default(),
        );
        return Ok((defaults, String::new()));
    };
    let bytes = read_bounded(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let file = json::parse(&bytes, &path.display().to_string(), base)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    Ok((
        (file.components, file.executor, file.settings, file.watched),
        digest,
    ))
}

/// SHA-256 over the objects (kind, namespace, name, spec), in the order given.
fn objects_digest(objects: &[CrdObject]) -> String {
    let mut h = Sha256::new();
    for o in objects {
        for part in [
            o.kind.as_str(),
            o.namespace.as_deref().unwrap_or(""),
            o.name.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(Value::Object(o.spec.clone()).to_string().as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}
