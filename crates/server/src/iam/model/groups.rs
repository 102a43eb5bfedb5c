//! Group memberships: every statement on `group_members`.
//!
//! Guarantees: a user is in at most [`PER_USER`] groups, counted in the inserting statement;
//! adding a member twice is not an error ([`Added::Already`]).

use store::{Statement, Store, StoreError, Value};

use super::entities::{Entity, Kind};
use super::{Added, Dependents, Error, Holders, UserRows, attachments, inline};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "group_members", column: "user_key" };

/// Groups a user may be in (IAM's default quota).
pub(crate) const PER_USER: i64 = 10;

/// Adds a user to a group, within the user's quota.
pub(crate) async fn add(store: &Store, account: &str, group_key: &str, user_key: &str) -> Result<Added, Error> {
    let member = store
        .query(
            "SELECT 1 FROM group_members WHERE account_id = ? AND group_key = ? AND user_key = ?",
            vec![account.into(), group_key.into(), user_key.into()],
        )
        .await?;
    if !member.is_empty() {
        return Ok(Added::Already);
    }
    // The quota check and the insert are one statement.
    let added = store
        .execute(
            "INSERT INTO group_members (account_id, group_key, user_key) SELECT ?, ?, ?
             WHERE (SELECT COUNT(*) FROM group_members WHERE account_id = ? AND user_key = ?) < ?",
            vec![
                account.into(),
                group_key.into(),
                user_key.into(),
                account.into(),
                user_key.into(),
                Value::Int(PER_USER),
            ],
        )
        .await;
    match added {
        Ok(1) => Ok(Added::New),
        Err(StoreError::Conflict) => Ok(Added::Already),
        Ok(_) => Ok(Added::OverQuota),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a group only while it has no member, inline policy or attached policy. `false`:
/// it was not deleted (absent, or held).
pub(crate) async fn delete(store: &Store, account: &str, key: &str) -> Result<bool, Error> {
    let mut sql = "DELETE FROM iam_groups WHERE account_id = ? AND name_key = ?".to_owned();
    let mut params = vec![account.into(), key.into()];
    Dependents::append_none(
        &mut sql,
        &mut params,
        &[members_of(account, key), inline::of(account, Kind::Group, key), attachments::of(account, Kind::Group, key)],
    );
    Ok(store.execute(&sql, params).await? == 1)
}

/// Removes a user from a group. `false`: it was not a member.
pub(crate) async fn remove(store: &Store, account: &str, group_key: &str, user_key: &str) -> Result<bool, Error> {
    let removed = store
        .execute(
            "DELETE FROM group_members WHERE account_id = ? AND group_key = ? AND user_key = ?",
            vec![account.into(), group_key.into(), user_key.into()],
        )
        .await?;
    Ok(removed > 0)
}

/// A group's members whose key sorts after `after`, by key, at most `limit`: read along the
/// memberships' key, stopping at the page's end.
pub(crate) async fn members(
    store: &Store,
    account: &str,
    group_key: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<Entity>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {} FROM group_members members
                 JOIN users u ON u.account_id = members.account_id AND u.name_key = members.user_key
                 WHERE members.account_id = ? AND members.group_key = ? AND members.user_key > ?
                 ORDER BY members.user_key LIMIT {limit}",
                Entity::columns(Kind::User, "u")
            ),
            vec![account.into(), group_key.into(), after.into()],
        )
        .await?;
    rows.iter().map(|row| Entity::from_row(Kind::User, row)).collect()
}

/// The groups a user is in, by key.
pub(crate) async fn of_user(store: &Store, account: &str, user_key: &str) -> Result<Vec<Entity>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {} FROM group_members members
                 JOIN iam_groups g ON g.account_id = members.account_id AND g.name_key = members.group_key
                 WHERE members.account_id = ? AND members.user_key = ? ORDER BY g.name_key",
                Entity::columns(Kind::Group, "g")
            ),
            vec![account.into(), user_key.into()],
        )
        .await?;
    rows.iter().map(|row| Entity::from_row(Kind::Group, row)).collect()
}

/// The [`Holders`] of an entity's permissions: a user's own and its groups', a role's (or a
/// group's) own.
pub(crate) fn holders(account: &str, kind: Kind, key: &str) -> Holders {
    match kind {
        Kind::User => Holders {
            condition: "a.account_id = ? AND ((a.owner_kind = 'user' AND a.owner_key = ?)
               OR (a.owner_kind = 'group' AND a.owner_key IN (SELECT group_key FROM group_members WHERE account_id = ? AND user_key = ?)))",
            params: vec![account.into(), key.into(), account.into(), key.into()],
        },
        _ => Holders {
            condition: "a.account_id = ? AND a.owner_kind = ? AND a.owner_key = ?",
            params: vec![account.into(), kind.noun().into(), key.into()],
        },
    }
}

/// A group's members (what keeps it from being deleted).
pub(crate) fn members_of(account: &str, group_key: &str) -> Dependents {
    Dependents::new(
        "SELECT 1 FROM group_members WHERE account_id = ? AND group_key = ?",
        vec![account.into(), group_key.into()],
    )
}

/// Renames and moves a group, with its members, inline and attached policies, in one
/// transaction. `false`: another group has the new name.
pub(crate) async fn rename(
    store: &Store,
    account: &str,
    old_key: &str,
    new_name: &str,
    new_path: &str,
) -> Result<bool, Error> {
    let new_key = new_name.to_lowercase();
    let renamed = store
        .transaction(vec![
            Statement::new(
                "UPDATE iam_groups SET name_key = ?, name = ?, path = ? WHERE account_id = ? AND name_key = ?",
                vec![new_key.as_str().into(), new_name.into(), new_path.into(), account.into(), old_key.into()],
            ),
            Statement::new(
                "UPDATE group_members SET group_key = ? WHERE account_id = ? AND group_key = ?",
                vec![new_key.as_str().into(), account.into(), old_key.into()],
            ),
            inline::rename_owner(account, Kind::Group, old_key, &new_key),
            attachments::rename_owner(account, Kind::Group, old_key, &new_key),
        ])
        .await;
    match renamed {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::tests::stored;
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn a_renamed_group_keeps_its_members_and_policies() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::User, "alice").await;
        stored(store, Kind::Group, "ops").await;
        stored(store, Kind::Group, "taken").await;
        add(store, ACCOUNT, "ops", "alice").await.unwrap();
        let arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
        attachments::attach(store, ACCOUNT, Kind::Group, "ops", arn).await.unwrap();
        assert!(!rename(store, ACCOUNT, "ops", "Taken", "/").await.unwrap(), "the name is taken");
        assert!(rename(store, ACCOUNT, "ops", "Platform", "/teams/").await.unwrap());
        assert_eq!(members(store, ACCOUNT, "platform", "", 10).await.unwrap()[0].name, "alice");
        assert!(!delete(store, ACCOUNT, "platform").await.unwrap(), "its member and policy moved with it");
        assert!(remove(store, ACCOUNT, "platform", "alice").await.unwrap());
        assert!(attachments::detach(store, ACCOUNT, Kind::Group, "platform", arn).await.unwrap());
        assert!(delete(store, ACCOUNT, "platform").await.unwrap());
    }

    #[tokio::test]
    async fn memberships_round_trip_within_the_users_quota() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::User, "alice").await;
        for n in 0..PER_USER {
            let group = format!("g{n:02}");
            stored(store, Kind::Group, &group).await;
            assert_eq!(add(store, ACCOUNT, &group, "alice").await.unwrap(), Added::New);
        }
        assert_eq!(add(store, ACCOUNT, "g00", "alice").await.unwrap(), Added::Already);
        assert_eq!(add(store, ACCOUNT, "one-more", "alice").await.unwrap(), Added::OverQuota);
        let groups = of_user(store, ACCOUNT, "alice").await.unwrap();
        assert_eq!(groups.len(), 10);
        assert_eq!(groups[0].name, "g00");
        assert_eq!(
            members(store, ACCOUNT, "g03", "", 10).await.unwrap().iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["alice"]
        );
        assert!(remove(store, ACCOUNT, "g03", "alice").await.unwrap());
        assert!(!remove(store, ACCOUNT, "g03", "alice").await.unwrap());
        assert!(members(store, ACCOUNT, "g03", "", 10).await.unwrap().is_empty());
        assert!(!members_of(ACCOUNT, "g03").exist(store).await.unwrap());
        assert!(USER_ROWS.of(ACCOUNT, "alice").exist(store).await.unwrap());
    }
}
