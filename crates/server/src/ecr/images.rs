//! ECR images: PutImage, BatchGetImage, ListImages, DescribeImages and BatchDeleteImage,
//! and the image model the registry's manifest endpoints share ([`put_image`],
//! [`find_image`], [`delete_image`]).
//!
//! An image is its manifest's exact bytes, addressed by their SHA-256; a tag names one image
//! of a repository. A manifest is accepted only when every blob it references (config and
//! layers) is a layer of the repository, or, for an image index, every manifest it lists is
//! an image of the repository. In an IMMUTABLE repository a tag never moves.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::app::App;
use crate::ecr::model::image::{self as model, DeletedId, Image, NewImage, PushOutcome, TagMove, TagStatus};
pub use crate::ecr::model::image::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, MAX_MANIFEST, OCI_INDEX, OCI_MANIFEST, valid_tag,
};
use crate::ecr::registry::blobs::Digest;
use crate::ecr::{
    Repository, check_registry, invalid_member, invalid_parameter, page, repository, repository_name,
    repository_resource,
};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(ecr, PUT_IMAGE, "PutImage", Write, repository_resource, |ctx| json_op(put_image_op(ctx)));
operation!(ecr, BATCH_GET_IMAGE, "BatchGetImage", Read, repository_resource, |ctx| json_op(batch_get_image(ctx)));
operation!(ecr, LIST_IMAGES, "ListImages", Read, repository_resource, |ctx| json_op(list_images(ctx)));
operation!(ecr, DESCRIBE_IMAGES, "DescribeImages", Read, repository_resource, |ctx| json_op(describe_images(ctx)));
operation!(ecr, BATCH_DELETE_IMAGE, "BatchDeleteImage", Write, repository_resource, |ctx| json_op(batch_delete_image(
    ctx
)));

/// The image a reference (`sha256:...` digest or a tag) names in a repository.
pub async fn find_image(
    app: &App,
    scope: Scope<'_>,
    repository: &str,
    reference: &str,
) -> Result<Option<Image>, AwsError> {
    Ok(model::find(&app.store, scope, repository, reference).await?)
}

/// The tags of a repository, sorted (the registry's tag list).
pub async fn tags(app: &App, scope: Scope<'_>, repository: &str) -> Result<Vec<String>, AwsError> {
    Ok(model::tags(&app.store, scope, repository).await?)
}

async fn tagged(app: &App, scope: Scope<'_>, repository: &str, tag: &str) -> Result<Option<String>, AwsError> {
    Ok(model::tagged(&app.store, scope, repository, tag).await?)
}

/// What a push asked for.
pub struct Push<'a> {
    pub manifest: &'a [u8],
    pub media_type: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// The digest the client says the manifest has.
    pub digest: Option<&'a str>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub digest: String,
    pub media_type: String,
    /// False when the image existed already and the tag (if any) already named it.
    pub changed: bool,
}

/// Stores an image and moves its tag, in one transaction; then, when it changed anything,
/// replicates it as the registry's replication configuration says (`ecr::replication`).
pub async fn put_image(
    app: &App,
    scope: Scope<'_>,
    repository: &Repository,
    push: Push<'_>,
) -> Result<Pushed, AwsError> {
    let (manifest, tag) = (push.manifest, push.tag);
    let pushed = store_image(app, scope, repository, push).await?;
    if pushed.changed {
        crate::ecr::replication::replicate(app, scope, &repository.name, &pushed, manifest, tag).await?;
    }
    Ok(pushed)
}

/// Stores an image and moves its tag, in one transaction (a replica is stored so too).
pub async fn store_image(
    app: &App,
    scope: Scope<'_>,
    repository: &Repository,
    push: Push<'_>,
) -> Result<Pushed, AwsError> {
    let name = repository.name.as_str();
    if push.manifest.is_empty() || push.manifest.len() > MAX_MANIFEST {
        return Err(invalid_member("imageManifest", "...", "Member must have length between 1 and 4194304"));
    }
    if let Some(tag) = push.tag.filter(|tag| !valid_tag(tag)) {
        return Err(invalid_parameter(format!(
            "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Invalid image tag {tag}'"
        )));
    }
    let digest = Digest::of(push.manifest);
    if let Some(claimed) = push.digest.filter(|claimed| *claimed != digest.as_str()) {
        return Err(AwsError::new(
            "ImageDigestDoesNotMatchException",
            400,
            format!("Provided digest {claimed} does not match the digest of the manifest {digest}"),
        ));
    }
    let references = model::references(push.manifest, push.media_type)?;
    let account = scope.account;
    let mut size = 0_i64;
    let mut missing = Vec::new();
    for blob in &references.blobs {
        match crate::ecr::model::layer::size(&app.store, scope, name, blob).await? {
            Some(stored) => size += stored,
            None => missing.push(blob.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(AwsError::new(
            "LayersNotFoundException",
            400,
            format!(
                "Layers with digests '[{}]' required for pushing image into repository with name '{name}' in registry with id '{account}' do not exist",
                missing.join(", ")
            ),
        ));
    }
    for listed in &references.manifests {
        match find_image(app, scope, name, listed).await? {
            Some(image) => size += image.size,
            None => {
                return Err(AwsError::new(
                    "ReferencedImagesNotFoundException",
                    400,
                    format!("Some of the images referenced by the image index do not exist: [{listed}]"),
                ));
            }
        }
    }
    let existing = find_image(app, scope, name, digest.as_str()).await?;
    let current = match push.tag {
        Some(tag) => tagged(app, scope, name, tag).await?,
        None => None,
    };
    let tag_moves = push.tag.is_some() && current.as_deref() != Some(digest.as_str());
    if let (Some(tag), Some(_), true) = (push.tag, &current, tag_moves) {
        if repository.immutable() {
            return Err(AwsError::new(
                "ImageTagAlreadyExistsException",
                400,
                format!(
                    "The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."
                ),
            ));
        }
    }
    if existing.is_some() && !tag_moves {
        return Ok(Pushed { digest: digest.to_string(), media_type: references.media_type, changed: false });
    }
    let new = NewImage {
        media_type: &references.media_type,
        artifact_media_type: references.artifact_media_type.as_deref(),
        manifest: push.manifest,
        size,
        pushed_at: ids::now(),
    };
    let tag = match push.tag {
        Some(tag) if tag_moves => TagMove::To { tag, from: current.as_deref() },
        _ => TagMove::Stays,
    };
    match model::store(&app.store, scope, name, digest.as_str(), existing.is_none().then_some(&new), tag).await? {
        PushOutcome::Stored => {
            Ok(Pushed { digest: digest.to_string(), media_type: references.media_type, changed: true })
        }
        PushOutcome::RepositoryGone => Err(crate::ecr::repository_not_found(app, name)),
        PushOutcome::TagRaced => Err(AwsError::new(
            "ImageTagAlreadyExistsException",
            400,
            "The image tag was changed by a concurrent push; retry the push.",
        )),
    }
}

async fn put_image_op(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let manifest = ctx.body.get("imageManifest").and_then(Json::as_str).unwrap_or_default();
    let field = |member: &str| ctx.body.get(member).and_then(Json::as_str);
    let repository = repository(ctx.app, ctx.scope(), name).await?;
    let push = Push {
        manifest: manifest.as_bytes(),
        media_type: field("imageManifestMediaType"),
        tag: field("imageTag"),
        digest: field("imageDigest"),
    };
    let tag = push.tag;
    let pushed = put_image(ctx.app, ctx.scope(), &repository, push).await?;
    if !pushed.changed {
        return Err(AwsError::new(
            "ImageAlreadyExistsException",
            400,
            format!(
                "Image with digest '{}' and tag '{}' already exists in the repository with name '{name}' in registry with id '{}'",
                pushed.digest,
                tag.unwrap_or("null"),
                ctx.account()
            ),
        ));
    }
    let mut image_id = json!({ "imageDigest": pushed.digest });
    if let Some(tag) = tag {
        crate::operations::put(&mut image_id, "imageTag", tag);
    }
    Ok(json!({ "image": {
        "registryId": ctx.account(),
        "repositoryName": name,
        "imageId": image_id,
        "imageManifest": manifest,
        "imageManifestMediaType": pushed.media_type,
    }}))
}

/// An `ImageIdentifier` resolved to its image, or ECR's failure for it.
pub(crate) async fn resolve(
    app: &App,
    scope: Scope<'_>,
    repository: &str,
    id: &Json,
) -> Result<Result<Image, Json>, AwsError> {
    let digest = id.get("imageDigest").and_then(Json::as_str);
    let tag = id.get("imageTag").and_then(Json::as_str);
    let failure =
        |code: &str, reason: &str| Ok(Err(json!({"imageId": id, "failureCode": code, "failureReason": reason})));
    if digest.is_none() && tag.is_none() {
        return failure("MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null");
    }
    if digest.is_some_and(|digest| Digest::parse(digest).is_none()) {
        return failure(
            "InvalidImageDigest",
            "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        );
    }
    if tag.is_some_and(|tag| !valid_tag(tag)) {
        return failure("InvalidImageTag", "Invalid request parameters: image tag is not valid");
    }
    let found = match (tag, digest) {
        (Some(tag), Some(digest)) => match tagged(app, scope, repository, tag).await? {
            Some(named) if named != digest => {
                return failure(
                    "ImageTagDoesNotMatchDigest",
                    "Invalid request parameters: given tag does not map to the given digest",
                );
            }
            Some(_) => find_image(app, scope, repository, digest).await?,
            None => None,
        },
        (Some(reference), None) | (None, Some(reference)) => find_image(app, scope, repository, reference).await?,
        (None, None) => None,
    };
    match found {
        Some(image) => Ok(Ok(image)),
        None => failure("ImageNotFound", "Requested image not found"),
    }
}

/// `imageIds`: 1 to 100 of them (the pipeline has checked the model's sizes).
fn image_ids(body: &Json) -> &[Json] {
    body.get("imageIds").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default()
}

async fn batch_get_image(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let (mut images, mut failures) = (Vec::new(), Vec::new());
    for id in image_ids(ctx.body) {
        match resolve(ctx.app, ctx.scope(), name, id).await? {
            Ok(image) => {
                let mut image_id = id.clone();
                crate::operations::put(&mut image_id, "imageDigest", image.digest.as_str());
                images.push(json!({
                    "registryId": ctx.account(),
                    "repositoryName": name,
                    "imageId": image_id,
                    "imageManifest": String::from_utf8_lossy(&image.manifest),
                    "imageManifestMediaType": image.media_type,
                }));
            }
            Err(failure) => failures.push(failure),
        }
    }
    Ok(json!({ "images": images, "failures": failures }))
}

/// `filter.tagStatus`: TAGGED, UNTAGGED or ANY (the default; the pipeline has refused any
/// other word, the model's enum).
fn tag_status(body: &Json) -> TagStatus {
    let word = body.get("filter").and_then(|filter| filter.get("tagStatus")).and_then(Json::as_str);
    word.and_then(TagStatus::parse).unwrap_or(TagStatus::Any)
}

/// Every image of a repository with its tags, oldest push first.
async fn images_with_tags(
    app: &App,
    scope: Scope<'_>,
    repository: &str,
) -> Result<Vec<(Image, Vec<String>)>, AwsError> {
    Ok(model::with_tags(&app.store, scope, repository).await?)
}

async fn list_images(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let status = tag_status(ctx.body);
    let (start, size) = page(ctx.body)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let mut ids = Vec::new();
    for (image, tags) in images_with_tags(ctx.app, ctx.scope(), name).await? {
        if !status.admits(&tags) {
            continue;
        }
        if tags.is_empty() {
            ids.push(json!({ "imageDigest": image.digest }));
        }
        for tag in tags {
            ids.push(json!({ "imageDigest": image.digest, "imageTag": tag }));
        }
    }
    Ok(crate::operations::json_page("imageIds", "nextToken", ids, start, size))
}

fn detail(app: &App, repository: &str, image: &Image, tags: Vec<String>) -> Json {
    let mut detail = json!({
        "registryId": app.account_id,
        "repositoryName": repository,
        "imageDigest": image.digest,
        "imageSizeInBytes": image.size,
        "imagePushedAt": image.pushed_at,
        "imageManifestMediaType": image.media_type,
        "imageStatus": "ACTIVE",
    });
    if !tags.is_empty() {
        crate::operations::put(&mut detail, "imageTags", tags);
    }
    if let Some(artifact) = &image.artifact_media_type {
        crate::operations::put(&mut detail, "artifactMediaType", artifact.as_str());
    }
    detail
}

async fn describe_images(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let status = tag_status(ctx.body);
    let (start, size) = page(ctx.body)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let all = images_with_tags(ctx.app, ctx.scope(), name).await?;
    let scanned = crate::ecr::scans_on_push(ctx, name).await?;
    let detail = |image: &Image, tags: Vec<String>| {
        let mut shown = detail(ctx.app, name, image, tags);
        if scanned {
            crate::operations::put(&mut shown, "imageScanStatus", crate::ecr::no_scanner_status());
        }
        shown
    };
    let Some(requested) = ctx.body.get("imageIds").filter(|ids| !ids.is_null()) else {
        let details =
            all.into_iter().filter(|(_, tags)| status.admits(tags)).map(|(image, tags)| detail(&image, tags)).collect();
        return Ok(crate::operations::json_page("imageDetails", "nextToken", details, start, size));
    };
    let mut details = Vec::new();
    for id in requested.as_array().map(Vec::as_slice).unwrap_or_default() {
        match resolve(ctx.app, ctx.scope(), name, id).await? {
            Ok(image) => {
                let tags = all.iter().find(|(found, _)| found.digest == image.digest).map(|(_, tags)| tags.clone());
                details.push(detail(&image, tags.unwrap_or_default()));
            }
            Err(failure) if failure.get("failureCode").and_then(Json::as_str) == Some("ImageNotFound") => {
                let shown = |member: &str| id.get(member).and_then(Json::as_str).unwrap_or("null").to_owned();
                return Err(AwsError::new(
                    "ImageNotFoundException",
                    400,
                    format!(
                        "The image with imageId {{imageDigest:'{}', imageTag:'{}'}} does not exist within the repository with name '{name}' in the registry with id '{}'",
                        shown("imageDigest"),
                        shown("imageTag"),
                        ctx.account()
                    ),
                ));
            }
            Err(failure) => {
                return Err(invalid_parameter(
                    failure.get("failureReason").and_then(Json::as_str).unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    Ok(json!({ "imageDetails": details }))
}

/// Deletes what an image id names: a tag (and the image when it was its last tag), or an
/// image with all its tags. Returns the ids deleted.
pub async fn delete_image(
    app: &App,
    scope: Scope<'_>,
    repository: &str,
    image: &Image,
    tag: Option<&str>,
) -> Result<Vec<Json>, AwsError> {
    let deleted = model::delete(&app.store, scope, repository, &image.digest, tag).await?;
    Ok(deleted
        .into_iter()
        .map(|DeletedId { digest, tag }| match tag {
            Some(tag) => json!({ "imageDigest": digest, "imageTag": tag }),
            None => json!({ "imageDigest": digest }),
        })
        .collect())
}

async fn batch_delete_image(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let (mut deleted, mut failures) = (Vec::new(), Vec::new());
    for id in image_ids(ctx.body) {
        match resolve(ctx.app, ctx.scope(), name, id).await? {
            Ok(image) => {
                let tag = id.get("imageTag").and_then(Json::as_str);
                deleted.extend(delete_image(ctx.app, ctx.scope(), name, &image, tag).await?);
            }
            Err(failure) => failures.push(failure),
        }
    }
    Ok(json!({ "imageIds": deleted, "failures": failures }))
}
