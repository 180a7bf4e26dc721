//! The real provider server in front of an engine, in the test process: plain HTTP on a
//! loopback port picked by the system, no health or metrics listener.
#![allow(unreachable_pub, clippy::unwrap_used)] // test code: fail loudly

use std::net::SocketAddr;

use imagegate_cli::adapter::EngineHandler;
use imagegate_engine::Engine;
use imagegate_provider::{Metrics, Server, ServerConfig, Transport};

/// Starts the provider over `engine`, recording into `metrics`; the server (stopped when
/// dropped) and its provider address.
pub async fn start(engine: Engine, metrics: Metrics) -> (Server, SocketAddr) {
    let mut config = ServerConfig::new(Transport::PlaintextForDevelopment);
    config.provider_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.health_addr = None;
    config.metrics_addr = None;
    let server = Server::start(config, EngineHandler::shared(engine), metrics)
        .await
        .unwrap();
    let addr = server.addrs().provider;
    (server, addr)
}
