//! The account as a whole: the entity counts GetAccountSummary reports, and its creation.

use store::Store;

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

/// When the account was made (the root user's creation, as the credential report shows it).
pub(crate) async fn created_at(store: &Store, account: &str) -> Result<Option<i64>, Error> {
    let rows = store.query("SELECT created_at FROM accounts WHERE account_id = ?", vec![account.into()]).await?;
    rows.first().map(|row| Ok(row.int(0)?)).transpose()
}
