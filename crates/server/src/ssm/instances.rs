//! Managed instances (servers registered with an activation): DescribeInstanceInformation,
//! DeregisterManagedInstance, UpdateInstanceInformation (the agent's heartbeat) and the tags
//! of `ManagedInstance` resources (and of `Parameter` ones, which `parameter_history` keeps).
//!
//! `PingStatus` is `Online` while the last heartbeat is younger than the server's ping
//! timeout, `ConnectionLost` after. Deregistering an instance deletes it and every session
//! issued to it in one transaction, so its credentials stop working on the next request.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::ssm;
use crate::ssm::model::instance::{self as model, HostInformation, TagsAdded};
use crate::ssm::model::tags::{self, ResourceKind};
use crate::ssm::parameter_history;

/// SSM's resource type (and our tags' `resource_kind`) for managed instances.
const MANAGED_INSTANCE: &str = ResourceKind::ManagedInstance.as_str();

fn instance_arn(ctx: &Ctx<'_>, id: &str) -> String {
    format!("arn:aws:ssm:{}:{}:managed-instance/{id}", ctx.region(), ctx.account())
}

fn invalid_instance(id: &str) -> AwsError {
    AwsError::new("InvalidInstanceId", 400, format!("Instance Id {id} is not valid or is not registered."))
}

/// The `InstanceId` member (present: the pipeline has checked the model), checked against
/// SSM's pattern for managed instances.
fn instance_id(body: &Json) -> Result<&str, AwsError> {
    let id = body.get("InstanceId").and_then(Json::as_str).unwrap_or_default();
    let valid = id.strip_prefix("mi-").is_some_and(|hex| hex.len() == 17 && hex.chars().all(|c| c.is_ascii_hexdigit()));
    if valid { Ok(id) } else { Err(invalid_instance(id)) }
}

fn instance_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![instance_arn(ctx, instance_id(ctx.body)?)])
}

/// The managed instance a tagging request names (`ResourceType` must be `ManagedInstance`).
fn tagged_instance<'a>(ctx: &'a Ctx<'_>) -> Result<&'a str, AwsError> {
    match tagged(ctx)? {
        Tagged::ManagedInstance(id) => Ok(id),
        Tagged::Parameter(_) => {
            Err(AwsError::new("InvalidResourceType", 400, "The resource type Parameter is not supported."))
        }
    }
}

/// What a tagging request names: a managed instance or a parameter (`ResourceType`).
enum Tagged<'a> {
    ManagedInstance(&'a str),
    Parameter(&'a str),
}

fn tagged<'a>(ctx: &'a Ctx<'_>) -> Result<Tagged<'a>, AwsError> {
    let kind = ctx.body.get("ResourceType").and_then(Json::as_str).unwrap_or_default();
    let id = ctx
        .body
        .get("ResourceId")
        .and_then(Json::as_str)
        .ok_or_else(|| AwsError::new("InvalidResourceId", 400, "The resource ID is not valid."))?;
    match kind {
        MANAGED_INSTANCE => Ok(Tagged::ManagedInstance(id)),
        "Parameter" => Ok(Tagged::Parameter(id)),
        _ => Err(AwsError::new("InvalidResourceType", 400, format!("The resource type {kind} is not supported."))),
    }
}

/// The ARN a tagging request is authorized on.
fn tagged_arn(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    match tagged(ctx)? {
        Tagged::ManagedInstance(id) => Ok(vec![instance_arn(ctx, id)]),
        Tagged::Parameter(name) => Ok(vec![parameter_history::tagged_parameter_arn(ctx, name)?]),
    }
}

operation!(
    ssm,
    DESCRIBE_INSTANCE_INFORMATION,
    "DescribeInstanceInformation",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(describe_instance_information(ctx))
);
operation!(
    ssm,
    DEREGISTER_MANAGED_INSTANCE,
    "DeregisterManagedInstance",
    IamWrite,
    |ctx| Box::pin(async move { instance_resource(ctx) }),
    |ctx| json_op(deregister_managed_instance(ctx))
);
operation!(
    ssm,
    UPDATE_INSTANCE_INFORMATION,
    "UpdateInstanceInformation",
    AgentTraffic,
    |ctx| Box::pin(async move { instance_resource(ctx) }),
    |ctx| json_op(update_instance_information(ctx)),
    authorization = Instance
);
operation!(
    ssm,
    ADD_TAGS_TO_RESOURCE,
    "AddTagsToResource",
    Write,
    |ctx| Box::pin(async move { tagged_arn(ctx) }),
    |ctx| json_op(add_tags_to_resource(ctx))
);
operation!(
    ssm,
    REMOVE_TAGS_FROM_RESOURCE,
    "RemoveTagsFromResource",
    Write,
    |ctx| Box::pin(async move { tagged_arn(ctx) }),
    |ctx| json_op(remove_tags_from_resource(ctx))
);
operation!(
    ssm,
    LIST_TAGS_FOR_RESOURCE,
    "ListTagsForResource",
    Read,
    |ctx| Box::pin(async move { tagged_arn(ctx) }),
    |ctx| json_op(list_tags_for_resource(ctx))
);

/// Whether a registered instance exists in this account.
async fn exists(ctx: &Ctx<'_>, id: &str) -> Result<bool, AwsError> {
    Ok(model::exists(&ctx.app.store, ctx.scope(), id).await?)
}

const FILTER_KEYS: &[&str] = &[
    "InstanceIds",
    "AgentVersion",
    "PingStatus",
    "PlatformTypes",
    "ActivationIds",
    "IamRole",
    "ResourceType",
    "AssociationStatus",
];

async fn describe_instance_information(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ssm::Page::from_body(ctx.body, 5..=50, 50)?;
    let mut filters = ssm::filters(
        ctx.body,
        "InstanceInformationFilterList",
        "key",
        "valueSet",
        FILTER_KEYS,
        "InvalidInstanceInformationFilterValue",
    )?;
    // `Filters` takes the same keys, and `tag:KEY` ones.
    if let Some(items) = ctx.body.get("Filters").and_then(Json::as_array) {
        for item in items {
            let key = item.get("Key").and_then(Json::as_str).unwrap_or_default();
            if !FILTER_KEYS.contains(&key) && !key.starts_with("tag:") && key != "tag-key" {
                return Err(AwsError::new("InvalidFilterKey", 400, format!("The filter key {key} is not valid.")));
            }
            let values = item
                .get("Values")
                .and_then(Json::as_array)
                .map(|values| values.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            filters.push((key.to_owned(), values));
        }
    }
    let now = ids::now();
    let mut instances = Vec::new();
    for stored in model::all(&ctx.app.store, ctx.scope()).await? {
        let ping_status = stored.ping_status(now, ctx.app.instance_ping_timeout);
        let mut instance = json!({
            "InstanceId": stored.id,
            "PingStatus": ping_status.as_str(),
            "ActivationId": stored.activation_id,
            "IamRole": stored.role_name,
            "RegistrationDate": stored.registered_at,
            "ResourceType": MANAGED_INSTANCE,
            "IsLatestVersion": true,
            "SourceId": stored.id,
            "SourceType": "AWS::SSM::ManagedInstance",
        });
        let host = stored.host;
        for (member, value) in [
            ("Name", stored.name),
            ("IPAddress", host.ip_address),
            ("ComputerName", host.computer_name),
            ("PlatformName", host.platform_name),
            ("PlatformType", host.platform_type),
            ("PlatformVersion", host.platform_version),
            ("AgentVersion", host.agent_version),
        ] {
            if let Some(value) = value {
                ssm::put(&mut instance, member, json!(value));
            }
        }
        if let Some(at) = stored.last_ping_at {
            ssm::put(&mut instance, "LastPingDateTime", json!(at));
        }
        let tags =
            ssm::tags_json(tags::of(&ctx.app.store, ctx.account(), ResourceKind::ManagedInstance, &stored.id).await?);
        if matches_filters(&instance, &tags, &filters) {
            instances.push(instance);
        }
    }
    Ok(page.answer("InstanceInformationList", instances))
}

/// Whether an instance passes every filter (values within one filter are alternatives).
fn matches_filters(instance: &Json, tags: &[Json], filters: &[(String, Vec<String>)]) -> bool {
    filters.iter().all(|(key, values)| {
        let field = |member: &str| instance.get(member).and_then(Json::as_str).unwrap_or_default().to_owned();
        let candidates: Vec<String> = match key.as_str() {
            "InstanceIds" => vec![field("InstanceId")],
            "AgentVersion" => vec![field("AgentVersion")],
            "PingStatus" => vec![field("PingStatus")],
            "PlatformTypes" => vec![field("PlatformType")],
            "ActivationIds" => vec![field("ActivationId")],
            "IamRole" => vec![field("IamRole")],
            "ResourceType" => vec![field("ResourceType")],
            "tag-key" => tags.iter().filter_map(|tag| tag["Key"].as_str().map(str::to_owned)).collect(),
            other => match other.strip_prefix("tag:") {
                Some(tag_key) => tags
                    .iter()
                    .filter(|tag| tag["Key"] == tag_key)
                    .filter_map(|tag| tag["Value"].as_str().map(str::to_owned))
                    .collect(),
                None => Vec::new(),
            },
        };
        candidates.iter().any(|candidate| values.contains(candidate))
    })
}

async fn deregister_managed_instance(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = instance_id(ctx.body)?;
    if model::deregister(&ctx.app.store, ctx.scope(), id).await? { Ok(json!({})) } else { Err(invalid_instance(id)) }
}

async fn update_instance_information(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = instance_id(ctx.body)?;
    // Only the instance itself reports on itself: its own role session was issued to it (a
    // session of one of its tasks is not).
    if ctx.identity.instance() != Some(id) {
        return Err(invalid_instance(id));
    }
    let text = |member: &str, max: usize| -> Option<String> {
        ctx.body.get(member).and_then(Json::as_str).map(|text| text.chars().take(max).collect::<String>())
    };
    let host = HostInformation {
        ip_address: text("IPAddress", 46),
        computer_name: text("ComputerName", 255),
        platform_name: text("PlatformName", 255),
        platform_type: text("PlatformType", 32),
        platform_version: text("PlatformVersion", 255),
        agent_version: text("AgentVersion", 64),
    };
    if !model::record_heartbeat(&ctx.app.store, ctx.scope(), id, &host, ids::now()).await? {
        return Err(invalid_instance(id));
    }
    Ok(json!({}))
}

async fn add_tags_to_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let tags = ssm::tags_from_body(ctx.body)?;
    if let Tagged::Parameter(name) = tagged(ctx)? {
        return parameter_history::add_parameter_tags(ctx, name, &tags).await;
    }
    let id = tagged_instance(ctx)?;
    if !exists(ctx, id).await? {
        return Err(AwsError::new("InvalidResourceId", 400, format!("The resource ID {id} is not valid.")));
    }
    match model::add_tags(&ctx.app.store, ctx.scope(), id, &tags).await? {
        TagsAdded::Added => Ok(json!({})),
        TagsAdded::TooMany => Err(ssm::too_many_tags()),
        TagsAdded::NoInstance => {
            Err(AwsError::new("InvalidResourceId", 400, format!("The resource ID {id} is not valid.")))
        }
    }
}

async fn remove_tags_from_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let keys: Vec<&str> = ctx
        .body
        .get("TagKeys")
        .and_then(Json::as_array)
        .map(|keys| keys.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if let Tagged::Parameter(name) = tagged(ctx)? {
        return parameter_history::remove_parameter_tags(ctx, name, &keys).await;
    }
    let id = tagged_instance(ctx)?;
    if !exists(ctx, id).await? {
        return Err(AwsError::new("InvalidResourceId", 400, format!("The resource ID {id} is not valid.")));
    }
    tags::remove(&ctx.app.store, ctx.account(), ResourceKind::ManagedInstance, id, &keys).await?;
    Ok(json!({}))
}

async fn list_tags_for_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if let Tagged::Parameter(name) = tagged(ctx)? {
        return parameter_history::list_parameter_tags(ctx, name).await;
    }
    let id = tagged_instance(ctx)?;
    if !exists(ctx, id).await? {
        return Err(AwsError::new("InvalidResourceId", 400, format!("The resource ID {id} is not valid.")));
    }
    let tags = tags::of(&ctx.app.store, ctx.account(), ResourceKind::ManagedInstance, id).await?;
    Ok(json!({"TagList": ssm::tags_json(tags)}))
}
