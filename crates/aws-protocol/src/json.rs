//! The awsJson request body: one JSON object, decoded once at the edge.
//!
//! Guarantees: decoding is linear in the body's size (serde_json; nesting deeper than 128
//! levels is refused by it), never panics, and refuses anything but an object with the error
//! AWS's awsJson services answer.

use serde_json::Value as Json;

use crate::AwsError;

/// Decodes an awsJson request body. An empty (or all-whitespace) body is `{}`, as botocore
/// sends for an operation without input.
pub fn decode_body(body: &[u8]) -> Result<Json, AwsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(serde_json::Map::new()));
    }
    match serde_json::from_slice::<Json>(body) {
        Ok(value @ Json::Object(_)) => Ok(value),
        _ => Err(AwsError::new("SerializationException", 400, "Start of structure or map found where not expected.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_decode_and_everything_else_is_a_serialization_error() {
        assert_eq!(decode_body(b"").unwrap(), serde_json::json!({}));
        assert_eq!(decode_body(b" \n").unwrap(), serde_json::json!({}));
        assert_eq!(decode_body(br#"{"a": [1]}"#).unwrap(), serde_json::json!({"a": [1]}));
        for bad in [&b"[1]"[..], b"\"text\"", b"{", b"\xff", b"null"] {
            assert_eq!(decode_body(bad).unwrap_err().code, "SerializationException");
        }
        let deep_enough = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert!(decode_body(deep_enough.as_bytes()).is_ok());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(decode_body(deep.as_bytes()).unwrap_err().code, "SerializationException");
    }

    /// Load shape: four times the body takes about four times as long to decode; under eight.
    #[test]
    fn decoding_is_linear_in_the_body() {
        let body = |events: usize| {
            let events: Vec<String> =
                (0..events).map(|n| format!("{{\"timestamp\":{n},\"message\":\"line \\\"{n}\\\"\"}}")).collect();
            format!("{{\"logEvents\":[{}]}}", events.join(","))
        };
        let (small, large) = (body(2_500), body(10_000));
        let decode = |body: &str| assert!(decode_body(body.as_bytes()).is_ok());
        let ratio = crate::load_shape::ratio(|| decode(&small), || decode(&large));
        assert!(ratio < 8.0, "4x the body took {ratio:.1}x as long");
    }
}
