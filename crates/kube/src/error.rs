//! Errors of the Kubernetes edge.

/// What can go wrong talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig and not in a pod, or a bad kubeconfig.
    #[error("cannot configure the Kubernetes client: {0}")]
    Config(String),
    /// A request failed (transport or API error).
    #[error("Kubernetes API request failed: {0}")]
    Api(#[from] kube::Error),
    /// A pull secret could not be used.
    #[error("secret {namespace}/{name}: {reason}")]
    Secret {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Why (never its contents).
        reason: String,
    },
    /// Writing the private docker config file failed.
    #[error("cannot write the registry credentials file: {0}")]
    CredentialsFile(#[source] std::io::Error),
}
