//! The agent's state directory: what registration leaves behind and `run` reads.
//!
//! Layout (default [`DEFAULT_STATE_DIR`]; the directory itself is mode 0700):
//! - `instance.json`: the instance id, region, endpoint, cluster, activation id and
//!   fingerprint, and for an `https://` endpoint the trust that verifies it (`"trust": "ca"`
//!   with `caSha256`, or `"system"`); its presence is what "registered" means;
//! - `ca.pem`: the control plane's CA (pinned or given at registration), which every
//!   connection of `run` verifies against when the trust is `ca`;
//! - `instance.key`: the Ed25519 private key seed (base64), mode 0600;
//! - `credentials`: the activation role's current credentials in the AWS shared-credentials
//!   format, mode 0600 (written by [`crate::credentials`]);
//! - `agent-id`: this directory's agent's identity on the machine (not a secret), which
//!   labels every container it creates, so a later registration of the same directory
//!   recognizes them ([`StateDir::agent_id`]); kept by `register --force`;
//! - `lock`: held (an exclusive `flock`) by the one `register` or `run` using the directory,
//!   and holding its process id, so a second one is refused ([`StateDir::lock`]).
//!
//! Guarantees: a file is replaced whole or not at all (written to a temporary file in the
//! same directory, synced, renamed over the old one, the directory synced), and it is
//! created with its final mode, so a secret is never readable by others even for a moment.
//! The directory is created 0700, and tightened to 0700 when it already exists.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the agent keeps its state unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/homeport-agent";

const INSTANCE_FILE: &str = "instance.json";
const KEY_FILE: &str = "instance.key";
const CREDENTIALS_FILE: &str = "credentials";
const LOCK_FILE: &str = "lock";
const AGENT_ID_FILE: &str = "agent-id";
const CA_FILE: &str = "ca.pem";

/// What verifies an `https://` control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// The CA in `ca.pem` (and nothing else).
    Ca,
    /// The system's certificate store (`register --system-ca`).
    System,
}

/// What registration learned, kept in `instance.json`. No secret lives here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// `mi-` and 17 hex digits.
    pub instance_id: String,
    pub region: String,
    /// The control plane, `https://HOST:PORT` or `http://HOST:PORT`.
    pub endpoint: String,
    /// How an `https://` endpoint is verified; absent for `http://` (and in states written
    /// before TLS, which were all `http://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
    /// The SHA-256 of `ca.pem` as registration stored it (with `trust: ca`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Custom container instance attributes given at registration (`--attribute`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<crate::attribute::Attribute>,
    pub activation_id: String,
    /// The identifier sent with every token request (see [`crate::register`]).
    pub fingerprint: String,
    /// Seconds since the epoch.
    pub registered_at: i64,
}

/// An I/O failure on a state file, with the path and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", .path.display())]
pub struct StateError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Why the state directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another agent process holds it (its process id, if it wrote one).
    #[error(
        "another homeport agent{} is using the state directory {}: stop it first \
         (`systemctl stop homeport-agent` if it runs as the service), or give this one its own --state-dir",
        .holder.map(|pid| format!(" (process {pid})")).unwrap_or_default(),
        .state_dir.display()
    )]
    Held { state_dir: PathBuf, holder: Option<u32> },
    #[error(transparent)]
    State(StateError),
}

/// The state directory's lock, held until dropped (or the process ends, whatever way).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

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

    /// This directory's agent's identity: 32 hex digits, read from `agent-id`, or made and
    /// written there the first time. Made from the machine id and the directory's path when
    /// the machine has an id (so a directory removed and registered again at the same path
    /// is the same agent), else at random; distinct for every state directory on a machine.
    pub fn agent_id(&self) -> Result<String, StateError> {
        let path = self.path.join(AGENT_ID_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if is_agent_id(text.trim()) => return Ok(text.trim().to_owned()),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StateError { action: "read", path, source }),
        }
        let machine_id = std::fs::read_to_string("/etc/machine-id")
            .or_else(|_| std::fs::read_to_string("/var/lib/dbus/machine-id"))
            .map(|text| text.trim().to_owned())
            .unwrap_or_default();
        let digest = if machine_id.is_empty() {
            let mut random = [0u8; 32];
            getrandom::getrandom(&mut random).map_err(|error| StateError {
                action: "make an identity for",
                path: path.clone(),
                source: std::io::Error::other(error.to_string()),
            })?;
            aws_protocol::sigv4::hex(&random)
        } else {
            let directory = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
            aws_protocol::sigv4::sha256_hex(
                format!("homeport-agent-id\n{machine_id}\n{}", directory.display()).as_bytes(),
            )
        };
        let id = digest.get(..32).unwrap_or(&digest).to_owned();
        write_private(&path, format!("{id}\n").as_bytes())?;
        Ok(id)
    }

    pub fn ca_path(&self) -> PathBuf {
        self.path.join(CA_FILE)
    }

    /// The control plane's CA as registration stored it.
    pub fn read_ca(&self) -> Result<Vec<u8>, StateError> {
        let path = self.ca_path();
        std::fs::read(&path).map_err(|source| StateError { action: "read", path, source })
    }

    pub fn save_ca(&self, pem: &[u8]) -> Result<(), StateError> {
        write_private(&self.ca_path(), pem)
    }

    /// Removes `ca.pem` (a registration over `http://` replacing one over `https://`).
    pub fn remove_ca(&self) -> Result<(), StateError> {
        match std::fs::remove_file(self.ca_path()) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                Err(StateError { action: "remove", path: self.ca_path(), source })
            }
            _ => Ok(()),
        }
    }

    pub fn lock_path(&self) -> PathBuf {
        self.path.join(LOCK_FILE)
    }

    /// Takes the directory's exclusive lock without waiting, and writes this process's id in
    /// the lock file: one agent process (`register` or `run`) per state directory. The lock
    /// is the kernel's (`flock`), so it goes with the process however that ends.
    pub fn lock(&self) -> Result<StateLock, LockError> {
        let path = self.lock_path();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| LockError::State(StateError { action: "open", path: path.clone(), source }))?;
        #[expect(
            clippy::incompatible_msrv,
            reason = "File::try_lock is stable since 1.89 and the toolchain is 1.95; the workspace's rust-version \
                      stays 1.85 until its bump (which turns on let-chain lints workspace-wide) is done on its own"
        )]
        let locked = file.try_lock();
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).ok().and_then(|text| text.trim().parse().ok());
                return Err(LockError::Held { state_dir: self.path.clone(), holder });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(LockError::State(StateError { action: "lock", path, source }));
            }
        }
        // The process id is a courtesy for the refusal's message: failing to write it is no
        // reason not to run.
        let _ = file.set_len(0).and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
        Ok(StateLock { _file: file })
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

fn is_agent_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
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
    fn the_lock_is_held_by_one_holder_at_a_time() {
        let dir = temp_dir("lock");
        let state = StateDir::create(&dir).unwrap();
        let held = state.lock().unwrap();
        assert_eq!(mode(&state.lock_path()), 0o600);
        assert_eq!(std::fs::read_to_string(state.lock_path()).unwrap(), format!("{}\n", std::process::id()));
        // A second open file description is refused, as a second process is.
        let refused = state.lock().unwrap_err();
        assert!(matches!(refused, LockError::Held { holder: Some(pid), .. } if pid == std::process::id()));
        let message = refused.to_string();
        assert!(
            message.contains("another homeport agent") && message.contains(&dir.display().to_string()),
            "{message}"
        );
        drop(held);
        let again = state.lock().unwrap();
        drop(again);
        let missing = StateDir::existing(&dir.join("absent")).lock().unwrap_err();
        assert!(matches!(missing, LockError::State(_)), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_agent_id_is_made_once_and_distinct_per_directory() {
        let dir = temp_dir("agent-id");
        let (one, two) = (StateDir::create(&dir.join("one")).unwrap(), StateDir::create(&dir.join("two")).unwrap());
        let id = one.agent_id().unwrap();
        assert!(is_agent_id(&id), "{id}");
        assert_eq!(one.agent_id().unwrap(), id, "read back");
        assert_eq!(std::fs::read_to_string(one.path().join("agent-id")).unwrap(), format!("{id}\n"));
        assert_ne!(two.agent_id().unwrap(), id);
        std::fs::write(one.path().join("agent-id"), "garbage").unwrap();
        let remade = one.agent_id().unwrap();
        assert!(is_agent_id(&remade));
        if std::path::Path::new("/etc/machine-id").exists() {
            assert_eq!(remade, id, "made again the same way on a machine with an id");
        }
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
            trust: None,
            ca_sha256: None,
            cluster: Some("prod".into()),
            attributes: vec![crate::attribute::Attribute { name: "zone".into(), value: Some("lab".into()) }],
            activation_id: "a1b2".into(),
            fingerprint: "f".into(),
            registered_at: 1_795_000_000,
        };
        state.save_instance(&instance).unwrap();
        assert_eq!(mode(&state.instance_path()), 0o600);
        assert_eq!(state.load_instance().unwrap(), Some(instance.clone()));
        assert!(!std::fs::read_to_string(state.instance_path()).unwrap().contains("trust"), "http: no trust");
        state.check_writable().unwrap();

        // Over https, with the CA kept beside it.
        let pinned = Instance {
            endpoint: "https://cp.example:7780".into(),
            trust: Some(Trust::Ca),
            ca_sha256: Some("ab".repeat(32)),
            ..instance
        };
        state.save_instance(&pinned).unwrap();
        state.save_ca(b"-----BEGIN CERTIFICATE-----\n").unwrap();
        assert_eq!(mode(&state.ca_path()), 0o600);
        assert_eq!(state.load_instance().unwrap(), Some(pinned));
        assert_eq!(state.read_ca().unwrap(), b"-----BEGIN CERTIFICATE-----\n");
        let text = std::fs::read_to_string(state.instance_path()).unwrap();
        assert!(text.contains("\"trust\": \"ca\"") && text.contains("\"caSha256\""), "{text}");
        state.remove_ca().unwrap();
        state.remove_ca().unwrap();
        assert!(!state.ca_path().exists());

        // A state written before TLS (no trust members) still reads.
        std::fs::write(
            state.instance_path(),
            r#"{"instanceId":"mi-0123456789abcdef0","region":"us-east-1","endpoint":"http://127.0.0.1:7780",
                "activationId":"a1b2","fingerprint":"f","registeredAt":1}"#,
        )
        .unwrap();
        let old = state.load_instance().unwrap().unwrap();
        assert_eq!((old.trust, old.ca_sha256), (None, None));

        std::fs::write(state.instance_path(), "{not json").unwrap();
        let error = state.load_instance().unwrap_err();
        assert!(error.to_string().starts_with("cannot parse "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
