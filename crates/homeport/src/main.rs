//! The `homeport` command: one binary for the control plane, the agent and the helpers.
//!
//! `homeport server` runs the control plane; `homeport policy ...` are the offline IAM policy
//! tools; `agent` joins with its issue.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod loadgen;
mod output;
mod policy;
mod server_cmd;

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
    /// Send signed requests to an endpoint and report throughput and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Work with IAM policy documents offline: validate them and simulate requests.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => server_cmd::run(args),
        Command::Loadgen(args) => loadgen::run(args),
        Command::Policy(command) => policy::run(command),
    }
}
