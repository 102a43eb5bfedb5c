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
use store::{Statement, StoreError, Value};

use crate::app::App;
use crate::ecr::registry::blobs::Digest;
use crate::ecr::{
    Repository, check_registry, invalid_member, invalid_parameter, page, repository, repository_name,
    repository_resource,
};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};

operation!(ecr, PUT_IMAGE, "PutImage", Write, repository_resource, |ctx| json_op(put_image_op(ctx)));
operation!(ecr, BATCH_GET_IMAGE, "BatchGetImage", Read, repository_resource, |ctx| json_op(batch_get_image(ctx)));
operation!(ecr, LIST_IMAGES, "ListImages", Read, repository_resource, |ctx| json_op(list_images(ctx)));
operation!(ecr, DESCRIBE_IMAGES, "DescribeImages", Read, repository_resource, |ctx| json_op(describe_images(ctx)));
operation!(ecr, BATCH_DELETE_IMAGE, "BatchDeleteImage", Write, repository_resource, |ctx| json_op(batch_delete_image(
    ctx
)));

/// The manifest media types accepted (Docker schema 2 and OCI, single and index).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// ECR's limit on a manifest's size.
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// A stored image.
#[derive(Debug, Clone)]
pub struct Image {
    pub digest: String,
    pub media_type: String,
    pub artifact_media_type: Option<String>,
    pub manifest: Vec<u8>,
    pub size: i64,
    pub pushed_at: i64,
}

/// Whether `tag` fits ECR's and Docker's tag rule (`[\w][\w.-]{0,127}`, up to 300 in ECR).
pub fn valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    chars.next().is_some_and(word) && chars.all(|c| word(c) || c == '.' || c == '-') && tag.len() <= 300
}

const IMAGE_COLUMNS: &str = "digest, media_type, artifact_media_type, manifest, size, pushed_at";

fn image_of(row: &store::Row) -> Result<Image, AwsError> {
    Ok(Image {
        digest: row.text(0).map_err(internal)?,
        media_type: row.text(1).map_err(internal)?,
        artifact_media_type: row.opt_text(2).map_err(internal)?,
        manifest: row.blob(3).map_err(internal)?,
        size: row.int(4).map_err(internal)?,
        pushed_at: row.int(5).map_err(internal)?,
    })
}

/// The digest a tag names in a repository.
async fn tagged(app: &App, repository: &str, tag: &str) -> Result<Option<String>, AwsError> {
    let rows = app
        .store
        .query(
            "SELECT digest FROM ecr_tags WHERE account_id = ? AND repository = ? AND tag = ?",
            vec![app.account_id.as_str().into(), repository.into(), tag.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(|row| row.text(0).map_err(internal)).transpose()
}

/// The image a reference (`sha256:...` digest or a tag) names in a repository.
pub async fn find_image(app: &App, repository: &str, reference: &str) -> Result<Option<Image>, AwsError> {
    let digest = if Digest::parse(reference).is_some() {
        reference.to_owned()
    } else {
        match tagged(app, repository, reference).await? {
            Some(digest) => digest,
            None => return Ok(None),
        }
    };
    let rows = app
        .store
        .query(
            &format!("SELECT {IMAGE_COLUMNS} FROM ecr_images WHERE account_id = ? AND repository = ? AND digest = ?"),
            vec![app.account_id.as_str().into(), repository.into(), digest.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(image_of).transpose()
}

/// The tags of each image of a repository, by digest.
async fn tags_by_digest(app: &App, repository: &str) -> Result<Vec<(String, String)>, AwsError> {
    let rows = app
        .store
        .query(
            "SELECT digest, tag FROM ecr_tags WHERE account_id = ? AND repository = ? ORDER BY tag",
            vec![app.account_id.as_str().into(), repository.into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?))).collect()
}

/// The tags of a repository, sorted (the registry's tag list).
pub async fn tags(app: &App, repository: &str) -> Result<Vec<String>, AwsError> {
    Ok(tags_by_digest(app, repository).await?.into_iter().map(|(_, tag)| tag).collect())
}

/// What a manifest references, read from its JSON.
#[derive(Debug)]
struct References {
    media_type: String,
    artifact_media_type: Option<String>,
    /// Blobs (config and layers).
    blobs: Vec<String>,
    /// Manifests an index lists.
    manifests: Vec<String>,
}

fn manifest_invalid(reason: &str) -> AwsError {
    invalid_parameter(format!("Invalid parameter at 'imageManifest' failed to satisfy constraint: '{reason}'"))
}

fn references(manifest: &[u8], declared: Option<&str>) -> Result<References, AwsError> {
    let document: Json = serde_json::from_slice(manifest).map_err(|_| manifest_invalid("Invalid JSON syntax"))?;
    let inner = document.get("mediaType").and_then(Json::as_str);
    let media_type = match (declared, inner) {
        (Some(declared), Some(inner)) if declared != inner => {
            return Err(invalid_parameter(format!(
                "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'Manifest media type {declared} does not match the manifest's mediaType {inner}'"
            )));
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type.to_owned(),
        (None, None) if document.get("manifests").is_some() => OCI_INDEX.to_owned(),
        (None, None) => OCI_MANIFEST.to_owned(),
    };
    let digest_of = |entry: &Json| -> Result<String, AwsError> {
        let digest = entry.get("digest").and_then(Json::as_str).unwrap_or_default();
        if Digest::parse(digest).is_none() {
            return Err(manifest_invalid(&format!("Invalid digest {digest}")));
        }
        Ok(digest.to_owned())
    };
    let mut references = References { media_type, artifact_media_type: None, blobs: Vec::new(), manifests: Vec::new() };
    match references.media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = document.get("config").ok_or_else(|| manifest_invalid("The manifest has no config"))?;
            references.artifact_media_type = config.get("mediaType").and_then(Json::as_str).map(str::to_owned);
            references.blobs.push(digest_of(config)?);
            let layers = document.get("layers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
            for layer in layers {
                // Foreign layers live elsewhere (their `urls`); they are not pushed here.
                if layer.get("urls").is_none() {
                    references.blobs.push(digest_of(layer)?);
                }
            }
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            let manifests = document.get("manifests").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
            for manifest in manifests {
                references.manifests.push(digest_of(manifest)?);
            }
        }
        other => {
            return Err(invalid_parameter(format!(
                "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'Unsupported manifest media type {other}'"
            )));
        }
    }
    Ok(references)
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

/// Stores an image and moves its tag, in one transaction.
pub async fn put_image(app: &App, repository: &Repository, push: Push<'_>) -> Result<Pushed, AwsError> {
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
    let references = references(push.manifest, push.media_type)?;
    let account = app.account_id.as_str();
    let key = || vec![Value::from(account), Value::from(name)];
    let mut size = 0_i64;
    let mut missing = Vec::new();
    for blob in &references.blobs {
        match super::layers::layer_size(app, name, blob).await? {
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
        match find_image(app, name, listed).await? {
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
    let existing = find_image(app, name, digest.as_str()).await?;
    let current = match push.tag {
        Some(tag) => tagged(app, name, tag).await?,
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
    let mut statements = vec![crate::ecr::repository_guard(app, name)];
    if existing.is_none() {
        statements.push(Statement::new(
            "INSERT INTO ecr_images (account_id, repository, digest, media_type, artifact_media_type, manifest, size, pushed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key(),
                vec![
                    digest.as_str().into(),
                    references.media_type.as_str().into(),
                    Value::from(references.artifact_media_type.clone()),
                    push.manifest.to_vec().into(),
                    Value::Int(size),
                    Value::Int(ids::now()),
                ],
            ]
            .concat(),
        ));
    }
    if let (Some(tag), true) = (push.tag, tag_moves) {
        if current.is_some() {
            // Only the digest read above may be replaced: a concurrent move makes this a no-op
            // guard failure rather than a silent overwrite.
            statements.push(Statement::guard(
                "DELETE FROM ecr_tags WHERE account_id = ? AND repository = ? AND tag = ? AND digest = ?",
                [key(), vec![tag.into(), current.clone().unwrap_or_default().into()]].concat(),
            ));
        }
        statements.push(Statement::new(
            "INSERT INTO ecr_tags (account_id, repository, tag, digest) VALUES (?, ?, ?, ?)",
            [key(), vec![tag.into(), digest.as_str().into()]].concat(),
        ));
    }
    match app.store.transaction(statements).await {
        Ok(_) => Ok(Pushed { digest: digest.to_string(), media_type: references.media_type, changed: true }),
        Err(StoreError::Unmet(0)) => Err(crate::ecr::repository_not_found(app, name)),
        Err(StoreError::Unmet(_) | StoreError::Conflict) => Err(AwsError::new(
            "ImageTagAlreadyExistsException",
            400,
            "The image tag was changed by a concurrent push; retry the push.",
        )),
        Err(error) => Err(internal(error)),
    }
}

async fn put_image_op(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let manifest = ctx.body.get("imageManifest").and_then(Json::as_str).unwrap_or_default();
    let field = |member: &str| ctx.body.get(member).and_then(Json::as_str);
    let repository = repository(ctx.app, name).await?;
    let push = Push {
        manifest: manifest.as_bytes(),
        media_type: field("imageManifestMediaType"),
        tag: field("imageTag"),
        digest: field("imageDigest"),
    };
    let tag = push.tag;
    let pushed = put_image(ctx.app, &repository, push).await?;
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
async fn resolve(app: &App, repository: &str, id: &Json) -> Result<Result<Image, Json>, AwsError> {
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
        (Some(tag), Some(digest)) => match tagged(app, repository, tag).await? {
            Some(named) if named != digest => {
                return failure(
                    "ImageTagDoesNotMatchDigest",
                    "Invalid request parameters: given tag does not map to the given digest",
                );
            }
            Some(_) => find_image(app, repository, digest).await?,
            None => None,
        },
        (Some(reference), None) | (None, Some(reference)) => find_image(app, repository, reference).await?,
        (None, None) => None,
    };
    match found {
        Some(image) => Ok(Ok(image)),
        None => failure("ImageNotFound", "Requested image not found"),
    }
}

fn image_ids(body: &Json) -> Result<&[Json], AwsError> {
    let ids = body.get("imageIds").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 {
        return Err(invalid_member("imageIds", "[...]", "Member must have length between 1 and 100"));
    }
    Ok(ids)
}

async fn batch_get_image(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    repository(ctx.app, name).await?;
    let (mut images, mut failures) = (Vec::new(), Vec::new());
    for id in image_ids(ctx.body)? {
        match resolve(ctx.app, name, id).await? {
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

/// `filter.tagStatus`: TAGGED, UNTAGGED or ANY (the default).
fn tag_status(body: &Json) -> Result<&str, AwsError> {
    match body.get("filter").and_then(|filter| filter.get("tagStatus")).and_then(Json::as_str) {
        None => Ok("ANY"),
        Some(status @ ("TAGGED" | "UNTAGGED" | "ANY")) => Ok(status),
        Some(other) => Err(invalid_member(
            "filter.tagStatus",
            other,
            "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]",
        )),
    }
}

/// Every image of a repository with its tags, oldest push first.
async fn images_with_tags(app: &App, repository: &str) -> Result<Vec<(Image, Vec<String>)>, AwsError> {
    let rows = app
        .store
        .query(
            &format!("SELECT {IMAGE_COLUMNS} FROM ecr_images WHERE account_id = ? AND repository = ? ORDER BY pushed_at, digest"),
            vec![app.account_id.as_str().into(), repository.into()],
        )
        .await
        .map_err(internal)?;
    let tags = tags_by_digest(app, repository).await?;
    rows.iter()
        .map(|row| {
            let image = image_of(row)?;
            let own = tags.iter().filter(|(digest, _)| *digest == image.digest).map(|(_, tag)| tag.clone()).collect();
            Ok((image, own))
        })
        .collect()
}

fn wanted(status: &str, tags: &[String]) -> bool {
    match status {
        "TAGGED" => !tags.is_empty(),
        "UNTAGGED" => tags.is_empty(),
        _ => true,
    }
}

async fn list_images(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let status = tag_status(ctx.body)?;
    let (start, size) = page(ctx.body)?;
    repository(ctx.app, name).await?;
    let mut ids = Vec::new();
    for (image, tags) in images_with_tags(ctx.app, name).await? {
        if !wanted(status, &tags) {
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
    let status = tag_status(ctx.body)?;
    let (start, size) = page(ctx.body)?;
    repository(ctx.app, name).await?;
    let all = images_with_tags(ctx.app, name).await?;
    let Some(requested) = ctx.body.get("imageIds").filter(|ids| !ids.is_null()) else {
        let details = all
            .into_iter()
            .filter(|(_, tags)| wanted(status, tags))
            .map(|(image, tags)| detail(ctx.app, name, &image, tags))
            .collect();
        return Ok(crate::operations::json_page("imageDetails", "nextToken", details, start, size));
    };
    let mut details = Vec::new();
    for id in image_ids(&json!({ "imageIds": requested }))? {
        match resolve(ctx.app, name, id).await? {
            Ok(image) => {
                let tags = all.iter().find(|(found, _)| found.digest == image.digest).map(|(_, tags)| tags.clone());
                details.push(detail(ctx.app, name, &image, tags.unwrap_or_default()));
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
    repository: &str,
    image: &Image,
    tag: Option<&str>,
) -> Result<Vec<Json>, AwsError> {
    let account = app.account_id.as_str();
    let key = || vec![Value::from(account), Value::from(repository)];
    let digest = image.digest.as_str();
    let remove_untagged = Statement::new(
        "DELETE FROM ecr_images WHERE account_id = ? AND repository = ? AND digest = ?
         AND NOT EXISTS (SELECT 1 FROM ecr_tags WHERE account_id = ? AND repository = ? AND digest = ?)",
        [key(), vec![digest.into()], key(), vec![digest.into()]].concat(),
    );
    let (statements, deleted) = match tag {
        Some(tag) => (
            vec![
                Statement::new(
                    "DELETE FROM ecr_tags WHERE account_id = ? AND repository = ? AND tag = ? AND digest = ?",
                    [key(), vec![tag.into(), digest.into()]].concat(),
                ),
                remove_untagged,
            ],
            vec![json!({ "imageDigest": digest, "imageTag": tag })],
        ),
        None => {
            let tags: Vec<String> = tags_by_digest(app, repository)
                .await?
                .into_iter()
                .filter(|(tagged, _)| tagged == digest)
                .map(|(_, tag)| tag)
                .collect();
            let deleted = if tags.is_empty() {
                vec![json!({ "imageDigest": digest })]
            } else {
                tags.iter().map(|tag| json!({ "imageDigest": digest, "imageTag": tag })).collect()
            };
            (
                vec![
                    Statement::new(
                        "DELETE FROM ecr_tags WHERE account_id = ? AND repository = ? AND digest = ?",
                        [key(), vec![digest.into()]].concat(),
                    ),
                    remove_untagged,
                ],
                deleted,
            )
        }
    };
    app.store.transaction(statements).await.map_err(internal)?;
    Ok(deleted)
}

async fn batch_delete_image(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    repository(ctx.app, name).await?;
    let (mut deleted, mut failures) = (Vec::new(), Vec::new());
    for id in image_ids(ctx.body)? {
        match resolve(ctx.app, name, id).await? {
            Ok(image) => {
                let tag = id.get("imageTag").and_then(Json::as_str);
                deleted.extend(delete_image(ctx.app, name, &image, tag).await?);
            }
            Err(failure) => failures.push(failure),
        }
    }
    Ok(json!({ "imageIds": deleted, "failures": failures }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_docker_rule() {
        for good in ["latest", "v1.2.3", "a", "_x", "1-2_3.4"] {
            assert!(valid_tag(good), "{good}");
        }
        for bad in ["", ".x", "-x", "a b", "a/b", "a:b"] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn manifests_name_their_blobs() {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7, "digest": format!("sha256:{}", "a".repeat(64))},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 9, "digest": format!("sha256:{}", "b".repeat(64))},
                {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1, "digest": format!("sha256:{}", "c".repeat(64)), "urls": ["https://example.com"]}
            ]
        })
        .to_string();
        let found = references(manifest.as_bytes(), None).unwrap();
        assert_eq!(found.media_type, DOCKER_MANIFEST);
        assert_eq!(found.blobs.len(), 2, "the foreign layer is not expected here");
        assert_eq!(found.artifact_media_type.as_deref(), Some("application/vnd.docker.container.image.v1+json"));
        assert_eq!(references(manifest.as_bytes(), Some(OCI_MANIFEST)).unwrap_err().code, "InvalidParameterException");
        assert!(references(b"{", None).is_err());
        let schema1 =
            json!({"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"});
        assert!(references(schema1.to_string().as_bytes(), None).is_err());
    }
}
