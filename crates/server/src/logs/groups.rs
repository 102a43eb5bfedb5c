//! Log groups and streams: Create/Delete/DescribeLogGroups, Create/Delete/DescribeLogStreams,
//! Put/DeleteRetentionPolicy. Setting a retention runs the retention pass at once.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::Value;

use super::{
    RETENTION_DAYS, expire, group_arn, group_exists, group_name, group_resource, invalid_parameter, no_group,
    no_stream, page, paged, stream_name, stream_resource, validation,
};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op, put};

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
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:logs:{}:{}:log-group:*", ctx.app.region, ctx.account())]) }),
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
    |ctx| Box::pin(async move { group_resource(ctx) }),
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
    let inserted = ctx
        .app
        .store
        .execute(
            "INSERT INTO log_groups (account_id, name, created_at) VALUES (?, ?, ?)",
            vec![ctx.account().into(), name.into(), Value::Int(ids::now() * 1000)],
        )
        .await;
    match inserted {
        Ok(_) => Ok(json!({})),
        Err(store::StoreError::Conflict) => {
            Err(AwsError::new("ResourceAlreadyExistsException", 400, "The specified log group already exists"))
        }
        Err(error) => Err(internal(error)),
    }
}

async fn delete_log_group(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = group_name(ctx.body)?;
    let account = ctx.account();
    let deleted = ctx
        .app
        .store
        .transaction(vec![
            store::Statement::guard(
                "DELETE FROM log_groups WHERE account_id = ? AND name = ?",
                vec![account.into(), name.into()],
            ),
            store::Statement::new(
                "DELETE FROM log_streams WHERE account_id = ? AND group_name = ?",
                vec![account.into(), name.into()],
            ),
            store::Statement::new(
                "DELETE FROM log_events WHERE account_id = ? AND group_name = ?",
                vec![account.into(), name.into()],
            ),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(json!({})),
        Err(store::StoreError::Unmet(_)) => Err(no_group()),
        Err(error) => Err(internal(error)),
    }
}

async fn describe_log_groups(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    let prefix = ctx.body.get("logGroupNamePrefix").and_then(Json::as_str).unwrap_or_default();
    let pattern = ctx.body.get("logGroupNamePattern").and_then(Json::as_str);
    let rows = ctx
        .app
        .store
        .query(
            "SELECT g.name, g.created_at, g.retention_days,
                    (SELECT COALESCE(CAST(SUM(stored_bytes) AS BIGINT), 0) FROM log_streams s WHERE s.account_id = g.account_id AND s.group_name = g.name)
             FROM log_groups g WHERE g.account_id = ? ORDER BY g.name",
            vec![ctx.account().into()],
        )
        .await
        .map_err(internal)?;
    let mut groups = Vec::new();
    for row in &rows {
        let name = row.text(0).map_err(internal)?;
        if !name.starts_with(prefix) || pattern.is_some_and(|p| !name.contains(p)) {
            continue;
        }
        let arn = group_arn(ctx.app, &name);
        let mut group = json!({
            "logGroupName": name,
            "creationTime": row.int(1).map_err(internal)?,
            "metricFilterCount": 0,
            "arn": format!("{arn}:*"),
            "logGroupArn": arn,
            "storedBytes": row.int(3).map_err(internal)?,
            "logGroupClass": "STANDARD",
        });
        if let Some(days) = row.opt_int(2).map_err(internal)? {
            put(&mut group, "retentionInDays", days);
        }
        groups.push(group);
    }
    Ok(paged("logGroups", groups, start, limit))
}

async fn create_log_stream(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let name = stream_name(ctx.body)?;
    if !group_exists(ctx.app, group).await? {
        return Err(no_group());
    }
    let inserted = ctx
        .app
        .store
        .execute(
            "INSERT INTO log_streams (account_id, group_name, name, created_at) VALUES (?, ?, ?, ?)",
            vec![ctx.account().into(), group.into(), name.into(), Value::Int(ids::now() * 1000)],
        )
        .await;
    match inserted {
        Ok(_) => Ok(json!({})),
        Err(store::StoreError::Conflict) => {
            Err(AwsError::new("ResourceAlreadyExistsException", 400, "The specified log stream already exists"))
        }
        Err(error) => Err(internal(error)),
    }
}

async fn delete_log_stream(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let name = stream_name(ctx.body)?;
    let account = ctx.account();
    let deleted = ctx
        .app
        .store
        .transaction(vec![
            store::Statement::guard(
                "DELETE FROM log_streams WHERE account_id = ? AND group_name = ? AND name = ?",
                vec![account.into(), group.into(), name.into()],
            ),
            store::Statement::new(
                "DELETE FROM log_events WHERE account_id = ? AND group_name = ? AND stream_name = ?",
                vec![account.into(), group.into(), name.into()],
            ),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(json!({})),
        Err(store::StoreError::Unmet(_)) => Err(no_stream()),
        Err(error) => Err(internal(error)),
    }
}

async fn describe_log_streams(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    if !group_exists(ctx.app, group).await? {
        return Err(no_group());
    }
    let (start, limit) = page(ctx.body)?;
    let prefix = ctx.body.get("logStreamNamePrefix").and_then(Json::as_str).unwrap_or_default();
    let by_time = ctx.body.get("orderBy").and_then(Json::as_str) == Some("LastEventTime");
    if by_time && !prefix.is_empty() {
        return Err(invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let descending = ctx.body.get("descending").and_then(Json::as_bool).unwrap_or(false);
    let order = match (by_time, descending) {
        (true, false) => "COALESCE(last_event_at, 0), name",
        (true, true) => "COALESCE(last_event_at, 0) DESC, name DESC",
        (false, false) => "name",
        (false, true) => "name DESC",
    };
    let rows = ctx
        .app
        .store
        .query(
            &format!(
                "SELECT name, created_at, first_event_at, last_event_at, last_ingestion_at, stored_bytes FROM log_streams
                 WHERE account_id = ? AND group_name = ? ORDER BY {order}"
            ),
            vec![ctx.account().into(), group.into()],
        )
        .await
        .map_err(internal)?;
    let mut streams = Vec::new();
    for row in &rows {
        let name = row.text(0).map_err(internal)?;
        if !name.starts_with(prefix) {
            continue;
        }
        let mut stream = json!({
            "logStreamName": name,
            "creationTime": row.int(1).map_err(internal)?,
            "arn": format!("{}:log-stream:{name}", group_arn(ctx.app, group)),
            "storedBytes": row.int(5).map_err(internal)?,
        });
        for (member, index) in [("firstEventTimestamp", 2), ("lastEventTimestamp", 3), ("lastIngestionTime", 4)] {
            if let Some(value) = row.opt_int(index).map_err(internal)? {
                put(&mut stream, member, value);
            }
        }
        streams.push(stream);
    }
    Ok(paged("logStreams", streams, start, limit))
}

async fn put_retention_policy(ctx: &Ctx<'_>, set: bool) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let days = if set {
        let days = ctx.body.get("retentionInDays").and_then(Json::as_i64).unwrap_or(0);
        if !RETENTION_DAYS.contains(&days) {
            return Err(validation(
                "retentionInDays",
                &days.to_string(),
                "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
            ));
        }
        Some(days)
    } else {
        None
    };
    let changed = ctx
        .app
        .store
        .execute(
            "UPDATE log_groups SET retention_days = ? WHERE account_id = ? AND name = ?",
            vec![Value::from(days), ctx.account().into(), group.into()],
        )
        .await
        .map_err(internal)?;
    if changed == 0 {
        return Err(no_group());
    }
    if set {
        expire(ctx.app).await?;
    }
    Ok(json!({}))
}
