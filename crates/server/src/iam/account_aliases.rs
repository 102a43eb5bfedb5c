//! The account's alias and its STS preferences: CreateAccountAlias, DeleteAccountAlias,
//! ListAccountAliases, SetSecurityTokenServicePreferences (the token version they set is
//! what GetAccountSummary reports as `GlobalEndpointTokenVersion`).
//!
//! Guarantees: an account has one alias at most, and a new one replaces it, as on AWS; no two
//! accounts have the same alias.

use aws_model::iam::{CreateAccountAliasRequest, DeleteAccountAliasRequest, SetSecurityTokenServicePreferencesRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::account as model;
use crate::operations::operation;
use crate::operations::{Ctx, Page, account_wide, query};

operation!(iam, CREATE_ACCOUNT_ALIAS, "CreateAccountAlias", Write, account_wide, |ctx| query(create_account_alias(
    ctx
)));
operation!(iam, DELETE_ACCOUNT_ALIAS, "DeleteAccountAlias", Write, account_wide, |ctx| query(delete_account_alias(
    ctx
)));
operation!(iam, LIST_ACCOUNT_ALIASES, "ListAccountAliases", Read, account_wide, |ctx| query(list_account_aliases(ctx)));
operation!(
    iam,
    SET_SECURITY_TOKEN_SERVICE_PREFERENCES,
    "SetSecurityTokenServicePreferences",
    Write,
    account_wide,
    |ctx| query(set_security_token_service_preferences(ctx))
);

async fn create_account_alias(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateAccountAliasRequest { account_alias: alias } = ctx.input();
    if !model::set_alias(&ctx.app.store, ctx.account(), alias).await? {
        return Err(AwsError::new("EntityAlreadyExists", 409, format!("The account alias {alias} already exists.")));
    }
    Ok(ctx.response())
}

async fn delete_account_alias(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteAccountAliasRequest { account_alias: alias } = ctx.input();
    if !model::delete_alias(&ctx.app.store, ctx.account(), alias).await? {
        return Err(AwsError::new("NoSuchEntity", 404, format!("The account alias {alias} cannot be found.")));
    }
    Ok(ctx.response())
}

async fn list_account_aliases(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let aliases: Vec<String> =
        model::alias(&ctx.app.store, ctx.account()).await?.into_iter().filter(|alias| *alias > page.after).collect();
    let (shown, next) = page.cut(&aliases, Clone::clone);
    let mut xml = ctx.response();
    xml.nest("AccountAliases", |xml| {
        for alias in shown {
            xml.element("member", alias);
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

async fn set_security_token_service_preferences(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let SetSecurityTokenServicePreferencesRequest { global_endpoint_token_version } = ctx.input();
    // `v1Token` or `v2Token`: the pipeline has checked the model's enum.
    let version = if global_endpoint_token_version == "v2Token" { 2 } else { 1 };
    model::set_global_endpoint_token_version(&ctx.app.store, ctx.account(), version).await?;
    Ok(ctx.response())
}
