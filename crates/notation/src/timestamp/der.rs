//! A small, bounded DER reader and a BER→DER normaliser, enough for RFC 3161 tokens.
//!
//! Timestamp tokens may be BER-encoded (indefinite lengths); like Go's tspclient, the token is
//! first normalised to definite lengths, then read as DER. The reader hands out borrowed
//! slices (content and the whole raw element), which the CMS code needs to hash and verify
//! exactly the received bytes.

/// Largest token accepted (bytes).
pub(crate) const MAX_INPUT: usize = 1024 * 1024;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;

/// Universal and context tags used by the CMS / TSP code.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[n]` constructed (EXPLICIT or IMPLICIT constructed).
    pub(crate) const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` primitive (IMPLICIT primitive).
    pub(crate) const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// A DER/BER syntax problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DerError {
    #[error("asn1: syntax error: data truncated")]
    Truncated,
    #[error("asn1: syntax error: length {0} exceeds the remaining {1} bytes")]
    LengthOverrun(usize, usize),
    #[error("asn1: syntax error: unsupported length encoding")]
    BadLength,
    #[error("asn1: syntax error: indefinite length on a primitive element")]
    IndefinitePrimitive,
    #[error("asn1: syntax error: unexpected indefinite length (the data is not DER)")]
    Indefinite,
    #[error("asn1: syntax error: nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("asn1: syntax error: input larger than {MAX_INPUT} bytes")]
    TooLarge,
    #[error("asn1: syntax error: high tag numbers are not supported")]
    HighTag,
    #[error("asn1: structure error: tags don't match (expected 0x{expected:02x}, found 0x{found:02x}) {context}")]
    UnexpectedTag {
        expected: u8,
        found: u8,
        context: &'static str,
    },
    #[error("asn1: structure error: missing {0}")]
    Missing(&'static str),
    #[error("asn1: syntax error: trailing data after {0}")]
    TrailingData(&'static str),
    #[error("asn1: structure error: invalid {0}")]
    Invalid(&'static str),
}

/// One element: its tag, its content and the whole encoding (tag, length and content).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    pub(crate) raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content.
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader::new(self.content)
    }
}

/// Sequential reader over DER elements.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Read the next element (definite length only).
    pub(crate) fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let (header, len) = read_header(self.rest)?;
        let Some(len) = len else {
            return Err(DerError::Indefinite);
        };
        let total = header + len;
        let raw = self.rest.get(..total).ok_or(DerError::Truncated)?;
        let tag = raw[0];
        if tag & 0x1f == 0x1f {
            return Err(DerError::HighTag);
        }
        self.rest = &self.rest[total..];
        Ok(Tlv {
            tag,
            content: &raw[header..],
            raw,
        })
    }

    /// Read the next element and require `tag`.
    pub(crate) fn expect(
        &mut self,
        expected: u8,
        context: &'static str,
    ) -> Result<Tlv<'a>, DerError> {
        match self.peek_tag() {
            None => Err(DerError::Missing(context)),
            Some(found) if found != expected => Err(DerError::UnexpectedTag {
                expected,
                found,
                context,
            }),
            Some(_) => self.read(),
        }
    }

    /// Read the next element if it has `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Require that nothing is left.
    pub(crate) fn finish(&self, context: &'static str) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData(context))
        }
    }
}

/// Parse a tag and length; returns the header size and the length (`None` = indefinite).
fn read_header(input: &[u8]) -> Result<(usize, Option<usize>), DerError> {
    let mut pos = 1usize;
    let first = *input.first().ok_or(DerError::Truncated)?;
    if first & 0x1f == 0x1f {
        // High tag number form: skip the continuation bytes (bounded).
        loop {
            let b = *input.get(pos).ok_or(DerError::Truncated)?;
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
            if pos > 6 {
                return Err(DerError::HighTag);
            }
        }
    }
    let len_byte = *input.get(pos).ok_or(DerError::Truncated)?;
    pos += 1;
    if len_byte == 0x80 {
        return Ok((pos, None));
    }
    let len = if len_byte < 0x80 {
        usize::from(len_byte)
    } else {
        let n = usize::from(len_byte & 0x7f);
        if n > 4 {
            return Err(DerError::BadLength);
        }
        let bytes = input.get(pos..pos + n).ok_or(DerError::Truncated)?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let remaining = input.len() - pos;
    if len > remaining {
        return Err(DerError::LengthOverrun(len, remaining));
    }
    Ok((pos, Some(len)))
}

/// Normalise a BER encoding to definite lengths (DER framing). Elements already in definite
/// form are copied unchanged; constructed elements with indefinite length are re-framed.
/// The input must be exactly one element.
pub(crate) fn ber_to_der(input: &[u8]) -> Result<Vec<u8>, DerError> {
    if input.len() > MAX_INPUT {
        return Err(DerError::TooLarge);
    }
    if !has_indefinite_length(input, 0)? {
        // Validate framing once; DER input is returned as is.
        let mut reader = Reader::new(input);
        reader.read()?;
        reader.finish("the top-level element")?;
        return Ok(input.to_vec());
    }
    let mut out = Vec::with_capacity(input.len());
    let rest = convert(input, &mut out, 0)?;
    if !rest.is_empty() {
        return Err(DerError::TrailingData("the top-level element"));
    }
    Ok(out)
}

/// Whether any element in `input` (a run of elements) uses an indefinite length.
fn has_indefinite_length(mut input: &[u8], depth: usize) -> Result<bool, DerError> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep);
    }
    while !input.is_empty() {
        let (header, len) = read_header(input)?;
        let Some(len) = len else {
            return Ok(true);
        };
        let constructed = input[0] & 0x20 != 0;
        let content = &input[header..header + len];
        if constructed && has_indefinite_length(content, depth + 1)? {
            return Ok(true);
        }
        input = &input[header + len..];
    }
    Ok(false)
}

/// Convert one element at the start of `input` into `out`; returns the rest of `input`.
fn convert<'a>(input: &'a [u8], out: &mut Vec<u8>, depth: usize) -> Result<&'a [u8], DerError> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep);
    }
    let (header, len) = read_header(input)?;
    let tag_len = header_tag_len(input)?;
    let tag_bytes = &input[..tag_len];
    let constructed = input[0] & 0x20 != 0;
    match len {
        Some(len) if !constructed => {
            out.extend_from_slice(&input[..header + len]);
            Ok(&input[header + len..])
        }
        Some(len) => {
            let mut children = &input[header..header + len];
            let mut body = Vec::with_capacity(len);
            while !children.is_empty() {
                children = convert(children, &mut body, depth + 1)?;
            }
            write_element(out, tag_bytes, &body);
            Ok(&input[header + len..])
        }
        None => {
            if !constructed {
                return Err(DerError::IndefinitePrimitive);
            }
            let mut rest = &input[header..];
            let mut body = Vec::new();
            loop {
                match rest {
                    [0, 0, tail @ ..] => {
                        rest = tail;
                        break;
                    }
                    [] | [_] => return Err(DerError::Truncated),
                    _ => rest = convert(rest, &mut body, depth + 1)?,
                }
            }
            write_element(out, tag_bytes, &body);
            Ok(rest)
        }
    }
}

fn header_tag_len(input: &[u8]) -> Result<usize, DerError> {
    let first = *input.first().ok_or(DerError::Truncated)?;
    if first & 0x1f != 0x1f {
        return Ok(1);
    }
    let mut pos = 1;
    while input.get(pos).ok_or(DerError::Truncated)? & 0x80 != 0 {
        pos += 1;
    }
    Ok(pos + 1)
}

fn write_element(out: &mut Vec<u8>, tag: &[u8], body: &[u8]) {
    out.extend_from_slice(tag);
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let first = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
    out.extend_from_slice(body);
}

/// Decode an OBJECT IDENTIFIER's content to dotted form (`1.2.840…`).
pub(crate) fn oid_string(content: &[u8]) -> Result<String, DerError> {
    if content.is_empty() || content.len() > 64 || content.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(DerError::Invalid("object identifier"));
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for b in content {
        value = value
            .checked_mul(128)
            .ok_or(DerError::Invalid("object identifier"))?
            | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (first, second) = match value {
                    0..=39 => (0, value),
                    40..=79 => (1, value - 40),
                    _ => (2, value - 80),
                };
                arcs.push(first);
                arcs.push(second);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// Read an OBJECT IDENTIFIER element as a dotted string.
pub(crate) fn read_oid(reader: &mut Reader<'_>, context: &'static str) -> Result<String, DerError> {
    oid_string(reader.expect(tag::OID, context)?.content)
}

/// The content of an INTEGER as an unsigned value if it fits in `u64` and is not negative.
pub(crate) fn uint(content: &[u8]) -> Result<u64, DerError> {
    if content.is_empty() || content[0] & 0x80 != 0 {
        return Err(DerError::Invalid("non-negative integer"));
    }
    let trimmed = match content {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => content,
    };
    if trimmed.len() > 8 {
        return Err(DerError::Invalid("integer (too large)"));
    }
    Ok(trimmed
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Strip redundant leading zero bytes of an INTEGER (serial-number comparison).
pub(crate) fn integer_magnitude(content: &[u8]) -> &[u8] {
    let mut c = content;
    while c.len() > 1 && c[0] == 0 {
        c = &c[1..];
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_decoding() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]).unwrap(),
            "1.2.840.113549.1.7.2"
        );
        assert!(oid_string(&[0x86]).is_err());
    }

    #[test]
    fn indefinite_lengths_are_normalised() {
        // SEQUENCE (indefinite) { INTEGER 5, SEQUENCE (indefinite) { OCTET STRING "ab" } }
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x05, 0x30, 0x80, 0x04, 0x02, b'a', b'b', 0, 0, 0, 0,
        ];
        let der = ber_to_der(&ber).unwrap();
        assert_eq!(
            der,
            vec![0x30, 0x09, 0x02, 0x01, 0x05, 0x30, 0x04, 0x04, 0x02, b'a', b'b']
        );
    }

    #[test]
    fn malformed_input_is_rejected() {
        assert_eq!(
            ber_to_der(b"invalid\n"),
            Err(DerError::LengthOverrun(110, 6))
        );
        assert_eq!(
            ber_to_der(&[0x30, 0x80, 0x02, 0x01, 0x05]),
            Err(DerError::Truncated)
        );
        assert_eq!(
            ber_to_der(&[0x04, 0x80, 0, 0]),
            Err(DerError::IndefinitePrimitive)
        );
        assert_eq!(
            ber_to_der(&[0x30, 0x00, 0x05, 0x00]),
            Err(DerError::TrailingData("the top-level element"))
        );
        assert_eq!(ber_to_der(&[0x30, 0x00, 0x00]), Err(DerError::Truncated));
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert_eq!(ber_to_der(&deep), Err(DerError::TooDeep));
    }

    #[test]
    fn integers() {
        assert_eq!(uint(&[0x00, 0xff]).unwrap(), 255);
        assert!(uint(&[0xff]).is_err());
        assert_eq!(integer_magnitude(&[0, 0, 1]), &[1]);
    }
}
