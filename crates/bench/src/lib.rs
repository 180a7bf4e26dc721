//! imagegate's end-to-end benchmarks, run by `make bench` (see BENCHMARKS.md).
//!
//! Each benchmark measures imagegate against a floor in the same run, on loopback:
//!
//! 1. [`scenario::warm`]: requests/s and p99 latency of a cached verdict over mTLS, against an
//!    actix-web server with the same TLS answering a constant ProviderResponse;
//! 2. [`scenario::cold`]: registry requests and time per cold verification of distinct signed
//!    digests, counted from the registry's access log;
//! 3. [`scenario::stampede`]: fetches per object when many requests for one uncached image
//!    arrive together;
//! 4. [`scenario::memory`]: resident memory of `imagegate serve` after many cached verdicts.
//!
//! The pieces: a TLS 1.3 load driver ([`driver`]), the floor server ([`floor`]), a registry
//! with its access log on ([`registry`]), signed fixtures ([`fixture`]) and Markdown tables
//! ([`report`]). Every loop is bounded in count and time.
#![deny(missing_docs)]
// A harness, not a library of the product: it measures and waits on real (wall and monotonic) time.
#![allow(clippy::disallowed_methods)]

pub mod cpu;
pub mod delay;
pub mod driver;
pub mod env;
pub mod error;
pub mod fixture;
pub mod floor;
pub mod registry;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod tls;

pub use error::BenchError;
