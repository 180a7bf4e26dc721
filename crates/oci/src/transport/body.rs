//! Body reads: refused before reading when the declared length exceeds the cap, stopped as
//! soon as more than the cap arrives, and (for registry content) counted in the byte budget.

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use reqwest::Response;

use super::{describe_reqwest, Ctx};
use crate::budget::{hold, ByteBudget, Reservation};
use crate::error::OciError;

/// Reads a body into memory, refusing before reading when the declared length
/// exceeds `cap` and stopping as soon as more than `cap` bytes arrive. Not counted in
/// the byte budget: for small bodies only (errors, tokens).
pub(crate) async fn read_capped(
    ctx: &Ctx,
    response: Response,
    cap: u64,
) -> Result<Bytes, OciError> {
    let declared = check_declared(ctx, &response, cap)?;
    let initial = declared.unwrap_or(16 * 1024).min(cap).min(1024 * 1024);
    Ok(read_into(ctx, response, cap, declared, initial)
        .await?
        .freeze())
}

/// Reads registry content (a manifest, a referrers page, a blob) like [`read_capped`],
/// first reserving its declared length (or `cap` when undeclared) from the client's byte
/// budget; the returned bytes keep what they use reserved until they are dropped.
pub(crate) async fn read_budgeted(
    ctx: &Ctx,
    response: Response,
    cap: u64,
    budget: &ByteBudget,
) -> Result<Bytes, OciError> {
    let declared = check_declared(ctx, &response, cap)?;
    let reserve = declared.unwrap_or(cap).min(cap);
    let reservation = budget.reserve(ctx, reserve).await?;
    let buf = match declared {
        // The framing ends the body at the declared length; the buffer is allocated once.
        Some(len) => read_into(ctx, response, len, declared, len).await?,
        None => {
            let grown = read_into(ctx, response, cap, None, reserve.min(16 * 1024)).await?;
            // Exactly sized, so that only what is kept stays reserved.
            BytesMut::from(&grown[..])
        }
    };
    Ok(hold(buf, reservation))
}

/// Reads a body of at most `cap` bytes under a reservation made before the request (a
/// blob, whose size the descriptor declares).
pub(crate) async fn read_reserved(
    ctx: &Ctx,
    response: Response,
    cap: u64,
    reservation: Reservation,
) -> Result<Bytes, OciError> {
    let declared = check_declared(ctx, &response, cap)?;
    let buf = read_into(ctx, response, cap, declared, cap).await?;
    Ok(hold(buf, reservation))
}

fn check_declared(ctx: &Ctx, response: &Response, cap: u64) -> Result<Option<u64>, OciError> {
    let declared = declared_length(response.headers());
    match declared {
        Some(len) if len > cap => Err(OciError::TooLarge {
            op: ctx.op,
            reference: ctx.reference.clone(),
            limit: cap,
            actual: Some(len),
        }),
        _ => Ok(declared),
    }
}

async fn read_into(
    ctx: &Ctx,
    mut response: Response,
    cap: u64,
    declared: Option<u64>,
    initial: u64,
) -> Result<BytesMut, OciError> {
    let mut buf = BytesMut::with_capacity(usize::try_from(initial).unwrap_or(0));
    loop {
        let next = tokio::time::timeout_at(ctx.deadline, response.chunk()).await;
        let chunk = match next {
            Err(_) => return Err(ctx.timeout(ctx.budget)),
            Ok(Err(e)) => return Err(map_body_error(ctx, e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(c))) => c,
        };
        if buf.len() as u64 + chunk.len() as u64 > cap {
            return Err(OciError::TooLarge {
                op: ctx.op,
                reference: ctx.reference.clone(),
                limit: cap,
                actual: declared,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn map_body_error(ctx: &Ctx, e: reqwest::Error) -> OciError {
    if e.is_timeout() {
        return ctx.timeout(ctx.request_timeout);
    }
    OciError::Transport {
        op: ctx.op,
        reference: ctx.reference.clone(),
        detail: format!("reading the body failed: {}", describe_reqwest(&e)),
    }
}

/// The `Content-Length` header (reqwest reports 0 for HEAD responses).
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
