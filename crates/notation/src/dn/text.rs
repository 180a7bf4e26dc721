//! The RFC 4514 text form of trust-policy DNs, split the way go-ldap's `ParseDN` does:
//! spaces around types and values are dropped, `\` escapes a special character or a hex
//! pair, and `,` or `;` ends an RDN while `+` continues a multi-valued one.

use super::DnError;

/// A syntax error for the DN text `dn`.
pub(super) fn syntax(dn: &str, reason: impl Into<String>) -> DnError {
    DnError::Syntax {
        dn: dn.to_owned(),
        reason: reason.into(),
    }
}

/// Split RFC 4514 text into RDNs of (type, unescaped value), go-ldap style.
pub(super) fn split_rdns(s: &str) -> Result<Vec<Vec<(String, String)>>, DnError> {
    let bytes = s.as_bytes();
    let mut rdns = Vec::new();
    let mut rdn = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut attr_type: Option<String> = None;
    // Unescaped spaces at the end of `buf`, dropped when the token ends.
    let mut trailing_spaces = 0usize;
    let mut i = 0;
    let finish = |buf: &mut Vec<u8>, trailing: &mut usize| -> Result<String, DnError> {
        buf.truncate(buf.len().saturating_sub(*trailing));
        *trailing = 0;
        String::from_utf8(std::mem::take(buf))
            .map_err(|_| syntax(s, "escaped bytes are not valid UTF-8"))
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\\' => {
                trailing_spaces = 0;
                let Some(&next) = bytes.get(i + 1) else {
                    return Err(syntax(s, "got corrupted escaped character"));
                };
                if b" \"#+,;<=>\\".contains(&next) {
                    buf.push(next);
                    i += 2;
                } else {
                    let pair = bytes
                        .get(i + 1..i + 3)
                        .and_then(|p| std::str::from_utf8(p).ok())
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                        .ok_or_else(|| syntax(s, format!("invalid escape sequence at byte {i}")))?;
                    buf.push(pair);
                    i += 3;
                }
                continue;
            }
            b'=' if attr_type.is_none() => {
                let t = finish(&mut buf, &mut trailing_spaces)?;
                if !is_valid_attr_type(&t) {
                    return Err(syntax(s, format!("invalid attribute type {t:?}")));
                }
                attr_type = Some(t);
            }
            b',' | b'+' | b';' => {
                let Some(t) = attr_type.take() else {
                    return Err(syntax(s, "incomplete type, value pair"));
                };
                rdn.push((t, finish(&mut buf, &mut trailing_spaces)?));
                if c != b'+' {
                    rdns.push(std::mem::take(&mut rdn));
                }
            }
            b' ' if buf.is_empty() => {}
            _ => {
                if c == b' ' {
                    trailing_spaces += 1;
                } else {
                    trailing_spaces = 0;
                }
                buf.push(c);
            }
        }
        i += 1;
    }
    match attr_type {
        Some(t) => {
            rdn.push((t, finish(&mut buf, &mut trailing_spaces)?));
            rdns.push(rdn);
        }
        None if !buf.is_empty() => {
            return Err(syntax(s, "DN ended with incomplete type, value pair"))
        }
        None if !rdn.is_empty() => return Err(syntax(s, "DN ended with a '+' and no attribute")),
        None => {}
    }
    if rdns.is_empty() {
        return Err(syntax(s, "the DN is empty"));
    }
    Ok(rdns)
}

/// RFC 4514 attribute type: a keyword (`ALPHA *(ALPHA / DIGIT / "-")`) or a dotted OID.
fn is_valid_attr_type(t: &str) -> bool {
    let mut chars = t.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => chars.all(|c| c.is_ascii_alphanumeric() || c == '-'),
        Some(c) if c.is_ascii_digit() => t
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    }
}
