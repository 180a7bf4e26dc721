//! The running source: one kube-rs watcher per kind (each replica watches on its own), a
//! [`Snapshot`] of what they listed, and on every change of a synced snapshot a
//! reconciliation whose configuration is put in force and whose statuses are written.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt as _, StreamExt as _};
use imagegate_engine::{Engine, EngineOptions, ReloadOutcome};
use kube::api::{Api, DynamicObject};
use kube::runtime::{watcher, WatchStreamExt as _};
use kube::Client;
use time::format_description::well_known::Rfc3339;

use crate::error::KubeError;
use crate::gate::Gate;
use crate::key_management::{kmp_objects, KeyManagementHook};
use crate::kinds::{Kind, RATIFY_V1, RATIFY_V2, SECRETS};
use crate::reconcile::{ObjRef, Outcome, Reconciler};
use crate::snapshot::Snapshot;
use crate::status::{self, Desired};

/// Longest wait for one status or event write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the source runs.
pub struct SourceOptions {
    /// Optional Ratify `config.json` (executor and `imagegate` settings).
    pub config_path: Option<PathBuf>,
    /// Options of the engine built from the first configuration.
    pub engine: EngineOptions,
    /// Kinds watched (default: Ratify v1 and Secrets).
    pub kinds: Vec<Kind>,
    /// Namespace for pull secrets named without one and for events about cluster objects
    /// (default: the client's, i.e. the pod's or the kubeconfig context's).
    pub namespace: Option<String>,
    /// Whether to write statuses and events.
    pub write_status: bool,
    /// Runs what fetches key management material (e.g. `azurekeyvault` refreshers): told
    /// about every snapshot's KMP objects before its configuration is built, and its change
    /// notifications reconcile the last snapshot again.
    pub key_management: Option<Arc<dyn KeyManagementHook>>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        let mut kinds = RATIFY_V1.to_vec();
        kinds.extend_from_slice(RATIFY_V2);
        kinds.push(SECRETS);
        Self {
            config_path: None,
            engine: EngineOptions::default(),
            kinds,
            namespace: None,
            write_status: true,
            key_management: None,
        }
    }
}

impl std::fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceOptions")
            .field("config_path", &self.config_path)
            .field("kinds", &self.kinds)
            .field("namespace", &self.namespace)
            .field("key_management", &self.key_management.is_some())
            .finish_non_exhaustive()
    }
}

/// A client configured the standard way: `KUBECONFIG` / `~/.kube/config`, else the pod's
/// service account (kube-rs `Config::infer`).
pub async fn connect() -> Result<Client, KubeError> {
    let config = kube::Config::infer()
        .await
        .map_err(|e| KubeError::Config(e.to_string()))?;
    Client::try_from(config).map_err(KubeError::from)
}

/// The running source; dropping it stops the watchers.
#[derive(Debug)]
pub struct Source {
    task: tokio::task::JoinHandle<()>,
    _credentials: tempfile::TempDir,
}

impl Drop for Source {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching; `gate` opens once the first complete configuration is in force.
pub fn spawn(client: Client, gate: Gate, options: SourceOptions) -> Result<Source, KubeError> {
    let credentials = tempfile::Builder::new()
        .prefix("imagegate-pull-secrets-")
        .tempdir()
        .map_err(KubeError::CredentialsFile)?;
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let reconciler = Reconciler::new(
        options.config_path.clone(),
        namespace.clone(),
        credentials.path(),
    )
    .with_key_management(options.key_management.clone());
    let task = tokio::spawn(run(client, gate, options, reconciler, namespace));
    Ok(Source {
        task,
        _credentials: credentials,
    })
}

async fn run(
    client: Client,
    gate: Gate,
    options: SourceOptions,
    mut reconciler: Reconciler,
    namespace: String,
) {
    let streams = options.kinds.iter().enumerate().map(|(i, kind)| {
        let api = Api::<DynamicObject>::all_with(client.clone(), &kind.api_resource());
        let mut config = watcher::Config::default();
        if let Some(fields) = kind.field_selector {
            config = config.fields(fields);
        }
        watcher(api, config)
            .default_backoff()
            .map(move |ev| (i, ev))
            .boxed()
    });
    let mut events = futures_util::stream::select_all(streams);
    let mut snap = Snapshot::new(options.kinds.clone());
    let clock = Arc::clone(&options.engine.clock);
    let mut last: Option<Outcome> = None;
    let mut written = Written::default();
    loop {
        // A watch event, or (with a key management hook) fetched material that changed.
        let material = async {
            match &options.key_management {
                Some(hook) => hook.changed().await,
                None => std::future::pending().await,
            }
        };
        let changed = tokio::select! {
            first = events.next() => {
                let Some(first) = first else { break };
                let mut changed = apply(&mut snap, first);
                // Take everything already waiting, so one burst gives one reconciliation.
                while let Some(Some(more)) = events.next().now_or_never() {
                    changed |= apply(&mut snap, more);
                }
                changed
            }
            () = material => {
                tracing::info!("key management material changed; reconciling again");
                true
            }
        };
        if !changed || !snap.synced() {
            continue;
        }
        if let Some(hook) = &options.key_management {
            hook.sync(&kmp_objects(&snap)).await;
        }
        let outcome = reconciler.reconcile(&snap);
        match &outcome.config {
            Ok(config) => put_in_force(&gate, config.clone(), &options.engine),
            Err(error) => tracing::error!(
                %error,
                "the objects in the Kubernetes API do not make a complete configuration; \
                 the previous one stays in force"
            ),
        }
        if options.write_status {
            let now = clock
                .now()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| clock.now())
                .format(&Rfc3339)
                .unwrap_or_default();
            let previous = last.as_ref();
            write_statuses(
                &client,
                &snap,
                &outcome,
                previous,
                &mut written,
                &namespace,
                &now,
            )
            .await;
        }
        last = Some(outcome);
    }
}

fn apply(
    snap: &mut Snapshot,
    (i, ev): (usize, Result<watcher::Event<DynamicObject>, watcher::Error>),
) -> bool {
    match ev {
        Ok(ev) => snap.apply(i, ev),
        // No CRD for this kind (e.g. Ratify v2's Executor in a v1-only cluster): it has no
        // objects; the watcher keeps retrying and lists them once the CRD is installed.
        Err(watcher::Error::InitialListFailed(kube::Error::Api(e))) if e.code == 404 => {
            snap.absent(i)
        }
        Err(error) => {
            let kind = snap.kinds()[i].kind;
            tracing::warn!(kind, %error, "Kubernetes watch interrupted; retrying");
            false
        }
    }
}

fn put_in_force(gate: &Gate, config: imagegate_engine::EngineConfig, options: &EngineOptions) {
    match gate.engine() {
        Some(engine) => match engine.apply_config(config) {
            Ok(ReloadOutcome::Reloaded { generation }) => {
                tracing::info!(generation, "configuration from the Kubernetes API in force");
            }
            Ok(ReloadOutcome::Unchanged) => {}
            Err(error) => {
                tracing::error!(%error, "configuration rejected; the previous one stays in force")
            }
        },
        None => match Engine::from_config(config, options.clone()) {
            Ok(engine) => {
                tracing::info!("first configuration from the Kubernetes API in force; ready");
                gate.open(engine);
            }
            Err(error) => tracing::error!(%error, "configuration rejected; not ready"),
        },
    }
}

/// The statuses this process wrote: per object, the resourceVersion the write was based on and
/// what it said. Until the watch delivers the object as changed by that write, a reconciliation
/// (triggered by another object) still sees the old status; this keeps it from writing again.
type Written = std::collections::HashMap<ObjRef, (Option<String>, Desired)>;

async fn write_statuses(
    client: &Client,
    snap: &Snapshot,
    outcome: &Outcome,
    previous: Option<&Outcome>,
    written: &mut Written,
    namespace: &str,
    now: &str,
) {
    written.retain(|r, _| outcome.statuses.contains_key(r));
    for (r, desired) in &outcome.statuses {
        let ObjRef { kind: i, key } = r;
        let kind = &snap.kinds()[*i];
        let Some(obj) = snap.objects(*i).get(key) else {
            continue;
        };
        if desired.shown_by(obj.data.get("status"), kind.is_v2()) {
            continue;
        }
        let based_on = obj.metadata.resource_version.clone();
        if written.get(r) == Some(&(based_on.clone(), desired.clone())) {
            continue;
        }
        let ar = kind.api_resource();
        let api = match &obj.metadata.namespace {
            Some(ns) => Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar),
            None => Api::<DynamicObject>::all_with(client.clone(), &ar),
        };
        let name = key.1.as_str();
        match tokio::time::timeout(WRITE_TIMEOUT, status::write(&api, kind, obj, desired, now))
            .await
        {
            Ok(Ok(status::Written::Written)) => {
                written.insert(r.clone(), (based_on, desired.clone()));
                tracing::info!(
                    kind = kind.kind,
                    name,
                    success = desired.success,
                    "status written"
                );
                let repeated = previous.and_then(|p| p.statuses.get(r)) == Some(desired);
                if !desired.success && !repeated {
                    let ns = obj.metadata.namespace.as_deref().unwrap_or(namespace);
                    let events = Api::<DynamicObject>::namespaced_with(
                        client.clone(),
                        ns,
                        &crate::kinds::EVENTS.api_resource(),
                    );
                    let message = desired.error.as_deref().unwrap_or_default();
                    let reason = reason(desired);
                    if let Err(error) = tokio::time::timeout(
                        WRITE_TIMEOUT,
                        status::event(&events, kind, obj, reason, message, now),
                    )
                    .await
                    .unwrap_or_else(|_| Err(KubeError::Config("timed out".into())))
                    {
                        tracing::warn!(kind = kind.kind, name, %error, "cannot record an event");
                    }
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(kind = kind.kind, name, %error, "cannot write status"),
            Err(_) => tracing::warn!(kind = kind.kind, name, "status write timed out"),
        }
    }
}

fn reason(d: &Desired) -> &'static str {
    match d.brief.as_deref() {
        Some(b) if b.starts_with("PLUGIN_INIT_FAILURE") => "VerifierFailed",
        Some(b) if b.starts_with("REFERRER_STORE_FAILURE") => "StoreFailed",
        Some(b) if b.starts_with("KEY_MANAGEMENT_PROVIDER_FAILURE") => {
            "KeyManagementProviderFailed"
        }
        _ => "ConfigInvalid",
    }
}
