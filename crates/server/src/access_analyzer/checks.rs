//! The custom policy checks: `CheckNoNewAccess` (`POST /policy/check-no-new-access`) and
//! `CheckAccessNotGranted` (`POST /policy/check-access-not-granted`), decided by
//! `iam_policy::access`, soundly: `PASS` only when the policy provably grants no new access
//! (none of the listed access), `FAIL` with the statements that may. Documents must be valid
//! policies of their type (IAM's grammar); one that is not is refused with
//! `InvalidParameterException`, naming the member and IAM's reason.

use aws_protocol::AwsError;
use iam_policy::access::{Reason, granted, new_access};
use iam_policy::{Policy, PolicyKind};
use serde_json::{Value as Json, json};

use super::{any_resource, invalid, required_enum, required_string};
use crate::operations::{Ctx, json as json_op, operation};

operation!(
    access_analyzer,
    CHECK_NO_NEW_ACCESS,
    "CheckNoNewAccess",
    Read,
    any_resource,
    |ctx| json_op(check_no_new_access(ctx)),
    action = "access-analyzer:CheckNoNewAccess",
    http = ("POST", "/policy/check-no-new-access", 200),
);

operation!(
    access_analyzer,
    CHECK_ACCESS_NOT_GRANTED,
    "CheckAccessNotGranted",
    Read,
    any_resource,
    |ctx| json_op(check_access_not_granted(ctx)),
    action = "access-analyzer:CheckAccessNotGranted",
    http = ("POST", "/policy/check-access-not-granted", 200),
);

const POLICY_TYPES: &[&str] = &["IDENTITY_POLICY", "RESOURCE_POLICY"];

/// The model's bounds on `access`: at most one entry, of at most 100 actions and 100 resources
/// of at most 2,048 characters.
const MAX_ACCESS: usize = 1;
const MAX_NAMES: usize = 100;
const MAX_RESOURCE_LENGTH: usize = 2_048;

fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", 400, message)
}

/// A policy document member, parsed and valid for the policy type.
fn document(body: &Json, member: &str, policy_type: &str) -> Result<Policy, AwsError> {
    let text = required_string(body, member)?;
    // A resource policy may leave its resource implicit (the resource it is attached to).
    let kind = if policy_type == "IDENTITY_POLICY" { PolicyKind::Identity } else { PolicyKind::RepositoryPolicy };
    iam_policy::validate(text, kind)
        .map(|validated| validated.policy)
        .map_err(|error| invalid_parameter(format!("The {member} is not a valid policy: {}", error.message)))
}

fn reasons(found: &[Reason], description: impl Fn(usize) -> String) -> Json {
    let reasons: Vec<Json> = found
        .iter()
        .map(|reason| {
            let mut summary = json!({
                "description": description(reason.statement_index),
                "statementIndex": reason.statement_index,
            });
            if let Some(sid) = &reason.statement_id {
                crate::operations::put(&mut summary, "statementId", sid.as_str());
            }
            summary
        })
        .collect();
    Json::Array(reasons)
}

async fn check_no_new_access(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let policy_type = required_enum(ctx.body, "policyType", POLICY_TYPES)?;
    let new = document(ctx.body, "newPolicyDocument", policy_type)?;
    let existing = document(ctx.body, "existingPolicyDocument", policy_type)?;
    let found = new_access(&new, &existing);
    if found.is_empty() {
        return Ok(json!({
            "result": "PASS",
            "message": "The modified permissions do not grant new access compared to your existing policy.",
            "reasons": [],
        }));
    }
    Ok(json!({
        "result": "FAIL",
        "message": "The modified permissions grant new access compared to your existing policy.",
        "reasons": reasons(&found, |index| format!("New access in the statement with index: {index}.")),
    }))
}

/// A list of strings member of an `access` entry, at most [`MAX_NAMES`] long.
fn names(entry: &Json, member: &str) -> Result<Vec<String>, AwsError> {
    let field = format!("access.{member}");
    let items = match entry.get(member) {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(_) => return Err(invalid("cannotParse", &field, format!("Member '{field}' must be a list."))),
    };
    if items.len() > MAX_NAMES {
        return Err(invalid(
            "fieldValidationFailed",
            &field,
            format!(
                "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {MAX_NAMES}"
            ),
        ));
    }
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid("cannotParse", &field, format!("Members of '{field}' must be strings.")))
        })
        .collect()
}

/// An action to check: `*`, or `service:action`, as a policy's `Action` takes it.
fn check_action(action: &str) -> Result<(), AwsError> {
    let well_formed = action == "*"
        || action.split_once(':').is_some_and(|(service, name)| {
            !service.is_empty()
                && !name.is_empty()
                && service.chars().all(|c| c.is_ascii_alphanumeric() || "-*?".contains(c))
        });
    if well_formed {
        Ok(())
    } else {
        let shown: String = action.chars().take(256).collect();
        Err(invalid_parameter(format!("The action {shown} is not valid: use the format service:action.")))
    }
}

/// A resource to check: an ARN, with wildcards only in its resource id.
fn check_resource(resource: &str) -> Result<(), AwsError> {
    let shown = || resource.chars().take(256).collect::<String>();
    if resource.chars().count() > MAX_RESOURCE_LENGTH {
        return Err(invalid(
            "fieldValidationFailed",
            "access.resources",
            format!(
                "1 validation error detected: Value at 'access.resources' failed to satisfy constraint: Member must have length less than or equal to {MAX_RESOURCE_LENGTH}"
            ),
        ));
    }
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let wildcard_before_id = parts.iter().take(5).any(|part| part.contains(['*', '?']));
    if parts.len() < 6 || parts.first() != Some(&"arn") || wildcard_before_id {
        return Err(invalid_parameter(format!(
            "The resource {} is not valid: use an ARN, with wildcards only in the resource ID.",
            shown()
        )));
    }
    Ok(())
}

async fn check_access_not_granted(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let policy_type = required_enum(ctx.body, "policyType", POLICY_TYPES)?;
    let access = match ctx.body.get("access") {
        None | Some(Json::Null) => {
            return Err(invalid(
                "fieldValidationFailed",
                "access",
                "1 validation error detected: Value null at 'access' failed to satisfy constraint: Member must not be null",
            ));
        }
        Some(Json::Array(access)) => access,
        Some(_) => return Err(invalid("cannotParse", "access", "Member 'access' must be a list.")),
    };
    if access.len() > MAX_ACCESS {
        return Err(invalid(
            "fieldValidationFailed",
            "access",
            format!(
                "1 validation error detected: Value at 'access' failed to satisfy constraint: Member must have length less than or equal to {MAX_ACCESS}"
            ),
        ));
    }
    let policy = document(ctx.body, "policyDocument", policy_type)?;
    let Some(entry) = access.first().filter(|entry| entry.is_object()) else {
        return Err(invalid_parameter("The access list must hold one entry with actions, resources or both."));
    };
    let actions = names(entry, "actions")?;
    let resources = names(entry, "resources")?;
    if actions.is_empty() && resources.is_empty() {
        return Err(invalid_parameter("The access entry must list actions, resources or both."));
    }
    actions.iter().try_for_each(|action| check_action(action))?;
    resources.iter().try_for_each(|resource| check_resource(resource))?;
    let what = if actions.is_empty() {
        "access to one or more of the listed resources"
    } else {
        "access to perform one or more of the listed actions"
    };
    let found = granted(&policy, &actions, &resources);
    if found.is_empty() {
        return Ok(json!({
            "result": "PASS",
            "message": format!("The policy document does not grant {what}."),
            "reasons": [],
        }));
    }
    Ok(json!({
        "result": "FAIL",
        "message": format!("The policy document grants {what}."),
        "reasons": reasons(&found, |index| format!("One or more of the listed actions or resources in the statement with index: {index}.")),
    }))
}
