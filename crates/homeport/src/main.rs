//! The `homeport` command: one binary for the control plane, the agent and the helpers.
//!
//! Today it carries the offline IAM policy tools (`homeport policy ...`); `server` and
//! `agent` join as their issues land.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod output;
mod policy;

#[derive(Parser)]
#[command(name = "homeport", version, about = "Run containers on your own servers, the ECS Anywhere way")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with IAM policy documents offline: validate them and simulate requests.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Policy(command) => policy::run(command),
    }
}
