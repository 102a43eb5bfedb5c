//! Manifest endpoints: `HEAD`/`GET`/`PUT`/`DELETE /v2/NAME/manifests/REFERENCE` (a tag or a
//! `sha256:` digest) and `GET /v2/NAME/tags/list`. A manifest is kept and served as the exact
//! bytes pushed, with `Docker-Content-Digest` their SHA-256.

use http_body_util::{BodyExt, Limited};
use hyper::Response;
use serde_json::json;

use super::blobs::Digest;
use super::{Body, Exchange, RegistryError, full, respond, set};
use crate::app::App;
use crate::ecr::Repository;
use crate::ecr::images::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, MAX_MANIFEST, OCI_INDEX, OCI_MANIFEST, Push, delete_image, find_image,
    put_image, valid_tag,
};
use crate::regions::Scope;

fn manifest_unknown(reference: &str) -> RegistryError {
    RegistryError::new(404, "MANIFEST_UNKNOWN", format!("Requested image not found: {reference}"))
        .with_detail(json!({ "reference": reference }))
}

fn ecr(error: &aws_protocol::AwsError) -> RegistryError {
    RegistryError::from_ecr(error)
}

/// Any manifest request, by method.
pub async fn serve(
    exchange: Exchange<'_>,
    repository: &Repository,
    reference: &str,
) -> Result<Response<Body>, RegistryError> {
    let by_digest = Digest::parse(reference).is_some();
    if !by_digest && !valid_tag(reference) {
        return Err(RegistryError::new(400, "TAG_INVALID", format!("invalid tag {reference}")));
    }
    match exchange.method.as_str() {
        "PUT" => put(exchange, repository, reference, by_digest).await,
        "DELETE" => delete(exchange.app, exchange.scope(), repository, reference).await,
        _ => get(exchange, repository, reference).await,
    }
}

async fn get(
    exchange: Exchange<'_>,
    repository: &Repository,
    reference: &str,
) -> Result<Response<Body>, RegistryError> {
    let image = find_image(exchange.app, exchange.scope(), &repository.name, reference)
        .await
        .map_err(|e| ecr(&e))?
        .ok_or_else(|| manifest_unknown(reference))?;
    let len = image.manifest.len();
    let body = if exchange.method == hyper::Method::HEAD { super::empty() } else { full(image.manifest) };
    let mut response = respond(200, body);
    set(&mut response, "content-type", &image.media_type);
    set(&mut response, "content-length", len.to_string());
    set(&mut response, "docker-content-digest", &image.digest);
    set(&mut response, "etag", format!("\"{}\"", image.digest));
    Ok(response)
}

async fn put(
    exchange: Exchange<'_>,
    repository: &Repository,
    reference: &str,
    by_digest: bool,
) -> Result<Response<Body>, RegistryError> {
    let media_type = exchange
        .header("content-type")
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_owned())
        .filter(|value| [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX].contains(&value.as_str()));
    let scope = Scope { account: &exchange.app.account_id, region: &exchange.region };
    let bytes = Limited::new(exchange.body, MAX_MANIFEST)
        .collect()
        .await
        .map_err(|_| RegistryError::new(400, "MANIFEST_INVALID", "the manifest is larger than 4 MiB or incomplete"))?
        .to_bytes();
    let push = Push {
        manifest: &bytes,
        media_type: media_type.as_deref(),
        tag: (!by_digest).then_some(reference),
        digest: by_digest.then_some(reference),
    };
    let pushed = put_image(exchange.app, scope, repository, push).await.map_err(|e| ecr(&e))?;
    let mut response = respond(201, super::empty());
    set(&mut response, "location", format!("/v2/{}/manifests/{}", repository.name, pushed.digest));
    set(&mut response, "docker-content-digest", &pushed.digest);
    set(&mut response, "content-length", "0");
    Ok(response)
}

async fn delete(
    app: &App,
    scope: Scope<'_>,
    repository: &Repository,
    reference: &str,
) -> Result<Response<Body>, RegistryError> {
    let image = find_image(app, scope, &repository.name, reference)
        .await
        .map_err(|e| ecr(&e))?
        .ok_or_else(|| manifest_unknown(reference))?;
    let tag = Digest::parse(reference).is_none().then_some(reference);
    delete_image(app, scope, &repository.name, &image, tag).await.map_err(|e| ecr(&e))?;
    let mut response = respond(202, super::empty());
    set(&mut response, "content-length", "0");
    Ok(response)
}

/// `GET /v2/NAME/tags/list`.
pub async fn tags(app: &App, scope: Scope<'_>, repository: &Repository) -> Result<Response<Body>, RegistryError> {
    let tags = crate::ecr::images::tags(app, scope, &repository.name).await.map_err(|e| ecr(&e))?;
    let mut response = respond(200, full(json!({ "name": repository.name, "tags": tags }).to_string()));
    set(&mut response, "content-type", "application/json; charset=utf-8");
    Ok(response)
}
