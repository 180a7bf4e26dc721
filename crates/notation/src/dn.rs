//! X.509 distinguished names as Notation sees them.
//!
//! Two text forms meet here:
//!
//! * the trust-policy form of an `x509.subject` identity, e.g.
//!   `CN=e2e,O=Notary,L=Seattle,ST=WA,C=US`, parsed like Go's go-ldap `ParseDN` followed by
//!   notation-go's rules (`internal/pkix/pkix.go`): single-valued RDNs only, no repeated
//!   attribute type, `S` folded into `ST`, `C`, `ST` and `O` mandatory, `=#` refused;
//! * Go's `pkix.Name.String()` rendering of a certificate subject or issuer, which is what
//!   Notation prints in error messages, what Ratify puts in its results, and what the Go
//!   verifier re-parses to match trusted identities. [`DistinguishedName::from_cert_subject`]
//!   rebuilds exactly the name Go renders (see [`DistinguishedName`]'s `Display`).
//!
//! Matching ([`DistinguishedName::is_matched_by`]) follows notation-go: the certificate's Go
//! rendering is parsed with the policy rules (so a subject without `C`/`ST`/`O`, with a
//! multi-valued RDN such as two `OU`s, or with an attribute Go has no short name for can never
//! match), then every attribute of the policy DN must be present in it with an identical,
//! case-sensitive value (a subset match).

use std::collections::BTreeMap;
use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

mod go_name;
mod text;

use go_name::GoName;
use text::{split_rdns, syntax};

/// Longest DN text accepted by [`DistinguishedName::parse`] (bytes).
const MAX_DN_TEXT_LEN: usize = 16 * 1024;

/// Attributes that notation-go requires in every `x509.subject` identity.
const MANDATORY_ATTRIBUTES: [&str; 3] = ["C", "ST", "O"];

/// Error raised while parsing or extracting a distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnError {
    /// The text form is not a valid RFC 4514 distinguished name.
    #[error("parsing distinguished name (DN) {dn:?} failed with err: {reason}. A valid DN must contain 'C', 'ST', and 'O' RDN attributes at a minimum, and follow RFC 4514 standard")]
    Syntax {
        /// The offending DN text.
        dn: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The DN contains `=#` (a hex-encoded BER value), which Notation does not support.
    #[error("unsupported distinguished name (DN) {dn:?}: notation does not support x509.subject identities containing \"=#\"")]
    HexValue {
        /// The offending DN text.
        dn: String,
    },
    /// An RDN has several attributes joined with `+`.
    #[error("distinguished name (DN) {dn:?} has multi-valued RDN attributes, remove multi-valued RDN attributes as they are not supported")]
    MultiValued {
        /// The offending DN text.
        dn: String,
    },
    /// An attribute type appears twice.
    #[error("distinguished name (DN) {dn:?} has duplicate RDN attribute for {attribute:?}, DN can only have unique RDN attributes")]
    Duplicate {
        /// The offending DN text.
        dn: String,
        /// The repeated attribute type.
        attribute: String,
    },
    /// A mandatory attribute (`C`, `ST` or `O`) is missing or empty.
    #[error("distinguished name (DN) {dn:?} has no mandatory RDN attribute for {attribute:?}, it must contain 'C', 'ST', and 'O' RDN attributes at a minimum")]
    MissingMandatory {
        /// The offending DN text.
        dn: String,
        /// The missing attribute type.
        attribute: &'static str,
    },
    /// The certificate is not a parseable DER X.509 certificate.
    #[error("cannot read the distinguished name of the certificate: {0}")]
    Certificate(String),
}

/// Value of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Value {
    /// A string value (rendered with RFC 4514 escaping).
    Text(String),
    /// An attribute Go has no short name for: the DER encoding Go prints as `#hex`.
    Der(Vec<u8>),
}

/// One `type=value` pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Attribute {
    /// Short name (`CN`, `ST`, …) or dotted OID.
    attr_type: String,
    value: Value,
}

/// An ordered distinguished name.
///
/// RDNs are kept in *text order* (the order they are printed in, which for certificates is
/// the reverse of the DER order, as in Go). `Display` renders Go's `pkix.Name.String()`
/// form: short names `CN`, `SERIALNUMBER`, `C`, `L`, `ST`, `STREET`, `O`, `OU`, `POSTALCODE`,
/// dotted OIDs with `#hex` DER values for other attributes, `+` between the values of a
/// multi-valued RDN, and escaping of `,+"\<>;`, a leading `#` and leading/trailing spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DistinguishedName {
    rdns: Vec<Vec<Attribute>>,
}

impl DistinguishedName {
    /// Parse the trust-policy form, e.g. `CN=e2e,O=Notary,L=Seattle,ST=WA,C=US`.
    ///
    /// Accepts RFC 4514 escaping (`\,`, `\+`, `\ `, `\\`, hex pairs such as `\2C`), spaces
    /// around types and values, and `;` as an RDN separator (as go-ldap does). Rejects, with
    /// notation-go's messages: multi-valued RDNs, repeated attribute types, a missing or empty
    /// `C`, `ST` (or its alias `S`) or `O`, and any text containing `=#`.
    pub fn parse(s: &str) -> Result<Self, DnError> {
        if s.contains("=#") {
            return Err(DnError::HexValue { dn: s.to_owned() });
        }
        if s.len() > MAX_DN_TEXT_LEN {
            return Err(syntax(s, format!("longer than {MAX_DN_TEXT_LEN} bytes")));
        }
        let rdns = split_rdns(s)?;
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut out = Vec::with_capacity(rdns.len());
        for rdn in rdns {
            let [(attr_type, value)] = <[(String, String); 1]>::try_from(rdn)
                .map_err(|_| DnError::MultiValued { dn: s.to_owned() })?;
            let attr_type = if attr_type == "S" {
                "ST".to_owned()
            } else {
                attr_type
            };
            // Like Go, an attribute with an empty value counts as absent.
            if seen.get(&attr_type).is_some_and(|v| !v.is_empty()) {
                return Err(DnError::Duplicate {
                    dn: s.to_owned(),
                    attribute: attr_type,
                });
            }
            seen.insert(attr_type.clone(), value.clone());
            out.push(vec![Attribute {
                attr_type,
                value: Value::Text(value),
            }]);
        }
        for attribute in MANDATORY_ATTRIBUTES {
            if seen.get(attribute).is_none_or(|v| v.is_empty()) {
                return Err(DnError::MissingMandatory {
                    dn: s.to_owned(),
                    attribute,
                });
            }
        }
        Ok(Self { rdns: out })
    }

    /// The subject of a DER certificate, as Go's `pkix.Name` renders it.
    pub fn from_cert_subject(cert_der: &[u8]) -> Result<Self, DnError> {
        let cert = parse_cert(cert_der)?;
        Ok(Self::from_x509_name(cert.subject()))
    }

    /// The issuer of a DER certificate, as Go's `pkix.Name` renders it.
    pub fn from_cert_issuer(cert_der: &[u8]) -> Result<Self, DnError> {
        let cert = parse_cert(cert_der)?;
        Ok(Self::from_x509_name(cert.issuer()))
    }

    /// Whether this (policy) DN is matched by a certificate subject.
    ///
    /// notation-go semantics: the certificate subject's Go rendering is parsed with the same
    /// rules as a policy DN (failure means no match), and every attribute of `self` must be
    /// present there with an identical value (subset match, case-sensitive).
    pub fn is_matched_by(&self, cert_subject: &DistinguishedName) -> bool {
        let Ok(cert) = DistinguishedName::parse(&cert_subject.to_string()) else {
            return false;
        };
        self.is_subset_of(&cert)
    }

    /// Whether every attribute of `self` is present with the same value in `other`
    /// (both taken as single-valued maps from attribute type to value).
    pub fn is_subset_of(&self, other: &DistinguishedName) -> bool {
        let theirs = other.attribute_map();
        self.attribute_map()
            .iter()
            .all(|(k, v)| theirs.get(k).copied().unwrap_or("") == *v)
    }

    /// Value of the first attribute of type `attr_type` (short name or dotted OID) with a
    /// string value.
    pub fn get(&self, attr_type: &str) -> Option<&str> {
        self.rdns.iter().flatten().find_map(|a| match &a.value {
            Value::Text(v) if a.attr_type == attr_type => Some(v.as_str()),
            _ => None,
        })
    }

    /// Number of attributes (over all RDNs).
    pub fn len(&self) -> usize {
        self.rdns.iter().map(Vec::len).sum()
    }

    /// Whether the name has no attribute.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string-valued attributes as a map from type to value (the form notation-go compares).
    /// If a type repeats, the last value wins.
    pub fn attribute_map(&self) -> BTreeMap<&str, &str> {
        self.rdns
            .iter()
            .flatten()
            .filter_map(|a| match &a.value {
                Value::Text(v) => Some((a.attr_type.as_str(), v.as_str())),
                Value::Der(_) => None,
            })
            .collect()
    }

    /// Rebuild Go's `pkix.Name` → `String()` RDN sequence from a parsed X.509 name.
    fn from_x509_name(name: &X509Name<'_>) -> Self {
        let mut go = GoName::default();
        for atv in name.iter_attributes() {
            go.add(&atv.attr_type().to_id_string(), atv.attr_value());
        }
        go.into_dn()
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, attribute) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                match &attribute.value {
                    Value::Text(v) => write!(f, "{}={}", attribute.attr_type, GoEscaped(v))?,
                    Value::Der(der) => write!(f, "{}=#{}", attribute.attr_type, hex::encode(der))?,
                }
            }
        }
        Ok(())
    }
}

fn parse_cert(cert_der: &[u8]) -> Result<X509Certificate<'_>, DnError> {
    match X509Certificate::from_der(cert_der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(DnError::Certificate(e.to_string())),
    }
}

/// A value rendered with Go's `RDNSequence.String()` escaping.
struct GoEscaped<'a>(&'a str);

impl fmt::Display for GoEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        for (k, c) in v.char_indices() {
            let escape = match c {
                ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
                ' ' => k == 0 || k == v.len() - 1,
                '#' => k == 0,
                _ => false,
            };
            if escape {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_matches_go() {
        assert_eq!(GoEscaped(" a,b+c ").to_string(), "\\ a\\,b\\+c\\ ");
        assert_eq!(GoEscaped("#x#").to_string(), "\\#x#");
    }
}
