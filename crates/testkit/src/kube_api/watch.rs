//! Watches: one JSON event per line on a chunked response. From a resourceVersion the history
//! after it is replayed (410 `Expired` as an in-stream `ERROR` event when it was compacted);
//! without one (or `0`) synthetic `ADDED` events for every object come first. Bookmarks are
//! sent when asked for; the stream ends at `timeoutSeconds`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use serde_json::{json, Value};

use super::http::{Body, Shared};
use super::state::{fields_match, ApiError};

/// Starts a watch and returns its (streaming) response.
pub(crate) fn start(
    shared: Arc<Shared>,
    res: usize,
    ns: Option<String>,
    q: &HashMap<String, String>,
) -> Response<Body> {
    let (mut tx, body) =
        http_body_util::channel::Channel::<Bytes, std::convert::Infallible>::new(16);
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let selector = q.get("fieldSelector").cloned().unwrap_or_default();
    let from: Option<u64> = q
        .get("resourceVersion")
        .filter(|v| !v.is_empty() && *v != "0")
        .and_then(|v| v.parse().ok());
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = shared.changed.clone();
        let (mut last, initial) = {
            let state = shared.state.lock().unwrap();
            match from {
                Some(rv) => (rv, Vec::new()),
                None => {
                    let mut objs = state.list(res, ns.as_deref());
                    objs.retain(|o| fields_match(o, &selector));
                    (state.rv, objs)
                }
            }
        };
        for o in initial {
            if send(&mut tx, &json!({"type": "ADDED", "object": o}))
                .await
                .is_err()
            {
                return;
            }
        }
        let mut bookmark_tick = tokio::time::interval(shared.bookmark_every);
        bookmark_tick.tick().await;
        loop {
            // Everything after `last`, or 410 if it was compacted away.
            let (events, expired, kind, api_version, now) = {
                let state = shared.state.lock().unwrap();
                let r = &state.resources[res];
                let expired = (last < state.compacted).then_some(state.compacted);
                let events: Vec<(u64, Value)> = state
                    .history
                    .iter()
                    .filter(|c| c.rv > last && c.resource == res)
                    .filter(|c| {
                        ns.as_deref()
                            .is_none_or(|n| c.object["metadata"]["namespace"] == n)
                    })
                    .filter(|c| fields_match(&c.object, &selector))
                    .map(|c| (c.rv, json!({"type": c.kind, "object": c.object})))
                    .collect();
                (events, expired, r.kind.clone(), r.api_version(), state.rv)
            };
            if let Some(compacted) = expired {
                let e = ApiError::new(
                    410,
                    "Expired",
                    format!("too old resource version: {last} ({compacted})"),
                );
                let _ = send(&mut tx, &json!({"type": "ERROR", "object": e.status()})).await;
                return;
            }
            for (rv, ev) in events {
                if send(&mut tx, &ev).await.is_err() {
                    return;
                }
                last = rv;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                r = changed.changed() => if r.is_err() { return },
                _ = bookmark_tick.tick(), if bookmarks => {
                    let ev = json!({"type": "BOOKMARK", "object": {"apiVersion": api_version,
                        "kind": kind, "metadata": {"resourceVersion": now.to_string()}}});
                    if send(&mut tx, &ev).await.is_err() {
                        return;
                    }
                    last = last.max(now);
                }
            }
        }
    });
    let mut r = Response::new(body.boxed());
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn send(
    tx: &mut http_body_util::channel::Sender<Bytes, std::convert::Infallible>,
    ev: &Value,
) -> Result<(), ()> {
    let mut line = ev.to_string();
    line.push('\n');
    tx.send_data(Bytes::from(line)).await.map_err(|_| ())
}
