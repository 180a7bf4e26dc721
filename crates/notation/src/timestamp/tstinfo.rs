//! `TSTInfo` (RFC 3161 §2.4.2): the timestamp content signed by the TSA.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::der::{self, tag, DerError, Reader};
use super::signature::Hash;

/// ETSI baseline timestamp policy (RFC 3628): an absent accuracy means one second.
const BASELINE_TIMESTAMP_POLICY: &str = "0.4.0.2023.1.1";
/// Largest accepted accuracy (seconds); larger values are not meaningful timestamps.
const MAX_ACCURACY_SECONDS: u64 = 365 * 24 * 3600;

/// The parts of a `TSTInfo` that verification uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TstInfo {
    pub(crate) version: u64,
    pub(crate) policy: String,
    pub(crate) imprint_hash_oid: String,
    pub(crate) hashed_message: Vec<u8>,
    pub(crate) gen_time: OffsetDateTime,
    /// Accuracy as given (zero if absent).
    pub(crate) accuracy: Duration,
}

impl TstInfo {
    /// Parse the DER `TSTInfo` carried in the token's `eContent`.
    pub(crate) fn parse(content: &[u8]) -> Result<Self, DerError> {
        let mut outer = Reader::new(content);
        let seq = outer.expect(tag::SEQUENCE, "TSTInfo")?;
        outer.finish("TSTInfo")?;
        let mut r = seq.reader();
        let version = der::uint(r.expect(tag::INTEGER, "TSTInfo version")?.content)?;
        let policy = der::read_oid(&mut r, "TSTInfo policy")?;
        let imprint = r.expect(tag::SEQUENCE, "TSTInfo messageImprint")?;
        let mut ir = imprint.reader();
        let alg = ir.expect(tag::SEQUENCE, "messageImprint hashAlgorithm")?;
        let imprint_hash_oid = der::read_oid(&mut alg.reader(), "messageImprint hashAlgorithm")?;
        let hashed_message = ir
            .expect(tag::OCTET_STRING, "messageImprint hashedMessage")?
            .content
            .to_vec();
        ir.finish("messageImprint")?;
        r.expect(tag::INTEGER, "TSTInfo serialNumber")?;
        let gen_time =
            parse_generalized_time(r.expect(tag::GENERALIZED_TIME, "TSTInfo genTime")?.content)?;
        let accuracy = match r.optional(tag::SEQUENCE)? {
            Some(acc) => parse_accuracy(acc.content)?,
            None => Duration::ZERO,
        };
        // ordering, nonce, tsa and extensions are not used.
        Ok(Self {
            version,
            policy,
            imprint_hash_oid,
            hashed_message,
            gen_time,
            accuracy,
        })
    }

    /// The accuracy used for the time range: the TSTInfo's, or one second for the baseline
    /// policy when none is given.
    pub(crate) fn effective_accuracy(&self) -> Duration {
        if self.accuracy.is_zero() && self.policy == BASELINE_TIMESTAMP_POLICY {
            Duration::SECOND
        } else {
            self.accuracy
        }
    }

    /// The imprint's hash algorithm, if supported.
    pub(crate) fn imprint_hash(&self) -> Option<Hash> {
        Hash::from_oid(&self.imprint_hash_oid)
    }
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER OPTIONAL,
/// micros [1] INTEGER OPTIONAL }`.
fn parse_accuracy(content: &[u8]) -> Result<Duration, DerError> {
    let mut r = Reader::new(content);
    let seconds = match r.optional(tag::INTEGER)? {
        Some(t) => der::uint(t.content)?,
        None => 0,
    };
    let millis = match r.optional(tag::context_primitive(0))? {
        Some(t) => der::uint(t.content)?,
        None => 0,
    };
    let micros = match r.optional(tag::context_primitive(1))? {
        Some(t) => der::uint(t.content)?,
        None => 0,
    };
    r.finish("accuracy")?;
    if seconds > MAX_ACCURACY_SECONDS || millis > 999 || micros > 999 {
        return Err(DerError::Invalid("accuracy (out of range)"));
    }
    // In range by the checks above.
    Ok(Duration::seconds(seconds as i64)
        + Duration::milliseconds(millis as i64)
        + Duration::microseconds(micros as i64))
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn build(year: i32, rest: &[u8]) -> Option<PrimitiveDateTime> {
    let month = Month::try_from(u8::try_from(digits(rest.get(0..2)?)?).ok()?).ok()?;
    let day = u8::try_from(digits(rest.get(2..4)?)?).ok()?;
    let hour = u8::try_from(digits(rest.get(4..6)?)?).ok()?;
    let minute = u8::try_from(digits(rest.get(6..8)?)?).ok()?;
    let second = u8::try_from(digits(rest.get(8..10)?)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// Parse a GeneralizedTime as Go's `encoding/asn1` does: `YYYYMMDDHHMMSS`, optional
/// fraction without trailing zeros (`.641`), then `Z` or `±hhmm`.
pub(crate) fn parse_generalized_time(content: &[u8]) -> Result<OffsetDateTime, DerError> {
    const ERR: DerError = DerError::Invalid("GeneralizedTime");
    let year = digits(content.get(0..4).ok_or(ERR)?).ok_or(ERR)?;
    let base = build(
        i32::try_from(year).map_err(|_| ERR)?,
        content.get(4..14).ok_or(ERR)?,
    )
    .ok_or(ERR)?;
    let mut rest = content.get(14..).ok_or(ERR)?;
    let mut nanos: u32 = 0;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 || tail[n - 1] == b'0' {
            return Err(ERR);
        }
        let frac = digits(&tail[..n]).ok_or(ERR)?;
        nanos = frac * 10u32.pow(9 - n as u32);
        rest = &tail[n..];
    }
    let offset = parse_offset(rest).ok_or(ERR)?;
    base.assume_offset(offset)
        .checked_add(Duration::nanoseconds(i64::from(nanos)))
        .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
        .ok_or(ERR)
}

/// Parse a UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049 as in RFC 5280).
pub(crate) fn parse_utc_time(content: &[u8]) -> Result<OffsetDateTime, DerError> {
    const ERR: DerError = DerError::Invalid("UTCTime");
    let yy = digits(content.get(0..2).ok_or(ERR)?).ok_or(ERR)?;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    let base = build(
        i32::try_from(year).map_err(|_| ERR)?,
        content.get(2..12).ok_or(ERR)?,
    )
    .ok_or(ERR)?;
    let offset = parse_offset(content.get(12..).ok_or(ERR)?).ok_or(ERR)?;
    base.assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
        .ok_or(ERR)
}

fn parse_offset(rest: &[u8]) -> Option<UtcOffset> {
    match rest {
        [b'Z'] => Some(UtcOffset::UTC),
        [sign @ (b'+' | b'-'), hh @ ..] if hh.len() == 4 => {
            let h = i8::try_from(digits(&hh[0..2])?).ok()?;
            let m = i8::try_from(digits(&hh[2..4])?).ok()?;
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn generalized_time_forms() {
        assert_eq!(
            parse_generalized_time(b"20240618062937Z").unwrap(),
            datetime!(2024-06-18 06:29:37 UTC)
        );
        assert_eq!(
            parse_generalized_time(b"20250121091746.641Z").unwrap(),
            datetime!(2025-01-21 09:17:46.641 UTC)
        );
        assert_eq!(
            parse_generalized_time(b"20240618082937+0200").unwrap(),
            datetime!(2024-06-18 06:29:37 UTC)
        );
        // Out of the representable range once normalised to UTC: an error, not a panic.
        assert!(parse_generalized_time(b"99991231235959.9Z").is_ok());
        assert!(parse_generalized_time(b"99991231235959-0100").is_err());
        for bad in [
            &b"20240618062937"[..],
            b"20240618062937.640Z",
            b"20241318062937Z",
            b"2024061806293Z",
            b"20240618062937.Z",
        ] {
            assert!(
                parse_generalized_time(bad).is_err(),
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn utc_time_forms() {
        assert_eq!(
            parse_utc_time(b"231102103002Z").unwrap(),
            datetime!(2023-11-02 10:30:02 UTC)
        );
        assert_eq!(
            parse_utc_time(b"991231235959Z").unwrap(),
            datetime!(1999-12-31 23:59:59 UTC)
        );
        assert!(parse_utc_time(b"231102103002").is_err());
    }

    #[test]
    fn accuracy_parts_add_up() {
        // seconds 1, millis 500, micros 7
        let acc =
            parse_accuracy(&[0x02, 0x01, 0x01, 0x80, 0x02, 0x01, 0xf4, 0x81, 0x01, 0x07]).unwrap();
        assert_eq!(
            acc,
            Duration::seconds(1) + Duration::milliseconds(500) + Duration::microseconds(7)
        );
        assert!(parse_accuracy(&[0x80, 0x02, 0x03, 0xe8]).is_err());
    }
}
