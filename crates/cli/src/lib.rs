//! The library half of the `imagegate` binary: where the engine and the HTTP edge are joined.
//!
//! `imagegate-engine` and `imagegate-provider` do not know each other; the provider owns the
//! per-key seam ([`imagegate_provider::KeyHandler`]) and its Prometheus handle, the engine
//! owns its metrics seam ([`imagegate_engine::metrics::MetricsSink`]). [`adapter`] implements
//! each side's trait for the other's type, and is shared with the bench, soak and security
//! harnesses that assemble a server the way `imagegate serve` does.
#![deny(missing_docs)]

pub mod adapter;
