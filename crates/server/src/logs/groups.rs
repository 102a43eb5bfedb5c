//! Log groups and streams: Create/Delete/DescribeLogGroups, Create/Delete/DescribeLogStreams,
//! Put/DeleteRetentionPolicy. Setting a retention runs the retention pass at once. A
//! `kmsKeyId` is recorded and returned when it is a well-formed key ARN of the request's
//! region, as AssociateKmsKey records one (`logs::kms`: Homeport runs no KMS, so it is never
//! used). `deletionProtectionEnabled` is kept, and DeleteLogGroup refuses a protected group
//! (`logs::protection`).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::group::{self, Retention};
use super::model::stream::{self, Created, StreamOrder};
use super::{
    expire, group_arn, group_exists, group_name, group_resource, invalid_parameter, no_group, no_stream, page, paged,
    stream_name, stream_resource, validation,
};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, put};

operation!(
    logs,
    CREATE_LOG_GROUP,
    "CreateLogGroup",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(create_log_group(ctx))
);
operation!(
    logs,
    DELETE_LOG_GROUP,
    "DeleteLogGroup",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(delete_log_group(ctx))
);
operation!(
    logs,
    DESCRIBE_LOG_GROUPS,
    "DescribeLogGroups",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:logs:{}:{}:log-group:*", ctx.region(), ctx.account())]) }),
    |ctx| json_op(describe_log_groups(ctx))
);
operation!(
    logs,
    CREATE_LOG_STREAM,
    "CreateLogStream",
    Write,
    |ctx| Box::pin(async move { stream_resource(ctx) }),
    |ctx| { json_op(create_log_stream(ctx)) }
);
operation!(
    logs,
    DELETE_LOG_STREAM,
    "DeleteLogStream",
    Write,
    |ctx| Box::pin(async move { stream_resource(ctx) }),
    |ctx| { json_op(delete_log_stream(ctx)) }
);
operation!(
    logs,
    DESCRIBE_LOG_STREAMS,
    "DescribeLogStreams",
    Read,
    |ctx| Box::pin(async move { super::named_group_resource(ctx) }),
    |ctx| { json_op(describe_log_streams(ctx)) }
);
operation!(
    logs,
    PUT_RETENTION_POLICY,
    "PutRetentionPolicy",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| { json_op(put_retention_policy(ctx, true)) }
);
operation!(
    logs,
    DELETE_RETENTION_POLICY,
    "DeleteRetentionPolicy",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| { json_op(put_retention_policy(ctx, false)) }
);

async fn create_log_group(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = group_name(ctx.body)?;
    let tags = super::tags::tag_map(ctx.body, "tags")?;
    let class = match ctx.body.get("logGroupClass").and_then(Json::as_str).unwrap_or("STANDARD") {
        class @ ("STANDARD" | "INFREQUENT_ACCESS") => class,
        "DELIVERY" => {
            return Err(invalid_parameter(
                "DELIVERY log groups are made by CloudWatch Logs' vended-log delivery, which Homeport does not run.",
            ));
        }
        other => {
            return Err(validation(
                "logGroupClass",
                other,
                "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]",
            ));
        }
    };
    let kms_key_id = match ctx.body.get("kmsKeyId").and_then(Json::as_str) {
        Some(key) => Some(super::kms::key_arn(ctx.scope(), key, name)?),
        None => None,
    };
    let deletion_protection = ctx.body.get("deletionProtectionEnabled").and_then(Json::as_bool).unwrap_or(false);
    let new =
        group::NewGroup { name, class, tags: &tags, kms_key_id, deletion_protection, created_at: ids::now() * 1000 };
    if !group::create(&ctx.app.store, ctx.scope(), &new).await? {
        return Err(AwsError::new("ResourceAlreadyExistsException", 400, "The specified log group already exists"));
    }
    Ok(json!({}))
}

async fn delete_log_group(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = group_name(ctx.body)?;
    match group::delete(&ctx.app.store, ctx.scope(), name).await? {
        group::Deletion::Done => Ok(json!({})),
        group::Deletion::NoGroup => Err(no_group()),
        group::Deletion::Protected => Err(super::protection::protected(name)),
    }
}

async fn describe_log_groups(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    let prefix = ctx.body.get("logGroupNamePrefix").and_then(Json::as_str);
    let pattern = ctx.body.get("logGroupNamePattern").and_then(Json::as_str);
    if prefix.is_some() && pattern.is_some() {
        return Err(invalid_parameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let class = ctx.body.get("logGroupClass").and_then(Json::as_str);
    super::no_linked_accounts(ctx)?;
    // Names or ARNs; an ARN of another account or region names no group Homeport can list.
    let identified: Option<Vec<super::NamedGroup<'_>>> =
        ctx.body.get("logGroupIdentifiers").and_then(Json::as_array).map(|identifiers| {
            identifiers.iter().filter_map(Json::as_str).map(|id| super::identified_group(ctx.scope(), id)).collect()
        });
    if identified.is_some() && (prefix.is_some() || pattern.is_some() || class.is_some()) {
        return Err(invalid_parameter(
            "logGroupIdentifiers cannot be combined with logGroupNamePrefix, logGroupNamePattern or logGroupClass.",
        ));
    }
    let mut groups = Vec::new();
    for stored in group::all(&ctx.app.store, ctx.scope()).await? {
        let name = stored.name;
        let wanted = match &identified {
            Some(identified) => identified.iter().any(|group| group.here && group.name == name),
            None => {
                prefix.is_none_or(|prefix| name.starts_with(prefix))
                    && pattern.is_none_or(|pattern| name.contains(pattern))
                    && class.is_none_or(|class| class == stored.class)
            }
        };
        if !wanted {
            continue;
        }
        let arn = group_arn(ctx.scope(), &name);
        let mut group = json!({
            "logGroupName": name,
            "creationTime": stored.created_at,
            "metricFilterCount": stored.metric_filters,
            "arn": format!("{arn}:*"),
            "logGroupArn": arn,
            "logGroupClass": stored.class,
        });
        // With a pattern CloudWatch answers without the stored bytes and the protection.
        if pattern.is_none() {
            put(&mut group, "storedBytes", stored.stored_bytes);
            put(&mut group, "deletionProtectionEnabled", stored.deletion_protection);
        }
        if let Some(days) = stored.retention_days {
            put(&mut group, "retentionInDays", days);
        }
        if let Some(key) = stored.kms_key_id {
            put(&mut group, "kmsKeyId", key);
        }

        groups.push(group);
    }
    Ok(paged("logGroups", groups, start, limit))
}

async fn create_log_stream(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let name = stream_name(ctx.body)?;
    if !group_exists(ctx.app, ctx.scope(), group).await? {
        return Err(no_group());
    }
    match stream::create(&ctx.app.store, ctx.scope(), group, name, ids::now() * 1000).await? {
        Created::Created => Ok(json!({})),
        Created::AlreadyExists => {
            Err(AwsError::new("ResourceAlreadyExistsException", 400, "The specified log stream already exists"))
        }
    }
}

async fn delete_log_stream(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let name = stream_name(ctx.body)?;
    if stream::delete(&ctx.app.store, ctx.scope(), group, name).await? { Ok(json!({})) } else { Err(no_stream()) }
}

async fn describe_log_streams(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = super::existing_group(ctx, ctx.body).await?;
    let (start, limit) = page(ctx.body)?;
    let prefix = ctx.body.get("logStreamNamePrefix").and_then(Json::as_str).unwrap_or_default();
    let by_time = ctx.body.get("orderBy").and_then(Json::as_str) == Some("LastEventTime");
    if by_time && !prefix.is_empty() {
        return Err(invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let descending = ctx.body.get("descending").and_then(Json::as_bool).unwrap_or(false);
    let order = if by_time { StreamOrder::LastEventTime } else { StreamOrder::LogStreamName };
    let mut streams = Vec::new();
    for stored in stream::of_group(&ctx.app.store, ctx.scope(), group, order, descending).await? {
        let name = stored.name;
        if !name.starts_with(prefix) {
            continue;
        }
        let mut stream = json!({
            "logStreamName": name,
            "creationTime": stored.created_at,
            "arn": format!("{}:log-stream:{name}", group_arn(ctx.scope(), group)),
            "storedBytes": stored.stored_bytes,
        });
        for (member, value) in [
            ("firstEventTimestamp", stored.first_event_at),
            ("lastEventTimestamp", stored.last_event_at),
            ("lastIngestionTime", stored.last_ingestion_at),
        ] {
            if let Some(value) = value {
                put(&mut stream, member, value);
            }
        }
        streams.push(stream);
    }
    Ok(paged("logStreams", streams, start, limit))
}

async fn put_retention_policy(ctx: &Ctx<'_>, set: bool) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let retention = if set {
        let days = ctx.body.get("retentionInDays").and_then(Json::as_i64).unwrap_or(0);
        let Some(retention) = Retention::of_days(days) else {
            return Err(validation(
                "retentionInDays",
                &days.to_string(),
                "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
            ));
        };
        Some(retention)
    } else {
        None
    };
    if !group::set_retention(&ctx.app.store, ctx.scope(), group, retention).await? {
        return Err(no_group());
    }
    if set {
        expire(ctx.app).await?;
    }
    Ok(json!({}))
}
