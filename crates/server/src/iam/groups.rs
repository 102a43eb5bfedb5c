//! IAM groups: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup, AddUserToGroup,
//! RemoveUserFromGroup, ListGroupsForUser. A group's inline policies apply to its members;
//! the memberships, and their quota, are [`super::model::groups`].
//!
//! Handlers read their typed input (`aws_model::iam::*Request`, generated from IAM's model):
//! the pipeline has checked the model's constraints (names' lengths and pattern, `MaxItems`),
//! so what is left here is what the model cannot say.

use aws_model::iam::{
    AddUserToGroupRequest, DeleteGroupRequest, ListGroupsForUserRequest, RemoveUserFromGroupRequest, UpdateGroupRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{self, Entity, Kind, create, existing, find_stored, list, resource, resource_and_renamed};
use super::model::Added;
use super::model::groups::{self as model, PER_USER};
use super::users::{find_user, user_resource};
use crate::iam::errors::no_such_user;
use crate::operations::operation;
use crate::operations::{Ctx, Page, query};

pub(crate) async fn group_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    resource(ctx, Kind::Group).await
}

async fn existing_group(ctx: &Ctx<'_>) -> Result<Entity, AwsError> {
    existing(ctx, Kind::Group).await
}

operation!(iam, CREATE_GROUP, "CreateGroup", IamWrite, |ctx| Box::pin(group_resource(ctx)), |ctx| query(create_group(
    ctx
)));
operation!(iam, GET_GROUP, "GetGroup", Read, |ctx| Box::pin(group_resource(ctx)), |ctx| query(get_group(ctx)));
operation!(
    iam,
    LIST_GROUPS,
    "ListGroups",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:group/", ctx.account())]) }),
    |ctx| query(list_groups(ctx))
);
operation!(
    iam,
    UPDATE_GROUP,
    "UpdateGroup",
    IamWrite,
    |ctx| Box::pin(resource_and_renamed(ctx, Kind::Group, "NewGroupName")),
    |ctx| query(update_group(ctx))
);
operation!(iam, DELETE_GROUP, "DeleteGroup", IamWrite, |ctx| Box::pin(group_resource(ctx)), |ctx| query(delete_group(
    ctx
)));
operation!(iam, ADD_USER_TO_GROUP, "AddUserToGroup", IamWrite, |ctx| Box::pin(group_resource(ctx)), |ctx| query(
    add_user_to_group(ctx)
));
operation!(iam, REMOVE_USER_FROM_GROUP, "RemoveUserFromGroup", IamWrite, |ctx| Box::pin(group_resource(ctx)), |ctx| {
    query(remove_user_from_group(ctx))
});
operation!(iam, LIST_GROUPS_FOR_USER, "ListGroupsForUser", Read, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(list_groups_for_user(ctx))
});

async fn create_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    create(ctx, Kind::Group).await
}

async fn list_groups(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    list(ctx, Kind::Group).await
}

async fn get_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let group = existing_group(ctx).await?;
    let page = Page::from_params(ctx)?;
    let limit = page.max_items.saturating_add(1);
    let members = model::members(&ctx.app.store, ctx.account(), &group.key(), &page.after, limit).await?;
    let (shown, next) = page.cut(&members, Entity::key);
    let mut xml = ctx.response();
    xml.nest("Group", |xml| entities::write(xml, &group, ctx.account()));
    xml.nest("Users", |xml| {
        for user in shown {
            xml.nest("member", |xml| entities::write(xml, user, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

async fn update_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateGroupRequest { new_path, new_group_name, .. } = ctx.input();
    let group = existing_group(ctx).await?;
    let new_name = new_group_name.unwrap_or(&group.name);
    let new_path = new_path.unwrap_or(&group.path);
    // The group, its members and its policies move together.
    if !model::rename(&ctx.app.store, ctx.account(), &group.key(), new_name, new_path).await? {
        return Err(AwsError::new("EntityAlreadyExists", 409, format!("Group with name {new_name} already exists.")));
    }
    Ok(ctx.response())
}

async fn delete_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteGroupRequest { group_name: name } = ctx.input();
    // The guards and the delete are one statement: nothing can be added in between.
    if model::delete(&ctx.app.store, ctx.account(), &name.to_lowercase()).await? {
        return Ok(ctx.response());
    }
    if find_stored(ctx, Kind::Group, name).await?.is_none() {
        return Err(entities::no_such(Kind::Group, name));
    }
    Err(AwsError::new("DeleteConflict", 409, "Cannot delete entity, must remove users and policies from group first."))
}

async fn add_user_to_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let group = existing_group(ctx).await?;
    let AddUserToGroupRequest { user_name, .. } = ctx.input();
    let user = find_user(ctx, user_name).await?.ok_or_else(|| no_such_user(user_name))?;
    match model::add(&ctx.app.store, ctx.account(), &group.key(), &user.key()).await? {
        // Adding a member twice is not an error on AWS.
        Added::New | Added::Already => Ok(ctx.response()),
        Added::OverQuota => {
            Err(AwsError::new("LimitExceeded", 409, format!("Cannot exceed quota for GroupsPerUser: {PER_USER}")))
        }
    }
}

async fn remove_user_from_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let group = existing_group(ctx).await?;
    let RemoveUserFromGroupRequest { user_name, .. } = ctx.input();
    if !model::remove(&ctx.app.store, ctx.account(), &group.key(), &user_name.to_lowercase()).await? {
        return Err(no_such_user(user_name));
    }
    Ok(ctx.response())
}

async fn list_groups_for_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    // Not paged: a user is in at most ten groups (`Marker` and `MaxItems` are checked, unused).
    let ListGroupsForUserRequest { user_name, .. } = ctx.input();
    let user = find_user(ctx, user_name).await?.ok_or_else(|| no_such_user(user_name))?;
    let groups = model::of_user(&ctx.app.store, ctx.account(), &user.key()).await?;
    let mut xml = ctx.response();
    xml.nest("Groups", |xml| {
        for group in &groups {
            xml.nest("member", |xml| entities::write(xml, group, ctx.account()));
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}
