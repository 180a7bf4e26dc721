//! `imagegate resolve`: a tag (or digest) reference to its manifest digest, as the provider's
//! `/mutate` endpoint and the verifier see it.

use anyhow::Result;
use imagegate_oci::Reference;

use crate::exit::Exit;
use crate::registry_args::{runtime, RegistryArgs};

/// Output formats of `resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ResolveOutput {
    /// The digest only (`sha256:…`).
    Digest,
    /// The pinned reference `registry/repository@sha256:…` (what `/mutate` answers).
    Reference,
    /// The manifest descriptor as JSON (mediaType, digest, size).
    Json,
}

/// Arguments of `imagegate resolve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Image reference, e.g. registry.example/app:1.0.
    #[arg(value_name = "IMAGE")]
    image: String,
    /// What to print.
    #[arg(long, short = 'o', value_enum, default_value_t = ResolveOutput::Digest)]
    output: ResolveOutput,
    /// How to reach the registry.
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Runs the command: exit 0 with the answer on stdout, 1 if the registry could not resolve
/// the reference (the reason on stderr), 2 for bad arguments.
pub(crate) fn run(args: &Args) -> Result<Exit> {
    let reference = Reference::parse(&args.image)?;
    let client = args.registry.client()?;
    match runtime()?.block_on(client.resolve(&reference)) {
        Ok(resolved) => {
            match args.output {
                ResolveOutput::Digest => println!("{}", resolved.digest),
                ResolveOutput::Reference => println!(
                    "{}/{}@{}",
                    reference.registry, reference.repository, resolved.digest
                ),
                ResolveOutput::Json => {
                    println!("{}", serde_json::to_string_pretty(&resolved.descriptor())?)
                }
            }
            Ok(Exit::Verified)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(Exit::Failed)
        }
    }
}
