//! The account password policy: GetAccountPasswordPolicy, UpdateAccountPasswordPolicy (no
//! partial updates: an omitted member takes AWS's default), DeleteAccountPasswordPolicy. The
//! policy is enforced where passwords are set ([`super::login_profiles`]).

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::login_profiles as model;
use super::model::passwords::PasswordPolicy;
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, query, validation};

fn no_policy(account: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The Password Policy with domain name {account} cannot be found."))
}

operation!(iam, GET_ACCOUNT_PASSWORD_POLICY, "GetAccountPasswordPolicy", Read, account_wide, |ctx| query(
    get_account_password_policy(ctx)
));

/// IAM's XML for a boolean.
pub(crate) fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

async fn get_account_password_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = model::policy(&ctx.app.store, ctx.account()).await?.ok_or_else(|| no_policy(ctx.account()))?;
    let mut xml = ctx.response();
    xml.nest("PasswordPolicy", |xml| {
        xml.element("MinimumPasswordLength", &policy.minimum_length.to_string())
            .element("RequireSymbols", bool_text(policy.require_symbols))
            .element("RequireNumbers", bool_text(policy.require_numbers))
            .element("RequireUppercaseCharacters", bool_text(policy.require_uppercase))
            .element("RequireLowercaseCharacters", bool_text(policy.require_lowercase))
            .element("AllowUsersToChangePassword", bool_text(policy.allow_users_to_change))
            .element("ExpirePasswords", bool_text(policy.max_age.is_some()));
        if let Some(days) = policy.max_age {
            xml.element("MaxPasswordAge", &days.to_string());
        }
        if let Some(count) = policy.reuse_prevention {
            xml.element("PasswordReusePrevention", &count.to_string());
        }
        xml.element("HardExpiry", bool_text(policy.hard_expiry));
    });
    Ok(xml)
}

/// A boolean parameter (`true` / `false`, as botocore sends them), if given. Read as sent: the
/// model's validator does not refuse another value, and a typed input would drop it.
pub(crate) fn flag(ctx: &Ctx<'_>, name: &str) -> Result<Option<bool>, AwsError> {
    match ctx.params.get(name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(validation(format!("Invalid value '{other}' for {name}: must be true or false"))),
    }
}

/// An integer parameter, if given.
fn number(ctx: &Ctx<'_>, name: &str) -> Result<Option<u32>, AwsError> {
    ctx.params
        .get(name)
        .map(|text| text.parse::<u32>().map_err(|_| validation(format!("Invalid value '{text}' for {name}"))))
        .transpose()
}

operation!(iam, UPDATE_ACCOUNT_PASSWORD_POLICY, "UpdateAccountPasswordPolicy", Write, account_wide, |ctx| query(
    update_account_password_policy(ctx)
));

async fn update_account_password_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let defaults = PasswordPolicy::default();
    let policy = PasswordPolicy {
        minimum_length: number(ctx, "MinimumPasswordLength")?.unwrap_or(defaults.minimum_length),
        require_symbols: flag(ctx, "RequireSymbols")?.unwrap_or(false),
        require_numbers: flag(ctx, "RequireNumbers")?.unwrap_or(false),
        require_uppercase: flag(ctx, "RequireUppercaseCharacters")?.unwrap_or(false),
        require_lowercase: flag(ctx, "RequireLowercaseCharacters")?.unwrap_or(false),
        allow_users_to_change: flag(ctx, "AllowUsersToChangePassword")?.unwrap_or(false),
        max_age: number(ctx, "MaxPasswordAge")?,
        reuse_prevention: number(ctx, "PasswordReusePrevention")?,
        hard_expiry: flag(ctx, "HardExpiry")?.unwrap_or(false),
    };
    model::set_policy(&ctx.app.store, ctx.account(), &policy).await?;
    Ok(ctx.response())
}

operation!(iam, DELETE_ACCOUNT_PASSWORD_POLICY, "DeleteAccountPasswordPolicy", Write, account_wide, |ctx| query(
    delete_account_password_policy(ctx)
));

async fn delete_account_password_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    if !model::delete_policy(&ctx.app.store, ctx.account()).await? {
        return Err(no_policy(ctx.account()));
    }
    Ok(ctx.response())
}
