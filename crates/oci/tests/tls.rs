//! TLS to the real registry: `docker-registry` serving HTTPS with a certificate
//! from a private CA. The client trusts it only when the CA is configured as an
//! extra root (on top of the system roots).

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_oci::{ClientConfig, OciError, Reference, RegistryClient};
use imagegate_testkit::Registry;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

fn private_ca_and_server_cert() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

#[tokio::test]
async fn https_with_extra_root_ca() {
    let (ca_pem, cert_pem, key_pem) = private_ca_and_server_cert();
    let reg = Registry::start_tls(&cert_pem, &key_pem);
    let r = Reference::parse(&format!("{}/tls/app:v1", reg.host())).unwrap();

    // Trusting the private CA: the TLS handshake succeeds and the registry answers.
    let trusting = RegistryClient::new(ClientConfig {
        plain_http_loopback: false,
        extra_root_pems: vec![ca_pem.into_bytes()],
        ..Default::default()
    })
    .unwrap();
    let err = trusting.resolve(&r).await.unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");

    // System roots only: the certificate is refused.
    let system_only = RegistryClient::new(ClientConfig {
        plain_http_loopback: false,
        ..Default::default()
    })
    .unwrap();
    let err = system_only.resolve(&r).await.unwrap_err();
    assert!(matches!(err, OciError::Transport { .. }), "{err}");
}

#[test]
fn bad_extra_root_is_a_config_error() {
    let err = RegistryClient::new(ClientConfig {
        extra_root_pems: vec![b"not a pem".to_vec()],
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, OciError::Config(_)), "{err}");
}
