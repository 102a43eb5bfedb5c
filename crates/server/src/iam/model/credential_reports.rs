//! The account's latest credential report: every statement on `credential_reports`.
//!
//! Guarantees: an account keeps one report, replaced whole by the next.

use store::{Statement, Store, Value};

use super::Error;

/// A generated report: when, and its CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CredentialReport {
    pub generated_at: i64,
    pub content: String,
}

/// The account's latest report, if it has one.
pub(crate) async fn latest(store: &Store, account: &str) -> Result<Option<CredentialReport>, Error> {
    let rows = store
        .query("SELECT generated_at, content FROM credential_reports WHERE account_id = ?", vec![account.into()])
        .await?;
    rows.first().map(|row| Ok(CredentialReport { generated_at: row.int(0)?, content: row.text(1)? })).transpose()
}

/// Keeps `report` as the account's latest.
pub(crate) async fn save(store: &Store, account: &str, report: &CredentialReport) -> Result<(), Error> {
    store
        .transaction(vec![
            Statement::new("DELETE FROM credential_reports WHERE account_id = ?", vec![account.into()]),
            Statement::new(
                "INSERT INTO credential_reports (account_id, generated_at, content) VALUES (?, ?, ?)",
                vec![account.into(), Value::Int(report.generated_at), report.content.as_str().into()],
            ),
        ])
        .await?;
    Ok(())
}
