//! `homeport agent register`: one registration of an activation, and the state it leaves.
//!
//! Guarantees:
//! - A machine is not registered twice by accident: a state directory that already holds a
//!   registration is refused unless the caller forces it (each registration spends one of
//!   the activation's `RegistrationLimit`, and the old instance stays registered on the
//!   control plane until it is deregistered).
//! - Nothing is spent for nothing: the state directory is created and proven writable
//!   before the activation is used, and the key and identity are written only after the
//!   control plane accepted them (the key first, then `instance.json`, whose presence is
//!   what "registered" means).
//! - Registration takes the state directory's lock, as `run` does: never while an agent
//!   runs on the directory.
//! - The activation code is sent once, to the endpoint, and kept nowhere.
//!
//! The fingerprint sent with the registration and every token request is stable for the
//! machine and state directory: the SHA-256 of `/etc/machine-id` and the directory's path
//! (random when the machine has no id), so it identifies without revealing the machine id.

use std::fmt;
use std::path::{Path, PathBuf};

use aws_protocol::sigv4::sha256_hex;

use crate::api::{self, CallError};
use crate::http::{Endpoint, HttpError};
use crate::keys::{InstanceKey, KeyError};
use crate::state::{Instance, LockError, StateDir, StateError};

/// What `register` is asked to do.
pub struct Registration {
    pub endpoint: String,
    pub activation_id: String,
    /// A secret: never logged, printed or stored.
    pub activation_code: String,
    pub cluster: Option<String>,
    /// Custom container instance attributes, kept for the ECS part.
    pub attributes: Vec<crate::ecs_registration::Attribute>,
    pub region: String,
    pub state_dir: PathBuf,
    /// Register again even though the state directory holds a registration.
    pub force: bool,
}

/// Why registration failed; each says what to do next.
#[derive(Debug)]
pub enum RegisterError {
    AlreadyRegistered {
        instance_id: String,
        state_dir: PathBuf,
    },
    Usage(String),
    Endpoint(HttpError),
    /// An agent (`run`, or another `register`) uses the state directory.
    Locked(LockError),
    State(StateError),
    Key(KeyError),
    /// The control plane refused: SSM's code and message.
    Refused {
        code: String,
        message: String,
    },
    Unreachable {
        endpoint: String,
        error: String,
    },
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::AlreadyRegistered { instance_id, state_dir } => {
                let dir = state_dir.display();
                write!(
                    f,
                    "this server is already registered as {instance_id} (state in {dir}).\n\
                     Start it with `homeport agent run --state-dir {dir}`, or register again with --force: \
                     that spends one more registration of the activation, and {instance_id} stays registered \
                     until you run `aws ssm deregister-managed-instance --instance-id {instance_id}`"
                )
            }
            RegisterError::Usage(message) => write!(f, "{message}"),
            RegisterError::Endpoint(error) => write!(f, "{error}"),
            RegisterError::Locked(error) => write!(f, "{error}"),
            RegisterError::State(error) => {
                write!(f, "{error} (run as a user who may write there, e.g. with sudo, or choose --state-dir)")
            }
            RegisterError::Key(error) => write!(f, "{error}"),
            RegisterError::Refused { code, message } => {
                let advice = match code.as_str() {
                    "InvalidActivation" => {
                        "check the activation id and code (`aws ssm describe-activations` lists the ids; \
                         the code was shown once, by create-activation), or create a new activation"
                    }
                    "ActivationExpired" => "create a new activation (`aws ssm create-activation`) and register with it",
                    "RegistrationLimitExceeded" => {
                        "every registration this activation allows has been used; create a new activation \
                         with a larger --registration-limit"
                    }
                    "ValidationException" => {
                        "this is likely a bug in the agent or a version mismatch with the control plane"
                    }
                    _ => "see the control plane's message above",
                };
                if message.is_empty() {
                    write!(f, "registration refused ({code}): {advice}")
                } else {
                    write!(f, "registration refused ({code}): {message}\n{advice}")
                }
            }
            RegisterError::Unreachable { endpoint, error } => write!(
                f,
                "cannot register with {endpoint}: {error}\n\
                 check the --endpoint URL and that the control plane is running and reachable from this server"
            ),
        }
    }
}

impl std::error::Error for RegisterError {}

impl From<StateError> for RegisterError {
    fn from(error: StateError) -> RegisterError {
        RegisterError::State(error)
    }
}

/// Registers this machine; `progress` receives one line per step.
pub async fn register(request: &Registration, progress: &mut dyn FnMut(&str)) -> Result<Instance, RegisterError> {
    for (flag, value) in [
        ("--activation-id", &request.activation_id),
        ("--activation-code", &request.activation_code),
        ("--region", &request.region),
    ] {
        if value.trim().is_empty() {
            return Err(RegisterError::Usage(format!("{flag} must not be empty")));
        }
    }
    let endpoint = Endpoint::parse(&request.endpoint).map_err(RegisterError::Endpoint)?;

    let already = |instance: &Instance| RegisterError::AlreadyRegistered {
        instance_id: instance.instance_id.clone(),
        state_dir: request.state_dir.clone(),
    };
    // Said first, whether an agent runs or not: it is what a second install usually meets.
    if let Some(instance) = StateDir::existing(&request.state_dir).load_instance()?.filter(|_| !request.force) {
        return Err(already(&instance));
    }
    let state = StateDir::create(&request.state_dir)?;
    // Not while an agent runs on this directory (or registers it): it would go on with the
    // identity this replaces.
    let _lock = state.lock().map_err(|error| match error {
        LockError::State(error) => RegisterError::State(error),
        held => RegisterError::Locked(held),
    })?;
    let existing = state.load_instance()?;
    if let Some(instance) = &existing {
        if !request.force {
            return Err(already(instance));
        }
        progress(&format!(
            "Replacing the registration of {} (--force); it stays registered until deregistered.",
            instance.instance_id
        ));
    }
    state.check_writable()?;

    progress(&format!("Creating an Ed25519 key pair in {}.", state.path().display()));
    let key = InstanceKey::generate().map_err(RegisterError::Key)?;
    let fingerprint = fingerprint(state.path());

    progress(&format!("Registering with {} (activation {}).", endpoint.url(), request.activation_id));
    let instance_id =
        api::register_managed_instance(&endpoint, &request.activation_id, &request.activation_code, &key, &fingerprint)
            .await
            .map_err(|error| match error {
                CallError::Service { code, message, .. } => RegisterError::Refused { code, message },
                other => RegisterError::Unreachable { endpoint: endpoint.url(), error: other.to_string() },
            })?;

    let instance = Instance {
        instance_id,
        region: request.region.clone(),
        endpoint: endpoint.url(),
        cluster: request.cluster.clone().filter(|cluster| !cluster.is_empty()),
        attributes: request.attributes.clone(),
        activation_id: request.activation_id.clone(),
        fingerprint,
        registered_at: crate::now(),
    };
    state.save_key(&key.seed_text())?;
    // Credentials (and the container instance) of a replaced registration belong to the old
    // instance.
    if existing.is_some() {
        let _ = std::fs::remove_file(state.credentials_path());
        crate::ecs_registration::EcsState::remove(&state);
    }
    state.save_instance(&instance)?;
    Ok(instance)
}

/// The fingerprint of this machine's agent in `state_dir` (see the module docs).
pub fn fingerprint(state_dir: &Path) -> String {
    let machine_id = std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/var/lib/dbus/machine-id"))
        .map(|text| text.trim().to_owned())
        .unwrap_or_default();
    let seed = if machine_id.is_empty() {
        let mut random = [0u8; 16];
        let _ = getrandom::getrandom(&mut random);
        aws_protocol::sigv4::hex(&random)
    } else {
        machine_id
    };
    let directory = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_owned());
    sha256_hex(format!("homeport-agent\n{seed}\n{}", directory.display()).as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    fn registration(state_dir: &Path, endpoint: &str) -> Registration {
        Registration {
            endpoint: endpoint.to_owned(),
            activation_id: "act".into(),
            activation_code: "code".into(),
            cluster: None,
            attributes: Vec::new(),
            region: "us-east-1".into(),
            state_dir: state_dir.to_owned(),
            force: false,
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
    }

    #[test]
    fn a_registered_directory_is_refused_without_force() {
        let dir = std::env::temp_dir().join(format!("homeport-agent-register-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = StateDir::create(&dir).unwrap();
        state
            .save_instance(&Instance {
                instance_id: "mi-0123456789abcdef0".into(),
                region: "us-east-1".into(),
                endpoint: "http://127.0.0.1:9".into(),
                cluster: None,
                attributes: Vec::new(),
                activation_id: "act".into(),
                fingerprint: "f".into(),
                registered_at: 0,
            })
            .unwrap();
        let error = block_on(register(&registration(&dir, "http://127.0.0.1:9"), &mut |_| {})).unwrap_err();
        assert!(matches!(error, RegisterError::AlreadyRegistered { .. }), "{error}");
        assert!(error.to_string().contains("--force"), "{error}");

        // With --force it goes on to the endpoint (closed here), and the old state stays.
        let mut forced = registration(&dir, "http://127.0.0.1:9");
        forced.force = true;
        let error = block_on(register(&forced, &mut |_| {})).unwrap_err();
        assert!(matches!(error, RegisterError::Unreachable { .. }), "{error}");
        assert_eq!(state.load_instance().unwrap().unwrap().instance_id, "mi-0123456789abcdef0");

        // Not while an agent holds the directory, even with --force.
        let held = state.lock().unwrap();
        let error = block_on(register(&forced, &mut |_| {})).unwrap_err();
        assert!(matches!(error, RegisterError::Locked(_)), "{error}");
        assert!(error.to_string().contains("another homeport agent"), "{error}");
        drop(held);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_written() {
        let dir = std::env::temp_dir().join(format!("homeport-agent-register-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let error = block_on(register(&registration(&dir, "https://cp.example.com"), &mut |_| {})).unwrap_err();
        assert!(error.to_string().contains("not supported yet"), "{error}");
        let mut empty = registration(&dir, "http://127.0.0.1:9");
        empty.activation_code = String::new();
        let error = block_on(register(&empty, &mut |_| {})).unwrap_err();
        assert_eq!(error.to_string(), "--activation-code must not be empty");
        assert!(!dir.exists());
    }

    #[test]
    fn refusals_say_what_to_do() {
        let refused = |code: &str| RegisterError::Refused { code: code.into(), message: "m".into() }.to_string();
        assert!(refused("RegistrationLimitExceeded").contains("create a new activation"));
        assert!(refused("ActivationExpired").contains("create a new activation"));
        assert!(refused("InvalidActivation").contains("check the activation id and code"));
    }

    #[test]
    fn the_fingerprint_is_stable_per_directory() {
        let a = std::env::temp_dir();
        if std::path::Path::new("/etc/machine-id").exists() {
            assert_eq!(fingerprint(&a), fingerprint(&a));
        }
        assert_ne!(fingerprint(&a), fingerprint(&a.join("other")));
        assert_eq!(fingerprint(&a).len(), 64);
    }
}
