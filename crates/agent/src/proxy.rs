//! Forward proxies for the agent's control-plane calls: `HTTPS_PROXY` / `https_proxy` for
//! `https://` endpoints, `HTTP_PROXY` / `http_proxy` for `http://` ones, `NO_PROXY` /
//! `no_proxy` for the hosts that bypass them.
//!
//! Every proxied exchange goes through an HTTP `CONNECT` tunnel to the endpoint's
//! `HOST:PORT`, whatever the endpoint's scheme: TLS then runs end to end through the tunnel
//! (the proxy sees only the host name), and a plain-HTTP endpoint needs no second way of
//! talking to a proxy (absolute-form requests), which a few calls a minute do not justify.
//! The proxy itself is `http://[USER:PASSWORD@]HOST[:PORT]` (port 80 if omitted; a bare
//! `HOST:PORT` is read the same way); a user and password become a `Proxy-Authorization:
//! Basic` header on the `CONNECT`, and are never logged or shown.
//!
//! Guarantees:
//! - Loopback (`localhost`, 127.0.0.0/8, ::1) and link-local addresses (169.254.0.0/16, so the
//!   task credentials endpoint 169.254.170.2) never go through a proxy, whatever the
//!   variables say; neither does the Docker socket, which is not an endpoint at all.
//! - A proxy variable that cannot be used (another scheme, a malformed address) is an error
//!   naming the variable, never a silent direct connection.
//! - `NO_PROXY` is a comma-separated list of: `*` (everything), exact host names, domain
//!   suffixes (`example.com` and `.example.com` both match `example.com` and every name under
//!   it), IP addresses, and CIDR ranges (`10.0.0.0/8`); an entry may end in `:PORT` to apply
//!   to that port only. Names compare case-insensitively.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of a `CONNECT` answer's head that is read.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// A forward proxy reached with `CONNECT`.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `HOST:PORT` to connect to.
    address: String,
    /// `Basic BASE64(USER:PASSWORD)`, when the URL carried a user.
    authorization: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The authorization is a password: only whether there is one.
        f.debug_struct("Proxy")
            .field("address", &self.address)
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a proxy could not be used or refused the tunnel.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A proxy variable's value is not a usable proxy URL.
    #[error(
        "{variable} cannot be used: {why}; set it to http://[USER:PASSWORD@]HOST:PORT, or unset it \
         (and list the control plane in NO_PROXY) to connect directly"
    )]
    Invalid { variable: String, why: String },
    #[error("cannot connect to the proxy {proxy}: {source}")]
    Connect { proxy: String, source: std::io::Error },
    #[error("the connection through the proxy {proxy} failed: {source}")]
    Io { proxy: String, source: std::io::Error },
    /// The proxy answered the `CONNECT` with something other than success.
    #[error("{}", refusal(.proxy, .target, .status_line))]
    Refused { proxy: String, target: String, status_line: String },
    #[error("the proxy {proxy} answered CONNECT badly: {why}")]
    Malformed { proxy: String, why: &'static str },
}

/// What a refused tunnel means: a 407 wants the proxy's credentials.
fn refusal(proxy: &str, target: &str, status_line: &str) -> String {
    if status_line.contains(" 407") {
        format!(
            "the proxy {proxy} wants authentication to reach {target} ({status_line}): put the user and \
             password in the proxy variable, http://USER:PASSWORD@HOST:PORT"
        )
    } else {
        format!(
            "the proxy {proxy} refused a tunnel to {target} ({status_line}): it must allow CONNECT to that \
             port, or list the control plane in NO_PROXY"
        )
    }
}

impl Proxy {
    /// Reads `http://[USER:PASSWORD@]HOST[:PORT]` (or a bare `HOST[:PORT]`); `variable` names
    /// where it came from, for the error.
    pub fn parse(variable: &str, url: &str) -> Result<Proxy, ProxyError> {
        let invalid = |why: String| ProxyError::Invalid { variable: variable.to_owned(), why };
        let url = url.trim();
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(invalid(format!("{scheme}:// proxies are not supported (only http:// with CONNECT)")));
            }
            None => url,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, host) = match rest.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, rest),
        };
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
            return Err(invalid("expected http://[USER:PASSWORD@]HOST:PORT, without a path".to_owned()));
        }
        let has_port = match host.rsplit_once(']') {
            Some((_, after)) => after.starts_with(':'),
            None => host.contains(':'),
        };
        let address = if has_port { host.to_owned() } else { format!("{host}:80") };
        if address.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()) {
            return Err(invalid("the port is not a number".to_owned()));
        }
        let authorization = match userinfo {
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let credentials = format!("{}:{}", percent_decode(user), percent_decode(password));
                Some(format!("Basic {}", STANDARD.encode(credentials)))
            }
            None => None,
        };
        Ok(Proxy { address, authorization })
    }

    /// The proxy's `HOST:PORT` (what messages name; never the password).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The proxy an endpoint at `host` (a name or an IP address, without brackets) and `port`
    /// goes through, by the variables `lookup` gives (the process environment in the agent;
    /// a table in tests). `https` chooses `HTTPS_PROXY` over `HTTP_PROXY`.
    pub fn for_endpoint(
        https: bool,
        host: &str,
        port: u16,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyError> {
        if always_direct(host) {
            return Ok(None);
        }
        let names: [&'static str; 2] =
            if https { ["https_proxy", "HTTPS_PROXY"] } else { ["http_proxy", "HTTP_PROXY"] };
        let set = |name: &&'static str| {
            let name: &'static str = name;
            lookup(name).filter(|value| !value.trim().is_empty()).map(move |value| (name, value))
        };
        let Some((variable, url)) = names.iter().find_map(set) else { return Ok(None) };
        let no_proxy = ["no_proxy", "NO_PROXY"].iter().find_map(set).map(|(_, value)| value).unwrap_or_default();
        if bypasses(&no_proxy, host, port) {
            return Ok(None);
        }
        Proxy::parse(variable, &url).map(Some)
    }

    /// A TCP connection to the proxy, tunnelled to `target` (`HOST:PORT`) by `CONNECT`;
    /// what is written to it from then on reaches `target`.
    pub async fn tunnel(&self, target: &str) -> Result<TcpStream, ProxyError> {
        let proxy = self.address.clone();
        let mut stream = TcpStream::connect(&self.address)
            .await
            .map_err(|source| ProxyError::Connect { proxy: proxy.clone(), source })?;
        let _ = stream.set_nodelay(true);
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(authorization) = &self.authorization {
            request.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
        }
        request.push_str("\r\n");
        let io = |source| ProxyError::Io { proxy: proxy.clone(), source };
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        // The head is read a byte at a time: nothing past its blank line may be consumed,
        // since from there on the bytes belong to the tunnel (a few dozen bytes, once).
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > MAX_CONNECT_HEAD {
                return Err(ProxyError::Malformed { proxy, why: "the answer's head is over 16 KiB" });
            }
            let mut byte = [0u8; 1];
            if stream.read(&mut byte).await.map_err(io)? == 0 {
                return Err(ProxyError::Malformed { proxy, why: "the connection closed before an answer" });
            }
            head.extend_from_slice(&byte);
        }
        let text = String::from_utf8_lossy(&head);
        let status_line = text.lines().next().unwrap_or_default().trim().to_owned();
        let status = status_line.split(' ').nth(1).and_then(|code| code.parse::<u16>().ok());
        if !status_line.starts_with("HTTP/1.") || status.is_none() {
            return Err(ProxyError::Malformed { proxy, why: "not an HTTP/1.x status line" });
        }
        if !status.is_some_and(|code| (200..300).contains(&code)) {
            return Err(ProxyError::Refused { proxy, target: target.to_owned(), status_line });
        }
        Ok(stream)
    }
}

/// Hosts that never go through a proxy: loopback and link-local (the task credentials
/// endpoint's 169.254.170.2).
fn always_direct(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_link_local(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments().first().is_some_and(|s| s & 0xffc0 == 0xfe80)),
        Err(_) => false,
    }
}

/// Whether `NO_PROXY`'s `list` exempts `host` (a name or an IP address, without brackets) on
/// `port` (the rules are in the module docs).
pub fn bypasses(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',').map(str::trim).filter(|entry| !entry.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.to_ascii_lowercase();
        let (pattern, entry_port) = split_port(&entry);
        if entry_port.is_some_and(|entry_port| entry_port != port) {
            return false;
        }
        if let Some(ip) = host_ip {
            return match pattern.split_once('/') {
                Some((network, bits)) => in_network(ip, network, bits),
                None => pattern.parse::<IpAddr>().is_ok_and(|entry_ip| entry_ip == ip),
            };
        }
        let suffix = pattern.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
        !suffix.is_empty() && (host == suffix || host.strip_suffix(suffix).is_some_and(|before| before.ends_with('.')))
    })
}

/// An entry and its port, if it has one: `host:80`, `[::1]:80`, `10.0.0.1:80`; a bare IPv6
/// address (`::1`, `fd00::/8`) has none.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((address, after)) => (address, after.strip_prefix(':').and_then(|port| port.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_network(ip: IpAddr, network: &str, bits: &str) -> bool {
    let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// `%XX` escapes decoded (a password may hold `@` or `:` that way); anything else as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                decoded.push(value);
                at += 3;
            }
            None => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn no_proxy_matches_as_documented() {
        for (list, host, port, bypassed) in [
            ("", "cp.example.com", 443, false),
            ("*", "cp.example.com", 443, true),
            ("cp.example.com", "cp.example.com", 443, true),
            ("CP.Example.COM", "cp.example.com", 443, true),
            ("cp.example.com", "cp.example.com.", 443, true),
            ("cp.example.com", "other.example.com", 443, false),
            ("example.com", "cp.example.com", 443, true),
            ("example.com", "example.com", 443, true),
            (".example.com", "cp.example.com", 443, true),
            (".example.com", "example.com", 443, true),
            ("*.example.com", "a.b.example.com", 443, true),
            ("example.com", "badexample.com", 443, false),
            ("ample.com", "example.com", 443, false),
            ("com", "cp.example.com", 443, true),
            ("other.org, example.com", "cp.example.com", 443, true),
            (" other.org ,, ", "cp.example.com", 443, false),
            ("cp.example.com:443", "cp.example.com", 443, true),
            ("cp.example.com:443", "cp.example.com", 7780, false),
            ("10.1.2.3", "10.1.2.3", 443, true),
            ("10.1.2.3", "10.1.2.4", 443, false),
            ("10.1.2.3:7780", "10.1.2.3", 7780, true),
            ("10.0.0.0/8", "10.200.0.1", 443, true),
            ("10.0.0.0/8", "11.0.0.1", 443, false),
            ("0.0.0.0/0", "192.0.2.1", 443, true),
            ("fd00::/8", "fd12::1", 443, true),
            ("fd00::/8", "fe80::1", 443, false),
            ("2001:db8::1", "2001:db8::1", 443, true),
            ("[2001:db8::1]:443", "2001:db8::1", 443, true),
            ("[2001:db8::1]:443", "2001:db8::1", 80, false),
            // A name never matches an address entry, nor an address a name suffix.
            ("10.0.0.0/8", "cp.example.com", 443, false),
            ("1.2.3", "10.1.2.3", 443, false),
            ("10.0.0.0/99", "10.0.0.1", 443, false),
        ] {
            assert_eq!(bypasses(list, host, port), bypassed, "NO_PROXY={list:?} host {host}:{port}");
        }
    }

    fn environment(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn the_scheme_chooses_the_variable_and_no_proxy_exempts() {
        let env = environment(&[
            ("HTTPS_PROXY", "http://secure-proxy:3128"),
            ("http_proxy", "plain-proxy:8080"),
            ("NO_PROXY", "internal.lan"),
        ]);
        let https = Proxy::for_endpoint(true, "cp.example.com", 443, &env).unwrap().unwrap();
        assert_eq!(https.address(), "secure-proxy:3128");
        let http = Proxy::for_endpoint(false, "cp.example.com", 80, &env).unwrap().unwrap();
        assert_eq!(http.address(), "plain-proxy:8080");
        assert_eq!(Proxy::for_endpoint(true, "cp.internal.lan", 443, &env).unwrap(), None);
        // Loopback and link-local never go through a proxy, listed or not.
        for host in ["127.0.0.1", "127.8.0.1", "::1", "localhost", "169.254.170.2", "fe80::1"] {
            assert_eq!(Proxy::for_endpoint(true, host, 443, &env).unwrap(), None, "{host}");
        }
        // The lowercase variable first; an empty one counts as unset.
        let env = environment(&[("https_proxy", "http://lower:1"), ("HTTPS_PROXY", "http://upper:2")]);
        assert_eq!(Proxy::for_endpoint(true, "cp", 443, &env).unwrap().unwrap().address(), "lower:1");
        let env = environment(&[("https_proxy", " "), ("HTTPS_PROXY", "http://upper:2")]);
        assert_eq!(Proxy::for_endpoint(true, "cp", 443, &env).unwrap().unwrap().address(), "upper:2");
        assert_eq!(Proxy::for_endpoint(true, "cp", 443, &environment(&[])).unwrap(), None);
        // An unusable variable is an error naming it, not a direct connection.
        let env = environment(&[("HTTPS_PROXY", "socks5://proxy:1080")]);
        let error = Proxy::for_endpoint(true, "cp", 443, &env).unwrap_err().to_string();
        assert!(error.starts_with("HTTPS_PROXY cannot be used: socks5:// proxies are not supported"), "{error}");
    }

    #[test]
    fn proxy_urls_parse_with_and_without_credentials() {
        let proxy = Proxy::parse("HTTPS_PROXY", "http://proxy.lan:3128/").unwrap();
        assert_eq!((proxy.address(), proxy.authorization.as_deref()), ("proxy.lan:3128", None));
        assert_eq!(Proxy::parse("X", "proxy.lan").unwrap().address(), "proxy.lan:80");
        assert_eq!(Proxy::parse("X", "http://[fd00::1]:3128").unwrap().address(), "[fd00::1]:3128");
        let proxy = Proxy::parse("X", "http://alice:p%40ss%3Aword@proxy:3128").unwrap();
        assert_eq!(
            proxy.authorization.as_deref(),
            Some(format!("Basic {}", STANDARD.encode("alice:p@ss:word")).as_str())
        );
        assert!(!format!("{proxy:?}").contains("Basic"), "the password is not in Debug");
        for bad in ["https://proxy:3128", "http://", "http://proxy:port", "http://proxy:3128/path"] {
            assert!(matches!(Proxy::parse("X", bad), Err(ProxyError::Invalid { .. })), "{bad}");
        }
    }

    /// A CONNECT proxy that counts its tunnels, checks the authorization it was told to
    /// expect (answering 407 otherwise), and splices each tunnel to its target.
    pub(crate) async fn counting_proxy(
        expected_authorization: Option<String>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let tunnels = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = tunnels.clone();
        tokio::spawn(async move {
            loop {
                let (mut client, _) = listener.accept().await.unwrap();
                let counter = counter.clone();
                let expected = expected_authorization.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    while !head.ends_with(b"\r\n\r\n") {
                        let mut byte = [0u8; 1];
                        if client.read(&mut byte).await.unwrap() == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8(head).unwrap();
                    let target = head.strip_prefix("CONNECT ").unwrap().split(' ').next().unwrap().to_owned();
                    let authorization =
                        head.lines().find_map(|line| line.strip_prefix("Proxy-Authorization: ")).map(str::to_owned);
                    if authorization != expected {
                        client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await.unwrap();
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let mut upstream = TcpStream::connect(&target).await.unwrap();
                    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        (address, tunnels)
    }

    #[test]
    fn a_tunnel_reaches_its_target_and_a_refusal_says_why() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let target_address = target.local_addr().unwrap().to_string();
            tokio::spawn(async move {
                let (mut socket, _) = target.accept().await.unwrap();
                socket.write_all(b"hello through the tunnel").await.unwrap();
            });
            let (address, tunnels) = counting_proxy(Some(format!("Basic {}", STANDARD.encode("u:p")))).await;
            let proxy = Proxy::parse("HTTPS_PROXY", &format!("http://u:p@{address}")).unwrap();
            let mut stream = proxy.tunnel(&target_address).await.unwrap();
            let mut received = String::new();
            stream.read_to_string(&mut received).await.unwrap();
            assert_eq!(received, "hello through the tunnel");
            assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);

            let unauthenticated = Proxy::parse("HTTPS_PROXY", &format!("http://{address}")).unwrap();
            let error = unauthenticated.tunnel(&target_address).await.unwrap_err();
            assert!(matches!(error, ProxyError::Refused { .. }), "{error}");
            assert!(error.to_string().contains("wants authentication"), "{error}");
            assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
        });
    }
}
