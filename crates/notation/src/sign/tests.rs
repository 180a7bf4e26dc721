//! Unit tests of the signer: key formats, key/chain pairing, envelope round trips through
//! this crate's parser and signature check, payload and annotations.

use std::collections::BTreeMap;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::EcdsaKeyPair;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use time::macros::datetime;
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::der_parser::der::parse_der;

use super::*;
use crate::envelope::{self, SigningScheme};

const T: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);

fn key_pair(alg: SignatureAlgorithm) -> KeyPair {
    match alg {
        SignatureAlgorithm::Ps256 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        }
        SignatureAlgorithm::Ps384 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA384, rcgen::RsaKeySize::_3072)
        }
        SignatureAlgorithm::Ps512 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA512, rcgen::RsaKeySize::_4096)
        }
        SignatureAlgorithm::Es256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        SignatureAlgorithm::Es384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        SignatureAlgorithm::Es512 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512),
    }
    .unwrap()
}

/// A self-signed code-signing certificate for `key`.
fn leaf(key: &KeyPair) -> CertificateDer<'static> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    p.self_signed(key).unwrap().der().clone()
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
    .into_bytes()
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (its OCTET STRING).
fn pkcs1_of(pkcs8: &[u8]) -> Vec<u8> {
    let (_, info) = parse_der(pkcs8).unwrap();
    let BerObjectContent::Sequence(items) = info.content else {
        panic!("PKCS#8 is a SEQUENCE")
    };
    match &items[2].content {
        BerObjectContent::OctetString(inner) => inner.to_vec(),
        other => panic!("privateKey is an OCTET STRING, got {other:?}"),
    }
}

#[test]
fn every_algorithm_loads_and_round_trips_in_both_formats() {
    for alg in SignatureAlgorithm::ALL {
        let kp = key_pair(alg);
        let key = PrivateKey::load(kp.serialize_pem().as_bytes()).unwrap();
        assert_eq!(key.algorithm(), alg);
        let chain = vec![leaf(&kp)];
        let signer = Signer::new(key, chain.clone()).unwrap();
        assert_eq!(signer.algorithm(), alg);
        let target = Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:ab", 7);
        for format in [EnvelopeFormat::Jws, EnvelopeFormat::Cose] {
            let bytes = signer
                .sign_artifact(format, &target, &SignOptions::x509(T))
                .unwrap();
            let parsed = envelope::parse(&bytes, format.media_type(), &Limits::DEFAULT).unwrap();
            parsed.verify_signature().unwrap();
            assert_eq!(parsed.algorithm(), alg);
            assert_eq!(parsed.cert_chain(), chain.as_slice());
            assert_eq!(parsed.payload(), payload_json(&target, &BTreeMap::new()));
            assert_eq!(parsed.signing_time(), Some(T));
            assert_eq!(parsed.signing_agent(), Some("imagegate/0.1.0"));
        }
    }
}

#[test]
fn ec_keys_load_from_pkcs8_and_sec1_in_pem_and_der() {
    for (alg, curve) in [
        (
            SignatureAlgorithm::Es256,
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        ),
        (
            SignatureAlgorithm::Es384,
            &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        ),
        (
            SignatureAlgorithm::Es512,
            &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        ),
    ] {
        let kp = key_pair(alg);
        let pkcs8 = kp.serialize_der();
        let sec1 = EcdsaKeyPair::from_pkcs8(curve, &pkcs8)
            .unwrap()
            .private_key()
            .as_der()
            .unwrap()
            .as_ref()
            .to_vec();
        assert_ne!(sec1, pkcs8);
        let expected = PrivateKey::from_pkcs8(&pkcs8).unwrap();
        for input in [
            pkcs8.clone(),
            pem("PRIVATE KEY", &pkcs8),
            sec1.clone(),
            pem("EC PRIVATE KEY", &sec1),
        ] {
            let key = PrivateKey::load(&input).unwrap();
            assert_eq!(key.algorithm(), alg);
            assert_eq!(key.public_key(), expected.public_key());
        }
    }
}

#[test]
fn rsa_keys_load_from_pkcs8_and_pkcs1() {
    let kp = key_pair(SignatureAlgorithm::Ps256);
    let pkcs8 = kp.serialize_der();
    let pkcs1 = pkcs1_of(&pkcs8);
    let chain = vec![leaf(&kp)];
    for input in [
        pkcs8.clone(),
        pem("PRIVATE KEY", &pkcs8),
        pkcs1.clone(),
        pem("RSA PRIVATE KEY", &pkcs1),
    ] {
        let key = PrivateKey::load(&input).unwrap();
        assert_eq!(key.algorithm(), SignatureAlgorithm::Ps256);
        // The loaded key is the certificate's key.
        Signer::new(key, chain.clone()).unwrap();
    }
}

#[test]
fn unusable_keys_are_refused_with_a_reason() {
    let err = PrivateKey::load(b"not a key").unwrap_err();
    assert!(err.to_string().contains("neither PEM nor DER"), "{err}");
    let err = PrivateKey::load(&[0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err();
    assert!(err.to_string().contains("is DER but not"), "{err}");
    let encrypted = pem("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]);
    assert_eq!(
        PrivateKey::load(&encrypted).unwrap_err(),
        SignError::EncryptedKey
    );
    let cert_only = pem("CERTIFICATE", &[0x30, 0x00]);
    let err = PrivateKey::load(&cert_only).unwrap_err();
    assert!(err.to_string().contains("no private key block"), "{err}");
    let huge = vec![b'A'; 100 * 1024];
    assert!(PrivateKey::load(&huge).is_err());
    // Debug never shows key material.
    let key = PrivateKey::from_pkcs8(&key_pair(SignatureAlgorithm::Es256).serialize_der()).unwrap();
    assert_eq!(format!("{key:?}"), "PrivateKey { algorithm: Es256, .. }");
}

#[test]
fn signer_refuses_a_key_that_is_not_the_leafs() {
    let es256 = key_pair(SignatureAlgorithm::Es256);
    let other = key_pair(SignatureAlgorithm::Es256);
    let es384 = key_pair(SignatureAlgorithm::Es384);
    let load = |kp: &KeyPair| PrivateKey::from_pkcs8(&kp.serialize_der()).unwrap();
    assert_eq!(
        Signer::new(load(&other), vec![leaf(&es256)]).unwrap_err(),
        SignError::KeyMismatch
    );
    let err = Signer::new(load(&es384), vec![leaf(&es256)]).unwrap_err();
    assert_eq!(
        err,
        SignError::AlgorithmMismatch {
            key: SignatureAlgorithm::Es384,
            certificate: SignatureAlgorithm::Es256
        }
    );
    assert!(err.to_string().contains("ES384"), "{err}");
    assert_eq!(
        Signer::new(load(&es256), Vec::new()).unwrap_err(),
        SignError::EmptyChain
    );
    let err = Signer::new(load(&es256), vec![CertificateDer::from(vec![0x30, 0x00])]).unwrap_err();
    assert!(
        matches!(err, SignError::Certificate { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn chains_parse_from_pem_bundles_and_der() {
    let a = leaf(&key_pair(SignatureAlgorithm::Es256));
    let b = leaf(&key_pair(SignatureAlgorithm::Es256));
    let mut bundle = pem("CERTIFICATE", &a);
    bundle.extend(pem("CERTIFICATE", &b));
    assert_eq!(
        parse_chain(&bundle, &Limits::DEFAULT).unwrap(),
        vec![a.clone(), b]
    );
    assert_eq!(
        parse_chain(a.as_ref(), &Limits::DEFAULT).unwrap(),
        vec![a.clone()]
    );
    assert_eq!(
        parse_chain(b"", &Limits::DEFAULT).unwrap_err(),
        SignError::EmptyChain
    );
    assert_eq!(
        parse_chain(&pem("PRIVATE KEY", &[0x30, 0x00]), &Limits::DEFAULT).unwrap_err(),
        SignError::EmptyChain
    );
    let err = parse_chain(&pem("CERTIFICATE", &[0x30, 0x00]), &Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(err, SignError::Certificate { index: 0, .. }),
        "{err}"
    );
    let long: Vec<u8> = (0..11).flat_map(|_| pem("CERTIFICATE", &a)).collect();
    let err = parse_chain(&long, &Limits::DEFAULT).unwrap_err();
    assert!(err.to_string().contains("more than 10"), "{err}");
}

#[test]
fn times_are_whole_seconds_utc_and_expiry_must_follow() {
    let kp = key_pair(SignatureAlgorithm::Es256);
    let signer = Signer::new(
        PrivateKey::load(&kp.serialize_der()).unwrap(),
        vec![leaf(&kp)],
    )
    .unwrap();
    let local = datetime!(2025-06-01 14:00:00.75 +02:00);
    let opts = SignOptions {
        expiry: Some(local + time::Duration::hours(24)),
        ..SignOptions::x509(local)
    };
    let target = Descriptor::new("m", "sha256:ab", 1);
    let jws = signer
        .sign_artifact(EnvelopeFormat::Jws, &target, &opts)
        .unwrap();
    let parsed = envelope::parse(&jws, EnvelopeFormat::Jws.media_type(), &Limits::DEFAULT).unwrap();
    assert_eq!(parsed.signing_time(), Some(T));
    assert_eq!(parsed.expiry(), Some(T + time::Duration::hours(24)));
    let json: serde_json::Value = serde_json::from_slice(&jws).unwrap();
    use base64::Engine as _;
    let protected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(json["protected"].as_str().unwrap())
        .unwrap();
    let protected: serde_json::Value = serde_json::from_slice(&protected).unwrap();
    assert_eq!(
        protected["io.cncf.notary.signingTime"],
        "2025-06-01T12:00:00Z"
    );
    assert_eq!(
        protected["crit"],
        serde_json::json!(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"])
    );

    let backwards = SignOptions {
        expiry: Some(local),
        ..SignOptions::x509(local)
    };
    for format in [EnvelopeFormat::Jws, EnvelopeFormat::Cose] {
        let err = signer
            .sign_artifact(format, &target, &backwards)
            .unwrap_err();
        assert!(
            matches!(err, SignError::ExpiryNotAfterSigningTime { .. }),
            "{err}"
        );
    }
}

#[test]
fn signing_authority_scheme_round_trips() {
    let kp = key_pair(SignatureAlgorithm::Es384);
    let signer = Signer::new(
        PrivateKey::load(&kp.serialize_der()).unwrap(),
        vec![leaf(&kp)],
    )
    .unwrap();
    let opts = SignOptions {
        scheme: SigningScheme::X509SigningAuthority,
        ..SignOptions::x509(T)
    };
    for format in [EnvelopeFormat::Jws, EnvelopeFormat::Cose] {
        let bytes = signer
            .sign_artifact(format, &Descriptor::new("m", "sha256:ab", 1), &opts)
            .unwrap();
        let parsed = envelope::parse(&bytes, format.media_type(), &Limits::DEFAULT).unwrap();
        parsed.verify_signature().unwrap();
        assert_eq!(parsed.signing_scheme(), SigningScheme::X509SigningAuthority);
        assert_eq!(parsed.authentic_signing_time(), Some(T));
        assert_eq!(parsed.signing_time(), None);
    }
}

#[test]
fn payload_is_the_go_shape() {
    let target = Descriptor::new(
        "application/vnd.oci.image.manifest.v1+json",
        "sha256:ab",
        517,
    );
    assert_eq!(
        String::from_utf8(payload_json(&target, &BTreeMap::new())).unwrap(),
        r#"{"targetArtifact":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:ab","size":517}}"#
    );
    let meta = BTreeMap::from([("buildId".to_owned(), "123".to_owned())]);
    let with = payload_json(&target, &meta);
    let parsed = crate::payload::Payload::from_json(&with).unwrap();
    assert!(parsed.matches(&target));
    assert_eq!(parsed.annotations(), &meta);
}

#[test]
fn manifest_annotations_hold_thumbprints_and_created() {
    let root = key_pair(SignatureAlgorithm::Es256);
    let kp = key_pair(SignatureAlgorithm::Es256);
    let chain = vec![leaf(&kp), leaf(&root)];
    let signer = Signer::new(
        PrivateKey::load(&kp.serialize_der()).unwrap(),
        chain.clone(),
    )
    .unwrap();
    let ann = signer
        .manifest_annotations(datetime!(2025-06-01 14:00:00.5 +02:00))
        .unwrap();
    assert_eq!(ann[ANNOTATION_CREATED], "2025-06-01T12:00:00Z");
    let prints: Vec<String> = serde_json::from_str(&ann[ANNOTATION_THUMBPRINTS]).unwrap();
    assert_eq!(prints.len(), 2);
    assert_eq!(
        prints[1],
        hex::encode(crate::alg::HashAlgorithm::Sha256.digest(chain[1].as_ref()))
    );
    assert!(prints
        .iter()
        .all(|p| p.len() == 64 && !p.bytes().any(|b| b.is_ascii_uppercase())));
    assert_eq!(chain_thumbprints(&chain), prints);
}
