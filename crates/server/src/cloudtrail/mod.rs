//! CloudTrail `LookupEvents` over the audit trail: every authenticated request, newest
//! first, as CloudTrail events. Each event's `CloudTrailEvent` document carries the
//! authorization decision and the statements that made it under `additionalEventData`.
//!
//! Events are read from the audit chunks (see `audit`) newest chunk first, each chunk's lines
//! newest first; the `NextToken` is `CHUNK.LINE`, where the next page starts. With several
//! replicas sharing a store, events of chunks imported together are ordered by chunk, so
//! neighbours less than an import interval (100 ms) apart may appear out of time order.

pub(crate) mod errors;

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::Value;

use crate::audit::{CHUNK_COLUMNS, Record, read_only_event};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};
use errors::invalid;

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "cloudtrail",
    protocol: aws_protocol::Protocol::Json,
    namespace: CLOUDTRAIL_TARGET,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
    admits: crate::operations::admit_all,
};

/// The `X-Amz-Target` prefix of CloudTrail's awsJson operations.
pub const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

operation!(cloudtrail, LOOKUP_EVENTS, "LookupEvents", Read, |_| Box::pin(async { Ok(vec!["*".to_owned()]) }), |ctx| {
    json_op(lookup_events(ctx))
});

/// CloudTrail keeps 90 days of management events for lookup.
const LOOKBACK_SECONDS: i64 = 90 * 24 * 60 * 60;

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
    let attributes = ctx.body.get("LookupAttributes").and_then(Json::as_array).cloned().unwrap_or_default();
    if attributes.len() > 1 {
        return Err(invalid("InvalidLookupAttributesException", "Only one lookup attribute is supported per request."));
    }
    let filter = match attributes.first() {
        None => None,
        Some(attribute) => Some(Filter::parse(
            attribute.get("AttributeKey").and_then(Json::as_str).unwrap_or_default(),
            attribute.get("AttributeValue").and_then(Json::as_str).unwrap_or_default(),
        )?),
    };
    let mut position = match ctx.body.get("NextToken").and_then(Json::as_str) {
        None => Position { chunk: i64::MAX, line: usize::MAX },
        Some(token) => Position::parse(token).ok_or_else(|| {
            invalid(
                "InvalidNextTokenException",
                "A token that is not valid, or a token that was previously used in a request with different parameters.",
            )
        })?,
    };
    ctx.app.audit.sync().await.map_err(internal)?;
    let wanted = usize::try_from(max_results).unwrap_or(50);
    let mut events = Vec::with_capacity(wanted);
    let mut next = None;
    // The chunks are walked newest first by their primary key, sixteen at a time, the time
    // range checked on each row: the unary `+` keeps either store from reading the range
    // through the time index instead (every chunk in it, sorted, to answer one page).
    'chunks: loop {
        let rows = ctx
            .app
            .store
            .query(
                &format!(
                    "SELECT seq, {CHUNK_COLUMNS} FROM audit_chunks WHERE +last_time >= ? AND +first_time <= ? AND seq <= ?
                     ORDER BY seq DESC LIMIT ?"
                ),
                vec![Value::Int(start), Value::Int(end), Value::Int(position.chunk), Value::Int(CHUNKS_PER_QUERY)],
            )
            .await
            .map_err(internal)?;
        let fetched = rows.len();
        for row in rows {
            let chunk = row.int(0).map_err(internal)?;
            let text = ctx.app.audit.chunk_text(row, 1).await.map_err(internal)?;
            let lines: Vec<&str> = text.lines().collect();
            let newest = if chunk == position.chunk { position.line.min(lines.len()) } else { lines.len() };
            for line in (0..newest).rev() {
                let Some(record) = lines.get(line).and_then(|text| crate::audit::decode(text)) else {
                    continue;
                };
                let wanted_here = record.account_id == ctx.account()
                    && event_region(&record) == ctx.region()
                    && (start..=end).contains(&record.time)
                    && filter.as_ref().is_none_or(|filter| filter.matches(&record));
                if !wanted_here {
                    continue;
                }
                if events.len() == wanted {
                    next = Some(Position { chunk, line: line + 1 });
                    break 'chunks;
                }
                events.push(event(ctx, record));
            }
            position = Position { chunk: chunk - 1, line: usize::MAX };
        }
        if fetched < CHUNKS_PER_QUERY as usize {
            break;
        }
    }
    let mut answer = serde_json::Map::new();
    answer.insert("Events".to_owned(), Json::Array(events));
    if let Some(next) = next {
        answer.insert("NextToken".to_owned(), json!(format!("{}.{}", next.chunk, next.line)));
    }
    Ok(Json::Object(answer))
}

/// Chunks read per query while looking for a page of events.
const CHUNKS_PER_QUERY: i64 = 16;

/// Where the next page starts: chunk `chunk`, the lines before `line` (newest first).
struct Position {
    chunk: i64,
    line: usize,
}

impl Position {
    fn parse(token: &str) -> Option<Position> {
        let (chunk, line) = token.split_once('.')?;
        Some(Position { chunk: chunk.parse().ok()?, line: line.parse().ok()? })
    }
}

/// The one lookup attribute LookupEvents accepts.
enum Filter {
    EventId(String),
    EventName(String),
    Username(String),
    AccessKeyId(String),
    EventSource(String),
    ReadOnly(bool),
    ResourceName(String),
}

impl Filter {
    fn parse(key: &str, value: &str) -> Result<Filter, AwsError> {
        let value = value.to_owned();
        Ok(match key {
            "EventId" => Filter::EventId(value),
            "EventName" => Filter::EventName(value),
            "Username" => Filter::Username(value),
            "AccessKeyId" => Filter::AccessKeyId(value),
            "EventSource" => Filter::EventSource(value),
            "ReadOnly" => Filter::ReadOnly(value == "true"),
            "ResourceName" => Filter::ResourceName(value),
            _ => {
                return Err(invalid(
                    "InvalidLookupAttributesException",
                    &format!(
                        "The attribute key {key} is not supported: use EventId, EventName, Username, AccessKeyId, EventSource, ReadOnly or ResourceName."
                    ),
                ));
            }
        })
    }

    fn matches(&self, record: &Record<'_>) -> bool {
        match self {
            Filter::EventId(id) => record.request_id == *id,
            Filter::EventName(name) => record.event_name == *name,
            Filter::Username(name) => record.username == *name,
            Filter::AccessKeyId(key) => record.access_key_id == *key,
            Filter::EventSource(source) => record.event_source == *source,
            Filter::ReadOnly(read_only) => read_only_event(&record.event_name) == *read_only,
            Filter::ResourceName(arn) => record.resources.iter().any(|resource| resource == arn),
        }
    }
}

/// The region an event is recorded in, as CloudTrail's event history keeps it: the one its
/// request was signed for, except IAM's, whose events are us-east-1's (IAM is global).
fn event_region<'a>(record: &'a Record<'_>) -> &'a str {
    if record.service == "iam" { "us-east-1" } else { &record.region }
}

fn event(ctx: &Ctx<'_>, record: Record<'_>) -> Json {
    let region = event_region(&record).to_owned();
    let Record {
        time,
        request_id,
        principal_arn,
        username,
        access_key_id,
        source_ip,
        user_agent,
        event_source,
        event_name,
        resources,
        decision,
        statements,
        error_code,
        ..
    } = record;
    let read_only = read_only_event(&event_name);
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
        "awsRegion": region,
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
            "authorizationDecision": decision,
            "decidingStatements": statements,
        },
    });
    if let (Some(code), Some(fields)) = (&error_code, detail.as_object_mut()) {
        fields.insert("errorCode".to_owned(), json!(code));
    }
    json!({
        "EventId": request_id,
        "EventName": event_name,
        "ReadOnly": read_only.to_string(),
        "AccessKeyId": access_key_id,
        "EventTime": time,
        "EventSource": event_source,
        "Username": username,
        "Resources": resources.iter().map(|arn| json!({"ResourceType": resource_type(arn), "ResourceName": arn})).collect::<Vec<_>>(),
        "CloudTrailEvent": detail.to_string(),
    })
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
