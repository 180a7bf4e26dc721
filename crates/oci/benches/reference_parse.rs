//! Reference parsing on the warm path: our hand-written scanner against
//! `oci_client::Reference` (oci-spec's regex) on four typical admission keys.
//!
//! Run with `cargo bench -p imagegate-oci --bench reference_parse`.

// Benchmark harness: a failed setup should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use imagegate_oci::Reference;

const KEYS: [(&str, &str); 4] = [
    ("short", "nginx"),
    ("hub_tag", "docker.io/library/nginx:1.25.3"),
    (
        "digest",
        "myregistry.azurecr.io/team/app@sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9",
    ),
    (
        "port_tag_digest",
        "127.0.0.1:5000/org/service/api:v2.4.1@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    ),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference_parse");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, key) in KEYS {
        // Both parsers must accept the key, or the comparison is meaningless.
        Reference::parse(key).unwrap();
        key.parse::<oci_client::Reference>().unwrap();
        group.bench_function(format!("ours/{name}"), |b| {
            b.iter(|| Reference::parse(black_box(key)).unwrap())
        });
        group.bench_function(format!("oci_client/{name}"), |b| {
            b.iter(|| black_box(key).parse::<oci_client::Reference>().unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
