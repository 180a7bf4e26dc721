//! An in-test Kubernetes API server: plain HTTP on a free 127.0.0.1 port, enough of the wire
//! protocol for kube-rs's client and watcher (and `curl`):
//!
//! * paths `/api/v1/…` and `/apis/{group}/{version}/…`, cluster-scoped and namespaced, for the
//!   resources given at start ([`ApiServer::ratify_resources`]: Ratify v1's nine kinds, v2's
//!   Executor and NamespacedExecutor, core
//!   `secrets` and `events`);
//! * list (`limit`/`continue`, `metadata.resourceVersion`), get, create (201, `AlreadyExists`),
//!   update (PUT; `resourceVersion` required, 409 `Conflict` when stale), merge-patch and
//!   apply-patch (`fieldManager` required; strategic merge refused with 415), delete;
//! * the status subresource: writes to `…/status` change only `.status`, writes to the object
//!   keep it; a write that changes nothing keeps the resourceVersion and emits no event;
//!   `metadata.generation` moves on spec changes only;
//! * watch: history replay from a resourceVersion, synthetic `ADDED`s without one, bookmarks,
//!   `timeoutSeconds`, and 410 `Expired` as an in-stream `ERROR` event once the history was
//!   [`compact`](ApiServer::compact)ed;
//! * errors as `Status` objects; an optional bearer token (401 otherwise);
//! * a [request log](ApiServer::requests) with the Kubernetes verb of each request, and
//!   [`restart`](ApiServer::restart) on the same port, keeping or losing the objects.
//!
//! * field selectors on `type`, `metadata.name`, `metadata.namespace` (others: 400).
//!
//! * discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`) and
//!   `Table` lists with the printer columns, so `kubectl apply --validate=false`, `get` and
//!   `delete` work against it.
//!
//! Not emulated: aggregated discovery, OpenAPI, label selectors, json-patch, server-side apply's
//! field ownership (an apply merges its fields), admission and validation against schemas.

mod discovery;
mod http;
pub mod state;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::watch as tokio_watch;

pub use state::{ApiError, Resource};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// Decoded query parameters.
    pub query: HashMap<String, String>,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete.
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource (`status`).
    pub subresource: Option<String>,
    /// Namespace in the path.
    pub namespace: Option<String>,
    /// Object name in the path.
    pub name: Option<String>,
    /// `Content-Type`.
    pub content_type: String,
    /// `Authorization` header (tests check a token was sent; never printed by the server).
    pub authorization: Option<String>,
}

/// Start options.
#[derive(Clone, Debug)]
pub struct ApiServerOptions {
    /// Resources served.
    pub resources: Vec<Resource>,
    /// Bearer token every request must carry; `None` accepts anonymous requests.
    pub token: Option<String>,
    /// How often watches that allow bookmarks get one.
    pub bookmark_every: Duration,
}

impl Default for ApiServerOptions {
    fn default() -> Self {
        Self {
            resources: ApiServer::ratify_resources(),
            token: None,
            bookmark_every: Duration::from_secs(1),
        }
    }
}

/// The running emulator. Stopped on drop.
pub struct ApiServer {
    addr: SocketAddr,
    options: ApiServerOptions,
    state: Arc<Mutex<state::State>>,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    notify: Arc<tokio_watch::Sender<u64>>,
    running: Option<Running>,
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl ApiServer {
    /// Ratify v1's kinds (v1beta1), v2's Executor kinds (v2alpha1), core `secrets` and core
    /// `events`.
    pub fn ratify_resources() -> Vec<Resource> {
        let crd = |kind: &str, plural: &str, namespaced: bool| Resource {
            group: "config.ratify.deislabs.io".into(),
            version: "v1beta1".into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced,
            status_subresource: true,
            printer_columns: {
                let mut c = vec![
                    ("IsSuccess".to_owned(), ".status.issuccess".to_owned()),
                    ("Error".to_owned(), ".status.brieferror".to_owned()),
                ];
                if kind.ends_with("KeyManagementProvider") || kind == "CertificateStore" {
                    c.push((
                        "LastFetchedTime".to_owned(),
                        ".status.lastfetchedtime".to_owned(),
                    ));
                }
                c
            },
        };
        let v2 = |kind: &str, plural: &str, namespaced: bool| Resource {
            group: "config.ratify.sh".into(),
            version: "v2alpha1".into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced,
            status_subresource: true,
            printer_columns: vec![
                ("Succeeded".to_owned(), ".status.succeeded".to_owned()),
                ("Error".to_owned(), ".status.briefError".to_owned()),
            ],
        };
        let core = |kind: &str, plural: &str| Resource {
            group: String::new(),
            version: "v1".into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced: true,
            status_subresource: false,
            printer_columns: Vec::new(),
        };
        vec![
            crd("Verifier", "verifiers", false),
            crd("Store", "stores", false),
            crd("Policy", "policies", false),
            crd("KeyManagementProvider", "keymanagementproviders", false),
            crd("NamespacedVerifier", "namespacedverifiers", true),
            crd("NamespacedStore", "namespacedstores", true),
            crd("NamespacedPolicy", "namespacedpolicies", true),
            crd(
                "NamespacedKeyManagementProvider",
                "namespacedkeymanagementproviders",
                true,
            ),
            crd("CertificateStore", "certificatestores", true),
            v2("Executor", "executors", false),
            v2("NamespacedExecutor", "namespacedexecutors", true),
            core("Secret", "secrets"),
            core("Event", "events"),
        ]
    }

    /// Starts with the Ratify resources, anonymous access.
    pub fn start() -> Self {
        Self::start_with(ApiServerOptions::default())
    }

    /// Starts with `options` on a free port.
    pub fn start_with(options: ApiServerOptions) -> Self {
        let state = Arc::new(Mutex::new(state::State::new(options.resources.clone())));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let mut server = Self {
            addr,
            options,
            state,
            log: Arc::default(),
            notify: Arc::new(tokio_watch::channel(0u64).0),
            running: None,
        };
        server.run(listener);
        server
    }

    fn run(&mut self, listener: std::net::TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = Arc::new(http::Shared {
            state: Arc::clone(&self.state),
            log: Arc::clone(&self.log),
            changed: self.notify.subscribe(),
            notify: Arc::clone(&self.notify),
            token: self.options.token.clone(),
            bookmark_every: self.options.bookmark_every,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("emulator runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let shared = Arc::clone(&shared);
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req| {
                                http::handle(Arc::clone(&shared), req)
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels every connection and watch.
            drop(rt);
        });
        self.running = Some(Running { stop, thread });
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig pointing at this server (with the token, if one is required).
    pub fn kubeconfig(&self) -> String {
        let user = match &self.options.token {
            Some(t) => format!("{{\"token\": \"{t}\"}}"),
            None => "{}".to_owned(),
        };
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: emu\nclusters:\n- name: emu\n  cluster:\n    server: {}\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: emu\n    namespace: default\nusers:\n- name: emu\n  user: {user}\n",
            self.url()
        )
    }

    /// Stops the server: the port closes and every open watch ends.
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.stop.send(());
            let _ = r.thread.join();
        }
    }

    /// Stops and starts again on the same port, keeping the objects (`keep_state`) or losing
    /// them all (then every earlier resourceVersion is too old: watchers must re-list).
    pub fn restart(&mut self, keep_state: bool) {
        self.stop();
        if !keep_state {
            self.state.lock().unwrap().wipe();
        }
        let listener = std::net::TcpListener::bind(self.addr)
            .unwrap_or_else(|e| panic!("cannot bind {} again: {e}", self.addr));
        self.run(listener);
    }

    /// Advances the revision and drops the watch history: watches from an earlier
    /// resourceVersion get 410 `Expired` (in-stream), continue tokens too.
    pub fn compact(&self) {
        self.state.lock().unwrap().compact();
        self.wake();
    }

    fn wake(&self) {
        let rv = self.resource_version();
        self.notify.send_replace(rv);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }

    /// The current resourceVersion (etcd revision).
    pub fn resource_version(&self) -> u64 {
        self.state.lock().unwrap().rv
    }

    /// The object, if it exists (`plural` of a served resource).
    pub fn object(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        let res = state.resources.iter().position(|r| r.plural == plural)?;
        state.get(res, namespace, name).ok()
    }

    /// How many watch events (ADDED, MODIFIED, DELETED) an object has had since the last
    /// compaction: every write that changed it counts once.
    pub fn changes(&self, plural: &str, namespace: Option<&str>, name: &str) -> usize {
        let state = self.state.lock().unwrap();
        let Some(res) = state.resources.iter().position(|r| r.plural == plural) else {
            return 0;
        };
        state
            .history
            .iter()
            .filter(|c| {
                c.resource == res
                    && c.object["metadata"]["name"] == name
                    && c.object["metadata"]["namespace"].as_str() == namespace
            })
            .count()
    }

    /// Every object of a resource.
    pub fn objects(&self, plural: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        match state.resources.iter().position(|r| r.plural == plural) {
            Some(res) => state.list(res, None),
            None => Vec::new(),
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}
