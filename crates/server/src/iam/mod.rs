//! IAM: users, groups, roles, policies (managed, inline, AWS managed), access keys, tags,
//! permissions boundaries, instance profiles, the account's summary, and the policy simulators.

pub(crate) mod access_keys;
pub(crate) mod account;
pub(crate) mod attachments;
pub(crate) mod boundaries;
pub(crate) mod entities;
pub(crate) mod errors;
pub(crate) mod groups;
pub(crate) mod inline_policies;
pub(crate) mod instance_profiles;
pub mod managed;
pub(crate) mod policies;
pub(crate) mod principal_simulator;
pub(crate) mod roles;
pub(crate) mod simulator;
pub(crate) mod tags;
pub(crate) mod users;
