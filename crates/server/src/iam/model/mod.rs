//! IAM's domain layer: users, groups, roles and instance profiles, managed and inline
//! policies, attachments, permissions boundaries, tags, access keys and the other credentials
//! (login profiles and the password policy, SSH keys, service-specific credentials, signing and
//! server certificates, the credential report) as the store holds them, and every SQL statement on their tables, as functions of the store (never of a
//! request's `Ctx`). The handlers in `iam/` decode a request, authorize it, call these, and
//! encode the answer; `auth` reads keys and sessions through them
//! ([`access_keys::for_authentication`], [`sessions`]) and `authz` what authorizes a
//! principal ([`permissions`]), so the signing and deciding paths hold no SQL.
//!
//! Guarantees:
//! - Each table's statements live in one module (`policy_attachments` in [`attachments`],
//!   `permissions_boundaries` in [`boundaries`], ...); another module that must check or
//!   move an owner's rows in its own transaction composes that module's [`Dependents`] and
//!   rename statements, so no statement on a table is written twice.
//! - An entity's rows elsewhere hang off it by its kind's noun and its lowercase name (its
//!   key); a rename moves all of them in one transaction, a delete is refused in the
//!   deleting statement itself while any of them is left.
//! - Every quota (attachments, memberships, access keys, tags, policy versions) is checked
//!   in the statement or transaction that writes, so concurrent calls cannot pass it
//!   together; what a write found is answered as an outcome ([`Added`], `bool`), never as
//!   an AWS error: the wording is the handlers'.
//! - A stored word the model does not know (an access key's status) is an [`Error`], never
//!   guessed at. [`Error`] is always Homeport's failure: handlers answer it as the
//!   service's internal error.
//! - Nothing here imports a handler module or `crate::operations`.

use aws_protocol::AwsError;
use store::{Store, StoreError, Value};

pub(crate) mod access_keys;
pub(crate) mod access_reports;
pub(crate) mod account;
pub(crate) mod attachments;
pub(crate) mod boundaries;
pub(crate) mod credential_reports;
pub(crate) mod entities;
pub(crate) mod groups;
pub(crate) mod inline;
pub(crate) mod instance_profiles;
pub(crate) mod least_privilege;
pub(crate) mod login_profiles;
pub mod managed;
pub(crate) mod mfa_devices;
pub(crate) mod oidc_providers;
pub(crate) mod passwords;
pub mod permissions;
pub(crate) mod policies;
mod policy_uses;
pub(crate) mod roles;
pub(crate) mod saml_providers;
pub(crate) mod server_certificates;
pub(crate) mod service_access;
pub(crate) mod service_credentials;
pub(crate) mod service_linked_roles;
pub(crate) mod sessions;
pub(crate) mod signing_certificates;
pub(crate) mod ssh_keys;
pub(crate) mod tags;
pub(crate) mod totp;
pub(crate) mod usage;
pub(crate) mod users;

/// A failure of the model that is Homeport's, not the caller's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The store failed, or holds a row the model cannot read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else failed (randomness, serialization); the text says what.
    #[error("{0}")]
    Failed(String),
    /// An error already in AWS's shape, from a shared module the model calls
    /// (`principals`): passed on as is.
    #[error(transparent)]
    Answered(#[from] AwsError),
}

/// What an idempotent, quota-bound add found: IAM answers adding twice as success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// The row is new.
    New,
    /// The row was there already (or a concurrent call added it first).
    Already,
    /// The owner holds its quota already; nothing was written.
    OverQuota,
}

/// The rows of one table that depend on something (an entity, a policy): the query that
/// finds them, usable as a guard's `NOT EXISTS` condition or asked on its own, so a
/// delete's guard and the answer saying what blocked it read the same rows.
#[derive(Debug, Clone)]
pub(crate) struct Dependents {
    sql: String,
    params: Vec<Value>,
}

/// A table whose rows hang off a user by its key in `column` (its access keys, other
/// credentials, MFA devices, memberships): what keeps the user from being deleted, and the
/// statement that moves them when it is renamed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserRows {
    pub table: &'static str,
    pub column: &'static str,
}

impl UserRows {
    /// The user's rows, as a delete's guard sees them.
    pub(crate) fn of(self, account: &str, user_key: &str) -> Dependents {
        Dependents::new(
            format!("SELECT 1 FROM {} WHERE account_id = ? AND {} = ?", self.table, self.column),
            vec![account.into(), user_key.into()],
        )
    }

    /// The statement moving the user's rows to its new key.
    pub(crate) fn rename(self, account: &str, old_key: &str, new_key: &str) -> store::Statement {
        store::Statement::new(
            format!(
                "UPDATE {} SET {column} = ? WHERE account_id = ? AND {column} = ?",
                self.table,
                column = self.column
            ),
            vec![new_key.into(), account.into(), old_key.into()],
        )
    }
}

impl Dependents {
    pub(crate) fn new(sql: impl Into<String>, params: Vec<Value>) -> Dependents {
        Dependents { sql: sql.into(), params }
    }

    /// Whether any such row exists now.
    pub(crate) async fn exist(&self, store: &Store) -> Result<bool, Error> {
        Ok(!store.query(&self.sql, self.params.clone()).await?.is_empty())
    }

    /// Appends `AND NOT EXISTS (...)` for each of `dependents` to `sql` and their
    /// parameters to `params`.
    pub(crate) fn append_none(sql: &mut String, params: &mut Vec<Value>, dependents: &[Dependents]) {
        for dependent in dependents {
            sql.push_str(&format!("\n   AND NOT EXISTS ({})", dependent.sql));
            params.extend(dependent.params.iter().cloned());
        }
    }
}

/// Whose policies authorize a principal ([`groups::holders`]), as a condition on a table of
/// policies by owner aliased `a` (`inline_policies`, `policy_attachments`) and its
/// parameters, so each table's statement reads the same owners.
#[derive(Debug, Clone)]
pub(crate) struct Holders {
    condition: &'static str,
    params: Vec<Value>,
}

/// The first text column of every row.
fn texts(rows: &[store::Row]) -> Result<Vec<String>, Error> {
    Ok(rows.iter().map(|row| row.text(0)).collect::<Result<_, _>>()?)
}

/// The first row's first integer column (a `COUNT(*)`).
fn count(rows: &[store::Row]) -> Result<i64, Error> {
    Ok(rows.first().ok_or_else(|| Error::Failed("no count row".to_owned()))?.int(0)?)
}
