//! A hostile registry (issue 16): anyone who can submit a pod spec can point imagegate at a
//! registry they control. This one speaks just enough of the distribution API for the
//! provider to try hard: the referrers API lists many signature manifests per subject, each
//! naming its own large, digest-correct envelope; it can also serve changing bytes (a fresh
//! listing and bytes that no longer match their digest on every fetch) or stall mid-body.
//!
//! Built on the test kit's [`MockServer`]; envelopes are generated on request (never all in
//! memory at once) from their index, so the driver itself stays small.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use imagegate_oci::{NOTARY_SIGNATURE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use imagegate_testkit::{sha256, MockServer, Reply, Request};
use sha2::{Digest as _, Sha256};

/// The repository every hostile key names.
pub const REPOSITORY: &str = "hostile/app";

/// The shape of the attack.
#[derive(Debug, Clone, Copy)]
pub struct HostileOptions {
    /// Subjects (one key each).
    pub subjects: usize,
    /// Signature manifests listed per subject.
    pub signatures: usize,
    /// Bytes of each envelope.
    pub envelope_bytes: usize,
}

/// What the registry does right now (switchable while it runs).
#[derive(Debug, Default)]
pub struct Mode {
    /// Every answer is new: listings name fresh digests and envelopes do not match theirs.
    pub changing: AtomicBool,
    /// Bodies stall after their first bytes.
    pub stalling: AtomicBool,
}

/// A running hostile registry.
pub struct HostileRegistry {
    server: MockServer,
    /// The switches.
    pub mode: Arc<Mode>,
    keys: Vec<String>,
    /// Requests served.
    pub requests: Arc<AtomicU64>,
}

impl std::fmt::Debug for HostileRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileRegistry")
            .field("host", &self.server.host())
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// The plan: the digest of every subject, signature manifest and envelope.
struct Plan {
    options: HostileOptions,
    subjects: Vec<String>,
    /// Per subject, per signature: (manifest bytes, manifest digest).
    manifests: Vec<Vec<(Vec<u8>, String)>>,
    /// Envelope digest → (subject, signature).
    envelopes: std::collections::HashMap<String, (usize, usize)>,
}

/// Length of the part of an envelope that differs between envelopes (its end).
const TAIL: usize = 64;

/// The bytes of envelope `(subject, signature)`, `generation` 0 being the listed ones: a
/// common run of spaces then a distinct tail, so that every digest is computed from one
/// shared prefix state (the driver stays cheap however many envelopes it lists).
fn envelope(
    options: &HostileOptions,
    subject: usize,
    signature: usize,
    generation: u64,
) -> Vec<u8> {
    let mut bytes = vec![b' '; options.envelope_bytes.max(TAIL)];
    let tail = tail(subject, signature, generation);
    let start = bytes.len() - TAIL;
    bytes[start..].copy_from_slice(&tail);
    bytes
}

fn tail(subject: usize, signature: usize, generation: u64) -> [u8; TAIL] {
    let mut t = [b' '; TAIL];
    let text = format!("hostile {subject} {signature} {generation}");
    let n = text.len().min(TAIL);
    t[..n].copy_from_slice(&text.as_bytes()[..n]);
    t
}

fn signature_manifest(subject_digest: &str, envelope_digest: &str, size: usize) -> Vec<u8> {
    let v = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": NOTARY_SIGNATURE,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2},
        "layers": [{"mediaType": "application/jose+json", "digest": envelope_digest, "size": size}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": 512}
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

impl Plan {
    fn new(options: HostileOptions) -> Self {
        let mut subjects = Vec::new();
        let mut manifests = Vec::new();
        let mut envelopes = std::collections::HashMap::new();
        let prefix = {
            let mut h = Sha256::new();
            h.update(vec![b' '; options.envelope_bytes.max(TAIL) - TAIL]);
            h
        };
        for i in 0..options.subjects {
            let subject = sha256(format!("hostile subject {i}").as_bytes());
            let mut list = Vec::new();
            for j in 0..options.signatures {
                let mut h = prefix.clone();
                h.update(tail(i, j, 0));
                let env = format!("sha256:{}", hex::encode(h.finalize()));
                envelopes.insert(env.clone(), (i, j));
                let m = signature_manifest(&subject, &env, options.envelope_bytes.max(TAIL));
                let d = sha256(&m);
                list.push((m, d));
            }
            subjects.push(subject);
            manifests.push(list);
        }
        Self {
            options,
            subjects,
            manifests,
            envelopes,
        }
    }

    fn answer(&self, r: &Request, mode: &Mode, generation: u64) -> Reply {
        let path = r.path();
        let prefix = format!("/v2/{REPOSITORY}/");
        let Some(rest) = path.strip_prefix(&prefix) else {
            return Reply::status(if path == "/v2/" { 200 } else { 404 });
        };
        let changing = mode.changing.load(Ordering::Relaxed);
        let body = if let Some(digest) = rest.strip_prefix("referrers/") {
            let Some(i) = self.subjects.iter().position(|s| s == digest) else {
                return Reply::json(200, OCI_INDEX, index(&[]));
            };
            let entries: Vec<_> = self.manifests[i]
                .iter()
                .map(|(m, d)| {
                    // Changing: the listing names digests nobody can serve correctly.
                    let d = if changing {
                        sha256(format!("{d}{generation}").as_bytes())
                    } else {
                        d.clone()
                    };
                    serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d, "size": m.len(),
                                       "artifactType": NOTARY_SIGNATURE})
                })
                .collect();
            return Reply::json(200, OCI_INDEX, index(&entries));
        } else if let Some(digest) = rest.strip_prefix("manifests/") {
            let found = self.manifests.iter().flatten().find(|(_, d)| d == digest);
            match found {
                Some((m, _)) => m.clone(),
                // A changed listing's digests: serve some manifest anyway (wrong digest).
                None if changing => self
                    .manifests
                    .iter()
                    .flatten()
                    .next()
                    .map(|(m, _)| m.clone())
                    .unwrap_or_default(),
                None => return Reply::status(404),
            }
        } else if let Some(digest) = rest.strip_prefix("blobs/") {
            let Some((i, j)) = self.envelopes.get(digest) else {
                return Reply::status(404);
            };
            envelope(
                &self.options,
                *i,
                *j,
                if changing { generation + 1 } else { 0 },
            )
        } else {
            return Reply::status(404);
        };
        if mode.stalling.load(Ordering::Relaxed) {
            let sent = body[..body.len().min(64)].to_vec();
            return Reply::Stall {
                status: 200,
                headers: vec![("Content-Type".into(), OCI_MANIFEST.into())],
                declared: body.len() as u64,
                sent,
            };
        }
        Reply::json(200, OCI_MANIFEST, body)
    }
}

fn index(entries: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
    )
    .unwrap_or_default()
}

impl HostileRegistry {
    /// Starts it on a free loopback port.
    pub fn start(options: HostileOptions) -> Self {
        let plan = Arc::new(Plan::new(options));
        let mode = Arc::new(Mode::default());
        let requests = Arc::new(AtomicU64::new(0));
        let (p, m, n) = (plan.clone(), mode.clone(), requests.clone());
        let server = MockServer::start(move |r: &Request| {
            let generation = n.fetch_add(1, Ordering::Relaxed);
            p.answer(r, &m, generation)
        });
        let keys = plan
            .subjects
            .iter()
            .map(|d| format!("{}/{REPOSITORY}@{d}", server.host()))
            .collect();
        Self {
            server,
            mode,
            keys,
            requests,
        }
    }

    /// One key per subject: `127.0.0.1:<port>/hostile/app@sha256:…`.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.server.host()
    }
}

/// What the hostile keys got during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostileStats {
    /// Requests sent with hostile keys.
    pub requests: usize,
    /// Hostile keys answered (verdict or per-key error).
    pub answered: usize,
    /// Hostile keys answered `isSuccess: true`: must be zero.
    pub wrong: usize,
    /// Requests that failed as a whole (HTTP error, `systemError`, no answer).
    pub request_errors: usize,
    /// Requests per phase: big envelopes, changing bytes, stalls.
    pub by_phase: [usize; 3],
    /// The first few request errors.
    pub examples: Vec<String>,
}

impl HostileStats {
    /// Whether the hostile registry never got a key accepted and never broke a request.
    pub fn passed(&self) -> bool {
        self.wrong == 0 && self.request_errors == 0
    }
}

/// How often a hostile request is sent, and how many keys it carries.
const EVERY: std::time::Duration = std::time::Duration::from_millis(1000);
const KEYS_PER_REQUEST: usize = 2;
/// Length of each phase (big envelopes → changing bytes → stalls → …).
const PHASE: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends hostile keys to the provider at `url` until `until`, cycling the registry through
/// its three behaviours, and counts what came back. Requests run one at a time: the point
/// is the provider's memory and the other keys' verdicts, not this load's rate.
pub async fn load(
    registry: &HostileRegistry,
    client: &std::sync::Mutex<reqwest::Client>,
    url: &str,
    start: tokio::time::Instant,
    until: tokio::time::Instant,
) -> HostileStats {
    let mut stats = HostileStats::default();
    let mut ticker = tokio::time::interval(EVERY);
    let mut next = 0usize;
    while tokio::time::Instant::now() < until {
        ticker.tick().await;
        let phase = (start.elapsed().as_secs() / PHASE.as_secs().max(1)) as usize % 3;
        registry.mode.changing.store(phase == 1, Ordering::Relaxed);
        registry.mode.stalling.store(phase == 2, Ordering::Relaxed);
        let keys: Vec<String> = (0..KEYS_PER_REQUEST)
            .map(|i| registry.keys[(next + i) % registry.keys.len().max(1)].clone())
            .collect();
        next += KEYS_PER_REQUEST;
        let Ok(c) = client.lock().map(|c| c.clone()) else {
            break;
        };
        stats.requests += 1;
        stats.by_phase[phase] += 1;
        let body = serde_json::json!({
            "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
            "kind": "ProviderRequest",
            "request": {"keys": keys}
        });
        let failed = |stats: &mut HostileStats, why: String| {
            stats.request_errors += 1;
            if stats.examples.len() < 5 {
                stats.examples.push(why);
            }
        };
        let response = match c.post(url).json(&body).send().await {
            Ok(r) => r,
            Err(e) => {
                failed(&mut stats, e.to_string());
                continue;
            }
        };
        let status = response.status().as_u16();
        let value: serde_json::Value = match response.json().await {
            Ok(v) => v,
            Err(e) => {
                failed(&mut stats, format!("HTTP {status}: {e}"));
                continue;
            }
        };
        let resp = &value["response"];
        if status != 200 || resp["systemError"].as_str().is_some_and(|e| !e.is_empty()) {
            failed(
                &mut stats,
                format!("HTTP {status}: {}", resp["systemError"]),
            );
            continue;
        }
        for item in resp["items"].as_array().into_iter().flatten() {
            stats.answered += 1;
            if item["value"]["isSuccess"].as_bool() == Some(true) {
                stats.wrong += 1;
            }
        }
    }
    registry.mode.changing.store(false, Ordering::Relaxed);
    registry.mode.stalling.store(false, Ordering::Relaxed);
    stats
}
