//! ECR resource tags: TagResource, UntagResource and ListTagsForResource on a repository's
//! ARN, and the `tags` CreateRepository sets ([`request_tags`]).
//!
//! ECR's limits: at most 50 tags on a repository (counted after the change), keys of 1 to
//! 128 and values of 0 to 256 characters, and no key starting with `aws:` (reserved); a
//! refused request changes nothing. TagResource and CreateRepository define
//! `aws:RequestTag/KEY` and `aws:TagKeys`, UntagResource `aws:TagKeys` (`authz::body_keys`).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ecr::model::settings::{self, RepositoryKey};
use crate::ecr::{invalid_parameter, repository};
use crate::operations::operation;
use crate::operations::{Ctx, ResourcesFuture, json as json_op};

/// The most tags a repository has.
const MAX_TAGS: usize = 50;

operation!(ecr, TAG_RESOURCE, "TagResource", Write, resource_arn, |ctx| json_op(tag_resource(ctx)));
operation!(ecr, UNTAG_RESOURCE, "UntagResource", Write, resource_arn, |ctx| json_op(untag_resource(ctx)));
operation!(ecr, LIST_TAGS_FOR_RESOURCE, "ListTagsForResource", Read, resource_arn, |ctx| json_op(list_tags(ctx)));

/// The resource a tagging request names: its `resourceArn`, as sent (a repository's ARN
/// names itself exactly).
fn resource_arn<'a>(ctx: &'a Ctx<'a>) -> ResourcesFuture<'a> {
    Box::pin(async move {
        let arn = ctx.body.get("resourceArn").and_then(Json::as_str).unwrap_or_default();
        Ok(vec![arn.to_owned()])
    })
}

/// The repository `resourceArn` names, in this account and region.
fn repository_of<'a>(ctx: &'a Ctx<'a>) -> Result<&'a str, AwsError> {
    let arn = ctx.body.get("resourceArn").and_then(Json::as_str).unwrap_or_default();
    let prefix = format!("arn:aws:ecr:{}:{}:repository/", ctx.region(), ctx.account());
    arn.strip_prefix(&prefix).filter(|name| crate::ecr::valid_repository_name(name)).ok_or_else(|| {
        invalid_parameter("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'")
    })
}

fn invalid_tag(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidTagParameterException", 400, message)
}

/// A request's `tags` (`[{"Key": ..., "Value": ...}]`), checked against ECR's limits.
pub fn request_tags(body: &Json) -> Result<Vec<(String, String)>, AwsError> {
    let mut tags = Vec::new();
    for tag in body.get("tags").and_then(Json::as_array).into_iter().flatten() {
        let key = tag.get("Key").and_then(Json::as_str).unwrap_or_default();
        let value = tag.get("Value").and_then(Json::as_str).unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(invalid_tag("Tag keys must be between 1 and 128 characters in length"));
        }
        if value.chars().count() > 256 {
            return Err(invalid_tag("Tag values must be between 0 and 256 characters in length"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_tag("Tag keys starting with 'aws:' are reserved for AWS use"));
        }
        tags.retain(|(kept, _): &(String, String)| kept != key);
        tags.push((key.to_owned(), value.to_owned()));
    }
    if tags.len() > MAX_TAGS {
        return Err(too_many());
    }
    Ok(tags)
}

fn too_many() -> AwsError {
    AwsError::new("TooManyTagsException", 400, "A repository can have at most 50 tags")
}

fn key<'a>(ctx: &'a Ctx<'a>, name: &'a str) -> RepositoryKey<'a> {
    RepositoryKey { account: ctx.account(), region: ctx.region(), name }
}

async fn tag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = repository_of(ctx)?;
    let tags = request_tags(ctx.body)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let existing = settings::tags(&ctx.app.store, key(ctx, name)).await?;
    let added = tags.iter().filter(|(new, _)| !existing.iter().any(|(old, _)| old == new)).count();
    if existing.len() + added > MAX_TAGS {
        return Err(too_many());
    }
    settings::tag(&ctx.app.store, key(ctx, name), &tags).await?;
    Ok(json!({}))
}

async fn untag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = repository_of(ctx)?;
    let keys: Vec<String> = crate::ecr::strings(ctx.body, "tagKeys").into_iter().map(str::to_owned).collect();
    if keys.iter().any(|key| key.is_empty() || key.chars().count() > 128) {
        return Err(invalid_tag("Tag keys must be between 1 and 128 characters in length"));
    }
    repository(ctx.app, ctx.scope(), name).await?;
    settings::untag(&ctx.app.store, key(ctx, name), &keys).await?;
    Ok(json!({}))
}

async fn list_tags(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = repository_of(ctx)?;
    repository(ctx.app, ctx.scope(), name).await?;
    Ok(json!({ "tags": tags_json(&settings::tags(&ctx.app.store, key(ctx, name)).await?) }))
}

/// Tags in ECR's shape.
pub fn tags_json(tags: &[(String, String)]) -> Json {
    Json::Array(tags.iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect())
}
