//! Managed policies attached to users, groups and roles: every statement on
//! `policy_attachments`. An attachment names the policy by ARN and never copies it, so
//! decisions follow the policy's current default version (or the catalogue's).
//!
//! Guarantees: an owner holds at most [`PER_OWNER`] attachments, counted in the inserting
//! statement; attaching twice is not an error ([`Added::Already`]).

use store::{Statement, Store, StoreError, Value};

use super::entities::{Entity, Kind, Window};
use super::{Added, Dependents, Error, Holders};

/// Managed policies per user, group or role (IAM's default quota).
pub(crate) const PER_OWNER: i64 = 10;

/// Attaches `arn` to an entity, within its quota.
pub(crate) async fn attach(store: &Store, account: &str, kind: Kind, key: &str, arn: &str) -> Result<Added, Error> {
    let attached = store
        .query(
            "SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_arn = ?",
            vec![account.into(), kind.noun().into(), key.into(), arn.into()],
        )
        .await?;
    if !attached.is_empty() {
        return Ok(Added::Already);
    }
    // The quota check and the insert are one statement.
    let inserted = store
        .execute(
            "INSERT INTO policy_attachments (account_id, owner_kind, owner_key, policy_arn)
             SELECT ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ?) < ?",
            vec![
                account.into(),
                kind.noun().into(),
                key.into(),
                arn.into(),
                account.into(),
                kind.noun().into(),
                key.into(),
                Value::Int(PER_OWNER),
            ],
        )
        .await;
    match inserted {
        Ok(1) => Ok(Added::New),
        Err(StoreError::Conflict) => Ok(Added::Already),
        Ok(_) => Ok(Added::OverQuota),
        Err(error) => Err(error.into()),
    }
}

/// The statement attaching `arn` to an entity being created in the same transaction (which
/// holds nothing yet, so no quota applies).
pub(crate) fn attach_to_new(account: &str, kind: Kind, key: &str, arn: &str) -> Statement {
    Statement::new(
        "INSERT INTO policy_attachments (account_id, owner_kind, owner_key, policy_arn) VALUES (?, ?, ?, ?)",
        vec![account.into(), kind.noun().into(), key.into(), arn.into()],
    )
}

/// Detaches `arn` from an entity. `false`: it was not attached.
pub(crate) async fn detach(store: &Store, account: &str, kind: Kind, key: &str, arn: &str) -> Result<bool, Error> {
    let removed = store
        .execute(
            "DELETE FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_arn = ?",
            vec![account.into(), kind.noun().into(), key.into(), arn.into()],
        )
        .await?;
    Ok(removed > 0)
}

/// The ARNs attached to an entity, sorted.
pub(crate) async fn of_entity(store: &Store, account: &str, kind: Kind, key: &str) -> Result<Vec<String>, Error> {
    let rows = store
        .query(
            "SELECT policy_arn FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? ORDER BY policy_arn",
            vec![account.into(), kind.noun().into(), key.into()],
        )
        .await?;
    super::texts(&rows)
}

/// The ARNs attached to any of `holders`, sorted, each once.
pub(crate) async fn held(store: &Store, holders: &Holders) -> Result<Vec<String>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT DISTINCT a.policy_arn FROM policy_attachments a WHERE {} ORDER BY a.policy_arn",
                holders.condition
            ),
            holders.params.clone(),
        )
        .await?;
    super::texts(&rows)
}

/// The entities of `kind` that `arn` is attached to, in `window`.
pub(crate) async fn entities_of_policy(
    store: &Store,
    account: &str,
    kind: Kind,
    arn: &str,
    window: Window<'_>,
) -> Result<Vec<Entity>, Error> {
    super::policy_uses::entities_of_policy(store, "policy_attachments", account, kind, arn, window).await
}

/// [`count_of_policy`] as a scalar subquery on a row of `managed_policies` aliased `p`.
pub(crate) fn count_of_row() -> String {
    super::policy_uses::count_of_row("policy_attachments")
}

/// How many entities of the account `arn` is attached to.
pub(crate) async fn count_of_policy(store: &Store, account: &str, arn: &str) -> Result<i64, Error> {
    super::policy_uses::count_of_policy(store, "policy_attachments", account, arn).await
}

/// How many entities of the account each policy under the ARN prefix `prefix` is
/// attached to (policies of none absent).
pub(crate) async fn counts_by_policy(store: &Store, account: &str, prefix: &str) -> Result<Vec<(String, i64)>, Error> {
    super::policy_uses::counts_by_policy(store, "policy_attachments", account, prefix).await
}

/// Every policy ARN attached to something in the account.
pub(crate) async fn policy_arns(store: &Store, account: &str) -> Result<Vec<String>, Error> {
    super::policy_uses::policy_arns(store, "policy_attachments", account).await
}

/// An entity's attachments (what keeps it from being deleted).
pub(crate) fn of(account: &str, kind: Kind, key: &str) -> Dependents {
    Dependents::new(
        "SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ?",
        vec![account.into(), kind.noun().into(), key.into()],
    )
}

/// A policy's attachments (what keeps it from being deleted).
pub(crate) fn of_policy(account: &str, arn: &str) -> Dependents {
    Dependents::new(
        "SELECT 1 FROM policy_attachments WHERE account_id = ? AND policy_arn = ?",
        vec![account.into(), arn.into()],
    )
}

/// The statement moving an entity's attachments to its new key.
pub(crate) fn rename_owner(account: &str, kind: Kind, old_key: &str, new_key: &str) -> Statement {
    Statement::new(
        "UPDATE policy_attachments SET owner_key = ? WHERE account_id = ? AND owner_key = ? AND owner_kind = ?",
        vec![new_key.into(), account.into(), old_key.into(), kind.noun().into()],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::tests::stored;
    use crate::testing::{ACCOUNT, temp_store};

    const ALL: Window<'static> = Window { prefix: "/", after: "", limit: 100 };

    const READ_ONLY: &str = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

    #[tokio::test]
    async fn attach_list_and_detach_round_trip_and_attaching_twice_is_not_an_error() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::Role, "deploy").await;
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        assert_eq!(attach(store, ACCOUNT, Kind::Role, "deploy", READ_ONLY).await.unwrap(), Added::New);
        assert_eq!(attach(store, ACCOUNT, Kind::Role, "deploy", READ_ONLY).await.unwrap(), Added::Already);
        assert_eq!(attach(store, ACCOUNT, Kind::Role, "deploy", admin).await.unwrap(), Added::New);
        assert_eq!(of_entity(store, ACCOUNT, Kind::Role, "deploy").await.unwrap(), [admin, READ_ONLY], "sorted");
        assert!(of_entity(store, ACCOUNT, Kind::User, "deploy").await.unwrap().is_empty(), "kinds are apart");
        assert_eq!(count_of_policy(store, ACCOUNT, READ_ONLY).await.unwrap(), 1);
        let holders = entities_of_policy(store, ACCOUNT, Kind::Role, READ_ONLY, ALL).await.unwrap();
        assert_eq!(holders.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["deploy"]);
        assert!(of(ACCOUNT, Kind::Role, "deploy").exist(store).await.unwrap());
        assert!(detach(store, ACCOUNT, Kind::Role, "deploy", READ_ONLY).await.unwrap());
        assert!(!detach(store, ACCOUNT, Kind::Role, "deploy", READ_ONLY).await.unwrap(), "only once");
        assert_eq!(of_entity(store, ACCOUNT, Kind::Role, "deploy").await.unwrap(), [admin]);
        assert!(!of_policy(ACCOUNT, READ_ONLY).exist(store).await.unwrap());
        assert_eq!(policy_arns(store, ACCOUNT).await.unwrap(), [admin]);
    }

    #[tokio::test]
    async fn an_owner_holds_at_most_its_quota() {
        let temp = temp_store().await;
        let store = &temp.store;
        for n in 0..PER_OWNER {
            let arn = format!("arn:aws:iam::111122223333:policy/p{n}");
            assert_eq!(attach(store, ACCOUNT, Kind::Group, "ops", &arn).await.unwrap(), Added::New);
        }
        let one_more = "arn:aws:iam::111122223333:policy/more";
        assert_eq!(attach(store, ACCOUNT, Kind::Group, "ops", one_more).await.unwrap(), Added::OverQuota);
        assert_eq!(
            attach(store, ACCOUNT, Kind::Group, "ops", "arn:aws:iam::111122223333:policy/p0").await.unwrap(),
            Added::Already
        );
        assert_eq!(attach(store, ACCOUNT, Kind::Group, "dev", one_more).await.unwrap(), Added::New, "per owner");
    }
}
