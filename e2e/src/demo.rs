//! What the demo binaries share: a failure that says which step failed, and the exit status.

use std::process::ExitCode;

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
