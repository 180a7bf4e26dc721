//! Reading a signing certificate chain (PEM bundle or one DER certificate).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::error::SignError;
use crate::limits::Limits;

/// Reads a certificate chain, leaf first: every `CERTIFICATE` block of a PEM bundle, or
/// `bytes` as one DER certificate. Each certificate must decode as X.509; the count and
/// sizes are bounded by `limits` (`max_cert_chain_len`, `max_cert_bytes`).
pub fn parse_chain(
    bytes: &[u8],
    limits: &Limits,
) -> Result<Vec<CertificateDer<'static>>, SignError> {
    let max_bundle = limits
        .max_cert_bytes
        .saturating_mul(limits.max_cert_chain_len)
        .saturating_mul(2);
    if bytes.len() > max_bundle {
        return Err(SignError::ChainPem {
            reason: format!("the file is larger than {max_bundle} bytes"),
        });
    }
    let chain: Vec<CertificateDer<'static>> = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        CertificateDer::pem_slice_iter(bytes)
            .take(limits.max_cert_chain_len + 1)
            .collect::<Result<_, _>>()
            .map_err(|e| SignError::ChainPem {
                reason: e.to_string(),
            })?
    } else if bytes.is_empty() {
        Vec::new()
    } else {
        vec![CertificateDer::from(bytes.to_vec())]
    };
    if chain.is_empty() {
        return Err(SignError::EmptyChain);
    }
    if chain.len() > limits.max_cert_chain_len {
        return Err(SignError::ChainPem {
            reason: format!(
                "it holds more than {} certificates",
                limits.max_cert_chain_len
            ),
        });
    }
    for (index, cert) in chain.iter().enumerate() {
        if cert.as_ref().len() > limits.max_cert_bytes {
            return Err(SignError::Certificate {
                index,
                reason: format!("it is larger than {} bytes", limits.max_cert_bytes),
            });
        }
        X509Certificate::from_der(cert.as_ref()).map_err(|e| SignError::Certificate {
            index,
            reason: e.to_string(),
        })?;
    }
    Ok(chain)
}
