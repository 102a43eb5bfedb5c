//! Console passwords: CreateLoginProfile, GetLoginProfile, UpdateLoginProfile,
//! DeleteLoginProfile, and ChangePassword (a user's own). Homeport has no console: a password
//! authenticates nothing here, but is kept, checked and reported as IAM keeps it.
//!
//! Guarantees: a password is checked against the account's policy (or AWS's default one)
//! before it is stored, stored only as its PBKDF2 hash (computed off the request's thread),
//! never answered, logged or audited; ChangePassword needs the old password and acts only on
//! the calling user.

use aws_model::iam::{ChangePasswordRequest, CreateLoginProfileRequest, UpdateLoginProfileRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::access_keys::user_subject;
use super::errors::concurrent_modification;
use super::model::login_profiles::{self as model, LoginProfile};
use super::model::passwords::{self, PasswordPolicy};
use super::password_policy::{bool_text, flag};
use super::users::user_resource;
use crate::auth::Principal;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, missing, query};

pub(crate) fn no_such_profile(user: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("Login Profile for User {user} cannot be found."))
}

fn policy_violation() -> AwsError {
    AwsError::new("PasswordPolicyViolation", 400, "Password does not conform to the account password policy.")
}

/// Refuses `password` unless it meets the account's policy (or AWS's default) and, when the
/// policy forbids reuse, differs from the user's last passwords (`profile`'s).
async fn check_password(
    ctx: &Ctx<'_>,
    password: &str,
    user: &str,
    profile: Option<&LoginProfile>,
) -> Result<(), AwsError> {
    let policy: Option<PasswordPolicy> = model::policy(&ctx.app.store, ctx.account()).await?;
    if !passwords::conforms(policy.as_ref(), password, user) {
        return Err(policy_violation());
    }
    let reuse = policy.and_then(|policy| policy.reuse_prevention).unwrap_or(0);
    if let (Some(profile), true) = (profile, reuse > 0) {
        let recent: Vec<String> = std::iter::once(profile.password_hash.clone())
            .chain(profile.history.iter().cloned())
            .take(usize::try_from(reuse).unwrap_or(usize::MAX))
            .collect();
        if passwords::verify_blocking(recent, password.to_owned()).await.map_err(internal)? {
            return Err(policy_violation());
        }
    }
    Ok(())
}

fn write_profile(xml: &mut XmlResponse, user: &str, profile_created: i64, reset_required: bool) {
    xml.nest("LoginProfile", |xml| {
        xml.element("UserName", user)
            .element("CreateDate", &ids::iso8601(profile_created))
            .element("PasswordResetRequired", bool_text(reset_required));
    });
}

operation!(iam, CREATE_LOGIN_PROFILE, "CreateLoginProfile", Write, |ctx| Box::pin(user_resource(ctx, true)), |ctx| {
    query(create_login_profile(ctx))
});

async fn create_login_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    // The model makes `Password` optional (for a console login without one, which Homeport
    // does not offer); it is needed here.
    let CreateLoginProfileRequest { password, .. } = ctx.input();
    let password = password.ok_or_else(|| missing("Password"))?;
    let reset_required = flag(ctx, "PasswordResetRequired")?.unwrap_or(false);
    let user = user_subject(ctx).await?;
    let key = user.to_lowercase();
    if model::find(&ctx.app.store, ctx.account(), &key).await?.is_some() {
        return Err(already_exists(&user));
    }
    check_password(ctx, password, &user, None).await?;
    let hash = passwords::hash_blocking(password.to_owned()).await.map_err(internal)?;
    let now = ids::now();
    if !model::create(&ctx.app.store, ctx.account(), &key, &hash, reset_required, now).await? {
        return Err(already_exists(&user));
    }
    let mut xml = ctx.response();
    write_profile(&mut xml, &user, now, reset_required);
    Ok(xml)
}

fn already_exists(user: &str) -> AwsError {
    AwsError::new("EntityAlreadyExists", 409, format!("Login Profile for user {user} already exists."))
}

operation!(iam, GET_LOGIN_PROFILE, "GetLoginProfile", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    get_login_profile(ctx)
));

async fn get_login_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = user_subject(ctx).await?;
    let profile = model::find(&ctx.app.store, ctx.account(), &user.to_lowercase())
        .await?
        .ok_or_else(|| no_such_profile(&user))?;
    let mut xml = ctx.response();
    write_profile(&mut xml, &user, profile.created_at, profile.reset_required);
    Ok(xml)
}

operation!(iam, UPDATE_LOGIN_PROFILE, "UpdateLoginProfile", Write, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(update_login_profile(ctx))
});

async fn update_login_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateLoginProfileRequest { password, .. } = ctx.input();
    let reset_required = flag(ctx, "PasswordResetRequired")?;
    let user = user_subject(ctx).await?;
    set_password(ctx, &user, password, reset_required).await?;
    Ok(ctx.response())
}

/// Checks and stores a user's new password (and/or its reset flag) over the profile it has.
async fn set_password(
    ctx: &Ctx<'_>,
    user: &str,
    password: Option<&str>,
    reset_required: Option<bool>,
) -> Result<(), AwsError> {
    let key = user.to_lowercase();
    let store = &ctx.app.store;
    let profile = model::find(store, ctx.account(), &key).await?.ok_or_else(|| no_such_profile(user))?;
    let hash = match password {
        Some(password) => {
            check_password(ctx, password, user, Some(&profile)).await?;
            Some(passwords::hash_blocking(password.to_owned()).await.map_err(internal)?)
        }
        None => None,
    };
    if !model::update(store, ctx.account(), &key, &profile, hash.as_deref(), reset_required, ids::now()).await? {
        return Err(match model::find(store, ctx.account(), &key).await? {
            None => no_such_profile(user),
            Some(_) => concurrent_modification(),
        });
    }
    Ok(())
}

operation!(iam, DELETE_LOGIN_PROFILE, "DeleteLoginProfile", Write, |ctx| Box::pin(user_resource(ctx, true)), |ctx| {
    query(delete_login_profile(ctx))
});

async fn delete_login_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = user_subject(ctx).await?;
    if !model::delete(&ctx.app.store, ctx.account(), &user.to_lowercase()).await? {
        return Err(no_such_profile(&user));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    CHANGE_PASSWORD,
    "ChangePassword",
    Write,
    // The caller's own user: `iam:ChangePassword` on itself.
    |ctx| Box::pin(async move { Ok(vec![ctx.identity.arn()]) }),
    |ctx| query(change_password(ctx))
);

async fn change_password(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ChangePasswordRequest { old_password: old, new_password: new } = ctx.input();
    let Principal::User { name, .. } = &ctx.identity.principal else {
        return Err(AwsError::new("InvalidUserType", 400, "Only IAM users can change their own password."));
    };
    let profile =
        model::find(&ctx.app.store, ctx.account(), &name.to_lowercase()).await?.ok_or_else(|| no_such_profile(name))?;
    if !passwords::verify_blocking(vec![profile.password_hash], old.to_owned()).await.map_err(internal)? {
        return Err(AwsError::new("AccessDenied", 403, "The old password is incorrect."));
    }
    // A changed password is the user's own: no reset is pending any more.
    set_password(ctx, name, Some(new), Some(false)).await?;
    Ok(ctx.response())
}
