//! What IAM users and groups (and, next, roles) share: a name unique case-insensitively in the
//! account, a path, a unique id, a creation date and an ARN, and the Create / find / List
//! operations over them.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use store::{Row, Value};

use super::{Ctx, Page, check_name, check_path, internal};
use crate::ids;

/// The kind of a named IAM entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "iam_groups",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Kind::User => "user_id",
            Kind::Group => "group_id",
        }
    }

    /// The unique id's prefix, as IAM makes them.
    fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "AIDA",
            Kind::Group => "AGPA",
        }
    }

    /// The lowercase noun of ARNs and messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }

    /// The capitalized noun of XML elements (`User`, `UserName`, `UserId`).
    fn element(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The request parameter naming an entity of this kind.
    pub(crate) fn param(self) -> &'static str {
        match self {
            Kind::User => "UserName",
            Kind::Group => "GroupName",
        }
    }

    fn max_name(self) -> usize {
        match self {
            Kind::User => 64,
            Kind::Group => 128,
        }
    }
}

/// A stored user or group.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub kind: Kind,
    pub name: String,
    pub id: String,
    pub path: String,
    pub created_at: i64,
}

impl Entity {
    pub(crate) fn from_row(kind: Kind, row: &Row) -> Result<Entity, AwsError> {
        Ok(Entity {
            kind,
            name: row.text(0).map_err(internal)?,
            id: row.text(1).map_err(internal)?,
            path: row.text(2).map_err(internal)?,
            created_at: row.int(3).map_err(internal)?,
        })
    }

    /// The columns `from_row` reads, in order, for `kind`'s table (optionally aliased).
    pub(crate) fn columns(kind: Kind, alias: &str) -> String {
        let prefix = if alias.is_empty() { String::new() } else { format!("{alias}.") };
        format!("{prefix}name, {prefix}{}, {prefix}path, {prefix}created_at", kind.id_column())
    }

    pub(crate) fn arn(&self, account: &str) -> String {
        arn(self.kind, account, &self.path, &self.name)
    }

    /// Path, name, id, ARN and creation date, as IAM's `User` and `Group` shapes hold them.
    pub(crate) fn write(&self, xml: &mut XmlResponse, account: &str) {
        let element = self.kind.element();
        xml.element("Path", &self.path)
            .element(&format!("{element}Name"), &self.name)
            .element(&format!("{element}Id"), &self.id)
            .element("Arn", &self.arn(account))
            .element("CreateDate", &ids::iso8601(self.created_at));
    }
}

pub(crate) fn arn(kind: Kind, account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind.noun())
}

pub(crate) fn no_such(kind: Kind, name: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The {} with name {name} cannot be found.", kind.noun()))
}

/// The stored entity of that name (compared case-insensitively, as IAM does).
pub(crate) async fn find(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
    let sql =
        format!("SELECT {} FROM {} WHERE account_id = ? AND name_key = ?", Entity::columns(kind, ""), kind.table());
    let rows =
        ctx.app.store.query(&sql, vec![ctx.account().into(), name.to_lowercase().into()]).await.map_err(internal)?;
    rows.first().map(|row| Entity::from_row(kind, row)).transpose()
}

/// The entity the request names with `kind.param()`, or NoSuchEntity.
pub(crate) async fn existing(ctx: &Ctx<'_>, kind: Kind) -> Result<Entity, AwsError> {
    let name = ctx.required(kind.param())?;
    find(ctx, kind, name).await?.ok_or_else(|| no_such(kind, name))
}

/// The ARN of the entity the request names: with its path when it exists, else with the
/// `Path` parameter or `/`.
pub(crate) async fn resource(ctx: &Ctx<'_>, kind: Kind) -> Result<Vec<String>, AwsError> {
    let name = ctx.required(kind.param())?;
    let path = match find(ctx, kind, name).await? {
        Some(entity) => entity.path,
        None => ctx.params.get("Path").unwrap_or("/").to_owned(),
    };
    Ok(vec![arn(kind, ctx.account(), &path, name)])
}

/// CreateUser / CreateGroup.
pub(crate) async fn create(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let name = ctx.required(kind.param())?;
    let member = format!("{}Name", kind.noun());
    check_name(name, &member, kind.max_name())?;
    let path = ctx.params.get("Path").unwrap_or("/");
    check_path(path)?;
    let entity = Entity {
        kind,
        name: name.to_owned(),
        id: ids::unique_id(kind.id_prefix()).map_err(internal)?,
        path: path.to_owned(),
        created_at: ids::now(),
    };
    let sql = format!(
        "INSERT INTO {} (account_id, name_key, name, {}, path, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        kind.table(),
        kind.id_column()
    );
    let params = vec![
        ctx.account().into(),
        name.to_lowercase().into(),
        name.into(),
        entity.id.as_str().into(),
        path.into(),
        Value::Int(entity.created_at),
    ];
    match ctx.app.store.execute(&sql, params).await {
        Ok(_) => {}
        Err(store::StoreError::Conflict) => {
            let message = format!("{} with name {name} already exists.", kind.element());
            return Err(AwsError::new("EntityAlreadyExists", 409, message));
        }
        Err(error) => return Err(internal(error)),
    }
    let mut xml = ctx.response();
    xml.nest(kind.element(), |xml| entity.write(xml, ctx.account()));
    Ok(xml)
}

/// ListUsers / ListGroups: `PathPrefix`, `Marker` and `MaxItems`.
pub(crate) async fn list(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let prefix = ctx.params.get("PathPrefix").unwrap_or("/");
    let page = Page::from_params(ctx)?;
    let sql = format!(
        "SELECT {} FROM {} WHERE account_id = ? AND name_key > ? ORDER BY name_key",
        Entity::columns(kind, ""),
        kind.table()
    );
    let rows =
        ctx.app.store.query(&sql, vec![ctx.account().into(), page.after.as_str().into()]).await.map_err(internal)?;
    let entities: Vec<Entity> = rows
        .iter()
        .map(|row| Entity::from_row(kind, row))
        .filter(|entity| entity.as_ref().map_or(true, |e| e.path.starts_with(prefix)))
        .collect::<Result<_, _>>()?;
    let (shown, next) = page.cut(&entities, |entity| entity.name.to_lowercase());
    let mut xml = ctx.response();
    xml.nest(&format!("{}s", kind.element()), |xml| {
        for entity in shown {
            xml.nest("member", |xml| entity.write(xml, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}
