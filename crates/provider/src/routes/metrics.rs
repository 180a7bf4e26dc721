//! `GET /metrics` in the Prometheus text format.

use actix_web::{web, HttpResponse};

use crate::metrics::{Metrics, METRICS_CONTENT_TYPE};

/// Registers `/metrics`.
pub(crate) fn configure(metrics: web::Data<Metrics>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(metrics)
            .route("/metrics", web::get().to(scrape));
    }
}

async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.encode() {
        Ok(body) => HttpResponse::Ok()
            .content_type(METRICS_CONTENT_TYPE)
            .body(body),
        Err(err) => {
            tracing::error!(error = %err, "metrics encoding failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body(err.to_string())
        }
    }
}
