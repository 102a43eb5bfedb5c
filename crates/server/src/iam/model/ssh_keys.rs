//! Users' SSH public keys (CodeCommit's): every statement on `ssh_public_keys`.
//!
//! Guarantees: a user holds at most [`PER_USER`] keys and never the same key (by
//! fingerprint) twice, both checked in the inserting statement; a key is stored in SSH's wire
//! form, whatever encoding it was uploaded in.

use store::{Store, Value};

use super::access_keys::KeyStatus;
use super::{Error, UserRows};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "ssh_public_keys", column: "user_key" };

/// SSH public keys a user may have (IAM's default quota).
pub(crate) const PER_USER: i64 = 5;

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshKey {
    pub id: String,
    /// SSH's wire form, base64 (`key_material::SshPublicKey::from_blob`).
    pub blob: String,
    pub fingerprint: String,
    pub status: KeyStatus,
    pub uploaded_at: i64,
}

/// What an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uploaded {
    New,
    /// The user holds this key already.
    Duplicate,
    OverQuota,
}

fn read(row: &store::Row) -> Result<SshKey, Error> {
    let status = row.text(3)?;
    Ok(SshKey {
        id: row.text(0)?,
        blob: row.text(1)?,
        fingerprint: row.text(2)?,
        status: KeyStatus::parse(&status).ok_or_else(|| Error::Failed(format!("unknown key status `{status}`")))?,
        uploaded_at: row.int(4)?,
    })
}

const COLUMNS: &str = "key_id, key_blob, fingerprint, status, uploaded_at";

/// Stores a new `Active` key of a user.
pub(crate) async fn upload(store: &Store, account: &str, user_key: &str, key: &SshKey) -> Result<Uploaded, Error> {
    let inserted = store
        .execute(
            "INSERT INTO ssh_public_keys (key_id, account_id, user_key, key_blob, fingerprint, status, uploaded_at)
             SELECT ?, ?, ?, ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM ssh_public_keys WHERE account_id = ? AND user_key = ?) < ?
               AND NOT EXISTS (SELECT 1 FROM ssh_public_keys WHERE account_id = ? AND user_key = ? AND fingerprint = ?)",
            vec![
                key.id.as_str().into(),
                account.into(),
                user_key.into(),
                key.blob.as_str().into(),
                key.fingerprint.as_str().into(),
                key.status.as_str().into(),
                Value::Int(key.uploaded_at),
                account.into(),
                user_key.into(),
                Value::Int(PER_USER),
                account.into(),
                user_key.into(),
                key.fingerprint.as_str().into(),
            ],
        )
        .await?;
    if inserted > 0 {
        return Ok(Uploaded::New);
    }
    let held = of_user(store, account, user_key).await?;
    Ok(if held.iter().any(|held| held.fingerprint == key.fingerprint) {
        Uploaded::Duplicate
    } else {
        Uploaded::OverQuota
    })
}

/// A user's keys, by id.
pub(crate) async fn of_user(store: &Store, account: &str, user_key: &str) -> Result<Vec<SshKey>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM ssh_public_keys WHERE account_id = ? AND user_key = ? ORDER BY key_id"),
            vec![account.into(), user_key.into()],
        )
        .await?;
    rows.iter().map(read).collect()
}

/// One key of a user.
pub(crate) async fn find(store: &Store, account: &str, user_key: &str, id: &str) -> Result<Option<SshKey>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM ssh_public_keys WHERE account_id = ? AND user_key = ? AND key_id = ?"),
            vec![account.into(), user_key.into(), id.into()],
        )
        .await?;
    rows.first().map(read).transpose()
}

/// Sets a key's status. `false`: the user has no such key.
pub(crate) async fn set_status(
    store: &Store,
    account: &str,
    user_key: &str,
    id: &str,
    status: KeyStatus,
) -> Result<bool, Error> {
    let updated = store
        .execute(
            "UPDATE ssh_public_keys SET status = ? WHERE account_id = ? AND user_key = ? AND key_id = ?",
            vec![status.as_str().into(), account.into(), user_key.into(), id.into()],
        )
        .await?;
    Ok(updated > 0)
}

/// Deletes a key. `false`: the user has no such key.
pub(crate) async fn delete(store: &Store, account: &str, user_key: &str, id: &str) -> Result<bool, Error> {
    let deleted = store
        .execute(
            "DELETE FROM ssh_public_keys WHERE account_id = ? AND user_key = ? AND key_id = ?",
            vec![account.into(), user_key.into(), id.into()],
        )
        .await?;
    Ok(deleted > 0)
}
