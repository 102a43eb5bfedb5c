//! Image scanning, in a registry without a scanner: PutImageScanningConfiguration,
//! BatchGetRepositoryScanningConfiguration, StartImageScan and DescribeImageScanFindings.
//!
//! Homeport has no vulnerability scanner, and answers as ECR does for scans that cannot run:
//! - a repository's `scanOnPush` (CreateRepository, PutImageScanningConfiguration) is stored
//!   and answered (DescribeRepositories, BatchGetRepositoryScanningConfiguration with the
//!   `SCAN_ON_PUSH` or `MANUAL` frequency and no filters);
//! - in a repository that scans on push, every image's scan status (DescribeImages,
//!   DescribeImageScanFindings) is `FAILED`, saying that no scanner is configured, and has no
//!   findings; without scan on push, DescribeImageScanFindings answers ECR's
//!   `ScanNotFoundException`, as for an image never scanned;
//! - StartImageScan of an image that exists is refused with ECR's
//!   `UnsupportedImageTypeException` (its answer for an image its scanner cannot read);
//! - a missing repository or image is refused first, as ECR refuses it.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ecr::image_status::named_image;
use crate::ecr::model::settings::{self, RepositoryKey};
use crate::ecr::{check_registry, invalid_member, repository, repository_arn, repository_name, repository_resource};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(ecr, PUT_IMAGE_SCANNING_CONFIGURATION, "PutImageScanningConfiguration", Write, repository_resource, |ctx| {
    json_op(put_image_scanning_configuration(ctx))
});
operation!(ecr, START_IMAGE_SCAN, "StartImageScan", Write, repository_resource, |ctx| json_op(start_image_scan(ctx)));
operation!(ecr, DESCRIBE_IMAGE_SCAN_FINDINGS, "DescribeImageScanFindings", Read, repository_resource, |ctx| {
    json_op(describe_image_scan_findings(ctx))
});
// Authorized on each repository named, by the caller's policies alone (as DescribeRepositories).
operation!(
    ecr,
    BATCH_GET_REPOSITORY_SCANNING_CONFIGURATION,
    "BatchGetRepositoryScanningConfiguration",
    Read,
    |ctx| {
        Box::pin(async move {
            let names = crate::ecr::strings(ctx.body, "repositoryNames");
            if names.is_empty() {
                // Refused as the model refuses it, after authorization on every repository.
                return Ok(vec![repository_arn(ctx.scope(), "*")]);
            }
            Ok(names.into_iter().map(|name| repository_arn(ctx.scope(), name)).collect())
        })
    },
    |ctx| json_op(batch_get_scanning_configuration(ctx)),
    authorization = Policies
);

async fn put_image_scanning_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let Some(configuration) = ctx.body.get("imageScanningConfiguration").filter(|value| value.is_object()) else {
        return Err(invalid_member("imageScanningConfiguration", "null", "Member must not be null"));
    };
    repository(ctx.app, ctx.scope(), name).await?;
    let on = configuration.get("scanOnPush").and_then(Json::as_bool).unwrap_or(false);
    let key = RepositoryKey { account: ctx.account(), region: ctx.region(), name };
    settings::set_scan_on_push(&ctx.app.store, key, on).await?;
    Ok(json!({
        "registryId": ctx.account(),
        "repositoryName": name,
        "imageScanningConfiguration": { "scanOnPush": on },
    }))
}

/// CreateRepository's `imageScanningConfiguration.scanOnPush` (false when absent).
pub fn scan_on_push_at_create(body: &Json) -> bool {
    body.get("imageScanningConfiguration").and_then(|c| c.get("scanOnPush")).and_then(Json::as_bool).unwrap_or(false)
}

async fn batch_get_scanning_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let names = crate::ecr::strings(ctx.body, "repositoryNames");
    if names.is_empty() || names.len() > 25 {
        return Err(invalid_member("repositoryNames", "[...]", "Member must have length between 1 and 25"));
    }
    let (mut found, mut failures) = (Vec::new(), Vec::new());
    for name in names {
        if crate::ecr::valid_repository_name(name)
            && crate::ecr::find_repository(ctx.app, ctx.scope(), name).await?.is_some()
        {
            let on = crate::ecr::scans_on_push(ctx, name).await?;
            found.push(json!({
                "repositoryArn": repository_arn(ctx.scope(), name),
                "repositoryName": name,
                "scanOnPush": on,
                "scanFrequency": if on { "SCAN_ON_PUSH" } else { "MANUAL" },
                "appliedScanFilters": [],
            }));
        } else {
            failures.push(json!({
                "repositoryName": name,
                "failureCode": "REPOSITORY_NOT_FOUND",
                "failureReason": "REPOSITORY_NOT_FOUND",
            }));
        }
    }
    Ok(json!({ "scanningConfigurations": found, "failures": failures }))
}

async fn start_image_scan(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    named_image(ctx, name).await?;
    Err(AwsError::new(
        "UnsupportedImageTypeException",
        400,
        "The operating system and/or package manager of the image is not supported: Homeport has no vulnerability scanner",
    ))
}

async fn describe_image_scan_findings(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let (image, id) = named_image(ctx, name).await?;
    if crate::ecr::scans_on_push(ctx, name).await? {
        return Ok(json!({
            "registryId": ctx.account(),
            "repositoryName": name,
            "imageId": crate::ecr::image_status::answered_id(&image, &id),
            "imageScanStatus": crate::ecr::no_scanner_status(),
        }));
    }
    let tag = id.get("imageTag").and_then(Json::as_str).unwrap_or("null");
    Err(AwsError::new(
        "ScanNotFoundException",
        400,
        format!(
            "Image scan does not exist for the image with '{{imageDigest:'{}', imageTag:'{tag}'}}' in the repository with name '{name}' in the registry with id '{}'",
            image.digest,
            ctx.account()
        ),
    ))
}
