//! The process environment the Azure credentials read, as a snapshot struct: production fills
//! it from `std::env` once ([`AzureEnv::from_process`]); tests build it directly, so no test
//! ever mutates the process environment.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Azure's public-cloud authority, used when `AZURE_AUTHORITY_HOST` is unset.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";
/// The link-local IMDS endpoint, used when `AZURE_POD_IDENTITY_AUTHORITY_HOST` is unset.
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";

/// The Azure-related environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AzureEnv {
    /// `AZURE_CLIENT_ID` (injected by the workload-identity webhook when the service account
    /// is annotated with `azure.workload.identity/client-id`).
    pub client_id: Option<String>,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `AZURE_FEDERATED_TOKEN_FILE` (the projected service-account token; re-read on every
    /// token request since the kubelet rotates it).
    pub federated_token_file: Option<PathBuf>,
    /// `AZURE_AUTHORITY_HOST` (default [`DEFAULT_AUTHORITY_HOST`]).
    pub authority_host: Option<String>,
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`: the IMDS base URL override azidentity honours
    /// (default [`DEFAULT_IMDS_ENDPOINT`]).
    pub imds_endpoint: Option<String>,
    /// `IMAGEGATE_AZURE_CA_FILE`: extra root CAs (PEM) trusted for Azure endpoints, in
    /// addition to the system roots (a private CA in front of Azure, or test emulators).
    pub extra_ca_file: Option<PathBuf>,
    /// `IMAGEGATE_AZURE_RESOLVE`: `host=ip:port` pairs, comma separated, that pin names to
    /// addresses for the Azure client (like `curl --resolve`; certificates are still checked
    /// against the name).
    pub resolve: Vec<(String, SocketAddr)>,
}

impl AzureEnv {
    /// Reads the variables of the running process (the one place that does).
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            client_id: var("AZURE_CLIENT_ID"),
            tenant_id: var("AZURE_TENANT_ID"),
            federated_token_file: var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
            authority_host: var("AZURE_AUTHORITY_HOST"),
            imds_endpoint: var("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
            extra_ca_file: var("IMAGEGATE_AZURE_CA_FILE").map(PathBuf::from),
            resolve: var("IMAGEGATE_AZURE_RESOLVE")
                .map(|v| parse_resolve(&v))
                .unwrap_or_default(),
        }
    }

    /// The authority host with exactly one trailing slash.
    pub fn authority(&self) -> String {
        let h = self
            .authority_host
            .as_deref()
            .unwrap_or(DEFAULT_AUTHORITY_HOST);
        format!("{}/", h.trim_end_matches('/'))
    }

    /// The IMDS base URL without a trailing slash.
    pub fn imds(&self) -> String {
        self.imds_endpoint
            .as_deref()
            .unwrap_or(DEFAULT_IMDS_ENDPOINT)
            .trim_end_matches('/')
            .to_owned()
    }
}

/// Parses `host=ip:port[,host=ip:port…]`, skipping malformed entries.
pub fn parse_resolve(v: &str) -> Vec<(String, SocketAddr)> {
    v.split(',')
        .filter_map(|pair| {
            let (host, addr) = pair.trim().split_once('=')?;
            Some((host.trim().to_ascii_lowercase(), addr.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_and_imds_defaults_and_slashes() {
        let mut e = AzureEnv::default();
        assert_eq!(e.authority(), "https://login.microsoftonline.com/");
        assert_eq!(e.imds(), "http://169.254.169.254");
        e.authority_host = Some("https://login.microsoftonline.us".into());
        assert_eq!(e.authority(), "https://login.microsoftonline.us/");
        e.authority_host = Some("https://login.chinacloudapi.cn//".into());
        assert_eq!(e.authority(), "https://login.chinacloudapi.cn/");
        e.imds_endpoint = Some("http://127.0.0.1:9/".into());
        assert_eq!(e.imds(), "http://127.0.0.1:9");
    }

    #[test]
    fn resolve_pairs() {
        let r = parse_resolve("a.vault.azure.net=127.0.0.1:8443, bad, b=[::1]:1,c=notaddr");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, "a.vault.azure.net");
        assert_eq!(r[1].1.port(), 1);
    }
}
