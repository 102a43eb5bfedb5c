//! Console passwords and the account password policy: every statement on `login_profiles`
//! and `password_policies`.
//!
//! Guarantees: a user has at most one login profile (the primary key); a password is stored
//! only as its [`super::passwords`] hash, with the hashes of up to [`HISTORY`] earlier ones
//! for the policy's reuse rule; the policy is kept whole as JSON, one per account.

use store::{Statement, Store, StoreError, Value};

use super::passwords::PasswordPolicy;
use super::{Error, UserRows};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "login_profiles", column: "user_key" };

/// Earlier passwords kept for `PasswordReusePrevention` (its maximum).
pub(crate) const HISTORY: usize = 24;

/// A user's login profile as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginProfile {
    pub password_hash: String,
    /// Hashes of earlier passwords, newest first.
    pub history: Vec<String>,
    pub reset_required: bool,
    pub created_at: i64,
    pub changed_at: i64,
}

fn read(row: &store::Row, from: usize) -> Result<LoginProfile, Error> {
    let history: Vec<String> = serde_json::from_str(&row.text(from + 1)?)
        .map_err(|error| Error::Failed(format!("a login profile's history: {error}")))?;
    Ok(LoginProfile {
        password_hash: row.text(from)?,
        history,
        reset_required: row.int(from + 2)? != 0,
        created_at: row.int(from + 3)?,
        changed_at: row.int(from + 4)?,
    })
}

const COLUMNS: &str = "password_hash, history, reset_required, created_at, changed_at";

/// The login profile of a user, if it has one.
pub(crate) async fn find(store: &Store, account: &str, user_key: &str) -> Result<Option<LoginProfile>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM login_profiles WHERE account_id = ? AND user_key = ?"),
            vec![account.into(), user_key.into()],
        )
        .await?;
    rows.first().map(|row| read(row, 0)).transpose()
}

/// Every login profile of the account, by user key.
pub(crate) async fn of_account(store: &Store, account: &str) -> Result<Vec<(String, LoginProfile)>, Error> {
    let rows = store
        .query(
            &format!("SELECT user_key, {COLUMNS} FROM login_profiles WHERE account_id = ? ORDER BY user_key"),
            vec![account.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, read(row, 1)?))).collect()
}

/// Gives an existing user a password. `false`: it has one already (or is gone).
pub(crate) async fn create(
    store: &Store,
    account: &str,
    user_key: &str,
    password_hash: &str,
    reset_required: bool,
    now: i64,
) -> Result<bool, Error> {
    let inserted = store
        .execute(
            "INSERT INTO login_profiles (account_id, user_key, password_hash, history, reset_required, created_at, changed_at)
             SELECT ?, ?, ?, '[]', ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE account_id = ? AND name_key = ?)",
            vec![
                account.into(),
                user_key.into(),
                password_hash.into(),
                Value::Int(i64::from(reset_required)),
                Value::Int(now),
                Value::Int(now),
                account.into(),
                user_key.into(),
            ],
        )
        .await;
    match inserted {
        Ok(count) => Ok(count > 0),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Replaces a user's password (the old hash joins the history) and/or its reset flag, only
/// while the profile is still `expected` (the one the caller read and checked). `false`: it
/// changed or is gone.
pub(crate) async fn update(
    store: &Store,
    account: &str,
    user_key: &str,
    expected: &LoginProfile,
    new_hash: Option<&str>,
    reset_required: Option<bool>,
    now: i64,
) -> Result<bool, Error> {
    let (hash, history, changed_at) = match new_hash {
        Some(hash) => {
            let mut history = vec![expected.password_hash.clone()];
            history.extend(expected.history.iter().take(HISTORY - 1).cloned());
            (hash.to_owned(), history, now)
        }
        None => (expected.password_hash.clone(), expected.history.clone(), expected.changed_at),
    };
    let history = serde_json::to_string(&history).map_err(|error| Error::Failed(error.to_string()))?;
    let updated = store
        .execute(
            "UPDATE login_profiles SET password_hash = ?, history = ?, reset_required = ?, changed_at = ?
             WHERE account_id = ? AND user_key = ? AND password_hash = ?",
            vec![
                hash.into(),
                history.into(),
                Value::Int(i64::from(reset_required.unwrap_or(expected.reset_required))),
                Value::Int(changed_at),
                account.into(),
                user_key.into(),
                expected.password_hash.as_str().into(),
            ],
        )
        .await?;
    Ok(updated > 0)
}

/// Removes a user's password. `false`: it had none.
pub(crate) async fn delete(store: &Store, account: &str, user_key: &str) -> Result<bool, Error> {
    let deleted = store
        .execute(
            "DELETE FROM login_profiles WHERE account_id = ? AND user_key = ?",
            vec![account.into(), user_key.into()],
        )
        .await?;
    Ok(deleted > 0)
}

/// The account's password policy, if one is set.
pub(crate) async fn policy(store: &Store, account: &str) -> Result<Option<PasswordPolicy>, Error> {
    let rows = store.query("SELECT policy FROM password_policies WHERE account_id = ?", vec![account.into()]).await?;
    rows.first()
        .map(|row| {
            serde_json::from_str(&row.text(0)?)
                .map_err(|error| Error::Failed(format!("the account's password policy: {error}")))
        })
        .transpose()
}

/// Sets the account's password policy (replacing the one it had).
pub(crate) async fn set_policy(store: &Store, account: &str, policy: &PasswordPolicy) -> Result<(), Error> {
    let text = serde_json::to_string(policy).map_err(|error| Error::Failed(error.to_string()))?;
    store
        .transaction(vec![
            Statement::new("DELETE FROM password_policies WHERE account_id = ?", vec![account.into()]),
            Statement::new(
                "INSERT INTO password_policies (account_id, policy) VALUES (?, ?)",
                vec![account.into(), text.into()],
            ),
        ])
        .await?;
    Ok(())
}

/// Removes the account's password policy. `false`: it had none.
pub(crate) async fn delete_policy(store: &Store, account: &str) -> Result<bool, Error> {
    Ok(store.execute("DELETE FROM password_policies WHERE account_id = ?", vec![account.into()]).await? > 0)
}
