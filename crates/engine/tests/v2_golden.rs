//! Golden tests of Ratify v2's result and envelope (reference: shared ratify-v2.md §2–§3).
//!
//! The expected texts in `golden/v2/` were written by hand from the reference's field list,
//! omission rules and examples; each case builds the engine's v1-shaped reports for one
//! situation (signed, unsigned, untrusted, not found, registry error, timeout) and checks the
//! bytes the v2 renderer writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
use imagegate_engine::v2::{self, V2Item, V2Outcome, V2Result, V2Value};
use imagegate_engine::{CauseKind, Failure, RatifyCode, VerifierReport};

const SUBJECT: &str =
    "myacr.azurecr.io/app@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const SIG_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SIG_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const NOTARY: &str = "application/vnd.cncf.notary.signature";

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/v2/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn notation_report(digest: &str) -> VerifierReport {
    let mut r = VerifierReport::for_verifier("notation-1", "notation");
    r.subject = SUBJECT.into();
    r.reference_digest = digest.into();
    r.artifact_type = NOTARY.into();
    r
}

/// The envelope for `(key, verify outcome)` pairs, as the provider writes it.
fn verify_response(items: &[(String, V2Outcome)]) -> String {
    let rendered: Vec<(String, Result<String, String>)> = items
        .iter()
        .map(|(k, o)| match o {
            V2Outcome::Value(v) => (k.clone(), Ok(v.render())),
            V2Outcome::Error(e) => (k.clone(), Err(v2::key_error(e))),
        })
        .collect();
    let items: Vec<V2Item<'_>> = rendered
        .iter()
        .map(|(key, r)| match r {
            Ok(json) => V2Item {
                key,
                value: Some(V2Value::Json(json)),
                error: None,
            },
            Err(e) => V2Item {
                key,
                value: None,
                error: Some(e),
            },
        })
        .collect();
    v2::render_response(&items, false)
}

fn value(outcome: V2Outcome) -> V2Result {
    match outcome {
        V2Outcome::Value(v) => v,
        V2Outcome::Error(e) => panic!("expected a value, got error {e}"),
    }
}

#[test]
fn signed() {
    let mut r = notation_report(SIG_A);
    r.is_success = true;
    r.message = "Notation signature verification success".into();
    r.extensions = Some(
        serde_json::json!({
            "SN": "CN=signer,O=Example,C=US",
            "Issuer": "CN=Example CA,O=Example,C=US",
        })
        .into(),
    );
    let v = value(v2::from_v1(SUBJECT, true, &[r]));
    assert_eq!(v.render(), golden("signed.json"));
}

#[test]
fn unsigned_has_null_reports() {
    // The engine's subject-level report when no signature referrer was found.
    let r = VerifierReport {
        subject: "myacr.azurecr.io/app:1.0".into(),
        message: "failed to verify artifact: myacr.azurecr.io/app:1.0".into(),
        error_reason: "No verification results for the artifact myacr.azurecr.io/app:1.0. \
                       Ensure verifiers are properly configured"
            .into(),
        ..VerifierReport::default()
    };
    let v = value(v2::from_v1(SUBJECT, false, &[r]));
    assert_eq!(v.render(), golden("unsigned.json"));
    assert_eq!(
        value(v2::from_v1(SUBJECT, false, &[])).render(),
        golden("unsigned.json")
    );
}

#[test]
fn untrusted_signer() {
    let mut r = notation_report(SIG_B);
    r.message = "Failed to validate the Notation signature: {…}".into();
    r.error_reason = "VERIFY_REFERENCE_FAILURE: the signature's certificate chain does not \
                      contain any trusted certificate"
        .into();
    let v = value(v2::from_v1(SUBJECT, false, &[r]));
    assert_eq!(v.render(), golden("untrusted.json"));
}

#[test]
fn other_verification_failures_keep_their_reason_without_the_code() {
    let mut r = notation_report(SIG_B);
    r.error_reason = "VERIFY_REFERENCE_FAILURE: signature is expired".into();
    let v = value(v2::from_v1(SUBJECT, false, &[r]));
    let results = &v.artifact_reports.unwrap()[0].results;
    assert_eq!(results[0].error_reason, "signature is expired");
    assert_eq!(results[0].description, "");
    assert_eq!(results[0].detail, None);
}

#[test]
fn not_found_is_an_item_error() {
    let err = Failure::new(
        RatifyCode::GetSubjectDescriptorFailure,
        CauseKind::NotFound,
        "myacr.azurecr.io/app:missing: manifest unknown",
    );
    let items = vec![(
        "myacr.azurecr.io/app:missing".to_owned(),
        V2Outcome::Error(err),
    )];
    assert_eq!(verify_response(&items), golden("not-found.json"));
}

#[test]
fn registry_errors_and_timeouts_are_item_errors_in_request_order() {
    // A referrer listing that failed: the engine's subject-level report with its code.
    let listing = VerifierReport {
        subject: SUBJECT.into(),
        error_reason: "LIST_REFERRERS_FAILURE: connection refused".into(),
        ..VerifierReport::default()
    };
    let timeout = Failure::new(
        RatifyCode::ExecutorFailure,
        CauseKind::Timeout,
        "operation timed out after duration 2.9s",
    );
    let items = vec![
        (
            format!("[team-a]{SUBJECT}"),
            v2::from_v1(SUBJECT, false, &[listing]),
        ),
        (SUBJECT.to_owned(), v2::from_v1(SUBJECT, false, &[])),
        (
            "myacr.azurecr.io/app:slow".to_owned(),
            V2Outcome::Error(timeout.clone()),
        ),
    ];
    assert_eq!(verify_response(&items), golden("error.json"));
    assert_eq!(v2::deadline_error(), v2::key_error(&timeout));
}

#[test]
fn a_failed_signature_fetch_aborts_the_key() {
    let mut r = notation_report(SIG_A);
    r.error_reason = "GET_BLOB_CONTENT_FAILURE: blob unknown".into();
    let mut ok = notation_report(SIG_B);
    ok.is_success = true;
    let V2Outcome::Error(e) = v2::from_v1(SUBJECT, true, &[ok, r]) else {
        panic!("a value")
    };
    assert_eq!(e.code, RatifyCode::GetBlobContentFailure);
    assert_eq!(
        v2::key_error(&e),
        "failed to generate and aggregate verifier reports: blob unknown"
    );
}

#[test]
fn mutate_envelope_is_idempotent_and_echoes_keys() {
    let items = [
        V2Item {
            key: "[ns]myacr.azurecr.io/app:1.0",
            value: Some(V2Value::Str(SUBJECT)),
            error: None,
        },
        V2Item {
            key: "nginx:1.25",
            value: Some(V2Value::Str("nginx:1.25")),
            error: Some(
                "failed to parse reference: invalid reference: missing registry or repository",
            ),
        },
    ];
    assert_eq!(v2::render_response(&items, true), golden("mutate.json"));
}

#[test]
fn typed_causes_choose_the_wording() {
    // An untrusted signer, typed: notation-go's words whatever imagegate's detail says.
    let mut r = notation_report(SIG_B);
    r.error_reason = "VERIFY_REFERENCE_FAILURE: no certificate in the chain is trusted".into();
    r.cause = Some(imagegate_engine::Cause::new(
        RatifyCode::VerifyReferenceFailure,
        CauseKind::UntrustedSigner,
    ));
    let v = value(v2::from_v1(SUBJECT, false, &[r]));
    assert_eq!(v.render(), golden("untrusted.json"));
    // A fetch failure typed by its code, whatever the text says, aborts the key.
    let mut r = notation_report(SIG_A);
    r.error_reason = "registry said no".into();
    r.cause = Some(imagegate_engine::Cause::new(
        RatifyCode::GetReferrerManifestFailure,
        CauseKind::RegistryStatus,
    ));
    let V2Outcome::Error(e) = v2::from_v1(SUBJECT, false, &[r]) else {
        panic!("a value")
    };
    assert_eq!(e.kind, CauseKind::RegistryStatus);
    assert_eq!(
        v2::key_error(&e),
        "failed to generate and aggregate verifier reports: registry said no"
    );
}

#[test]
fn nested_reports_and_escaping() {
    let mut inner = notation_report(SIG_B);
    inner.is_success = true;
    inner.extensions = Some(serde_json::json!({"SN": "CN=<x>&\"y\""}).into());
    let mut outer = notation_report(SIG_A);
    outer.is_success = true;
    outer.nested_results = vec![inner];
    let v = value(v2::from_v1(SUBJECT, true, &[outer]));
    let text = v.render();
    let expected = format!(
        concat!(
            r#"{{"succeeded":true,"artifactReports":[{{"subject":"{s}","artifact":"{a}","#,
            r#""results":[{{"verifierName":"notation-1","description":"Notation signature verification succeeded"}}],"#,
            r#""artifactReports":[{{"subject":"{s}","artifact":"{b}","results":[{{"verifierName":"notation-1","#,
            r#""description":"Notation signature verification succeeded","#,
            r#""detail":"{{\"SN\":\"CN=\\u003cx\\u003e\\u0026\\\"y\\\"\"}}"}}]}}]}}]}}"#
        ),
        s = SUBJECT,
        a = SIG_A,
        b = SIG_B
    );
    assert_eq!(text, expected);
    // The detail decodes back to the verifier's extensions.
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let detail = parsed["artifactReports"][0]["artifactReports"][0]["results"][0]["detail"]
        .as_str()
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(detail).unwrap();
    assert_eq!(detail["SN"], "CN=<x>&\"y\"");
}
