//! Registry requests bounded per registry host, so that keys stalled on one registry wait
//! only for each other (issue 16).
//!
//! Every registry operation of the executor (resolve, referrers, manifest, blob) takes a
//! permit of its registry host (`host[:port]` as written in the reference) for as long as the
//! request runs, and nothing else: no permit is held across hosts or while verifying. A
//! registry that stalls uses up its own host's permits; keys for other registries never see
//! them. Permits are handed out first come, first served (tokio's semaphore is fair), so the
//! keys of concurrent requests to one host are served in arrival order.
//!
//! The table of hosts is bounded: when it grows past [`MAX_IDLE_HOSTS`], hosts with no request
//! in flight are forgotten (a forgotten host starts again with a full set of permits, which is
//! exactly the state it was in). Busy hosts stay, and there are at most as many of those as
//! registry requests in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use imagegate_oci::{Descriptor, Manifest, OciError, Reference, ResolvedManifest};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::registry::Registry;

/// How many hosts the table keeps before it forgets idle ones.
pub(crate) const MAX_IDLE_HOSTS: usize = 1024;

/// One semaphore per registry host.
#[derive(Debug)]
pub(crate) struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    /// At most `per_host` requests at once to any one host (at least one).
    pub(crate) fn new(per_host: usize) -> Self {
        Self {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The semaphore of `host`, created on first use.
    fn semaphore(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = hosts.get(host) {
            return s.clone();
        }
        if hosts.len() >= MAX_IDLE_HOSTS {
            // Only the table holds an idle host's semaphore.
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let s = Arc::new(Semaphore::new(self.per_host));
        hosts.insert(host.to_owned(), s.clone());
        s
    }

    /// Waits for a permit of `host`. `None` only if the semaphore was closed, which never
    /// happens (the request then runs unbounded rather than failing).
    pub(crate) async fn acquire(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        self.semaphore(host).acquire_owned().await.ok()
    }

    /// `op` run while holding a permit of `host` (the future is lazy: nothing is sent before
    /// the permit is held).
    pub(crate) fn holding<'a, T: 'a>(
        &'a self,
        host: &'a str,
        op: BoxFuture<'a, T>,
    ) -> BoxFuture<'a, T> {
        Box::pin(async move {
            let _permit = self.acquire(host).await;
            op.await
        })
    }

    /// Hosts currently in the table.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A [`Registry`] whose requests each hold a permit of their host while they run.
pub(crate) struct Limited {
    pub(crate) inner: Arc<dyn Registry>,
    pub(crate) limits: Arc<HostLimits>,
}

impl Registry for Limited {
    fn resolve<'a>(
        &'a self,
        r: &'a Reference,
    ) -> BoxFuture<'a, Result<ResolvedManifest, OciError>> {
        self.limits.holding(&r.registry, self.inner.resolve(r))
    }

    fn referrers<'a>(
        &'a self,
        subject: &'a Reference,
        artifact_type: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, OciError>> {
        self.limits.holding(
            &subject.registry,
            self.inner.referrers(subject, artifact_type),
        )
    }

    fn fetch_manifest<'a>(
        &'a self,
        r: &'a Reference,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<Manifest, OciError>> {
        self.limits
            .holding(&r.registry, self.inner.fetch_manifest(r, digest))
    }

    fn fetch_blob<'a>(
        &'a self,
        r: &'a Reference,
        desc: &'a Descriptor,
    ) -> BoxFuture<'a, Result<Bytes, OciError>> {
        self.limits
            .holding(&r.registry, self.inner.fetch_blob(r, desc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_host_does_not_limit_another() {
        let limits = HostLimits::new(2);
        let a1 = limits.acquire("slow.example").await;
        let a2 = limits.acquire("slow.example").await;
        assert!(a1.is_some() && a2.is_some());
        // The slow host is out of permits...
        assert_eq!(limits.semaphore("slow.example").available_permits(), 0);
        // ...and the healthy one has all of its own.
        let b = limits.acquire("good.example:5000").await;
        assert!(b.is_some());
        assert_eq!(limits.semaphore("good.example:5000").available_permits(), 1);
        drop(a1);
        assert_eq!(limits.semaphore("slow.example").available_permits(), 1);
    }

    #[tokio::test]
    async fn an_operation_runs_only_while_it_holds_its_hosts_permit() {
        let limits = Arc::new(HostLimits::new(1));
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let run = |host: &'static str| {
            let (limits, started, release) = (limits.clone(), started.clone(), release.clone());
            tokio::spawn(async move {
                let op = Box::pin(async {
                    started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    release.notified().await;
                });
                limits.holding(host, op).await;
            })
        };
        let count = || started.load(std::sync::atomic::Ordering::SeqCst);
        let until = |n: usize| async move {
            for _ in 0..10_000 {
                if count() >= n {
                    return;
                }
                tokio::task::yield_now().await;
            }
            panic!("{n} operations never started");
        };
        let slow = [run("slow.example"), run("slow.example")];
        let good = run("good.example:5000");
        until(2).await;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        // One operation of the slow host (its only permit) and the other host's.
        assert_eq!(count(), 2);
        // Releasing the first two lets the waiting one start.
        release.notify_waiters();
        until(3).await;
        release.notify_waiters();
        good.await.unwrap();
        for task in slow {
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn idle_hosts_are_forgotten_busy_ones_kept() {
        let limits = HostLimits::new(1);
        let busy = limits.acquire("busy.example").await;
        for i in 0..MAX_IDLE_HOSTS * 3 {
            drop(limits.acquire(&format!("h{i}.example")).await);
        }
        assert!(limits.len() <= MAX_IDLE_HOSTS, "{}", limits.len());
        // The busy host kept its semaphore: its one permit is still taken.
        assert_eq!(limits.semaphore("busy.example").available_permits(), 0);
        drop(busy);
        assert_eq!(limits.semaphore("busy.example").available_permits(), 1);
    }
}
