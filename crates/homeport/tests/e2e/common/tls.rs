//! The tests' own HTTPS client for the requests they write by hand (raw SigV4, the registry,
//! malformed requests): a blocking rustls stream that verifies the server against the CA it
//! made, as every real client does. [`trust`] records which addresses speak TLS and with what
//! CA; [`connect`] opens a verified TLS stream to those and plain TCP to the rest.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Address → the client configuration that trusts that server's CA.
static SERVERS: Mutex<Option<HashMap<String, Arc<rustls::ClientConfig>>>> = Mutex::new(None);

/// A client configuration that trusts exactly the CA in `ca_file`.
pub fn client_config(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Arc::new(config)
}

/// From now on, connections to `address` are TLS, verified against `ca_file`.
pub fn trust(address: &str, ca_file: &Path) {
    let config = client_config(ca_file);
    SERVERS.lock().unwrap().get_or_insert_with(HashMap::new).insert(address.to_owned(), config);
}

/// A connection to `address`: TLS if a server there was started with it, else plain TCP.
pub fn connect(address: &str) -> Stream {
    let tcp = TcpStream::connect(address).unwrap();
    let config = SERVERS.lock().unwrap().as_ref().and_then(|servers| servers.get(address).cloned());
    match config {
        None => Stream::Plain(tcp),
        Some(config) => Stream::Tls(Box::new(tls_over(tcp, address, config).unwrap())),
    }
}

/// A TLS session over `tcp` with the server at `address` (verified for its host), its
/// handshake completed (so a verification failure is the error).
pub fn tls_over(tcp: TcpStream, address: &str, config: Arc<rustls::ClientConfig>) -> io::Result<Tls> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host).trim_matches(['[', ']']);
    tls_to(tcp, host, config)
}

/// A verified TLS connection to the server at `address`, trusting only `ca_file`, verified
/// for the name `host`; reads wait at most 30 s.
pub fn connect_verified(address: &str, host: &str, ca_file: &Path) -> Tls {
    let tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    tls_to(tcp, host, client_config(ca_file)).unwrap()
}

/// A client TLS stream over TCP.
pub type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS session over `tcp` verified for `host`, its handshake completed.
pub fn tls_to(tcp: TcpStream, host: &str, config: Arc<rustls::ClientConfig>) -> io::Result<Tls> {
    let name = ServerName::try_from(host.to_owned()).map_err(io::Error::other)?;
    let connection = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// A plain or a TLS connection.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// The TCP connection under it.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buffer),
            // A server that closes without TLS's close_notify has still said all it had.
            Stream::Tls(tls) => match tls.read(buffer) {
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buffer),
            Stream::Tls(tls) => tls.write(buffer),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// One keep-alive `GET path` with this `Host` on an open connection (plain or TLS): the status
/// line, the headers and the body.
pub fn get_on(stream: &mut (impl Read + Write), path: &str, host: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    stream.flush().unwrap();
    let mut response = Vec::new();
    let mut byte = [0_u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the connection closed: {}", String::from_utf8_lossy(&response));
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).unwrap();
    response.extend_from_slice(&body);
    String::from_utf8_lossy(&response).into_owned()
}
