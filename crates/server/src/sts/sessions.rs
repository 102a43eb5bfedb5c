//! The sessions STS issues and the trust policy AssumeRole is decided by: what other services
//! (ECS's task credentials, the SSM instance protocol) and the pipeline (`Authorization::Trust`)
//! call, apart from STS's request handlers. A session is recorded by [`super::model`]; it is
//! authorized by its role's current policies.

use aws_protocol::AwsError;
use iam_policy::Policy;

use super::model::{self, SessionCredentials};
use crate::auth::Principal;
use crate::iam::model::roles::{self, Role};
use crate::ids;
use crate::operations::{Ctx, internal};

pub(crate) use super::model::SessionGrant;

/// Where `sts:AssumeRole` finds the trust policy that takes part in its authorization.
pub static TRUST_POLICY: crate::operations::ResourcePolicySource = crate::operations::ResourcePolicySource {
    id: "trust-policy",
    kind: iam_policy::ResourcePolicyKind::Trust,
    find: |ctx, resources| Box::pin(async move { trust_policy(ctx, resources).await.map(Some) }),
};

/// The trust policy of the role a request assumes, or AWS's AccessDenied when there is no
/// such role in this account (or the caller is root, which may not assume roles).
pub(crate) async fn trust_policy(ctx: &Ctx<'_>, resources: &[String]) -> Result<Policy, AwsError> {
    if ctx.identity.principal == Principal::Root {
        return Err(AwsError::new("AccessDenied", 403, "Roles may not be assumed by root accounts."));
    }
    let arn = resources.first().map(String::as_str).unwrap_or_default();
    let denied = || {
        AwsError::new(
            "AccessDenied",
            403,
            format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {arn}", ctx.identity.arn()),
        )
    };
    let role = assumed_role(ctx, arn).await?.ok_or_else(denied)?;
    Policy::parse(&role.trust_policy).map_err(|_| denied())
}

/// The role an ARN names, if it is one of this account's roles (its path included).
pub(crate) async fn assumed_role(ctx: &Ctx<'_>, arn: &str) -> Result<Option<Role>, AwsError> {
    role_of_arn(ctx.app, arn).await
}

/// The role an ARN names exactly, if it is one of the server's account's roles (for callers
/// without a request context, such as AssumeRoleWithWebIdentity's unsigned route).
pub(crate) async fn role_of_arn(app: &crate::app::App, arn: &str) -> Result<Option<Role>, AwsError> {
    let prefix = format!("arn:aws:iam::{}:role/", app.account_id);
    let Some(path_and_name) = arn.strip_prefix(&prefix) else { return Ok(None) };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let role = roles::find(&app.store, &app.account_id, name).await?;
    Ok(role.filter(|role| role.arn(&app.account_id) == arn))
}

/// Temporary credentials just issued (their secret and token are shown once, here).
pub(crate) struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at: i64,
}

/// Issues credentials for a session of `role` named `session_name`, lasting `duration`
/// seconds, and records the role's last use. The secret is sealed and only the token's hash
/// is stored.
pub(crate) async fn issue_role_session(
    app: &crate::app::App,
    role: &Role,
    session_name: &str,
    duration: i64,
    grant: &SessionGrant<'_>,
    region: &str,
) -> Result<IssuedCredentials, AwsError> {
    let access_key_id = ids::temporary_access_key_id(&app.account_id).map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let token = ids::session_token().map_err(internal)?;
    let sealed = app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let issued_at = ids::now();
    let expires_at = issued_at + duration;
    let credentials = SessionCredentials {
        access_key_id: &access_key_id,
        sealed_secret: sealed,
        token: &token,
        issued_at,
        expires_at,
    };
    model::record_role_session(&app.store, &app.account_id, credentials, role, session_name, grant, region).await?;
    Ok(IssuedCredentials { access_key_id, secret_access_key: secret, session_token: token, expires_at })
}
