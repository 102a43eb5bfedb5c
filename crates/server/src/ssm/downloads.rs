//! What the control plane serves without a signature, all of it public and none of it state:
//! `/health`, the CA certificate (`/cacerts`: the bytes the fingerprint is computed over, so
//! a joining node checks them against the fingerprint it was given before trusting them; 404
//! with plain HTTP), the agent's install script (`/install.sh`, with the configured public
//! address, the CA's fingerprint and the registry's address filled in, never the request's
//! `Host`, which any client sets as it likes) and the Homeport binary itself
//! (`/download/homeport`, the running executable, so an installed agent is the version of
//! its control plane).
//!
//! The binary is streamed from the file (never read whole into memory), at most
//! [`MAX_DOWNLOADS`] at once, each within [`DOWNLOAD_DEADLINE`]; past the cap a request is
//! answered `503 ServiceUnavailable` at once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_protocol::{AwsError, Protocol};
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::app::App;
use crate::ecr::registry;
use crate::ecr::registry::blobs::FileBody;
use crate::operations::IAM_NAMESPACE;
use aws_protocol::sigv4::HttpRequest;

use crate::pipeline::Reply;

/// The install script, with `@HOMEPORT_ENDPOINT@` where the endpoint goes,
/// `@HOMEPORT_CA_SHA256@` the CA's fingerprint (empty with plain HTTP) and
/// `@HOMEPORT_REGISTRY_HOST@` the registry's `HOST:PORT`.
const INSTALL_SCRIPT: &str = include_str!("../../../../packaging/install.sh");

/// Where the CA certificate is served.
pub const CA_PATH: &str = "/cacerts";

fn reply(status: u16, content_type: &'static str, request_id: &str, body: Vec<u8>) -> Reply {
    Reply::new(status, content_type, request_id, body)
}

/// The public files (`GET` and `HEAD`), answered before SigV4: the health check, the install
/// script and the CA certificate.
pub const PUBLIC_FILES: crate::pipeline::UnsignedRoute = |app, _audit, incoming, request_id| {
    let request = &incoming.request;
    let reply = if matches!(request.method, "GET" | "HEAD") { serve(request, request_id, app) } else { None };
    Box::pin(std::future::ready(reply))
};

/// The running executable, streamed to `GET` (and `HEAD`) [`BINARY_PATH`].
pub const BINARY: crate::http::Endpoint = crate::http::Endpoint {
    owns: |method, path| path == BINARY_PATH && (method == hyper::Method::GET || method == hyper::Method::HEAD),
    serve: |_app, _audit, _peer, request| {
        Box::pin(async move {
            let response = binary().await;
            if request.method() == hyper::Method::HEAD { crate::http::without_body(response) } else { response }
        })
    },
};

/// The answer to a public `GET`, or `None` for any other path.
pub fn serve(request: &HttpRequest<'_>, request_id: &str, app: &App) -> Option<Reply> {
    match request.path {
        "/health" => Some(reply(200, "application/json", request_id, b"{\"status\":\"ok\"}".to_vec())),
        "/install.sh" => {
            let fingerprint = app.tls.as_ref().map(|tls| tls.trust().fingerprint.clone()).unwrap_or_default();
            Some(reply(200, "text/x-shellscript", request_id, install_script(app, &fingerprint).into_bytes()))
        }
        CA_PATH => Some(match &app.tls {
            Some(tls) => reply(200, "application/x-pem-file", request_id, tls.trust().pem.clone()),
            None => crate::pipeline::error_reply(
                &AwsError::new("NotFound", 404, "This server serves plain HTTP (--insecure-http): it has no CA."),
                Protocol::Query,
                IAM_NAMESPACE,
                request_id,
            ),
        }),
        _ => None,
    }
}

/// The install script with this server's public URL, CA fingerprint and registry filled in.
fn install_script(app: &App, fingerprint: &str) -> String {
    INSTALL_SCRIPT
        .replace("@HOMEPORT_ENDPOINT@", &app.public_url)
        .replace("@HOMEPORT_CA_SHA256@", fingerprint)
        .replace("@HOMEPORT_REGISTRY_HOST@", &app.registry_host)
}

/// Where the binary is served.
pub const BINARY_PATH: &str = "/download/homeport";

/// How many downloads of the binary may run at once.
pub const MAX_DOWNLOADS: usize = 32;

/// How long one download may take (a 50 MB binary at 100 kB/s fits).
const DOWNLOAD_DEADLINE: Duration = Duration::from_secs(600);

static DOWNLOADS: Semaphore = Semaphore::const_new(MAX_DOWNLOADS);

/// `GET` (and `HEAD`) `/download/homeport`: the running executable, streamed.
pub async fn binary() -> Response<registry::Body> {
    let unavailable = |message: &str| {
        let request_id = crate::ids::request_id().unwrap_or_default();
        let error = AwsError::new("ServiceUnavailable", 503, message);
        crate::http::reply(crate::pipeline::error_reply(&error, Protocol::Query, IAM_NAMESPACE, &request_id))
    };
    let Ok(permit) = DOWNLOADS.try_acquire() else {
        return unavailable("Too many downloads of the Homeport binary are in progress; retry shortly.");
    };
    let opened = async {
        let file = tokio::fs::File::open(std::env::current_exe()?).await?;
        let length = file.metadata().await?.len();
        Ok::<_, io::Error>((file, length))
    };
    match opened.await {
        Ok((file, length)) => {
            let body = Download {
                file: FileBody::new(file, length),
                deadline: Instant::now() + DOWNLOAD_DEADLINE,
                _permit: permit,
            };
            let mut response = Response::new(body.boxed());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        Err(error) => {
            tracing::warn!("cannot read the running executable to serve it: {error}");
            unavailable("The binary is not available; install it by hand.")
        }
    }
}

/// The binary's body: the file's frames while the download holds its place, until its
/// deadline.
struct Download {
    file: FileBody,
    deadline: Instant,
    _permit: SemaphorePermit<'static>,
}

impl Body for Download {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if Instant::now() > self.deadline {
            return Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::TimedOut, "the download took too long"))));
        }
        Pin::new(&mut self.file).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.file.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.file.size_hint()
    }
}
