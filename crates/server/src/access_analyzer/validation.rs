//! `ValidatePolicy` (`POST /policy/validation`): `iam_policy::analyzer`'s findings for the
//! document, as the policy type and resource type choose the grammar (see that module for
//! what each type is checked as, organization policies included), paged by the query string's
//! `maxResults` and `nextToken` (the offset of the next finding).

use aws_protocol::AwsError;
use iam_policy::analyzer::{AnalyzedPolicy, AnalyzerFinding, Location, ResourcePolicyType, validate_policy};
use iam_policy::json::PathStep;
use serde_json::{Value as Json, json};

use super::{any_resource, check_enum, invalid, optional_string, required_enum, required_string};
use crate::operations::{Ctx, json as json_op, operation};

operation!(
    access_analyzer,
    VALIDATE_POLICY,
    "ValidatePolicy",
    Read,
    any_resource,
    |ctx| json_op(validate(ctx)),
    action = "access-analyzer:ValidatePolicy",
    http = ("POST", "/policy/validation", 200),
);

const POLICY_TYPES: &[&str] =
    &["IDENTITY_POLICY", "RESOURCE_POLICY", "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"];

const RESOURCE_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::S3::AccessPoint",
    "AWS::S3::MultiRegionAccessPoint",
    "AWS::S3ObjectLambda::AccessPoint",
    "AWS::IAM::AssumeRolePolicyDocument",
    "AWS::DynamoDB::Table",
];

const LOCALES: &[&str] = &["DE", "EN", "ES", "FR", "IT", "JA", "KO", "PT_BR", "ZH_CN", "ZH_TW"];

/// Findings per page when `maxResults` is not given (Access Analyzer answers every finding of
/// a policy at once; its policies have far fewer).
const DEFAULT_PAGE: usize = 1_000;

async fn validate(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let document = required_string(ctx.body, "policyDocument")?;
    let policy_type = required_enum(ctx.body, "policyType", POLICY_TYPES)?;
    let resource_type = optional_string(ctx.body, "validatePolicyResourceType")?;
    if let Some(resource_type) = resource_type {
        check_enum(resource_type, "validatePolicyResourceType", RESOURCE_TYPES)?;
        if policy_type != "RESOURCE_POLICY" {
            return Err(invalid(
                "fieldValidationFailed",
                "validatePolicyResourceType",
                "validatePolicyResourceType can be specified only when policyType is RESOURCE_POLICY.",
            ));
        }
    }
    if let Some(locale) = optional_string(ctx.body, "locale")? {
        check_enum(locale, "locale", LOCALES)?;
        if locale != "EN" {
            return Err(invalid(
                "notSupported",
                "locale",
                format!("Homeport writes findings in English only: locale {locale} is not supported."),
            ));
        }
    }
    let (start, size) = page(ctx)?;
    let policy = match policy_type {
        "IDENTITY_POLICY" => AnalyzedPolicy::Identity,
        "SERVICE_CONTROL_POLICY" => AnalyzedPolicy::ServiceControl,
        "RESOURCE_CONTROL_POLICY" => AnalyzedPolicy::ResourceControl,
        _ => AnalyzedPolicy::Resource(match resource_type {
            None => ResourcePolicyType::Any,
            Some("AWS::IAM::AssumeRolePolicyDocument") => ResourcePolicyType::AssumeRolePolicyDocument,
            Some(_) => ResourcePolicyType::NamingResources,
        }),
    };
    let findings = validate_policy(document, policy);
    if start > findings.len() {
        return Err(bad_token());
    }
    let shown: Vec<Json> = findings.iter().skip(start).take(size).map(finding).collect();
    let mut answer = json!({ "findings": shown });
    let next = start.saturating_add(size);
    if next < findings.len() {
        crate::operations::put(&mut answer, "nextToken", next.to_string());
    }
    Ok(answer)
}

/// The query string's `maxResults` (a positive integer) and `nextToken` (an offset this
/// operation handed out).
fn page(ctx: &Ctx<'_>) -> Result<(usize, usize), AwsError> {
    let size = match ctx.query("maxResults") {
        None => DEFAULT_PAGE,
        Some(text) => match text.parse::<usize>() {
            Ok(size) if size >= 1 => size,
            _ => {
                let shown: String = text.chars().take(32).collect();
                return Err(invalid(
                    "fieldValidationFailed",
                    "maxResults",
                    format!(
                        "1 validation error detected: Value '{shown}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
                    ),
                ));
            }
        },
    };
    let start = match ctx.query("nextToken") {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| bad_token())?,
    };
    Ok((start, size))
}

fn bad_token() -> AwsError {
    invalid("fieldValidationFailed", "nextToken", "The pagination token is not valid.")
}

fn finding(finding: &AnalyzerFinding) -> Json {
    json!({
        "findingDetails": finding.details,
        "findingType": finding.finding_type,
        "issueCode": finding.issue_code,
        "learnMoreLink": finding.learn_more_link(),
        "locations": finding.locations.iter().map(location).collect::<Vec<_>>(),
    })
}

fn location(location: &Location) -> Json {
    let path: Vec<Json> = location
        .path
        .iter()
        .map(|step| match step {
            PathStep::Index(index) => json!({ "index": index }),
            PathStep::Value(name) => json!({ "value": name }),
            PathStep::Key(name) => json!({ "key": name }),
        })
        .collect();
    json!({ "path": path, "span": { "start": location.start, "end": location.end } })
}
