//! Change detection for a group of files: cheap stat first, then a content hash.

use std::path::PathBuf;
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

use super::error::TlsError;
use super::pem;

/// What `stat` says about a file; a change here triggers a read.
#[derive(Clone, Debug, PartialEq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// New contents of a watched group, to be applied with [`FileGroup::applied`] or
/// [`FileGroup::failed`].
#[derive(Debug)]
pub(crate) struct Update {
    /// The contents of each file, in the order of the paths.
    pub(crate) contents: Vec<Vec<u8>>,
    hash: [u8; 32],
}

/// Files that change together (a certificate and its key, or a CA bundle).
#[derive(Debug)]
pub(crate) struct FileGroup {
    paths: Vec<PathBuf>,
    stamps: Vec<Option<Stamp>>,
    applied: [u8; 32],
    failed: Option<[u8; 32]>,
}

// === impl FileGroup ===

impl FileGroup {
    /// Reads the group for the first time; the caller applies the contents or fails start-up.
    pub(crate) async fn load(paths: Vec<PathBuf>) -> Result<(Self, Vec<Vec<u8>>), TlsError> {
        let stamps = stamps(&paths).await;
        let mut contents = Vec::with_capacity(paths.len());
        for path in &paths {
            contents.push(pem::read(path).await?);
        }
        let group = Self {
            applied: hash(&contents),
            paths,
            stamps,
            failed: None,
        };
        Ok((group, contents))
    }

    /// The paths of the group, in order.
    pub(crate) fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// New contents if any file changed since the last look and the contents differ from both
    /// the applied ones and the last rejected ones; a read error is reported once per change.
    pub(crate) async fn poll(&mut self) -> Result<Option<Update>, TlsError> {
        let stamps = stamps(&self.paths).await;
        if stamps == self.stamps {
            return Ok(None);
        }
        self.stamps = stamps;
        let mut contents = Vec::with_capacity(self.paths.len());
        for path in &self.paths {
            contents.push(pem::read(path).await?);
        }
        let hash = hash(&contents);
        if hash == self.applied || Some(hash) == self.failed {
            return Ok(None);
        }
        Ok(Some(Update { contents, hash }))
    }

    /// Records that `update` is now in force.
    pub(crate) fn applied(&mut self, update: &Update) {
        self.applied = update.hash;
        self.failed = None;
    }

    /// Records that `update` was rejected, so that it is not retried until the files change.
    pub(crate) fn failed(&mut self, update: &Update) {
        self.failed = Some(update.hash);
    }
}

async fn stamps(paths: &[PathBuf]) -> Vec<Option<Stamp>> {
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let stamp = tokio::fs::metadata(path).await.ok().map(|meta| Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        });
        out.push(stamp);
    }
    out
}

/// SHA-256 over the length-prefixed contents, so that moving bytes between files counts.
fn hash(contents: &[Vec<u8>]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for content in contents {
        hasher.update((content.len() as u64).to_be_bytes());
        hasher.update(content);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_each_new_content_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "one").unwrap();
        std::fs::write(&b, "two").unwrap();
        let (mut group, contents) = FileGroup::load(vec![a.clone(), b.clone()]).await.unwrap();
        assert_eq!(contents, vec![b"one".to_vec(), b"two".to_vec()]);
        assert!(group.poll().await.unwrap().is_none());

        std::fs::write(&a, "three").unwrap();
        let update = group.poll().await.unwrap().expect("a changed");
        assert_eq!(update.contents[0], b"three");
        group.failed(&update);
        // Same rejected content, even with a new mtime: not offered again.
        std::fs::write(&a, "three!").unwrap();
        std::fs::write(&a, "three").unwrap();
        let _ = std::fs::File::open(&a)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH);
        assert!(group.poll().await.unwrap().is_none());

        std::fs::write(&a, "four").unwrap();
        let update = group.poll().await.unwrap().expect("a changed again");
        group.applied(&update);
        assert!(group.poll().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn missing_file_is_an_error_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, "one").unwrap();
        let (mut group, _) = FileGroup::load(vec![a.clone()]).await.unwrap();
        std::fs::remove_file(&a).unwrap();
        assert!(matches!(group.poll().await, Err(TlsError::Read { .. })));
        assert!(group.poll().await.unwrap().is_none());
        std::fs::write(&a, "back").unwrap();
        assert!(group.poll().await.unwrap().is_some());
    }
}
