//! ECS's account settings as stored (`ecs_account_settings`): per account and region, a
//! principal's own values and the account's defaults (kept as the root user's, which is what
//! ECS calls the default: PutAccountSettingDefault and the root user's PutAccountSetting
//! write the same row).
//!
//! Guarantees: one value per principal, setting and region (a put replaces it in one
//! transaction); reads never cross accounts or regions.

use aws_protocol::AwsError;
use store::{Statement, Store};

use crate::operations::internal;
use crate::regions::Scope;

/// The values stored for `principal` in `scope`, as `(name, value)` sorted by name.
pub(crate) async fn of(store: &Store, scope: Scope<'_>, principal: &str) -> Result<Vec<(String, String)>, AwsError> {
    let rows = store
        .query(
            "SELECT name, value FROM ecs_account_settings WHERE account_id = ? AND region = ? AND principal_arn = ?
             ORDER BY name",
            vec![scope.account.into(), scope.region.into(), principal.into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?))).collect()
}

/// Sets `principal`'s value of `name` in `scope`.
pub(crate) async fn put(
    store: &Store,
    scope: Scope<'_>,
    principal: &str,
    name: &str,
    value: &str,
) -> Result<(), AwsError> {
    let key = || vec![scope.account.into(), scope.region.into(), principal.into(), name.into()];
    let mut insert = key();
    insert.push(value.into());
    store
        .transaction(vec![
            Statement::new(
                "DELETE FROM ecs_account_settings WHERE account_id = ? AND region = ? AND principal_arn = ? AND name = ?",
                key(),
            ),
            Statement::new(
                "INSERT INTO ecs_account_settings (account_id, region, principal_arn, name, value) VALUES (?, ?, ?, ?, ?)",
                insert,
            ),
        ])
        .await
        .map_err(internal)?;
    Ok(())
}

/// Removes `principal`'s value of `name` in `scope`; whether there was one.
pub(crate) async fn delete(store: &Store, scope: Scope<'_>, principal: &str, name: &str) -> Result<bool, AwsError> {
    let removed = store
        .execute(
            "DELETE FROM ecs_account_settings WHERE account_id = ? AND region = ? AND principal_arn = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), principal.into(), name.into()],
        )
        .await
        .map_err(internal)?;
    Ok(removed > 0)
}
