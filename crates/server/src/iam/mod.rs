//! IAM: users, groups, roles, policies (managed, inline, AWS managed), access keys and a user's
//! other credentials (password, SSH keys, service-specific credentials, signing certificates,
//! virtual MFA devices), server certificates, the password policy, the credential report, tags,
//! permissions boundaries, instance profiles, OpenID Connect and SAML identity providers, the
//! account's summary, alias and service-linked roles, the policy simulators, and access advisor
//! (service last accessed data).
//!
//! The handlers here decode a request, authorize it, call the domain layer in [`model`] (the
//! only place that reads or writes IAM's tables) and encode the answer; a model failure is
//! answered as IAM's internal error.

pub(crate) mod access_advisor;
pub(crate) mod access_keys;
pub(crate) mod account;
pub(crate) mod account_aliases;
pub(crate) mod attachments;
pub(crate) mod boundaries;
pub(crate) mod credential_report;
pub(crate) mod delegation_requests;
pub(crate) mod entities;
pub(crate) mod errors;
pub(crate) mod groups;
pub(crate) mod inline_policies;
pub(crate) mod instance_profiles;
pub(crate) mod key_material;
pub(crate) mod login_profiles;
pub(crate) mod mfa_devices;
pub(crate) mod mfa_qr;
pub(crate) mod model;
pub(crate) mod oidc_providers;
pub(crate) mod organizations;
pub(crate) mod outbound_federation;
pub(crate) mod password_policy;
pub(crate) mod policies;
pub(crate) mod principal_simulator;
pub(crate) mod roles;
pub(crate) mod saml_metadata;
pub(crate) mod saml_providers;
pub(crate) mod server_certificates;
pub(crate) mod service_credentials;
pub(crate) mod service_linked_roles;
pub(crate) mod signing_certificates;
pub(crate) mod simulator;
pub(crate) mod ssh_public_keys;
pub(crate) mod tag_list;
pub(crate) mod tags;
pub(crate) mod users;

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "iam",
    protocol: aws_protocol::Protocol::Query,
    namespace: crate::operations::IAM_NAMESPACE,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
    admits,
};

/// As on AWS: of temporary credentials, role sessions may call the IAM API (within their
/// role's permissions) and GetSessionToken's only when issued with MFA; GetFederationToken's
/// never may. They are refused as an unknown key is.
fn admits(identity: &crate::auth::Identity, _action: Option<&str>) -> Result<(), aws_protocol::AwsError> {
    let refused = identity.session_issued_at.is_some()
        && match identity.principal {
            crate::auth::Principal::RoleSession { .. } => false,
            crate::auth::Principal::FederatedUser { .. } => true,
            _ => identity.mfa_authenticated_at.is_none(),
        };
    if refused {
        return Err(aws_protocol::AwsError::from_auth(
            &aws_protocol::AuthError::InvalidKey,
            aws_protocol::Protocol::Query,
        ));
    }
    Ok(())
}

impl From<model::Error> for aws_protocol::AwsError {
    /// A model failure is Homeport's: logged, and answered without its internals (an error
    /// the model passed on in AWS's shape is answered as is).
    fn from(error: model::Error) -> aws_protocol::AwsError {
        match error {
            model::Error::Answered(error) => error,
            other => crate::operations::internal(other),
        }
    }
}
