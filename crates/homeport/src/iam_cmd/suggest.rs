//! `homeport iam suggest-policy`: generate, compare, and (with `--apply`) swap.
//!
//! 1. GetRole, then StartPolicyGeneration for its ARN over `--since` (or, without it, no
//!    `cloudTrailDetails`: the trail's whole range within 90 days), then GetGeneratedPolicy
//!    until the job ends, with progress on standard error.
//! 2. Every managed policy attached to the role is one it would replace: the generated policy
//!    alone allows all the role was observed doing, whichever policy granted it. Inline
//!    policies and the permissions boundary stay (they are part of the role, not attachments).
//!    A policy named by `--apply` that is already attached is the result of an earlier run,
//!    not something to replace.
//! 3. `--apply NAME` changes nothing until SimulateCustomPolicy shows every statement of the
//!    generated policy allowed with the generated documents, the inline policies and the
//!    boundary (`simulation`); then CreatePolicy (or reuse of a policy of that name holding the
//!    same document), AttachRolePolicy, and DetachRolePolicy of each replaced policy, in that
//!    order, so the role is never without its permissions. A generation of several documents
//!    becomes NAME, NAME-2, NAME-3...

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::report::{Applied, Replaced, Report};
use super::simulation;
use super::since::parse_since;
use super::unused::{generated_actions, unused_grants};
use super::{Failure, SuggestArgs};
use crate::aws_client::access_analyzer::{self, GeneratedPolicy, TrailWindow};
use crate::aws_client::iam::{self, AttachedPolicy, Role, Simulation};
use crate::aws_client::{Client, ClientError};
use crate::output;
use crate::policy::Output;

/// How often the job is asked about, and for how long at most.
const POLL_EVERY: Duration = Duration::from_secs(1);
const GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 60);

/// What to do about a failed call, where there is something to say.
fn hint(error: &ClientError, role: &str) -> Option<String> {
    let hint = match (error.code()?, error) {
        ("AccessDenied" | "AccessDeniedException", _) => "The credentials in use may not do this: run it as an \
             administrator of the account, such as root (AWS_SHARED_CREDENTIALS_FILE=DATA_DIR/root-credentials)."
            .to_owned(),
        ("NoSuchEntity", ClientError::Service { operation, .. }) if operation == "GetRole" => format!(
            "There is no role named {role}: `aws iam list-roles --query 'Roles[].RoleName'` lists the account's roles."
        ),
        ("UnknownOperationException", _) => {
            "This server does not generate policies: run a Homeport server that has IAM Access Analyzer's \
             policy generation."
                .to_owned()
        }
        ("InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch", _) => {
            "The server does not accept these credentials: check that AWS_SHARED_CREDENTIALS_FILE (or \
             AWS_ACCESS_KEY_ID) and AWS_PROFILE name this server's credentials."
                .to_owned()
        }
        _ => return None,
    };
    Some(hint)
}

/// The policy names and ARNs `--apply NAME` writes: NAME, then NAME-2, NAME-3...
fn targets(name: &str, documents: usize, account: &str) -> Vec<(String, String)> {
    (0..documents.max(1))
        .map(|index| {
            let name = if index == 0 { name.to_owned() } else { format!("{name}-{}", index + 1) };
            let arn = format!("arn:aws:iam::{account}:policy/{name}");
            (name, arn)
        })
        .collect()
}

/// Whether two documents say the same (as JSON values: layout and member order aside).
fn same_document(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

pub fn suggest_policy(args: &SuggestArgs) -> Result<(), Failure> {
    let since = args.since.as_deref().map(parse_since).transpose().map_err(Failure::Input)?;
    if args.apply.as_deref().is_some_and(|name| name.trim().is_empty()) {
        return Err(Failure::Input("--apply needs the name of the policy to create".to_owned()));
    }
    let client = Client::from_environment().map_err(|error| Failure::Call(error, None))?;
    let call = |error: ClientError| {
        let hint = hint(&error, &args.role);
        Failure::Call(error, hint)
    };
    let role = iam::get_role(&client, &args.role).map_err(call)?;
    let window = since.map(|seconds| {
        let now = agent::now();
        TrailWindow {
            trail_arn: format!("arn:aws:cloudtrail:{}:{}:trail/homeport", client.region(), role.account()),
            // The API requires an access role with a window; the analyzed role itself is one
            // that exists, and the server only checks that and that the caller may pass it.
            access_role: role.arn.clone(),
            start: now.saturating_sub(i64::try_from(seconds).unwrap_or(i64::MAX)),
            end: now,
        }
    });
    let generated =
        generate(&client, &role, window.as_ref(), args.since.as_deref()).map_err(|failure| match failure {
            Failure::Call(error, None) => call(error),
            other => other,
        })?;
    let unreadable = |what: String| {
        Failure::Call(ClientError::Malformed { operation: "GetGeneratedPolicy".to_owned(), why: what }, None)
    };
    if generated.policies.is_empty() {
        return Err(unreadable("the job succeeded without a generated policy".to_owned()));
    }
    let actions = generated_actions(&generated.policies)
        .map_err(|error| unreadable(format!("the generated policy does not parse: {error}")))?;
    let targets = args.apply.as_deref().map(|name| targets(name.trim(), generated.policies.len(), role.account()));
    let target_arns: Vec<&str> = targets.iter().flatten().map(|(_, arn)| arn.as_str()).collect();

    let attached = iam::list_attached_role_policies(&client, &role.name).map_err(call)?;
    let mut replaced = Vec::new();
    for policy in attached.iter().filter(|policy| !target_arns.contains(&policy.arn.as_str())) {
        let (_, document) = iam::default_document(&client, &policy.arn).map_err(call)?;
        let grants = unused_grants(&document, &actions).map_err(|error| {
            Failure::Refused(format!("the managed policy {} does not parse ({error}); nothing was changed", policy.arn))
        })?;
        replaced.push(Replaced { name: policy.name.clone(), arn: policy.arn.clone(), grants });
    }
    let inline_policies = iam::list_role_policies(&client, &role.name).map_err(call)?;
    let report = Report {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        job_id: generated.job_id.clone(),
        trail_arns: generated.trail_arns.clone(),
        start_time: generated.start_time.clone(),
        end_time: generated.end_time.clone(),
        is_complete: generated.is_complete,
        policies: generated.policies.clone(),
        actions,
        replaced,
        inline_policies,
        permissions_boundary_arn: role.permissions_boundary_arn.clone(),
    };

    if matches!(args.output, Output::Text) {
        output::text(&report.text());
    }
    let applied = match (&args.apply, &targets) {
        (Some(name), Some(targets)) => match apply(&client, &role, &report, &attached, targets, name, args.output) {
            Ok(applied) => Some(applied),
            Err(failure) => {
                if matches!(args.output, Output::Json) {
                    print_json(&report.json(None));
                }
                return Err(match failure {
                    Failure::Call(error, None) => call(error),
                    other => other,
                });
            }
        },
        _ => {
            if matches!(args.output, Output::Text) {
                output::line(&format!(
                    "To make it {}'s policy instead of its managed policies: homeport iam suggest-policy --role {} \
                     --apply POLICY_NAME",
                    role.name, role.name
                ));
            }
            None
        }
    };
    if matches!(args.output, Output::Json) {
        print_json(&report.json(applied.as_ref()));
    }
    Ok(())
}

fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => output::line(&text),
        Err(error) => output::error_line(&format!("error: cannot render the result: {error}")),
    }
}

/// Progress on standard error while the job runs: a line redrawn in place on a terminal, a
/// line every ten seconds otherwise (a log keeps them all).
struct Progress {
    terminal: bool,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn start(what: &str) -> Progress {
        output::error_line(what);
        let now = Instant::now();
        Progress { terminal: std::io::stderr().is_terminal(), started: now, last_line: now }
    }

    fn tick(&mut self, status: &str) {
        let elapsed = self.started.elapsed().as_secs();
        if self.terminal {
            output::error_text(&format!("\r  {status}, {elapsed} s"));
        } else if self.last_line.elapsed() >= Duration::from_secs(10) {
            self.last_line = Instant::now();
            output::error_line(&format!("  {status} after {elapsed} s"));
        }
    }

    fn finish(&self, status: &str) {
        let clear = if self.terminal { "\r\x1b[K" } else { "" };
        output::error_text(&format!("{clear}  {status} in {:.1} s\n", self.started.elapsed().as_secs_f64()));
    }
}

/// Starts the generation and waits for its end; a failed or cancelled job is a refusal that
/// says why.
fn generate(
    client: &Client,
    role: &Role,
    window: Option<&TrailWindow>,
    since: Option<&str>,
) -> Result<GeneratedPolicy, Failure> {
    let call = |error| Failure::Call(error, None);
    let job = access_analyzer::start_policy_generation(client, &role.arn, window).map_err(call)?;
    let over = since.map_or_else(|| "the last 90 days".to_owned(), |since| format!("the last {since}"));
    let mut progress =
        Progress::start(&format!("Generating a policy from {}'s use over {over} (job {job})...", role.name));
    loop {
        let answer = access_analyzer::get_generated_policy(client, &job).map_err(call)?;
        match answer.status.as_str() {
            "SUCCEEDED" => {
                progress.finish("generated");
                return Ok(answer);
            }
            "FAILED" | "CANCELED" => {
                progress.finish(&answer.status.to_ascii_lowercase());
                let why = answer
                    .error
                    .map_or_else(|| "no reason given".to_owned(), |error| format!("{}: {}", error.code, error.message));
                let next = match since {
                    Some(_) => {
                        "If the role was not used in that window, widen --since, or run this again once it has been."
                    }
                    None => {
                        "If the role has not been used yet, run this again once it has been (an agent registered with an activation for it, running tasks)."
                    }
                };
                return Err(Failure::Refused(format!(
                    "Policy generation {} for {} ended {}: {why}\n{next}",
                    answer.job_id, role.arn, answer.status
                )));
            }
            _ => {}
        }
        if progress.started.elapsed() > GIVE_UP_AFTER {
            return Err(Failure::Refused(format!(
                "Policy generation {job} is still {} after {} minutes: it goes on without this command; read it later \
                 with `aws accessanalyzer get-generated-policy --job-id {job}`",
                answer.status,
                GIVE_UP_AFTER.as_secs() / 60
            )));
        }
        progress.tick(&answer.status.to_ascii_lowercase().replace('_', " "));
        std::thread::sleep(POLL_EVERY);
    }
}

/// Simulates, then creates (or reuses), attaches and detaches, saying each step.
fn apply(
    client: &Client,
    role: &Role,
    report: &Report,
    attached: &[AttachedPolicy],
    targets: &[(String, String)],
    name: &str,
    format: Output,
) -> Result<Applied, Failure> {
    let say = |line: &str| match format {
        Output::Text => output::line(line),
        Output::Json => output::error_line(line),
    };
    let call = |error| Failure::Call(error, None);
    say(&format!("\nApplying it to {} as {name}:", role.name));

    // The simulation: the generated documents and the inline policies, within the boundary.
    let mut policies = report.policies.clone();
    for inline in &report.inline_policies {
        policies.push(iam::get_role_policy(client, &role.name, inline).map_err(call)?);
    }
    let boundaries = match &role.permissions_boundary_arn {
        Some(arn) => vec![iam::default_document(client, arn).map_err(call)?.1],
        None => Vec::new(),
    };
    let checks = simulation::checks(&report.policies)
        .map_err(|why| Failure::Refused(format!("Not applied: {why}. Nothing was changed.")))?;
    let mut requests = 0;
    let mut denied = Vec::new();
    for check in &checks {
        let simulation = Simulation {
            policies: policies.clone(),
            boundaries: boundaries.clone(),
            actions: check.actions.clone(),
            resources: check.resources.clone(),
            context: check.context.clone(),
        };
        for result in iam::simulate_custom_policy(client, &simulation).map_err(call)? {
            requests += 1;
            if result.decision != "allowed" {
                let missing = if result.missing_context.is_empty() {
                    String::new()
                } else {
                    format!(" (missing context: {})", result.missing_context.join(", "))
                };
                denied.push(format!(
                    "  {}: {} on {}: {}{missing}",
                    check.statement, result.action, result.resource, result.decision
                ));
            }
        }
    }
    let boundary = role
        .permissions_boundary_arn
        .as_deref()
        .map_or_else(|| "no permissions boundary".to_owned(), |arn| format!("the permissions boundary {arn}"));
    let inline = report.inline_policies.len();
    if !denied.is_empty() {
        return Err(Failure::Refused(format!(
            "Not applied: with the generated policy, {inline} inline polic{} and {boundary}, and without the managed \
             policies, these observed requests would be denied:\n{}\nNothing was changed.",
            if inline == 1 { "y" } else { "ies" },
            denied.join("\n")
        )));
    }
    say(&format!(
        "  Simulated {requests} request{} ({} statement check{}) with the generated policy, {inline} inline polic{} \
         and {boundary}, without the managed policies it replaces: all allowed.",
        if requests == 1 { "" } else { "s" },
        checks.len(),
        if checks.len() == 1 { "" } else { "s" },
        if inline == 1 { "y" } else { "ies" },
    ));

    // Every name is checked before anything is created.
    let mut creates = Vec::new();
    for ((policy_name, arn), document) in targets.iter().zip(&report.policies) {
        match iam::default_document(client, arn) {
            Ok((_, existing)) if same_document(&existing, document) => creates.push(false),
            Ok(_) => {
                return Err(Failure::Refused(format!(
                    "Not applied: a policy named {policy_name} already exists ({arn}) with another document. Choose \
                     another name for --apply, or, if that policy is yours to replace, delete it first (`aws iam \
                     delete-policy --policy-arn {arn}`, once detached from every principal). Nothing was changed."
                )));
            }
            Err(error) if error.code() == Some("NoSuchEntity") => creates.push(true),
            Err(error) => return Err(call(error)),
        }
    }
    let description = format!(
        "Generated by homeport iam suggest-policy from what {} was authorized for{}",
        role.arn,
        match (&report.start_time, &report.end_time) {
            (Some(start), Some(end)) => format!(" from {start} to {end}"),
            _ => String::new(),
        }
    );
    let mut applied = Applied { simulated_requests: requests, ..Applied::default() };
    for (((policy_name, arn), document), create) in targets.iter().zip(&report.policies).zip(creates) {
        if create {
            let created = iam::create_policy(client, policy_name, document, &description).map_err(call)?;
            say(&format!("  Created {created}."));
            applied.policies.push((created, true));
        } else {
            say(&format!("  Reusing {arn}: it already holds this document."));
            applied.policies.push((arn.clone(), false));
        }
    }
    for (arn, _) in applied.policies.clone() {
        if attached.iter().any(|policy| policy.arn == arn) {
            say(&format!("  {arn} is already attached to {}.", role.name));
        } else {
            iam::attach_role_policy(client, &role.name, &arn).map_err(call)?;
            say(&format!("  Attached {arn} to {}.", role.name));
            applied.attached.push(arn);
        }
    }
    for replaced in &report.replaced {
        iam::detach_role_policy(client, &role.name, &replaced.arn).map_err(call)?;
        say(&format!("  Detached {} from {}.", replaced.arn, role.name));
        applied.detached.push(replaced.arn.clone());
    }
    let done = match report.replaced.len() {
        0 => format!("Done: {} holds the generated policy (no other managed policy was attached).", role.name),
        1 => format!("Done: {} holds the generated policy instead of 1 managed policy.", role.name),
        count => format!("Done: {} holds the generated policy instead of {count} managed policies.", role.name),
    };
    say(&done);
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_the_name_then_numbered() {
        assert_eq!(
            targets("least", 1, "123456789012"),
            [("least".to_owned(), "arn:aws:iam::123456789012:policy/least".to_owned())]
        );
        let names: Vec<String> = targets("least", 3, "1").into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["least", "least-2", "least-3"]);
    }

    #[test]
    fn documents_compare_as_json() {
        assert!(same_document(
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            "{\n \"Statement\": [],\n \"Version\": \"2012-10-17\"}"
        ));
        assert!(!same_document(r#"{"Statement":[1]}"#, r#"{"Statement":[2]}"#));
        assert!(!same_document("{", "{ "), "text that is not JSON compares as text");
    }

    #[test]
    fn failures_say_what_to_do_next() {
        let refused = |operation: &str, code: &str| ClientError::Service {
            operation: operation.to_owned(),
            code: code.to_owned(),
            message: "m".to_owned(),
        };
        let no_role = hint(&refused("GetRole", "NoSuchEntity"), "ecsAnywhereRole").unwrap_or_default();
        assert!(no_role.starts_with("There is no role named ecsAnywhereRole"), "{no_role}");
        assert_eq!(hint(&refused("GetPolicy", "NoSuchEntity"), "r"), None);
        for code in ["AccessDenied", "AccessDeniedException", "UnknownOperationException", "InvalidClientTokenId"] {
            assert!(hint(&refused("StartPolicyGeneration", code), "r").is_some(), "{code}");
        }
        assert_eq!(hint(&ClientError::Config("c".into()), "r"), None);
    }
}
