//! The `azurekeyvault` KeyManagementProvider: Ratify's parameters, unchanged, and one fetch
//! of all configured certificates and keys (all or nothing).

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::error::AzureError;
use crate::keyvault::{KeyVaultClient, VersionItem};
use crate::material::{certificates_from_secret, spki_from_jwk};

/// A certificate or key to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    /// Object name.
    pub name: String,
    /// Version; empty = latest.
    pub version: String,
}

/// A KMP's `spec` as Ratify reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVaultSpec {
    /// `vaultURI`, trailing `/` trimmed.
    pub vault_uri: String,
    /// `tenantID`.
    pub tenant_id: String,
    /// `clientID` (workload identity).
    pub client_id: String,
    /// `certificates`.
    pub certificates: Vec<ObjectRef>,
    /// `keys`.
    pub keys: Vec<ObjectRef>,
    /// `versionHistoryLimit` (0: only the named or latest version).
    pub version_history_limit: usize,
    /// `spec.refreshInterval` (None: fetched once, as Ratify's "" default).
    pub refresh_interval: Option<Duration>,
}

fn invalid(detail: impl Into<String>) -> AzureError {
    AzureError::Config {
        field: "CONFIG_INVALID".into(),
        detail: detail.into(),
    }
}

impl KeyVaultSpec {
    /// Reads `spec.parameters` and `spec.refreshInterval` with Ratify's checks and messages.
    pub fn from_parameters(
        params: &Value,
        refresh_interval: Option<&str>,
    ) -> Result<Self, AzureError> {
        let s = |k: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let vault_uri = s("vaultURI").trim_end_matches('/').to_owned();
        if vault_uri.is_empty() {
            return Err(invalid("vaultURI is not set"));
        }
        let tenant_id = s("tenantID");
        if tenant_id.is_empty() {
            return Err(invalid("tenantID is not set"));
        }
        let client_id = s("clientID");
        if client_id.is_empty() {
            return Err(invalid("clientID is not set"));
        }
        let objects = |kind: &str| -> Result<Vec<ObjectRef>, AzureError> {
            let Some(list) = params.get(kind) else {
                return Ok(Vec::new());
            };
            let list = list
                .as_array()
                .ok_or_else(|| invalid(format!("{kind} must be a list")))?;
            list.iter()
                .enumerate()
                .map(|(i, o)| {
                    let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
                    if name.is_empty() {
                        let what = kind.trim_end_matches('s');
                        return Err(invalid(format!(
                            "name is not set for the {} th {what}",
                            i + 1
                        )));
                    }
                    Ok(ObjectRef {
                        name: name.to_owned(),
                        version: o
                            .get("version")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
                })
                .collect()
        };
        let certificates = objects("certificates")?;
        let keys = objects("keys")?;
        if certificates.is_empty() && keys.is_empty() {
            return Err(invalid("no keyvault certificates or keys configured"));
        }
        let version_history_limit = match params.get("versionHistoryLimit") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().filter(|n| *n <= 100).ok_or_else(|| {
                invalid("versionHistoryLimit must be a whole number from 0 to 100")
            })? as usize,
        };
        let refresh_interval = match refresh_interval.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => Some(parse_go_duration(r).ok_or_else(|| {
                invalid(format!(
                    "refreshInterval {r:?} is not a duration such as 1h, 30m or 1h30m"
                ))
            })?)
            .filter(|d| !d.is_zero()),
        };
        Ok(Self {
            vault_uri,
            tenant_id,
            client_id,
            certificates,
            keys,
            version_history_limit,
            refresh_interval,
        })
    }
}

/// Parses a Go duration (`1h`, `1h30m`, `90s`, `1.5h`, `500ms`); no sign.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    (total.is_finite() && total < 1e9).then(|| Duration::from_secs_f64(total))
}

/// One fetched certificate version.
#[derive(Clone, Debug)]
pub struct CertificateVersion {
    /// Object name.
    pub name: String,
    /// Version.
    pub version: String,
    /// False for a disabled version (no certificates then).
    pub enabled: bool,
    /// The chain, DER, in stored order.
    pub chain: Vec<Vec<u8>>,
}

/// One fetched key version.
#[derive(Clone, Debug)]
pub struct KeyVersion {
    /// Object name.
    pub name: String,
    /// Version.
    pub version: String,
    /// False for a disabled version (no key then).
    pub enabled: bool,
    /// `kty` as Key Vault names it (`EC-HSM` …).
    pub kty: String,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

/// Everything one fetch produced.
#[derive(Clone, Debug)]
pub struct Material {
    /// Certificates, in configuration order.
    pub certificates: Vec<CertificateVersion>,
    /// Keys, in configuration order.
    pub keys: Vec<KeyVersion>,
    /// When the fetch finished.
    pub fetched_at: OffsetDateTime,
}

impl Material {
    /// Every trusted certificate (enabled versions), DER.
    pub fn trusted_certificates(&self) -> Vec<Vec<u8>> {
        self.certificates
            .iter()
            .filter(|c| c.enabled)
            .flat_map(|c| c.chain.iter().cloned())
            .collect()
    }

    /// What a notation trust store keeps of the trusted certificates, as Ratify filters
    /// them: CA certificates, and other certificates only when self-signed (a chain's
    /// leaf is dropped, its root kept).
    pub fn trust_store_pem(&self) -> String {
        let keep: Vec<Vec<u8>> = self
            .trusted_certificates()
            .into_iter()
            .filter(|der| {
                x509_parser::parse_x509_certificate(der)
                    .is_ok_and(|(_, c)| c.is_ca() || c.subject().as_raw() == c.issuer().as_raw())
            })
            .collect();
        crate::material::certificates_pem(&keep)
    }

    /// The trusted certificates as one PEM bundle.
    pub fn certificates_pem(&self) -> String {
        crate::material::certificates_pem(&self.trusted_certificates())
    }

    /// The CRD status `properties` Ratify writes (one `Certificates` entry per certificate
    /// in each chain, `Enabled` as a string, both arrays always present).
    pub fn status_properties(&self) -> Value {
        let ts = self
            .fetched_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut certs = Vec::new();
        for c in &self.certificates {
            let entry = serde_json::json!({"Name": c.name, "Version": c.version, "Enabled": c.enabled.to_string(), "LastRefreshed": ts});
            if c.chain.is_empty() {
                certs.push(entry.clone());
            }
            for _ in &c.chain {
                certs.push(entry.clone());
            }
        }
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| serde_json::json!({"Name": k.name, "Version": k.version, "Enabled": k.enabled.to_string(), "LastRefreshed": ts}))
            .collect();
        serde_json::json!({"Certificates": certs, "Keys": keys})
    }

    /// Certificates whose `notAfter` is before `horizon`: `(name, version, subject, notAfter)`.
    pub fn expiring_before(
        &self,
        horizon: OffsetDateTime,
    ) -> Vec<(String, String, String, OffsetDateTime)> {
        let mut out = Vec::new();
        for c in self.certificates.iter().filter(|c| c.enabled) {
            for der in &c.chain {
                if let Ok((_, x)) = x509_parser::parse_x509_certificate(der) {
                    let not_after = x.validity().not_after.to_datetime();
                    if not_after < horizon {
                        out.push((
                            c.name.clone(),
                            c.version.clone(),
                            x.subject().to_string(),
                            not_after,
                        ));
                    }
                }
            }
        }
        out
    }
}

/// The versions to fetch for `r` given the listing (`versionHistoryLimit` > 0): version ""
/// → the newest `limit`; a pinned version → it plus up to `limit` older ones; a pinned version
/// that is not listed → none.
pub fn select_versions(mut listed: Vec<VersionItem>, r: &ObjectRef, limit: usize) -> Vec<String> {
    listed.sort_by_key(|v| std::cmp::Reverse(v.created));
    if r.version.is_empty() {
        return listed.into_iter().take(limit).map(|v| v.version).collect();
    }
    match listed.iter().position(|v| v.version == r.version) {
        None => {
            tracing::warn!(name = %r.name, version = %r.version, "pinned version is not in the vault's version list; nothing fetched for it");
            Vec::new()
        }
        Some(i) => listed
            .into_iter()
            .skip(i)
            .take(limit + 1)
            .map(|v| v.version)
            .collect(),
    }
}

/// Fetches everything `spec` names (certificates, then keys); the first failure aborts.
pub async fn fetch(
    client: &KeyVaultClient,
    spec: &KeyVaultSpec,
    now: OffsetDateTime,
) -> Result<Material, AzureError> {
    let mut certificates = Vec::new();
    for r in &spec.certificates {
        for version in versions(client, "certificates", r, spec.version_history_limit).await? {
            certificates.push(fetch_certificate(client, &r.name, &version).await?);
        }
    }
    let mut keys = Vec::new();
    for r in &spec.keys {
        for version in versions(client, "keys", r, spec.version_history_limit).await? {
            keys.push(fetch_key(client, &r.name, &version).await?);
        }
    }
    Ok(Material {
        certificates,
        keys,
        fetched_at: now,
    })
}

async fn versions(
    client: &KeyVaultClient,
    kind: &str,
    r: &ObjectRef,
    limit: usize,
) -> Result<Vec<String>, AzureError> {
    if limit == 0 {
        return Ok(vec![r.version.clone()]);
    }
    let listed = client.list_versions(kind, &r.name).await?;
    Ok(select_versions(listed, r, limit))
}

fn last_segment(id: &str) -> String {
    id.rsplit('/').next().unwrap_or_default().to_owned()
}

async fn fetch_certificate(
    client: &KeyVaultClient,
    name: &str,
    version: &str,
) -> Result<CertificateVersion, AzureError> {
    let secret = match client.get_secret(name, version).await {
        Ok(s) => s,
        Err(AzureError::Vault(f))
            if f.status == 403 && f.inner.as_deref() == Some("SecretDisabled") =>
        {
            let cert = client.get_certificate(name, version).await?;
            let version = last_segment(
                cert["kid"]
                    .as_str()
                    .or(cert["id"].as_str())
                    .unwrap_or(version),
            );
            tracing::info!(name, version = %version, "certificate version is disabled; not trusted");
            return Ok(CertificateVersion {
                name: name.to_owned(),
                version,
                enabled: false,
                chain: Vec::new(),
            });
        }
        Err(e) => return Err(e),
    };
    let bad = |detail: String| AzureError::Certificate {
        name: name.to_owned(),
        version: version.to_owned(),
        detail,
    };
    let id = secret["id"]
        .as_str()
        .ok_or_else(|| bad("CERT_INVALID: the secret has no id".into()))?;
    let content_type = secret["contentType"]
        .as_str()
        .ok_or_else(|| bad("CERT_INVALID: the secret has no contentType".into()))?;
    let value = secret["value"]
        .as_str()
        .ok_or_else(|| bad("CERT_INVALID: the secret has no value".into()))?;
    let version = last_segment(id);
    let chain =
        certificates_from_secret(content_type, value).map_err(|d| AzureError::Certificate {
            name: name.to_owned(),
            version: version.clone(),
            detail: d,
        })?;
    Ok(CertificateVersion {
        name: name.to_owned(),
        version,
        enabled: true,
        chain,
    })
}

async fn fetch_key(
    client: &KeyVaultClient,
    name: &str,
    version: &str,
) -> Result<KeyVersion, AzureError> {
    let answer = client.get_key(name, version).await?;
    let bad = |detail: String| AzureError::Key {
        name: name.to_owned(),
        version: version.to_owned(),
        detail,
    };
    let jwk = answer
        .get("key")
        .ok_or_else(|| bad("KEY_INVALID: the answer has no key".into()))?;
    let kty = jwk["kty"]
        .as_str()
        .ok_or_else(|| bad("KEY_INVALID: the key has no kty".into()))?
        .to_owned();
    let version = last_segment(jwk["kid"].as_str().unwrap_or(version));
    let enabled = answer["attributes"]["enabled"].as_bool().unwrap_or(true);
    if !enabled {
        return Ok(KeyVersion {
            name: name.to_owned(),
            version,
            enabled,
            kty,
            spki: Vec::new(),
        });
    }
    let spki = spki_from_jwk(jwk).map_err(|d| AzureError::Key {
        name: name.to_owned(),
        version: version.clone(),
        detail: d,
    })?;
    Ok(KeyVersion {
        name: name.to_owned(),
        version,
        enabled,
        kty,
        spki,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ratify_config_errors() {
        let err = |v: Value| {
            KeyVaultSpec::from_parameters(&v, None)
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({})).contains("vaultURI is not set"));
        assert!(
            err(json!({"vaultURI": "https://v.vault.azure.net/"})).contains("tenantID is not set")
        );
        assert!(err(json!({"vaultURI": "u", "tenantID": "t"})).contains("clientID is not set"));
        assert!(
            err(json!({"vaultURI": "u", "tenantID": "t", "clientID": "c"}))
                .contains("no keyvault certificates or keys configured")
        );
        assert!(err(json!({"vaultURI": "u", "tenantID": "t", "clientID": "c", "certificates": [{"name": "a"}, {"version": "1"}]})).contains("name is not set for the 2 th certificate"));
        let s = KeyVaultSpec::from_parameters(
            &json!({"vaultURI": "https://v.vault.azure.net/", "tenantID": "t", "clientID": "c", "keys": [{"name": "k", "version": "v1"}], "versionHistoryLimit": 3}),
            Some("1h30m"),
        )
        .unwrap();
        assert_eq!(s.vault_uri, "https://v.vault.azure.net");
        assert_eq!(
            s.keys,
            vec![ObjectRef {
                name: "k".into(),
                version: "v1".into()
            }]
        );
        assert_eq!(s.version_history_limit, 3);
        assert_eq!(s.refresh_interval, Some(Duration::from_secs(5400)));
        assert!(KeyVaultSpec::from_parameters(
            &json!({"vaultURI": "u", "tenantID": "t", "clientID": "c", "keys": [{"name": "k"}]}),
            Some("soon")
        )
        .is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_go_duration("2h45m10s"),
            Some(Duration::from_secs(9910))
        );
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("-1h"), None);
        assert_eq!(parse_go_duration("1d"), None);
    }

    #[test]
    fn version_selection() {
        let v = |id: &str, created: i64| VersionItem {
            version: id.into(),
            enabled: true,
            created,
        };
        let listed = vec![v("a", 1), v("c", 3), v("b", 2), v("d", 4)];
        let r = |ver: &str| ObjectRef {
            name: "n".into(),
            version: ver.into(),
        };
        assert_eq!(select_versions(listed.clone(), &r(""), 2), vec!["d", "c"]);
        assert_eq!(select_versions(listed.clone(), &r("c"), 1), vec!["c", "b"]);
        assert_eq!(select_versions(listed.clone(), &r("b"), 5), vec!["b", "a"]);
        assert!(select_versions(listed, &r("zz"), 2).is_empty());
    }
}
