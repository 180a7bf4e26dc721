//! Plain-HTTP upload helper: POST/PUT blob uploads and PUT manifests.

use imagegate_oci::Descriptor;

use super::sha256;

pub struct Pusher {
    pub base: String,
    pub repo: String,
    /// Full `Authorization` header value, if the registry needs one.
    pub authorization: Option<String>,
    http: reqwest::Client,
}

impl Pusher {
    pub fn new(base: &str, repo: &str, authorization: Option<String>) -> Self {
        Self {
            base: base.into(),
            repo: repo.into(),
            authorization,
            http: reqwest::Client::new(),
        }
    }

    fn req(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        match &self.authorization {
            Some(a) => r.header("Authorization", a),
            None => r,
        }
    }

    /// Uploads a blob (POST then monolithic PUT) and returns its descriptor.
    pub async fn blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let digest = sha256(bytes);
        let start = self
            .req(
                reqwest::Method::POST,
                &format!("{}/v2/{}/blobs/uploads/", self.base, self.repo),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            start.status().as_u16(),
            202,
            "start upload: {:?}",
            start.text().await
        );
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let mut url = url::Url::parse(&self.base)
            .unwrap()
            .join(&location)
            .unwrap();
        url.query_pairs_mut().append_pair("digest", &digest);
        let put = self
            .req(reqwest::Method::PUT, url.as_str())
            .header("Content-Type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            put.status().as_u16(),
            201,
            "finish upload: {:?}",
            put.text().await
        );
        desc(media_type, &digest, bytes.len())
    }

    /// PUTs a manifest under `reference` (tag or digest); returns its descriptor.
    pub async fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Descriptor {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repo);
        let put = self
            .req(reqwest::Method::PUT, &url)
            .header("Content-Type", media_type)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            put.status().as_u16(),
            201,
            "put manifest {reference}: {:?}",
            put.text().await
        );
        let digest = sha256(bytes);
        assert_eq!(
            put.headers()["docker-content-digest"].to_str().unwrap(),
            digest
        );
        desc(media_type, &digest, bytes.len())
    }
}

pub fn desc(media_type: &str, digest: &str, size: usize) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest.into(),
        size: size as u64,
        artifact_type: None,
        annotations: None,
        platform: None,
        urls: None,
    }
}

/// An OCI image manifest JSON with the given config and layers.
pub fn image_manifest(
    config: &Descriptor,
    layers: &[Descriptor],
    extra: serde_json::Value,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": imagegate_oci::OCI_MANIFEST,
        "config": config,
        "layers": layers,
    });
    if let (Some(obj), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&m).unwrap()
}
