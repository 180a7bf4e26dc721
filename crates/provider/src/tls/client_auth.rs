//! Client-certificate verification against a swappable CA bundle.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Delegates to the current webpki verifier; [`ReloadingClientVerifier::swap`] replaces it.
///
/// A client certificate is always required. No CA names are hinted to clients (the hint list
/// would have to outlive a swap); Go clients such as Gatekeeper send their certificate anyway.
#[derive(Debug)]
pub(crate) struct ReloadingClientVerifier {
    current: ArcSwap<Arc<dyn ClientCertVerifier>>,
}

// === impl ReloadingClientVerifier ===

impl ReloadingClientVerifier {
    pub(crate) fn new(inner: Arc<dyn ClientCertVerifier>) -> Self {
        Self {
            current: ArcSwap::from_pointee(inner),
        }
    }

    /// Verifies with `inner` from the next handshake on; open connections are not touched.
    pub(crate) fn swap(&self, inner: Arc<dyn ClientCertVerifier>) {
        self.current.store(Arc::new(inner));
    }
}

impl ClientCertVerifier for ReloadingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current
            .load()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current
            .load()
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current
            .load()
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current.load().supported_verify_schemes()
    }
}
