//! Permissions boundaries of users and roles: the `PermissionsBoundary` of CreateUser and
//! CreateRole, and Put/Delete{User,Role}PermissionsBoundary. A boundary names a managed
//! policy (AWS's or the account's) by ARN; an entity has at most one.

use aws_model::iam::{PutRolePermissionsBoundaryRequest, PutUserPermissionsBoundaryRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{Kind, existing_modifiable, resource};
use super::model::boundaries as model;
use super::policies::attachable_policy;
use crate::operations::operation;
use crate::operations::{Ctx, query};

/// A request's `PermissionsBoundary` (of its typed input), checked to name an existing
/// managed policy.
pub(crate) async fn checked(ctx: &Ctx<'_>, boundary: Option<&str>) -> Result<Option<String>, AwsError> {
    let Some(arn) = boundary else { return Ok(None) };
    attachable_policy(ctx, arn).await?;
    Ok(Some(arn.to_owned()))
}

/// IAM's `PermissionsBoundary` element (nothing when there is no boundary).
pub(crate) fn write(xml: &mut XmlResponse, boundary: Option<&str>) {
    if let Some(arn) = boundary {
        xml.nest("PermissionsBoundary", |xml| {
            xml.element("PermissionsBoundaryType", "PermissionsBoundaryPolicy").element("PermissionsBoundaryArn", arn);
        });
    }
}

/// `arn`: the request's `PermissionsBoundary` (required: the pipeline has checked it is there).
async fn put(ctx: &Ctx<'_>, kind: Kind, arn: &str) -> Result<XmlResponse, AwsError> {
    let key = existing_modifiable(ctx, kind).await?.name.to_lowercase();
    attachable_policy(ctx, arn).await?;
    model::put(&ctx.app.store, ctx.account(), kind, &key, arn).await?;
    Ok(ctx.response())
}

async fn delete(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let key = existing_modifiable(ctx, kind).await?.name.to_lowercase();
    model::remove(&ctx.app.store, ctx.account(), kind, &key).await?;
    Ok(ctx.response())
}

operation!(
    iam,
    PUT_USER_PERMISSIONS_BOUNDARY,
    "PutUserPermissionsBoundary",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::User)),
    |ctx| {
        let PutUserPermissionsBoundaryRequest { permissions_boundary, .. } = ctx.input();
        query(put(ctx, Kind::User, permissions_boundary))
    }
);
operation!(
    iam,
    DELETE_USER_PERMISSIONS_BOUNDARY,
    "DeleteUserPermissionsBoundary",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::User)),
    |ctx| query(delete(ctx, Kind::User))
);
operation!(
    iam,
    PUT_ROLE_PERMISSIONS_BOUNDARY,
    "PutRolePermissionsBoundary",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Role)),
    |ctx| {
        let PutRolePermissionsBoundaryRequest { permissions_boundary, .. } = ctx.input();
        query(put(ctx, Kind::Role, permissions_boundary))
    }
);
operation!(
    iam,
    DELETE_ROLE_PERMISSIONS_BOUNDARY,
    "DeleteRolePermissionsBoundary",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Role)),
    |ctx| query(delete(ctx, Kind::Role))
);
