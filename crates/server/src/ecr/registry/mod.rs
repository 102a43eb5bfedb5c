//! The OCI distribution API (`/v2/...`) that `docker login`, `docker push` and `docker pull`
//! speak, served beside the AWS APIs on the same listener.
//!
//! The listener hands every `/v2` request here before it would collect a body, so layer
//! bodies stream both ways. Each request:
//! 1. is authenticated with the password of an ECR authorization token (`auth`): the
//!    principal that asked GetAuthorizationToken, resolved again from its access key;
//! 2. is authorized as the ECR action AWS maps it to ([`Route::actions`]) on the
//!    repository's ARN, with the repository policy, by the code the API uses
//!    (`crate::ecr::authorize_on_repository`);
//! 3. runs against the same image and layer model as the ECR API (`ecr::images`,
//!    `ecr::layers`);
//! 4. is audited as that action (event source `ecr.amazonaws.com`), before its answer.
//!
//! Errors use the distribution format `{"errors":[{"code","message","detail"}]}`.

mod auth;
pub mod blobs;
mod layers;
mod manifests;

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use crate::app::App;
use crate::audit::AuditLog;
use crate::ecr::valid_repository_name;
use crate::regions::Scope;

pub use crate::http::{ResponseBody as Body, empty, full};

/// Whether a request path belongs to the registry.
pub fn owns(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

/// What a `/v2` path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the version check (and Docker's login probe).
    Base,
    /// `/v2/NAME/tags/list`.
    Tags { name: String },
    /// `/v2/NAME/manifests/REFERENCE`.
    Manifest { name: String, reference: String },
    /// `/v2/NAME/blobs/DIGEST`.
    Blob { name: String, digest: String },
    /// `/v2/NAME/blobs/uploads/`.
    StartUpload { name: String },
    /// `/v2/NAME/blobs/uploads/ID`.
    Upload { name: String, id: String },
}

impl Route {
    /// Parses a path; `None` when it is no distribution endpoint.
    pub fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/v2")?;
        if rest.is_empty() || rest == "/" {
            return Some(Route::Base);
        }
        let rest = rest.strip_prefix('/')?;
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Some(Route::Tags { name: name.to_owned() });
        }
        if let Some(name) = rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads")) {
            return Some(Route::StartUpload { name: name.to_owned() });
        }
        if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
            return Some(Route::Upload { name: name.to_owned(), id: id.to_owned() });
        }
        if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
            return Some(Route::Blob { name: name.to_owned(), digest: digest.to_owned() });
        }
        if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
            return Some(Route::Manifest { name: name.to_owned(), reference: reference.to_owned() });
        }
        None
    }

    /// The repository it names (none for the base).
    pub fn repository(&self) -> Option<&str> {
        match self {
            Route::Base => None,
            Route::Tags { name }
            | Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::StartUpload { name }
            | Route::Upload { name, .. } => Some(name),
        }
    }

    /// The ECR actions AWS authorizes this request as (all must be allowed; the first names
    /// the audit event). `None` for a method the endpoint does not serve.
    pub fn actions(&self, method: &Method, query: &str) -> Option<&'static [&'static str]> {
        let monolithic = query_value(query, "digest").is_some();
        Some(match (self, method.as_str()) {
            (Route::Tags { .. }, "GET") => &["ecr:ListImages"],
            (Route::Manifest { .. }, "GET" | "HEAD") => &["ecr:BatchGetImage"],
            (Route::Manifest { .. }, "PUT") => &["ecr:PutImage"],
            (Route::Manifest { .. }, "DELETE") => &["ecr:BatchDeleteImage"],
            (Route::Blob { .. }, "GET") => &["ecr:GetDownloadUrlForLayer"],
            (Route::Blob { .. }, "HEAD") => &["ecr:BatchCheckLayerAvailability"],
            (Route::StartUpload { .. }, "POST") if monolithic => {
                &["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]
            }
            (Route::StartUpload { .. }, "POST") => &["ecr:InitiateLayerUpload"],
            (Route::Upload { .. }, "PATCH" | "GET" | "DELETE") => &["ecr:UploadLayerPart"],
            (Route::Upload { .. }, "PUT") => &["ecr:CompleteLayerUpload", "ecr:UploadLayerPart"],
            _ => return None,
        })
    }
}

/// A query parameter's value (undecoded but for `%3A`, the colon of a digest).
pub fn query_value<'a>(query: &'a str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| {
            if value.contains('%') {
                std::borrow::Cow::Owned(value.replace("%3A", ":").replace("%3a", ":"))
            } else {
                std::borrow::Cow::Borrowed(value)
            }
        })
    })
}

/// A distribution error: HTTP status, code, message and detail.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub detail: serde_json::Value,
}

impl RegistryError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> RegistryError {
        RegistryError { status, code, message: message.into(), detail: serde_json::Value::Null }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> RegistryError {
        self.detail = detail;
        self
    }

    /// The registry's word for an ECR API error of the shared model.
    pub fn from_ecr(error: &aws_protocol::AwsError) -> RegistryError {
        let (status, code) = match error.code.as_str() {
            "RepositoryNotFoundException" => (404, "NAME_UNKNOWN"),
            "ImageTagAlreadyExistsException" => (400, "TAG_INVALID"),
            "LayersNotFoundException" | "ReferencedImagesNotFoundException" => (400, "MANIFEST_BLOB_UNKNOWN"),
            "ImageDigestDoesNotMatchException" | "InvalidLayerException" => (400, "DIGEST_INVALID"),
            "InvalidParameterException" => (400, "MANIFEST_INVALID"),
            "UploadNotFoundException" => (404, "BLOB_UPLOAD_UNKNOWN"),
            "InvalidLayerPartException" | "EmptyUploadException" => (400, "BLOB_UPLOAD_INVALID"),
            "AccessDenied" | "AccessDeniedException" => (403, "DENIED"),
            _ => (error.status.max(500), "UNKNOWN"),
        };
        RegistryError::new(status, code, error.message.clone())
    }

    fn into_response(self) -> Response<Body> {
        let body = json!({ "errors": [{ "code": self.code, "message": self.message, "detail": self.detail }] });
        let mut response = respond(self.status, full(body.to_string()));
        set(&mut response, "content-type", "application/json; charset=utf-8");
        response
    }
}

/// A response with the registry's version header.
pub fn respond(status: u16, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    set(&mut response, "docker-distribution-api-version", "registry/2.0");
    response
}

/// Sets a header (values that are not valid header text are dropped).
pub fn set(response: &mut Response<Body>, name: &'static str, value: impl AsRef<str>) {
    if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

/// What a handler needs of one request.
pub struct Exchange<'a> {
    pub app: &'a App,
    /// The region the caller's authorization token was issued in: the registry's.
    pub region: String,
    pub method: Method,
    pub query: String,
    pub headers: hyper::HeaderMap,
    pub body: Incoming,
}

impl Exchange<'_> {
    /// The registry's state: the app's account in the token's region.
    pub fn scope(&self) -> Scope<'_> {
        Scope { account: &self.app.account_id, region: &self.region }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The registry's `/v2` endpoint, streamed.
pub const ENDPOINT: crate::http::Endpoint = crate::http::Endpoint {
    owns: |_method, path| owns(path),
    serve: |app, audit, peer, request| Box::pin(serve(app, audit, peer, request)),
};

/// Serves one `/v2` request.
pub async fn serve(app: &App, audit: &AuditLog, peer: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Some(route) = Route::parse(parts.uri.path()) else {
        return RegistryError::new(404, "NOT_FOUND", "404 page not found").into_response();
    };
    let (caller, region) = match auth::authenticate(app, &parts.headers).await {
        Ok(authenticated) => authenticated,
        Err(error) => return auth::challenge(app, error),
    };
    let Some(name) = route.repository().map(str::to_owned) else {
        let mut response = respond(200, full("{}"));
        set(&mut response, "content-type", "application/json; charset=utf-8");
        return response;
    };
    if !valid_repository_name(&name) {
        return RegistryError::new(400, "NAME_INVALID", format!("invalid repository name {name}")).into_response();
    }
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let Some(actions) = route.actions(&parts.method, &query) else {
        return RegistryError::new(405, "UNSUPPORTED", "The operation is unsupported.").into_response();
    };
    let facts = crate::authz::RequestFacts { source_ip: peer.ip().to_string(), region: region.clone() };
    let exchange = Exchange { app, region, method: parts.method, query, headers: parts.headers, body };
    let user_agent = exchange.header("user-agent").unwrap_or_default().to_owned();
    let (outcome, verdict) = match auth::authorize(app, &caller, &facts, actions, &name).await {
        Ok(verdict) => (handle(exchange, route).await, verdict),
        Err((verdict, error)) => (Err(error), verdict),
    };
    let event = auth::Event { caller: &caller, facts: &facts, user_agent, actions, name: &name };
    if let Err(error) = auth::record(app, audit, event, verdict, outcome.as_ref().err()).await {
        return error.into_response();
    }
    outcome.unwrap_or_else(RegistryError::into_response)
}

async fn handle(exchange: Exchange<'_>, route: Route) -> Result<Response<Body>, RegistryError> {
    let app = exchange.app;
    let name = route.repository().unwrap_or_default().to_owned();
    let repository = crate::ecr::find_repository(app, exchange.scope(), &name)
        .await
        .map_err(|error| RegistryError::from_ecr(&error))?
        .ok_or_else(|| RegistryError::from_ecr(&crate::ecr::repository_not_found(app, &name)))?;
    match route {
        Route::Base => Ok(respond(200, full("{}"))),
        Route::Tags { .. } => manifests::tags(app, exchange.scope(), &repository).await,
        Route::Manifest { reference, .. } => manifests::serve(exchange, &repository, &reference).await,
        Route::Blob { digest, .. } => layers::blob(exchange, &repository, &digest).await,
        Route::StartUpload { .. } => layers::start(exchange, &repository).await,
        Route::Upload { id, .. } => layers::upload(exchange, &repository, &id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_their_endpoints() {
        let name = || "team/app".to_owned();
        assert_eq!(Route::parse("/v2/"), Some(Route::Base));
        assert_eq!(Route::parse("/v2"), Some(Route::Base));
        assert_eq!(Route::parse("/v2/team/app/tags/list"), Some(Route::Tags { name: name() }));
        assert_eq!(
            Route::parse("/v2/team/app/manifests/latest"),
            Some(Route::Manifest { name: name(), reference: "latest".to_owned() })
        );
        assert_eq!(
            Route::parse("/v2/team/app/blobs/sha256:ab"),
            Some(Route::Blob { name: name(), digest: "sha256:ab".to_owned() })
        );
        assert_eq!(Route::parse("/v2/team/app/blobs/uploads/"), Some(Route::StartUpload { name: name() }));
        assert_eq!(
            Route::parse("/v2/team/app/blobs/uploads/0f0e"),
            Some(Route::Upload { name: name(), id: "0f0e".to_owned() })
        );
        assert_eq!(Route::parse("/v2/team/app/other"), None);
        assert_eq!(Route::parse("/v3/"), None);
        assert!(owns("/v2/") && owns("/v2") && !owns("/v20") && !owns("/"));
    }

    #[test]
    fn requests_map_to_the_ecr_actions_aws_uses() {
        let blob = Route::Blob { name: "a".into(), digest: "d".into() };
        assert_eq!(blob.actions(&Method::GET, ""), Some(&["ecr:GetDownloadUrlForLayer"][..]));
        assert_eq!(blob.actions(&Method::HEAD, ""), Some(&["ecr:BatchCheckLayerAvailability"][..]));
        assert_eq!(blob.actions(&Method::DELETE, ""), None);
        let manifest = Route::Manifest { name: "a".into(), reference: "t".into() };
        assert_eq!(manifest.actions(&Method::GET, ""), Some(&["ecr:BatchGetImage"][..]));
        assert_eq!(manifest.actions(&Method::PUT, ""), Some(&["ecr:PutImage"][..]));
        let start = Route::StartUpload { name: "a".into() };
        assert_eq!(start.actions(&Method::POST, "").map(<[_]>::len), Some(1));
        assert_eq!(start.actions(&Method::POST, "digest=sha256%3Aab").map(<[_]>::len), Some(3));
        assert_eq!(query_value("mount=x&digest=sha256%3Aab", "digest").as_deref(), Some("sha256:ab"));
    }
}
