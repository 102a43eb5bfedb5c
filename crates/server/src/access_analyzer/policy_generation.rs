//! Policy generation over Homeport's own audit trail: `StartPolicyGeneration`
//! (`PUT /policy/generation`), `GetGeneratedPolicy` (`GET /policy/generation/{jobId}`),
//! `ListPolicyGenerations` (`GET /policy/generation`), `CancelPolicyGeneration`
//! (`PUT /policy/generation/{jobId}`).
//!
//! The trail is Homeport's, `arn:aws:cloudtrail:REGION:ACCOUNT:trail/homeport` (every request
//! is recorded in it); what a user or role was allowed, by the hour, is `iam_usage`, so a job
//! is finished within the request that starts it (`SUCCEEDED` or `FAILED`, never left
//! `IN_PROGRESS`), whatever the trail's size. Guarantees:
//! - The generated policy allows every (action, resource) the principal was allowed in the
//!   window and nothing else but generated ids (`iam::model::least_privilege`), `iam:PassRole`
//!   included with the services it was passed to, and the agents' own calls.
//! - A window in which the principal was allowed nothing is a `FAILED` job saying so, never an
//!   empty policy; so is a principal or trail that does not exist.
//! - `isComplete` is true only when the trail holds the whole window: it started recording
//!   use before the window's start (and has not forgotten it since), and the window has ended.
//!   Without `cloudTrailDetails` the window is all the trail holds within the quota's range.
//! - Access Analyzer's quotas by default: 50 generations a day per account
//!   (`--policy-generations-per-day`) over at most 90 days (`--policy-generation-days`).
//! - `includeResourcePlaceholders` chooses the level of detail as on AWS: with it the observed
//!   ARNs (Homeport knows them, so no placeholder is needed), without it `*`.
//!   `includeServiceLevelTemplate` adds nothing: Homeport knows the actions of every service it
//!   records, so no service is known only by name.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::model::generations::{self as model, Job, JobStatus, Outcome, Started};
use super::{any_resource, invalid, optional_object as object, optional_string, required_string};
use crate::errors::internal;
use crate::iam::model::entities::{self, Kind};
use crate::iam::model::least_privilege::{self, Observation};
use crate::iam::model::usage;
use crate::ids;
use crate::operations::{Ctx, json as json_op, operation};

operation!(
    access_analyzer,
    START_POLICY_GENERATION,
    "StartPolicyGeneration",
    Write,
    any_resource,
    |ctx| json_op(start(ctx)),
    action = "access-analyzer:StartPolicyGeneration",
    http = ("PUT", "/policy/generation", 200),
);

operation!(
    access_analyzer,
    GET_GENERATED_POLICY,
    "GetGeneratedPolicy",
    Read,
    any_resource,
    |ctx| json_op(get(ctx)),
    action = "access-analyzer:GetGeneratedPolicy",
    http = ("GET", "/policy/generation/{jobId}", 200),
);

operation!(
    access_analyzer,
    LIST_POLICY_GENERATIONS,
    "ListPolicyGenerations",
    Read,
    any_resource,
    |ctx| json_op(list(ctx)),
    action = "access-analyzer:ListPolicyGenerations",
    http = ("GET", "/policy/generation", 200),
);

operation!(
    access_analyzer,
    CANCEL_POLICY_GENERATION,
    "CancelPolicyGeneration",
    Write,
    any_resource,
    |ctx| json_op(cancel(ctx)),
    action = "access-analyzer:CancelPolicyGeneration",
    http = ("PUT", "/policy/generation/{jobId}", 200),
);

/// The name of Homeport's trail.
pub const TRAIL_NAME: &str = "homeport";

/// How many days Access Analyzer keeps a generation (AWS keeps them 7 days).
pub const KEPT_DAYS: i64 = 7;

const DAY: i64 = 86_400;

/// The ARN of Homeport's trail, in the server's region.
pub fn trail_arn(ctx: &Ctx<'_>) -> String {
    format!("arn:aws:cloudtrail:{}:{}:trail/{TRAIL_NAME}", ctx.region(), ctx.account())
}

/// `PrincipalArn`'s pattern: `arn:[^:]*:iam::[^:]*:(role|user)/.{1,576}`.
fn principal_kind(arn: &str) -> Option<Kind> {
    let rest = arn.strip_prefix("arn:")?;
    let (_, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (_, resource) = rest.split_once(':')?;
    let (noun, name) = resource.split_once('/')?;
    let length = name.chars().count();
    let kind = match noun {
        "role" => Kind::Role,
        "user" => Kind::User,
        _ => return None,
    };
    (1..=576).contains(&length).then_some(kind)
}

fn pattern_error(member: &str, value: &str, pattern: &str) -> AwsError {
    let shown: String = value.chars().take(256).collect();
    invalid(
        "fieldValidationFailed",
        member,
        format!(
            "1 validation error detected: Value '{shown}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
        ),
    )
}

/// An ISO 8601 timestamp member, in seconds.
fn timestamp(body: &Json, member: &str) -> Result<Option<i64>, AwsError> {
    let Some(text) = optional_string(body, member)? else { return Ok(None) };
    iam_policy::condition::parse_date(text)
        .filter(|seconds| seconds.is_finite())
        .map(|seconds| Some(seconds.floor() as i64))
        .ok_or_else(|| invalid("cannotParse", member, format!("Member '{member}' must be an ISO 8601 timestamp.")))
}

/// The window, trail and regions a request asks for, as checked.
struct Asked {
    window: (i64, i64),
    trail: String,
    /// Empty: every region.
    regions: Vec<String>,
}

/// Why a job fails, before or after it reads the trail.
struct Failure {
    code: &'static str,
    message: String,
}

async fn start(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let details = object(ctx.body, "policyGenerationDetails")?.ok_or_else(|| {
        invalid(
            "fieldValidationFailed",
            "policyGenerationDetails",
            "1 validation error detected: Value null at 'policyGenerationDetails' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let principal_arn = required_string(details, "principalArn")?;
    let kind = principal_kind(principal_arn)
        .ok_or_else(|| pattern_error("principalArn", principal_arn, "arn:[^:]*:iam::[^:]*:(role|user)/.{1,576}"))?;
    let client_token = optional_string(ctx.body, "clientToken")?;
    let now = ids::now();
    let asked = asked(ctx, now).await?;
    let started_on = now;
    let job_id = ids::uuid().map_err(internal)?;
    let outcome = match &asked {
        Ok(asked) => generate(ctx, principal_arn, kind, asked, now).await?,
        Err(failure) => {
            Outcome { error: Some((failure.code.to_owned(), failure.message.clone())), ..Outcome::default() }
        }
    };
    let status = if outcome.error.is_some() { JobStatus::Failed } else { JobStatus::Succeeded };
    let job = Job {
        job_id,
        principal_arn: principal_arn.to_owned(),
        status,
        started_on,
        completed_on: Some(ids::now()),
        outcome,
    };
    let per_day = ctx.app.policy_generations_per_day;
    match model::insert(&ctx.app.store, ctx.scope(), &job, client_token, per_day).await.map_err(internal)? {
        Started::New => Ok(json!({"jobId": job.job_id})),
        Started::Existing(existing) => Ok(json!({"jobId": existing.job_id})),
        Started::OverQuota => Err(AwsError::new(
            "ServiceQuotaExceededException",
            402,
            format!("The account started {per_day} policy generations in the last 24 hours, its quota: retry later."),
        )
        .with_member("resourceId", json!(ctx.account()))
        .with_member("resourceType", json!("PolicyGeneration"))),
    }
}

/// The window, trail and regions of the request: a malformed request is refused; a trail or
/// access role that is not there fails the job (as a trail Access Analyzer cannot read does).
async fn asked(ctx: &Ctx<'_>, now: i64) -> Result<Result<Asked, Failure>, AwsError> {
    let max_days = ctx.app.policy_generation_days;
    let trail = trail_arn(ctx);
    let Some(details) = object(ctx.body, "cloudTrailDetails")? else {
        // Without details: all the trail holds within the quota's range, every region.
        let recorded_since = usage::recorded_since(&ctx.app.store).await.map_err(internal)?;
        let window = (recorded_since.unwrap_or(now).max(now - max_days * DAY).min(now), now);
        return Ok(Ok(Asked { window, trail, regions: Vec::new() }));
    };
    let trails = match details.get("trails") {
        Some(Json::Array(trails)) if !trails.is_empty() => trails,
        Some(Json::Array(_)) => {
            return Err(invalid("fieldValidationFailed", "trails", "At least one trail is required."));
        }
        None | Some(Json::Null) => {
            return Err(invalid(
                "fieldValidationFailed",
                "trails",
                "1 validation error detected: Value null at 'trails' failed to satisfy constraint: Member must not be null",
            ));
        }
        Some(_) => return Err(invalid("cannotParse", "trails", "Member 'trails' must be a list.")),
    };
    let access_role = required_string(details, "accessRole")?;
    if principal_kind(access_role) != Some(Kind::Role) {
        return Err(pattern_error("accessRole", access_role, "arn:[^:]*:iam::[^:]*:role/.{1,576}"));
    }
    let start = timestamp(details, "startTime")?.ok_or_else(|| {
        invalid(
            "fieldValidationFailed",
            "startTime",
            "1 validation error detected: Value null at 'startTime' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let end = timestamp(details, "endTime")?.unwrap_or(now);
    if start >= end {
        return Err(invalid("fieldValidationFailed", "startTime", "The start time must be before the end time."));
    }
    if start > now {
        return Err(invalid("fieldValidationFailed", "startTime", "The start time must not be in the future."));
    }
    if end - start > max_days * DAY {
        return Err(invalid(
            "fieldValidationFailed",
            "endTime",
            format!("The time range of a policy generation is at most {max_days} days."),
        ));
    }
    let mut regions: Vec<String> = Vec::new();
    let mut all_regions = false;
    for entry in trails {
        let arn = required_string(entry, "cloudTrailArn")?;
        if !arn.starts_with("arn:") || !arn.contains(":cloudtrail:") || !arn.contains(":trail/") {
            return Err(pattern_error("cloudTrailArn", arn, "arn:[^:]*:cloudtrail:[^:]*:[^:]*:trail/.{1,576}"));
        }
        if arn != trail {
            let message = format!("The trail {arn} does not exist: Homeport records every request in {trail}.");
            return Ok(Err(Failure { code: "RESOURCE_NOT_FOUND_ERROR", message }));
        }
        match entry.get("allRegions") {
            None | Some(Json::Null) | Some(Json::Bool(false)) => {}
            Some(Json::Bool(true)) => all_regions = true,
            Some(_) => return Err(invalid("cannotParse", "allRegions", "Member 'allRegions' must be a boolean.")),
        }
        match entry.get("regions") {
            None | Some(Json::Null) => {}
            Some(Json::Array(list)) => {
                for region in list {
                    let region = region.as_str().ok_or_else(|| {
                        invalid("cannotParse", "regions", "Member 'regions' must be a list of strings.")
                    })?;
                    if !regions.iter().any(|seen| seen == region) {
                        regions.push(region.to_owned());
                    }
                }
            }
            Some(_) => return Err(invalid("cannotParse", "regions", "Member 'regions' must be a list of strings.")),
        }
    }
    if !all_regions && regions.is_empty() {
        // Neither: the trail's own region, as a single-region trail records.
        regions.push(ctx.region().to_owned());
    }
    // The access role is what Access Analyzer reads the trail as: it must exist, and the
    // caller must be allowed to pass it to the service, as on AWS.
    let role_name = access_role.rsplit('/').next().unwrap_or_default();
    let role = entities::find(&ctx.app.store, ctx.account(), Kind::Role, role_name).await.map_err(internal)?;
    let Some(role) = role.filter(|role| role.arn(ctx.account()).eq_ignore_ascii_case(access_role)) else {
        let message = format!("The access role {access_role} does not exist.");
        return Ok(Err(Failure { code: "RESOURCE_NOT_FOUND_ERROR", message }));
    };
    crate::authz::pass_role(ctx, &role.arn(ctx.account()), "access-analyzer.amazonaws.com", &trail).await?;
    if all_regions {
        regions.clear();
    }
    Ok(Ok(Asked { window: (start, end), trail, regions }))
}

/// Reads what the principal was allowed in the window and generates its policy: the job's
/// outcome, a failure saying why when there is nothing to generate from.
async fn generate(
    ctx: &Ctx<'_>,
    principal_arn: &str,
    kind: Kind,
    asked: &Asked,
    now: i64,
) -> Result<Outcome, AwsError> {
    let mut outcome = Outcome {
        start_time: asked.window.0,
        end_time: asked.window.1,
        trail_arn: asked.trail.clone(),
        regions: asked.regions.clone(),
        ..Outcome::default()
    };
    let name = principal_arn.rsplit('/').next().unwrap_or_default();
    let found = entities::find(&ctx.app.store, ctx.account(), kind, name).await.map_err(internal)?;
    let Some(principal) = found.filter(|entity| entity.arn(ctx.account()).eq_ignore_ascii_case(principal_arn)) else {
        outcome.error = Some((
            "RESOURCE_NOT_FOUND_ERROR".to_owned(),
            format!("The principal {principal_arn} is not a user or role of account {}.", ctx.account()),
        ));
        return Ok(outcome);
    };
    // Every request answered before this one is in the usage table.
    ctx.app.audit.sync().await.map_err(internal)?;
    let store = &ctx.app.store;
    let observed = usage::observed(store, &principal.id, asked.window, &asked.regions).await.map_err(internal)?;
    let recorded_since = usage::recorded_since(store).await.map_err(internal)?;
    outcome.is_complete = recorded_since.is_some_and(|since| since <= asked.window.0) && asked.window.1 <= now;
    if observed.is_empty() {
        outcome.error = Some((
            "RESOURCE_NOT_FOUND_ERROR".to_owned(),
            format!(
                "{principal_arn} was allowed nothing between {} and {}{} in {}: there is no use to generate a policy from.",
                ids::iso8601(asked.window.0),
                ids::iso8601(asked.window.1),
                if asked.regions.is_empty() { String::new() } else { format!(" in {}", asked.regions.join(", ")) },
                asked.trail
            ),
        ));
        return Ok(outcome);
    }
    outcome.detailed = least_privilege::generate(&observed);
    let on_any: Vec<Observation> =
        observed.into_iter().map(|observation| Observation { resource: "*".to_owned(), ..observation }).collect();
    outcome.on_any_resource = least_privilege::generate(&on_any);
    Ok(outcome)
}

/// Forgets generations older than [`KEPT_DAYS`] (the background pass).
pub async fn expire(app: &crate::app::App) -> Result<(), AwsError> {
    model::expire(&app.store, ids::now().saturating_sub(KEPT_DAYS * DAY)).await.map_err(internal)?;
    Ok(())
}

/// The account's job the path names.
async fn job(ctx: &Ctx<'_>) -> Result<Job, AwsError> {
    let job_id = ctx.label("jobId").unwrap_or_default();
    model::find(&ctx.app.store, ctx.scope(), job_id).await.map_err(internal)?.ok_or_else(|| {
        AwsError::new("ResourceNotFoundException", 404, format!("The policy generation job {job_id} does not exist."))
            .with_member("resourceId", json!(job_id))
            .with_member("resourceType", json!("PolicyGeneration"))
    })
}

/// A boolean query member (botocore writes `true` / `false`).
fn query_flag(ctx: &Ctx<'_>, member: &str) -> Result<bool, AwsError> {
    match ctx.query(member) {
        None => Ok(false),
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(invalid("cannotParse", member, format!("Member '{member}' must be true or false."))),
    }
}

/// A job's `JobDetails` (with its `jobError`) or, for a listing, its `PolicyGeneration`.
fn job_details(job: &Job, listed: bool) -> Json {
    let mut details = Map::new();
    details.insert("jobId".to_owned(), json!(job.job_id));
    details.insert("status".to_owned(), json!(job.status.as_str()));
    details.insert("startedOn".to_owned(), json!(ids::iso8601(job.started_on)));
    if let Some(completed) = job.completed_on {
        details.insert("completedOn".to_owned(), json!(ids::iso8601(completed)));
    }
    if listed {
        details.insert("principalArn".to_owned(), json!(job.principal_arn));
    } else if let Some((code, message)) = &job.outcome.error {
        details.insert("jobError".to_owned(), json!({"code": code, "message": message}));
    }
    Json::Object(details)
}

async fn get(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let detailed = query_flag(ctx, "includeResourcePlaceholders")?;
    // Accepted, and nothing to add: see the module's guarantees.
    query_flag(ctx, "includeServiceLevelTemplate")?;
    let job = job(ctx).await?;
    let outcome = &job.outcome;
    let mut properties = Map::new();
    properties.insert("principalArn".to_owned(), json!(job.principal_arn));
    if !outcome.trail_arn.is_empty() {
        let trail = if outcome.regions.is_empty() {
            json!({"cloudTrailArn": outcome.trail_arn, "allRegions": true})
        } else {
            json!({"cloudTrailArn": outcome.trail_arn, "allRegions": false, "regions": outcome.regions})
        };
        properties.insert("isComplete".to_owned(), json!(outcome.is_complete));
        properties.insert(
            "cloudTrailProperties".to_owned(),
            json!({
                "trailProperties": [trail],
                "startTime": ids::iso8601(outcome.start_time),
                "endTime": ids::iso8601(outcome.end_time),
            }),
        );
    }
    let documents = if detailed { &outcome.detailed } else { &outcome.on_any_resource };
    let policies: Vec<Json> = documents.iter().map(|policy| json!({"policy": policy})).collect();
    Ok(json!({
        "jobDetails": job_details(&job, false),
        "generatedPolicyResult": {"properties": properties, "generatedPolicies": policies},
    }))
}

/// Jobs per page unless `maxResults` says otherwise, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

async fn list(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let principal = ctx.query("principalArn");
    if let Some(arn) = principal
        && principal_kind(arn).is_none()
    {
        return Err(pattern_error("principalArn", arn, "arn:[^:]*:iam::[^:]*:(role|user)/.{1,576}"));
    }
    let size = match ctx.query("maxResults") {
        None => DEFAULT_PAGE,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
            Ok(_) => {
                return Err(invalid(
                    "fieldValidationFailed",
                    "maxResults",
                    format!(
                        "1 validation error detected: Value '{text}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
                    ),
                ));
            }
            Err(_) => return Err(invalid("cannotParse", "maxResults", "Member 'maxResults' must be an integer.")),
        },
    };
    let bad_token = || invalid("fieldValidationFailed", "nextToken", "The nextToken is not valid.");
    let after = match ctx.query("nextToken") {
        None => None,
        Some(token) => {
            let (started_on, job_id) = token.split_once('.').ok_or_else(bad_token)?;
            Some((started_on.parse::<i64>().map_err(|_| bad_token())?, job_id))
        }
    };
    let mut jobs = model::page(&ctx.app.store, ctx.scope(), principal, after, size + 1).await.map_err(internal)?;
    let more = jobs.len() > size;
    jobs.truncate(size);
    let generations: Vec<Json> = jobs.iter().map(|job| job_details(job, true)).collect();
    Ok(match jobs.last().filter(|_| more) {
        Some(last) => {
            json!({"policyGenerations": generations, "nextToken": format!("{}.{}", last.started_on, last.job_id)})
        }
        None => json!({"policyGenerations": generations}),
    })
}

async fn cancel(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    // Jobs finish within the request that starts them: there is never one to stop, and
    // cancelling a finished job changes nothing (its result stays readable).
    job(ctx).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_users_and_roles_as_the_models_pattern_says() {
        assert_eq!(principal_kind("arn:aws:iam::111122223333:role/ecsAnywhereRole"), Some(Kind::Role));
        assert_eq!(principal_kind("arn:aws:iam::111122223333:user/path/alice"), Some(Kind::User));
        for arn in [
            "arn:aws:iam::111122223333:group/g",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:sts::111122223333:assumed-role/r/s",
            "role/r",
        ] {
            assert_eq!(principal_kind(arn), None, "{arn}");
        }
        assert_eq!(principal_kind(&format!("arn:aws:iam::1:role/{}", "r".repeat(577))), None);
    }
}
