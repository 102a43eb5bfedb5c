//! ECS's domain layer: the stored models (clusters, task definitions, tasks, container
//! instances, services), their statuses as enums, the task state machine, and their SQL
//! behind functions that take the store (never a request's `Ctx`). The handlers in `ecs/`
//! decode a request, call these, and encode the answer.
//!
//! Guarantees: a status is stored and answered with the same words ECS uses (`as_str`), and
//! a stored word the model does not know is an internal error, never guessed at; a task's
//! status never moves back (`TaskStatus::may_become`); every write of a task is optimistic
//! and keeps its instance's counters in the same transaction; a task definition's revisions
//! are never reused, and a deleted cluster is kept as `INACTIVE` and taken again by its
//! creation.

pub(crate) mod account_setting;
pub(crate) mod cluster;
pub(crate) mod container_instance;
pub(crate) mod service;
pub(crate) mod service_deployment;
pub(crate) mod tags;
pub(crate) mod task;
pub(crate) mod task_definition;
pub(crate) mod task_protection;
