//! Inline policies of users, groups and roles: every statement on `inline_policies`. A
//! role's trust policy is not among them (it is the role's own field).
//!
//! Guarantees: a policy is written only while its owner exists and the owner's other
//! policies are exactly the ones the caller checked the size quota against ([`put`]).

use store::{Statement, Store, StoreError, Value};

use super::entities::Kind;
use super::{Dependents, Error, Holders};

/// An inline policy: its name and document.
pub(crate) type Inline = (String, String);

/// An entity's inline policies other than `except`, by name.
pub(crate) async fn others(
    store: &Store,
    account: &str,
    kind: Kind,
    key: &str,
    except: &str,
) -> Result<Vec<Inline>, Error> {
    let rows = store
        .query(
            "SELECT policy_name, document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ? ORDER BY policy_name",
            vec![account.into(), kind.noun().into(), key.into(), except.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
}

/// Every inline policy of an entity, by name.
pub(crate) async fn of_entity(store: &Store, account: &str, kind: Kind, key: &str) -> Result<Vec<Inline>, Error> {
    let rows = store
        .query(
            "SELECT policy_name, document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? ORDER BY policy_name",
            vec![account.into(), kind.noun().into(), key.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
}

/// An inline policy as it authorizes someone: its owner (the noun of its kind and its key),
/// its name and its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub owner_kind: String,
    pub owner_key: String,
    pub name: String,
    pub document: String,
}

/// The inline policies of `holders`, the principal's own first (users sort before groups),
/// then by owner and name.
pub(crate) async fn held(store: &Store, holders: &Holders) -> Result<Vec<Held>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT a.owner_kind, a.owner_key, a.policy_name, a.document FROM inline_policies a WHERE {}
                 ORDER BY a.owner_kind DESC, a.owner_key, a.policy_name",
                holders.condition
            ),
            holders.params.clone(),
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Held { owner_kind: row.text(0)?, owner_key: row.text(1)?, name: row.text(2)?, document: row.text(3)? })
        })
        .collect()
}

/// Writes (or replaces) an inline policy, only while the owner exists and its other
/// policies are exactly `others` (name and document). `false`: they changed, or the owner is
/// gone, and nothing was written.
pub(crate) async fn put(
    store: &Store,
    account: &str,
    kind: Kind,
    key: &str,
    policy_name: &str,
    document: &str,
    others: &[Inline],
) -> Result<bool, Error> {
    let target = vec![account.into(), kind.noun().into(), key.into(), policy_name.into()];
    let mut insert = target.clone();
    insert.push(document.into());
    let written = store
        .transaction(vec![
            unchanged(account, kind, key, policy_name, others),
            Statement::new(
                "DELETE FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
                target,
            ),
            Statement::new(
                "INSERT INTO inline_policies (account_id, owner_kind, owner_key, policy_name, document) VALUES (?, ?, ?, ?, ?)",
                insert,
            ),
        ])
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The guard of [`put`]: changes the owner's row only while it exists and its policies
/// other than `policy_name` are exactly `others`.
fn unchanged(account: &str, kind: Kind, key: &str, policy_name: &str, others: &[Inline]) -> Statement {
    let owner = || -> Vec<Value> { vec![account.into(), kind.noun().into(), key.into(), policy_name.into()] };
    let counted = i64::try_from(others.len()).unwrap_or(i64::MAX);
    let mut sql = format!(
        "UPDATE {} SET name = name WHERE account_id = ? AND name_key = ?
           AND (SELECT COUNT(*) FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ?) = ?",
        kind.table()
    );
    let mut params: Vec<Value> = vec![account.into(), key.into()];
    params.extend(owner());
    params.push(Value::Int(counted));
    if !others.is_empty() {
        let pairs = vec!["(policy_name = ? AND document = ?)"; others.len()].join(" OR ");
        sql.push_str(&format!(
            "
           AND (SELECT COUNT(*) FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ? AND ({pairs})) = ?"
        ));
        params.extend(owner());
        for (name, document) in others {
            params.push(name.as_str().into());
            params.push(document.as_str().into());
        }
        params.push(Value::Int(counted));
    }
    Statement::guard(sql, params)
}

/// The document of an entity's inline policy, if it has one of that name.
pub(crate) async fn document(
    store: &Store,
    account: &str,
    kind: Kind,
    key: &str,
    policy_name: &str,
) -> Result<Option<String>, Error> {
    let rows = store
        .query(
            "SELECT document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
            vec![account.into(), kind.noun().into(), key.into(), policy_name.into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.text(0)).transpose()?)
}

/// The names of an entity's inline policies that sort after `after`, in order.
pub(crate) async fn names_after(
    store: &Store,
    account: &str,
    kind: Kind,
    key: &str,
    after: &str,
) -> Result<Vec<String>, Error> {
    let rows = store
        .query(
            "SELECT policy_name FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name > ? ORDER BY policy_name",
            vec![account.into(), kind.noun().into(), key.into(), after.into()],
        )
        .await?;
    super::texts(&rows)
}

/// Deletes an entity's inline policy. `false`: it has none of that name.
pub(crate) async fn delete(
    store: &Store,
    account: &str,
    kind: Kind,
    key: &str,
    policy_name: &str,
) -> Result<bool, Error> {
    let deleted = store
        .execute(
            "DELETE FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
            vec![account.into(), kind.noun().into(), key.into(), policy_name.into()],
        )
        .await?;
    Ok(deleted > 0)
}

/// An entity's inline policies (what keeps it from being deleted).
pub(crate) fn of(account: &str, kind: Kind, key: &str) -> Dependents {
    Dependents::new(
        "SELECT 1 FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ?",
        vec![account.into(), kind.noun().into(), key.into()],
    )
}

/// The statement moving an entity's inline policies to its new key.
pub(crate) fn rename_owner(account: &str, kind: Kind, old_key: &str, new_key: &str) -> Statement {
    Statement::new(
        "UPDATE inline_policies SET owner_key = ? WHERE account_id = ? AND owner_key = ? AND owner_kind = ?",
        vec![new_key.into(), account.into(), old_key.into(), kind.noun().into()],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::tests::stored;
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn a_policy_is_written_only_while_the_others_are_the_ones_checked() {
        let temp = temp_store().await;
        let store = &temp.store;
        let doc = |n: u32| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:Get{n}","Resource":"*"}}}}"#
            )
        };
        assert!(!put(store, ACCOUNT, Kind::Role, "deploy", "p1", &doc(1), &[]).await.unwrap(), "no owner, no write");
        stored(store, Kind::Role, "deploy").await;
        assert!(put(store, ACCOUNT, Kind::Role, "deploy", "p1", &doc(1), &[]).await.unwrap());
        let checked = others(store, ACCOUNT, Kind::Role, "deploy", "p2").await.unwrap();
        assert_eq!(checked, [("p1".to_owned(), doc(1))]);
        // A concurrent change of p1 after the check: the write of p2 is refused.
        assert!(put(store, ACCOUNT, Kind::Role, "deploy", "p1", &doc(9), &[]).await.unwrap(), "replacing itself");
        assert!(!put(store, ACCOUNT, Kind::Role, "deploy", "p2", &doc(2), &checked).await.unwrap());
        let checked = others(store, ACCOUNT, Kind::Role, "deploy", "p2").await.unwrap();
        assert!(put(store, ACCOUNT, Kind::Role, "deploy", "p2", &doc(2), &checked).await.unwrap());
        assert_eq!(names_after(store, ACCOUNT, Kind::Role, "deploy", "").await.unwrap(), ["p1", "p2"]);
        assert_eq!(names_after(store, ACCOUNT, Kind::Role, "deploy", "p1").await.unwrap(), ["p2"]);
        assert_eq!(document(store, ACCOUNT, Kind::Role, "deploy", "p1").await.unwrap(), Some(doc(9)));
        assert_eq!(of_entity(store, ACCOUNT, Kind::Role, "deploy").await.unwrap().len(), 2);
        assert!(delete(store, ACCOUNT, Kind::Role, "deploy", "p1").await.unwrap());
        assert!(!delete(store, ACCOUNT, Kind::Role, "deploy", "p1").await.unwrap());
        assert!(of(ACCOUNT, Kind::Role, "deploy").exist(store).await.unwrap());
    }
}
