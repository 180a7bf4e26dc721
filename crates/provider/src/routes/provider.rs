//! `POST /ratify/gatekeeper/v1/verify` and `/mutate`: thin handlers around the dispatcher.
//!
//! The provider application is one service that routes on path and method itself: it takes
//! the request and its body as they come, without actix's router, extractors or app-data
//! lookups, which on the warm path (a cached verdict answered in a few microseconds) were a
//! measurable share of the time.

use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::{fn_service, Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::ContentType;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::{MUTATE_PATH, V2_MUTATE_PATH, V2_VERIFY_PATH, VERIFY_PATH};
use crate::body::{check_content_type, parse_request, read_bounded};
use crate::config::RequestLimits;
use crate::dispatch::{Dispatcher, Endpoint};
use crate::metrics::Metrics;
use crate::rescue::RequestError;
use crate::trace::TraceIds;
use crate::wire::{render_items, Answer};

/// What the provider handlers share.
pub(crate) struct ProviderState {
    pub(crate) dispatcher: Dispatcher,
    pub(crate) metrics: Metrics,
    pub(crate) trace_ids: TraceIds,
    pub(crate) limits: RequestLimits,
}

/// Registers the provider application on one worker: the two endpoints, a 405 for other
/// methods on them and a 404 elsewhere.
pub(crate) fn configure(
    state: Arc<ProviderState>,
) -> impl FnOnce(&mut actix_web::web::ServiceConfig) {
    // One reference-counted handle per worker thread: cloning it per request touches no
    // cache line another worker writes.
    let state = Rc::new(state);
    move |cfg| {
        cfg.default_service(fn_service(move |req: ServiceRequest| {
            let state = Rc::clone(&state);
            async move { Ok::<_, actix_web::Error>(route(&state, req).await) }
        }));
    }
}

/// Picks the endpoint for `req` and answers it.
async fn route(state: &ProviderState, req: ServiceRequest) -> ServiceResponse {
    let op = match req.match_info().as_str() {
        VERIFY_PATH => Some(Endpoint::Verify),
        MUTATE_PATH => Some(Endpoint::Mutate),
        V2_VERIFY_PATH => Some(Endpoint::VerifyV2),
        path if path.starts_with(V2_MUTATE_PATH) => Some(Endpoint::MutateV2),
        _ => None,
    };
    let (req, payload) = req.into_parts();
    if crate::closing::is_closing(&req) {
        return ServiceResponse::new(req, crate::closing::abandon().await);
    }
    let response = match op {
        Some(op) if req.method() == Method::POST => serve(op, &req, payload, state).await,
        Some(op) => {
            let method = req.method().to_string();
            refuse(
                op,
                state,
                &RequestError::MethodNotAllowed { method },
                payload,
            )
        }
        None => {
            let path: String = req.path().chars().take(100).collect();
            let err = RequestError::NotFound { path };
            refuse(Endpoint::Verify, state, &err, payload)
        }
    };
    crate::closing::note(&req, &response);
    ServiceResponse::new(req, response)
}

/// One request: trace ID, span, body, keys, response, metrics.
async fn serve(
    op: Endpoint,
    req: &HttpRequest,
    mut payload: Payload,
    state: &ProviderState,
) -> HttpResponse {
    let arrived = Instant::now();
    let trace_id = state.trace_ids.pick(req.headers());
    let span = tracing::info_span!("request", trace_id = %trace_id, op = op.name());
    async move {
        let result = items(op, req, &mut payload, state, &trace_id, arrived).await;
        let elapsed = arrived.elapsed();
        if op.verifies() {
            state.metrics.observe_verification_request(elapsed);
        } else {
            state.metrics.observe_mutation_request(elapsed);
        }
        match result {
            Ok(answers) => {
                let errors = answers.iter().filter(|a| a.error.is_some()).count();
                tracing::info!(
                    keys = answers.len(),
                    errors,
                    elapsed_ms = elapsed.as_millis() as u64,
                    "request served"
                );
                let body = if op.is_v2() {
                    crate::wire_v2::render_items_v2(&answers, op.idempotent())
                } else {
                    render_items(&answers, op.idempotent())
                };
                HttpResponse::Ok()
                    .content_type(ContentType::json())
                    .body(body)
            }
            Err(err) if op.is_v2() => {
                // Ratify v2 answers a request it cannot read with HTTP 200 and no body.
                tracing::warn!(code = err.code(), error = %err, "request refused");
                state.metrics.inc_system_error(err.code(), "");
                RequestError::response_v2(payload)
            }
            Err(err) => refuse(op, state, &err, payload),
        }
    }
    .instrument(span)
    .await
}

async fn items(
    op: Endpoint,
    req: &HttpRequest,
    payload: &mut Payload,
    state: &ProviderState,
    trace_id: &str,
    arrived: Instant,
) -> Result<Vec<Answer>, RequestError> {
    check_content_type(req.headers())?;
    let limits = &state.limits;
    let body = read_bounded(
        req.headers(),
        payload,
        limits.max_body_bytes,
        arrived,
        limits.body_read_timeout,
    )
    .await?;
    let request = parse_request(&body)?;
    RequestError::check_kind(request.api_version.as_deref(), request.kind.as_deref())?;
    let keys = request.keys;
    if keys.is_empty() {
        return Err(RequestError::NoKeys);
    }
    if keys.len() > limits.max_keys {
        return Err(RequestError::TooManyKeys {
            count: keys.len(),
            limit: limits.max_keys,
        });
    }
    tracing::debug!(keys = keys.len(), "request accepted");
    Ok(state.dispatcher.run(op, keys, trace_id, arrived).await)
}

/// Logs, counts and answers a refused request; `unread` is what is left of its body.
fn refuse(
    op: Endpoint,
    state: &ProviderState,
    err: &RequestError,
    unread: Payload,
) -> HttpResponse {
    tracing::warn!(code = err.code(), error = %err, "request refused");
    state.metrics.inc_system_error(err.code(), "");
    err.response(op.idempotent(), unread)
}
