//! Gatekeeper in a box: the real registry, images signed by `imagegate sign` (JWS, COSE),
//! an unsigned, a tampered and an untrusted image and the real Notation e2e fixture; the
//! real `imagegate serve` behind mTLS; our ConstraintTemplates evaluated with regorus on
//! AdmissionReviews of Pods and Deployments, `external_data` going over HTTPS exactly as
//! Gatekeeper sends it; an audit pass producing constraint statuses; the provider stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imagegate_e2e::audit::{audit, ConstraintStatus, CONSTRAINT_VIOLATIONS_LIMIT};
use imagegate_e2e::compliance::compliance;
use imagegate_e2e::external_data::ProviderReply;
use imagegate_e2e::https::HttpsProvider;
use imagegate_e2e::images::{fixture_cert, FIXTURE_DN};
use imagegate_e2e::inabox::PROVIDER_TIMEOUT;
use imagegate_e2e::kubectl::run_pod;
use imagegate_e2e::review::PodSpec;
use imagegate_e2e::{
    paths, AdmissionResponse, Constraint, ConstraintTemplate, Gatekeeper, GatekeeperInABox,
    ManualClock, PolicySet, ProviderTransport, Review, SharedGatekeeper, Workload,
    DEFAULT_CACHE_TTL,
};
use serde_json::{json, Value};

/// Go string form of the trusted testkit PKI's root and leaf DNs.
const TRUSTED_ISSUER: &str = "CN=imagegate test root,O=imagegate,L=Seattle,ST=WA,C=US";
const TRUSTED_SIGNER: &str = "CN=imagegate test signer,O=imagegate,L=Seattle,ST=WA,C=US";

/// The images of the box, as Pod specs name them.
struct Images {
    jws: String,
    cose: String,
    unsigned: String,
    tampered: String,
    untrusted: String,
    fixture: String,
}

fn populate(gk_box: &GatekeeperInABox) -> (Images, PathBuf) {
    let (trusted_files, rogue_files) = gk_box.signers("").unwrap();

    let jws = gk_box.push_image("app/signed:jws").unwrap();
    gk_box.sign(&jws, &trusted_files, "jws").unwrap();
    let cose = gk_box.push_image("app/signed:cose").unwrap();
    gk_box.sign(&cose, &trusted_files, "cose").unwrap();
    let unsigned = gk_box.push_image("app/unsigned:v1").unwrap();
    let tampered = gk_box.push_image("app/tampered:v1").unwrap();
    let original = gk_box.sign(&tampered, &trusted_files, "jws").unwrap();
    let altered = gk_box.tamper(&tampered).unwrap();
    assert_ne!(original, altered);
    let untrusted = gk_box.push_image("app/untrusted:v1").unwrap();
    gk_box.sign(&untrusted, &rogue_files, "jws").unwrap();
    let fixture = gk_box.push_fixture("notation/e2e").unwrap();
    (
        Images {
            jws,
            cose,
            unsigned,
            tampered,
            untrusted,
            fixture,
        },
        trusted_files.root,
    )
}

/// A Gatekeeper process (webhook or audit: each has its own cache) with our templates and
/// constraints installed.
fn gatekeeper(transport: HttpsProvider, clock: &ManualClock) -> PolicySet {
    let mut gk = Gatekeeper::new(Arc::new(clock.clone()));
    gk.register("imagegate", Box::new(transport));
    let shared: SharedGatekeeper = Arc::new(Mutex::new(gk));
    let mut policies = PolicySet::new(shared);
    for (_, t) in ConstraintTemplate::load_dir(&paths::templates_dir()).unwrap() {
        policies.add_template(&t).unwrap();
    }
    let constraints = paths::constraints_dir();
    for file in [
        "imagegateverification.yaml",
        "imagegatemultitenancyverification.yaml",
    ] {
        let c = Constraint::load(&constraints.join(file)).unwrap();
        policies.add_constraint(c).unwrap();
    }
    // The example issuer constraint, allowing only the Notation e2e CA in "production".
    let mut issuer = Constraint::load(&constraints.join("imagegateissuervalidation.yaml")).unwrap();
    issuer.parameters["allowedIssuers"] = json!([FIXTURE_DN]);
    policies.add_constraint(issuer).unwrap();
    policies
}

fn pod(name: &str, ns: &str, image: &str) -> Value {
    run_pod(name, image, ns)
}

fn deployment(name: &str, ns: &str, pod: &PodSpec) -> Value {
    Workload::Deployment.object(name, ns, pod)
}

fn admit(policies: &mut PolicySet, object: &Value) -> AdmissionResponse {
    policies.admit(&Review::admission(object.clone()))
}

#[track_caller]
fn assert_allowed(r: &AdmissionResponse, what: &str) {
    assert!(r.allowed, "{what} should be admitted: {r:#?}");
    assert_eq!(r.code, 200);
}

/// Asserts a denial whose every deny message names `image`; returns the message.
#[track_caller]
fn assert_denied(r: &AdmissionResponse, image: &str, reason: &str) -> String {
    assert!(!r.allowed, "{image} should be denied: {r:#?}");
    eprintln!("{}\n", r.message);
    assert_eq!(r.code, 403, "{r:#?}");
    assert!(
        r.message
            .starts_with("admission webhook \"validation.gatekeeper.sh\" denied the request:"),
        "{}",
        r.message
    );
    for d in r.denials() {
        assert!(d.msg.contains(image), "names the image: {}", d.msg);
        assert!(d.msg.contains(reason), "says why ({reason}): {}", d.msg);
    }
    r.message.clone()
}

fn sent_keys(policies: &PolicySet) -> Vec<Vec<String>> {
    let gk = policies.gatekeeper().lock().unwrap();
    gk.calls().iter().map(|c| c.keys.clone()).collect()
}

#[test]
fn gatekeeper_in_a_box() {
    let mut gk_box = GatekeeperInABox::start().unwrap_or_else(|e| panic!("{e}"));
    let (img, trusted_root) = populate(&gk_box);
    gk_box
        .start_provider(&[trusted_root, fixture_cert()])
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = ManualClock::at(1_800_000_000);
    let mut webhook = gatekeeper(gk_box.gatekeeper_transport().unwrap(), &clock);

    // --- Signed images are admitted: Pods (kubectl run) and Deployments. ---
    assert_allowed(
        &admit(&mut webhook, &pod("demo", "default", &img.jws)),
        "JWS",
    );
    assert_allowed(
        &admit(&mut webhook, &pod("demo-cose", "default", &img.cose)),
        "COSE",
    );
    assert_allowed(
        &admit(&mut webhook, &pod("fixture", "default", &img.fixture)),
        "the Notation e2e fixture",
    );
    let all_signed = PodSpec::with_containers(&[&img.jws, &img.cose]).init(&img.fixture);
    assert_allowed(
        &admit(&mut webhook, &deployment("web", "default", &all_signed)),
        "a Deployment of signed images",
    );
    // One request per object, every image of it in the request.
    let calls = sent_keys(&webhook);
    assert_eq!(
        calls.len(),
        3,
        "the Deployment was served from the cache: {calls:#?}"
    );

    // --- Unsigned, tampered and untrusted images are denied, with the reason. ---
    let m = assert_denied(
        &admit(&mut webhook, &pod("demo", "default", &img.unsigned)),
        &img.unsigned,
        "No verification results",
    );
    assert!(m.contains("[imagegate-verify-images]"), "{m}");
    let tampered = admit(&mut webhook, &pod("t", "default", &img.tampered));
    assert_denied(&tampered, &img.tampered, "reason: signature is invalid");
    let untrusted = admit(&mut webhook, &pod("u", "default", &img.untrusted));
    assert_denied(
        &untrusted,
        &img.untrusted,
        "reason: the signature's certificate chain does not contain any trusted certificate",
    );
    let t = &tampered.denials().next().unwrap().msg;
    assert!(t.contains("(verifier-notation)"), "names the verifier: {t}");

    // A Deployment mixing signed and unsigned images: denied for the unsigned one only.
    let mixed = PodSpec::with_containers(&[&img.jws]).init(&img.unsigned);
    let r = admit(&mut webhook, &deployment("mixed", "default", &mixed));
    assert_denied(&r, &img.unsigned, "failed verification");
    assert_eq!(r.denials().count(), 1, "{r:#?}");

    // System namespaces are excluded by the constraint: nothing is sent.
    let before = sent_keys(&webhook).len();
    assert_allowed(
        &admit(&mut webhook, &pod("x", "kube-system", &img.unsigned)),
        "kube-system",
    );
    assert_eq!(sent_keys(&webhook).len(), before);

    // Gatekeeper's cache: the same verdicts, no new request (status_code 0 in Rego).
    let again = admit(&mut webhook, &pod("demo", "default", &img.unsigned));
    assert!(!again.allowed);
    assert_allowed(
        &admit(&mut webhook, &pod("demo", "default", &img.jws)),
        "cached",
    );
    assert_eq!(sent_keys(&webhook).len(), before);

    // --- Issuer validation in "production": only the e2e CA is allowed. ---
    assert_allowed(
        &admit(&mut webhook, &pod("p", "production", &img.fixture)),
        "fixture in production",
    );
    let r = admit(&mut webhook, &pod("p", "production", &img.jws));
    let m = assert_denied(&r, &img.jws, TRUSTED_ISSUER);
    assert!(m.contains("[imagegate-trusted-issuers]"), "{m}");

    // --- Multi-tenancy: "[namespace]image" keys, per-tenant verdicts. ---
    assert_allowed(
        &admit(&mut webhook, &pod("a", "team-a", &img.cose)),
        "team-a",
    );
    let r = admit(&mut webhook, &pod("b", "team-b", &img.unsigned));
    assert_denied(&r, &img.unsigned, "No verification results");
    let keys = sent_keys(&webhook).concat();
    assert!(keys.contains(&format!("[team-a]{}", img.cose)), "{keys:#?}");
    assert!(
        keys.contains(&format!("[team-b]{}", img.unsigned)),
        "{keys:#?}"
    );

    // --- The provider's own answers: Ratify 0.2.0 results over mTLS. ---
    let mut direct = gk_box.gatekeeper_transport().unwrap();
    let keys = vec![img.fixture.clone(), img.jws.clone()];
    let ProviderReply::Answered { status, response } = direct.send("imagegate", &keys) else {
        panic!("provider did not answer");
    };
    assert_eq!(status, 200);
    let items = &response.response.items;
    assert_eq!(items.len(), 2, "{items:#?}");
    for (item, key) in items.iter().zip(&keys) {
        assert_eq!(&item.key, key, "keys echoed byte for byte");
    }
    let fixture = &items[0].value["verifierReports"][0];
    assert_eq!(items[0].value["isSuccess"], true, "{:#}", items[0].value);
    assert_eq!(fixture["extensions"]["Issuer"], FIXTURE_DN);
    assert_eq!(fixture["extensions"]["SN"], FIXTURE_DN);
    let signed = &items[1].value["verifierReports"][0];
    assert_eq!(signed["extensions"]["Issuer"], TRUSTED_ISSUER);
    assert_eq!(signed["extensions"]["SN"], TRUSTED_SIGNER);

    // --- Gatekeeper's TLS rules: no client certificate, or the wrong CA, is a transport
    // failure (500 + system_error in Rego). ---
    let url = gk_box.provider().unwrap().url();
    let mut anonymous =
        HttpsProvider::new(&url, &gk_box.mtls.server_ca_pem, None, PROVIDER_TIMEOUT).unwrap();
    let reply = anonymous.send("imagegate", &keys);
    assert!(
        matches!(&reply, ProviderReply::Failed { message } if message.starts_with("failed to")),
        "without a client certificate: {reply:?}"
    );
    let mut wrong_ca = HttpsProvider::new(
        &url,
        &gk_box.mtls.client_ca_pem,
        Some(&gk_box.mtls.client_identity_pem()),
        PROVIDER_TIMEOUT,
    )
    .unwrap();
    let reply = wrong_ca.send("imagegate", &keys);
    assert!(
        matches!(&reply, ProviderReply::Failed { message } if message.contains("failed to send external data request")),
        "server certificate not from caBundle: {reply:?}"
    );

    // --- Audit: the audit process (own cache) reviews stored objects; constraint status
    // lists exactly the non-compliant ones. ---
    let stored = vec![
        pod("demo", "default", &img.jws),
        pod("cose", "default", &img.cose),
        pod("fixture", "default", &img.fixture),
        pod("nosig", "default", &img.unsigned),
        pod("evil", "default", &img.tampered),
        deployment("web", "default", &all_signed),
        deployment("mixed", "default", &mixed),
        deployment(
            "rogue",
            "default",
            &PodSpec::with_containers(&[&img.untrusted]),
        ),
        pod("system", "kube-system", &img.unsigned),
        pod("prod", "production", &img.jws),
    ];
    let mut auditor = gatekeeper(gk_box.gatekeeper_transport().unwrap(), &clock);
    let statuses = audit(&mut auditor, &stored, "2027-01-15T08:00:00Z").unwrap();
    let verify = status_of(&statuses, "imagegate-verify-images");
    let mut flagged: Vec<(String, String)> = verify
        .violations
        .iter()
        .map(|v| (v.kind.clone(), v.name.clone()))
        .collect();
    flagged.sort();
    let expected = [
        ("Deployment", "mixed"),
        ("Deployment", "rogue"),
        ("Pod", "evil"),
        ("Pod", "nosig"),
    ];
    assert_eq!(
        flagged,
        expected.map(|(k, n)| (k.to_owned(), n.to_owned())).to_vec(),
        "{verify:#?}"
    );
    assert_eq!(verify.total_violations, 4);
    for v in &verify.violations {
        assert_eq!(v.enforcement_action, "deny");
        assert_eq!(v.namespace, "default");
        assert!(v.message.starts_with("image "), "{}", v.message);
    }
    let json = verify.to_json();
    assert_eq!(json["totalViolations"], 4);
    assert_eq!(json["auditTimestamp"], "2027-01-15T08:00:00Z");
    assert!(
        json["violations"][0].get("enforcementAction").is_some(),
        "{json}"
    );
    let issuer = status_of(&statuses, "imagegate-trusted-issuers");
    assert_eq!(issuer.total_violations, 1, "{issuer:#?}");
    assert_eq!(issuer.violations[0].name, "prod");
    // The compliance view: one row per object.
    let rows = compliance(&stored, &statuses);
    let non_compliant: Vec<&str> = rows
        .iter()
        .filter(|r| !r.compliant())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        non_compliant,
        vec!["nosig", "evil", "mixed", "rogue", "prod"]
    );

    // --- imagegate verify explains the fixture's result with its issuer. ---
    let out = gk_box.verify_cli(&img.fixture).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(FIXTURE_DN), "{text}");
    let out = gk_box.verify_cli(&img.unsigned).unwrap();
    assert_eq!(out.status.code(), Some(1));

    // --- Provider down: once the cache entries are stale, the request fails and the
    // template turns the system error into a violation: denied under `deny`. ---
    gk_box.stop_provider();
    assert!(!gk_box.provider().unwrap().is_running());
    clock.advance(DEFAULT_CACHE_TTL + Duration::from_secs(1));
    let r = admit(&mut webhook, &pod("demo", "default", &img.jws));
    assert!(!r.allowed, "{r:#?}");
    let msg = &r.denials().next().unwrap().msg;
    eprintln!("provider down: {}", r.message);
    assert!(msg.contains("provider imagegate failed"), "{msg}");
    assert!(
        msg.contains("failed to send external data request"),
        "{msg}"
    );
    // The audit status under the outage: every matched object is non-compliant.
    let statuses = audit(&mut auditor, &stored[..3], "2027-01-15T08:05:00Z").unwrap();
    assert_eq!(
        status_of(&statuses, "imagegate-verify-images").total_violations,
        3
    );
}

fn status_of<'a>(statuses: &'a [ConstraintStatus], name: &str) -> &'a ConstraintStatus {
    statuses
        .iter()
        .find(|s| s.constraint_name == name)
        .unwrap_or_else(|| panic!("no status for {name}"))
}

#[test]
fn audit_keeps_at_most_the_violations_limit() {
    // The limit applies per constraint; totalViolations still counts every one. A table
    // provider stands in: the point is Gatekeeper's bookkeeping, not verification.
    use imagegate_e2e::external_data::{TableEntry, TableProvider};
    let clock = ManualClock::at(1_800_000_000);
    let mut table = TableProvider::new();
    let objects: Vec<Value> = (0..CONSTRAINT_VIOLATIONS_LIMIT + 5)
        .map(|i| {
            let image = format!("reg.example/app:{i}");
            table.insert(
                &image,
                TableEntry::Value(imagegate_e2e::ratify::unsigned(&image)),
            );
            run_pod(&format!("p{i}"), &image, "default")
        })
        .collect();
    let mut gk = Gatekeeper::new(Arc::new(clock));
    gk.register("imagegate", Box::new(table));
    let mut policies = PolicySet::new(Arc::new(Mutex::new(gk)));
    let t = ConstraintTemplate::load(&paths::templates_dir().join("imagegateverification.yaml"))
        .unwrap();
    policies.add_template(&t).unwrap();
    policies
        .add_constraint(Constraint::new("ImagegateVerification", "all", json!({})))
        .unwrap();
    let statuses = audit(&mut policies, &objects, "t").unwrap();
    assert_eq!(
        statuses[0].total_violations,
        CONSTRAINT_VIOLATIONS_LIMIT + 5
    );
    assert_eq!(statuses[0].violations.len(), CONSTRAINT_VIOLATIONS_LIMIT);
    assert_eq!(statuses[0].violations[0].name, "p0");
}
