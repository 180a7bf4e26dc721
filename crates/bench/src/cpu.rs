//! CPU time of this process's threads, grouped by thread name, from
//! `/proc/self/task/*/{comm,schedstat}` (nanoseconds on CPU, steal time excluded), and of
//! another process's threads (the registry's, in the cold-burst benchmark).
//!
//! The warm benchmark runs the load driver, the subject and the floor in one process; their
//! threads have distinct names (`tokio-rt-worker` for the driver, `actix-server worker N` for
//! either server), and only one server is loaded at a time, so the CPU its workers spend per
//! answered request can be read off the difference of two snapshots.

use std::fs;

use crate::error::BenchError;

/// Name prefix of actix-server's worker threads (the subject's and the floor's).
pub const SERVER_THREADS: &str = "actix-server wo";
/// Name prefix of the load driver's tokio worker threads.
pub const DRIVER_THREADS: &str = "tokio-rt-worker";

/// Total nanoseconds on CPU of this process's live threads whose name starts with `prefix`.
pub fn threads_cpu_ns(prefix: &str) -> Result<u64, BenchError> {
    tasks_cpu_ns("/proc/self/task", prefix)
}

/// Total nanoseconds on CPU of the live threads of process `pid`. (A Go program such as the
/// registry keeps its threads, so the difference of two readings is what it spent between.)
pub fn process_cpu_ns(pid: u32) -> Result<u64, BenchError> {
    tasks_cpu_ns(&format!("/proc/{pid}/task"), "")
}

fn tasks_cpu_ns(dir: &str, prefix: &str) -> Result<u64, BenchError> {
    let tasks = fs::read_dir(dir).map_err(|e| BenchError::io("listing threads", dir, e))?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let dir = task.path();
        // A thread may exit between listing and reading; it is skipped.
        let Ok(comm) = fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.starts_with(prefix) {
            continue;
        }
        let Ok(stat) = fs::read_to_string(dir.join("schedstat")) else {
            continue;
        };
        total += parse_schedstat(&stat).unwrap_or(0);
    }
    Ok(total)
}

/// The first field of a `schedstat` line: time on CPU in nanoseconds.
fn parse_schedstat(line: &str) -> Option<u64> {
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_first_field_is_cpu_time() {
        assert_eq!(parse_schedstat("422217925 565146 31\n"), Some(422_217_925));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
    }

    #[test]
    fn a_busy_named_thread_is_counted() {
        let handle = std::thread::Builder::new()
            .name("cpu-probe-busy".into())
            .spawn(|| {
                let before = threads_cpu_ns("cpu-probe-busy").unwrap();
                let mut x = 0u64;
                for i in 0..20_000_000u64 {
                    x = std::hint::black_box(x.wrapping_add(i));
                }
                let after = threads_cpu_ns("cpu-probe-busy").unwrap();
                (before, after, x)
            })
            .unwrap();
        let (before, after, _) = handle.join().unwrap();
        assert!(after > before, "{before} -> {after}");
        assert_eq!(threads_cpu_ns("no-such-thread-name").unwrap(), 0);
    }

    #[test]
    fn another_process_is_read_by_pid() {
        let pid = std::process::id();
        let before = process_cpu_ns(pid).unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        let after = process_cpu_ns(pid).unwrap();
        assert!(after > before, "{before} -> {after} ({x})");
        assert!(process_cpu_ns(u32::MAX).is_err());
    }
}
