//! Trust stores loaded from the Notation directory layout (feature `fs`).
#![cfg(feature = "fs")]
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use imagegate_notation::policy::StoreType;
use imagegate_notation::store::{StoreError, TrustStore, MAX_FILES, MAX_FILE_SIZE};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/notation"
);

fn copy(name: &str, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(format!("{VECTORS}/{name}"), to).unwrap();
}

#[test]
fn layout_with_pem_and_der_loads() {
    let dir = tempfile::tempdir().unwrap();
    let x509 = dir.path().join("x509");
    copy("cert-e2e.crt", &x509.join("ca/e2e/e2e.crt"));
    copy(
        "cert-NotationTestRoot.pem",
        &x509.join("ca/e2e/NotationTestRoot.pem"),
    );
    copy(
        "cert-NotationTestRoot.pem",
        &x509.join("signingAuthority/valid-trust-store/root.pem"),
    );
    copy(
        "cert-tsa-root-globalsign-r6.cer",
        &x509.join("tsa/e2e/globalsignRoot.cer"),
    );
    // Files are read whatever their extension.
    copy("cert-expired_e2e.crt", &x509.join("ca/other/expired.txt"));
    fs::create_dir_all(x509.join("ca/empty")).unwrap();

    let store = TrustStore::load_dir(dir.path()).unwrap();
    assert_eq!(store.certificates(StoreType::Ca, "e2e").unwrap().len(), 2);
    assert_eq!(store.certificates(StoreType::Ca, "other").unwrap().len(), 1);
    assert_eq!(
        store
            .certificates(StoreType::SigningAuthority, "valid-trust-store")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.certificates(StoreType::Tsa, "e2e").unwrap().len(), 1);
    assert!(matches!(
        store.certificates(StoreType::Ca, "empty"),
        Err(StoreError::Empty { .. })
    ));
    assert!(matches!(
        store.certificates(StoreType::Tsa, "other"),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn missing_directories_give_no_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrustStore::load_dir(dir.path()).unwrap();
    assert_eq!(store.store_names().count(), 0);
}

#[test]
fn sub_directories_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/ca/e2e/e2e.crt"));
    fs::create_dir_all(dir.path().join("x509/ca/e2e/nested")).unwrap();
    let err = TrustStore::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotRegularFile { .. }), "{err:?}");
    assert!(err.to_string().contains("nested"), "{err}");
    assert!(
        err.to_string()
            .contains("sub-directories and symlinks are not allowed"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("elsewhere/e2e.crt"));
    fs::create_dir_all(dir.path().join("x509/ca/e2e")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere/e2e.crt"),
        dir.path().join("x509/ca/e2e/link.crt"),
    )
    .unwrap();
    assert!(matches!(
        TrustStore::load_dir(dir.path()),
        Err(StoreError::NotRegularFile { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("elsewhere/e2e.crt"));
    fs::create_dir_all(dir.path().join("x509/ca")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere"),
        dir.path().join("x509/ca/linked-store"),
    )
    .unwrap();
    assert!(matches!(
        TrustStore::load_dir(dir.path()),
        Err(StoreError::NotRegularFile { .. })
    ));
}

#[test]
fn bad_files_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x509/tsa/t/junk.pem");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"junk").unwrap();
    let err = TrustStore::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("junk.pem"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x509/ca/big/big.pem");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(
        &path,
        vec![b'a'; usize::try_from(MAX_FILE_SIZE).unwrap() + 1],
    )
    .unwrap();
    assert!(matches!(
        TrustStore::load_dir(dir.path()),
        Err(StoreError::FileTooLarge { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/ca/bad name/e2e.crt"));
    assert!(matches!(
        TrustStore::load_dir(dir.path()),
        Err(StoreError::InvalidName(_))
    ));
}

#[test]
fn file_count_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("x509/ca/many");
    fs::create_dir_all(&store_dir).unwrap();
    let cert = fs::read(format!("{VECTORS}/cert-e2e.crt")).unwrap();
    for i in 0..=MAX_FILES {
        fs::write(store_dir.join(format!("{i}.crt")), &cert).unwrap();
    }
    assert_eq!(
        TrustStore::load_dir(dir.path()).unwrap_err(),
        StoreError::TooManyFiles { max: MAX_FILES }
    );
}
