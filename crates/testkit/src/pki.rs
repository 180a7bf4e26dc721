//! Notation-compliant certificate chains made with rcgen (notation.md §8): a CA root, an
//! optional intermediate, and a code-signing leaf (keyUsage digitalSignature, critical;
//! extendedKeyUsage codeSigning; not a CA); optionally a TSA chain whose leaf has the
//! critical timeStamping EKU RFC 3161 requires.
//!
//! Validity is fixed (2020-01-01 to 2099-12-31) so certificates are valid both at the
//! fixed signing time of [`crate::sign_image`] and at the wall-clock time of an end-to-end
//! run, without reading the clock here.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::policy::StoreType;
use imagegate_notation::sign::{PrivateKey, Signer};
use imagegate_notation::store::TrustStore;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RsaKeySize,
};
use rustls_pki_types::CertificateDer;
use time::macros::datetime;
use time::OffsetDateTime;

/// Start of every generated certificate's validity.
pub const CERT_NOT_BEFORE: OffsetDateTime = datetime!(2020-01-01 0:00 UTC);
/// End of every generated certificate's validity.
pub const CERT_NOT_AFTER: OffsetDateTime = datetime!(2099-12-31 0:00 UTC);

/// The DER of an extendedKeyUsage extension value holding only id-kp-timeStamping.
const EKU_TIME_STAMPING: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
];

/// What to generate.
#[derive(Clone, Debug)]
pub struct PkiOptions {
    /// The leaf key's algorithm (the key decides: RSA 2048/3072/4096 or EC P-256/384/521).
    pub algorithm: SignatureAlgorithm,
    /// Whether an intermediate CA sits between the root and the leaf.
    pub intermediate: bool,
    /// Whether to also make a TSA chain (root → timestamping leaf).
    pub tsa: bool,
    /// The leaf's common name (the subject is `C=US, ST=WA, L=Seattle, O=imagegate, CN=…`).
    pub common_name: String,
}

impl Default for PkiOptions {
    /// ES256, root → leaf, no TSA, CN `imagegate test signer`.
    fn default() -> Self {
        Self {
            algorithm: SignatureAlgorithm::Es256,
            intermediate: false,
            tsa: false,
            common_name: "imagegate test signer".to_owned(),
        }
    }
}

/// A generated signing PKI.
#[derive(Clone, Debug)]
pub struct Pki {
    /// The self-signed root CA.
    pub root: CertificateDer<'static>,
    /// The intermediate CA, when requested.
    pub intermediate: Option<CertificateDer<'static>>,
    /// The code-signing leaf.
    pub leaf: CertificateDer<'static>,
    /// The TSA chain, when requested.
    pub tsa: Option<Tsa>,
    /// The leaf key's algorithm.
    pub algorithm: SignatureAlgorithm,
    common_name: String,
    key_pkcs8: Vec<u8>,
}

/// A generated timestamping authority: a root and a leaf with the critical timeStamping EKU.
#[derive(Clone, Debug)]
pub struct Tsa {
    /// The TSA root.
    pub root: CertificateDer<'static>,
    /// The TSA signing certificate.
    pub leaf: CertificateDer<'static>,
    key_pkcs8: Vec<u8>,
}

/// Where [`Pki::write_files`] put the PEM files.
#[derive(Clone, Debug)]
pub struct PkiFiles {
    /// The leaf key, PKCS#8 PEM (`PRIVATE KEY`).
    pub key: PathBuf,
    /// The chain, leaf first, PEM.
    pub chain: PathBuf,
    /// The root alone, PEM (for a trust store).
    pub root: PathBuf,
}

impl Pki {
    /// ES256 root → leaf (see [`PkiOptions::default`]).
    pub fn generate() -> Self {
        Self::new(&PkiOptions::default())
    }

    /// A PKI as `opts` describes.
    pub fn new(opts: &PkiOptions) -> Self {
        let root_key = ca_key(opts.algorithm);
        let root_params = ca_params("imagegate test root");
        let root = root_params
            .clone()
            .self_signed(&root_key)
            .expect("rcgen: root");
        let root_issuer = Issuer::new(root_params, &root_key);
        let leaf_key = key_for(opts.algorithm);
        let leaf_params = leaf_params(&opts.common_name);
        let (leaf, intermediate) = if opts.intermediate {
            let int_key = ca_key(opts.algorithm);
            let int_params = ca_params("imagegate test intermediate");
            let int = int_params
                .clone()
                .signed_by(&int_key, &root_issuer)
                .expect("rcgen: intermediate");
            let int_issuer = Issuer::new(int_params, &int_key);
            let leaf = leaf_params
                .signed_by(&leaf_key, &int_issuer)
                .expect("rcgen: leaf");
            (leaf, Some(int.der().clone()))
        } else {
            let leaf = leaf_params
                .signed_by(&leaf_key, &root_issuer)
                .expect("rcgen: leaf");
            (leaf, None)
        };
        Self {
            root: root.der().clone(),
            intermediate,
            leaf: leaf.der().clone(),
            tsa: opts.tsa.then(Tsa::generate),
            algorithm: opts.algorithm,
            common_name: opts.common_name.clone(),
            key_pkcs8: leaf_key.serialize_der(),
        }
    }

    /// The chain as an envelope carries it: leaf, intermediate (if any), root.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![self.leaf.clone()];
        chain.extend(self.intermediate.clone());
        chain.push(self.root.clone());
        chain
    }

    /// [`Pki::chain`] as owned DER bytes (e.g. to store in the Key Vault emulator).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain().iter().map(|c| c.as_ref().to_vec()).collect()
    }

    /// The leaf's private key.
    pub fn key(&self) -> PrivateKey {
        PrivateKey::from_pkcs8(&self.key_pkcs8).expect("generated key loads")
    }

    /// The leaf key paired with the chain.
    pub fn signer(&self) -> Signer {
        Signer::new(self.key(), self.chain()).expect("generated key matches its leaf")
    }

    /// The leaf key, PKCS#8 DER.
    pub fn key_der(&self) -> &[u8] {
        &self.key_pkcs8
    }

    /// The leaf key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        pem_block("PRIVATE KEY", &self.key_pkcs8)
    }

    /// The chain (leaf first), PEM.
    pub fn chain_pem(&self) -> String {
        self.chain()
            .iter()
            .map(|c| pem_block("CERTIFICATE", c))
            .collect()
    }

    /// The root, PEM.
    pub fn root_pem(&self) -> String {
        pem_block("CERTIFICATE", &self.root)
    }

    /// Writes `key.pem`, `chain.pem` and `root.pem` into `dir` (for CLI tests).
    pub fn write_files(&self, dir: &Path) -> PkiFiles {
        let files = PkiFiles {
            key: dir.join("key.pem"),
            chain: dir.join("chain.pem"),
            root: dir.join("root.pem"),
        };
        for (path, text) in [
            (&files.key, self.key_pem()),
            (&files.chain, self.chain_pem()),
            (&files.root, self.root_pem()),
        ] {
            std::fs::write(path, text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        files
    }

    /// The leaf subject as a trust policy identity,
    /// `x509.subject: C=US, ST=WA, L=Seattle, O=imagegate, CN=<common name>`.
    pub fn leaf_identity(&self) -> String {
        format!(
            "x509.subject: C=US, ST=WA, L=Seattle, O=imagegate, CN={}",
            self.common_name
        )
    }

    /// A trust store holding the root under `ca:<name>`.
    pub fn trust_store(&self, name: &str) -> TrustStore {
        let mut store = TrustStore::new();
        store
            .add_file(StoreType::Ca, name, "root.der", self.root.as_ref())
            .expect("generated root is a valid trust anchor");
        store
    }

    /// A trust policy document (JSON) with one strict statement for every registry scope
    /// that trusts `ca:<store>` and this PKI's leaf identity.
    pub fn trust_policy_json(&self, store: &str) -> String {
        serde_json::json!({
            "version": "1.0",
            "trustPolicies": [{
                "name": "imagegate-testkit",
                "registryScopes": ["*"],
                "signatureVerification": {"level": "strict"},
                "trustStores": [format!("ca:{store}")],
                "trustedIdentities": [self.leaf_identity()],
            }]
        })
        .to_string()
    }
}

impl Tsa {
    /// A P-256 TSA root → leaf.
    pub fn generate() -> Self {
        let root_key = key_for(SignatureAlgorithm::Es256);
        let root_params = ca_params("imagegate test TSA root");
        let root = root_params
            .clone()
            .self_signed(&root_key)
            .expect("rcgen: TSA root");
        let issuer = Issuer::new(root_params, &root_key);
        let key = key_for(SignatureAlgorithm::Es256);
        let mut params = CertificateParams::default();
        params.distinguished_name = name("imagegate test TSA");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let mut eku = CustomExtension::from_oid_content(&[2, 5, 29, 37], EKU_TIME_STAMPING.into());
        eku.set_criticality(true);
        params.custom_extensions = vec![eku];
        params.not_before = CERT_NOT_BEFORE;
        params.not_after = CERT_NOT_AFTER;
        let leaf = params.signed_by(&key, &issuer).expect("rcgen: TSA leaf");
        Self {
            root: root.der().clone(),
            leaf: leaf.der().clone(),
            key_pkcs8: key.serialize_der(),
        }
    }

    /// The TSA leaf's private key, PKCS#8 DER.
    pub fn key_der(&self) -> &[u8] {
        &self.key_pkcs8
    }

    /// The TSA chain, leaf first.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.leaf.clone(), self.root.clone()]
    }
}

/// A fresh key pair for `alg`.
fn key_for(alg: SignatureAlgorithm) -> KeyPair {
    match alg {
        SignatureAlgorithm::Ps256 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)
        }
        SignatureAlgorithm::Ps384 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA384, RsaKeySize::_3072)
        }
        SignatureAlgorithm::Ps512 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA512, RsaKeySize::_4096)
        }
        SignatureAlgorithm::Es256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        SignatureAlgorithm::Es384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        SignatureAlgorithm::Es512 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512),
    }
    .expect("rcgen: key generation")
}

/// CA keys: the leaf's curve for EC leaves, P-256 for RSA leaves (fast to generate).
fn ca_key(alg: SignatureAlgorithm) -> KeyPair {
    match alg {
        SignatureAlgorithm::Es384 | SignatureAlgorithm::Es512 => key_for(alg),
        _ => key_for(SignatureAlgorithm::Es256),
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::StateOrProvinceName, "WA");
    dn.push(DnType::LocalityName, "Seattle");
    dn.push(DnType::OrganizationName, "imagegate");
    dn.push(DnType::CommonName, cn);
    dn
}

/// CA parameters (basicConstraints CA, keyCertSign and cRLSign) valid from
/// [`CERT_NOT_BEFORE`] to [`CERT_NOT_AFTER`], named like every generated certificate.
pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = CERT_NOT_BEFORE;
    p.not_after = CERT_NOT_AFTER;
    p
}

/// Code-signing leaf parameters (digitalSignature, EKU codeSigning, CA=false) valid from
/// [`CERT_NOT_BEFORE`] to [`CERT_NOT_AFTER`].
pub fn leaf_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    p.not_before = CERT_NOT_BEFORE;
    p.not_after = CERT_NOT_AFTER;
    p
}

/// PEM text of one DER object (64-column base64).
/// `der` as one PEM block labelled `label` (64-column base64).
pub fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
