//! Instance profiles' roles: every statement on `instance_profile_roles`, and the deletion of
//! a profile.
//!
//! Guarantees: a profile holds at most one role (IAM's quota, the table's key); a profile is
//! deleted only while it holds none, and its tags go with it.

use store::{Row, Statement, Store, StoreError, Value};

use super::entities::{Entity, Kind, Window};
use super::roles::{self, Role};
use super::tags::{self, Tagged};
use super::{Dependents, Error};

/// The key of the role a profile holds, if any.
#[cfg(test)]
pub(crate) async fn role_of(store: &Store, account: &str, profile_key: &str) -> Result<Option<String>, Error> {
    let rows = store
        .query(
            "SELECT role_key FROM instance_profile_roles WHERE account_id = ? AND profile_key = ?",
            vec![account.into(), profile_key.into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.text(0)).transpose()?)
}

/// The role a profile holds, if any (and if it exists), read in one statement.
pub(crate) async fn role_held(store: &Store, account: &str, profile_key: &str) -> Result<Option<Role>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {} FROM instance_profile_roles pr
                 JOIN roles r ON r.account_id = pr.account_id AND r.name_key = pr.role_key
                 WHERE pr.account_id = ? AND pr.profile_key = ?",
                roles::COLUMNS
            ),
            vec![account.into(), profile_key.into()],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(Some(roles::from_row(store, account, row).await?)),
        None => Ok(None),
    }
}

/// The account's profiles in `window`, each with the role it holds (if any, and if it
/// exists), read in one statement.
pub(crate) async fn page(
    store: &Store,
    account: &str,
    window: Window<'_>,
) -> Result<Vec<(Entity, Option<Role>)>, Error> {
    let (condition, params) = window.sql("p");
    let sql = format!(
        "SELECT {}, {} FROM instance_profiles p
         LEFT JOIN instance_profile_roles pr ON pr.account_id = p.account_id AND pr.profile_key = p.name_key
         LEFT JOIN roles r ON r.account_id = pr.account_id AND r.name_key = pr.role_key
         WHERE p.account_id = ? {condition}",
        Entity::columns(Kind::InstanceProfile, "p"),
        roles::COLUMNS
    );
    let rows = store.query(&sql, std::iter::once(account.into()).chain(params).collect()).await?;
    let mut profiles = Vec::with_capacity(rows.len());
    for row in &rows {
        let profile = Entity::from_row(Kind::InstanceProfile, row)?;
        // The role's columns follow the profile's four; a profile holding none has NULLs there.
        let role_row = Row(row.0.get(4..).unwrap_or_default().to_vec());
        let role = match role_row.0.first() {
            Some(Value::Null) | None => None,
            Some(_) => Some(roles::from_row(store, account, &role_row).await?),
        };
        profiles.push((profile, role));
    }
    Ok(profiles)
}

/// The instance profiles holding a role, by key.
pub(crate) async fn of_role(store: &Store, account: &str, role_key: &str) -> Result<Vec<Entity>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {} FROM instance_profile_roles r
                 JOIN instance_profiles p ON p.account_id = r.account_id AND p.name_key = r.profile_key
                 WHERE r.account_id = ? AND r.role_key = ? ORDER BY p.name_key",
                Entity::columns(Kind::InstanceProfile, "p")
            ),
            vec![account.into(), role_key.into()],
        )
        .await?;
    rows.iter().map(|row| Entity::from_row(Kind::InstanceProfile, row)).collect()
}

/// Puts a role in a profile. `false`: the profile holds a role already.
pub(crate) async fn add_role(store: &Store, account: &str, profile_key: &str, role_key: &str) -> Result<bool, Error> {
    let added = store
        .execute(
            "INSERT INTO instance_profile_roles (account_id, profile_key, role_key) VALUES (?, ?, ?)",
            vec![account.into(), profile_key.into(), role_key.into()],
        )
        .await;
    match added {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Takes a role out of a profile. `false`: the profile did not hold it.
pub(crate) async fn remove_role(
    store: &Store,
    account: &str,
    profile_key: &str,
    role_key: &str,
) -> Result<bool, Error> {
    let removed = store
        .execute(
            "DELETE FROM instance_profile_roles WHERE account_id = ? AND profile_key = ? AND role_key = ?",
            vec![account.into(), profile_key.into(), role_key.into()],
        )
        .await?;
    Ok(removed > 0)
}

/// Deletes a profile with its tags, only while it holds no role. `false`: it holds one.
pub(crate) async fn delete(store: &Store, account: &str, key: &str) -> Result<bool, Error> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM instance_profiles WHERE account_id = ? AND name_key = ?
                   AND NOT EXISTS (SELECT 1 FROM instance_profile_roles WHERE account_id = ? AND profile_key = ?)",
                vec![account.into(), key.into(), account.into(), key.into()],
            ),
            tags::delete_all(account, Tagged::Entity(Kind::InstanceProfile), key),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The profiles holding a role (what keeps it from being deleted).
pub(crate) fn holding(account: &str, role_key: &str) -> Dependents {
    Dependents::new(
        "SELECT 1 FROM instance_profile_roles WHERE account_id = ? AND role_key = ?",
        vec![account.into(), role_key.into()],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::tests::stored;
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn a_profile_holds_one_role_and_is_deleted_only_empty() {
        let temp = temp_store().await;
        let store = &temp.store;
        for name in ["web", "api"] {
            stored(store, Kind::InstanceProfile, name).await;
        }
        assert!(add_role(store, ACCOUNT, "web", "deploy").await.unwrap());
        assert!(!add_role(store, ACCOUNT, "web", "other").await.unwrap(), "one role per profile");
        assert!(add_role(store, ACCOUNT, "api", "deploy").await.unwrap());
        assert_eq!(role_of(store, ACCOUNT, "web").await.unwrap().as_deref(), Some("deploy"));
        let names = of_role(store, ACCOUNT, "deploy").await.unwrap().into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names, ["api", "web"]);
        assert!(!delete(store, ACCOUNT, "web").await.unwrap());
        assert!(!remove_role(store, ACCOUNT, "web", "other").await.unwrap());
        assert!(remove_role(store, ACCOUNT, "web", "deploy").await.unwrap());
        assert_eq!(role_of(store, ACCOUNT, "web").await.unwrap(), None);
        assert!(delete(store, ACCOUNT, "web").await.unwrap());
    }
}
