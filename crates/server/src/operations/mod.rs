//! Every routed operation, in one table, and what every service's handlers share (`Ctx`,
//! `Operation`, paging, validation). The handlers live in their service's folder (`iam`,
//! `sts`, `ssm`, `ecs`, `ecr`, `logs`, `cloudtrail`); this table is the one place that names
//! them all, and the infrastructure (`pipeline`, `authz`, `http`) reaches operations only
//! through it.
//!
//! An entry cannot exist without its IAM action and its resource function: the pipeline
//! authorizes with them before `run` is called, and a test walks this table to prove every
//! operation refuses unsigned and unauthorized calls.

use std::future::Future;
use std::pin::Pin;

use aws_protocol::query::{QueryParams, XmlResponse};
use aws_protocol::{AwsError, Protocol};

use crate::app::App;

use crate::auth::Identity;
pub use crate::errors::{internal, validation};
use crate::errors::INTERNAL_FAILURE;
use crate::{cloudtrail, ecr, ecs, iam, logs, ssm, sts};

pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// What an operation runs with: the app, the authenticated caller and its input (form
/// parameters for awsQuery operations, the JSON body for awsJson ones).
pub struct Ctx<'a> {
    pub app: &'a App,
    pub identity: &'a Identity,
    pub params: &'a QueryParams,
    pub body: &'a serde_json::Value,
    pub operation: &'static Operation,
    /// What the request's global condition keys describe (for checks made while running,
    /// such as `iam:PassRole`).
    pub facts: &'a crate::authz::RequestFacts,
    /// The stored IAM entity the request names, as its resource function resolved it: the
    /// request is authorized on this entity's ARN, and the handler acts on this entity.
    pub(crate) target: std::sync::OnceLock<iam::entities::Entity>,
}

impl Ctx<'_> {
    /// The response document of this operation.
    pub fn response(&self) -> XmlResponse {
        XmlResponse::new(self.operation.name, self.operation.namespace)
    }

    /// A required parameter, or AWS's ValidationError naming it.
    pub fn required(&self, name: &str) -> Result<&str, AwsError> {
        self.params.get(name).ok_or_else(|| {
            let member = lower_first(name);
            validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ))
        })
    }

    pub fn account(&self) -> &str {
        &self.app.account_id
    }
}

/// An operation's answer, in its protocol.
pub enum Output {
    Xml(XmlResponse),
    Json(serde_json::Value),
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
pub type ResourcesFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, AwsError>> + Send + 'a>>;

/// How an operation is authorized. Every operation is authenticated and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// An Allow is needed and no Deny may apply: nearly every operation.
    Policies,
    /// Allowed unless an explicit Deny applies (`sts:GetSessionToken` needs no permission).
    UnlessDenied,
    /// Allowed to every authenticated caller whatever its policies (`sts:GetCallerIdentity`).
    Always,
    /// The caller's policies together with the trust policy of the role its resource names
    /// (`sts:AssumeRole`): in the same account the trust policy may grant on its own.
    Trust,
    /// The caller's policies together with the repository policy of the ECR repository its
    /// resource names, evaluated as AWS evaluates a same-account resource-based policy.
    Repository,
    /// As [`Authorization::Policies`], and only for a managed instance's own session: the
    /// agent's calls (Poll, state reports, task credentials, registration). A session issued
    /// to a task, a user or a role is refused whatever its policies allow; the operation
    /// then checks the instance it names is the caller's.
    Instance,
}

/// What an operation may change, declared with it (never guessed from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing: CloudTrail's read-only events (`Get`, `List`, `Describe`, `Lookup`,
    /// `Simulate`), and FilterLogEvents, BatchGetImage, BatchCheckLayerAvailability. Some hand
    /// out credentials (GetSessionToken, GetAuthorizationToken), which are new to the cache and
    /// so leave it valid.
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

/// One routed operation.
pub struct Operation {
    /// The SigV4 service name it is reached by (`iam`, `sts`, `cloudtrail`).
    pub service: &'static str,
    pub protocol: Protocol,
    /// The `Action` parameter (awsQuery) or the part of `X-Amz-Target` after the dot.
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
}

/// Declares one routed operation as the constant `CONST`, the one way every service does it:
///
/// `operation!(service, CONST, "Name", Effect, resources, run)`, optionally followed by
/// `authorization = Variant` (else [`Authorization::Policies`], and
/// [`Authorization::Repository`] for `ecr`) and `action = "service:Action"` (else
/// `service:Name`). The service's identifier gives the SigV4 service name, the protocol
/// (awsQuery for `iam` and `sts`, awsJson otherwise) and the namespace or target prefix.
/// `Effect` is the [`Effect`] variant the operation declares: what it may change.
macro_rules! operation {
    ($service:ident, $const:ident, $name:literal, $effect:ident, $resources:expr, $run:expr
        $(, authorization = $authorization:ident)? $(, action = $action:literal)? $(,)?) => {
        pub const $const: $crate::operations::Operation = $crate::operations::Operation {
            service: stringify!($service),
            protocol: $crate::operations::operation!(@protocol $service),
            name: $name,
            namespace: $crate::operations::operation!(@namespace $service),
            action: $crate::operations::operation!(@action $service $name $($action)?),
            authorization: $crate::operations::operation!(@authorization $service $($authorization)?),
            effect: $crate::operations::Effect::$effect,
            resources: $resources,
            run: $run,
        };
    };
    (@protocol iam) => { aws_protocol::Protocol::Query };
    (@protocol sts) => { aws_protocol::Protocol::Query };
    (@protocol $service:ident) => { aws_protocol::Protocol::Json };
    (@namespace iam) => { $crate::operations::IAM_NAMESPACE };
    (@namespace sts) => { $crate::operations::STS_NAMESPACE };
    (@namespace ecs) => { $crate::ecs::ECS_TARGET };
    (@namespace ecr) => { $crate::ecr::ECR_TARGET };
    (@namespace ssm) => { $crate::ssm::SSM_TARGET };
    (@namespace logs) => { $crate::logs::LOGS_TARGET };
    (@namespace cloudtrail) => { $crate::cloudtrail::CLOUDTRAIL_TARGET };
    (@action $service:ident $name:literal) => { concat!(stringify!($service), ":", $name) };
    (@action $service:ident $name:literal $action:literal) => { $action };
    (@authorization ecr) => { $crate::operations::Authorization::Repository };
    (@authorization $service:ident) => { $crate::operations::Authorization::Policies };
    (@authorization $service:ident $authorization:ident) => { $crate::operations::Authorization::$authorization };
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
        self.effect == Effect::Read && !matches!(self.name, "GetSessionToken" | "GetAuthorizationToken")
    }
}

/// Every operation the server routes.
pub static OPERATIONS: &[Operation] = &[
    sts::GET_CALLER_IDENTITY,
    sts::GET_SESSION_TOKEN,
    sts::ASSUME_ROLE,
    iam::users::CREATE_USER,
    iam::users::GET_USER,
    iam::users::LIST_USERS,
    iam::users::DELETE_USER,
    iam::users::UPDATE_USER,
    iam::access_keys::CREATE_ACCESS_KEY,
    iam::access_keys::LIST_ACCESS_KEYS,
    iam::access_keys::DELETE_ACCESS_KEY,
    iam::access_keys::UPDATE_ACCESS_KEY,
    iam::access_keys::GET_ACCESS_KEY_LAST_USED,
    iam::simulator::SIMULATE_CUSTOM_POLICY,
    iam::simulator::GET_CONTEXT_KEYS_FOR_CUSTOM_POLICY,
    iam::principal_simulator::SIMULATE_PRINCIPAL_POLICY,
    iam::principal_simulator::GET_CONTEXT_KEYS_FOR_PRINCIPAL_POLICY,
    iam::account::GET_ACCOUNT_SUMMARY,
    iam::account::GET_ACCOUNT_AUTHORIZATION_DETAILS,
    iam::inline_policies::PUT_USER_POLICY,
    iam::inline_policies::GET_USER_POLICY,
    iam::inline_policies::LIST_USER_POLICIES,
    iam::inline_policies::DELETE_USER_POLICY,
    iam::groups::CREATE_GROUP,
    iam::groups::GET_GROUP,
    iam::groups::LIST_GROUPS,
    iam::groups::DELETE_GROUP,
    iam::groups::ADD_USER_TO_GROUP,
    iam::groups::REMOVE_USER_FROM_GROUP,
    iam::groups::LIST_GROUPS_FOR_USER,
    iam::inline_policies::PUT_GROUP_POLICY,
    iam::inline_policies::GET_GROUP_POLICY,
    iam::inline_policies::LIST_GROUP_POLICIES,
    iam::inline_policies::DELETE_GROUP_POLICY,
    iam::attachments::ATTACH_USER_POLICY,
    iam::attachments::DETACH_USER_POLICY,
    iam::attachments::LIST_ATTACHED_USER_POLICIES,
    iam::attachments::ATTACH_GROUP_POLICY,
    iam::attachments::DETACH_GROUP_POLICY,
    iam::attachments::LIST_ATTACHED_GROUP_POLICIES,
    iam::attachments::ATTACH_ROLE_POLICY,
    iam::attachments::DETACH_ROLE_POLICY,
    iam::attachments::LIST_ATTACHED_ROLE_POLICIES,
    iam::roles::CREATE_ROLE,
    iam::roles::GET_ROLE,
    iam::roles::LIST_ROLES,
    iam::roles::UPDATE_ROLE,
    iam::roles::UPDATE_ROLE_DESCRIPTION,
    iam::roles::UPDATE_ASSUME_ROLE_POLICY,
    iam::roles::DELETE_ROLE,
    iam::roles::CREATE_SERVICE_LINKED_ROLE,
    iam::inline_policies::PUT_ROLE_POLICY,
    iam::inline_policies::GET_ROLE_POLICY,
    iam::inline_policies::LIST_ROLE_POLICIES,
    iam::inline_policies::DELETE_ROLE_POLICY,
    iam::boundaries::PUT_USER_PERMISSIONS_BOUNDARY,
    iam::boundaries::DELETE_USER_PERMISSIONS_BOUNDARY,
    iam::boundaries::PUT_ROLE_PERMISSIONS_BOUNDARY,
    iam::boundaries::DELETE_ROLE_PERMISSIONS_BOUNDARY,
    iam::tags::TAG_USER,
    iam::tags::UNTAG_USER,
    iam::tags::LIST_USER_TAGS,
    iam::tags::TAG_ROLE,
    iam::tags::UNTAG_ROLE,
    iam::tags::LIST_ROLE_TAGS,
    iam::tags::TAG_POLICY,
    iam::tags::UNTAG_POLICY,
    iam::tags::LIST_POLICY_TAGS,
    iam::policies::CREATE_POLICY,
    iam::policies::GET_POLICY,
    iam::policies::DELETE_POLICY,
    iam::policies::LIST_POLICIES,
    iam::policies::CREATE_POLICY_VERSION,
    iam::policies::GET_POLICY_VERSION,
    iam::policies::LIST_POLICY_VERSIONS,
    iam::policies::DELETE_POLICY_VERSION,
    iam::policies::SET_DEFAULT_POLICY_VERSION,
    iam::policies::LIST_ENTITIES_FOR_POLICY,
    iam::instance_profiles::CREATE_INSTANCE_PROFILE,
    iam::instance_profiles::GET_INSTANCE_PROFILE,
    iam::instance_profiles::LIST_INSTANCE_PROFILES,
    iam::instance_profiles::DELETE_INSTANCE_PROFILE,
    iam::instance_profiles::ADD_ROLE_TO_INSTANCE_PROFILE,
    iam::instance_profiles::REMOVE_ROLE_FROM_INSTANCE_PROFILE,
    iam::instance_profiles::LIST_INSTANCE_PROFILES_FOR_ROLE,
    cloudtrail::LOOKUP_EVENTS,
    ssm::activations::CREATE_ACTIVATION,
    ssm::activations::DESCRIBE_ACTIVATIONS,
    ssm::activations::DELETE_ACTIVATION,
    ssm::instances::DESCRIBE_INSTANCE_INFORMATION,
    ssm::instances::DEREGISTER_MANAGED_INSTANCE,
    ssm::instances::UPDATE_INSTANCE_INFORMATION,
    ssm::instances::ADD_TAGS_TO_RESOURCE,
    ssm::instances::REMOVE_TAGS_FROM_RESOURCE,
    ssm::instances::LIST_TAGS_FOR_RESOURCE,
    ecs::clusters::CREATE_CLUSTER,
    ecs::clusters::DESCRIBE_CLUSTERS,
    ecs::clusters::LIST_CLUSTERS,
    ecs::clusters::DELETE_CLUSTER,
    ecs::clusters::UPDATE_CLUSTER,
    ecs::task_definitions::REGISTER_TASK_DEFINITION,
    ecs::task_definitions::DESCRIBE_TASK_DEFINITION,
    ecs::task_definitions::LIST_TASK_DEFINITIONS,
    ecs::task_definitions::LIST_TASK_DEFINITION_FAMILIES,
    ecs::task_definitions::DEREGISTER_TASK_DEFINITION,
    ecs::task_definitions::DELETE_TASK_DEFINITIONS,
    ecs::container_instances::REGISTER_CONTAINER_INSTANCE,
    ecs::container_instances::DEREGISTER_CONTAINER_INSTANCE,
    ecs::container_instances::DESCRIBE_CONTAINER_INSTANCES,
    ecs::container_instances::LIST_CONTAINER_INSTANCES,
    ecs::container_instances::UPDATE_CONTAINER_INSTANCES_STATE,
    ecs::container_instances::PUT_ATTRIBUTES,
    ecs::container_instances::DELETE_ATTRIBUTES,
    ecs::container_instances::LIST_ATTRIBUTES,
    ecs::tasks::RUN_TASK,
    ecs::tasks::START_TASK,
    ecs::tasks::STOP_TASK,
    ecs::tasks::DESCRIBE_TASKS,
    ecs::tasks::LIST_TASKS,
    ecs::tasks::SUBMIT_TASK_STATE_CHANGE,
    ecs::tasks::SUBMIT_CONTAINER_STATE_CHANGE,
    ecs::tasks::POLL,
    ecs::task_credentials::GET_TASK_CREDENTIALS,
    ecs::services::CREATE_SERVICE,
    ecs::services::UPDATE_SERVICE,
    ecs::services::DELETE_SERVICE,
    ecs::services::DESCRIBE_SERVICES,
    ecs::services::LIST_SERVICES,
    logs::groups::CREATE_LOG_GROUP,
    logs::groups::DELETE_LOG_GROUP,
    logs::groups::DESCRIBE_LOG_GROUPS,
    logs::groups::CREATE_LOG_STREAM,
    logs::groups::DELETE_LOG_STREAM,
    logs::groups::DESCRIBE_LOG_STREAMS,
    logs::groups::PUT_RETENTION_POLICY,
    logs::groups::DELETE_RETENTION_POLICY,
    logs::events::PUT_LOG_EVENTS,
    logs::events::GET_LOG_EVENTS,
    logs::events::FILTER_LOG_EVENTS,
    ecr::repositories::CREATE_REPOSITORY,
    ecr::repositories::DESCRIBE_REPOSITORIES,
    ecr::repositories::DELETE_REPOSITORY,
    ecr::repositories::PUT_IMAGE_TAG_MUTABILITY,
    ecr::auth::GET_AUTHORIZATION_TOKEN,
    ecr::policies::SET_REPOSITORY_POLICY,
    ecr::policies::GET_REPOSITORY_POLICY,
    ecr::policies::DELETE_REPOSITORY_POLICY,
    ecr::images::PUT_IMAGE,
    ecr::images::BATCH_GET_IMAGE,
    ecr::images::LIST_IMAGES,
    ecr::images::DESCRIBE_IMAGES,
    ecr::images::BATCH_DELETE_IMAGE,
    ecr::layers::GET_DOWNLOAD_URL_FOR_LAYER,
    ecr::layers::BATCH_CHECK_LAYER_AVAILABILITY,
    ecr::layers::INITIATE_LAYER_UPLOAD,
    ecr::layers::UPLOAD_LAYER_PART,
    ecr::layers::COMPLETE_LAYER_UPLOAD,
];

/// The protocol a SigV4 service speaks.
pub fn protocol_of(service: &str) -> Protocol {
    match service {
        "iam" | "sts" => Protocol::Query,
        _ => Protocol::Json,
    }
}

/// The operation a service and action name reach.
pub fn find(service: &str, name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|operation| operation.service == service && operation.name == name)
}

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

/// `error` as `service` (a SigV4 service name) answers it: an [`internal`] failure becomes
/// that service's own internal error, as its model defines it (each service's `errors`
/// module); every other error is unchanged.
pub fn in_service(service: &str, error: AwsError) -> AwsError {
    if error.code != INTERNAL_FAILURE || error.status != 500 {
        return error;
    }
    match service {
        "iam" => iam::errors::internal_error(),
        "sts" => sts::errors::internal_error(),
        "ssm" => ssm::errors::internal_error(),
        "ecs" => ecs::errors::internal_error(),
        "ecr" => ecr::errors::internal_error(),
        "logs" => logs::errors::internal_error(),
        "cloudtrail" => cloudtrail::errors::internal_error(),
        // A service Homeport does not route: AWS's common code, as it is.
        _ => error,
    }
}

/// Checks an IAM name (users, policies) against AWS's pattern and length.
pub fn check_name(value: &str, member: &str, max: usize) -> Result<(), AwsError> {
    let valid_chars = value.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if value.is_empty() || value.chars().count() > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    if !valid_chars {
        return Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

/// Checks an IAM path: `/` alone, or starting and ending with `/`, at most 512 characters.
pub fn check_path(value: &str) -> Result<(), AwsError> {
    let valid = value.starts_with('/')
        && value.ends_with('/')
        && value.len() <= 512
        && value.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if valid {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{value}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )))
    }
}

pub fn no_such_user(name: &str) -> AwsError {
    iam::entities::no_such(iam::entities::Kind::User, name)
}

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
    pub(crate) fn internal_as_answered(service: &str, code: &str, status: u16) -> AwsError {
        let error = in_service(service, internal("disk I/O error at /var/lib/secret"));
        assert_eq!((error.code.as_str(), error.status), (code, status), "{service}");
        assert!(!error.message.contains("secret"), "{}", error.message);
        let namespace = if service == "sts" { STS_NAMESPACE } else { IAM_NAMESPACE };
        let reply = crate::pipeline::error_reply(&error, protocol_of(service), namespace, "request-1");
        assert_eq!(reply.status, status);
        let body = String::from_utf8_lossy(&reply.body).into_owned();
        match protocol_of(service) {
            Protocol::Query => {
                assert_eq!(reply.content_type, "text/xml");
                assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
                assert!(body.contains("<Type>Receiver</Type>"), "{body}");
                assert!(body.contains(&format!("xmlns=\"{namespace}\"")), "{body}");
            }
            Protocol::Json => {
                assert_eq!(reply.content_type, "application/x-amz-json-1.1");
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                assert_eq!(json["__type"], code, "{body}");
                assert_eq!(json["message"], error.message.as_str(), "{body}");
            }
        }
        // Any other error passes through unchanged.
        let other = in_service(service, validation("bad"));
        assert_eq!(other.code, "ValidationError");
        error
    }

    #[test]
    fn every_routed_service_has_its_own_internal_error() {
        for operation in OPERATIONS {
            let error = in_service(operation.service, internal("x"));
            assert_eq!(error.status, 500, "{}", operation.service);
            let modelled = !matches!(operation.service, "sts" | "cloudtrail");
            assert_eq!(error.code != INTERNAL_FAILURE, modelled, "{}", operation.service);
        }
    }

    fn flushing() -> Vec<&'static str> {
        OPERATIONS.iter().filter(|operation| operation.flushes_iam_cache()).map(|operation| operation.name).collect()
    }

    #[test]
    fn only_writes_of_what_the_iam_cache_holds_flush_it() {
        let flushing = flushing();
        // Every IAM mutation does, and the one SSM call that removes sessions.
        for operation in OPERATIONS.iter().filter(|operation| operation.service == "iam") {
            assert_eq!(
                operation.flushes_iam_cache(),
                operation.effect != Effect::Read,
                "{} (a mutation of IAM flushes, a read does not)",
                operation.name
            );
        }
        for name in ["CreateUser", "DeleteAccessKey", "UpdateAccessKey", "AttachRolePolicy", "PutUserPolicy", "TagRole"]
        {
            assert!(flushing.contains(&name), "{name} must flush");
        }
        assert!(flushing.contains(&"DeregisterManagedInstance"), "deregistering deletes the instance's sessions");
        let outside_iam: Vec<_> = OPERATIONS
            .iter()
            .filter(|operation| operation.service != "iam" && operation.flushes_iam_cache())
            .map(|operation| operation.name)
            .collect();
        assert_eq!(outside_iam, ["DeregisterManagedInstance"]);
    }

    #[test]
    fn the_agents_traffic_and_logs_leave_the_iam_cache_alone() {
        let agent = [
            "Poll",
            "SubmitTaskStateChange",
            "SubmitContainerStateChange",
            "GetTaskCredentials",
            "RegisterContainerInstance",
            "UpdateInstanceInformation",
            "PutLogEvents",
        ];
        for name in agent {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(|operation| operation.effect), Some(Effect::AgentTraffic), "{name}");
            assert!(!flushing().contains(&name), "{name} must not flush");
        }
        // Every call only an instance's own session may make is the agent's.
        for operation in OPERATIONS.iter().filter(|operation| operation.authorization == Authorization::Instance) {
            assert_eq!(operation.effect, Effect::AgentTraffic, "{}", operation.name);
        }
        let logs: Vec<_> = OPERATIONS.iter().filter(|operation| operation.service == "logs").collect();
        assert!(logs.len() >= 11);
        for operation in logs {
            assert!(!operation.flushes_iam_cache(), "{}", operation.name);
        }
        for name in ["Poll", "PutLogEvents", "CreateCluster", "RunTask", "PutImage", "CreateLogGroup", "AssumeRole"] {
            assert!(!flushing().contains(&name), "{name} must not flush");
        }
    }

    /// The trail's `readOnly` stays CloudTrail's, by event name; the declarations agree with it
    /// but for three reads whose names the rule does not know as reads, which stay writes in
    /// the trail (as they always were there).
    #[test]
    fn declared_reads_and_cloudtrails_read_only_events_agree() {
        let reads_named_otherwise = ["FilterLogEvents", "BatchGetImage", "BatchCheckLayerAvailability"];
        for operation in OPERATIONS {
            let read_only = crate::audit::read_only_event(operation.name);
            match operation.effect {
                Effect::Read => assert!(
                    read_only || reads_named_otherwise.contains(&operation.name),
                    "{} is declared a read",
                    operation.name
                ),
                Effect::Write | Effect::IamWrite => assert!(!read_only, "{} is declared a write", operation.name),
                // GetTaskCredentials is CloudTrail-read-only, Poll is not: either may be.
                Effect::AgentTraffic => {}
            }
        }
        for name in reads_named_otherwise {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(|operation| operation.effect), Some(Effect::Read), "{name}");
        }
    }

    /// Only reads that hand out nothing are answered without their audit record.
    #[test]
    fn credentials_are_never_handed_out_unrecorded() {
        for name in ["GetSessionToken", "GetAuthorizationToken", "GetTaskCredentials", "AssumeRole", "Poll"] {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(Operation::changes_nothing), Some(false), "{name}");
        }
        for name in ["GetUser", "ListRoles", "DescribeTasks", "LookupEvents", "SimulatePrincipalPolicy"] {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(Operation::changes_nothing), Some(true), "{name}");
        }
    }
}
