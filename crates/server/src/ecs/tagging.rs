//! ECS's tagging operations: TagResource, UntagResource and ListTagsForResource, on every
//! taggable resource Homeport keeps (clusters, services, tasks, task definitions, container
//! instances, daemon task definitions), named by its ARN.
//!
//! Each is authorized on the ARN itself (`ecs:TagResource` with `aws:RequestTag/*` and
//! `aws:TagKeys`, `ecs:UntagResource` with `aws:TagKeys`). A resource is found in the caller's
//! account and the signed region only. What ECS answers, and Homeport with it: an ARN that is
//! not ECS's, or whose resource type takes no tags, `InvalidParameterException` "The ARN
//! provided is invalid."; a service, task or container instance ARN in the short (pre-2018)
//! format, `InvalidParameterException` "Long arn format must be used for tagging
//! operations"; a cluster that does not exist, `ClusterNotFoundException`; a deleted
//! (`INACTIVE`) cluster, to Tag and Untag, `InvalidParameterException` "The specified cluster
//! is inactive. Specify an active cluster and try again."; any other resource that does not
//! exist (every capacity provider, task set and daemon: Homeport makes none), `ResourceNotFoundException`.
//! Keys starting `aws:` are ECS's (its managed tags) and are neither set nor removed.
//!
//! A task's tags ([`task_tags`]) are fixed at its launch: those the launch gives, then those
//! `propagateTags` copies from its task definition or service (a key given wins), then, with
//! `enableECSManagedTags`, ECS's `aws:ecs:clusterName` (and `aws:ecs:serviceName` for a
//! service's task).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::tags::{self as model, PER_RESOURCE, Taggable};
use crate::ecs::{self, cluster_not_found, invalid_parameter};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(ecs, TAG_RESOURCE, "TagResource", Write, |ctx| Box::pin(async move { resource(ctx) }), |ctx| json_op(
    tag_resource(ctx)
));
operation!(ecs, UNTAG_RESOURCE, "UntagResource", Write, |ctx| Box::pin(async move { resource(ctx) }), |ctx| {
    json_op(untag_resource(ctx))
});
operation!(
    ecs,
    LIST_TAGS_FOR_RESOURCE,
    "ListTagsForResource",
    Read,
    |ctx| Box::pin(async move { resource(ctx) }),
    |ctx| json_op(list_tags_for_resource(ctx))
);

/// The resource a tagging request is authorized on: its `resourceArn`, as sent.
fn resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![ecs::required(ctx.body, "resourceArn")?.to_owned()])
}

/// The kind of resource an ECS ARN names, or ECS's refusal of the ARN.
fn kind_of(arn: &str) -> Result<Taggable, AwsError> {
    let invalid = || invalid_parameter("The ARN provided is invalid.");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, _partition, service, region, account, resource] = parts.as_slice() else { return Err(invalid()) };
    if *prefix != "arn" || *service != "ecs" || region.is_empty() || account.is_empty() {
        return Err(invalid());
    }
    let (kind, name) = resource.split_once('/').ok_or_else(invalid)?;
    let kind = Taggable::from_resource_type(kind).ok_or_else(invalid)?;
    if name.is_empty() {
        return Err(invalid());
    }
    let in_a_cluster =
        matches!(kind, Taggable::Service | Taggable::Task | Taggable::ContainerInstance | Taggable::Daemon);
    if in_a_cluster && !name.contains('/') {
        return Err(invalid_parameter("Long arn format must be used for tagging operations"));
    }
    Ok(kind)
}

/// The resource a request names, checked to exist (and, to change its tags, a cluster to be
/// `ACTIVE`): its ARN.
async fn existing<'a>(ctx: &'a Ctx<'_>, changing: bool) -> Result<&'a str, AwsError> {
    let arn = ecs::required(ctx.body, "resourceArn")?;
    let kind = kind_of(arn)?;
    let status = model::status_of(&ctx.app.store, ctx.scope(), kind, arn).await?;
    match (kind, status.as_deref()) {
        (Taggable::Cluster, None) => Err(cluster_not_found()),
        (Taggable::Cluster, Some("INACTIVE")) if changing => {
            Err(invalid_parameter("The specified cluster is inactive. Specify an active cluster and try again."))
        }
        (_, None) => Err(AwsError::new("ResourceNotFoundException", 400, "The specified resource could not be found.")),
        (_, Some(_)) => Ok(arn),
    }
}

async fn tag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let tags = ecs::tags_from_body(ctx.body)?;
    if tags.is_empty() {
        return Err(invalid_parameter("Tags can not be empty."));
    }
    let arn = existing(ctx, true).await?;
    let current = ecs::load_tags(&ctx.app.store, ctx.account(), arn).await?;
    let added = tags
        .iter()
        .filter(|(key, _)| !current.iter().any(|tag| tag.get("key").and_then(Json::as_str) == Some(key.as_str())))
        .count();
    if current.len() + added > PER_RESOURCE {
        return Err(invalid_parameter("The maximum number of tags on a resource is 50."));
    }
    ctx.app.store.transaction(ecs::set_tags(ctx.account(), arn, &tags)).await.map_err(crate::operations::internal)?;
    Ok(json!({}))
}

async fn untag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let keys = ecs::strings(ctx.body, "tagKeys");
    if keys.is_empty() {
        return Err(invalid_parameter("TagKeys can not be empty."));
    }
    if keys.iter().any(|key| key.to_lowercase().starts_with("aws:")) {
        return Err(invalid_parameter("Tag keys may not start with 'aws:'."));
    }
    let arn = existing(ctx, true).await?;
    ctx.app.store.transaction(model::remove(ctx.account(), arn, &keys)).await.map_err(crate::operations::internal)?;
    Ok(json!({}))
}

async fn list_tags_for_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let arn = existing(ctx, false).await?;
    Ok(json!({"tags": ecs::load_tags(&ctx.app.store, ctx.account(), arn).await?}))
}

/// Where a launch's `propagateTags` copies tags from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagate {
    None,
    TaskDefinition,
    Service,
}

/// A request's `propagateTags` (`NONE` when absent); `SERVICE` only where a service launches
/// the tasks. A value outside the model's enum is refused before this runs, so what is
/// refused here is `SERVICE` where no service launches them (RunTask, StartTask).
pub(crate) fn propagate(body: &Json, service: bool) -> Result<Propagate, AwsError> {
    match body.get("propagateTags").and_then(Json::as_str) {
        None | Some("NONE") => Ok(Propagate::None),
        Some("TASK_DEFINITION") => Ok(Propagate::TaskDefinition),
        Some("SERVICE") if service => Ok(Propagate::Service),
        Some(other) => Err(invalid_parameter(format!(
            "Invalid value for propagateTags: {other}. Valid values are TASK_DEFINITION and NONE."
        ))),
    }
}

/// A request's `enableECSManagedTags` (false when absent), refused unless a boolean.
pub(crate) fn managed(body: &Json) -> Result<bool, AwsError> {
    match body.get("enableECSManagedTags") {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(on)) => Ok(*on),
        Some(_) => Err(invalid_parameter("enableECSManagedTags must be a boolean.")),
    }
}

/// How a launch tags its tasks.
pub(crate) struct TaskTagging<'a> {
    pub given: &'a [(String, String)],
    pub propagate: Propagate,
    pub managed: bool,
    pub cluster_arn: &'a str,
    pub definition_arn: &'a str,
    /// The service launching the tasks (its ARN), if any.
    pub service_arn: Option<&'a str>,
}

/// The tags a launch's tasks carry (see the module's documentation), at most
/// [`PER_RESOURCE`] of the caller's (ECS's managed ones aside).
pub(crate) async fn task_tags(
    store: &store::Store,
    scope: Scope<'_>,
    tagging: &TaskTagging<'_>,
) -> Result<Vec<(String, String)>, AwsError> {
    let mut tags: Vec<(String, String)> = tagging.given.to_vec();
    let from = match (tagging.propagate, tagging.service_arn) {
        (Propagate::TaskDefinition, _) => Some(tagging.definition_arn),
        (Propagate::Service, Some(service)) => Some(service),
        _ => None,
    };
    if let Some(from) = from {
        for tag in ecs::load_tags(store, scope.account, from).await? {
            let text = |member: &str| tag.get(member).and_then(Json::as_str).unwrap_or_default().to_owned();
            let key = text("key");
            if !tags.iter().any(|(given, _)| *given == key) {
                tags.push((key, text("value")));
            }
        }
    }
    if tags.len() > PER_RESOURCE {
        return Err(invalid_parameter("The maximum number of tags on a resource is 50."));
    }
    if tagging.managed {
        let name = |arn: &str| arn.rsplit('/').next().unwrap_or_default().to_owned();
        tags.push(("aws:ecs:clusterName".to_owned(), name(tagging.cluster_arn)));
        if let Some(service) = tagging.service_arn {
            tags.push(("aws:ecs:serviceName".to_owned(), name(service)));
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    use crate::ecs::model::container_instance::tests::{ACCOUNT, CLUSTER, temp_store};
    use crate::testing::SCOPE;

    fn pairs(tags: &[(&str, &str)]) -> Vec<(String, String)> {
        tags.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[tokio::test]
    async fn a_task_carries_its_own_tags_then_the_propagated_then_ecss_managed() {
        let temp = temp_store().await;
        let store = &temp.store;
        let definition = "arn:aws:ecs:us-east-1:111122223333:task-definition/web:1";
        let service = "arn:aws:ecs:us-east-1:111122223333:service/edge/api";
        let set = |arn: &str, tags: &[(&str, &str)]| store.transaction(ecs::set_tags(ACCOUNT, arn, &pairs(tags)));
        set(definition, &[("team", "web"), ("tier", "front")]).await.unwrap();
        set(service, &[("team", "api")]).await.unwrap();
        let given = pairs(&[("team", "mine")]);
        let tagging = |propagate, managed, service_arn| TaskTagging {
            given: &given,
            propagate,
            managed,
            cluster_arn: CLUSTER,
            definition_arn: definition,
            service_arn,
        };
        let tags = |tagging| async move { task_tags(store, SCOPE, &tagging).await.unwrap() };
        assert_eq!(tags(tagging(Propagate::None, false, None)).await, pairs(&[("team", "mine")]));
        assert_eq!(
            tags(tagging(Propagate::TaskDefinition, false, None)).await,
            pairs(&[("team", "mine"), ("tier", "front")]),
            "a key given wins over the propagated"
        );
        assert_eq!(
            tags(tagging(Propagate::Service, true, Some(service))).await,
            pairs(&[("team", "mine"), ("aws:ecs:clusterName", "edge"), ("aws:ecs:serviceName", "api")])
        );
        assert_eq!(
            tags(tagging(Propagate::None, true, None)).await,
            pairs(&[("team", "mine"), ("aws:ecs:clusterName", "edge")])
        );
        assert_eq!(propagate(&json!({"propagateTags": "SERVICE"}), true).unwrap(), Propagate::Service);
        assert!(propagate(&json!({"propagateTags": "SERVICE"}), false).is_err(), "a standalone task has no service");
        assert!(managed(&json!({"enableECSManagedTags": "yes"})).is_err());
    }

    #[test]
    fn an_arn_names_its_kind_or_is_refused_as_ecs_refuses_it() {
        let kind = |arn: &str| kind_of(arn).map_err(|error| error.message);
        assert_eq!(kind("arn:aws:ecs:us-east-1:111122223333:cluster/web"), Ok(Taggable::Cluster));
        assert_eq!(kind("arn:aws:ecs:us-east-1:111122223333:task-definition/web:3"), Ok(Taggable::TaskDefinition));
        assert_eq!(
            kind("arn:aws:ecs:us-east-1:111122223333:daemon-task-definition/agent:1"),
            Ok(Taggable::DaemonTaskDefinition)
        );
        assert_eq!(kind("arn:aws:ecs:us-east-1:111122223333:service/web/api"), Ok(Taggable::Service));
        assert_eq!(kind("arn:aws:ecs:us-east-1:111122223333:task/web/0123"), Ok(Taggable::Task));
        for bad in [
            "web",
            "arn:aws:ecr:us-east-1:111122223333:repository/web",
            "arn:aws:ecs:us-east-1:111122223333:widget/x",
            "arn:aws:ecs:us-east-1:111122223333:cluster/",
        ] {
            assert_eq!(kind(bad), Err("The ARN provided is invalid.".to_owned()), "{bad}");
        }
        assert_eq!(
            kind("arn:aws:ecs:us-east-1:111122223333:service/api"),
            Err("Long arn format must be used for tagging operations".to_owned())
        );
    }
}
