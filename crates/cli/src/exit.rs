//! Process exit codes shared by the verification commands.

/// How a command ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Verified (possibly with warnings).
    Verified = 0,
    /// Verification ran and failed.
    Failed = 1,
    /// Usage or configuration error: nothing was verified.
    Usage = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}
