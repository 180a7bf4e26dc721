//! Distinguished names: Go `pkix.Name.String()` rendering of every certificate in the vectors,
//! trust-policy DN parsing, and identity matching.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use imagegate_notation::dn::{DistinguishedName, DnError};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn pem(name: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(&read(name))
        .unwrap()
        .as_ref()
        .to_vec()
}

fn jws_token(name: &str) -> Vec<u8> {
    let doc: serde_json::Value = serde_json::from_slice(&read(name)).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(
            doc["header"]["io.cncf.notary.timestampSignature"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
}

/// The certificates carried in an RFC 3161 token.
fn token_certificates(token: &[u8]) -> Vec<Vec<u8>> {
    use x509_parser::der_parser::ber::{parse_ber, BerObjectContent};
    let (_, content_info) = parse_ber(token).unwrap();
    let BerObjectContent::Sequence(ci) = &content_info.content else {
        panic!("ContentInfo")
    };
    let (_, signed_data) = parse_ber(ci[1].as_slice().unwrap()).unwrap();
    let items = signed_data.as_sequence().unwrap();
    let certs = items
        .iter()
        .find(|o| o.header.raw_tag() == Some(&[0xa0]))
        .expect("certificates");
    let mut rest = certs.as_slice().unwrap();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (tail, _) = parse_ber(rest).unwrap();
        out.push(rest[..rest.len() - tail.len()].to_vec());
        rest = tail;
    }
    out
}

fn subject(der: &[u8]) -> String {
    DistinguishedName::from_cert_subject(der)
        .unwrap()
        .to_string()
}

fn issuer(der: &[u8]) -> String {
    DistinguishedName::from_cert_issuer(der)
        .unwrap()
        .to_string()
}

const NOTATION_ROOT: &str = "CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US";
const GLOBALSIGN_R6: &str = "CN=GlobalSign,OU=GlobalSign Root CA - R6,O=GlobalSign";
const GLOBALSIGN_CA: &str = "CN=GlobalSign Timestamping CA - SHA384 - G4,O=GlobalSign nv-sa,C=BE";
const MS_CA: &str = "CN=Microsoft Public RSA Timestamping CA 2020,O=Microsoft Corporation,C=US";

#[test]
fn trust_anchor_files_render_like_go() {
    let cases: [(Vec<u8>, &str, &str); 5] = [
        (
            pem("cert-e2e.crt"),
            "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US",
            "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US",
        ),
        (
            pem("cert-expired_e2e.crt"),
            "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU",
            "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU",
        ),
        (
            pem("cert-NotationTestRoot.pem"),
            NOTATION_ROOT,
            NOTATION_ROOT,
        ),
        (
            pem("cert-TestTimestamp-alpine.crt"),
            "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US",
            "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US",
        ),
        // DER order is OU, O, CN; Go prints CN, OU, O (its field order, reversed), unlike
        // RFC 2253 tools, which print the reversed DER order.
        (
            read("cert-tsa-root-globalsign-r6.cer"),
            GLOBALSIGN_R6,
            GLOBALSIGN_R6,
        ),
    ];
    for (der, want_subject, want_issuer) in cases {
        assert_eq!(subject(&der), want_subject);
        assert_eq!(issuer(&der), want_issuer);
    }
}

/// Every certificate of an envelope vector: JWS `x5c`, COSE `x5chain` (label 33).
fn envelope_certificates(name: &str) -> Vec<Vec<u8>> {
    use coset::TaggedCborSerializable as _;
    let bytes = read(name);
    if name.starts_with("cose-") {
        let sign1 = coset::CoseSign1::from_tagged_slice(&bytes).unwrap();
        let (_, chain) = sign1
            .unprotected
            .rest
            .iter()
            .find(|(l, _)| *l == coset::Label::Int(33))
            .expect("x5chain");
        return match chain {
            coset::cbor::value::Value::Bytes(b) => vec![b.clone()],
            coset::cbor::value::Value::Array(a) => {
                a.iter().map(|c| c.as_bytes().unwrap().clone()).collect()
            }
            other => panic!("{other:?}"),
        };
    }
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    doc["header"]["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c.as_str().unwrap())
                .unwrap()
        })
        .collect()
}

#[test]
fn every_envelope_certificate_renders_like_go() {
    const E2E: &str = "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US";
    const EXPIRED: &str = "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU";
    const TESTCERT7: &str = "CN=testcert7,O=Notary,L=Seattle,ST=WA,C=US";
    const ALPINE: &str = "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US";
    const TEST_TSA: &str = "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US";
    const WABBIT: &str = "CN=wabbit-networks.io,O=Notary,L=Seattle,ST=WA,C=US";
    // (file, subjects of the chain, leaf first). Every certificate here is issued by the
    // next one or is self-signed, so the issuer of cert i is subject i+1 (or itself).
    let cases: [(&str, &[&str]); 20] = [
        ("cose-alpine-no-timestamp.sig", &[ALPINE]),
        ("cose-timestamp-after-notafter.sig", &[TEST_TSA]),
        ("cose-timestamp-expired-cert.sig", &[TEST_TSA]),
        ("cose-timestamp-valid.sig", &[ALPINE]),
        ("jws-alpine-no-timestamp.sig", &[ALPINE]),
        (
            "jws-ca-expired-expiry.json",
            &[NOTATION_ROOT, NOTATION_ROOT],
        ),
        (
            "jws-ca-invalid-padded-payload.json",
            &[NOTATION_ROOT, NOTATION_ROOT],
        ),
        (
            "jws-ca-plugin-required.json",
            &[NOTATION_ROOT, NOTATION_ROOT],
        ),
        (
            "jws-ca-valid-chain-ps384.json",
            &[NOTATION_ROOT, NOTATION_ROOT],
        ),
        ("jws-e2e-bad-timestamp-token.json", &[TESTCERT7]),
        ("jws-e2e-expired-cert.json", &[EXPIRED]),
        ("jws-e2e-expired-signature.json", &[E2E]),
        ("jws-e2e-timestamped-mstsa.json", &[TESTCERT7]),
        ("jws-e2e-valid.json", &[E2E]),
        ("jws-no-timestamp.sig", &[ALPINE]),
        (
            "jws-sa-valid-signingauthority.json",
            &[NOTATION_ROOT, NOTATION_ROOT],
        ),
        ("jws-timestamp-before-notbefore.sig", &[TEST_TSA]),
        ("jws-timestamp-expired-cert.sig", &[TEST_TSA]),
        ("jws-timestamp-valid.sig", &[ALPINE]),
        ("jws-user-metadata.json", &[WABBIT]),
    ];
    let envelopes = std::fs::read_dir(VECTORS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cose-") || n.starts_with("jws-"))
        .count();
    assert_eq!(
        envelopes,
        cases.len(),
        "every envelope vector has an expectation"
    );
    for (file, subjects) in cases {
        let chain = envelope_certificates(file);
        let got: Vec<String> = chain.iter().map(|c| subject(c)).collect();
        assert_eq!(got, subjects, "{file}");
        for (i, cert) in chain.iter().enumerate() {
            let want_issuer = subjects.get(i + 1).unwrap_or(&subjects[i]);
            assert_eq!(issuer(cert), *want_issuer, "{file}[{i}]");
        }
    }
}

#[test]
fn tsa_token_certificates_render_like_go() {
    let globalsign: Vec<String> = token_certificates(&jws_token("jws-timestamp-valid.sig"))
        .iter()
        .map(|c| format!("{} <- {}", subject(c), issuer(c)))
        .collect();
    assert_eq!(
        globalsign,
        [
            format!("CN=Globalsign TSA for Advanced - G4 - 202311,O=GlobalSign nv-sa,C=BE <- {GLOBALSIGN_CA}"),
            format!("{GLOBALSIGN_CA} <- {GLOBALSIGN_R6}"),
            format!("{GLOBALSIGN_R6} <- {GLOBALSIGN_R6}"),
        ]
    );
    let microsoft: Vec<String> = token_certificates(&jws_token("jws-e2e-timestamped-mstsa.json"))
        .iter()
        .map(|c| subject(c))
        .collect();
    // Two OUs: Go groups the values of one field into a multi-valued RDN, in DER order.
    assert_eq!(
        microsoft,
        [
            MS_CA,
            "CN=Microsoft Public RSA Time Stamping Authority,OU=Microsoft America Operations+OU=Thales TSS ESN:45D6-96C5-5E63,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US",
        ]
    );
}

#[test]
fn unusual_names_use_go_escaping_and_hex_for_unknown_attributes() {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "US");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Acme, Inc. <R&D>");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, " #lead;");
    params.distinguished_name.push(
        rcgen::DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        rcgen::DnValue::Ia5String(rcgen::string::Ia5String::try_from("a@b.c").unwrap()),
    );
    params.distinguished_name.push(
        rcgen::DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
        rcgen::DnValue::Ia5String(rcgen::string::Ia5String::try_from("example").unwrap()),
    );
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let dn = DistinguishedName::from_cert_subject(cert.der()).unwrap();
    // emailAddress "a@b.c" re-marshalled as UTF8String (0x0c: '@' is not printable), DC
    // "example" as PrintableString (0x13); extras print last, in reverse DER order.
    assert_eq!(
        dn.to_string(),
        "CN=\\ #lead\\;,O=Acme\\, Inc. \\<R&D\\>,C=US,0.9.2342.19200300.100.1.25=#13076578616d706c65,1.2.840.113549.1.9.1=#0c056140622e63"
    );
    // Such a subject cannot match any x509.subject identity (Go refuses "=#").
    let policy = DistinguishedName::parse("C=US,ST=WA,O=Acme").unwrap();
    assert!(!policy.is_matched_by(&dn));
}

#[test]
fn policy_dns_parse_with_rfc4514_rules() {
    let dn = DistinguishedName::parse("  CN = e2e , O=Notary,L=Seattle,S=WA,C=US ").unwrap();
    assert_eq!(dn.to_string(), "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US");
    assert_eq!(dn.get("ST"), Some("WA"));
    assert_eq!(dn.len(), 5);

    let escaped = DistinguishedName::parse(r"C=US;ST=WA;O=Acme\, Inc.\2C Ltd\ ,OU=\#1\+2").unwrap();
    assert_eq!(escaped.get("O"), Some("Acme, Inc., Ltd "));
    assert_eq!(escaped.get("OU"), Some("#1+2"));
    assert_eq!(
        escaped.to_string(),
        r"C=US,ST=WA,O=Acme\, Inc.\, Ltd\ ,OU=\#1\+2"
    );
    // Display is re-parseable to the same name.
    assert_eq!(
        DistinguishedName::parse(&escaped.to_string()).unwrap(),
        escaped
    );
}

#[test]
fn policy_dn_errors_name_the_problem() {
    let err = |s: &str| DistinguishedName::parse(s).unwrap_err();
    assert!(matches!(err("C=US+ST=WA,O=x"), DnError::MultiValued { .. }));
    assert_eq!(
        err("C=US,ST=WA,O=x,OU=a,OU=b").to_string(),
        "distinguished name (DN) \"C=US,ST=WA,O=x,OU=a,OU=b\" has duplicate RDN attribute for \"OU\", DN can only have unique RDN attributes"
    );
    assert!(matches!(
        err("C=US,S=WA,ST=WA,O=x"),
        DnError::Duplicate { .. }
    ));
    assert_eq!(
        err("CN=e2e,O=Notary,C=US").to_string(),
        "distinguished name (DN) \"CN=e2e,O=Notary,C=US\" has no mandatory RDN attribute for \"ST\", it must contain 'C', 'ST', and 'O' RDN attributes at a minimum"
    );
    assert!(matches!(
        err("C=,ST=WA,O=x"),
        DnError::MissingMandatory { attribute: "C", .. }
    ));
    assert!(matches!(
        err("C=US,ST=WA,O=#0403616263"),
        DnError::HexValue { .. }
    ));
    for bad in [
        "",
        "   ",
        "C=US,ST",
        "C=US,,ST=WA,O=x",
        "=US,ST=WA,O=x",
        "C=US,ST=WA,O=x\\",
        "C=US,ST=WA,O=x\\zz",
        "C U=US,ST=WA,O=x",
        "C=US,ST=WA,O=x+",
    ] {
        assert!(
            matches!(err(bad), DnError::Syntax { .. }),
            "{bad:?}: {:?}",
            err(bad)
        );
    }
}

#[test]
fn identity_matching_is_a_case_sensitive_subset() {
    let e2e = DistinguishedName::from_cert_subject(&pem("cert-e2e.crt")).unwrap();
    let matches = |policy: &str| {
        DistinguishedName::parse(policy)
            .unwrap()
            .is_matched_by(&e2e)
    };
    assert!(matches("CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"));
    assert!(matches("C=US, ST=WA, O=Notary"));
    assert!(matches("C=US,S=WA,O=Notary,L=Seattle"));
    // The trusted-identity-mismatch policy.
    assert!(!matches("CN=e2e,O=Notary,L=Seattle,ST=WA,C=USB"));
    assert!(!matches("C=us,ST=WA,O=Notary"));
    assert!(!matches("C=US,ST=WA,O=Notary,OU=Security"));

    let expired = DistinguishedName::from_cert_subject(&pem("cert-expired_e2e.crt")).unwrap();
    assert!(
        DistinguishedName::parse("C=AU,ST=Some-State,O=Internet Widgits Pty Ltd")
            .unwrap()
            .is_matched_by(&expired)
    );

    // Go re-parses the leaf subject with the policy rules: a multi-valued RDN never matches.
    let ms_leaf = token_certificates(&jws_token("jws-e2e-timestamped-mstsa.json")).remove(1);
    let ms = DistinguishedName::from_cert_subject(&ms_leaf).unwrap();
    assert!(
        !DistinguishedName::parse("C=US,ST=Washington,O=Microsoft Corporation")
            .unwrap()
            .is_matched_by(&ms)
    );
    // A subject without ST/C never matches either (GlobalSign root).
    let r6 =
        DistinguishedName::from_cert_subject(&read("cert-tsa-root-globalsign-r6.cer")).unwrap();
    assert!(!DistinguishedName::parse("C=BE,ST=x,O=GlobalSign")
        .unwrap()
        .is_matched_by(&r6));
}

#[test]
fn non_certificates_are_errors() {
    assert!(matches!(
        DistinguishedName::from_cert_subject(b"not a certificate"),
        Err(DnError::Certificate(_))
    ));
}
