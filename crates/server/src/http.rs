//! The listener: HTTP/1.1 with keep-alive, one task per connection, graceful shutdown that
//! lets in-flight requests finish. `/v2` requests (the container registry) go to
//! `registry`, which streams their bodies; every other body is collected (at most
//! [`MAX_BODY`]) and handed to the pipeline.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_protocol::sigv4::HttpRequest;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::App;
use crate::audit::AuditLog;
use crate::pipeline::{Incoming, Reply, handle};
use crate::registry;

/// The largest request body the pipeline accepts (registry uploads stream instead).
const MAX_BODY: usize = 10 * 1024 * 1024;

/// How long shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves until `shutdown` completes, then drains in-flight requests.
pub async fn serve(app: Arc<App>, audit: AuditLog, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (app, audit) = (Arc::clone(&app), audit.clone());
                let service = service_fn(move |request| {
                    let (app, audit) = (Arc::clone(&app), audit.clone());
                    async move { Ok::<_, Infallible>(respond(&app, &audit, peer, request).await) }
                });
                let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

async fn respond(app: &App, audit: &AuditLog, peer: SocketAddr, request: Request<Body>) -> Response<registry::Body> {
    if registry::owns(request.uri().path()) {
        return registry::serve(app, audit, peer, request).await;
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return reply(Reply {
                status: 413,
                content_type: "text/plain",
                request_id: String::new(),
                body: format!("request bodies are limited to {MAX_BODY} bytes\n").into_bytes(),
            });
        }
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|value| (name.as_str(), value)))
        .collect();
    let incoming = Incoming {
        request: HttpRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body: &body,
        },
        source_ip: peer.ip().to_string(),
    };
    reply(handle(app, audit, incoming).await)
}

fn reply(reply: Reply) -> Response<registry::Body> {
    let mut response = Response::new(registry::full(Bytes::from(reply.body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(reply.content_type));
    if let Ok(value) = hyper::header::HeaderValue::from_str(&reply.request_id) {
        headers.insert("x-amzn-RequestId", value);
    }
    response
}
