//! Fuzz the COSE_Sign1 envelope parser (coset decoding plus the Notation header rules).
#![no_main]

use imagegate_notation::envelope::{self, COSE_MEDIA_TYPE};
use imagegate_notation::limits::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = envelope::parse(data, COSE_MEDIA_TYPE, &Limits::DEFAULT) {
        let _ = env.verify_signature();
        let _ = imagegate_notation::payload::Payload::from_json(env.payload());
    }
});
