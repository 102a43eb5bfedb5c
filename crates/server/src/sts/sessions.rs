//! The sessions STS issues and the trust policy AssumeRole is decided by: what other services
//! (ECS's task credentials, the SSM instance protocol) and the pipeline (`Authorization::Trust`)
//! call, apart from STS's request handlers. A session is a row of `sessions`, its secret sealed
//! and its token kept only as a hash; it is authorized by its role's current policies.

use aws_protocol::AwsError;
use aws_protocol::sigv4::sha256_hex;
use iam_policy::Policy;
use store::Value;

use crate::auth::{Principal, SessionKind};
use crate::iam::roles::{Role, find_role};
use crate::ids;
use crate::operations::{Ctx, internal};

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
    let prefix = format!("arn:aws:iam::{}:role/", ctx.account());
    let Some(path_and_name) = arn.strip_prefix(&prefix) else { return Ok(None) };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let role = find_role(&ctx.app.store, ctx.account(), name).await?;
    Ok(role.filter(|role| role.arn(ctx.account()) == arn))
}

/// Temporary credentials just issued (their secret and token are shown once, here).
pub(crate) struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at: i64,
}

/// What a role session is scoped to beyond its role.
pub(crate) struct SessionGrant<'a> {
    pub policy: Option<&'a str>,
    pub policy_arns: &'a [String],
    pub tags: &'a [(String, String)],
    /// What the session is issued to: the role's caller, a managed instance, or a task.
    pub kind: &'a SessionKind,
    /// The managed instance whose deregistration revokes the session (an instance's own, or
    /// the one its task runs on).
    pub revoked_with: Option<&'a str>,
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
    let access_key_id = ids::temporary_access_key_id().map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let token = ids::session_token().map_err(internal)?;
    let sealed = app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let issued_at = ids::now();
    let expires_at = issued_at + duration;
    let account = app.account_id.as_str();
    app.store
        .transaction(vec![
            store::Statement::new(
                "INSERT INTO sessions (access_key_id, account_id, user_name_key, secret_sealed, token_hash, issued_at, expires_at,
                                       role_key, role_id, session_name, session_policy, session_policy_arns, session_tags, instance_id, kind)
                 VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    access_key_id.as_str().into(),
                    account.into(),
                    sealed.into(),
                    sha256_hex(token.as_bytes()).into(),
                    Value::Int(issued_at),
                    Value::Int(expires_at),
                    role.entity.name.to_lowercase().into(),
                    role.entity.id.as_str().into(),
                    session_name.into(),
                    Value::from(grant.policy.map(str::to_owned)),
                    serde_json::to_string(grant.policy_arns).map_err(internal)?.into(),
                    serde_json::to_string(grant.tags).map_err(internal)?.into(),
                    Value::from(grant.revoked_with.map(str::to_owned)),
                    grant.kind.as_str().into(),
                ],
            ),
            store::Statement::new(
                "UPDATE roles SET last_used_at = ?, last_used_region = ? WHERE account_id = ? AND role_id = ?",
                vec![Value::Int(issued_at), region.into(), account.into(), role.entity.id.as_str().into()],
            ),
        ])
        .await
        .map_err(internal)?;
    Ok(IssuedCredentials { access_key_id, secret_access_key: secret, session_token: token, expires_at })
}
