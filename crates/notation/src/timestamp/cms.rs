//! The CMS `SignedData` structure of a timestamp token (RFC 5652 §5), read with borrowed
//! slices so the exact signed bytes can be hashed and verified.

use std::borrow::Cow;

use super::der::{self, tag, DerError, Reader, Tlv};

/// id-signedData.
pub(crate) const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// id-ct-TSTInfo.
pub(crate) const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
/// id-contentType attribute.
pub(crate) const OID_ATTR_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// id-messageDigest attribute.
pub(crate) const OID_ATTR_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// id-signingTime attribute.
pub(crate) const OID_ATTR_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
/// id-aa-signingCertificateV2 attribute (RFC 5035).
pub(crate) const OID_ATTR_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";

/// Most certificates accepted in one token.
const MAX_CERTIFICATES: usize = 32;
/// Most signer infos accepted in one token.
const MAX_SIGNER_INFOS: usize = 8;
/// Most signed attributes accepted in one signer info.
const MAX_ATTRIBUTES: usize = 64;

/// A parsed `SignedData`.
#[derive(Debug)]
pub(crate) struct SignedData<'a> {
    /// `eContentType`.
    pub(crate) content_type: String,
    /// `eContent` octets (concatenated if the OCTET STRING was constructed).
    pub(crate) content: Cow<'a, [u8]>,
    /// DER certificates carried in the token.
    pub(crate) certificates: Vec<&'a [u8]>,
    pub(crate) signer_infos: Vec<SignerInfo<'a>>,
}

/// How a signer identifies its certificate.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SignerId<'a> {
    /// `IssuerAndSerialNumber`: the issuer `Name` (whole DER element) and the serial content.
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// `[0] SubjectKeyIdentifier`.
    SubjectKeyId(&'a [u8]),
}

/// One `Attribute`: its type and the elements of its value set.
#[derive(Debug)]
pub(crate) struct Attribute<'a> {
    pub(crate) oid: String,
    pub(crate) values: Vec<Tlv<'a>>,
}

/// A parsed `SignerInfo`.
#[derive(Debug)]
pub(crate) struct SignerInfo<'a> {
    pub(crate) version: u64,
    pub(crate) sid: SignerId<'a>,
    pub(crate) digest_oid: String,
    /// The `[0] IMPLICIT` signed attributes element (re-tagged as SET for verification).
    pub(crate) signed_attrs_raw: Option<&'a [u8]>,
    pub(crate) signed_attrs: Vec<Attribute<'a>>,
    /// The raw `signatureAlgorithm` AlgorithmIdentifier element.
    pub(crate) signature_algorithm: &'a [u8],
    pub(crate) signature: &'a [u8],
}

impl SignerInfo<'_> {
    /// The single value of a signed attribute; `Ok(None)` if absent, an error if it has
    /// several values or appears twice.
    pub(crate) fn attribute(&self, oid: &str) -> Result<Option<Tlv<'_>>, DerError> {
        let mut found = self.signed_attrs.iter().filter(|a| a.oid == oid);
        let Some(attr) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            return Err(DerError::Invalid(
                "signed attributes (an attribute appears twice)",
            ));
        }
        match attr.values.as_slice() {
            [value] => Ok(Some(*value)),
            _ => Err(DerError::Invalid(
                "signed attribute (it must have exactly one value)",
            )),
        }
    }

    /// The signed attributes as the DER `SET OF Attribute` that was signed.
    pub(crate) fn signed_attrs_der(&self) -> Option<Vec<u8>> {
        self.signed_attrs_raw.map(|raw| {
            let mut der = raw.to_vec();
            if let Some(first) = der.first_mut() {
                *first = tag::SET;
            }
            der
        })
    }
}

/// Parse a DER `ContentInfo` holding `SignedData`.
pub(crate) fn parse_signed_data(der_bytes: &[u8]) -> Result<SignedData<'_>, CmsParseError> {
    let mut top = Reader::new(der_bytes);
    let content_info = top
        .expect(tag::SEQUENCE, "ContentInfo")
        .map_err(CmsParseError::ContentInfo)?;
    top.finish("ContentInfo")
        .map_err(CmsParseError::ContentInfo)?;
    let mut ci = content_info.reader();
    let content_type =
        der::read_oid(&mut ci, "ContentInfo contentType").map_err(CmsParseError::ContentInfo)?;
    if content_type != OID_SIGNED_DATA {
        return Err(CmsParseError::NotSignedData);
    }
    let explicit = ci
        .expect(tag::context_constructed(0), "ContentInfo content")
        .map_err(CmsParseError::ContentInfo)?;
    ci.finish("ContentInfo")
        .map_err(CmsParseError::ContentInfo)?;
    let mut inner = explicit.reader();
    let signed = inner
        .expect(tag::SEQUENCE, "SignedData")
        .map_err(CmsParseError::SignedData)?;
    inner
        .finish("SignedData")
        .map_err(CmsParseError::SignedData)?;
    parse_signed_data_body(signed).map_err(CmsParseError::SignedData)
}

/// Why the CMS structure could not be parsed. Display follows Go's `cms: syntax error: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CmsParseError {
    #[error("cms: syntax error: invalid signed data: failed to convert from BER to DER: {0}")]
    Ber(DerError),
    #[error(
        "cms: syntax error: invalid content info: failed to unmarshal DER to ContentInfo: {0}"
    )]
    ContentInfo(DerError),
    #[error("cms: content type is not signed-data")]
    NotSignedData,
    #[error("cms: syntax error: invalid signed data: {0}")]
    SignedData(DerError),
}

fn parse_signed_data_body(signed: Tlv<'_>) -> Result<SignedData<'_>, DerError> {
    let mut r = signed.reader();
    r.expect(tag::INTEGER, "SignedData version")?;
    r.expect(tag::SET, "SignedData digestAlgorithms")?;
    let encap = r.expect(tag::SEQUENCE, "SignedData encapContentInfo")?;
    let mut er = encap.reader();
    let content_type = der::read_oid(&mut er, "eContentType")?;
    let content = match er.optional(tag::context_constructed(0))? {
        Some(explicit) => {
            let mut xr = explicit.reader();
            let octets = xr.read()?;
            xr.finish("eContent")?;
            octet_string(octets)?
        }
        None => Cow::Borrowed(&[][..]),
    };
    er.finish("encapContentInfo")?;
    let mut certificates = Vec::new();
    if let Some(certs) = r.optional(tag::context_constructed(0))? {
        let mut cr = certs.reader();
        while !cr.is_empty() {
            let cert = cr.read()?;
            if cert.tag != tag::SEQUENCE {
                return Err(DerError::Invalid(
                    "certificates (only X.509 certificates are supported)",
                ));
            }
            if certificates.len() >= MAX_CERTIFICATES {
                return Err(DerError::Invalid("certificates (too many)"));
            }
            certificates.push(cert.raw);
        }
    }
    r.optional(tag::context_constructed(1))?; // crls: not used
    let infos = r.expect(tag::SET, "SignedData signerInfos")?;
    r.finish("SignedData")?;
    let mut signer_infos = Vec::new();
    let mut ir = infos.reader();
    while !ir.is_empty() {
        if signer_infos.len() >= MAX_SIGNER_INFOS {
            return Err(DerError::Invalid("signerInfos (too many)"));
        }
        signer_infos.push(parse_signer_info(ir.expect(tag::SEQUENCE, "SignerInfo")?)?);
    }
    Ok(SignedData {
        content_type,
        content,
        certificates,
        signer_infos,
    })
}

/// The octets of an OCTET STRING, primitive or (BER) constructed from primitive segments.
fn octet_string(t: Tlv<'_>) -> Result<Cow<'_, [u8]>, DerError> {
    match t.tag {
        tag::OCTET_STRING => Ok(Cow::Borrowed(t.content)),
        tag::OCTET_STRING_CONSTRUCTED => {
            let mut out = Vec::new();
            let mut r = t.reader();
            while !r.is_empty() {
                out.extend_from_slice(r.expect(tag::OCTET_STRING, "eContent segment")?.content);
            }
            Ok(Cow::Owned(out))
        }
        found => Err(DerError::UnexpectedTag {
            expected: tag::OCTET_STRING,
            found,
            context: "eContent",
        }),
    }
}

fn parse_signer_info(info: Tlv<'_>) -> Result<SignerInfo<'_>, DerError> {
    let mut r = info.reader();
    let version = der::uint(r.expect(tag::INTEGER, "SignerInfo version")?.content)?;
    let sid = match r.peek_tag() {
        Some(tag::SEQUENCE) => {
            let ias = r.read()?;
            let mut ar = ias.reader();
            let issuer = ar
                .expect(tag::SEQUENCE, "IssuerAndSerialNumber issuer")?
                .raw;
            let serial = ar
                .expect(tag::INTEGER, "IssuerAndSerialNumber serialNumber")?
                .content;
            ar.finish("IssuerAndSerialNumber")?;
            SignerId::IssuerSerial { issuer, serial }
        }
        Some(t) if t == tag::context_primitive(0) => SignerId::SubjectKeyId(r.read()?.content),
        _ => return Err(DerError::Missing("SignerInfo sid")),
    };
    let digest_alg = r.expect(tag::SEQUENCE, "SignerInfo digestAlgorithm")?;
    let digest_oid = der::read_oid(&mut digest_alg.reader(), "SignerInfo digestAlgorithm")?;
    let mut signed_attrs_raw = None;
    let mut signed_attrs = Vec::new();
    if let Some(attrs) = r.optional(tag::context_constructed(0))? {
        signed_attrs_raw = Some(attrs.raw);
        let mut ar = attrs.reader();
        while !ar.is_empty() {
            if signed_attrs.len() >= MAX_ATTRIBUTES {
                return Err(DerError::Invalid("signed attributes (too many)"));
            }
            let attr = ar.expect(tag::SEQUENCE, "Attribute")?;
            let mut vr = attr.reader();
            let oid = der::read_oid(&mut vr, "Attribute type")?;
            let set = vr.expect(tag::SET, "Attribute values")?;
            vr.finish("Attribute")?;
            let mut values = Vec::new();
            let mut sr = set.reader();
            while !sr.is_empty() {
                if values.len() >= MAX_ATTRIBUTES {
                    return Err(DerError::Invalid("attribute values (too many)"));
                }
                values.push(sr.read()?);
            }
            signed_attrs.push(Attribute { oid, values });
        }
    }
    let signature_algorithm = r
        .expect(tag::SEQUENCE, "SignerInfo signatureAlgorithm")?
        .raw;
    let signature = r.expect(tag::OCTET_STRING, "SignerInfo signature")?.content;
    r.optional(tag::context_constructed(1))?; // unsigned attributes: not used
    r.finish("SignerInfo")?;
    Ok(SignerInfo {
        version,
        sid,
        digest_oid,
        signed_attrs_raw,
        signed_attrs,
        signature_algorithm,
        signature,
    })
}

/// The first `ESSCertIDv2` of a `SigningCertificateV2` attribute value (RFC 5035).
#[derive(Debug)]
pub(crate) struct EssCertIdV2<'a> {
    /// Hash algorithm OID (default SHA-256).
    pub(crate) hash_oid: String,
    pub(crate) cert_hash: &'a [u8],
    /// `issuerSerial`: the directoryName issuer (whole `Name` element) and serial content.
    pub(crate) issuer_serial: Option<(&'a [u8], &'a [u8])>,
}

/// Parse a `SigningCertificateV2` value and return its first `ESSCertIDv2`.
pub(crate) fn parse_signing_certificate_v2(value: Tlv<'_>) -> Result<EssCertIdV2<'_>, DerError> {
    if value.tag != tag::SEQUENCE {
        return Err(DerError::Invalid("SigningCertificateV2"));
    }
    let mut r = value.reader();
    let certs = r.expect(tag::SEQUENCE, "SigningCertificateV2 certs")?;
    let mut cr = certs.reader();
    let first = cr.optional(tag::SEQUENCE)?.ok_or(DerError::Missing(
        "ESSCertIDv2 (signingCertificateV2 does not contain any certificate)",
    ))?;
    let mut fr = first.reader();
    let hash_oid = match fr.optional(tag::SEQUENCE)? {
        Some(alg) => der::read_oid(&mut alg.reader(), "ESSCertIDv2 hashAlgorithm")?,
        None => "2.16.840.1.101.3.4.2.1".to_owned(),
    };
    let cert_hash = fr
        .expect(tag::OCTET_STRING, "ESSCertIDv2 certHash")?
        .content;
    let issuer_serial = match fr.optional(tag::SEQUENCE)? {
        Some(is) => {
            let mut ir = is.reader();
            let names = ir.expect(tag::SEQUENCE, "IssuerSerial issuer")?;
            let serial = ir
                .expect(tag::INTEGER, "IssuerSerial serialNumber")?
                .content;
            let mut nr = names.reader();
            let directory = nr.expect(tag::context_constructed(4), "IssuerSerial directoryName")?;
            let mut dr = directory.reader();
            let name = dr.expect(tag::SEQUENCE, "IssuerSerial directoryName")?.raw;
            Some((name, serial))
        }
        None => None,
    };
    Ok(EssCertIdV2 {
        hash_oid,
        cert_hash,
        issuer_serial,
    })
}
