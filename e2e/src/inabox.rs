//! The whole box on one machine: Debian's `docker-registry`, the `imagegate` binary
//! (`sign`, `verify`, `serve` with mTLS), and Gatekeeper's client side ([`HttpsProvider`]).
//! Everything started here is stopped by PID when the box is dropped (also on panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use imagegate_oci::{Reference, RegistryClient};
use imagegate_testkit::{Pki, PkiFiles, PkiOptions, Registry};

use crate::binary::{imagegate_binary, BinaryError};
use crate::engine_config::write_engine_config;
use crate::https::{HttpsProvider, TransportError};
use crate::images::{self, ContentError};
use crate::mtls::{MtlsError, MtlsMaterial};
use crate::process::{LogSettings, ProcessError, ProviderProcess};

/// The Provider `timeout` the box's Gatekeeper uses (Ratify's chart uses 5 s; loaded CI
/// machines need more).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the box could not do something.
#[derive(Debug, thiserror::Error)]
pub enum BoxError {
    /// The `imagegate` binary is unavailable.
    #[error(transparent)]
    Binary(#[from] BinaryError),
    /// TLS material could not be made.
    #[error(transparent)]
    Mtls(#[from] MtlsError),
    /// The provider did not start.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// Registry content could not be pushed or signed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// The Gatekeeper client could not be built.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A local file or runtime problem.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An image reference did not parse.
    #[error("bad image reference {0}")]
    Reference(String),
    /// The provider is not running.
    #[error("the provider is not running; call start_provider first")]
    NoProvider,
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> BoxError + '_ {
    move |source| BoxError::Io {
        what: what.to_owned(),
        source,
    }
}

/// A registry, the imagegate binary, TLS material and (once started) the provider.
pub struct GatekeeperInABox {
    /// The registry (anonymous, plain HTTP on 127.0.0.1).
    pub registry: Registry,
    /// The `imagegate` binary.
    pub imagegate: PathBuf,
    /// Provider and Gatekeeper TLS material.
    pub mtls: MtlsMaterial,
    work: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    client: RegistryClient,
    config: Option<PathBuf>,
    provider: Option<ProviderProcess>,
}

impl std::fmt::Debug for GatekeeperInABox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatekeeperInABox")
            .field("registry", &self.registry.host())
            .field("imagegate", &self.imagegate)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl GatekeeperInABox {
    /// Builds (or finds) `imagegate`, starts the registry and makes TLS material.
    /// The registry helper panics when `docker-registry` is not installed (it says how to
    /// install it).
    pub fn start() -> Result<Self, BoxError> {
        let imagegate = imagegate_binary()?;
        let work = tempfile::tempdir().map_err(io("cannot create a temp dir"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("cannot start an async runtime"))?;
        let registry = Registry::start();
        let client = registry.client();
        let mtls = MtlsMaterial::generate()?;
        Ok(Self {
            registry,
            imagegate,
            mtls,
            work,
            runtime,
            client,
            config: None,
            provider: None,
        })
    }

    /// A scratch directory removed with the box.
    pub fn dir(&self) -> &Path {
        self.work.path()
    }

    /// `127.0.0.1:<port>/<rest>`.
    pub fn image(&self, rest: &str) -> String {
        format!("{}/{rest}", self.registry.host())
    }

    fn reference(&self, rest: &str) -> Result<Reference, BoxError> {
        let text = self.image(rest);
        Reference::parse(&text).map_err(|_| BoxError::Reference(text))
    }

    /// Pushes a small unique image `repo:tag`; returns `repo:tag` as an image string.
    pub fn push_image(&self, repo_tag: &str) -> Result<String, BoxError> {
        let reference = self.reference(repo_tag)?;
        let content = format!("imagegate e2e image {repo_tag}\n");
        self.runtime
            .block_on(images::push_image(&self.client, &reference, &content))?;
        Ok(self.image(repo_tag))
    }

    /// The key files of a trusted signer (testkit's default PKI) and a rogue one
    /// (`CN=rogue signer`), written to `trusted{suffix}` and `rogue{suffix}` in the box's
    /// directory.
    pub fn signers(&self, suffix: &str) -> Result<(PkiFiles, PkiFiles), BoxError> {
        let write = |pki: Pki, name: &str| {
            let dir = self.dir().join(format!("{name}{suffix}"));
            std::fs::create_dir_all(&dir).map_err(|source| BoxError::Io {
                what: format!("creating {}", dir.display()),
                source,
            })?;
            Ok::<_, BoxError>(pki.write_files(&dir))
        };
        let rogue = Pki::new(&PkiOptions {
            common_name: "rogue signer".to_owned(),
            ..PkiOptions::default()
        });
        Ok((write(Pki::generate(), "trusted")?, write(rogue, "rogue")?))
    }

    /// `repo@digest` of the pushed `repo:tag` image `image`.
    pub fn pinned(&self, image: &str) -> Result<String, BoxError> {
        let digest = self.digest_of(image)?;
        let repo = image.rsplit_once(':').map_or(image, |(repo, _)| repo);
        Ok(format!("{repo}@{digest}"))
    }

    /// The digest `image` (a tag reference in this registry) resolves to.
    pub fn digest_of(&self, image: &str) -> Result<String, BoxError> {
        let reference =
            Reference::parse(image).map_err(|_| BoxError::Reference(image.to_owned()))?;
        let resolved = self
            .runtime
            .block_on(self.client.resolve(&reference))
            .map_err(ContentError::from)?;
        Ok(resolved.digest)
    }

    /// Signs `image` with `imagegate sign` using `pki`'s key and chain; returns the
    /// signature manifest digest.
    pub fn sign(&self, image: &str, pki: &PkiFiles, envelope: &str) -> Result<String, BoxError> {
        Ok(images::sign_with_cli(
            &self.imagegate,
            &pki.key,
            &pki.chain,
            image,
            envelope,
        )?)
    }

    /// Tampers with the only signature of `image` (see [`images::tamper_signature`]).
    pub fn tamper(&self, image: &str) -> Result<String, BoxError> {
        let digest = self.digest_of(image)?;
        let reference =
            Reference::parse(image).map_err(|_| BoxError::Reference(image.to_owned()))?;
        let subject = Reference {
            tag: None,
            digest: Some(digest),
            ..reference
        };
        Ok(self
            .runtime
            .block_on(images::tamper_signature(&self.client, &subject))?)
    }

    /// Pushes the real Notation e2e fixture into `repo`; returns `repo@sha256:b8479de3…`.
    pub fn push_fixture(&self, repo: &str) -> Result<String, BoxError> {
        let reference = self.reference(&format!("{repo}:v1"))?;
        self.runtime
            .block_on(images::push_notation_fixture(&self.client, &reference))?;
        Ok(self.image(&format!("{repo}@{}", images::FIXTURE_SUBJECT)))
    }

    /// Writes the provider config trusting `certs` (PEM files); returns its path.
    pub fn write_config(&mut self, certs: &[PathBuf]) -> Result<PathBuf, BoxError> {
        let path = write_engine_config(self.work.path(), certs)
            .map_err(io("cannot write the provider config"))?;
        self.config = Some(path.clone());
        Ok(path)
    }

    /// Starts `imagegate serve` (mTLS) with the config trusting `certs`; waits for `/readyz`.
    pub fn start_provider(&mut self, certs: &[PathBuf]) -> Result<&ProviderProcess, BoxError> {
        self.start_provider_with(certs, None, &LogSettings::default())
    }

    /// [`GatekeeperInABox::start_provider`] with our `imagegate` config section set to
    /// `imagegate` (when given) and the given log settings.
    pub fn start_provider_with(
        &mut self,
        certs: &[PathBuf],
        imagegate: Option<serde_json::Value>,
        logs: &LogSettings,
    ) -> Result<&ProviderProcess, BoxError> {
        self.stop_provider();
        let config = self.write_config(certs)?;
        if let Some(section) = imagegate {
            let mut value = crate::engine_config::engine_config(certs);
            value["imagegate"] = section;
            let text = serde_json::to_vec_pretty(&value)
                .map_err(|e| io("cannot render the provider config")(std::io::Error::other(e)))?;
            std::fs::write(&config, text).map_err(io("cannot write the provider config"))?;
        }
        let tls = self.mtls.write(self.work.path())?;
        let process =
            ProviderProcess::start_logging(&self.imagegate, &config, &tls, self.work.path(), logs)?;
        Ok(self.provider.insert(process))
    }

    /// The running provider.
    pub fn provider(&self) -> Option<&ProviderProcess> {
        self.provider.as_ref()
    }

    /// Stops the provider, keeping its port so clients now see a refused connection.
    pub fn stop_provider(&mut self) {
        if let Some(p) = self.provider.as_mut() {
            p.stop();
        }
    }

    /// Gatekeeper's client for the provider: its `caBundle` and webhook certificate.
    pub fn gatekeeper_transport(&self) -> Result<HttpsProvider, BoxError> {
        let url = self.provider.as_ref().ok_or(BoxError::NoProvider)?.url();
        self.gatekeeper_transport_to(&url)
    }

    /// Gatekeeper's client (the box's `caBundle` and webhook certificate) for a provider at
    /// `url`, e.g. one started outside the box.
    pub fn gatekeeper_transport_to(&self, url: &str) -> Result<HttpsProvider, BoxError> {
        Ok(HttpsProvider::new(
            url,
            &self.mtls.server_ca_pem,
            Some(&self.mtls.client_identity_pem()),
            PROVIDER_TIMEOUT,
        )?)
    }

    /// Gatekeeper's client for another endpoint of the same provider process (same listener
    /// and mTLS), e.g. Ratify v2's `/ratify/gatekeeper/v2/verify`.
    pub fn gatekeeper_transport_at(&self, path: &str) -> Result<HttpsProvider, BoxError> {
        let url = self.provider.as_ref().ok_or(BoxError::NoProvider)?.url();
        let url = match url.find("/ratify/") {
            Some(i) => format!("{}{path}", &url[..i]),
            None => url,
        };
        self.gatekeeper_transport_to(&url)
    }

    /// Runs `imagegate verify <image> --config <config>`.
    pub fn verify_cli(&self, image: &str) -> Result<Output, BoxError> {
        let config = self.config.as_ref().ok_or(BoxError::NoProvider)?;
        Command::new(&self.imagegate)
            .arg("verify")
            .arg(image)
            .arg("--config")
            .arg(config)
            .output()
            .map_err(io("cannot run imagegate verify"))
    }
}

impl Drop for GatekeeperInABox {
    fn drop(&mut self) {
        self.stop_provider();
    }
}
