//! Full `verify` of one signature against the floor: the raw aws-lc-rs signature check of the
//! same bytes with a pre-parsed public key.
//!
//! Run: `cargo bench -p imagegate-notation --bench notation_verify -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench setup fails loudly
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use common::pki::{self, Pki, T0};
use common::{manifest_descriptor, policy_file, store, vector, Input};
use criterion::{criterion_group, criterion_main, Criterion};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{self, EnvelopeFormat, JWS_MEDIA_TYPE};
use imagegate_notation::limits::Limits;
use imagegate_notation::policy::StoreType;
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::sign::{payload_json, sign_cose, sign_jws, SignOptions};
use imagegate_notation::{verify_with_cache, ChainCache, VerifyRequest};
use time::macros::datetime;
use x509_parser::prelude::{FromDer, X509Certificate};

fn floor_key(input: &Input) -> (ParsedPublicKey, Vec<u8>, Vec<u8>) {
    let env = envelope::parse(&input.envelope, &input.media_type, &Limits::DEFAULT).unwrap();
    let (_, leaf) = X509Certificate::from_der(env.cert_chain()[0].as_ref()).unwrap();
    let alg: &'static dyn VerificationAlgorithm = match env.algorithm() {
        SignatureAlgorithm::Ps256 => &sig::RSA_PSS_2048_8192_SHA256,
        SignatureAlgorithm::Ps384 => &sig::RSA_PSS_2048_8192_SHA384,
        SignatureAlgorithm::Ps512 => &sig::RSA_PSS_2048_8192_SHA512,
        SignatureAlgorithm::Es256 => &sig::ECDSA_P256_SHA256_FIXED,
        SignatureAlgorithm::Es384 => &sig::ECDSA_P384_SHA384_FIXED,
        SignatureAlgorithm::Es512 => &sig::ECDSA_P521_SHA512_FIXED,
    };
    let key =
        ParsedPublicKey::new(alg, leaf.public_key().subject_public_key.data.as_ref()).unwrap();
    (key, env.signing_input().to_vec(), env.signature().to_vec())
}

fn generated(format: EnvelopeFormat, alg: SignatureAlgorithm) -> Input {
    let pki: Pki = pki::chain(alg, 2, |_| {});
    let artifact = Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:ab", 1);
    let payload = payload_json(&artifact, &BTreeMap::new());
    let opts = SignOptions::x509(T0);
    let envelope = match format {
        EnvelopeFormat::Jws => sign_jws(&payload, &pki.signer, &pki.chain, &opts).unwrap(),
        EnvelopeFormat::Cose => sign_cose(&payload, &pki.signer, &pki.chain, &opts).unwrap(),
    };
    let policy = r#"{"version":"1.0","trustPolicies":[{"name":"bench","registryScopes":["*"],
        "signatureVerification":{"level":"strict"},"trustStores":["ca:bench"],"trustedIdentities":["*"]}]}"#;
    let root = pki.root().as_ref().to_vec();
    Input::signed(format, envelope, artifact, policy, "bench", root)
}

fn real_ps256() -> Input {
    let artifact = manifest_descriptor("oci-subject-manifest-b8479de3.json");
    Input {
        envelope: vector("jws-e2e-valid.json"),
        media_type: JWS_MEDIA_TYPE.to_owned(),
        reference: format!("localhost:5000/e2e@{}", artifact.digest),
        artifact,
        policy: policy_file("trustpolicy-strict.json"),
        store: store(&[(StoreType::Ca, "e2e", "cert-e2e.crt", vector("cert-e2e.crt"))]),
        now: datetime!(2025-06-01 0:00 UTC),
        metadata: Vec::new(),
        limits: Limits::DEFAULT,
    }
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("jws_ps256_real_vector", real_ps256()),
        (
            "jws_es256_chain2",
            generated(EnvelopeFormat::Jws, SignatureAlgorithm::Es256),
        ),
        (
            "cose_es384_chain2",
            generated(EnvelopeFormat::Cose, SignatureAlgorithm::Es384),
        ),
    ];
    for (name, input) in &cases {
        let outcome = input.run(&OfflineRevocationChecker).unwrap();
        assert!(outcome.is_verified(), "{name}: {:#?}", outcome.checks());
        let (key, message, signature) = floor_key(input);
        let mut group = c.benchmark_group(*name);
        group.bench_function("verify", |b| {
            b.iter(|| black_box(input.run(&OfflineRevocationChecker).unwrap().is_verified()))
        });
        let cache = ChainCache::new();
        let request = VerifyRequest {
            envelope: &input.envelope,
            envelope_media_type: &input.media_type,
            artifact: &input.artifact,
            artifact_reference: &input.reference,
            policy: &input.policy,
            trust_store: &input.store,
            now: input.now,
            revocation: &OfflineRevocationChecker,
            limits: &input.limits,
            user_metadata: &input.metadata,
        };
        group.bench_function("verify_with_chain_cache", |b| {
            b.iter(|| {
                black_box(
                    verify_with_cache(black_box(&request), &cache)
                        .unwrap()
                        .is_verified(),
                )
            })
        });
        let chain = envelope::parse(&input.envelope, &input.media_type, &Limits::DEFAULT)
            .unwrap()
            .cert_chain()
            .to_vec();
        group.bench_function("chain_validation", |b| {
            b.iter(|| {
                black_box(
                    imagegate_notation::cert::validate_signing_chain(black_box(&chain)).is_ok(),
                )
            })
        });
        group.bench_function("floor_raw_signature", |b| {
            b.iter(|| {
                black_box(
                    key.verify_sig(black_box(&message), black_box(&signature))
                        .is_ok(),
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
