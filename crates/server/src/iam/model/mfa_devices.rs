//! Virtual MFA devices: every statement on `mfa_devices`. A device is found by its serial
//! number (`arn:aws:iam::ACCOUNT:mfa/PATH+NAME`, unique case-insensitively), holds its TOTP
//! seed sealed with the master key for that serial number, and is assigned to at most one
//! user (by lowercase name and unique id).
//!
//! Guarantees: a device is assigned, resynchronized, deactivated or deleted by one guarded
//! statement, so two concurrent Enable calls cannot both win it and a device is deleted only
//! while unassigned; a code is accepted by moving `last_step` forward in the statement that
//! checks it has not moved past the code's step, so a code is accepted at most once even by
//! concurrent callers; the seed never leaves this module unsealed except to check a code.

use std::collections::HashSet;

use store::seal::Sealer;
use store::{Row, Statement, Store, StoreError, Value};

use super::tags::{self, Tag, Tagged};
use super::{Error, UserRows, totp};

/// This table's rows of a user (DeleteUser's guard, UpdateUser's move).
pub(crate) const USER_ROWS: UserRows = UserRows { table: "mfa_devices", column: "user_key" };

/// The TOTP seed's length in bytes (64 base-32 characters, as AWS's seeds).
pub(crate) const SEED_BYTES: usize = 40;

/// MFA devices one user may have (IAM's quota since 2022).
pub(crate) const PER_USER: i64 = 8;

/// A virtual MFA device as stored (its seed still sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MfaDevice {
    pub serial_number: String,
    pub name: String,
    pub path: String,
    pub created_at: i64,
    /// The lowercase name and the unique id of the user it is assigned to.
    pub user_key: Option<String>,
    pub user_id: Option<String>,
    pub enabled_at: Option<i64>,
    /// The last time step a code was accepted at (0: none yet).
    pub last_step: i64,
    /// Steps the device's clock runs ahead of the server's (Resync measures it).
    pub drift: i64,
    sealed_seed: Vec<u8>,
}

impl MfaDevice {
    /// Its key: the serial number in lower case.
    pub(crate) fn key(&self) -> String {
        self.serial_number.to_lowercase()
    }

    /// Its seed, opened.
    pub(crate) fn seed(&self, sealer: &Sealer) -> Result<Vec<u8>, Error> {
        sealer.open(&self.sealed_seed, &self.serial_number).map_err(|error| Error::Failed(error.to_string()))
    }
}

const COLUMNS: &str =
    "serial_number, name, path, created_at, user_key, user_id, enabled_at, last_step, drift, seed_sealed";

fn device(row: &Row) -> Result<MfaDevice, Error> {
    Ok(MfaDevice {
        serial_number: row.text(0)?,
        name: row.text(1)?,
        path: row.text(2)?,
        created_at: row.int(3)?,
        user_key: row.opt_text(4)?,
        user_id: row.opt_text(5)?,
        enabled_at: row.opt_int(6)?,
        last_step: row.int(7)?,
        drift: row.int(8)?,
        sealed_seed: row.blob(9)?,
    })
}

/// The serial number of a device named `name` under `path`.
pub(crate) fn serial_number(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:mfa{path}{name}")
}

/// Records a new unassigned device with its sealed seed and `tags`. `false`: a device of that
/// serial number exists (nothing was written).
pub(crate) async fn create(
    store: &Store,
    account: &str,
    serial: &str,
    (name, path): (&str, &str),
    sealed_seed: Vec<u8>,
    created_at: i64,
    tags: &[Tag],
) -> Result<bool, Error> {
    let key = serial.to_lowercase();
    let mut statements = vec![Statement::new(
        "INSERT INTO mfa_devices (account_id, serial_key, serial_number, name, path, seed_sealed, created_at, last_step, drift)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)",
        vec![
            account.into(),
            key.as_str().into(),
            serial.into(),
            name.into(),
            path.into(),
            sealed_seed.into(),
            Value::Int(created_at),
        ],
    )];
    statements.extend(tags::set_statements(account, Tagged::MfaDevice, &key, tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The device of exactly this serial number (the spelling is the identity, as AWS's).
pub(crate) async fn find(store: &Store, account: &str, serial: &str) -> Result<Option<MfaDevice>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM mfa_devices WHERE account_id = ? AND serial_key = ?"),
            vec![account.into(), serial.to_lowercase().into()],
        )
        .await?;
    Ok(rows.first().map(device).transpose()?.filter(|found| found.serial_number == serial))
}

/// The devices assigned to the user `user_key`, by serial number.
pub(crate) async fn of_user(store: &Store, account: &str, user_key: &str) -> Result<Vec<MfaDevice>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM mfa_devices WHERE account_id = ? AND user_key = ? ORDER BY serial_key"),
            vec![account.into(), user_key.into()],
        )
        .await?;
    rows.iter().map(device).collect()
}

/// Every device of the account, by serial number, after `after` (a lowercase serial number).
pub(crate) async fn all(store: &Store, account: &str, after: &str) -> Result<Vec<MfaDevice>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM mfa_devices WHERE account_id = ? AND serial_key > ? ORDER BY serial_key"),
            vec![account.into(), after.into()],
        )
        .await?;
    rows.iter().map(device).collect()
}

/// The users with an MFA device (the credential report's `mfa_active`), by key.
pub(crate) async fn users_with_devices(store: &Store, account: &str) -> Result<HashSet<String>, Error> {
    let rows = store
        .query(
            "SELECT DISTINCT user_key FROM mfa_devices WHERE account_id = ? AND user_key IS NOT NULL",
            vec![account.into()],
        )
        .await?;
    Ok(rows.iter().map(|row| row.text(0)).collect::<Result<_, _>>()?)
}

/// What [`enable`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enabled {
    Assigned,
    /// The device is assigned already (to this user or another).
    InUse,
    /// The user holds [`PER_USER`] devices already.
    OverQuota,
}

/// Assigns an unassigned device to the user `(user_key, user_id)` at `at`, its clock `drift`
/// steps off and `step` its last code's step, while the user holds fewer than [`PER_USER`].
pub(crate) async fn enable(
    store: &Store,
    account: &str,
    serial: &str,
    (user_key, user_id): (&str, &str),
    at: i64,
    (step, drift): (i64, i64),
) -> Result<Enabled, Error> {
    let assigned = store
        .transaction(vec![Statement::guard(
            "UPDATE mfa_devices SET user_key = ?, user_id = ?, enabled_at = ?, last_step = ?, drift = ?
             WHERE account_id = ? AND serial_key = ? AND user_key IS NULL
               AND (SELECT COUNT(*) FROM mfa_devices WHERE account_id = ? AND user_key = ?) < ?",
            vec![
                user_key.into(),
                user_id.into(),
                Value::Int(at),
                Value::Int(step),
                Value::Int(drift),
                account.into(),
                serial.to_lowercase().into(),
                account.into(),
                user_key.into(),
                Value::Int(PER_USER),
            ],
        )])
        .await;
    match assigned {
        Ok(_) => Ok(Enabled::Assigned),
        Err(StoreError::Unmet(_)) => {
            let held = find(store, account, serial).await?.is_some_and(|device| device.user_key.is_some());
            Ok(if held { Enabled::InUse } else { Enabled::OverQuota })
        }
        Err(error) => Err(error.into()),
    }
}

/// Accepts a code of the device assigned to `user_key` at `step` (and sets its `drift` when
/// given): `false` when it is not assigned to that user or a code at `step` or later was
/// accepted already.
pub(crate) async fn accept(
    store: &Store,
    account: &str,
    serial: &str,
    user_key: &str,
    step: i64,
    drift: Option<i64>,
) -> Result<bool, Error> {
    let (set_drift, drift) = match drift {
        Some(drift) => (", drift = ?", vec![Value::Int(drift)]),
        None => ("", Vec::new()),
    };
    let params = std::iter::once(Value::Int(step))
        .chain(drift)
        .chain([account.into(), serial.to_lowercase().into(), user_key.into(), Value::Int(step)])
        .collect();
    let accepted = store
        .transaction(vec![Statement::guard(
            format!(
                "UPDATE mfa_devices SET last_step = ?{set_drift}
                 WHERE account_id = ? AND serial_key = ? AND user_key = ? AND last_step < ?"
            ),
            params,
        )])
        .await;
    match accepted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Unassigns the device from `user_key`. `false`: it is not assigned to that user.
pub(crate) async fn deactivate(store: &Store, account: &str, serial: &str, user_key: &str) -> Result<bool, Error> {
    let changed = store
        .execute(
            "UPDATE mfa_devices SET user_key = NULL, user_id = NULL, enabled_at = NULL, drift = 0
             WHERE account_id = ? AND serial_key = ? AND user_key = ?",
            vec![account.into(), serial.to_lowercase().into(), user_key.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Deletes an unassigned device with its tags. `false`: it is assigned (or gone).
pub(crate) async fn delete(store: &Store, account: &str, serial: &str) -> Result<bool, Error> {
    let key = serial.to_lowercase();
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM mfa_devices WHERE account_id = ? AND serial_key = ? AND user_key IS NULL",
                vec![account.into(), key.as_str().into()],
            ),
            tags::delete_all(account, Tagged::MfaDevice, &key),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Checks `code` against the device `serial` assigned to the user `user_key` at `now`,
/// without accepting it: the step it was shown at, or `None` (no such device of that user,
/// or a wrong, stale or used code).
pub(crate) async fn check_code(
    store: &Store,
    sealer: &Sealer,
    account: &str,
    (serial, user_key): (&str, &str),
    code: &str,
    now: i64,
) -> Result<Option<i64>, Error> {
    let Some(device) = find(store, account, serial).await? else { return Ok(None) };
    if device.user_key.as_deref() != Some(user_key) {
        return Ok(None);
    }
    let seed = device.seed(sealer)?;
    let around = totp::step_at(now) + device.drift;
    Ok(totp::matching_step(&seed, code, around, totp::SIGN_IN_WINDOW, device.last_step))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    fn sealer() -> Sealer {
        Sealer::new(&[7u8; 32])
    }

    #[tokio::test]
    async fn a_device_is_assigned_once_used_codes_are_refused_and_it_is_deleted_only_unassigned() {
        let temp = temp_store().await;
        let store = &temp.store;
        let sealer = sealer();
        let serial = serial_number(ACCOUNT, "/", "phone");
        let seed = [5u8; SEED_BYTES];
        let sealed = sealer.seal(&seed, &serial).unwrap();
        assert!(create(store, ACCOUNT, &serial, ("phone", "/"), sealed.clone(), 10, &[]).await.unwrap());
        let other_case = serial_number(ACCOUNT, "/", "PHONE");
        assert!(!create(store, ACCOUNT, &other_case, ("PHONE", "/"), sealed, 10, &[]).await.unwrap());
        assert!(find(store, ACCOUNT, &other_case).await.unwrap().is_none(), "the spelling is the identity");

        let now = 1_000_000 * totp::STEP_SECONDS;
        let step = totp::step_at(now);
        assert_eq!(
            enable(store, ACCOUNT, &serial, ("alice", "AIDA1"), now, (step, 0)).await.unwrap(),
            Enabled::Assigned
        );
        assert_eq!(enable(store, ACCOUNT, &serial, ("bob", "AIDA2"), now, (step, 0)).await.unwrap(), Enabled::InUse);
        assert!(users_with_devices(store, ACCOUNT).await.unwrap().contains("alice"));
        assert!(!delete(store, ACCOUNT, &serial).await.unwrap(), "assigned devices stay");

        let next = totp::code(&seed, step + 1);
        let checked = check_code(store, &sealer, ACCOUNT, (&serial, "alice"), &next, now + 30).await.unwrap();
        assert_eq!(checked, Some(step + 1));
        assert_eq!(check_code(store, &sealer, ACCOUNT, (&serial, "bob"), &next, now + 30).await.unwrap(), None);
        assert!(accept(store, ACCOUNT, &serial, "alice", step + 1, None).await.unwrap());
        assert!(!accept(store, ACCOUNT, &serial, "alice", step + 1, None).await.unwrap(), "once only");
        assert_eq!(check_code(store, &sealer, ACCOUNT, (&serial, "alice"), &next, now + 30).await.unwrap(), None);

        assert!(!deactivate(store, ACCOUNT, &serial, "bob").await.unwrap());
        assert!(deactivate(store, ACCOUNT, &serial, "alice").await.unwrap());
        assert!(!users_with_devices(store, ACCOUNT).await.unwrap().contains("alice"));
        assert!(delete(store, ACCOUNT, &serial).await.unwrap());
        assert!(find(store, ACCOUNT, &serial).await.unwrap().is_none());
    }
}
