//! Files outside `config.json` whose contents are part of the configuration: the
//! `verificationCerts` files and directories, and docker config files of `authProvider`.
//!
//! Rotating a trust certificate or a registry credential (a mounted Secret) changes one of
//! these and not `config.json`, so the watcher fingerprints them too. Certificates are
//! fingerprinted from the bytes that were loaded, so a change that lands while a
//! configuration is being loaded is still seen at the next poll; docker config files are read
//! after the configuration is parsed, so their fingerprint is taken before that read.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// What was read of the watched files while a configuration was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchedFiles {
    /// `verificationCerts` entries as resolved (file or directory), with the digest of the
    /// files read under each.
    certs: Vec<(PathBuf, String)>,
    /// Docker config files.
    docker_configs: Vec<PathBuf>,
}

/// Collects [`WatchedFiles`] while a configuration is parsed.
#[derive(Debug, Default)]
pub(crate) struct WatchRecorder {
    inner: RefCell<WatchedFiles>,
}

impl WatchRecorder {
    /// Records a `verificationCerts` entry and the files read under it, in reading order.
    pub(crate) fn certs<'a>(&self, entry: &Path, files: impl Iterator<Item = (&'a str, &'a [u8])>) {
        let digest = cert_digest(files);
        let mut inner = self.inner.borrow_mut();
        if !inner.certs.iter().any(|(p, d)| p == entry && *d == digest) {
            inner.certs.push((entry.to_path_buf(), digest));
        }
    }

    /// Records a docker config file.
    pub(crate) fn docker_config(&self, path: &Path) {
        let mut inner = self.inner.borrow_mut();
        if !inner.docker_configs.iter().any(|p| p == path) {
            inner.docker_configs.push(path.to_path_buf());
        }
    }

    /// What was recorded.
    pub(crate) fn finish(self) -> WatchedFiles {
        self.inner.into_inner()
    }
}

impl WatchedFiles {
    /// Adds what `other` watches.
    pub(crate) fn merge(&mut self, other: WatchedFiles) {
        for c in other.certs {
            if !self.certs.contains(&c) {
                self.certs.push(c);
            }
        }
        for d in other.docker_configs {
            if !self.docker_configs.contains(&d) {
                self.docker_configs.push(d);
            }
        }
    }

    /// The watched paths, for logs and tests.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        let certs = self.certs.iter().map(|(p, _)| p.as_path());
        certs.chain(self.docker_configs.iter().map(PathBuf::as_path))
    }

    /// The digest of the files as they were loaded (docker configs: as they are now, which is
    /// before the registry client reads them).
    pub(crate) fn loaded_digest(&self) -> String {
        self.digest(|_, recorded| recorded.to_owned())
    }

    /// The digest of the files as they are on disk now. `read_entry` lists and reads a
    /// `verificationCerts` entry the way loading does; an entry that cannot be read gets a
    /// digest of its error, which differs from any loaded one and so triggers a reload (which
    /// then reports the problem and keeps the configuration in force).
    pub(crate) fn current_digest(
        &self,
        read_entry: impl Fn(&Path) -> Result<Vec<(String, Vec<u8>)>, String>,
    ) -> String {
        self.digest(|entry, _| match read_entry(entry) {
            Ok(files) => cert_digest(files.iter().map(|(n, b)| (n.as_str(), b.as_slice()))),
            Err(e) => format!("unreadable: {e}"),
        })
    }

    fn digest(&self, cert: impl Fn(&Path, &str) -> String) -> String {
        let mut h = Sha256::new();
        for (entry, recorded) in &self.certs {
            h.update(b"certs\0");
            h.update(entry.display().to_string().as_bytes());
            h.update([0]);
            h.update(cert(entry, recorded).as_bytes());
            h.update([0]);
        }
        for path in &self.docker_configs {
            h.update(b"docker\0");
            h.update(path.display().to_string().as_bytes());
            h.update([0]);
            match super::read_bounded(path) {
                Ok(bytes) => h.update(Sha256::digest(bytes)),
                Err(e) => h.update(format!("unreadable: {e}").as_bytes()),
            }
            h.update([0]);
        }
        hex::encode(h.finalize())
    }
}

/// SHA-256 over file names and contents, in order.
fn cert_digest<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut h = Sha256::new();
    for (name, bytes) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(Sha256::digest(bytes));
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_dir_entry(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect())
    }

    #[test]
    fn current_digest_matches_until_a_file_changes_appears_or_goes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.crt");
        std::fs::write(&a, b"one").unwrap();
        let rec = WatchRecorder::default();
        let read = read_dir_entry(dir.path()).unwrap();
        rec.certs(
            dir.path(),
            read.iter().map(|(n, b)| (n.as_str(), b.as_slice())),
        );
        let watched = rec.finish();
        let loaded = watched.loaded_digest();
        assert_eq!(watched.current_digest(read_dir_entry), loaded);

        std::fs::write(&a, b"two").unwrap();
        let changed = watched.current_digest(read_dir_entry);
        assert_ne!(changed, loaded);

        std::fs::write(&a, b"one").unwrap();
        std::fs::write(dir.path().join("b.crt"), b"new").unwrap();
        let added = watched.current_digest(read_dir_entry);
        assert_ne!(added, loaded);
        assert_ne!(added, changed);

        std::fs::remove_dir_all(dir.path()).unwrap();
        assert_ne!(watched.current_digest(read_dir_entry), loaded);
    }

    #[test]
    fn docker_configs_are_read_when_digested() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.json");
        std::fs::write(&cfg, b"{}").unwrap();
        let rec = WatchRecorder::default();
        rec.docker_config(&cfg);
        rec.docker_config(&cfg);
        let watched = rec.finish();
        assert_eq!(watched.paths().count(), 1);
        let loaded = watched.loaded_digest();
        assert_eq!(watched.current_digest(read_dir_entry), loaded);
        std::fs::write(&cfg, br#"{"auths":{}}"#).unwrap();
        assert_ne!(watched.current_digest(read_dir_entry), loaded);
    }
}
