//! `make demo`: the seed's user story on one machine. A registry with a signed and an
//! unsigned image, `imagegate serve` behind mTLS, our ImagegateVerification policy, the two
//! `kubectl run demo --image=…` admissions through Gatekeeper's logic, then the audit's
//! compliance table. Everything started is stopped on exit.

use std::process::ExitCode;

use imagegate_e2e::audit::audit;
use imagegate_e2e::compliance::{compliance, render_table, shorten};
use imagegate_e2e::demo::{self, step, DemoResult};
use imagegate_e2e::kubectl::run_pod;
use imagegate_e2e::GatekeeperInABox;

fn main() -> ExitCode {
    demo::exit(run())
}

fn run() -> DemoResult<()> {
    println!("imagegate demo: Gatekeeper in a box\n");
    let mut gk_box = step("starting the registry", GatekeeperInABox::start())?;
    println!("  registry   {} (docker-registry)", gk_box.registry.url());

    let demo::Samples {
        files,
        signed,
        unsigned,
        ..
    } = demo::samples(&gk_box)?;

    let provider = step(
        "starting imagegate serve",
        gk_box.start_provider(std::slice::from_ref(&files.root)),
    )?;
    println!(
        "  provider   {}  (TLS 1.3, client certificate required)",
        provider.url()
    );

    let transport = step(
        "building Gatekeeper's client",
        gk_box.gatekeeper_transport(),
    )?;
    let mut policies = demo::gatekeeper_with_policy(Box::new(transport))?;
    demo::kubectl_run(&mut policies, &[&signed, &unsigned]);

    // Audit: what runs in the cluster, including a pod created before the policy existed.
    let stored = vec![
        run_pod("demo", &signed, "default"),
        run_pod("legacy", &unsigned, "default"),
    ];
    let statuses = step(
        "auditing",
        audit(&mut policies, &stored, "1970-01-01T00:00:00Z"),
    )?;
    println!("Compliance (Gatekeeper audit of the running pods; `legacy` predates the policy):");
    let rows = compliance(&stored, &statuses);
    let rows: Vec<_> = rows
        .into_iter()
        .map(|mut r| {
            r.violations = r.violations.iter().map(|v| shorten(v, 70)).collect();
            r
        })
        .collect();
    print!("{}", render_table(&rows, 70));

    gk_box.stop_provider();
    drop(gk_box);
    println!("\nStopped the provider and the registry.");
    Ok(())
}
