//! `make demo`: the seed's user story on one machine. A registry with a signed and an
//! unsigned image, `imagegate serve` behind mTLS, our ImagegateVerification policy, the two
//! `kubectl run demo --image=…` admissions through Gatekeeper's logic, then the audit's
//! compliance table. Everything started is stopped on exit.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use imagegate_e2e::audit::audit;
use imagegate_e2e::compliance::{compliance, render_table, shorten};
use imagegate_e2e::demo::{self, step, DemoResult};
use imagegate_e2e::kubectl::run_pod;
use imagegate_e2e::{
    paths, Constraint, ConstraintTemplate, Gatekeeper, GatekeeperInABox, ManualClock, PolicySet,
    Review,
};
use imagegate_testkit::Pki;

fn main() -> ExitCode {
    demo::exit(run())
}

fn run() -> DemoResult<()> {
    println!("imagegate demo: Gatekeeper in a box\n");
    let mut gk_box = step("starting the registry", GatekeeperInABox::start())?;
    println!("  registry   {} (docker-registry)", gk_box.registry.url());

    let pki = Pki::generate();
    let keys = gk_box.dir().join("signing");
    step(
        "creating the signing key dir",
        std::fs::create_dir_all(&keys),
    )?;
    let files = pki.write_files(&keys);
    let signed = step(
        "pushing the sample image",
        gk_box.push_image("net-monitor:signed"),
    )?;
    step("signing", gk_box.sign(&signed, &files, "jws"))?;
    println!("  signed     {signed}  (imagegate sign --envelope jws)");
    let unsigned = step(
        "pushing the unsigned image",
        gk_box.push_image("net-monitor:unsigned"),
    )?;
    println!("  unsigned   {unsigned}");

    let provider = step(
        "starting imagegate serve",
        gk_box.start_provider(std::slice::from_ref(&files.root)),
    )?;
    println!(
        "  provider   {}  (TLS 1.3, client certificate required)",
        provider.url()
    );

    let clock = ManualClock::at(0);
    let mut gk = Gatekeeper::new(Arc::new(clock));
    gk.register(
        "imagegate",
        Box::new(step(
            "building Gatekeeper's client",
            gk_box.gatekeeper_transport(),
        )?),
    );
    let mut policies = PolicySet::new(Arc::new(Mutex::new(gk)));
    let template = step(
        "loading the ConstraintTemplate",
        ConstraintTemplate::load(&paths::templates_dir().join("imagegateverification.yaml")),
    )?;
    step("installing the template", policies.add_template(&template))?;
    let constraint = step(
        "loading the constraint",
        Constraint::load(&paths::constraints_dir().join("imagegateverification.yaml")),
    )?;
    println!(
        "  policy     {} {} (enforcementAction: {})\n",
        constraint.kind,
        constraint.name,
        constraint.enforcement_action.as_str()
    );
    step(
        "installing the constraint",
        policies.add_constraint(constraint),
    )?;

    for image in [&signed, &unsigned] {
        println!("$ kubectl run demo --image={image}");
        let response = policies.admit(&Review::admission(run_pod("demo", image, "default")));
        if response.allowed {
            println!("pod/demo created");
            println!("  => ALLOWED: no constraint violated\n");
        } else {
            println!("Error from server (Forbidden): {}", response.message);
            println!("  => DENIED\n");
        }
    }

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
