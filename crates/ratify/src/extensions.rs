//! A verifier report's `extensions`, kept compactly.
//!
//! Every successful Notation report carries `{"Issuer": …, "SN": …}` (the signing
//! certificate's issuer and subject), and a cached verdict keeps its reports for as long as
//! it lives. As a `serde_json` object those two entries cost a B-tree node of ~640 bytes per
//! report; [`Extensions::Signer`] keeps just the two strings. Anything else a report may
//! carry (read back from JSON) stays a JSON value. On the wire both are the same object.

use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The key of the signer's issuer in Notation's extensions.
const ISSUER: &str = "Issuer";
/// The key of the signer's subject in Notation's extensions.
const SUBJECT: &str = "SN";

/// A report's `extensions` object.
#[derive(Debug, Clone, PartialEq)]
pub enum Extensions {
    /// Notation's `{"Issuer": …, "SN": …}`: the signing certificate's issuer and subject.
    Signer {
        /// `Issuer`.
        issuer: String,
        /// `SN`.
        subject: String,
    },
    /// Any other value.
    Other(Value),
}

impl Extensions {
    /// The string under `key`, if there is one.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self {
            Self::Signer { issuer, .. } if key == ISSUER => Some(issuer),
            Self::Signer { subject, .. } if key == SUBJECT => Some(subject),
            Self::Signer { .. } => None,
            Self::Other(value) => value.get(key).and_then(Value::as_str),
        }
    }

    /// The signing certificate's subject (`SN`), if reported.
    pub fn signer_subject(&self) -> Option<&str> {
        self.get_str(SUBJECT)
    }

    /// As a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Signer { issuer, subject } => {
                serde_json::json!({ ISSUER: issuer, SUBJECT: subject })
            }
            Self::Other(value) => value.clone(),
        }
    }
}

impl From<Value> for Extensions {
    /// `{"Issuer": string, "SN": string}` and nothing else becomes [`Extensions::Signer`].
    fn from(value: Value) -> Self {
        if let Value::Object(map) = &value {
            if let (2, Some(Value::String(issuer)), Some(Value::String(subject))) =
                (map.len(), map.get(ISSUER), map.get(SUBJECT))
            {
                return Self::Signer {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                };
            }
        }
        Self::Other(value)
    }
}

impl Serialize for Extensions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Keys in sorted order, as a `serde_json` object writes them.
            Self::Signer { issuer, subject } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry(ISSUER, issuer)?;
                map.serialize_entry(SUBJECT, subject)?;
                map.end()
            }
            Self::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Extensions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signer_is_kept_compactly_and_written_as_the_object() {
        let value = serde_json::json!({"SN": "CN=s,O=\"Q\"", "Issuer": "CN=ü"});
        let ext = Extensions::from(value.clone());
        assert!(matches!(ext, Extensions::Signer { .. }), "{ext:?}");
        assert_eq!(ext.signer_subject(), Some("CN=s,O=\"Q\""));
        assert_eq!(ext.get_str("Issuer"), Some("CN=ü"));
        assert_eq!(ext.get_str("other"), None);
        assert_eq!(
            serde_json::to_string(&ext).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(serde_json::to_value(&ext).unwrap(), value);
        assert_eq!(ext.to_value(), value);
    }

    #[test]
    fn anything_else_stays_a_value() {
        for value in [
            serde_json::json!({"SN": "CN=s"}),
            serde_json::json!({"SN": "CN=s", "Issuer": "CN=i", "x": 1}),
            serde_json::json!({"SN": 1, "Issuer": "CN=i"}),
            serde_json::json!(["SN"]),
            serde_json::json!(null),
        ] {
            let ext: Extensions = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(ext, Extensions::Other(value.clone()));
            assert_eq!(serde_json::to_value(&ext).unwrap(), value);
        }
        let partial = Extensions::from(serde_json::json!({"SN": "CN=s"}));
        assert_eq!(partial.signer_subject(), Some("CN=s"));
    }
}
