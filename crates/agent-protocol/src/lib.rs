//! The wire shapes of Homeport's own agent protocol: the messages the control plane and the
//! agent exchange beyond the public AWS APIs (`docs/ecs-agent-protocol.md`). One definition
//! serves both sides, so a member cannot be written by one and read differently by the other.
//!
//! - [`poll`]: the `Poll` long poll, its request and its answer's messages (`TaskMessage`,
//!   `TaskManifest`, `StopVerificationAck`, `Heartbeat`).
//! - [`task`]: the task a `TaskMessage` carries, with its container definitions.
//! - [`state_change`]: `SubmitTaskStateChange` and `SubmitContainerStateChange` as the agent
//!   sends them (public ECS operations: the member names are ECS's).
//! - [`credentials`]: `GetTaskCredentials`, Homeport's form of ECS's `IAMRoleCredentials`.
//!
//! Guarantees: every type serializes to the JSON the protocol document shows, member for
//! member (camelCase names; an absent optional member is omitted, never `null`), and reads
//! whatever the other side writes; members a side does not know are ignored when read. The
//! tests of each module pin the member names with literal JSON, so renaming a field on one
//! side fails a test instead of a deployment. Nothing here does I/O or validation beyond the
//! shapes: the control plane still decides what a well-shaped request may do.

pub mod credentials;
pub mod poll;
pub mod state_change;
pub mod task;

#[cfg(test)]
mod pinning;
