//! The "Promise → test" table of docs/security.md names real tests: every `path::test` it
//! lists is a file of the repository holding a function of that name, so a renamed or
//! deleted test cannot leave a promise pointing at nothing.

use std::path::{Path, PathBuf};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `path::test` names of one table row (`::test` continues the previous path).
fn row_entries(row: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path = String::new();
    for (i, item) in row.split('`').enumerate() {
        if i % 2 == 0 {
            continue; // outside backticks
        }
        let Some((file, test)) = item.rsplit_once("::") else {
            continue;
        };
        if !file.is_empty() {
            if !file.ends_with(".rs") {
                continue;
            }
            path = file.to_owned();
        }
        if path.is_empty() || test.is_empty() {
            continue;
        }
        out.push((path.clone(), test.to_owned()));
    }
    out
}

#[test]
fn every_test_named_in_the_promise_table_exists() {
    let root = repository_root();
    let doc = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let table = doc
        .split("## Promise → test")
        .nth(1)
        .expect("docs/security.md has a \"Promise → test\" section");
    let table = table.split("\n## ").next().unwrap();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| promise") && !l.starts_with("| ---"))
        .collect();
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    let mut missing = Vec::new();
    let mut checked = 0;
    for row in rows {
        let cells: Vec<&str> = row.split(" | ").collect();
        let entries = row_entries(cells.last().unwrap());
        assert!(!entries.is_empty(), "a promise without a test: {row}");
        for (file, test) in entries {
            checked += 1;
            let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
            let defined = [format!("fn {test}("), format!("fn {test}<")]
                .iter()
                .any(|needle| text.contains(needle.as_str()));
            if !defined {
                missing.push(format!("{file}::{test}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named in docs/security.md but not found: {missing:#?}"
    );
    assert!(checked >= 60, "only {checked} tests named");
}

#[test]
fn row_entries_continue_the_previous_path() {
    let row = "`a/b.rs::one`, `::two`, `c.rs::three`, `not code`, `x::y`";
    assert_eq!(
        row_entries(row),
        [
            ("a/b.rs".to_owned(), "one".to_owned()),
            ("a/b.rs".to_owned(), "two".to_owned()),
            ("c.rs".to_owned(), "three".to_owned()),
        ]
    );
}
