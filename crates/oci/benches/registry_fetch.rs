//! Fetch referrers + signature manifest + envelope for 200 distinct signed
//! subjects from a local `docker-registry` (distribution 2.8, so referrers come
//! from the tag schema), against a floor measured in the same run: the same
//! three GETs per subject issued by a bare reqwest client over one kept-alive
//! connection, with every URL known in advance and no parsing or hashing.
//!
//! Run with `cargo bench -p imagegate-oci --bench registry_fetch`; the ratio is
//! `imagegate / floor`.

// Benchmark harness: a failed setup should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use imagegate_oci::{
    ClientConfig, Descriptor, ParsedManifest, Reference, RegistryClient, NOTARY_SIGNATURE,
    OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
};
use imagegate_testkit::{desc, image_manifest, sha256, Registry};
use serde_json::json;

const SUBJECTS: usize = 200;
const REPO: &str = "bench/app";

struct Subject {
    reference: Reference,
    urls: [String; 3],
}

async fn push_subjects(reg: &Registry) -> Vec<Subject> {
    let p = reg.pusher(REPO);
    let empty = p.blob(OCI_EMPTY, b"{}").await;
    let mut out = Vec::with_capacity(SUBJECTS);
    for i in 0..SUBJECTS {
        let layer = p
            .blob(
                "application/vnd.oci.image.layer.v1.tar",
                format!("layer {i}").as_bytes(),
            )
            .await;
        let subject_bytes = image_manifest(
            &desc("application/vnd.oci.image.config.v1+json", &empty.digest, 2),
            &[layer],
            json!({}),
        );
        let subject = p
            .manifest(&format!("v{i}"), OCI_MANIFEST, &subject_bytes)
            .await;
        // A ~2 KiB envelope, like the notation e2e JWS.
        let envelope = format!("{{\"payload\":\"{}\",\"n\":{i}}}", "A".repeat(2000));
        let env = p.blob("application/jose+json", envelope.as_bytes()).await;
        let sig_bytes = image_manifest(
            &desc(NOTARY_SIGNATURE, &empty.digest, 2),
            std::slice::from_ref(&env),
            json!({"subject": subject}),
        );
        let sig = p
            .manifest(&sha256(&sig_bytes), OCI_MANIFEST, &sig_bytes)
            .await;
        let tag = subject.digest.replace(':', "-");
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": sig.digest, "size": sig.size, "artifactType": NOTARY_SIGNATURE}]}))
        .unwrap_or_default();
        p.manifest(&tag, OCI_INDEX, &index).await;
        let base = format!("{}/v2/{REPO}", reg.url());
        out.push(Subject {
            reference: Reference::parse(&format!("{}/{REPO}@{}", reg.host(), subject.digest))
                .unwrap(),
            urls: [
                format!("{base}/manifests/{tag}"),
                format!("{base}/manifests/{}", sig.digest),
                format!("{base}/blobs/{}", env.digest),
            ],
        });
    }
    out
}

async fn with_imagegate(client: &RegistryClient, subjects: &[Subject]) -> usize {
    let mut total = 0;
    for s in subjects {
        let sigs: Vec<Descriptor> = client
            .referrers(&s.reference, Some(NOTARY_SIGNATURE))
            .await
            .unwrap();
        let m = client
            .fetch_manifest(&s.reference, &sigs[0].digest)
            .await
            .unwrap();
        let ParsedManifest::Image(image) = &m.parsed else {
            panic!("not an image manifest")
        };
        let env = client
            .fetch_blob(&s.reference, image.signature_envelope().unwrap())
            .await
            .unwrap();
        total += env.len();
    }
    total
}

async fn with_bare_reqwest(http: &reqwest::Client, subjects: &[Subject]) -> usize {
    let accept = [OCI_INDEX, OCI_MANIFEST, "*/*"];
    let mut total = 0;
    for s in subjects {
        for (url, accept) in s.urls.iter().zip(accept) {
            let body = http
                .get(url)
                .header("Accept", accept)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            total += body.len();
        }
    }
    total
}

fn registry_fetch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reg = Registry::start();
    let subjects = rt.block_on(push_subjects(&reg));
    let client = RegistryClient::new(ClientConfig::default()).unwrap();
    let bare = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    // Warm both (connection set-up, and imagegate learning that distribution
    // has no referrers API) and check they fetch the same envelopes.
    let a = rt.block_on(with_imagegate(&client, &subjects));
    let b = rt.block_on(with_bare_reqwest(&bare, &subjects));
    assert!(
        a > 0 && b > a,
        "floor reads the same envelopes plus the index and manifest bodies"
    );

    let mut group = c.benchmark_group("registry_fetch_200_signed_subjects");
    group.sample_size(10);
    group.bench_function("imagegate_oci", |bench| {
        bench.iter(|| black_box(rt.block_on(with_imagegate(&client, &subjects))))
    });
    group.bench_function("floor_bare_reqwest_one_connection", |bench| {
        bench.iter(|| black_box(rt.block_on(with_bare_reqwest(&bare, &subjects))))
    });
    group.finish();
    drop(reg);
}

criterion_group!(benches, registry_fetch);
criterion_main!(benches);
