//! The AWS error shapes: one error type, rendered once per protocol.
//!
//! awsQuery services (IAM, STS) answer `<ErrorResponse><Error><Type/><Code/><Message/>
//! </Error><RequestId/></ErrorResponse>`; awsJson services (SSM, ECS, ECR, Logs, CloudTrail)
//! answer `{"__type": CODE, "message": MESSAGE}` with `x-amzn-RequestId`; restJson1 services
//! (IAM Access Analyzer) name the code in the `x-amzn-ErrorType` header and answer
//! `{"message": MESSAGE, ...}` with the members the error's shape models (a
//! `ValidationException`'s `reason` and `fieldList`). Authentication failures carry different
//! codes in the query and JSON families, as AWS names them.

use crate::sigv4::AuthError;

/// The protocol family a request came in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsQuery: form parameters in, XML out.
    Query,
    /// awsJson 1.0 / 1.1: `X-Amz-Target` and JSON in, JSON out.
    Json,
    /// restJson1: the operation is the HTTP method and path; input members come from the JSON
    /// body, the path's labels and the query string; JSON out, the error code in a header.
    RestJson,
}

/// An error as AWS returns it: code, HTTP status, message, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: String,
    pub status: u16,
    pub message: String,
    /// `Sender` (the client's fault) or `Receiver`.
    pub sender_fault: bool,
    /// Members of the error's shape besides the message, as JSON protocols render them
    /// (`reason` and `fieldList` of Access Analyzer's `ValidationException`); empty for most.
    pub members: Vec<(String, serde_json::Value)>,
}

impl AwsError {
    pub fn new(code: impl Into<String>, status: u16, message: impl Into<String>) -> AwsError {
        let status_is_client = (400..500).contains(&status);
        AwsError {
            code: code.into(),
            status,
            message: message.into(),
            sender_fault: status_is_client,
            members: Vec::new(),
        }
    }

    /// The error with one more member of its shape (`reason`, `fieldList`).
    pub fn with_member(mut self, name: &str, value: serde_json::Value) -> AwsError {
        self.members.push((name.to_owned(), value));
        self
    }

    /// The error AWS returns for an authentication failure in `protocol`.
    pub fn from_auth(error: &AuthError, protocol: Protocol) -> AwsError {
        let (query_code, json_code, status, message) = match error {
            AuthError::Missing => (
                "MissingAuthenticationToken",
                "MissingAuthenticationTokenException",
                403,
                "Request is missing Authentication Token".to_owned(),
            ),
            AuthError::Incomplete(message) => ("IncompleteSignature", "IncompleteSignatureException", 400, message.clone()),
            AuthError::BadScope(message) | AuthError::Skewed(message) => {
                ("SignatureDoesNotMatch", "InvalidSignatureException", 403, message.clone())
            }
            AuthError::InvalidKey => (
                "InvalidClientTokenId",
                "UnrecognizedClientException",
                403,
                "The security token included in the request is invalid.".to_owned(),
            ),
            AuthError::ExpiredToken => (
                "ExpiredToken",
                "ExpiredTokenException",
                400,
                "The security token included in the request is expired".to_owned(),
            ),
            AuthError::SignatureMismatch => (
                "SignatureDoesNotMatch",
                "InvalidSignatureException",
                403,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned(),
            ),
            AuthError::PresignExpired => {
                ("SignatureDoesNotMatch", "InvalidSignatureException", 403, "Request has expired".to_owned())
            }
        };
        let code = match protocol {
            Protocol::Query => query_code,
            Protocol::Json | Protocol::RestJson => json_code,
        };
        AwsError::new(code, status, message)
    }

    /// The awsQuery error document; `namespace` is the service's XML namespace, such as
    /// `https://iam.amazonaws.com/doc/2010-05-08/`.
    pub fn to_query_xml(&self, namespace: &str, request_id: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"{}\">\n  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            xml_escape(namespace),
            if self.sender_fault { "Sender" } else { "Receiver" },
            xml_escape(&self.code),
            xml_escape(&self.message),
            xml_escape(request_id),
        )
    }

    /// The awsJson error body: `__type`, the message and the shape's other members
    /// (`queryCompileError` of Logs' `MalformedQueryException`).
    pub fn to_json(&self) -> String {
        let head =
            format!("{{\"__type\":\"{}\",\"message\":\"{}\"", json_escape(&self.code), json_escape(&self.message));
        let members: String =
            self.members.iter().map(|(name, value)| format!(",\"{}\":{value}", json_escape(name))).collect();
        format!("{head}{members}}}")
    }

    /// The restJson1 error body: the message and the shape's other members (the code goes in
    /// the `x-amzn-ErrorType` header).
    pub fn to_rest_json(&self) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert("message".to_owned(), serde_json::Value::String(self.message.clone()));
        for (name, value) in &self.members {
            body.insert(name.clone(), value.clone());
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    xml_escape_into(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped as [`xml_escape`] does: runs without a special character
/// are copied whole.
pub fn xml_escape_into(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        let (plain, special) = rest.split_at(at);
        out.push_str(plain);
        let mut chars = special.chars();
        out.push_str(match chars.next() {
            Some('&') => "&amp;",
            Some('<') => "&lt;",
            Some('>') => "&gt;",
            Some('"') => "&quot;",
            _ => "&apos;",
        });
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// Escapes text for a JSON string.
pub fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_replaces_exactly_the_five_special_characters() {
        assert_eq!(xml_escape(r#"a<b>&"c'd é"#), "a&lt;b&gt;&amp;&quot;c&apos;d é");
        assert_eq!(xml_escape("plain"), "plain");
        assert_eq!(xml_escape("&&"), "&amp;&amp;");
        assert_eq!(xml_escape(""), "");
        let mut out = "x".to_owned();
        xml_escape_into(&mut out, "<é>");
        assert_eq!(out, "x&lt;é&gt;");
    }

    #[test]
    fn authentication_errors_carry_each_protocols_code() {
        let query = AwsError::from_auth(&AuthError::InvalidKey, Protocol::Query);
        assert_eq!((query.code.as_str(), query.status), ("InvalidClientTokenId", 403));
        let json = AwsError::from_auth(&AuthError::InvalidKey, Protocol::Json);
        assert_eq!(json.code, "UnrecognizedClientException");
        let missing = AwsError::from_auth(&AuthError::Missing, Protocol::Json);
        assert_eq!(missing.code, "MissingAuthenticationTokenException");
    }

    #[test]
    fn renders_query_xml_and_json_with_escaping() {
        let error = AwsError::new("AccessDenied", 403, "User: a<b> is \"not\" authorized & more");
        let xml = error.to_query_xml("https://iam.amazonaws.com/doc/2010-05-08/", "req-1");
        assert!(xml.contains("<Type>Sender</Type>"));
        assert!(xml.contains("<Message>User: a&lt;b&gt; is &quot;not&quot; authorized &amp; more</Message>"));
        assert!(xml.contains("<RequestId>req-1</RequestId>"));
        assert_eq!(error.to_json(), r#"{"__type":"AccessDenied","message":"User: a<b> is \"not\" authorized & more"}"#);
        assert_eq!(json_escape("a\u{1}b\n"), "a\\u0001b\\n");
        let rest = AwsError::new("ValidationException", 400, "bad \"x\"")
            .with_member("reason", serde_json::json!("fieldValidationFailed"));
        let body: serde_json::Value = serde_json::from_slice(&rest.to_rest_json()).unwrap();
        assert_eq!(body, serde_json::json!({"message": "bad \"x\"", "reason": "fieldValidationFailed"}));
        let json: serde_json::Value = serde_json::from_str(&rest.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"__type": "ValidationException", "message": "bad \"x\"", "reason": "fieldValidationFailed"}),
            "awsJson renders the shape's members beside the message"
        );
        assert_eq!(
            AwsError::from_auth(&AuthError::Missing, Protocol::RestJson).code,
            "MissingAuthenticationTokenException"
        );
    }
}
