//! X.509 signing certificates of users and of the root user: every statement on
//! `signing_certificates`.
//!
//! Guarantees: an owner holds at most [`PER_USER`] certificates, counted in the inserting
//! statement; one certificate (by the SHA-256 of its DER) belongs to one owner of the
//! account at most (a unique index).

use store::{Store, StoreError, Value};

use super::access_keys::KeyStatus;
use super::{Error, UserRows};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "signing_certificates", column: "user_key" };

/// Signing certificates a user may have (IAM's quota).
pub(crate) const PER_USER: i64 = 2;

/// One stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigningCertificate {
    pub id: String,
    /// The lowercase name of its user (`None`: the root user's).
    pub user_key: Option<String>,
    /// The PEM as uploaded.
    pub body: String,
    /// The SHA-256 of its DER, hex: what makes two uploads one certificate.
    pub digest: String,
    pub status: KeyStatus,
    pub uploaded_at: i64,
}

/// What an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uploaded {
    New,
    /// The certificate belongs to someone in the account already.
    Duplicate,
    OverQuota,
}

fn read(row: &store::Row) -> Result<SigningCertificate, Error> {
    let status = row.text(4)?;
    Ok(SigningCertificate {
        id: row.text(0)?,
        user_key: row.opt_text(1)?,
        body: row.text(2)?,
        digest: row.text(3)?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| Error::Failed(format!("unknown certificate status `{status}`")))?,
        uploaded_at: row.int(5)?,
    })
}

const COLUMNS: &str = "certificate_id, user_key, body, digest, status, uploaded_at";

/// The owner condition: a user's (`Some(user_key)`) or the root user's (`None`).
fn owned_by(user_key: Option<&str>) -> (&'static str, Vec<Value>) {
    match user_key {
        Some(key) => ("user_key = ?", vec![key.into()]),
        None => ("user_key IS NULL", vec![]),
    }
}

/// Stores a new `Active` certificate.
pub(crate) async fn upload(store: &Store, account: &str, certificate: &SigningCertificate) -> Result<Uploaded, Error> {
    let (owner, owner_params) = owned_by(certificate.user_key.as_deref());
    let mut params: Vec<Value> = vec![
        certificate.id.as_str().into(),
        account.into(),
        Value::from(certificate.user_key.clone()),
        certificate.body.as_str().into(),
        certificate.digest.as_str().into(),
        certificate.status.as_str().into(),
        Value::Int(certificate.uploaded_at),
        account.into(),
    ];
    params.extend(owner_params);
    params.push(Value::Int(PER_USER));
    let inserted = store
        .execute(
            &format!(
                "INSERT INTO signing_certificates (certificate_id, account_id, user_key, body, digest, status, uploaded_at)
                 SELECT ?, ?, ?, ?, ?, ?, ?
                 WHERE (SELECT COUNT(*) FROM signing_certificates WHERE account_id = ? AND {owner}) < ?"
            ),
            params,
        )
        .await;
    match inserted {
        Ok(count) if count > 0 => Ok(Uploaded::New),
        Ok(_) => Ok(Uploaded::OverQuota),
        Err(StoreError::Conflict) => Ok(Uploaded::Duplicate),
        Err(error) => Err(error.into()),
    }
}

/// The certificates of an owner, by id.
pub(crate) async fn of_owner(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
) -> Result<Vec<SigningCertificate>, Error> {
    let (owner, owner_params) = owned_by(user_key);
    let mut params = vec![account.into()];
    params.extend(owner_params);
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM signing_certificates WHERE account_id = ? AND {owner} ORDER BY certificate_id"
            ),
            params,
        )
        .await?;
    rows.iter().map(read).collect()
}

/// Every certificate of the account (for the credential report), by owner and upload.
pub(crate) async fn of_account(store: &Store, account: &str) -> Result<Vec<SigningCertificate>, Error> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM signing_certificates WHERE account_id = ? ORDER BY user_key, uploaded_at, certificate_id"
            ),
            vec![account.into()],
        )
        .await?;
    rows.iter().map(read).collect()
}

/// Sets a certificate's status. `false`: the owner has no such certificate.
pub(crate) async fn set_status(
    store: &Store,
    account: &str,
    user_key: Option<&str>,
    id: &str,
    status: KeyStatus,
) -> Result<bool, Error> {
    let (owner, owner_params) = owned_by(user_key);
    let mut params = vec![status.as_str().into(), account.into(), id.into()];
    params.extend(owner_params);
    let updated = store
        .execute(
            &format!(
                "UPDATE signing_certificates SET status = ? WHERE account_id = ? AND certificate_id = ? AND {owner}"
            ),
            params,
        )
        .await?;
    Ok(updated > 0)
}

/// Deletes a certificate. `false`: the owner has no such certificate.
pub(crate) async fn delete(store: &Store, account: &str, user_key: Option<&str>, id: &str) -> Result<bool, Error> {
    let (owner, owner_params) = owned_by(user_key);
    let mut params = vec![account.into(), id.into()];
    params.extend(owner_params);
    let deleted = store
        .execute(
            &format!("DELETE FROM signing_certificates WHERE account_id = ? AND certificate_id = ? AND {owner}"),
            params,
        )
        .await?;
    Ok(deleted > 0)
}
