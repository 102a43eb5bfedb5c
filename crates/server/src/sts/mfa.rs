//! The MFA code GetSessionToken and AssumeRole may carry (`SerialNumber` and `TokenCode`):
//! checked against the calling user's virtual MFA device and accepted once, so the session it
//! makes carries `aws:MultiFactorAuthPresent` and `aws:MultiFactorAuthAge` from now on.

use aws_protocol::AwsError;

use crate::auth::Principal;
use crate::iam::model::mfa_devices;
use crate::ids;
use crate::operations::Ctx;

/// AWS's answer when the device is not the caller's (or there is none, or no code).
fn unable_to_validate() -> AwsError {
    AwsError::new("AccessDenied", 403, "MultiFactorAuthentication failed, unable to validate MFA code.")
}

/// AWS's answer to a wrong, stale or already used code.
fn invalid_code() -> AwsError {
    AwsError::new("AccessDenied", 403, "MultiFactorAuthentication failed with invalid MFA one time pass code.")
}

/// When the request proved its MFA code (now), or `None` when it carries none: `serial` and
/// `code` are its typed input's `SerialNumber` and `TokenCode`. The code is accepted here: a
/// second request with it is refused.
pub(crate) async fn authenticate(
    ctx: &Ctx<'_>,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<Option<i64>, AwsError> {
    let (serial, code) = match (serial, code) {
        (None, None) => return Ok(None),
        (Some(serial), Some(code)) => (serial, code),
        _ => return Err(unable_to_validate()),
    };
    let Principal::User { name, .. } = &ctx.identity.principal else { return Err(unable_to_validate()) };
    let user_key = name.to_lowercase();
    let store = &ctx.app.store;
    let device = mfa_devices::find(store, ctx.account(), serial).await?;
    if device.as_ref().and_then(|device| device.user_key.as_deref()) != Some(user_key.as_str()) {
        return Err(unable_to_validate());
    }
    let now = ids::now();
    let step = mfa_devices::check_code(store, &ctx.app.sealer, ctx.account(), (serial, &user_key), code, now)
        .await?
        .ok_or_else(invalid_code)?;
    if !mfa_devices::accept(store, ctx.account(), serial, &user_key, step, None).await? {
        return Err(invalid_code());
    }
    Ok(Some(now))
}
