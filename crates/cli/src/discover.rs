//! `imagegate discover`: the referrers of an image (signatures, SBOMs, …) and theirs, as a
//! tree, the way `ratify discover` / `oras discover` show them. What the verifier would find
//! for a key, without verifying anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use futures_util::future::BoxFuture;
use imagegate_oci::{Descriptor, Reference, RegistryClient};
use serde::Serialize;

use crate::exit::Exit;
use crate::registry_args::{runtime, RegistryArgs};

/// Deepest level of referrers listed (referrers of referrers of …).
const MAX_DEPTH: usize = 8;
/// Most referrers listed in the whole tree.
const MAX_NODES: usize = 1000;

/// Output formats of `discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiscoverOutput {
    /// An indented tree.
    Tree,
    /// JSON: the subject descriptor with a `referrers` array per node.
    Json,
}

/// Arguments of `imagegate discover`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Image reference, e.g. registry.example/app:1.0 (a tag is resolved first).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Only list referrers of this artifact type at the first level, e.g.
    /// application/vnd.cncf.notary.signature.
    #[arg(long, value_name = "TYPE")]
    artifact_type: Option<String>,
    /// Levels of referrers to list (1 = only the image's own referrers).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=MAX_DEPTH as i64))]
    depth: u8,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = DiscoverOutput::Tree)]
    output: DiscoverOutput,
    /// How to reach the registry.
    #[command(flatten)]
    registry: RegistryArgs,
}

/// One artifact and its referrers.
#[derive(Debug, Serialize)]
struct Node {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(rename = "artifactType", skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    referrers: Vec<Node>,
}

impl Node {
    fn leaf(d: Descriptor) -> Self {
        Self {
            media_type: d.media_type,
            digest: d.digest,
            size: d.size,
            artifact_type: d.artifact_type,
            annotations: d.annotations.unwrap_or_default(),
            referrers: Vec::new(),
        }
    }
}

/// Runs the command: exit 0 with the tree on stdout, 1 if the registry could not answer
/// (the reason on stderr), 2 for bad arguments.
pub(crate) fn run(args: &Args) -> Result<Exit> {
    let reference = Reference::parse(&args.image)?;
    let client = args.registry.client()?;
    match runtime()?.block_on(discover(&client, &reference, args)) {
        Ok((root, truncated)) => {
            match args.output {
                DiscoverOutput::Tree => print!("{}", tree(&reference, &root)),
                DiscoverOutput::Json => println!("{}", serde_json::to_string_pretty(&root)?),
            }
            if truncated {
                eprintln!("note: the listing stopped at {MAX_NODES} referrers");
            }
            Ok(Exit::Verified)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(Exit::Failed)
        }
    }
}

/// Resolves the image and walks its referrers breadth by level, at most `args.depth` deep
/// and [`MAX_NODES`] in all; the flag says whether the bound cut the walk short.
async fn discover(
    client: &RegistryClient,
    reference: &Reference,
    args: &Args,
) -> Result<(Node, bool), imagegate_oci::OciError> {
    let resolved = client.resolve(reference).await?;
    let mut root = Node::leaf(resolved.descriptor());
    let mut budget = MAX_NODES;
    let filter = args.artifact_type.as_deref();
    children(
        client,
        reference,
        &mut root,
        filter,
        args.depth,
        &mut budget,
    )
    .await?;
    Ok((root, budget == 0))
}

/// Fills `node.referrers` and, recursively, theirs, `depth` levels down.
fn children<'a>(
    client: &'a RegistryClient,
    reference: &'a Reference,
    node: &'a mut Node,
    filter: Option<&'a str>,
    depth: u8,
    budget: &'a mut usize,
) -> BoxFuture<'a, Result<(), imagegate_oci::OciError>> {
    Box::pin(async move {
        if depth == 0 || *budget == 0 {
            return Ok(());
        }
        let subject = reference.with_digest(&node.digest);
        let found = client.referrers(&subject, filter).await?;
        for d in found {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            node.referrers.push(Node::leaf(d));
        }
        for child in &mut node.referrers {
            // Deeper levels are not filtered: a signature on an SBOM is worth seeing.
            children(client, reference, child, None, depth - 1, budget).await?;
        }
        Ok(())
    })
}

/// The tree as text: the image, then each referrer indented under what it refers to.
fn tree(reference: &Reference, root: &Node) -> String {
    let mut out = format!(
        "{}/{}@{} ({}, {} bytes)\n",
        reference.registry, reference.repository, root.digest, root.media_type, root.size
    );
    branch(&mut out, &root.referrers, "");
    if root.referrers.is_empty() {
        out.push_str("(no referrers)\n");
    }
    out
}

fn branch(out: &mut String, nodes: &[Node], indent: &str) {
    for (i, n) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let (stem, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let kind = n.artifact_type.as_deref().unwrap_or(&n.media_type);
        let _ = writeln!(out, "{indent}{stem}{kind} {} ({} bytes)", n.digest, n.size);
        branch(out, &n.referrers, &format!("{indent}{next}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: &str, digest: &str, referrers: Vec<Node>) -> Node {
        Node {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: digest.into(),
            size: 7,
            artifact_type: Some(kind.into()),
            annotations: BTreeMap::new(),
            referrers,
        }
    }

    #[test]
    fn tree_draws_each_level_under_its_subject() {
        let reference = Reference::parse("registry.test/app:1").unwrap();
        let mut root = node("x", "sha256:00", vec![]);
        root.artifact_type = None;
        root.referrers = vec![
            node("sig", "sha256:01", vec![]),
            node("sbom", "sha256:02", vec![node("sig", "sha256:03", vec![])]),
        ];
        let text = tree(&reference, &root);
        assert_eq!(
            text,
            "registry.test/app@sha256:00 (application/vnd.oci.image.manifest.v1+json, 7 bytes)\n\
             ├── sig sha256:01 (7 bytes)\n\
             └── sbom sha256:02 (7 bytes)\n\
             \x20   └── sig sha256:03 (7 bytes)\n"
        );
        root.referrers.clear();
        assert!(tree(&reference, &root).ends_with("(no referrers)\n"));
    }
}
