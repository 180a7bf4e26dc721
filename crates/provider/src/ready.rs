//! Deadlines that cost nothing when the work is already done.
//!
//! Arming a tokio timer takes a lock on the timer wheel and disarming it another; on the warm
//! path (a body that arrived in one piece, a verdict answered from the cache) the awaited work
//! completes on its first poll, so the timer is armed only when it does not.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use tokio::time::error::Elapsed;
use tokio::time::Instant;

/// Like [`tokio::time::timeout_at`], but polls `work` once before arming the timer: work that
/// is ready at once never touches the timer wheel. As with `timeout_at`, work that is ready is
/// answered even when the deadline has passed.
pub(crate) async fn ready_or_timeout_at<F: Future>(
    deadline: Instant,
    work: F,
) -> Result<F::Output, Elapsed> {
    let mut work = pin!(work);
    let first = poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => tokio::time::timeout_at(deadline, work).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn ready_work_is_answered_even_past_the_deadline() {
        let past = Instant::now();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(ready_or_timeout_at(past, async { 7 }).await.ok(), Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn pending_work_gets_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let slow = tokio::time::sleep(Duration::from_secs(10));
        assert!(ready_or_timeout_at(deadline, slow).await.is_err());
        assert_eq!(Instant::now(), deadline);
        let deadline = Instant::now() + Duration::from_millis(50);
        let quick = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            3
        };
        assert_eq!(ready_or_timeout_at(deadline, quick).await.ok(), Some(3));
    }
}
