//! IAM temporary delegation, answered as AWS answers an account that is not an onboarded
//! partner: nobody can create a delegation request for it, so none exists. ListDelegationRequests
//! is empty; GetDelegationRequest, AcceptDelegationRequest, AssociateDelegationRequest,
//! RejectDelegationRequest, UpdateDelegationRequest, SendDelegationToken and
//! GetHumanReadableSummary (whose only entity type is a delegation request) find nothing;
//! CreateDelegationRequest is refused.

use aws_model::iam::{
    AcceptDelegationRequestRequest, AssociateDelegationRequestRequest, GetDelegationRequestRequest,
    GetHumanReadableSummaryRequest, RejectDelegationRequestRequest, SendDelegationTokenRequest,
    UpdateDelegationRequestRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use crate::operations::operation;
use crate::operations::{Ctx, account_wide, query};

/// The answer to every operation on one delegation request (`id`: its typed input's
/// `DelegationRequestId`): there is none.
async fn no_such_request(_ctx: &Ctx<'_>, id: &str) -> Result<XmlResponse, AwsError> {
    Err(AwsError::new("NoSuchEntity", 404, format!("Delegation request {id} does not exist.")))
}

operation!(iam, LIST_DELEGATION_REQUESTS, "ListDelegationRequests", Read, account_wide, |ctx| query(
    list_delegation_requests(ctx)
));
operation!(iam, GET_DELEGATION_REQUEST, "GetDelegationRequest", Read, account_wide, |ctx| query(no_such_request(
    ctx,
    ctx.input::<GetDelegationRequestRequest>().delegation_request_id
)));
operation!(iam, ACCEPT_DELEGATION_REQUEST, "AcceptDelegationRequest", Write, account_wide, |ctx| query(
    no_such_request(ctx, ctx.input::<AcceptDelegationRequestRequest>().delegation_request_id)
));
operation!(iam, ASSOCIATE_DELEGATION_REQUEST, "AssociateDelegationRequest", Write, account_wide, |ctx| {
    query(no_such_request(ctx, ctx.input::<AssociateDelegationRequestRequest>().delegation_request_id))
});
operation!(iam, REJECT_DELEGATION_REQUEST, "RejectDelegationRequest", Write, account_wide, |ctx| query(
    no_such_request(ctx, ctx.input::<RejectDelegationRequestRequest>().delegation_request_id)
));
operation!(iam, UPDATE_DELEGATION_REQUEST, "UpdateDelegationRequest", Write, account_wide, |ctx| query(
    no_such_request(ctx, ctx.input::<UpdateDelegationRequestRequest>().delegation_request_id)
));
operation!(iam, SEND_DELEGATION_TOKEN, "SendDelegationToken", Write, account_wide, |ctx| query(no_such_request(
    ctx,
    ctx.input::<SendDelegationTokenRequest>().delegation_request_id
)));
operation!(iam, CREATE_DELEGATION_REQUEST, "CreateDelegationRequest", Write, account_wide, |ctx| query(
    create_delegation_request(ctx)
));
operation!(iam, GET_HUMAN_READABLE_SUMMARY, "GetHumanReadableSummary", Read, account_wide, |ctx| query(
    get_human_readable_summary(ctx)
));

async fn list_delegation_requests(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let mut xml = ctx.response();
    xml.nest("DelegationRequests", |_| {});
    // The model spells this member in lower camel case.
    xml.element("isTruncated", "false");
    Ok(xml)
}

async fn create_delegation_request(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    Err(AwsError::new(
        "AccessDenied",
        403,
        format!(
            "Account {} is not onboarded as a partner for IAM temporary delegation: CreateDelegationRequest is not available to it.",
            ctx.account()
        ),
    ))
}

async fn get_human_readable_summary(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetHumanReadableSummaryRequest { entity_arn: arn, .. } = ctx.input();
    Err(AwsError::new("NoSuchEntity", 404, format!("The entity {arn} does not exist.")))
}
