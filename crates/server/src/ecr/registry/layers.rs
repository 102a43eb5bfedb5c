//! Blob endpoints: `HEAD`/`GET /v2/NAME/blobs/DIGEST` and the upload session
//! (`POST /v2/NAME/blobs/uploads/`, then `PATCH`, `PUT ?digest=`, `GET`, `DELETE` on
//! `/v2/NAME/blobs/uploads/ID`), monolithic or chunked. Request bodies are appended to the
//! upload file frame by frame (sealed as they arrive: `blobs`); blobs are answered from
//! their file in chunks, each opened as it goes, once the whole blob opened.

use http_body_util::BodyExt;
use hyper::Response;

use super::blobs::Digest;
use super::{Body, Exchange, RegistryError, empty, query_value, respond, set};
use crate::app::App;
use crate::ecr::Repository;
use crate::ecr::layers::{cancel_upload, check_upload, complete_upload, layer_size, start_upload, upload_error};
use crate::regions::Scope;

fn blob_unknown(digest: &str) -> RegistryError {
    RegistryError::new(404, "BLOB_UNKNOWN", "blob unknown to registry")
        .with_detail(serde_json::json!({ "digest": digest }))
}

fn digest_invalid(digest: &str) -> RegistryError {
    RegistryError::new(400, "DIGEST_INVALID", format!("invalid digest {digest}"))
}

fn ecr(error: &aws_protocol::AwsError) -> RegistryError {
    RegistryError::from_ecr(error)
}

/// `HEAD` (does the repository have it?) or `GET` (its bytes) of a blob.
pub async fn blob(
    exchange: Exchange<'_>,
    repository: &Repository,
    digest: &str,
) -> Result<Response<Body>, RegistryError> {
    let app = exchange.app;
    let scope = Scope { account: &app.account_id, region: &exchange.region };
    let parsed = Digest::parse(digest).ok_or_else(|| digest_invalid(digest))?;
    if layer_size(app, scope, &repository.name, digest).await.map_err(|e| ecr(&e))?.is_none() {
        return Err(blob_unknown(digest));
    }
    let blobs = crate::ecr::registry::blobs::blobs(app).map_err(|error| RegistryError::from_ecr(&error))?;
    // A HEAD reads the length words only; a GET opens every chunk before the first byte is
    // answered, so a blob altered on disk is refused, never served.
    let length = if exchange.method == hyper::Method::HEAD {
        blobs.blob_len(&parsed).await
    } else {
        blobs.open_verified(&parsed).await
    };
    let Some(len) = length.map_err(|error| {
        tracing::error!("registry: blob {digest}: {error}");
        internal(&error)
    })?
    else {
        return Err(blob_unknown(digest));
    };
    // A resumed download asks for the rest: `Range: bytes=START-` or `bytes=START-END`.
    let range = match exchange.header("range") {
        Some(text) => Some(byte_range(text, len).ok_or_else(|| {
            RegistryError::new(416, "BLOB_UNKNOWN", format!("the range {text} is not within the blob's {len} bytes"))
        })?),
        None => None,
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    let count = if len == 0 { 0 } else { end - start + 1 };
    let body = if exchange.method == hyper::Method::HEAD {
        empty()
    } else {
        BodyExt::boxed(blobs.body(&parsed, start, count))
    };
    let mut response = respond(if range.is_some() { 206 } else { 200 }, body);
    if range.is_some() {
        set(&mut response, "content-range", format!("bytes {start}-{end}/{len}"));
    }
    set(&mut response, "content-type", "application/octet-stream");
    set(&mut response, "content-length", count.to_string());
    set(&mut response, "docker-content-digest", digest);
    set(&mut response, "etag", format!("\"{digest}\""));
    Ok(response)
}

/// `bytes=START-` or `bytes=START-END` within `len` bytes: the first and last byte.
fn byte_range(text: &str, len: u64) -> Option<(u64, u64)> {
    let (start, end) = text.strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let last = len.checked_sub(1)?;
    let end = match end.trim() {
        "" => last,
        end => end.parse::<u64>().ok()?.min(last),
    };
    (start <= end).then_some((start, end))
}

fn internal(error: &dyn std::fmt::Display) -> RegistryError {
    ecr(&crate::operations::internal(error))
}

/// `202` with where the upload stands.
fn accepted(repository: &str, id: &str, size: u64) -> Response<Body> {
    let mut response = respond(202, empty());
    set(&mut response, "location", format!("/v2/{repository}/blobs/uploads/{id}"));
    set(&mut response, "range", format!("0-{}", size.saturating_sub(1)));
    set(&mut response, "docker-upload-uuid", id);
    set(&mut response, "content-length", "0");
    response
}

/// `201`: the blob is in the repository.
fn created(repository: &str, digest: &Digest) -> Response<Body> {
    let mut response = respond(201, empty());
    set(&mut response, "location", format!("/v2/{repository}/blobs/{digest}"));
    set(&mut response, "docker-content-digest", digest.as_str());
    set(&mut response, "content-length", "0");
    response
}

/// `POST .../blobs/uploads/`: starts an upload (a mount request also starts one: blobs are
/// not shared across repositories here), or takes a whole blob with `?digest=`.
pub async fn start(exchange: Exchange<'_>, repository: &Repository) -> Result<Response<Body>, RegistryError> {
    let app = exchange.app;
    let scope = Scope { account: &app.account_id, region: &exchange.region };
    let name = repository.name.as_str();
    let id = start_upload(app, scope, name).await.map_err(|e| ecr(&e))?;
    let Some(digest) = query_value(&exchange.query, "digest").map(|digest| digest.into_owned()) else {
        return Ok(accepted(name, &id, 0));
    };
    let digest = Digest::parse(&digest).ok_or_else(|| digest_invalid(&digest))?;
    append(app, name, &id, None, exchange.body).await?;
    complete_upload(app, scope, name, &id, &digest).await.map_err(|e| ecr(&e))?;
    Ok(created(name, &digest))
}

/// Appends a request body to an upload, frame by frame; returns the upload's size.
async fn append(
    app: &App,
    repository: &str,
    id: &str,
    offset: Option<u64>,
    mut body: hyper::body::Incoming,
) -> Result<u64, RegistryError> {
    let mut writer = crate::ecr::registry::blobs::blobs(app)
        .map_err(|error| RegistryError::from_ecr(&error))?
        .writer(id, offset)
        .await
        .map_err(|error| {
            if let super::blobs::UploadError::OutOfOrder { size } = error {
                return RegistryError::new(416, "BLOB_UPLOAD_INVALID", format!("the upload is at byte {size}"));
            }
            ecr(&upload_error(app, repository, id, error))
        })?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| RegistryError::new(400, "BLOB_UPLOAD_INVALID", error.to_string()))?;
        if let Ok(data) = frame.into_data() {
            writer.write(&data).await.map_err(|error| internal(&error))?;
        }
    }
    writer.finish().await.map_err(|error| internal(&error))
}

/// `Content-Range: START-END` of a chunk: where it must start.
fn chunk_start(exchange: &Exchange<'_>) -> Result<Option<u64>, RegistryError> {
    let Some(range) = exchange.header("content-range") else { return Ok(None) };
    let start = range.trim_start_matches("bytes ").split('-').next().and_then(|start| start.trim().parse().ok());
    start.map(Some).ok_or_else(|| RegistryError::new(416, "BLOB_UPLOAD_INVALID", format!("invalid range {range}")))
}

/// `PATCH` (a chunk), `PUT ?digest=` (the last chunk, if any, and completion), `GET` (where
/// it stands) or `DELETE` (cancel) of an upload.
pub async fn upload(
    exchange: Exchange<'_>,
    repository: &Repository,
    id: &str,
) -> Result<Response<Body>, RegistryError> {
    let app = exchange.app;
    let scope = Scope { account: &app.account_id, region: &exchange.region };
    let name = repository.name.as_str();
    if !super::blobs::valid_upload_id(id) {
        return Err(RegistryError::new(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"));
    }
    let unknown =
        |error: aws_protocol::AwsError| RegistryError::from_ecr(&error).with_detail(serde_json::json!({ "uuid": id }));
    check_upload(app, scope, name, id).await.map_err(unknown)?;
    match exchange.method.as_str() {
        "PATCH" => {
            let offset = chunk_start(&exchange)?;
            let size = append(app, name, id, offset, exchange.body).await?;
            Ok(accepted(name, id, size))
        }
        "PUT" => {
            let digest = query_value(&exchange.query, "digest").map(|digest| digest.into_owned()).unwrap_or_default();
            let digest = Digest::parse(&digest).ok_or_else(|| digest_invalid(&digest))?;
            append(app, name, id, None, exchange.body).await?;
            complete_upload(app, scope, name, id, &digest).await.map_err(|e| ecr(&e))?;
            Ok(created(name, &digest))
        }
        "DELETE" => {
            cancel_upload(app, id).await.map_err(|e| ecr(&e))?;
            let mut response = respond(204, empty());
            set(&mut response, "content-length", "0");
            Ok(response)
        }
        _ => {
            let size = crate::ecr::registry::blobs::blobs(app)
                .map_err(|error| RegistryError::from_ecr(&error))?
                .upload_size(id)
                .await
                .map_err(|error| internal(&error))?
                .unwrap_or(0);
            let mut response = accepted(name, id, size);
            *response.status_mut() = hyper::StatusCode::NO_CONTENT;
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_stay_within_the_blob() {
        assert_eq!(byte_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(byte_range("bytes=4-", 10), Some((4, 9)));
        assert_eq!(byte_range("bytes=4-6", 10), Some((4, 6)));
        assert_eq!(byte_range("bytes=4-60", 10), Some((4, 9)));
        for bad in ["bytes=10-", "bytes=6-4", "bytes=-4", "items=0-1", "bytes=a-"] {
            assert_eq!(byte_range(bad, 10), None, "{bad}");
        }
        assert_eq!(byte_range("bytes=0-", 0), None);
    }
}
