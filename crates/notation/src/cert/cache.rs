//! A caller-owned memo of validated signing chains.
//!
//! Chain validation ([`validate_signing_chain`]) is a pure function of the chain's bytes: it
//! reads no clock (validity periods are judged later, by the `authenticTimestamp` step), no
//! trust store and no policy. Remembering its successes is therefore sound, and worthwhile:
//! deployments verify the same few signing chains over and over, and the certificate
//! signatures otherwise dominate the cost of a verification.
//!
//! The memo is an explicit object rather than process-global state so that its lifetime,
//! size and sharing are the caller's decision (one per engine, one per test) and tests cannot
//! leak results into each other.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use rustls_pki_types::CertificateDer;

use super::chain::validate_signing_chain;
use super::error::CertError;
use super::CertificateInfo;

/// SHA-256 over the whole chain, each certificate prefixed by its length.
type ChainKey = [u8; 32];

/// A bounded, thread-safe memo of signing chains that passed [`validate_signing_chain`].
///
/// Keys are a SHA-256 over every byte of every certificate of the chain (length-prefixed, in
/// order), so a chain that differs in any byte, order or length is validated afresh. Only
/// successes are remembered. When full, the memo is emptied before the next insertion, which
/// bounds its memory at `capacity` entries. Share one instance (for example in an `Arc`)
/// between verifications and pass it to [`crate::verifier::verify_with_cache`].
pub struct ChainCache {
    capacity: usize,
    entries: Mutex<HashMap<ChainKey, Vec<CertificateInfo>>>,
}

impl ChainCache {
    /// Capacity of [`ChainCache::new`]: far more distinct signing chains than a cluster uses.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// An empty memo holding up to [`ChainCache::DEFAULT_CAPACITY`] chains.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty memo holding up to `capacity` chains (0 disables remembering).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// [`validate_signing_chain`], answered from the memo when this exact chain already
    /// passed. A poisoned lock only disables the memo; it never changes the answer.
    pub fn validate(
        &self,
        chain: &[CertificateDer<'static>],
    ) -> Result<Vec<CertificateInfo>, CertError> {
        let key = chain_key(chain);
        if let Some(infos) = self
            .entries
            .lock()
            .ok()
            .and_then(|entries| entries.get(&key).cloned())
        {
            return Ok(infos);
        }
        let infos = validate_signing_chain(chain)?;
        if self.capacity > 0 {
            if let Ok(mut entries) = self.entries.lock() {
                if entries.len() >= self.capacity {
                    entries.clear();
                }
                entries.insert(key, infos.clone());
            }
        }
        Ok(infos)
    }

    /// Number of chains remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }

    /// Whether no chain is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget every chain.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

impl Default for ChainCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ChainCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

fn chain_key(chain: &[CertificateDer<'static>]) -> ChainKey {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(&(chain.len() as u64).to_be_bytes());
    for cert in chain {
        ctx.update(&(cert.as_ref().len() as u64).to_be_bytes());
        ctx.update(cert.as_ref());
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(bytes: &[u8]) -> CertificateDer<'static> {
        CertificateDer::from(bytes.to_vec())
    }

    #[test]
    fn keys_depend_on_every_byte_order_and_boundary() {
        let ab = chain_key(&[der(b"a"), der(b"b")]);
        assert_ne!(ab, chain_key(&[der(b"b"), der(b"a")]));
        assert_ne!(ab, chain_key(&[der(b"ab")]));
        assert_ne!(ab, chain_key(&[der(b"a"), der(b"c")]));
        assert_ne!(ab, chain_key(&[der(b"a"), der(b"b"), der(b"")]));
        assert_eq!(ab, chain_key(&[der(b"a"), der(b"b")]));
    }

    #[test]
    fn failures_are_not_remembered() {
        let cache = ChainCache::new();
        assert_eq!(cache.validate(&[]), Err(CertError::Empty));
        assert!(cache.validate(&[der(b"junk")]).is_err());
        assert!(cache.is_empty());
    }
}
