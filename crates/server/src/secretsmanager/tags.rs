//! A secret's tags: TagResource and UntagResource (DescribeSecret and ListSecrets show them).
//! A key is one tag per secret (tagging it again replaces its value); a secret holds at most
//! 50, checked under the generation the writer read.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::operations::operation;
use crate::operations::{Ctx, RACE_ATTEMPTS, internal, json as json_op};
use crate::secretsmanager::model::{self, Change, Written};
use crate::secretsmanager::secrets::{MAX_TAGS, tags_member};
use crate::secretsmanager::{live_secret, secret_resource, validation};

operation!(secretsmanager, TAG_RESOURCE, "TagResource", Write, secret_resource, |ctx| json_op(tag_resource(ctx)));
operation!(secretsmanager, UNTAG_RESOURCE, "UntagResource", Write, secret_resource, |ctx| json_op(untag_resource(ctx)));

async fn tag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if ctx.body.get("Tags").and_then(Json::as_array).is_none() {
        return Err(crate::operations::missing("Tags"));
    }
    let tags = tags_member(ctx.body)?;
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let mut merged = secret.tags.clone();
        for (key, value) in &tags {
            match merged.iter_mut().find(|(k, _)| k == key) {
                Some(existing) => existing.1 = value.clone(),
                None => merged.push((key.clone(), value.clone())),
            }
        }
        if merged.len() > MAX_TAGS {
            return Err(validation("Number of tags exceeds the limit of 50."));
        }
        let statement = model::change(ctx.account(), ctx.region(), &secret.arn, Change::Tags(&merged));
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, vec![statement]).await? == Written::Done {
            return Ok(json!({}));
        }
    }
    Err(internal("TagResource lost every race"))
}

async fn untag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let keys: Vec<&str> = ctx
        .body
        .get("TagKeys")
        .and_then(Json::as_array)
        .ok_or_else(|| crate::operations::missing("TagKeys"))?
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let kept: Vec<(String, String)> =
            secret.tags.iter().filter(|(key, _)| !keys.contains(&key.as_str())).cloned().collect();
        let statement = model::change(ctx.account(), ctx.region(), &secret.arn, Change::Tags(&kept));
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, vec![statement]).await? == Written::Done {
            return Ok(json!({}));
        }
    }
    Err(internal("UntagResource lost every race"))
}
