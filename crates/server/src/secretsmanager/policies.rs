//! A secret's resource policy: GetResourcePolicy, PutResourcePolicy, DeleteResourcePolicy.
//!
//! The text is stored as given once `iam_policy::validate` accepts it as a resource-based
//! policy (a principal in every statement; `Resource` may be left out, meaning the secret),
//! with the users and roles it names bound to their unique ids (`crate::principals`). Every
//! operation on the secret is then decided with it as well as the caller's own policies
//! (`RESOURCE_POLICY`), as AWS evaluates a same-account resource policy. With
//! `BlockPublicPolicy` (the default here) a policy that allows everyone (`"*"`) is refused.

use aws_protocol::AwsError;
use iam_policy::PolicyKind;
use serde_json::{Value as Json, json};

use crate::operations::operation;
use crate::operations::{Ctx, RACE_ATTEMPTS, internal, json as json_op};
use crate::secretsmanager::model::{self, Change, Written};
use crate::secretsmanager::{current_policy, existing_secret, live_secret, put, secret_resource, validation};

/// The longest resource policy, in characters.
const MAX_POLICY: usize = 20_480;

operation!(secretsmanager, GET_RESOURCE_POLICY, "GetResourcePolicy", Read, secret_resource, |ctx| json_op(
    get_resource_policy(ctx)
));
operation!(secretsmanager, PUT_RESOURCE_POLICY, "PutResourcePolicy", Write, secret_resource, |ctx| json_op(
    put_resource_policy(ctx)
));
operation!(secretsmanager, DELETE_RESOURCE_POLICY, "DeleteResourcePolicy", Write, secret_resource, |ctx| json_op(
    delete_resource_policy(ctx)
));

fn malformed() -> AwsError {
    AwsError::new("MalformedPolicyDocumentException", 400, "This resource policy is not valid.")
}

/// Whether a statement allows every principal (`"*"` or `{"AWS": "*"}`) without a condition.
fn is_public(document: &str) -> bool {
    let Ok(parsed) = serde_json::from_str::<Json>(document) else { return false };
    let statements = match parsed.get("Statement") {
        Some(Json::Array(list)) => list.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    };
    statements.iter().any(|statement| {
        let allows = statement.get("Effect").and_then(Json::as_str) == Some("Allow");
        let everyone = |value: &Json| match value {
            Json::String(text) => text == "*",
            Json::Array(items) => items.iter().any(|item| item == "*"),
            _ => false,
        };
        let principal = statement
            .get("Principal")
            .is_some_and(|principal| everyone(principal) || principal.get("AWS").is_some_and(everyone));
        allows && principal && statement.get("Condition").is_none()
    })
}

async fn get_resource_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let secret = existing_secret(ctx).await?;
    let mut answer = json!({"ARN": secret.arn, "Name": secret.name});
    if let Some(text) = current_policy(ctx, &secret).await? {
        put(&mut answer, "ResourcePolicy", text);
    }
    Ok(answer)
}

async fn put_resource_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let text = ctx
        .body
        .get("ResourcePolicy")
        .and_then(Json::as_str)
        .ok_or_else(|| crate::operations::missing("ResourcePolicy"))?;
    if text.is_empty() || text.chars().count() > MAX_POLICY {
        return Err(validation(format!(
            "1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: Member must have length between 1 and {MAX_POLICY}"
        )));
    }
    iam_policy::validate(text, PolicyKind::RepositoryPolicy).map_err(|_| malformed())?;
    let block_public = ctx.body.get("BlockPublicPolicy").and_then(Json::as_bool).unwrap_or(true);
    if block_public && is_public(text) {
        return Err(AwsError::new(
            "PublicPolicyException",
            400,
            "This resource policy contains a statement that grants public access.",
        ));
    }
    let principals =
        crate::principals::bind(&ctx.app.store, ctx.account(), text, false).await.map_err(|error| match error {
            crate::principals::BindError::NoSuchPrincipal(_) => malformed(),
            crate::principals::BindError::Store(error) => error,
        })?;
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let change = Change::Policy { text: Some(text), principals: Some(&principals) };
        let statement = model::change(ctx.account(), ctx.region(), &secret.arn, change);
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, vec![statement]).await? == Written::Done {
            return Ok(json!({"ARN": secret.arn, "Name": secret.name}));
        }
    }
    Err(internal("PutResourcePolicy lost every race"))
}

async fn delete_resource_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let change = Change::Policy { text: None, principals: None };
        let statement = model::change(ctx.account(), ctx.region(), &secret.arn, change);
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, vec![statement]).await? == Written::Done {
            return Ok(json!({"ARN": secret.arn, "Name": secret.name}));
        }
    }
    Err(internal("DeleteResourcePolicy lost every race"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_policies_are_told_apart() {
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        let aws_public = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"*","Resource":"*"}}"#;
        let conditioned = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}}"#;
        let named = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}}"#;
        assert!(is_public(public) && is_public(aws_public));
        assert!(!is_public(conditioned) && !is_public(named));
    }
}
