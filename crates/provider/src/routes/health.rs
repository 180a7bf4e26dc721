//! `GET /healthz` (the process answers) and `GET /readyz` (the engine is ready, not stopping).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::{web, HttpResponse};

use crate::handler::KeyHandler;

/// What the health handlers look at.
pub(crate) struct HealthState {
    pub(crate) handler: Arc<dyn KeyHandler>,
    pub(crate) stopping: Arc<AtomicBool>,
}

/// Registers `/healthz` and `/readyz`.
pub(crate) fn configure(state: web::Data<HealthState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz));
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<HealthState>) -> HttpResponse {
    if state.stopping.load(Ordering::Acquire) {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("shutting down");
    }
    if !state.handler.ready() {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("not ready: configuration or trust material not loaded yet");
    }
    HttpResponse::Ok().content_type("text/plain").body("ok")
}
