//! Outbound identity federation (JWTs for external services), which Homeport does not offer:
//! GetOutboundWebIdentityFederationInfo and DisableOutboundWebIdentityFederation answer as AWS
//! does for an account where the feature is disabled. EnableOutboundWebIdentityFederation is
//! not served: enabling would be a promise (STS's GetWebIdentityToken issuing tokens) that
//! Homeport cannot keep yet.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use crate::operations::operation;
use crate::operations::{Ctx, account_wide, query};

async fn disabled(_ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    Err(AwsError::new(
        "FeatureDisabled",
        404,
        "Outbound identity federation is disabled for your Amazon Web Services account.",
    ))
}

operation!(
    iam,
    GET_OUTBOUND_WEB_IDENTITY_FEDERATION_INFO,
    "GetOutboundWebIdentityFederationInfo",
    Read,
    account_wide,
    |ctx| query(disabled(ctx))
);
operation!(
    iam,
    DISABLE_OUTBOUND_WEB_IDENTITY_FEDERATION,
    "DisableOutboundWebIdentityFederation",
    Write,
    account_wide,
    |ctx| query(disabled(ctx))
);
