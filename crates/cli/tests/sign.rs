//! `imagegate sign` end to end: the built binary signs images in a real registry
//! (distribution 2.8, so the referrers tag index is maintained), then the oci client
//! discovers the signatures and the notation verifier accepts each envelope for the
//! pushed subject.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use common::{imagegate, registry};
use imagegate_notation::policy::TrustPolicyDocument;
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::sign::{chain_thumbprints, ANNOTATION_CREATED, ANNOTATION_THUMBPRINTS};
use imagegate_notation::{verify, Limits, VerifyRequest};
use imagegate_oci::{
    Descriptor, ParsedManifest, Reference, RegistryClient, SignatureShape, COSE_ENVELOPE,
    JWS_ENVELOPE, NOTARY_SIGNATURE,
};
use imagegate_testkit::{Pki, PkiFiles, Registry};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn sign(files: &PkiFiles, image: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sign",
        "--key",
        files.key.to_str().unwrap(),
        "--cert",
        files.chain.to_str().unwrap(),
        image,
    ];
    args.extend_from_slice(extra);
    imagegate(&args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fetches signature `sig` of `subject` and checks its manifest, annotations and envelope
/// with the notation verifier; returns the envelope's signing time and expiry.
async fn check_signature(
    c: &RegistryClient,
    subject: &Reference,
    subject_desc: &Descriptor,
    sig: &Descriptor,
    pki: &Pki,
    shape: SignatureShape,
    media_type: &str,
) -> (OffsetDateTime, Option<OffsetDateTime>) {
    assert_eq!(sig.artifact_type.as_deref(), Some(NOTARY_SIGNATURE));
    let annotations = sig
        .annotations
        .clone()
        .expect("index entry has annotations");
    let prints: Vec<String> = serde_json::from_str(&annotations[ANNOTATION_THUMBPRINTS]).unwrap();
    assert_eq!(prints, chain_thumbprints(&pki.chain()));
    let created = OffsetDateTime::parse(&annotations[ANNOTATION_CREATED], &Rfc3339).unwrap();

    let manifest = c.fetch_manifest(subject, &sig.digest).await.unwrap();
    let ParsedManifest::Image(m) = manifest.parsed else {
        panic!("signature is not an image manifest")
    };
    assert_eq!(m.signature_shape(), Some(shape));
    assert_eq!(m.subject.as_ref(), Some(subject_desc));
    assert_eq!(m.annotations.as_ref(), Some(&annotations));
    let layer = m.signature_envelope().unwrap();
    assert_eq!(layer.media_type, media_type);
    let envelope = c.fetch_blob(subject, layer).await.unwrap();

    let parsed =
        imagegate_notation::envelope::parse(&envelope, media_type, &Limits::DEFAULT).unwrap();
    assert_eq!(parsed.signing_time(), Some(created));
    let policy =
        TrustPolicyDocument::from_json(pki.trust_policy_json("signer").as_bytes()).unwrap();
    let store = pki.trust_store("signer");
    let artifact = imagegate_notation::Descriptor::new(
        subject_desc.media_type.clone(),
        subject_desc.digest.clone(),
        subject_desc.size,
    );
    let reference = format!(
        "{}/{}@{}",
        subject.registry, subject.repository, subject_desc.digest
    );
    let request = |artifact: &imagegate_notation::Descriptor| {
        verify(&VerifyRequest {
            envelope: &envelope,
            envelope_media_type: media_type,
            artifact,
            artifact_reference: &reference,
            policy: &policy,
            trust_store: &store,
            now: created + time::Duration::minutes(1),
            revocation: &OfflineRevocationChecker,
            limits: &Limits::DEFAULT,
            user_metadata: &[],
        })
        .unwrap()
    };
    let outcome = request(&artifact);
    assert!(outcome.is_verified(), "{:#?}", outcome.checks());
    // The envelope signs this subject and no other.
    let other = imagegate_notation::Descriptor::new(
        artifact.media_type.clone(),
        imagegate_testkit::sha256(b"another image"),
        artifact.size,
    );
    assert!(!request(&other).is_verified());
    (created, parsed.expiry())
}

#[tokio::test]
async fn signs_with_jws_and_cose_and_the_signatures_verify() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_files(dir.path());
    let pusher = registry().pusher("cli/app");
    let subject_desc = pusher.image("v1").await;
    let image = format!("{}/cli/app:v1", registry().host());
    let subject = Reference::parse(&image)
        .unwrap()
        .with_digest(&subject_desc.digest);

    // JWS, new manifest shape (the defaults).
    let jws = sign(&files, &image, &[]);
    assert!(jws.status.success(), "{}", text(&jws.stderr));
    let jws_digest = text(&jws.stdout).trim().to_owned();
    assert!(jws_digest.starts_with("sha256:"), "{jws_digest}");
    assert!(
        text(&jws.stderr).contains("referrers tag sha256-"),
        "{}",
        text(&jws.stderr)
    );

    // COSE, legacy shape, with an expiry; addressed by digest this time.
    let pinned = format!("{}@{}", image, subject_desc.digest);
    let cose = sign(
        &files,
        &pinned,
        &["--envelope", "cose", "--legacy-manifest", "--expiry", "1h"],
    );
    assert!(cose.status.success(), "{}", text(&cose.stderr));
    let cose_digest = text(&cose.stdout).trim().to_owned();
    assert_ne!(cose_digest, jws_digest);

    let c = registry().client();
    let sigs = c.referrers(&subject, Some(NOTARY_SIGNATURE)).await.unwrap();
    let digests: Vec<&str> = sigs.iter().map(|d| d.digest.as_str()).collect();
    assert_eq!(digests, [jws_digest.as_str(), cose_digest.as_str()]);

    let (_, no_expiry) = check_signature(
        &c,
        &subject,
        &subject_desc,
        &sigs[0],
        &pki,
        SignatureShape::ArtifactType,
        JWS_ENVELOPE,
    )
    .await;
    assert_eq!(no_expiry, None);
    let (signed_at, expiry) = check_signature(
        &c,
        &subject,
        &subject_desc,
        &sigs[1],
        &pki,
        SignatureShape::LegacyConfig,
        COSE_ENVELOPE,
    )
    .await;
    assert_eq!(expiry, Some(signed_at + time::Duration::hours(1)));
}

#[tokio::test]
async fn an_intermediate_chain_and_an_rsa_key_sign_too() {
    let pki = Pki::new(&imagegate_testkit::PkiOptions {
        algorithm: imagegate_notation::alg::SignatureAlgorithm::Ps256,
        intermediate: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_files(dir.path());
    let subject_desc = registry().pusher("cli/rsa").image("v1").await;
    let image = format!("{}/cli/rsa:v1", registry().host());
    let out = sign(&files, &image, &["--envelope", "cose"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let subject = Reference::parse(&image)
        .unwrap()
        .with_digest(&subject_desc.digest);
    let c = registry().client();
    let sigs = c.referrers(&subject, Some(NOTARY_SIGNATURE)).await.unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].digest, text(&out.stdout).trim());
    check_signature(
        &c,
        &subject,
        &subject_desc,
        &sigs[0],
        &pki,
        SignatureShape::ArtifactType,
        COSE_ENVELOPE,
    )
    .await;
}

#[tokio::test]
async fn failures_say_what_is_wrong() {
    let pki = Pki::generate();
    let stranger = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_files(dir.path());
    registry().pusher("cli/fail").image("v1").await;
    let image = format!("{}/cli/fail:v1", registry().host());

    // A key that does not belong to the certificate: a usage error (exit 2), nothing pushed.
    let other_dir = tempfile::tempdir().unwrap();
    let other = stranger.write_files(other_dir.path());
    let out = imagegate(&[
        "sign",
        "--key",
        other.key.to_str().unwrap(),
        "--cert",
        files.chain.to_str().unwrap(),
        &image,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("does not match the public key"),
        "{}",
        text(&out.stderr)
    );

    // A missing image: the signature cannot be stored (exit 1).
    let missing = format!("{}/cli/fail:nope", registry().host());
    let out = sign(&files, &missing, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).is_empty());

    // Bad flags and files are usage errors.
    let out = sign(&files, &image, &["--expiry", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a duration"),
        "{}",
        text(&out.stderr)
    );
    let out = imagegate(&[
        "sign",
        "--key",
        dir.path().join("absent.pem").to_str().unwrap(),
        "--cert",
        files.chain.to_str().unwrap(),
        &image,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot open the private key file"));

    // Nothing was attached to the image by the failed attempts.
    let subject = registry()
        .client()
        .resolve(&registry().reference("cli/fail:v1"))
        .await
        .unwrap();
    let pinned = registry()
        .reference("cli/fail:v1")
        .with_digest(&subject.digest);
    assert!(registry()
        .client()
        .referrers(&pinned, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn push_credentials_come_from_a_docker_config() {
    let reg = Registry::start_htpasswd("signer", "s3cret");
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_files(dir.path());
    let subject_desc = reg.pusher("cli/private").image("v1").await;
    let image = format!("{}/cli/private:v1", reg.host());

    // Without credentials the registry refuses: exit 1, nothing printed on stdout.
    let out = sign(&files, &image, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("requires authentication"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).is_empty());

    let config = dir.path().join("config.json");
    let auths =
        serde_json::json!({"auths": {reg.host(): {"username": "signer", "password": "s3cret"}}});
    std::fs::write(&config, auths.to_string()).unwrap();
    let out = sign(
        &files,
        &image,
        &["--registry-config", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("s3cret"));
    let subject = Reference::parse(&image)
        .unwrap()
        .with_digest(&subject_desc.digest);
    let sigs = reg
        .client()
        .referrers(&subject, Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].digest, text(&out.stdout).trim());
}
