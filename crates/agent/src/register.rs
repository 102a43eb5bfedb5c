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
//! - Over `https://` the activation code goes only over a verified connection: with
//!   `--ca-sha256`, the CA is fetched (`GET /cacerts`, unverified) and its hash compared with
//!   the pin first, and a mismatch stops registration before anything secret is sent
//!   (`crate::trust`); with `--ca-file` or `--system-ca` the CA is given. The CA is kept as
//!   `STATE_DIR/ca.pem` (after the key, before `instance.json`) and `instance.json` records
//!   the trust, so `run` verifies every connection against it. The CA is also written for
//!   Docker (`DOCKER_CERTS_DIR/REGISTRY_HOST/ca.crt`), so its pulls from Homeport's registry
//!   verify it; failing to write that is a warning, not a failed registration.
//!
//! The fingerprint sent with the registration and every token request is stable for the
//! machine and state directory: the SHA-256 of `/etc/machine-id` and the directory's path
//! (random when the machine has no id), so it identifies without revealing the machine id.

use std::path::{Path, PathBuf};

use aws_protocol::sigv4::sha256_hex;

use crate::api::{self, CallError};
use crate::http::{Endpoint, HttpError};
use crate::keys::{InstanceKey, KeyError};
use crate::state::{Instance, LockError, StateDir, StateError, Trust};
use crate::trust::{self, Fingerprint, TrustError};

/// Where Docker looks for a registry's CA (`DIR/HOST:PORT/ca.crt`) unless told otherwise.
pub const DEFAULT_DOCKER_CERTS_DIR: &str = "/etc/docker/certs.d";

/// How an `https://` control plane is to be trusted (exactly one; none for `http://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// `--ca-sha256`: fetch the CA and check it against this fingerprint (as typed).
    Sha256(String),
    /// `--ca-file`: trust the CA in this file.
    File(PathBuf),
    /// `--system-ca`: trust the system's store.
    System,
}

/// The trust decided before anything is written or sent.
enum PlannedTrust {
    Clear,
    Pin(Fingerprint),
    Ca { pem: Vec<u8>, source: String },
    System(std::sync::Arc<rustls::ClientConfig>),
}

/// What `register` is asked to do.
pub struct Registration {
    pub endpoint: String,
    pub activation_id: String,
    /// A secret: never logged, printed or stored.
    pub activation_code: String,
    pub cluster: Option<String>,
    /// Custom container instance attributes, kept for the ECS part.
    pub attributes: Vec<crate::attribute::Attribute>,
    pub region: String,
    pub state_dir: PathBuf,
    /// Register again even though the state directory holds a registration.
    pub force: bool,
    /// How an `https://` endpoint is trusted.
    pub ca: Option<CaSource>,
    /// Where the CA is written for Docker (`DIR/REGISTRY_HOST/ca.crt`).
    pub docker_certs_dir: PathBuf,
    /// The registry's `HOST:PORT` as Docker names it; the endpoint's when `None`.
    pub registry_host: Option<String>,
}

/// Why registration failed; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(
        "this server is already registered as {instance_id} (state in {dir}).\n\
         Start it with `homeport agent run --state-dir {dir}`, or register again with --force: \
         that spends one more registration of the activation, and {instance_id} stays registered \
         until you run `aws ssm deregister-managed-instance --instance-id {instance_id}`",
        dir = .state_dir.display()
    )]
    AlreadyRegistered { instance_id: String, state_dir: PathBuf },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Endpoint(HttpError),
    /// The control plane's CA could not be established (a pin mismatch among the reasons).
    #[error(transparent)]
    Trust(TrustError),
    /// An agent (`run`, or another `register`) uses the state directory.
    #[error(transparent)]
    Locked(LockError),
    #[error("{0} (run as a user who may write there, e.g. with sudo, or choose --state-dir)")]
    State(#[from] StateError),
    #[error(transparent)]
    Key(KeyError),
    /// The control plane refused: SSM's code and message.
    #[error("{}", refusal(.code, .message))]
    Refused { code: String, message: String },
    #[error(
        "cannot register with {endpoint}: {error}\n\
         check the --endpoint URL and that the control plane is running and reachable from this server"
    )]
    Unreachable { endpoint: String, error: String },
}

/// A refusal with what to do about it.
fn refusal(code: &str, message: &str) -> String {
    let advice = match code {
        "InvalidActivation" => {
            "check the activation id and code (`aws ssm describe-activations` lists the ids; \
             the code was shown once, by create-activation), or create a new activation"
        }
        "ActivationExpired" => "create a new activation (`aws ssm create-activation`) and register with it",
        "RegistrationLimitExceeded" => {
            "every registration this activation allows has been used; create a new activation \
             with a larger --registration-limit"
        }
        "ValidationException" => "this is likely a bug in the agent or a version mismatch with the control plane",
        _ => "see the control plane's message above",
    };
    if message.is_empty() {
        format!("registration refused ({code}): {advice}")
    } else {
        format!("registration refused ({code}): {message}\n{advice}")
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
    let planned = plan_trust(&endpoint, request.ca.as_ref())?;
    let registry_host = match request.registry_host.as_deref().map(str::trim).filter(|host| !host.is_empty()) {
        Some(host) if host == "." || host == ".." || host.contains(['/', '\0']) => {
            return Err(RegisterError::Usage(format!(
                "--registry-host `{host}` is not a HOST:PORT (the registry's address as Docker names it)"
            )));
        }
        Some(host) => host.to_owned(),
        None => endpoint.host().to_owned(),
    };

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

    // The trust is settled before anything secret is sent: with a pin, nothing but
    // `GET /cacerts` has gone to the endpoint until its answer matched.
    let (endpoint, ca_pem, trust) = match planned {
        PlannedTrust::Clear => {
            progress(&format!(
                "warning: {} is plain HTTP: the activation code and the role credentials cross the network in clear",
                endpoint.url()
            ));
            (endpoint, None, None)
        }
        PlannedTrust::Pin(pin) => {
            progress(&format!(
                "Fetching the CA from {}/cacerts to check it against the pinned fingerprint.",
                endpoint.url()
            ));
            let pem = trust::fetch_pinned_ca(&endpoint, &pin).await.map_err(RegisterError::Trust)?;
            progress(&format!("The CA matches the pinned fingerprint {pin}; every connection is verified against it."));
            let config =
                trust::config_for_ca(&pem, &format!("{}/cacerts", endpoint.url())).map_err(RegisterError::Trust)?;
            (endpoint.with_tls(config), Some(pem), Some(Trust::Ca))
        }
        PlannedTrust::Ca { pem, source } => {
            let config = trust::config_for_ca(&pem, &source).map_err(RegisterError::Trust)?;
            progress(&format!("Verifying {} against the CA in {source}.", endpoint.url()));
            (endpoint.with_tls(config), Some(pem), Some(Trust::Ca))
        }
        PlannedTrust::System(config) => {
            progress(&format!("Verifying {} against the system's certificate store.", endpoint.url()));
            (endpoint.with_tls(config), None, Some(Trust::System))
        }
    };

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
        trust,
        ca_sha256: ca_pem.as_deref().map(|pem| Fingerprint::of(pem).hex().to_owned()),
        cluster: request.cluster.clone().filter(|cluster| !cluster.is_empty()),
        attributes: request.attributes.clone(),
        activation_id: request.activation_id.clone(),
        fingerprint,
        registered_at: crate::now(),
    };
    state.save_key(&key.seed_text())?;
    match &ca_pem {
        Some(pem) => state.save_ca(pem)?,
        None => state.remove_ca()?,
    }
    // Credentials (and the container instance) of a replaced registration belong to the old
    // instance.
    if existing.is_some() {
        let _ = std::fs::remove_file(state.credentials_path());
        crate::ecs_registration::EcsState::remove(&state);
    }
    state.save_instance(&instance)?;
    if let Some(pem) = &ca_pem {
        match install_docker_ca(&request.docker_certs_dir, &registry_host, pem) {
            Ok(path) => progress(&format!(
                "Installed the CA for Docker as {} (pulls from {registry_host} verify it).",
                path.display()
            )),
            Err(error) => {
                let directory = request.docker_certs_dir.join(&registry_host);
                progress(&format!(
                    "warning: cannot write {}: {error}. Docker will not trust the registry at {registry_host} until \
                     the CA is there: as root, run `mkdir -p {dir} && cp {ca} {dir}/ca.crt` (or register with \
                     --docker-certs-dir where Docker looks)",
                    directory.join("ca.crt").display(),
                    dir = directory.display(),
                    ca = state.ca_path().display(),
                ));
            }
        }
    }
    Ok(instance)
}

/// What `register` will trust, checked before anything is written or sent.
fn plan_trust(endpoint: &Endpoint, source: Option<&CaSource>) -> Result<PlannedTrust, RegisterError> {
    match (endpoint.is_https(), source) {
        (false, None) => Ok(PlannedTrust::Clear),
        (false, Some(_)) => Err(RegisterError::Usage(format!(
            "--ca-sha256, --ca-file and --system-ca verify TLS, and {} is http:// (in clear): give the server's \
             https:// address, or drop the flag",
            endpoint.url()
        ))),
        (true, None) => Err(RegisterError::Usage(format!(
            "{} is https://: give its CA one way, --ca-sha256 HEX (the CA's fingerprint: the server prints it at \
             start as `CA fingerprint (SHA-256): ...`, or run `sha256sum DATA/tls/ca.pem` on the server), \
             --ca-file PATH (a copy of the server's DATA/tls/ca.pem), or --system-ca (a server behind a \
             TLS-terminating proxy with a publicly trusted certificate)",
            endpoint.url()
        ))),
        (true, Some(CaSource::Sha256(text))) => {
            Fingerprint::parse(text).map(PlannedTrust::Pin).map_err(RegisterError::Trust)
        }
        (true, Some(CaSource::File(path))) => {
            let pem = trust::read_ca_file(path).map_err(RegisterError::Trust)?;
            Ok(PlannedTrust::Ca { pem, source: path.display().to_string() })
        }
        (true, Some(CaSource::System)) => {
            trust::config_for_system().map(PlannedTrust::System).map_err(RegisterError::Trust)
        }
    }
}

/// Writes `pem` as `DIR/REGISTRY_HOST/ca.crt` (mode 0644: a certificate, read by Docker),
/// replacing it whole; returns its path.
pub fn install_docker_ca(certs_dir: &Path, registry_host: &str, pem: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let directory = certs_dir.join(registry_host);
    std::fs::DirBuilder::new().recursive(true).mode(0o755).create(&directory)?;
    let path = directory.join("ca.crt");
    let temporary = directory.join(format!(".ca.crt.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(&temporary)?;
        file.write_all(pem)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map(|()| path)
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
            ca: None,
            docker_certs_dir: state_dir.join("docker-certs"),
            registry_host: None,
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
                trust: None,
                ca_sha256: None,
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
        assert!(error.to_string().contains("--ca-sha256 HEX"), "{error}");
        assert!(error.to_string().contains("sha256sum DATA/tls/ca.pem"), "{error}");
        let mut pinned_http = registration(&dir, "http://127.0.0.1:9");
        pinned_http.ca = Some(CaSource::System);
        let error = block_on(register(&pinned_http, &mut |_| {})).unwrap_err();
        assert!(error.to_string().contains("is http:// (in clear)"), "{error}");
        let mut bad_pin = registration(&dir, "https://cp.example.com");
        bad_pin.ca = Some(CaSource::Sha256("abc".into()));
        let error = block_on(register(&bad_pin, &mut |_| {})).unwrap_err();
        assert!(matches!(error, RegisterError::Trust(TrustError::Fingerprint(_))), "{error}");
        let mut traversal = registration(&dir, "http://127.0.0.1:9");
        traversal.registry_host = Some("../../etc".into());
        let error = block_on(register(&traversal, &mut |_| {})).unwrap_err();
        assert!(error.to_string().contains("--registry-host"), "{error}");
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

    const ANSWER: &str = r#"{"InstanceId":"mi-0123456789abcdef0"}"#;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("homeport-agent-register-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn requests(seen: &crate::trust::tests::Seen) -> Vec<String> {
        seen.lock().unwrap().iter().map(|(line, _)| line.clone()).collect()
    }

    #[test]
    fn a_matching_pin_registers_over_verified_tls_and_keeps_the_ca() {
        let dir = temp_dir("pin");
        block_on(async {
            let (address, ca_pem, seen) = crate::trust::tests::tls_server(&["127.0.0.1"], None, ANSWER).await;
            let mut request = registration(&dir, &format!("https://{address}"));
            // The colon-separated uppercase form, as openssl prints it.
            let pin = Fingerprint::of(ca_pem.as_bytes()).hex().to_ascii_uppercase();
            let pin: Vec<&str> = (0..32).map(|at| &pin[at * 2..at * 2 + 2]).collect();
            request.ca = Some(CaSource::Sha256(format!("sha256:{}", pin.join(":"))));
            let mut lines = Vec::new();
            let instance = register(&request, &mut |line| lines.push(line.to_owned())).await.unwrap();
            assert_eq!(requests(&seen), ["GET /cacerts HTTP/1.1", "POST / HTTP/1.1"]);
            assert!(seen.lock().unwrap()[1].1.contains("\"ActivationCode\":\"code\""));
            assert_eq!(instance.endpoint, format!("https://{address}"));
            assert_eq!(
                (instance.trust, instance.ca_sha256.as_deref()),
                (Some(Trust::Ca), Some(Fingerprint::of(ca_pem.as_bytes()).hex()))
            );
            let state = StateDir::existing(&dir);
            assert_eq!(state.read_ca().unwrap(), ca_pem.as_bytes());
            assert_eq!(state.load_instance().unwrap(), Some(instance.clone()));
            let docker = dir.join("docker-certs").join(&address).join("ca.crt");
            assert_eq!(std::fs::read(&docker).unwrap(), ca_pem.as_bytes());
            assert!(lines.iter().any(|line| line.starts_with("Installed the CA for Docker")), "{lines:?}");

            // `run` reaches the control plane verified by the CA kept, and refuses a changed one.
            let endpoint = crate::trust::control_plane(&state, &instance).unwrap();
            assert_eq!(crate::http::post(&endpoint, &[], b"{}").await.unwrap().status, 200);
            let (other_ca, _, _) = crate::trust::tests::test_pki(&["127.0.0.1"]);
            state.save_ca(other_ca.as_bytes()).unwrap();
            let error = crate::trust::control_plane(&state, &instance).unwrap_err();
            assert!(error.to_string().contains("changed since registration"), "{error}");
            // Without the recorded hash, the other CA is used, and the server is refused.
            let unrecorded = Instance { ca_sha256: None, ..instance.clone() };
            let endpoint = crate::trust::control_plane(&state, &unrecorded).unwrap();
            let error = crate::http::post(&endpoint, &[], b"{}").await.unwrap_err();
            assert!(error.to_string().contains("is not trusted"), "{error}");
            // An https state without trust is refused rather than sent in clear.
            let untrusted = Instance { trust: None, ..instance };
            let error = crate::trust::control_plane(&state, &untrusted).unwrap_err();
            assert!(error.to_string().contains("no CA to verify it"), "{error}");
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_mismatched_pin_sends_nothing_secret() {
        let dir = temp_dir("mismatch");
        block_on(async {
            // Server B on the address the node was told is server A's.
            let (address, b_ca, seen) = crate::trust::tests::tls_server(&["127.0.0.1"], None, ANSWER).await;
            let (a_ca, _, _) = crate::trust::tests::test_pki(&["127.0.0.1"]);
            let mut request = registration(&dir, &format!("https://{address}"));
            request.ca = Some(CaSource::Sha256(Fingerprint::of(a_ca.as_bytes()).hex().to_owned()));
            let error = register(&request, &mut |_| {}).await.unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, RegisterError::Trust(TrustError::Mismatch { .. })), "{message}");
            assert!(message.contains(Fingerprint::of(a_ca.as_bytes()).hex()), "{message}");
            assert!(message.contains(Fingerprint::of(b_ca.as_bytes()).hex()), "{message}");
            assert!(message.contains("Nothing secret was sent"), "{message}");
            assert_eq!(requests(&seen), ["GET /cacerts HTTP/1.1"], "the activation never reached B");
            let state = StateDir::existing(&dir);
            assert_eq!(state.load_instance().unwrap(), None);
            assert!(!state.ca_path().exists() && !dir.join("docker-certs").exists());

            // A server that relays A's real CA at /cacerts (the pin matches) but cannot present
            // a certificate from it: the verified connection fails before the activation.
            let (address, _, seen) =
                crate::trust::tests::tls_server(&["127.0.0.1"], Some(a_ca.clone().into_bytes()), ANSWER).await;
            let mut request = registration(&dir, &format!("https://{address}"));
            request.ca = Some(CaSource::Sha256(Fingerprint::of(a_ca.as_bytes()).hex().to_owned()));
            let error = register(&request, &mut |_| {}).await.unwrap_err();
            assert!(error.to_string().contains("is not trusted"), "{error}");
            assert_eq!(requests(&seen), ["GET /cacerts HTTP/1.1"], "the activation never went unverified");
            assert_eq!(state.load_instance().unwrap(), None);
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_ca_file_is_trusted_and_an_unwritable_docker_dir_is_a_warning() {
        let dir = temp_dir("ca-file");
        block_on(async {
            let (address, ca_pem, seen) = crate::trust::tests::tls_server(&["127.0.0.1"], None, ANSWER).await;
            std::fs::create_dir_all(&dir).unwrap();
            let ca_file = dir.join("given-ca.pem");
            std::fs::write(&ca_file, &ca_pem).unwrap();
            // A file where the Docker directory should be: it cannot be created.
            std::fs::write(dir.join("not-a-dir"), "").unwrap();
            let mut request = registration(&dir.join("state"), &format!("https://{address}"));
            request.ca = Some(CaSource::File(ca_file));
            request.docker_certs_dir = dir.join("not-a-dir");
            request.registry_host = Some("registry.lan:5000".into());
            let mut lines = Vec::new();
            let instance = register(&request, &mut |line| lines.push(line.to_owned())).await.unwrap();
            assert_eq!(requests(&seen), ["POST / HTTP/1.1"], "no /cacerts with a CA file");
            assert_eq!(instance.trust, Some(Trust::Ca));
            assert_eq!(StateDir::existing(&dir.join("state")).read_ca().unwrap(), ca_pem.as_bytes());
            let warning = lines.iter().find(|line| line.starts_with("warning: cannot write")).unwrap();
            assert!(warning.contains("registry.lan:5000/ca.crt") && warning.contains("cp "), "{warning}");
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
