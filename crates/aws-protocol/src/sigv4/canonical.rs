//! The canonical request and the string to sign, exactly as the SigV4 specification (and
//! botocore, which the aws CLI uses) builds them.

use super::{ALGORITHM, HttpRequest, sha256_hex};

/// RFC 3986 percent-encoding of everything but the unreserved characters (`A-Z a-z 0-9 - _
/// . ~`), and of `/` too unless `keep_slash`.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            // Policy documents returned by IAM are mostly escapes: no formatting machinery.
            out.push('%');
            for nibble in [byte >> 4, byte & 0x0f] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0').to_ascii_uppercase());
            }
        }
    }
    out
}

/// Decodes `%XX` escapes, everything else kept as it is (`+` too: RFC 3986, as in a path or
/// an IAM policy document); `None` for a broken escape or a result that is not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-decodes a query component; `+` is a space, as in form encoding. Invalid escapes
/// are kept as written.
fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                index += 1;
            }
            (other, None) => {
                out.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits and decodes a raw query string.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key), decode_component(value))
        })
        .collect()
}

/// The canonical URI: dot segments and empty segments removed, then every byte but the
/// unreserved ones and `/` encoded (so the already-encoded path is encoded a second time, as
/// SigV4 prescribes for every service but S3).
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = format!("/{}", segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    uri_encode(&normalized, true)
}

/// The canonical query string: parameters decoded, re-encoded, sorted; the signature itself
/// left out of a presigned request.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = parse_query(query)
        .into_iter()
        .filter(|(key, _)| key != "X-Amz-Signature")
        .map(|(key, value)| (uri_encode(&key, false), uri_encode(&value, false)))
        .collect();
    pairs.sort();
    pairs.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&")
}

/// A header value trimmed, with runs of whitespace collapsed to one space.
fn canonical_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request for `request`, signing `signed_headers` (lowercase, sorted, as the
/// claim lists them) over `payload_hash`.
pub fn canonical_request(request: &HttpRequest<'_>, signed_headers: &[&str], payload_hash: &str) -> String {
    let mut out = String::with_capacity(256 + request.query.len());
    out.push_str(request.method);
    out.push('\n');
    out.push_str(&canonical_uri(request.path));
    out.push('\n');
    out.push_str(&canonical_query(request.query));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = request.header_values(name).map(canonical_header_value).collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The string to sign for a canonical request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_only_unreserved_characters() {
        assert_eq!(uri_encode("a b/c~d_e.f-g*h", false), "a%20b%2Fc~d_e.f-g%2Ah");
        assert_eq!(uri_encode("a b/c", true), "a%20b/c");
        assert_eq!(uri_encode("é\u{7f}", false), "%C3%A9%7F");
        assert_eq!(uri_encode("é", false), "%C3%A9");
    }

    #[test]
    fn paths_are_normalized_then_encoded_again() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a//b/./c/../d"), "/a/b/d");
        assert_eq!(canonical_uri("/a/"), "/a/");
        assert_eq!(canonical_uri("/a%20b"), "/a%2520b");
    }

    /// Load shape: the canonical request (what every signed request costs before its key is
    /// known) for four times the parameters takes about four times as long; under eight passes.
    #[test]
    fn canonical_requests_are_linear_in_the_query() {
        let query = |count: usize| (0..count).map(|n| format!("P{}=%41{n}", count - n)).collect::<Vec<_>>().join("&");
        let canonical = |query: &str| {
            let request = HttpRequest { method: "GET", path: "/a/./b/../c", query, headers: &[], body: b"" };
            assert!(!canonical_request(&request, &["host"], "x").is_empty());
        };
        let (small, large) = (query(5_000), query(20_000));
        let ratio = crate::load_shape::ratio(|| canonical(&small), || canonical(&large));
        assert!(ratio < 8.0, "4x the parameters took {ratio:.1}x as long");
    }

    #[test]
    fn query_strings_are_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=1&A=0"), "A=0&a=1&b=2");
        assert_eq!(canonical_query("Param=a+b&x=%41%2a"), "Param=a%20b&x=A%2A");
        assert_eq!(canonical_query("flag&X-Amz-Signature=abc"), "flag=");
        assert_eq!(canonical_query("bad=%zz"), "bad=%25zz");
    }
}
