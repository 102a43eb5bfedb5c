//! ECR repositories: CreateRepository, DescribeRepositories, DeleteRepository and
//! PutImageTagMutability.
//!
//! CreateRepository keeps its `tags` (`ecr::tags`' limits), `encryptionConfiguration`
//! (`AES256` by default; with `KMS` or `KMS_DSSE`, the key's ARN, answered as ECR answers it,
//! though Homeport's layer files are not encrypted with it) and `scanOnPush` (stored and
//! answered; with no scanner, scans report that none is configured: `ecr::scanning`).
//!
//! Deleting a repository that holds images needs `force`; with it, the repository, its
//! images, tags, layer references and unfinished uploads go in one transaction, and layer
//! files no other repository references are removed afterwards
//! ([`crate::ecr::registry::blobs::Blobs::collect`]).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ecr::model::repository::{self as model, Deletion, TagMutability};
use crate::ecr::model::settings::{self, RepositoryKey, RepositorySettings};
use crate::ecr::{
    invalid_member, page, repository, repository_arn, repository_name, repository_not_found, repository_resource,
    repository_view, strings,
};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(ecr, CREATE_REPOSITORY, "CreateRepository", Write, repository_resource, |ctx| json_op(create_repository(
    ctx
)));
operation!(ecr, DELETE_REPOSITORY, "DeleteRepository", Write, repository_resource, |ctx| json_op(delete_repository(
    ctx
)));
operation!(ecr, PUT_IMAGE_TAG_MUTABILITY, "PutImageTagMutability", Write, repository_resource, |ctx| json_op(
    put_image_tag_mutability(ctx)
));

// Authorized on each repository named (or all of them), by the caller's policies alone: a
// listing spans repositories, so no single repository policy applies.
operation!(
    ecr,
    DESCRIBE_REPOSITORIES,
    "DescribeRepositories",
    Read,
    |ctx| {
        Box::pin(async move {
            let names = strings(ctx.body, "repositoryNames");
            if names.is_empty() {
                return Ok(vec![repository_arn(ctx.scope(), "*")]);
            }
            Ok(names.into_iter().map(|name| repository_arn(ctx.scope(), name)).collect())
        })
    },
    |ctx| json_op(describe_repositories(ctx)),
    authorization = Policies
);

/// `imageTagMutability`: `MUTABLE` (the default) or `IMMUTABLE`.
fn tag_mutability(body: &Json) -> Result<TagMutability, AwsError> {
    match body.get("imageTagMutability").and_then(Json::as_str) {
        None => Ok(TagMutability::Mutable),
        Some(value) => match TagMutability::parse(value) {
            Some(mutability) => Ok(mutability),
            None if matches!(value, "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION") => Err(invalid_member(
                "imageTagMutability",
                value,
                "Homeport supports MUTABLE and IMMUTABLE (no exclusion filters)",
            )),
            None => Err(invalid_member(
                "imageTagMutability",
                value,
                "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]",
            )),
        },
    }
}

/// `encryptionConfiguration`: `AES256` (the default), or `KMS` / `KMS_DSSE` with an optional
/// key (1 to 2048 characters), which only those types take. The key is kept as ECR answers
/// it, as the key's ARN ([`kms_key_arn`]).
fn encryption(ctx: &Ctx<'_>, body: &Json) -> Result<RepositorySettings, AwsError> {
    let Some(configuration) = body.get("encryptionConfiguration").filter(|value| !value.is_null()) else {
        return Ok(RepositorySettings::default());
    };
    let kind = configuration.get("encryptionType").and_then(Json::as_str).unwrap_or_default();
    let key = configuration.get("kmsKey").and_then(Json::as_str);
    if key.is_some() && kind == "AES256" {
        return Err(crate::ecr::invalid_parameter(
            "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'A KMS key may be given only with the KMS or KMS_DSSE encryption type'",
        ));
    }
    let kms_key = match kind {
        "AES256" => None,
        _ => Some(kms_key_arn(ctx.scope(), key)?),
    };
    Ok(RepositorySettings { encryption_type: kind.to_owned(), kms_key, ..RepositorySettings::default() })
}

/// The ARN of the KMS key a repository is encrypted with, as ECR answers it: a key's ARN in
/// the repository's region as given; a key id as that key's ARN in the caller's account and
/// region; no key as the ARN of the account's AWS managed key for ECR (`aws/ecr`) in the
/// region, its id derived from the account and region (Homeport has no KMS, so the same
/// account and region always name the same key). An alias, or its ARN, is refused: without
/// KMS, Homeport cannot resolve it to its key. (Layer files are not encrypted with the key:
/// ARCHITECTURE.md, ECR.)
fn kms_key_arn(scope: crate::regions::Scope<'_>, key: Option<&str>) -> Result<String, AwsError> {
    let refused = |why: String| {
        crate::ecr::invalid_parameter(format!(
            "Invalid parameter at 'encryptionConfiguration.kmsKey' failed to satisfy constraint: '{why}'"
        ))
    };
    let Some(key) = key else {
        let hex = aws_protocol::sigv4::sha256_hex(format!("aws/ecr {} {}", scope.account, scope.region).as_bytes());
        let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
        let id = format!("{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32));
        return Ok(format!("arn:aws:kms:{}:{}:key/{id}", scope.region, scope.account));
    };
    if key.starts_with("alias/") || key.contains(":alias/") {
        return Err(refused(format!("Homeport has no KMS to resolve the alias {key}: give the key's id or ARN")));
    }
    let Some(rest) = key.strip_prefix("arn:aws:kms:") else {
        if key.contains(['/', ':']) {
            return Err(refused(format!("{key} is neither a KMS key id nor a KMS key ARN")));
        }
        return Ok(format!("arn:aws:kms:{}:{}:key/{key}", scope.region, scope.account));
    };
    let mut parts = rest.splitn(3, ':');
    let (region, account, resource) = (parts.next(), parts.next(), parts.next());
    let valid_account = account.is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    let id = resource.and_then(|r| r.strip_prefix("key/")).filter(|id| !id.is_empty() && !id.contains(['/', ':']));
    if !valid_account || id.is_none() {
        return Err(refused(format!("{key} is neither a KMS key id nor a KMS key ARN")));
    }
    if region != Some(scope.region) {
        return Err(refused(format!("the KMS key must be in the repository's region, {}", scope.region)));
    }
    Ok(key.to_owned())
}

async fn create_repository(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let mutability = tag_mutability(ctx.body)?;
    let tags = crate::ecr::tags::request_tags(ctx.body)?;
    let settings = RepositorySettings {
        scan_on_push: crate::ecr::scanning::scan_on_push_at_create(ctx.body),
        ..encryption(ctx, ctx.body)?
    };
    if !model::create(&ctx.app.store, ctx.scope(), name, mutability, ids::now()).await? {
        return Err(AwsError::new(
            "RepositoryAlreadyExistsException",
            400,
            format!("The repository with name '{name}' already exists in the registry with id '{}'", ctx.account()),
        ));
    }
    let key = RepositoryKey { account: ctx.account(), region: ctx.region(), name };
    settings::create(&ctx.app.store, key, &settings, &tags).await?;
    let created = repository(ctx.app, ctx.scope(), name).await?;
    Ok(json!({ "repository": repository_view(ctx, &created).await? }))
}

async fn describe_repositories(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    let names = strings(ctx.body, "repositoryNames");
    let (start, size) = page(ctx.body)?;
    let mut found = Vec::new();
    if names.is_empty() {
        for repository in model::all(&ctx.app.store, ctx.scope()).await? {
            found.push(repository_view(ctx, &repository).await?);
        }
        return Ok(crate::operations::json_page("repositories", "nextToken", found, start, size));
    }
    for name in names {
        // A name ECR cannot have names no repository either.
        match crate::ecr::find_repository(ctx.app, ctx.scope(), name).await? {
            Some(repository) => found.push(repository_view(ctx, &repository).await?),
            None => return Err(repository_not_found(ctx.app, name)),
        }
    }
    Ok(json!({ "repositories": found }))
}

async fn delete_repository(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let force = ctx.body.get("force").and_then(Json::as_bool).unwrap_or(false);
    let existing = repository(ctx.app, ctx.scope(), name).await?;
    let shown = repository_view(ctx, &existing).await?;
    match model::delete(&ctx.app.store, ctx.scope(), name, force).await? {
        Deletion::Deleted { layers } => {
            crate::ecr::registry::blobs::blobs(ctx.app)?.collect(&ctx.app.store, &layers).await;
            Ok(json!({ "repository": shown }))
        }
        Deletion::NotFound => Err(repository_not_found(ctx.app, name)),
        Deletion::NotEmpty => Err(AwsError::new(
            "RepositoryNotEmptyException",
            400,
            format!(
                "The repository with name '{name}' in registry with id '{}' cannot be deleted because it still contains images",
                ctx.account()
            ),
        )),
    }
}

async fn put_image_tag_mutability(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    if ctx.body.get("imageTagMutability").is_none() {
        return Err(invalid_member("imageTagMutability", "null", "Member must not be null"));
    }
    let mutability = tag_mutability(ctx.body)?;
    if !model::set_tag_mutability(&ctx.app.store, ctx.scope(), name, mutability).await? {
        return Err(repository_not_found(ctx.app, name));
    }
    Ok(json!({ "registryId": ctx.account(), "repositoryName": name, "imageTagMutability": mutability.as_str() }))
}
