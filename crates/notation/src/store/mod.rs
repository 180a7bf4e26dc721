//! Trust stores: named sets of trusted certificates, by type (`ca`, `signingAuthority`, `tsa`).
//!
//! [`TrustStore`] is filled from bytes with [`TrustStore::add_file`] (no I/O), or, with the `fs`
//! feature, from the Notation directory layout with [`TrustStore::load_dir`]. Certificate rules
//! follow notation-go: `ca`/`signingAuthority` certificates must be CA certificates or
//! self-signed; `tsa` certificates must be self-signed root CAs.

mod error;
#[cfg(feature = "fs")]
mod fs;
mod parse;

use std::collections::BTreeMap;

use rustls_pki_types::CertificateDer;

use crate::policy::{is_valid_store_name, StoreType};

pub use error::StoreError;
#[cfg(feature = "fs")]
pub use fs::{MAX_FILES, MAX_FILE_SIZE};
pub use parse::MAX_CERTS_PER_FILE;

/// Named trust stores: `(type, name)` → certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    stores: BTreeMap<(StoreType, String), Vec<CertificateDer<'static>>>,
}

impl TrustStore {
    /// An empty set of stores.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declare a named store without certificates (as an empty directory would). Looking it
    /// up then fails with "no x509 certificates were found in trust store …".
    pub fn add_empty_store(&mut self, store_type: StoreType, name: &str) -> Result<(), StoreError> {
        validate_name(name)?;
        self.stores
            .entry((store_type, name.to_owned()))
            .or_default();
        Ok(())
    }

    /// Add one file's bytes to the store `store_type:name`: PEM with one or more
    /// `CERTIFICATE` blocks, or one or more concatenated DER certificates. Returns how many
    /// certificates were added. Nothing is added if any certificate of the file is rejected.
    pub fn add_file(
        &mut self,
        store_type: StoreType,
        name: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<usize, StoreError> {
        validate_name(name)?;
        let certs = parse::read_certificates(file_name, bytes)?;
        for cert in &certs {
            parse::check_certificate(store_type, name, file_name, cert)?;
        }
        let added = certs.len();
        self.stores
            .entry((store_type, name.to_owned()))
            .or_default()
            .extend(certs);
        Ok(added)
    }

    /// The certificates of one named store.
    pub fn certificates(
        &self,
        store_type: StoreType,
        name: &str,
    ) -> Result<&[CertificateDer<'static>], StoreError> {
        match self.stores.get(&(store_type, name.to_owned())) {
            None => Err(StoreError::NotFound {
                store_type,
                name: name.to_owned(),
            }),
            Some(certs) if certs.is_empty() => Err(StoreError::Empty {
                store_type,
                name: name.to_owned(),
            }),
            Some(certs) => Ok(certs),
        }
    }

    /// The `(type, name)` of every store, sorted.
    pub fn store_names(&self) -> impl Iterator<Item = (StoreType, &str)> + '_ {
        self.stores.keys().map(|(t, n)| (*t, n.as_str()))
    }

    /// Load the Notation layout `<root>/x509/{ca,signingAuthority,tsa}/<name>/<files>`.
    ///
    /// Every regular file of a named store directory is read, whatever its extension (as in
    /// notation-go). Symlinks are followed and entries whose names start with `..` are
    /// skipped, so Kubernetes Secret and ConfigMap volumes (`cert.pem -> ..data/cert.pem`)
    /// load as they are; unlike notation-go, which refuses symlinks. A sub-directory inside a
    /// named store is an error. A missing `x509` directory or type directory just yields no
    /// stores. Bounded: at most [`MAX_FILES`] files, each at most [`MAX_FILE_SIZE`] bytes.
    #[cfg(feature = "fs")]
    pub fn load_dir(root: &std::path::Path) -> Result<Self, StoreError> {
        fs::load_dir(root)
    }
}

fn validate_name(name: &str) -> Result<(), StoreError> {
    if is_valid_store_name(name) {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_owned()))
    }
}
