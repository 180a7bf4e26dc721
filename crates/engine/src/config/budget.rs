//! How much one cached item counts against its byte budget (`imagegate.cache.*CacheBytes`).
//!
//! A budget is meant as resident memory, so an item weighs what it keeps on the heap, not only
//! its payload: a signature manifest of 728 bytes is also kept parsed (descriptors, annotation
//! maps) and weighs about 4 KiB; every entry adds its key and the cache's own record. The
//! figures are estimates from the types' layouts, checked against a counting allocator in
//! `crates/cli/tests/cache_weights.rs` (never below the real heap use, at most twice it).

use std::collections::BTreeMap;
use std::mem::size_of;

use imagegate_oci::{Descriptor, Manifest, ParsedManifest, Platform};

/// Heap bytes of one cache entry besides its key and value: the cache's entry record, its
/// access-order, write-order and timer nodes and its hash-table slot (moka 0.12, measured with
/// heaptrack at about 290 bytes per entry), rounded up.
pub const ENTRY_OVERHEAD: usize = 320;

/// What the allocator adds to every heap block (glibc: an 8-byte header, 16-byte rounding).
const BLOCK: usize = 16;

/// Entries per node of the standard library's B-tree (B = 6).
const BTREE_NODE_ENTRIES: usize = 11;

/// Weight of a blob (signature envelope) cached under `key`.
pub fn blob_weight(key: &str, blob: &[u8]) -> u32 {
    // `Bytes` frozen from a `BytesMut`: the buffer, plus a shared header once it is cloned.
    clamp(entry(key) + heap_block(blob.len()) + heap_block(4 * size_of::<usize>()))
}

/// Weight of a manifest (bytes and parse) cached under `key`.
pub fn manifest_weight(key: &str, manifest: &Manifest) -> u32 {
    let parsed = match &manifest.parsed {
        ParsedManifest::Image(m) => {
            opt_string(&m.media_type)
                + opt_string(&m.artifact_type)
                + descriptor_heap(&m.config)
                + descriptors_heap(&m.layers)
                + m.subject.as_ref().map_or(0, descriptor_heap)
                + opt_map(&m.annotations)
        }
        ParsedManifest::Index(i) => {
            opt_string(&i.media_type)
                + opt_string(&i.artifact_type)
                + descriptors_heap(&i.manifests)
                + i.subject.as_ref().map_or(0, descriptor_heap)
                + opt_map(&i.annotations)
        }
    };
    let held = heap_block(2 * size_of::<usize>() + size_of::<Manifest>()) // the Arc
        + string(&manifest.digest)
        + string(&manifest.media_type)
        + heap_block(manifest.bytes.len())
        + heap_block(4 * size_of::<usize>())
        + parsed;
    clamp(entry(key) + held)
}

/// Weight of a referrers listing cached under `key` (its spare capacity included).
// The capacity is part of what the listing holds, so it takes the `Vec`.
#[allow(clippy::ptr_arg)]
pub fn referrers_weight(key: &str, list: &Vec<Descriptor>) -> u32 {
    let arc = heap_block(2 * size_of::<usize>() + size_of::<Vec<Descriptor>>());
    clamp(entry(key) + arc + descriptors_heap(list))
}

/// The key (moka keeps it in an `Arc`) and the entry record.
fn entry(key: &str) -> usize {
    heap_block(key.len())
        + heap_block(2 * size_of::<usize>() + size_of::<String>())
        + ENTRY_OVERHEAD
}

fn clamp(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// A heap block of `bytes` (none for 0) with the allocator's header and rounding.
fn heap_block(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes + 8).div_ceil(BLOCK) * BLOCK
    }
}

fn string(s: &String) -> usize {
    heap_block(s.capacity())
}

fn opt_string(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, string)
}

fn opt_map(m: &Option<BTreeMap<String, String>>) -> usize {
    let Some(m) = m else { return 0 };
    let node = heap_block(BTREE_NODE_ENTRIES * 2 * size_of::<String>() + 2 * size_of::<usize>());
    let nodes = m.len().div_ceil(BTREE_NODE_ENTRIES).max(1);
    nodes * node + m.iter().map(|(k, v)| string(k) + string(v)).sum::<usize>()
}

fn platform_heap(p: &Platform) -> usize {
    string(&p.architecture) + string(&p.os) + opt_string(&p.os_version) + opt_string(&p.variant)
}

/// The heap a descriptor owns (its inline fields are counted by whoever holds it).
fn descriptor_heap(d: &Descriptor) -> usize {
    string(&d.media_type)
        + string(&d.digest)
        + opt_string(&d.artifact_type)
        + opt_map(&d.annotations)
        + d.platform
            .as_ref()
            .map_or(0, |p| heap_block(size_of::<Platform>()) + platform_heap(p))
        + d.urls.as_ref().map_or(0, |u| {
            heap_block(u.capacity() * size_of::<String>()) + u.iter().map(string).sum::<usize>()
        })
}

fn descriptors_heap(list: &Vec<Descriptor>) -> usize {
    heap_block(list.capacity() * size_of::<Descriptor>())
        + list.iter().map(descriptor_heap).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_up_and_empty_is_free() {
        assert_eq!(heap_block(0), 0);
        assert_eq!(heap_block(1), 16);
        assert_eq!(heap_block(24), 32);
        assert_eq!(heap_block(25), 48);
    }

    #[test]
    fn a_blob_weighs_its_bytes_key_and_entry() {
        let w = blob_weight("r/x@sha256:1", &[0u8; 2000]) as usize;
        assert!(w >= 2000 + 12 + ENTRY_OVERHEAD, "{w}");
        assert!(w < 2000 + 12 + ENTRY_OVERHEAD + 200, "{w}");
    }

    #[test]
    fn spare_capacity_and_annotations_count() {
        let d = Descriptor {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 1,
            artifact_type: Some("application/vnd.cncf.notary.signature".into()),
            annotations: None,
            platform: None,
            urls: None,
        };
        let one = vec![d.clone()];
        let mut spare = Vec::with_capacity(4);
        spare.push(d.clone());
        assert!(referrers_weight("k", &spare) > referrers_weight("k", &one));
        let mut annotated = d;
        annotated.annotations = Some(BTreeMap::from([("k".into(), "v".into())]));
        let with_map = referrers_weight("k", &vec![annotated]);
        assert!(with_map >= referrers_weight("k", &one) + 500, "{with_map}");
    }
}
