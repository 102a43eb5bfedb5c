//! TLS for the listener: a private CA of this data directory and the serving certificate it
//! signs, or an operator's own certificate, held where the handshake reads it and replaced
//! while the server runs.
//!
//! Files, under `DATA_DIR/tls/` (0700):
//! - `ca.pem` (the CA certificate: exactly the bytes `GET /cacerts` serves and the
//!   fingerprint is computed over) and `ca.key` (0600), made once, valid 10 years;
//! - `server.pem` (the serving certificate, then the CA) and `server.key` (0600), issued at
//!   every start and again by the running server when a third of their lifetime is left.
//!
//! What is guaranteed:
//! - The CA is never replaced behind the operator's back: a `ca.key` that cannot be read or
//!   parsed, a `ca.pem` without its key (or a key without its certificate), or a `ca.pem`
//!   that is not `ca.key`'s certificate refuses the start, since a new CA would orphan every
//!   agent that pinned this one.
//! - Every serving certificate names the host name, `localhost`, 127.0.0.1, ::1, the listen
//!   address, the public URL's host, the registry host and each `--tls-san`; it carries
//!   serverAuth, the authority key identifier and a not-before an hour in the past (clocks
//!   differ); before it is served it is verified against `ca.pem` for `localhost`.
//! - With `--tls-cert/--tls-key` the operator's files are read again when they change (checked
//!   every [`RELOAD_POLL`]) or on SIGHUP; a pair that does not load (or whose key is not the
//!   certificate's) is logged and the certificate served so far is kept.
//! - A renewal or reload swaps what new handshakes get; connections already open keep theirs.
//!   Each is logged with its serial and expiry, never a key. SIGHUP renews our own certificate
//!   at once (and reloads an operator's), never ends the process.

use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

/// How long the CA is valid.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The default lifetime of a serving certificate.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// How far in the past a certificate's validity starts, for clients whose clocks lag.
const BACKDATE: Duration = Duration::from_secs(3600);

/// How often the operator's files are checked for a change.
pub const RELOAD_POLL: Duration = Duration::from_secs(3);

/// What the listener serves TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// This data directory's CA and a serving certificate it issues, for these names (besides
    /// the ones every certificate carries), valid this long.
    Own { names: Vec<String>, lifetime: Duration },
    /// The operator's chain (leaf first) and key, PEM files.
    Operator { cert: PathBuf, key: PathBuf },
}

/// What `GET /cacerts` serves: the CA certificate as PEM, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    pub pem: Vec<u8>,
    /// Lowercase hex SHA-256 of `pem` (what `sha256sum` prints).
    pub fingerprint: String,
}

impl Trust {
    fn of(pem: Vec<u8>) -> Trust {
        let fingerprint = hex(&Sha256::digest(&pem));
        Trust { pem, fingerprint }
    }
}

/// The certificate handshakes are answered with now.
struct Current {
    key: Arc<CertifiedKey>,
    trust: Arc<Trust>,
}

/// The CA this data directory issues serving certificates with.
struct Authority {
    key: KeyPair,
    /// The CA's parameters re-signed with its key: what rcgen needs to sign with (the subject
    /// and key identifier, both derived from the key, match `ca.pem`'s).
    issuer: rcgen::Certificate,
    der: CertificateDer<'static>,
}

/// The listener's certificate and how it is kept current; the handshake's resolver.
pub struct Tls {
    current: RwLock<Current>,
    source: Source,
    authority: Option<Authority>,
    /// Every name a serving certificate of our own carries.
    names: Vec<String>,
    dir: PathBuf,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("source", &self.source).field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Tls {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| Arc::clone(&current.key))
    }
}

/// A certificate just issued or loaded, before it is served.
struct Issued {
    key: Arc<CertifiedKey>,
    trust: Arc<Trust>,
    /// Hex serial, for the log.
    serial: String,
    /// Seconds since the epoch.
    not_after: u64,
    /// How long it is valid from now.
    lifetime: Duration,
    /// The private key as PEM, to save (our own certificates only; never logged).
    private_pem: String,
}

impl Tls {
    /// Sets TLS up under `data_dir/tls`: the CA (made on the first start, else loaded and
    /// checked) and a serving certificate for `names` plus the usual ones, or the operator's
    /// files. `names` are the listen address's, the public URL's and the registry's hosts.
    pub fn start(source: Source, data_dir: &Path, names: &[String]) -> Result<Arc<Tls>, String> {
        let dir = data_dir.join("tls");
        // Made private with the rest of the data directory (`app::make_private`) if it was not.
        crate::data_dir::create_private_dir(&dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        let provider = Arc::new(crypto_provider());
        let (authority, all_names, issued) = match &source {
            Source::Own { names: extra, lifetime } => {
                let authority = Authority::open_or_create(&dir)?;
                let all_names = certificate_names(names, extra)?;
                let issued = authority.issue(&all_names, *lifetime, &provider)?;
                verify(&issued.key, &authority.der, "localhost", &provider).map_err(|error| {
                    format!(
                        "a certificate signed with {} does not verify against {} ({error}): they are not one CA's \
                         pair, or it expired; restore the pair from a backup; only if no agent has joined, delete \
                         both to make a new CA",
                        dir.join("ca.key").display(),
                        dir.join("ca.pem").display()
                    )
                })?;
                write_serving(&dir, &issued)?;
                (Some(authority), all_names, issued)
            }
            Source::Operator { cert, key } => {
                let issued = load_operator(cert, key, &provider)?;
                write_public(&dir.join("operator-ca.pem"), &issued.trust.pem)?;
                (None, Vec::new(), issued)
            }
        };
        let current = Current { key: issued.key, trust: issued.trust };
        Ok(Arc::new(Tls { current: RwLock::new(current), source, authority, names: all_names, dir, provider }))
    }

    /// The rustls configuration of the listener: this resolver, ALPN h2 then http/1.1.
    pub fn server_config(self: &Arc<Tls>) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot configure TLS: {error}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // Resumed sessions skip the signature: cheaper new connections for returning clients.
        if let Ok(ticketer) = rustls::crypto::aws_lc_rs::Ticketer::new() {
            config.ticketer = ticketer;
        }
        Ok(Arc::new(config))
    }

    /// What `/cacerts` serves now.
    pub fn trust(&self) -> Arc<Trust> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current.trust),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().trust),
        }
    }

    /// The file holding what `/cacerts` serves: `ca.pem`, or with an operator's certificate
    /// the last certificate of its chain, copied to `operator-ca.pem`.
    pub fn ca_file(&self) -> PathBuf {
        match self.source {
            Source::Own { .. } => self.dir.join("ca.pem"),
            Source::Operator { .. } => self.dir.join("operator-ca.pem"),
        }
    }

    fn swap(&self, issued: &Issued) {
        let current = Current { key: Arc::clone(&issued.key), trust: Arc::clone(&issued.trust) };
        match self.current.write() {
            Ok(mut slot) => *slot = current,
            Err(poisoned) => *poisoned.into_inner() = current,
        }
    }

    /// Keeps the certificate current until the process ends: renews our own when a third of
    /// its lifetime is left, reloads the operator's on a change or SIGHUP.
    pub async fn maintain(self: Arc<Tls>) {
        match self.source.clone() {
            Source::Own { lifetime, .. } => self.renew_forever(lifetime).await,
            Source::Operator { cert, key } => self.reload_forever(&cert, &key).await,
        }
    }

    async fn renew_forever(&self, lifetime: Duration) {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut next = renewal_delay(lifetime);
        loop {
            // SIGHUP (a service manager's reload) renews at once, rather than ending the process.
            #[cfg(unix)]
            {
                let hangup_received = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = tokio::time::sleep(next) => {}
                    _ = hangup_received => {}
                }
            }
            #[cfg(not(unix))]
            tokio::time::sleep(next).await;
            next = match self.renew() {
                Ok(lifetime) => renewal_delay(lifetime),
                Err(error) => {
                    tracing::warn!("cannot renew the serving certificate ({error}); trying again");
                    renewal_delay(lifetime).clamp(Duration::from_secs(1), Duration::from_secs(60))
                }
            };
        }
    }

    /// Issues a new serving certificate of our own and serves it; returns its lifetime.
    fn renew(&self) -> Result<Duration, String> {
        let (Some(authority), Source::Own { lifetime, .. }) = (&self.authority, &self.source) else {
            return Err("the serving certificate is the operator's".to_owned());
        };
        let issued = authority.issue(&self.names, *lifetime, &self.provider)?;
        self.swap(&issued);
        if let Err(error) = write_serving(&self.dir, &issued) {
            tracing::warn!("the renewed serving certificate is served but not saved: {error}");
        }
        tracing::info!(
            "renewed the serving certificate: serial {}, valid until {}",
            issued.serial,
            crate::ids::iso8601(i64::try_from(issued.not_after).unwrap_or(i64::MAX))
        );
        Ok(issued.lifetime)
    }

    async fn reload_forever(&self, cert: &Path, key: &Path) {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut seen = (stamp(cert), stamp(key));
        let mut poll = tokio::time::interval(RELOAD_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let asked = {
                let hangup_received = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = poll.tick() => false,
                    _ = hangup_received => true,
                }
            };
            #[cfg(not(unix))]
            let asked = {
                poll.tick().await;
                false
            };
            let now = (stamp(cert), stamp(key));
            if !asked && now == seen {
                continue;
            }
            seen = now;
            let _ = self.reload(cert, key, if asked { "on SIGHUP" } else { "after a change" });
        }
    }

    /// Loads the operator's files again and serves them; on failure keeps what it served.
    fn reload(&self, cert: &Path, key: &Path, why: &str) -> Result<(), String> {
        match load_operator(cert, key, &self.provider) {
            Ok(issued) => {
                self.swap(&issued);
                if let Err(error) = write_public(&self.ca_file(), &issued.trust.pem) {
                    tracing::warn!("cannot update {}: {error}", self.ca_file().display());
                }
                tracing::info!(
                    "reloaded the serving certificate from {} {why}: serial {}, valid until {}",
                    cert.display(),
                    issued.serial,
                    crate::ids::iso8601(i64::try_from(issued.not_after).unwrap_or(i64::MAX))
                );
                Ok(())
            }
            Err(error) => {
                tracing::warn!("cannot reload the serving certificate {why} ({error}); still serving the previous one");
                Err(error)
            }
        }
    }
}

/// When to renew a certificate valid `lifetime` from now: when a third of it is left.
fn renewal_delay(lifetime: Duration) -> Duration {
    lifetime.saturating_mul(2) / 3
}

/// What tells a file changed: its modification time, length and inode.
fn stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some((metadata.modified().ok()?, metadata.len(), inode))
}

impl Authority {
    /// Loads the CA from `dir`, or makes one when neither of its files exists.
    fn open_or_create(dir: &Path) -> Result<Authority, String> {
        let (pem_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
        let key_text = match std::fs::read_to_string(&key_path) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(format!(
                    "cannot read the CA key {} ({error}): fix its owner or mode; a new CA would orphan every \
                     agent that joined with this one",
                    key_path.display()
                ));
            }
        };
        let pem = match std::fs::read(&pem_path) {
            Ok(pem) => Some(pem),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(format!("cannot read the CA certificate {}: {error}", pem_path.display())),
        };
        match (key_text, pem) {
            (None, None) => Authority::create(&pem_path, &key_path),
            (Some(key_text), Some(pem)) => {
                let key = KeyPair::from_pem(&key_text).map_err(|error| {
                    format!(
                        "the CA key {} is not a PEM private key ({error}): restore it from a backup; a new CA \
                         would orphan every agent that joined with this one",
                        key_path.display()
                    )
                })?;
                let der = CertificateDer::from_pem_slice(&pem).map_err(|error| {
                    format!("the CA certificate {} is not a PEM certificate ({error}): restore it from a backup (an agent keeps a copy as STATE_DIR/ca.pem)", pem_path.display())
                })?;
                let issuer = ca_params(&key, None)
                    .self_signed(&key)
                    .map_err(|error| format!("cannot use the CA key: {error}"))?;
                Ok(Authority { key, issuer, der })
            }
            (None, Some(_)) => Err(format!(
                "{} exists but its key {} does not: restore the key from a backup; only if no agent has joined, \
                 delete {} to make a new CA",
                pem_path.display(),
                key_path.display(),
                pem_path.display()
            )),
            (Some(_), None) => Err(format!(
                "{} exists but its certificate {} does not: restore it from a backup (an agent keeps a copy as \
                 STATE_DIR/ca.pem); only if no agent has joined, delete {} to make a new CA",
                key_path.display(),
                pem_path.display(),
                key_path.display()
            )),
        }
    }

    fn create(pem_path: &Path, key_path: &Path) -> Result<Authority, String> {
        let key = KeyPair::generate().map_err(|error| format!("cannot make the CA key: {error}"))?;
        let now = unix_now();
        let validity = (now.saturating_sub(BACKDATE), now.saturating_add(CA_LIFETIME));
        let certificate = ca_params(&key, Some(validity))
            .self_signed(&key)
            .map_err(|error| format!("cannot make the CA: {error}"))?;
        // The key first: a certificate without its key would refuse the next start.
        write_private(key_path, key.serialize_pem().as_bytes())?;
        write_public(pem_path, certificate.pem().as_bytes())?;
        let der = certificate.der().clone();
        tracing::info!("made a new CA in {}", pem_path.display());
        Ok(Authority { key, issuer: certificate, der })
    }

    /// A serving certificate for `names`, valid `lifetime` from now, signed by this CA.
    fn issue(&self, names: &[String], lifetime: Duration, provider: &CryptoProvider) -> Result<Issued, String> {
        let cannot = |error: &dyn fmt::Display| format!("cannot issue the serving certificate: {error}");
        let key = KeyPair::generate().map_err(|e| cannot(&e))?;
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        subject.push(DnType::OrganizationName, "Homeport");
        subject.push(DnType::CommonName, names.first().map_or("localhost", String::as_str));
        params.distinguished_name = subject;
        params.subject_alt_names = names.iter().filter_map(|name| san(name)).collect();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial().map_err(|e| cannot(&e))?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let now = unix_now();
        let not_after = now.saturating_add(lifetime);
        set_validity(&mut params, now.saturating_sub(BACKDATE), not_after);
        let certificate = params.signed_by(&key, &self.issuer, &self.key).map_err(|e| cannot(&e))?;
        let chain = vec![certificate.der().clone(), self.der.clone()];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let certified = CertifiedKey::from_der(chain, private, provider).map_err(|e| cannot(&e))?;
        Ok(Issued {
            key: Arc::new(certified),
            trust: Arc::new(Trust::of(pem_of(&self.der).into_bytes())),
            serial: hex(&serial),
            not_after: not_after.as_secs(),
            lifetime,
            private_pem: key.serialize_pem(),
        })
    }
}

/// The CA's parameters; its subject is derived from its key, so the CA can be rebuilt to sign
/// with from the key alone.
fn ca_params(key: &KeyPair, validity: Option<(Duration, Duration)>) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::OrganizationName, "Homeport");
    let id = Sha256::digest(key.public_key_der());
    subject.push(DnType::CommonName, format!("Homeport CA {}", hex(id.get(..4).unwrap_or_default())));
    params.distinguished_name = subject;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    if let Some((not_before, not_after)) = validity {
        set_validity(&mut params, not_before, not_after);
        if let Ok(serial) = random_serial() {
            params.serial_number = Some(SerialNumber::from_slice(&serial));
        }
    }
    params
}

/// The names every serving certificate carries: the host name, `localhost`, the loopback
/// addresses, then `hosts` (listen, public URL, registry) and the operator's `extra`, without
/// ports or repeats. A `--tls-san` that is neither a DNS name nor an IP address is refused.
pub fn certificate_names(hosts: &[String], extra: &[String]) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: String| {
        if !name.is_empty() && !names.iter().any(|known| known.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    };
    if let Some(host) = host_name() {
        add(host);
    }
    for fixed in ["localhost", "127.0.0.1", "::1"] {
        add(fixed.to_owned());
    }
    for host in hosts {
        let host = strip_port(host);
        if san(&host).is_some() && !host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified()) {
            add(host);
        }
    }
    for name in extra.iter().flat_map(|names| names.split(',')).map(str::trim).filter(|name| !name.is_empty()) {
        if san(name).is_none() {
            return Err(format!("--tls-san `{name}` is neither a DNS name nor an IP address"));
        }
        add(name.to_owned());
    }
    Ok(names)
}

/// `HOST` of `HOST:PORT`, `[V6]:PORT`, `[V6]`, `V6` or `HOST`.
fn strip_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    if host.parse::<IpAddr>().is_ok() {
        return host.to_owned();
    }
    host.rsplit_once(':').map_or(host, |(name, _port)| name).to_owned()
}

/// The SAN of a name: an IP address, or a DNS name (letters, digits, `-`, `.`, `*` first).
fn san(name: &str) -> Option<SanType> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(SanType::IpAddress(ip));
    }
    let valid = name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && (label == "*" || label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        });
    if !valid {
        return None;
    }
    rcgen::Ia5String::try_from(name.to_owned()).ok().map(SanType::DnsName)
}

/// This machine's host name, if it has a usable one.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_ascii_lowercase();
    san(&name).is_some().then_some(name)
}

/// Loads the operator's chain and key; the CA served is the chain's last certificate.
fn load_operator(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<Issued, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read the certificate chain {}: {error}", cert.display()))?;
    let (Some(leaf), Some(last)) = (chain.first(), chain.last()) else {
        return Err(format!("{} holds no PEM certificate", cert.display()));
    };
    let (serial, not_after) = describe(leaf);
    let trust = Arc::new(Trust::of(pem_of(last).into_bytes()));
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| format!("cannot read the private key {}: {error}", key.display()))?;
    let certified = CertifiedKey::from_der(chain, private, provider).map_err(|error| {
        format!("the key {} does not go with the certificate {}: {error}", key.display(), cert.display())
    })?;
    Ok(Issued {
        key: Arc::new(certified),
        trust,
        serial,
        not_after,
        lifetime: Duration::from_secs(not_after.saturating_sub(unix_now().as_secs())),
        private_pem: String::new(),
    })
}

/// A certificate's serial (hex) and not-after (seconds since the epoch), read from its DER by
/// hand (enough of X.509 to log them; `("?", 0)` when the shape is unexpected).
fn describe(certificate: &CertificateDer<'_>) -> (String, u64) {
    fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            let bytes = rest.get(..count)?;
            (bytes.iter().fold(0usize, |length, &byte| (length << 8) | usize::from(byte)), rest.get(count..)?)
        };
        Some((tag, rest.get(..length)?, rest.get(length..)?))
    }
    let parsed = (|| {
        let (_, certificate, _) = element(certificate.as_ref())?;
        let (_, tbs, _) = element(certificate)?;
        let mut rest = tbs;
        let (tag, _, after) = element(rest)?;
        if tag == 0xa0 {
            rest = after;
        }
        let (_, serial, rest) = element(rest)?;
        let (_, _algorithm, rest) = element(rest)?;
        let (_, _issuer, rest) = element(rest)?;
        let (_, validity, _) = element(rest)?;
        let (_, _not_before, validity) = element(validity)?;
        let (tag, not_after, _) = element(validity)?;
        Some((hex(serial), parse_time(tag, not_after)?))
    })();
    parsed.unwrap_or_else(|| ("?".to_owned(), 0))
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, 0x18).
fn parse_time(tag: u8, text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, rest) = match tag {
        0x17 => {
            let year = number(0..2)?;
            (if year < 50 { 2000 + year } else { 1900 + year }, 2)
        }
        0x18 => (number(0..4)?, 4),
        _ => return None,
    };
    let (month, day) = (number(rest..rest + 2)?, number(rest + 2..rest + 4)?);
    let (hour, minute, second) =
        (number(rest + 4..rest + 6)?, number(rest + 6..rest + 8)?, number(rest + 8..rest + 10)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
}

/// Verifies `key`'s chain against `ca` for `name`, as a client pinning `ca` would.
fn verify(
    key: &CertifiedKey,
    ca: &CertificateDer<'static>,
    name: &str,
    provider: &Arc<CryptoProvider>,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).map_err(|error| error.to_string())?;
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|error| error.to_string())?;
    let (leaf, intermediates) = key.cert.split_first().ok_or("an empty chain")?;
    let name = ServerName::try_from(name.to_owned()).map_err(|error| error.to_string())?;
    rustls::client::danger::ServerCertVerifier::verify_server_cert(
        verifier.as_ref(),
        leaf,
        intermediates,
        &name,
        &[],
        UnixTime::now(),
    )
    .map(|_| ())
    .map_err(|error| error.to_string())
}

/// Writes `server.pem` (the serving certificate, then the CA) and `server.key`.
fn write_serving(dir: &Path, issued: &Issued) -> Result<(), String> {
    let mut chain = String::new();
    for certificate in &issued.key.cert {
        chain.push_str(&pem_of(certificate));
    }
    // The key first: a certificate on disk always has its key beside it.
    write_private(&dir.join("server.key"), issued.private_pem.as_bytes())?;
    write_private(&dir.join("server.pem"), chain.as_bytes())
}

/// PEM of a certificate.
pub fn pem_of(certificate: &CertificateDer<'_>) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Replaces `path` with `contents`, readable by Homeport's user only, atomically (a
/// temporary file renamed over it).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    write_atomically(path, contents, 0o600)
}

/// Replaces `path` with `contents` (a certificate: anyone may read it), atomically.
fn write_public(path: &Path, contents: &[u8]) -> Result<(), String> {
    write_atomically(path, contents, 0o644)
}

fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let cannot = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary).map_err(cannot)?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(cannot)?;
    std::fs::rename(&temporary, path).map_err(cannot)
}

/// rustls with aws-lc-rs, its default provider (post-quantum hybrid key exchange preferred;
/// ARCHITECTURE.md records the choice).
fn crypto_provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Sets a certificate's validity (times since the epoch, to the second).
fn set_validity(params: &mut CertificateParams, not_before: Duration, not_after: Duration) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(not_before.as_secs());
    params.not_after = epoch + Duration::from_secs(not_after.as_secs());
}

/// 16 random bytes, the first bit clear (a positive DER integer).
fn random_serial() -> Result<[u8; 16], crate::ids::NoRandomness> {
    let mut serial = [0u8; 16];
    getrandom::getrandom(&mut serial).map_err(|_| crate::ids::NoRandomness)?;
    if let Some(first) = serial.first_mut() {
        *first &= 0x7f;
        *first |= 0x01;
    }
    Ok(serial)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn fresh(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("homeport-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn own(names: &[&str], lifetime: u64) -> Source {
        Source::Own {
            names: names.iter().map(|name| (*name).to_owned()).collect(),
            lifetime: Duration::from_secs(lifetime),
        }
    }

    /// A TLS handshake in memory with `config`, the client trusting `ca` and asking for
    /// `name`: the certificate the server presented, or the client's error.
    fn handshake(config: Arc<rustls::ServerConfig>, ca: &[u8], name: &str) -> Result<CertificateDer<'static>, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca).unwrap()).unwrap();
        let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut client =
            rustls::ClientConnection::new(Arc::new(client_config), ServerName::try_from(name.to_owned()).unwrap())
                .unwrap();
        let mut server = rustls::ServerConnection::new(config).unwrap();
        for _ in 0..10 {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut wire.as_slice()).unwrap();
            server.process_new_packets().map_err(|error| error.to_string())?;
            let mut wire = Vec::new();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut wire.as_slice()).unwrap();
            client.process_new_packets().map_err(|error| error.to_string())?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(client.peer_certificates().unwrap()[0].clone().into_owned());
            }
        }
        Err("the handshake did not finish".to_owned())
    }

    #[test]
    fn the_names_are_the_usual_ones_then_the_hosts_and_the_operators() {
        let hosts = [
            "0.0.0.0".to_owned(),
            "cp.example:7780".to_owned(),
            "[fd00::1]:7780".to_owned(),
            "10.0.0.5:7780".to_owned(),
        ];
        let names = certificate_names(&hosts, &["a.example, 192.0.2.7".to_owned(), "LOCALHOST".to_owned()]).unwrap();
        let from = names.iter().position(|name| name == "localhost").unwrap();
        assert_eq!(
            names[from..],
            ["localhost", "127.0.0.1", "::1", "cp.example", "fd00::1", "10.0.0.5", "a.example", "192.0.2.7"],
            "no wildcard address, no ports, no repeats (case-insensitively)"
        );
        for refused in ["a b", "x_y.example", "http://a", "a..b"] {
            let error = certificate_names(&[], &[refused.to_owned()]).unwrap_err();
            assert!(error.contains(&format!("`{refused}`")), "{error}");
        }
    }

    #[test]
    fn the_ca_is_made_once_and_signs_a_certificate_for_every_name() {
        let dir = fresh("own");
        let tls = Tls::start(own(&["cp.example", "192.0.2.7"], 3600), &dir, &["127.0.0.1:7780".to_owned()]).unwrap();
        let tls_dir = dir.join("tls");
        assert_eq!(mode(&tls_dir), 0o700);
        assert_eq!((mode(&tls_dir.join("ca.key")), mode(&tls_dir.join("server.key"))), (0o600, 0o600));
        assert_eq!(mode(&tls_dir.join("server.pem")), 0o600);
        let ca = std::fs::read(tls_dir.join("ca.pem")).unwrap();
        let trust = tls.trust();
        assert_eq!(trust.pem, ca, "/cacerts serves exactly ca.pem");
        assert_eq!(trust.fingerprint, hex(&Sha256::digest(&ca)));
        assert_eq!(trust.fingerprint.len(), 64);
        assert_eq!(tls.ca_file(), tls_dir.join("ca.pem"));

        let config = tls.server_config().unwrap();
        for name in ["localhost", "127.0.0.1", "::1", "cp.example", "192.0.2.7"] {
            handshake(Arc::clone(&config), &ca, name).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        let error = handshake(Arc::clone(&config), &ca, "elsewhere.example").unwrap_err();
        assert!(error.contains("not valid for name"), "{error}");
        // server.pem is the chain served: the serving certificate, then the CA.
        let saved: Vec<_> =
            CertificateDer::pem_file_iter(tls_dir.join("server.pem")).unwrap().map(Result::unwrap).collect();
        assert_eq!(saved.len(), 2);
        assert_eq!(saved[1], CertificateDer::from_pem_slice(&ca).unwrap());
        assert_eq!(saved[0], handshake(Arc::clone(&config), &ca, "localhost").unwrap());
        drop(tls);

        // The next start keeps the CA and issues a new serving certificate, which verifies.
        let first_leaf = saved[0].clone();
        let again = Tls::start(own(&[], 3600), &dir, &[]).unwrap();
        assert_eq!(std::fs::read(tls_dir.join("ca.pem")).unwrap(), ca, "the CA is never replaced");
        assert_eq!(again.trust().fingerprint, trust.fingerprint);
        let leaf = handshake(again.server_config().unwrap(), &ca, "localhost").unwrap();
        assert_ne!(leaf, first_leaf, "a new serving certificate at every start");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_that_cannot_be_used_refuses_the_start_and_is_left_alone() {
        let dir = fresh("broken");
        drop(Tls::start(own(&[], 3600), &dir, &[]).unwrap());
        let (pem, key) = (dir.join("tls/ca.pem"), dir.join("tls/ca.key"));
        let (ca, right) = (std::fs::read(&pem).unwrap(), std::fs::read(&key).unwrap());

        std::fs::write(&key, "not a key\n").unwrap();
        let error = Tls::start(own(&[], 3600), &dir, &[]).unwrap_err();
        assert!(error.contains("is not a PEM private key") && error.contains("orphan"), "{error}");
        assert_eq!(std::fs::read(&key).unwrap(), b"not a key\n", "the key file is left as it was");

        // Another CA's key beside this certificate.
        let other = fresh("broken-other");
        drop(Tls::start(own(&[], 3600), &other, &[]).unwrap());
        std::fs::copy(other.join("tls/ca.key"), &key).unwrap();
        let error = Tls::start(own(&[], 3600), &dir, &[]).unwrap_err();
        assert!(error.contains("does not verify against"), "{error}");

        std::fs::remove_file(&key).unwrap();
        let error = Tls::start(own(&[], 3600), &dir, &[]).unwrap_err();
        assert!(error.contains("exists but its key"), "{error}");
        std::fs::write(&key, &right).unwrap();
        std::fs::remove_file(&pem).unwrap();
        let error = Tls::start(own(&[], 3600), &dir, &[]).unwrap_err();
        assert!(error.contains("exists but its certificate"), "{error}");

        std::fs::write(&pem, &ca).unwrap();
        assert_eq!(Tls::start(own(&[], 3600), &dir, &[]).unwrap().trust().pem, ca, "the pair restored is used");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&other).unwrap();
    }

    #[test]
    fn a_renewal_swaps_what_new_handshakes_get() {
        let dir = fresh("renew");
        let tls = Tls::start(own(&[], 30), &dir, &[]).unwrap();
        let config = tls.server_config().unwrap();
        let ca = tls.trust().pem.clone();
        let before = handshake(Arc::clone(&config), &ca, "localhost").unwrap();
        let held = tls.current.read().unwrap().key.clone();
        assert_eq!(tls.renew().unwrap(), Duration::from_secs(30));
        let after = handshake(Arc::clone(&config), &ca, "localhost").unwrap();
        assert_ne!(before, after, "the same configuration now presents the renewed certificate");
        assert_eq!(held.cert[0], before, "what a connection holds is not touched");
        let saved = CertificateDer::pem_file_iter(dir.join("tls/server.pem")).unwrap().next().unwrap().unwrap();
        assert_eq!(saved, after, "server.pem is the renewed certificate");
        assert_eq!(tls.trust().pem, ca, "the CA stays");
        assert_eq!(renewal_delay(Duration::from_secs(90)), Duration::from_secs(60));
        let (serial, not_after) = describe(&after);
        assert_eq!(serial.len(), 32);
        let now = unix_now().as_secs();
        assert!((now + 25..=now + 31).contains(&not_after), "{not_after} vs {now}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An operator's chain: a CA of its own signing a leaf for `localhost`.
    fn operator_files(dir: &Path, tag: &str) -> (PathBuf, PathBuf, String) {
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params(&ca_key, None).self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
        let (cert_path, key_path) = (dir.join(format!("{tag}.pem")), dir.join(format!("{tag}.key")));
        std::fs::write(&cert_path, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path, ca.pem())
    }

    #[test]
    fn an_operators_certificate_is_served_and_reloaded_and_a_bad_one_is_not() {
        let dir = fresh("operator");
        let (cert, key, ca) = operator_files(&dir, "one");
        let tls = Tls::start(Source::Operator { cert: cert.clone(), key: key.clone() }, &dir, &[]).unwrap();
        assert_eq!(tls.trust().pem, pem_of(&CertificateDer::from_pem_slice(ca.as_bytes()).unwrap()).into_bytes());
        assert_eq!(std::fs::read(tls.ca_file()).unwrap(), tls.trust().pem, "operator-ca.pem is what /cacerts serves");
        assert!(!dir.join("tls/ca.key").exists(), "no CA of our own is made");
        let config = tls.server_config().unwrap();
        handshake(Arc::clone(&config), ca.as_bytes(), "localhost").unwrap();

        // A key that is not the certificate's: refused, the old pair still served.
        let (_, other_key, _) = operator_files(&dir, "two");
        std::fs::copy(&other_key, &key).unwrap();
        let error = tls.reload(&cert, &key, "on SIGHUP").unwrap_err();
        assert!(error.contains("does not go with the certificate"), "{error}");
        handshake(Arc::clone(&config), ca.as_bytes(), "localhost").unwrap();

        // A new pair from another CA: served from now on.
        let (three, three_key, three_ca) = operator_files(&dir, "three");
        std::fs::copy(&three, &cert).unwrap();
        std::fs::copy(&three_key, &key).unwrap();
        tls.reload(&cert, &key, "after a change").unwrap();
        handshake(Arc::clone(&config), three_ca.as_bytes(), "localhost").unwrap();
        assert!(handshake(Arc::clone(&config), ca.as_bytes(), "localhost").is_err());
        assert_eq!(std::fs::read(tls.ca_file()).unwrap(), tls.trust().pem);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn time_fields_are_read_back_as_written() {
        assert_eq!(parse_time(0x17, b"261207061000Z"), Some(1_796_623_800));
        assert_eq!(parse_time(0x18, b"20261207061000Z"), Some(1_796_623_800));
        assert_eq!(parse_time(0x18, b"19700101000000Z"), Some(0));
        assert_eq!(parse_time(0x17, b"2612"), None);
    }
}
