//! SSM's domain layer: hybrid activations (their expiry and registration count), the managed
//! instances registered with them (their ping status as an enum, their heartbeat and the key
//! that signs for them) and the tags of both, with the SQL of `activations`,
//! `managed_instances` and their `tags` as functions of the store, never of a request's
//! `Ctx`. The handlers in `ssm/` and the instance protocol decode a request, call these, and
//! encode the answer.
//!
//! Guarantees:
//! - an activation registers at most `registration_limit` instances and none once expired:
//!   the count is spent, and the instance recorded, in one guarded statement of one
//!   transaction, so concurrent registrations cannot overspend it;
//! - a registered instance carries the activation's tags from the moment it exists;
//! - deregistering an instance removes it, every session issued to it and its tags in one
//!   transaction, so its credentials stop working on the next request;
//! - a resource holds at most [`tags::PER_RESOURCE`] tags: the count is checked in the
//!   transaction that adds them;
//! - only an activation's code hash is stored, never the code.

pub(crate) mod activation;
pub(crate) mod instance;
pub(crate) mod parameter;
pub(crate) mod tags;

/// Why the model could not answer: the store failed, a failure that is Homeport's, never the
/// caller's (the handlers answer it as SSM's `InternalServerError`, `ssm::errors`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ModelError(#[from] store::StoreError);
