//! A small HTTP/1.1 client for the agent's JSON calls to the control plane and to the Docker
//! Engine API.
//!
//! One request per connection (`Connection: close`): the agent calls a few times a minute
//! at most, and a fresh connection is the simplest thing that survives the control plane
//! (or Docker) restarting between calls. The exchange is generic over the stream
//! ([`send`]): TCP or TLS over TCP for the control plane ([`post`], [`get`], and [`request`] for
//! any method, as `homeport iam` uses it), a Unix socket for
//! Docker (`crate::docker`). Responses are read by `Content-Length`, by chunked transfer
//! coding, or to the end of the connection, with the head capped at 16 KiB and the body at
//! 1 MiB, and the whole exchange bounded by a timeout.
//!
//! `https://` endpoints run the same exchange over rustls (`tokio-rustls`), verified against
//! the trust the endpoint carries ([`Endpoint::with_tls`], built by `crate::trust`) and the
//! endpoint's host, a name or an IP address. An `https://` endpoint without one sends
//! nothing ([`HttpError::NoTrust`]); there is no fallback to plain HTTP, ever. A forward proxy
//! from the environment (`crate::proxy`) is reached with `CONNECT`, for either scheme.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proxy::{Proxy, ProxyError};

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 1024 * 1024;

/// How long one exchange (connect, send, receive) may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How an endpoint is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A control-plane endpoint: `http://HOST[:PORT]` (port 80 if omitted) or
/// `https://HOST[:PORT]` (443), no path; for `https`, the TLS configuration that verifies it;
/// the proxy it is reached through, if any.
#[derive(Clone)]
pub struct Endpoint {
    scheme: Scheme,
    /// `HOST:PORT` exactly as the URL gave it, for the `Host` header (and so for SigV4).
    host: String,
    /// `HOST:PORT` to connect to.
    address: String,
    /// The host alone (an IPv6 address without its brackets): what the certificate must name.
    server_name: String,
    /// What verifies an `https` endpoint; `None` until given (and then nothing is sent).
    tls: Option<Arc<ClientConfig>>,
    proxy: Option<Proxy>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url())
            .field("address", &self.address)
            .field("tls", &self.tls.as_ref().map(|_| "configured"))
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Endpoint {
    /// Parses `url`, with the proxy the process environment names for it (`crate::proxy`).
    pub fn parse(url: &str) -> Result<Endpoint, HttpError> {
        Endpoint::parse_with_environment(url, &|name| std::env::var(name).ok())
    }

    /// [`Endpoint::parse`] with the proxy variables read through `lookup`.
    pub fn parse_with_environment(url: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, HttpError> {
        let invalid = |why: &str| HttpError::InvalidEndpoint(format!("`{url}`: {why}"));
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
            _ => return Err(invalid("expected https://HOST:PORT (or http://HOST:PORT)")),
        };
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        if host.contains(['/', '?', '#', '@', ' ']) {
            return Err(invalid("expected https://HOST:PORT, without a path, query or user"));
        }
        let (name, port) = match host.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((name, "")) => (name, None),
                Some((name, after)) => match after.strip_prefix(':') {
                    Some(port) => (name, Some(port)),
                    None => return Err(invalid("expected [IPv6]:PORT")),
                },
                None => return Err(invalid("an IPv6 address without its closing bracket")),
            },
            None => match host.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            },
        };
        if name.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            Some(port) => port.parse::<u16>().map_err(|_| invalid("the port is not a number"))?,
            None => scheme.default_port(),
        };
        let address = if host.starts_with('[') { format!("[{name}]:{port}") } else { format!("{name}:{port}") };
        if scheme == Scheme::Https && ServerName::try_from(name).is_err() {
            return Err(invalid("the host is neither a DNS name nor an IP address"));
        }
        let proxy = Proxy::for_endpoint(scheme == Scheme::Https, name, port, lookup).map_err(HttpError::Proxy)?;
        Ok(Endpoint { scheme, host: host.to_owned(), address, server_name: name.to_owned(), tls: None, proxy })
    }

    /// The endpoint verified by `config` (meaningful for `https`; an `http` endpoint ignores it).
    pub fn with_tls(mut self, config: Arc<ClientConfig>) -> Endpoint {
        self.tls = Some(config);
        self
    }

    /// The endpoint reached through `proxy` (or directly), whatever the environment says.
    pub fn with_proxy(mut self, proxy: Option<Proxy>) -> Endpoint {
        self.proxy = proxy;
        self
    }

    /// The `Host` header's value.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `HOST:PORT` with the port always present (the scheme's default when the URL had none).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// The proxy this endpoint is reached through, if any.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// `SCHEME://HOST:PORT`, as the user gave it without a trailing slash.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.host)
    }
}

/// A response: status, headers as received, body decoded from its transfer coding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Why an exchange failed before a complete response arrived.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid endpoint {0}")]
    InvalidEndpoint(String),
    /// An `https` endpoint without a TLS configuration: nothing was sent.
    #[error(
        "`{0}`: an https:// endpoint needs the CA that verifies it (register with --ca-sha256, --ca-file \
         or --system-ca); nothing was sent"
    )]
    NoTrust(String),
    #[error("cannot connect to {address}: {source}")]
    Connect { address: String, source: std::io::Error },
    /// The TLS handshake with `host` failed (an untrusted certificate among the reasons).
    #[error("{}", tls_failure(.host, .source))]
    Tls { host: String, source: std::io::Error },
    #[error(transparent)]
    Proxy(ProxyError),
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("no response within {} seconds", .0.as_secs())]
    Timeout(Duration),
    #[error("malformed response: {0}")]
    Malformed(&'static str),
}

/// What a failed handshake means: an untrusted certificate says what the agent trusts.
fn tls_failure(host: &str, source: &std::io::Error) -> String {
    if is_certificate_error(source) {
        format!(
            "the certificate {host} presented is not trusted ({source}); nothing was sent. The agent trusts \
             only the CA it was given at registration (--ca-sha256 or --ca-file, kept as STATE_DIR/ca.pem) or, \
             with --system-ca, the system's store, and the certificate must name {host}: if the server's CA \
             changed, register again with its new fingerprint"
        )
    } else {
        format!("TLS with {host} failed: {source}")
    }
}

/// Whether a handshake failed on the peer's certificate (rather than the network).
fn is_certificate_error(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|error| matches!(error, rustls::Error::InvalidCertificate(_)))
}

/// One request: the method, the path with its query, the `Host` header, other headers
/// (besides `Host`, `Content-Length` and `Connection`, which [`send`] adds) and the body.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub host: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The request as it goes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {}\r\n", self.method, self.path, self.host);
        for (name, value) in self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", self.body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body);
        bytes
    }
}

/// Sends `request` on `stream` and reads the response (no timeout: the caller bounds it).
pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &Request<'_>,
) -> Result<Response, HttpError> {
    stream.write_all(&request.to_bytes()).await?;
    read_response(stream).await
}

/// Sends `POST /` with `headers` (besides `Host`, `Content-Length` and `Connection`, which
/// this adds) and `body`, and reads the response within [`TIMEOUT`].
pub async fn post(endpoint: &Endpoint, headers: &[(String, String)], body: &[u8]) -> Result<Response, HttpError> {
    post_within(endpoint, headers, body, TIMEOUT).await
}

/// [`post`] with its own time limit (a long poll waits longer than an ordinary call).
pub async fn post_within(
    endpoint: &Endpoint,
    headers: &[(String, String)],
    body: &[u8],
    limit: Duration,
) -> Result<Response, HttpError> {
    request(endpoint, "POST", "/", headers, body, limit).await
}

/// Sends `GET path` without a body and reads the response within `limit`.
pub async fn get(endpoint: &Endpoint, path: &str, limit: Duration) -> Result<Response, HttpError> {
    request(endpoint, "GET", path, &[], &[], limit).await
}

/// Sends `method path` (`path` with its query, as it goes on the wire) with `headers` and
/// `body`, and reads the response within `limit`: what the REST protocols need (`PUT
/// /policy/generation`, `GET /policy/generation/ID`).
pub async fn request(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    limit: Duration,
) -> Result<Response, HttpError> {
    let request = Request { method, path, host: &endpoint.host, headers, body };
    tokio::time::timeout(limit, exchange(endpoint, &request)).await.map_err(|_| HttpError::Timeout(limit))?
}

async fn exchange(endpoint: &Endpoint, request: &Request<'_>) -> Result<Response, HttpError> {
    // Decided before connecting: an https endpoint without its trust sends nothing at all.
    let tls = match endpoint.scheme {
        Scheme::Https => Some(endpoint.tls.clone().ok_or_else(|| HttpError::NoTrust(endpoint.url()))?),
        Scheme::Http => None,
    };
    let mut stream = match &endpoint.proxy {
        Some(proxy) => proxy.tunnel(&endpoint.address).await.map_err(HttpError::Proxy)?,
        None => TcpStream::connect(&endpoint.address)
            .await
            .map_err(|source| HttpError::Connect { address: endpoint.address.clone(), source })?,
    };
    let _ = stream.set_nodelay(true);
    let Some(config) = tls else { return send(&mut stream, request).await };
    let name = ServerName::try_from(endpoint.server_name.clone())
        .map_err(|_| HttpError::InvalidEndpoint(format!("`{}`: not a DNS name or IP address", endpoint.server_name)))?;
    // The handshake completes (the certificate verified) before a byte of the request is written.
    let mut stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|source| HttpError::Tls { host: endpoint.server_name.clone(), source })?;
    send(&mut stream, request).await
}

/// Reads one response from `reader`.
pub async fn read_response<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Response, HttpError> {
    let mut buffer = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(HttpError::Malformed("the response head is over 16 KiB"));
        }
        if read_more(reader, &mut buffer).await? == 0 {
            return Err(HttpError::Malformed("the connection closed before a response"));
        }
    };
    let (status, headers) = parse_head(buffer.get(..head_end).unwrap_or_default())?;
    let mut body = buffer.split_off(head_end);
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if (100..200).contains(&status) || status == 204 || status == 304 {
        body.clear();
    } else if header("transfer-encoding").is_some_and(|coding| coding.to_ascii_lowercase().contains("chunked")) {
        body = loop {
            if let Some(decoded) = decode_chunked(&body)? {
                break decoded;
            }
            if read_more(reader, &mut body).await? == 0 {
                return Err(HttpError::Malformed("the connection closed inside a chunked body"));
            }
        };
    } else if let Some(length) = header("content-length") {
        let length: usize = length.trim().parse().map_err(|_| HttpError::Malformed("a bad Content-Length"))?;
        if length > MAX_BODY {
            return Err(HttpError::Malformed("the body is over 1 MiB"));
        }
        while body.len() < length {
            if read_more(reader, &mut body).await? == 0 {
                return Err(HttpError::Malformed("the connection closed before the body was complete"));
            }
        }
        body.truncate(length);
    } else {
        while read_more(reader, &mut body).await? != 0 {}
    }
    if body.len() > MAX_BODY {
        return Err(HttpError::Malformed("the body is over 1 MiB"));
    }
    Ok(Response { status, headers, body })
}

async fn read_more<R: AsyncRead + Unpin>(reader: &mut R, buffer: &mut Vec<u8>) -> Result<usize, HttpError> {
    if buffer.len() > MAX_BODY + MAX_HEAD {
        return Err(HttpError::Malformed("the body is over 1 MiB"));
    }
    let mut chunk = [0u8; 4096];
    let count = reader.read(&mut chunk).await?;
    buffer.extend_from_slice(chunk.get(..count).unwrap_or_default());
    Ok(count)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The status and headers of a response head (through its blank line).
fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("the head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("not an HTTP/1.x status line"));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..600).contains(code))
        .ok_or(HttpError::Malformed("a bad status code"))?;
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(HttpError::Malformed("a header line without a colon"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok((status, headers))
}

/// The decoded body if `data` holds a complete chunked body, `None` if more is needed.
fn decode_chunked(data: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut decoded = Vec::new();
    let mut at = 0;
    loop {
        let rest = data.get(at..).unwrap_or_default();
        let Some(line_end) = find(rest, b"\r\n") else { return Ok(None) };
        let line = std::str::from_utf8(rest.get(..line_end).unwrap_or_default())
            .map_err(|_| HttpError::Malformed("a bad chunk size"))?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| HttpError::Malformed("a bad chunk size"))?;
        if size > MAX_BODY || decoded.len() + size > MAX_BODY {
            return Err(HttpError::Malformed("the body is over 1 MiB"));
        }
        let start = at + line_end + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let trailers = data.get(start..).unwrap_or_default();
            return Ok(if trailers.starts_with(b"\r\n") || find(trailers, b"\r\n\r\n").is_some() {
                Some(decoded)
            } else {
                None
            });
        }
        let Some(chunk) = data.get(start..start + size) else { return Ok(None) };
        match data.get(start + size..start + size + 2) {
            None => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return Err(HttpError::Malformed("a chunk without its line end")),
        }
        decoded.extend_from_slice(chunk);
        at = start + size + 2;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    fn read(bytes: &[u8]) -> Result<Response, HttpError> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(read_response(&mut &bytes[..]))
    }

    #[test]
    fn endpoints() {
        let endpoint = Endpoint::parse("http://127.0.0.1:7780/").unwrap();
        assert_eq!((endpoint.host(), endpoint.address.as_str()), ("127.0.0.1:7780", "127.0.0.1:7780"));
        assert_eq!(endpoint.url(), "http://127.0.0.1:7780");
        assert_eq!(Endpoint::parse("http://homeport.lan").unwrap().address, "homeport.lan:80");
        assert_eq!(Endpoint::parse("HTTP://[::1]:8080").unwrap().address, "[::1]:8080");
        assert_eq!(Endpoint::parse("http://[::1]").unwrap().address, "[::1]:80");
        let tls = Endpoint::parse("https://homeport.example.com").unwrap();
        assert_eq!((tls.scheme(), tls.address.as_str()), (Scheme::Https, "homeport.example.com:443"));
        assert_eq!(tls.url(), "https://homeport.example.com");
        let ipv6 = Endpoint::parse("HTTPS://[fd00::1]:7780/").unwrap();
        assert_eq!(
            (ipv6.host(), ipv6.address.as_str(), ipv6.server_name.as_str()),
            ("[fd00::1]:7780", "[fd00::1]:7780", "fd00::1")
        );
        assert_eq!(ipv6.url(), "https://[fd00::1]:7780");
        for bad in [
            "",
            "127.0.0.1:7780",
            "ftp://x",
            "http://",
            "http://h/path",
            "http://h:port",
            "http://u@h",
            "https://:443",
            "https://[::1",
            "https://[::1]x",
            "https://bad_name!:443",
        ] {
            assert!(matches!(Endpoint::parse(bad), Err(HttpError::InvalidEndpoint(_))), "{bad:?}");
        }
    }

    /// An https exchange with a server whose CA is `trusted` (or another CA) at `address`.
    async fn post_over_tls(url: &str, ca_pem: &str) -> Result<Response, HttpError> {
        let config = crate::trust::config_for_ca(ca_pem.as_bytes(), "ca.pem").unwrap();
        let endpoint = Endpoint::parse(url).unwrap().with_tls(config);
        post(&endpoint, &[], b"{\"secret\":1}").await
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
    }

    #[test]
    fn https_verifies_against_the_given_ca_only_and_never_falls_back() {
        block_on(async {
            let (address, ca_pem, seen) = crate::trust::tests::tls_server(&["127.0.0.1"], None, "{\"ok\":1}").await;
            let url = format!("https://{address}");
            let response = post_over_tls(&url, &ca_pem).await.unwrap();
            assert_eq!((response.status, response.body.as_slice()), (200, &b"{\"ok\":1}"[..]));
            assert_eq!(seen.lock().unwrap().len(), 1);

            // Another CA: the handshake fails, and the request is never written.
            let (other_ca, _, _) = crate::trust::tests::test_pki(&["127.0.0.1"]);
            let error = post_over_tls(&url, &other_ca).await.unwrap_err();
            assert!(matches!(error, HttpError::Tls { .. }), "{error}");
            assert!(error.to_string().contains("is not trusted"), "{error}");
            // Without a configuration nothing is even attempted, and never in clear.
            let error = post(&Endpoint::parse(&url).unwrap(), &[], b"{}").await.unwrap_err();
            assert!(matches!(error, HttpError::NoTrust(_)), "{error}");
            assert_eq!(seen.lock().unwrap().len(), 1, "neither reached the server's HTTP layer");

            // The certificate must name the host: `localhost` is not in one made for 127.0.0.1.
            let (named, named_ca, _) = crate::trust::tests::tls_server(&["cp.example"], None, "{}").await;
            let error = post_over_tls(&format!("https://{named}"), &named_ca).await.unwrap_err();
            assert!(error.to_string().contains("is not trusted"), "{error}");
        });
    }

    #[test]
    fn https_goes_through_a_connect_proxy_unless_it_is_bypassed() {
        use std::sync::atomic::Ordering;
        block_on(async {
            let (address, ca_pem, seen) = crate::trust::tests::tls_server(&["127.0.0.1"], None, "{}").await;
            let (proxy_address, tunnels) = crate::proxy::tests::counting_proxy(None).await;
            let proxy = Proxy::parse("HTTPS_PROXY", &format!("http://{proxy_address}")).unwrap();
            let config = crate::trust::config_for_ca(ca_pem.as_bytes(), "ca.pem").unwrap();
            let url = format!("https://{address}");
            let proxied = Endpoint::parse(&url).unwrap().with_tls(config.clone()).with_proxy(Some(proxy));
            assert_eq!(post(&proxied, &[], b"{}").await.unwrap().status, 200);
            assert_eq!(tunnels.load(Ordering::SeqCst), 1, "one tunnel for the one exchange");

            // From the environment: loopback never goes through the proxy, nor what NO_PROXY lists.
            let proxy_url = format!("http://{proxy_address}");
            let environment = |name: &str| (name == "HTTPS_PROXY").then(|| proxy_url.clone());
            let direct = Endpoint::parse_with_environment(&url, &environment).unwrap().with_tls(config);
            assert!(direct.proxy().is_none());
            assert_eq!(post(&direct, &[], b"{}").await.unwrap().status, 200);
            assert_eq!(tunnels.load(Ordering::SeqCst), 1);
            assert_eq!(seen.lock().unwrap().len(), 2);
            let listed = |name: &str| match name {
                "HTTPS_PROXY" => Some(proxy_url.clone()),
                "NO_PROXY" => Some("cp.example.com".to_owned()),
                _ => None,
            };
            assert!(Endpoint::parse_with_environment("https://cp.example.com", &listed).unwrap().proxy().is_none());
            assert!(Endpoint::parse_with_environment("https://cp.example.org", &listed).unwrap().proxy().is_some());
            // http:// endpoints take HTTP_PROXY, and also through CONNECT.
            assert!(Endpoint::parse_with_environment("http://cp.example.org", &listed).unwrap().proxy().is_none());
        });
    }

    #[test]
    fn a_content_length_body_is_read_exactly() {
        let response = read(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\ncontent-length: 5\r\n\r\nhello",
        )
        .unwrap();
        assert_eq!(response.status, 400);
        assert_eq!(response.header("Content-Type"), Some("application/x-amz-json-1.1"));
        assert_eq!(response.body, b"hello");
    }

    #[test]
    fn a_chunked_body_is_decoded() {
        let response =
            read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!(response.body, br#"{"a":1}"#);
        assert_eq!(decode_chunked(b"3\r\nabc").unwrap(), None, "incomplete");
        assert!(decode_chunked(b"zz\r\n").is_err());
    }

    #[test]
    fn without_a_length_the_body_runs_to_the_end() {
        assert_eq!(read(b"HTTP/1.0 200 OK\r\n\r\n{}").unwrap().body, b"{}");
        assert_eq!(read(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().body, b"");
    }

    #[test]
    fn truncated_and_malformed_responses_are_errors() {
        for (bytes, why) in [
            (&b""[..], "the connection closed before a response"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                "the connection closed before the body was complete",
            ),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
            (b"HTTP/1.1 abc OK\r\n\r\n", "a bad status code"),
            (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "a header line without a colon"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "a bad Content-Length"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", "the body is over 1 MiB"),
        ] {
            match read(bytes) {
                Err(HttpError::Malformed(got)) => assert_eq!(got, why, "{:?}", String::from_utf8_lossy(bytes)),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
            }
        }
    }

    #[test]
    fn no_prefix_or_corruption_of_a_response_panics() {
        // What the fuzz target (`fuzz/fuzz_targets/agent_http_response.rs`) does at random,
        // here systematically: every prefix, and every single-byte corruption.
        let responses: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
            b"HTTP/1.0 403 Forbidden\r\n\r\n{}",
        ];
        for response in responses {
            for end in 0..=response.len() {
                let _ = read(&response[..end]);
            }
            for at in 0..response.len() {
                for byte in [0u8, b'\r', b'\n', b':', b'f', b'9', 0xff] {
                    let mut corrupted = response.to_vec();
                    corrupted[at] = byte;
                    if let Ok(parsed) = read(&corrupted) {
                        assert!(parsed.body.len() <= MAX_BODY);
                    }
                }
            }
        }
    }

    #[test]
    fn a_request_goes_out_as_http_1_1_and_the_answer_comes_back() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut received = Vec::new();
                while find(&received, b"\r\n\r\n{}").is_none() {
                    let mut chunk = [0u8; 1024];
                    let count = socket.read(&mut chunk).await.unwrap();
                    received.extend_from_slice(&chunk[..count]);
                }
                socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").await.unwrap();
                String::from_utf8(received).unwrap()
            });
            let endpoint = Endpoint::parse(&format!("http://{address}")).unwrap();
            let response = post(&endpoint, &[("X-Amz-Target".into(), "AmazonSSM.Ping".into())], b"{}").await.unwrap();
            assert_eq!((response.status, response.body.as_slice()), (200, &b"{}"[..]));
            let request = server.await.unwrap();
            assert_eq!(
                request,
                format!(
                    "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: AmazonSSM.Ping\r\n\
                     Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                )
            );
        });
    }

    #[test]
    fn plain_http_through_a_proxy_is_tunnelled_too() {
        use std::sync::atomic::Ordering;
        block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut received = Vec::new();
                while find(&received, b"\r\n\r\n{}").is_none() {
                    let mut chunk = [0u8; 1024];
                    let count = socket.read(&mut chunk).await.unwrap();
                    received.extend_from_slice(&chunk[..count]);
                }
                // Origin-form, as without a proxy: the tunnel is transparent.
                assert!(received.starts_with(b"POST / HTTP/1.1\r\n"));
                socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").await.unwrap();
            });
            let (proxy_address, tunnels) = crate::proxy::tests::counting_proxy(None).await;
            let proxy = Proxy::parse("HTTP_PROXY", &proxy_address).unwrap();
            let endpoint = Endpoint::parse(&format!("http://{address}")).unwrap().with_proxy(Some(proxy));
            assert_eq!(post(&endpoint, &[], b"{}").await.unwrap().body, b"{}");
            assert_eq!(tunnels.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn a_closed_port_is_a_connect_error() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let endpoint = Endpoint::parse(&format!("http://{address}")).unwrap();
        let error = runtime.block_on(post(&endpoint, &[], b"")).unwrap_err();
        assert!(matches!(error, HttpError::Connect { .. }), "{error}");
    }
}
