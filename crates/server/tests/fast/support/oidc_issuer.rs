//! A small OpenID Connect issuer on 127.0.0.1, over HTTPS with its own CA (rcgen): for any
//! path prefix `P` it answers `P/.well-known/openid-configuration` (with `jwks_uri` `P/keys`)
//! and `P/keys` (an EC P-256 key `ec-1` and an RSA key `rsa-1`), so each test names its own
//! issuer (`https://127.0.0.1:PORT/P`) and registers its own provider. It signs tokens with
//! those keys, or with a key it never publishes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use rcgen::{BasicConstraints, CertificateParams, IsCa};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How a token is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// ES256 with the published `ec-1`.
    Ec,
    /// RS256 with the published `rsa-1`.
    Rsa,
    /// ES256 with a key never published, under the kid `ec-1`.
    Forged,
    /// ES256 with a key never published, under a kid the issuer does not know.
    UnknownKid,
}

pub struct Issuer {
    /// `https://127.0.0.1:PORT`.
    pub origin: String,
    /// The SHA-1 thumbprint of its CA (the top of the chain it serves), as IAM wants it.
    pub ca_thumbprint: String,
    /// The SHA-1 thumbprint of its serving certificate (not the one IAM takes).
    pub leaf_thumbprint: String,
    ec: EcdsaKeyPair,
    rsa: RsaKeyPair,
    other: EcdsaKeyPair,
    /// Requests for keys served so far, by issuer path.
    key_fetches: Arc<Mutex<HashMap<String, usize>>>,
}

fn sha1_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes);
    digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The modulus and exponent of a PKCS#1 `RSAPublicKey` (DER), big-endian without sign bytes.
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn item(bytes: &[u8]) -> (&[u8], &[u8]) {
        let (length, header) = match bytes[1] {
            short if short < 0x80 => (usize::from(short), 2),
            long => {
                let count = usize::from(long & 0x7f);
                (bytes[2..2 + count].iter().fold(0, |length, byte| length << 8 | usize::from(*byte)), 2 + count)
            }
        };
        (&bytes[header..header + length], &bytes[header + length..])
    }
    let (sequence, _) = item(der);
    let (n, rest) = item(sequence);
    let (e, _) = item(rest);
    let strip = |bytes: &[u8]| bytes.iter().skip_while(|byte| **byte == 0).copied().collect::<Vec<u8>>();
    (strip(n), strip(e))
}

fn ec_jwk(pair: &EcdsaKeyPair, kid: &str) -> Value {
    let point = pair.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": BASE64URL.encode(&point[1..33]), "y": BASE64URL.encode(&point[33..65])})
}

impl Issuer {
    /// The shared issuer, started once for the test program.
    pub fn shared() -> &'static Issuer {
        static ISSUER: std::sync::OnceLock<Issuer> = std::sync::OnceLock::new();
        ISSUER.get_or_init(Issuer::start)
    }

    fn start() -> Issuer {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf =
            CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&leaf_key, &ca, &ca_key).unwrap();
        let chain = vec![CertificateDer::from(leaf.der().to_vec()), CertificateDer::from(ca.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let (n, e) = rsa_components(rsa.public_key().as_ref());
        let jwks = json!({"keys": [
            ec_jwk(&ec, "ec-1"),
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
             "n": BASE64URL.encode(n), "e": BASE64URL.encode(e)},
        ]})
        .to_string();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let origin = format!("https://127.0.0.1:{port}");
        let key_fetches = Arc::new(Mutex::new(HashMap::new()));
        let (served_origin, fetches) = (origin.clone(), key_fetches.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else { continue };
                    let (acceptor, origin, jwks, fetches) =
                        (acceptor.clone(), served_origin.clone(), jwks.clone(), fetches.clone());
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                        let mut head = Vec::new();
                        let mut buffer = [0u8; 1024];
                        while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 16 * 1024 {
                            match tls.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(read) => head.extend_from_slice(&buffer[..read]),
                            }
                        }
                        let head = String::from_utf8_lossy(&head);
                        let path = head.split(' ').nth(1).unwrap_or("/");
                        let (status, body) = if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
                            let issuer = format!("{origin}{prefix}");
                            ("200 OK", json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")}).to_string())
                        } else if let Some(prefix) = path.strip_suffix("/keys") {
                            *fetches.lock().unwrap().entry(format!("{origin}{prefix}")).or_default() += 1;
                            ("200 OK", jwks)
                        } else {
                            ("404 Not Found", "{}".to_owned())
                        };
                        let answer = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(answer.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    });
                }
            });
        });
        Issuer {
            origin,
            ca_thumbprint: sha1_hex(ca.der()),
            leaf_thumbprint: sha1_hex(leaf.der()),
            ec,
            rsa,
            other: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            key_fetches,
        }
    }

    /// How many times the keys of the issuer `url` were fetched.
    pub fn key_fetches(&self, url: &str) -> usize {
        self.key_fetches.lock().unwrap().get(url).copied().unwrap_or(0)
    }

    /// A token with `claims`, signed as `signer` says.
    pub fn token(&self, signer: Signer, claims: &Value) -> String {
        let (alg, kid) = match signer {
            Signer::Ec | Signer::Forged => ("ES256", "ec-1"),
            Signer::Rsa => ("RS256", "rsa-1"),
            Signer::UnknownKid => ("ES256", "ec-9"),
        };
        let signed = format!(
            "{}.{}",
            BASE64URL.encode(json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string()),
            BASE64URL.encode(claims.to_string())
        );
        let random = SystemRandom::new();
        let signature = match signer {
            Signer::Ec => self.ec.sign(&random, signed.as_bytes()).unwrap().as_ref().to_vec(),
            Signer::Forged | Signer::UnknownKid => {
                self.other.sign(&random, signed.as_bytes()).unwrap().as_ref().to_vec()
            }
            Signer::Rsa => {
                let mut signature = vec![0; self.rsa.public_modulus_len()];
                self.rsa.sign(&signature::RSA_PKCS1_SHA256, &random, signed.as_bytes(), &mut signature).unwrap();
                signature
            }
        };
        format!("{signed}.{}", BASE64URL.encode(signature))
    }
}
