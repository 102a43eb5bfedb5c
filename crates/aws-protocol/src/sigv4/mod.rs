//! AWS Signature Version 4, verified as AWS verifies it.
//!
//! Verification runs in two steps so the caller can look the access key up in between:
//! [`Claim::parse`] reads what the request claims (the `Authorization` header or the
//! presigned `X-Amz-*` query parameters) and refuses malformed claims; [`Claim::verify`]
//! checks the time window and recomputes the signature with the key's signing key.
//!
//! Guarantees: the signature comparison is constant-time; the payload hash is always
//! computed from the body received (a client-supplied `X-Amz-Content-SHA256` cannot vouch
//! for a body it does not match); no clock is read (the caller passes `now`); nothing here
//! panics on any input.

mod canonical;
mod claim;
mod key;
mod sign;

pub use canonical::{canonical_request, percent_decode, string_to_sign, uri_encode};
pub use claim::{Claim, CredentialScope};
pub use key::{SigningKey, SigningKeyCache, signing_key};
pub use sign::Signer;

use std::fmt;

use sha2::{Digest, Sha256};

/// The only algorithm AWS signs requests with here.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far a request's `X-Amz-Date` may be from the server's clock.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// The longest a presigned URL may live (`X-Amz-Expires`): seven days.
pub const MAX_PRESIGNED_EXPIRY_SECONDS: i64 = 7 * 24 * 60 * 60;

/// An HTTP request as SigV4 sees it: nothing here depends on an HTTP library.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The query string as received, without the `?`.
    pub query: &'a str,
    /// Every header as received, names in any case, repeated names allowed.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl<'a> HttpRequest<'a> {
    /// The values of a header, by case-insensitive name, in the order received.
    pub fn header_values(&self, name: &str) -> impl Iterator<Item = &'a str> {
        let name = name.to_owned();
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(&name)).map(|(_, value)| *value)
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }

    /// The decoded query parameters, in the order received.
    pub fn query_params(&self) -> Vec<(String, String)> {
        canonical::parse_query(self.query)
    }
}

/// Why a request's signature is refused. Each maps to the AWS error code and message of
/// the protocol the request came in ([`crate::AwsError::from_auth`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header and no presigned parameters.
    Missing,
    /// The claim is malformed; the message is AWS's.
    Incomplete(String),
    /// The credential scope is malformed or does not fit the request; the message is AWS's.
    BadScope(String),
    /// The access key is unknown or inactive, or the session token does not belong to it.
    InvalidKey,
    /// The session token has expired.
    ExpiredToken,
    /// The signature is wrong.
    SignatureMismatch,
    /// The request was signed too long ago, or too far in the future; the message is AWS's.
    Skewed(String),
    /// A presigned request past its `X-Amz-Expires`.
    PresignExpired,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => f.write_str("missing authentication"),
            AuthError::Incomplete(message) | AuthError::BadScope(message) | AuthError::Skewed(message) => {
                f.write_str(message)
            }
            AuthError::InvalidKey => f.write_str("invalid access key"),
            AuthError::ExpiredToken => f.write_str("expired session token"),
            AuthError::SignatureMismatch => f.write_str("signature mismatch"),
            AuthError::PresignExpired => f.write_str("presigned request expired"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seconds since the epoch of an ISO 8601 basic timestamp such as `20150830T123600Z`.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// `20150830T123600Z` for a time in seconds since the epoch.
pub fn format_amz_date(seconds: i64) -> String {
    let [year, month, day, hour, minute, second] = civil_time(seconds);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
}

/// `2015-08-30T12:36:00Z`, the timestamp form of AWS's XML and JSON responses.
pub fn format_iso8601(seconds: i64) -> String {
    let [year, month, day, hour, minute, second] = civil_time(seconds);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// Year, month, day, hour, minute and second (UTC) of a time in seconds since the epoch.
fn civil_time(seconds: i64) -> [i64; 6] {
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    [year, month, day, of_day / 3_600, of_day % 3_600 / 60, of_day % 60]
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        let seconds = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(seconds, 1_440_938_160);
        assert_eq!(format_amz_date(seconds), "20150830T123600Z");
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(format_iso8601(seconds), "2015-08-30T12:36:00Z");
        for bad in ["20150830T123600", "2015-08-30T12:36:00Z", "20151330T123600Z", "2015083XT123600Z", ""] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn constant_time_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
