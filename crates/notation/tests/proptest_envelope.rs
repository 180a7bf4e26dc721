//! `envelope::parse` (and the checks that follow it) never panic, on arbitrary bytes and on
//! mutations of real vectors, for both media types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use imagegate_notation::envelope::{self, COSE_MEDIA_TYPE, JWS_MEDIA_TYPE};
use imagegate_notation::limits::Limits;
use proptest::prelude::*;

fn vector(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation/");
    std::fs::read(format!("{dir}{name}")).unwrap()
}

/// Parse, and when that succeeds, run the signature and chain checks too.
fn exercise(bytes: &[u8], media_type: &str) {
    if let Ok(env) = envelope::parse(bytes, media_type, &Limits::DEFAULT) {
        let _ = env.verify_signature();
        let _ = imagegate_notation::cert::validate_signing_chain(env.cert_chain());
    }
}

/// A mutation: overwrite, insert or delete bytes at positions derived from the seeds.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match *m {
            Mutation::Set(i, b) => bytes[i % len] = b,
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Delete(i) => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes, JWS_MEDIA_TYPE);
        exercise(&bytes, COSE_MEDIA_TYPE);
    }

    #[test]
    fn cbor_prefixed_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut tagged = vec![0xd2, 0x84];
        tagged.extend(bytes);
        exercise(&tagged, COSE_MEDIA_TYPE);
    }

    #[test]
    fn mutated_jws_vector_never_panics(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let bytes = apply(vector("jws-ca-valid-chain-ps384.json"), &mutations);
        exercise(&bytes, JWS_MEDIA_TYPE);
    }

    #[test]
    fn mutated_cose_vector_never_panics(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let bytes = apply(vector("cose-timestamp-valid.sig"), &mutations);
        exercise(&bytes, COSE_MEDIA_TYPE);
    }

    #[test]
    fn mutated_jws_json_strings_never_panic(idx in 0usize..4, text in ".{0,64}") {
        let mut json: serde_json::Value = serde_json::from_slice(&vector("jws-e2e-valid.json")).unwrap();
        let member = ["payload", "protected", "signature", "header"][idx];
        json[member] = serde_json::Value::String(text);
        exercise(&serde_json::to_vec(&json).unwrap(), JWS_MEDIA_TYPE);
    }
}

#[test]
fn unmutated_vectors_still_parse() {
    // Guards the mutation tests against testing only garbage.
    assert!(envelope::parse(
        &vector("jws-ca-valid-chain-ps384.json"),
        JWS_MEDIA_TYPE,
        &Limits::DEFAULT
    )
    .is_ok());
    assert!(envelope::parse(
        &vector("cose-timestamp-valid.sig"),
        COSE_MEDIA_TYPE,
        &Limits::DEFAULT
    )
    .is_ok());
}
