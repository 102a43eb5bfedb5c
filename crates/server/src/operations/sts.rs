//! STS: GetCallerIdentity and GetSessionToken (AssumeRole arrives with roles).

use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::sha256_hex;
use aws_protocol::{AwsError, Protocol};
use store::Value;

use super::{Authorization, Ctx, Operation, STS_NAMESPACE, internal, query};
use crate::auth::Principal;
use crate::ids;

pub const GET_CALLER_IDENTITY: Operation = Operation {
    service: "sts",
    protocol: Protocol::Query,
    name: "GetCallerIdentity",
    namespace: STS_NAMESPACE,
    action: "sts:GetCallerIdentity",
    authorization: Authorization::Always,
    resources: |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    run: |ctx| query(get_caller_identity(ctx)),
};

async fn get_caller_identity(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let mut xml = ctx.response();
    xml.element("Arn", &ctx.identity.arn()).element("UserId", ctx.identity.user_id()).element("Account", ctx.account());
    Ok(xml)
}

pub const GET_SESSION_TOKEN: Operation = Operation {
    service: "sts",
    protocol: Protocol::Query,
    name: "GetSessionToken",
    namespace: STS_NAMESPACE,
    action: "sts:GetSessionToken",
    authorization: Authorization::UnlessDenied,
    resources: |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    run: |ctx| query(get_session_token(ctx)),
};

/// Seconds temporary credentials live by default, and their bounds for users and for root.
const DEFAULT_SESSION_SECONDS: i64 = 12 * 3600;
const USER_SESSION_SECONDS: std::ops::RangeInclusive<i64> = 900..=129_600;
const ROOT_SESSION_SECONDS: std::ops::RangeInclusive<i64> = 900..=3_600;

async fn get_session_token(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    if ctx.identity.session_issued_at.is_some() {
        return Err(AwsError::new("AccessDenied", 403, "Cannot call GetSessionToken with session credentials"));
    }
    if ctx.params.get("SerialNumber").is_some() || ctx.params.get("TokenCode").is_some() {
        // Homeport has no MFA devices, so no code can be valid.
        return Err(AwsError::new(
            "AccessDenied",
            403,
            "MultiFactorAuthentication failed, unable to validate MFA code.",
        ));
    }
    let root = ctx.identity.principal == Principal::Root;
    let allowed = if root { ROOT_SESSION_SECONDS } else { USER_SESSION_SECONDS };
    let duration = match ctx.params.get("DurationSeconds") {
        None => DEFAULT_SESSION_SECONDS.min(*allowed.end()),
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if allowed.contains(&seconds) => seconds,
            _ => {
                return Err(AwsError::new(
                    "ValidationError",
                    400,
                    format!(
                        "1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must have value between {} and {}",
                        allowed.start(),
                        allowed.end()
                    ),
                ));
            }
        },
    };
    let access_key_id = ids::temporary_access_key_id().map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let token = ids::session_token().map_err(internal)?;
    let sealed = ctx.app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let issued_at = ids::now();
    let expires_at = issued_at + duration;
    let user_key = match &ctx.identity.principal {
        Principal::Root => None,
        Principal::User { name, .. } => Some(name.to_lowercase()),
    };
    ctx.app
        .store
        .execute(
            "INSERT INTO sessions (access_key_id, account_id, user_name_key, secret_sealed, token_hash, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![
                access_key_id.as_str().into(),
                ctx.account().into(),
                Value::from(user_key),
                sealed.into(),
                sha256_hex(token.as_bytes()).into(),
                Value::Int(issued_at),
                Value::Int(expires_at),
            ],
        )
        .await
        .map_err(internal)?;
    let mut xml = ctx.response();
    xml.nest("Credentials", |xml| {
        xml.element("AccessKeyId", &access_key_id)
            .element("SecretAccessKey", &secret)
            .element("SessionToken", &token)
            .element("Expiration", &ids::iso8601(expires_at));
    });
    Ok(xml)
}
