//! Finding the `imagegate` binary: `$IMAGEGATE_BIN` when set, else built with
//! `cargo build -p imagegate-cli` into the same target directory and profile as the running
//! executable (a test binary in `<target>/<profile>/deps`, or a bin in `<target>/<profile>`),
//! so `CARGO_TARGET_DIR` and `--release` are honoured.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::paths::repo_root;

/// Environment variable naming a prebuilt `imagegate` binary.
pub const IMAGEGATE_BIN_ENV: &str = "IMAGEGATE_BIN";

/// Why the binary is not available.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BinaryError {
    /// `$IMAGEGATE_BIN` names a missing file.
    #[error("{IMAGEGATE_BIN_ENV}={0} does not exist; unset it or build imagegate there")]
    Missing(PathBuf),
    /// The running executable's location says nothing about a target directory.
    #[error("cannot tell the cargo target directory from {0}; set {IMAGEGATE_BIN_ENV}")]
    NoTargetDir(PathBuf),
    /// `cargo build` failed.
    #[error("`cargo build -p imagegate-cli` failed: {0}")]
    Build(String),
}

/// The `imagegate` binary, built at most once per process.
pub fn imagegate_binary() -> Result<PathBuf, BinaryError> {
    static BIN: OnceLock<Result<PathBuf, BinaryError>> = OnceLock::new();
    BIN.get_or_init(locate_or_build).clone()
}

fn locate_or_build() -> Result<PathBuf, BinaryError> {
    if let Some(path) = std::env::var_os(IMAGEGATE_BIN_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(BinaryError::Missing(path))
        };
    }
    let exe = std::env::current_exe().map_err(|e| BinaryError::Build(e.to_string()))?;
    let (target_dir, profile_dir) =
        profile_dir(&exe).ok_or_else(|| BinaryError::NoTargetDir(exe.clone()))?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".to_owned(),
        Some(name) => name.to_owned(),
        None => return Err(BinaryError::NoTargetDir(exe)),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "imagegate-cli",
            "--bin",
            "imagegate",
            "--profile",
        ])
        .arg(&profile)
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--manifest-path")
        .arg(repo_root().join("Cargo.toml"))
        .output()
        .map_err(|e| BinaryError::Build(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(BinaryError::Build(
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        ));
    }
    let bin = profile_dir.join(format!("imagegate{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(BinaryError::Build(format!(
            "cargo succeeded but {} is missing",
            bin.display()
        )))
    }
}

/// `(<target>, <target>/<profile>)` for an executable in `<profile>` or `<profile>/deps`
/// (also `<profile>/examples`).
fn profile_dir(exe: &Path) -> Option<(PathBuf, PathBuf)> {
    let mut dir = exe.parent()?;
    if matches!(
        dir.file_name().and_then(|n| n.to_str()),
        Some("deps" | "examples")
    ) {
        dir = dir.parent()?;
    }
    Some((dir.parent()?.to_path_buf(), dir.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_dir_of_test_and_bin_executables() {
        let (t, p) = profile_dir(Path::new("/t/debug/deps/e2e-123")).unwrap();
        assert_eq!(
            (t.as_path(), p.as_path()),
            (Path::new("/t"), Path::new("/t/debug"))
        );
        let (t, p) = profile_dir(Path::new("/x/target/release/demo")).unwrap();
        assert_eq!(
            (t.as_path(), p.as_path()),
            (Path::new("/x/target"), Path::new("/x/target/release"))
        );
    }
}
