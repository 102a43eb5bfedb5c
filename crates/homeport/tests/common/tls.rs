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

/// A TLS session over `tcp` with the server at `address`, its handshake completed (so a
/// verification failure is the error).
pub fn tls_over(
    tcp: TcpStream,
    address: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host).trim_matches(['[', ']']);
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
