//! The `homeport` command: one binary for the control plane, the agent and the helpers.
//!
//! `homeport server` runs the control plane; `homeport agent ...` registers this machine as
//! a managed instance and runs its agent; `homeport policy ...` are the offline IAM policy
//! tools; `homeport iam ...` work against a running server as the aws CLI does.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent_cmd;
mod aws_client;
mod fleet;
mod iam_cmd;
mod loadgen;
mod output;
mod policy;
mod server_cmd;

/// The allocator of every command: see the workspace's Cargo.toml for the measurement.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "homeport", version, about = "Run containers on your own servers, the ECS Anywhere way")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: one AWS endpoint (IAM, STS, ...) with an embedded store.
    Server(server_cmd::ServerArgs),
    /// Make this server a managed instance of a control plane: register it, run its agent.
    #[command(subcommand)]
    Agent(agent_cmd::AgentCommand),
    /// Send signed requests to an endpoint and report throughput and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Simulate a fleet of container instances speaking the agent protocol, and measure
    /// registration and task placement throughput.
    FleetSim(fleet::FleetArgs),
    /// Work with IAM policy documents offline: validate them and simulate requests.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Work with a Homeport server's IAM: generate a least-privilege policy from a role's
    /// recorded use (the endpoint and credentials come from the environment, as for the aws CLI).
    #[command(subcommand)]
    Iam(iam_cmd::IamCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => server_cmd::run(args),
        Command::Agent(command) => agent_cmd::run_command(command),
        Command::Loadgen(args) => loadgen::run(args),
        Command::FleetSim(args) => fleet::run(args),
        Command::Policy(command) => policy::run(command),
        Command::Iam(command) => iam_cmd::run(command),
    }
}
