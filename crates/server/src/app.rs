//! The control plane's state and its start: data directory, master key, store, account and
//! root credentials.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aws_protocol::{AwsError, SigningKeyCache};
use store::seal::{Sealer, write_private};
use store::{Store, Value};

use crate::data_dir::{create_private_dir, make_private};
use crate::errors::{StartError, start_error};
use crate::ids;

/// How the server is configured (flags, `HOMEPORT_*` variables or the config file).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://...`; `None` for the embedded SQLite database in the data directory.
    pub store_url: Option<String>,
    pub region: String,
    /// The account id to create on first start; `None` picks a random one.
    pub account_id: Option<String>,
    /// Seconds without a heartbeat after which a managed instance is `ConnectionLost`.
    pub instance_ping_timeout: i64,
    /// Seconds without a poll after which a container instance's service tasks are replaced.
    pub instance_disconnect_timeout: i64,
    /// Days of use access advisor reports (its tracking period; AWS's is 400), and after
    /// which recorded use is forgotten.
    pub access_advisor_days: i64,
    /// Access Analyzer's quotas: policy generations an account may start a day (AWS: 50), and
    /// the most days one may read (AWS: 90).
    pub policy_generations_per_day: i64,
    pub policy_generation_days: i64,
    /// `HOST:PORT` Docker reaches the registry at (repository URIs start with it); `None`
    /// for the listen address, with an unspecified IP replaced by 127.0.0.1.
    pub registry_host: Option<String>,
    /// `https://HOST[:PORT]` (`http://` too with `insecure_http`) agents reach this server
    /// at, written into `/install.sh`; `None` for [`default_public_url`] of the listen
    /// address. Never taken from a request.
    pub public_url: Option<String>,
    /// Serve plain HTTP instead of TLS (`--insecure-http`): everything crosses the network in
    /// clear.
    pub insecure_http: bool,
    /// DNS names or IP addresses added to the serving certificate (`--tls-san`).
    pub tls_sans: Vec<String>,
    /// The operator's certificate chain and key (`--tls-cert`, `--tls-key`), served instead
    /// of a certificate of this data directory's CA.
    pub tls_cert: Option<(PathBuf, PathBuf)>,
    /// How long a serving certificate of our own is valid (renewed when a third is left).
    pub tls_cert_lifetime: std::time::Duration,
}

impl Config {
    /// `https`, or `http` with `insecure_http`.
    pub fn scheme(&self) -> &'static str {
        if self.insecure_http { "http" } else { "https" }
    }
}

/// Everything a request needs, shared by all of them.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    /// The audit trail (this data directory's journal and its importer).
    pub audit: crate::audit::AuditLog,
    pub sealer: Sealer,
    pub signing_keys: SigningKeyCache,
    pub cache: crate::cache::IamCache,
    pub region: String,
    pub account_id: String,
    /// Seconds without a heartbeat after which a managed instance is `ConnectionLost`.
    pub instance_ping_timeout: i64,
    /// Seconds without a poll after which a container instance's service tasks are replaced.
    pub instance_disconnect_timeout: i64,
    /// Days of use access advisor reports, and after which recorded use is forgotten.
    pub access_advisor_days: i64,
    /// Access Analyzer's quotas (see [`Config`]).
    pub policy_generations_per_day: i64,
    pub policy_generation_days: i64,
    /// What services keep for the life of the server (see [`ServiceState`]).
    pub service_state: ServiceState,
    /// `HOST:PORT` of the registry, the start of every repository URI (set once listening).
    pub registry_host: String,
    /// `https://HOST[:PORT]` agents reach this server at (set once listening).
    pub public_url: String,
    /// `https`, or `http` when serving plain HTTP: the scheme of the URLs handed out (ECR's
    /// endpoints, the registry's token realm).
    pub scheme: &'static str,
    /// The serving certificate and the CA `/cacerts` serves; `None` with plain HTTP.
    pub tls: Option<std::sync::Arc<crate::tls::Tls>>,
}

/// State a service keeps for the life of the server (the ECS agents' wake-ups, the
/// registry's layer files), held by type so that no infrastructure module names a service.
/// The root (`services::start`) provides every value before the server takes a request, and
/// nothing changes it after: a service reads its state without a lock.
#[derive(Default)]
pub struct ServiceState(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl ServiceState {
    /// Holds `value` as the server's one `T`, replacing any before.
    pub fn provide<T: Any + Send + Sync>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// The server's `T`, an internal error if none was provided at start.
    pub fn get<T: Any + Send + Sync>(&self) -> Result<&T, AwsError> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .ok_or_else(|| crate::errors::internal(format!("no {} was provided at start", std::any::type_name::<T>())))
    }
}

impl std::fmt::Debug for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceState({} values)", self.0.len())
    }
}

/// What the first start created, to tell the operator once.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub credentials_file: PathBuf,
    pub access_key_id: String,
}

impl App {
    /// Opens (or creates) the data directory, the store and the account.
    pub async fn start(config: &Config) -> Result<(App, Option<FirstStart>), StartError> {
        create_private_dir(&config.data_dir)
            .map_err(|e| start_error(&format!("cannot create the data directory {}", config.data_dir.display()))(&e))?;
        for change in make_private(&config.data_dir)? {
            tracing::info!("{change}");
        }
        let (sealer, key_source) = crate::master_key::load(&config.data_dir)?;
        let store_url = match &config.store_url {
            Some(url) => url.clone(),
            None => config.data_dir.join("homeport.db").to_string_lossy().into_owned(),
        };
        if !crate::regions::is_region(&config.region) {
            let named = format!("'{}' is not a region name such as us-east-1 or eu-west-2", config.region);
            return Err(start_error("--region")(&named));
        }
        let store = Store::open(&store_url).await.map_err(|e| start_error("cannot open the store")(&e))?;
        crate::schema::migrate(&store, &config.region)
            .await
            .map_err(|e| start_error("cannot migrate the store")(&e))?;
        crate::master_key::verify(&store, &sealer, &key_source).await?;
        crate::principals::bind_stored(&store)
            .await
            .map_err(|e| start_error("cannot bind stored policies' principals")(&e.message))?;
        let audit = crate::audit::AuditLog::open(&config.data_dir, store.clone()).await.map_err(StartError)?;
        let account_id = ensure_account(&store, config.account_id.as_deref()).await?;
        // Nodes elsewhere name images by the registry's address: without --registry-host, the
        // address they reach this server at (the public URL's), else the listen address.
        let registry_host = config
            .registry_host
            .clone()
            .or_else(|| config.public_url.as_deref().map(|url| url_host(url).to_owned()))
            .unwrap_or_else(|| registry_host(config.listen));
        let public_url =
            config.public_url.clone().unwrap_or_else(|| default_public_url(config.listen, config.scheme()));
        let tls = if config.insecure_http {
            None
        } else {
            let source = match &config.tls_cert {
                Some((cert, key)) => crate::tls::Source::Operator { cert: cert.clone(), key: key.clone() },
                None => crate::tls::Source::Own { names: config.tls_sans.clone(), lifetime: config.tls_cert_lifetime },
            };
            let hosts = [config.listen.ip().to_string(), url_host(&public_url).to_owned(), registry_host.clone()];
            Some(crate::tls::Tls::start(source, &config.data_dir, &hosts).map_err(StartError)?)
        };
        let app = App {
            store,
            audit,
            sealer,
            signing_keys: SigningKeyCache::new(),
            cache: crate::cache::IamCache::default(),
            region: config.region.clone(),
            account_id,
            instance_ping_timeout: config.instance_ping_timeout,
            instance_disconnect_timeout: config.instance_disconnect_timeout,
            access_advisor_days: config.access_advisor_days,
            policy_generations_per_day: config.policy_generations_per_day,
            policy_generation_days: config.policy_generation_days,
            service_state: ServiceState::default(),
            registry_host,
            public_url,
            scheme: config.scheme(),
            tls,
        };
        let first_start = app.ensure_root_credentials(&config.data_dir).await?;
        Ok((app, first_start))
    }

    /// Creates the root access key and its credentials file, unless the account has one.
    async fn ensure_root_credentials(&self, data_dir: &Path) -> Result<Option<FirstStart>, StartError> {
        let existing = self
            .store
            .query(
                "SELECT access_key_id FROM access_keys WHERE account_id = ? AND user_name_key IS NULL",
                vec![self.account_id.as_str().into()],
            )
            .await
            .map_err(|e| start_error("cannot read the root credentials")(&e))?;
        if !existing.is_empty() {
            return Ok(None);
        }
        let access_key_id =
            ids::access_key_id(&self.account_id).map_err(|e| start_error("cannot create root credentials")(&e))?;
        let secret = ids::secret_access_key().map_err(|e| start_error("cannot create root credentials")(&e))?;
        let credentials_file = data_dir.join("root-credentials");
        // Write the file first: a key nobody can read back would be useless.
        let _ = std::fs::remove_file(&credentials_file);
        write_private(
            &credentials_file,
            &format!("[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"),
        )
        .map_err(|e| start_error(&format!("cannot write {}", credentials_file.display()))(&e))?;
        let sealed = self.sealer.seal(secret.as_bytes(), &access_key_id).map_err(|e| start_error("cannot seal")(&e))?;
        self.store
            .execute(
                "INSERT INTO access_keys (access_key_id, account_id, user_name_key, secret_sealed, status, created_at) VALUES (?, ?, NULL, ?, 'Active', ?)",
                vec![access_key_id.as_str().into(), self.account_id.as_str().into(), sealed.into(), Value::Int(ids::now())],
            )
            .await
            .map_err(|e| start_error("cannot store the root credentials")(&e))?;
        Ok(Some(FirstStart { credentials_file, access_key_id }))
    }
}

/// The registry address for a listen address: an unspecified IP becomes 127.0.0.1 (which
/// Docker also treats as an insecure, plain-HTTP registry).
pub fn registry_host(listen: SocketAddr) -> String {
    if listen.ip().is_unspecified() { format!("127.0.0.1:{}", listen.port()) } else { listen.to_string() }
}

/// `HOST[:PORT]` of a URL of [`parse_public_url`]'s shape.
pub fn url_host(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, host)| host)
}

/// The address agents are told to reach this server at when `--public-url` is not given:
/// `scheme://` and the listen address, an unspecified IP replaced by this machine's host name
/// (127.0.0.1 when it has none).
pub fn default_public_url(listen: SocketAddr, scheme: &str) -> String {
    if !listen.ip().is_unspecified() {
        return format!("{scheme}://{listen}");
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| check_host(name).is_ok())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    format!("{scheme}://{host}:{}", listen.port())
}

/// A host (name, IPv4, or `[IPv6]`, with an optional port) safe to write into a script.
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c)) {
        return Err(format!("`{host}` is not a host name or address (letters, digits, `.`, `-`, `:`, `[`, `]`)"));
    }
    Ok(())
}

/// Checks a `--public-url`: `https://HOST[:PORT]`, nothing after it; returns it without a
/// trailing slash. `http://` is accepted only when the server serves plain HTTP
/// (`insecure_http`), where `https://` stays allowed for a TLS-terminating proxy in front.
pub fn parse_public_url(url: &str, insecure_http: bool) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let host = match (trimmed.strip_prefix("https://"), trimmed.strip_prefix("http://")) {
        (Some(host), _) => host,
        (None, Some(host)) if insecure_http => host,
        (None, Some(_)) => {
            return Err(format!(
                "public_url `{url}`: this server serves HTTPS; give https://HOST[:PORT] (http:// only with \
                 --insecure-http)"
            ));
        }
        (None, None) => return Err(format!("public_url `{url}` must be https://HOST[:PORT]")),
    };
    check_host(host).map_err(|error| format!("public_url `{url}`: {error}"))?;
    Ok(trimmed.to_owned())
}

async fn ensure_account(store: &Store, wanted: Option<&str>) -> Result<String, StartError> {
    let rows = store
        .query("SELECT account_id FROM accounts", vec![])
        .await
        .map_err(|e| start_error("cannot read the account")(&e))?;
    if let Some(row) = rows.first() {
        let existing = row.text(0).map_err(|e| start_error("cannot read the account")(&e))?;
        return match wanted {
            Some(wanted) if wanted != existing => Err(StartError(format!(
                "this data belongs to account {existing}, not {wanted}: drop --account-id or use another --data-dir"
            ))),
            _ => Ok(existing),
        };
    }
    let account_id = match wanted {
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => id.to_owned(),
        Some(id) => return Err(StartError(format!("--account-id must be 12 digits, not `{id}`"))),
        None => ids::account_id().map_err(|e| start_error("cannot create the account")(&e))?,
    };
    store
        .execute(
            "INSERT INTO accounts (account_id, created_at) VALUES (?, ?)",
            vec![account_id.as_str().into(), Value::Int(ids::now())],
        )
        .await
        .map_err(|e| start_error("cannot create the account")(&e))?;
    Ok(account_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn an_existing_data_dir_and_its_secrets_are_made_private() {
        let dir = std::env::temp_dir().join(format!("homeport-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("master.key"), "00\n").unwrap();
        std::fs::set_permissions(dir.join("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(dir.join("root-credentials"), "x").unwrap();
        std::fs::set_permissions(dir.join("root-credentials"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::create_dir_all(dir.join("tls")).unwrap();
        std::fs::write(dir.join("tls/ca.key"), "x").unwrap();
        std::fs::set_permissions(dir.join("tls/ca.key"), std::fs::Permissions::from_mode(0o640)).unwrap();

        let changes = make_private(&dir).unwrap();
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(changes[0].ends_with("was mode 0755, open to other users: set it to 0700"), "{changes:?}");
        assert!(changes[1].contains("master.key was mode 0644"), "{changes:?}");
        assert!(changes[3].contains("ca.key was mode 0640"), "{changes:?}");
        assert_eq!(
            (mode(&dir), mode(&dir.join("master.key")), mode(&dir.join("root-credentials"))),
            (0o700, 0o600, 0o600)
        );
        assert_eq!((mode(&dir.join("tls")), mode(&dir.join("tls/ca.key"))), (0o700, 0o600));
        assert!(make_private(&dir).unwrap().is_empty(), "nothing left to change");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_public_url_is_an_https_address_and_never_a_wildcard() {
        assert_eq!(parse_public_url("https://cp.example:7780/", false).unwrap(), "https://cp.example:7780");
        assert_eq!(parse_public_url("https://[fd00::1]:7780", false).unwrap(), "https://[fd00::1]:7780");
        // Plain HTTP only when the server serves it; https stays allowed there (a proxy in front).
        assert!(parse_public_url("http://cp.example:7780", false).unwrap_err().contains("--insecure-http"));
        assert_eq!(parse_public_url("http://cp.example:7780", true).unwrap(), "http://cp.example:7780");
        assert_eq!(parse_public_url("https://cp.example", true).unwrap(), "https://cp.example");
        for refused in ["cp:7780", "ftp://cp", "https://", "https://cp/path", "https://a\"$(id)\"", "https://a b"] {
            assert!(parse_public_url(refused, false).is_err(), "{refused}");
            assert!(parse_public_url(refused, true).is_err(), "{refused}");
        }
        assert_eq!(default_public_url("127.0.0.1:7780".parse().unwrap(), "https"), "https://127.0.0.1:7780");
        assert_eq!(default_public_url("127.0.0.1:7780".parse().unwrap(), "http"), "http://127.0.0.1:7780");
        let wildcard = default_public_url("0.0.0.0:7780".parse().unwrap(), "https");
        assert!(wildcard.starts_with("https://") && wildcard.ends_with(":7780") && !wildcard.contains("0.0.0.0"));
    }
}
