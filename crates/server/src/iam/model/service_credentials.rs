//! Users' service-specific credentials (CodeCommit and Keyspaces passwords, Bedrock and
//! CloudWatch Logs API keys): every statement on `service_credentials`.
//!
//! Guarantees: a user holds at most [`PER_SERVICE`] credentials for one service, counted in
//! the inserting statement; the password or key is stored only as its hash.

use store::{Store, Value};

use super::access_keys::KeyStatus;
use super::{Error, UserRows};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "service_credentials", column: "user_key" };

/// Credentials a user may have for one service (IAM's quota).
pub(crate) const PER_SERVICE: i64 = 2;

/// One stored credential (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceCredential {
    pub id: String,
    /// The lowercase name of the user who holds it.
    pub user_key: String,
    pub service: String,
    /// `ServiceUserName` (a password service's) or `ServiceCredentialAlias` (an API key's).
    pub service_user_name: String,
    pub status: KeyStatus,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

fn read(row: &store::Row) -> Result<ServiceCredential, Error> {
    let status = row.text(4)?;
    Ok(ServiceCredential {
        id: row.text(0)?,
        user_key: row.text(1)?,
        service: row.text(2)?,
        service_user_name: row.text(3)?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| Error::Failed(format!("unknown credential status `{status}`")))?,
        created_at: row.int(5)?,
        expires_at: row.opt_int(6)?,
    })
}

const COLUMNS: &str = "credential_id, user_key, service, service_user_name, status, created_at, expires_at";

/// Stores a new `Active` credential with its secret's hash. `false`: the user holds its quota
/// for that service already.
pub(crate) async fn create(
    store: &Store,
    account: &str,
    credential: &ServiceCredential,
    secret_hash: &str,
) -> Result<bool, Error> {
    let inserted = store
        .execute(
            "INSERT INTO service_credentials
               (credential_id, account_id, user_key, service, service_user_name, secret_hash, status, created_at, expires_at)
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM service_credentials WHERE account_id = ? AND user_key = ? AND service = ?) < ?",
            vec![
                credential.id.as_str().into(),
                account.into(),
                credential.user_key.as_str().into(),
                credential.service.as_str().into(),
                credential.service_user_name.as_str().into(),
                secret_hash.into(),
                credential.status.as_str().into(),
                Value::Int(credential.created_at),
                Value::from(credential.expires_at),
                account.into(),
                credential.user_key.as_str().into(),
                credential.service.as_str().into(),
                Value::Int(PER_SERVICE),
            ],
        )
        .await?;
    Ok(inserted > 0)
}

/// The credentials of a user (`None`: every user's), of one service or all, by id.
pub(crate) async fn list(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
    service: Option<&str>,
) -> Result<Vec<ServiceCredential>, Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM service_credentials WHERE account_id = ?");
    let mut params = vec![account.into()];
    if let Some(user_key) = user_key {
        sql.push_str(" AND user_key = ?");
        params.push(user_key.into());
    }
    if let Some(service) = service {
        sql.push_str(" AND service = ?");
        params.push(service.into());
    }
    sql.push_str(" ORDER BY credential_id");
    store.query(&sql, params).await?.iter().map(read).collect()
}

/// One credential of a user.
pub(crate) async fn find(
    store: &Store,
    account: &str,
    user_key: &str,
    id: &str,
) -> Result<Option<ServiceCredential>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM service_credentials WHERE account_id = ? AND user_key = ? AND credential_id = ?"
            ),
            vec![account.into(), user_key.into(), id.into()],
        )
        .await?;
    rows.first().map(read).transpose()
}

/// Replaces a credential's secret (its hash). `false`: the user has no such credential.
pub(crate) async fn reset(
    store: &Store,
    account: &str,
    user_key: &str,
    id: &str,
    secret_hash: &str,
) -> Result<bool, Error> {
    let updated = store
        .execute(
            "UPDATE service_credentials SET secret_hash = ? WHERE account_id = ? AND user_key = ? AND credential_id = ?",
            vec![secret_hash.into(), account.into(), user_key.into(), id.into()],
        )
        .await?;
    Ok(updated > 0)
}

/// Sets a credential's status. `false`: the user has no such credential.
pub(crate) async fn set_status(
    store: &Store,
    account: &str,
    user_key: &str,
    id: &str,
    status: KeyStatus,
) -> Result<bool, Error> {
    let updated = store
        .execute(
            "UPDATE service_credentials SET status = ? WHERE account_id = ? AND user_key = ? AND credential_id = ?",
            vec![status.as_str().into(), account.into(), user_key.into(), id.into()],
        )
        .await?;
    Ok(updated > 0)
}

/// Deletes a credential. `false`: the user has no such credential.
pub(crate) async fn delete(store: &Store, account: &str, user_key: &str, id: &str) -> Result<bool, Error> {
    let deleted = store
        .execute(
            "DELETE FROM service_credentials WHERE account_id = ? AND user_key = ? AND credential_id = ?",
            vec![account.into(), user_key.into(), id.into()],
        )
        .await?;
    Ok(deleted > 0)
}
