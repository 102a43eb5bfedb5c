//! What every service's operations are made of and share: the [`Service`] and [`Operation`]
//! descriptions the pipeline routes and authorizes by, the context a handler runs with
//! ([`Ctx`]), paging and validation. This module names no service: each service's folder
//! (`iam`, `sts`, `ssm`, `ecs`, `ecr`, `logs`, `cloudtrail`) describes itself and its
//! operations with these types, and the root (`services`) hands the tables to the pipeline.
//!
//! An operation cannot be described without its IAM action, its resource function and its
//! declared effect: the pipeline authorizes with them before `run` is called, and a test
//! walks the table to prove every operation refuses unsigned and unauthorized calls.

use std::future::Future;
use std::pin::Pin;

use aws_protocol::query::{QueryParams, XmlResponse};
use aws_protocol::{AwsError, Protocol};

use crate::app::App;

use crate::auth::Identity;
use crate::errors::INTERNAL_FAILURE;
pub use crate::errors::{internal, validation};

pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// What an operation runs with: the app, the authenticated caller and its input (form
/// parameters for awsQuery operations, the JSON body for awsJson ones; for restJson ones the
/// JSON body, the query string in `params` and the path's labels in `labels`).
pub struct Ctx<'a> {
    pub app: &'a App,
    pub identity: &'a Identity,
    pub params: &'a QueryParams,
    pub body: &'a serde_json::Value,
    /// The labels of a restJson operation's path template (`{jobId}`), percent-decoded, in
    /// template order; empty for the other protocols.
    pub labels: &'a [(&'static str, String)],
    pub operation: &'static Operation,
    /// What the request's global condition keys describe (for checks made while running,
    /// such as `iam:PassRole`).
    pub facts: &'a crate::identity::RequestFacts,
    /// The request's id (`x-amzn-RequestId`), for answers that repeat it in their body.
    pub request_id: &'a str,
    /// The stored IAM entity the request names, as its resource function resolved it: the
    /// request is authorized on this entity's ARN, and the handler acts on this entity.
    pub(crate) target: std::sync::OnceLock<crate::iam::model::entities::Entity>,
    /// The ARN of what the operation acts on when its resource function chose it (a new
    /// secret's, with its random suffix) or resolved it (an existing secret's, from its name):
    /// the handler acts on exactly what was authorized.
    pub(crate) created: std::sync::OnceLock<String>,
    /// The decisions the engine made while the operation ran (`iam:PassRole`), for its
    /// audit record.
    pub(crate) checks: std::sync::Mutex<Vec<crate::audit::Check>>,
    /// What the resource function read beyond the target, when that is all the handler needs
    /// (GetRole's role with its boundary and tags): the handler answers from the very read
    /// the request was authorized on, in one round trip to the store rather than two.
    pub(crate) prefetched: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

impl<'a> Ctx<'a> {
    /// The response document of this operation.
    pub fn response(&self) -> XmlResponse {
        XmlResponse::new(self.operation.name, self.operation.namespace)
    }

    /// A required parameter, or AWS's ValidationError naming it.
    pub fn required(&self, name: &str) -> Result<&str, AwsError> {
        self.params.get(name).ok_or_else(|| missing(name))
    }

    /// The request's typed input (awsQuery), generated from the service's model
    /// (`aws_model::iam::CreateGroupRequest`, ...), borrowing its parameters. The pipeline has
    /// checked the model's constraints, so a required member is present.
    pub fn input<T: aws_model::FromQuery<'a>>(&self) -> T {
        T::from_query(self.params)
    }

    /// Keeps `value` for the handler ([`Ctx::prefetched`]); the first kept stays.
    pub(crate) fn prefetch<T: std::any::Any + Send + Sync>(&self, value: T) {
        let _ = self.prefetched.set(Box::new(value));
    }

    /// Takes back what the resource function kept, if it is a `T`.
    pub(crate) fn prefetched<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.prefetched.get().and_then(|value| value.downcast_ref::<T>())
    }

    pub fn account(&self) -> &str {
        &self.app.account_id
    }

    /// The region the request was signed for: a regional service's state, ARNs and
    /// answers are this region's (IAM and STS are global and ignore it).
    pub fn region(&self) -> &str {
        &self.facts.region
    }

    /// Where a regional service's state is: the caller's account in the signed region.
    pub fn scope(&self) -> crate::regions::Scope<'_> {
        crate::regions::Scope { account: self.account(), region: self.region() }
    }

    /// A label of a restJson operation's path (`jobId` of `/policy/generation/{jobId}`): the
    /// router matched the template, so every label it names is there.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(label, _)| *label == name).map(|(_, value)| value.as_str())
    }

    /// A query-string member of a restJson operation (`maxResults`), as sent, decoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }
}

/// AWS's ValidationError for a member the operation needs and the request did not send (one
/// the model calls optional: the model's required members are checked by the pipeline).
pub fn missing(name: &str) -> AwsError {
    let member = lower_first(name);
    validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// An operation's answer, in its protocol.
pub enum Output {
    Xml(XmlResponse),
    Json(serde_json::Value),
    /// A JSON document already encoded: one that splices stored JSON text as it is
    /// (DescribeTasks), so nothing is parsed only to be written again.
    Encoded(Vec<u8>),
    /// A streamed answer (`application/vnd.amazon.eventstream`): the messages its producer
    /// sends, written as they come. The producer learns the client is gone when a send fails.
    Stream(EventStream),
}

/// The body of a streamed answer: encoded messages, sent as they are produced.
pub struct EventStream {
    pub content_type: &'static str,
    pub messages: tokio::sync::mpsc::Receiver<Vec<u8>>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventStream({})", self.content_type)
    }
}

pub type OperationFuture<'a> = Pin<Box<dyn Future<Output = Result<Output, AwsError>> + Send + 'a>>;

/// Boxes an awsQuery handler.
pub fn query<'a>(handler: impl Future<Output = Result<XmlResponse, AwsError>> + Send + 'a) -> OperationFuture<'a> {
    Box::pin(async move { handler.await.map(Output::Xml) })
}

/// Boxes an awsJson handler.
pub fn json<'a>(handler: impl Future<Output = Result<serde_json::Value, AwsError>> + Send + 'a) -> OperationFuture<'a> {
    Box::pin(async move { handler.await.map(Output::Json) })
}

/// Boxes an awsJson handler that answers with a document it encoded itself.
pub fn encoded_json<'a>(handler: impl Future<Output = Result<Vec<u8>, AwsError>> + Send + 'a) -> OperationFuture<'a> {
    Box::pin(async move { handler.await.map(Output::Encoded) })
}

/// Boxes an awsJson handler whose answer is a stream of events.
pub fn streamed<'a>(handler: impl Future<Output = Result<EventStream, AwsError>> + Send + 'a) -> OperationFuture<'a> {
    Box::pin(async move { handler.await.map(Output::Stream) })
}

pub type ResourcesFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, AwsError>> + Send + 'a>>;

/// The resource of an operation that acts on the account as a whole (IAM authorizes it on `*`).
pub fn account_wide<'a>(_ctx: &'a Ctx<'a>) -> ResourcesFuture<'a> {
    Box::pin(async { Ok(vec!["*".to_owned()]) })
}

/// How an operation is authorized. Every operation is authenticated and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// An Allow is needed and no Deny may apply: nearly every operation.
    Policies,
    /// Allowed unless an explicit Deny applies (`sts:GetSessionToken` needs no permission).
    UnlessDenied,
    /// Allowed to every authenticated caller whatever its policies (`sts:GetCallerIdentity`).
    Always,
    /// The caller's policies together with the resource-based policy of what its resource
    /// names, as AWS evaluates a same-account one: a role's trust policy (`sts:AssumeRole`),
    /// which may grant on its own, or an ECR repository's policy.
    WithResourcePolicy(&'static ResourcePolicySource),
    /// As [`Authorization::Policies`], and only for a managed instance's own session: the
    /// agent's calls (Poll, state reports, task credentials, registration). A session issued
    /// to a task, a user or a role is refused whatever its policies allow; the operation
    /// then checks the instance it names is the caller's.
    Instance,
}

/// Where an operation's resource-based policy comes from, and how it takes part.
pub struct ResourcePolicySource {
    /// How the audit record names it (`trust-policy`, `repository-policy`).
    pub id: &'static str,
    pub kind: iam_policy::ResourcePolicyKind,
    /// The policy of the resource the operation is authorized on (its resource ARNs), if it
    /// has one; an error refuses the request with it.
    pub find: for<'a> fn(&'a Ctx<'a>, &'a [String]) -> PolicyFuture<'a>,
}

pub type PolicyFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<iam_policy::Policy>, AwsError>> + Send + 'a>>;

impl PartialEq for ResourcePolicySource {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for ResourcePolicySource {}

impl std::fmt::Debug for ResourcePolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// A SigV4 service Homeport routes, as its folder describes it (`SERVICE` in its `mod.rs`).
pub struct Service {
    /// The SigV4 service name it is reached by (`iam`, `ecs`, `access-analyzer`).
    pub name: &'static str,
    pub protocol: Protocol,
    /// Its operations' XML namespace (awsQuery) or `X-Amz-Target` prefix (awsJson); for
    /// restJson, the service's name in messages (it routes by [`HttpRoute`]).
    pub namespace: &'static str,
    /// How its operations are authorized unless one says otherwise.
    pub authorization: Authorization,
    /// Its answer to a failure that is Homeport's ([`internal`]), as its model defines it.
    pub internal_error: fn() -> AwsError,
    /// Whether it serves an authenticated caller at all, given the action it asks for (the
    /// request's `Action`, when it has one), before routing, validation and authorization:
    /// some temporary credentials may not call some services ([`admit_all`] for the rest).
    pub admits: fn(&Identity, Option<&str>) -> Result<(), AwsError>,
}

/// A service's admission when every authenticated caller may reach it.
pub fn admit_all(_identity: &Identity, _action: Option<&str>) -> Result<(), AwsError> {
    Ok(())
}

impl Service {
    /// `error` as this service answers it: an [`internal`] failure becomes the service's own
    /// internal error; every other error is unchanged.
    pub fn answer(&self, error: AwsError) -> AwsError {
        if error.code == INTERNAL_FAILURE && error.status == 500 { (self.internal_error)() } else { error }
    }
}

/// What an operation may change, declared with it (never guessed from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing: CloudTrail's read-only events (`Get`, `List`, `Describe`, `Lookup`,
    /// `Simulate`), and FilterLogEvents, BatchGetImage, BatchCheckLayerAvailability,
    /// DecodeAuthorizationMessage, BatchGetRepositoryScanningConfiguration, TestMetricFilter, BatchGetSecretValue. Some hand out
    /// credentials (GetSessionToken, GetFederationToken, GetAuthorizationToken), which are new
    /// to the cache and so leave it valid.
    Read,
    /// Changes a service's own resources (clusters, tasks, services, log groups, repositories,
    /// images, activations) or adds a session: nothing the IAM cache holds, which stays valid.
    Write,
    /// Changes what authentication or authorization reads and the IAM cache holds: users,
    /// groups, roles, policies and their attachments, boundaries, access keys, user and role
    /// tags, or removes sessions. A success empties the cache, so the change applies from the
    /// next request.
    IamWrite,
    /// The agent's own calls (Poll, task and container state reports, instance heartbeats,
    /// registration, task credentials, log events): frequent, and changing nothing the IAM
    /// cache holds, which stays valid.
    AgentTraffic,
}

/// Where a restJson operation is reached: an HTTP method and a path template whose
/// `{label}` segments each match one non-empty path segment (handed to the handler through
/// [`Ctx::label`]), and the status of a success, as botocore's model declares them
/// (`"http": {"method": "POST", "requestUri": "/policy/validation", "responseCode": 200}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub status: u16,
}

impl HttpRoute {
    /// The labels of `path` (as sent: percent-encoded, without the query) when it matches this
    /// route's template, decoded; `None` when it does not.
    pub fn matches(&self, path: &str) -> Option<Vec<(&'static str, String)>> {
        let mut labels = Vec::new();
        let mut sent = path.split('/');
        for segment in self.path.split('/') {
            let value = sent.next()?;
            match segment.strip_prefix('{').and_then(|label| label.strip_suffix('}')) {
                Some(label) if !value.is_empty() => labels.push((label, aws_protocol::sigv4::percent_decode(value)?)),
                Some(_) => return None,
                None if segment == value => {}
                None => return None,
            }
        }
        sent.next().is_none().then_some(labels)
    }

    /// How many labels the template has: a literal segment is preferred to a label where
    /// two templates match one path.
    pub fn label_count(&self) -> usize {
        self.path.split('/').filter(|segment| segment.starts_with('{')).count()
    }
}

/// One routed operation.
pub struct Operation {
    /// The SigV4 service name it is reached by (`iam`, `sts`, `cloudtrail`).
    pub service: &'static str,
    pub protocol: Protocol,
    /// The `Action` parameter (awsQuery) or the part of `X-Amz-Target` after the dot; the
    /// operation's name in the model for restJson.
    pub name: &'static str,
    /// The XML namespace (awsQuery) or the `X-Amz-Target` prefix (awsJson).
    pub namespace: &'static str,
    /// The IAM action it is authorized as.
    pub action: &'static str,
    /// How the caller's policies decide it.
    pub authorization: Authorization,
    /// What it may change, as declared: whether a success empties the IAM cache, and whether
    /// it may be answered while the disk is full.
    pub effect: Effect,
    /// The resource ARNs it is authorized on (it may read the store, e.g. a user's path).
    pub resources: for<'a> fn(&'a Ctx<'a>) -> ResourcesFuture<'a>,
    /// The operation itself; only the pipeline calls it, after authorization.
    pub run: for<'a> fn(&'a Ctx<'a>) -> OperationFuture<'a>,
    /// Where a restJson operation is reached (`None` for the other protocols, routed by name).
    pub route: Option<HttpRoute>,
}

/// Declares one routed operation as the constant `CONST`, the one way every service does it:
///
/// `operation!(service, CONST, "Name", Effect, resources, run)`, optionally followed by
/// `authorization = Variant` or `resource_policy = SOURCE` (else the service's
/// [`Service::authorization`]), `action = "service:Action"` (else `service:Name`) and, for a
/// restJson service, `http = ("METHOD", "/path/{label}", status)`, its [`HttpRoute`]. The
/// service's identifier names its folder, whose `SERVICE` gives the SigV4 service name, the
/// protocol and the namespace or target prefix. `Effect` is the [`Effect`] variant the
/// operation declares: what it may change.
macro_rules! operation {
    ($service:ident, $const:ident, $name:literal, $effect:ident, $resources:expr, $run:expr
        $(, authorization = $authorization:ident)? $(, resource_policy = $policy:path)?
        $(, action = $action:literal)? $(, http = ($method:literal, $path:literal, $status:literal))? $(,)?) => {
        pub const $const: $crate::operations::Operation = $crate::operations::Operation {
            service: $crate::$service::SERVICE.name,
            protocol: $crate::$service::SERVICE.protocol,
            name: $name,
            namespace: $crate::$service::SERVICE.namespace,
            action: $crate::operations::operation!(@action $service $name $($action)?),
            authorization: $crate::operations::operation!(@authorization $service $($authorization)? $(; $policy)?),
            effect: $crate::operations::Effect::$effect,
            resources: $resources,
            run: $run,
            route: $crate::operations::operation!(@route $($method $path $status)?),
        };
    };
    (@route) => { None };
    (@route $method:literal $path:literal $status:literal) => {
        Some($crate::operations::HttpRoute { method: $method, path: $path, status: $status })
    };
    (@action $service:ident $name:literal) => { concat!(stringify!($service), ":", $name) };
    (@action $service:ident $name:literal $action:literal) => { $action };
    (@authorization $service:ident) => { $crate::$service::SERVICE.authorization };
    (@authorization $service:ident $authorization:ident) => { $crate::operations::Authorization::$authorization };
    (@authorization $service:ident ; $policy:path) => {
        $crate::operations::Authorization::WithResourcePolicy(&$policy)
    };
}
pub(crate) use operation;

impl Operation {
    /// Whether a success empties the IAM key and policy cache: only a write of what it holds.
    pub fn flushes_iam_cache(&self) -> bool {
        self.effect == Effect::IamWrite
    }

    /// Whether it changes nothing and hands out nothing: only such an operation is answered
    /// while the audit trail cannot be written (a full disk). Credentials are never handed out
    /// unrecorded.
    pub fn changes_nothing(&self) -> bool {
        self.effect == Effect::Read && !ISSUES_CREDENTIALS.contains(&self.name)
    }
}

/// The reads (CloudTrail's, by name) that hand out credentials, tokens or secret values:
/// never answered unrecorded.
const ISSUES_CREDENTIALS: &[&str] = &[
    "GetSessionToken",
    "GetAuthorizationToken",
    "GetFederationToken",
    "GetDelegatedAccessToken",
    "GetWebIdentityToken",
    "GetSecretValue",
    "BatchGetSecretValue",
    "GetParameter",
    "GetParameters",
    "GetParametersByPath",
    "GetParameterHistory",
];

pub(crate) fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// Sets `member` of a JSON object (awsJson answers are built as objects).
pub fn put(object: &mut serde_json::Value, member: &str, value: impl Into<serde_json::Value>) {
    if let Some(map) = object.as_object_mut() {
        map.insert(member.to_owned(), value.into());
    }
}

/// One page of `items` from offset `start`, at most `size` long, as awsJson list operations
/// answer: `{LIST: [...], TOKEN: "next offset"}`, the token only when more follow.
pub fn json_page(
    list: &str,
    token: &str,
    items: Vec<serde_json::Value>,
    start: usize,
    size: usize,
) -> serde_json::Value {
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let shown: Vec<serde_json::Value> = items.into_iter().skip(start).take(end.saturating_sub(start)).collect();
    let mut answer = serde_json::json!({ list: shown });
    if end < total {
        put(&mut answer, token, end.to_string());
    }
    answer
}

/// How many times an operation that read, checked and then wrote under a guard tries again
/// when a concurrent call changed what it read.
pub(crate) const RACE_ATTEMPTS: u32 = 16;

/// `Marker` / `MaxItems` paging over names, as IAM's List operations do it.
pub(crate) struct Page {
    pub after: String,
    pub max_items: usize,
}

impl Page {
    pub(crate) fn from_params(ctx: &Ctx<'_>) -> Result<Page, AwsError> {
        let max_items = match ctx.params.get("MaxItems") {
            None => 100,
            Some(text) => match text.parse::<usize>() {
                Ok(n @ 1..=1000) => n,
                _ => {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"
                    )));
                }
            },
        };
        Ok(Page { after: ctx.params.get("Marker").unwrap_or("").to_owned(), max_items })
    }

    /// The items of this page and the marker of the next one.
    pub(crate) fn cut<'a, T>(&self, items: &'a [T], key: impl Fn(&T) -> String) -> (&'a [T], Option<String>) {
        if items.len() > self.max_items {
            let shown = items.get(..self.max_items).unwrap_or(items);
            (shown, shown.last().map(key))
        } else {
            (items, None)
        }
    }

    pub(crate) fn finish(&self, xml: &mut XmlResponse, next: Option<String>) {
        match next {
            Some(marker) => {
                xml.element("IsTruncated", "true").element("Marker", &marker);
            }
            None => {
                xml.element("IsTruncated", "false");
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks [`internal`] reaches a caller of `service` as `code` and `status`, in the
    /// service's protocol (awsQuery XML with `Receiver` or awsJson's `__type`), without the
    /// failure's internals; returns the error as rendered.
    pub(crate) fn internal_as_answered(service: &Service, code: &str, status: u16) -> AwsError {
        let error = service.answer(internal("disk I/O error at /var/lib/secret"));
        assert_eq!((error.code.as_str(), error.status), (code, status), "{}", service.name);
        assert!(!error.message.contains("secret"), "{}", error.message);
        let reply = crate::pipeline::error_reply(&error, service.protocol, service.namespace, "request-1");
        assert_eq!(reply.status, status);
        let body = String::from_utf8_lossy(&reply.body).into_owned();
        match service.protocol {
            Protocol::Query => {
                assert_eq!(reply.content_type, "text/xml");
                assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
                assert!(body.contains("<Type>Receiver</Type>"), "{body}");
                assert!(body.contains(&format!("xmlns=\"{}\"", service.namespace)), "{body}");
            }
            Protocol::RestJson => {
                assert_eq!(reply.content_type, "application/json");
                assert_eq!(reply.error_type.as_deref(), Some(code));
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                assert_eq!(json["message"], error.message.as_str(), "{body}");
            }
            Protocol::Json => {
                assert_eq!(reply.content_type, "application/x-amz-json-1.1");
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                assert_eq!(json["__type"], code, "{body}");
                assert_eq!(json["message"], error.message.as_str(), "{body}");
            }
        }
        // Any other error passes through unchanged.
        let other = service.answer(validation("bad"));
        assert_eq!(other.code, "ValidationError");
        error
    }

    #[test]
    fn routes_match_their_template_and_capture_labels_decoded() {
        let job = HttpRoute { method: "GET", path: "/policy/generation/{jobId}", status: 200 };
        let list = HttpRoute { method: "GET", path: "/policy/generation", status: 200 };
        assert_eq!(job.matches("/policy/generation/abc%2D1"), Some(vec![("jobId", "abc-1".to_owned())]));
        assert_eq!(list.matches("/policy/generation"), Some(vec![]));
        for path in ["/policy/generation/", "/policy/generation", "/policy/generation/a/b", "/policy/x/a", "/"] {
            assert_eq!(job.matches(path), None, "{path}");
        }
        assert_eq!(list.matches("/policy/generation/a"), None);
        assert_eq!(job.matches("/policy/generation/%zz"), None, "a malformed escape matches nothing");
        assert_eq!((job.label_count(), list.label_count()), (1, 0));
    }
}
