//! `imagegate convert`: a Ratify v1 `config.json` → the equivalent Ratify v2 `Executor` YAML
//! (conversion in `imagegate_engine::v2::convert`; this is the command around it).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use imagegate_engine::v2::convert::{convert, ConvertOptions};

use crate::exit::Exit;

/// Arguments of `imagegate convert`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The Ratify v1 config.json to convert.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// An Executor scope (`registry`, `registry/repository` or `*.zone`); repeatable.
    /// Default: the trust policy's registry scopes.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// The Executor's metadata.name.
    #[arg(long, default_value = "imagegate")]
    name: String,
    /// Write the YAML here instead of stdout (e.g. into the --crd-dir of `imagegate serve`).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs the command: the YAML on stdout (or `--output`), each note on stderr; exit 0, or 2
/// when the configuration cannot be expressed as an Executor.
pub(crate) fn run(args: &Args) -> Result<Exit> {
    let bytes = std::fs::read(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let base = match args.config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    let options = ConvertOptions {
        name: Some(args.name.clone()),
        scopes: args.scopes.clone(),
    };
    let out = convert(&bytes, &base, &options)
        .with_context(|| format!("{} does not convert", args.config.display()))?;
    for note in &out.notes {
        eprintln!("note: {note}");
    }
    match &args.output {
        Some(path) => std::fs::write(path, &out.yaml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{}", out.yaml),
    }
    Ok(Exit::Verified)
}
