//! STS: GetCallerIdentity (the other STS operations arrive with roles).

use aws_protocol::query::XmlResponse;
use aws_protocol::{AwsError, Protocol};

use super::{Ctx, Operation, STS_NAMESPACE, query};

pub const GET_CALLER_IDENTITY: Operation = Operation {
    service: "sts",
    protocol: Protocol::Query,
    name: "GetCallerIdentity",
    namespace: STS_NAMESPACE,
    action: "sts:GetCallerIdentity",
    unconditional: true,
    resources: |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    run: |ctx| query(get_caller_identity(ctx)),
};

async fn get_caller_identity(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let mut xml = ctx.response();
    xml.element("Arn", &ctx.identity.arn()).element("UserId", ctx.identity.user_id()).element("Account", ctx.account());
    Ok(xml)
}
