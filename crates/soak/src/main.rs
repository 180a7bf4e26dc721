//! `soak`: runs the faults-under-load soak (see the `imagegate_soak` crate docs), prints the
//! Markdown report, writes it to `SOAK_REPORT`, and exits 0 when it passed, 1 when it found
//! violations or RSS growth, 2 when it could not run.

use std::process::ExitCode;

use imagegate_soak::{run, Settings};

fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match runtime.block_on(run(&settings)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    let markdown = report.to_markdown();
    println!("{markdown}");
    if let Some(parent) = settings.report_path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(&settings.report_path, &markdown) {
        Ok(()) => eprintln!("soak: report written to {}", settings.report_path.display()),
        Err(e) => eprintln!("soak: cannot write {}: {e}", settings.report_path.display()),
    }
    let dump = settings.report_path.with_extension("metrics.txt");
    if std::fs::write(&dump, &report.final_metrics).is_ok() {
        eprintln!("soak: final provider metrics written to {}", dump.display());
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        eprintln!("soak: FAILED");
        ExitCode::from(1)
    }
}
