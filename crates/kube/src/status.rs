//! Ratify-style status: `issuccess`, `error`, `brieferror` (`<CODE>: <reason>` cut to 100
//! characters as 97 + `...`), and for key management providers `lastfetchedtime` and
//! `properties`. Written with a merge patch to the status subresource, only when it differs
//! from what the object shows, with the object's resourceVersion as precondition; a conflict
//! re-reads the object and compares again (another replica may have written the same).

use imagegate_engine::ConfigError;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

use crate::error::KubeError;
use crate::kinds::Kind;

/// The most characters of `brieferror`.
pub const BRIEF_MAX: usize = 100;

/// The status an object should show.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// `issuccess`.
    pub success: bool,
    /// `error`: the full text.
    pub error: Option<String>,
    /// `brieferror`.
    pub brief: Option<String>,
    /// `properties` (key management providers).
    pub properties: Option<Value>,
}

impl Desired {
    /// Loaded fine.
    pub fn ok(properties: Option<Value>) -> Self {
        Self {
            success: true,
            error: None,
            brief: None,
            properties,
        }
    }

    /// Did not load: `code` is Ratify's error code for the kind.
    pub fn failed(code: &str, error: &ConfigError) -> Self {
        let reason = match error {
            ConfigError::Invalid { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        Self {
            success: false,
            error: Some(format!("{code}: {error}")),
            brief: Some(brief(&format!("{code}: {reason}"))),
            properties: None,
        }
    }

    /// Failed for a reason outside the configuration (a pull secret).
    pub fn failed_text(code: &str, text: &str) -> Self {
        Self {
            success: false,
            error: Some(format!("{code}: {text}")),
            brief: Some(brief(&format!("{code}: {text}"))),
            properties: None,
        }
    }

    /// Whether `status` (the object's current `.status`) already says this, in v1's field
    /// names or (`v2`) Ratify v2's (`succeeded`, `error`, `briefError`).
    pub fn shown_by(&self, status: Option<&Value>, v2: bool) -> bool {
        let s = status.cloned().unwrap_or(Value::Null);
        let (success, brief) = field_names(v2);
        s[success].as_bool() == Some(self.success)
            && s["error"].as_str() == self.error.as_deref()
            && s[brief].as_str() == self.brief.as_deref()
            && (self.properties.is_none()
                || s.get("properties").map(without_refresh_times)
                    == self.properties.as_ref().map(without_refresh_times))
    }
}

/// `properties` without the entries' `LastRefreshed`: each replica fetches fetched
/// providers (Key Vault) at its own times, so the same material is compared without them
/// (otherwise replicas would rewrite each other's status after every fetch).
fn without_refresh_times(properties: &Value) -> Value {
    let mut p = properties.clone();
    for list in ["Certificates", "Keys"] {
        if let Some(Value::Array(entries)) = p.get_mut(list) {
            for e in entries {
                if let Value::Object(m) = e {
                    m.remove("LastRefreshed");
                }
            }
        }
    }
    p
}

/// Ratify's error code for a failing object of `kind`.
pub fn error_code(kind: &str) -> &'static str {
    match kind.trim_start_matches("Namespaced") {
        "Verifier" => "PLUGIN_INIT_FAILURE",
        "Store" => "REFERRER_STORE_FAILURE",
        "KeyManagementProvider" => "KEY_MANAGEMENT_PROVIDER_FAILURE",
        _ => "CONFIG_INVALID",
    }
}

/// `text` cut to [`BRIEF_MAX`] characters: 97 and `...` when longer.
pub fn brief(text: &str) -> String {
    if text.chars().count() <= BRIEF_MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(BRIEF_MAX - 3).collect();
        s.push_str("...");
        s
    }
}

/// The success and brief-error field names of a status: Ratify v1's, or v2's.
fn field_names(v2: bool) -> (&'static str, &'static str) {
    if v2 {
        ("succeeded", "briefError")
    } else {
        ("issuccess", "brieferror")
    }
}

/// The merge patch that makes the status say `d` (`lastfetchedtime` for providers).
fn patch_body(d: &Desired, rv: Option<&str>, kmp: bool, v2: bool, now: &str) -> Value {
    let (success, brief) = field_names(v2);
    let mut status = json!({
        success: d.success,
        "error": d.error,
        brief: d.brief,
    });
    if kmp {
        status["lastfetchedtime"] = json!(now);
        if let Some(p) = &d.properties {
            status["properties"] = p.clone();
        }
    }
    json!({"metadata": {"resourceVersion": rv}, "status": status})
}

/// What a status write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The object already showed it (possibly written by another replica).
    AlreadyShown,
    /// We wrote it.
    Written,
    /// The object is gone.
    Gone,
}

/// Makes `obj`'s status say `d`, retrying on conflict (at most 5 attempts).
pub async fn write(
    api: &Api<DynamicObject>,
    kind: &Kind,
    obj: &DynamicObject,
    d: &Desired,
    now: &str,
) -> Result<Written, KubeError> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let kmp = kind.kind.ends_with("KeyManagementProvider");
    let mut current = obj.clone();
    for _ in 0..5 {
        if d.shown_by(current.data.get("status"), kind.is_v2()) {
            return Ok(Written::AlreadyShown);
        }
        let body = patch_body(
            d,
            current.metadata.resource_version.as_deref(),
            kmp,
            kind.is_v2(),
            now,
        );
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            Ok(_) => return Ok(Written::Written),
            Err(kube::Error::Api(e)) if e.code == 409 => match api.get_opt(&name).await? {
                Some(o) => current = o,
                None => return Ok(Written::Gone),
            },
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(Written::Gone),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Written::AlreadyShown)
}

/// Records a Kubernetes Event (core/v1) about `obj` in `namespace`.
pub async fn event(
    api: &Api<DynamicObject>,
    kind: &Kind,
    obj: &DynamicObject,
    reason: &str,
    message: &str,
    now: &str,
) -> Result<(), KubeError> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let rv = obj.metadata.resource_version.clone().unwrap_or_default();
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let suffix: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let body = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.{rv}.{suffix}")},
        "involvedObject": {
            "apiVersion": format!("{}/{}", kind.group, kind.version),
            "kind": kind.kind,
            "name": name,
            "namespace": obj.metadata.namespace,
            "uid": obj.metadata.uid,
            "resourceVersion": obj.metadata.resource_version,
        },
        "reason": reason,
        "message": brief_event(message),
        "type": "Warning",
        "source": {"component": "imagegate"},
        "reportingComponent": "imagegate",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let event: DynamicObject =
        serde_json::from_value(body).map_err(|e| KubeError::Config(format!("event body: {e}")))?;
    match api.create(&PostParams::default(), &event).await {
        Ok(_) => Ok(()),
        // Another replica recorded the same event.
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Event messages are limited to 1 KiB by the API server.
fn brief_event(message: &str) -> String {
    message.chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_cuts_at_100_characters_with_an_ellipsis() {
        let long = "x".repeat(150);
        let b = brief(&long);
        assert_eq!(b.chars().count(), 100);
        assert!(b.ends_with("..."));
        assert_eq!(
            brief("PLUGIN_INIT_FAILURE: short"),
            "PLUGIN_INIT_FAILURE: short"
        );
        let exact = "y".repeat(100);
        assert_eq!(brief(&exact), exact);
        let multibyte = "é".repeat(120);
        assert_eq!(brief(&multibyte).chars().count(), 100);
    }

    #[test]
    fn failure_status_names_the_code_and_the_reason() {
        let e = ConfigError::Invalid {
            field: "Verifier \"v\" spec.parameters".into(),
            reason: "verificationCertStores: unknown provider".into(),
        };
        let d = Desired::failed(error_code("NamespacedVerifier"), &e);
        assert_eq!(
            d.brief.as_deref(),
            Some("PLUGIN_INIT_FAILURE: verificationCertStores: unknown provider")
        );
        assert!(d
            .error
            .as_deref()
            .is_some_and(|t| t.contains("Verifier \"v\"")));
        assert!(!d.shown_by(None, false));
        let shown = json!({"issuccess": false, "error": d.error, "brieferror": d.brief});
        assert!(d.shown_by(Some(&shown), false));
        // Ratify v2's Executor status names the same facts differently.
        assert!(!d.shown_by(Some(&shown), true));
        let v2 = json!({"succeeded": false, "error": d.error, "briefError": d.brief});
        assert!(d.shown_by(Some(&v2), true));
    }

    #[test]
    fn fetched_properties_are_compared_without_refresh_times() {
        let entry = |version: &str, at: &str| json!({"Name": "signer", "Version": version, "Enabled": "true", "LastRefreshed": at});
        let mine = Desired::ok(Some(json!({
            "Certificates": [entry("v2", "2026-01-01T00:00:02Z")], "Keys": []
        })));
        let other_replica = json!({"issuccess": true, "error": null, "brieferror": null,
            "properties": {"Certificates": [entry("v2", "2026-01-01T00:00:01Z")], "Keys": []}});
        assert!(mine.shown_by(Some(&other_replica), false));
        let older = json!({"issuccess": true, "error": null, "brieferror": null,
            "properties": {"Certificates": [entry("v1", "2026-01-01T00:00:02Z")], "Keys": []}});
        assert!(!mine.shown_by(Some(&older), false));
    }
}
