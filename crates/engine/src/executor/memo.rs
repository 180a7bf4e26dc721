//! The subjects of recently seen digest references, remembered per thread: parsing and
//! normalising a reference costs more than the rest of a cached answer, and Gatekeeper
//! asks about the same images again and again. A pure function of the key text, so an entry
//! is never stale; 64 direct-mapped slots per thread bound the memory.
//!
//! With a subject, the verdict last served for it from the verdict cache is remembered
//! too, with the engine, configuration generation and namespace it was served under, until
//! its cache entry's TTL ends ([`Verdict::fresh_until`]): a copy of a cached verdict, served
//! only while the cache itself would serve it, without the cache's hashing and bookkeeping.
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::Arc;

use tokio::time::Instant;

use imagegate_ratify::Failure;

use crate::cache::Verdict;

const SLOTS: usize = 64;

/// Whom a remembered verdict was served to.
#[derive(Debug)]
pub(super) struct Scope<'a> {
    /// The engine ([`super::Shared::id`]).
    pub(super) engine: u64,
    /// The configuration generation.
    pub(super) generation: u64,
    /// The request's namespace.
    pub(super) namespace: Option<&'a str>,
}

/// A verdict served for a slot's image, with the [`Scope`] it was served under.
#[derive(Clone, Debug)]
struct Served {
    engine: u64,
    generation: u64,
    namespace: Option<Box<str>>,
    verdict: Arc<Verdict>,
    fresh_until: Instant,
}

impl Served {
    fn serves(&self, scope: &Scope<'_>) -> bool {
        self.engine == scope.engine
            && self.generation == scope.generation
            && self.namespace.as_deref() == scope.namespace
    }
}

/// A digest reference's subject as [`super::subject`] names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DigestSubject {
    /// `registry/repository[:tag]@digest`.
    pub(super) name: Arc<str>,
    /// Where the digest starts in `name`.
    digest_at: usize,
}

impl DigestSubject {
    /// The digest (`sha256:…`).
    pub(super) fn digest(&self) -> &str {
        self.name.get(self.digest_at..).unwrap_or_default()
    }
}

/// One remembered image: its text, its subject, the verdict last served for it.
#[derive(Clone, Debug)]
struct Entry {
    image: Box<str>,
    subject: DigestSubject,
    served: Option<Served>,
}

type Slot = Option<Entry>;

/// The verdict remembered for `image` under `scope` if its cache entry is still fresh at
/// `now`.
pub(super) fn recent_verdict(image: &str, scope: &Scope<'_>, now: Instant) -> Option<Arc<Verdict>> {
    let slot = slot_of(image);
    MEMO.with(|memo| {
        let memo = memo.borrow();
        let entry = memo.get(slot)?.as_ref()?;
        let served = entry.served.as_ref()?;
        (*entry.image == *image && served.serves(scope) && now < served.fresh_until)
            .then(|| served.verdict.clone())
    })
}

/// Remembers `verdict`, just served from the verdict cache for `image` under `scope`.
pub(super) fn remember_verdict(image: &str, scope: &Scope<'_>, verdict: &Arc<Verdict>) {
    let Some(fresh_until) = verdict.fresh_until else {
        return;
    };
    let slot = slot_of(image);
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let Some(Some(entry)) = memo.get_mut(slot) else {
            return;
        };
        if *entry.image == *image {
            entry.served = Some(Served {
                engine: scope.engine,
                generation: scope.generation,
                namespace: scope.namespace.map(Box::from),
                verdict: verdict.clone(),
                fresh_until,
            });
        }
    });
}

thread_local! {
    static MEMO: RefCell<Vec<Slot>> = RefCell::new(vec![None; SLOTS]);
}

/// The subject of `image` if it is a digest reference, `None` for a tag reference, the
/// parse error for an invalid one (as [`super::verify`] reports it).
pub(super) fn digest_subject(image: &str) -> Result<Option<DigestSubject>, Failure> {
    let slot = slot_of(image);
    let known = MEMO.with(|memo| {
        let memo = memo.borrow();
        match memo.get(slot) {
            Some(Some(entry)) if *entry.image == *image => Some(entry.subject.clone()),
            _ => None,
        }
    });
    if known.is_some() {
        return Ok(known);
    }
    let reference = super::parse(image)?;
    let Some(digest) = reference.digest.as_deref() else {
        return Ok(None);
    };
    let mut name = String::with_capacity(image.len() + 32);
    let _ = write!(name, "{reference}");
    let digest_at = name.len().saturating_sub(digest.len());
    let subject = DigestSubject {
        name: Arc::from(name),
        digest_at,
    };
    MEMO.with(|memo| {
        if let Some(entry) = memo.borrow_mut().get_mut(slot) {
            *entry = Some(Entry {
                image: Box::from(image),
                subject: subject.clone(),
                served: None,
            });
        }
    });
    Ok(Some(subject))
}

/// The slot of `image`: its length and last bytes (a digest's tail for digest keys).
fn slot_of(image: &str) -> usize {
    let bytes = image.as_bytes();
    let tail = bytes
        .get(bytes.len().saturating_sub(8)..)
        .unwrap_or_default();
    let hash = tail.iter().fold(bytes.len() as u64, |h, &b| {
        h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b))
    });
    (hash % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";

    #[test]
    fn names_subjects_like_the_pipeline_and_remembers_them() {
        for image in [
            format!("registry.test/app@{D}"),
            format!("nginx@{D}"),
            format!("localhost:5000/a/b:v1@{D}"),
        ] {
            let reference = imagegate_oci::Reference::parse(&image).unwrap();
            for _ in 0..2 {
                let subject = digest_subject(&image).unwrap().unwrap();
                assert_eq!(&*subject.name, reference.to_string());
                assert_eq!(subject.digest(), D);
            }
        }
        assert_eq!(digest_subject("registry.test/app:v1").unwrap(), None);
        assert!(digest_subject("Registry.test/UPPER@sha256:00").is_err());
    }

    #[test]
    fn remembered_verdicts_serve_only_their_scope_and_only_while_fresh() {
        let image = format!("registry.test/remembered@{D}");
        let now = Instant::now();
        let mut verdict = Verdict::new(true, vec![], false);
        verdict.fresh_until = Some(now + std::time::Duration::from_secs(10));
        let verdict = Arc::new(verdict);
        let scope = Scope {
            engine: 7,
            generation: 2,
            namespace: Some("team-a"),
        };
        // Nothing is remembered for an image whose subject was never named.
        remember_verdict(&image, &scope, &verdict);
        assert!(recent_verdict(&image, &scope, now).is_none());
        digest_subject(&image).unwrap().unwrap();
        remember_verdict(&image, &scope, &verdict);
        assert!(recent_verdict(&image, &scope, now).is_some());
        let later = now + std::time::Duration::from_secs(10);
        assert!(recent_verdict(&image, &scope, later).is_none(), "expired");
        for other in [
            Scope { engine: 8, ..scope },
            Scope {
                generation: 3,
                ..scope
            },
            Scope {
                namespace: None,
                ..scope
            },
            Scope {
                namespace: Some("team-b"),
                ..scope
            },
        ] {
            assert!(recent_verdict(&image, &other, now).is_none(), "{other:?}");
        }
        // A verdict never cached (no TTL) is not remembered.
        let uncached = Arc::new(Verdict::new(true, vec![], false));
        let other = Scope {
            generation: 9,
            ..scope
        };
        remember_verdict(&image, &other, &uncached);
        assert!(recent_verdict(&image, &other, now).is_none());
        // Naming the same subject again keeps it; another image in the slot replaces it.
        digest_subject(&image).unwrap().unwrap();
        assert!(recent_verdict(&image, &scope, now).is_some());
        let rival = format!("registry.test/rivalrival@{D}");
        assert_eq!(slot_of(&rival), slot_of(&image));
        digest_subject(&rival).unwrap().unwrap();
        assert!(recent_verdict(&image, &scope, now).is_none());
    }

    #[test]
    fn colliding_slots_never_mix_keys_up() {
        // Same length and same tail: the same slot, told apart by the full text.
        let a = format!("registry.test/aa@{D}");
        let b = format!("registry.test/bb@{D}");
        assert_eq!(slot_of(&a), slot_of(&b));
        for image in [&a, &b, &a, &b] {
            let subject = digest_subject(image).unwrap().unwrap();
            assert_eq!(&*subject.name, image.as_str());
        }
    }
}
