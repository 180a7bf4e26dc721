//! Token cache per (identity, scope): single-flight fetches, bounded retries on transient
//! failures, refresh ahead of expiry in the background so callers never wait for a refresh
//! while their token is still valid.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::AzureError;
use crate::identity::{AccessToken, TokenCredential};

/// Retry and refresh settings.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per fetch (first try included).
    pub max_attempts: u32,
    /// First wait between attempts (doubled each time) when Azure gives no `Retry-After`.
    pub initial_backoff: Duration,
    /// Longest single wait, `Retry-After` included.
    pub max_wait: Duration,
    /// Refresh this long before expiry (at most half the token's lifetime).
    pub refresh_margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_wait: Duration::from_secs(10),
            refresh_margin: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// When `t` should be replaced.
    pub fn refresh_point(&self, t: &AccessToken) -> Instant {
        t.expires_at - self.refresh_margin.min(t.lifetime / 2)
    }

    /// Runs `attempt` until it succeeds, fails for good, or attempts run out.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, AzureError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AzureError>>,
    {
        let mut backoff = self.initial_backoff;
        let mut n = 0;
        loop {
            n += 1;
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && n < self.max_attempts.max(1) => {
                    let wait = e.retry_after().unwrap_or(backoff);
                    if wait > self.max_wait {
                        return Err(e);
                    }
                    tracing::debug!(attempt = n, ?wait, error = %e, "azure: transient failure, retrying");
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.max_wait);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[derive(Default)]
struct Slot {
    token: Mutex<Option<AccessToken>>,
    gate: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
    used: AtomicBool,
}

impl Slot {
    fn current(&self) -> Option<AccessToken> {
        self.token.lock().ok()?.clone()
    }
    fn set(&self, t: Option<AccessToken>) {
        if let Ok(mut g) = self.token.lock() {
            *g = t;
        }
    }
}

struct Inner {
    credential: Arc<dyn TokenCredential>,
    policy: RetryPolicy,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    fetches: AtomicU64,
}

/// Tokens of one identity, per scope.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<Inner>,
}

impl TokenCache {
    /// A cache in front of `credential`.
    pub fn new(credential: Arc<dyn TokenCredential>, policy: RetryPolicy) -> Self {
        Self {
            inner: Arc::new(Inner {
                credential,
                policy,
                slots: Mutex::new(HashMap::new()),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The identity, for messages.
    pub fn identity(&self) -> String {
        self.inner.credential.describe()
    }

    /// Token requests sent to the identity endpoint so far (attempts included).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    fn slot(&self, scope: &str) -> Arc<Slot> {
        let mut map = match self.inner.slots.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(scope.to_owned()).or_default().clone()
    }

    /// A valid token for `scope`: the cached one, or one fetched now (concurrent callers
    /// share one fetch). Past its refresh point a still-valid token is returned at once
    /// while a background task replaces it.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, AzureError> {
        let slot = self.slot(scope);
        slot.used.store(true, Ordering::Relaxed);
        let now = Instant::now();
        if let Some(t) = slot.current().filter(|t| t.expires_at > now) {
            if now >= self.inner.policy.refresh_point(&t) {
                self.spawn_refresher(scope, &slot, Duration::ZERO);
            }
            return Ok(t);
        }
        let _turn = slot.gate.lock().await;
        if let Some(t) = slot.current().filter(|t| t.expires_at > Instant::now()) {
            return Ok(t);
        }
        let t = fetch(&self.inner, scope).await?;
        slot.set(Some(t.clone()));
        let delay = self
            .inner
            .policy
            .refresh_point(&t)
            .saturating_duration_since(Instant::now());
        self.spawn_refresher(scope, &slot, delay);
        Ok(t)
    }

    /// Drops the cached token for `scope` (the service refused it).
    pub fn invalidate(&self, scope: &str) {
        self.slot(scope).set(None);
    }

    /// Keeps `scope`'s token fresh while it is being used: after `delay`, and then at each
    /// refresh point, fetches a new one. Stops when the cache is dropped, when the token was
    /// not used since the last refresh, or after a failure once the token expired.
    fn spawn_refresher(&self, scope: &str, slot: &Arc<Slot>, delay: Duration) {
        if slot.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (weak, slot, scope) = (Arc::downgrade(&self.inner), slot.clone(), scope.to_owned());
        tokio::spawn(async move {
            refresher(weak, &slot, &scope, delay).await;
            slot.refreshing.store(false, Ordering::Release);
        });
    }
}

async fn refresher(weak: Weak<Inner>, slot: &Slot, scope: &str, mut delay: Duration) {
    loop {
        tokio::time::sleep(delay).await;
        let Some(inner) = weak.upgrade() else { return };
        if !slot.used.swap(false, Ordering::AcqRel) {
            return;
        }
        let _turn = slot.gate.lock().await;
        match fetch(&inner, scope).await {
            Ok(t) => {
                delay = inner
                    .policy
                    .refresh_point(&t)
                    .saturating_duration_since(Instant::now());
                slot.set(Some(t));
                tracing::debug!(identity = %inner.credential.describe(), scope, "azure token refreshed ahead of expiry");
            }
            Err(e) => {
                let remaining = slot
                    .current()
                    .map(|t| t.expires_at.saturating_duration_since(Instant::now()))
                    .unwrap_or_default();
                tracing::warn!(error = %e, "azure token refresh failed; the current token stays in use until it expires");
                if remaining.is_zero() {
                    return;
                }
                slot.used.store(true, Ordering::Relaxed);
                delay = (remaining / 2).clamp(Duration::from_millis(100), Duration::from_secs(30));
            }
        }
    }
}

async fn fetch(inner: &Inner, scope: &str) -> Result<AccessToken, AzureError> {
    inner
        .policy
        .run(|| {
            inner.fetches.fetch_add(1, Ordering::Relaxed);
            inner.credential.request_token(scope)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::BoxFuture;
    use std::sync::atomic::AtomicU32;

    struct Fake {
        calls: AtomicU32,
        fail_first: u32,
        lifetime: Duration,
    }

    impl TokenCredential for Fake {
        fn describe(&self) -> String {
            "fake".into()
        }
        fn request_token<'a>(
            &'a self,
            _scope: &'a str,
        ) -> BoxFuture<'a, Result<AccessToken, AzureError>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let fail = n < self.fail_first;
            let lifetime = self.lifetime;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if fail {
                    return Err(AzureError::Identity(Box::new(
                        crate::error::IdentityFailure {
                            identity: "fake".into(),
                            scope: "s".into(),
                            endpoint: "e".into(),
                            status: Some(503),
                            aad_codes: vec![],
                            detail: "busy".into(),
                            retry_after: None,
                        },
                    )));
                }
                Ok(AccessToken::new(format!("t{n}"), lifetime))
            })
        }
    }

    fn cache(fail_first: u32, lifetime_s: u64) -> (TokenCache, Arc<Fake>) {
        let fake = Arc::new(Fake {
            calls: AtomicU32::new(0),
            fail_first,
            lifetime: Duration::from_secs(lifetime_s),
        });
        (TokenCache::new(fake.clone(), RetryPolicy::default()), fake)
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let (c, fake) = cache(0, 3600);
        let all = futures_join(&c, 20).await;
        assert!(all.iter().all(|t| t.secret() == "t0"));
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    }

    async fn futures_join(c: &TokenCache, n: usize) -> Vec<AccessToken> {
        let mut tasks = Vec::new();
        for _ in 0..n {
            let c = c.clone();
            tasks.push(tokio::spawn(async move { c.token("s").await.unwrap() }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_boundedly() {
        let (c, fake) = cache(2, 3600);
        assert_eq!(c.token("s").await.unwrap().secret(), "t2");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
        let (c, fake) = cache(5, 3600);
        let err = c.token("s").await.unwrap_err();
        assert!(err.to_string().contains("busy"), "{err}");
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            3,
            "three attempts, then the error"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refreshed_in_background_before_expiry() {
        let (c, fake) = cache(0, 3600);
        assert_eq!(c.token("s").await.unwrap().secret(), "t0");
        // Just before the refresh point (55 min) nothing has happened.
        tokio::time::sleep(Duration::from_secs(54 * 60)).await;
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        assert_eq!(c.token("s").await.unwrap().secret(), "t0");
        // The background task refreshes at the refresh point; callers get the new token.
        tokio::time::sleep(Duration::from_secs(2 * 60)).await;
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        assert_eq!(c.token("s").await.unwrap().secret(), "t1");
        // Unused tokens are not refreshed forever.
        tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
        assert!(fake.calls.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_forces_a_new_fetch() {
        let (c, fake) = cache(0, 3600);
        c.token("s").await.unwrap();
        c.invalidate("s");
        assert_eq!(c.token("s").await.unwrap().secret(), "t1");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        assert_eq!(c.token("other").await.unwrap().secret(), "t2", "per scope");
    }
}
