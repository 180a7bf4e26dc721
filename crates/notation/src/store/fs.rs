//! Loading trust stores from the Notation directory layout (feature `fs`).

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::policy::StoreType;

use super::error::StoreError;
use super::TrustStore;

/// Largest certificate file accepted (bytes).
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;
/// Most files accepted over all stores.
pub const MAX_FILES: usize = 1000;

fn io_error(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Sorted entries of a directory (bounded by `MAX_FILES + 1`).
fn sorted_entries(dir: &Path) -> Result<Vec<fs::DirEntry>, StoreError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, &e))? {
        entries.push(entry.map_err(|e| io_error(dir, &e))?);
        if entries.len() > MAX_FILES {
            return Err(StoreError::TooManyFiles { max: MAX_FILES });
        }
    }
    entries.sort_by_key(fs::DirEntry::file_name);
    Ok(entries)
}

pub(crate) fn load_dir(root: &Path) -> Result<TrustStore, StoreError> {
    let mut store = TrustStore::new();
    let mut files = 0usize;
    let x509 = root.join("x509");
    for store_type in StoreType::ALL {
        let type_dir = x509.join(store_type.as_str());
        match fs::symlink_metadata(&type_dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&type_dir, &e)),
            Ok(m) if !m.is_dir() => {
                return Err(StoreError::NotRegularFile {
                    path: type_dir.display().to_string(),
                })
            }
            Ok(_) => {}
        }
        for named in sorted_entries(&type_dir)? {
            let named_path = named.path();
            let file_type = named.file_type().map_err(|e| io_error(&named_path, &e))?;
            if !file_type.is_dir() {
                return Err(StoreError::NotRegularFile {
                    path: named_path.display().to_string(),
                });
            }
            let name = named.file_name().to_string_lossy().into_owned();
            store.add_empty_store(store_type, &name)?;
            for file in sorted_entries(&named_path)? {
                let path = file.path();
                let file_type = file.file_type().map_err(|e| io_error(&path, &e))?;
                if !file_type.is_file() {
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
    let declared = file.metadata().map_err(|e| io_error(path, &e))?.len();
    if declared > MAX_FILE_SIZE {
        return Err(too_large(declared));
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
