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

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "iam",
    protocol: aws_protocol::Protocol::Query,
    namespace: crate::operations::IAM_NAMESPACE,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
};
