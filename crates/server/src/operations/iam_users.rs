//! IAM users: CreateUser, GetUser, ListUsers, DeleteUser.

use aws_protocol::query::XmlResponse;
use aws_protocol::{AwsError, Protocol};
use store::{Row, Value};

use super::{Authorization, Ctx, IAM_NAMESPACE, Operation, check_name, check_path, internal, no_such_user, query};
use crate::auth::{Principal, user_arn};
use crate::ids;

/// A user as stored.
pub(crate) struct User {
    pub name: String,
    pub user_id: String,
    pub path: String,
    pub created_at: i64,
}

impl User {
    pub(crate) fn from_row(row: &Row) -> Result<User, AwsError> {
        Ok(User {
            name: row.text(0).map_err(internal)?,
            user_id: row.text(1).map_err(internal)?,
            path: row.text(2).map_err(internal)?,
            created_at: row.int(3).map_err(internal)?,
        })
    }

    pub(crate) fn write(&self, xml: &mut XmlResponse, account: &str) {
        xml.element("Path", &self.path)
            .element("UserName", &self.name)
            .element("UserId", &self.user_id)
            .element("Arn", &user_arn(account, &self.path, &self.name))
            .element("CreateDate", &ids::iso8601(self.created_at));
    }
}

/// The stored user of that name (compared case-insensitively, as IAM does).
pub(crate) async fn find_user(ctx: &Ctx<'_>, name: &str) -> Result<Option<User>, AwsError> {
    let rows = ctx
        .app
        .store
        .query(
            "SELECT name, user_id, path, created_at FROM users WHERE account_id = ? AND name_key = ?",
            vec![ctx.account().into(), name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(User::from_row).transpose()
}

/// The ARN of the user a request names (with its path when it exists, else the `Path`
/// parameter or `/`), or of the caller when it names none and `or_caller` allows it.
pub(crate) async fn user_resource(ctx: &Ctx<'_>, or_caller: bool) -> Result<Vec<String>, AwsError> {
    let name = match ctx.params.get("UserName") {
        Some(name) => name,
        None if or_caller => return Ok(vec![ctx.identity.arn()]),
        None => ctx.required("UserName")?,
    };
    let path = match find_user(ctx, name).await? {
        Some(user) => user.path,
        None => ctx.params.get("Path").unwrap_or("/").to_owned(),
    };
    Ok(vec![user_arn(ctx.account(), &path, name)])
}

pub const CREATE_USER: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "CreateUser",
    namespace: IAM_NAMESPACE,
    action: "iam:CreateUser",
    authorization: Authorization::Policies,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(create_user(ctx)),
};

async fn create_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let name = ctx.required("UserName")?;
    check_name(name, "userName", 64)?;
    let path = ctx.params.get("Path").unwrap_or("/");
    check_path(path)?;
    let user = User {
        name: name.to_owned(),
        user_id: ids::unique_id("AIDA").map_err(internal)?,
        path: path.to_owned(),
        created_at: ids::now(),
    };
    let inserted = ctx
        .app
        .store
        .execute(
            "INSERT INTO users (account_id, name_key, name, user_id, path, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                ctx.account().into(),
                name.to_lowercase().into(),
                name.into(),
                user.user_id.as_str().into(),
                path.into(),
                Value::Int(user.created_at),
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(store::StoreError::Conflict) => {
            return Err(AwsError::new("EntityAlreadyExists", 409, format!("User with name {name} already exists.")));
        }
        Err(error) => return Err(internal(error)),
    }
    let mut xml = ctx.response();
    xml.nest("User", |xml| user.write(xml, ctx.account()));
    Ok(xml)
}

pub const GET_USER: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "GetUser",
    namespace: IAM_NAMESPACE,
    action: "iam:GetUser",
    authorization: Authorization::Policies,
    resources: |ctx| Box::pin(user_resource(ctx, true)),
    run: |ctx| query(get_user(ctx)),
};

async fn get_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = match (ctx.params.get("UserName"), &ctx.identity.principal) {
        // The caller itself, as authenticated (the cache behind it never outlives a change).
        (named, Principal::User { name, user_id, path, created_at })
            if named.is_none_or(|named| named.to_lowercase() == name.to_lowercase()) =>
        {
            User { name: name.clone(), user_id: user_id.clone(), path: path.clone(), created_at: *created_at }
        }
        (Some(name), _) => find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?,
        (None, _) => {
            // The root user describes itself as AWS does: its account id and root ARN.
            let mut xml = ctx.response();
            xml.nest("User", |xml| {
                xml.element("UserId", ctx.account())
                    .element("Arn", &ctx.identity.arn())
                    .element("CreateDate", &ids::iso8601(0));
            });
            return Ok(xml);
        }
    };
    let mut xml = ctx.response();
    xml.nest("User", |xml| user.write(xml, ctx.account()));
    Ok(xml)
}

pub const LIST_USERS: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "ListUsers",
    namespace: IAM_NAMESPACE,
    action: "iam:ListUsers",
    authorization: Authorization::Policies,
    resources: |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:user/", ctx.account())]) }),
    run: |ctx| query(list_users(ctx)),
};

async fn list_users(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let prefix = ctx.params.get("PathPrefix").unwrap_or("/");
    let page = Page::from_params(ctx)?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT name, user_id, path, created_at FROM users WHERE account_id = ? AND name_key > ? ORDER BY name_key",
            vec![ctx.account().into(), page.after.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let users: Vec<User> = rows
        .iter()
        .map(User::from_row)
        .filter(|user| user.as_ref().map_or(true, |u| u.path.starts_with(prefix)))
        .collect::<Result<_, _>>()?;
    let (shown, next) = page.cut(&users, |user| user.name.to_lowercase());
    let mut xml = ctx.response();
    xml.nest("Users", |xml| {
        for user in shown {
            xml.nest("member", |xml| user.write(xml, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

pub const DELETE_USER: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "DeleteUser",
    namespace: IAM_NAMESPACE,
    action: "iam:DeleteUser",
    authorization: Authorization::Policies,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(delete_user(ctx)),
};

async fn delete_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let name = ctx.required("UserName")?;
    let key = name.to_lowercase();
    let store = &ctx.app.store;
    // The guards and the delete are one statement: nothing can be attached in between.
    let deleted = store
        .execute(
            "DELETE FROM users WHERE account_id = ? AND name_key = ?
               AND NOT EXISTS (SELECT 1 FROM access_keys WHERE account_id = ? AND user_name_key = ?)
               AND NOT EXISTS (SELECT 1 FROM inline_policies WHERE account_id = ? AND owner_kind = 'user' AND owner_key = ?)
               AND NOT EXISTS (SELECT 1 FROM group_members WHERE account_id = ? AND user_key = ?)",
            vec![
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    if deleted == 1 {
        return Ok(ctx.response());
    }
    if find_user(ctx, name).await?.is_none() {
        return Err(no_such_user(name));
    }
    let attached = |sql: &'static str| {
        let params = vec![ctx.account().into(), key.as_str().into()];
        async move { store.query(sql, params).await.map(|rows| !rows.is_empty()).map_err(internal) }
    };
    let message = if attached("SELECT 1 FROM access_keys WHERE account_id = ? AND user_name_key = ?").await? {
        "Cannot delete entity, must delete access keys first."
    } else if attached("SELECT 1 FROM group_members WHERE account_id = ? AND user_key = ?").await? {
        "Cannot delete entity, must remove user from group first."
    } else {
        "Cannot delete entity, must delete policies first."
    };
    Err(AwsError::new("DeleteConflict", 409, message))
}

/// `Marker` / `MaxItems` paging over names, as IAM's List operations do it.
pub(crate) struct Page {
    pub after: String,
    pub max_items: usize,
}

impl Page {
    pub(crate) fn from_params(ctx: &Ctx<'_>) -> Result<Page, AwsError> {
        let max_items = match ctx.params.get("MaxItems") {
            None => 100,
            Some(text) => match text.parse::<usize>() {
                Ok(n @ 1..=1000) => n,
                _ => {
                    return Err(super::validation(format!(
                        "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"
                    )));
                }
            },
        };
        Ok(Page { after: ctx.params.get("Marker").unwrap_or("").to_owned(), max_items })
    }

    /// The items of this page and the marker of the next one.
    pub(crate) fn cut<'a, T>(&self, items: &'a [T], key: impl Fn(&T) -> String) -> (&'a [T], Option<String>) {
        if items.len() > self.max_items {
            let shown = items.get(..self.max_items).unwrap_or(items);
            (shown, shown.last().map(key))
        } else {
            (items, None)
        }
    }

    pub(crate) fn finish(&self, xml: &mut XmlResponse, next: Option<String>) {
        match next {
            Some(marker) => {
                xml.element("IsTruncated", "true").element("Marker", &marker);
            }
            None => {
                xml.element("IsTruncated", "false");
            }
        }
    }
}

pub const UPDATE_USER: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "UpdateUser",
    namespace: IAM_NAMESPACE,
    action: "iam:UpdateUser",
    authorization: Authorization::Policies,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(update_user(ctx)),
};

async fn update_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let name = ctx.required("UserName")?;
    let user = find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?;
    let new_name = ctx.params.get("NewUserName").unwrap_or(&user.name).to_owned();
    check_name(&new_name, "newUserName", 64)?;
    let new_path = ctx.params.get("NewPath").unwrap_or(&user.path).to_owned();
    check_path(&new_path)?;
    let (old_key, new_key) = (user.name.to_lowercase(), new_name.to_lowercase());
    let account = ctx.account();
    // The user, its keys, its policies and its memberships move together.
    let rename = |table: &str, column: &str, condition: &str| {
        store::Statement::new(
            format!("UPDATE {table} SET {column} = ? WHERE account_id = ? AND {column} = ?{condition}"),
            vec![new_key.as_str().into(), account.into(), old_key.as_str().into()],
        )
    };
    let updated = ctx
        .app
        .store
        .transaction(vec![
            store::Statement::new(
                "UPDATE users SET name_key = ?, name = ?, path = ? WHERE account_id = ? AND name_key = ?",
                vec![
                    new_key.as_str().into(),
                    new_name.as_str().into(),
                    new_path.as_str().into(),
                    account.into(),
                    old_key.as_str().into(),
                ],
            ),
            rename("access_keys", "user_name_key", ""),
            rename("inline_policies", "owner_key", " AND owner_kind = 'user'"),
            rename("group_members", "user_key", ""),
        ])
        .await;
    match updated {
        Ok(_) => Ok(ctx.response()),
        Err(store::StoreError::Conflict) => {
            Err(AwsError::new("EntityAlreadyExists", 409, format!("User with name {new_name} already exists.")))
        }
        Err(error) => Err(internal(error)),
    }
}
