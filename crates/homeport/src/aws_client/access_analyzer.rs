//! IAM Access Analyzer's policy generation (restJson, signing name `access-analyzer`):
//! `StartPolicyGeneration` (`PUT /policy/generation`) and `GetGeneratedPolicy` (`GET
//! /policy/generation/{jobId}`), in botocore's shapes.

use serde_json::{Value, json};

use super::{Client, ClientError};

const SERVICE: &str = "access-analyzer";

/// The trail and window a generation reads (`cloudTrailDetails`); without one the server reads
/// its own trail over the last 90 days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailWindow {
    pub trail_arn: String,
    /// The role Access Analyzer reads the trail as: required by the API with a window; the
    /// server checks that it exists and that the caller may pass it.
    pub access_role: String,
    /// Seconds since the epoch.
    pub start: i64,
    pub end: i64,
}

/// A job's error (`jobError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// What GetGeneratedPolicy answered, as far as `homeport iam` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeneratedPolicy {
    pub job_id: String,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED` or `CANCELED`.
    pub status: String,
    pub started_on: Option<String>,
    pub completed_on: Option<String>,
    pub error: Option<JobError>,
    pub is_complete: Option<bool>,
    /// The trails and the window actually read (`cloudTrailProperties`).
    pub trail_arns: Vec<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// The documents, as the service wrote them.
    pub policies: Vec<String>,
}

/// The request body of StartPolicyGeneration.
pub fn start_request(principal_arn: &str, window: Option<&TrailWindow>) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("policyGenerationDetails".to_owned(), json!({"principalArn": principal_arn}));
    if let Some(window) = window {
        let details = json!({
            "trails": [{"cloudTrailArn": window.trail_arn, "allRegions": true}],
            "accessRole": window.access_role,
            "startTime": aws_protocol::sigv4::format_iso8601(window.start),
            "endTime": aws_protocol::sigv4::format_iso8601(window.end),
        });
        body.insert("cloudTrailDetails".to_owned(), details);
    }
    Value::Object(body)
}

/// Starts a generation; its job id.
pub fn start_policy_generation(
    client: &Client,
    principal_arn: &str,
    window: Option<&TrailWindow>,
) -> Result<String, ClientError> {
    let operation = "StartPolicyGeneration";
    let body = start_request(principal_arn, window);
    let answer = client.rest_json(SERVICE, operation, "PUT", "/policy/generation", Some(&body))?;
    answer.get("jobId").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| ClientError::Malformed {
        operation: operation.to_owned(),
        why: "no jobId in the answer".to_owned(),
    })
}

/// A job's state and, once it succeeded, its documents with resource-level detail
/// (`includeResourcePlaceholders=true`: the observed resources, generated ids wildcarded;
/// without it every statement would name `*`).
pub fn get_generated_policy(client: &Client, job_id: &str) -> Result<GeneratedPolicy, ClientError> {
    let operation = "GetGeneratedPolicy";
    let path = format!(
        "/policy/generation/{}?includeResourcePlaceholders=true",
        aws_protocol::sigv4::uri_encode(job_id, false)
    );
    let answer = client.rest_json(SERVICE, operation, "GET", &path, None)?;
    read_generated_policy(&answer).map_err(|why| ClientError::Malformed { operation: operation.to_owned(), why })
}

/// A timestamp as restJson writes it (ISO 8601 text, or seconds since the epoch), as text.
fn timestamp(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => number.as_f64().map(|seconds| aws_protocol::sigv4::format_iso8601(seconds as i64)),
        _ => None,
    }
}

/// Reads GetGeneratedPolicy's answer; what is missing that the shape requires is an error.
pub fn read_generated_policy(answer: &Value) -> Result<GeneratedPolicy, String> {
    let details = answer.get("jobDetails").ok_or("no jobDetails")?;
    let text = |value: &Value, name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let error = match details.get("jobError") {
        Some(error) => Some(JobError {
            code: text(error, "code").ok_or("a jobError without a code")?,
            message: text(error, "message").unwrap_or_default(),
        }),
        None => None,
    };
    let result = answer.get("generatedPolicyResult");
    let properties = result.and_then(|result| result.get("properties"));
    let trail = properties.and_then(|properties| properties.get("cloudTrailProperties"));
    let mut policies = Vec::new();
    for entry in result.and_then(|result| result.get("generatedPolicies")?.as_array()).into_iter().flatten() {
        policies.push(text(entry, "policy").ok_or("a generated policy without its policy")?);
    }
    Ok(GeneratedPolicy {
        job_id: text(details, "jobId").ok_or("no jobId in jobDetails")?,
        status: text(details, "status").ok_or("no status in jobDetails")?,
        started_on: details.get("startedOn").and_then(timestamp),
        completed_on: details.get("completedOn").and_then(timestamp),
        error,
        is_complete: properties.and_then(|properties| properties.get("isComplete")?.as_bool()),
        trail_arns: trail
            .and_then(|trail| trail.get("trailProperties")?.as_array())
            .into_iter()
            .flatten()
            .filter_map(|entry| text(entry, "cloudTrailArn"))
            .collect(),
        start_time: trail.and_then(|trail| trail.get("startTime")).and_then(timestamp),
        end_time: trail.and_then(|trail| trail.get("endTime")).and_then(timestamp),
        policies,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_start_request_has_botocores_shape() {
        let principal = "arn:aws:iam::123456789012:role/ecsAnywhereRole";
        assert_eq!(start_request(principal, None), json!({"policyGenerationDetails": {"principalArn": principal}}));
        let window = TrailWindow {
            trail_arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/homeport".into(),
            access_role: principal.into(),
            start: 1_795_000_000,
            end: 1_795_086_400,
        };
        assert_eq!(
            start_request(principal, Some(&window))["cloudTrailDetails"],
            json!({
                "trails": [{"cloudTrailArn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/homeport", "allRegions": true}],
                "accessRole": principal,
                "startTime": "2026-11-18T11:06:40Z",
                "endTime": "2026-11-19T11:06:40Z",
            })
        );
    }

    #[test]
    fn answers_in_progress_succeeded_and_failed_are_read() {
        let running = json!({"jobDetails": {"jobId": "j", "status": "IN_PROGRESS", "startedOn": "2026-11-18T11:06:40Z"},
            "generatedPolicyResult": {"properties": {"principalArn": "p"}}});
        let read = read_generated_policy(&running).unwrap();
        assert_eq!((read.status.as_str(), read.started_on.as_deref()), ("IN_PROGRESS", Some("2026-11-18T11:06:40Z")));
        assert!(read.policies.is_empty() && read.error.is_none());

        let done = json!({
            "jobDetails": {"jobId": "j", "status": "SUCCEEDED", "startedOn": 1795000000, "completedOn": "2026-11-18T08:26:41Z"},
            "generatedPolicyResult": {
                "properties": {"isComplete": true, "principalArn": "p", "cloudTrailProperties": {
                    "trailProperties": [{"cloudTrailArn": "arn:t", "allRegions": true}],
                    "startTime": "2026-08-20T08:26:40Z", "endTime": "2026-11-18T11:06:40Z"}},
                "generatedPolicies": [{"policy": "{\"Version\":\"2012-10-17\"}"}]}});
        let read = read_generated_policy(&done).unwrap();
        assert_eq!(read.started_on.as_deref(), Some("2026-11-18T11:06:40Z"), "epoch seconds become ISO 8601");
        assert_eq!((read.is_complete, read.trail_arns.as_slice()), (Some(true), &["arn:t".to_owned()][..]));
        assert_eq!(read.start_time.as_deref(), Some("2026-08-20T08:26:40Z"));
        assert_eq!(read.policies, ["{\"Version\":\"2012-10-17\"}"]);

        let failed = json!({"jobDetails": {"jobId": "j", "status": "FAILED", "startedOn": "t",
            "jobError": {"code": "RESOURCE_NOT_FOUND_ERROR", "message": "no activity"}},
            "generatedPolicyResult": {"properties": {"principalArn": "p"}}});
        let read = read_generated_policy(&failed).unwrap();
        assert_eq!(
            read.error,
            Some(JobError { code: "RESOURCE_NOT_FOUND_ERROR".into(), message: "no activity".into() })
        );

        for broken in [json!({}), json!({"jobDetails": {"status": "SUCCEEDED"}}), json!({"jobDetails": {"jobId": "j"}})]
        {
            assert!(read_generated_policy(&broken).is_err(), "{broken}");
        }
    }
}
