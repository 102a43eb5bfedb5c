//! What the agent trusts to be its control plane over `https://`: the join's pin, the CA it
//! keeps, and the TLS client configurations built from them.
//!
//! The join (as kubeadm's and k3s's): `register --ca-sha256 HEX` fetches `GET /cacerts`
//! over a connection that verifies nothing ([`fetch_pinned_ca`], the one place such a
//! connection exists), compares the SHA-256 of the bytes received with the pin, and only on
//! a match builds the verifying configuration every later connection uses. `--ca-file`
//! trusts a CA file given by hand; `--system-ca` the system's store (a server behind a
//! TLS-terminating proxy with a public certificate).
//!
//! Guarantees:
//! - A configuration trusts exactly the CA it was built from ([`config_for_ca`]), or the
//!   system's store when asked ([`config_for_system`]); never both, never the store by
//!   default.
//! - The unverified configuration never leaves [`fetch_pinned_ca`], sends nothing but
//!   `GET /cacerts`, and its answer is used only once its hash equals the pin.
//! - Verification is against the endpoint's host, a name or an IP address.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::http::{self, Endpoint, HttpError};
use crate::state::{Instance, StateDir, StateError, Trust};

/// Where a fingerprint comes from, for the messages that ask for one.
const WHERE_THE_FINGERPRINT_IS: &str = "the server prints it at start (`CA fingerprint (SHA-256): ...`), \
     or run `sha256sum DATA/tls/ca.pem` on the server";

/// A CA fingerprint: the lowercase hex SHA-256 of the CA file's exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Reads 64 hex digits in either case, with an optional `sha256:` prefix and optional `:`
    /// between the digits (`openssl x509 -fingerprint` style).
    pub fn parse(text: &str) -> Result<Fingerprint, TrustError> {
        let trimmed = text.trim();
        let digits = match trimmed.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => trimmed.get(7..).unwrap_or_default(),
            _ => trimmed,
        };
        let digits: String = digits.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
        if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TrustError::Fingerprint(text.to_owned()));
        }
        Ok(Fingerprint(digits))
    }

    /// The fingerprint of `bytes`.
    pub fn of(bytes: &[u8]) -> Fingerprint {
        Fingerprint(aws_protocol::sigv4::sha256_hex(bytes))
    }

    /// The 64 lowercase hex digits.
    pub fn hex(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why trust could not be established; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// `--ca-sha256`'s value is not a fingerprint.
    #[error(
        "--ca-sha256 `{0}` is not a SHA-256 fingerprint: expected 64 hex digits (optionally with \
         `sha256:` first and `:` between pairs); {WHERE_THE_FINGERPRINT_IS}"
    )]
    Fingerprint(String),
    /// The CA served differs from the pin. Nothing secret has been sent.
    #[error(
        "the CA served by {endpoint}/cacerts has the SHA-256 fingerprint {presented}, but --ca-sha256 pins \
         {pinned}: refusing to register. Nothing secret was sent (the activation code was not used).\n\
         Check the fingerprint you were given: {WHERE_THE_FINGERPRINT_IS}. If they agree, this machine is \
         not talking to that server (another server on that address, or something intercepting the \
         connection)"
    )]
    Mismatch { endpoint: String, pinned: Fingerprint, presented: Fingerprint },
    /// `GET /cacerts` did not complete.
    #[error(
        "cannot fetch the CA from {endpoint}/cacerts: {error}\n\
         check the --endpoint URL and that the control plane is running and reachable from this server"
    )]
    Fetch { endpoint: String, error: HttpError },
    /// `GET /cacerts` answered something other than 200.
    #[error(
        "{endpoint}/cacerts answered HTTP {status}, not a CA certificate: if the server runs with \
         --insecure-http, register with its http:// address; otherwise check the --endpoint URL"
    )]
    NoCa { endpoint: String, status: u16 },
    /// Bytes that should be a CA are not PEM certificates (`what` names them).
    #[error("{what} is not a CA certificate in PEM form ({why})")]
    NotCertificates { what: String, why: String },
    #[error(
        "cannot read the CA file {}: {error} (copy DATA/tls/ca.pem from the server, or use --ca-sha256)",
        .path.display()
    )]
    CaFile { path: PathBuf, error: std::io::Error },
    /// The system's store gave no certificate.
    #[error(
        "--system-ca: the system's certificate store gave no usable certificate ({0}); install the \
         ca-certificates package, or use --ca-sha256 / --ca-file"
    )]
    System(String),
    /// The state names an https endpoint without the trust it needs, or its CA changed.
    #[error("{0}")]
    State(String),
    #[error(transparent)]
    StateFile(StateError),
}

/// The certificates of a PEM file's bytes (at least one; other PEM sections are ignored);
/// `source` names the bytes for the error.
pub fn certificates(pem: &[u8], source: &str) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let not = |why: String| TrustError::NotCertificates { what: source.to_owned(), why };
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| not(format!("{error:?}")))?;
    if certificates.is_empty() {
        return Err(not("no CERTIFICATE section".to_owned()));
    }
    Ok(certificates)
}

/// The crypto provider: aws-lc-rs, rustls's default (post-quantum hybrid key exchange preferred).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn config_with_roots(roots: RootCertStore) -> Result<Arc<ClientConfig>, TrustError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| TrustError::System(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The client speaks HTTP/1.1 only; saying so lets a server that also offers h2 choose.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A configuration that trusts exactly the certificates in `pem` (`source` names it).
pub fn config_for_ca(pem: &[u8], source: &str) -> Result<Arc<ClientConfig>, TrustError> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(pem, source)? {
        roots.add(certificate).map_err(|error| TrustError::NotCertificates {
            what: source.to_owned(),
            why: format!("not usable as a trust anchor: {error}"),
        })?;
    }
    config_with_roots(roots)
}

/// A configuration that trusts the system's certificate store (and nothing else).
pub fn config_for_system() -> Result<Arc<ClientConfig>, TrustError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or("the store is empty".to_owned(), ToString::to_string);
        return Err(TrustError::System(why));
    }
    config_with_roots(roots)
}

/// Reads a CA file given with `--ca-file`: its bytes, checked to be PEM certificates.
pub fn read_ca_file(path: &Path) -> Result<Vec<u8>, TrustError> {
    let pem = std::fs::read(path).map_err(|error| TrustError::CaFile { path: path.to_owned(), error })?;
    certificates(&pem, &path.display().to_string())?;
    Ok(pem)
}

/// Fetches `GET /cacerts` from `endpoint` (an https endpoint, with its proxy) over a
/// connection that verifies nothing, and returns its bytes only if their SHA-256 is `pin`
/// and they are certificates. The connection carries nothing but that request.
pub async fn fetch_pinned_ca(endpoint: &Endpoint, pin: &Fingerprint) -> Result<Vec<u8>, TrustError> {
    let unverified = endpoint.clone().with_tls(unverified_config()?);
    let response = http::get(&unverified, "/cacerts", http::TIMEOUT)
        .await
        .map_err(|error| TrustError::Fetch { endpoint: endpoint.url(), error })?;
    if response.status != 200 {
        return Err(TrustError::NoCa { endpoint: endpoint.url(), status: response.status });
    }
    let presented = Fingerprint::of(&response.body);
    if presented != *pin {
        return Err(TrustError::Mismatch { endpoint: endpoint.url(), pinned: pin.clone(), presented });
    }
    certificates(&response.body, &format!("{}/cacerts", endpoint.url()))?;
    Ok(response.body)
}

/// The configuration of [`fetch_pinned_ca`]'s one request: any certificate is accepted
/// (what it proves is checked afterwards, by the hash), the handshake's signatures still
/// checked against it.
fn unverified_config() -> Result<Arc<ClientConfig>, TrustError> {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| TrustError::System(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The registered control plane as `agent run` reaches it: an `http://` endpoint as it is,
/// an `https://` one verified by the trust registration recorded (`STATE_DIR/ca.pem`,
/// checked against the fingerprint recorded with it, or the system's store).
pub fn control_plane(state: &StateDir, instance: &Instance) -> Result<Endpoint, TrustError> {
    let endpoint = Endpoint::parse(&instance.endpoint)
        .map_err(|error| TrustError::State(format!("the registered endpoint: {error}")))?;
    if !endpoint.is_https() {
        return Ok(endpoint);
    }
    let register_again = "register again (`homeport agent register --force --ca-sha256 HEX ...`)";
    let config = match instance.trust {
        Some(Trust::Ca) => {
            let path = state.ca_path();
            let pem = state.read_ca().map_err(TrustError::StateFile)?;
            let held = Fingerprint::of(&pem);
            if let Some(recorded) = &instance.ca_sha256 {
                if held.hex() != recorded {
                    return Err(TrustError::State(format!(
                        "{} changed since registration (its SHA-256 is {held}, registration recorded {recorded}): \
                         restore it, or {register_again}",
                        path.display()
                    )));
                }
            }
            config_for_ca(&pem, &path.display().to_string())?
        }
        Some(Trust::System) => config_for_system()?,
        None => {
            return Err(TrustError::State(format!(
                "{} names the https:// endpoint {} but no CA to verify it: {register_again}",
                state.instance_path().display(),
                instance.endpoint
            )));
        }
    };
    Ok(endpoint.with_tls(config))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn fingerprints_parse_in_every_documented_form() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let colons: String = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).unwrap().to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        for (text, ok) in [
            (hex.to_owned(), true),
            (hex.to_ascii_uppercase(), true),
            (format!("sha256:{hex}"), true),
            (format!("SHA256:{hex}"), true),
            (format!("  {hex}\n"), true),
            (colons.clone(), true),
            (format!("sha256:{colons}"), true),
            (hex[..63].to_owned(), false),
            (format!("{hex}0"), false),
            (format!("sha1:{hex}"), false),
            (hex.replace('9', "g"), false),
            (String::new(), false),
            (format!("{} {}", &hex[..32], &hex[32..]), false),
        ] {
            match Fingerprint::parse(&text) {
                Ok(parsed) => {
                    assert!(ok, "{text:?} should be refused");
                    assert_eq!(parsed.hex(), hex, "{text:?}");
                }
                Err(error) => {
                    assert!(!ok, "{text:?}: {error}");
                    assert!(error.to_string().contains("sha256sum DATA/tls/ca.pem"), "{error}");
                }
            }
        }
        assert_eq!(Fingerprint::of(b"test").hex(), hex);
    }

    /// A CA and a serving certificate for `names`, made with rcgen: (CA PEM, chain, key).
    pub(crate) fn test_pki(
        names: &[&str],
    ) -> (String, Vec<CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Homeport test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let server = rcgen::CertificateParams::new(names).unwrap().signed_by(&server_key, &ca, &ca_key).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
        (ca.pem(), vec![server.der().clone(), ca.der().clone()], key)
    }

    /// What a test TLS server saw: each request's first line and body.
    pub(crate) type Seen = Arc<Mutex<Vec<(String, String)>>>;

    /// An HTTPS server for tests on 127.0.0.1 with a certificate for `names` from a CA of its
    /// own: serves `ca_body` at `GET /cacerts` and answers any POST with `answer`; records
    /// the requests it read. Returns its address, its CA's PEM and the record.
    pub(crate) async fn tls_server(
        names: &[&str],
        ca_body: Option<Vec<u8>>,
        answer: &'static str,
    ) -> (String, String, Seen) {
        let (ca_pem, chain, key) = test_pki(names);
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let ca_body = ca_body.unwrap_or_else(|| ca_pem.clone().into_bytes());
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let (acceptor, record, ca_body) = (acceptor.clone(), record.clone(), ca_body.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing read.
                    let Ok(mut stream) = acceptor.accept(socket).await else { return };
                    let mut received = Vec::new();
                    let (line, body) = loop {
                        let text = String::from_utf8_lossy(&received).into_owned();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length: usize = head
                                .lines()
                                .find_map(|line| line.strip_prefix("Content-Length: "))
                                .map_or(0, |length| length.parse().unwrap());
                            if body.len() >= length {
                                break (head.lines().next().unwrap().to_owned(), body.to_owned());
                            }
                        }
                        let mut chunk = [0u8; 4096];
                        let count = stream.read(&mut chunk).await.unwrap_or(0);
                        if count == 0 {
                            return;
                        }
                        received.extend_from_slice(&chunk[..count]);
                    };
                    let get = line.starts_with("GET /cacerts ");
                    record.lock().unwrap().push((line, body));
                    let response = if get {
                        let mut bytes = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\nContent-Length: {}\r\n\r\n",
                            ca_body.len()
                        )
                        .into_bytes();
                        bytes.extend_from_slice(&ca_body);
                        bytes
                    } else {
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}", answer.len()).into_bytes()
                    };
                    stream.write_all(&response).await.unwrap();
                    let _ = stream.shutdown().await;
                });
            }
        });
        (address, ca_pem, seen)
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
    }

    #[test]
    fn the_pin_admits_its_ca_and_refuses_another() {
        block_on(async {
            let (address, ca_pem, seen) = tls_server(&["127.0.0.1"], None, "{}").await;
            let endpoint = Endpoint::parse(&format!("https://{address}")).unwrap();
            let pin = Fingerprint::of(ca_pem.as_bytes());
            assert_eq!(fetch_pinned_ca(&endpoint, &pin).await.unwrap(), ca_pem.as_bytes());

            let other = Fingerprint::of(b"another CA");
            let error = fetch_pinned_ca(&endpoint, &other).await.unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, TrustError::Mismatch { .. }), "{message}");
            assert!(message.contains(pin.hex()) && message.contains(other.hex()), "names both: {message}");
            assert!(message.contains("Nothing secret was sent"), "{message}");
            let lines: Vec<String> = seen.lock().unwrap().iter().map(|(line, _)| line.clone()).collect();
            assert_eq!(lines, ["GET /cacerts HTTP/1.1", "GET /cacerts HTTP/1.1"]);
        });
    }

    #[test]
    fn a_tampered_or_empty_ca_is_refused() {
        block_on(async {
            // The server serves bytes that are not a certificate, and the pin is their hash.
            let (address, _, _) = tls_server(&["127.0.0.1"], Some(b"not a certificate\n".to_vec()), "{}").await;
            let endpoint = Endpoint::parse(&format!("https://{address}")).unwrap();
            let error = fetch_pinned_ca(&endpoint, &Fingerprint::of(b"not a certificate\n")).await.unwrap_err();
            assert!(matches!(error, TrustError::NotCertificates { .. }), "{error}");
        });
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let (ca_pem, _, _) = test_pki(&["localhost"]);
        assert_eq!(certificates(ca_pem.as_bytes(), "ca.pem").unwrap().len(), 1);
        assert!(config_for_ca(ca_pem.as_bytes(), "ca.pem").is_ok());
        let error =
            certificates(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "k.pem").unwrap_err();
        assert!(error.to_string().starts_with("k.pem is not a CA certificate in PEM form"), "{error}");
        let missing = read_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(missing.to_string().contains("cannot read the CA file /nonexistent/ca.pem"), "{missing}");
    }
}
