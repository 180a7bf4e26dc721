//! The image set of a run: images signed by two signing PKIs and a few unsigned ones, pushed
//! and signed before the load starts, and the verdict each should get under each trust
//! configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::{sign_subject, Pki, Pusher, SignImageOptions};

use crate::error::SoakError;

/// Who signed an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Signed by the first PKI, trusted by every configuration.
    Stable,
    /// Signed by the second PKI, trusted only while its root is in the trust store.
    Rotating,
    /// Not signed: always fails.
    Unsigned,
}

/// Which signing roots the provider's configuration trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Both roots.
    Both,
    /// Only the first PKI's root.
    FirstOnly,
}

impl Trust {
    /// The other configuration (the trust-store reload alternates).
    pub fn flipped(self) -> Self {
        match self {
            Self::Both => Self::FirstOnly,
            Self::FirstOnly => Self::Both,
        }
    }
}

impl Group {
    /// Whether an image of this group passes under `trust`.
    pub fn passes(self, trust: Trust) -> bool {
        match self {
            Self::Stable => true,
            Self::Rotating => trust == Trust::Both,
            Self::Unsigned => false,
        }
    }
}

/// One image of the run.
#[derive(Debug, Clone)]
pub struct Image {
    /// The request key: `<proxy host>/<repo>@<digest>`.
    pub key: String,
    /// Who signed it.
    pub group: Group,
}

/// The pushed images, split into the warm set (asked all the time) and the cold pool (asked
/// in turn, so each comes back only after its verdict expired).
#[derive(Debug)]
pub struct ImageSet {
    /// Every image.
    pub images: Vec<Image>,
    /// Indexes of the warm images.
    pub warm: Vec<usize>,
    /// Indexes of the cold pool.
    pub cold: Vec<usize>,
    /// PEM root of the first signing PKI.
    pub first_root: PathBuf,
    /// PEM root of the second signing PKI.
    pub second_root: PathBuf,
}

/// How many images are warm.
const WARM: usize = 12;

/// Pushes `count` images to the registry at `registry` and signs them; keys name `proxy`.
pub async fn push(
    registry: SocketAddr,
    proxy: SocketAddr,
    count: usize,
    dir: &Path,
) -> Result<ImageSet, SoakError> {
    let first = Pki::generate();
    let second = Pki::generate();
    let first_root = dir.join("signer-1-root.pem");
    let second_root = dir.join("signer-2-root.pem");
    for (path, pki) in [(&first_root, &first), (&second_root, &second)] {
        std::fs::write(path, pki.root_pem()).map_err(|e| SoakError::io(path, e))?;
    }
    let host = registry.to_string();
    let plan: Vec<Group> = (0..count)
        .map(|i| match i % 20 {
            0 => Group::Unsigned,
            1..=5 => Group::Rotating,
            _ => Group::Stable,
        })
        .collect();
    let mut images = Vec::with_capacity(count);
    for (chunk_no, chunk) in plan.chunks(8).enumerate() {
        let pushes = chunk.iter().enumerate().map(|(j, group)| {
            let n = chunk_no * 8 + j;
            let (host, proxy) = (host.clone(), proxy.to_string());
            let (first, second) = (&first, &second);
            async move {
                let repo = match group {
                    Group::Stable => "soak/stable",
                    Group::Rotating => "soak/rotating",
                    Group::Unsigned => "soak/unsigned",
                };
                let pusher = Pusher::new(&host, repo, None);
                let tag = format!("i{n}");
                let subject = pusher.image(&tag).await;
                let format = if n % 2 == 0 {
                    EnvelopeFormat::Jws
                } else {
                    EnvelopeFormat::Cose
                };
                let pki = match group {
                    Group::Stable => Some(first),
                    Group::Rotating => Some(second),
                    Group::Unsigned => None,
                };
                if let Some(pki) = pki {
                    let reference = pusher.reference(&tag).with_digest(&subject.digest);
                    let opts = SignImageOptions::new(format);
                    sign_subject(&pusher, reference, &subject, pki, &opts).await;
                }
                Image {
                    key: format!("{proxy}/{repo}@{}", subject.digest),
                    group: *group,
                }
            }
        });
        images.extend(futures_util::future::join_all(pushes).await);
    }
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    let mut want = [
        (Group::Stable, 8),
        (Group::Rotating, 3),
        (Group::Unsigned, 1),
    ];
    for (i, image) in images.iter().enumerate() {
        match want.iter_mut().find(|(g, n)| *g == image.group && *n > 0) {
            Some((_, n)) if warm.len() < WARM => {
                *n -= 1;
                warm.push(i);
            }
            _ => cold.push(i),
        }
    }
    Ok(ImageSet {
        images,
        warm,
        cold,
        first_root,
        second_root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations() {
        assert!(Group::Stable.passes(Trust::FirstOnly));
        assert!(Group::Rotating.passes(Trust::Both));
        assert!(!Group::Rotating.passes(Trust::FirstOnly));
        assert!(!Group::Unsigned.passes(Trust::Both));
        assert_eq!(Trust::Both.flipped(), Trust::FirstOnly);
    }
}
