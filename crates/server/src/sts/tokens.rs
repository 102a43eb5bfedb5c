//! The STS operations that need no identity provider beyond sessions: GetAccessKeyInfo and
//! DecodeAuthorizationMessage, and the three that a standalone account without AWS
//! Organizations (or without the feature enabled) is refused, as AWS refuses it: AssumeRoot
//! (centralized root access), GetDelegatedAccessToken (trade-in tokens) and
//! GetWebIdentityToken (outbound web identity federation).
//!
//! Key ids carry their account as AWS's do (`ids::key_id_account`), so GetAccessKeyInfo
//! answers for any key id, deleted or another account's, without reading the store; a key
//! this store holds (made before key ids carried their account) is answered from its row.
//!
//! Encoded authorization messages: AWS returns them only from some services' AccessDenied
//! answers (EC2's `Client.UnauthorizedOperation` and a few others); none of the APIs Homeport
//! speaks returns one, so Homeport issues none. DecodeAuthorizationMessage opens a message
//! sealed with the master key for [`MESSAGE_CONTEXT`] (so only this server can read one) and
//! refuses anything else as AWS refuses a message that is not its own.

use aws_model::sts::{AssumeRootRequest, DecodeAuthorizationMessageRequest, GetAccessKeyInfoRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use base64::Engine;

use crate::auth::Principal;
use crate::iam::model::{access_keys, sessions};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, query, validation};

operation!(
    sts,
    GET_ACCESS_KEY_INFO,
    "GetAccessKeyInfo",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_access_key_info(ctx))
);

async fn get_access_key_info(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetAccessKeyInfoRequest { access_key_id: key_id } = ctx.input();
    let store = &ctx.app.store;
    let stored = match access_keys::for_authentication(store, key_id).await? {
        Some(key) => Some(key.account),
        None => sessions::for_authentication(store, key_id).await?.map(|session| session.account),
    };
    let account = stored.or_else(|| ids::key_id_account(key_id)).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value '{key_id}' at 'accessKeyId' failed to satisfy constraint: Member must be an access key id (AKIA or ASIA and 16 base-32 characters)"
        ))
    })?;
    let mut xml = ctx.response();
    xml.element("Account", &account);
    Ok(xml)
}

/// The context an encoded authorization message is sealed for.
pub(crate) const MESSAGE_CONTEXT: &str = "sts-authorization-message";

operation!(
    sts,
    DECODE_AUTHORIZATION_MESSAGE,
    "DecodeAuthorizationMessage",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(decode_authorization_message(ctx))
);

async fn decode_authorization_message(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DecodeAuthorizationMessageRequest { encoded_message: encoded } = ctx.input();
    let invalid = || {
        AwsError::new("InvalidAuthorizationMessageException", 400, "The encoded authorization message is not valid.")
    };
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim()).map_err(|_| invalid())?;
    let opened = ctx.app.sealer.open(&sealed, MESSAGE_CONTEXT).map_err(|_| invalid())?;
    let decoded = String::from_utf8(opened).map_err(|_| invalid())?;
    let mut xml = ctx.response();
    xml.element("DecodedMessage", &decoded);
    Ok(xml)
}

/// An authorization message (the decision's JSON, as AWS's decoded messages) encoded as
/// DecodeAuthorizationMessage reads it: sealed with the master key, URL-safe base 64.
#[cfg(test)]
pub(crate) fn encode_authorization_message(sealer: &store::seal::Sealer, decision: &str) -> Option<String> {
    let sealed = sealer.seal(decision.as_bytes(), MESSAGE_CONTEXT).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

operation!(
    sts,
    ASSUME_ROOT,
    "AssumeRoot",
    Write,
    |ctx| Box::pin(async move {
        let AssumeRootRequest { target_principal, .. } = ctx.input();
        Ok(vec![format!("arn:aws:iam::{target_principal}:root")])
    }),
    |ctx| query(assume_root(ctx))
);

/// A standalone account is no Organizations management account nor delegated administrator
/// with centralized root access: an authorized caller is still refused, as AWS refuses it.
async fn assume_root(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let AssumeRootRequest { target_principal: target, .. } = ctx.input();
    let arn = ctx.identity.arn();
    if ctx.identity.principal == Principal::Root {
        return Err(AwsError::new(
            "AccessDenied",
            403,
            format!(
                "User: {arn} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root because root user credentials cannot call AssumeRoot"
            ),
        ));
    }
    Err(AwsError::new(
        "AccessDenied",
        403,
        format!(
            "User: {arn} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root because account {} is not the management account or a delegated administrator of an organization with centralized root access",
            ctx.account()
        ),
    ))
}

operation!(
    sts,
    GET_DELEGATED_ACCESS_TOKEN,
    "GetDelegatedAccessToken",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_delegated_access_token(ctx))
);

/// Trade-in tokens come from AWS's delegated access feature, which a standalone account does
/// not have: no token this server could be handed can be exchanged (the pipeline has checked
/// `TradeInToken` was sent).
async fn get_delegated_access_token(_ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    Err(AwsError::new(
        "ExpiredTradeInTokenException",
        400,
        "The trade-in token provided in the request has expired and can no longer be exchanged for credentials. Request a new token and retry the operation.",
    ))
}

operation!(
    sts,
    GET_WEB_IDENTITY_TOKEN,
    "GetWebIdentityToken",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_web_identity_token(ctx))
);

/// Outbound web identity federation is a feature an account enables; Homeport's accounts
/// never have it (the pipeline has checked `SigningAlgorithm` was sent).
async fn get_web_identity_token(_ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    Err(AwsError::new(
        "OutboundWebIdentityFederationDisabledException",
        403,
        "The outbound web identity federation feature is not enabled for this account. To use this feature, you must first enable it through the Amazon Web Services Management Console or API.",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn a_message_opens_only_with_the_key_that_sealed_it() {
        let sealer = store::seal::Sealer::new(&[3u8; 32]);
        let encoded = encode_authorization_message(&sealer, r#"{"allowed":false}"#).unwrap();
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&encoded).unwrap();
        assert_eq!(sealer.open(&sealed, MESSAGE_CONTEXT).unwrap(), br#"{"allowed":false}"#);
        assert!(!encoded.contains("allowed"), "the message is not readable without the key");
        assert!(store::seal::Sealer::new(&[4u8; 32]).open(&sealed, MESSAGE_CONTEXT).is_err());
    }
}
