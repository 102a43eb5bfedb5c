//! IAM groups: CreateGroup, GetGroup, ListGroups, DeleteGroup, AddUserToGroup,
//! RemoveUserFromGroup, ListGroupsForUser. A group's inline policies apply to its members.

use aws_protocol::query::XmlResponse;
use aws_protocol::{AwsError, Protocol};
use store::{Row, Value};

use super::iam_users::{Page, User, find_user, user_resource};
use super::{Authorization, Ctx, IAM_NAMESPACE, Operation, check_name, check_path, internal, no_such_user, query};
use crate::ids;

pub(crate) struct Group {
    pub name: String,
    pub group_id: String,
    pub path: String,
    pub created_at: i64,
}

impl Group {
    fn from_row(row: &Row) -> Result<Group, AwsError> {
        Ok(Group {
            name: row.text(0).map_err(internal)?,
            group_id: row.text(1).map_err(internal)?,
            path: row.text(2).map_err(internal)?,
            created_at: row.int(3).map_err(internal)?,
        })
    }

    fn write(&self, xml: &mut XmlResponse, account: &str) {
        xml.element("Path", &self.path)
            .element("GroupName", &self.name)
            .element("GroupId", &self.group_id)
            .element("Arn", &group_arn(account, &self.path, &self.name))
            .element("CreateDate", &ids::iso8601(self.created_at));
    }
}

pub(crate) fn group_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:group{path}{name}")
}

pub(crate) fn no_such_group(name: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The group with name {name} cannot be found."))
}

pub(crate) async fn find_group(ctx: &Ctx<'_>, name: &str) -> Result<Option<Group>, AwsError> {
    let rows = ctx
        .app
        .store
        .query(
            "SELECT name, group_id, path, created_at FROM iam_groups WHERE account_id = ? AND name_key = ?",
            vec![ctx.account().into(), name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(Group::from_row).transpose()
}

/// The ARN of the group a request names (with its path when it exists).
pub(crate) async fn group_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let name = ctx.required("GroupName")?;
    let path = match find_group(ctx, name).await? {
        Some(group) => group.path,
        None => ctx.params.get("Path").unwrap_or("/").to_owned(),
    };
    Ok(vec![group_arn(ctx.account(), &path, name)])
}

async fn existing_group(ctx: &Ctx<'_>) -> Result<Group, AwsError> {
    let name = ctx.required("GroupName")?;
    find_group(ctx, name).await?.ok_or_else(|| no_such_group(name))
}

macro_rules! group_operation {
    ($const:ident, $name:literal, $resources:expr, $handler:ident) => {
        pub const $const: Operation = Operation {
            service: "iam",
            protocol: Protocol::Query,
            name: $name,
            namespace: IAM_NAMESPACE,
            action: concat!("iam:", $name),
            authorization: Authorization::Policies,
            resources: $resources,
            run: |ctx| query($handler(ctx)),
        };
    };
}

group_operation!(CREATE_GROUP, "CreateGroup", |ctx| Box::pin(group_resource(ctx)), create_group);
group_operation!(GET_GROUP, "GetGroup", |ctx| Box::pin(group_resource(ctx)), get_group);
group_operation!(
    LIST_GROUPS,
    "ListGroups",
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:group/", ctx.account())]) }),
    list_groups
);
group_operation!(DELETE_GROUP, "DeleteGroup", |ctx| Box::pin(group_resource(ctx)), delete_group);
group_operation!(ADD_USER_TO_GROUP, "AddUserToGroup", |ctx| Box::pin(group_resource(ctx)), add_user_to_group);
group_operation!(
    REMOVE_USER_FROM_GROUP,
    "RemoveUserFromGroup",
    |ctx| Box::pin(group_resource(ctx)),
    remove_user_from_group
);
group_operation!(
    LIST_GROUPS_FOR_USER,
    "ListGroupsForUser",
    |ctx| Box::pin(user_resource(ctx, false)),
    list_groups_for_user
);

async fn create_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let name = ctx.required("GroupName")?;
    check_name(name, "groupName", 128)?;
    let path = ctx.params.get("Path").unwrap_or("/");
    check_path(path)?;
    let group = Group {
        name: name.to_owned(),
        group_id: ids::unique_id("AGPA").map_err(internal)?,
        path: path.to_owned(),
        created_at: ids::now(),
    };
    let inserted = ctx
        .app
        .store
        .execute(
            "INSERT INTO iam_groups (account_id, name_key, name, group_id, path, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                ctx.account().into(),
                name.to_lowercase().into(),
                name.into(),
                group.group_id.as_str().into(),
                path.into(),
                Value::Int(group.created_at),
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(store::StoreError::Conflict) => {
            return Err(AwsError::new("EntityAlreadyExists", 409, format!("Group with name {name} already exists.")));
        }
        Err(error) => return Err(internal(error)),
    }
    let mut xml = ctx.response();
    xml.nest("Group", |xml| group.write(xml, ctx.account()));
    Ok(xml)
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
    let members: Vec<User> = rows.iter().map(User::from_row).collect::<Result<_, _>>()?;
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

async fn list_groups(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let prefix = ctx.params.get("PathPrefix").unwrap_or("/");
    let page = Page::from_params(ctx)?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT name, group_id, path, created_at FROM iam_groups WHERE account_id = ? AND name_key > ? ORDER BY name_key",
            vec![ctx.account().into(), page.after.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let groups: Vec<Group> = rows
        .iter()
        .map(Group::from_row)
        .filter(|group| group.as_ref().map_or(true, |g| g.path.starts_with(prefix)))
        .collect::<Result<_, _>>()?;
    let (shown, next) = page.cut(&groups, |group| group.name.to_lowercase());
    let mut xml = ctx.response();
    xml.nest("Groups", |xml| {
        for group in shown {
            xml.nest("member", |xml| group.write(xml, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
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
               AND NOT EXISTS (SELECT 1 FROM inline_policies WHERE account_id = ? AND owner_kind = 'group' AND owner_key = ?)",
            vec![
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
    existing_group(ctx).await?;
    Err(AwsError::new("DeleteConflict", 409, "Cannot delete entity, must remove users and policies from group first."))
}

async fn add_user_to_group(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let group = existing_group(ctx).await?;
    let user_name = ctx.required("UserName")?;
    let user = find_user(ctx, user_name).await?.ok_or_else(|| no_such_user(user_name))?;
    let added = ctx
        .app
        .store
        .execute(
            "INSERT INTO group_members (account_id, group_key, user_key) VALUES (?, ?, ?)",
            vec![ctx.account().into(), group.name.to_lowercase().into(), user.name.to_lowercase().into()],
        )
        .await;
    match added {
        // Adding a member twice is not an error on AWS.
        Ok(_) | Err(store::StoreError::Conflict) => Ok(ctx.response()),
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
    let groups: Vec<Group> = rows.iter().map(Group::from_row).collect::<Result<_, _>>()?;
    let mut xml = ctx.response();
    xml.nest("Groups", |xml| {
        for group in &groups {
            xml.nest("member", |xml| group.write(xml, ctx.account()));
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}
