//! Typed reads from free-form JSON maps (Ratify plugin entries are free-form), with field paths
//! in every error. Unknown fields are ignored, as Ratify ignores them.

use serde_json::{Map, Value};

use super::error::ConfigError;

/// `path.key`.
pub(crate) fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value as an object.
pub(crate) fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object().ok_or_else(|| {
        ConfigError::invalid(path, format!("must be an object, found {}", type_name(v)))
    })
}

/// An optional field; JSON `null` counts as absent.
pub(crate) fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// An optional string field.
pub(crate) fn opt_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, ConfigError> {
    match get(m, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(ConfigError::invalid(
            field(path, key),
            format!("must be a string, found {}", type_name(v)),
        )),
    }
}

/// A required, non-empty string field.
pub(crate) fn req_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, ConfigError> {
    match opt_str(m, key, path)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ConfigError::invalid(
            field(path, key),
            "is required and must be a non-empty string",
        )),
    }
}

/// An optional boolean field. Ratify's plugin maps are decoded loosely, so the strings
/// `"true"`/`"false"` are accepted too.
pub(crate) fn opt_bool(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<bool>, ConfigError> {
    match get(m, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(v) => Err(ConfigError::invalid(
            field(path, key),
            format!("must be true or false, found {}", type_name(v)),
        )),
    }
}

/// An optional non-negative integer field.
pub(crate) fn opt_u64(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<u64>, ConfigError> {
    match get(m, key) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ConfigError::invalid(
                field(path, key),
                format!("must be a non-negative integer, found {v}"),
            )
        }),
    }
}

/// An optional array of strings.
pub(crate) fn opt_str_list(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Vec<String>, ConfigError> {
    match get(m, key) {
        None => Ok(Vec::new()),
        Some(v) => str_items(v, &field(path, key), "an array of strings"),
    }
}

/// The strings of the array `v` at `path`; `expected` names what the array must be when it
/// is not one (e.g. "an array of strings").
pub(crate) fn str_items(v: &Value, path: &str, expected: &str) -> Result<Vec<String>, ConfigError> {
    let Value::Array(items) = v else {
        return Err(ConfigError::invalid(
            path,
            format!("must be {expected}, found {}", type_name(v)),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                ConfigError::invalid(
                    index(path, i),
                    format!("must be a string, found {}", type_name(v)),
                )
            })
        })
        .collect()
}
