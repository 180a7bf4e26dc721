//! Runs Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port with
//! filesystem storage (deletes enabled) in a temp dir.
//!
//! The registry runs under a tiny `sh` guard that kills it when its stdin closes, so an
//! instance kept in a `static` (whose `Drop` never runs) still stops when the test
//! process exits. `Drop` stops it explicitly by PID.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imagegate_oci::{
    ClientConfig, Credential, CredentialProvider, Reference, RegistryClient, StaticCredentials,
};

use crate::free_port;
use crate::push::Pusher;
use crate::token::{TokenIssuer, ISSUER, SERVICE};

/// Where Debian installs the registry (`apt-get install docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// How long the registry may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running registry. Stopped on drop.
pub struct Registry {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    pid: u32,
    guard: Mutex<Option<(Child, ChildStdin)>>,
    dir: tempfile::TempDir,
    credential: Option<Credential>,
    issuer: Option<TokenIssuer>,
    tls: bool,
}

enum Auth {
    None,
    Htpasswd {
        user: String,
        password: String,
    },
    Token {
        root_cert_pem: String,
        realm: String,
    },
}

impl Registry {
    /// Anonymous access over plain HTTP.
    #[track_caller]
    pub fn start() -> Self {
        Self::launch(Auth::None, None, None, None)
    }

    /// htpasswd Basic auth with one user (`Registry::credential` returns it).
    #[track_caller]
    pub fn start_htpasswd(user: &str, password: &str) -> Self {
        let auth = Auth::Htpasswd {
            user: user.into(),
            password: password.into(),
        };
        let credential = basic(user, password);
        Self::launch(auth, None, Some(credential), None)
    }

    /// Docker token auth behind an in-process [`TokenIssuer`] that grants what is
    /// asked to `user:password` and nothing to anonymous callers
    /// (`Registry::token_issuer` returns it).
    #[track_caller]
    pub fn start_token(user: &str, password: &str) -> Self {
        let issuer = TokenIssuer::start(user, password);
        let auth = Auth::Token {
            root_cert_pem: issuer.cert_pem.clone(),
            realm: issuer.realm(),
        };
        Self::launch(auth, None, Some(basic(user, password)), Some(issuer))
    }

    /// Docker token auth with tokens signed by `issuer` but requested at `realm` (another
    /// token service in front, such as the ACR emulator's `/oauth2/token`).
    #[track_caller]
    pub fn start_token_realm(issuer: TokenIssuer, realm: &str) -> Self {
        let auth = Auth::Token {
            root_cert_pem: issuer.cert_pem.clone(),
            realm: realm.to_owned(),
        };
        Self::launch(auth, None, None, Some(issuer))
    }

    /// Anonymous access over HTTPS with `(certificate PEM, private key PEM)`.
    #[track_caller]
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Self {
        let tls = Some((cert_pem.to_owned(), key_pem.to_owned()));
        Self::launch(Auth::None, tls, None, None)
    }

    #[track_caller]
    fn launch(
        auth: Auth,
        tls: Option<(String, String)>,
        credential: Option<Credential>,
        issuer: Option<TokenIssuer>,
    ) -> Self {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: install it with `apt-get install -y docker-registry`"
        );
        let dir = tempfile::tempdir().expect("cannot create the registry temp dir");
        let port = free_port();
        let config_path = dir.path().join("config.yml");
        let is_tls = tls.is_some();
        let config = config_yaml(dir.path(), port, &auth, tls);
        std::fs::write(&config_path, config).expect("cannot write the registry config");
        let log = dir.path().join("registry.log");
        // The guard prints the registry PID, waits for stdin EOF, then kills it.
        let script = r#"REGISTRY_HTTP_SECRET=imagegate-test "$0" serve "$1" >"$2" 2>&1 & p=$!; echo $p; read _x; kill $p 2>/dev/null; wait $p 2>/dev/null"#;
        let mut child = Command::new("sh")
            .args(["-c", script, REGISTRY_BIN])
            .arg(&config_path)
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run sh");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("cannot read the registry pid from the guard");
        let pid: u32 = line
            .trim()
            .parse()
            .expect("guard did not print the registry pid");
        let reg = Self {
            port,
            pid,
            guard: Mutex::new(Some((child, stdin))),
            dir,
            credential,
            issuer,
            tls: is_tls,
        };
        reg.wait_ready();
        reg
    }

    #[track_caller]
    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                // Go's TLS listener answers plain HTTP with a 400, which is enough here.
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if std::io::Read::read(&mut s, &mut buf).is_ok_and(|n| n >= 12) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not start: {}", self.log());
    }

    /// `127.0.0.1:<port>`, as written in image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>` (`https://` for [`Registry::start_tls`]).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The registry's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The user's credentials for htpasswd and token registries.
    pub fn credential(&self) -> Option<Credential> {
        self.credential.clone()
    }

    /// The token issuer of a [`Registry::start_token`] registry.
    pub fn token_issuer(&self) -> Option<&TokenIssuer> {
        self.issuer.as_ref()
    }

    /// Credentials for this registry (the user's, or anonymous), for a client config.
    pub fn credentials(&self) -> Arc<dyn CredentialProvider> {
        let mut creds = StaticCredentials::default();
        if let Some(c) = &self.credential {
            creds = creds.with(&self.host(), c.clone());
        }
        Arc::new(creds)
    }

    /// A client for this registry with the user's credentials: plain HTTP, or HTTPS with
    /// only the system roots for a [`Registry::start_tls`] registry (build your own client
    /// with `extra_root_pems` to trust a private CA).
    #[track_caller]
    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(ClientConfig {
            credentials: self.credentials(),
            plain_http_loopback: !self.tls,
            ..Default::default()
        })
        .expect("cannot build a registry client")
    }

    /// `<host>/<rest>` parsed, e.g. `registry.reference("app:v1")`.
    #[track_caller]
    pub fn reference(&self, rest: &str) -> Reference {
        let text = format!("{}/{rest}", self.host());
        Reference::parse(&text).unwrap_or_else(|e| panic!("bad test reference {text}: {e}"))
    }

    /// A [`Pusher`] for `repo` with the user's credentials.
    pub fn pusher(&self, repo: &str) -> Pusher {
        Pusher::with_client(self.client(), &self.host(), repo)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        if let Ok(mut g) = self.guard.lock() {
            if let Some((mut child, stdin)) = g.take() {
                drop(stdin);
                let _ = child.wait();
            }
        }
    }
}

fn basic(user: &str, password: &str) -> Credential {
    Credential::Basic {
        username: user.into(),
        password: password.into(),
    }
}

#[track_caller]
fn config_yaml(dir: &Path, port: u16, auth: &Auth, tls: Option<(String, String)>) -> String {
    let storage = dir.join("storage");
    let mut config = format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
        storage.display()
    );
    if let Some((cert, key)) = tls {
        let (c, k) = (dir.join("tls.crt"), dir.join("tls.key"));
        std::fs::write(&c, cert).expect("cannot write tls.crt");
        std::fs::write(&k, key).expect("cannot write tls.key");
        config.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            c.display(),
            k.display()
        ));
    }
    match auth {
        Auth::None => {}
        Auth::Htpasswd { user, password } => {
            let hash = bcrypt::hash(password, 4).expect("bcrypt failed");
            let path = dir.join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).expect("cannot write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: imagegate-test\n    path: {}\n",
                path.display()
            ));
        }
        Auth::Token {
            root_cert_pem,
            realm,
        } => {
            let path = dir.join("token-root.pem");
            std::fs::write(&path, root_cert_pem).expect("cannot write the token root");
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                path.display()
            ));
        }
    }
    config
}
