//! The azurekeyvault KMP against the emulated vault: certificates (PEM, PKCS#12, chains),
//! keys (EC, RSA, HSM kinds), disabled versions, version history, rotation, outages and
//! Azure's error answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{World, CLIENT, TENANT};
use imagegate_azure::kmp::KeyVaultSpec;
use imagegate_azure::{AzureError, HttpSettings, KmpRefresher};
use imagegate_testkit::azure::{KeyVault, VaultFailure};
use imagegate_testkit::{Pki, PkiOptions};
use serde_json::{json, Value};

struct Vault {
    w: World,
    http: HttpSettings,
}

fn vault() -> Vault {
    let w = World::new();
    let mut http = w.http.clone();
    http.resolve = vec![w.pod.kv.resolve()];
    Vault { w, http }
}

impl Vault {
    fn kv(&self) -> &KeyVault {
        &self.w.pod.kv
    }

    fn spec(&self, params: Value, refresh: Option<&str>) -> KeyVaultSpec {
        let mut p =
            json!({"vaultURI": self.kv().vault_uri(), "tenantID": TENANT, "clientID": CLIENT});
        for (k, v) in params.as_object().unwrap() {
            p[k] = v.clone();
        }
        KeyVaultSpec::from_parameters(&p, refresh).unwrap()
    }

    fn refresher(&self, spec: KeyVaultSpec) -> KmpRefresher {
        KmpRefresher::new("kmp-akv", spec, &self.w.env, &self.http, self.w.clock()).unwrap()
    }
}

fn pki_with_intermediate() -> Pki {
    Pki::new(&PkiOptions {
        intermediate: true,
        ..PkiOptions::default()
    })
}

#[tokio::test]
async fn certificates_as_pem_and_pkcs12_with_full_chains_and_no_keys() {
    let v = vault();
    let a = pki_with_intermediate();
    let b = Pki::generate();
    v.kv()
        .put_certificate_pem("signer", &a.chain_der(), a.key_der());
    let pfx_version = v
        .kv()
        .put_certificate_pfx("pfx", &b.chain_der(), b.key_der());
    let r = v.refresher(v.spec(
        json!({"certificates": [{"name": "signer"}, {"name": "pfx", "version": pfx_version}]}),
        None,
    ));
    let m = r.refresh().await.unwrap();
    assert_eq!(m.certificates.len(), 2);
    assert_eq!(
        m.certificates[0].chain,
        a.chain_der(),
        "whole chain, stored order"
    );
    assert_eq!(m.certificates[1].chain, b.chain_der());
    assert_eq!(m.certificates[1].version, pfx_version);
    assert_eq!(m.trusted_certificates().len(), 3 + 2);
    assert!(!m.certificates_pem().contains("PRIVATE KEY"));
    // The trust store keeps the CAs (intermediate and root of a, root of b), not the leaves.
    assert_eq!(
        m.trust_store_pem().matches("BEGIN CERTIFICATE").count(),
        2 + 1
    );
    // The first request carried no token: the vault's challenge named the scope.
    let reqs = v.kv().requests();
    assert!(
        reqs[0].starts_with("GET /secrets/signer/?api-version="),
        "{reqs:?}"
    );
    assert_eq!(
        v.w.pod.aad.requests().len(),
        1,
        "one token for the whole refresh"
    );
    let status = r.status().crd_status();
    assert_eq!(status["issuccess"], true);
    assert_eq!(
        status["properties"]["Certificates"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "one entry per certificate in each chain"
    );
    assert_eq!(status["properties"]["Certificates"][0]["Enabled"], "true");
    assert_eq!(status["properties"]["Keys"], json!([]));
}

/// A JWK with the public half of `spki_der` (as Key Vault returns it).
fn jwk_of(spki_der: &[u8], kty: &str) -> Value {
    use base64::Engine as _;
    use x509_parser::public_key::PublicKey;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).unwrap();
    match spki.parsed().unwrap() {
        PublicKey::RSA(k) => {
            json!({"kty": kty, "n": b64(k.modulus), "e": b64(k.exponent), "key_ops": ["verify"]})
        }
        PublicKey::EC(p) => {
            let data = p.data();
            let n = (data.len() - 1) / 2;
            let crv = match n {
                32 => "P-256",
                48 => "P-384",
                _ => "P-521",
            };
            json!({"kty": kty, "crv": crv, "x": b64(&data[1..1 + n]), "y": b64(&data[1 + n..])})
        }
        _ => panic!("unexpected key"),
    }
}

use x509_parser::prelude::FromDer as _;

#[tokio::test]
async fn keys_become_the_same_public_keys_for_ec_rsa_and_hsm_kinds() {
    let v = vault();
    let keys = [
        (
            "ec256",
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            "EC",
        ),
        (
            "ec384hsm",
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
            "EC-HSM",
        ),
        (
            "rsahsm",
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .unwrap(),
            "RSA-HSM",
        ),
    ];
    let mut names = Vec::new();
    for (name, key, kty) in &keys {
        v.kv().put_key(name, jwk_of(&spki(key), kty));
        names.push(json!({"name": name}));
    }
    let disabled = v.kv().put_key(
        "ec256",
        json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
    );
    v.kv().set_key_enabled("ec256", &disabled, false);
    let r = v.refresher(v.spec(json!({"keys": names, "versionHistoryLimit": 0}), None));
    let m = r.refresh().await.unwrap();
    // ec256's latest version is disabled: recorded, not trusted.
    assert!(!m.keys[0].enabled);
    assert_eq!(m.keys[0].version, disabled);
    for (i, (_, key, kty)) in keys.iter().enumerate().skip(1) {
        assert!(m.keys[i].enabled);
        assert_eq!(&m.keys[i].kty, kty);
        assert_eq!(m.keys[i].spki, spki(key), "{kty}");
    }
    // With history, the older enabled version is found and trusted.
    let r = v.refresher(v.spec(
        json!({"keys": [{"name": "ec256"}], "versionHistoryLimit": 2}),
        None,
    ));
    let m = r.refresh().await.unwrap();
    assert_eq!(m.keys.len(), 2);
    assert!(!m.keys[0].enabled);
    assert_eq!(m.keys[1].spki, spki(&keys[0].1));
}

#[tokio::test]
async fn disabled_certificate_versions_are_recorded_and_not_trusted() {
    let v = vault();
    let pkis: Vec<Pki> = (0..3).map(|_| Pki::generate()).collect();
    let versions: Vec<String> = pkis
        .iter()
        .map(|p| {
            v.kv()
                .put_certificate_pem("signer", &p.chain_der(), p.key_der())
        })
        .collect();
    v.kv()
        .set_certificate_enabled("signer", &versions[2], false);
    // Latest only: the latest is disabled → nothing trusted, the disabled version recorded.
    let r = v.refresher(v.spec(json!({"certificates": [{"name": "signer"}]}), None));
    let m = r.refresh().await.unwrap();
    assert_eq!(m.certificates.len(), 1);
    assert!(!m.certificates[0].enabled);
    assert_eq!(m.certificates[0].version, versions[2]);
    assert!(m.trusted_certificates().is_empty());
    assert_eq!(
        r.status().crd_status()["properties"]["Certificates"][0]["Enabled"],
        "false"
    );
    assert!(
        v.kv()
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /certificates/signer/?")),
        "the certificate object was read for its version"
    );

    // History of 3 over a paged listing (page size 2: nextLink followed): two trusted.
    let r = v.refresher(v.spec(
        json!({"certificates": [{"name": "signer"}], "versionHistoryLimit": 3}),
        None,
    ));
    let m = r.refresh().await.unwrap();
    assert_eq!(m.certificates.len(), 3);
    let trusted = m.trusted_certificates();
    assert_eq!(trusted.len(), 4);
    assert!(trusted.contains(&pkis[0].chain_der()[0]) && trusted.contains(&pkis[1].chain_der()[0]));
    assert!(!trusted.contains(&pkis[2].chain_der()[0]));
    assert!(
        v.kv().requests().iter().any(|r| r.contains("skiptoken")),
        "nextLink followed"
    );

    // Pinned to the middle version with a limit of 1: it and one older one.
    let r = v.refresher(v.spec(json!({"certificates": [{"name": "signer", "version": versions[1]}], "versionHistoryLimit": 1}), None));
    let m = r.refresh().await.unwrap();
    let got: Vec<&str> = m.certificates.iter().map(|c| c.version.as_str()).collect();
    assert_eq!(got, vec![versions[1].as_str(), versions[0].as_str()]);
}

#[tokio::test]
async fn rotation_is_picked_up_and_an_outage_keeps_the_last_good_material() {
    let v = vault();
    let (old, new) = (Pki::generate(), Pki::generate());
    v.kv()
        .put_certificate_pem("signer", &old.chain_der(), old.key_der());
    let r =
        Arc::new(v.refresher(v.spec(json!({"certificates": [{"name": "signer"}]}), Some("1h"))));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    r.subscribe(move |m| s.lock().unwrap().push(m.trusted_certificates()));
    r.refresh().await.unwrap();
    v.kv()
        .put_certificate_pem("signer", &new.chain_der(), new.key_der());
    r.refresh().await.unwrap();
    assert_eq!(seen.lock().unwrap().last().unwrap(), &new.chain_der());

    v.kv().set_outage(Some(VaultFailure::unavailable()));
    let e = r.refresh().await.unwrap_err();
    assert!(
        e.to_string().contains("503") && e.to_string().contains("ServiceUnavailable"),
        "{e}"
    );
    let st = r.status();
    assert_eq!(
        st.material.as_ref().unwrap().trusted_certificates(),
        new.chain_der(),
        "last good kept"
    );
    assert!(st
        .last_error
        .as_ref()
        .unwrap()
        .starts_with("KEY_MANAGEMENT_PROVIDER_FAILURE"));
    assert_eq!(st.crd_status()["issuccess"], false);
    assert_eq!(r.counts(), (2, 1));
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "listeners only hear of successes"
    );

    v.kv().set_outage(None);
    r.refresh().await.unwrap();
    assert!(r.status().last_error.is_none());
}

#[tokio::test]
async fn throttling_is_retried_after_retry_after_and_refusals_are_not() {
    let v = vault();
    let p = Pki::generate();
    v.kv()
        .put_certificate_pem("signer", &p.chain_der(), p.key_der());
    let r = v.refresher(v.spec(json!({"certificates": [{"name": "signer"}]}), None));
    v.kv().fail_next(VaultFailure::throttled(1));
    r.refresh().await.unwrap();

    v.kv().fail_next(VaultFailure::forbidden());
    let served = v.kv().served();
    let e = r.refresh().await.unwrap_err();
    assert_eq!(v.kv().served(), served + 1, "403 is not retried");
    assert!(e.to_string().contains("Forbidden"), "{e}");

    let r = v.refresher(v.spec(json!({"certificates": [{"name": "missing"}]}), None));
    let e = r.refresh().await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("404")
            && text.contains("SecretNotFound")
            && text.contains("get secret missing/"),
        "{text}"
    );
}

#[tokio::test]
async fn wrong_tenant_and_foreign_challenges_fail_clearly() {
    let v = vault();
    let p = Pki::generate();
    v.kv()
        .put_certificate_pem("signer", &p.chain_der(), p.key_der());
    let mut spec = v.spec(json!({"certificates": [{"name": "signer"}]}), None);
    spec.tenant_id = "00000000-0000-0000-0000-0000000000aa".into();
    let e = v.refresher(spec).refresh().await.unwrap_err();
    let AzureError::Identity(f) = &e else {
        panic!("{e}")
    };
    assert_eq!(f.aad_codes, vec![90002]);
    assert!(e.to_string().contains("AADSTS90002"), "{e}");

    // The vault reached by address: its challenge's resource domain does not cover the host,
    // so no token is ever sent there.
    let asked = v.w.pod.aad.requests().len();
    let mut spec = v.spec(json!({"certificates": [{"name": "signer"}]}), None);
    spec.vault_uri = format!("https://127.0.0.1:{}", v.kv().server.port);
    let e = v.refresher(spec).refresh().await.unwrap_err();
    assert!(matches!(e, AzureError::Challenge { .. }), "{e}");
    assert!(
        e.to_string().contains("doesn't match the requested domain"),
        "{e}"
    );
    assert_eq!(
        v.w.pod.aad.requests().len(),
        asked,
        "no token was requested for it"
    );
}

#[tokio::test]
async fn certificates_expiring_soon_are_reported() {
    let v = vault();
    let p = Pki::generate();
    v.kv()
        .put_certificate_pem("signer", &p.chain_der(), p.key_der());
    let spec = v.spec(json!({"certificates": [{"name": "signer"}]}), None);
    let r = v.refresher(spec.clone());
    r.refresh().await.unwrap();
    assert!(r.status().expiring.is_empty(), "valid until 2099");
    let r = v
        .refresher(spec)
        .with_expiry_warning(Duration::from_secs(100 * 365 * 24 * 3600));
    r.refresh().await.unwrap();
    assert_eq!(r.status().expiring.len(), 2, "leaf and root");
}

fn spki(k: &rcgen::KeyPair) -> Vec<u8> {
    use rcgen::PublicKeyData as _;
    k.subject_public_key_info()
}
