//! The fault controller: per cycle it stops and restarts the registry, slows it down, rotates
//! the provider's TLS material and flips the trust store, recording when each happened.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::SoakError;
use crate::images::Trust;
use crate::judge::{Phase, Reload, Rotation, Timeline, Window};
use crate::load::SharedClient;
use crate::provider::{Layout, Provider};
use crate::proxy::DelayProxy;
use crate::registry::Registry;
use crate::tls::{self, Ca, Leaf};

/// The TLS reload counter of the provider.
const TLS_RELOADS: &str = "imagegate_tls_reload_count_total";
/// How long a TLS reload may take to show (the provider polls every 5 s).
const RELOAD_WAIT: Duration = Duration::from_secs(30);

/// TLS state the rotation advances.
#[derive(Debug)]
pub struct TlsState {
    /// The server CA (trusted by the client throughout).
    pub server_ca: Ca,
    /// The client CA in force.
    pub client_ca: Ca,
    /// The client's current identity.
    pub identity: Leaf,
    /// How many rotations happened.
    pub generation: usize,
}

/// Everything the controller acts on.
#[derive(Debug)]
pub struct Faults {
    /// The registry (stopped and started).
    pub registry: Registry,
    /// The delaying proxy.
    pub proxy: Arc<DelayProxy>,
    /// The provider (metrics observed).
    pub provider: Arc<Provider>,
    /// Its files.
    pub layout: Layout,
    /// TLS material.
    pub tls: TlsState,
    /// The load's client (swapped on rotation).
    pub client: SharedClient,
    /// The request timeout of every client.
    pub client_timeout: Duration,
    /// The added delay of the slow phase.
    pub slow_delay: Duration,
    /// The trust store in force.
    pub trust: Trust,
    /// Where the events are recorded.
    pub timeline: Arc<Mutex<Timeline>>,
    /// Log of the driver's own steps.
    pub notes: Arc<Mutex<Vec<String>>>,
    /// The provider URL (`https://imagegate.soak:<port>`).
    pub url: String,
    /// Scratch directory.
    pub dir: PathBuf,
}

impl Faults {
    /// Runs the fault cycles from `start` for `duration`.
    pub async fn run(mut self, start: Instant, duration: Duration, cycle: Duration) -> Registry {
        let at = |k: u32, phase: Phase| start + cycle * k + cycle.mul_f64(phase.start());
        let margin = cycle.mul_f64(0.2);
        let fits = |t: Instant| t + margin <= start + duration;
        let mut k = 0;
        while fits(at(k, Phase::Recovery)) {
            self.outage(at(k, Phase::Outage), at(k, Phase::Recovery), start)
                .await;
            if fits(at(k, Phase::Rotation)) {
                self.slow(at(k, Phase::Slow), at(k, Phase::Rotation), start)
                    .await;
                self.rotate(start).await;
            }
            if fits(at(k, Phase::Reload)) {
                self.reload(at(k, Phase::Reload), start).await;
            }
            k += 1;
        }
        self.registry
    }

    fn note(&self, start: Instant, text: impl Into<String>) {
        let line = format!("{:7.1}s {}", start.elapsed().as_secs_f64(), text.into());
        if let Ok(mut n) = self.notes.lock() {
            n.push(line);
        }
    }

    fn record(&self, f: impl FnOnce(&mut Timeline)) {
        if let Ok(mut t) = self.timeline.lock() {
            f(&mut t);
        }
    }

    async fn outage(&mut self, down: Instant, up: Instant, start: Instant) {
        tokio::time::sleep_until(down).await;
        let from = start.elapsed();
        tokio::task::block_in_place(|| self.registry.down());
        self.note(start, "registry stopped");
        tokio::time::sleep_until(up).await;
        // Retry: a port still in TIME_WAIT or a slow start must not end the run.
        let mut result = self.registry.up().await;
        for _ in 0..3 {
            if result.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            result = self.registry.up().await;
        }
        let to = start.elapsed();
        match result {
            Ok(()) => self.note(start, "registry listening again"),
            Err(e) => self.note(start, format!("registry restart failed: {e}")),
        }
        self.record(|t| t.outages.push(Window { from, to }));
    }

    async fn slow(&mut self, on: Instant, off: Instant, start: Instant) {
        tokio::time::sleep_until(on).await;
        let from = start.elapsed();
        self.proxy.set_delay(self.slow_delay);
        self.note(
            start,
            format!("registry slowed by {:?} per request", self.slow_delay),
        );
        tokio::time::sleep_until(off).await;
        self.proxy.set_delay(Duration::ZERO);
        let to = start.elapsed();
        self.note(start, "registry delay removed");
        self.record(|t| t.slow.push(Window { from, to }));
    }

    async fn reload(&mut self, at: Instant, start: Instant) {
        tokio::time::sleep_until(at).await;
        let next = self.trust.flipped();
        let when = start.elapsed();
        match self.layout.write_config(next) {
            Ok(()) => {
                self.trust = next;
                self.note(start, format!("config.json rewritten to trust {next:?}"));
                self.record(|t| {
                    t.reloads.push(Reload {
                        at: when,
                        trust: next,
                    })
                });
            }
            Err(e) => self.note(start, format!("cannot write config.json: {e}")),
        }
    }

    async fn rotate(&mut self, start: Instant) {
        let started = start.elapsed();
        let began = Instant::now();
        let mut rotation = Rotation {
            started,
            ..Rotation::default()
        };
        match self.rotate_steps(start, began, &mut rotation).await {
            Ok(()) => self.note(start, "TLS rotation complete"),
            Err(e) => {
                self.note(start, format!("TLS rotation failed: {e}"));
                rotation.failed = Some(e.to_string());
            }
        }
        self.record(|t| t.rotations.push(rotation));
    }

    /// New server leaf and a second client CA → (both reloaded) → client switches to the new
    /// CA's certificate → old CA removed → (reloaded) → the old certificate must be refused.
    async fn rotate_steps(
        &mut self,
        start: Instant,
        began: Instant,
        rotation: &mut Rotation,
    ) -> Result<(), SoakError> {
        let g = self.tls.generation + 1;
        let new_ca = Ca::new(&format!("soak client CA {g}"))?;
        let identity = new_ca.client(&format!("gatekeeper {g}"))?;
        let server = self.tls.server_ca.server(&format!("imagegate soak {g}"))?;
        let ca_ok = [("material", "client_ca"), ("result", "ok")];
        let cert_ok = [("material", "server_cert"), ("result", "ok")];
        let ca_before = self.provider.counter(TLS_RELOADS, &ca_ok).await?;
        let cert_before = self.provider.counter(TLS_RELOADS, &cert_ok).await?;
        let both = format!("{}{}", self.tls.client_ca.cert_pem, new_ca.cert_pem);
        tls::write_atomic(&self.layout.client_ca, both.as_bytes())?;
        tls::write_server_files(&self.layout.cert_dir, &server)?;
        self.note(
            start,
            format!("TLS: wrote server leaf {g} and client CA bundle old+{g}"),
        );
        self.wait_counter(&ca_ok, ca_before, "client CA reload (old+new)")
            .await?;
        self.wait_counter(&cert_ok, cert_before, "server certificate reload")
            .await?;
        rotation.reloaded_after = Some(began.elapsed());
        let client = tls::client(
            &self.tls.server_ca,
            &identity,
            self.layout.provider,
            self.client_timeout,
        )?;
        let old_identity = std::mem::replace(&mut self.tls.identity, identity);
        match self.client.lock() {
            Ok(mut c) => *c = client,
            Err(p) => *p.into_inner() = client,
        }
        self.note(
            start,
            format!("TLS: load switched to client certificate {g}"),
        );
        let ca_before = self.provider.counter(TLS_RELOADS, &ca_ok).await?;
        tls::write_atomic(&self.layout.client_ca, new_ca.cert_pem.as_bytes())?;
        self.wait_counter(&ca_ok, ca_before, "client CA reload (new only)")
            .await?;
        self.tls.client_ca = new_ca;
        self.tls.generation = g;
        let old = tls::client(
            &self.tls.server_ca,
            &old_identity,
            self.layout.provider,
            self.client_timeout,
        )?;
        let probe = crate::load::send(
            &old,
            &format!("{}/ratify/gatekeeper/v1/verify", self.url),
            "probe",
        )
        .await;
        let refused = matches!(probe, crate::shot::Answer::Request(_));
        rotation.old_client_refused = Some(refused);
        self.note(
            start,
            format!("TLS: retired client certificate refused: {refused}"),
        );
        Ok(())
    }

    async fn wait_counter(
        &self,
        labels: &[(&str, &str)],
        before: u64,
        what: &str,
    ) -> Result<(), SoakError> {
        let until = Instant::now() + RELOAD_WAIT;
        while Instant::now() < until {
            if self.provider.counter(TLS_RELOADS, labels).await? > before {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(SoakError::Timeout(what.to_owned()))
    }
}
