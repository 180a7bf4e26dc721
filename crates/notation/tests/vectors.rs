//! Conformance: every row of `testdata/notation/README.md`, with a pinned clock, trust
//! stores built in code from the vector files (read in place) and the expected outcome and
//! Go message (substring) of each row and of each variant the row states.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use common::{
    leaf_of, manifest_descriptor, policy_file, policy_json, sha256_hex, store, vector, Input,
};
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{
    self, EnvelopeFormat, SigningScheme, COSE_MEDIA_TYPE, JWS_MEDIA_TYPE,
};
use imagegate_notation::limits::Limits;
use imagegate_notation::policy::{Action, CheckKind, StoreType, TrustPolicyDocument};
use imagegate_notation::revocation::{
    FixedRevocationChecker, OfflineRevocationChecker, RevocationChecker, RevocationStatus,
};
use time::macros::datetime;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------
// Case description
// ---------------------------------------------------------------------------------------------

/// Where an anchor certificate comes from.
#[derive(Clone, Copy)]
enum Anchor {
    /// A vector file.
    File(&'static str),
    /// The envelope's own leaf certificate (README: "anchor: x5c[0] itself").
    Leaf,
}

/// The expected result of a case.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Verified with no failure at all.
    Verified,
    /// Verified, with a logged failure of this check whose message contains the text.
    Warn(CheckKind, &'static str),
    /// Rejected by an enforced failure of this check whose message contains the text.
    Fail(CheckKind, &'static str),
    /// Level `skip`: verified without verification.
    Skipped,
    /// Rejected because requested user metadata is not signed.
    Metadata(&'static str),
}

#[derive(Clone)]
struct Case {
    name: String,
    envelope: &'static str,
    media_type: Option<&'static str>,
    envelope_bytes: Option<Vec<u8>>,
    artifact: Descriptor,
    reference: String,
    policy: String,
    stores: Vec<(StoreType, &'static str, Anchor)>,
    now: OffsetDateTime,
    metadata: Vec<(&'static str, &'static str)>,
    tsa_revocation_ok: bool,
    expect: Expect,
}

impl Case {
    fn new(name: &str, envelope: &'static str, artifact: Descriptor, reference: &str) -> Self {
        Self {
            name: name.to_owned(),
            envelope,
            media_type: None,
            envelope_bytes: None,
            artifact,
            reference: reference.to_owned(),
            policy: String::new(),
            stores: Vec::new(),
            now: datetime!(2025-06-01 0:00 UTC),
            metadata: Vec::new(),
            tsa_revocation_ok: false,
            expect: Expect::Verified,
        }
    }
    fn named(mut self, suffix: &str) -> Self {
        self.name = format!("{} [{suffix}]", self.name);
        self
    }
    fn policy_file(mut self, file: &str) -> Self {
        self.policy = String::from_utf8(vector(file)).unwrap();
        self
    }
    fn policy(mut self, json: String) -> Self {
        self.policy = json;
        self
    }
    fn store(mut self, t: StoreType, name: &'static str, anchor: Anchor) -> Self {
        self.stores.push((t, name, anchor));
        self
    }
    fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = now;
        self
    }
    fn media_type(mut self, mt: &'static str) -> Self {
        self.media_type = Some(mt);
        self
    }
    fn metadata(mut self, m: &[(&'static str, &'static str)]) -> Self {
        self.metadata = m.to_vec();
        self
    }
    fn tsa_ok(mut self) -> Self {
        self.tsa_revocation_ok = true;
        self
    }
    fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }

    fn input(&self) -> Input {
        let envelope = self
            .envelope_bytes
            .clone()
            .unwrap_or_else(|| vector(self.envelope));
        let media_type = self
            .media_type
            .map(str::to_owned)
            .unwrap_or_else(|| default_media_type(self.envelope));
        let entries: Vec<_> = self
            .stores
            .iter()
            .map(|(t, name, anchor)| match anchor {
                Anchor::File(f) => (*t, *name, *f, vector(f)),
                Anchor::Leaf => (
                    *t,
                    *name,
                    "x5c0.crt",
                    leaf_of(&envelope, &default_media_type(self.envelope)),
                ),
            })
            .collect();
        Input {
            envelope,
            media_type,
            artifact: self.artifact.clone(),
            reference: self.reference.clone(),
            policy: policy_json(&self.policy),
            store: store(&entries),
            now: self.now,
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            limits: Limits::DEFAULT,
        }
    }

    /// Run the case; `Err` describes a mismatch.
    fn check(&self) -> Result<(), String> {
        let revocation: Box<dyn RevocationChecker> = if self.tsa_revocation_ok {
            Box::new(FixedRevocationChecker::new(RevocationStatus::Ok))
        } else {
            Box::new(OfflineRevocationChecker)
        };
        let outcome = self
            .input()
            .run(revocation.as_ref())
            .map_err(|e| format!("verify returned Err: {e}"))?;
        let describe = || format!("{:#?}", outcome.checks());
        let warnings: Vec<_> = outcome.warnings().collect();
        match self.expect {
            Expect::Verified => {
                if !outcome.is_verified() || !warnings.is_empty() || outcome.skipped() {
                    return Err(format!("expected clean verification, got {}", describe()));
                }
            }
            Expect::Skipped => {
                if !outcome.is_verified() || !outcome.skipped() {
                    return Err(format!("expected skipped, got {}", describe()));
                }
            }
            Expect::Warn(kind, text) => {
                if !outcome.is_verified() {
                    return Err(format!(
                        "expected verified with warning, got {}",
                        describe()
                    ));
                }
                let found = warnings.iter().any(|w| {
                    w.kind == kind
                        && w.error
                            .as_ref()
                            .is_some_and(|e| e.to_string().contains(text))
                });
                if !found {
                    return Err(format!(
                        "expected a {kind} warning containing {text:?}, got {}",
                        describe()
                    ));
                }
            }
            Expect::Fail(kind, text) => {
                let failed = outcome.checks().iter().find(|c| c.is_enforced_failure());
                match failed {
                    Some(c)
                        if c.kind == kind
                            && c.error
                                .as_ref()
                                .is_some_and(|e| e.to_string().contains(text)) =>
                    {
                        if outcome.is_verified() {
                            return Err("is_verified() true despite an enforced failure".into());
                        }
                    }
                    _ => {
                        return Err(format!(
                            "expected enforced {kind} failure containing {text:?}, got {}",
                            describe()
                        ))
                    }
                }
            }
            Expect::Metadata(text) => {
                let ok = !outcome.is_verified()
                    && outcome
                        .user_metadata_error()
                        .is_some_and(|e| e.to_string().contains(text))
                    && outcome
                        .failure()
                        .is_some_and(|e| e.to_string().contains(text));
                if !ok {
                    return Err(format!(
                        "expected metadata failure {text:?}, got {} / {:?}",
                        describe(),
                        outcome.user_metadata_error()
                    ));
                }
            }
        }
        Ok(())
    }
}

fn default_media_type(file: &str) -> String {
    if file.starts_with("cose-") {
        COSE_MEDIA_TYPE
    } else {
        JWS_MEDIA_TYPE
    }
    .to_owned()
}

fn run_all(cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| c.check().err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

const LEVELS: [&str; 3] = ["strict", "permissive", "audit"];

// ---------------------------------------------------------------------------------------------
// OCI end-to-end set (notation CLI e2e fixtures)
// ---------------------------------------------------------------------------------------------

fn e2e_artifact() -> Descriptor {
    manifest_descriptor("oci-subject-manifest-b8479de3.json")
}

fn e2e_reference() -> String {
    format!("localhost:5000/e2e@{}", e2e_artifact().digest)
}

fn e2e(name: &str, envelope: &'static str, policy: &str, anchor: &'static str) -> Case {
    Case::new(name, envelope, e2e_artifact(), &e2e_reference())
        .policy_file(policy)
        .store(StoreType::Ca, "e2e", Anchor::File(anchor))
}

#[test]
fn e2e_valid_signature() {
    const UNTRUSTED: &str =
        "the signature's certificate chain does not contain any trusted certificate";
    let valid = |policy| {
        e2e(
            "jws-e2e-valid.json",
            "jws-e2e-valid.json",
            policy,
            "cert-e2e.crt",
        )
    };
    let wrong_store = |policy| {
        e2e(
            "jws-e2e-valid.json",
            "jws-e2e-valid.json",
            policy,
            "cert-expired_e2e.crt",
        )
    };
    run_all(&[
        valid("trustpolicy-strict.json").named("strict"),
        valid("trustpolicy-trusted-identity-match.json").named("identity match"),
        valid("trustpolicy-trusted-identity-mismatch.json").named("identity mismatch").expect(Expect::Fail(
            CheckKind::Authenticity,
            "signing certificate from the digital signature does not match the X.509 trusted identities",
        )),
        wrong_store("trustpolicy-strict.json").named("wrong store, strict").expect(Expect::Fail(CheckKind::Authenticity, UNTRUSTED)),
        wrong_store("trustpolicy-permissive.json").named("wrong store, permissive").expect(Expect::Fail(CheckKind::Authenticity, UNTRUSTED)),
        wrong_store("trustpolicy-audit.json").named("wrong store, audit").expect(Expect::Warn(CheckKind::Authenticity, UNTRUSTED)),
        wrong_store("trustpolicy-override-strict.json").named("wrong store, override").expect(Expect::Warn(CheckKind::Authenticity, UNTRUSTED)),
        Case::new("jws-e2e-valid.json [skip]", "jws-e2e-valid.json", e2e_artifact(), &e2e_reference())
            .policy_file("trustpolicy-skip.json")
            .expect(Expect::Skipped),
    ]);
}

#[test]
fn e2e_identity_mismatch_names_the_policy_identity() {
    let case = e2e(
        "x",
        "jws-e2e-valid.json",
        "trustpolicy-trusted-identity-mismatch.json",
        "cert-e2e.crt",
    );
    let outcome = case.input().run(&OfflineRevocationChecker).unwrap();
    let msg = outcome.failure().unwrap().to_string();
    assert!(msg.contains("\"C\":\"USB\""), "{msg}");
    assert!(
        msg.ends_with("defined in the trust policy \"e2e\""),
        "{msg}"
    );
}

#[test]
fn e2e_expired_signature() {
    const EXPIRED: &str = "digital signature has expired on \"Tue, 27 Jun 2023 13:21:21 +0800\"";
    let case = |policy| {
        e2e(
            "jws-e2e-expired-signature.json",
            "jws-e2e-expired-signature.json",
            policy,
            "cert-e2e.crt",
        )
    };
    run_all(&[
        case("trustpolicy-strict.json")
            .named("strict")
            .expect(Expect::Fail(CheckKind::Expiry, EXPIRED)),
        case("trustpolicy-permissive.json")
            .named("permissive")
            .expect(Expect::Warn(CheckKind::Expiry, EXPIRED)),
        case("trustpolicy-audit.json")
            .named("audit")
            .expect(Expect::Warn(CheckKind::Expiry, EXPIRED)),
        case("trustpolicy-override-strict.json")
            .named("override")
            .expect(Expect::Warn(CheckKind::Expiry, EXPIRED)),
        case("trustpolicy-strict.json")
            .named("strict, before expiry")
            .now(datetime!(2023-06-27 05:21:20 UTC)),
        case("trustpolicy-strict.json")
            .named("strict, exactly at expiry")
            .now(datetime!(2023-06-27 05:21:21 UTC))
            .expect(Expect::Fail(CheckKind::Expiry, EXPIRED)),
    ]);
}

#[test]
fn e2e_expired_certificate() {
    const EXPIRED: &str = "verification time is after certificate \"O=Internet Widgits Pty Ltd,ST=Some-State,C=AU\" validity period, it was expired at \"Tue, 27 Jun 2023 06:10:00 +0000\"";
    let case = |policy| {
        e2e(
            "jws-e2e-expired-cert.json",
            "jws-e2e-expired-cert.json",
            policy,
            "cert-expired_e2e.crt",
        )
    };
    run_all(&[
        case("trustpolicy-strict.json").named("strict").expect(Expect::Fail(CheckKind::AuthenticTimestamp, EXPIRED)),
        case("trustpolicy-permissive.json").named("permissive").expect(Expect::Warn(CheckKind::AuthenticTimestamp, EXPIRED)),
        case("trustpolicy-audit.json").named("audit").expect(Expect::Warn(CheckKind::AuthenticTimestamp, EXPIRED)),
        case("trustpolicy-override-strict.json").named("override").expect(Expect::Warn(CheckKind::AuthenticTimestamp, EXPIRED)),
        case("trustpolicy-strict.json").named("strict, inside validity").now(datetime!(2023-06-26 12:00 UTC)),
        case("trustpolicy-strict.json").named("strict, before validity").now(datetime!(2023-06-26 06:09:59 UTC)).expect(
            Expect::Fail(
                CheckKind::AuthenticTimestamp,
                "verification time is before certificate \"O=Internet Widgits Pty Ltd,ST=Some-State,C=AU\" validity period, it will be valid from \"Mon, 26 Jun 2023 06:10:00 +0000\"",
            ),
        ),
    ]);
}

#[test]
fn e2e_invalid_media_type() {
    // The layer blob (18 bytes "invalid signature\n") is not copied; the README states it.
    let manifest: serde_json::Value =
        serde_json::from_slice(&vector("oci-sigmanifest-e2e-invalid-mediatype.json")).unwrap();
    let layer_media_type: &'static str = Box::leak(
        manifest["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    );
    assert_eq!(
        manifest["subject"]["digest"].as_str().unwrap(),
        e2e_artifact().digest
    );
    let blob = b"invalid signature\n".to_vec();
    assert_eq!(
        format!("sha256:{}", sha256_hex(&blob)),
        manifest["layers"][0]["digest"].as_str().unwrap()
    );
    let case = |policy: &str| {
        let mut c = e2e(
            "oci-sigmanifest-e2e-invalid-mediatype.json",
            "jws-e2e-valid.json",
            policy,
            "cert-e2e.crt",
        )
        .media_type(layer_media_type);
        c.envelope_bytes = Some(blob.clone());
        c
    };
    const MSG: &str = "unable to parse the digital signature, error : signature envelope format with media type \"application/vnd.oci.image.layer.v1.tar\" is not supported";
    run_all(&[
        case("trustpolicy-strict.json")
            .named("strict")
            .expect(Expect::Fail(CheckKind::Integrity, MSG)),
        case("trustpolicy-permissive.json")
            .named("permissive")
            .expect(Expect::Fail(CheckKind::Integrity, MSG)),
        case("trustpolicy-audit.json")
            .named("audit")
            .expect(Expect::Fail(CheckKind::Integrity, MSG)),
        case("trustpolicy-override-strict.json")
            .named("override")
            .expect(Expect::Fail(CheckKind::Integrity, MSG)),
        Case {
            stores: vec![],
            ..case("trustpolicy-skip.json")
        }
        .named("skip")
        .expect(Expect::Skipped),
    ]);
}

fn testcert7_artifact(digest: &str) -> Descriptor {
    Descriptor::new("application/vnd.oci.image.manifest.v1+json", digest, 582)
}

#[test]
fn e2e_timestamped_mstsa() {
    // Go only inspects this vector. We assert the parse (token, agent, annotations), that the
    // token's imprint matches but its Microsoft TSA root is not trusted by the GlobalSign store,
    // and that at today's clock strict fails on expiry first (Go's order).
    let bytes = vector("jws-e2e-timestamped-mstsa.json");
    let env = envelope::parse(&bytes, JWS_MEDIA_TYPE, &Limits::DEFAULT).unwrap();
    assert!(env.timestamp_token().is_some());
    assert_eq!(env.signing_agent(), Some("notation-go/1.3.0+unreleased"));
    env.verify_signature().unwrap();

    let artifact = testcert7_artifact(
        "sha256:53b0191218aed9a3c1f7c661736ac40cfc8eb928642348fd843ba3f0483c0c20",
    );
    let reference = format!("localhost:5000/e2e@{}", artifact.digest);
    let base = Case::new(
        "jws-e2e-timestamped-mstsa.json",
        "jws-e2e-timestamped-mstsa.json",
        artifact,
        &reference,
    )
    .store(StoreType::Ca, "e2e", Anchor::Leaf)
    .tsa_ok();
    run_all(&[
        base.clone()
            .named("strict, today")
            .policy_file("trustpolicy-strict.json")
            .now(datetime!(2026-11-26 0:00 UTC))
            .expect(Expect::Fail(
                CheckKind::Expiry,
                "digital signature has expired on \"Tue, 21 Jan 2025 12:39:46 +0000\"",
            )),
        base.clone()
            .named("strict, inside validity, no tsa store")
            .policy_file("trustpolicy-strict.json")
            .now(datetime!(2025-01-21 10:00 UTC)),
        base.clone()
            .named("timestamp always, GlobalSign tsa store")
            .policy_file("trustpolicy-timestamp-always.json")
            .store(
                StoreType::Tsa,
                "e2e",
                Anchor::File("cert-tsa-root-globalsign-r6.cer"),
            )
            .now(datetime!(2025-01-21 10:00 UTC))
            .expect(Expect::Fail(
                CheckKind::AuthenticTimestamp,
                "failed to verify the timestamp countersignature",
            )),
    ]);
}

#[test]
fn e2e_bad_timestamp_token() {
    let artifact = testcert7_artifact(
        "sha256:f1da8cd70d6d851fa2313c8d6618f79508cf1e86877edf1c0bfe49a1b0a6467a",
    );
    let reference = format!("localhost:5000/e2e@{}", artifact.digest);
    let base = Case::new(
        "jws-e2e-bad-timestamp-token.json",
        "jws-e2e-bad-timestamp-token.json",
        artifact,
        &reference,
    )
    .store(StoreType::Ca, "e2e", Anchor::Leaf)
    .now(datetime!(2025-01-21 10:00 UTC))
    .tsa_ok();
    run_all(&[
        base.clone()
            .named("tsa store, always")
            .policy_file("trustpolicy-timestamp-always.json")
            .store(
                StoreType::Tsa,
                "e2e",
                Anchor::File("cert-tsa-root-globalsign-r6.cer"),
            )
            .expect(Expect::Fail(
                CheckKind::AuthenticTimestamp,
                "failed to parse timestamp countersignature with error: ",
            )),
        base.clone()
            .named("no tsa store: token ignored")
            .policy_file("trustpolicy-strict.json"),
        base.named("today, no tsa store")
            .policy_file("trustpolicy-strict.json")
            .now(datetime!(2026-11-26 0:00 UTC))
            .expect(Expect::Fail(
                CheckKind::AuthenticTimestamp,
                "verification time is after certificate",
            )),
    ]);
}

#[test]
fn e2e_manifests_link_to_the_envelope_and_certificate() {
    // oci-sigmanifest-e2e-valid.json: its layer is jws-e2e-valid.json, its subject the b8479de3
    // manifest, and its thumbprint annotation the SHA-256 of cert-e2e.crt, which is also what
    // the verifier reports for the chain.
    let manifest: serde_json::Value =
        serde_json::from_slice(&vector("oci-sigmanifest-e2e-valid.json")).unwrap();
    let envelope = vector("jws-e2e-valid.json");
    assert_eq!(manifest["layers"][0]["mediaType"], JWS_MEDIA_TYPE);
    assert_eq!(
        manifest["layers"][0]["digest"].as_str().unwrap(),
        format!("sha256:{}", sha256_hex(&envelope))
    );
    assert_eq!(
        manifest["layers"][0]["size"].as_u64().unwrap(),
        envelope.len() as u64
    );
    let subject: Descriptor = serde_json::from_value(manifest["subject"].clone()).unwrap();
    assert_eq!(subject, e2e_artifact());
    let thumbprints: Vec<String> = serde_json::from_str(
        manifest["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"]
            .as_str()
            .unwrap(),
    )
    .unwrap();

    let case = e2e(
        "x",
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        "cert-e2e.crt",
    );
    let outcome = case.input().run(&OfflineRevocationChecker).unwrap();
    assert!(outcome.is_verified());
    let signer = outcome.signer().unwrap();
    assert_eq!(signer.chain_thumbprints_sha256, thumbprints);
    assert_eq!(signer.subject, "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US");
    assert_eq!(outcome.signing_scheme(), Some(SigningScheme::X509));
    assert_eq!(
        outcome.signing_time(),
        Some(datetime!(2023-06-27 13:30:33 +08:00))
    );
    assert_eq!(outcome.level(), "strict");

    // The referrers tag index lists that signature manifest.
    let index: serde_json::Value =
        serde_json::from_slice(&vector("oci-referrers-tag-index-e2e-valid.json")).unwrap();
    let sig_manifest = vector("oci-sigmanifest-e2e-valid.json");
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["digest"].as_str().unwrap(),
        format!("sha256:{}", sha256_hex(&sig_manifest))
    );
    assert_eq!(entry["size"].as_u64().unwrap(), sig_manifest.len() as u64);
    assert_eq!(
        entry["artifactType"],
        "application/vnd.cncf.notary.signature"
    );
}

// ---------------------------------------------------------------------------------------------
// notation-go unit-test envelopes (policy built in code, as in `dummyOCIPolicyDocument`)
// ---------------------------------------------------------------------------------------------

const NET_MONITOR: &str = "registry.acme-rockets.io/software/net-monitor";
const TEST_ROOT_IDENTITY: &str = "x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US";

fn dummy_policy(level: &str, stores: &[&str], identities: &[&str]) -> String {
    serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "test-statement-name",
            "registryScopes": [NET_MONITOR],
            "signatureVerification": {"level": level},
            "trustStores": stores,
            "trustedIdentities": identities,
        }]
    })
    .to_string()
}

fn go_unit(file: &'static str, level: &str) -> Case {
    let artifact = Descriptor::new(
        "application/vnd.docker.distribution.manifest.v2+json",
        "sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e",
        528,
    );
    let reference = format!("{NET_MONITOR}@{}", artifact.digest);
    Case::new(file, file, artifact, &reference)
        .named(level)
        .policy(dummy_policy(
            level,
            &["ca:valid-trust-store", "signingAuthority:valid-trust-store"],
            &[TEST_ROOT_IDENTITY],
        ))
        .store(
            StoreType::Ca,
            "valid-trust-store",
            Anchor::File("cert-NotationTestRoot.pem"),
        )
        .store(
            StoreType::SigningAuthority,
            "valid-trust-store",
            Anchor::File("cert-NotationTestRoot.pem"),
        )
        .now(datetime!(2024-01-01 0:00 UTC))
}

#[test]
fn go_unit_valid_chain_ps384() {
    let mut cases: Vec<Case> = LEVELS
        .iter()
        .map(|l| go_unit("jws-ca-valid-chain-ps384.json", l))
        .collect();
    let other_store = go_unit("jws-ca-valid-chain-ps384.json", "strict")
        .named("store without the root")
        .policy(dummy_policy(
            "strict",
            &["ca:valid-trust-store-2"],
            &[TEST_ROOT_IDENTITY],
        ))
        .store(
            StoreType::Ca,
            "valid-trust-store-2",
            Anchor::File("cert-tsa-root-globalsign-r6.cer"),
        )
        .expect(Expect::Fail(
            CheckKind::Authenticity,
            "the signature's certificate chain does not contain any trusted certificate",
        ));
    let other_identity = go_unit("jws-ca-valid-chain-ps384.json", "strict")
        .named("identity mismatch")
        .policy(dummy_policy(
            "strict",
            &["ca:valid-trust-store"],
            &["x509.subject:CN=LOL,O=DummyOrg,L=Hyderabad,ST=TG,C=IN"],
        ))
        .expect(Expect::Fail(
            CheckKind::Authenticity,
            "signing certificate from the digital signature does not match the X.509 trusted identities",
        ));
    let unsupported = go_unit("jws-ca-valid-chain-ps384.json", "strict")
        .named("unsupported media type")
        .media_type("application/unsupported+json")
        .expect(Expect::Fail(
            CheckKind::Integrity,
            "signature envelope format with media type \"application/unsupported+json\" is not supported",
        ));
    let before_expiry = go_unit("jws-ca-valid-chain-ps384.json", "strict")
        .named("clock at the last second before expiry")
        .now(datetime!(2120-11-09 06:59:59 UTC));
    cases.extend([other_store, other_identity, unsupported, before_expiry]);
    run_all(&cases);

    // Identity "x509.subject" without a value: the policy itself is rejected.
    let err = TrustPolicyDocument::from_json(
        dummy_policy("strict", &["ca:valid-trust-store"], &["x509.subject"]).as_bytes(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("x509.subject"), "{err}");

    // Signer facts and the case-insensitive signing agent key (Go reads `SigningAgent`).
    let outcome = go_unit("jws-ca-valid-chain-ps384.json", "strict")
        .input()
        .run(&OfflineRevocationChecker)
        .unwrap();
    let signer = outcome.signer().unwrap();
    assert_eq!(
        signer.subject,
        "CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"
    );
    assert_eq!(signer.chain_thumbprints_sha256.len(), 2);
    assert!(signer.chain_thumbprints_sha256[0].starts_with("e0d3d5b6"));
    assert!(signer.chain_thumbprints_sha256[1].starts_with("86df8041"));
    assert!(outcome.signing_agent().is_some());
    assert_eq!(outcome.expiry(), Some(datetime!(2120-11-09 07:00 UTC)));
}

#[test]
fn go_unit_invalid_padded_payload() {
    const MSG: &str = "signature is invalid. Error: illegal base64 data at input byte 242";
    run_all(
        &LEVELS
            .iter()
            .map(|l| {
                go_unit("jws-ca-invalid-padded-payload.json", l)
                    .expect(Expect::Fail(CheckKind::Integrity, MSG))
            })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn go_unit_expired_expiry() {
    const MSG: &str = "digital signature has expired on \"Fri, 29 Jul 2022 23:59:00 +0000\"";
    run_all(&[
        go_unit("jws-ca-expired-expiry.json", "strict")
            .expect(Expect::Fail(CheckKind::Expiry, MSG)),
        go_unit("jws-ca-expired-expiry.json", "permissive")
            .expect(Expect::Warn(CheckKind::Expiry, MSG)),
        go_unit("jws-ca-expired-expiry.json", "audit").expect(Expect::Warn(CheckKind::Expiry, MSG)),
        go_unit("jws-ca-expired-expiry.json", "strict")
            .named("before expiry")
            .now(datetime!(2022-07-29 12:00 UTC)),
    ]);
}

#[test]
fn go_unit_signing_authority() {
    const NO_STORE: &str = "no trusted certificates are found to verify authenticity";
    let ca_only = |level: &str| {
        go_unit("jws-sa-valid-signingauthority.json", level)
            .named("ca store only")
            .policy(dummy_policy(
                level,
                &["ca:valid-trust-store"],
                &[TEST_ROOT_IDENTITY],
            ))
    };
    let mut cases: Vec<Case> = LEVELS
        .iter()
        .map(|l| go_unit("jws-sa-valid-signingauthority.json", l))
        .collect();
    cases.extend([
        ca_only("strict").expect(Expect::Fail(CheckKind::Authenticity, NO_STORE)),
        ca_only("permissive").expect(Expect::Fail(CheckKind::Authenticity, NO_STORE)),
        ca_only("audit").expect(Expect::Warn(CheckKind::Authenticity, NO_STORE)),
    ]);
    run_all(&cases);
    let outcome = go_unit("jws-sa-valid-signingauthority.json", "strict")
        .input()
        .run(&OfflineRevocationChecker)
        .unwrap();
    assert_eq!(
        outcome.signing_scheme(),
        Some(SigningScheme::X509SigningAuthority)
    );
    assert_eq!(
        outcome.signing_time(),
        Some(datetime!(2020-11-09 07:00 UTC))
    );
}

#[test]
fn go_unit_plugin_required() {
    // Go fails without the plugin ("error while locating the verification plugin"), at every
    // level (inconclusive). We run no plugins and fail integrity naming the plugin.
    run_all(
        &LEVELS
            .iter()
            .map(|l| {
                go_unit("jws-ca-plugin-required.json", l).expect(Expect::Fail(
                    CheckKind::Integrity,
                    "verification plugin \"plugin-name\" is required",
                ))
            })
            .collect::<Vec<_>>(),
    );
    // The signature itself is cryptographically valid.
    let env = envelope::parse(
        &vector("jws-ca-plugin-required.json"),
        JWS_MEDIA_TYPE,
        &Limits::DEFAULT,
    )
    .unwrap();
    env.verify_signature().unwrap();
    assert_eq!(
        env.signed_attributes().verification_plugin.as_deref(),
        Some("plugin-name")
    );
    assert_eq!(
        env.signed_attributes().unknown_critical,
        vec!["SomeKey".to_owned()]
    );
}

#[test]
fn go_unit_user_metadata() {
    const MSG: &str = "unable to find specified metadata in the signature";
    let case = |m: &[(&'static str, &'static str)]| {
        let artifact = Descriptor::new(
            "application/vnd.docker.distribution.manifest.v2+json",
            "sha256:5a07385af4e6b6af81b0ebfd435aedccdfa3507f0609c658209e1aba57159b2b",
            942,
        );
        let reference = format!("{NET_MONITOR}@{}", artifact.digest);
        Case::new(
            "jws-user-metadata.json",
            "jws-user-metadata.json",
            artifact,
            &reference,
        )
        .named(&format!("{m:?}"))
        .policy(dummy_policy(
            "audit",
            &["ca:valid-trust-store"],
            &[TEST_ROOT_IDENTITY],
        ))
        .store(
            StoreType::Ca,
            "valid-trust-store",
            Anchor::File("cert-NotationTestRoot.pem"),
        )
        .now(datetime!(2024-01-01 0:00 UTC))
        .metadata(m)
    };
    const UNTRUSTED: &str = "does not contain any trusted certificate";
    run_all(&[
        case(&[]).expect(Expect::Warn(CheckKind::Authenticity, UNTRUSTED)),
        case(&[("io.wabbit-networks.buildId", "123")]).expect(Expect::Warn(
            CheckKind::AuthenticTimestamp,
            "verification time is after certificate",
        )),
        case(&[
            ("io.wabbit-networks.buildId", "123"),
            ("io.wabbit-networks.buildTime", "1672944615"),
        ])
        .expect(Expect::Warn(CheckKind::Authenticity, UNTRUSTED)),
        case(&[("io.wabbit-networks.buildId", "321")]).expect(Expect::Metadata(MSG)),
        case(&[
            ("io.wabbit-networks.buildId", "123"),
            ("io.wabbit-networks.buildTime", "1"),
        ])
        .expect(Expect::Metadata(MSG)),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Timestamp vectors (notation-go verifier/timestamp_test.go)
// ---------------------------------------------------------------------------------------------

fn ts(file: &'static str, anchor: Anchor, policy: &str) -> Case {
    let artifact = Descriptor::new(
        "application/vnd.docker.distribution.manifest.v2+json",
        "sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda",
        528,
    );
    let reference = format!("{NET_MONITOR}@{}", artifact.digest);
    let case = Case::new(file, file, artifact, &reference)
        .named(policy)
        .policy_file(policy)
        .store(StoreType::Ca, "e2e", anchor)
        .tsa_ok();
    if policy.contains("timestamp") {
        case.store(
            StoreType::Tsa,
            "e2e",
            Anchor::File("cert-tsa-root-globalsign-r6.cer"),
        )
    } else {
        case
    }
}

const ALWAYS: &str = "trustpolicy-timestamp-always.json";
const AFTER_EXPIRY: &str = "trustpolicy-timestamp-after-cert-expiry.json";
const ALPINE_TS: Anchor = Anchor::File("cert-TestTimestamp-alpine.crt");
const TEST_TSA: &str = "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US";

fn timestamp_range_of(case: &Case) -> (OffsetDateTime, OffsetDateTime) {
    let outcome = case
        .input()
        .run(&FixedRevocationChecker::new(RevocationStatus::Ok))
        .unwrap();
    assert!(outcome.is_verified(), "{:#?}", outcome.checks());
    let range = outcome
        .timestamp()
        .unwrap_or_else(|| panic!("{}: no timestamp", case.name));
    (range.earliest, range.latest)
}

#[test]
fn timestamp_valid() {
    run_all(&[
        ts("jws-timestamp-valid.sig", ALPINE_TS, ALWAYS),
        ts("cose-timestamp-valid.sig", ALPINE_TS, ALWAYS),
        ts("cose-timestamp-valid.sig", ALPINE_TS, AFTER_EXPIRY),
        ts("jws-timestamp-valid.sig", ALPINE_TS, ALWAYS).named("after the code-signing cert expired").now(datetime!(2034-01-01 0:00 UTC)),
        ts("cose-timestamp-valid.sig", ALPINE_TS, ALWAYS).named("tsa:does-not-exist").policy(
            String::from_utf8(vector(ALWAYS)).unwrap().replace("tsa:e2e", "tsa:does-not-exist"),
        )
        .expect(Expect::Fail(
            CheckKind::AuthenticTimestamp,
            "failed to load tsa trust store with error: the trust store \"does-not-exist\" of type \"tsa\" does not exist",
        )),
    ]);
    assert_eq!(
        timestamp_range_of(&ts("jws-timestamp-valid.sig", ALPINE_TS, ALWAYS)),
        (
            datetime!(2024-06-18 06:29:36 UTC),
            datetime!(2024-06-18 06:29:38 UTC)
        )
    );
    assert_eq!(
        timestamp_range_of(&ts("cose-timestamp-valid.sig", ALPINE_TS, ALWAYS)),
        (
            datetime!(2024-06-18 06:27:15 UTC),
            datetime!(2024-06-18 06:27:17 UTC)
        )
    );
    // afterCertExpiry with an unexpired chain: the token is not evaluated.
    let outcome = ts("cose-timestamp-valid.sig", ALPINE_TS, AFTER_EXPIRY)
        .input()
        .run(&FixedRevocationChecker::new(RevocationStatus::Ok))
        .unwrap();
    assert!(outcome.is_verified() && outcome.timestamp().is_none());

    // A tsa store holding another root (the Go test used DigiCert; any non-GlobalSign root).
    let mut other_root = ts(
        "cose-timestamp-valid.sig",
        ALPINE_TS,
        "trustpolicy-strict.json",
    )
    .named("tsa store with another root")
    .policy_file(ALWAYS)
    .store(
        StoreType::Tsa,
        "e2e",
        Anchor::File("cert-NotationTestRoot.pem"),
    );
    other_root.expect = Expect::Fail(
        CheckKind::AuthenticTimestamp,
        "failed to verify the timestamp countersignature",
    );
    run_all(&[other_root]);

    // A policy value "tsa" without a name is rejected when the policy is loaded.
    let err = TrustPolicyDocument::from_json(
        &String::from_utf8(vector(ALWAYS))
            .unwrap()
            .replace("\"tsa:e2e\"", "\"tsa\"")
            .into_bytes(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("is missing separator in trust store value \"tsa\""),
        "{err}"
    );
}

#[test]
fn timestamp_expired_code_signing_certificate() {
    let expired = format!("verification time is after certificate \"{TEST_TSA}\" validity period, it was expired at \"Tue, 18 Jun 2024 07:30:31 +0000\"");
    let expired: &'static str = Box::leak(expired.into_boxed_str());
    run_all(&[
        ts("jws-timestamp-expired-cert.sig", Anchor::Leaf, ALWAYS),
        ts("cose-timestamp-expired-cert.sig", Anchor::Leaf, ALWAYS),
        ts(
            "cose-timestamp-expired-cert.sig",
            Anchor::Leaf,
            AFTER_EXPIRY,
        ),
        ts(
            "cose-timestamp-expired-cert.sig",
            Anchor::Leaf,
            "trustpolicy-strict.json",
        )
        .expect(Expect::Fail(CheckKind::AuthenticTimestamp, expired)),
        ts(
            "cose-timestamp-expired-cert.sig",
            Anchor::Leaf,
            "trustpolicy-strict.json",
        )
        .named("inside the ten minutes")
        .now(datetime!(2024-06-18 07:25 UTC)),
    ]);
    assert_eq!(
        timestamp_range_of(&ts("jws-timestamp-expired-cert.sig", Anchor::Leaf, ALWAYS)),
        (
            datetime!(2024-06-18 07:21:41 UTC),
            datetime!(2024-06-18 07:21:43 UTC)
        )
    );
    assert_eq!(
        timestamp_range_of(&ts("cose-timestamp-expired-cert.sig", Anchor::Leaf, ALWAYS)),
        (
            datetime!(2024-06-18 07:21:11 UTC),
            datetime!(2024-06-18 07:21:13 UTC)
        )
    );
}

#[test]
fn timestamp_outside_certificate_validity() {
    let before = format!("timestamp can be before certificate \"{TEST_TSA}\" validity period, it will be valid from \"Fri, 18 Sep 2099 11:54:34 +0000\"");
    let after = format!("timestamp can be after certificate \"{TEST_TSA}\" validity period, it was expired at \"Tue, 18 Sep 2001 11:54:34 +0000\"");
    run_all(&[
        ts("jws-timestamp-before-notbefore.sig", Anchor::Leaf, ALWAYS).expect(Expect::Fail(
            CheckKind::AuthenticTimestamp,
            Box::leak(before.into_boxed_str()),
        )),
        ts(
            "jws-timestamp-before-notbefore.sig",
            Anchor::Leaf,
            "trustpolicy-strict.json",
        )
        .expect(Expect::Fail(
            CheckKind::AuthenticTimestamp,
            "verification time is before certificate",
        )),
        ts(
            "jws-timestamp-before-notbefore.sig",
            Anchor::Leaf,
            "trustpolicy-strict.json",
        )
        .named("clock inside the 2099 validity, no tsa")
        .now(datetime!(2100-01-01 0:00 UTC)),
        ts("cose-timestamp-after-notafter.sig", Anchor::Leaf, ALWAYS).expect(Expect::Fail(
            CheckKind::AuthenticTimestamp,
            Box::leak(after.into_boxed_str()),
        )),
        ts(
            "cose-timestamp-after-notafter.sig",
            Anchor::Leaf,
            "trustpolicy-strict.json",
        )
        .expect(Expect::Fail(
            CheckKind::AuthenticTimestamp,
            "verification time is after certificate",
        )),
    ]);
}

#[test]
fn timestamp_missing_countersignature() {
    run_all(&[
        ts("jws-no-timestamp.sig", ALPINE_TS, ALWAYS).expect(Expect::Fail(
            CheckKind::AuthenticTimestamp,
            "no timestamp countersignature was found in the signature envelope",
        )),
        ts("jws-no-timestamp.sig", ALPINE_TS, "trustpolicy-strict.json"),
        // afterCertExpiry with an expired chain requires the token.
        ts("jws-no-timestamp.sig", ALPINE_TS, AFTER_EXPIRY)
            .named("chain expired")
            .now(datetime!(2034-01-01 0:00 UTC))
            .expect(Expect::Fail(
                CheckKind::AuthenticTimestamp,
                "no timestamp countersignature was found in the signature envelope",
            )),
    ]);
}

#[test]
fn timestamp_tsa_revocation_unknown_is_an_authentic_timestamp_failure() {
    // Offline, the GlobalSign TSA chain (with OCSP/CRL URLs) has an unknown status.
    let case = ts("jws-timestamp-valid.sig", ALPINE_TS, ALWAYS);
    let outcome = case.input().run(&OfflineRevocationChecker).unwrap();
    let failure = outcome.failure().unwrap().to_string();
    assert_eq!(
        outcome
            .checks()
            .iter()
            .find(|c| c.is_enforced_failure())
            .unwrap()
            .kind,
        CheckKind::AuthenticTimestamp
    );
    assert!(
        failure.contains("revocation status is unknown"),
        "{failure}"
    );
}

// ---------------------------------------------------------------------------------------------
// Same artifact signed in both formats
// ---------------------------------------------------------------------------------------------

#[test]
fn alpine_both_formats() {
    let artifact = manifest_descriptor("oci-subject-manifest-19dbd2e4.json");
    assert_eq!(
        artifact.digest,
        "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0"
    );
    let reference = format!("local/oci-layout@{}", artifact.digest);
    let case = |file| {
        Case::new(file, file, artifact.clone(), &reference)
            .policy_file("trustpolicy-strict.json")
            .store(StoreType::Ca, "e2e", Anchor::Leaf)
    };
    let mut mismatch = case("cose-alpine-no-timestamp.sig").named("other artifact");
    mismatch.artifact = e2e_artifact();
    mismatch.expect = Expect::Fail(CheckKind::Integrity, "content descriptor mismatch");
    run_all(&[
        case("cose-alpine-no-timestamp.sig"),
        case("jws-alpine-no-timestamp.sig"),
        mismatch,
    ]);
    let cose = envelope::parse(
        &vector("cose-alpine-no-timestamp.sig"),
        COSE_MEDIA_TYPE,
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(cose.format(), EnvelopeFormat::Cose);
    assert_eq!(
        cose.signing_time(),
        Some(datetime!(2023-03-14 04:45:22 UTC))
    );
}

// ---------------------------------------------------------------------------------------------
// Every envelope parses, and every signature but the padded one verifies with its leaf key.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_envelope_parses_and_verifies() {
    let mut seen = 0;
    for entry in std::fs::read_dir(common::vectors_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let is_envelope = (name.starts_with("jws-") || name.starts_with("cose-"))
            && !name.starts_with("jws-ca-invalid");
        if !is_envelope {
            continue;
        }
        seen += 1;
        let env = envelope::parse(&vector(&name), &default_media_type(&name), &Limits::DEFAULT)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        env.verify_signature()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        imagegate_notation::cert::validate_signing_chain(env.cert_chain())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(seen, 19);
}

// ---------------------------------------------------------------------------------------------
// Divergences from Go (notation.md §16): where we follow the spec, or decide otherwise.
// ---------------------------------------------------------------------------------------------
//
// Asserted here with the vectors (below) and, where no vector exercises the rule, in
// `tests/generated.rs`:
// * anyExtendedKeyUsage on the code-signing leaf: spec forbids, Go allows; we forbid
//   (`extended_key_usage_rules`).
// * an EKU extension without codeSigning (e.g. only a private OID): Go ignores unknown purposes;
//   we require codeSigning whenever the extension is present (webpki `required_if_present`,
//   spec "MAY contain codeSigning" read as the code-signing profile) (`extended_key_usage_rules`).
// * unknown critical signed attributes: spec fails, Go passes without a plugin; we fail
//   (`critical_headers`).
// * CA basicConstraints critical flag: spec requires it, Go does not check; we follow Go so
//   chains Go accepts keep verifying.
// * COSE x5chain as a single bstr (RFC 9360 form for one certificate): Go refuses, we accept.

/// `skip` on the global scope: the spec forbids it, Go accepts it and the e2e fixture
/// `trustpolicy-skip.json` uses it. We accept it (Go behaviour) so existing policies keep
/// working; see `e2e_valid_signature` `[skip]`.
#[test]
fn divergence_skip_on_global_scope_is_accepted() {
    let policy = policy_file("trustpolicy-skip.json");
    assert!(policy
        .statement_for("anything.io/repo@sha256:00")
        .unwrap()
        .is_skip());
}

/// A verification plugin: Go fails as "inconclusive" because it cannot locate the plugin; we
/// support no plugins and fail integrity (always enforced) with a message naming the plugin.
/// Unknown critical attributes (here `SomeKey`): the spec says fail, Go passes them when no
/// plugin is declared; we fail (checked after the plugin, so the plugin message wins here).
#[test]
fn divergence_plugin_and_unknown_critical_attributes_fail() {
    let case = go_unit("jws-ca-plugin-required.json", "audit");
    let outcome = case.input().run(&OfflineRevocationChecker).unwrap();
    let integrity = outcome.check(CheckKind::Integrity).unwrap();
    assert_eq!(integrity.action, Action::Enforce);
    assert!(integrity
        .error
        .as_ref()
        .unwrap()
        .to_string()
        .contains("plugin-name"));
    assert!(
        outcome.signer().is_none(),
        "nothing about the signer is reported without integrity"
    );
}

/// JSON key case: Go matches keys case-insensitively; the notation-go fixtures spell the agent
/// `io.cncf.notary.SigningAgent`. We match exact keys for everything security-relevant and
/// fall back to a case-insensitive lookup only for the diagnostic signing agent.
#[test]
fn divergence_signing_agent_key_case() {
    let env = envelope::parse(
        &vector("jws-ca-valid-chain-ps384.json"),
        JWS_MEDIA_TYPE,
        &Limits::DEFAULT,
    )
    .unwrap();
    assert!(env.signing_agent().is_some());
}
