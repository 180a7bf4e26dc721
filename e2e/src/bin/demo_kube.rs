//! `make demo-kube`: the seed's story configured through the Kubernetes API. A registry with a
//! signed and an unsigned image; the testkit Kubernetes API server; the seed's Ratify objects
//! (Store, Policy, KeyManagementProvider, Verifier — and one unsupported Verifier to show a
//! failure status) created in it with Debian's `kubectl` (through the emulator's discovery;
//! through its HTTP API when kubectl is not installed); `imagegate serve --kubernetes` picking
//! them up (ready only then); the two `kubectl run` admissions through Gatekeeper's logic; and
//! the objects' status printed the way `kubectl get` prints Ratify's printer columns.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use imagegate_e2e::demo::{self, step, DemoResult};
use imagegate_e2e::process::ProviderProcess;
use imagegate_e2e::GatekeeperInABox;
use imagegate_testkit::kube_api::ApiServer;
use imagegate_testkit::ratify;
use serde_json::{json, Value};

fn main() -> ExitCode {
    demo::exit(run())
}

/// The seed's objects (Ratify's samples, with the demo's certificate) plus one verifier of a
/// type imagegate does not support.
fn ratify_objects(root_pem: &str) -> Vec<(&'static str, Value)> {
    let sbom = json!({"name": "sbom", "artifactTypes": "application/spdx+json", "parameters": {}});
    vec![
        (
            "stores",
            ratify::oras_store("store-oras", None, json!({"useHttp": true})),
        ),
        (
            "policies",
            ratify::config_policy(json!({"application/vnd.cncf.notary.signature": "any"})),
        ),
        (
            "keymanagementproviders",
            ratify::inline_kmp("notation-certs", None, root_pem),
        ),
        (
            "verifiers",
            ratify::notation_verifier(
                "verifier-notation",
                None,
                "certs",
                &["notation-certs"],
                ratify::trust_policy("certs"),
            ),
        ),
        (
            "verifiers",
            ratify::object("Verifier", "verifier-sbom", None, sbom),
        ),
    ]
}

fn run() -> DemoResult<()> {
    println!("imagegate demo: configured through the Kubernetes API (Ratify CRDs)\n");
    let rt = step(
        "starting a runtime",
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    )?;
    let http = step(
        "building an HTTP client",
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build(),
    )?;
    let gk_box = step("starting the registry", GatekeeperInABox::start())?;
    println!("  registry   {} (docker-registry)", gk_box.registry.url());
    let demo::Samples {
        pki,
        signed,
        unsigned,
        ..
    } = demo::samples(&gk_box)?;

    let api = ApiServer::start();
    println!(
        "  API server {} (testkit Kubernetes API emulator)\n",
        api.url()
    );
    let kubeconfig = gk_box.dir().join("kubeconfig");
    step(
        "writing the kubeconfig",
        std::fs::write(&kubeconfig, api.kubeconfig()),
    )?;
    let objects = ratify_objects(&pki.root_pem());
    let kubectl = kubectl_available();
    if kubectl {
        // Debian's kubectl, through the emulator's discovery (no OpenAPI: --validate=false).
        let file = gk_box.dir().join("ratify-objects.yaml");
        let yaml: Vec<String> = objects
            .iter()
            .map(|(_, o)| serde_yaml::to_string(o).unwrap_or_default())
            .collect();
        step(
            "writing ratify-objects.yaml",
            std::fs::write(&file, yaml.join("---\n")),
        )?;
        println!("$ kubectl apply --validate=false -f ratify-objects.yaml");
        print!(
            "{}",
            kubectl_out(
                &kubeconfig,
                &[
                    "create",
                    "--validate=false",
                    "-f",
                    &file.display().to_string()
                ]
            )?
        );
    } else {
        println!(
            "$ kubectl create -f ratify-objects.yaml   # kubectl not found: sent to the HTTP API"
        );
        for (plural, obj) in &objects {
            let url = format!(
                "{}/apis/config.ratify.deislabs.io/v1beta1/{plural}",
                api.url()
            );
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let kind = obj["kind"].as_str().unwrap_or_default().to_lowercase();
            let status = step(
                "creating an object",
                rt.block_on(async { http.post(&url).json(obj).send().await.map(|r| r.status()) }),
            )?;
            if !status.is_success() {
                return Err(format!("creating {kind}/{name}: HTTP {status}"));
            }
            println!("{kind}.config.ratify.deislabs.io/{name} created");
        }
    }

    let kubeconfig = gk_box.dir().join("kubeconfig");
    step(
        "writing the kubeconfig",
        std::fs::write(&kubeconfig, api.kubeconfig()),
    )?;
    let config = gk_box.dir().join("config.json");
    // config.json only carries executor settings here; everything else comes from the CRDs.
    step("writing config.json", std::fs::write(&config, "{}"))?;
    let tls = step("writing TLS material", gk_box.mtls.write(gk_box.dir()))?;
    let env: [(&str, &Path); 2] = [("KUBECONFIG", &kubeconfig), ("HOME", gk_box.dir())];
    let provider = step(
        "starting imagegate serve --kubernetes (ready once the objects are loaded)",
        ProviderProcess::start_with(
            &gk_box.imagegate,
            &config,
            &tls,
            gk_box.dir(),
            &["--kubernetes"],
            &env,
        ),
    )?;
    println!(
        "\n  provider   {}  (serve --kubernetes: ready, objects loaded)\n",
        provider.url()
    );

    let transport = step(
        "building Gatekeeper's client",
        gk_box.gatekeeper_transport_to(&provider.url()),
    )?;
    let mut policies = demo::gatekeeper_with_policy(Box::new(transport))?;
    demo::kubectl_run(&mut policies, &[&signed, &unsigned]);

    // Statuses are written right after the configuration is applied; wait for all of them.
    #[allow(clippy::disallowed_methods)] // A demo waiting in real time for another process.
    let deadline = Instant::now() + Duration::from_secs(30);
    #[allow(clippy::disallowed_methods)] // Same.
    while Instant::now() < deadline
        && ["verifiers", "stores", "policies", "keymanagementproviders"]
            .iter()
            .flat_map(|p| api.objects(p))
            .any(|o| o["status"]["issuccess"].is_null())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    for (plural, kmp) in [
        ("verifiers", false),
        ("stores", false),
        ("policies", false),
        ("keymanagementproviders", true),
    ] {
        println!("$ kubectl get {plural}");
        print!("{}", table(&api.objects(plural), kmp));
        println!();
    }
    drop(provider);
    drop(gk_box);
    println!("Stopped the provider, the API server and the registry.");
    Ok(())
}

fn kubectl_available() -> bool {
    std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs kubectl against the emulator; its stdout, or an error with its stderr.
fn kubectl_out(kubeconfig: &Path, args: &[&str]) -> DemoResult<String> {
    let out = step(
        "running kubectl",
        std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .output(),
    )?;
    if !out.status.success() {
        return Err(format!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `kubectl get` output for Ratify's printer columns (when kubectl is not installed).
fn table(objects: &[Value], kmp: bool) -> String {
    let mut rows = vec![{
        let mut h = vec!["NAME", "ISSUCCESS", "ERROR"];
        if kmp {
            h.push("LASTFETCHEDTIME");
        }
        h.into_iter().map(str::to_owned).collect::<Vec<_>>()
    }];
    for o in objects {
        let s = &o["status"];
        let mut row = vec![
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            s["issuccess"]
                .as_bool()
                .map(|b| b.to_string())
                .unwrap_or_default(),
            s["brieferror"].as_str().unwrap_or_default().to_owned(),
        ];
        if kmp {
            row.push(s["lastfetchedtime"].as_str().unwrap_or_default().to_owned());
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("   ").trim_end());
        out.push('\n');
    }
    out
}
