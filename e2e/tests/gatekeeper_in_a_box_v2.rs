//! Gatekeeper in a box, Ratify v1 and v2 side by side: one real `imagegate serve` behind
//! mTLS; Gatekeeper has both Providers (`imagegate` → `/v1/verify`, `imagegate-v2` →
//! `/v2/verify`, same listener, same client certificate) and both template generations
//! installed (policies/templates and policies/v2/templates). Every Pod gets the same decision
//! from the v1 and the v2 constraints, and the v2 denials say why in v2's words.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use imagegate_e2e::images::fixture_cert;
use imagegate_e2e::kubectl::run_pod;
use imagegate_e2e::{
    paths, AdmissionResponse, Constraint, ConstraintTemplate, Gatekeeper, GatekeeperInABox,
    ManualClock, PolicySet, Review, SharedGatekeeper,
};
use serde_json::Value;

fn v2_dir() -> std::path::PathBuf {
    paths::repo_root().join("policies").join("v2")
}

/// One template generation's constraints (plain and multi-tenant) over its Provider.
fn policies(gk_box: &GatekeeperInABox, v2: bool, clock: &ManualClock) -> PolicySet {
    let mut gk = Gatekeeper::new(Arc::new(clock.clone()));
    let (name, path, templates, constraints, files) = if v2 {
        (
            "imagegate-v2",
            "/ratify/gatekeeper/v2/verify",
            v2_dir().join("templates"),
            v2_dir().join("constraints"),
            [
                "imagegateverificationv2.yaml",
                "imagegatemultitenancyverificationv2.yaml",
            ],
        )
    } else {
        (
            "imagegate",
            "/ratify/gatekeeper/v1/verify",
            paths::templates_dir(),
            paths::constraints_dir(),
            [
                "imagegateverification.yaml",
                "imagegatemultitenancyverification.yaml",
            ],
        )
    };
    gk.register(
        name,
        Box::new(gk_box.gatekeeper_transport_at(path).unwrap()),
    );
    let shared: SharedGatekeeper = Arc::new(Mutex::new(gk));
    let mut set = PolicySet::new(shared);
    for (_, t) in ConstraintTemplate::load_dir(&templates).unwrap() {
        set.add_template(&t).unwrap();
    }
    for file in files {
        set.add_constraint(Constraint::load(&constraints.join(file)).unwrap())
            .unwrap();
    }
    set
}

fn admit(set: &mut PolicySet, pod: &Value) -> AdmissionResponse {
    set.admit(&Review::admission(pod.clone()))
}

fn messages(r: &AdmissionResponse) -> Vec<String> {
    r.denials().map(|d| d.msg.clone()).collect()
}

#[test]
fn v1_and_v2_templates_decide_the_same_against_one_imagegate() {
    let mut gk_box = GatekeeperInABox::start().unwrap_or_else(|e| panic!("{e}"));
    let (trusted_files, rogue_files) = gk_box.signers("").unwrap();
    let signed = gk_box.push_image("v2/signed:jws").unwrap();
    gk_box.sign(&signed, &trusted_files, "jws").unwrap();
    let cose = gk_box.push_image("v2/signed:cose").unwrap();
    gk_box.sign(&cose, &trusted_files, "cose").unwrap();
    let unsigned = gk_box.push_image("v2/unsigned:v1").unwrap();
    let untrusted = gk_box.push_image("v2/untrusted:v1").unwrap();
    gk_box.sign(&untrusted, &rogue_files, "jws").unwrap();
    let fixture = gk_box.push_fixture("v2/notation-e2e").unwrap();
    gk_box
        .start_provider(&[trusted_files.root.clone(), fixture_cert()])
        .unwrap_or_else(|e| panic!("{e}"));

    let clock = ManualClock::at(1_800_000_000);
    let mut v1 = policies(&gk_box, false, &clock);
    let mut v2 = policies(&gk_box, true, &clock);

    let cases = [
        (&signed, "default", true, ""),
        (&cose, "team-a", true, ""),
        (&fixture, "default", true, ""),
        (
            &unsigned,
            "default",
            false,
            "failed verification: no signature was found (no artifact reports)",
        ),
        (
            &untrusted,
            "team-a",
            false,
            "failed verification (verifier-notation): ",
        ),
    ];
    for (image, ns, allowed, v2_reason) in cases {
        let pod = run_pod("p", image, ns);
        let a = admit(&mut v1, &pod);
        let b = admit(&mut v2, &pod);
        assert_eq!(a.allowed, allowed, "v1 {image} in {ns}: {a:#?}");
        assert_eq!(b.allowed, allowed, "v2 {image} in {ns}: {b:#?}");
        if !allowed {
            // Both v2 constraints (plain and multi-tenant keys) deny, each naming the image
            // and v2's reason.
            let msgs = messages(&b);
            assert_eq!(msgs.len(), 2, "{msgs:?}");
            for m in &msgs {
                assert!(m.contains(image.as_str()) && m.contains(v2_reason), "{m}");
            }
        }
    }
    // The v2 multi-tenant constraint sent `[ns]image` keys, the plain one bare images.
    let keys: Vec<String> = {
        let gk = v2.gatekeeper().lock().unwrap();
        gk.calls().iter().flat_map(|c| c.keys.clone()).collect()
    };
    assert!(keys.contains(&format!("[team-a]{untrusted}")), "{keys:?}");
    assert!(keys.contains(&unsigned), "{keys:?}");
}
