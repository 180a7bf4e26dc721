//! What the operator sees: the real `imagegate serve` (mTLS) in front of the real registry.
//!
//! * One log line per computed key verdict, in JSON and in text, that the trace ID printed by
//!   a template leads to (namespace, subject, digest, isSuccess, verifier, cause, signer,
//!   duration, cache status); cache hits stay below `info`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use imagegate_e2e::external_data::{ProviderReply, ProviderTransport};
use imagegate_e2e::process::LogSettings;
use imagegate_e2e::GatekeeperInABox;
use serde_json::Value;

/// Go string form of the trusted testkit PKI's leaf DN.
const TRUSTED_SIGNER: &str = "CN=imagegate test signer,O=imagegate,L=Seattle,ST=WA,C=US";

struct Images {
    signed: String,
    unsigned: String,
    untrusted: String,
}

/// A signed, an unsigned and an untrusted image, all as digest references (what the
/// mutation webhook and Azure's template send); and the trusted root.
fn populate(gk_box: &GatekeeperInABox, tag: &str) -> (Images, PathBuf) {
    let (trusted_files, rogue_files) = gk_box.signers(&format!("-{tag}")).unwrap();
    let pinned = |image: &str| gk_box.pinned(image).unwrap();
    let signed = gk_box.push_image(&format!("op/signed:{tag}")).unwrap();
    gk_box.sign(&signed, &trusted_files, "jws").unwrap();
    let unsigned = gk_box.push_image(&format!("op/unsigned:{tag}")).unwrap();
    let untrusted = gk_box.push_image(&format!("op/untrusted:{tag}")).unwrap();
    gk_box.sign(&untrusted, &rogue_files, "jws").unwrap();
    (
        Images {
            signed: pinned(&signed),
            unsigned: pinned(&unsigned),
            untrusted: pinned(&untrusted),
        },
        trusted_files.root,
    )
}

/// Posts `keys` as Gatekeeper does; returns each item's value by key and the trace ID.
fn post(gk_box: &GatekeeperInABox, keys: &[String]) -> (Vec<Value>, String) {
    let mut transport = gk_box.gatekeeper_transport().unwrap();
    let ProviderReply::Answered { status, response } = transport.send("imagegate", keys) else {
        panic!("the provider did not answer");
    };
    assert_eq!(status, 200);
    let items = response.response.items;
    assert_eq!(items.len(), keys.len());
    let values: Vec<Value> = items.into_iter().map(|i| i.value).collect();
    let trace = values[0]["traceID"].as_str().unwrap().to_owned();
    (values, trace)
}

/// The JSON log lines of the provider whose message is `message`.
fn json_lines(gk_box: &GatekeeperInABox, message: &str) -> Vec<Value> {
    let log = gk_box.provider().unwrap().log();
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == message)
        .collect()
}

fn digest_of(key: &str) -> &str {
    key.rsplit_once('@').unwrap().1
}

#[test]
fn one_log_line_per_computed_verdict_json_and_text() {
    let mut gk_box = GatekeeperInABox::start().unwrap_or_else(|e| panic!("{e}"));
    let (img, root) = populate(&gk_box, "json");
    let json_logs = LogSettings {
        format: "json".to_owned(),
        level: "info".to_owned(),
    };
    gk_box
        .start_provider_with(std::slice::from_ref(&root), None, &json_logs)
        .unwrap_or_else(|e| panic!("{e}"));

    let keys = vec![
        img.signed.clone(),
        img.unsigned.clone(),
        img.untrusted.clone(),
    ];
    let (values, trace) = post(&gk_box, &keys);
    assert_eq!(values[0]["isSuccess"], true);
    assert_eq!(values[1]["isSuccess"], false);
    assert_eq!(values[2]["isSuccess"], false);

    let lines = json_lines(&gk_box, "verdict");
    assert_eq!(lines.len(), 3, "one line per computed verdict: {lines:#?}");
    let line = |key: &str| {
        let found: Vec<&Value> = lines.iter().filter(|l| l["subject"] == key).collect();
        assert_eq!(found.len(), 1, "{key}: {lines:#?}");
        found[0].clone()
    };
    let expect = [
        (&img.signed, true, "none", TRUSTED_SIGNER),
        (&img.unsigned, false, "unsigned", ""),
        (&img.untrusted, false, "untrusted_signer", ""),
    ];
    for (key, ok, cause, signer) in expect {
        let l = line(key);
        assert_eq!(l["level"], "INFO", "{l}");
        assert_eq!(l["span"]["trace_id"], trace.as_str(), "{l}");
        assert_eq!(l["namespace"], "", "{l}");
        assert_eq!(l["digest"], digest_of(key), "{l}");
        assert_eq!(l["is_success"], ok, "{l}");
        assert_eq!(l["cause"], cause, "{l}");
        assert_eq!(l["signer"], signer, "{l}");
        assert_eq!(l["cache"], "miss", "{l}");
        assert!(l["duration_ms"].is_u64(), "{l}");
    }
    assert_eq!(line(&img.signed)["verifier"], "verifier-notation");
    assert_eq!(line(&img.untrusted)["verifier"], "verifier-notation");
    // The unsigned image has no signature, so no verifier ran.
    assert_eq!(line(&img.unsigned)["verifier"], "");
    let reason = line(&img.untrusted)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("trusted"), "{reason}");

    // The same keys again, from Gatekeeper's next cache miss: verdicts come from the cache,
    // and cache hits are not logged at info.
    let (_, second) = post(&gk_box, &keys);
    assert_ne!(second, trace);
    assert_eq!(json_lines(&gk_box, "verdict").len(), 3);

    // Text format: the same line, the trace ID in the request span.
    let text_logs = LogSettings {
        format: "text".to_owned(),
        level: "info".to_owned(),
    };
    gk_box
        .start_provider_with(&[root], None, &text_logs)
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, trace) = post(&gk_box, std::slice::from_ref(&img.unsigned));
    let log = gk_box.provider().unwrap().log();
    let verdicts: Vec<&str> = log.lines().filter(|l| l.contains(" verdict ")).collect();
    assert_eq!(verdicts.len(), 1, "{log}");
    let l = verdicts[0];
    for want in [
        format!("trace_id={trace}"),
        format!("subject=\"{}\"", img.unsigned),
        format!("digest=\"{}\"", digest_of(&img.unsigned)),
        "is_success=false".to_owned(),
        "cause=\"unsigned\"".to_owned(),
        "cache=\"miss\"".to_owned(),
    ] {
        assert!(l.contains(&want), "{want} in {l}");
    }
    assert!(l.contains(" INFO "), "{l}");
    assert!(!l.contains('\u{1b}'), "no colour codes in a log file: {l}");
}
