//! Fuzz the provider's request decoding: a `ProviderRequest` body (Gatekeeper wire type) and
//! the `[namespace]image` keys it carries. Nothing may panic; a decoded request must
//! serialise back to an equal request; a split key must reassemble to the raw key (keys are
//! echoed exactly, so there is no echo form to check); the provider's fast scanner for Gatekeeper's exact request form
//! must read every body it accepts exactly as serde does.
#![no_main]

use imagegate_provider::wire::ProviderRequest;
use imagegate_provider::{scanner_agrees_with_serde, RequestKey};
use libfuzzer_sys::fuzz_target;

/// The key length bound the provider uses by default.
const MAX_KEY_LEN: usize = 4096;

/// Splits one key and checks the split is lossless.
fn check_key(raw: &str) {
    let Ok(key) = RequestKey::parse(raw, MAX_KEY_LEN) else {
        return;
    };
    assert_eq!(key.raw, raw);
    assert!(!key.image.is_empty(), "empty image from {raw:?}");
    let rebuilt = match &key.namespace {
        Some(namespace) => format!("[{namespace}]{}", key.image),
        None if raw.starts_with("[]") => format!("[]{}", key.image),
        None => key.image.clone(),
    };
    assert_eq!(rebuilt, raw, "split {key:?} does not reassemble");
}

fuzz_target!(|data: &[u8]| {
    assert_ne!(
        scanner_agrees_with_serde(data),
        Some(false),
        "the fast scanner and serde disagree on {:?}",
        String::from_utf8_lossy(data)
    );
    if let Ok(text) = std::str::from_utf8(data) {
        check_key(text);
    }
    let Ok(request) = serde_json::from_slice::<ProviderRequest>(data) else {
        return;
    };
    let json = serde_json::to_vec(&request);
    let again = json
        .as_ref()
        .ok()
        .and_then(|j| serde_json::from_slice::<ProviderRequest>(j).ok());
    assert_eq!(again.as_ref(), Some(&request), "round trip of {json:?}");
    let keys = request
        .request
        .and_then(|body| body.keys)
        .unwrap_or_default();
    for raw in keys.iter().take(64) {
        check_key(raw);
    }
});
