//! What IAM users, groups, roles and instance profiles share: a name unique case-insensitively in the account, a
//! path, a unique id, a creation date and an ARN, and the Create / find / List operations over
//! them. Inline policies, attachments, boundaries and tags hang off an entity by its kind's
//! noun and its lowercase name.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use store::{Row, Statement, Value};

use crate::ids;
use crate::operations::{Ctx, Page, check_name, check_path, internal};

/// The kind of a named IAM entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
    Role,
    InstanceProfile,
}

impl Kind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "iam_groups",
            Kind::Role => "roles",
            Kind::InstanceProfile => "instance_profiles",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Kind::User => "user_id",
            Kind::Group => "group_id",
            Kind::Role => "role_id",
            Kind::InstanceProfile => "profile_id",
        }
    }

    /// The unique id's prefix, as IAM makes them.
    fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "AIDA",
            Kind::Group => "AGPA",
            Kind::Role => "AROA",
            Kind::InstanceProfile => "AIPA",
        }
    }

    /// The lowercase noun of ARNs and messages, and the `owner_kind` of what hangs off it.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
            Kind::InstanceProfile => "instance-profile",
        }
    }

    /// The capitalized noun of XML elements (`User`, `UserName`, `UserId`).
    pub(crate) fn element(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
            Kind::Role => "Role",
            Kind::InstanceProfile => "InstanceProfile",
        }
    }

    /// The request parameter naming an entity of this kind.
    pub(crate) fn param(self) -> &'static str {
        match self {
            Kind::User => "UserName",
            Kind::Group => "GroupName",
            Kind::Role => "RoleName",
            Kind::InstanceProfile => "InstanceProfileName",
        }
    }

    fn max_name(self) -> usize {
        match self {
            Kind::User | Kind::Role => 64,
            Kind::Group | Kind::InstanceProfile => 128,
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

/// The stored entity of that name (compared case-insensitively, as IAM does). The entity the
/// request was authorized on is that entity: handlers act on it, not on a second lookup.
pub(crate) async fn find(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
    let key = name.to_lowercase();
    if let Some(target) = ctx.target.get().filter(|target| target.kind == kind && target.name.to_lowercase() == key) {
        return Ok(Some(target.clone()));
    }
    find_stored(ctx, kind, name).await
}

/// The entity of that name as the store holds it now (a handler asks after its own write
/// failed, when the request's target may be gone).
pub(crate) async fn find_stored(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
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

/// The ARN a request naming an entity with `kind.param()` is authorized on. An existing
/// entity is authorized by its own ARN (its name as stored, its path), whatever the
/// request's spelling, and becomes the request's target; only a name no entity has yet
/// (CreateUser, ...) is authorized as spelled, under the `Path` parameter or `/`.
pub(crate) async fn resource(ctx: &Ctx<'_>, kind: Kind) -> Result<Vec<String>, AwsError> {
    let name = ctx.required(kind.param())?;
    Ok(vec![match resolve(ctx, kind, name).await? {
        Some(entity) => entity.arn(ctx.account()),
        None => arn(kind, ctx.account(), ctx.params.get("Path").unwrap_or("/"), name),
    }])
}

/// The stored entity `name` names, recorded as the request's target (the first resolved one
/// stays the target).
pub(crate) async fn resolve(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
    let entity = find(ctx, kind, name).await?;
    if let Some(entity) = &entity {
        // Set once: an entity resolved later in the same request is not its target.
        let _ = ctx.target.set(entity.clone());
    }
    Ok(entity)
}

/// Inserts a new entity named by the request (`kind.param()` and `Path`) with `columns`
/// beyond the common ones, and `also` (tags, a boundary) in the same transaction.
pub(crate) async fn insert(
    ctx: &Ctx<'_>,
    kind: Kind,
    columns: Vec<(&'static str, Value)>,
    also: impl FnOnce(&str) -> Vec<Statement>,
) -> Result<Entity, AwsError> {
    let name = ctx.required(kind.param())?;
    let member = crate::operations::lower_first(kind.param());
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
    let mut names = format!("account_id, name_key, name, {}, path, created_at", kind.id_column());
    let mut params = vec![
        ctx.account().into(),
        name.to_lowercase().into(),
        name.into(),
        entity.id.as_str().into(),
        path.into(),
        Value::Int(entity.created_at),
    ];
    for (column, value) in columns {
        names.push_str(", ");
        names.push_str(column);
        params.push(value);
    }
    let placeholders = vec!["?"; params.len()].join(", ");
    let mut statements =
        vec![Statement::new(format!("INSERT INTO {} ({names}) VALUES ({placeholders})", kind.table()), params)];
    statements.extend(also(&name.to_lowercase()));
    match ctx.app.store.transaction(statements).await {
        Ok(_) => Ok(entity),
        Err(store::StoreError::Conflict) => {
            let message = format!("{} with name {name} already exists.", kind.element());
            Err(AwsError::new("EntityAlreadyExists", 409, message))
        }
        Err(error) => Err(internal(error)),
    }
}

/// CreateGroup (users and roles write more than the common fields).
pub(crate) async fn create(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let entity = insert(ctx, kind, Vec::new(), |_| Vec::new()).await?;
    let mut xml = ctx.response();
    xml.nest(kind.element(), |xml| entity.write(xml, ctx.account()));
    Ok(xml)
}

/// The entities of `kind` under `PathPrefix`, from `Marker` on, and the next page's marker.
pub(crate) async fn page_of(ctx: &Ctx<'_>, kind: Kind) -> Result<(Vec<Entity>, Page, Option<String>), AwsError> {
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
    Ok((shown.to_vec(), page, next))
}

/// ListUsers / ListGroups: `PathPrefix`, `Marker` and `MaxItems`.
pub(crate) async fn list(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let (shown, page, next) = page_of(ctx, kind).await?;
    let mut xml = ctx.response();
    xml.nest(&format!("{}s", kind.element()), |xml| {
        for entity in &shown {
            xml.nest("member", |xml| entity.write(xml, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

/// The boundary ARN of an entity, if it has one.
pub(crate) async fn boundary_of(
    store: &store::Store,
    account: &str,
    kind: Kind,
    key: &str,
) -> Result<Option<String>, AwsError> {
    let rows = store
        .query(
            "SELECT policy_arn FROM permissions_boundaries WHERE account_id = ? AND owner_kind = ? AND owner_key = ?",
            vec![account.into(), kind.noun().into(), key.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(|row| row.text(0).map_err(internal)).transpose()
}
