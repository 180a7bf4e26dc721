//! Trust stores loaded from the Notation directory layout (feature `fs`).
#![cfg(feature = "fs")]
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use imagegate_notation::policy::StoreType;
use imagegate_notation::store::{StoreError, TrustStore, MAX_FILES, MAX_FILE_SIZE};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");

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
        err.to_string().contains("sub-directories are not allowed"),
        "{err}"
    );
}

/// A Kubernetes Secret/ConfigMap volume as the kubelet writes it into `dir`: the files in a
/// hidden `..<timestamp>` directory, `..data` pointing at it, and one visible symlink per key.
#[cfg(unix)]
fn kubernetes_volume(dir: &Path, files: &[(&str, &str)]) {
    use std::os::unix::fs::symlink;
    let stamp = "..2024_06_01_00_00_00.123456789";
    for (key, vector) in files {
        copy(vector, &dir.join(stamp).join(key));
    }
    symlink(stamp, dir.join("..data")).unwrap();
    for (key, _) in files {
        let top = key.split('/').next().unwrap();
        if !dir.join(top).exists() {
            symlink(Path::new("..data").join(top), dir.join(top)).unwrap();
        }
    }
}

#[cfg(unix)]
#[test]
fn kubernetes_volume_per_named_store_loads() {
    let dir = tempfile::tempdir().unwrap();
    // One Secret mounted at each named store directory.
    kubernetes_volume(
        &dir.path().join("x509/ca/wabbit"),
        &[
            ("cert-e2e.crt", "cert-e2e.crt"),
            ("root.pem", "cert-NotationTestRoot.pem"),
        ],
    );
    kubernetes_volume(
        &dir.path().join("x509/tsa/globalsign"),
        &[("root.cer", "cert-tsa-root-globalsign-r6.cer")],
    );
    let store = TrustStore::load_dir(dir.path()).unwrap();
    // Each certificate once: the hidden `..` copies are not read a second time.
    assert_eq!(
        store.certificates(StoreType::Ca, "wabbit").unwrap().len(),
        2
    );
    assert_eq!(
        store
            .certificates(StoreType::Tsa, "globalsign")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.store_names().count(), 2);
}

#[cfg(unix)]
#[test]
fn kubernetes_volume_of_the_whole_layout_loads() {
    let dir = tempfile::tempdir().unwrap();
    // One ConfigMap mounted at the root, its keys projected to paths with `items`:
    // `x509 -> ..data/x509` is a symlink to a directory.
    kubernetes_volume(
        dir.path(),
        &[
            ("x509/ca/e2e/e2e.crt", "cert-e2e.crt"),
            (
                "x509/signingAuthority/sa/root.pem",
                "cert-NotationTestRoot.pem",
            ),
        ],
    );
    let store = TrustStore::load_dir(dir.path()).unwrap();
    assert_eq!(store.certificates(StoreType::Ca, "e2e").unwrap().len(), 1);
    assert_eq!(
        store
            .certificates(StoreType::SigningAuthority, "sa")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.store_names().count(), 2);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_but_must_reach_the_right_kind() {
    use std::os::unix::fs::symlink;
    // A symlinked file and a symlinked named store load.
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("elsewhere/e2e.crt"));
    fs::create_dir_all(dir.path().join("x509/ca/e2e")).unwrap();
    symlink(
        dir.path().join("elsewhere/e2e.crt"),
        dir.path().join("x509/ca/e2e/link.crt"),
    )
    .unwrap();
    symlink(
        dir.path().join("elsewhere"),
        dir.path().join("x509/ca/linked-store"),
    )
    .unwrap();
    let store = TrustStore::load_dir(dir.path()).unwrap();
    assert_eq!(store.certificates(StoreType::Ca, "e2e").unwrap().len(), 1);
    assert_eq!(
        store
            .certificates(StoreType::Ca, "linked-store")
            .unwrap()
            .len(),
        1
    );

    // A symlink to a directory inside a named store is a sub-directory: refused.
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/ca/e2e/e2e.crt"));
    fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    symlink(
        dir.path().join("elsewhere"),
        dir.path().join("x509/ca/e2e/dir-link"),
    )
    .unwrap();
    let err = TrustStore::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotRegularFile { .. }), "{err:?}");
    assert!(err.to_string().contains("dir-link"), "{err}");

    // A dangling symlink is an I/O error naming it, not silently skipped.
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/ca/e2e/e2e.crt"));
    symlink(
        dir.path().join("missing.crt"),
        dir.path().join("x509/ca/e2e/dangling.crt"),
    )
    .unwrap();
    let err = TrustStore::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("dangling.crt"), "{err}");

    // A symlink loop fails instead of recursing.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("x509/ca")).unwrap();
    symlink("loop", dir.path().join("x509/ca/loop")).unwrap();
    assert!(matches!(
        TrustStore::load_dir(dir.path()),
        Err(StoreError::Io { .. })
    ));
}

#[test]
fn files_where_directories_belong_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/ca/e2e.crt"));
    let err = TrustStore::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotADirectory { .. }), "{err:?}");
    assert!(err.to_string().contains("e2e.crt"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/tsa"));
    assert!(matches!(
        TrustStore::load_dir(dir.path()),
        Err(StoreError::NotADirectory { .. })
    ));
}

#[test]
fn entries_starting_with_two_dots_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    copy("cert-e2e.crt", &dir.path().join("x509/ca/e2e/e2e.crt"));
    // Neither a stray hidden directory nor a non-certificate `..` file is read.
    fs::create_dir_all(dir.path().join("x509/ca/e2e/..2020_old")).unwrap();
    fs::write(dir.path().join("x509/ca/e2e/..junk"), b"not a certificate").unwrap();
    fs::create_dir_all(dir.path().join("x509/ca/..hidden-store")).unwrap();
    let store = TrustStore::load_dir(dir.path()).unwrap();
    assert_eq!(store.certificates(StoreType::Ca, "e2e").unwrap().len(), 1);
    assert_eq!(store.store_names().count(), 1);
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
