//! A small signed AWS client for the CLI's own calls to a Homeport endpoint (`homeport iam
//! ...`), configured as the aws CLI is: the endpoint from `AWS_ENDPOINT_URL` (required: there is
//! no AWS to fall back on), the region from `AWS_REGION` / `AWS_DEFAULT_REGION` (else
//! `us-east-1`), the credentials as [`credentials::find`] finds them, and for `https://` the CA
//! bundle `AWS_CA_BUNDLE` (else the system's store). `HTTPS_PROXY` / `NO_PROXY` apply as for
//! the agent.
//!
//! Requests go over the agent's HTTP/1.1 client (`agent::http`: rustls, one request per
//! connection, bounded reads) and are signed with `aws_protocol::sigv4::Signer`. Two
//! protocols: awsQuery (IAM: a form body, an XML answer read by [`xml`]) and restJson (Access
//! Analyzer: method and path, a JSON body and answer). Typed calls are in [`iam`] and
//! [`access_analyzer`].
//!
//! Failures are [`ClientError`]s that print as the aws CLI prints them (`An error occurred
//! (Code) when calling the Op operation: message`) and carry its exit codes: 253 for the
//! environment, 254 for a service's refusal, 255 for the connection or an unreadable answer.

pub mod access_analyzer;
pub mod credentials;
pub mod iam;
pub mod xml;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use agent::http::{self, Endpoint, HttpError};
use aws_protocol::sigv4::{Signer, format_amz_date, uri_encode};

pub use credentials::Credentials;

/// How long one call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What the user sets, said once where a message needs it.
const WHAT_TO_EXPORT: &str = "the server prints the lines to export at start: AWS_ENDPOINT_URL, AWS_CA_BUNDLE, \
     AWS_REGION and AWS_SHARED_CREDENTIALS_FILE";

/// Why a call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The environment does not say where or as whom to call (the aws CLI's 253).
    Config(String),
    /// The endpoint could not be reached, or TLS failed (255).
    Connection { url: String, why: String },
    /// The service refused the call (254).
    Service { operation: String, code: String, message: String },
    /// The answer could not be read (255).
    Malformed { operation: String, why: String },
}

impl ClientError {
    /// The aws CLI's exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Config(_) => 253,
            ClientError::Service { .. } => 254,
            ClientError::Connection { .. } | ClientError::Malformed { .. } => 255,
        }
    }

    /// The service's error code, if the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(message) => f.write_str(message),
            ClientError::Connection { url, why } => {
                write!(f, "Could not connect to the endpoint URL: \"{url}\": {why}")
            }
            ClientError::Service { operation, code, message } => {
                write!(f, "An error occurred ({code}) when calling the {operation} operation: {message}")
            }
            ClientError::Malformed { operation, why } => {
                write!(f, "the answer to {operation} could not be read: {why}")
            }
        }
    }
}

/// A configured client: where, as whom, in which region.
pub struct Client {
    endpoint: Endpoint,
    credentials: Credentials,
    region: String,
    runtime: tokio::runtime::Runtime,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("region", &self.region)
            .finish()
    }
}

/// Reads a file, `None` when it does not exist.
fn read_if_present(path: &Path) -> Result<Option<String>, std::io::Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

impl Client {
    /// A client configured from the process's environment.
    pub fn from_environment() -> Result<Client, ClientError> {
        Client::configure(&|name| std::env::var(name).ok(), &read_if_present)
    }

    /// A client configured from `lookup` (environment variables) and `read` (files).
    pub fn configure(
        lookup: &dyn Fn(&str) -> Option<String>,
        read: &dyn Fn(&Path) -> Result<Option<String>, std::io::Error>,
    ) -> Result<Client, ClientError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let Some(url) = set("AWS_ENDPOINT_URL") else {
            return Err(ClientError::Config(format!(
                "AWS_ENDPOINT_URL is not set: Homeport's commands call your Homeport server, never AWS. \
                 Export its URL (export AWS_ENDPOINT_URL=https://HOST:7780); {WHAT_TO_EXPORT}"
            )));
        };
        let mut endpoint = Endpoint::parse_with_environment(url.trim(), lookup)
            .map_err(|error| ClientError::Config(format!("AWS_ENDPOINT_URL: {error}")))?;
        if endpoint.is_https() {
            let tls = match set("AWS_CA_BUNDLE") {
                Some(bundle) => {
                    let path = Path::new(&bundle);
                    let pem = match read(path) {
                        Ok(Some(pem)) => pem,
                        Ok(None) => {
                            return Err(ClientError::Config(format!(
                                "AWS_CA_BUNDLE names {bundle}, which does not exist: point it at the server's CA \
                                 (DATA_DIR/tls/ca.pem)"
                            )));
                        }
                        Err(error) => {
                            return Err(ClientError::Config(format!("cannot read AWS_CA_BUNDLE {bundle}: {error}")));
                        }
                    };
                    agent::trust::config_for_ca(pem.as_bytes(), &bundle)
                }
                None => agent::trust::config_for_system(),
            }
            .map_err(|error| ClientError::Config(format!("{error}; {WHAT_TO_EXPORT}")))?;
            endpoint = endpoint.with_tls(tls);
        }
        let region = set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".to_owned());
        let (credentials, _source) = credentials::find(lookup, read).map_err(ClientError::Config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| ClientError::Config(format!("cannot start the client's runtime: {error}")))?;
        Ok(Client { endpoint, credentials, region, runtime })
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The signed headers of a request (sorted by lowercase name, as the signature lists
    /// them), `Authorization` last and without `Host` (the HTTP client writes it).
    fn signed_headers(
        &self,
        service: &str,
        method: &str,
        path: &str,
        query: &str,
        mut headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let amz_date = format_amz_date(agent::now());
        headers.push(("Host".to_owned(), self.endpoint.host().to_owned()));
        headers.push(("X-Amz-Date".to_owned(), amz_date.clone()));
        if let Some(token) = &self.credentials.session_token {
            headers.push(("X-Amz-Security-Token".to_owned(), token.clone()));
        }
        headers.sort_by_key(|(name, _)| name.to_ascii_lowercase());
        let signer = Signer {
            access_key_id: &self.credentials.access_key_id,
            secret_access_key: &self.credentials.secret_access_key,
            region: &self.region,
            service,
        };
        let authorization = signer.authorization_of(method, path, query, &headers, body, &amz_date);
        headers.retain(|(name, _)| name != "Host");
        headers.push(("Authorization".to_owned(), authorization));
        headers
    }

    fn send(
        &self,
        operation: &str,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<http::Response, ClientError> {
        let exchange = http::request(&self.endpoint, method, target, headers, body, CALL_TIMEOUT);
        self.runtime.block_on(exchange).map_err(|error| connection_error(&self.endpoint, operation, error))
    }

    /// An awsQuery call: `Action=OPERATION&Version=VERSION` and `params`, form-encoded. Returns
    /// the answer's `<OPERATIONResult>` element (empty for an operation that returns nothing).
    pub fn query(
        &self,
        service: &str,
        version: &str,
        operation: &str,
        params: &[(String, String)],
    ) -> Result<xml::Element, ClientError> {
        let mut body = format!("Action={operation}&Version={version}");
        for (name, value) in params {
            body.push('&');
            body.push_str(&uri_encode(name, false));
            body.push('=');
            body.push_str(&uri_encode(value, false));
        }
        let content_type =
            vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
        let headers = self.signed_headers(service, "POST", "/", "", content_type, body.as_bytes());
        let response = self.send(operation, "POST", "/", &headers, body.as_bytes())?;
        let malformed = |why: String| ClientError::Malformed { operation: operation.to_owned(), why };
        let text = String::from_utf8(response.body).map_err(|_| malformed("the answer is not UTF-8".to_owned()))?;
        let root =
            xml::Element::parse(&text).map_err(|error| malformed(format!("HTTP {}, {error}", response.status)))?;
        if response.status != 200 {
            let code = root.text_at(&["Error", "Code"]).unwrap_or_default();
            if code.is_empty() {
                return Err(malformed(format!("HTTP {} without an error code", response.status)));
            }
            return Err(ClientError::Service {
                operation: operation.to_owned(),
                code: code.to_owned(),
                message: root.text_at(&["Error", "Message"]).unwrap_or_default().to_owned(),
            });
        }
        let result = format!("{operation}Result");
        Ok(root.children.into_iter().find(|child| child.name == result).unwrap_or_default())
    }

    /// A restJson call: `method path` with `body` as JSON (if any); the answer's JSON (`Null`
    /// for an empty body).
    pub fn rest_json(
        &self,
        service: &str,
        operation: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ClientError> {
        let body = body.map(serde_json::Value::to_string).unwrap_or_default();
        let headers =
            if body.is_empty() { Vec::new() } else { vec![("Content-Type".to_owned(), "application/json".to_owned())] };
        let (bare_path, query) = path.split_once('?').unwrap_or((path, ""));
        let headers = self.signed_headers(service, method, bare_path, query, headers, body.as_bytes());
        let response = self.send(operation, method, path, &headers, body.as_bytes())?;
        let malformed = |why: String| ClientError::Malformed { operation: operation.to_owned(), why };
        let answer: serde_json::Value = if response.body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&response.body)
                .map_err(|error| malformed(format!("HTTP {}, not JSON: {error}", response.status)))?
        };
        if (200..300).contains(&response.status) {
            return Ok(answer);
        }
        let code = rest_json_error_code(response.header("x-amzn-ErrorType"), &answer)
            .ok_or_else(|| malformed(format!("HTTP {} without an error code", response.status)))?;
        let message = ["message", "Message"].iter().find_map(|key| answer.get(key)?.as_str()).unwrap_or_default();
        Err(ClientError::Service { operation: operation.to_owned(), code, message: message.to_owned() })
    }
}

/// A restJson error's code as botocore reads it: the `x-amzn-ErrorType` header (before any
/// `:`), else the body's `__type` (after any `#`), else its `code`.
fn rest_json_error_code(header: Option<&str>, body: &serde_json::Value) -> Option<String> {
    let from_header = header.and_then(|value| value.split(':').next()).map(str::trim).filter(|code| !code.is_empty());
    let from_body = || {
        ["__type", "code", "Code"]
            .iter()
            .find_map(|key| body.get(key)?.as_str())
            .and_then(|value| value.rsplit('#').next())
            .filter(|code| !code.is_empty())
    };
    from_header.or_else(from_body).map(str::to_owned)
}

/// A transport failure, in words that say what to check.
fn connection_error(endpoint: &Endpoint, operation: &str, error: HttpError) -> ClientError {
    let url = endpoint.url();
    let why = match error {
        HttpError::Tls { host, source } => format!(
            "TLS with {host} failed ({source}): if the server uses its own CA, set AWS_CA_BUNDLE to it \
             (DATA_DIR/tls/ca.pem on the server); the certificate must name {host}"
        ),
        HttpError::Connect { source, .. } => {
            format!("{source}: is the server running there? {WHAT_TO_EXPORT}")
        }
        HttpError::Malformed(why) => {
            return ClientError::Malformed { operation: operation.to_owned(), why: why.to_owned() };
        }
        other => other.to_string(),
    };
    ClientError::Connection { url, why }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    fn configure(env: &[(&str, &str)]) -> Result<Client, ClientError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let credentials = "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n".to_owned();
        Client::configure(&|name| env.get(name).cloned(), &|path| {
            Ok((path == Path::new("/data/root-credentials")).then(|| credentials.clone()))
        })
    }

    #[test]
    fn the_environment_configures_it_as_the_aws_cli() {
        let credentials = ("AWS_SHARED_CREDENTIALS_FILE", "/data/root-credentials");
        let error = configure(&[credentials]).unwrap_err();
        assert_eq!(error.exit_code(), 253);
        assert!(error.to_string().starts_with("AWS_ENDPOINT_URL is not set"), "{error}");

        let client = configure(&[credentials, ("AWS_ENDPOINT_URL", "http://127.0.0.1:7780/")]).unwrap();
        assert_eq!((client.region(), client.endpoint.url().as_str()), ("us-east-1", "http://127.0.0.1:7780"));
        let client = configure(&[
            credentials,
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:7780"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "eu-north-1"),
        ])
        .unwrap();
        assert_eq!(client.region(), "eu-north-1");

        // https: the CA bundle must exist and be a CA.
        let error = configure(&[
            credentials,
            ("AWS_ENDPOINT_URL", "https://127.0.0.1:7780"),
            ("AWS_CA_BUNDLE", "/data/tls/ca.pem"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("AWS_CA_BUNDLE names /data/tls/ca.pem, which does not exist"), "{error}");
        let error = configure(&[
            credentials,
            ("AWS_ENDPOINT_URL", "https://127.0.0.1:7780"),
            ("AWS_CA_BUNDLE", "/data/root-credentials"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("is not a CA certificate"), "{error}");
        let error = configure(&[("AWS_ENDPOINT_URL", "ftp://x")]).unwrap_err();
        assert!(error.to_string().starts_with("AWS_ENDPOINT_URL: invalid endpoint"), "{error}");
        let error = configure(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]).unwrap_err();
        assert!(error.to_string().contains("unable to locate credentials"), "{error}");
    }

    #[test]
    fn errors_print_as_the_aws_cli_prints_them() {
        let error = ClientError::Service {
            operation: "GetRole".into(),
            code: "NoSuchEntity".into(),
            message: "The role with name x cannot be found.".into(),
        };
        assert_eq!(
            error.to_string(),
            "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name x cannot be found."
        );
        assert_eq!((error.exit_code(), error.code()), (254, Some("NoSuchEntity")));
        assert_eq!(ClientError::Connection { url: "u".into(), why: "w".into() }.exit_code(), 255);
    }

    #[test]
    fn rest_json_error_codes_are_read_as_botocore_reads_them() {
        let body = json!({"message": "m", "__type": "com.amazon#ValidationException", "code": "Other"});
        assert_eq!(
            rest_json_error_code(Some("AccessDeniedException:http://internal/"), &body).unwrap(),
            "AccessDeniedException"
        );
        assert_eq!(rest_json_error_code(None, &body).unwrap(), "ValidationException");
        assert_eq!(rest_json_error_code(Some(""), &json!({"code": "ConflictException"})).unwrap(), "ConflictException");
        assert_eq!(rest_json_error_code(None, &json!({"message": "m"})), None);
    }

    /// One exchange with a stand-in server on loopback: what it received, and what it answers.
    fn exchange_with(status: &'static str, body: &'static str, call: impl FnOnce(&Client) + Send + 'static) -> String {
        let answer = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut socket, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let count = socket.read(&mut chunk).unwrap();
                received.extend_from_slice(chunk.get(..count).unwrap());
                let text = String::from_utf8_lossy(&received).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if body.len() >= length {
                        break;
                    }
                }
            }
            socket.write_all(answer.as_bytes()).unwrap();
            String::from_utf8(received).unwrap()
        });
        let url = format!("http://{address}");
        let client =
            configure(&[("AWS_SHARED_CREDENTIALS_FILE", "/data/root-credentials"), ("AWS_ENDPOINT_URL", &url)])
                .unwrap();
        call(&client);
        server.join().unwrap()
    }

    #[test]
    fn an_aws_query_call_is_signed_form_and_its_error_is_read() {
        let answer = "<ErrorResponse xmlns=\"x\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
            <Message>The role with name r&amp;d cannot be found.</Message></Error></ErrorResponse>\n";
        let received = exchange_with("404 Not Found", answer, |client| {
            let error = client
                .query("iam", "2010-05-08", "GetRole", &[("RoleName".to_owned(), "r&d x".to_owned())])
                .unwrap_err();
            assert_eq!(
                error.to_string(),
                "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name r&d cannot be found."
            );
        });
        assert!(received.starts_with("POST / HTTP/1.1\r\n"), "{received}");
        assert!(received.contains("Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"));
        assert!(received.contains("Authorization: AWS4-HMAC-SHA256 Credential=AKIA/"), "{received}");
        assert!(received.contains("/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, "));
        assert!(received.ends_with("\r\n\r\nAction=GetRole&Version=2010-05-08&RoleName=r%26d%20x"), "{received}");
    }

    #[test]
    fn a_rest_json_call_is_signed_with_its_method_and_path() {
        let received = exchange_with("200 OK", "{\"jobId\":\"j-1\"}\n", |client| {
            let body = json!({"policyGenerationDetails": {"principalArn": "arn:aws:iam::1:role/r"}});
            let answer = client
                .rest_json("access-analyzer", "StartPolicyGeneration", "PUT", "/policy/generation", Some(&body))
                .unwrap();
            assert_eq!(answer, json!({"jobId": "j-1"}));
        });
        assert!(received.starts_with("PUT /policy/generation HTTP/1.1\r\n"), "{received}");
        assert!(received.contains("/access-analyzer/aws4_request, SignedHeaders=content-type;host;x-amz-date, "));
        assert!(received.contains("Content-Type: application/json\r\n"));
        // The signature verifies as the server checks it.
        let (head, body) = received.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let request_line: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let headers: Vec<(&str, &str)> = lines.map(|line| line.split_once(": ").unwrap()).collect();
        let request = aws_protocol::sigv4::HttpRequest {
            method: request_line[0],
            path: request_line[1],
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let claim = aws_protocol::sigv4::Claim::parse(&request).unwrap();
        let date = request.header("X-Amz-Date").unwrap();
        let key = aws_protocol::sigv4::signing_key("s", &date[..8], "us-east-1", "access-analyzer");
        claim.verify(&request, "us-east-1", &key, aws_protocol::sigv4::parse_amz_date(date).unwrap()).unwrap();
    }
}
