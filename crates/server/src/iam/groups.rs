//! IAM groups: CreateGroup, GetGroup, ListGroups, DeleteGroup, AddUserToGroup,
//! RemoveUserFromGroup, ListGroupsForUser. A group's inline policies apply to its members;
//! a user is in at most ten groups (IAM's quota), checked in the statement that adds.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{Entity, Kind, create, existing, find_stored, list, resource};
use super::users::{find_user, user_resource};
use crate::iam::errors::no_such_user;
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

/// Groups a user may be in (IAM's default quota).
const GROUPS_PER_USER: i64 = 10;

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
    let rows = ctx
        .app
        .store
        .query(
            "SELECT users.name, users.user_id, users.path, users.created_at FROM group_members members
             JOIN users ON users.account_id = members.account_id AND users.name_key = members.user_key
             WHERE members.account_id = ? AND members.group_key = ? ORDER BY users.name_key",
            vec![ctx.account().into(), group.name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    let members: Vec<Entity> = rows.iter().map(|row| Entity::from_row(Kind::User, row)).collect::<Result<_, _>>()?;
    let mut xml = ctx.response();
    xml.nest("Group", |xml| group.write(xml, ctx.account()));
    xml.nest("Users", |xml| {
        for user in &members {
            xml.nest("member", |xml| user.write(xml, ctx.account()));
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}

async fn delete_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let name = ctx.required("GroupName")?;
    let key = name.to_lowercase();
    let account = ctx.account();
    // The guards and the delete are one statement: nothing can be added in between.
    let deleted = ctx
        .app
        .store
        .execute(
            "DELETE FROM iam_groups WHERE account_id = ? AND name_key = ?
               AND NOT EXISTS (SELECT 1 FROM group_members WHERE account_id = ? AND group_key = ?)
               AND NOT EXISTS (SELECT 1 FROM inline_policies WHERE account_id = ? AND owner_kind = 'group' AND owner_key = ?)
               AND NOT EXISTS (SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = 'group' AND owner_key = ?)",
            vec![
                account.into(),
                key.as_str().into(),
                account.into(),
                key.as_str().into(),
                account.into(),
                key.as_str().into(),
                account.into(),
                key.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    if deleted == 1 {
        return Ok(ctx.response());
    }
    if find_stored(ctx, Kind::Group, name).await?.is_none() {
        return Err(super::entities::no_such(Kind::Group, name));
    }
    Err(AwsError::new("DeleteConflict", 409, "Cannot delete entity, must remove users and policies from group first."))
}

async fn add_user_to_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let group = existing_group(ctx).await?;
    let user_name = ctx.required("UserName")?;
    let user = find_user(ctx, user_name).await?.ok_or_else(|| no_such_user(user_name))?;
    let (account, group_key, user_key) = (ctx.account(), group.name.to_lowercase(), user.name.to_lowercase());
    let member = ctx
        .app
        .store
        .query(
            "SELECT 1 FROM group_members WHERE account_id = ? AND group_key = ? AND user_key = ?",
            vec![account.into(), group_key.as_str().into(), user_key.as_str().into()],
        )
        .await
        .map_err(internal)?;
    if !member.is_empty() {
        // Adding a member twice is not an error on AWS.
        return Ok(ctx.response());
    }
    // The quota check and the insert are one statement.
    let added = ctx
        .app
        .store
        .execute(
            "INSERT INTO group_members (account_id, group_key, user_key) SELECT ?, ?, ?
             WHERE (SELECT COUNT(*) FROM group_members WHERE account_id = ? AND user_key = ?) < ?",
            vec![
                account.into(),
                group_key.as_str().into(),
                user_key.as_str().into(),
                account.into(),
                user_key.as_str().into(),
                store::Value::Int(GROUPS_PER_USER),
            ],
        )
        .await;
    match added {
        Ok(1) | Err(store::StoreError::Conflict) => Ok(ctx.response()),
        Ok(_) => Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"),
        )),
        Err(error) => Err(internal(error)),
    }
}

async fn remove_user_from_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let group = existing_group(ctx).await?;
    let user_name = ctx.required("UserName")?;
    let removed = ctx
        .app
        .store
        .execute(
            "DELETE FROM group_members WHERE account_id = ? AND group_key = ? AND user_key = ?",
            vec![ctx.account().into(), group.name.to_lowercase().into(), user_name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    if removed == 0 {
        return Err(no_such_user(user_name));
    }
    Ok(ctx.response())
}

async fn list_groups_for_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user_name = ctx.required("UserName")?;
    let user = find_user(ctx, user_name).await?.ok_or_else(|| no_such_user(user_name))?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT g.name, g.group_id, g.path, g.created_at FROM group_members members
             JOIN iam_groups g ON g.account_id = members.account_id AND g.name_key = members.group_key
             WHERE members.account_id = ? AND members.user_key = ? ORDER BY g.name_key",
            vec![ctx.account().into(), user.name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    let groups: Vec<Entity> = rows.iter().map(|row| Entity::from_row(Kind::Group, row)).collect::<Result<_, _>>()?;
    let mut xml = ctx.response();
    xml.nest("Groups", |xml| {
        for group in &groups {
            xml.nest("member", |xml| group.write(xml, ctx.account()));
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}
