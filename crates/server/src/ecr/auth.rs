//! GetAuthorizationToken and the registry password it carries.
//!
//! The token is `base64("AWS:" + password)`, as ECR's; the password is a value sealed with
//! the server's master key (`store::seal`) holding the caller's access key id and the expiry
//! (12 hours, or the end of the caller's temporary credentials if sooner). The registry opens
//! it and resolves the key again on every request (`auth::resolve_key`), so it acts only as
//! the principal that asked for it, and stops working when that key is deleted or made
//! inactive, or its session ends. Nothing about it is stored.

use aws_protocol::AwsError;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value as Json, json};

use crate::app::App;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};

/// How long a token lasts, as on ECR.
const TOKEN_LIFETIME: i64 = 12 * 3600;

/// What seals a token apart from every other sealed value.
const SEAL_CONTEXT: &str = "ecr-authorization-token";

operation!(
    ecr,
    GET_AUTHORIZATION_TOKEN,
    "GetAuthorizationToken",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(get_authorization_token(ctx)),
    authorization = Policies
);

async fn get_authorization_token(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let registries = crate::ecr::strings(ctx.body, "registryIds");
    if registries.len() > 10 {
        return Err(crate::ecr::invalid_member(
            "registryIds",
            &registries.join(","),
            "Member must have length less than or equal to 10",
        ));
    }
    if let Some(other) = registries.iter().find(|id| **id != ctx.account()) {
        return Err(crate::ecr::invalid_parameter(format!(
            "Invalid parameter at 'registryIds' failed to satisfy constraint: 'The registry {other} is not this registry ({})'",
            ctx.account()
        )));
    }
    let key_id = &ctx.identity.access_key_id;
    let session_end = crate::auth::session_expiry(ctx.app, key_id).await.map_err(|_| internal("key vanished"))?;
    let expires_at = session_end.map_or(ids::now() + TOKEN_LIFETIME, |end| end.min(ids::now() + TOKEN_LIFETIME));
    let password = seal(ctx.app, key_id, ctx.region(), expires_at)?;
    let token = STANDARD.encode(format!("AWS:{password}"));
    let data = json!({
        "authorizationToken": token,
        "expiresAt": expires_at,
        "proxyEndpoint": format!("{}://{}", ctx.app.scheme, ctx.app.registry_host),
    });
    // One entry per registry asked for (all this one), or one when none was named.
    let count = registries.len().max(1);
    Ok(json!({ "authorizationData": vec![data; count] }))
}

fn seal(app: &App, key_id: &str, region: &str, expires_at: i64) -> Result<String, AwsError> {
    let claims = json!({ "k": key_id, "r": region, "e": expires_at }).to_string();
    let sealed = app.sealer.seal(claims.as_bytes(), SEAL_CONTEXT).map_err(internal)?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// Why a registry password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a password this server sealed (or altered).
    Invalid,
    /// Past its expiry.
    Expired,
}

/// What a registry password vouches for: the access key it was issued to, and the region
/// whose registry it opens (the one GetAuthorizationToken was signed for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub key_id: String,
    pub region: String,
}

/// Opens a registry password, if it is still valid. One sealed before passwords named a
/// region opens the server's default region, where every repository then was.
pub fn open(app: &App, password: &str) -> Result<Opened, TokenError> {
    let sealed = URL_SAFE_NO_PAD.decode(password.trim()).map_err(|_| TokenError::Invalid)?;
    let claims = app.sealer.open(&sealed, SEAL_CONTEXT).map_err(|_| TokenError::Invalid)?;
    let claims: Json = serde_json::from_slice(&claims).map_err(|_| TokenError::Invalid)?;
    let (Some(key_id), Some(expires_at)) =
        (claims.get("k").and_then(Json::as_str), claims.get("e").and_then(Json::as_i64))
    else {
        return Err(TokenError::Invalid);
    };
    if ids::now() >= expires_at {
        return Err(TokenError::Expired);
    }
    let region = claims.get("r").and_then(Json::as_str).unwrap_or(&app.region);
    Ok(Opened { key_id: key_id.to_owned(), region: region.to_owned() })
}
