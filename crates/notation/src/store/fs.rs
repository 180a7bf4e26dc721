//! Loading trust stores from the Notation directory layout (feature `fs`).
//!
//! The layout is `<root>/x509/{ca,signingAuthority,tsa}/<name>/<files>`. Symbolic links are
//! followed at every level, and entries whose names start with `..` are skipped, so the layout
//! may be (or contain) a Kubernetes Secret or ConfigMap volume: such a volume holds its files
//! in a hidden `..<timestamp>` directory, a `..data` symlink to it, and one symlink per key
//! (`cert.pem -> ..data/cert.pem`). Everything else that is not a directory (at the store
//! level) or a regular file (inside a named store) is refused, and the work is bounded.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::policy::StoreType;

use super::error::StoreError;
use super::TrustStore;

/// Largest certificate file accepted (bytes).
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;
/// Most files accepted over all stores.
pub const MAX_FILES: usize = 1000;
/// Most entries read from one directory, skipped ones included (bounds the listing work).
const MAX_DIR_ENTRIES: usize = 4 * MAX_FILES;

fn io_error(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Whether an entry is Kubernetes volume bookkeeping (`..data`, `..2024_01_01_…`): the real
/// files are reached through the visible symlinks, so these are skipped.
fn is_volume_internal(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b"..")
}

/// The visible entries of a directory, sorted by name (bounded).
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let mut entries = Vec::new();
    for (read, entry) in fs::read_dir(dir)
        .map_err(|e| io_error(dir, &e))?
        .enumerate()
    {
        if read >= MAX_DIR_ENTRIES {
            return Err(StoreError::TooManyFiles { max: MAX_FILES });
        }
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let name = entry.file_name();
        if is_volume_internal(&name) {
            continue;
        }
        entries.push((name.to_string_lossy().into_owned(), entry.path()));
        if entries.len() > MAX_FILES {
            return Err(StoreError::TooManyFiles { max: MAX_FILES });
        }
    }
    entries.sort();
    Ok(entries)
}

/// The metadata of `path` with symlinks followed; `None` when nothing is there.
fn target_metadata(path: &Path) -> Result<Option<fs::Metadata>, StoreError> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling symlink is an error; a missing path is not.
            match fs::symlink_metadata(path) {
                Ok(_) => Err(io_error(path, &e)),
                Err(_) => Ok(None),
            }
        }
        Err(e) => Err(io_error(path, &e)),
    }
}

pub(crate) fn load_dir(root: &Path) -> Result<TrustStore, StoreError> {
    let mut store = TrustStore::new();
    let mut files = 0usize;
    let x509 = root.join("x509");
    for store_type in StoreType::ALL {
        let type_dir = x509.join(store_type.as_str());
        match target_metadata(&type_dir)? {
            None => continue,
            Some(m) if !m.is_dir() => {
                return Err(StoreError::NotADirectory {
                    path: type_dir.display().to_string(),
                })
            }
            Some(_) => {}
        }
        for (name, named_path) in sorted_entries(&type_dir)? {
            let is_dir = target_metadata(&named_path)?.is_some_and(|m| m.is_dir());
            if !is_dir {
                return Err(StoreError::NotADirectory {
                    path: named_path.display().to_string(),
                });
            }
            store.add_empty_store(store_type, &name)?;
            for (_, path) in sorted_entries(&named_path)? {
                let is_file = target_metadata(&path)?.is_some_and(|m| m.is_file());
                if !is_file {
                    return Err(StoreError::NotRegularFile {
                        path: path.display().to_string(),
                    });
                }
                files += 1;
                if files > MAX_FILES {
                    return Err(StoreError::TooManyFiles { max: MAX_FILES });
                }
                let bytes = read_bounded(&path)?;
                store.add_file(store_type, &name, &path.display().to_string(), &bytes)?;
            }
        }
    }
    Ok(store)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, StoreError> {
    let file = fs::File::open(path).map_err(|e| io_error(path, &e))?;
    let too_large = |size: u64| StoreError::FileTooLarge {
        file: path.display().to_string(),
        size,
        max: MAX_FILE_SIZE,
    };
    let metadata = file.metadata().map_err(|e| io_error(path, &e))?;
    // Checked again on the opened file: the entry may have been replaced since it was listed.
    if !metadata.is_file() {
        return Err(StoreError::NotRegularFile {
            path: path.display().to_string(),
        });
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, &e))?;
    let size = bytes.len() as u64;
    if size > MAX_FILE_SIZE {
        return Err(too_large(size));
    }
    Ok(bytes)
}
