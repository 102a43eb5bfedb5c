//! One request, start to finish: decode, authenticate (SigV4), route, authorize, run,
//! audit, encode. Nothing here knows HTTP types: the listener hands in plain parts and
//! writes back a [`Reply`].

use aws_protocol::query::QueryParams;
use aws_protocol::sigv4::{Claim, HttpRequest};
use aws_protocol::{AwsError, Protocol};
use tracing::Instrument;

use crate::app::App;
use crate::audit::{AuditLog, Record};
use crate::auth::authenticate;
use crate::authz::{RequestFacts, ResourcePolicy, Verdict, authorize, request_context};
use crate::ids;
use crate::operations::{Authorization, Ctx, Operation, Output, Service};

/// What to send back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub request_id: String,
    pub body: Vec<u8>,
    /// A restJson error's code, sent as `x-amzn-ErrorType`.
    pub error_type: Option<String>,
    /// A streamed answer's messages, written after `body` as they come.
    pub stream: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
}

impl Reply {
    /// A reply without an error type header.
    pub fn new(status: u16, content_type: &'static str, request_id: &str, body: Vec<u8>) -> Reply {
        Reply { status, content_type, request_id: request_id.to_owned(), body, error_type: None, stream: None }
    }
}

/// What the pipeline routes to, handed to it by the root (`services::ROUTES`): no
/// infrastructure module names a service.
pub struct Api {
    pub services: &'static [Service],
    /// Every routed operation.
    pub operations: &'static [Operation],
    /// The service a request that reaches none is answered as (IAM, the global endpoint's).
    pub fallback: &'static Service,
    /// Requests answered before SigV4, asked in order: the public downloads (no proof) and
    /// the agent's registration requests, which carry their own proof.
    pub unsigned: &'static [UnsignedRoute],
}

/// A route answered before SigV4: `None` when the request is not its own.
pub type UnsignedRoute = for<'a> fn(&'a App, &'a AuditLog, &'a Incoming<'a>, &'a str) -> UnsignedFuture<'a>;

pub type UnsignedFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Reply>> + Send + 'a>>;

impl Api {
    /// The service a SigV4 service name reaches.
    pub fn service(&self, name: &str) -> Option<&'static Service> {
        self.services.iter().find(|service| service.name == name)
    }

    /// The operation a service and action name reach.
    pub fn find(&self, service: &str, name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|operation| operation.service == service && operation.name == name)
    }

    /// The restJson operation of `service` (any service when `None`) that `method` and `path`
    /// reach, with its path's labels: of two templates that match, the one with fewer labels
    /// (`/policy/generation/{jobId}` never shadows a literal `/policy/generation/x`).
    pub fn find_route(
        &self,
        service: Option<&str>,
        method: &str,
        path: &str,
    ) -> Option<(&'static Operation, Vec<(&'static str, String)>)> {
        self.operations
            .iter()
            .filter(|operation| service.is_none_or(|service| operation.service == service))
            .filter_map(|operation| {
                let route = operation.route.filter(|route| route.method == method)?;
                route.matches(path).map(|labels| (route.label_count(), operation, labels))
            })
            .min_by_key(|(label_count, _, _)| *label_count)
            .map(|(_, operation, labels)| (operation, labels))
    }

    /// `error` as the service named `service` answers it (see [`Service::answer`]).
    fn answer(&self, service: &str, error: AwsError) -> AwsError {
        match self.service(service) {
            Some(service) => service.answer(error),
            None => error,
        }
    }
}

/// The parts of an HTTP request the pipeline reads.
pub struct Incoming<'a> {
    pub request: HttpRequest<'a>,
    pub source_ip: String,
}

fn xml_error(error: &AwsError, namespace: &str, request_id: &str) -> Reply {
    Reply::new(error.status, "text/xml", request_id, error.to_query_xml(namespace, request_id).into_bytes())
}

pub(crate) fn error_reply(error: &AwsError, protocol: Protocol, namespace: &str, request_id: &str) -> Reply {
    match protocol {
        Protocol::Query => xml_error(error, namespace, request_id),
        Protocol::Json => {
            let mut error = error.clone();
            // awsJson services name this error with the suffix, as AWS does.
            if error.code == "AccessDenied" {
                error.code = "AccessDeniedException".to_owned();
            }
            Reply::new(error.status, "application/x-amz-json-1.1", request_id, error.to_json().into_bytes())
        }
        Protocol::RestJson => {
            // As awsJson services do, restJson ones name this error with the suffix.
            let code = if error.code == "AccessDenied" { "AccessDeniedException" } else { error.code.as_str() };
            Reply {
                error_type: Some(code.to_owned()),
                ..Reply::new(error.status, "application/json", request_id, error.to_rest_json())
            }
        }
    }
}

/// Answers one request. What is logged while answering it carries its request id, and its
/// operation once routed.
pub async fn handle(app: &App, audit: &AuditLog, api: &Api, incoming: Incoming<'_>) -> Reply {
    let request_id = ids::request_id().unwrap_or_else(|_| "00000000-0000-4000-a000-000000000000".to_owned());
    let span = tracing::info_span!("request", id = %request_id, operation = tracing::field::Empty);
    answer(app, audit, api, incoming, request_id).instrument(span).await
}

async fn answer(app: &App, audit: &AuditLog, api: &Api, incoming: Incoming<'_>, request_id: String) -> Reply {
    for route in api.unsigned {
        if let Some(reply) = route(app, audit, &incoming, &request_id).await {
            return reply;
        }
    }
    let request = &incoming.request;
    let target = request.header("x-amz-target");
    let fallback = api.fallback.namespace;
    // Before the credential names the service: a target means awsJson, a restJson operation's
    // method and path mean restJson, anything else awsQuery (IAM's, the global endpoint's).
    let guessed = if target.is_some() {
        Protocol::Json
    } else if api.find_route(None, request.method, request.path).is_some() {
        Protocol::RestJson
    } else {
        Protocol::Query
    };
    let claim = match Claim::parse(request) {
        Ok(claim) => claim,
        Err(error) => return error_reply(&AwsError::from_auth(&error, guessed), guessed, fallback, &request_id),
    };
    let service = claim.credential.service.clone();
    let described = api.service(&service);
    // A service Homeport does not route speaks awsJson, as all but IAM and STS do.
    let protocol = described.map_or(Protocol::Json, |service| service.protocol);
    let namespace = described.map_or(fallback, |service| service.namespace);
    let identity = match authenticate(app, request, &claim).await {
        Ok(identity) => identity,
        Err(error) => return error_reply(&AwsError::from_auth(&error, protocol), protocol, namespace, &request_id),
    };
    let params = match QueryParams::from_request(request) {
        Ok(params) => params,
        Err(error) => return error_reply(&error.to_aws(), protocol, namespace, &request_id),
    };
    if let Some(Err(error)) = described.map(|service| (service.admits)(&identity, params.get("Action"))) {
        return error_reply(&error, protocol, namespace, &request_id);
    }
    let (operation, body, labels) = match route(api, &service, protocol, request, &params) {
        Ok(found) => found,
        Err(error) => return error_reply(&error, protocol, namespace, &request_id),
    };
    tracing::Span::current().record("operation", operation.action);
    // The model's constraints, after authentication and before authorization, as AWS's front
    // end checks them: an operation no vendored model describes is not checked here.
    if let Err(error) = validate(operation, &params, &body) {
        return error_reply(&error, protocol, namespace, &request_id);
    }
    let facts = RequestFacts { source_ip: incoming.source_ip.clone(), region: claim.credential.region.clone() };
    let ctx = Ctx {
        app,
        identity: &identity,
        params: &params,
        body: &body,
        labels: &labels,
        operation,
        facts: &facts,
        request_id: &request_id,
        target: Default::default(),
        created: Default::default(),
        checks: Default::default(),
        prefetched: Default::default(),
    };
    let read_only = operation.changes_nothing();
    if !read_only && audit.refuses_changes() {
        return error_reply(&disk_full(protocol), protocol, namespace, &request_id);
    }
    let (outcome, resources, verdict, decided) = run(api, &ctx).await;
    // Homeport's own failures are answered (and audited) in the service's own code.
    let mut outcome = outcome.map_err(|error| api.answer(&service, error));
    if outcome.is_ok() && operation.flushes_iam_cache() {
        // A change to what the cache holds applies from the next request, on every replica:
        // nothing cached may outlive it. Other writes and the agents' traffic leave the cache
        // valid. A write whose replicas cannot be told is not answered as done (the caller
        // retries; the write itself is idempotent or refused as a duplicate).
        if let Err(error) = app.cache.invalidate(&app.store).await {
            outcome = Err(api.answer(&service, crate::errors::internal(error)));
        }
    }
    let record = Record {
        time: ids::now(),
        request_id: request_id.as_str().into(),
        account_id: identity.account_id.as_str().into(),
        principal_arn: identity.arn().into(),
        username: identity.username().into(),
        access_key_id: identity.access_key_id.as_str().into(),
        source_ip: incoming.source_ip.as_str().into(),
        user_agent: request.header("user-agent").unwrap_or_default().into(),
        event_source: "".into(),
        service: service.as_str().into(),
        region: claim.credential.region.as_str().into(),
        event_name: operation.name.into(),
        resources,
        decision: verdict.decision.as_str().into(),
        statements: verdict.statements,
        error_code: outcome.as_ref().err().map(|error| error.code.as_str().into()),
        principal_id: identity.principal_id().into(),
        action: if decided { operation.action } else { "" }.into(),
        checks: ctx.checks.into_inner().unwrap_or_default(),
    };
    if let Err(error) = audit.record(record).await {
        if read_only && audit.refuses_changes() {
            // A full disk leaves the server read-only, not dead: a read changed nothing.
            tracing::warn!("answered {} without its audit record: {error}", operation.name);
        } else {
            // No durable record, no answer: the caller retries rather than acting unaudited.
            let error = api.answer(&service, crate::errors::internal(error));
            return error_reply(&error, protocol, namespace, &request_id);
        }
    }
    match outcome {
        Ok(Output::Xml(xml)) => Reply::new(200, "text/xml", &request_id, xml.finish(&request_id).into_bytes()),
        // A restJson success answers with the status its route declares.
        // Straight into bytes: `to_string` goes through `Display` and a formatter per token
        // (15% of DescribeTasks' CPU).
        Ok(Output::Json(json)) => json_reply(operation, &request_id, serde_json::to_vec(&json).unwrap_or_default()),
        Ok(Output::Encoded(body)) => json_reply(operation, &request_id, body),
        Ok(Output::Stream(stream)) => {
            Reply { stream: Some(stream.messages), ..Reply::new(200, stream.content_type, &request_id, Vec::new()) }
        }
        Err(error) => error_reply(&error, protocol, namespace, &request_id),
    }
}

/// A JSON operation's success: restJson answers with the status its route declares.
fn json_reply(operation: &Operation, request_id: &str, body: Vec<u8>) -> Reply {
    match operation.route {
        Some(route) => Reply::new(route.status, "application/json", request_id, body),
        None => Reply::new(200, "application/x-amz-json-1.1", request_id, body),
    }
}

/// Checks a request against its operation's input in the service's botocore model
/// (`aws_model`): awsQuery parameters, or an awsJson body (a value of the wrong JSON type is
/// `SerializationException`); a violation is the service's refusal (`ValidationError`,
/// `InvalidParameterException` or `ValidationException`, as `aws_model::Model::refusal`
/// says) listing every constraint the request breaks. Linear in the request (each member is
/// one pass; patterns match in linear time). restJson bodies are not checked here.
fn validate(operation: &Operation, params: &QueryParams, body: &serde_json::Value) -> Result<(), AwsError> {
    match aws_model::input(operation.service, operation.name) {
        Some(input) if operation.protocol == Protocol::Query => input.validate_query(params),
        Some(input) if operation.protocol == Protocol::Json => input.validate_json(body),
        _ => Ok(()),
    }
}

/// The answer to a change while the disk is full (AWS's code for a temporary failure).
pub(crate) fn disk_full(protocol: Protocol) -> AwsError {
    let code = match protocol {
        Protocol::Query => "ServiceUnavailable",
        Protocol::Json | Protocol::RestJson => "ServiceUnavailableException",
    };
    AwsError::new(
        code,
        503,
        "The server's disk is full: changes are refused until space is freed (reads are still answered).",
    )
}

/// What routing found: the operation, its JSON body (`null` for awsQuery) and its path's labels.
type Routed = (&'static Operation, serde_json::Value, Vec<(&'static str, String)>);

/// Finds the operation: by `Action` for awsQuery, by `X-Amz-Target` for awsJson, by method and
/// path for restJson (the body of either JSON protocol is then read as JSON).
fn route(
    api: &Api,
    service: &str,
    protocol: Protocol,
    request: &HttpRequest<'_>,
    params: &QueryParams,
) -> Result<Routed, AwsError> {
    let target = request.header("x-amz-target");
    let body = request.body;
    match protocol {
        Protocol::Query => {
            let action = params.get("Action").unwrap_or_default();
            let version = params.get("Version").unwrap_or_default();
            api.find(service, action).map(|operation| (operation, serde_json::Value::Null, Vec::new())).ok_or_else(
                || {
                    AwsError::new(
                        "InvalidAction",
                        400,
                        format!("Could not find operation {action} for version {version}"),
                    )
                },
            )
        }
        Protocol::Json => {
            let unknown = || unknown_operation(service, target.unwrap_or_default());
            let (prefix, name) = target.and_then(|target| target.rsplit_once('.')).ok_or_else(unknown)?;
            let operation =
                api.find(service, name).filter(|operation| operation.namespace == prefix).ok_or_else(unknown)?;
            Ok((operation, aws_protocol::json::decode_body(body)?, Vec::new()))
        }
        Protocol::RestJson => {
            let (operation, labels) = api
                .find_route(Some(service), request.method, request.path)
                .ok_or_else(|| unknown_route(service, request.method, request.path))?;
            Ok((operation, aws_protocol::json::decode_body(body)?, labels))
        }
    }
}

/// A restJson method and path Homeport does not route: 404 `UnknownOperationException`, as
/// Smithy's restJson1 servers answer a request no operation's route matches; the message names
/// what was asked, cut to a bounded length.
fn unknown_route(service: &str, method: &str, path: &str) -> AwsError {
    let asked: String = format!("{method} {path}").chars().take(160).collect();
    let service: String = service.chars().take(32).collect();
    AwsError::new(
        "UnknownOperationException",
        404,
        format!("Homeport does not support the {service} operation {asked}."),
    )
}

/// An awsJson target Homeport does not route: AWS's code, with a message that says so (AWS
/// leaves it empty) and names the operation, cut to a bounded length.
fn unknown_operation(service: &str, target: &str) -> AwsError {
    let name: String = target.rsplit('.').next().unwrap_or_default().chars().take(128).collect();
    let message = if name.is_empty() {
        "The request names no operation: X-Amz-Target must be SERVICE_PREFIX.OPERATION.".to_owned()
    } else {
        let service: String = service.chars().take(32).collect();
        format!("Homeport does not support the {service} operation {name}.")
    };
    AwsError::new("UnknownOperationException", 400, message)
}

/// Authorizes and runs the operation: its outcome, its resources, the verdict, and whether
/// the policy engine decided it (rather than the operation needing no decision, or the
/// request being refused before one).
async fn run(api: &Api, ctx: &Ctx<'_>) -> (Result<Output, AwsError>, Vec<String>, Verdict, bool) {
    let operation = ctx.operation;
    // The statement names the error as the service answers it (the caller sees the same code).
    let denied = |error: AwsError| Verdict {
        decision: iam_policy::EvalDecision::ImplicitDeny,
        statements: vec![api.answer(operation.service, error).code],
    };
    let resources = match (operation.resources)(ctx).await {
        Ok(resources) => resources,
        Err(error) => return (Err(error.clone()), Vec::new(), denied(error), false),
    };
    let allowed = |why: &str| Verdict { decision: iam_policy::EvalDecision::Allowed, statements: vec![why.to_owned()] };
    let (verdict, decided) = match operation.authorization {
        Authorization::Always => (allowed("always allowed"), false),
        mode => {
            let context = match request_context(ctx).await {
                Ok(context) => context,
                Err(error) => return (Err(error.clone()), resources, denied(error), false),
            };
            let context = match crate::authz::resource_tag_keys(ctx, &resources, context).await {
                Ok(context) => context,
                Err(error) => return (Err(error.clone()), resources, denied(error), false),
            };
            let found = match mode {
                Authorization::WithResourcePolicy(source) => (source.find)(ctx, &resources)
                    .await
                    .map(|policy| policy.map(|policy| (source.id, policy, source.kind))),
                _ => Ok(None),
            };
            let found = match found {
                Ok(found) => found,
                Err(error) => return (Err(error.clone()), resources, denied(error), false),
            };
            let resource_policy = found.as_ref().map(|(id, policy, kind)| ResourcePolicy { id, policy, kind: *kind });
            match authorize(ctx.app, ctx.identity, operation.action, &resources, &context, resource_policy).await {
                // Only an instance's own session acts as an instance, whatever a task's or a
                // user's policies allow.
                Ok(_) if mode == Authorization::Instance && ctx.identity.instance().is_none() => {
                    let error = AwsError::new(
                        "AccessDenied",
                        403,
                        format!(
                            "User: {} is not authorized to perform: {} on resource: {} because the credentials are not a container instance's own",
                            ctx.identity.arn(),
                            operation.action,
                            resources.first().map(String::as_str).unwrap_or("*")
                        ),
                    );
                    return (Err(error.clone()), resources, denied(error), false);
                }
                Ok(verdict) => (verdict, true),
                // Operations that need no permission still honour an explicit Deny.
                Err((verdict, _))
                    if mode == Authorization::UnlessDenied
                        && verdict.decision == iam_policy::EvalDecision::ImplicitDeny =>
                {
                    (allowed("needs no permission"), false)
                }
                Err((verdict, error)) => return (Err(error), resources, verdict, true),
            }
        }
    };
    ((operation.run)(ctx).await, resources, verdict, decided)
}
