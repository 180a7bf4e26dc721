//! Fuzz the JWS envelope parser and the checks that follow a successful parse.
#![no_main]

use imagegate_notation::envelope::{self, JWS_MEDIA_TYPE};
use imagegate_notation::limits::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = envelope::parse(data, JWS_MEDIA_TYPE, &Limits::DEFAULT) {
        let _ = env.verify_signature();
        let _ = imagegate_notation::payload::Payload::from_json(env.payload());
    }
});
