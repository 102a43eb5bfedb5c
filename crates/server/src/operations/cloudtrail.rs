//! CloudTrail `LookupEvents` over the audit trail: every authenticated request, newest
//! first, as CloudTrail events. Each event's `CloudTrailEvent` document carries the
//! authorization decision and the statements that made it under `additionalEventData`.

use aws_protocol::{AwsError, Protocol};
use serde_json::{Value as Json, json};
use store::{Row, Value};

use super::{Authorization, Ctx, Operation, internal, json as json_op};
use crate::ids;

pub const LOOKUP_EVENTS: Operation = Operation {
    service: "cloudtrail",
    protocol: Protocol::Json,
    name: "LookupEvents",
    namespace: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
    action: "cloudtrail:LookupEvents",
    authorization: Authorization::Policies,
    resources: |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    run: |ctx| json_op(lookup_events(ctx)),
};

/// CloudTrail keeps 90 days of management events for lookup.
const LOOKBACK_SECONDS: i64 = 90 * 24 * 60 * 60;

fn invalid(code: &str, message: &str) -> AwsError {
    AwsError::new(code, 400, message)
}

/// A timestamp member: epoch seconds as a JSON number (what the SDKs send) or ISO text.
fn timestamp(body: &Json, member: &str) -> Result<Option<i64>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(number)) => number
            .as_f64()
            .map(|seconds| Some(seconds.floor() as i64))
            .ok_or_else(|| invalid("InvalidTimeRangeException", "Occurs if the timestamp values are not valid.")),
        Some(_) => Err(invalid("InvalidTimeRangeException", "Occurs if the timestamp values are not valid.")),
    }
}

async fn lookup_events(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let now = ids::now();
    let start = timestamp(ctx.body, "StartTime")?.unwrap_or(now - LOOKBACK_SECONDS);
    let end = timestamp(ctx.body, "EndTime")?.unwrap_or(now);
    if start > end {
        return Err(invalid(
            "InvalidTimeRangeException",
            "Occurs if the timestamp values are not valid. Either the start time occurs after the end time, or the time range is outside the range of possible values.",
        ));
    }
    let max_results = match ctx.body.get("MaxResults").and_then(Json::as_i64) {
        None => 50,
        Some(n @ 1..=50) => n,
        Some(_) => return Err(invalid("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")),
    };
    let before = match ctx.body.get("NextToken").and_then(Json::as_str) {
        None => i64::MAX,
        Some(token) => token
            .parse::<i64>()
            .map_err(|_| invalid("InvalidNextTokenException", "A token that is not valid, or a token that was previously used in a request with different parameters."))?,
    };
    let mut sql = String::from(
        "SELECT seq, event_time, request_id, principal_arn, username, access_key_id, source_ip, user_agent, event_source, event_name, read_only, resources, decision, statements, error_code
         FROM audit_events WHERE account_id = ? AND event_time >= ? AND event_time <= ? AND seq < ?",
    );
    let mut params = vec![Value::from(ctx.account()), Value::Int(start), Value::Int(end), Value::Int(before)];
    let attributes = ctx.body.get("LookupAttributes").and_then(Json::as_array).cloned().unwrap_or_default();
    if attributes.len() > 1 {
        return Err(invalid("InvalidLookupAttributesException", "Only one lookup attribute is supported per request."));
    }
    if let Some(attribute) = attributes.first() {
        let key = attribute.get("AttributeKey").and_then(Json::as_str).unwrap_or_default();
        let value = attribute.get("AttributeValue").and_then(Json::as_str).unwrap_or_default();
        let (clause, bound) = match key {
            "EventId" => ("request_id = ?", Value::from(value)),
            "EventName" => ("event_name = ?", Value::from(value)),
            "Username" => ("username = ?", Value::from(value)),
            "AccessKeyId" => ("access_key_id = ?", Value::from(value)),
            "EventSource" => ("event_source = ?", Value::from(value)),
            "ReadOnly" => ("read_only = ?", Value::from(value == "true")),
            "ResourceName" => ("resources LIKE ? ESCAPE '\\'", Value::from(format!("%\"{}\"%", like_literal(value)))),
            _ => {
                return Err(invalid(
                    "InvalidLookupAttributesException",
                    &format!(
                        "The attribute key {key} is not supported: use EventId, EventName, Username, AccessKeyId, EventSource, ReadOnly or ResourceName."
                    ),
                ));
            }
        };
        sql.push_str(&format!(" AND {clause}"));
        params.push(bound);
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", max_results + 1));
    let rows = ctx.app.store.query(&sql, params).await.map_err(internal)?;
    let shown = rows.len().min(usize::try_from(max_results).unwrap_or(50));
    let events = rows.iter().take(shown).map(|row| event(ctx, row)).collect::<Result<Vec<_>, _>>()?;
    let mut answer = serde_json::Map::new();
    answer.insert("Events".to_owned(), Json::Array(events));
    if rows.len() > shown {
        if let Some(last) = rows.get(shown.saturating_sub(1)) {
            answer.insert("NextToken".to_owned(), json!(last.int(0).map_err(internal)?.to_string()));
        }
    }
    Ok(Json::Object(answer))
}

/// `value` as it appears inside a JSON string (what the resources column holds), with the
/// `LIKE` wildcards escaped.
fn like_literal(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default();
    inner.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn event(ctx: &Ctx<'_>, row: &Row) -> Result<Json, AwsError> {
    let text = |index| row.opt_text(index).map_err(internal).map(Option::unwrap_or_default);
    let time = row.int(1).map_err(internal)?;
    let (request_id, principal_arn, username) = (text(2)?, text(3)?, text(4)?);
    let (access_key_id, source_ip, user_agent) = (text(5)?, text(6)?, text(7)?);
    let (event_source, event_name) = (text(8)?, text(9)?);
    let read_only = row.int(10).map_err(internal)? != 0;
    let resources: Vec<String> = serde_json::from_str(&text(11)?).unwrap_or_default();
    let statements: Vec<String> = serde_json::from_str(&text(13)?).unwrap_or_default();
    let error_code = row.opt_text(14).map_err(internal)?;
    let identity_type = if principal_arn.ends_with(":root") { "Root" } else { "IAMUser" };
    let mut detail = json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": identity_type,
            "arn": principal_arn,
            "accountId": ctx.account(),
            "accessKeyId": access_key_id,
            "userName": username,
        },
        "eventTime": ids::iso8601(time),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": ctx.app.region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestID": request_id,
        "eventID": request_id,
        "readOnly": read_only,
        "resources": resources.iter().map(|arn| json!({"ARN": arn, "accountId": ctx.account()})).collect::<Vec<_>>(),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ctx.account(),
        "additionalEventData": {
            "authorizationDecision": text(12)?,
            "decidingStatements": statements,
        },
    });
    if let (Some(code), Some(fields)) = (&error_code, detail.as_object_mut()) {
        fields.insert("errorCode".to_owned(), json!(code));
    }
    Ok(json!({
        "EventId": request_id,
        "EventName": event_name,
        "ReadOnly": read_only.to_string(),
        "AccessKeyId": access_key_id,
        "EventTime": time,
        "EventSource": event_source,
        "Username": username,
        "Resources": resources.iter().map(|arn| json!({"ResourceType": resource_type(arn), "ResourceName": arn})).collect::<Vec<_>>(),
        "CloudTrailEvent": detail.to_string(),
    }))
}

/// The CloudFormation-style type CloudTrail reports for an ARN.
fn resource_type(arn: &str) -> &'static str {
    match arn.split(':').nth(5).and_then(|resource| resource.split('/').next()) {
        Some("user") => "AWS::IAM::User",
        Some("role") => "AWS::IAM::Role",
        Some("policy") => "AWS::IAM::Policy",
        _ => "AWS::Resource",
    }
}
