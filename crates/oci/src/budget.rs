//! The budget of registry content held in memory at once, shared by every clone of a
//! [`crate::RegistryClient`].
//!
//! A fetch reserves the size it may read (the descriptor size of a blob, the declared or
//! capped length of a manifest) before it reads a byte; the reservation lives inside the
//! returned [`Bytes`] and is given back when the last clone of those bytes is dropped, so
//! content waiting for verification (or held by a cache) still counts. When the budget is
//! spent a fetch waits, up to its operation deadline, and then fails with
//! [`OciError::BudgetExhausted`] — that key fails, never the process.
//!
//! Two levels: one registry host may hold at most its share of the budget, so one hostile
//! registry cannot take the bytes a healthy registry's keys need.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::OciError;
use crate::transport::Ctx;

/// Most hosts with their own share remembered; idle ones are pruned beyond this.
const MAX_HOSTS: usize = 1024;

/// The shared byte budget.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    global: Arc<Semaphore>,
    total: u64,
    per_host: u64,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Bytes reserved from the budget; given back on drop (or in part by [`Reservation::shrink`]).
#[derive(Debug)]
pub(crate) struct Reservation {
    host: Option<OwnedSemaphorePermit>,
    global: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    /// Keeps only `keep` bytes reserved, giving the rest back.
    pub(crate) fn shrink(&mut self, keep: u64) {
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        for permit in [&mut self.host, &mut self.global].into_iter().flatten() {
            let excess = permit.num_permits().saturating_sub(keep);
            if excess > 0 {
                drop(permit.split(excess));
            }
        }
    }
}

impl ByteBudget {
    /// A budget of `total` bytes of which one host may hold `per_host` (at most `total`).
    pub(crate) fn new(total: u64, per_host: u64) -> Self {
        let total = total.clamp(1, u64::from(u32::MAX));
        let per_host = per_host.clamp(1, total);
        Self {
            global: Arc::new(Semaphore::new(to_usize(total))),
            total,
            per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Bytes not reserved right now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> u64 {
        self.global.available_permits() as u64
    }

    /// Reserves `bytes` for `ctx`'s registry, waiting up to `ctx.deadline`.
    pub(crate) async fn reserve(&self, ctx: &Ctx, bytes: u64) -> Result<Reservation, OciError> {
        let exhausted = |waited: bool| OciError::BudgetExhausted {
            op: ctx.op,
            reference: ctx.reference.clone(),
            wanted: bytes,
            budget: self.per_host.min(self.total),
            waited,
        };
        if bytes == 0 {
            return Ok(Reservation {
                host: None,
                global: None,
            });
        }
        if bytes > self.per_host {
            return Err(exhausted(false));
        }
        let n = u32::try_from(bytes).map_err(|_| exhausted(false))?;
        let host = self.host_semaphore(&ctx.registry);
        let wait = async {
            let h = host.acquire_many_owned(n).await.ok()?;
            let g = self.global.clone().acquire_many_owned(n).await.ok()?;
            Some((h, g))
        };
        match tokio::time::timeout_at(ctx.deadline, wait).await {
            Ok(Some((h, g))) => Ok(Reservation {
                host: Some(h),
                global: Some(g),
            }),
            _ => Err(exhausted(true)),
        }
    }

    fn host_semaphore(&self, host: &str) -> Arc<Semaphore> {
        let Ok(mut map) = self.hosts.lock() else {
            // A poisoned map only loses the per-host split; the global bound still holds.
            return Arc::new(Semaphore::new(to_usize(self.per_host)));
        };
        if map.len() >= MAX_HOSTS && !map.contains_key(host) {
            let share = to_usize(self.per_host);
            map.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < share);
        }
        map.entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(to_usize(self.per_host))))
            .clone()
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS)
}

/// Content read under a reservation: the bytes keep the reservation until they are dropped.
struct Held {
    data: BytesMut,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// Freezes `data` into [`Bytes`] that give `reservation` back when the last clone is dropped,
/// keeping only as much reserved as was read.
pub(crate) fn hold(data: BytesMut, mut reservation: Reservation) -> Bytes {
    reservation.shrink(data.capacity() as u64);
    Bytes::from_owner(Held {
        data,
        _reservation: reservation,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::Operation;
    use tokio::time::Instant;

    fn ctx(host: &str, within: Duration) -> Ctx {
        Ctx {
            op: Operation::FetchBlob,
            reference: format!("{host}/a@sha256:00"),
            registry: host.into(),
            scope: "repository:a:pull".into(),
            deadline: Instant::now() + within,
            budget: within,
            request_timeout: within,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_then_fails_and_is_given_back_on_drop() {
        let b = ByteBudget::new(100, 60);
        let first = b
            .reserve(&ctx("a", Duration::from_secs(1)), 60)
            .await
            .unwrap();
        // The host's share is spent: the next one waits to its deadline and fails.
        let err = b
            .reserve(&ctx("a", Duration::from_secs(1)), 10)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                OciError::BudgetExhausted {
                    waited: true,
                    wanted: 10,
                    ..
                }
            ),
            "{err}"
        );
        // Another host still has the rest of the budget.
        let other = b
            .reserve(&ctx("b", Duration::from_secs(1)), 40)
            .await
            .unwrap();
        assert_eq!(b.available(), 0);
        // Bytes that hold a reservation give it back when the last clone goes.
        let bytes = hold(BytesMut::from(&[7u8; 40][..]), other);
        let clone = bytes.clone();
        drop(bytes);
        assert_eq!(b.available(), 0);
        drop(clone);
        assert_eq!(b.available(), 40);
        drop(first);
        assert_eq!(b.available(), 100);
        // More than one host's share can never fit: refused at once.
        let err = b
            .reserve(&ctx("a", Duration::from_secs(1)), 61)
            .await
            .unwrap_err();
        assert!(
            matches!(err, OciError::BudgetExhausted { waited: false, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_waiting_fetch_proceeds_when_bytes_are_given_back() {
        let b = Arc::new(ByteBudget::new(100, 100));
        let held = b
            .reserve(&ctx("a", Duration::from_secs(30)), 80)
            .await
            .unwrap();
        let b2 = b.clone();
        let waiter =
            tokio::spawn(async move { b2.reserve(&ctx("a", Duration::from_secs(30)), 50).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        let mut got = waiter.await.unwrap().unwrap();
        got.shrink(5);
        assert_eq!(b.available(), 95);
    }
}
