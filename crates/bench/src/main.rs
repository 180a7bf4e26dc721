//! `imagegate-bench`: runs the end-to-end benchmarks and prints Markdown tables.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use imagegate_bench::report::Section;
use imagegate_bench::scenario::{burst, cold, memory, stampede, warm};
use imagegate_bench::BenchError;

/// The external-data protocol measured by the warm benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Protocol {
    /// `POST /ratify/gatekeeper/v1/verify`.
    V1,
    /// `POST /ratify/gatekeeper/v2/verify`.
    V2,
}

/// The benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    /// Cached verdict over mTLS vs a constant actix server.
    Warm,
    /// Registry requests and time per cold verification.
    Cold,
    /// 1, 10 and 200 cold keys in one request with injected registry latency.
    ColdBurst,
    /// Concurrent requests for one uncached image.
    Stampede,
    /// RSS of `imagegate serve` after many cached verdicts.
    Memory,
}

/// imagegate's end-to-end benchmarks (see BENCHMARKS.md). Loopback only.
#[derive(Debug, Parser)]
#[command(name = "imagegate-bench")]
struct Args {
    /// Which benchmarks to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Which>,
    /// Seconds per measured warm run.
    #[arg(long, default_value_t = 3.0, value_parser = parse_seconds)]
    duration: f64,
    /// Subject/floor pairs per warm phase.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=50))]
    rounds: u64,
    /// Load-driver connections in the warm benchmark.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1000))]
    connections: u64,
    /// HTTP worker threads of the provider and of the floor.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    workers: u64,
    /// Distinct signed digests in the cold benchmark.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    cold_images: u64,
    /// Concurrent requests in the stampede benchmark.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    stampede: u64,
    /// Cached verdicts in the memory benchmark.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=200_000))]
    verdicts: u64,
    /// The `imagegate` binary for the memory benchmark (default: next to this one).
    #[arg(long, value_name = "PATH")]
    imagegate: Option<PathBuf>,
    /// Also write the tables to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// The protocol the warm benchmark measures: Ratify v1's verify path or v2's
    /// (`/ratify/gatekeeper/v2/verify`; the floor then answers there too).
    #[arg(long, value_enum, default_value_t = Protocol::V1)]
    protocol: Protocol,
    /// Exit with 1 when a goal is not met.
    #[arg(long)]
    strict: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.1..=600.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?}: give seconds between 0.1 and 600")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imagegate-bench: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(sections) => {
            let unmet: Vec<&str> = sections
                .iter()
                .filter(|s| !s.all_met())
                .map(|s| s.title.as_str())
                .collect();
            if unmet.is_empty() {
                eprintln!("imagegate-bench: every goal met");
                ExitCode::SUCCESS
            } else {
                eprintln!("imagegate-bench: goals not met in: {}", unmet.join("; "));
                if args.strict {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                }
            }
        }
        Err(e) => {
            eprintln!("imagegate-bench: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<Vec<Section>, BenchError> {
    let all = [
        Which::Warm,
        Which::Cold,
        Which::ColdBurst,
        Which::Stampede,
        Which::Memory,
    ];
    let selected: Vec<Which> = if args.only.is_empty() {
        all.to_vec()
    } else {
        all.into_iter().filter(|w| args.only.contains(w)).collect()
    };
    let workers = args.workers as usize;
    let mut sections = Vec::new();
    for which in selected {
        eprintln!("imagegate-bench: running {which:?}");
        let section = match which {
            Which::Warm => {
                warm::run(&warm::WarmOptions {
                    connections: args.connections as usize,
                    duration: Duration::from_secs_f64(args.duration),
                    rounds: args.rounds as usize,
                    workers,
                    verify_path: match args.protocol {
                        Protocol::V1 => imagegate_provider::VERIFY_PATH,
                        Protocol::V2 => imagegate_provider::V2_VERIFY_PATH,
                    },
                })
                .await?
            }
            Which::Cold => cold::run(args.cold_images as usize).await?,
            Which::ColdBurst => burst::run(workers).await?,
            Which::Stampede => stampede::run(args.stampede as usize, workers).await?,
            Which::Memory => {
                let binary = match &args.imagegate {
                    Some(p) => p.clone(),
                    None => sibling("imagegate")?,
                };
                memory::run(&binary, args.verdicts as usize).await?
            }
        };
        print!("{}", section.markdown());
        sections.push(section);
        if let Some(path) = &args.markdown {
            let text: String = sections.iter().map(Section::markdown).collect();
            std::fs::write(path, text)
                .map_err(|e| BenchError::io("writing the Markdown report", path, e))?;
        }
    }
    Ok(sections)
}

/// `name` in the directory of this executable (cargo puts all binaries of a profile there).
fn sibling(name: &str) -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe()
        .map_err(|e| BenchError::io("locating this executable", "/proc/self/exe", e))?;
    Ok(exe.with_file_name(name))
}
