//! `homeport agent run`: the long-running agent.
//!
//! One task on a current-thread runtime does everything, in time order: it refreshes the
//! role credentials when due (first at start, then at half their life, or every
//! `refresh_interval` when one is given, as the tests do), rewriting the credentials file
//! each time, and heartbeats every `heartbeat_interval` with the credentials it holds.
//!
//! Guarantees:
//! - A failed refresh is logged with the control plane's error code and message and what it
//!   likely means, then retried after [`Backoff`]'s delays, forever: a control plane restart
//!   or a network outage costs at most a minute after it ends.
//! - Heartbeats pause while the agent holds no unexpired credentials (and say so once);
//!   a heartbeat refused for its token brings the next refresh forward, once until a
//!   heartbeat succeeds again.
//! - When the control plane answers that the instance is not registered (it was
//!   deregistered, which revokes its credentials), the agent drops the credentials it holds
//!   and removes the credentials file, and keeps asking (a re-registration with `--force`
//!   and a restart bring it back).
//! - One agent per state directory: `run` (like `register`) holds the directory's lock for
//!   as long as it runs, and a second is refused at start with a message naming the first.
//! - SIGTERM and SIGINT stop the agent at once, between or during calls, with exit status 0.
//! - The log is one line per event on standard error, never a secret.
//!
//! An instance registered with a cluster (`--cluster` at registration) also runs the ECS
//! part (`crate::ecs`) beside this loop, on the same thread, with the credentials this loop
//! keeps (handed over through a watch channel); without a cluster the agent only heartbeats.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::{self, CallError};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::ControlPlane;
use crate::credentials::{RoleCredentials, refresh_delay};
use crate::ecs::{self, EcsOptions};
use crate::ecs_registration::{Attribute, DEFAULT_RESERVED_MEMORY};
use crate::heartbeat::Platform;
use crate::http::{Endpoint, HttpError};
use crate::keys::{InstanceKey, KeyError};
use crate::log;
use crate::state::{Instance, LockError, StateDir, StateError};
use crate::trust::TrustError;

/// The heartbeat interval unless told otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// How often a deregistered instance asks again whether it is known (a re-registration
/// replaces the agent's identity and restarts it, so this only notices a control plane that
/// got its data back).
const DEREGISTERED_RETRY: Duration = Duration::from_secs(10 * 60);

pub struct RunOptions {
    pub state_dir: PathBuf,
    pub heartbeat_interval: Duration,
    /// Refresh this often instead of at half-life (for tests of revocation and trust).
    pub refresh_interval: Option<Duration>,
    /// Container instance attributes besides those given at registration (these win).
    pub attributes: Vec<Attribute>,
    /// MiB of the machine's memory not offered to tasks.
    pub reserved_memory_mib: i64,
    /// The task credentials endpoint's port (0: any free one).
    pub credentials_port: u16,
}

impl RunOptions {
    /// Options with the defaults for everything but the state directory.
    pub fn new(state_dir: PathBuf) -> RunOptions {
        RunOptions {
            state_dir,
            heartbeat_interval: DEFAULT_HEARTBEAT,
            refresh_interval: None,
            attributes: Vec::new(),
            reserved_memory_mib: DEFAULT_RESERVED_MEMORY,
            credentials_port: crate::task_roles::DEFAULT_PORT,
        }
    }
}

/// Why the agent could not start (`Locked`: another agent uses the state directory).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "no registration in {dir}: register first with `homeport agent register --endpoint URL \
         --activation-id ID --activation-code CODE --state-dir {dir}`",
        dir = .state_dir.display()
    )]
    NotRegistered { state_dir: PathBuf },
    #[error(transparent)]
    Locked(LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Key(KeyError),
    /// The registered endpoint, or the trust that verifies it, cannot be used.
    #[error(transparent)]
    Trust(TrustError),
}

/// Runs the agent until `shutdown` completes.
pub async fn run(options: RunOptions, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let state = StateDir::existing(&options.state_dir);
    let not_registered = || RunError::NotRegistered { state_dir: options.state_dir.clone() };
    if !state.path().is_dir() {
        return Err(not_registered());
    }
    // One agent per state directory, held until `run` returns (or the process ends).
    let _lock = state.lock().map_err(RunError::Locked)?;
    let instance = state.load_instance()?.ok_or_else(not_registered)?;
    let key = InstanceKey::from_seed_text(&state.read_key()?).map_err(RunError::Key)?;
    if let Some(mode) = state.loose_key_mode() {
        log::event(&format!(
            "warning: {} is readable by others (mode {mode:03o}); run `chmod 600` on it",
            state.key_path().display()
        ));
    }
    // Every control-plane call of this run goes through this endpoint: over https, verified
    // against the CA registration kept (or the system's store, if registration chose it).
    let endpoint = crate::trust::control_plane(&state, &instance).map_err(RunError::Trust)?;
    let platform = Platform::detect(endpoint.address());
    log::event(&format!(
        "homeport-agent {} starting: instance {}, control plane {}{}, region {}, state {}, {} {} at {} ({})",
        crate::AGENT_VERSION,
        instance.instance_id,
        endpoint.url(),
        describe_route(&endpoint, &instance, &state),
        instance.region,
        options.state_dir.display(),
        platform.name,
        platform.version,
        platform.ip_address.map_or("no reportable address".to_owned(), |address| address.to_string()),
        platform.hostname,
    ));
    let (credentials_sender, credentials_receiver) = tokio::sync::watch::channel(None);
    let ecs_part = match instance.cluster.clone() {
        Some(cluster) => {
            let mut attributes = instance.attributes.clone();
            for given in &options.attributes {
                attributes.retain(|a| a.name != given.name);
                attributes.push(given.clone());
            }
            let ecs_options = EcsOptions {
                cluster,
                attributes,
                reserved_memory_mib: options.reserved_memory_mib,
                cleanup_after: ecs::DEFAULT_CLEANUP_AFTER,
                credentials_port: options.credentials_port,
            };
            let control_plane = ControlPlane { endpoint: endpoint.clone(), region: instance.region.clone() };
            log::event(&format!("ecs: this instance runs the tasks of cluster {}", ecs_options.cluster));
            Some(ecs::run(state.clone(), control_plane, ecs_options, credentials_receiver))
        }
        None => None,
    };
    let ecs_part = async move {
        match ecs_part {
            Some(part) => part.await,
            None => std::future::pending().await,
        }
    };
    let now = Instant::now();
    let agent = Agent {
        state,
        instance,
        credentials_sender,
        key,
        endpoint,
        platform,
        heartbeat_interval: options.heartbeat_interval.max(Duration::from_secs(1)),
        refresh_interval: options.refresh_interval,
        credentials: None,
        next_refresh: now,
        refresh_backoff: Backoff::new(),
        next_heartbeat: now,
        heartbeat_ok: None,
        paused_logged: false,
        refresh_forced: false,
        deregistered: false,
    };
    tokio::select! {
        () = shutdown => {
            log::event("stopping: signal received");
            Ok(())
        }
        () = agent.serve() => Ok(()),
        () = ecs_part => Ok(()),
    }
}

/// How the control plane is reached, for the start line: the trust and the proxy.
fn describe_route(endpoint: &Endpoint, instance: &Instance, state: &StateDir) -> String {
    let trust = match (endpoint.is_https(), instance.trust) {
        (false, _) => " (plain HTTP, in clear)".to_owned(),
        (true, Some(crate::state::Trust::System)) => " (TLS verified by the system's store)".to_owned(),
        (true, _) => format!(
            " (TLS verified by {}, SHA-256 {})",
            state.ca_path().display(),
            instance.ca_sha256.as_deref().unwrap_or("not recorded")
        ),
    };
    match endpoint.proxy() {
        Some(proxy) => format!("{trust} through the proxy {}", proxy.address()),
        None => trust,
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn until_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

struct Agent {
    state: StateDir,
    instance: Instance,
    /// Hands each new set of credentials to the ECS part.
    credentials_sender: tokio::sync::watch::Sender<Option<RoleCredentials>>,
    key: InstanceKey,
    endpoint: Endpoint,
    platform: Platform,
    heartbeat_interval: Duration,
    refresh_interval: Option<Duration>,
    credentials: Option<RoleCredentials>,
    next_refresh: Instant,
    refresh_backoff: Backoff,
    next_heartbeat: Instant,
    /// Whether the last heartbeat succeeded (`None` before the first), to log transitions.
    heartbeat_ok: Option<bool>,
    paused_logged: bool,
    /// A failed heartbeat brought a refresh forward, and no heartbeat has succeeded since.
    refresh_forced: bool,
    /// The control plane answered that it does not know the instance (said once).
    deregistered: bool,
}

impl Agent {
    async fn serve(mut self) {
        loop {
            tokio::time::sleep_until(self.next_refresh.min(self.next_heartbeat)).await;
            if Instant::now() >= self.next_refresh {
                self.refresh().await;
            }
            if Instant::now() >= self.next_heartbeat {
                self.heartbeat().await;
            }
        }
    }

    async fn refresh(&mut self) {
        let instance_id = &self.instance.instance_id;
        let result =
            api::request_role_token(&self.endpoint, instance_id, &self.instance.fingerprint, &self.key, crate::now())
                .await;
        match result {
            Ok(credentials) => {
                let delay =
                    self.refresh_interval.unwrap_or_else(|| refresh_delay(crate::now(), credentials.expires_at));
                let file = match credentials.write_file(&self.state) {
                    Ok(()) => format!("written to {}", self.state.credentials_path().display()),
                    Err(error) => format!("but the credentials file was not written: {error}"),
                };
                log::event(&format!(
                    "credentials refreshed: access key {}, valid until {}, {file}; next refresh in {}",
                    credentials.access_key_id,
                    aws_protocol::sigv4::format_iso8601(credentials.expires_at),
                    seconds(delay)
                ));
                if self.credentials.is_none() || self.paused_logged {
                    self.next_heartbeat = Instant::now();
                }
                if std::mem::take(&mut self.deregistered) {
                    log::event("the control plane knows this instance again");
                }
                self.credentials_sender.send_replace(Some(credentials.clone()));
                self.credentials = Some(credentials);
                self.paused_logged = false;
                self.refresh_backoff.reset();
                self.next_refresh = Instant::now() + delay;
            }
            Err(error) if error.code() == Some("InvalidInstanceId") => {
                // Deregistered: retrying soon cures nothing, and the log would fill with the
                // same line. Say it once, with what to do, and ask again rarely.
                if !self.deregistered {
                    log::event(&format!(
                        "credential refresh refused: {error}. This instance was deregistered (or registered \
                         elsewhere): stop this agent (it holds the state directory), register again with \
                         `homeport agent register --force` and start it. Until then it asks again every {} minutes, \
                         without logging each refusal.",
                        DEREGISTERED_RETRY.as_secs() / 60
                    ));
                    self.deregistered = true;
                }
                self.next_refresh = Instant::now() + DEREGISTERED_RETRY;
                self.drop_revoked_credentials();
            }
            Err(error) => {
                let delay = self.refresh_backoff.next_delay(jitter());
                log::event(&format!(
                    "credential refresh failed: {error}; retrying in {}.{}",
                    seconds(delay),
                    refresh_advice(&error)
                ));
                self.next_refresh = Instant::now() + delay;
            }
        }
    }

    /// Deregistration revoked what the agent holds: stop using it and stop offering it to
    /// the machine's tools.
    fn drop_revoked_credentials(&mut self) {
        if self.credentials.take().is_some() {
            self.credentials_sender.send_replace(None);
            let path = self.state.credentials_path();
            match std::fs::remove_file(&path) {
                Ok(()) => log::event(&format!("removed the revoked credentials file {}", path.display())),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => log::event(&format!("cannot remove {}: {error}", path.display())),
            }
        }
    }

    async fn heartbeat(&mut self) {
        self.next_heartbeat = Instant::now() + self.heartbeat_interval;
        let now = crate::now();
        let Some(credentials) = self.credentials.as_ref().filter(|credentials| !credentials.expired(now)) else {
            if !self.paused_logged {
                log::event("heartbeat paused: no unexpired credentials until a refresh succeeds");
                self.paused_logged = true;
            }
            return;
        };
        let information = self.platform.information(&self.instance.instance_id);
        let result =
            api::update_instance_information(&self.endpoint, &self.instance.region, credentials, &information, now)
                .await;
        match result {
            Ok(()) => {
                if self.heartbeat_ok != Some(true) {
                    log::event(&format!(
                        "heartbeat ok: {} is online (UpdateInstanceInformation every {})",
                        self.instance.instance_id,
                        seconds(self.heartbeat_interval)
                    ));
                }
                self.heartbeat_ok = Some(true);
                self.refresh_forced = false;
            }
            Err(error) => {
                log::event(&format!("heartbeat failed: {error}{}", heartbeat_advice(&error, &self.instance)));
                self.heartbeat_ok = Some(false);
                // Credentials the control plane no longer knows (revoked, or lost with its
                // data) are worth replacing at once, but once per run of failures: a
                // refusal that fresh credentials do not cure must not become a refresh storm.
                let token_refused = matches!(
                    error.code(),
                    Some(
                        "ExpiredTokenException"
                            | "ExpiredToken"
                            | "UnrecognizedClientException"
                            | "InvalidClientTokenId"
                    )
                );
                if token_refused && !self.refresh_forced && !self.refresh_backoff.failing() {
                    self.refresh_forced = true;
                    self.next_refresh = Instant::now();
                }
            }
        }
    }
}

/// What a refresh failure likely means, for the log: a sentence after the failure (a
/// deregistered instance's refusal has its own line).
fn refresh_advice(error: &CallError) -> &'static str {
    match error.code() {
        Some("AccessDeniedException") => {
            " The activation role's trust policy must let the service principal ssm.amazonaws.com assume it, \
             and this machine's clock must be within 5 minutes of the control plane's."
        }
        Some(_) => "",
        // These say themselves what is wrong (the certificate, the proxy) and what to do.
        None if matches!(error, CallError::Transport(HttpError::Tls { .. } | HttpError::Proxy(_))) => "",
        None => " The control plane is unreachable or not answering as expected.",
    }
}

/// What a heartbeat failure likely means, when the agent can tell.
fn heartbeat_advice(error: &CallError, instance: &Instance) -> String {
    match error {
        CallError::Service { message, .. } if message.contains("region") => format!(
            " (this instance was registered for region {}; if the control plane serves another, set \
             `region` in instance.json to it and restart the agent)",
            instance.region
        ),
        CallError::Service { code, .. } if code == "AccessDeniedException" => {
            " (the activation role's policies must allow ssm:UpdateInstanceInformation, as \
             AmazonSSMManagedInstanceCore does)"
                .to_owned()
        }
        _ => String::new(),
    }
}

fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 == 0 { format!("{}s", millis / 1000) } else { format!("{:.1}s", duration.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(30)), "30s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn an_unregistered_directory_says_how_to_register() {
        let dir = std::env::temp_dir().join(format!("homeport-agent-run-{}", std::process::id()));
        let options = RunOptions::new(dir.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let error = runtime.block_on(run(options, std::future::pending())).unwrap_err();
        assert!(error.to_string().contains("homeport agent register"), "{error}");
        assert!(!dir.exists(), "run creates nothing");
    }

    #[test]
    fn heartbeat_failures_explain_what_they_can() {
        let instance = Instance {
            instance_id: "mi-0123456789abcdef0".into(),
            region: "us-east-1".into(),
            endpoint: "http://127.0.0.1:9".into(),
            trust: None,
            ca_sha256: None,
            cluster: None,
            attributes: Vec::new(),
            activation_id: "a".into(),
            fingerprint: "f".into(),
            registered_at: 0,
        };
        let refused =
            |code: &str, message: &str| CallError::Service { status: 400, code: code.into(), message: message.into() };
        let region =
            refused("InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-east-1'.");
        assert!(heartbeat_advice(&region, &instance).contains("registered for region us-east-1"));
        let denied = refused("AccessDeniedException", "not authorized");
        assert!(heartbeat_advice(&denied, &instance).contains("AmazonSSMManagedInstanceCore"));
        assert_eq!(heartbeat_advice(&refused("ThrottlingException", "slow down"), &instance), "");
    }

    #[test]
    fn refresh_failures_explain_themselves() {
        let refused = |code: &str| CallError::Service { status: 400, code: code.into(), message: String::new() };
        assert!(refresh_advice(&refused("AccessDeniedException")).contains("ssm.amazonaws.com"));
        assert!(refresh_advice(&CallError::BadResponse("x".into())).contains("unreachable"));
        let untrusted = HttpError::Tls { host: "cp".into(), source: std::io::Error::other("UnknownIssuer") };
        assert_eq!(refresh_advice(&CallError::Transport(untrusted)), "");
    }
}
