//! What the demo binaries share: a failure that says which step failed, the exit status,
//! Gatekeeper with our policy installed, and the `kubectl run` admissions.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::external_data::ProviderTransport;
use crate::kubectl::run_pod;
use imagegate_testkit::{Pki, PkiFiles};

use crate::{
    paths, Constraint, ConstraintTemplate, Gatekeeper, GatekeeperInABox, ManualClock, PolicySet,
    Review,
};

/// Any failure of a demo, with what was being done.
pub type DemoResult<T> = Result<T, String>;

/// `r`, its error prefixed with `what` was being done.
pub fn step<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> DemoResult<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// The process exit status for a demo's outcome (the failure printed to stderr).
pub fn exit(outcome: DemoResult<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Gatekeeper calling the provider `imagegate` through `transport`, with our
/// ImagegateVerification template and constraint installed (the constraint is printed).
pub fn gatekeeper_with_policy(transport: Box<dyn ProviderTransport>) -> DemoResult<PolicySet> {
    let mut gk = Gatekeeper::new(Arc::new(ManualClock::at(0)));
    gk.register("imagegate", transport);
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
    Ok(policies)
}

/// `kubectl run demo --image=…` for each of `images` through `policies`, printed as kubectl
/// answers, with the verdict.
pub fn kubectl_run(policies: &mut PolicySet, images: &[&str]) {
    for image in images {
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
}

/// The sample images of both demos in the box's registry, printed as they are made: a signing
/// key, `net-monitor:signed` signed with it (JWS) and `net-monitor:unsigned`.
pub struct Samples {
    /// The signer's certificates and key.
    pub pki: Pki,
    /// The signer's key files (its root is what the provider trusts).
    pub files: PkiFiles,
    /// The signed image.
    pub signed: String,
    /// The unsigned image.
    pub unsigned: String,
}

/// Makes the [`Samples`] in `gk_box`.
pub fn samples(gk_box: &GatekeeperInABox) -> DemoResult<Samples> {
    let keys = gk_box.dir().join("signing");
    step(
        "creating the signing key dir",
        std::fs::create_dir_all(&keys),
    )?;
    let pki = Pki::generate();
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
    Ok(Samples {
        pki,
        files,
        signed,
        unsigned,
    })
}
