//! Roles as stored: beyond what every entity has, a description, the longest session they
//! allow, their trust policy (with the unique ids of the principals it names) and their last
//! use.
//!
//! Guarantees: a role's trust policy is read as it reads now (principals bound to users or
//! roles deleted since show their unique ids, never a newcomer of the same name); a role is
//! deleted only while no inline policy, attachment or instance profile holds it, and its
//! boundary and tags go with it.

use store::{Row, Statement, Store, StoreError, Value};

use super::entities::{Entity, Kind, Window};
use super::tags::{self, Tag, Tagged};
use super::{Dependents, Error, attachments, boundaries, inline, instance_profiles};

/// A role as stored, beyond what every entity has.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub entity: Entity,
    pub description: Option<String>,
    pub max_session_duration: i64,
    pub trust_policy: String,
    pub last_used: Option<(i64, String)>,
}

impl Role {
    pub(crate) fn arn(&self, account: &str) -> String {
        self.entity.arn(account)
    }
}

/// A role with its permissions boundary and tags: what GetRole shows.
#[derive(Debug, Clone)]
pub(crate) struct RoleDetail {
    pub role: Role,
    pub boundary: Option<String>,
    pub tags: Vec<Tag>,
}

/// The columns [`from_row`] reads, from `roles` aliased `r`.
pub(super) const COLUMNS: &str =
    "r.name, r.role_id, r.path, r.created_at, r.description, r.max_session_duration, r.trust_policy,
                       r.last_used_at, r.last_used_region, r.trust_principals";

/// The role in a row starting with [`COLUMNS`].
pub(super) async fn from_row(store: &Store, account: &str, row: &Row) -> Result<Role, Error> {
    let last_used = match (row.opt_int(7)?, row.opt_text(8)?) {
        (Some(at), Some(region)) => Some((at, region)),
        _ => None,
    };
    Ok(Role {
        entity: Entity::from_row(Kind::Role, row)?,
        description: row.opt_text(4)?,
        max_session_duration: row.int(5)?,
        // As it reads now: principals bound to users or roles gone since show their ids.
        trust_policy: crate::principals::resolve(store, account, &row.text(6)?, row.opt_text(9)?.as_deref()).await?,
        last_used,
    })
}

/// The role of that name (case-insensitively), if it exists.
pub(crate) async fn find(store: &Store, account: &str, name: &str) -> Result<Option<Role>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM roles r WHERE r.account_id = ? AND r.name_key = ?"),
            vec![account.into(), name.to_lowercase().into()],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(Some(from_row(store, account, row).await?)),
        None => Ok(None),
    }
}

/// The role of that name (case-insensitively) with its boundary and tags (sorted by key), if
/// it exists: one statement, its row repeated once per tag (at most [`tags::PER_RESOURCE`]).
pub(crate) async fn detail(store: &Store, account: &str, name: &str) -> Result<Option<RoleDetail>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS}, b.policy_arn, t.tag_key, t.tag_value FROM roles r
                 LEFT JOIN permissions_boundaries b
                   ON b.account_id = r.account_id AND b.owner_kind = 'role' AND b.owner_key = r.name_key
                 LEFT JOIN tags t
                   ON t.account_id = r.account_id AND t.resource_kind = 'role' AND t.resource_key = r.name_key
                 WHERE r.account_id = ? AND r.name_key = ? ORDER BY t.tag_key_lower"
            ),
            vec![account.into(), name.to_lowercase().into()],
        )
        .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let mut tags = Vec::new();
    for row in &rows {
        if let (Some(key), Some(value)) = (row.opt_text(11)?, row.opt_text(12)?) {
            tags.push(Tag { key, value });
        }
    }
    Ok(Some(RoleDetail { role: from_row(store, account, first).await?, boundary: first.opt_text(10)?, tags }))
}

/// The account's roles in `window`, read in one statement.
pub(crate) async fn page(store: &Store, account: &str, window: Window<'_>) -> Result<Vec<Role>, Error> {
    let (condition, params) = window.sql("r");
    let sql = format!("SELECT {COLUMNS} FROM roles r WHERE r.account_id = ? {condition}");
    let rows = store.query(&sql, std::iter::once(account.into()).chain(params).collect()).await?;
    let mut roles = Vec::with_capacity(rows.len());
    for row in &rows {
        roles.push(from_row(store, account, row).await?);
    }
    Ok(roles)
}

/// When each of the account's roles was last used (assumed, or a session's latest request),
/// by unique id; roles never used are absent.
pub(crate) async fn last_uses(store: &Store, account: &str) -> Result<std::collections::HashMap<String, i64>, Error> {
    let rows = store
        .query(
            "SELECT role_id, last_used_at FROM roles WHERE account_id = ? AND last_used_at IS NOT NULL",
            vec![account.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.int(1)?))).collect()
}

/// The columns of a new role beyond the common ones, for [`super::entities::create`].
pub(crate) fn columns(
    description: Option<String>,
    max_session_duration: i64,
    trust_policy: &str,
    trust_principals: Option<String>,
) -> Vec<(&'static str, Value)> {
    let mut columns = vec![
        ("description", Value::from(description)),
        ("max_session_duration", Value::Int(max_session_duration)),
        ("trust_policy", trust_policy.into()),
    ];
    if let Some(principals) = trust_principals {
        columns.push(("trust_principals", principals.into()));
    }
    columns
}

/// Sets a role's description and longest session.
pub(crate) async fn set_fields(
    store: &Store,
    account: &str,
    role_id: &str,
    description: Option<String>,
    max_session_duration: i64,
) -> Result<(), Error> {
    store
        .execute(
            "UPDATE roles SET description = ?, max_session_duration = ? WHERE account_id = ? AND role_id = ?",
            vec![Value::from(description), Value::Int(max_session_duration), account.into(), role_id.into()],
        )
        .await?;
    Ok(())
}

/// Sets a role's trust policy and the bindings of the principals it names.
pub(crate) async fn set_trust_policy(
    store: &Store,
    account: &str,
    role_id: &str,
    document: &str,
    trust_principals: &str,
) -> Result<(), Error> {
    store
        .execute(
            "UPDATE roles SET trust_policy = ?, trust_principals = ? WHERE account_id = ? AND role_id = ?",
            vec![document.into(), trust_principals.into(), account.into(), role_id.into()],
        )
        .await?;
    Ok(())
}

/// The statement recording a role's use now (a session issued in `region`).
pub(crate) fn record_use(account: &str, role_id: &str, at: i64, region: &str) -> Statement {
    Statement::new(
        "UPDATE roles SET last_used_at = ?, last_used_region = ? WHERE account_id = ? AND role_id = ?",
        vec![Value::Int(at), region.into(), account.into(), role_id.into()],
    )
}

/// The statement recording a role's sessions' latest request (at `at`, signed for `region`),
/// unless a later use is already recorded: the audit importer's, for `RoleLastUsed`.
pub(crate) fn record_activity(role_id: &str, at: i64, region: &str) -> Statement {
    Statement::new(
        "UPDATE roles SET last_used_at = ?, last_used_region = ?
         WHERE role_id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        vec![Value::Int(at), region.into(), role_id.into(), Value::Int(at)],
    )
}

/// What keeps a role from being deleted, in the order IAM reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoleHeldBy {
    InstanceProfiles,
    AttachedPolicies,
    InlinePolicies,
}

/// Deletes a role with its boundary and tags, only while nothing holds it. `false`: it was
/// not deleted (absent, or held).
pub(crate) async fn delete(store: &Store, account: &str, key: &str) -> Result<bool, Error> {
    let mut sql = "DELETE FROM roles WHERE account_id = ? AND name_key = ?".to_owned();
    let mut params = vec![account.into(), key.into()];
    Dependents::append_none(
        &mut sql,
        &mut params,
        &[
            inline::of(account, Kind::Role, key),
            attachments::of(account, Kind::Role, key),
            instance_profiles::holding(account, key),
        ],
    );
    let deleted = store
        .transaction(vec![
            Statement::guard(sql, params),
            boundaries::delete(account, Kind::Role, key),
            tags::delete_all(account, Tagged::Entity(Kind::Role), key),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// What holds a role now (`None`: nothing does).
pub(crate) async fn held_by(store: &Store, account: &str, key: &str) -> Result<Option<RoleHeldBy>, Error> {
    let held = [
        (RoleHeldBy::InstanceProfiles, instance_profiles::holding(account, key)),
        (RoleHeldBy::AttachedPolicies, attachments::of(account, Kind::Role, key)),
        (RoleHeldBy::InlinePolicies, inline::of(account, Kind::Role, key)),
    ];
    for (reason, dependents) in held {
        if dependents.exist(store).await? {
            return Ok(Some(reason));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::create;
    use crate::iam::model::entities::tests::{entity, stored};
    use crate::testing::{ACCOUNT, temp_store};

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[tokio::test]
    async fn a_role_reads_back_its_fields_and_is_deleted_only_when_nothing_holds_it() {
        let temp = temp_store().await;
        let store = &temp.store;
        let role = entity(Kind::Role, "Deploy");
        assert!(
            create(store, ACCOUNT, &role, columns(Some("ships".to_owned()), 3_600, TRUST, None), Vec::new())
                .await
                .unwrap()
        );
        let found = find(store, ACCOUNT, "deploy").await.unwrap().unwrap();
        assert_eq!((found.entity.name.as_str(), found.description.as_deref()), ("Deploy", Some("ships")));
        assert_eq!((found.max_session_duration, found.trust_policy.as_str(), &found.last_used), (3_600, TRUST, &None));
        set_fields(store, ACCOUNT, &role.id, None, 7_200).await.unwrap();
        store.transaction(vec![record_use(ACCOUNT, &role.id, 99, "eu-west-1")]).await.unwrap();
        let found = find(store, ACCOUNT, "DEPLOY").await.unwrap().unwrap();
        assert_eq!((found.description, found.max_session_duration), (None, 7_200));
        assert_eq!(found.last_used, Some((99, "eu-west-1".to_owned())));

        stored(store, Kind::InstanceProfile, "web").await;
        assert!(instance_profiles::add_role(store, ACCOUNT, "web", "deploy").await.unwrap());
        assert!(!delete(store, ACCOUNT, "deploy").await.unwrap());
        assert_eq!(held_by(store, ACCOUNT, "deploy").await.unwrap(), Some(RoleHeldBy::InstanceProfiles));
        assert!(instance_profiles::remove_role(store, ACCOUNT, "web", "deploy").await.unwrap());
        assert_eq!(held_by(store, ACCOUNT, "deploy").await.unwrap(), None);
        assert!(delete(store, ACCOUNT, "deploy").await.unwrap());
        assert!(find(store, ACCOUNT, "deploy").await.unwrap().is_none());
    }
}
