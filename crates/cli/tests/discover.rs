//! `imagegate resolve` and `imagegate discover` against a real registry (distribution 2.8,
//! referrers through the tag schema): an image signed twice with `imagegate sign`, one of the
//! signatures itself signed, so the tree has two levels.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use common::{imagegate, registry};
use imagegate_testkit::Pki;

const NOTARY: &str = "application/vnd.cncf.notary.signature";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn resolve_and_discover_a_signed_image() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_files(dir.path());
    let (key, chain) = (files.key.to_str().unwrap(), files.chain.to_str().unwrap());
    let host = registry().host();
    let subject = registry().pusher("cli/discover").image("v1").await;
    let image = format!("{host}/cli/discover:v1");

    // resolve: digest, pinned reference, descriptor.
    let out = imagegate(&["resolve", &image]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), subject.digest);
    let out = imagegate(&["resolve", &image, "-o", "reference"]);
    assert_eq!(
        stdout(&out).trim(),
        format!("{host}/cli/discover@{}", subject.digest)
    );
    let out = imagegate(&["resolve", &image, "--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["digest"], subject.digest.as_str());
    assert_eq!(json["mediaType"], subject.media_type.as_str());
    assert_eq!(json["size"], subject.size);

    // Nothing attached yet.
    let out = imagegate(&["discover", &image]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("(no referrers)\n"),
        "{}",
        stdout(&out)
    );

    // Two signatures on the image, and one on the first signature.
    let sign = |target: &str, envelope: &str| {
        let out = imagegate(&[
            "sign",
            "--key",
            key,
            "--cert",
            chain,
            "--envelope",
            envelope,
            target,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let jws = sign(&image, "jws");
    let cose = sign(&image, "cose");
    let nested = sign(&format!("{host}/cli/discover@{jws}"), "jws");

    let out = imagegate(&["discover", &image, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(root["digest"], subject.digest.as_str());
    let first = root["referrers"].as_array().unwrap();
    let mut digests: Vec<&str> = first
        .iter()
        .map(|r| r["digest"].as_str().unwrap())
        .collect();
    digests.sort_unstable();
    let mut expected = vec![jws.as_str(), cose.as_str()];
    expected.sort_unstable();
    assert_eq!(digests, expected);
    assert!(first.iter().all(|r| r["artifactType"] == NOTARY));
    let on_jws = first.iter().find(|r| r["digest"] == jws.as_str()).unwrap();
    assert_eq!(on_jws["referrers"][0]["digest"], nested.as_str());
    assert!(on_jws["referrers"][0]["annotations"]
        .as_object()
        .unwrap()
        .contains_key("io.cncf.notary.x509chain.thumbprint#S256"));
    let on_cose = first.iter().find(|r| r["digest"] == cose.as_str()).unwrap();
    assert_eq!(on_cose["referrers"].as_array().unwrap().len(), 0);

    // The tree shows the nested signature indented under the one it signs.
    let out = imagegate(&["discover", &image]);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("{host}/cli/discover@{}", subject.digest)),
        "{text}"
    );
    let nested_line = text.lines().find(|l| l.contains(&nested)).unwrap();
    assert!(
        nested_line.starts_with("│   └── ") || nested_line.starts_with("    └── "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");

    // One level only; another artifact type finds nothing.
    let out = imagegate(&["discover", &image, "--depth", "1"]);
    assert!(!stdout(&out).contains(&nested), "{}", stdout(&out));
    let out = imagegate(&[
        "discover",
        &image,
        "--artifact-type",
        "application/spdx+json",
    ]);
    assert!(
        stdout(&out).ends_with("(no referrers)\n"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn failures_say_what_is_wrong() {
    let host = registry().host();
    registry().pusher("cli/discover-missing").image("v1").await;
    for command in ["resolve", "discover"] {
        let missing = imagegate(&[command, &format!("{host}/cli/discover-missing:nope")]);
        assert_eq!(missing.status.code(), Some(1), "{command}");
        assert!(
            stderr(&missing).starts_with("error: "),
            "{}",
            stderr(&missing)
        );
        assert!(stderr(&missing).contains("nope"), "{}", stderr(&missing));
        let bad = imagegate(&[command, "Not/A/Valid:Ref"]);
        assert_eq!(bad.status.code(), Some(2), "{command}: {}", stderr(&bad));
    }
    let zero = imagegate(&["discover", "x/y:z", "--depth", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", stderr(&zero));
}
