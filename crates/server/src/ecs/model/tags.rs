//! The tags of ECS resources, kept in the shared `tags` table (`resource_kind` `ecs`, the
//! resource's ARN as its key, which names its region): the existence check the tagging
//! operations make, and the statements that add and remove tags.
//!
//! Guarantees: keys are case-sensitive, as ECS's (setting a key again replaces its value);
//! a resource is looked up in the caller's account and the signed region only.

use aws_protocol::AwsError;
use store::{Statement, Store};

use crate::operations::internal;
use crate::regions::Scope;

/// The tags one ECS resource may carry.
pub(crate) const PER_RESOURCE: usize = 50;

/// The kinds of ECS resource that carry tags, by the resource type of their ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taggable {
    Cluster,
    Service,
    Task,
    TaskDefinition,
    ContainerInstance,
    CapacityProvider,
    TaskSet,
    DaemonTaskDefinition,
    /// A daemon (none exists on a fleet of external instances: `ecs::daemons`).
    Daemon,
}

impl Taggable {
    /// The kind an ARN's resource type names (`cluster`, `service`, ...).
    pub(crate) fn from_resource_type(kind: &str) -> Option<Taggable> {
        Some(match kind {
            "cluster" => Taggable::Cluster,
            "service" => Taggable::Service,
            "task" => Taggable::Task,
            "task-definition" => Taggable::TaskDefinition,
            "container-instance" => Taggable::ContainerInstance,
            "capacity-provider" => Taggable::CapacityProvider,
            "task-set" => Taggable::TaskSet,
            "daemon-task-definition" => Taggable::DaemonTaskDefinition,
            "daemon" => Taggable::Daemon,
            _ => return None,
        })
    }

    /// The table its rows are in (none for the kinds Homeport keeps no rows of: capacity
    /// providers, which need an Auto Scaling group, task sets, and daemons, which need an
    /// ECS Managed Instances capacity provider).
    fn table(self) -> Option<&'static str> {
        match self {
            Taggable::Cluster => Some("ecs_clusters"),
            Taggable::Service => Some("ecs_services"),
            Taggable::Task => Some("ecs_tasks"),
            Taggable::TaskDefinition => Some("ecs_task_definitions"),
            Taggable::ContainerInstance => Some("ecs_container_instances"),
            Taggable::DaemonTaskDefinition => Some("ecs_daemon_task_definitions"),
            Taggable::CapacityProvider | Taggable::TaskSet | Taggable::Daemon => None,
        }
    }
}

/// The status of the resource an ARN names in `scope` (`ACTIVE`, `INACTIVE`, a task's last
/// status...), or `None` when there is none (another account's or region's is none).
pub(crate) async fn status_of(
    store: &Store,
    scope: Scope<'_>,
    kind: Taggable,
    arn: &str,
) -> Result<Option<String>, AwsError> {
    if crate::ecs::region_of(arn) != scope.region {
        return Ok(None);
    }
    let Some(table) = kind.table() else { return Ok(None) };
    let column = if kind == Taggable::Task { "last_status" } else { "status" };
    let rows = store
        .query(
            &format!("SELECT {column} FROM {table} WHERE arn = ? AND account_id = ?"),
            vec![arn.into(), scope.account.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(|row| row.text(0).map_err(internal)).transpose()
}

/// The statements that remove the tags of `keys` from a resource.
pub(crate) fn remove(account: &str, arn: &str, keys: &[&str]) -> Vec<Statement> {
    crate::tags::remove(account, "ecs", arn, keys)
}
