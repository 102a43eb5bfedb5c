//! `homeport fleet-sim`: a fleet of simulated container instances speaking the real agent
//! protocol, for measuring the control plane at scale.
//!
//! Each simulated instance registers with an SSM activation (an Ed25519 key of its own),
//! obtains its role credentials, registers as an ECS container instance and then long-polls
//! like an agent, acknowledging what it receives. With the fleet connected, RunTask calls are
//! made as fast as the control plane takes them until the requested number of tasks is
//! placed. Reported: registrations per second, tasks placed per second, and how long until
//! every placed task reached its instance.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agent::credentials::RoleCredentials;
use agent::http::Endpoint;
use agent::keys::InstanceKey;
use agent::protocol::poll::{MAX_WAIT_SECONDS, MessageHeader, PollAnswer, PollRequest};
use clap::Args;
use serde_json::{Value, json};

use crate::output;

#[derive(Args)]
pub struct FleetArgs {
    /// The endpoint, `https://HOST:PORT` (verified against --ca-file) or `http://HOST:PORT`.
    #[arg(long, default_value = "https://127.0.0.1:7780")]
    endpoint: String,
    /// The server's CA (`DATA_DIR/tls/ca.pem`), for an https endpoint.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// A shared-credentials file with the account's root key (`DATA_DIR/root-credentials`).
    #[arg(long)]
    credentials: PathBuf,
    /// An IAM role trusting ssm.amazonaws.com, with AmazonEC2ContainerServiceforEC2Role.
    #[arg(long)]
    role: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Simulated container instances.
    #[arg(long, default_value_t = 100)]
    instances: usize,
    /// Tasks to place (RunTask with count 10).
    #[arg(long, default_value_t = 1000)]
    tasks: usize,
    /// Requests in flight at once while registering and placing.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value = "fleet-sim")]
    cluster: String,
    /// After placing, keep every instance long-polling this many seconds more (a fleet's
    /// steady traffic, for measuring the API beside it).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    hold_seconds: u64,
}

/// Credentials to sign with: the root key (no token) or an instance's role session.
fn root_key(path: &PathBuf) -> Result<RoleCredentials, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            Ok(RoleCredentials { access_key_id, secret_access_key, session_token: String::new(), expires_at: i64::MAX })
        }
        _ => Err(format!("{} has no aws_access_key_id / aws_secret_access_key", path.display())),
    }
}

/// One signed awsJson call; its JSON answer or the error text.
async fn call(
    endpoint: &Endpoint,
    region: &str,
    credentials: &RoleCredentials,
    service: &str,
    target: &str,
    body: &Value,
) -> Result<Value, String> {
    agent::api::json_call(endpoint, region, credentials, service, target, body)
        .await
        .map_err(|error| format!("{target}: {error}"))
}

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

/// A simulated instance once registered.
struct Member {
    credentials: RoleCredentials,
    container_instance: String,
}

async fn join(
    endpoint: &Endpoint,
    args: &FleetArgs,
    activation: &(String, String),
    index: usize,
) -> Result<Member, String> {
    let key = InstanceKey::generate().map_err(|error| error.to_string())?;
    let fingerprint = format!("fleet-sim-{index}");
    let instance = agent::api::register_managed_instance(endpoint, &activation.0, &activation.1, &key, &fingerprint)
        .await
        .map_err(|error| error.to_string())?;
    let credentials = agent::api::request_role_token(endpoint, &instance, &fingerprint, &key, agent::now())
        .await
        .map_err(|error| error.to_string())?;
    let registered = call(
        endpoint,
        &args.region,
        &credentials,
        "ecs",
        &format!("{ECS}.RegisterContainerInstance"),
        &json!({
            "cluster": args.cluster,
            "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 16384},
                {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
            ],
            "versionInfo": {"agentVersion": "fleet-sim"},
            "attributes": [{"name": "ecs.capability.external"}, {"name": "ecs.os-type", "value": "linux"}],
        }),
    )
    .await?;
    let container_instance = registered
        .pointer("/containerInstance/containerInstanceArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Member { credentials, container_instance })
}

/// Polls like an agent until `stop`, counting the task messages received.
async fn poll_loop(
    endpoint: Endpoint,
    args: Arc<FleetArgs>,
    member: Member,
    received: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let mut request = PollRequest {
        cluster: args.cluster.clone(),
        container_instance: member.container_instance,
        wait_seconds: Some(MAX_WAIT_SECONDS),
        ..PollRequest::default()
    };
    while !stop.load(Ordering::Relaxed) {
        let body = serde_json::to_value(&request).unwrap_or_default();
        let answer = call(&endpoint, &args.region, &member.credentials, "ecs", &format!("{ECS}.Poll"), &body).await;
        // Each message's id and type is all a simulated agent needs.
        match answer.and_then(|answer| {
            serde_json::from_value::<PollAnswer<MessageHeader>>(answer).map_err(|error| error.to_string())
        }) {
            Ok(answer) => {
                let tasks = answer.messages.iter().filter(|message| message.kind == "TaskMessage").count();
                received.fetch_add(tasks, Ordering::Relaxed);
                request.acks = answer.messages.into_iter().map(|message| message.message_id).collect();
                request.sequence_number = answer.sequence_number;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn simulate(args: FleetArgs) -> Result<(), String> {
    let mut endpoint = Endpoint::parse(&args.endpoint).map_err(|error| error.to_string())?;
    match &args.ca_file {
        Some(path) => {
            let pem = agent::trust::read_ca_file(path).map_err(|error| error.to_string())?;
            let config = agent::trust::config_for_ca(&pem, &path.display().to_string()).map_err(|e| e.to_string())?;
            endpoint = endpoint.with_tls(config);
        }
        None if endpoint.is_https() => {
            return Err(format!("{} is https://: pass --ca-file DATA_DIR/tls/ca.pem", endpoint.url()));
        }
        None => {}
    }
    let root = root_key(&args.credentials)?;
    let ssm = |operation: &str| format!("AmazonSSM.{operation}");
    call(&endpoint, &args.region, &root, "ecs", &format!("{ECS}.CreateCluster"), &json!({"clusterName": args.cluster}))
        .await?;
    call(
        &endpoint,
        &args.region,
        &root,
        "ecs",
        &format!("{ECS}.RegisterTaskDefinition"),
        &json!({"family": "fleet-sim", "containerDefinitions": [{"name": "main", "image": "busybox", "memory": 16}]}),
    )
    .await?;
    // Activations of at most 1,000 registrations each.
    let mut activations = Vec::new();
    for _ in 0..args.instances.div_ceil(1000) {
        let made = call(
            &endpoint,
            &args.region,
            &root,
            "ssm",
            &ssm("CreateActivation"),
            &json!({"IamRole": args.role, "RegistrationLimit": 1000}),
        )
        .await?;
        let text = |member: &str| made.get(member).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (id, code) = (text("ActivationId"), text("ActivationCode"));
        activations.push((id, code));
    }

    output::line(&format!("registering {} instances ({} at a time)...", args.instances, args.concurrency));
    let started = Instant::now();
    let args = Arc::new(args);
    let mut members = Vec::with_capacity(args.instances);
    let mut pending = tokio::task::JoinSet::new();
    for index in 0..args.instances {
        if pending.len() >= args.concurrency {
            if let Some(done) = pending.join_next().await {
                members.push(done.map_err(|error| error.to_string())??);
            }
        }
        let (endpoint, args) = (endpoint.clone(), Arc::clone(&args));
        let activation = activations.get(index / 1000).cloned().unwrap_or_default();
        pending.spawn(async move { join(&endpoint, &args, &activation, index).await });
    }
    while let Some(done) = pending.join_next().await {
        members.push(done.map_err(|error| error.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    output::line(&format!(
        "registered {} instances in {elapsed:.1} s: {:.0} registrations/s (SSM registration, role credentials, container instance)",
        members.len(),
        members.len() as f64 / elapsed
    ));

    let received = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut pollers = tokio::task::JoinSet::new();
    for member in members {
        pollers.spawn(poll_loop(endpoint.clone(), Arc::clone(&args), member, Arc::clone(&received), Arc::clone(&stop)));
    }

    output::line(&format!(
        "placing {} tasks with RunTask (count 10, {} calls at a time)...",
        args.tasks, args.concurrency
    ));
    let placed = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut runners = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (endpoint, args, root, placed, failures) =
            (endpoint.clone(), Arc::clone(&args), root.clone(), Arc::clone(&placed), Arc::clone(&failures));
        runners.spawn(async move {
            while placed.load(Ordering::Relaxed) < args.tasks {
                let body = json!({"cluster": args.cluster, "taskDefinition": "fleet-sim", "count": 10});
                match call(&endpoint, &args.region, &root, "ecs", &format!("{ECS}.RunTask"), &body).await {
                    Ok(answer) => {
                        let count = |member: &str| answer.get(member).and_then(Value::as_array).map_or(0, Vec::len);
                        placed.fetch_add(count("tasks"), Ordering::Relaxed);
                        failures.fetch_add(count("failures"), Ordering::Relaxed);
                    }
                    Err(error) => {
                        output::error_line(&format!("RunTask: {error}"));
                        return;
                    }
                }
            }
        });
    }
    while runners.join_next().await.is_some() {}
    let placing = started.elapsed().as_secs_f64();
    let total = placed.load(Ordering::Relaxed);
    output::line(&format!(
        "placed {total} tasks in {placing:.2} s: {:.0} tasks/s ({} placement failures reported)",
        total as f64 / placing,
        failures.load(Ordering::Relaxed)
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    output::line(&format!(
        "{} of {total} tasks reached their instance {:.2} s after the first RunTask",
        received.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    ));
    if args.hold_seconds > 0 {
        output::line(&format!("holding: {} instances long-polling for {} s", pollers.len(), args.hold_seconds));
        tokio::time::sleep(Duration::from_secs(args.hold_seconds)).await;
    }
    stop.store(true, Ordering::Relaxed);
    pollers.shutdown().await;
    Ok(())
}

pub fn run(args: FleetArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::error_line(&format!("cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(simulate(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error_line(&format!("fleet-sim: {error}"));
            ExitCode::FAILURE
        }
    }
}
