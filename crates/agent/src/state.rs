//! The agent's state directory: what registration leaves behind and `run` reads.
//!
//! Layout (default [`DEFAULT_STATE_DIR`]; the directory itself is mode 0700):
//! - `instance.json`: the instance id, region, endpoint, cluster, activation id and
//!   fingerprint; its presence is what "registered" means;
//! - `instance.key`: the Ed25519 private key seed (base64), mode 0600;
//! - `credentials`: the activation role's current credentials in the AWS shared-credentials
//!   format, mode 0600 (written by [`crate::credentials`]).
//!
//! Guarantees: a file is replaced whole or not at all (written to a temporary file in the
//! same directory, synced, renamed over the old one, the directory synced), and it is
//! created with its final mode, so a secret is never readable by others even for a moment.
//! The directory is created 0700, and tightened to 0700 when it already exists.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the agent keeps its state unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/homeport-agent";

const INSTANCE_FILE: &str = "instance.json";
const KEY_FILE: &str = "instance.key";
const CREDENTIALS_FILE: &str = "credentials";

/// What registration learned, kept in `instance.json`. No secret lives here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// `mi-` and 17 hex digits.
    pub instance_id: String,
    pub region: String,
    /// The control plane, `http://HOST:PORT`.
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Custom container instance attributes given at registration (`--attribute`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<crate::ecs_registration::Attribute>,
    pub activation_id: String,
    /// The identifier sent with every token request (see [`crate::register`]).
    pub fingerprint: String,
    /// Seconds since the epoch.
    pub registered_at: i64,
}

/// An I/O failure on a state file, with the path and what was being done.
#[derive(Debug)]
pub struct StateError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} {}: {}", self.action, self.path.display(), self.source)
    }
}

impl std::error::Error for StateError {}

/// A state directory that exists with mode 0700.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// Creates the directory (and its parents) if needed and makes it 0700.
    pub fn create(path: &Path) -> Result<StateDir, StateError> {
        let error = |action, source| StateError { action, path: path.to_owned(), source };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| error("create the state directory", source))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| error("restrict the state directory", source))?;
        Ok(StateDir { path: path.to_owned() })
    }

    /// The directory as it is, for reading; nothing is created.
    pub fn existing(path: &Path) -> StateDir {
        StateDir { path: path.to_owned() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn instance_path(&self) -> PathBuf {
        self.path.join(INSTANCE_FILE)
    }

    pub fn key_path(&self) -> PathBuf {
        self.path.join(KEY_FILE)
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.path.join(CREDENTIALS_FILE)
    }

    /// The registered instance, or `None` if this directory holds no registration.
    pub fn load_instance(&self) -> Result<Option<Instance>, StateError> {
        let path = self.instance_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError { action: "read", path, source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|error| StateError {
            action: "parse",
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        })
    }

    pub fn save_instance(&self, instance: &Instance) -> Result<(), StateError> {
        let mut text = serde_json::to_string_pretty(instance).map_err(|error| StateError {
            action: "encode",
            path: self.instance_path(),
            source: std::io::Error::other(error),
        })?;
        text.push('\n');
        write_private(&self.instance_path(), text.as_bytes())
    }

    /// The private key file's contents.
    pub fn read_key(&self) -> Result<zeroize::Zeroizing<String>, StateError> {
        let path = self.key_path();
        std::fs::read_to_string(&path).map(zeroize::Zeroizing::new).map_err(|source| StateError {
            action: "read",
            path,
            source,
        })
    }

    pub fn save_key(&self, text: &str) -> Result<(), StateError> {
        write_private(&self.key_path(), text.as_bytes())
    }

    /// The key file's permission bits if anyone but its owner may read or write it (someone
    /// copied it in by hand, or a backup restored it loosely).
    pub fn loose_key_mode(&self) -> Option<u32> {
        let mode = std::fs::metadata(self.key_path()).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }

    /// Proves the directory is writable before something irreversible (registration spends
    /// one of the activation's registrations) depends on writing to it.
    pub fn check_writable(&self) -> Result<(), StateError> {
        let probe = self.path.join(".write-check");
        write_private(&probe, b"")?;
        std::fs::remove_file(&probe).map_err(|source| StateError { action: "remove", path: probe, source })
    }
}

/// Replaces `path` with `contents`, mode 0600, atomically: a temporary file beside it is
/// written and synced, then renamed over it, then the directory is synced.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), StateError> {
    let error = |action, path: &Path, source| StateError { action, path: path.to_owned(), source };
    let directory = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        // An existing temporary file keeps its old mode through `open`; make sure.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(contents)?;
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error("write", &temporary, source));
    }
    if let Err(source) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error("replace", path, source));
    }
    // The rename is durable once the directory is synced; a failure here loses nothing
    // already written, so it is not worth failing for.
    if let Ok(dir) = std::fs::File::open(directory) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("homeport-agent-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_directory_is_0700_and_private_files_0600() {
        let dir = temp_dir("modes");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let state = StateDir::create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "an existing directory is tightened");

        // A file that was world-readable before is replaced by a 0600 one.
        std::fs::write(state.key_path(), "old").unwrap();
        std::fs::set_permissions(state.key_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        state.save_key("c2VlZA==\n").unwrap();
        assert_eq!(mode(&state.key_path()), 0o600);
        assert_eq!(std::fs::read_to_string(state.key_path()).unwrap(), "c2VlZA==\n");
        assert_eq!(*state.read_key().unwrap(), "c2VlZA==\n");
        assert_eq!(state.loose_key_mode(), None);
        std::fs::set_permissions(state.key_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(state.loose_key_mode(), Some(0o640));
        state.save_key("c2VlZA==\n").unwrap();

        // No temporary file is left behind.
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names, ["instance.key"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_nested_directory_is_0700() {
        let dir = temp_dir("nested");
        let nested = dir.join("a/b");
        StateDir::create(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_instance_round_trips_and_absence_means_unregistered() {
        let dir = temp_dir("instance");
        let state = StateDir::create(&dir).unwrap();
        assert_eq!(state.load_instance().unwrap(), None);
        let instance = Instance {
            instance_id: "mi-0123456789abcdef0".into(),
            region: "us-east-1".into(),
            endpoint: "http://127.0.0.1:7780".into(),
            cluster: Some("prod".into()),
            attributes: vec![crate::ecs_registration::Attribute { name: "zone".into(), value: Some("lab".into()) }],
            activation_id: "a1b2".into(),
            fingerprint: "f".into(),
            registered_at: 1_795_000_000,
        };
        state.save_instance(&instance).unwrap();
        assert_eq!(mode(&state.instance_path()), 0o600);
        assert_eq!(state.load_instance().unwrap(), Some(instance));
        state.check_writable().unwrap();

        std::fs::write(state.instance_path(), "{not json").unwrap();
        let error = state.load_instance().unwrap_err();
        assert!(error.to_string().starts_with("cannot parse "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
