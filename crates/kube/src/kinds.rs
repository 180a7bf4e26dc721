//! The kinds watched. Generic: a kind is group, version, kind, plural and scope, so Ratify v2's
//! kinds can be added as data.

use kube::api::ApiResource;

/// One watched kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// API group.
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural (path segment).
    pub plural: &'static str,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// A field selector for the list and watch (only what imagegate reads is fetched).
    pub field_selector: Option<&'static str>,
}

impl Kind {
    /// The kube-rs description of the resource.
    pub fn api_resource(&self) -> ApiResource {
        let api_version = if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        };
        ApiResource {
            group: self.group.to_owned(),
            version: self.version.to_owned(),
            api_version,
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
        }
    }
}

/// Ratify v1's group.
pub const RATIFY_GROUP: &str = "config.ratify.deislabs.io";

const fn ratify(kind: &'static str, plural: &'static str, namespaced: bool) -> Kind {
    Kind {
        group: RATIFY_GROUP,
        version: "v1beta1",
        kind,
        plural,
        namespaced,
        field_selector: None,
    }
}

/// The Ratify v1 kinds imagegate configures itself from. CertificateStore (deprecated) is not
/// watched: its providers are served by KeyManagementProvider.
pub const RATIFY_V1: &[Kind] = &[
    ratify("Store", "stores", false),
    ratify("Verifier", "verifiers", false),
    ratify("Policy", "policies", false),
    ratify("KeyManagementProvider", "keymanagementproviders", false),
    ratify("NamespacedStore", "namespacedstores", true),
    ratify("NamespacedVerifier", "namespacedverifiers", true),
    ratify("NamespacedPolicy", "namespacedpolicies", true),
    ratify(
        "NamespacedKeyManagementProvider",
        "namespacedkeymanagementproviders",
        true,
    ),
];

/// Ratify v2's group.
pub const RATIFY_V2_GROUP: &str = "config.ratify.sh";

const fn ratify_v2(kind: &'static str, plural: &'static str, namespaced: bool) -> Kind {
    Kind {
        group: RATIFY_V2_GROUP,
        version: "v2alpha1",
        kind,
        plural,
        namespaced,
        field_selector: None,
    }
}

/// Ratify v2's kinds imagegate configures itself from (the Executor replaces v1's Store,
/// Verifier and Policy per scope). A cluster without their CRDs simply has none: a kind whose
/// list answers 404 counts as listed and empty.
pub const RATIFY_V2: &[Kind] = &[
    ratify_v2("Executor", "executors", false),
    ratify_v2("NamespacedExecutor", "namespacedexecutors", true),
];

impl Kind {
    /// Whether this is one of Ratify v2's kinds (its status says `succeeded` / `briefError`).
    pub fn is_v2(&self) -> bool {
        self.group == RATIFY_V2_GROUP
    }
}

/// Core Secrets of type `kubernetes.io/dockerconfigjson` (pull secrets named by stores).
pub const SECRETS: Kind = Kind {
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    namespaced: true,
    field_selector: Some("type=kubernetes.io/dockerconfigjson"),
};

/// Core Events (written, not watched).
pub const EVENTS: Kind = Kind {
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    namespaced: true,
    field_selector: None,
};
