//! Helpers shared by the CLI integration tests: the test registry and the built binary.
#![allow(dead_code, unreachable_pub)]

use std::process::{Command, Output};
use std::sync::OnceLock;

use imagegate_testkit::Registry;

pub mod serve;

/// The registry of this test binary (Debian's docker-registry on a free loopback port),
/// started on first use.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::start)
}

/// Runs the built `imagegate` binary with `args`.
pub fn imagegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imagegate"))
        .args(args)
        .output()
        .expect("cannot run the imagegate binary")
}
