//! Long-term access keys of users and of the root user: every statement on `access_keys`,
//! IAM's operations' and the one the signing path reads a key with
//! ([`for_authentication`]). A key's secret is sealed before it reaches the store.
//!
//! Guarantees: a user (or the root user) holds at most [`PER_USER`] keys, counted in the
//! inserting statement; a key's status is [`KeyStatus`], stored in IAM's words, and a stored
//! word it does not know is an [`Error`].

use store::{Store, Value};

use super::{Dependents, Error, UserRows};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "access_keys", column: "user_name_key" };

/// Long-term access keys a user may have (IAM's default quota).
pub(crate) const PER_USER: i64 = 2;

/// Whether a key signs requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    /// The status IAM's word names (`Active`, `Inactive`), if any.
    pub(crate) fn parse(text: &str) -> Option<KeyStatus> {
        match text {
            "Active" => Some(KeyStatus::Active),
            "Inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }

    /// IAM's word (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// An access key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessKey {
    pub id: String,
    pub status: KeyStatus,
    pub created_at: i64,
}

/// When and where a key was last used, and the name of the user who owns it (`None`: the
/// root user's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyUse {
    pub owner: Option<String>,
    pub used_at: Option<i64>,
    pub service: Option<String>,
    pub region: Option<String>,
}

/// A key as the signing path reads it: its account, its owner and its secret, still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigningKey {
    pub account: String,
    /// The lowercase name of the user who owns it (`None`: the root user's key).
    pub user_key: Option<String>,
    pub sealed_secret: Vec<u8>,
    pub status: KeyStatus,
}

/// The key `access_key_id`, whoever owns it, if it exists.
pub(crate) async fn for_authentication(store: &Store, access_key_id: &str) -> Result<Option<SigningKey>, Error> {
    let rows = store
        .query(
            "SELECT account_id, user_name_key, secret_sealed, status FROM access_keys WHERE access_key_id = ?",
            vec![access_key_id.into()],
        )
        .await?;
    rows.first()
        .map(|row| {
            let status = row.text(3)?;
            Ok(SigningKey {
                account: row.text(0)?,
                user_key: row.opt_text(1)?,
                sealed_secret: row.blob(2)?,
                status: KeyStatus::parse(&status)
                    .ok_or_else(|| Error::Failed(format!("unknown key status `{status}`")))?,
            })
        })
        .transpose()
}

/// The owner condition: a user's key (`Some(user_key)`) or the root user's (`None`).
fn owned_by(user_key: Option<&str>) -> (&'static str, Vec<Value>) {
    match user_key {
        Some(key) => ("user_name_key = ?", vec![key.into()]),
        None => ("user_name_key IS NULL", vec![]),
    }
}

/// Records a new `Active` key of a user (`None`: the root user) with its sealed secret.
/// `false`: the owner holds its quota already, and nothing was written.
pub(crate) async fn create(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
    access_key_id: &str,
    sealed_secret: Vec<u8>,
    created_at: i64,
) -> Result<bool, Error> {
    let owner = Value::from(user_key.map(str::to_owned));
    // The quota check and the insert are one statement, so two concurrent requests cannot
    // both take the last slot.
    let inserted = store
        .execute(
            "INSERT INTO access_keys (access_key_id, account_id, user_name_key, secret_sealed, status, created_at)
             SELECT ?, ?, ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM access_keys WHERE account_id = ? AND user_name_key = ?) < ?",
            vec![
                access_key_id.into(),
                account.into(),
                owner.clone(),
                sealed_secret.into(),
                KeyStatus::Active.as_str().into(),
                Value::Int(created_at),
                account.into(),
                owner,
                Value::Int(PER_USER),
            ],
        )
        .await?;
    Ok(inserted > 0)
}

/// The keys of a user (`None`: the root user) whose ids sort after `after`, by id.
pub(crate) async fn after(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
    after: &str,
) -> Result<Vec<AccessKey>, Error> {
    let (filter, owner) = owned_by(user_key);
    let mut params = vec![account.into()];
    params.extend(owner);
    params.push(after.into());
    let rows = store
        .query(
            &format!(
                "SELECT access_key_id, status, created_at FROM access_keys WHERE account_id = ? AND {filter} AND access_key_id > ? ORDER BY access_key_id"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|row| {
            let status = row.text(1)?;
            Ok(AccessKey {
                id: row.text(0)?,
                status: KeyStatus::parse(&status)
                    .ok_or_else(|| Error::Failed(format!("unknown key status `{status}`")))?,
                created_at: row.int(2)?,
            })
        })
        .collect()
}

/// Deletes a key of a user (`None`: the root user). `false`: the owner has no such key.
pub(crate) async fn delete(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
    access_key_id: &str,
) -> Result<bool, Error> {
    let (filter, owner) = owned_by(user_key);
    let mut params = vec![access_key_id.into(), account.into()];
    params.extend(owner);
    let deleted = store
        .execute(&format!("DELETE FROM access_keys WHERE access_key_id = ? AND account_id = ? AND {filter}"), params)
        .await?;
    Ok(deleted > 0)
}

/// Sets the status of a key of a user (`None`: the root user). `false`: the owner has no
/// such key.
pub(crate) async fn set_status(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
    access_key_id: &str,
    status: KeyStatus,
) -> Result<bool, Error> {
    let (filter, owner) = owned_by(user_key);
    let mut params = vec![status.as_str().into(), access_key_id.into(), account.into()];
    params.extend(owner);
    let updated = store
        .execute(
            &format!("UPDATE access_keys SET status = ? WHERE access_key_id = ? AND account_id = ? AND {filter}"),
            params,
        )
        .await?;
    Ok(updated > 0)
}

/// A key's owner and last use, if the account has that key.
pub(crate) async fn last_use(store: &Store, account: &str, access_key_id: &str) -> Result<Option<KeyUse>, Error> {
    let rows = store
        .query(
            "SELECT users.name, keys.last_used_at, keys.last_used_service, keys.last_used_region
             FROM access_keys keys LEFT JOIN users ON users.account_id = keys.account_id AND users.name_key = keys.user_name_key
             WHERE keys.access_key_id = ? AND keys.account_id = ?",
            vec![access_key_id.into(), account.into()],
        )
        .await?;
    rows.first()
        .map(|row| {
            Ok(KeyUse {
                owner: row.opt_text(0)?,
                used_at: row.opt_int(1)?,
                service: row.opt_text(2)?,
                region: row.opt_text(3)?,
            })
        })
        .transpose()
}

/// A user's key with its last use, as the unused access analysis reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserKey {
    /// The owner's lowercase name.
    pub user_key: String,
    pub key: AccessKey,
    pub last_used_at: Option<i64>,
}

/// Every key of the account's users (never the root user's), by owner and id.
pub(crate) async fn of_users(store: &Store, account: &str) -> Result<Vec<UserKey>, Error> {
    let rows = store
        .query(
            "SELECT user_name_key, access_key_id, status, created_at, last_used_at FROM access_keys
             WHERE account_id = ? AND user_name_key IS NOT NULL ORDER BY user_name_key, access_key_id",
            vec![account.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let status = row.text(2)?;
            Ok(UserKey {
                user_key: row.text(0)?,
                key: AccessKey {
                    id: row.text(1)?,
                    status: KeyStatus::parse(&status)
                        .ok_or_else(|| Error::Failed(format!("unknown key status `{status}`")))?,
                    created_at: row.int(3)?,
                },
                last_used_at: row.opt_int(4)?,
            })
        })
        .collect()
}

/// A key as the credential report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportedKey {
    /// The owner's lowercase name (`None`: the root user's key).
    pub user_key: Option<String>,
    pub key: AccessKey,
    pub used: KeyUse,
}

/// Every key of the account (the root user's too), by owner, age and id.
pub(crate) async fn for_report(store: &Store, account: &str) -> Result<Vec<ReportedKey>, Error> {
    let rows = store
        .query(
            "SELECT user_name_key, access_key_id, status, created_at, last_used_at, last_used_service, last_used_region
             FROM access_keys WHERE account_id = ? ORDER BY user_name_key, created_at, access_key_id",
            vec![account.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let status = row.text(2)?;
            let user_key = row.opt_text(0)?;
            Ok(ReportedKey {
                key: AccessKey {
                    id: row.text(1)?,
                    status: KeyStatus::parse(&status)
                        .ok_or_else(|| Error::Failed(format!("unknown key status `{status}`")))?,
                    created_at: row.int(3)?,
                },
                used: KeyUse {
                    owner: user_key.clone(),
                    used_at: row.opt_int(4)?,
                    service: row.opt_text(5)?,
                    region: row.opt_text(6)?,
                },
                user_key,
            })
        })
        .collect()
}

/// Whether the root user has a key (what GetAccountSummary reports).
pub(crate) fn of_root(account: &str) -> Dependents {
    Dependents::new("SELECT 1 FROM access_keys WHERE account_id = ? AND user_name_key IS NULL", vec![account.into()])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::{Kind, tests::stored};
    use crate::testing::{ACCOUNT, temp_store};

    #[test]
    fn statuses_round_trip_in_iams_words_and_nothing_else_is_one() {
        for status in [KeyStatus::Active, KeyStatus::Inactive] {
            assert_eq!(KeyStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(KeyStatus::parse("active"), None);
        assert_eq!(KeyStatus::parse("Deleted"), None);
    }

    #[tokio::test]
    async fn a_key_is_created_active_within_the_quota_and_its_status_changes_only_for_its_owner() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::User, "alice").await;
        assert!(create(store, ACCOUNT, Some("alice"), "AKIA1", vec![1], 10).await.unwrap());
        assert!(create(store, ACCOUNT, Some("alice"), "AKIA2", vec![2], 11).await.unwrap());
        assert!(!create(store, ACCOUNT, Some("alice"), "AKIA3", vec![3], 12).await.unwrap(), "two at most");
        assert!(create(store, ACCOUNT, None, "AKIAROOT", vec![4], 13).await.unwrap(), "the root user's are apart");
        let keys = after(store, ACCOUNT, Some("alice"), "").await.unwrap();
        assert_eq!(
            keys,
            [
                AccessKey { id: "AKIA1".to_owned(), status: KeyStatus::Active, created_at: 10 },
                AccessKey { id: "AKIA2".to_owned(), status: KeyStatus::Active, created_at: 11 },
            ]
        );
        assert!(!set_status(store, ACCOUNT, None, "AKIA1", KeyStatus::Inactive).await.unwrap(), "not the root user's");
        assert!(set_status(store, ACCOUNT, Some("alice"), "AKIA1", KeyStatus::Inactive).await.unwrap());
        assert_eq!(after(store, ACCOUNT, Some("alice"), "").await.unwrap()[0].status, KeyStatus::Inactive);
        assert_eq!(after(store, ACCOUNT, Some("alice"), "AKIA1").await.unwrap().len(), 1);
        let used = last_use(store, ACCOUNT, "AKIA1").await.unwrap().unwrap();
        assert_eq!((used.owner.as_deref(), used.used_at), (Some("alice"), None));
        assert_eq!(last_use(store, ACCOUNT, "AKIAROOT").await.unwrap().unwrap().owner, None);
        assert!(of_root(ACCOUNT).exist(store).await.unwrap());
        assert!(!delete(store, ACCOUNT, Some("alice"), "AKIAROOT").await.unwrap());
        assert!(delete(store, ACCOUNT, Some("alice"), "AKIA1").await.unwrap());
        assert!(last_use(store, ACCOUNT, "AKIA1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_signing_path_reads_any_owners_key_with_its_sealed_secret() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, ACCOUNT, Some("alice"), "AKIA1", vec![1, 2], 10).await.unwrap();
        create(store, ACCOUNT, None, "AKIAROOT", vec![3], 11).await.unwrap();
        set_status(store, ACCOUNT, None, "AKIAROOT", KeyStatus::Inactive).await.unwrap();
        let key = for_authentication(store, "AKIA1").await.unwrap().unwrap();
        assert_eq!(
            key,
            SigningKey {
                account: ACCOUNT.to_owned(),
                user_key: Some("alice".to_owned()),
                sealed_secret: vec![1, 2],
                status: KeyStatus::Active
            }
        );
        let root = for_authentication(store, "AKIAROOT").await.unwrap().unwrap();
        assert_eq!((root.user_key, root.status), (None, KeyStatus::Inactive));
        assert!(for_authentication(store, "AKIA2").await.unwrap().is_none());
        store.execute("UPDATE access_keys SET status = 'Revoked'", vec![]).await.unwrap();
        assert!(matches!(for_authentication(store, "AKIA1").await, Err(Error::Failed(_))));
    }

    #[tokio::test]
    async fn a_stored_status_the_model_does_not_know_is_an_error() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, ACCOUNT, Some("alice"), "AKIA1", vec![1], 10).await.unwrap();
        store.execute("UPDATE access_keys SET status = 'Revoked'", vec![]).await.unwrap();
        assert!(matches!(after(store, ACCOUNT, Some("alice"), "").await, Err(Error::Failed(_))));
    }
}
