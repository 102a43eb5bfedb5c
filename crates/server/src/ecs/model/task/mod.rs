//! The task model, in four parts that depend only downward:
//! - `status`: a task's statuses in ECS's words and what may follow what (pure);
//! - `row`: the stored task (`TaskRow`) and its state machine: how a report, a stop and a lost
//!   instance are recorded, and its health (pure);
//! - `store`: the SQL of `ecs_tasks` (with the instance counters and the sequence number its
//!   writes keep), as functions of the store;
//! - `dispatch`: creating, stopping and updating tasks with the `App`, which wakes the polls
//!   of the agents that must hear of it.
//!
//! Guarantees: a task is recorded (with its placement and the resources it reserves) in one
//! transaction; every change of a task's desired state takes a new sequence number, so a
//! poll that asks for every change after the agent's last applied number converges whatever
//! it missed; task updates are optimistic (a version check in the writing statement), so
//! concurrent StopTask and state reports never overwrite each other; a task's status never
//! moves back, and a stopped task keeps how it stopped.
//!
//! Other models import the part they need (the cluster's counts read `status` only), so the
//! task model may take a `Cluster` without an import cycle.

pub(crate) mod dispatch;
pub(crate) mod row;
pub(crate) mod status;
pub(crate) mod store;

pub(crate) use dispatch::{create_tasks, stop, update_task};
pub(crate) use row::{StateReport, TaskRow, task_id};
pub(crate) use status::{DesiredStatus, TaskStatus};
pub(crate) use store::{
    Launch, TaskCursor, TaskFilter, changed_since, list, load_described, load_many, load_task, of_service, on_instance,
    started_with_token, stopped_of_deployment,
};
