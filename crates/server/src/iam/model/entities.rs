//! Users, groups, roles and instance profiles as stored: a name unique case-insensitively in
//! the account (its lowercase form is the entity's key), a path, a unique id, a creation
//! date and an ARN. Inline policies, attachments, boundaries, memberships and tags hang off
//! an entity by its kind's noun and its key.
//!
//! Guarantees: a name is taken at most once per kind and account, case-insensitively (the
//! table's key): creating over it is refused, never merged.

use store::{Row, Statement, Store, StoreError, Value};

use super::Error;

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
    pub(crate) fn id_prefix(self) -> &'static str {
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
}

/// A stored user, group, role or instance profile (what every kind has).
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub kind: Kind,
    pub name: String,
    pub id: String,
    pub path: String,
    pub created_at: i64,
}

impl Entity {
    pub(crate) fn from_row(kind: Kind, row: &Row) -> Result<Entity, Error> {
        Ok(Entity { kind, name: row.text(0)?, id: row.text(1)?, path: row.text(2)?, created_at: row.int(3)? })
    }

    /// The columns `from_row` reads, in order, for `kind`'s table (optionally aliased).
    pub(crate) fn columns(kind: Kind, alias: &str) -> String {
        let prefix = if alias.is_empty() { String::new() } else { format!("{alias}.") };
        format!("{prefix}name, {prefix}{}, {prefix}path, {prefix}created_at", kind.id_column())
    }

    /// What its rows elsewhere hang off: its lowercase name.
    pub(crate) fn key(&self) -> String {
        self.name.to_lowercase()
    }

    pub(crate) fn arn(&self, account: &str) -> String {
        arn(self.kind, account, &self.path, &self.name)
    }
}

pub(crate) fn arn(kind: Kind, account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind.noun())
}

fn from_rows(kind: Kind, rows: &[Row]) -> Result<Vec<Entity>, Error> {
    rows.iter().map(|row| Entity::from_row(kind, row)).collect()
}

/// The entity of that name (compared case-insensitively, as IAM does), as stored now.
pub(crate) async fn find(store: &Store, account: &str, kind: Kind, name: &str) -> Result<Option<Entity>, Error> {
    let sql =
        format!("SELECT {} FROM {} WHERE account_id = ? AND name_key = ?", Entity::columns(kind, ""), kind.table());
    let rows = store.query(&sql, vec![account.into(), name.to_lowercase().into()]).await?;
    rows.first().map(|row| Entity::from_row(kind, row)).transpose()
}

/// The entity whose unique id (`AIDA...`, `AROA...`) is `id`, as stored now: never one made
/// since under the same name.
pub(crate) async fn find_by_id(store: &Store, account: &str, kind: Kind, id: &str) -> Result<Option<Entity>, Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE account_id = ? AND {} = ?",
        Entity::columns(kind, ""),
        kind.table(),
        kind.id_column()
    );
    let rows = store.query(&sql, vec![account.into(), id.into()]).await?;
    rows.first().map(|row| Entity::from_row(kind, row)).transpose()
}

/// Where a page of entities starts and how long it is: those whose path starts with `prefix`
/// and whose key sorts after `after`, by key, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    pub prefix: &'a str,
    pub after: &'a str,
    pub limit: usize,
}

impl Window<'_> {
    /// The conditions (on a table aliased `alias`, after its account's) and ordering of the
    /// window, and their parameters. The store reads the page along the table's key and stops
    /// at `limit`: never the entities before the marker, nor those after the page. The prefix
    /// is compared with `substr` (paths are ASCII: characters are bytes on every store), not
    /// `LIKE`, whose wildcards and case folding differ between SQLite and PostgreSQL.
    pub(crate) fn sql(&self, alias: &str) -> (String, Vec<Value>) {
        let prefix_length = self.prefix.chars().count();
        let sql = format!(
            "AND {alias}.name_key > ? AND substr({alias}.path, 1, {prefix_length}) = ? ORDER BY {alias}.name_key LIMIT {}",
            self.limit
        );
        (sql, vec![self.after.into(), self.prefix.into()])
    }
}

/// The account's entities of `kind` in `window`.
pub(crate) async fn page(store: &Store, account: &str, kind: Kind, window: Window<'_>) -> Result<Vec<Entity>, Error> {
    let (condition, params) = window.sql("e");
    let sql =
        format!("SELECT {} FROM {} e WHERE e.account_id = ? {condition}", Entity::columns(kind, "e"), kind.table());
    from_rows(kind, &store.query(&sql, std::iter::once(account.into()).chain(params).collect()).await?)
}

/// Every entity of `kind` in the account, by key.
pub(crate) async fn all(store: &Store, account: &str, kind: Kind) -> Result<Vec<Entity>, Error> {
    let sql =
        format!("SELECT {} FROM {} WHERE account_id = ? ORDER BY name_key", Entity::columns(kind, ""), kind.table());
    from_rows(kind, &store.query(&sql, vec![account.into()]).await?)
}

/// Records a new entity with `columns` beyond the common ones, and `also` (its tags, its
/// boundary) in the same transaction. `false`: an entity of that kind and name exists.
pub(crate) async fn create(
    store: &Store,
    account: &str,
    entity: &Entity,
    columns: Vec<(&'static str, Value)>,
    also: Vec<Statement>,
) -> Result<bool, Error> {
    let kind = entity.kind;
    let mut names = format!("account_id, name_key, name, {}, path, created_at", kind.id_column());
    let mut params = vec![
        account.into(),
        entity.key().into(),
        entity.name.as_str().into(),
        entity.id.as_str().into(),
        entity.path.as_str().into(),
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
    statements.extend(also);
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    /// A new entity of `kind` named `name` under `/`.
    pub(crate) fn entity(kind: Kind, name: &str) -> Entity {
        Entity {
            kind,
            name: name.to_owned(),
            id: format!("{}{}", kind.id_prefix(), name.to_uppercase()),
            path: "/".to_owned(),
            created_at: 7,
        }
    }

    /// Stores a new entity of `kind` named `name` (a role with a trust policy and the default
    /// session length).
    pub(crate) async fn stored(store: &Store, kind: Kind, name: &str) -> Entity {
        let entity = entity(kind, name);
        let columns = match kind {
            Kind::Role => vec![("max_session_duration", Value::Int(3_600)), ("trust_policy", "{}".into())],
            _ => Vec::new(),
        };
        assert!(create(store, ACCOUNT, &entity, columns, Vec::new()).await.unwrap(), "{name} is new");
        entity
    }

    #[tokio::test]
    async fn an_entity_is_found_by_any_spelling_and_its_name_is_taken_case_insensitively() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(create(store, ACCOUNT, &entity(Kind::User, "Alice"), Vec::new(), Vec::new()).await.unwrap());
        assert!(!create(store, ACCOUNT, &entity(Kind::User, "ALICE"), Vec::new(), Vec::new()).await.unwrap());
        assert!(
            create(store, ACCOUNT, &entity(Kind::Group, "alice"), Vec::new(), Vec::new()).await.unwrap(),
            "kinds are apart"
        );
        let found = find(store, ACCOUNT, Kind::User, "aLiCe").await.unwrap().unwrap();
        assert_eq!((found.name.as_str(), found.id.as_str(), found.key().as_str()), ("Alice", "AIDAALICE", "alice"));
        assert_eq!(found.arn(ACCOUNT), "arn:aws:iam::111122223333:user/Alice");
        assert!(find(store, "999988887777", Kind::User, "alice").await.unwrap().is_none());
        let by_id = find_by_id(store, ACCOUNT, Kind::User, "AIDAALICE").await.unwrap().unwrap();
        assert_eq!(by_id.name, "Alice");
        assert!(find_by_id(store, ACCOUNT, Kind::Group, "AIDAALICE").await.unwrap().is_none(), "kinds are apart");
        assert!(find_by_id(store, ACCOUNT, Kind::User, "aidaalice").await.unwrap().is_none(), "ids are exact");
        stored(store, Kind::User, "bob").await;
        let names = |entities: Vec<Entity>| entities.into_iter().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(names(all(store, ACCOUNT, Kind::User).await.unwrap()), ["Alice", "bob"]);
        let window = Window { prefix: "/", after: "alice", limit: 10 };
        assert_eq!(names(page(store, ACCOUNT, Kind::User, window).await.unwrap()), ["bob"]);
    }
}
