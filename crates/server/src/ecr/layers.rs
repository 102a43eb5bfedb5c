//! ECR layers: GetDownloadUrlForLayer, BatchCheckLayerAvailability, InitiateLayerUpload,
//! UploadLayerPart and CompleteLayerUpload, and the upload model the registry's blob
//! endpoints share ([`start_upload`], [`check_upload`], [`complete_upload`], [`layer_size`]).
//!
//! An upload belongs to the repository it was started in (`ecr_uploads`); its bytes go to a
//! file of [`crate::ecr::registry::blobs`]. A layer becomes part of a repository only when the
//! upload completes with the digest its bytes hash to.

use aws_protocol::AwsError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as Json, json};

use crate::app::App;
use crate::ecr::model::layer::{self as model, UploadStatus};
use crate::ecr::registry::blobs::{Digest, UploadError};
use crate::ecr::{check_registry, invalid_member, invalid_parameter, repository, repository_name, repository_resource};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};
use crate::regions::Scope;

operation!(ecr, GET_DOWNLOAD_URL_FOR_LAYER, "GetDownloadUrlForLayer", Read, repository_resource, |ctx| json_op(
    get_download_url_for_layer(ctx)
));
operation!(ecr, BATCH_CHECK_LAYER_AVAILABILITY, "BatchCheckLayerAvailability", Read, repository_resource, |ctx| {
    json_op(batch_check_layer_availability(ctx))
});
operation!(ecr, INITIATE_LAYER_UPLOAD, "InitiateLayerUpload", Write, repository_resource, |ctx| json_op(
    initiate_layer_upload(ctx)
));
operation!(ecr, UPLOAD_LAYER_PART, "UploadLayerPart", Write, repository_resource, |ctx| json_op(upload_layer_part(
    ctx
)));
operation!(ecr, COMPLETE_LAYER_UPLOAD, "CompleteLayerUpload", Write, repository_resource, |ctx| json_op(
    complete_layer_upload(ctx)
));

/// The part size InitiateLayerUpload suggests: a part travels base64-encoded in a JSON body,
/// which the listener takes up to 14 MiB, so 5 MiB (6.7 MiB encoded) always fits. Docker
/// uploads through the registry, which streams and has no such limit.
const PART_SIZE: i64 = 5 * 1024 * 1024;

/// A layer's size in a repository, if the repository has it.
pub async fn layer_size(app: &App, scope: Scope<'_>, repository: &str, digest: &str) -> Result<Option<i64>, AwsError> {
    Ok(model::size(&app.store, scope, repository, digest).await?)
}

pub fn upload_not_found(app: &App, repository: &str, id: &str) -> AwsError {
    AwsError::new(
        "UploadNotFoundException",
        400,
        format!(
            "Upload with id '{id}' is not found in the repository with name '{repository}' in the registry with id '{}'",
            app.account_id
        ),
    )
}

/// Starts an upload into a repository and returns its id.
pub async fn start_upload(app: &App, scope: Scope<'_>, repository: &str) -> Result<String, AwsError> {
    let id = ids::uuid().map_err(internal)?;
    model::start_upload(&app.store, scope, repository, &id, ids::now()).await?;
    crate::ecr::registry::blobs::blobs(app)?.start_upload(&id).await.map_err(internal)?;
    Ok(id)
}

/// Checks an upload was started in this repository and is still open.
pub async fn check_upload(app: &App, scope: Scope<'_>, repository: &str, id: &str) -> Result<(), AwsError> {
    let status = model::upload_status(&app.store, scope, repository, id).await?;
    if status == UploadStatus::Unknown
        || crate::ecr::registry::blobs::blobs(app)?.upload_size(id).await.map_err(internal)?.is_none()
    {
        return Err(upload_not_found(app, repository, id));
    }
    Ok(())
}

/// Forgets an upload (its row and its file).
pub async fn cancel_upload(app: &App, id: &str) -> Result<(), AwsError> {
    model::forget_upload(&app.store, id).await?;
    crate::ecr::registry::blobs::blobs(app)?.cancel(id).await;
    Ok(())
}

/// The ECR error for an upload that could not take bytes or complete.
pub fn upload_error(app: &App, repository: &str, id: &str, error: UploadError) -> AwsError {
    match error {
        UploadError::Unknown => upload_not_found(app, repository, id),
        UploadError::Busy => AwsError::new(
            "InvalidLayerPartException",
            400,
            format!("Upload with id '{id}' is receiving another part; send parts one at a time"),
        ),
        UploadError::OutOfOrder { size } => AwsError::new(
            "InvalidLayerPartException",
            400,
            format!("The part must start at byte {size}, the end of the upload with id '{id}' so far"),
        ),
        UploadError::DigestMismatch { actual } => AwsError::new(
            "InvalidLayerException",
            400,
            format!("The layer digest provided does not match the digest of the uploaded layer, {actual}"),
        ),
        UploadError::Empty => AwsError::new("EmptyUploadException", 400, format!("The upload with id '{id}' is empty")),
        UploadError::Io(error) => internal(error),
    }
}

/// Completes an upload as layer `digest` of the repository: the blob moves into place and
/// the layer is recorded (while the collector is held off). Returns the layer's size.
pub async fn complete_upload(
    app: &App,
    scope: Scope<'_>,
    repository: &str,
    id: &str,
    digest: &Digest,
) -> Result<i64, AwsError> {
    check_upload(app, scope, repository, id).await?;
    let completed = crate::ecr::registry::blobs::blobs(app)?.complete(id, digest).await;
    let completed = match completed {
        Ok(completed) => completed,
        Err(error) => {
            if matches!(error, UploadError::DigestMismatch { .. }) {
                // The bytes are gone with the refusal: so is the upload.
                cancel_upload(app, id).await?;
            }
            return Err(upload_error(app, repository, id, error));
        }
    };
    let size = i64::try_from(completed.size).unwrap_or(i64::MAX);
    let recorded = model::record(&app.store, scope, repository, digest.as_str(), size, id).await;
    drop(completed);
    if !recorded? {
        // The repository went while the layer arrived: its file may be unreferenced.
        crate::ecr::registry::blobs::blobs(app)?.collect(&app.store, &[digest.to_string()]).await;
        return Err(crate::ecr::repository_not_found(app, repository));
    }
    Ok(size)
}

fn layer_digest(body: &Json, member: &str) -> Result<Digest, AwsError> {
    let text = body.get(member).and_then(Json::as_str).unwrap_or_default();
    Digest::parse(text).ok_or_else(|| {
        invalid_member(member, text, "Member must satisfy regular expression pattern: sha256:[a-f0-9]{64}")
    })
}

fn upload_id(body: &Json) -> Result<&str, AwsError> {
    let id = body.get("uploadId").and_then(Json::as_str).unwrap_or_default();
    if crate::ecr::registry::blobs::valid_upload_id(id) {
        Ok(id)
    } else {
        Err(invalid_member(
            "uploadId",
            id,
            "Member must satisfy regular expression pattern: [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        ))
    }
}

async fn get_download_url_for_layer(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let digest = layer_digest(ctx.body, "layerDigest")?;
    repository(ctx.app, ctx.scope(), name).await?;
    if layer_size(ctx.app, ctx.scope(), name, digest.as_str()).await?.is_none() {
        return Err(AwsError::new(
            "LayersNotFoundException",
            400,
            format!(
                "The image layer with digest '{digest}' does not exist in the repository with name '{name}' in the registry with id '{}'",
                ctx.account()
            ),
        ));
    }
    // The registry's own blob address: it asks for the same registry password as a pull.
    Ok(json!({
        "downloadUrl": format!("{}://{}/v2/{name}/blobs/{digest}", ctx.app.scheme, ctx.app.registry_host),
        "layerDigest": digest.as_str(),
    }))
}

async fn batch_check_layer_availability(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    // 1 to 100 of them: the pipeline has checked the model's sizes.
    let digests = crate::ecr::strings(ctx.body, "layerDigests");
    repository(ctx.app, ctx.scope(), name).await?;
    let (mut layers, mut failures) = (Vec::new(), Vec::new());
    for digest in digests {
        if Digest::parse(digest).is_none() {
            failures.push(json!({"layerDigest": digest, "failureCode": "InvalidLayerDigest", "failureReason": "Invalid layer digest"}));
            continue;
        }
        match layer_size(ctx.app, ctx.scope(), name, digest).await? {
            Some(size) => layers.push(json!({
                "layerDigest": digest,
                "layerAvailability": "AVAILABLE",
                "layerSize": size,
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            })),
            None => failures.push(json!({"layerDigest": digest, "failureCode": "MissingLayerDigest", "failureReason": "Requested layer not found"})),
        }
    }
    Ok(json!({ "layers": layers, "failures": failures }))
}

async fn initiate_layer_upload(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let id = start_upload(ctx.app, ctx.scope(), name).await?;
    Ok(json!({ "uploadId": id, "partSize": PART_SIZE }))
}

async fn upload_layer_part(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let id = upload_id(ctx.body)?;
    let number = |member: &str| ctx.body.get(member).and_then(Json::as_u64);
    let (Some(first), Some(last)) = (number("partFirstByte"), number("partLastByte")) else {
        return Err(invalid_parameter("Invalid parameter: partFirstByte and partLastByte are required"));
    };
    let blob = ctx.body.get("layerPartBlob").and_then(Json::as_str).unwrap_or_default();
    let bytes = STANDARD.decode(blob).map_err(|_| invalid_member("layerPartBlob", "...", "Member must be base64"))?;
    let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if bytes.is_empty() || last < first || last - first + 1 != length {
        return Err(AwsError::new(
            "InvalidLayerPartException",
            400,
            format!("The part's byte range {first}-{last} does not match the {length} bytes sent"),
        ));
    }
    repository(ctx.app, ctx.scope(), name).await?;
    check_upload(ctx.app, ctx.scope(), name, id).await?;
    let error = |error| upload_error(ctx.app, name, id, error);
    let mut writer = crate::ecr::registry::blobs::blobs(ctx.app)?.writer(id, Some(first)).await.map_err(error)?;
    writer.write(&bytes).await.map_err(internal)?;
    let size = writer.finish().await.map_err(internal)?;
    Ok(json!({
        "registryId": ctx.account(),
        "repositoryName": name,
        "uploadId": id,
        "lastByteReceived": size.saturating_sub(1),
    }))
}

async fn complete_layer_upload(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let id = upload_id(ctx.body)?;
    let digests = crate::ecr::strings(ctx.body, "layerDigests");
    let [digest] = digests.as_slice() else {
        return Err(invalid_parameter("Invalid parameter: layerDigests must name the one layer uploaded"));
    };
    let digest = Digest::parse(digest)
        .ok_or_else(|| AwsError::new("InvalidLayerException", 400, format!("Invalid layer digest {digest}")))?;
    repository(ctx.app, ctx.scope(), name).await?;
    if layer_size(ctx.app, ctx.scope(), name, digest.as_str()).await?.is_some() {
        check_upload(ctx.app, ctx.scope(), name, id).await?;
        cancel_upload(ctx.app, id).await?;
        return Err(AwsError::new(
            "LayerAlreadyExistsException",
            400,
            format!(
                "The layer with digest '{digest}' already exists in the repository with name '{name}' in the registry with id '{}'",
                ctx.account()
            ),
        ));
    }
    complete_upload(ctx.app, ctx.scope(), name, id, &digest).await?;
    Ok(json!({
        "registryId": ctx.account(),
        "repositoryName": name,
        "uploadId": id,
        "layerDigest": digest.as_str(),
    }))
}
