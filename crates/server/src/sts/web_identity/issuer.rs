//! An OpenID Connect issuer's signing keys, fetched over HTTPS and cached: its discovery
//! document (`ISSUER/.well-known/openid-configuration`), then its `jwks_uri`.
//!
//! Trust, as IAM documents it: the server's certificate is accepted when it chains to the
//! system's roots, else only when the SHA-1 thumbprint of the top certificate of the chain the
//! server presents (the last one it sends: the top intermediate CA, or the certificate itself
//! when it sends one alone) is in the provider's `ThumbprintList`; then the chain must also
//! verify, for the host, up to that certificate.
//!
//! Bounds: at most [`CONCURRENT_FETCHES`] fetches at once (more wait), each exchange within
//! [`FETCH_TIMEOUT`] and [`MAX_DOCUMENT_BYTES`]; keys are kept [`KEYS_LIFETIME`], and fetched
//! again for an unknown `kid` at most once per [`REFRESH_INTERVAL`] per issuer, so tokens naming
//! made-up keys cannot make the server fetch at their pace. Only the issuer of a provider the
//! account registered is ever fetched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::Value as Json;

use super::token::signing_keys;

/// Fetches in flight at once, across issuers.
pub(crate) const CONCURRENT_FETCHES: usize = 8;
/// One exchange (connect, TLS, request, whole response).
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest discovery document or key set read.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// How long fetched keys are used.
pub(crate) const KEYS_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The shortest time between two fetches of one issuer's keys.
pub(crate) const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Why keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// The TLS certificate chains neither to the system's roots nor to a thumbprint.
    Untrusted,
    /// The issuer could not be reached, or answered other than 2xx in time.
    Unreachable(String),
    /// It answered something that is not a discovery document or a key set.
    Invalid(String),
}

struct Cached {
    keys: Arc<Vec<Json>>,
    fetched_at: Instant,
}

/// The cache of issuers' keys, kept for the server's life (in its service state).
pub(crate) struct Issuers {
    cache: Mutex<HashMap<String, Cached>>,
    fetches: tokio::sync::Semaphore,
    system_roots: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
}

impl Default for Issuers {
    fn default() -> Issuers {
        Issuers {
            cache: Mutex::new(HashMap::new()),
            fetches: tokio::sync::Semaphore::new(CONCURRENT_FETCHES),
            system_roots: OnceLock::new(),
        }
    }
}

/// Whether a lookup may use keys already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Held keys younger than [`KEYS_LIFETIME`] do.
    Cached,
    /// The token names a key not held: fetch again, unless fetched within [`REFRESH_INTERVAL`].
    UnknownKey,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl Issuers {
    /// The signing keys of the issuer at `https://URL` (`URL` as IAM keeps it), trusted by the
    /// system's roots or `thumbprints`.
    pub async fn keys(
        &self,
        url: &str,
        thumbprints: &[String],
        freshness: Freshness,
    ) -> Result<Arc<Vec<Json>>, FetchError> {
        let cache_key = format!("{url} {}", thumbprints.join(","));
        let held = |max_age: Duration| {
            let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .get(&cache_key)
                .filter(|cached| cached.fetched_at.elapsed() < max_age)
                .map(|cached| cached.keys.clone())
        };
        let max_age = match freshness {
            Freshness::Cached => KEYS_LIFETIME,
            Freshness::UnknownKey => REFRESH_INTERVAL,
        };
        if let Some(keys) = held(max_age) {
            return Ok(keys);
        }
        let _permit = self.fetches.acquire().await.map_err(|_| FetchError::Unreachable("shutting down".to_owned()))?;
        // Another request may have fetched them while this one waited.
        if let Some(keys) = held(REFRESH_INTERVAL) {
            return Ok(keys);
        }
        let trust = Arc::new(ProviderTrust {
            system: self.system_roots.get_or_init(system_verifier).clone(),
            thumbprints: thumbprints.to_vec(),
            provider: provider(),
        });
        let keys = Arc::new(fetch_keys(url, trust).await?);
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded by the providers the accounts registered (and their thumbprint lists); an
        // entry past its lifetime is dropped when another is stored.
        cache.retain(|_, cached| cached.fetched_at.elapsed() < KEYS_LIFETIME);
        cache.insert(cache_key, Cached { keys: keys.clone(), fetched_at: Instant::now() });
        Ok(keys)
    }
}

async fn fetch_keys(url: &str, trust: Arc<ProviderTrust>) -> Result<Vec<Json>, FetchError> {
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(trust.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| FetchError::Unreachable(error.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(trust)
            .with_no_client_auth(),
    );
    let discovery_url = format!("https://{}/.well-known/openid-configuration", url.trim_end_matches('/'));
    let discovery = get_json(&discovery_url, config.clone()).await?;
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(Json::as_str)
        .filter(|uri| uri.starts_with("https://"))
        .ok_or_else(|| FetchError::Invalid("the discovery document has no https jwks_uri".to_owned()))?;
    let jwks = get_json(jwks_uri, config).await?;
    Ok(signing_keys(&jwks))
}

/// `GET` an `https://` URL and read its answer as JSON, within the bounds above.
async fn get_json(url: &str, config: Arc<rustls::ClientConfig>) -> Result<Json, FetchError> {
    let body = tokio::time::timeout(FETCH_TIMEOUT, get(url, config))
        .await
        .map_err(|_| FetchError::Unreachable(format!("{url}: no answer within {} s", FETCH_TIMEOUT.as_secs())))??;
    serde_json::from_slice(&body).map_err(|error| FetchError::Invalid(format!("{url}: {error}")))
}

/// The host (as the TLS name and the `Host` header), port and path of an `https://` URL.
fn split_url(url: &str) -> Option<(&str, u16, &str, &str)> {
    let rest = url.strip_prefix("https://")?;
    let (authority, path) =
        rest.find('/').map_or((rest, "/"), |at| (rest.get(..at).unwrap_or(rest), rest.get(at..).unwrap_or("/")));
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        match after.strip_prefix(':') {
            Some(port) => (host, port.parse().ok()?),
            None if after.is_empty() => (host, 443),
            None => return None,
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, 443),
        }
    };
    (!host.is_empty()).then_some((host, port, authority, path))
}

async fn get(url: &str, config: Arc<rustls::ClientConfig>) -> Result<Vec<u8>, FetchError> {
    let unreachable = |what: &dyn std::fmt::Display| FetchError::Unreachable(format!("{url}: {what}"));
    let (host, port, authority, path) =
        split_url(url).ok_or_else(|| FetchError::Invalid(format!("{url}: not an https URL")))?;
    let name = ServerName::try_from(host.to_owned()).map_err(|error| unreachable(&error))?;
    let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(|error| unreachable(&error))?;
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|error| {
        let certificate = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|error| matches!(error, rustls::Error::InvalidCertificate(_)));
        if certificate { FetchError::Untrusted } else { unreachable(&error) }
    })?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|error| unreachable(&error))?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "homeport-sts")
        .body(Empty::<Bytes>::new())
        .map_err(|error| unreachable(&error))?;
    let outcome = async {
        let response = sender.send_request(request).await.map_err(|error| unreachable(&error))?;
        if !response.status().is_success() {
            return Err(unreachable(&format!("HTTP {}", response.status().as_u16())));
        }
        let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
            .collect()
            .await
            .map_err(|error| unreachable(&error))?;
        Ok(body.to_bytes().to_vec())
    }
    .await;
    driver.abort();
    outcome
}

/// The system's roots as a verifier, if the system has any.
fn system_verifier() -> Option<Arc<WebPkiServerVerifier>> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return None;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build().ok()
}

/// The lowercase hex SHA-1 of a certificate (IAM's thumbprint).
pub(crate) fn thumbprint(certificate: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, certificate);
    aws_protocol::sigv4::hex(digest.as_ref())
}

/// The system's roots, else a provider's thumbprints (see the module's documentation).
#[derive(Debug)]
struct ProviderTrust {
    system: Option<Arc<WebPkiServerVerifier>>,
    thumbprints: Vec<String>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ProviderTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let by_system = self.system.as_ref().is_some_and(|system| {
            system.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).is_ok()
        });
        if by_system {
            return Ok(ServerCertVerified::assertion());
        }
        let untrusted = || rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure);
        let top = intermediates.last().unwrap_or(end_entity);
        if !self.thumbprints.contains(&thumbprint(top)) {
            return Err(untrusted());
        }
        if intermediates.is_empty() {
            // The server's own certificate is the one pinned.
            return Ok(ServerCertVerified::assertion());
        }
        let mut roots = RootCertStore::empty();
        roots.add(top.clone().into_owned()).map_err(|_| untrusted())?;
        let pinned = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
            .build()
            .map_err(|_| untrusted())?;
        pinned.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map_err(|_| untrusted())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(split_url("https://a.example/k"), Some(("a.example", 443, "a.example", "/k")));
        assert_eq!(split_url("https://127.0.0.1:8443"), Some(("127.0.0.1", 8443, "127.0.0.1:8443", "/")));
        assert_eq!(split_url("https://[::1]:9/x"), Some(("::1", 9, "[::1]:9", "/x")));
        assert_eq!(split_url("http://a.example/"), None);
        assert_eq!(split_url("https://a:notaport/"), None);
    }

    #[test]
    fn a_thumbprint_is_the_hex_sha1_of_the_certificate() {
        assert_eq!(thumbprint(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
