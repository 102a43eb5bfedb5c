//! Repository policies: Set/Get/DeleteRepositoryPolicy. The text is stored as given, once
//! `iam_policy::validate` accepts it as a repository policy (a resource-based policy with a
//! principal in every statement, whose `Resource` may be left out), with the users and roles
//! it names bound to their unique ids (`crate::principals`); the pipeline and the registry
//! evaluate it, as it reads now, with the caller's own policies.

use aws_protocol::AwsError;
use iam_policy::PolicyKind;
use serde_json::{Value as Json, json};

use crate::ecr::model::repository as model;
use crate::ecr::{check_registry, invalid_parameter, repository, repository_name, repository_resource};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

/// ECR's limit on a repository policy's length.
const MAX_POLICY: usize = 10_240;

operation!(ecr, SET_REPOSITORY_POLICY, "SetRepositoryPolicy", Write, repository_resource, |ctx| json_op(
    set_repository_policy(ctx)
));
operation!(ecr, GET_REPOSITORY_POLICY, "GetRepositoryPolicy", Read, repository_resource, |ctx| json_op(
    get_repository_policy(ctx)
));
operation!(ecr, DELETE_REPOSITORY_POLICY, "DeleteRepositoryPolicy", Write, repository_resource, |ctx| json_op(
    delete_repository_policy(ctx)
));

fn invalid_policy() -> AwsError {
    invalid_parameter(
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
    )
}

fn no_policy(ctx: &Ctx<'_>, name: &str) -> AwsError {
    AwsError::new(
        "RepositoryPolicyNotFoundException",
        400,
        format!(
            "Repository policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            ctx.account()
        ),
    )
}

async fn set_repository_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let text = ctx.body.get("policyText").and_then(Json::as_str).unwrap_or_default();
    if text.len() > MAX_POLICY {
        return Err(crate::ecr::invalid_member(
            "policyText",
            text,
            "Member must have length less than or equal to 10240",
        ));
    }
    repository(ctx.app, ctx.scope(), name).await?;
    iam_policy::validate(text, PolicyKind::RepositoryPolicy).map_err(|_| invalid_policy())?;
    // The users and roles it names are bound to their unique ids; one that does not exist
    // makes the policy invalid, as on ECR.
    let principals =
        crate::principals::bind(&ctx.app.store, ctx.account(), text, false).await.map_err(|error| match error {
            crate::principals::BindError::NoSuchPrincipal(_) => invalid_policy(),
            crate::principals::BindError::Store(error) => error,
        })?;
    if !model::set_policy(&ctx.app.store, ctx.scope(), name, text, &principals).await? {
        return Err(crate::ecr::repository_not_found(ctx.app, name));
    }
    Ok(json!({ "registryId": ctx.account(), "repositoryName": name, "policyText": text }))
}

async fn get_repository_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let policy = repository(ctx.app, ctx.scope(), name).await?.policy.ok_or_else(|| no_policy(ctx, name))?;
    Ok(json!({ "registryId": ctx.account(), "repositoryName": name, "policyText": policy }))
}

async fn delete_repository_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let policy = repository(ctx.app, ctx.scope(), name).await?.policy.ok_or_else(|| no_policy(ctx, name))?;
    model::delete_policy(&ctx.app.store, ctx.scope(), name).await?;
    Ok(json!({ "registryId": ctx.account(), "repositoryName": name, "policyText": policy }))
}
