//! The TSA certificate chain: path building to a trusted TSA root at the timestamp's genTime
//! (rustls-webpki), and the Notary Project certificate profile for timestamping chains
//! (notation-core-go `ValidateTimestampingCertChain`).

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{anchor_from_trusted_cert, EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::dn::DistinguishedName;

use super::signature::verify_cert_signature;

/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8), DER value bytes.
const EKU_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
/// id-kp-timeStamping, dotted.
const OID_EKU_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
/// Extended key usage extension OID.
const OID_EXT_EKU: &str = "2.5.29.37";

const UNKNOWN_AUTHORITY: &str = "x509: certificate signed by unknown authority";
const EXPIRED: &str = "x509: certificate has expired or is not yet valid";

/// Build and verify the path `leaf → intermediates → root` at `at`, returning the chain
/// (leaf first, root last). Errors carry Go's `x509:` wording.
pub(crate) fn build_path(
    leaf: &[u8],
    intermediates: &[&[u8]],
    roots: &[CertificateDer<'static>],
    at: OffsetDateTime,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let anchors: Vec<(usize, TrustAnchor<'_>)> = roots
        .iter()
        .enumerate()
        .filter_map(|(i, r)| anchor_from_trusted_cert(r).ok().map(|a| (i, a)))
        .collect();
    let anchor_list: Vec<TrustAnchor<'_>> = anchors.iter().map(|(_, a)| a.clone()).collect();
    let leaf_der = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf_der)
        .map_err(|e| format!("x509: malformed certificate: {e}"))?;
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(*c))
        .collect();
    let secs = u64::try_from(at.unix_timestamp()).map_err(|_| EXPIRED.to_owned())?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let path = ee
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchor_list,
            &inter,
            time,
            // Intermediates without EKU are fine (as in Go); the leaf EKU is checked separately.
            KeyUsage::required_if_present(EKU_TIME_STAMPING),
            None,
            None,
        )
        .map_err(map_webpki_error)?;
    let root_index = anchor_list
        .iter()
        .position(|a| std::ptr::eq(a, path.anchor()))
        .and_then(|i| anchors.get(i).map(|(r, _)| *r))
        .ok_or_else(|| UNKNOWN_AUTHORITY.to_owned())?;
    let root = roots
        .get(root_index)
        .ok_or_else(|| UNKNOWN_AUTHORITY.to_owned())?;
    // webpki does not check the anchor's own validity period; Go's x509 does.
    check_validity_at(root.as_ref(), at)?;
    let mut chain = vec![CertificateDer::from(leaf.to_vec())];
    chain.extend(
        path.intermediate_certificates()
            .map(|c| c.der().into_owned()),
    );
    if chain.last().map(|c| c.as_ref()) != Some(root.as_ref()) {
        chain.push(root.clone());
    }
    Ok(chain)
}

fn map_webpki_error(e: webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => UNKNOWN_AUTHORITY.to_owned(),
        // A candidate issuer with the right name but another key (Go words it this way).
        E::InvalidSignatureForPublicKey => format!(
            "{UNKNOWN_AUTHORITY} (possibly because of \"signature verification failure\" while trying to verify candidate authority certificate)"
        ),
        E::CertExpired { .. } | E::CertNotValidYet { .. } | E::InvalidCertValidity => {
            EXPIRED.to_owned()
        }
        E::RequiredEkuNotFoundContext(_) => {
            "x509: certificate specifies an incompatible key usage".to_owned()
        }
        other => format!("x509: {other}"),
    }
}

fn check_validity_at(der: &[u8], at: OffsetDateTime) -> Result<(), String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("x509: malformed certificate: {e}"))?;
    let v = cert.validity();
    if at < v.not_before.to_datetime() || at > v.not_after.to_datetime() {
        return Err(EXPIRED.to_owned());
    }
    Ok(())
}

fn subject(der: &[u8]) -> String {
    DistinguishedName::from_cert_subject(der)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.tbs_certificate.subject.as_raw() == cert.tbs_certificate.issuer.as_raw()
        && verify_cert_signature(cert, cert.public_key()).is_ok()
}

/// RFC 3161 §2.3 / tspclient: the signing certificate's EKU is exactly id-kp-timeStamping
/// and the extension is critical. Returns the message for the `Verify` error.
pub(crate) fn check_signing_cert_eku(der: &[u8]) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("malformed signing certificate: {e}"))?;
    let only =
        "signing certificate must have and only have ExtKeyUsageTimeStamping as extended key usage";
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == OID_EXT_EKU)
        .ok_or_else(|| only.to_owned())?;
    let eku = match cert.extended_key_usage() {
        Ok(Some(eku)) => eku.value,
        _ => return Err(only.to_owned()),
    };
    let exactly_timestamping = eku.time_stamping
        && !eku.any
        && !eku.server_auth
        && !eku.client_auth
        && !eku.code_signing
        && !eku.email_protection
        && !eku.ocsp_signing
        && eku.other.is_empty();
    if !exactly_timestamping {
        return Err(only.to_owned());
    }
    if !ext.critical {
        return Err(
            "signing certificate extended key usage extension must be set as critical".to_owned(),
        );
    }
    Ok(())
}

/// notation-core-go `ValidateTimestampingCertChain` on a chain (leaf first, root last).
pub(crate) fn validate_profile(chain: &[CertificateDer<'_>]) -> Result<(), String> {
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .map(|c| X509Certificate::from_der(c.as_ref()).map(|(_, x)| x))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("malformed certificate in the timestamping chain: {e}"))?;
    let Some(last) = parsed.len().checked_sub(1) else {
        return Err("certificate chain must contain at least one certificate".to_owned());
    };
    for (i, cert) in parsed.iter().enumerate() {
        let name = subject(chain[i].as_ref());
        if i == last {
            if !is_self_signed(cert) {
                return Err(format!(
                    "root certificate with subject {name:?} is invalid or not self-signed. Certificate chain must end with a valid self-signed root certificate"
                ));
            }
        } else if is_self_signed(cert) {
            let role = if i == 0 { "leaf" } else { "intermediate" };
            return Err(format!(
                "{role} certificate with subject {name:?} is self-signed. Certificate chain must not contain self-signed {role} certificate"
            ));
        }
        if i == 0 {
            validate_leaf(cert, &name)?;
        } else {
            validate_ca(cert, &name, i - 1)?;
        }
    }
    Ok(())
}

fn validate_leaf(cert: &X509Certificate<'_>, name: &str) -> Result<(), String> {
    if let Ok(Some(bc)) = cert.basic_constraints() {
        if bc.value.ca {
            return Err(format!(
                "certificate with subject {name:?}: if the basicConstraints extension is present, the cA field MUST be set false"
            ));
        }
    }
    let digital_signature =
        matches!(cert.key_usage(), Ok(Some(ku)) if ku.value.digital_signature());
    if !digital_signature {
        return Err(format!(
            "the certificate with subject {name:?} is invalid. The key usage must have the bit positions for \"Digital Signature\" set"
        ));
    }
    let eku_ok = matches!(cert.extended_key_usage(), Ok(Some(eku))
        if eku.critical && eku.value.time_stamping && eku.value.other.is_empty()
            && !(eku.value.any || eku.value.server_auth || eku.value.client_auth
                || eku.value.code_signing || eku.value.email_protection || eku.value.ocsp_signing));
    if !eku_ok {
        return Err(format!(
            "timestamp signing certificate with subject {name:?} must have and only have {OID_EKU_TIME_STAMPING} (timeStamping) as extended key usage, marked critical"
        ));
    }
    check_key_length(cert, name)
}

fn validate_ca(
    cert: &X509Certificate<'_>,
    name: &str,
    expected_path_len: usize,
) -> Result<(), String> {
    let bc = match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => bc.value,
        _ => {
            return Err(format!(
                "certificate with subject {name:?}: ca field in basic constraints must be present, critical, and set to true"
            ))
        }
    };
    if let Some(path_len) = bc.path_len_constraint {
        if (path_len as usize) < expected_path_len {
            return Err(format!(
                "certificate with subject {name:?}: expected path length of {expected_path_len} but certificate has path length {path_len} instead"
            ));
        }
    }
    let can_sign = matches!(cert.key_usage(), Ok(Some(ku)) if ku.value.key_cert_sign());
    if !can_sign {
        return Err(format!(
            "the certificate with subject {name:?} is invalid. The key usage must have the bit positions for \"Certificate Sign\" set"
        ));
    }
    Ok(())
}

fn check_key_length(cert: &X509Certificate<'_>, name: &str) -> Result<(), String> {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) if rsa.key_size() >= 2048 => Ok(()),
        Ok(PublicKey::RSA(rsa)) => Err(format!(
            "certificate with subject {name:?}: rsa key size {} bits is not supported",
            rsa.key_size()
        )),
        Ok(PublicKey::EC(point)) if point.key_size() >= 256 => Ok(()),
        Ok(PublicKey::EC(point)) => Err(format!(
            "certificate with subject {name:?}: ecdsa key size {} bits is not supported",
            point.key_size()
        )),
        _ => Err(format!(
            "certificate with subject {name:?}: unsupported public key type"
        )),
    }
}
