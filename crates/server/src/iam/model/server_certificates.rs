//! The account's server certificates: every statement on `server_certificates` (their tags
//! are [`super::tags`]' rows under the kind `server-certificate`).
//!
//! Guarantees: names are unique case-insensitively; an account holds at most [`PER_ACCOUNT`],
//! counted in the inserting statement; the private key reaches the store only sealed and is
//! never read back by any function here; a rename moves the tags in the same transaction and
//! a delete removes them with the certificate.

use store::{Statement, Store, StoreError, Value};

use super::Error;
use super::tags::{self, Tag, Tagged};

/// Server certificates an account may have (IAM's default quota).
pub(crate) const PER_ACCOUNT: i64 = 20;

/// A server certificate as stored (never its private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerCertificate {
    pub name: String,
    pub id: String,
    pub path: String,
    pub body: String,
    pub chain: Option<String>,
    pub uploaded_at: i64,
    pub expires_at: i64,
}

impl ServerCertificate {
    /// Its lowercase name: the key its row and tags are stored under.
    pub(crate) fn key(&self) -> String {
        self.name.to_lowercase()
    }
}

/// What an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uploaded {
    New,
    NameTaken,
    OverQuota,
}

fn read(row: &store::Row) -> Result<ServerCertificate, Error> {
    Ok(ServerCertificate {
        name: row.text(0)?,
        id: row.text(1)?,
        path: row.text(2)?,
        body: row.text(3)?,
        chain: row.opt_text(4)?,
        uploaded_at: row.int(5)?,
        expires_at: row.int(6)?,
    })
}

const COLUMNS: &str = "name, certificate_id, path, body, chain, uploaded_at, expires_at";

/// Stores a new certificate with its sealed private key and its tags.
pub(crate) async fn upload(
    store: &Store,
    account: &str,
    certificate: &ServerCertificate,
    private_key_sealed: Vec<u8>,
    tags: &[Tag],
) -> Result<Uploaded, Error> {
    let key = certificate.key();
    let mut statements = vec![Statement::guard(
        "INSERT INTO server_certificates
           (account_id, name_key, name, certificate_id, path, body, chain, private_key_sealed, uploaded_at, expires_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE (SELECT COUNT(*) FROM server_certificates WHERE account_id = ?) < ?",
        vec![
            account.into(),
            key.as_str().into(),
            certificate.name.as_str().into(),
            certificate.id.as_str().into(),
            certificate.path.as_str().into(),
            certificate.body.as_str().into(),
            Value::from(certificate.chain.clone()),
            private_key_sealed.into(),
            Value::Int(certificate.uploaded_at),
            Value::Int(certificate.expires_at),
            account.into(),
            Value::Int(PER_ACCOUNT),
        ],
    )];
    statements.extend(tags::set_statements(account, Tagged::ServerCertificate, &key, tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(Uploaded::New),
        Err(StoreError::Conflict) => Ok(Uploaded::NameTaken),
        Err(StoreError::Unmet(_)) => Ok(Uploaded::OverQuota),
        Err(error) => Err(error.into()),
    }
}

/// The certificate of that name (compared case-insensitively).
pub(crate) async fn find(store: &Store, account: &str, name: &str) -> Result<Option<ServerCertificate>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM server_certificates WHERE account_id = ? AND name_key = ?"),
            vec![account.into(), name.to_lowercase().into()],
        )
        .await?;
    rows.first().map(read).transpose()
}

/// The certificates under `prefix` whose key sorts after `after`, at most `limit`, by key.
pub(crate) async fn page(
    store: &Store,
    account: &str,
    prefix: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<ServerCertificate>, Error> {
    // The prefix's length is written into the statement (as the entities' windows do):
    // PostgreSQL has no `substr` taking a bound BIGINT.
    let prefix_length = prefix.chars().count();
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM server_certificates
                 WHERE account_id = ? AND substr(path, 1, {prefix_length}) = ? AND name_key > ? ORDER BY name_key LIMIT {limit}"
            ),
            vec![
                account.into(),
                prefix.into(),
                after.into(),
            ],
        )
        .await?;
    rows.iter().map(read).collect()
}

/// Renames and moves a certificate with its tags. `false`: another has the new name.
pub(crate) async fn rename(
    store: &Store,
    account: &str,
    old_key: &str,
    new_name: &str,
    new_path: &str,
) -> Result<bool, Error> {
    let new_key = new_name.to_lowercase();
    let updated = store
        .transaction(vec![
            Statement::new(
                "UPDATE server_certificates SET name_key = ?, name = ?, path = ? WHERE account_id = ? AND name_key = ?",
                vec![new_key.as_str().into(), new_name.into(), new_path.into(), account.into(), old_key.into()],
            ),
            tags::rename_owner(account, Tagged::ServerCertificate, old_key, &new_key),
        ])
        .await;
    match updated {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a certificate and its tags. `false`: there was none of that key.
pub(crate) async fn delete(store: &Store, account: &str, key: &str) -> Result<bool, Error> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM server_certificates WHERE account_id = ? AND name_key = ?",
                vec![account.into(), key.into()],
            ),
            tags::delete_all(account, Tagged::ServerCertificate, key),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}
