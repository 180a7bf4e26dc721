//! The server certificate, swappable while connections stay open.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Serves the current certificate to every new handshake; [`CertResolver::swap`] replaces it.
#[derive(Debug)]
pub(crate) struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

// === impl CertResolver ===

impl CertResolver {
    pub(crate) fn new(key: CertifiedKey) -> Self {
        Self {
            current: ArcSwap::from_pointee(key),
        }
    }

    /// Serves `key` from the next handshake on; open connections are not touched.
    pub(crate) fn swap_arc(&self, key: Arc<CertifiedKey>) {
        self.current.store(key);
    }

    /// The certificate served now.
    pub(crate) fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}
