//! A Docker-token-spec issuer for the tests: ES256 JWTs whose signing key is
//! certified by a self-signed rcgen certificate, which the registry trusts via
//! `rootcertbundle` (the JWT carries the certificate in `x5c`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;

use crate::http::{MockServer, Reply, Request};

/// The `service` the registry and the issuer agree on.
pub const SERVICE: &str = "imagegate-test-registry";
/// The `iss` of the tokens.
pub const ISSUER: &str = "imagegate-test-issuer";

/// A running token service (`GET /token?service=…&scope=…`).
pub struct TokenIssuer {
    /// The HTTP server answering token requests.
    pub server: MockServer,
    /// The issuer certificate (PEM), to configure as the registry's `rootcertbundle`.
    pub cert_pem: String,
    /// Token requests served (successful or not).
    pub requests: Arc<AtomicUsize>,
    signer: Arc<Signer>,
}

struct Signer {
    key: EcdsaKeyPair,
    cert_der_b64: String,
}

impl Signer {
    /// A JWT for `sub` granting `actions` on `repo`, valid for `lifetime_s`.
    fn jwt(&self, sub: &str, access: serde_json::Value, lifetime_s: i64) -> String {
        // Test code: the registry checks exp/nbf against its own wall clock.
        #[allow(clippy::disallowed_methods)]
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [self.cert_der_b64]});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": sub, "aud": SERVICE,
            "exp": now + lifetime_s, "nbf": now - 10, "iat": now,
            "jti": format!("{now}-{}", rand_u64()), "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(&header).unwrap()),
            b64(&serde_json::to_vec(&claims).unwrap())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .unwrap();
        format!("{signing_input}.{}", b64(sig.as_ref()))
    }
}

/// Signs registry tokens with a [`TokenIssuer`]'s key.
#[derive(Clone)]
pub struct TokenSigner(Arc<Signer>);

impl TokenSigner {
    /// A registry token (JWT) for `sub` granting `access` (the token spec's `access` list),
    /// valid for `lifetime_s`.
    pub fn token(&self, sub: &str, access: serde_json::Value, lifetime_s: i64) -> String {
        self.0.jwt(sub, access, lifetime_s)
    }
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

impl TokenIssuer {
    /// Starts an issuer that grants pull+push to `user:password` and an empty
    /// access list to anonymous callers; wrong credentials get 401.
    pub fn start(user: &str, password: &str) -> Self {
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["imagegate-token-issuer".to_owned()]).unwrap();
        let cert = params.self_signed(&key_pair).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_pair.serialize_der())
                .unwrap();
        let signer = Arc::new(Signer {
            key,
            cert_der_b64: base64::engine::general_purpose::STANDARD.encode(cert.der()),
        });
        let requests = Arc::new(AtomicUsize::new(0));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let (s, n) = (signer.clone(), requests.clone());
        let server = MockServer::start(move |req: &Request| {
            n.fetch_add(1, Ordering::SeqCst);
            if req.path() != "/token" {
                return Reply::status(404);
            }
            let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query().as_bytes())
                .into_owned()
                .collect();
            let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
            if get("service").as_deref() != Some(SERVICE) {
                return Reply::status(400);
            }
            let (sub, granted) = match req.header("authorization") {
                None => ("anonymous", false),
                Some(a) if a == expected => ("user", true),
                Some(_) => return Reply::status(401),
            };
            let access: Vec<serde_json::Value> = get("scope")
                .unwrap_or_default()
                .split(' ')
                .filter_map(|sc| {
                    let mut parts = sc.splitn(3, ':');
                    let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                    let actions: Vec<&str> = if granted {
                        actions.split(',').collect()
                    } else {
                        Vec::new()
                    };
                    Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
                })
                .collect();
            let token = s.jwt(sub, serde_json::Value::Array(access), 300);
            Reply::json(
                200,
                "application/json",
                serde_json::json!({"token": token, "expires_in": 300}).to_string(),
            )
        });
        Self {
            server,
            cert_pem: cert.pem(),
            requests,
            signer,
        }
    }

    /// The token realm URL, `http://127.0.0.1:<port>/token`.
    pub fn realm(&self) -> String {
        format!("{}/token", self.server.url())
    }

    /// A cloneable handle signing with this issuer's key (for token services layered on
    /// it, such as the ACR emulator's).
    pub fn signer(&self) -> TokenSigner {
        TokenSigner(self.signer.clone())
    }

    /// A ready-made pull+push token (JWT) for `repo`, valid for five minutes; use it
    /// as `Credential::Bearer`.
    pub fn push_token(&self, repo: &str) -> String {
        let access =
            serde_json::json!([{"type": "repository", "name": repo, "actions": ["pull", "push"]}]);
        self.signer.jwt("uploader", access, 300)
    }
}
