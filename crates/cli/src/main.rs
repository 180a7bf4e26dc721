//! The `imagegate` binary: verify Notary Project signatures, and (later) serve Gatekeeper.
//!
//! Exit codes are shared by every verification command: 0 verified (possibly with
//! warnings under permissive/audit), 1 verification failed, 2 usage or configuration error.

mod azure;
mod clock;
mod convert;
mod discover;
mod exit;
mod registry_args;
mod report;
mod resolve;
mod serve;
mod sign;
mod verify;
mod verify_envelope;

use clap::{Parser, Subcommand};
use exit::Exit;

/// Admit only container images signed by someone you trust.
#[derive(Debug, Parser)]
#[command(name = "imagegate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one signature envelope against an artifact descriptor, a trust policy and a trust store.
    VerifyEnvelope(verify_envelope::Args),
    /// Verify one image in its registry with the provider's pipeline and explain the result.
    Verify(verify::Args),
    /// Serve Gatekeeper's external-data protocol (Ratify v1 compatible) over HTTPS.
    Serve(serve::Args),
    /// Sign an image in its registry with a key and certificate chain (Notation JWS or COSE).
    Sign(sign::Args),
    /// Resolve an image reference to its manifest digest (what /mutate pins a tag to).
    Resolve(resolve::Args),
    /// List an image's referrers (signatures, SBOMs, …) and theirs, as a tree or JSON.
    Discover(discover::Args),
    /// Convert a Ratify v1 config.json into the equivalent Ratify v2 Executor YAML.
    Convert(convert::Args),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr.
            let _ = err.print();
            return if err.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Verified.into()
            };
        }
    };
    let outcome = match cli.command {
        Command::VerifyEnvelope(args) => verify_envelope::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Serve(args) => serve::run_command(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Resolve(args) => resolve::run(&args),
        Command::Discover(args) => discover::run(&args),
        Command::Convert(args) => convert::run(&args),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            Exit::Usage.into()
        }
    }
}
