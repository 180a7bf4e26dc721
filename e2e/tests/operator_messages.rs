//! What an operator reads for a denied image, in the views they use: Azure's Image Integrity
//! template (re-created from its matching rules in `fixtures/azurenotationrules.yaml`) and our
//! own template, each violation cut at 256 characters as Gatekeeper's audit stores it.
//!
//! Two real `imagegate serve` processes (mTLS) in front of the real registry, one with the
//! default cause-first messages and one with `imagegate.messages: "ratify"`: for an unsigned
//! image, an untrusted signer, a digest that is not in the registry and an unreachable
//! registry, the cause appears within the cut under cause-first, and every image is allowed
//! or denied exactly as under Ratify's wording.
//!
//! Through `serve` too, counted by the provider's `ratify_registry_request_count_total`: a
//! digest that is not in the registry is "image not found" for one request more than nothing
//! (referrers tag 404, manifest 404), an unsigned one stays "unsigned" (404, 200), and a cold
//! signed digest key still costs three.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use imagegate_e2e::engine_config::engine_config;
use imagegate_e2e::external_data::ProviderReply;
use imagegate_e2e::https::HttpsProvider;
use imagegate_e2e::inabox::PROVIDER_TIMEOUT;
use imagegate_e2e::process::ProviderProcess;
use imagegate_e2e::review::PodSpec;
use imagegate_e2e::{
    paths, CompiledTemplate, ConstraintTemplate, Gatekeeper, GatekeeperInABox, ManualClock,
    ProviderTransport, Review, SharedGatekeeper, Workload,
};
use imagegate_testkit::Pki;
use serde_json::{json, Value};

/// Gatekeeper's audit keeps this many characters of a violation message.
const AUDIT_CUT: usize = 256;
/// A digest no image has.
const NO_SUCH_DIGEST: &str =
    "sha256:00000000000000000000000000000000000000000000000000000000000000aa";

/// Digest references, as the mutation webhook leaves them and Azure's template sends them.
struct Images {
    signed: String,
    unsigned: String,
    untrusted: String,
    missing: String,
    unreachable: String,
}

impl Images {
    fn all(&self) -> Vec<String> {
        vec![
            self.signed.clone(),
            self.unsigned.clone(),
            self.untrusted.clone(),
            self.missing.clone(),
            self.unreachable.clone(),
        ]
    }
}

/// Pushes and signs the images; `down` is a `host:port` nothing answers on.
fn populate(gk_box: &GatekeeperInABox, down: &str) -> (Images, PathBuf) {
    let (trusted_files, rogue_files) = gk_box.signers("").unwrap();
    let pinned = |image: &str| gk_box.pinned(image).unwrap();
    let signed = gk_box.push_image("msg/signed:v1").unwrap();
    gk_box.sign(&signed, &trusted_files, "jws").unwrap();
    let unsigned = gk_box.push_image("msg/unsigned:v1").unwrap();
    let untrusted = gk_box.push_image("msg/untrusted:v1").unwrap();
    gk_box.sign(&untrusted, &rogue_files, "jws").unwrap();
    (
        Images {
            signed: pinned(&signed),
            unsigned: pinned(&unsigned),
            untrusted: pinned(&untrusted),
            missing: gk_box.image(&format!("msg/unsigned@{NO_SUCH_DIGEST}")),
            unreachable: format!("{down}/msg/app@{NO_SUCH_DIGEST}"),
        },
        trusted_files.root,
    )
}

/// One `imagegate serve` with the box's config, its verifier named `notation` (what Azure's
/// template looks for), one registry attempt per request, and `messages` as given.
struct Provider {
    process: ProviderProcess,
    gk_box_ca: String,
    client_identity: String,
}

impl Provider {
    fn start(gk_box: &GatekeeperInABox, root: &Path, messages: &str) -> Self {
        let dir = gk_box.dir().join(format!("provider-{messages}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = engine_config(&[root.to_path_buf()]);
        config["verifier"]["plugins"][0]["name"] = json!("notation");
        config["imagegate"] = json!({"messages": messages, "registry": {"maxAttempts": 1}});
        let path = dir.join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let tls = gk_box.mtls.write(&dir).unwrap();
        let process = ProviderProcess::start(&gk_box.imagegate, &path, &tls, &dir)
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            process,
            gk_box_ca: gk_box.mtls.server_ca_pem.clone(),
            client_identity: gk_box.mtls.client_identity_pem(),
        }
    }

    fn transport(&self) -> HttpsProvider {
        HttpsProvider::new(
            &self.process.url(),
            &self.gk_box_ca,
            Some(&self.client_identity),
            PROVIDER_TIMEOUT,
        )
        .unwrap()
    }

    /// `isSuccess` of each key, in order, from one request.
    fn verdicts(&self, keys: &[String]) -> Vec<bool> {
        self.values(keys)
            .into_iter()
            .map(|v| v["isSuccess"].as_bool().unwrap())
            .collect()
    }

    /// The result value of each key, in order, from one request.
    fn values(&self, keys: &[String]) -> Vec<Value> {
        let mut transport = self.transport();
        let ProviderReply::Answered { status, response } = transport.send("imagegate", keys) else {
            panic!("the provider did not answer: {}", self.process.log());
        };
        assert_eq!(status, 200);
        let items = response.response.items;
        assert_eq!(items.len(), keys.len());
        items
            .into_iter()
            .map(|i| {
                assert!(i.error.is_empty(), "{}", i.error);
                i.value
            })
            .collect()
    }

    /// `ratify_registry_request_count_total` for `host`, by status code, from `/metrics`.
    fn registry_requests(
        &self,
        runtime: &tokio::runtime::Runtime,
        host: &str,
    ) -> BTreeMap<String, u64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.process.metrics_port);
        let text = runtime.block_on(async {
            let response = reqwest::get(url).await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.text().await.unwrap()
        });
        let mut out = BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("ratify_registry_request_count_total{") else {
                continue;
            };
            if !rest.contains(&format!("registry_host=\"{host}\"")) {
                continue;
            }
            let status = rest
                .split("status_code=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap()
                .to_owned();
            let value: u64 = rest.rsplit(' ').next().unwrap().parse().unwrap();
            *out.entry(status).or_insert(0) += value;
        }
        out
    }

    /// The violations of one Pod running `image`, under Azure's rules and under ours, each
    /// cut as the audit stores it.
    fn violations(&self, image: &str) -> (Vec<String>, Vec<String>) {
        let clock = ManualClock::at(1_800_000_000);
        let mut gk = Gatekeeper::new(Arc::new(clock));
        gk.register("ratify-provider", Box::new(self.transport()));
        gk.register("imagegate", Box::new(self.transport()));
        let shared: SharedGatekeeper = Arc::new(Mutex::new(gk));
        let azure = ConstraintTemplate::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/azurenotationrules.yaml"),
        )
        .unwrap();
        let ours =
            ConstraintTemplate::load(&paths::templates_dir().join("imagegateverification.yaml"))
                .unwrap();
        let object = Workload::Pod.object("p", "default", &PodSpec::with_containers(&[image]));
        let review = Review::audit(object);
        let eval = |t: &ConstraintTemplate| {
            CompiledTemplate::new(t, shared.clone())
                .unwrap()
                .violations(&review, &json!({}))
                .unwrap()
                .into_iter()
                .map(|v| audit_cut(&v.msg))
                .collect::<Vec<_>>()
        };
        (eval(&azure), eval(&ours))
    }
}

fn audit_cut(msg: &str) -> String {
    msg.chars().take(AUDIT_CUT).collect()
}

/// A port on 127.0.0.1 held by a socket that is bound but not listening: connections are
/// refused, and no other process can listen there while it is held.
fn refused_port(runtime: &tokio::runtime::Runtime) -> (tokio::net::TcpSocket, String) {
    let _entered = runtime.enter();
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = held.local_addr().unwrap().to_string();
    (held, addr)
}

#[test]
fn the_cause_survives_the_audit_cut_and_decisions_match_ratify_wording() {
    let gk_box = GatekeeperInABox::start().unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_held, down) = refused_port(&runtime);
    let (img, root) = populate(&gk_box, &down);
    let cause_first = Provider::start(&gk_box, &root, "cause-first");
    let ratify = Provider::start(&gk_box, &root, "ratify");

    // The provider's own decisions are the same under both wordings.
    let keys = img.all();
    let decided = cause_first.verdicts(&keys);
    assert_eq!(decided, vec![true, false, false, false, false]);
    assert_eq!(ratify.verdicts(&keys), decided);

    // A signed image: no violation in either view, under either wording.
    for p in [&cause_first, &ratify] {
        let (azure, ours) = p.violations(&img.signed);
        assert!(azure.is_empty() && ours.is_empty(), "{azure:#?} {ours:#?}");
    }

    // (image, what Azure's view must show within the cut under cause-first).
    let expected = [
        (
            &img.unsigned,
            vec![
                // Azure's template rewords a message containing "no referrers found".
                "signature artifact not found; Subject: ".to_owned(),
                "Error: unsigned: no referrers found".to_owned(),
            ],
        ),
        (
            &img.untrusted,
            vec![
                "failed notation verification".to_owned(),
                // The signer's DN starts within the cut (the rest of it may not fit).
                "Error: untrusted signer: CN=rogue signer".to_owned(),
            ],
        ),
        (&img.missing, vec!["Error: image not found: ".to_owned()]),
        (
            &img.unreachable,
            // The step and what happened, without repeating the reference.
            vec![
                "Error: registry unreachable: listing referrers: the registry could not be reached"
                    .to_owned(),
            ],
        ),
    ];
    for (image, wants) in &expected {
        let (azure, ours) = cause_first.violations(image);
        let (azure_r, ours_r) = ratify.violations(image);
        // What the operator reads (shown with --nocapture).
        eprintln!(
            "cause-first, Azure: {}\ncause-first, ours:  {}",
            azure[0], ours[0]
        );
        eprintln!(
            "ratify,      Azure: {}\n",
            azure_r.first().map_or("", String::as_str)
        );
        // Allowed or denied exactly as under Ratify's wording, in both views.
        assert_eq!(azure.len(), 1, "{image}: {azure:#?}");
        assert_eq!(azure_r.len(), 1, "{image}: {azure_r:#?}");
        assert_eq!(ours.len(), 1, "{image}: {ours:#?}");
        assert_eq!(ours_r.len(), 1, "{image}: {ours_r:#?}");
        for want in wants {
            assert!(azure[0].contains(want.as_str()), "{want} in {}", azure[0]);
        }
        // Our template puts the report's message right after the image.
        let cause = wants.last().unwrap().trim_start_matches("Error: ");
        let cause = cause.split(':').next().unwrap();
        assert!(ours[0].contains(cause), "{cause} in {}", ours[0]);
    }

    // Under Ratify's wording the cause never reaches Azure's view: the unsigned image reads
    // as a download failure and the untrusted signer as a descriptor dump.
    let (azure_r, _) = ratify.violations(&img.unsigned);
    assert!(
        azure_r[0].starts_with("oras fails to download signature artifact from registry"),
        "{}",
        azure_r[0]
    );
    assert!(
        azure_r[0].contains("Error: failed to verify artifact: "),
        "{}",
        azure_r[0]
    );
    let (azure_r, _) = ratify.violations(&img.untrusted);
    assert!(
        azure_r[0].contains("Error: Failed to validate the Notation signature: {MediaType:"),
        "{}",
        azure_r[0]
    );
    assert!(!azure_r[0].contains("rogue"), "{}", azure_r[0]);
    let (azure_r, _) = ratify.violations(&img.missing);
    assert!(!azure_r[0].contains("not found"), "{}", azure_r[0]);
}

/// The requests counted by `before` → `after` (per status code; zero counts dropped).
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn statuses(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[test]
fn through_serve_a_missing_digest_is_not_found_for_one_request_more() {
    let gk_box = GatekeeperInABox::start().unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let trusted = Pki::generate();
    let dir = gk_box.dir().join("trusted");
    std::fs::create_dir_all(&dir).unwrap();
    let files = trusted.write_files(&dir);
    let pinned = |image: &str| {
        let digest = gk_box.digest_of(image).unwrap();
        format!("{}@{digest}", image.rsplit_once(':').unwrap().0)
    };
    let mut signed = Vec::new();
    for tag in ["v1", "v2"] {
        let image = gk_box.push_image(&format!("count/signed:{tag}")).unwrap();
        gk_box.sign(&image, &files, "jws").unwrap();
        signed.push(pinned(&image));
    }
    let unsigned: Vec<String> = ["v1", "v2"]
        .iter()
        .map(|tag| pinned(&gk_box.push_image(&format!("count/unsigned:{tag}")).unwrap()))
        .collect();
    let missing = gk_box.image(&format!("count/unsigned@{NO_SUCH_DIGEST}"));
    let provider = Provider::start(&gk_box, &files.root, "cause-first");
    let host = gk_box.registry.host();
    let counted = |key: &String| {
        let before = provider.registry_requests(&runtime, &host);
        let value = provider.values(std::slice::from_ref(key)).remove(0);
        let after = provider.registry_requests(&runtime, &host);
        (value, delta(&before, &after))
    };

    // The first key of each repository learns that the registry has no referrers API.
    assert_eq!(counted(&signed[0]).0["isSuccess"], true);
    assert_eq!(counted(&unsigned[0]).0["isSuccess"], false);

    // A cold signed digest key: referrers (tag schema), signature manifest, envelope.
    let (value, requests) = counted(&signed[1]);
    assert_eq!(value["isSuccess"], true);
    assert_eq!(requests, statuses(&[("200", 3)]));

    // Unsigned: no referrers tag (404), then the manifest exists (200).
    let (value, requests) = counted(&unsigned[1]);
    assert_eq!(value["isSuccess"], false);
    let message = value["verifierReports"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("unsigned: no referrers found"),
        "{message}"
    );
    assert_eq!(requests, statuses(&[("404", 1), ("200", 1)]));

    // Missing: no referrers tag, and no manifest either.
    let (value, requests) = counted(&missing);
    assert_eq!(value["isSuccess"], false);
    let report = &value["verifierReports"][0];
    assert_eq!(
        report["message"],
        format!("image not found: {missing} does not exist in the registry")
    );
    let reason = report["errorReason"].as_str().unwrap();
    assert!(
        reason.starts_with("GET_SUBJECT_DESCRIPTOR_FAILURE: "),
        "{reason}"
    );
    assert_eq!(requests, statuses(&[("404", 2)]));
}
