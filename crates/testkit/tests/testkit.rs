//! The testkit's own promises: registries and mock servers stop when dropped, generated
//! PKIs pass the Notation certificate rules, and `sign_image` leaves a signature that is
//! discovered through the referrers tag index and verifies for its image.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::cert::{check_timestamping_leaf, validate_signing_chain};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::policy::TrustPolicyDocument;
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::{verify, Limits, VerifyRequest};
use imagegate_oci::{ParsedManifest, SignatureShape, NOTARY_SIGNATURE};
use imagegate_testkit::{
    sign_image, sign_image_with, MockServer, Pki, PkiOptions, Registry, Reply, SignImageOptions,
    SignedImage, SIGNING_TIME,
};

fn refused(port: u16) -> bool {
    // The process may need a moment to release the socket.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn registry_and_mock_server_stop_on_drop() {
    let reg = Registry::start();
    let port = reg.port;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(reg);
    assert!(refused(port), "registry still listening on {port}");

    let server = MockServer::start(|_| Reply::status(204));
    let port = server.port;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(server);
    assert!(refused(port), "mock server still listening on {port}");
}

#[test]
fn generated_pkis_follow_the_notation_certificate_rules() {
    for opts in [
        PkiOptions::default(),
        PkiOptions {
            algorithm: SignatureAlgorithm::Ps256,
            intermediate: true,
            tsa: true,
            common_name: "rsa signer".into(),
        },
        PkiOptions {
            algorithm: SignatureAlgorithm::Es384,
            intermediate: true,
            ..Default::default()
        },
    ] {
        let pki = Pki::new(&opts);
        let chain = pki.chain();
        assert_eq!(chain.len(), if opts.intermediate { 3 } else { 2 });
        let infos = validate_signing_chain(&chain).unwrap();
        assert!(infos.iter().all(|c| c.is_valid_at(SIGNING_TIME)));
        assert_eq!(pki.signer().algorithm(), opts.algorithm);
        assert_eq!(pki.key().algorithm(), opts.algorithm);
        match &pki.tsa {
            Some(tsa) => {
                check_timestamping_leaf(tsa.leaf.as_ref()).unwrap();
                validate_signing_chain(&tsa.chain()).unwrap_err();
            }
            None => assert!(!opts.tsa),
        }
        // The exported PEM files load back into the same signer.
        let dir = tempfile::tempdir().unwrap();
        let files = pki.write_files(dir.path());
        let signer = imagegate_notation::sign::Signer::from_pem(
            &std::fs::read(&files.key).unwrap(),
            &std::fs::read(&files.chain).unwrap(),
        )
        .unwrap();
        assert_eq!(signer.chain(), chain.as_slice());
        let root = std::fs::read_to_string(&files.root).unwrap();
        assert_eq!(root, pki.root_pem());
    }
}

fn verifies(signed: &SignedImage, pki: &Pki, format: EnvelopeFormat) -> bool {
    let policy = TrustPolicyDocument::from_json(pki.trust_policy_json("kit").as_bytes()).unwrap();
    let store = pki.trust_store("kit");
    let artifact = imagegate_notation::Descriptor::new(
        signed.subject.media_type.clone(),
        signed.subject.digest.clone(),
        signed.subject.size,
    );
    let outcome = verify(&VerifyRequest {
        envelope: &signed.envelope_bytes,
        envelope_media_type: format.media_type(),
        artifact: &artifact,
        artifact_reference: &signed.pinned(),
        policy: &policy,
        trust_store: &store,
        now: SIGNING_TIME + time::Duration::days(1),
        revocation: &OfflineRevocationChecker,
        limits: &Limits::DEFAULT,
        user_metadata: &[],
    })
    .unwrap();
    outcome.is_verified()
}

#[tokio::test]
async fn sign_image_pushes_a_discoverable_verifiable_signature() {
    let reg = Registry::start();
    let pki = Pki::generate();
    let stranger = Pki::generate();
    let c = reg.client();
    for (tag, format, shape) in [
        ("jws", EnvelopeFormat::Jws, SignatureShape::ArtifactType),
        ("cose", EnvelopeFormat::Cose, SignatureShape::LegacyConfig),
    ] {
        let signed = if shape == SignatureShape::ArtifactType {
            sign_image(&reg, "kit/app", tag, format, &pki).await
        } else {
            let opts = SignImageOptions {
                shape,
                ..SignImageOptions::new(format)
            };
            sign_image_with(&reg, "kit/app", tag, &pki, &opts).await
        };
        assert_eq!(signed.reference.tag.as_deref(), Some(tag));
        assert_eq!(
            signed.reference.digest.as_deref(),
            Some(signed.subject.digest.as_str())
        );
        let found = c
            .referrers(&signed.reference, Some(NOTARY_SIGNATURE))
            .await
            .unwrap();
        assert_eq!(found, vec![signed.signature.clone()]);
        let m = c
            .fetch_manifest(&signed.reference, &signed.signature.digest)
            .await
            .unwrap();
        let ParsedManifest::Image(m) = m.parsed else {
            panic!("not an image manifest")
        };
        assert_eq!(m.signature_shape(), Some(shape));
        assert_eq!(m.signature_envelope().unwrap(), &signed.envelope);
        let envelope = c
            .fetch_blob(&signed.reference, &signed.envelope)
            .await
            .unwrap();
        assert_eq!(envelope.as_ref(), signed.envelope_bytes.as_slice());
        assert!(verifies(&signed, &pki, format));
        assert!(!verifies(&signed, &stranger, format));
    }
}
