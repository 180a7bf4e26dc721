//! The config watcher: polls the files' content hash and reloads on change.

use crate::engine::{Engine, ReloadOutcome};

/// A running watcher. Dropping it stops the task.
#[derive(Debug)]
pub struct WatchHandle {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn spawn(engine: Engine) -> WatchHandle {
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(engine.reload_interval()).await;
            let e = engine.clone();
            match tokio::task::spawn_blocking(move || e.reload()).await {
                Ok(Ok(ReloadOutcome::Unchanged)) => {}
                Ok(Ok(ReloadOutcome::Reloaded { generation })) => {
                    tracing::info!(generation, "configuration reloaded");
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, "new configuration rejected; the previous one stays in force");
                }
                Err(error) => tracing::error!(%error, "configuration reload task failed"),
            }
        }
    });
    WatchHandle { task }
}
