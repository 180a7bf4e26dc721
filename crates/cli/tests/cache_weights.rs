//! The cache weights (`imagegate_engine::config::budget`) against the heap the `imagegate`
//! binary really uses for the same items, measured with a counting allocator: a byte budget
//! must bound resident memory, so a weight may not be below the real use, and should not be
//! far above it (at most twice) or the budget holds needlessly little.
//!
//! One test function only: the allocator counts every thread, and the harness runs test
//! functions of one binary in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::System;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use imagegate_engine::config::budget::{self, ENTRY_OVERHEAD};
use imagegate_oci::{parse_manifest, Descriptor, ImageIndex, Manifest};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/notation/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Net heap bytes `make` leaves allocated, with what it made.
fn heap_of<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(GLOBAL);
    let made = make();
    let s = region.change();
    let net = s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated;
    (made, usize::try_from(net).unwrap_or(0))
}

/// Body bytes as the registry client reads them (declared length, then frozen), shared once
/// as the cache and the verifier do.
fn body(raw: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(raw.len());
    buf.extend_from_slice(raw);
    let bytes = buf.freeze();
    drop(bytes.clone());
    bytes
}

/// The cache key and moka's `Arc` around it.
fn key() -> Arc<String> {
    Arc::new(format!(
        "127.0.0.1:5000/bench/memory@sha256:{}",
        "c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50"
    ))
}

/// The weight less the cache's own record (which the allocator cannot see here).
fn value_weight(weight: u32) -> usize {
    weight as usize - ENTRY_OVERHEAD
}

fn check(what: &str, weight: usize, real: usize) {
    eprintln!("{what}: weight {weight} bytes, real heap {real} bytes");
    assert!(weight >= real, "{what}: weight {weight} < real heap {real}");
    assert!(
        weight <= 2 * real,
        "{what}: weight {weight} > 2 × real heap {real}"
    );
}

#[test]
fn weights_bound_the_real_heap_use() {
    let raw_manifest = vector("oci-sigmanifest-e2e-valid.json");
    let raw_envelope = vector("jws-e2e-valid.json");
    let raw_index = vector("oci-referrers-tag-index-e2e-valid.json");

    // Envelope blob.
    let ((k, blob), real) = heap_of(|| (key(), body(&raw_envelope)));
    check("blob", value_weight(budget::blob_weight(&k, &blob)), real);
    drop((k, blob));

    // Signature manifest: bytes plus parse.
    let ((k, manifest), real) = heap_of(|| {
        let bytes = body(&raw_manifest);
        let (media_type, parsed) = parse_manifest(&bytes, None).unwrap();
        let manifest = Manifest {
            digest: format!("sha256:{}", "9".repeat(64)),
            media_type,
            bytes,
            parsed,
        };
        (key(), Arc::new(manifest))
    });
    let weight = value_weight(budget::manifest_weight(&k, &manifest));
    check("manifest", weight, real);
    assert!(
        weight > 2 * raw_manifest.len(),
        "the parse is counted too: {weight} for {} bytes",
        raw_manifest.len()
    );
    drop((k, manifest));

    // Referrers listing (one annotated signature descriptor).
    let ((k, list), real) = heap_of(|| {
        let index: ImageIndex = serde_json::from_slice(&raw_index).unwrap();
        let list: Arc<Vec<Descriptor>> = Arc::new(index.manifests);
        (key(), list)
    });
    check(
        "referrers",
        value_weight(budget::referrers_weight(&k, &list)),
        real,
    );
}
