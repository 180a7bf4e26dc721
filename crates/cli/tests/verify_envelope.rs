//! `imagegate verify-envelope` on the real Notation vectors in `testdata/notation`.

// Test helpers may unwrap: a failed setup should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SUBJECT_DIGEST: &str =
    "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/notation")
}

/// A trust store directory with `cert` placed in `x509/<store_type>/<name>/`.
fn trust_store(entries: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (store_type, name, cert) in entries {
        let target = dir.path().join("x509").join(store_type).join(name);
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(vectors().join(cert), target.join(cert)).unwrap();
    }
    dir
}

struct Case {
    envelope: &'static str,
    media_type: &'static str,
    digest: &'static str,
    size: u64,
    policy: &'static str,
    store: PathBuf,
    at: Option<&'static str>,
}

impl Case {
    /// A case on the notation e2e subject (b8479de3…, 517 bytes) with a JWS envelope.
    fn e2e(envelope: &'static str, policy: &'static str, store: &Path) -> Case {
        Case {
            envelope,
            media_type: "application/jose+json",
            digest: SUBJECT_DIGEST,
            size: 517,
            policy,
            store: store.to_path_buf(),
            at: None,
        }
    }

    fn run(&self, extra: &[&str]) -> Output {
        let reference = format!("localhost:5000/e2e@{}", self.digest);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imagegate"));
        cmd.arg("verify-envelope")
            .arg("--envelope")
            .arg(vectors().join(self.envelope))
            .args(["--media-type", self.media_type])
            .args(["--artifact-digest", self.digest])
            .args(["--artifact-media-type", OCI_MANIFEST])
            .args(["--artifact-size", &self.size.to_string()])
            .args(["--reference", &reference])
            .arg("--trust-policy")
            .arg(vectors().join(self.policy))
            .arg("--trust-store")
            .arg(&self.store)
            .args(extra);
        if let Some(at) = self.at {
            cmd.args(["--at", at]);
        }
        cmd.output().unwrap()
    }

    fn json(&self) -> (i32, Value) {
        let out = self.run(&["--output", "json"]);
        let code = out.status.code().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {text}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, value)
    }
}

fn check<'v>(report: &'v Value, kind: &str) -> &'v Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no check {kind} in {report}"))
}

#[test]
fn valid_e2e_signature_verifies_with_signer_details() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let (code, report) = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        store.path(),
    )
    .json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["outcome"], "verified");
    assert_eq!(report["verificationLevel"], "strict");
    assert_eq!(
        report["signer"]["subject"],
        "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
    );
    assert_eq!(
        report["signer"]["issuer"],
        "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
    );
    for kind in [
        "integrity",
        "authenticity",
        "authenticTimestamp",
        "expiry",
        "revocation",
    ] {
        let c = check(&report, kind);
        assert_eq!(c["action"], "enforced", "{kind}");
        assert_eq!(c["result"], "success", "{kind}");
    }
    assert_eq!(
        report["signer"]["certificateThumbprintsSha256"][0],
        "e38aea13f2b051f7183cca64a51ee676f4d4456f41d9fecf15eb367efc7343b9"
    );
}

#[test]
fn text_output_explains_the_result() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let out = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        store.path(),
    )
    .run(&[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Successfully verified signature for localhost:5000/e2e@sha256:b8479de3"),
        "{text}"
    );
    assert!(
        text.contains("signer:  CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"),
        "{text}"
    );
}

#[test]
fn expired_signature_fails_under_strict_and_warns_under_permissive() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let (code, report) = Case::e2e(
        "jws-e2e-expired-signature.json",
        "trustpolicy-strict.json",
        store.path(),
    )
    .json();
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["outcome"], "failed");
    assert!(report["error"]
        .as_str()
        .unwrap()
        .starts_with("digital signature has expired on"));
    assert_eq!(check(&report, "expiry")["result"], "failure");
    assert_eq!(check(&report, "revocation")["result"], "notEvaluated");

    let (code, report) = Case::e2e(
        "jws-e2e-expired-signature.json",
        "trustpolicy-permissive.json",
        store.path(),
    )
    .json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(check(&report, "expiry")["action"], "logged");
    assert_eq!(check(&report, "expiry")["result"], "failure");
    let warning = report["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("expiry was set to \"log\""),
        "{warning}"
    );
}

#[test]
fn pinned_clock_before_expiry_verifies_under_strict() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let mut case = Case::e2e(
        "jws-e2e-expired-signature.json",
        "trustpolicy-strict.json",
        store.path(),
    );
    case.at = Some("2023-06-27T05:21:00Z");
    let (code, report) = case.json();
    assert_eq!(code, 0, "{report}");
}

#[test]
fn identity_mismatch_and_untrusted_root_fail_authenticity() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let (code, report) = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-trusted-identity-mismatch.json",
        store.path(),
    )
    .json();
    assert_eq!(code, 1);
    assert!(report["error"]
        .as_str()
        .unwrap()
        .contains("signing certificate from the digital signature does not match the X.509 trusted identities"));

    let other = trust_store(&[("ca", "e2e", "cert-expired_e2e.crt")]);
    let (code, report) = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        other.path(),
    )
    .json();
    assert_eq!(code, 1);
    assert_eq!(check(&report, "authenticity")["result"], "failure");
    assert!(report["error"]
        .as_str()
        .unwrap()
        .contains("the signature's certificate chain does not contain any trusted certificate"));

    // Under audit the same failure is only logged.
    let (code, report) =
        Case::e2e("jws-e2e-valid.json", "trustpolicy-audit.json", other.path()).json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(check(&report, "authenticity")["action"], "logged");
}

#[test]
fn cose_envelope_verifies_and_missing_store_is_a_usage_error() {
    // cose-alpine-no-timestamp.sig is self-signed: its own leaf is the `ca` anchor.
    let bytes = std::fs::read(vectors().join("cose-alpine-no-timestamp.sig")).unwrap();
    let parsed = imagegate_notation::envelope::parse(
        &bytes,
        "application/cose",
        &imagegate_notation::Limits::default(),
    )
    .unwrap();
    let store = tempfile::tempdir().unwrap();
    let anchor_dir = store.path().join("x509/ca/e2e");
    std::fs::create_dir_all(&anchor_dir).unwrap();
    std::fs::write(
        anchor_dir.join("alpine.cer"),
        parsed.cert_chain()[0].as_ref(),
    )
    .unwrap();

    let mut cose = Case {
        envelope: "cose-alpine-no-timestamp.sig",
        media_type: "application/cose",
        digest: "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0",
        size: 481,
        policy: "trustpolicy-strict.json",
        store: store.path().to_path_buf(),
        at: Some("2024-01-01T00:00:00Z"),
    };
    let (code, report) = cose.json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["signer"]["subject"],
        "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US"
    );

    // A trust store path that does not exist is a configuration error naming the path.
    cose.store = PathBuf::from("/nonexistent-imagegate-store");
    let out = cose.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/nonexistent-imagegate-store"), "{stderr}");
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let mut case = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        store.path(),
    );
    case.at = Some("yesterday");
    let out = case.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));

    let out = Command::new(env!("CARGO_BIN_EXE_imagegate"))
        .args(["verify-envelope", "--envelope", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let mut case = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        store.path(),
    );
    case.digest = "b8479de3";
    let out = case.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--artifact-digest"));
}

#[test]
fn wrong_artifact_descriptor_fails_integrity() {
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    let mut case = Case::e2e(
        "jws-e2e-valid.json",
        "trustpolicy-strict.json",
        store.path(),
    );
    case.size = 518;
    let (code, report) = case.json();
    assert_eq!(code, 1);
    assert_eq!(check(&report, "integrity")["result"], "failure");
    assert!(report["error"]
        .as_str()
        .unwrap()
        .contains("content descriptor mismatch"));
}

#[test]
fn no_applicable_trust_policy_is_a_verification_failure_like_notation_go() {
    // A valid policy whose only statement covers another repository.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("other-scope.json");
    std::fs::write(
        &policy,
        r#"{"version":"1.0","trustPolicies":[{"name":"other","registryScopes":["localhost:5000/other"],
           "signatureVerification":{"level":"strict"},"trustStores":["ca:e2e"],"trustedIdentities":["*"]}]}"#,
    )
    .unwrap();
    let store = trust_store(&[("ca", "e2e", "cert-e2e.crt")]);
    // `vectors().join(absolute)` is the absolute path itself.
    let policy: &'static str = Box::leak(policy.to_str().unwrap().to_owned().into_boxed_str());
    let case = Case::e2e("jws-e2e-valid.json", policy, store.path());
    let message = format!(
        "artifact \"localhost:5000/e2e@{SUBJECT_DIGEST}\" has no applicable oci trust policy statement"
    );

    let out = case.run(&[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&message), "{stderr}");

    let (code, report) = case.json();
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "failed");
    assert!(
        report["error"].as_str().unwrap().starts_with(&message),
        "{report}"
    );
}
