//! Homeport's agent: what turns a Linux server into a managed instance of a Homeport control
//! plane, the way the SSM agent does for ECS Anywhere.
//!
//! `register` spends one registration of an activation and leaves the instance's identity
//! in a state directory (`state`): its `mi-` id and an Ed25519 key that never leaves the
//! machine (`keys`). `run` is the long-running agent: it proves possession of that key to
//! obtain the activation role's temporary credentials (`credentials`), keeps them fresh in
//! a shared-credentials file, and heartbeats with `UpdateInstanceInformation` signed with
//! them (`heartbeat`). Every call goes over the agent's own small HTTP/1.1 client (`http`),
//! over TLS verified against the CA pinned at registration (`trust`) for an `https://`
//! control plane, through a `CONNECT` proxy when the environment names one (`proxy`), and
//! follows `docs/instance-protocol.md` (`api`).
//!
//! An instance registered with a cluster also runs the ECS part (`ecs`,
//! `docs/ecs-agent-protocol.md`): it registers the container instance with the machine's
//! resources (`ecs_registration`), long-polls the control plane (`ecs_channel`), and
//! reconciles Docker (`docker`: the `DockerApi` trait, a minimal Engine API client behind
//! it) to the tasks it is given
//! (`task_spec` for the task payload and container configuration, `reconcile` for the
//! decisions, pure; `docker_options` for the settings beyond the basics). Tasks' IAM roles
//! (`task_roles`) are served to their containers by the credentials endpoint
//! (`credentials_endpoint`), which also serves their task metadata (`metadata_endpoint`), and sign the pulls from Homeport's registry
//! (`registry_auth`) and the shipping of `awslogs` containers' output (`awslogs`). What they
//! all share sits below the ECS part and imports none of it: where the control plane is and
//! the instance role's current credentials (`control_plane`), and retry delays (`backoff`).
//!
//! Guarantees: nothing here logs or prints a secret (the private key, a secret access key, a
//! session token, an activation code); every file holding one is created 0600 and replaced
//! atomically; the agent reads no AWS configuration of the user's (`~/.aws`, `AWS_*`).

/// The agent protocol's wire shapes, for the binary's tools that speak it too (`fleet`).
pub use agent_protocol as protocol;

pub mod api;
pub mod attribute;
pub mod awslogs;
pub mod backoff;
pub mod control_plane;
pub mod credentials;
pub mod credentials_endpoint;
pub mod docker;
pub mod docker_options;
pub mod ecs;
pub mod ecs_channel;
pub mod ecs_registration;
pub mod heartbeat;
pub mod http;
pub mod keys;
pub mod log;
pub mod metadata_endpoint;
pub mod proxy;
pub mod reconcile;
pub mod register;
pub mod registry_auth;
pub mod run;
pub mod signing;
pub mod state;
pub mod task_roles;
pub mod task_secrets;
pub mod task_spec;
pub mod trust;

/// The agent's name and version as it reports them in `UpdateInstanceInformation`.
pub const AGENT_NAME: &str = "homeport-agent";
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Seconds since the epoch by the system clock (0 if the clock is before 1970).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|elapsed| i64::try_from(elapsed.as_secs()).ok())
        .unwrap_or(0)
}
