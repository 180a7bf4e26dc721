//! ConstraintTemplate files: the Rego (v0 `rego:` or v1 `code[].source`), its libs, and the
//! parameter schema, read the way Gatekeeper reads them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The only target Gatekeeper's validating webhook and audit evaluate.
pub const ADMISSION_TARGET: &str = "admission.k8s.gatekeeper.sh";

/// Largest template file read.
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// Why a template could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("cannot read template {path}: {source}; check the path")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_TEMPLATE_BYTES`].
    #[error(
        "template {path} is larger than {MAX_TEMPLATE_BYTES} bytes; it is not a ConstraintTemplate"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The YAML does not have the ConstraintTemplate shape.
    #[error(
        "not a ConstraintTemplate: {0}; compare with policies/templates/imagegateverification.yaml"
    )]
    Shape(#[from] serde_yaml::Error),
    /// `apiVersion`/`kind` are not a Gatekeeper ConstraintTemplate.
    #[error("{api_version} {kind} is not a templates.gatekeeper.sh ConstraintTemplate")]
    NotATemplate {
        /// The `apiVersion` found.
        api_version: String,
        /// The `kind` found.
        kind: String,
    },
    /// Gatekeeper requires `metadata.name` to be the lower-cased constraint kind.
    #[error("metadata.name {name:?} must be the lower-cased kind {kind:?} (Gatekeeper rejects the template otherwise)")]
    NameMismatch {
        /// `metadata.name`.
        name: String,
        /// `spec.crd.spec.names.kind`.
        kind: String,
    },
    /// No target `admission.k8s.gatekeeper.sh` with Rego.
    #[error(
        "no {ADMISSION_TARGET} target with Rego code; add spec.targets[].rego or code[].source"
    )]
    NoRego,
    /// The Rego has no `package` line.
    #[error("the template's Rego has no package declaration")]
    NoPackage,
}

/// Which Rego dialect the template's code is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegoVersion {
    /// `spec.targets[].rego`: Rego v0 (every Gatekeeper version, the AKS add-on).
    V0,
    /// `spec.targets[].code[{engine: Rego, source: {version: v1}}]` (Gatekeeper 3.19+).
    V1,
}

/// A ConstraintTemplate as Gatekeeper uses it.
#[derive(Debug, Clone)]
pub struct ConstraintTemplate {
    /// `metadata.name`.
    pub name: String,
    /// The constraint kind it creates (`spec.crd.spec.names.kind`).
    pub kind: String,
    /// The Rego package of the main module (Gatekeeper rewrites it to `data.template`).
    pub package: String,
    /// The Rego dialect.
    pub version: RegoVersion,
    /// The main module.
    pub rego: String,
    /// Library modules (`package lib.…`).
    pub libs: Vec<String>,
    /// `spec.crd.spec.validation.openAPIV3Schema` (null when absent).
    pub parameters_schema: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    api_version: String,
    kind: String,
    metadata: RawMeta,
    spec: RawSpec,
}

#[derive(Deserialize)]
struct RawMeta {
    name: String,
}

#[derive(Deserialize)]
struct RawSpec {
    crd: RawCrd,
    #[serde(default)]
    targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
struct RawCrd {
    spec: RawCrdSpec,
}

#[derive(Deserialize)]
struct RawCrdSpec {
    names: RawNames,
    #[serde(default)]
    validation: Option<RawValidation>,
}

#[derive(Deserialize)]
struct RawNames {
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawValidation {
    #[serde(rename = "openAPIV3Schema", default)]
    open_api_v3_schema: serde_json::Value,
}

#[derive(Deserialize)]
struct RawTarget {
    target: String,
    #[serde(default)]
    rego: Option<String>,
    #[serde(default)]
    libs: Vec<String>,
    #[serde(default)]
    code: Vec<RawCode>,
}

#[derive(Deserialize)]
struct RawCode {
    engine: String,
    source: RawSource,
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(default)]
    version: Option<String>,
    rego: String,
    #[serde(default)]
    libs: Vec<String>,
}

impl ConstraintTemplate {
    /// Parses a template from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, TemplateError> {
        let raw: Raw = serde_yaml::from_str(text)?;
        if !raw.api_version.starts_with("templates.gatekeeper.sh/")
            || raw.kind != "ConstraintTemplate"
        {
            return Err(TemplateError::NotATemplate {
                api_version: raw.api_version,
                kind: raw.kind,
            });
        }
        let kind = raw.spec.crd.spec.names.kind;
        if raw.metadata.name != kind.to_lowercase() {
            return Err(TemplateError::NameMismatch {
                name: raw.metadata.name,
                kind,
            });
        }
        let target = raw
            .spec
            .targets
            .into_iter()
            .find(|t| t.target == ADMISSION_TARGET)
            .ok_or(TemplateError::NoRego)?;
        let (version, rego, libs) = select_code(target)?;
        let package = package_of(&rego).ok_or(TemplateError::NoPackage)?;
        Ok(Self {
            name: raw.metadata.name,
            kind,
            package,
            version,
            rego,
            libs,
            parameters_schema: raw
                .spec
                .crd
                .spec
                .validation
                .map(|v| v.open_api_v3_schema)
                .unwrap_or(serde_json::Value::Null),
        })
    }

    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = read_bounded(path)?;
        Self::from_yaml(&text)
    }

    /// Every `*.yaml` template in `dir`, sorted by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Self)>, TemplateError> {
        let entries = std::fs::read_dir(dir).map_err(|source| TemplateError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| TemplateError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                paths.push(path);
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|p| Self::load(&p).map(|t| (p, t)))
            .collect()
    }

    /// Names of the constraint parameters declared in the schema.
    pub fn parameter_names(&self) -> Vec<String> {
        self.parameters_schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The query Gatekeeper evaluates for this template, in our unrewritten package.
    pub fn violation_query(&self) -> String {
        format!("data.{}.violation", self.package)
    }
}

/// Reads a text file of at most [`MAX_TEMPLATE_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<String, TemplateError> {
    let meta = std::fs::metadata(path).map_err(|source| TemplateError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn select_code(target: RawTarget) -> Result<(RegoVersion, String, Vec<String>), TemplateError> {
    if let Some(code) = target.code.into_iter().find(|c| c.engine == "Rego") {
        let version = match code.source.version.as_deref() {
            Some("v1") => RegoVersion::V1,
            _ => RegoVersion::V0,
        };
        return Ok((version, code.source.rego, code.source.libs));
    }
    match target.rego {
        Some(rego) => Ok((RegoVersion::V0, rego, target.libs)),
        None => Err(TemplateError::NoRego),
    }
}

/// The package named by the first `package` line.
pub fn package_of(rego: &str) -> Option<String> {
    rego.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("package ")?;
        let name = rest.split_whitespace().next()?;
        Some(name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: demo}
spec:
  crd: {spec: {names: {kind: Demo}, validation: {openAPIV3Schema: {type: object, properties: {a: {type: string}}}}}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
            version: "v1"
            rego: |
              package demo
              violation contains {"msg": "x"} if { input.review.object.kind == "Pod" }
            libs: ["package lib.demo\n"]
"#;

    #[test]
    fn reads_v1_code_source() {
        let t = ConstraintTemplate::from_yaml(V1).unwrap();
        assert_eq!(t.version, RegoVersion::V1);
        assert_eq!(t.package, "demo");
        assert_eq!(t.libs.len(), 1);
        assert_eq!(t.parameter_names(), vec!["a".to_owned()]);
        assert_eq!(t.violation_query(), "data.demo.violation");
    }

    #[test]
    fn rejects_name_that_is_not_the_lowercased_kind() {
        let text = V1.replace("{name: demo}", "{name: other}");
        assert!(matches!(
            ConstraintTemplate::from_yaml(&text),
            Err(TemplateError::NameMismatch { .. })
        ));
    }

    #[test]
    fn rejects_other_kinds_and_missing_rego() {
        let text = V1.replace("kind: ConstraintTemplate", "kind: Constraint");
        assert!(matches!(
            ConstraintTemplate::from_yaml(&text),
            Err(TemplateError::NotATemplate { .. })
        ));
        let text = V1.replace("admission.k8s.gatekeeper.sh", "other.target");
        assert!(matches!(
            ConstraintTemplate::from_yaml(&text),
            Err(TemplateError::NoRego)
        ));
    }

    #[test]
    fn package_line_is_found_after_comments() {
        assert_eq!(package_of("# c\n\npackage a.b\n").as_deref(), Some("a.b"));
        assert_eq!(package_of("x := 1"), None);
    }
}
