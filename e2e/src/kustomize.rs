//! Renders a kustomize directory with `kubectl kustomize` and parses the objects.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

/// Where `kubectl` is unless `KUBECTL` says otherwise (Debian's `kubernetes-client`).
pub const DEFAULT_KUBECTL: &str = "/usr/bin/kubectl";

/// Longest a render may take.
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(60);

/// Most bytes of rendered YAML read.
pub const MAX_OUTPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum KustomizeError {
    /// `kubectl` could not be started.
    #[error("cannot run {kubectl}: {source}; install kubectl (Debian: kubernetes-client) or set KUBECTL")]
    Spawn {
        /// The binary.
        kubectl: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Reading its output or waiting for it failed.
    #[error("kubectl kustomize {dir}: {source}")]
    Io {
        /// The directory rendered.
        dir: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// It ran longer than [`RENDER_TIMEOUT`] and was killed.
    #[error("kubectl kustomize {dir} did not finish within {RENDER_TIMEOUT:?}")]
    Timeout {
        /// The directory rendered.
        dir: PathBuf,
    },
    /// It exited unsuccessfully.
    #[error("kubectl kustomize {dir} failed ({status}): {stderr}")]
    Failed {
        /// The directory rendered.
        dir: PathBuf,
        /// Exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// The output is not YAML objects.
    #[error("kubectl kustomize {dir} printed a document that is not a YAML object: {reason}")]
    Parse {
        /// The directory rendered.
        dir: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// `$KUBECTL`, else [`DEFAULT_KUBECTL`].
pub fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KUBECTL))
}

/// Renders `dir` and returns the rendered text.
pub fn render_text(dir: &Path) -> Result<String, KustomizeError> {
    let kubectl = kubectl();
    let mut child = Command::new(&kubectl)
        .arg("kustomize")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| KustomizeError::Spawn {
            kubectl: kubectl.clone(),
            source,
        })?;
    let io = |source| KustomizeError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    let readers = (child.stdout.take(), child.stderr.take());
    let out = std::thread::spawn(move || read_limited(readers.0));
    let err = std::thread::spawn(move || read_limited(readers.1));
    let deadline = Instant::now() + RENDER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(KustomizeError::Timeout {
                dir: dir.to_path_buf(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        return Err(KustomizeError::Failed {
            dir: dir.to_path_buf(),
            status: status.to_string(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        });
    }
    String::from_utf8(stdout).map_err(|e| KustomizeError::Parse {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_limited<R: Read>(reader: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(r) = reader {
        let _ = r.take(MAX_OUTPUT_BYTES).read_to_end(&mut buf);
    }
    buf
}

/// Renders `dir` and parses every document into a JSON object.
pub fn render(dir: &Path) -> Result<Vec<Value>, KustomizeError> {
    let text = render_text(dir)?;
    parse_documents(&text).map_err(|reason| KustomizeError::Parse {
        dir: dir.to_path_buf(),
        reason,
    })
}

/// Parses a multi-document YAML stream; every non-empty document must be an object.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut objects = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| e.to_string())?;
        match value {
            Value::Null => {}
            Value::Object(_) => objects.push(value),
            other => return Err(format!("document is {other}, not an object")),
        }
    }
    Ok(objects)
}

/// The object of `kind` named `name`, if present.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// Every object of `kind`.
pub fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_streams_and_rejects_scalars() {
        let objs = parse_documents("a: 1\n---\n---\nkind: X\nmetadata: {name: n}\n").unwrap();
        assert_eq!(objs.len(), 2);
        assert!(find(&objs, "X", "n").is_some());
        assert!(parse_documents("- 1\n").is_err());
    }
}
