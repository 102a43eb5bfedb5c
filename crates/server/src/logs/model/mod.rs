//! CloudWatch Logs' domain layer: log groups (with their retention), their streams (with
//! what they have stored) and the events in them, with the SQL of `log_groups`,
//! `log_streams` and `log_batches` (events, one row per appended batch) as functions of the store, never of a request's `Ctx`. The
//! handlers in `logs/` decode a request, call these, and encode the answer.
//!
//! Guarantees:
//! - a group's retention is one of CloudWatch's day counts ([`group::Retention`]), or none;
//! - deleting a group removes its streams and events, and deleting a stream its events, in
//!   one transaction;
//! - events are appended, and their stream's first and last event times and stored bytes
//!   moved, in one transaction; events are read in one order (timestamp, then arrival), so a
//!   position in it (`event::Position`) pages without skipping or repeating;
//! - a Logs Insights query ([`query`]) ends once, and one whose runner went silent is
//!   answered as failed, never left running;
//! - no read answers an event older than its group's retention; the retention pass
//!   ([`event::expire`]) deletes, in one statement, exactly the batches whose every event is;
//! - events stored before migration 31 (one row each in `log_events`) are moved into batches
//!   at start ([`legacy_events`]), each exactly once, in their order;
//! - a destination's and a delivery destination's name is one row per account and region,
//!   and its tags go with it;
//! - a scheduled query's firing is claimed by one replica only, and recorded with its run.

pub(crate) mod account_policies;
pub(crate) mod batch;
pub(crate) mod deliveries;
pub(crate) mod destinations;
pub(crate) mod event;
pub(crate) mod filters;
pub(crate) mod group;
pub(crate) mod legacy_events;
pub(crate) mod lookup_table;
pub(crate) mod query;
pub(crate) mod query_definition;
pub(crate) mod scheduled_query;
pub(crate) mod stream;
pub(crate) mod tags;

/// Why the model could not answer: the store failed, a failure that is Homeport's, never the
/// caller's (the handlers answer it as CloudWatch Logs' `ServiceUnavailableException`, `logs::errors`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ModelError(#[from] store::StoreError);
