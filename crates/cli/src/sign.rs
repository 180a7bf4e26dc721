//! `imagegate sign`: sign an image in its registry with a key and certificate chain, the
//! way `notation sign` does (for development and tests).
//!
//! The image reference is resolved to its manifest descriptor, a Notation payload for it is
//! signed into a JWS or COSE envelope, and the envelope blob plus a signature manifest (new
//! `artifactType` shape, or the legacy `config.mediaType` shape) are pushed with the chain
//! thumbprints and creation time as annotations. On registries without the referrers API
//! the referrers tag index is updated. The signature manifest digest is printed on stdout.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::sign::{SignOptions, Signer};
use imagegate_notation::Descriptor;
use imagegate_oci::{Reference, ReferrerIndexing, RegistryClient, SignatureShape};

use crate::clock;
use crate::exit::Exit;
use crate::registry_args::{read_bounded, runtime, RegistryArgs};

/// Largest private key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;
/// Largest certificate chain file read.
const MAX_CHAIN_FILE: u64 = 1024 * 1024;
/// Longest accepted `--expiry` (ten years).
const MAX_EXPIRY: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Envelope encodings offered on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Envelope {
    /// JWS JSON (`application/jose+json`).
    Jws,
    /// COSE_Sign1 (`application/cose`).
    Cose,
}

impl From<Envelope> for EnvelopeFormat {
    fn from(e: Envelope) -> Self {
        match e {
            Envelope::Jws => EnvelopeFormat::Jws,
            Envelope::Cose => EnvelopeFormat::Cose,
        }
    }
}

/// Arguments of `imagegate sign`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The image to sign: registry/repository[:tag][@digest].
    image: String,
    /// Signing key: unencrypted PKCS#8, SEC 1 (EC) or PKCS#1 (RSA) private key, PEM or DER.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Certificate chain, PEM: the signing certificate first, then intermediates, then the root.
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Envelope format.
    #[arg(long, value_enum, default_value_t = Envelope::Jws)]
    envelope: Envelope,
    /// Push the legacy signature manifest shape (config.mediaType =
    /// application/vnd.cncf.notary.signature, no artifactType) instead of the OCI 1.1 one.
    #[arg(long)]
    legacy_manifest: bool,
    /// Signature expiry after the signing time, e.g. 24h, 30m, 7d, 1h30m (units s, m, h, d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    expiry: Option<Duration>,
    /// How to reach the registry (push credentials in `--registry-config`).
    #[command(flatten)]
    registry: RegistryArgs,
    /// Signing agent recorded (unsigned) in the envelope.
    #[arg(long, value_name = "TEXT", default_value = concat!("imagegate/", env!("CARGO_PKG_VERSION")))]
    signing_agent: String,
}

/// Runs the command. Bad arguments or files are `Err` (exit 2); a signature that could not
/// be produced or stored is reported and gives exit 1.
pub(crate) fn run(args: &Args) -> Result<Exit> {
    let signer = load_signer(&args.key, &args.cert)?;
    let reference = Reference::parse(&args.image)?;
    let client = args.registry.client()?;
    let runtime = runtime()?;
    match runtime.block_on(sign(&client, &signer, &reference, args)) {
        Ok(done) => {
            eprintln!("{done}");
            println!("{}", done.signature);
            Ok(Exit::Verified)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            Ok(Exit::Failed)
        }
    }
}

/// What was pushed, for the report on stderr.
struct Signed {
    subject: Reference,
    signature: String,
    format: EnvelopeFormat,
    indexing: ReferrerIndexing,
}

impl fmt::Display for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            EnvelopeFormat::Jws => "JWS",
            EnvelopeFormat::Cose => "COSE",
        };
        write!(
            f,
            "signed {} with a {format} signature {}",
            self.subject, self.signature
        )?;
        match &self.indexing {
            ReferrerIndexing::RegistryApi => write!(f, " (listed by the referrers API)"),
            ReferrerIndexing::TagSchema { tag, .. } => write!(f, " (referrers tag {tag} updated)"),
        }
    }
}

async fn sign(
    client: &RegistryClient,
    signer: &Signer,
    reference: &Reference,
    args: &Args,
) -> Result<Signed> {
    let resolved = client.resolve(reference).await?;
    let subject = reference.with_digest(&resolved.digest);
    let target = Descriptor::new(
        resolved.media_type.clone(),
        resolved.digest.clone(),
        resolved.size,
    );
    let now = clock::now();
    let expiry = match args.expiry {
        Some(d) => Some(now + time::Duration::try_from(d).context("--expiry is too long")?),
        None => None,
    };
    let opts = SignOptions {
        expiry,
        signing_agent: Some(args.signing_agent.clone()),
        ..SignOptions::x509(now)
    };
    let format = EnvelopeFormat::from(args.envelope);
    let envelope = signer
        .sign_artifact(format, &target, &opts)
        .with_context(|| format!("cannot sign {subject}"))?;
    let annotations = signer.manifest_annotations(now)?;
    let shape = if args.legacy_manifest {
        SignatureShape::LegacyConfig
    } else {
        SignatureShape::ArtifactType
    };
    let pushed = client
        .push_signature(
            &subject,
            &resolved.descriptor(),
            format.media_type(),
            Bytes::from(envelope),
            annotations,
            shape,
        )
        .await?;
    Ok(Signed {
        subject,
        signature: pushed.manifest.digest,
        format,
        indexing: pushed.indexing,
    })
}

fn load_signer(key: &Path, cert: &Path) -> Result<Signer> {
    let key_bytes = read_bounded(key, MAX_KEY_FILE, "private key")?;
    let chain = read_bounded(cert, MAX_CHAIN_FILE, "certificate chain")?;
    Signer::from_pem(&key_bytes, &chain).with_context(|| {
        format!(
            "cannot sign with --key {} and --cert {}",
            key.display(),
            cert.display()
        )
    })
}

/// Parses `24h`, `30m`, `90s`, `7d` and sums like `1h30m`; at most ten years.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 24h, 30m, 7d or 1h30m");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    let d = Duration::from_secs(total);
    if d > MAX_EXPIRY {
        return Err(format!("{text:?} is longer than ten years"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        for bad in [
            "",
            "0h",
            "h",
            "24",
            "1.5h",
            "-1h",
            "1w",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("4000d").unwrap_err().contains("ten years"));
    }
}
