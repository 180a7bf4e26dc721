//! Online CRL revocation checking: [`CrlRevocationChecker`].
//!
//! For every certificate of a validated chain except the root, the checker downloads the CRLs
//! named by the certificate's CRL Distribution Points (`http://` URLs only: CRLs are signed,
//! so plain HTTP is the norm and what the Notary Project specification asks for) and judges
//! each with [`imagegate_notation::revocation::crl::evaluate_crl`] against the next
//! certificate of the chain, its issuer. As in notation-go, **every** distribution point must
//! answer: the first revoked answer makes the certificate revoked, and the first failure
//! (download error, timeout, oversized, stale or badly signed CRL, …) makes it unknown.
//!
//! * The root and certificates without OCSP/CRL URLs are non-revokable.
//! * Certificates with only OCSP URLs (or only non-HTTP CRL URLs) are unknown: OCSP is not
//!   supported. Delta CRLs are not supported either (unknown).
//! * Downloads of one chain run concurrently, each bounded by the fetch deadline (default
//!   [`DEFAULT_FETCH_TIMEOUT`]) and a size cap ([`MAX_CRL_SIZE`]); the whole check never waits
//!   longer than the deadline plus a short grace period.
//! * A CRL that answered is cached by URL until its `nextUpdate` (by the injected clock); the
//!   cache is bounded in bytes.
//! * A distribution point whose download failed (refused, timed out, HTTP error, oversized) is
//!   not asked again for [`DEFAULT_FAILURE_BACKOFF`]: its certificates are unknown meanwhile, so
//!   a blackholed CRL server costs one deadline per back-off period instead of one per
//!   verification (each of which holds a verification slot while it waits).
//!
//! [`RevocationChecker::check`] is synchronous. The engine calls it on Tokio's blocking pool
//! (`spawn_blocking`); the downloads are spawned on the current runtime and awaited with a
//! bounded wait. Without a runtime every checked certificate is unknown.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use imagegate_notation::dn::DistinguishedName;
use imagegate_notation::revocation::crl::{
    crl_next_update, crl_urls, evaluate_crl, CrlAnswer, MAX_CRL_SIZE,
};
use imagegate_notation::revocation::{
    has_revocation_urls, CertPurpose, CertRevocation, RevocationChecker, RevocationMethod,
    RevocationStatus,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use crate::clock::Clock;

/// Default deadline of one CRL download (connect, request and body).
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Default bound of the CRL cache, in bytes of cached CRLs (16 MiB: public CAs' CRLs for code
/// signing are typically well under 1 MiB).
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Most CRL distribution point URLs checked for one certificate; a certificate with more is
/// unknown (real certificates carry one or two).
pub const MAX_URLS_PER_CERT: usize = 4;

/// Default time a distribution point that failed to download is not asked again.
pub const DEFAULT_FAILURE_BACKOFF: Duration = Duration::from_secs(30);

/// Most distribution points remembered as failing.
const MAX_FAILURES: u64 = 1024;

/// How long after the fetch deadline the checker still waits for the download task to report.
const GRACE: Duration = Duration::from_millis(500);

/// Upper bound of a cache entry's life whatever its `nextUpdate` says.
const CACHE_MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Redirects followed per download.
const MAX_REDIRECTS: usize = 3;

/// A CRL that answered once, kept until its `nextUpdate`.
#[derive(Debug)]
struct CachedCrl {
    der: Bytes,
    next_update: OffsetDateTime,
}

/// Why a CRL could not be downloaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum FetchError {
    /// No Tokio runtime to run the download on.
    #[error("no async runtime is available to download the CRL")]
    NoRuntime,
    /// The HTTP client could not be built.
    #[error("the HTTP client for CRL downloads could not be built")]
    NoClient,
    /// The download did not finish within the deadline.
    #[error("the CRL download did not finish within {0:?}")]
    Timeout(Duration),
    /// The request failed (connection refused, reset, …).
    #[error("the CRL request failed: {0}")]
    Request(String),
    /// The server answered with a non-success status.
    #[error("the CRL server answered HTTP {0}")]
    Status(u16),
    /// The body is larger than the cap.
    #[error("the CRL is larger than {0} bytes")]
    TooLarge(usize),
}

/// Checks certificates against the CRLs of their distribution points, over HTTP, with a
/// bounded cache. See the [module documentation](self).
pub struct CrlRevocationChecker {
    clock: Arc<dyn Clock>,
    fetch_timeout: Duration,
    max_crl_bytes: usize,
    client: OnceLock<Option<reqwest::Client>>,
    cache: moka::sync::Cache<String, Arc<CachedCrl>>,
    /// Distribution points whose download failed recently, with the failure: not asked again
    /// until the back-off has passed, so an unreachable or stalled server (say, egress blocked
    /// by a firewall) costs one deadline per back-off period, not one per verification.
    failures: Option<moka::sync::Cache<String, FetchError>>,
}

impl fmt::Debug for CrlRevocationChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlRevocationChecker")
            .field("fetch_timeout", &self.fetch_timeout)
            .field("max_crl_bytes", &self.max_crl_bytes)
            .field("cached_crls", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl CrlRevocationChecker {
    /// A checker reading the time from `clock`, with the default deadline
    /// ([`DEFAULT_FETCH_TIMEOUT`]), size cap ([`MAX_CRL_SIZE`]) and cache bound
    /// ([`DEFAULT_CACHE_BYTES`]).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            max_crl_bytes: MAX_CRL_SIZE,
            client: OnceLock::new(),
            cache: build_cache(DEFAULT_CACHE_BYTES),
            failures: build_failures(DEFAULT_FAILURE_BACKOFF),
        }
    }

    /// Sets how long a distribution point whose download failed is not asked again (its
    /// certificates are "unknown" meanwhile); zero asks again every time.
    pub fn with_failure_backoff(mut self, backoff: Duration) -> Self {
        self.failures = build_failures(backoff);
        self
    }

    /// Sets the deadline of one download (connect, request and body).
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Sets the largest CRL downloaded, in bytes (at most [`MAX_CRL_SIZE`]).
    pub fn with_max_crl_bytes(mut self, bytes: usize) -> Self {
        self.max_crl_bytes = bytes.min(MAX_CRL_SIZE);
        self
    }

    /// Sets the bound of the CRL cache, in bytes (0 disables caching). Drops cached CRLs.
    pub fn with_cache_bytes(mut self, bytes: u64) -> Self {
        self.cache = build_cache(bytes);
        self
    }

    /// The download deadline in force.
    pub fn fetch_timeout(&self) -> Duration {
        self.fetch_timeout
    }

    /// The HTTP client, built on first use (`None` if it cannot be built).
    fn client(&self) -> Option<reqwest::Client> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .user_agent(concat!("imagegate/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(self.fetch_timeout)
                    .timeout(self.fetch_timeout)
                    .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
                    .build()
                    .map_err(|e| tracing::error!(error = %e, "cannot build the CRL HTTP client"))
                    .ok()
            })
            .clone()
    }

    /// A cached CRL for `url` that is still fresh at `now`.
    fn cached(&self, url: &str, now: OffsetDateTime) -> Option<Bytes> {
        let entry = self.cache.get(url)?;
        if now < entry.next_update {
            Some(entry.der.clone())
        } else {
            self.cache.invalidate(url);
            None
        }
    }

    /// Caches a CRL that answered, until its `nextUpdate`.
    fn remember(&self, url: &str, der: Bytes) {
        if let Some(next_update) = crl_next_update(&der) {
            self.cache
                .insert(url.to_owned(), Arc::new(CachedCrl { der, next_update }));
        }
    }

    /// Downloads `urls` concurrently on the current runtime, waiting at most the deadline
    /// plus [`GRACE`] in total.
    fn fetch_all(&self, urls: Vec<String>) -> HashMap<String, Result<Bytes, FetchError>> {
        if urls.is_empty() {
            return HashMap::new();
        }
        let fail_all = |urls: Vec<String>, e: FetchError| -> HashMap<_, _> {
            urls.into_iter().map(|u| (u, Err(e.clone()))).collect()
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return fail_all(urls, FetchError::NoRuntime);
        };
        let Some(client) = self.client() else {
            return fail_all(urls, FetchError::NoClient);
        };
        let (timeout, max) = (self.fetch_timeout, self.max_crl_bytes);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let to_fetch = urls.clone();
        let task = handle.spawn(async move {
            let downloads = to_fetch.into_iter().map(|url| {
                let client = client.clone();
                async move {
                    let result = tokio::time::timeout(timeout, download(&client, &url, max))
                        .await
                        .unwrap_or(Err(FetchError::Timeout(timeout)));
                    (url, result)
                }
            });
            let results = futures_util::future::join_all(downloads).await;
            // The receiver may have given up waiting; nothing to do then.
            let _ = tx.send(results);
        });
        match rx.recv_timeout(timeout.saturating_add(GRACE)) {
            Ok(results) => results.into_iter().collect(),
            Err(_) => {
                task.abort();
                fail_all(urls, FetchError::Timeout(timeout))
            }
        }
    }

    /// Judges one certificate against the CRLs of all its distribution points.
    fn judge(
        &self,
        cert: &CertificateDer<'static>,
        issuer: &CertificateDer<'static>,
        urls: &[String],
        crls: &HashMap<String, (Result<Bytes, FetchError>, bool)>,
        now: OffsetDateTime,
        authentic_signing_time: Option<OffsetDateTime>,
    ) -> RevocationStatus {
        for url in urls {
            let (der, fresh_download) = match crls.get(url) {
                Some((Ok(der), fresh)) => (der, *fresh),
                Some((Err(e), _)) => {
                    tracing::warn!(url = %url, error = %e, "CRL download failed; revocation status unknown");
                    return RevocationStatus::Unknown;
                }
                None => return RevocationStatus::Unknown,
            };
            match evaluate_crl(cert, issuer, der, now, authentic_signing_time) {
                Ok(answer) => {
                    if fresh_download {
                        self.remember(url, der.clone());
                    }
                    if let CrlAnswer::Revoked { .. } = answer {
                        return RevocationStatus::Revoked;
                    }
                }
                Err(e) => {
                    tracing::warn!(url = %url, error = %e, "CRL rejected; revocation status unknown");
                    return RevocationStatus::Unknown;
                }
            }
        }
        RevocationStatus::Ok
    }
}

/// What to do for one certificate of the chain.
enum Plan {
    /// A fixed answer, nothing to fetch.
    Fixed(RevocationStatus),
    /// Check the CRLs at these URLs.
    Crl(Vec<String>),
}

/// The plan for certificate `i` of a chain whose root is at `last`.
fn plan(i: usize, last: usize, cert: &CertificateDer<'_>) -> Plan {
    if i == last {
        return Plan::Fixed(RevocationStatus::NonRevokable);
    }
    match has_revocation_urls(cert) {
        Some(false) => Plan::Fixed(RevocationStatus::NonRevokable),
        None => Plan::Fixed(RevocationStatus::Unknown),
        Some(true) => {
            let urls = crl_urls(cert);
            if urls.is_empty() || urls.len() > MAX_URLS_PER_CERT {
                Plan::Fixed(RevocationStatus::Unknown)
            } else {
                Plan::Crl(urls)
            }
        }
    }
}

impl RevocationChecker for CrlRevocationChecker {
    fn check(
        &self,
        chain: &[CertificateDer<'static>],
        _purpose: CertPurpose,
        authentic_signing_time: Option<OffsetDateTime>,
    ) -> Vec<CertRevocation> {
        let now = self.clock.now();
        let last = chain.len().saturating_sub(1);
        let plans: Vec<Plan> = chain
            .iter()
            .enumerate()
            .map(|(i, cert)| plan(i, last, cert))
            .collect();
        let wanted: BTreeSet<&String> = plans
            .iter()
            .flat_map(|p| match p {
                Plan::Crl(urls) => urls.as_slice(),
                Plan::Fixed(_) => &[][..],
            })
            .collect();
        let mut crls: HashMap<String, (Result<Bytes, FetchError>, bool)> = HashMap::new();
        let mut missing = Vec::new();
        for url in wanted {
            if let Some(der) = self.cached(url, now) {
                crls.insert(url.clone(), (Ok(der), false));
            } else if let Some(failure) = self.failures.as_ref().and_then(|f| f.get(url)) {
                crls.insert(url.clone(), (Err(failure), false));
            } else {
                missing.push(url.clone());
            }
        }
        for (url, result) in self.fetch_all(missing) {
            if let (Err(e), Some(failures)) = (&result, &self.failures) {
                failures.insert(url.clone(), e.clone());
            }
            crls.insert(url, (result, true));
        }
        chain
            .iter()
            .zip(&plans)
            .enumerate()
            .map(|(i, (cert, plan))| {
                let (status, method) = match (plan, chain.get(i + 1)) {
                    (Plan::Fixed(status), _) => (*status, RevocationMethod::NotChecked),
                    (Plan::Crl(urls), Some(issuer)) => (
                        self.judge(cert, issuer, urls, &crls, now, authentic_signing_time),
                        RevocationMethod::Crl,
                    ),
                    (Plan::Crl(_), None) => (RevocationStatus::Unknown, RevocationMethod::Crl),
                };
                CertRevocation {
                    subject: subject_of(cert),
                    status,
                    method,
                }
            })
            .collect()
    }
}

/// Go-form subject of a certificate, or an empty string if it cannot be parsed.
fn subject_of(cert: &CertificateDer<'_>) -> String {
    DistinguishedName::from_cert_subject(cert.as_ref())
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// A cache bounded by the bytes of the CRLs it holds.
fn build_cache(max_bytes: u64) -> moka::sync::Cache<String, Arc<CachedCrl>> {
    moka::sync::Cache::builder()
        .max_capacity(max_bytes)
        .weigher(|url: &String, crl: &Arc<CachedCrl>| {
            u32::try_from(url.len().saturating_add(crl.der.len())).unwrap_or(u32::MAX)
        })
        .time_to_live(CACHE_MAX_TTL)
        .build()
}

/// The failure memory for `backoff` (none when zero).
fn build_failures(backoff: Duration) -> Option<moka::sync::Cache<String, FetchError>> {
    (!backoff.is_zero()).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(MAX_FAILURES)
            .time_to_live(backoff)
            .build()
    })
}

/// Downloads one CRL, refusing bodies larger than `max` bytes.
async fn download(client: &reqwest::Client, url: &str, max: usize) -> Result<Bytes, FetchError> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError::Request(imagegate_oci::error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Request(imagegate_oci::error_chain(&e)))?
    {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
