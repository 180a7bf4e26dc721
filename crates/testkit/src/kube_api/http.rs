//! The emulator's HTTP side: routing of Kubernetes API paths, list/get/watch/create/update/
//! patch/delete, the status subresource, `Status` error bodies and the request log.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::state::{merge_patch, ApiError, Part, State};
use super::LoggedRequest;

pub(crate) type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// Shared between the server and its connections.
pub(crate) struct Shared {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) log: Arc<Mutex<Vec<LoggedRequest>>>,
    /// Ticks on every change, so watches wake up.
    pub(crate) changed: watch::Receiver<u64>,
    pub(crate) notify: Arc<watch::Sender<u64>>,
    pub(crate) token: Option<String>,
    pub(crate) bookmark_every: Duration,
}

/// A parsed API path.
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => (String::new(), (*v).to_owned(), rest),
        ["apis", g, v, rest @ ..] => ((*g).to_owned(), (*v).to_owned(), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some((*n).to_owned()), None),
        [p, n, s] => (*p, Some((*n).to_owned()), Some((*s).to_owned())),
        _ => return None,
    };
    Some(Target {
        group,
        version,
        namespace,
        plural: plural.to_owned(),
        name,
        subresource,
    })
}

fn query(q: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

fn json_reply(code: u16, body: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::OK);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_reply(e: &ApiError) -> Response<Body> {
    json_reply(e.code, &e.status())
}

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let q = query(req.uri().query());
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let authorization = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let target = parse_path(&path);
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (method.as_str(), &target) {
        ("GET", Some(t)) if t.name.is_none() && watching => "watch",
        ("GET", Some(t)) if t.name.is_none() => "list",
        ("GET", _) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => "unknown",
    };
    shared.log.lock().unwrap().push(LoggedRequest {
        method: method.clone(),
        path: path.clone(),
        query: q.clone(),
        verb: verb.to_owned(),
        group: target.as_ref().map(|t| t.group.clone()).unwrap_or_default(),
        resource: target
            .as_ref()
            .map(|t| t.plural.clone())
            .unwrap_or_default(),
        subresource: target.as_ref().and_then(|t| t.subresource.clone()),
        namespace: target.as_ref().and_then(|t| t.namespace.clone()),
        name: target.as_ref().and_then(|t| t.name.clone()),
        content_type: content_type.clone(),
        authorization: authorization.clone(),
    });
    if let Some(token) = &shared.token {
        if authorization.as_deref() != Some(&format!("Bearer {token}")) {
            return Ok(error_reply(&ApiError::new(
                401,
                "Unauthorized",
                "Unauthorized",
            )));
        }
    }
    if method == "GET" {
        let doc = super::discovery::document(&shared.state.lock().unwrap(), &path);
        if let Some(doc) = doc {
            return Ok(json_reply(200, &doc));
        }
    }
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Some(t) = target else {
        return Ok(error_reply(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )));
    };
    let body = match Limited::new(req.into_body(), 4 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(error_reply(&ApiError::new(
                400,
                "BadRequest",
                format!("body: {e}"),
            )))
        }
    };
    let res = {
        let state = shared.state.lock().unwrap();
        state.find(&t.group, &t.version, &t.plural)
    };
    let Some(res) = res else {
        return Ok(error_reply(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )));
    };
    if let Some(sel) = q.get("fieldSelector") {
        if !super::state::fields_supported(sel) {
            return Ok(error_reply(&ApiError::new(
                400,
                "BadRequest",
                format!("field label not supported: {sel}"),
            )));
        }
    }
    if verb == "watch" {
        return Ok(super::watch::start(shared, res, t.namespace, &q));
    }
    let mut result = dispatch(&shared, res, &t, &method, &q, &content_type, &body);
    if verb == "list" && accept.contains("as=Table") {
        if let Ok((_, list)) = &result {
            let state = shared.state.lock().unwrap();
            let items = list["items"].as_array().cloned().unwrap_or_default();
            let rv = list["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let table = super::discovery::table(&state.resources[res], &items, &rv);
            result = Ok((200, table));
        }
    }
    if result.is_ok() {
        let rv = shared.state.lock().unwrap().rv;
        shared.notify.send_replace(rv);
    }
    Ok(match result {
        Ok((code, v)) => json_reply(code, &v),
        Err(e) => error_reply(&e),
    })
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "BadRequest", format!("the body is not JSON: {e}")))
}

fn dispatch(
    shared: &Shared,
    res: usize,
    t: &Target,
    method: &str,
    q: &HashMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let mut state = shared.state.lock().unwrap();
    let r = state.resources[res].clone();
    if r.namespaced != t.namespace.is_some() && (t.name.is_some() || method == "POST") {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    let ns = t.namespace.as_deref();
    let part = match t.subresource.as_deref() {
        None => Part::Main,
        Some("status") if r.status_subresource => Part::Status,
        Some(_) => {
            return Err(ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ))
        }
    };
    match (method, &t.name) {
        ("GET", None) => list(&state, res, ns, q),
        ("GET", Some(name)) => state.get(res, ns, name).map(|v| (200, v)),
        ("POST", None) => state.create(res, ns, parse_body(body)?).map(|v| (201, v)),
        ("PUT", Some(name)) => {
            let v = parse_body(body)?;
            let Some(rv) = v["metadata"]["resourceVersion"].as_str().map(str::to_owned) else {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!(
                        "{}.{} \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: \
                         must be specified for an update",
                        r.plural, r.group
                    ),
                ));
            };
            state
                .write(res, ns, name, v, part, Some(&rv))
                .map(|v| (200, v))
        }
        ("PATCH", Some(name)) => {
            let patch = parse_body(body)?;
            let mut current = state.get(res, ns, name)?;
            let precondition = patch["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_owned);
            match content_type.split(';').next().unwrap_or("").trim() {
                "application/merge-patch+json" => merge_patch(&mut current, &patch),
                "application/apply-patch+yaml" => {
                    if q.get("fieldManager").is_none_or(String::is_empty) {
                        return Err(ApiError::new(
                            400,
                            "BadRequest",
                            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: \
                             is required for apply patch",
                        ));
                    }
                    if patch["apiVersion"] != r.api_version().as_str()
                        || patch["kind"] != r.kind.as_str()
                        || patch["metadata"]["name"] != name.as_str()
                    {
                        return Err(ApiError::new(
                            400,
                            "BadRequest",
                            "apply patches must set apiVersion, kind and metadata.name of the object",
                        ));
                    }
                    merge_patch(&mut current, &strip_nulls(&patch));
                }
                "application/strategic-merge-patch+json" => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        "strategic merge patch is not supported for custom resources",
                    ))
                }
                other => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/apply-patch+yaml; got {other:?}"),
                    ))
                }
            }
            state
                .write(res, ns, name, current, part, precondition.as_deref())
                .map(|v| (200, v))
        }
        ("DELETE", Some(name)) => state.delete(res, ns, name).map(|v| (200, v)),
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{method} is not allowed here"),
        )),
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn list(
    state: &State,
    res: usize,
    ns: Option<&str>,
    q: &HashMap<String, String>,
) -> Result<(u16, Value), ApiError> {
    let r = &state.resources[res];
    let mut items = state.list(res, ns);
    if let Some(sel) = q.get("fieldSelector") {
        items.retain(|o| super::state::fields_match(o, sel));
    }
    let mut list_rv = state.rv;
    if let Some(token) = q.get("continue").filter(|c| !c.is_empty()) {
        let (rv, after) = token
            .split_once('/')
            .ok_or_else(|| ApiError::new(400, "BadRequest", "invalid continue token"))?;
        let rv: u64 = rv
            .parse()
            .map_err(|_| ApiError::new(400, "BadRequest", "invalid continue token"))?;
        if rv < state.compacted {
            return Err(ApiError::new(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. \
                 You can start a new list without the continue parameter.",
            ));
        }
        list_rv = rv;
        let after = after.to_owned();
        items.retain(|o| key_of(o) > after);
    }
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        let last = items.last().map(key_of).unwrap_or_default();
        meta["continue"] = Value::String(format!("{list_rv}/{last}"));
    }
    Ok((
        200,
        json!({"apiVersion": r.api_version(), "kind": format!("{}List", r.kind),
               "metadata": meta, "items": items}),
    ))
}

fn key_of(o: &Value) -> String {
    format!(
        "{}\u{0}{}",
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or("")
    )
}
