//! `imagegate verify-envelope`: verify one signature envelope from files, offline.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use imagegate_notation::policy::{PolicyError, TrustPolicyDocument};
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::store::TrustStore;
use imagegate_notation::{verify, Descriptor, Error, Limits, VerifyRequest};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock;
use crate::exit::Exit;
use crate::report::{self, OutputFormat};

/// Largest trust policy file read (the spec's documents are a few KiB).
const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// Arguments of `imagegate verify-envelope`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The signature envelope file (the signature manifest's layer blob).
    #[arg(long, value_name = "FILE")]
    envelope: PathBuf,
    /// Envelope media type.
    #[arg(long, value_name = "TYPE", value_parser = ["application/jose+json", "application/cose"])]
    media_type: String,
    /// Digest of the signed artifact (the subject manifest), e.g. sha256:…
    #[arg(long, value_name = "DIGEST")]
    artifact_digest: String,
    /// Media type of the signed artifact, e.g. application/vnd.oci.image.manifest.v1+json
    #[arg(long, value_name = "TYPE")]
    artifact_media_type: String,
    /// Size in bytes of the signed artifact.
    #[arg(long, value_name = "N")]
    artifact_size: u64,
    /// Artifact reference used to pick the trust policy statement: registry/repository@digest.
    #[arg(long, value_name = "REF")]
    reference: String,
    /// Trust policy document (Notary Project trust policy, version 1.0, JSON).
    #[arg(long, value_name = "FILE")]
    trust_policy: PathBuf,
    /// Trust store root holding x509/{ca,signingAuthority,tsa}/<name>/*.{pem,crt,cer}.
    #[arg(long, value_name = "DIR")]
    trust_store: PathBuf,
    /// Verification time (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

/// Runs the command; `Err` means a usage or configuration problem (exit 2).
pub(crate) fn run(args: &Args) -> Result<Exit> {
    let now = match &args.at {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
            format!("--at {text:?} is not an RFC 3339 time such as 2024-01-01T00:00:00Z")
        })?,
        None => clock::now(),
    };
    if !args.artifact_digest.contains(':') {
        bail!(
            "--artifact-digest {:?} must be <algorithm>:<hex>, e.g. sha256:…",
            args.artifact_digest
        );
    }
    if !args.reference.contains('@') {
        bail!(
            "--reference {:?} must name the artifact by digest: registry/repository@sha256:…",
            args.reference
        );
    }
    let limits = Limits::default();
    let envelope = read_bounded(&args.envelope, limits.max_envelope_bytes as u64, "envelope")?;
    let policy_bytes = read_bounded(&args.trust_policy, MAX_POLICY_BYTES, "trust policy")?;
    let policy = TrustPolicyDocument::from_json(&policy_bytes)
        .with_context(|| format!("trust policy {}", args.trust_policy.display()))?;
    if !args.trust_store.is_dir() {
        bail!(
            "trust store {} is not a directory; expected x509/{{ca,signingAuthority,tsa}}/<name>/ below it",
            args.trust_store.display()
        );
    }
    let trust_store = TrustStore::load_dir(&args.trust_store)
        .with_context(|| format!("trust store {}", args.trust_store.display()))?;
    let artifact = Descriptor::new(
        args.artifact_media_type.clone(),
        args.artifact_digest.clone(),
        args.artifact_size,
    );
    let request = VerifyRequest {
        envelope: &envelope,
        envelope_media_type: &args.media_type,
        artifact: &artifact,
        artifact_reference: &args.reference,
        policy: &policy,
        trust_store: &trust_store,
        now,
        revocation: &OfflineRevocationChecker,
        limits: &limits,
        user_metadata: &[],
    };
    let outcome = match verify(&request) {
        Ok(outcome) => outcome,
        // notation-go reports "no applicable trust policy" as a verification failure (exit 1).
        Err(err @ Error::Policy(PolicyError::NoApplicableTrustPolicy { .. })) => {
            eprintln!("error: {err}");
            if matches!(args.output, OutputFormat::Json) {
                let report = serde_json::json!({"reference": args.reference, "outcome": "failed", "error": err.to_string()});
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            return Ok(Exit::Failed);
        }
        Err(err) => return Err(err).context("cannot verify"),
    };
    let statement = policy
        .statement_for(&args.reference)
        .context("cannot select a trust policy statement")?;
    report::print(
        &outcome,
        &args.reference,
        |kind| statement.action(kind),
        args.output,
    )?;
    Ok(if outcome.is_verified() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

/// Reads a file, refusing one larger than `limit` before reading it.
fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {what} file {}", path.display()))?;
    if meta.len() > limit {
        bail!(
            "{what} file {} is {} bytes, more than the {limit}-byte limit",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {what} file {}", path.display()))
}
