//! What the ECS operations share: their declaration (awsJson 1.1, target prefix
//! `AmazonEC2ContainerServiceV20141113`, action `ecs:NAME`), ECS's errors, ARNs, tags and
//! `nextToken` paging.

pub(crate) mod account_settings;
pub(crate) mod agent_calls;
pub(crate) mod capacity_providers;
pub(crate) mod channel;
pub(crate) mod clusters;
pub(crate) mod container_instances;
pub(crate) mod daemon_task_definitions;
pub(crate) mod daemons;
pub(crate) mod errors;
pub(crate) mod exec;
pub(crate) mod express_gateway;
pub(crate) mod fargate;
pub(crate) mod model;
pub(crate) mod namespaces;
pub(crate) mod query;
pub(crate) mod scheduler;
pub(crate) mod service_deployments;
pub(crate) mod service_plan;
pub(crate) mod services;
pub(crate) mod tagging;
pub(crate) mod task_credentials;
pub(crate) mod task_definition_checks;
pub(crate) mod task_definitions;
pub(crate) mod task_protection;
pub(crate) mod task_secrets;
pub(crate) mod task_sets;
pub(crate) mod tasks;
pub(crate) mod unsupported;

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::Statement;

use crate::operations::internal;
use crate::regions::Scope;

/// The `X-Amz-Target` prefix of ECS.
pub const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113";

pub use errors::{client, cluster_not_found, invalid_parameter};

/// `arn:aws:ecs:REGION:ACCOUNT:KIND/NAME` in `scope`.
pub fn arn(scope: Scope<'_>, kind: &str, name: &str) -> String {
    format!("arn:aws:ecs:{}:{}:{kind}/{name}", scope.region, scope.account)
}

/// The region an ARN names (`arn:aws:ecs:REGION:...`; empty for a malformed one): what a
/// resource made from another (a cluster's task) is in.
pub fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// The cluster ARN a `cluster` member names (a name or an ARN; `default` when absent).
pub fn cluster_arn(scope: Scope<'_>, body: &Json) -> String {
    let cluster = body.get("cluster").and_then(Json::as_str).unwrap_or("default");
    if cluster.starts_with("arn:") { cluster.to_owned() } else { arn(scope, "cluster", cluster) }
}

/// A string member, or ECS's error for a missing one.
pub fn required<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member)
        .and_then(Json::as_str)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| invalid_parameter(format!("{member} can not be blank.")))
}

/// A request body of the agent protocol read as its `T` (`agent_protocol`); a body of
/// another shape is refused as an invalid parameter.
pub fn agent_request<T: serde::de::DeserializeOwned>(body: &Json) -> Result<T, AwsError> {
    T::deserialize(body).map_err(|error| invalid_parameter(format!("The request is not well formed: {error}.")))
}

/// An agent protocol message as JSON (an operation's answer, or what the task model reads).
pub fn agent_json<T: serde::Serialize>(message: &T) -> Result<Json, AwsError> {
    serde_json::to_value(message).map_err(internal)
}

/// A string member already read, or ECS's error for a missing one (as [`required`]).
pub fn not_blank<'a>(text: &'a str, member: &str) -> Result<&'a str, AwsError> {
    if text.is_empty() { Err(invalid_parameter(format!("{member} can not be blank."))) } else { Ok(text) }
}

/// The strings of a list member (`[]` when absent).
pub fn strings<'a>(body: &'a Json, member: &str) -> Vec<&'a str> {
    body.get(member)
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

/// Whether the request's `include` list asks for `field` (`TAGS`, `STATISTICS`, ...).
pub fn includes(body: &Json, field: &str) -> bool {
    strings(body, "include").contains(&field)
}

pub use crate::operations::put;

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "ecs",
    protocol: aws_protocol::Protocol::Json,
    namespace: ECS_TARGET,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
    admits: crate::operations::admit_all,
};

/// ECS's `tags` (`[{"key", "value"}]`), validated as ECS does (at most 50, no `aws:` keys).
pub fn tags_from_body(body: &Json) -> Result<Vec<(String, String)>, AwsError> {
    let Some(items) = body.get("tags").and_then(Json::as_array) else { return Ok(Vec::new()) };
    if items.len() > 50 {
        return Err(invalid_parameter("The maximum number of tags on a resource is 50."));
    }
    items
        .iter()
        .map(|item| {
            let key = item.get("key").and_then(Json::as_str).unwrap_or_default();
            let value = item.get("value").and_then(Json::as_str).unwrap_or_default();
            if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
                return Err(invalid_parameter("Tag keys have 1 to 128 characters and values at most 256."));
            }
            if key.to_lowercase().starts_with("aws:") {
                return Err(invalid_parameter("Tag keys may not start with 'aws:'."));
            }
            Ok((key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Refuses a create that sets `tags` on `arn` unless the caller may also `ecs:TagResource`
/// it, while the caller's `tagResourceAuthorization` account setting is `on` (ECS's
/// default); nothing to check without tags.
pub async fn authorize_tags(
    ctx: &crate::operations::Ctx<'_>,
    arn: &str,
    tags: &[(String, String)],
) -> Result<(), AwsError> {
    if tags.is_empty() || account_settings::effective_for_caller(ctx, "tagResourceAuthorization").await? != "on" {
        return Ok(());
    }
    crate::authz::tag_on_create(ctx, arn).await
}

/// Statements that set tags on an ECS resource (by ARN).
pub fn set_tags(account: &str, arn: &str, tags: &[(String, String)]) -> Vec<Statement> {
    crate::tags::set(account, "ecs", arn, tags)
}

/// An ECS resource's tags (`[{"key", "value"}]`).
pub async fn load_tags(store: &store::Store, account: &str, arn: &str) -> Result<Vec<Json>, AwsError> {
    let tags = crate::tags::of(store, account, "ecs", arn).await.map_err(crate::errors::internal)?;
    Ok(tags.into_iter().map(|(key, value)| json!({"key": key, "value": value})).collect())
}

/// A request's `maxResults` (`default` when absent), refused outside `1..=max`.
pub fn max_results(body: &Json, max: i64, default: i64) -> Result<usize, AwsError> {
    let size = match body.get("maxResults") {
        None | Some(Json::Null) => default,
        Some(value) => value
            .as_i64()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid_parameter(format!("maxResults must be between 1 and {max}.")))?,
    };
    Ok(usize::try_from(size).unwrap_or(100))
}

/// ECS's refusal of a `nextToken` it did not hand out.
pub fn invalid_token() -> AwsError {
    invalid_parameter("Invalid nextToken.")
}

/// `maxResults` / `nextToken` paging over a list read whole (tokens are offsets into a
/// stable order); lists that grow with a cluster page by key instead (ListTasks).
pub struct Page {
    start: usize,
    size: usize,
}

impl Page {
    pub fn from_body(body: &Json, max: i64, default: i64) -> Result<Page, AwsError> {
        let size = max_results(body, max, default)?;
        let start = match body.get("nextToken").and_then(Json::as_str) {
            None => 0,
            Some(token) => token.parse::<usize>().map_err(|_| invalid_token())?,
        };
        Ok(Page { start, size })
    }

    /// `{LIST: this page, "nextToken"?}`.
    pub fn answer(&self, list: &str, items: Vec<Json>) -> Json {
        crate::operations::json_page(list, "nextToken", items, self.start, self.size)
    }
}

/// Reads a JSON column.
pub fn json_column(row: &store::Row, index: usize) -> Result<Json, AwsError> {
    serde_json::from_str(&row.text(index).map_err(internal)?).map_err(internal)
}
