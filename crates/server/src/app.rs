//! The control plane's state and its start: data directory, master key, store, account and
//! root credentials.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aws_protocol::SigningKeyCache;
use store::seal::{Sealer, write_private};
use store::{Store, Value};

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
    /// `HOST:PORT` Docker reaches the registry at (repository URIs start with it); `None`
    /// for the listen address, with an unspecified IP replaced by 127.0.0.1.
    pub registry_host: Option<String>,
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
    /// Wake-ups for the ECS agents' long polls.
    pub ecs_channels: crate::ecs_channel::Channels,
    /// Seconds without a poll after which a container instance's service tasks are replaced.
    pub instance_disconnect_timeout: i64,
    /// ECR's layer files.
    pub registry: crate::registry::blobs::Blobs,
    /// `HOST:PORT` of the registry, the start of every repository URI (set once listening).
    pub registry_host: String,
}

/// What the first start created, to tell the operator once.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub credentials_file: PathBuf,
    pub access_key_id: String,
}

/// Why the server cannot start, with what to do about it.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

fn start_error(context: &str) -> impl Fn(&dyn std::fmt::Display) -> StartError + '_ {
    move |error| StartError(format!("{context}: {error}"))
}

impl App {
    /// Opens (or creates) the data directory, the store and the account.
    pub async fn start(config: &Config) -> Result<(App, Option<FirstStart>), StartError> {
        create_private_dir(&config.data_dir)
            .map_err(|e| start_error(&format!("cannot create the data directory {}", config.data_dir.display()))(&e))?;
        let sealer = match std::env::var("HOMEPORT_MASTER_KEY") {
            Ok(hex) => Sealer::from_hex(&hex).map_err(|e| start_error("HOMEPORT_MASTER_KEY")(&e))?,
            Err(_) => Sealer::from_key_file(&config.data_dir.join("master.key"))
                .map_err(|e| start_error("cannot load the master key")(&e))?,
        };
        let store_url = match &config.store_url {
            Some(url) => url.clone(),
            None => config.data_dir.join("homeport.db").to_string_lossy().into_owned(),
        };
        let store = Store::open(&store_url).await.map_err(|e| start_error("cannot open the store")(&e))?;
        store.migrate(crate::schema::MIGRATIONS).await.map_err(|e| start_error("cannot migrate the store")(&e))?;
        crate::principals::bind_stored(&store)
            .await
            .map_err(|e| start_error("cannot bind stored policies' principals")(&e.message))?;
        let audit = crate::audit::AuditLog::open(&config.data_dir, store.clone()).await.map_err(StartError)?;
        let account_id = ensure_account(&store, config.account_id.as_deref()).await?;
        let registry = crate::registry::blobs::Blobs::open(&config.data_dir)
            .map_err(|e| start_error("cannot open the registry's directory")(&e))?;
        // Uploads abandoned for over a day: their files went with `Blobs::open`.
        store
            .execute("DELETE FROM ecr_uploads WHERE created_at < ?", vec![Value::Int(ids::now() - 24 * 3600)])
            .await
            .map_err(|e| start_error("cannot clean the registry's uploads")(&e))?;
        let app = App {
            store,
            audit,
            sealer,
            signing_keys: SigningKeyCache::new(),
            cache: crate::cache::IamCache::default(),
            region: config.region.clone(),
            account_id,
            instance_ping_timeout: config.instance_ping_timeout,
            ecs_channels: crate::ecs_channel::Channels::default(),
            instance_disconnect_timeout: config.instance_disconnect_timeout,
            registry,
            registry_host: config.registry_host.clone().unwrap_or_else(|| registry_host(config.listen)),
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
        let access_key_id = ids::access_key_id().map_err(|e| start_error("cannot create root credentials")(&e))?;
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

/// Creates `path` (and its parents) readable by Homeport's user only.
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}
