//! What ECR reports about an image beyond its manifest: DescribeImageReplicationStatus,
//! DescribeImageSigningStatus, ListImageReferrers and UpdateImageStorageClass.
//!
//! - Replication status: how the image's replication to each destination region went
//!   (`ecr::replication`), `COMPLETE` or `FAILED` with its `failureCode`; none for an image
//!   pushed while no rule selected its repository.
//! - Signing status: none, as for a registry without a signing configuration (Homeport
//!   refuses one, `ecr::unavailable`).
//! - Referrers: the repository's manifests whose `subject` is the image (the OCI referrers
//!   relation), every one `ACTIVE`, filtered by `artifactTypes`, 1 to 50 a page.
//! - Storage class: every image is `STANDARD` and stays there; archiving is refused with
//!   ECR's `ImageStorageClassUpdateNotSupportedException`.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use crate::ecr::errors::image_not_found;
use crate::ecr::model::image::{self as images, Image};
use crate::ecr::model::settings;
use crate::ecr::{check_registry, invalid_member, invalid_parameter, repository, repository_name, repository_resource};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(
    ecr,
    DESCRIBE_IMAGE_REPLICATION_STATUS,
    "DescribeImageReplicationStatus",
    Read,
    repository_resource,
    |ctx| { json_op(replication_status(ctx)) }
);
operation!(ecr, DESCRIBE_IMAGE_SIGNING_STATUS, "DescribeImageSigningStatus", Read, repository_resource, |ctx| {
    json_op(signing_status(ctx))
});
operation!(ecr, LIST_IMAGE_REFERRERS, "ListImageReferrers", Read, repository_resource, |ctx| json_op(referrers(ctx)));
operation!(ecr, UPDATE_IMAGE_STORAGE_CLASS, "UpdateImageStorageClass", Write, repository_resource, |ctx| json_op(
    update_storage_class(ctx)
));

/// The image `imageId` names in repository `name`, with the id as sent, or ECR's refusal
/// (the repository's, then the image's).
pub(crate) async fn named_image(ctx: &Ctx<'_>, name: &str) -> Result<(Image, Json), AwsError> {
    let Some(id) = ctx.body.get("imageId").filter(|value| value.is_object()) else {
        return Err(invalid_member("imageId", "null", "Member must not be null"));
    };
    repository(ctx.app, ctx.scope(), name).await?;
    match crate::ecr::images::resolve(ctx.app, ctx.scope(), name, id).await? {
        Ok(image) => Ok((image, id.clone())),
        Err(failure) if failure.get("failureCode").and_then(Json::as_str) == Some("ImageNotFound") => {
            Err(image_not_found(ctx.account(), name, id))
        }
        Err(failure) => {
            Err(invalid_parameter(failure.get("failureReason").and_then(Json::as_str).unwrap_or_default().to_owned()))
        }
    }
}

/// The id as ECR answers it: the digest always, the tag when one was named.
pub(crate) fn answered_id(image: &Image, id: &Json) -> Json {
    let mut answered = json!({ "imageDigest": image.digest });
    if let Some(tag) = id.get("imageTag").and_then(Json::as_str) {
        crate::operations::put(&mut answered, "imageTag", tag);
    }
    answered
}

async fn replication_status(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let (image, id) = named_image(ctx, name).await?;
    let key = settings::RepositoryKey { account: ctx.account(), region: ctx.region(), name };
    let statuses: Vec<Json> = settings::replication_statuses(&ctx.app.store, key, &image.digest)
        .await?
        .into_iter()
        .map(|status| {
            let mut shown = json!({
                "region": status.destination_region,
                "registryId": ctx.account(),
                "status": status.status,
            });
            if let Some(code) = status.failure_code {
                crate::operations::put(&mut shown, "failureCode", code);
            }
            shown
        })
        .collect();
    Ok(json!({ "repositoryName": name, "imageId": answered_id(&image, &id), "replicationStatuses": statuses }))
}

async fn signing_status(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let (image, id) = named_image(ctx, name).await?;
    Ok(json!({
        "repositoryName": name,
        "imageId": answered_id(&image, &id),
        "registryId": ctx.account(),
        "signingStatuses": [],
    }))
}

/// A manifest's referrer entry, when its `subject` is `subject`.
fn referrer_of(image: &Image, subject: &str) -> Option<(Option<String>, Json)> {
    let document: Json = serde_json::from_slice(&image.manifest).ok()?;
    if document.get("subject").and_then(|s| s.get("digest")).and_then(Json::as_str) != Some(subject) {
        return None;
    }
    let artifact_type = document
        .get("artifactType")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .or_else(|| image.artifact_media_type.clone());
    let mut entry = json!({
        "digest": image.digest,
        "mediaType": image.media_type,
        "size": image.size,
        "artifactStatus": "ACTIVE",
    });
    if let Some(artifact_type) = &artifact_type {
        crate::operations::put(&mut entry, "artifactType", artifact_type.as_str());
    }
    if let Some(annotations) = document.get("annotations").and_then(Json::as_object) {
        let strings: Map<String, Json> =
            annotations.iter().filter(|(_, value)| value.is_string()).map(|(k, v)| (k.clone(), v.clone())).collect();
        crate::operations::put(&mut entry, "annotations", strings);
    }
    Some((artifact_type, entry))
}

async fn referrers(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let subject = ctx.body.get("subjectId").and_then(|s| s.get("imageDigest")).and_then(Json::as_str);
    let Some(subject) = subject else {
        return Err(invalid_member("subjectId", "null", "Member must not be null"));
    };
    let filter = ctx.body.get("filter");
    let types = filter.map(|filter| crate::ecr::strings(filter, "artifactTypes")).unwrap_or_default();
    if types.len() > 5 {
        return Err(invalid_member("filter.artifactTypes", "[...]", "Member must have length less than or equal to 5"));
    }
    let status = filter.and_then(|filter| filter.get("artifactStatus")).and_then(Json::as_str).unwrap_or("ACTIVE");
    if !matches!(status, "ACTIVE" | "ARCHIVED" | "ACTIVATING" | "ANY") {
        return Err(invalid_member(
            "filter.artifactStatus",
            status,
            "Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]",
        ));
    }
    let size = match ctx.body.get("maxResults").filter(|value| !value.is_null()) {
        None => 50,
        Some(value) => value.as_u64().filter(|n| (1..=50).contains(n)).ok_or_else(|| {
            invalid_member("maxResults", &value.to_string(), "Member must have value less than or equal to 50")
        })?,
    };
    let start = match ctx.body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("Invalid parameter at 'nextToken'"))?,
    };
    repository(ctx.app, ctx.scope(), name).await?;
    let stored = images::with_tags(&ctx.app.store, ctx.scope(), name).await?;
    let found: Vec<Json> = stored
        .iter()
        .filter_map(|(image, _)| referrer_of(image, subject))
        .filter(|(artifact_type, _)| {
            types.is_empty() || artifact_type.as_deref().is_some_and(|kind| types.contains(&kind))
        })
        .filter(|_| matches!(status, "ACTIVE" | "ANY"))
        .map(|(_, entry)| entry)
        .collect();
    Ok(crate::operations::json_page("referrers", "nextToken", found, start, usize::try_from(size).unwrap_or(50)))
}

async fn update_storage_class(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let target = ctx.body.get("targetStorageClass").and_then(Json::as_str).unwrap_or_default();
    if !matches!(target, "STANDARD" | "ARCHIVE") {
        return Err(invalid_member(
            "targetStorageClass",
            target,
            "Member must satisfy enum value set: [STANDARD, ARCHIVE]",
        ));
    }
    let (image, id) = named_image(ctx, name).await?;
    if target == "ARCHIVE" {
        return Err(AwsError::new(
            "ImageStorageClassUpdateNotSupportedException",
            400,
            "The archive storage class is not supported: Homeport keeps every image in the standard storage class",
        ));
    }
    Ok(json!({
        "registryId": ctx.account(),
        "repositoryName": name,
        "imageId": answered_id(&image, &id),
        "imageStatus": "ACTIVE",
    }))
}
