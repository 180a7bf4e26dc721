//! Dependency policy, the offline equivalent of `cargo deny check licenses bans sources`
//! (cargo-deny's advisory database needs the network, which CI does not have).
//!
//! * every package in `Cargo.lock` has a license expression satisfiable by [`ALLOWED`];
//! * no package comes from anywhere but crates.io or this workspace;
//! * none of [`BANNED`] is compiled for any target with any feature: imagegate has ONE crypto
//!   provider, aws-lc-rs, and no OpenSSL.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use imagegate_security_tests::spdx::{Allowlist, Expr};
use serde_json::Value;

/// Licenses every dependency may use (one alternative of an `OR` is enough).
///
/// MPL-2.0 is file-level copyleft: modified MPL files must stay available; using the crate
/// unmodified imposes nothing on our code. `OpenSSL` is aws-lc's (BoringSSL-derived) legacy
/// license. `CDLA-Permissive-2.0` covers the Mozilla root list in `webpki-root-certs`.
const ALLOWED: Allowlist<'static> = Allowlist {
    licenses: &[
        "MIT",
        "MIT-0",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "ISC",
        "Unicode-3.0",
        "Unicode-DFS-2016",
        "Zlib",
        "CC0-1.0",
        "Unlicense",
        "BSL-1.0",
        "MPL-2.0",
        "OpenSSL",
        "CDLA-Permissive-2.0",
    ],
    exceptions: &["LLVM-exception"],
};

/// Crates that must never be built: a second TLS/crypto stack.
const BANNED: &[&str] = &["openssl-sys", "openssl", "native-tls", "ring"];

/// Registries packages may come from (crates.io, git index or sparse protocol).
const CRATES_IO: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Runs cargo with `args`, offline first (the packages are already in the local cache when
/// the tests are being built), once online if a package manifest is missing locally.
fn run_cargo(args: &[&str]) -> String {
    let mut last = String::new();
    for offline in [true, false] {
        let mut cmd = cargo();
        cmd.args(args).arg("--locked");
        if offline {
            cmd.arg("--offline");
        }
        let out = cmd.output().expect("cannot run cargo");
        if out.status.success() {
            return String::from_utf8(out.stdout).expect("cargo printed UTF-8");
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        // `--locked` failures (a stale Cargo.lock) are final; only a missing download retries.
        if !last.contains("--offline") {
            break;
        }
    }
    panic!("cargo {args:?} failed:\n{last}");
}

fn metadata() -> Value {
    let text = run_cargo(&["metadata", "--format-version", "1"]);
    serde_json::from_str(&text).expect("cargo metadata printed JSON")
}

fn packages(meta: &Value) -> &[Value] {
    meta["packages"].as_array().expect("metadata has packages")
}

fn name_version(p: &Value) -> String {
    format!(
        "{} {}",
        p["name"].as_str().unwrap_or("?"),
        p["version"].as_str().unwrap_or("?")
    )
}

#[test]
fn every_license_is_on_the_allowlist() {
    let meta = metadata();
    let mut offenders = Vec::new();
    for p in packages(&meta) {
        let verdict = match p["license"].as_str() {
            None => Err("no SPDX `license` (only a license file)".to_owned()),
            Some(text) => match Expr::parse(text) {
                Ok(expr) if expr.is_allowed(&ALLOWED) => Ok(()),
                Ok(_) => Err(format!("{text:?} is not satisfiable by the allowlist")),
                Err(e) => Err(format!("{text:?}: {e}")),
            },
        };
        if let Err(why) = verdict {
            offenders.push(format!("{}: {why}", name_version(p)));
        }
    }
    assert!(packages(&meta).len() > 100, "suspiciously few packages");
    assert!(
        offenders.is_empty(),
        "dependencies with licenses outside the policy (add the license to ALLOWED in {} only \
         after review):\n{}",
        file!(),
        offenders.join("\n")
    );
}

#[test]
fn every_package_comes_from_crates_io_or_the_workspace() {
    let meta = metadata();
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("metadata has workspace members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut offenders = Vec::new();
    for p in packages(&meta) {
        let id = p["id"].as_str().unwrap_or_default();
        match p["source"].as_str() {
            Some(source) if CRATES_IO.contains(&source) => {}
            Some(source) => offenders.push(format!("{}: from {source}", name_version(p))),
            None if members.contains(id) => {}
            None => offenders.push(format!("{}: a path outside the workspace", name_version(p))),
        }
    }
    assert!(
        offenders.is_empty(),
        "dependencies from outside crates.io:\n{}",
        offenders.join("\n")
    );
}

/// `name version` of every package compiled for any target with every feature of every
/// workspace member, dev and build dependencies included.
fn compiled_packages() -> BTreeSet<String> {
    let text = run_cargo(&[
        "tree",
        "--workspace",
        "--all-features",
        "--target",
        "all",
        "--edges",
        "normal,build,dev",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}

#[test]
fn no_second_crypto_or_tls_stack_is_compiled() {
    let compiled = compiled_packages();
    assert!(
        compiled.iter().any(|p| p.starts_with("aws-lc-rs ")),
        "aws-lc-rs is missing from `cargo tree`: the listing is broken"
    );
    let banned: Vec<&String> = compiled
        .iter()
        .filter(|p| BANNED.iter().any(|b| p.split(' ').next() == Some(b)))
        .collect();
    let mut who = String::new();
    for p in &banned {
        let name = p.split(' ').next().unwrap_or_default();
        who.push_str(&run_cargo(&[
            "tree",
            "--workspace",
            "--all-features",
            "--target",
            "all",
            "--edges",
            "normal,build,dev",
            "--invert",
            name,
        ]));
    }
    assert!(
        banned.is_empty(),
        "banned crates are compiled: {banned:?}\nwho pulls them in:\n{who}"
    );
}
