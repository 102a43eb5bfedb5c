//! `homeport policy validate` and `homeport policy simulate`: the IAM policy engine offline.
//!
//! `simulate` reads exactly what `aws iam simulate-custom-policy --cli-input-json` reads and
//! prints exactly what that command prints (all pages merged, as the aws CLI does), so a
//! request can move between Homeport, the aws CLI and AWS unchanged. Exit codes follow the aws
//! CLI: 0 on success, 252 for an unreadable request, 254 when the service refuses it.

use std::io::Read;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use iam_policy::simulate::{SimulateCustomPolicyRequest, SimulatePolicyResponse, simulate_custom_policy};
use iam_policy::{PolicyKind, validate};

use crate::output;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check a policy document as IAM would when it is stored, and list least-privilege findings.
    Validate {
        /// The policy document: a path, `file://PATH`, or `-` for standard input.
        file: String,
        /// What the document is used as.
        #[arg(long = "type", value_enum, default_value_t = Kind::Identity)]
        kind: Kind,
        /// Print the result as JSON instead of text.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Answer a SimulateCustomPolicy request: `--cli-input-json file://REQ.json`.
    Simulate {
        /// The request, in the shape of IAM's SimulateCustomPolicy: `file://PATH`, `-`, or JSON.
        #[arg(long = "cli-input-json")]
        cli_input_json: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    /// A user, group or role policy, a permissions boundary or a session policy.
    Identity,
    /// A role trust policy.
    Trust,
    /// A resource-based policy such as a repository policy.
    Resource,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

const EXIT_INVALID_INPUT: u8 = 252;
const EXIT_SERVICE_ERROR: u8 = 254;

pub fn run(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Validate { file, kind, output } => validate_command(&file, kind, output),
        PolicyCommand::Simulate { cli_input_json } => simulate_command(&cli_input_json),
    }
}

/// Reads `file://PATH`, a plain path, or `-` (standard input).
fn read_input(source: &str) -> Result<String, String> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|error| format!("cannot read standard input: {error}"))?;
        return Ok(text);
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    std::fs::read_to_string(path).map_err(|error| format!("cannot read `{path}`: {error}"))
}

fn validate_command(file: &str, kind: Kind, output: Output) -> ExitCode {
    let text = match read_input(file) {
        Ok(text) => text,
        Err(message) => {
            output::error_line(&format!("error: {message}"));
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
    };
    let (kind, quota) = match kind {
        Kind::Identity => (PolicyKind::Identity, Some(iam_policy::SizeQuota::ManagedPolicy)),
        Kind::Trust => (PolicyKind::Trust, Some(iam_policy::SizeQuota::TrustPolicy)),
        Kind::Resource => (PolicyKind::Resource, None),
    };
    let result = validate(&text, kind).and_then(|validated| match quota {
        Some(quota) => quota.check([text.as_str()]).map(|()| validated),
        None => Ok(validated),
    });
    let position =
        |span: Option<iam_policy::json::Span>| span.map(|span| iam_policy::json::position(&text, span.start));
    match (result, output) {
        (Ok(validated), Output::Text) => {
            output::line("valid");
            for finding in &validated.findings {
                let at = iam_policy::json::position(&text, finding.span.start);
                output::line(&format!(
                    "{} {} (line {}, column {}): {}",
                    finding.finding_type.as_str(),
                    finding.issue_code,
                    at.line,
                    at.column,
                    finding.message
                ));
            }
            ExitCode::SUCCESS
        }
        (Ok(validated), Output::Json) => {
            let findings: Vec<serde_json::Value> = validated
                .findings
                .iter()
                .map(|finding| {
                    serde_json::json!({
                        "FindingType": finding.finding_type,
                        "IssueCode": finding.issue_code,
                        "Message": finding.message,
                        "Location": iam_policy::json::position(&text, finding.span.start),
                    })
                })
                .collect();
            print_json(&serde_json::json!({ "Valid": true, "Findings": findings }));
            ExitCode::SUCCESS
        }
        (Err(error), Output::Text) => {
            match position(error.span) {
                Some(at) => output::error_line(&format!(
                    "{}: {} (line {}, column {})",
                    error.code.as_str(),
                    error.message,
                    at.line,
                    at.column
                )),
                None => output::error_line(&format!("{}: {}", error.code.as_str(), error.message)),
            }
            ExitCode::FAILURE
        }
        (Err(error), Output::Json) => {
            print_json(&serde_json::json!({
                "Valid": false,
                "Error": { "Code": error.code.as_str(), "Message": error.message, "Location": position(error.span) },
            }));
            ExitCode::FAILURE
        }
    }
}

fn simulate_command(source: &str) -> ExitCode {
    let text = if source.trim_start().starts_with('{') { Ok(source.to_owned()) } else { read_input(source) };
    let request = text
        .and_then(|text| serde_json::from_str(&text).map_err(|error| format!("the request is not JSON: {error}")))
        .and_then(|value| SimulateCustomPolicyRequest::from_json(value).map_err(|error| error.message));
    let request = match request {
        Ok(request) => request,
        Err(message) => {
            output::error_line(&format!("error: {message}"));
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
    };
    match simulate_all_pages(request) {
        Ok(response) => {
            print_json(&response);
            ExitCode::SUCCESS
        }
        Err(error) => {
            output::error_line(&format!(
                "An error occurred (InvalidInput) when calling the SimulateCustomPolicy operation: {}",
                error.message
            ));
            ExitCode::from(EXIT_SERVICE_ERROR)
        }
    }
}

/// Follows `Marker` until the last page, as the aws CLI does unless `MaxItems` is given.
fn simulate_all_pages(
    mut request: SimulateCustomPolicyRequest,
) -> Result<SimulatePolicyResponse, iam_policy::simulate::InvalidInput> {
    if request.max_items.is_some() {
        return simulate_custom_policy(&request);
    }
    let mut merged = simulate_custom_policy(&request)?;
    while let Some(marker) = merged.marker.take() {
        request.marker = Some(marker);
        let page = simulate_custom_policy(&request)?;
        merged.evaluation_results.extend(page.evaluation_results);
        merged.marker = page.marker;
    }
    merged.is_truncated = false;
    Ok(merged)
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => output::line(&text),
        Err(error) => output::error_line(&format!("error: cannot render the result: {error}")),
    }
}
