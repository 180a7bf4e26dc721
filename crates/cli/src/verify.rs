//! `imagegate verify IMAGE`: run the provider's pipeline for one image and explain the result.

use std::path::PathBuf;

use anyhow::{Context, Result};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_provider::{init_logging, LogFormat};

use crate::exit::Exit;
use crate::report::OutputFormat;

/// Arguments of `imagegate verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The image: registry/repository[:tag][@digest], optionally prefixed with [namespace].
    image: String,
    /// Ratify-format config.json (stores, policy, verifiers).
    #[arg(long, short = 'c', value_name = "FILE", env = "RATIFY_CONFIG")]
    config: PathBuf,
    /// Directory of Ratify CRD YAML files.
    #[arg(long, value_name = "DIR")]
    crd_dir: Option<PathBuf>,
    /// Output format: an explanation, or Ratify's verification result JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

/// Runs the command: exit 0 when the image passes the policy, 1 when it does not, 2 on a
/// configuration error.
pub(crate) fn run(args: &Args) -> Result<Exit> {
    // Warnings go to stderr as notation's CLI prints them: checks the trust policy level only
    // logs (an unreachable CRL under permissive/audit), settings read differently from Ratify.
    init_logging(LogFormat::Text, "warn").context("cannot set up logging")?;
    let options = EngineOptions {
        crd_dir: args.crd_dir.clone(),
        ..EngineOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let engine = Engine::from_config_file(&args.config, options)
            .with_context(|| format!("invalid configuration {}", args.config.display()))?;
        let report = engine.verify_image(&args.image).await;
        match args.output {
            OutputFormat::Text => print!("{}", report.explain()),
            OutputFormat::Json => {
                let value = match &report.outcome {
                    Ok(result) => serde_json::to_value(result)?,
                    Err(err) => serde_json::json!({ "key": args.image, "error": err.to_string() }),
                };
                println!("{}", serde_json::to_string_pretty(&value)?);
            }
        }
        Ok(if report.is_success() {
            Exit::Verified
        } else {
            Exit::Failed
        })
    })
}
