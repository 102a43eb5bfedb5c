//! The listener: HTTPS (HTTP/2 or HTTP/1.1 as ALPN chooses; plain HTTP/1.1 only with
//! `--insecure-http`) with keep-alive, one task per connection, graceful shutdown that lets
//! in-flight requests finish. Requests an [`Endpoint`] owns (the container registry's `/v2`,
//! the agent's binary) go to it, which streams their bodies; every other body is collected
//! (within [`body_limit`]) and handed to the pipeline. The root hands in what is routed
//! ([`Routes`]): this module names no service.
//!
//! Bounds, since all of this happens before authentication:
//! - at most [`MAX_CONNECTIONS`] connections (fewer if the file-descriptor limit is lower);
//!   past it the listener waits for one to close rather than accept, and when accepting fails
//!   for want of descriptors or memory it backs off instead of spinning;
//! - a request's head must arrive whole within [`HEAD_TIMEOUT`] of the connection waiting for
//!   it, which also closes keep-alive connections idle that long (hyper measures both from the
//!   moment the connection waits for a request);
//! - a body must arrive within [`BODY_TIMEOUT`], and may be at most [`body_limit`]: 1 MiB, or
//!   more for the few operations AWS lets take more (PutLogEvents, ECR's UploadLayerPart and
//!   PutImage), decided from the headers before any of it is read; bodies being collected hold
//!   at most [`BODY_BUDGET_BYTES`] between them (beyond 64 KiB each);
//! - a write the client does not take within [`WRITE_STALL`] closes the connection;
//! - the TLS handshake must complete within [`HEAD_TIMEOUT`] (failures are not logged);
//! - HTTP/2 (no head deadline of its own): at most [`H2_MAX_STREAMS`] requests at once, headers
//!   of at most [`H2_MAX_HEADER_LIST`] bytes, a ping every [`HEAD_TIMEOUT`] that must be
//!   answered within it, and a connection with no request for [`HEAD_TIMEOUT`] is closed
//!   gracefully, as an idle HTTP/1.1 one is.
//!
//! Every refusal is an AWS error in the request's protocol (awsJson when it names an
//! `X-Amz-Target`, else awsQuery).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_protocol::sigv4::HttpRequest;
use aws_protocol::{AwsError, Protocol};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Bytes, Incoming as Body};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;

use crate::app::App;
use crate::audit::AuditLog;
use crate::ids;
use crate::operations::{IAM_NAMESPACE, STS_NAMESPACE};
use crate::pipeline::{Api, Incoming, Reply, error_reply, handle};

/// A response body: bytes in memory or a file streamed.
pub type ResponseBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// A body of bytes in memory.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    http_body_util::Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// No body.
pub fn empty() -> ResponseBody {
    http_body_util::Empty::new().map_err(|never| match never {}).boxed()
}

/// What the listener routes, handed in by the root (`services::ROUTES`).
pub struct Routes {
    /// The signed AWS APIs, through the pipeline.
    pub api: Api,
    /// The endpoints services own beside them, asked first, in order.
    pub endpoints: &'static [Endpoint],
}

/// An HTTP endpoint a service owns beside the signed APIs (the registry's `/v2`, the agent's
/// binary). It gets the request unread and streams the body itself, within its own bounds.
pub struct Endpoint {
    /// Whether a request with this method and path is the endpoint's (asked before any of the
    /// body is read).
    pub owns: fn(&hyper::Method, &str) -> bool,
    pub serve: for<'a> fn(&'a App, &'a AuditLog, SocketAddr, Request<Body>) -> EndpointFuture<'a>,
}

pub type EndpointFuture<'a> = Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send + 'a>>;

/// The body limit of every operation but those in [`body_limit`]: no other operation served
/// here takes a document near it (IAM's largest, a policy, is 131,072 characters).
pub const SMALL_BODY: usize = 1024 * 1024;

/// PutLogEvents: 1,048,576 bytes of messages (plus 26 per event) as CloudWatch Logs counts
/// them, which JSON escaping and each event's members can make a few times larger.
const LOG_EVENTS_BODY: usize = 4 * 1024 * 1024;

/// ECR's UploadLayerPart (a part of up to 10 MiB, ECR's quota, base64 in JSON: 13.4 MiB) and
/// PutImage (a manifest of up to 4 MiB, escaped in JSON).
const ECR_BODY: usize = 14 * 1024 * 1024;

/// How many bytes bodies being collected may hold between them; a request waits (within its
/// body deadline) for room.
const BODY_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// At most this many connections at once (see [`connection_cap`]).
pub const MAX_CONNECTIONS: usize = 4096;

/// How long a connection may wait for a request's head to arrive whole, idle time included.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a request's body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a write may wait for the client to take bytes.
const WRITE_STALL: Duration = Duration::from_secs(30);

/// How long the listener waits before accepting again when it ran out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);

/// The largest body the operation a request names may send, from its headers alone.
pub fn body_limit(target: Option<&str>) -> usize {
    match target {
        Some("Logs_20140328.PutLogEvents") => LOG_EVENTS_BODY,
        Some(
            "AmazonEC2ContainerRegistry_V20150921.UploadLayerPart" | "AmazonEC2ContainerRegistry_V20150921.PutImage",
        ) => ECR_BODY,
        _ => SMALL_BODY,
    }
}

/// The connection cap: [`MAX_CONNECTIONS`], or less when the process may open fewer files
/// (leaving room for the store, the journal and the registry's files).
fn connection_cap() -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits").ok().and_then(|limits| {
        let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse::<usize>().ok()
    });
    soft_limit.map_or(MAX_CONNECTIONS, |limit| limit.saturating_sub(256).clamp(64, MAX_CONNECTIONS))
}

/// Whether accepting failed for want of a resource that only time frees.
fn out_of_resources(error: &io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM on Linux.
    matches!(error.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// Serves until `shutdown` completes, then drains in-flight requests. With `tls`, every
/// connection is TLS (HTTP/2 when ALPN chose it, else HTTP/1.1); without, plain HTTP/1.1.
pub async fn serve(
    app: Arc<App>,
    routes: &'static Routes,
    audit: AuditLog,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let cap = connection_cap();
    let connections = Arc::new(Semaphore::new(cap));
    let bodies = Arc::new(Semaphore::new(BODY_BUDGET_BYTES / 1024));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if out_of_resources(&error) {
                    tracing::warn!("cannot accept a connection ({error}); retrying shortly");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Shared { app: Arc::clone(&app), routes, audit: audit.clone(), bodies: Arc::clone(&bodies), peer };
        let stopping = stopping.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let stream = WriteDeadline::new(stream);
            match acceptor {
                None => serve_plain(stream, shared, stopping).await,
                Some(acceptor) => serve_tls(&acceptor, stream, shared, stopping).await,
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it closes: all of them back means all drained.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, connections.acquire_many(all)).await;
}

/// What every request of a connection needs.
#[derive(Clone)]
struct Shared {
    app: Arc<App>,
    routes: &'static Routes,
    audit: AuditLog,
    bodies: Arc<Semaphore>,
    peer: SocketAddr,
}

/// The service answering a connection's requests; `activity` (HTTP/2) counts them.
fn service(
    shared: Shared,
    activity: Option<Arc<Activity>>,
) -> impl hyper::service::Service<
    Request<Body>,
    Response = Response<ResponseBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<ResponseBody>, Infallible>> + Send,
> + Clone {
    service_fn(move |request| {
        let shared = shared.clone();
        let busy = activity.as_ref().map(|activity| activity.begin());
        async move {
            let response =
                respond(&shared.app, shared.routes, &shared.audit, &shared.bodies, shared.peer, request).await;
            drop(busy);
            Ok::<_, Infallible>(response)
        }
    })
}

/// Plain HTTP/1.1 (`--insecure-http`).
async fn serve_plain(stream: WriteDeadline, shared: Shared, stopping: tokio::sync::watch::Receiver<bool>) {
    let connection = http1::Builder::new()
        .timer(HeadTimer::default())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service(shared, None));
    drive(connection, stopping, None).await;
}

/// TLS: the handshake within [`HEAD_TIMEOUT`] (a failed or slow one closes the connection,
/// unlogged: scanners and clients that distrust the certificate would fill the log), then
/// HTTP/2 when ALPN chose it, else HTTP/1.1.
async fn serve_tls(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: WriteDeadline,
    shared: Shared,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(_)) | Err(_) => return,
        },
        _ = stopping.wait_for(|stop| *stop) => return,
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    if h2 {
        let activity = Arc::new(Activity::default());
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .max_concurrent_streams(H2_MAX_STREAMS)
            .max_header_list_size(H2_MAX_HEADER_LIST)
            .keep_alive_interval(HEAD_TIMEOUT)
            .keep_alive_timeout(HEAD_TIMEOUT);
        let builder = builder.http2_only();
        let connection = builder.serve_connection(TokioIo::new(stream), service(shared, Some(Arc::clone(&activity))));
        drive(connection, stopping, Some(activity)).await;
    } else {
        builder.http1().timer(HeadTimer::default()).header_read_timeout(HEAD_TIMEOUT);
        let builder = builder.http1_only();
        let connection = builder.serve_connection(TokioIo::new(stream), service(shared, None));
        drive(connection, stopping, None).await;
    }
}

/// HTTP/2: at most this many requests at once on a connection.
const H2_MAX_STREAMS: u32 = 128;

/// HTTP/2: a request's headers at most this large (decoded), like HTTP/1.1's head.
const H2_MAX_HEADER_LIST: u32 = 64 * 1024;

/// Runs a connection until it ends: on shutdown it is asked to finish its requests and close;
/// with `activity` (HTTP/2, which has no head deadline) it is closed the same way once no
/// request has run for [`HEAD_TIMEOUT`], as an idle HTTP/1.1 connection is.
async fn drive<C>(connection: C, mut stopping: tokio::sync::watch::Receiver<bool>, activity: Option<Arc<Activity>>)
where
    C: hyper_util::server::graceful::GracefulConnection,
{
    let mut connection = std::pin::pin!(connection);
    let idle = tokio::time::sleep(HEAD_TIMEOUT);
    let mut idle = std::pin::pin!(idle);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = stopping.wait_for(|stop| *stop), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = idle.as_mut(), if !closing && activity.is_some() => {
                match activity.as_ref().and_then(|activity| activity.idle_since()) {
                    Some(since) if since.elapsed() >= HEAD_TIMEOUT => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    Some(since) => idle.as_mut().reset(tokio::time::Instant::from_std(since) + HEAD_TIMEOUT),
                    None => idle.as_mut().reset(tokio::time::Instant::now() + HEAD_TIMEOUT),
                }
            }
        }
    }
}

/// An HTTP/2 connection's requests in progress and when the last one ended.
#[derive(Debug)]
struct Activity {
    state: Mutex<(usize, std::time::Instant)>,
}

impl Default for Activity {
    fn default() -> Activity {
        Activity { state: Mutex::new((0, std::time::Instant::now())) }
    }
}

impl Activity {
    /// A request starts; it ends when the guard drops (answered, or reset by the client).
    fn begin(self: &Arc<Activity>) -> Busy {
        if let Ok(mut state) = self.state.lock() {
            state.0 += 1;
        }
        Busy(Arc::clone(self))
    }

    /// When the connection went idle, or `None` while a request runs.
    fn idle_since(&self) -> Option<std::time::Instant> {
        let state = self.state.lock().ok()?;
        (state.0 == 0).then_some(state.1)
    }
}

struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.0 = state.0.saturating_sub(1);
            state.1 = std::time::Instant::now();
        }
    }
}

async fn respond(
    app: &App,
    routes: &Routes,
    audit: &AuditLog,
    bodies: &Arc<Semaphore>,
    peer: SocketAddr,
    request: Request<Body>,
) -> Response<ResponseBody> {
    let (method, path) = (request.method(), request.uri().path());
    if let Some(endpoint) = routes.endpoints.iter().find(|endpoint| (endpoint.owns)(method, path)) {
        return (endpoint.serve)(app, audit, peer, request).await;
    }
    // HEAD as GET, without the body (its length kept): HTTP/1.1 would drop it, but on HTTP/2
    // a body after a HEAD's headers is a protocol error.
    if request.method() == hyper::Method::HEAD {
        return without_body(respond_with_body(app, &routes.api, audit, bodies, peer, request).await);
    }
    respond_with_body(app, &routes.api, audit, bodies, peer, request).await
}

/// A response to HEAD: the headers (with the body's length) and no body.
pub fn without_body(response: Response<ResponseBody>) -> Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    if let Some(length) = body.size_hint().exact() {
        parts.headers.entry(hyper::header::CONTENT_LENGTH).or_insert_with(|| hyper::header::HeaderValue::from(length));
    }
    Response::from_parts(parts, empty())
}

async fn respond_with_body(
    app: &App,
    api: &Api,
    audit: &AuditLog,
    bodies: &Arc<Semaphore>,
    peer: SocketAddr,
    request: Request<Body>,
) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let mut headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|value| (name.as_str(), value)))
        .collect();
    // HTTP/2 carries the host as `:authority`, which SigV4 signs as `host`.
    if !parts.headers.contains_key(hyper::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host", authority.as_str()));
        }
    }
    let mut request = HttpRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body: &[],
    };
    let limit = body_limit(request.header("x-amz-target"));
    let body = match collect(body, limit, bodies).await {
        Ok((body, _room)) => body,
        Err(refusal) => return reply(edge_error(&request, &refusal.error())),
    };
    request.body = &body;
    reply(handle(app, audit, api, Incoming { request, source_ip: peer.ip().to_string() }).await)
}

/// Why a body was not collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyRefusal {
    TooLarge(usize),
    TooSlow,
    Broken,
}

impl BodyRefusal {
    fn error(self) -> AwsError {
        match self {
            BodyRefusal::TooLarge(limit) => AwsError::new(
                "RequestEntityTooLarge",
                413,
                format!("Request body is larger than the {limit} bytes this operation accepts."),
            ),
            BodyRefusal::TooSlow => AwsError::new(
                "RequestTimeout",
                400,
                "Your socket connection to the server was not read from or written to within the timeout period.",
            ),
            BodyRefusal::Broken => AwsError::new("MalformedHttpRequest", 400, "The request body could not be read."),
        }
    }
}

/// Bodies declared at most this long are collected without taking room from the budget: all
/// connections' worth of them is bounded anyway, and most requests are such (the budget's
/// semaphore would cost every one of them a lock).
const SMALL_DECLARED: usize = 64 * 1024;

/// Collects a body of at most `limit` bytes within [`BODY_TIMEOUT`], first reserving room for
/// a larger one in the budget (the declared length, else the limit); the room is held while
/// the body is.
async fn collect(
    body: Body,
    limit: usize,
    budget: &Arc<Semaphore>,
) -> Result<(Vec<u8>, Option<tokio::sync::OwnedSemaphorePermit>), BodyRefusal> {
    let declared = body.size_hint().exact().map(|length| usize::try_from(length).unwrap_or(usize::MAX));
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyRefusal::TooLarge(limit));
    }
    let room = match declared {
        Some(length) if length <= SMALL_DECLARED => None,
        _ => Some(u32::try_from(declared.unwrap_or(limit).div_ceil(1024)).unwrap_or(u32::MAX)),
    };
    let work = async {
        let permit = match room {
            Some(room) => Some(Arc::clone(budget).acquire_many_owned(room).await.map_err(|_| BodyRefusal::Broken)?),
            None => None,
        };
        let mut collected = Vec::with_capacity(declared.unwrap_or(0));
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyRefusal::Broken)?;
            if let Some(data) = frame.data_ref() {
                if collected.len().saturating_add(data.len()) > limit {
                    return Err(BodyRefusal::TooLarge(limit));
                }
                collected.extend_from_slice(data);
            }
        }
        Ok((collected, permit))
    };
    let mut work = std::pin::pin!(work);
    // Most bodies arrive with their head: those finish at the first poll and need no timer.
    let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => tokio::time::timeout(BODY_TIMEOUT, work).await.unwrap_or(Err(BodyRefusal::TooSlow)),
    }
}

/// An error answered before the pipeline: in awsJson when the request names a target, else
/// in awsQuery (STS's namespace when the credential scope says `sts`).
pub fn edge_error(request: &HttpRequest<'_>, error: &AwsError) -> Reply {
    let request_id = ids::request_id().unwrap_or_default();
    if request.header("x-amz-target").is_some() {
        let mut error = error.clone();
        if !error.code.ends_with("Exception") {
            error.code.push_str("Exception");
        }
        return error_reply(&error, Protocol::Json, IAM_NAMESPACE, &request_id);
    }
    let scope = request.header("authorization").unwrap_or(request.query);
    let namespace = if scope.contains("/sts/aws4_request") || scope.contains("%2Fsts%2Faws4_request") {
        STS_NAMESPACE
    } else {
        IAM_NAMESPACE
    };
    error_reply(error, Protocol::Query, namespace, &request_id)
}

pub fn reply(reply: Reply) -> Response<ResponseBody> {
    let body = match reply.stream {
        Some(messages) => BodyExt::boxed(Streamed(messages)),
        None => full(Bytes::from(reply.body)),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(reply.content_type));
    if let Ok(value) = hyper::header::HeaderValue::from_str(&reply.request_id) {
        headers.insert("x-amzn-RequestId", value);
    }
    if let Some(value) = reply.error_type.and_then(|code| hyper::header::HeaderValue::from_str(&code).ok()) {
        headers.insert("x-amzn-ErrorType", value);
    }
    response
}

/// A streamed answer's body: each message as its producer sends it, the end when the
/// producer is done. Dropping it (the client went away) closes the channel, which the producer
/// sees at its next send.
struct Streamed(tokio::sync::mpsc::Receiver<Vec<u8>>);

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, io::Error>>> {
        self.0.poll_recv(cx).map(|message| message.map(|bytes| Ok(hyper::body::Frame::data(Bytes::from(bytes)))))
    }
}

/// The head deadline's timer, one per connection. hyper asks for a new deadline for every
/// request a connection waits for; registering each in the runtime's timer wheel (and removing
/// it when the request arrives) cost a few percent of the cheapest requests' throughput. Here a
/// connection keeps one timer, armed for the earliest deadline asked, and re-arms it only when
/// it fires before the deadline now wanted: one registration per deadline period, not per
/// request. A sleep is ready exactly when its own deadline has passed.
#[derive(Default)]
struct HeadTimer {
    shared: Arc<Mutex<Option<Pin<Box<Sleep>>>>>,
}

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(std::time::Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HeadSleep { shared: Arc::clone(&self.shared), deadline: deadline.into() })
    }
}

struct HeadSleep {
    shared: Arc<Mutex<Option<Pin<Box<Sleep>>>>>,
    deadline: tokio::time::Instant,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if tokio::time::Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let Ok(mut shared) = self.shared.lock() else { return Poll::Ready(()) };
        let timer = shared.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(self.deadline)));
        // Armed for an earlier deadline that has passed (or a later one: never, deadlines only
        // move on): re-arm for ours. Either way the timer now wakes this task no later than it.
        if timer.deadline() > self.deadline || timer.as_mut().poll(cx).is_ready() {
            timer.as_mut().reset(self.deadline);
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl hyper::rt::Sleep for HeadSleep {}

/// A connection whose writes fail once the client has taken nothing for [`WRITE_STALL`], so a
/// client that stops reading cannot hold its connection (and what its response holds) forever.
/// The timer is armed only while a write waits: a write the socket takes at once costs nothing.
struct WriteDeadline {
    stream: TcpStream,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(stream: TcpStream) -> WriteDeadline {
        WriteDeadline { stream, stalled: None }
    }

    /// After a write returned `Pending`: arms the timer if it is not, and fails once it fires.
    fn check_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(&mut self, result: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(outcome) => {
                self.stalled = None;
                Poll::Ready(outcome)
            }
            Poll::Pending => self.check_stall(cx).map(Err),
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.progressed(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.progressed(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.progressed(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operations_that_take_large_bodies_may_send_them() {
        assert_eq!(body_limit(None), SMALL_BODY);
        assert_eq!(body_limit(Some("AmazonSSM.RegisterManagedInstance")), SMALL_BODY);
        assert_eq!(body_limit(Some("Logs_20140328.PutLogEvents")), LOG_EVENTS_BODY);
        assert_eq!(body_limit(Some("AmazonEC2ContainerRegistry_V20150921.UploadLayerPart")), ECR_BODY);
        assert_eq!(body_limit(Some("AmazonEC2ContainerRegistry_V20150921.PutImage")), ECR_BODY);
        assert_eq!(body_limit(Some("AmazonEC2ContainerRegistry_V20150921.DescribeImages")), SMALL_BODY);
    }

    #[test]
    fn edge_errors_answer_in_the_request_protocol() {
        let error = BodyRefusal::TooLarge(SMALL_BODY).error();
        let json = [("X-Amz-Target", "AmazonSSM.RegisterManagedInstance")];
        let request = HttpRequest { method: "POST", path: "/", query: "", headers: &json, body: b"" };
        let answer = edge_error(&request, &error);
        assert_eq!((answer.status, answer.content_type), (413, "application/x-amz-json-1.1"));
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        assert_eq!(body["__type"], "RequestEntityTooLargeException");
        let sts = [("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, ...")];
        let request = HttpRequest { headers: &sts, ..request };
        let answer = edge_error(&request, &error);
        let text = String::from_utf8_lossy(&answer.body);
        assert_eq!(answer.content_type, "text/xml");
        assert!(text.contains("<Code>RequestEntityTooLarge</Code>"), "{text}");
        assert!(text.contains(STS_NAMESPACE), "{text}");
    }
}
