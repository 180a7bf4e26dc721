//! Turning vault objects into trust material as Ratify does: certificate secrets (PEM or
//! password-less PKCS#12; every certificate kept in stored order, private keys skipped and
//! dropped at once) and JWKs (EC/RSA, HSM kinds included) into SubjectPublicKeyInfo.

use base64::Engine as _;
use serde_json::Value;

/// `application/x-pem-file`.
pub const PEM_CONTENT_TYPE: &str = "application/x-pem-file";
/// `application/x-pkcs12`.
pub const PKCS12_CONTENT_TYPE: &str = "application/x-pkcs12";

/// The certificates (DER, stored order) of a certificate secret; `Err` is the reason
/// (Ratify's wording where it has one).
pub fn certificates_from_secret(content_type: &str, value: &str) -> Result<Vec<Vec<u8>>, String> {
    match content_type {
        PEM_CONTENT_TYPE => certificates_from_pem(value),
        PKCS12_CONTENT_TYPE => {
            let der = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|e| format!("PKCS#12 value is not base64: {e}"))?;
            let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "")
                .map_err(|e| format!("cannot read the PKCS#12 value (password-less): {e}"))?;
            if !archive.keys.is_empty() {
                tracing::warn!("a private key in a Key Vault certificate was skipped");
            }
            let certs: Vec<Vec<u8>> = archive.certs.iter().map(|b| b.cert.as_der().to_vec()).collect();
            drop(archive);
            if certs.is_empty() {
                return Err("the PKCS#12 value holds no certificate".into());
            }
            Ok(certs)
        }
        other => Err(format!(
            "unsupported secret content type {other}, supported type are {PKCS12_CONTENT_TYPE} and {PEM_CONTENT_TYPE}"
        )),
    }
}

/// Every `CERTIFICATE` block of a PEM text; key blocks are skipped; anything else that is
/// not whitespace between blocks fails.
pub fn certificates_from_pem(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut rest = text;
    let mut certs = Vec::new();
    loop {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        let Some(after) = trimmed.strip_prefix("-----BEGIN ") else {
            return Err("block is nil and remaining block to parse > 0".into());
        };
        let Some((label, body)) = after.split_once("-----") else {
            return Err("malformed PEM header".into());
        };
        let end = format!("-----END {label}-----");
        let Some((b64, tail)) = body.split_once(&end) else {
            return Err(format!("PEM block {label} has no end line"));
        };
        rest = tail;
        match label {
            "CERTIFICATE" => {
                let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| format!("a CERTIFICATE block is not base64: {e}"))?;
                x509_parser::parse_x509_certificate(&der)
                    .map_err(|e| format!("a CERTIFICATE block is not X.509: {e}"))?;
                certs.push(der);
            }
            l if l.ends_with("PRIVATE KEY") => {
                tracing::warn!("a private key in a Key Vault certificate was skipped");
            }
            other => tracing::warn!(
                label = other,
                "a PEM block that is not a certificate was skipped"
            ),
        }
        if certs.len() > 64 {
            return Err("more than 64 certificates".into());
        }
    }
    if certs.is_empty() {
        return Err("the PEM value holds no certificate".into());
    }
    Ok(certs)
}

/// PEM text of DER certificates.
pub fn certificates_pem(ders: &[Vec<u8>]) -> String {
    ders.iter().map(|d| pem_block("CERTIFICATE", d)).collect()
}

/// One PEM block.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER SubjectPublicKeyInfo of a Key Vault JWK (`kty` EC, EC-HSM, RSA, RSA-HSM).
pub fn spki_from_jwk(jwk: &Value) -> Result<Vec<u8>, String> {
    let kty = jwk["kty"].as_str().ok_or("the key has no kty")?;
    let field = |k: &str| -> Result<Vec<u8>, String> {
        let s = jwk[k]
            .as_str()
            .ok_or_else(|| format!("the {kty} key has no {k}"))?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|e| format!("{k} is not base64url: {e}"))
    };
    match kty {
        "EC" | "EC-HSM" => {
            let crv = jwk["crv"].as_str().ok_or("the EC key has no crv")?;
            let (curve_oid, size): (&[u8], usize) = match crv {
                "P-256" => (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], 32),
                "P-384" => (&[0x2b, 0x81, 0x04, 0x00, 0x22], 48),
                "P-521" => (&[0x2b, 0x81, 0x04, 0x00, 0x23], 66),
                other => return Err(format!("unsupported EC curve {other}")),
            };
            let (x, y) = (field("x")?, field("y")?);
            if x.len() > size || y.len() > size {
                return Err(format!("x or y is longer than a {crv} coordinate"));
            }
            let mut point = vec![0x04];
            for c in [&x, &y] {
                point.extend(std::iter::repeat_n(0, size - c.len()));
                point.extend_from_slice(c);
            }
            let ec_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
            let alg = tlv(0x30, &[tlv(0x06, &ec_oid), tlv(0x06, curve_oid)].concat());
            Ok(spki(alg, &point))
        }
        "RSA" | "RSA-HSM" => {
            let (n, e) = (field("n")?, field("e")?);
            if n.is_empty() || e.is_empty() || n.len() > 1024 {
                return Err("RSA n or e has an invalid size".into());
            }
            let rsa_oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
            let alg = tlv(0x30, &[tlv(0x06, &rsa_oid), vec![0x05, 0x00]].concat());
            let key = tlv(0x30, &[integer(&n), integer(&e)].concat());
            Ok(spki(alg, &key))
        }
        other => Err(format!("unsupported key type {other}")),
    }
}

fn spki(alg: Vec<u8>, key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key);
    tlv(0x30, &[alg, tlv(0x03, &bits)].concat())
}

fn integer(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len().saturating_sub(1));
    let m = &magnitude[start..];
    let mut v = Vec::with_capacity(m.len() + 1);
    if m.first().is_some_and(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(m);
    tlv(0x02, &v)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_and_unsupported_types() {
        assert!(certificates_from_pem("junk")
            .unwrap_err()
            .contains("remaining block"));
        assert!(certificates_from_pem("")
            .unwrap_err()
            .contains("no certificate"));
        assert!(certificates_from_secret("text/plain", "x")
            .unwrap_err()
            .contains("unsupported secret content type text/plain"));
        assert!(certificates_from_secret(PKCS12_CONTENT_TYPE, "!!").is_err());
        assert!(spki_from_jwk(&serde_json::json!({"kty": "oct"})).is_err());
        assert!(spki_from_jwk(&serde_json::json!({"kty": "EC", "crv": "P-256"})).is_err());
    }

    #[test]
    fn der_lengths() {
        assert_eq!(tlv(0x04, &[0; 3]), vec![4, 3, 0, 0, 0]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[4, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[4, 0x82, 1, 44]);
        assert_eq!(integer(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(integer(&[0, 0, 1]), vec![2, 1, 1]);
    }
}
