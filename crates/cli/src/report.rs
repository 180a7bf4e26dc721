//! Rendering a verification [`Outcome`] for people (text) and programs (JSON).

use anyhow::Result;
use imagegate_notation::policy::{Action, CheckKind};
use imagegate_notation::Outcome;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// A short human-readable explanation.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The JSON document printed by `--output json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    reference: String,
    /// `verified`, `failed` or `skipped`.
    outcome: &'static str,
    verification_level: &'static str,
    trust_policy_statement: String,
    checks: Vec<CheckReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signer: Option<SignerReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_scheme: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<TimestampReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_agent: Option<String>,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckReport {
    #[serde(rename = "type")]
    kind: &'static str,
    /// `enforced`, `logged` or `skipped`.
    action: &'static str,
    /// `success`, `failure`, `skipped`, or `notEvaluated` when an earlier enforced check failed.
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SignerReport {
    subject: String,
    issuer: String,
    serial_number: String,
    certificate_thumbprints_sha256: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TimestampReport {
    earliest: String,
    latest: String,
}

impl Report {
    /// Builds the report for one outcome.
    ///
    /// `policy_action` gives the trust policy's action for checks the outcome did not reach.
    pub(crate) fn new(
        outcome: &Outcome,
        reference: &str,
        policy_action: impl Fn(CheckKind) -> Action,
    ) -> Self {
        let checks = CheckKind::ALL
            .iter()
            .map(|kind| match outcome.check(*kind) {
                Some(check) => CheckReport {
                    kind: kind.as_str(),
                    action: action_name(check.action),
                    result: match (&check.error, check.action) {
                        (_, Action::Skip) => "skipped",
                        (None, _) => "success",
                        (Some(_), _) => "failure",
                    },
                    error: check.error.as_ref().map(ToString::to_string),
                },
                None => {
                    let action = if outcome.skipped() {
                        Action::Skip
                    } else {
                        policy_action(*kind)
                    };
                    CheckReport {
                        kind: kind.as_str(),
                        action: action_name(action),
                        result: if action == Action::Skip {
                            "skipped"
                        } else {
                            "notEvaluated"
                        },
                        error: None,
                    }
                }
            })
            .collect();
        Report {
            reference: reference.to_owned(),
            outcome: if outcome.skipped() {
                "skipped"
            } else if outcome.is_verified() {
                "verified"
            } else {
                "failed"
            },
            verification_level: outcome.level(),
            trust_policy_statement: outcome.statement().to_owned(),
            checks,
            signer: outcome.signer().map(|s| SignerReport {
                subject: s.subject.clone(),
                issuer: s.issuer.clone(),
                serial_number: s.leaf_serial_hex.clone(),
                certificate_thumbprints_sha256: s.chain_thumbprints_sha256.clone(),
            }),
            signing_scheme: outcome.signing_scheme().map(|s| s.as_str()),
            signing_time: outcome.signing_time().map(rfc3339),
            expiry: outcome.expiry().map(rfc3339),
            timestamp: outcome.timestamp().map(|t| TimestampReport {
                earliest: rfc3339(t.earliest),
                latest: rfc3339(t.latest),
            }),
            signing_agent: outcome.signing_agent().map(str::to_owned),
            warnings: outcome
                .warnings()
                .filter_map(|c| {
                    c.error.as_ref().map(|e| {
                        format!("{} was set to \"log\" and failed with error: {e}", c.kind)
                    })
                })
                .collect(),
            error: outcome.failure().map(ToString::to_string),
        }
    }

    /// Human-readable rendering.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        let verdict = match self.outcome {
            "verified" => "Successfully verified",
            "skipped" => "Skipped verification (trust policy level skip) of",
            _ => "Failed to verify",
        };
        out.push_str(&format!("{verdict} signature for {}\n", self.reference));
        out.push_str(&format!(
            "  trust policy statement: {} (level {})\n",
            self.trust_policy_statement, self.verification_level
        ));
        if let Some(signer) = &self.signer {
            out.push_str(&format!("  signer:  {}\n", signer.subject));
            out.push_str(&format!("  issuer:  {}\n", signer.issuer));
        }
        if let Some(time) = &self.signing_time {
            out.push_str(&format!("  signed at: {time}\n"));
        }
        if let Some(ts) = &self.timestamp {
            out.push_str(&format!(
                "  timestamped between {} and {}\n",
                ts.earliest, ts.latest
            ));
        }
        for check in &self.checks {
            out.push_str(&format!(
                "  {:<19} {:<9} {}\n",
                check.kind, check.action, check.result
            ));
        }
        for warning in &self.warnings {
            out.push_str(&format!("  warning: {warning}\n"));
        }
        if let Some(error) = &self.error {
            out.push_str(&format!("  error: {error}\n"));
        }
        out
    }
}

/// Prints the outcome in the requested format on stdout.
pub(crate) fn print(
    outcome: &Outcome,
    reference: &str,
    policy_action: impl Fn(CheckKind) -> Action,
    format: OutputFormat,
) -> Result<()> {
    let report = Report::new(outcome, reference, policy_action);
    match format {
        OutputFormat::Text => print!("{}", report.to_text()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Enforce => "enforced",
        Action::Log => "logged",
        Action::Skip => "skipped",
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}
