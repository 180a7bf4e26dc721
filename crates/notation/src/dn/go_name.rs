//! Rebuilding the name Go renders for a certificate: `pkix.Name.FillFromRDNSequence` followed
//! by `Name.String()` (named fields in `ToRDNSequence` order, other attributes first and as
//! `#hex` DER, the whole sequence printed in reverse).

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};

use super::{Attribute, DistinguishedName, Value};

/// Go's `pkix.Name` after `FillFromRDNSequence`: the named fields plus the other attributes.
#[derive(Default)]
pub(super) struct GoName {
    country: Vec<String>,
    province: Vec<String>,
    locality: Vec<String>,
    street: Vec<String>,
    postal_code: Vec<String>,
    organization: Vec<String>,
    organizational_unit: Vec<String>,
    common_name: Option<String>,
    serial_number: Option<String>,
    /// Attributes without a named field, in DER order.
    extra: Vec<Attribute>,
}

impl GoName {
    pub(super) fn add(&mut self, oid: &str, value: &Any<'_>) {
        let text = go_string_value(value);
        let field = match oid {
            "2.5.4.3" => Some(Field::One(&mut self.common_name)),
            "2.5.4.5" => Some(Field::One(&mut self.serial_number)),
            "2.5.4.6" => Some(Field::Many(&mut self.country)),
            "2.5.4.7" => Some(Field::Many(&mut self.locality)),
            "2.5.4.8" => Some(Field::Many(&mut self.province)),
            "2.5.4.9" => Some(Field::Many(&mut self.street)),
            "2.5.4.10" => Some(Field::Many(&mut self.organization)),
            "2.5.4.11" => Some(Field::Many(&mut self.organizational_unit)),
            "2.5.4.17" => Some(Field::Many(&mut self.postal_code)),
            _ => None,
        };
        match (field, text) {
            // Go drops non-string values of the named attributes.
            (Some(_), None) => {}
            (Some(Field::One(slot)), Some(t)) => *slot = Some(t),
            (Some(Field::Many(list)), Some(t)) => list.push(t),
            (None, text) => {
                let der = match text {
                    Some(t) => go_marshal_string(&t),
                    None => reencode_any(value),
                };
                self.extra.push(Attribute {
                    attr_type: oid.to_owned(),
                    value: Value::Der(der),
                });
            }
        }
    }

    /// `String()`: extras first, then `ToRDNSequence()` order, the whole printed reversed.
    pub(super) fn into_dn(self) -> DistinguishedName {
        let mut seq: Vec<Vec<Attribute>> = self.extra.into_iter().map(|a| vec![a]).collect();
        let named = [
            ("C", self.country),
            ("ST", self.province),
            ("L", self.locality),
            ("STREET", self.street),
            ("POSTALCODE", self.postal_code),
            ("O", self.organization),
            ("OU", self.organizational_unit),
            ("CN", self.common_name.into_iter().collect()),
            ("SERIALNUMBER", self.serial_number.into_iter().collect()),
        ];
        for (short, values) in named {
            if values.is_empty()
                || (short == "CN" || short == "SERIALNUMBER") && values.iter().all(String::is_empty)
            {
                continue;
            }
            seq.push(
                values
                    .into_iter()
                    .map(|v| Attribute {
                        attr_type: short.to_owned(),
                        value: Value::Text(v),
                    })
                    .collect(),
            );
        }
        seq.reverse();
        DistinguishedName { rdns: seq }
    }
}

enum Field<'a> {
    One(&'a mut Option<String>),
    Many(&'a mut Vec<String>),
}

/// The string Go's `encoding/asn1` yields for an attribute value, if it is a string type.
fn go_string_value(value: &Any<'_>) -> Option<String> {
    if value.header.class() != Class::Universal {
        return None;
    }
    let data = value.data;
    match value.header.tag() {
        Tag::PrintableString
        | Tag::Ia5String
        | Tag::Utf8String
        | Tag::NumericString
        | Tag::T61String => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Go's `asn1.Marshal(string)`: PrintableString when every character is printable
/// (without `*` and `&`), otherwise UTF8String.
fn go_marshal_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    let tag = if printable { 0x13 } else { 0x0c };
    tlv(tag, s.as_bytes())
}

/// DER encoding of an attribute value that is not a string (Go re-marshals it unchanged).
fn reencode_any(value: &Any<'_>) -> Vec<u8> {
    let class_bits: u8 = match value.header.class() {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let constructed = if value.header.is_constructed() {
        0x20
    } else {
        0
    };
    match u8::try_from(value.header.tag().0) {
        Ok(t) if t < 0x1f => tlv(class_bits | constructed | t, value.data),
        _ => match value.header.raw_tag() {
            Some(raw) => {
                let mut out = raw.to_vec();
                out.extend_from_slice(&der_length(value.data.len()));
                out.extend_from_slice(value.data);
                out
            }
            None => tlv(0x04, value.data),
        },
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&der_length(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        // Fits in 7 bits.
        return vec![len as u8];
    }
    let bytes = len.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = vec![0x80 | (bytes.len() - first) as u8];
    out.extend_from_slice(&bytes[first..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_length_forms() {
        assert_eq!(der_length(5), vec![5]);
        assert_eq!(der_length(0x80), vec![0x81, 0x80]);
        assert_eq!(der_length(0x1234), vec![0x82, 0x12, 0x34]);
    }

    #[test]
    fn go_marshal_picks_printable_or_utf8() {
        assert_eq!(go_marshal_string("ab"), vec![0x13, 2, b'a', b'b']);
        assert_eq!(go_marshal_string("a@b")[0], 0x0c);
        assert_eq!(go_marshal_string("a*b")[0], 0x0c);
    }
}
