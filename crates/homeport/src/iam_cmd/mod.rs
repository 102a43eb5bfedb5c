//! `homeport iam ...`: IAM work against a running Homeport server, as the aws CLI would call
//! it (`crate::aws_client`: the same environment, the same error lines and exit codes).
//!
//! `suggest-policy` is the seed's least-privilege advice as one command: Homeport records
//! every authorization, so IAM Access Analyzer's policy generation can write the customer
//! managed policy the ECS Anywhere guide tells users to write by hand (`suggest`).
//! `unused-access` lists what went unused, as Access Analyzer's unused access findings
//! (`unused_access`).
//!
//! Exit codes: 0 done; 1 the command refused to go on (the generation failed, the simulation
//! shows a request that would break, a policy of that name holds another document); the aws
//! CLI's 252 (bad input), 253 (the environment: endpoint, credentials, CA), 254 (a service
//! refused a call) and 255 (no connection, or an unreadable answer).

mod report;
mod simulation;
mod since;
mod suggest;
mod unused;
mod unused_access;

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::output;
use crate::policy::Output;

#[derive(Subcommand)]
pub enum IamCommand {
    /// Generate a least-privilege policy from what a role was authorized for (IAM Access
    /// Analyzer's policy generation over the audit trail), show what its managed policies grant
    /// that was never used, and with --apply swap them for it.
    #[command(after_help = "Exit status: 0 done; 1 refused to go on (the generation failed, the simulation \
        shows a request that would be denied, a policy of that name holds another document); as the aws CLI: 252 \
        bad input, 253 the environment (AWS_ENDPOINT_URL, credentials, AWS_CA_BUNDLE), 254 a service error, 255 \
        no connection.")]
    SuggestPolicy(SuggestArgs),
    /// List the roles, access keys and permissions unused for a number of days (IAM Access
    /// Analyzer's unused access findings, computed from the audit trail); creates the account's
    /// unused access analyzer if it has none.
    #[command(
        after_help = "Exit status: 0 done; as the aws CLI: 252 bad input, 253 the environment         (AWS_ENDPOINT_URL, credentials, AWS_CA_BUNDLE), 254 a service error, 255 no connection."
    )]
    UnusedAccess(UnusedArgs),
}

#[derive(Args)]
pub struct UnusedArgs {
    /// Unused for at least this many days (1 to 365): the analyzer's tracking period, set on it
    /// when given. Default: the existing analyzer's, else 90.
    #[arg(long, value_name = "DAYS")]
    pub days: Option<i64>,
    /// Print text for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Args)]
pub struct SuggestArgs {
    /// The role whose recorded use the policy is generated from.
    #[arg(long, value_name = "NAME")]
    pub role: String,
    /// Only the use within this long before now: 90m, 24h, 7d (at most 90d). Default: all the
    /// trail holds of the last 90 days.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Print text for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Create the generated policy as a customer managed policy of this name, attach it to the
    /// role and detach every managed policy it replaces, once a simulation shows that every
    /// observed request is still allowed.
    #[arg(long, value_name = "POLICY_NAME")]
    pub apply: Option<String>,
}

/// Why a command stopped.
pub enum Failure {
    /// Unusable input (252).
    Input(String),
    /// A call failed (its own exit code), with what to do about it.
    Call(crate::aws_client::ClientError, Option<String>),
    /// The command refused to go on (1).
    Refused(String),
}

pub fn run(command: IamCommand) -> ExitCode {
    let result = match command {
        IamCommand::SuggestPolicy(args) => suggest::suggest_policy(&args),
        IamCommand::UnusedAccess(args) => unused_access::unused_access(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(message)) => {
            output::error_line(&format!("error: {message}"));
            ExitCode::from(252)
        }
        Err(Failure::Call(error, hint)) => {
            output::error_line(&error.to_string());
            if let Some(hint) = hint {
                output::error_line(&hint);
            }
            ExitCode::from(error.exit_code())
        }
        Err(Failure::Refused(message)) => {
            output::error_line(&message);
            ExitCode::FAILURE
        }
    }
}
