//! Permissions boundaries of users and roles: every statement on `permissions_boundaries`.
//! A boundary names a managed policy (AWS's or the account's) by ARN; an entity has at most
//! one, and what `authz` bounds a principal's permissions with is [`boundary_of`].

use store::{Statement, Store};

use super::entities::{Entity, Kind, Window};
use super::{Dependents, Error};

/// The boundary ARN of an entity, if it has one.
pub(crate) async fn boundary_of(store: &Store, account: &str, kind: Kind, key: &str) -> Result<Option<String>, Error> {
    let rows = store
        .query(
            "SELECT policy_arn FROM permissions_boundaries WHERE account_id = ? AND owner_kind = ? AND owner_key = ?",
            vec![account.into(), kind.noun().into(), key.into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.text(0)).transpose()?)
}

/// The statements that make `arn` the boundary of an entity (replacing any other).
pub(crate) fn set(account: &str, kind: Kind, key: &str, arn: &str) -> Vec<Statement> {
    vec![
        delete(account, kind, key),
        Statement::new(
            "INSERT INTO permissions_boundaries (account_id, owner_kind, owner_key, policy_arn) VALUES (?, ?, ?, ?)",
            vec![account.into(), kind.noun().into(), key.into(), arn.into()],
        ),
    ]
}

/// Makes `arn` the boundary of an entity (replacing any other).
pub(crate) async fn put(store: &Store, account: &str, kind: Kind, key: &str, arn: &str) -> Result<(), Error> {
    store.transaction(set(account, kind, key, arn)).await?;
    Ok(())
}

/// Removes an entity's boundary (if it has one).
pub(crate) async fn remove(store: &Store, account: &str, kind: Kind, key: &str) -> Result<(), Error> {
    let statement = delete(account, kind, key);
    store.execute(&statement.sql, statement.params).await?;
    Ok(())
}

/// The statement removing an entity's boundary (if it has one).
pub(crate) fn delete(account: &str, kind: Kind, key: &str) -> Statement {
    Statement::new(
        "DELETE FROM permissions_boundaries WHERE account_id = ? AND owner_kind = ? AND owner_key = ?",
        vec![account.into(), kind.noun().into(), key.into()],
    )
}

/// The entities of `kind` that `arn` bounds, in `window`.
pub(crate) async fn entities_of_policy(
    store: &Store,
    account: &str,
    kind: Kind,
    arn: &str,
    window: Window<'_>,
) -> Result<Vec<Entity>, Error> {
    super::policy_uses::entities_of_policy(store, "permissions_boundaries", account, kind, arn, window).await
}

/// [`count_of_policy`] as a scalar subquery on a row of `managed_policies` aliased `p`.
pub(crate) fn count_of_row() -> String {
    super::policy_uses::count_of_row("permissions_boundaries")
}

/// How many entities of the account `arn` bounds.
pub(crate) async fn count_of_policy(store: &Store, account: &str, arn: &str) -> Result<i64, Error> {
    super::policy_uses::count_of_policy(store, "permissions_boundaries", account, arn).await
}

/// How many entities of the account each policy under the ARN prefix `prefix` is
/// the boundary of (policies of none absent).
pub(crate) async fn counts_by_policy(store: &Store, account: &str, prefix: &str) -> Result<Vec<(String, i64)>, Error> {
    super::policy_uses::counts_by_policy(store, "permissions_boundaries", account, prefix).await
}

/// Every policy ARN that bounds something in the account.
pub(crate) async fn policy_arns(store: &Store, account: &str) -> Result<Vec<String>, Error> {
    super::policy_uses::policy_arns(store, "permissions_boundaries", account).await
}

/// A policy's uses as a boundary (what keeps it from being deleted).
pub(crate) fn of_policy(account: &str, arn: &str) -> Dependents {
    Dependents::new(
        "SELECT 1 FROM permissions_boundaries WHERE account_id = ? AND policy_arn = ?",
        vec![account.into(), arn.into()],
    )
}

/// The statement moving an entity's boundary to its new key.
pub(crate) fn rename_owner(account: &str, kind: Kind, old_key: &str, new_key: &str) -> Statement {
    Statement::new(
        "UPDATE permissions_boundaries SET owner_key = ? WHERE account_id = ? AND owner_key = ? AND owner_kind = ?",
        vec![new_key.into(), account.into(), old_key.into(), kind.noun().into()],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::create;
    use crate::iam::model::entities::tests::{entity, stored};
    use crate::testing::{ACCOUNT, temp_store};

    const ALL: Window<'static> = Window { prefix: "/", after: "", limit: 100 };

    #[tokio::test]
    async fn a_boundary_is_looked_up_replaced_and_removed() {
        let temp = temp_store().await;
        let store = &temp.store;
        let (first, second) = ("arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::111122223333:policy/Bound");
        let user = entity(Kind::User, "deploy");
        assert!(create(store, ACCOUNT, &user, Vec::new(), set(ACCOUNT, Kind::User, "deploy", first)).await.unwrap());
        stored(store, Kind::Role, "deploy").await;
        put(store, ACCOUNT, Kind::Role, "deploy", first).await.unwrap();
        assert_eq!(boundary_of(store, ACCOUNT, Kind::User, "deploy").await.unwrap().as_deref(), Some(first));
        assert_eq!(boundary_of(store, ACCOUNT, Kind::Role, "deploy").await.unwrap().as_deref(), Some(first));
        assert_eq!(boundary_of(store, ACCOUNT, Kind::Group, "deploy").await.unwrap(), None, "kinds are apart");
        assert_eq!(boundary_of(store, "999988887777", Kind::Role, "deploy").await.unwrap(), None, "accounts are apart");
        put(store, ACCOUNT, Kind::Role, "deploy", second).await.unwrap();
        assert_eq!(
            boundary_of(store, ACCOUNT, Kind::Role, "deploy").await.unwrap().as_deref(),
            Some(second),
            "one at most"
        );
        assert_eq!(count_of_policy(store, ACCOUNT, first).await.unwrap(), 1, "the user's");
        assert_eq!(count_of_policy(store, ACCOUNT, second).await.unwrap(), 1);
        let bounded = entities_of_policy(store, ACCOUNT, Kind::Role, second, ALL).await.unwrap();
        assert_eq!(bounded.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["deploy"]);
        assert!(of_policy(ACCOUNT, second).exist(store).await.unwrap());
        remove(store, ACCOUNT, Kind::Role, "deploy").await.unwrap();
        assert_eq!(boundary_of(store, ACCOUNT, Kind::Role, "deploy").await.unwrap(), None);
        assert_eq!(
            boundary_of(store, ACCOUNT, Kind::User, "deploy").await.unwrap().as_deref(),
            Some(first),
            "one owner"
        );
        assert_eq!(policy_arns(store, ACCOUNT).await.unwrap(), [first]);
    }
}
