//! Cold: distinct signed digests, each verified once by a fresh engine; registry requests are
//! counted from the registry's access log and attributed to the image whose objects they name.
//! Floor: the three GETs a digest verification cannot avoid (referrers tag index, signature
//! manifest, envelope blob) made with a plain keep-alive HTTP client, interleaved per image.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::env::Env;
use crate::error::BenchError;
use crate::fixture::{push_signed, Image};
use crate::registry::AccessEntry;
use crate::report::{fmt, ms, Row, Section};
use crate::stats::{median, Latency};

/// The User-Agent of the floor's requests, so they are told apart in the access log.
pub const FLOOR_USER_AGENT: &str = "imagegate-bench-floor";
/// Bound on waiting for the access log to settle.
const LOG_SETTLE: Duration = Duration::from_secs(10);
/// Bound on one floor GET.
const FLOOR_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest body the floor reads.
const FLOOR_MAX_BYTES: usize = 4 * 1024 * 1024;
/// The OCI index media type (the referrers tag index).
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The OCI manifest media type (the signature manifest).
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Runs the cold benchmark over `count` images.
pub async fn run(count: usize) -> Result<Section, BenchError> {
    let env = Env::new(3600)?;
    let host = env.registry.host();
    let repo = "bench/cold";
    let images = push_signed(&host, repo, 0, count, &env.pki).await;
    let engine = env.engine(None)?;
    let floor = reqwest::Client::builder()
        .user_agent(FLOOR_USER_AGENT)
        .timeout(FLOOR_TIMEOUT)
        .build()
        .map_err(|e| BenchError::setup("the floor HTTP client", e))?;
    let before = env.registry.settled_entries(LOG_SETTLE).await?.len();

    let (mut subject_us, mut floor_us, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for (i, image) in images.iter().enumerate() {
        let floor_run = || floor_fetch(&floor, &host, repo, image);
        let subject_run = || async {
            let t = Instant::now();
            let r = engine.verify_key(&image.key, "bench-cold").await;
            (t.elapsed(), r)
        };
        let (f, (s, result)) = if i % 2 == 0 {
            let f = floor_run().await?;
            (f, subject_run().await)
        } else {
            let s = subject_run().await;
            (floor_run().await?, s)
        };
        match result {
            Ok(r) if r.is_success => {}
            Ok(r) => failures.push(format!("{}: not verified: {r:?}", image.key)),
            Err(e) => failures.push(format!("{}: {e}", image.key)),
        }
        subject_us.push(micros(s));
        floor_us.push(micros(f));
    }
    let entries = env.registry.settled_entries(LOG_SETTLE).await?;
    let engine_entries: Vec<&AccessEntry> = entries
        .get(before..)
        .unwrap_or_default()
        .iter()
        .filter(|e| e.user_agent != FLOOR_USER_AGENT)
        .collect();
    let counts = attribute(&images, &engine_entries);

    let per_image: Vec<usize> = images.iter().map(|i| counts.per_image(i)).collect();
    let steady: Vec<usize> = per_image.iter().skip(1).copied().collect();
    let all_three = steady.iter().all(|&n| n == 3);
    let first = per_image.first().copied().unwrap_or(0);
    let total: usize = engine_entries.len();
    let s_lat = Latency::of(&mut subject_us);
    let f_lat = Latency::of(&mut floor_us);
    let med = |v: &[usize]| median(&v.iter().map(|&n| n as f64).collect::<Vec<_>>());

    let mut notes = vec![
        format!(
            "engine requests in the access log: {total} for {count} verifications ({} per verification); \
             unattributed: {}",
            fmt(total as f64 / count.max(1) as f64, 3),
            counts.unattributed.len()
        ),
        format!("engine requests by kind: {}", counts.kinds_text()),
    ];
    for e in counts.unattributed.iter().take(5) {
        notes.push(format!(
            "unattributed: {} {} → {}",
            e.method, e.path, e.status
        ));
    }
    notes.extend(failures.iter().take(5).cloned());
    notes.push(format!("verified: {} of {count}", count - failures.len()));
    Ok(Section {
        title: format!("2. Cold: {count} distinct signed digests"),
        method: format!(
            "{count} small images, each signed (JWS, ES256 leaf, root trusted) with \
             `imagegate_testkit::sign_subject`, in a real `docker-registry` 2.8 on loopback with \
             its access log on. A fresh engine (`Engine::from_config_file`, in process) verifies \
             each digest key once, one at a time. Every HTTP request the engine makes is counted \
             from the registry's access log and attributed to the image whose digest, signature \
             manifest or envelope it names. Floor: the three unavoidable GETs (referrers tag \
             index, signature manifest, envelope blob) with a plain keep-alive reqwest client, \
             run before or after the engine on the same image, alternating."
        ),
        rows: vec![
            Row::new(
                "registry requests per digest verification (all but the first)",
                "3",
                format!(
                    "min {} / median {} / max {}",
                    steady.iter().min().copied().unwrap_or(0),
                    fmt(med(&steady), 0),
                    steady.iter().max().copied().unwrap_or(0)
                ),
                format!("{}×", fmt(med(&steady) / 3.0, 2)),
                "exactly 3",
                Some(all_three && counts.unattributed.is_empty() && failures.is_empty()),
            ),
            Row::new(
                "registry requests, first verification on a registry without the referrers API",
                "3",
                first.to_string(),
                format!("{}×", fmt(first as f64 / 3.0, 2)),
                "—",
                None,
            ),
            Row::new(
                "time per cold verification, median",
                ms(f_lat.p50_us),
                ms(s_lat.p50_us),
                format!(
                    "{}×",
                    fmt(f64::from(s_lat.p50_us) / f64::from(f_lat.p50_us.max(1)), 2)
                ),
                "—",
                None,
            ),
            Row::new(
                "time per cold verification, p99",
                ms(f_lat.p99_us),
                ms(s_lat.p99_us),
                format!(
                    "{}×",
                    fmt(f64::from(s_lat.p99_us) / f64::from(f_lat.p99_us.max(1)), 2)
                ),
                "—",
                None,
            ),
        ],
        notes,
    })
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// The floor: the three GETs of one digest verification, sequentially.
async fn floor_fetch(
    client: &reqwest::Client,
    host: &str,
    repo: &str,
    image: &Image,
) -> Result<Duration, BenchError> {
    let base = format!("http://{host}/v2/{repo}");
    let gets = [
        (
            format!("{base}/manifests/{}", image.referrers_tag()),
            OCI_INDEX,
        ),
        (
            format!("{base}/manifests/{}", image.signature),
            OCI_MANIFEST,
        ),
        (format!("{base}/blobs/{}", image.envelope), "*/*"),
    ];
    let t = Instant::now();
    for (url, accept) in gets {
        let resp = client
            .get(&url)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| BenchError::unexpected("the floor GET", format!("{url}: {e}")))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| BenchError::unexpected("the floor GET", format!("{url}: {e}")))?;
        if !status.is_success() || body.len() > FLOOR_MAX_BYTES {
            return Err(BenchError::unexpected(
                "the floor GET",
                format!("{url}: HTTP {status}, {} bytes", body.len()),
            ));
        }
    }
    Ok(t.elapsed())
}

/// Access-log entries attributed to images.
pub(crate) struct Attribution<'a> {
    by_subject: BTreeMap<String, usize>,
    kinds: BTreeMap<&'static str, usize>,
    /// Entries that name no known image.
    pub(crate) unattributed: Vec<&'a AccessEntry>,
}

impl Attribution<'_> {
    /// Requests attributed to `image`.
    pub(crate) fn per_image(&self, image: &Image) -> usize {
        self.by_subject.get(&image.subject).copied().unwrap_or(0)
    }

    /// Requests of `kind` (see [`kind`]).
    pub(crate) fn kind(&self, kind: &str) -> usize {
        self.kinds.get(kind).copied().unwrap_or(0)
    }

    /// `kind: n, …`.
    pub(crate) fn kinds_text(&self) -> String {
        self.kinds
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What one request fetched.
pub(crate) fn kind(e: &AccessEntry, image: &Image) -> &'static str {
    let tag = image.referrers_tag();
    if e.path.contains("/referrers/") {
        "referrers API"
    } else if e.path.ends_with(&format!("/manifests/{tag}")) {
        "referrers tag index"
    } else if e.path.ends_with(&format!("/manifests/{}", image.signature)) {
        "signature manifest"
    } else if e.path.ends_with(&format!("/blobs/{}", image.envelope)) {
        "envelope blob"
    } else if e.path.contains("/manifests/") {
        "image manifest"
    } else {
        "other"
    }
}

/// Attributes each entry to the image whose subject, signature or envelope digest (or
/// referrers tag, or tag) it names.
pub(crate) fn attribute<'a>(images: &[Image], entries: &[&'a AccessEntry]) -> Attribution<'a> {
    let mut index: BTreeMap<String, &Image> = BTreeMap::new();
    for image in images {
        for name in [
            image.subject.clone(),
            image.referrers_tag(),
            image.signature.clone(),
            image.envelope.clone(),
            image.tag.clone(),
        ] {
            index.insert(name, image);
        }
    }
    let mut out = Attribution {
        by_subject: BTreeMap::new(),
        kinds: BTreeMap::new(),
        unattributed: Vec::new(),
    };
    for e in entries {
        let last = e.path.rsplit('/').next().unwrap_or_default();
        let last = last.split('?').next().unwrap_or_default();
        match index.get(last) {
            Some(image) => {
                *out.by_subject.entry(image.subject.clone()).or_default() += 1;
                let k = kind(e, image);
                let label = match (e.method.as_str(), k) {
                    ("HEAD", "image manifest") => "image manifest (HEAD)",
                    _ => k,
                };
                *out.kinds.entry(label).or_default() += 1;
            }
            None => out.unattributed.push(e),
        }
    }
    out
}
