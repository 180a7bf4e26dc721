//! `POST /ratify/gatekeeper/v1/verify` and `/mutate`: thin handlers around the dispatcher.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::{MUTATE_PATH, VERIFY_PATH};
use crate::body::{check_content_type, parse_request, read_bounded};
use crate::config::Limits;
use crate::dispatch::{Dispatcher, Operation};
use crate::metrics::Metrics;
use crate::rescue::RequestError;
use crate::trace::TraceIds;
use crate::wire::{render_items, Answer};

/// What the provider handlers share.
pub(crate) struct ProviderState {
    pub(crate) dispatcher: Dispatcher,
    pub(crate) metrics: Metrics,
    pub(crate) trace_ids: TraceIds,
    pub(crate) limits: Limits,
}

/// Registers the two endpoints, a 405 for other methods on them and a 404 elsewhere.
pub(crate) fn configure(state: web::Data<ProviderState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .service(
                web::resource(VERIFY_PATH)
                    .route(web::post().to(verify))
                    .default_service(web::to(wrong_method_verify)),
            )
            .service(
                web::resource(MUTATE_PATH)
                    .route(web::post().to(mutate))
                    .default_service(web::to(wrong_method_mutate)),
            )
            .default_service(web::to(not_found));
    }
}

async fn verify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ProviderState>,
) -> HttpResponse {
    serve(Operation::Verify, req, payload, state).await
}

async fn mutate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ProviderState>,
) -> HttpResponse {
    serve(Operation::Mutate, req, payload, state).await
}

async fn wrong_method_verify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ProviderState>,
) -> HttpResponse {
    wrong_method(Operation::Verify, &req, payload, &state)
}

async fn wrong_method_mutate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ProviderState>,
) -> HttpResponse {
    wrong_method(Operation::Mutate, &req, payload, &state)
}

fn wrong_method(
    op: Operation,
    req: &HttpRequest,
    payload: web::Payload,
    state: &ProviderState,
) -> HttpResponse {
    let method = req.method().to_string();
    refuse(
        op,
        state,
        &RequestError::MethodNotAllowed { method },
        payload,
    )
}

async fn not_found(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ProviderState>,
) -> HttpResponse {
    let path: String = req.path().chars().take(100).collect();
    refuse(
        Operation::Verify,
        &state,
        &RequestError::NotFound { path },
        payload,
    )
}

/// One request: trace ID, span, body, keys, response, metrics.
async fn serve(
    op: Operation,
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<ProviderState>,
) -> HttpResponse {
    let arrived = Instant::now();
    let trace_id = state.trace_ids.pick(req.headers());
    let span = tracing::info_span!("request", trace_id = %trace_id, op = op.name());
    async move {
        let result = items(op, &req, &mut payload, &state, &trace_id, arrived).await;
        let elapsed = arrived.elapsed();
        match op {
            Operation::Verify => state.metrics.observe_verification_request(elapsed),
            Operation::Mutate => state.metrics.observe_mutation_request(elapsed),
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
                HttpResponse::Ok()
                    .content_type(ContentType::json())
                    .body(render_items(&answers, op.idempotent()))
            }
            Err(err) => refuse(op, &state, &err, payload),
        }
    }
    .instrument(span)
    .await
}

async fn items(
    op: Operation,
    req: &HttpRequest,
    payload: &mut web::Payload,
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
    op: Operation,
    state: &ProviderState,
    err: &RequestError,
    unread: web::Payload,
) -> HttpResponse {
    tracing::warn!(code = err.code(), error = %err, "request refused");
    state.metrics.inc_system_error(err.code(), "");
    err.response(op.idempotent(), unread)
}
