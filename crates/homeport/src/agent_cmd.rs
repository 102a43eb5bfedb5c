//! `homeport agent register` and `homeport agent run`: the agent that makes this server a
//! managed instance of a Homeport control plane (the `agent` crate does the work).
//!
//! Both run on a current-thread runtime: the agent makes a few calls a minute, and one
//! thread keeps its resident memory small. Exit status 0 on success, 1 on any error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent::ecs_registration::{Attribute, DEFAULT_RESERVED_MEMORY};
use agent::register::{CaSource, DEFAULT_DOCKER_CERTS_DIR, Registration, register};
use agent::run::{DEFAULT_HEARTBEAT, RunOptions, run, until_signal};
use agent::state::DEFAULT_STATE_DIR;
use clap::{Args, Subcommand};

use crate::output;

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Register this server with an SSM activation: creates its key pair and receives its `mi-` id.
    Register(Box<RegisterArgs>),
    /// Run the agent: keep the instance's role credentials fresh, heartbeat to the control plane
    /// and, for an instance of a cluster, run its ECS tasks with Docker.
    Run(RunArgs),
    /// Print the systemd unit that runs the agent (install.sh installs it from here).
    SystemdUnit,
}

/// `packaging/homeport-agent.service`, carried by the binary so the unit always matches it.
pub const SYSTEMD_UNIT: &str = include_str!("../../../packaging/homeport-agent.service");

#[derive(Args)]
pub struct RegisterArgs {
    /// The control plane, `https://HOST:PORT` (with one of --ca-sha256, --ca-file,
    /// --system-ca), or `http://HOST:PORT` for a server run with --insecure-http.
    #[arg(long, env = "HOMEPORT_ENDPOINT")]
    endpoint: String,
    /// The SHA-256 fingerprint of the control plane's CA (the server prints it at start, or
    /// `sha256sum DATA/tls/ca.pem` on the server): the CA is fetched from ENDPOINT/cacerts and
    /// registration goes on only if it matches; every connection then verifies against it.
    #[arg(long, value_name = "HEX", env = "HOMEPORT_CA_SHA256", conflicts_with_all = ["ca_file", "system_ca"])]
    ca_sha256: Option<String>,
    /// Trust the CA in this PEM file (a copy of the server's DATA/tls/ca.pem).
    #[arg(long, value_name = "PATH", conflicts_with = "system_ca")]
    ca_file: Option<PathBuf>,
    /// Trust the system's certificate store instead of a Homeport CA (a server behind a
    /// TLS-terminating proxy with a publicly trusted certificate).
    #[arg(long)]
    system_ca: bool,
    /// Where Docker looks for registries' CAs: the CA is written to DIR/REGISTRY_HOST/ca.crt.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DOCKER_CERTS_DIR)]
    docker_certs_dir: PathBuf,
    /// The registry's HOST:PORT as images name it (default: the endpoint's HOST:PORT).
    #[arg(long, value_name = "HOST:PORT")]
    registry_host: Option<String>,
    /// The activation's id (`aws ssm create-activation` prints it).
    #[arg(long)]
    activation_id: String,
    /// The activation's code (shown once by `aws ssm create-activation`). On the command
    /// line other users of the machine can read it (`ps`): prefer --activation-code-file or
    /// the environment.
    #[arg(long, env = "HOMEPORT_ACTIVATION_CODE", hide_env_values = true)]
    activation_code: Option<String>,
    /// Read the activation's code from this file (its first line), or from standard input
    /// with `-`.
    #[arg(long, value_name = "PATH", conflicts_with = "activation_code")]
    activation_code_file: Option<PathBuf>,
    /// The ECS cluster this instance joins: `agent run` then registers it as a container
    /// instance and runs the cluster's tasks placed on it with Docker.
    #[arg(long)]
    cluster: Option<String>,
    /// A custom container instance attribute, NAME=VALUE (repeatable), for placement
    /// constraints such as `attribute:NAME == VALUE`.
    #[arg(long = "attribute", value_name = "NAME=VALUE", value_parser = parse_attribute)]
    attributes: Vec<Attribute>,
    /// The region the control plane serves.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Where the agent keeps its key, identity and credentials.
    #[arg(long, env = "HOMEPORT_AGENT_STATE_DIR", default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Register again although this state directory holds a registration (spends one more
    /// registration of the activation; the old instance stays registered until deregistered).
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct RunArgs {
    /// Where `homeport agent register` left the instance's state.
    #[arg(long, env = "HOMEPORT_AGENT_STATE_DIR", default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Seconds between heartbeats (UpdateInstanceInformation).
    #[arg(long, default_value_t = DEFAULT_HEARTBEAT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_seconds: u64,
    /// For tests: refresh the credentials every this many seconds instead of at half their
    /// life (documented in README.md; hidden from --help).
    #[arg(long, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    refresh_seconds: Option<u64>,
    /// A custom container instance attribute, NAME=VALUE (repeatable; overrides one of the
    /// same name given at registration).
    #[arg(long = "attribute", value_name = "NAME=VALUE", value_parser = parse_attribute)]
    attributes: Vec<Attribute>,
    /// MiB of memory left to the machine: the container instance registers the rest.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_RESERVED_MEMORY, value_parser = clap::value_parser!(i64).range(0..))]
    reserved_memory: i64,
    /// The port of the task credentials endpoint on 169.254.170.2 (ECS's 51679; 0 picks a
    /// free one).
    #[arg(long, value_name = "PORT", default_value_t = agent::task_roles::DEFAULT_PORT)]
    credentials_port: u16,
}

fn parse_attribute(text: &str) -> Result<Attribute, String> {
    Attribute::parse(text)
}

pub fn run_command(command: AgentCommand) -> ExitCode {
    match command {
        AgentCommand::SystemdUnit => {
            output::text(SYSTEMD_UNIT);
            ExitCode::SUCCESS
        }
        AgentCommand::Register(args) => on_runtime(register_command(*args)),
        AgentCommand::Run(args) => {
            let options = RunOptions {
                state_dir: args.state_dir,
                heartbeat_interval: Duration::from_secs(args.heartbeat_seconds),
                refresh_interval: args.refresh_seconds.map(Duration::from_secs),
                attributes: args.attributes,
                reserved_memory_mib: args.reserved_memory,
                credentials_port: args.credentials_port,
            };
            on_runtime(async {
                match run(options, until_signal()).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        output::error_line(&format!("error: {error}"));
                        ExitCode::FAILURE
                    }
                }
            })
        }
    }
}

/// Runs `task` to completion on a current-thread runtime.
fn on_runtime(task: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(task),
        Err(error) => {
            output::error_line(&format!("error: cannot start the runtime: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// The activation code: from the file (or standard input) named, else the flag or
/// `HOMEPORT_ACTIVATION_CODE`.
fn activation_code(args: &RegisterArgs) -> Result<String, String> {
    let Some(path) = &args.activation_code_file else {
        let code = args.activation_code.as_deref().map(str::trim).filter(|code| !code.is_empty());
        return code.map(str::to_owned).ok_or_else(|| {
            "the activation code is required: --activation-code-file PATH (or - for standard input), \
             HOMEPORT_ACTIVATION_CODE, or --activation-code"
                .to_owned()
        });
    };
    let (text, source) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|error| format!("cannot read the activation code from standard input: {error}"))?;
        (text, "standard input".to_owned())
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the activation code from {}: {error}", path.display()))?;
        (text, path.display().to_string())
    };
    // The code is the first line; a trailing newline (echo, an editor) is not part of it.
    let code = text.lines().next().unwrap_or_default().trim();
    if code.is_empty() {
        return Err(format!("{source} holds no activation code"));
    }
    Ok(code.to_owned())
}

async fn register_command(args: RegisterArgs) -> ExitCode {
    if std::env::args().any(|arg| arg == "--activation-code" || arg.starts_with("--activation-code=")) {
        output::error_line(
            "warning: --activation-code is visible to other users of this machine (ps); \
             prefer --activation-code-file PATH (or -) or HOMEPORT_ACTIVATION_CODE",
        );
    }
    let activation_code = match activation_code(&args) {
        Ok(code) => code,
        Err(message) => {
            output::error_line(&format!("error: {message}"));
            return ExitCode::FAILURE;
        }
    };
    let registration = Registration {
        endpoint: args.endpoint,
        activation_id: args.activation_id,
        activation_code,
        cluster: args.cluster,
        attributes: args.attributes,
        region: args.region,
        state_dir: args.state_dir,
        force: args.force,
        ca: match (args.ca_sha256, args.ca_file, args.system_ca) {
            (Some(fingerprint), _, _) => Some(CaSource::Sha256(fingerprint)),
            (None, Some(path), _) => Some(CaSource::File(path)),
            (None, None, true) => Some(CaSource::System),
            (None, None, false) => None,
        },
        docker_certs_dir: args.docker_certs_dir,
        registry_host: args.registry_host,
    };
    let mut progress = |step: &str| {
        if step.starts_with("warning: ") { output::error_line(step) } else { output::line(step) }
    };
    match register(&registration, &mut progress).await {
        Ok(instance) => {
            let dir = registration.state_dir.display();
            output::line(&format!(
                "Registered as {}.\n\nStart the agent with\n\n  homeport agent run --state-dir {dir}\n\n\
                 or, with the systemd unit installed, `systemctl enable --now homeport-agent`. \
                 The instance's role credentials will be in {dir}/credentials.",
                instance.instance_id
            ));
            ExitCode::SUCCESS
        }
        Err(error) => {
            output::error_line(&format!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}
