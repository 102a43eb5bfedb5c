//! GetFederationToken: a federated user's session, `arn:aws:sts::ACCOUNT:federated-user/NAME`,
//! asked for with an IAM user's long-term keys (or root's). The session is authorized by the
//! asking user's current policies (root's: everything) intersected with the session policies
//! passed here; with none it has no permissions at all (the engine's rule for federated
//! users). It cannot call IAM, nor STS beyond GetCallerIdentity (the pipeline refuses both).

use aws_model::sts::GetFederationTokenRequest;
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::{self, SessionCredentials, SessionGrant};
use super::{ScopeParams, scope_params, sts_validation};
use crate::auth::{Principal, SessionKind};
use crate::identity::federated_user_arn;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

operation!(
    sts,
    GET_FEDERATION_TOKEN,
    "GetFederationToken",
    Read,
    |ctx| Box::pin(async move {
        Ok(vec![federated_user_arn(ctx.account(), ctx.input::<GetFederationTokenRequest>().name)])
    }),
    |ctx| query(get_federation_token(ctx))
);

/// Seconds a federated user's credentials live by default, and their bounds (root's: an hour).
const DEFAULT_SECONDS: i64 = 43_200;
const USER_SECONDS: std::ops::RangeInclusive<i64> = 900..=129_600;
const ROOT_SECONDS: std::ops::RangeInclusive<i64> = 900..=3_600;

async fn get_federation_token(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let long_term = ctx.identity.session_issued_at.is_none();
    let parent = match &ctx.identity.principal {
        Principal::User { name, user_id, .. } if long_term => Some((name.to_lowercase(), user_id.clone())),
        Principal::Root if long_term => None,
        _ => {
            return Err(AwsError::new("AccessDenied", 403, "Cannot call GetFederationToken with session credentials"));
        }
    };
    let GetFederationTokenRequest { name, tags, .. } = ctx.input();
    let allowed = if parent.is_none() { ROOT_SECONDS } else { USER_SECONDS };
    // Read as sent: the answer quotes it, and a value that is not a number is refused.
    let duration = match ctx.params.get("DurationSeconds") {
        None => DEFAULT_SECONDS.min(*allowed.end()),
        Some(text) => text.parse::<i64>().ok().filter(|seconds| allowed.contains(seconds)).ok_or_else(|| {
            sts_validation(
                text,
                "durationSeconds",
                &format!("Member must have value between {} and {}", allowed.start(), allowed.end()),
            )
        })?,
    };
    let scope: ScopeParams<'_> = scope_params(ctx, &tags)?;
    let access_key_id = ids::temporary_access_key_id(ctx.account()).map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let token = ids::session_token().map_err(internal)?;
    let sealed = ctx.app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let issued_at = ids::now();
    let credentials = SessionCredentials {
        access_key_id: &access_key_id,
        sealed_secret: sealed,
        token: &token,
        issued_at,
        expires_at: issued_at + duration,
    };
    let grant = SessionGrant {
        policy: scope.policy,
        policy_arns: &scope.policy_arns,
        tags: &scope.tags,
        kind: &SessionKind::Federated,
        revoked_with: None,
        mfa_at: None,
        source_identity: None,
        transitive: &[],
    };
    model::record_federated_session(&ctx.app.store, ctx.account(), credentials, name, parent, &grant).await?;
    let mut xml = ctx.response();
    xml.nest("Credentials", |xml| {
        xml.element("AccessKeyId", &access_key_id)
            .element("SecretAccessKey", &secret)
            .element("SessionToken", &token)
            .element("Expiration", &ids::iso8601(issued_at + duration));
    });
    xml.nest("FederatedUser", |xml| {
        xml.element("FederatedUserId", &format!("{}:{name}", ctx.account()))
            .element("Arn", &federated_user_arn(ctx.account(), name));
    });
    if let Some(packed) = scope.packed_size() {
        xml.element("PackedPolicySize", &packed.to_string());
    }
    Ok(xml)
}
