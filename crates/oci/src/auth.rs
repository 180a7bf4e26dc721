//! Registry authentication: `WWW-Authenticate` challenges, the Docker bearer
//! token exchange and a token cache. Hand-written because `oci-client` neither
//! refreshes an expired token on 401 nor replaces rotated credentials.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=…`.
    Basic,
    /// `Bearer realm=…,service=…`.
    Bearer {
        /// Token endpoint URL.
        realm: String,
        /// Service name for the token request.
        service: Option<String>,
    },
}

/// Parses the first `Basic` or `Bearer` challenge of a header value.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let realm = params.get("realm")?.clone();
    Some(Challenge::Bearer {
        realm,
        service: params.get("service").cloned(),
    })
}

/// Parses `k="v", k2=v2` auth-params (quoted strings may contain commas and `\"`).
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        if out.len() > 32 {
            break;
        }
    }
    out
}

/// A bearer token; its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(pub(crate) String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The token endpoint's answer (docker token spec; `access_token` is OAuth2).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token and how long it may be used.
    pub(crate) fn into_token(self) -> Option<(Token, Duration)> {
        let token = self.token.filter(|t| !t.is_empty()).or(self.access_token)?;
        if token.is_empty() {
            return None;
        }
        // The spec's default lifetime is 60 s; keep a margin so we refresh before
        // the registry starts refusing it.
        let lifetime = self.expires_in.unwrap_or(60).min(24 * 3600);
        let margin = (lifetime / 10).clamp(1, 30);
        Some((
            Token(token),
            Duration::from_secs(lifetime.saturating_sub(margin)),
        ))
    }
}

/// Cache key: registry host, scope and credential fingerprint, so that rotated
/// credentials never reuse a token obtained with the old ones.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) host: String,
    pub(crate) scope: String,
    pub(crate) credential: String,
}

/// Bounded token cache, the last challenge seen per host and repository scope, and one
/// gate per token being fetched so that concurrent requests share a single exchange.
///
/// Challenges are remembered per `(host, scope)` — one repository's token realm says
/// nothing about another repository on the same host, which may be anonymous — and only
/// for [`CHALLENGE_MEMORY`], and forgotten when their token exchange fails, so a broken
/// realm never keeps failing requests that would work without it.
///
/// A host's bearer realm that has issued a token is also kept as a *hint* for the host's
/// other repositories ([`AuthState::host_hint`]): a new repository asks that realm for a
/// token first instead of paying a 401 round trip (as registry clients that remember the
/// scheme per host do). A hint that fails is never an error on its own: the request is then
/// sent without a token and the repository's own challenge decides.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    tokens: Mutex<HashMap<TokenKey, (Token, Instant)>>,
    challenges: Mutex<HashMap<(String, String), (Challenge, Instant)>>,
    hints: Mutex<HashMap<String, (Challenge, Instant)>>,
    fetching: Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>,
}

const MAX_CACHED: usize = 4096;

/// How long a challenge is used pre-emptively.
pub(crate) const CHALLENGE_MEMORY: Duration = Duration::from_secs(300);

impl AuthState {
    /// The challenge `host` last sent for `scope`, if still fresh.
    pub(crate) fn challenge(&self, host: &str, scope: &str) -> Option<Challenge> {
        let map = self.challenges.lock().ok()?;
        let (c, at) = map.get(&(host.to_owned(), scope.to_owned()))?;
        (at.elapsed() < CHALLENGE_MEMORY).then(|| c.clone())
    }

    /// The bearer challenge whose realm last issued a token for some repository of `host`,
    /// if still fresh.
    pub(crate) fn host_hint(&self, host: &str) -> Option<Challenge> {
        let map = self.hints.lock().ok()?;
        let (c, at) = map.get(host)?;
        (at.elapsed() < CHALLENGE_MEMORY).then(|| c.clone())
    }

    /// Records that `c`'s realm issued a token for a repository of `host`.
    pub(crate) fn set_host_hint(&self, host: &str, c: Challenge) {
        if let Ok(mut map) = self.hints.lock() {
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(host.to_owned(), (c, Instant::now()));
        }
    }

    /// Remembers the challenge `host` sent for `scope`.
    pub(crate) fn set_challenge(&self, host: &str, scope: &str, c: Challenge) {
        if let Ok(mut map) = self.challenges.lock() {
            if map.len() >= MAX_CACHED {
                map.retain(|_, (_, at)| at.elapsed() < CHALLENGE_MEMORY);
                if map.len() >= MAX_CACHED {
                    map.clear();
                }
            }
            map.insert((host.to_owned(), scope.to_owned()), (c, Instant::now()));
        }
    }

    /// Forgets the challenge for `scope` (its token exchange failed).
    pub(crate) fn forget_challenge(&self, host: &str, scope: &str) {
        if let Ok(mut map) = self.challenges.lock() {
            map.remove(&(host.to_owned(), scope.to_owned()));
        }
    }

    pub(crate) fn token(&self, key: &TokenKey) -> Option<Token> {
        let map = self.tokens.lock().ok()?;
        let (token, expires) = map.get(key)?;
        (Instant::now() < *expires).then(|| token.clone())
    }

    pub(crate) fn store(&self, key: TokenKey, token: Token, lifetime: Duration) {
        if let Ok(mut map) = self.tokens.lock() {
            let now = Instant::now();
            if map.len() >= MAX_CACHED {
                map.retain(|_, (_, exp)| *exp > now);
                if map.len() >= MAX_CACHED {
                    map.clear();
                }
            }
            map.insert(key, (token, now + lifetime));
        }
    }

    /// Drops the cached token for `key` if it is `used` (a token another task
    /// already refreshed is kept).
    pub(crate) fn forget(&self, key: &TokenKey, used: Option<&Token>) {
        if let Ok(mut map) = self.tokens.lock() {
            if used.is_none() || map.get(key).map(|(t, _)| t) == used {
                map.remove(key);
            }
        }
    }

    /// The gate serialising token fetches for `key`.
    pub(crate) fn gate(&self, key: &TokenKey) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut map = self.fetching.lock().ok()?;
        if map.len() >= MAX_CACHED {
            map.retain(|_, g| Arc::strong_count(g) > 1);
        }
        Some(map.entry(key.clone()).or_default().clone())
    }

    /// Removes the gate for `key` once its fetch is over.
    pub(crate) fn release(&self, key: &TokenKey) {
        if let Ok(mut map) = self.fetching.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token?x=1,2",service="reg \"s\"",scope="repository:a:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token?x=1,2".into(),
                service: Some(r#"reg "s""#.into())
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://127.0.0.1:1/t, service=svc"),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: Some("svc".into())
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn token_response_lifetimes() {
        let r: TokenResponse = serde_json::from_str(r#"{"token":"t","expires_in":300}"#).unwrap();
        let (t, life) = r.into_token().unwrap();
        assert_eq!((t.0.as_str(), life), ("t", Duration::from_secs(270)));
        let r: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(r.into_token().unwrap().1, Duration::from_secs(54));
        let r: TokenResponse = serde_json::from_str(r#"{"token":""}"#).unwrap();
        assert!(r.into_token().is_none());
        assert_eq!(format!("{:?}", Token("secret".into())), "Token(<redacted>)");
    }

    #[tokio::test(start_paused = true)]
    async fn challenges_are_per_scope_and_expire() {
        let s = AuthState::default();
        let bearer = Challenge::Bearer {
            realm: "https://auth.example/token".into(),
            service: None,
        };
        s.set_challenge("h", "repository:a:pull", bearer.clone());
        assert_eq!(s.challenge("h", "repository:a:pull"), Some(bearer.clone()));
        assert_eq!(s.challenge("h", "repository:b:pull"), None);
        assert_eq!(s.challenge("other", "repository:a:pull"), None);
        tokio::time::advance(CHALLENGE_MEMORY).await;
        assert_eq!(s.challenge("h", "repository:a:pull"), None);
        s.set_challenge("h", "repository:a:pull", bearer);
        s.forget_challenge("h", "repository:a:pull");
        assert_eq!(s.challenge("h", "repository:a:pull"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn cache_expires() {
        let s = AuthState::default();
        let k = TokenKey {
            host: "h".into(),
            scope: "s".into(),
            credential: "anon".into(),
        };
        s.store(k.clone(), Token("t".into()), Duration::from_secs(10));
        assert_eq!(s.token(&k), Some(Token("t".into())));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(s.token(&k), None);
        s.store(k.clone(), Token("u".into()), Duration::from_secs(10));
        s.forget(&k, Some(&Token("other".into())));
        assert_eq!(
            s.token(&k),
            Some(Token("u".into())),
            "a refreshed token is kept"
        );
        s.forget(&k, Some(&Token("u".into())));
        assert_eq!(s.token(&k), None);
    }
}
