//! ECS's account settings: PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting
//! and ListAccountSettings, per region, with ECS's names, values and defaults.
//!
//! A principal's setting (a user's or role's: a role session's is its role's) overrides the
//! account's default, which is the root user's setting; with neither, ECS's own default
//! applies. The root user, or whoever IAM allows, sets them for another principal through
//! `principalArn` (a user, role or the root user of this account). All four are authorized on
//! `*`, as the Service Authorization Reference scopes them.
//!
//! Each setting is honoured or refused, never stored and ignored: `containerInsights` is the
//! default of each new cluster's `containerInsights` setting; `tagResourceAuthorization`
//! `on` makes a create that sets tags need `ecs:TagResource` too (with `ecs:CreateAction`);
//! Homeport's ARNs are always in the long format, so the three `*LongArnFormat` settings
//! take only `enabled`; its agent never blocks a container on its logs, so
//! `defaultLogDriverMode` takes only `non-blocking`; `guardDutyActivate` is AWS-managed and
//! read-only, as on AWS. The Fargate settings and `awsvpcTrunking` (an EC2 instance's network
//! interfaces) are kept with the values ECS takes: as on AWS, they do nothing to external
//! instances.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::account_setting as model;
use crate::app::App;
use crate::ecs::{self, invalid_parameter};
use crate::operations::{Ctx, account_wide, json as json_op, operation};
use crate::regions::Scope;

operation!(ecs, PUT_ACCOUNT_SETTING, "PutAccountSetting", Write, account_wide, |ctx| json_op(put_account_setting(
    ctx, false
)));
operation!(ecs, PUT_ACCOUNT_SETTING_DEFAULT, "PutAccountSettingDefault", Write, account_wide, |ctx| json_op(
    put_account_setting(ctx, true)
));
operation!(ecs, DELETE_ACCOUNT_SETTING, "DeleteAccountSetting", Write, account_wide, |ctx| json_op(
    delete_account_setting(ctx)
));
operation!(ecs, LIST_ACCOUNT_SETTINGS, "ListAccountSettings", Read, account_wide, |ctx| json_op(
    list_account_settings(ctx)
));

/// One of ECS's settings: its name, the values it takes (as ECS spells them), ECS's default,
/// and the values Homeport refuses (with why).
struct Setting {
    name: &'static str,
    values: &'static [&'static str],
    default: &'static str,
    refused: Option<(&'static [&'static str], &'static str)>,
}

const LONG_ARNS: Option<(&[&str], &str)> =
    Some((&["disabled"], "Homeport names every resource with the long ARN format; it cannot be turned off."));

/// ECS's settings, in ECS's order.
const SETTINGS: &[Setting] = &[
    Setting { name: "serviceLongArnFormat", values: &["enabled", "disabled"], default: "enabled", refused: LONG_ARNS },
    Setting { name: "taskLongArnFormat", values: &["enabled", "disabled"], default: "enabled", refused: LONG_ARNS },
    Setting {
        name: "containerInstanceLongArnFormat",
        values: &["enabled", "disabled"],
        default: "enabled",
        refused: LONG_ARNS,
    },
    Setting { name: "awsvpcTrunking", values: &["enabled", "disabled"], default: "disabled", refused: None },
    Setting {
        name: "containerInsights",
        values: &["enabled", "disabled", "enhanced"],
        default: "disabled",
        refused: None,
    },
    Setting { name: "fargateFIPSMode", values: &["enabled", "disabled"], default: "disabled", refused: None },
    Setting { name: "tagResourceAuthorization", values: &["on", "off"], default: "on", refused: None },
    Setting { name: "fargateTaskRetirementWaitPeriod", values: &["0", "7", "14"], default: "7", refused: None },
    Setting {
        name: "guardDutyActivate",
        values: &["on", "off"],
        default: "off",
        refused: Some((&["on", "off"], "guardDutyActivate is managed by AWS and can not be modified.")),
    },
    Setting {
        name: "defaultLogDriverMode",
        values: &["blocking", "non-blocking"],
        default: "non-blocking",
        refused: Some((&["blocking"], "Homeport's agent never blocks a container on its logs.")),
    },
    Setting { name: "fargateEventWindows", values: &["enabled", "disabled"], default: "disabled", refused: None },
];

/// The setting a request's `name` names, or ECS's refusal.
fn setting(name: &str) -> Result<&'static Setting, AwsError> {
    SETTINGS
        .iter()
        .find(|setting| setting.name == name)
        .ok_or_else(|| invalid_parameter(format!("Invalid account setting name: {name}.")))
}

/// `arn:aws:iam::ACCOUNT:root`: where the account's defaults are kept.
fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// The principal a request is about: its `principalArn` (a user, role or the root user of
/// this account), else the caller (a role session's role).
fn principal(ctx: &Ctx<'_>) -> Result<String, AwsError> {
    let Some(arn) = ctx.body.get("principalArn").and_then(Json::as_str) else {
        return Ok(ctx.identity.principal_arn());
    };
    let prefix = format!("arn:aws:iam::{}:", ctx.account());
    let valid = arn.strip_prefix(&prefix).is_some_and(|resource| {
        resource == "root"
            || ["user/", "role/"].iter().any(|kind| resource.strip_prefix(kind).is_some_and(|name| !name.is_empty()))
    });
    if valid {
        Ok(arn.to_owned())
    } else {
        Err(invalid_parameter(format!(
            "Invalid principal ARN: {arn}. Specify a user, role or the root user of this account."
        )))
    }
}

/// ECS's `Setting` shape.
fn answer(name: &str, value: &str, principal: &str) -> Json {
    let kind = if name == "guardDutyActivate" { "aws_managed" } else { "user" };
    json!({"name": name, "value": value, "principalArn": principal, "type": kind})
}

/// The value of `name` that applies to `principal` in `scope`, and whose it is (the
/// principal's own, else the account default's: the root user's).
async fn effective(app: &App, scope: Scope<'_>, principal: &str, name: &str) -> Result<(String, String), AwsError> {
    let root = root_arn(scope.account);
    for owner in [principal, root.as_str()] {
        if let Some((_, value)) = model::of(&app.store, scope, owner).await?.into_iter().find(|(n, _)| n == name) {
            return Ok((value, owner.to_owned()));
        }
    }
    Ok((setting(name)?.default.to_owned(), root))
}

/// The value of `name` that applies to the caller of `ctx` (what a create reads).
pub(crate) async fn effective_for_caller(ctx: &Ctx<'_>, name: &str) -> Result<String, AwsError> {
    Ok(effective(ctx.app, ctx.scope(), &ctx.identity.principal_arn(), name).await?.0)
}

async fn put_account_setting(ctx: &Ctx<'_>, default: bool) -> Result<Json, AwsError> {
    let setting = setting(ecs::required(ctx.body, "name")?)?;
    let value = ecs::required(ctx.body, "value")?;
    if !setting.values.contains(&value) {
        return Err(invalid_parameter(format!(
            "Invalid value {value} for {}: it takes {}.",
            setting.name,
            setting.values.join(", ")
        )));
    }
    if let Some((refused, why)) = setting.refused
        && refused.contains(&value)
    {
        return Err(invalid_parameter(why));
    }
    let principal = if default { root_arn(ctx.account()) } else { principal(ctx)? };
    if setting.name == "fargateTaskRetirementWaitPeriod" && principal != root_arn(ctx.account()) {
        return Err(invalid_parameter(
            "fargateTaskRetirementWaitPeriod can only be set for the root user, as the account's default.",
        ));
    }
    model::put(&ctx.app.store, ctx.scope(), &principal, setting.name, value).await?;
    Ok(json!({"setting": answer(setting.name, value, &principal)}))
}

async fn delete_account_setting(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let setting = setting(ecs::required(ctx.body, "name")?)?;
    if setting.name == "guardDutyActivate" {
        return Err(invalid_parameter("guardDutyActivate is managed by AWS and can not be modified."));
    }
    let principal = principal(ctx)?;
    let stored = model::of(&ctx.app.store, ctx.scope(), &principal).await?;
    let value = stored.into_iter().find(|(name, _)| name == setting.name).map(|(_, value)| value);
    model::delete(&ctx.app.store, ctx.scope(), &principal, setting.name).await?;
    let value = value.unwrap_or_else(|| setting.default.to_owned());
    Ok(json!({"setting": answer(setting.name, &value, &principal)}))
}

async fn list_account_settings(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = ctx.body.get("name").and_then(Json::as_str);
    let value = ctx.body.get("value").and_then(Json::as_str);
    if value.is_some() && name.is_none() {
        return Err(invalid_parameter("value can only be specified with name."));
    }
    if let Some(name) = name {
        setting(name)?;
    }
    let page = ecs::Page::from_body(ctx.body, 10, 10)?;
    let principal = principal(ctx)?;
    let effective_settings = ctx.body.get("effectiveSettings").and_then(Json::as_bool).unwrap_or(false);
    let mut settings = Vec::new();
    if effective_settings {
        for known in SETTINGS.iter().filter(|known| name.is_none_or(|name| name == known.name)) {
            let (current, owner) = effective(ctx.app, ctx.scope(), &principal, known.name).await?;
            settings.push(answer(known.name, &current, &owner));
        }
    } else {
        for (stored, current) in model::of(&ctx.app.store, ctx.scope(), &principal).await? {
            if name.is_none_or(|name| name == stored) {
                settings.push(answer(&stored, &current, &principal));
            }
        }
    }
    settings.retain(|setting| value.is_none_or(|value| setting.get("value").and_then(Json::as_str) == Some(value)));
    Ok(page.answer("settings", settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_ecs_names_is_known_with_a_default_it_takes() {
        let names: Vec<&str> = SETTINGS.iter().map(|setting| setting.name).collect();
        assert_eq!(names.len(), 11);
        for setting in SETTINGS {
            assert!(setting.values.contains(&setting.default), "{}", setting.name);
            if let Some((refused, _)) = setting.refused {
                assert!(refused.iter().all(|value| setting.values.contains(value)), "{}", setting.name);
            }
        }
    }
}
