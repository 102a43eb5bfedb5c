//! The account as a whole: the entity counts GetAccountSummary reports, and its creation.

use store::{Store, StoreError, Value};

use super::{Error, access_keys};

/// How many of each thing the account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub users: i64,
    pub groups: i64,
    pub roles: i64,
    pub policies: i64,
    pub instance_profiles: i64,
    pub policy_versions: i64,
    pub root_has_access_keys: bool,
}

/// The account's counts.
pub(crate) async fn counts(store: &Store, account: &str) -> Result<Counts, Error> {
    let rows = store
        .query(
            "SELECT (SELECT COUNT(*) FROM users WHERE account_id = ?),
                    (SELECT COUNT(*) FROM iam_groups WHERE account_id = ?),
                    (SELECT COUNT(*) FROM roles WHERE account_id = ?),
                    (SELECT COUNT(*) FROM managed_policies WHERE account_id = ?),
                    (SELECT COUNT(*) FROM instance_profiles WHERE account_id = ?),
                    (SELECT COUNT(*) FROM policy_versions v JOIN managed_policies p ON p.arn = v.policy_arn WHERE p.account_id = ?)",
            vec![account.into(); 6],
        )
        .await?;
    let row = rows.first().ok_or_else(|| Error::Failed("no summary row".to_owned()))?;
    Ok(Counts {
        users: row.int(0)?,
        groups: row.int(1)?,
        roles: row.int(2)?,
        policies: row.int(3)?,
        instance_profiles: row.int(4)?,
        policy_versions: row.int(5)?,
        root_has_access_keys: access_keys::of_root(account).exist(store).await?,
    })
}

/// The account's alias, if it has one (an account has at most one).
pub(crate) async fn alias(store: &Store, account: &str) -> Result<Option<String>, Error> {
    let rows = store.query("SELECT alias FROM account_aliases WHERE account_id = ?", vec![account.into()]).await?;
    Ok(rows.first().map(|row| row.text(0)).transpose()?)
}

/// Gives the account `alias`, replacing the one it had (an account has one alias at most, as
/// on AWS). `false`: another account has it.
pub(crate) async fn set_alias(store: &Store, account: &str, alias: &str) -> Result<bool, Error> {
    let set = store
        .execute(
            "INSERT INTO account_aliases (account_id, alias) VALUES (?, ?)
             ON CONFLICT (account_id) DO UPDATE SET alias = excluded.alias",
            vec![account.into(), alias.into()],
        )
        .await;
    match set {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Removes the account's alias if it is `alias`. `false`: the account has no such alias.
pub(crate) async fn delete_alias(store: &Store, account: &str, alias: &str) -> Result<bool, Error> {
    let deleted = store
        .execute("DELETE FROM account_aliases WHERE account_id = ? AND alias = ?", vec![account.into(), alias.into()])
        .await?;
    Ok(deleted == 1)
}

/// The version of the session tokens the global STS endpoint issues
/// (SetSecurityTokenServicePreferences): 1 (`v1Token`) unless set.
pub(crate) async fn global_endpoint_token_version(store: &Store, account: &str) -> Result<i64, Error> {
    let rows = store
        .query("SELECT global_endpoint_token_version FROM sts_preferences WHERE account_id = ?", vec![account.into()])
        .await?;
    Ok(rows.first().map(|row| row.int(0)).transpose()?.unwrap_or(1))
}

pub(crate) async fn set_global_endpoint_token_version(store: &Store, account: &str, version: i64) -> Result<(), Error> {
    store
        .execute(
            "INSERT INTO sts_preferences (account_id, global_endpoint_token_version) VALUES (?, ?)
             ON CONFLICT (account_id) DO UPDATE SET global_endpoint_token_version = excluded.global_endpoint_token_version",
            vec![account.into(), Value::Int(version)],
        )
        .await?;
    Ok(())
}

/// When the account was made (the root user's creation, as the credential report shows it).
pub(crate) async fn created_at(store: &Store, account: &str) -> Result<Option<i64>, Error> {
    let rows = store.query("SELECT created_at FROM accounts WHERE account_id = ?", vec![account.into()]).await?;
    rows.first().map(|row| Ok(row.int(0)?)).transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn an_account_has_one_alias_that_no_other_account_has() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert_eq!(alias(store, ACCOUNT).await.unwrap(), None);
        assert!(set_alias(store, ACCOUNT, "first").await.unwrap());
        assert!(set_alias(store, ACCOUNT, "second").await.unwrap(), "a new alias replaces the old");
        assert_eq!(alias(store, ACCOUNT).await.unwrap().as_deref(), Some("second"));
        assert!(!set_alias(store, "210987654321", "second").await.unwrap(), "aliases are unique");
        assert!(!delete_alias(store, ACCOUNT, "first").await.unwrap());
        assert!(delete_alias(store, ACCOUNT, "second").await.unwrap());
        assert_eq!(alias(store, ACCOUNT).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_token_version_defaults_to_1_and_is_kept() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert_eq!(global_endpoint_token_version(store, ACCOUNT).await.unwrap(), 1);
        set_global_endpoint_token_version(store, ACCOUNT, 2).await.unwrap();
        set_global_endpoint_token_version(store, ACCOUNT, 2).await.unwrap();
        assert_eq!(global_endpoint_token_version(store, ACCOUNT).await.unwrap(), 2);
    }
}
