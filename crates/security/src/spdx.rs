//! SPDX license expressions (`MIT OR Apache-2.0`, `(A AND B) OR C`, `X WITH Y`, and the
//! old crates.io form `MIT/Apache-2.0`), evaluated against an allowlist.
//!
//! An expression is acceptable when some choice among its `OR` alternatives uses only
//! allowed licenses: `A OR B` needs either side, `A AND B` needs both, `A WITH E` needs `A`
//! and the exception `E`.

use thiserror::Error;

/// Longest expression accepted; crates.io metadata is far shorter.
const MAX_EXPRESSION_BYTES: usize = 4096;
/// Deepest parenthesis nesting accepted.
const MAX_DEPTH: usize = 32;

/// A license expression that could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SpdxError {
    /// The expression is empty.
    #[error("the license expression is empty; set `license` to an SPDX expression")]
    Empty,
    /// The expression is longer than [`MAX_EXPRESSION_BYTES`] or nested too deeply.
    #[error("the license expression is too long or too deeply nested to check")]
    TooComplex,
    /// A token appeared where it does not belong.
    #[error(
        "unexpected {found:?} at token {position} of the license expression; expected {expected}"
    )]
    Unexpected {
        /// What was found (`end` at the end of the expression).
        found: String,
        /// Zero-based token index.
        position: usize,
        /// What would have fit.
        expected: &'static str,
    },
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One license identifier, with an optional `WITH` exception.
    License {
        /// The SPDX identifier, e.g. `Apache-2.0`.
        id: String,
        /// The exception after `WITH`, e.g. `LLVM-exception`.
        exception: Option<String>,
    },
    /// Both sides apply.
    And(Box<Expr>, Box<Expr>),
    /// Either side may be chosen.
    Or(Box<Expr>, Box<Expr>),
}

/// Which licenses and exceptions are acceptable.
#[derive(Debug, Clone, Copy)]
pub struct Allowlist<'a> {
    /// Allowed license identifiers (exact, case-sensitive as in SPDX; a trailing `+` on an
    /// identifier in an expression is ignored).
    pub licenses: &'a [&'a str],
    /// Allowed `WITH` exceptions.
    pub exceptions: &'a [&'a str],
}

// === impl Expr ===

impl Expr {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, SpdxError> {
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(SpdxError::TooComplex);
        }
        let tokens = tokenize(text);
        if tokens.is_empty() {
            return Err(SpdxError::Empty);
        }
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            depth: 0,
        };
        let expr = parser.or()?;
        match parser.peek() {
            None => Ok(expr),
            Some(t) => Err(parser.unexpected(t, "AND, OR or the end")),
        }
    }

    /// Whether some choice of `OR` alternatives uses only what `allow` permits.
    pub fn is_allowed(&self, allow: &Allowlist<'_>) -> bool {
        match self {
            Self::License { id, exception } => {
                let id = id.strip_suffix('+').unwrap_or(id);
                allow.licenses.contains(&id)
                    && exception
                        .as_deref()
                        .is_none_or(|e| allow.exceptions.contains(&e))
            }
            Self::And(a, b) => a.is_allowed(allow) && b.is_allowed(allow),
            Self::Or(a, b) => a.is_allowed(allow) || b.is_allowed(allow),
        }
    }
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '/' => {
                flush(&mut word, &mut tokens);
                // crates.io's legacy `MIT/Apache-2.0` means `MIT OR Apache-2.0`.
                tokens.push(if c == '/' { "OR".into() } else { c.into() });
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

fn flush(word: &mut String, tokens: &mut Vec<String>) {
    if !word.is_empty() {
        tokens.push(std::mem::take(word));
    }
}

/// Recursive descent: `or := and (OR and)*`, `and := atom (AND atom)*`,
/// `atom := '(' or ')' | id [WITH id]`.
struct Parser<'t> {
    tokens: &'t [String],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<&str> {
        let t = self.tokens.get(self.pos).map(String::as_str);
        self.pos += 1;
        t
    }

    fn unexpected(&self, found: &str, expected: &'static str) -> SpdxError {
        SpdxError::Unexpected {
            found: found.to_owned(),
            position: self.pos,
            expected,
        }
    }

    fn or(&mut self) -> Result<Expr, SpdxError> {
        let mut left = self.and()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("OR")) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SpdxError> {
        let mut left = self.atom()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("AND")) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, SpdxError> {
        let position = self.pos;
        match self.next() {
            Some("(") => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(SpdxError::TooComplex);
                }
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(")") => Ok(inner),
                    found => Err(SpdxError::Unexpected {
                        found: found.unwrap_or("end").to_owned(),
                        position: self.pos - 1,
                        expected: "`)`",
                    }),
                }
            }
            Some(id) if is_identifier(id) => {
                let id = id.to_owned();
                let exception = if self.peek().is_some_and(|t| t.eq_ignore_ascii_case("WITH")) {
                    self.pos += 1;
                    match self.next() {
                        Some(e) if is_identifier(e) => Some(e.to_owned()),
                        found => {
                            return Err(SpdxError::Unexpected {
                                found: found.unwrap_or("end").to_owned(),
                                position: self.pos - 1,
                                expected: "an exception identifier",
                            })
                        }
                    }
                } else {
                    None
                };
                Ok(Expr::License { id, exception })
            }
            found => Err(SpdxError::Unexpected {
                found: found.unwrap_or("end").to_owned(),
                position,
                expected: "a license identifier or `(`",
            }),
        }
    }
}

fn is_identifier(token: &str) -> bool {
    !["AND", "OR", "WITH", "(", ")"]
        .iter()
        .any(|k| token.eq_ignore_ascii_case(k))
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: Allowlist<'static> = Allowlist {
        licenses: &["MIT", "Apache-2.0", "ISC"],
        exceptions: &["LLVM-exception"],
    };

    fn allowed(text: &str) -> bool {
        Expr::parse(text).unwrap().is_allowed(&ALLOW)
    }

    #[test]
    fn or_needs_one_side_and_needs_both() {
        assert!(allowed("MIT OR GPL-3.0-only"));
        assert!(allowed("GPL-3.0-only OR MIT"));
        assert!(!allowed("MIT AND GPL-3.0-only"));
        assert!(allowed("MIT AND ISC"));
        assert!(!allowed("GPL-3.0-only"));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_override() {
        // MIT OR (GPL AND ISC) -> MIT suffices.
        assert!(allowed("MIT OR GPL-3.0-only AND ISC"));
        // (MIT OR GPL) AND SSPL -> SSPL is required.
        assert!(!allowed("(MIT OR GPL-3.0-only) AND SSPL-1.0"));
        assert!(allowed(
            "ISC AND (Apache-2.0 OR ISC) AND (MIT OR GPL-2.0-only)"
        ));
    }

    #[test]
    fn legacy_slash_means_or() {
        assert!(allowed("MIT/Apache-2.0"));
        assert!(allowed("Unlicense/MIT"));
        assert!(!allowed("Unlicense/GPL-2.0-only"));
    }

    #[test]
    fn exceptions_must_be_allowed_too() {
        assert!(allowed("Apache-2.0 WITH LLVM-exception"));
        assert!(!allowed("Apache-2.0 WITH Classpath-exception-2.0"));
        assert!(allowed(
            "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"
        ));
        assert!(allowed("MIT+"));
    }

    #[test]
    fn malformed_expressions_are_errors() {
        assert_eq!(Expr::parse("  "), Err(SpdxError::Empty));
        for bad in [
            "MIT OR", "(MIT", "MIT)", "AND MIT", "MIT WITH", "MIT ISC", "M!T",
        ] {
            assert!(Expr::parse(bad).is_err(), "{bad}");
        }
        let deep = format!("{}MIT{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(Expr::parse(&deep), Err(SpdxError::TooComplex));
        assert_eq!(
            Expr::parse(&"MIT OR ".repeat(1000)),
            Err(SpdxError::TooComplex)
        );
    }
}
