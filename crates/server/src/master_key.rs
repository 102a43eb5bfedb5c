//! The master key a store belongs to. Secrets are sealed with a key kept outside the
//! database; a replica started with another key would open none of them and refuse every
//! caller as `InvalidClientTokenId`. So the database keeps a check value (a known text
//! sealed with its key, and that key's id, never the key or a hash of it), and a start with
//! a key that does not open it is refused, saying which key is expected and where the
//! rejected one came from.

use std::path::{Path, PathBuf};

use store::seal::{SealError, Sealer};
use store::{Store, StoreError, Value};

use crate::errors::StartError;

/// What the check value seals, and the context it is sealed for.
const KNOWN_TEXT: &[u8] = b"homeport master key check";
const CONTEXT: &str = "master-key-check";

/// Where the master key came from, for messages.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The `HOMEPORT_MASTER_KEY` environment variable.
    Environment,
    /// A key file (the data directory's `master.key`).
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Environment => f.write_str("the HOMEPORT_MASTER_KEY environment variable"),
            KeySource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Loads the master key: `HOMEPORT_MASTER_KEY` if set, else `DATA_DIR/master.key` (created
/// on first start).
pub fn load(data_dir: &Path) -> Result<(Sealer, KeySource), StartError> {
    match std::env::var("HOMEPORT_MASTER_KEY") {
        Ok(hex) => Sealer::from_hex(&hex)
            .map(|sealer| (sealer, KeySource::Environment))
            .map_err(|error| StartError(format!("HOMEPORT_MASTER_KEY: {error}"))),
        Err(_) => {
            let path = data_dir.join("master.key");
            Sealer::from_key_file(&path)
                .map(|sealer| (sealer, KeySource::File(path)))
                .map_err(|error| StartError(format!("cannot load the master key: {error}")))
        }
    }
}

fn unreadable(error: impl std::fmt::Display) -> StartError {
    StartError(format!("cannot read the master key check: {error}"))
}

/// Refuses to start when `sealer` is not the key this store's secrets are sealed with, and
/// records the check value when the store has none yet (a new database, or one created
/// before the check existed: its sealed secrets are tried first).
pub async fn verify(store: &Store, sealer: &Sealer, source: &KeySource) -> Result<(), StartError> {
    let wrong_key = |expected: &str| {
        StartError(format!(
            "the master key in {source} (key id {}) is not the one this database was created with (key id {expected}): \
             its secrets would not open and every caller would be refused. Start with that key \
             (HOMEPORT_MASTER_KEY, or master.key in the data directory), or with the database made \
             with this one (--store, --data-dir)",
            sealer.key_id()
        ))
    };
    loop {
        let rows = store
            .query("SELECT key_id, sealed FROM master_key_check WHERE id = 1", vec![])
            .await
            .map_err(unreadable)?;
        if let Some(row) = rows.first() {
            let expected = row.text(0).map_err(unreadable)?;
            let sealed = row.blob(1).map_err(unreadable)?;
            return match sealer.open(&sealed, CONTEXT) {
                Ok(text) if text == KNOWN_TEXT => Ok(()),
                Ok(_) | Err(SealError::Tampered) => Err(wrong_key(&expected)),
                Err(error) => Err(unreadable(error)),
            };
        }
        // No check value yet. A database that holds sealed secrets already (created before
        // the check) must open with this key before the check is made from it.
        let secrets = store
            .query("SELECT access_key_id, secret_sealed FROM access_keys ORDER BY created_at LIMIT 1", vec![])
            .await
            .map_err(unreadable)?;
        if let Some(row) = secrets.first() {
            let (id, sealed) = (row.text(0).map_err(unreadable)?, row.blob(1).map_err(unreadable)?);
            if sealer.open(&sealed, &id).is_err() {
                return Err(wrong_key("unknown: the database predates the check, and its secrets do not open"));
            }
        }
        let sealed = sealer.seal(KNOWN_TEXT, CONTEXT).map_err(unreadable)?;
        let recorded = store
            .execute(
                "INSERT INTO master_key_check (id, key_id, sealed, created_at) VALUES (1, ?, ?, ?)",
                vec![sealer.key_id().into(), sealed.into(), Value::Int(crate::ids::now())],
            )
            .await;
        match recorded {
            Ok(_) => return Ok(()),
            // Another replica recorded its key first: check against it.
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(StartError(format!("cannot record the master key check: {error}"))),
        }
    }
}
