//! The credential report: GenerateCredentialReport, GetCredentialReport. A report is made
//! whole when generation starts (so the first answer is `STARTED` and the report is ready at
//! once) and kept for the account; one younger than [`FRESH_FOR`] is answered again
//! (`COMPLETE`), an older one is expired.
//!
//! The CSV has AWS's columns in AWS's order; times are ISO 8601 with `+00:00`; what does not
//! apply is `N/A`, what Homeport cannot know (console sign-ins) `no_information`.

use std::collections::HashSet;

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::model::access_keys::{self, KeyStatus, ReportedKey};
use super::model::credential_reports::{self as model, CredentialReport};
use super::model::entities::{self, Entity, Kind, Window};
use super::model::login_profiles::{self, LoginProfile};
use super::model::signing_certificates::{self, SigningCertificate};
use super::model::{account, mfa_devices, passwords::PasswordPolicy};
use super::password_policy::bool_text as flag;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, query};

/// How long a report is answered before it is expired (AWS: four hours).
pub(crate) const FRESH_FOR: i64 = 4 * 3600;

/// AWS's columns, in order.
const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,\
password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,\
access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,\
cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A report time: `2014-08-14T22:42:49+00:00`.
fn time(seconds: i64) -> String {
    let text = ids::iso8601(seconds);
    match text.strip_suffix('Z') {
        Some(bare) => format!("{bare}+00:00"),
        None => text,
    }
}

/// What one owner holds, as the report's columns after `password_*` and `mfa_active`.
fn key_and_certificate_columns(keys: &[&ReportedKey], certificates: &[&SigningCertificate]) -> Vec<String> {
    let mut columns = Vec::new();
    for slot in 0..2 {
        match keys.get(slot) {
            Some(reported) => {
                let used = &reported.used;
                columns.push(flag(reported.key.status == KeyStatus::Active).to_owned());
                columns.push(time(reported.key.created_at));
                columns.push(used.used_at.map_or_else(|| "N/A".to_owned(), time));
                columns.push(used.region.clone().unwrap_or_else(|| "N/A".to_owned()));
                columns.push(used.service.clone().unwrap_or_else(|| "N/A".to_owned()));
            }
            None => columns.extend(["false", "N/A", "N/A", "N/A", "N/A"].map(str::to_owned)),
        }
    }
    for slot in 0..2 {
        match certificates.get(slot) {
            Some(certificate) => {
                columns.push(flag(certificate.status == KeyStatus::Active).to_owned());
                columns.push(time(certificate.uploaded_at));
            }
            None => columns.extend(["false", "N/A"].map(str::to_owned)),
        }
    }
    columns
}

/// Everything the report is made of, as read from the store.
pub(crate) struct Inputs {
    pub account: String,
    pub account_created: i64,
    pub users: Vec<Entity>,
    pub profiles: Vec<(String, LoginProfile)>,
    pub keys: Vec<ReportedKey>,
    pub certificates: Vec<SigningCertificate>,
    pub policy: Option<PasswordPolicy>,
    /// The users with an MFA device, by key (root's own MFA is not supported).
    pub mfa_users: HashSet<String>,
}

/// The report's CSV (pure).
pub(crate) fn render(inputs: &Inputs) -> String {
    let Inputs { account, account_created, users, profiles, keys, certificates, policy, mfa_users } = inputs;
    let held = |user_key: Option<&str>| -> Vec<String> {
        let keys: Vec<&ReportedKey> = keys.iter().filter(|key| key.user_key.as_deref() == user_key).collect();
        let certificates: Vec<&SigningCertificate> =
            certificates.iter().filter(|certificate| certificate.user_key.as_deref() == user_key).collect();
        key_and_certificate_columns(&keys, &certificates)
    };
    let mut lines = vec![HEADER.to_owned()];
    let mut root = vec![
        "<root_account>".to_owned(),
        format!("arn:aws:iam::{account}:root"),
        time(*account_created),
        "not_supported".to_owned(),
        "N/A".to_owned(),
        "not_supported".to_owned(),
        "not_supported".to_owned(),
        flag(false).to_owned(),
    ];
    root.extend(held(None));
    lines.push(root.join(","));
    for user in users {
        let key = user.key();
        let profile = profiles.iter().find(|(owner, _)| *owner == key).map(|(_, profile)| profile);
        let mut row = vec![user.name.clone(), user.arn(account), time(user.created_at)];
        match profile {
            Some(profile) => {
                row.push("true".to_owned());
                // Homeport has no console: a password is never used to sign in.
                row.push("no_information".to_owned());
                row.push(time(profile.changed_at));
                row.push(match policy.as_ref().and_then(|policy| policy.max_age) {
                    Some(days) => time(profile.changed_at.saturating_add(i64::from(days) * 86_400)),
                    None => "N/A".to_owned(),
                });
            }
            None => row.extend(["false", "N/A", "N/A", "N/A"].map(str::to_owned)),
        }
        row.push(flag(mfa_users.contains(&key)).to_owned());
        row.extend(held(Some(key.as_str())));
        lines.push(row.join(","));
    }
    lines.join("\n")
}

async fn generate(ctx: &Ctx<'_>) -> Result<CredentialReport, AwsError> {
    let store = &ctx.app.store;
    let account_id = ctx.account();
    let everyone = Window { prefix: "/", after: "", limit: usize::try_from(i64::MAX).unwrap_or(usize::MAX) };
    let inputs = Inputs {
        account: account_id.to_owned(),
        account_created: account::created_at(store, account_id).await?.unwrap_or(0),
        users: entities::page(store, account_id, Kind::User, everyone).await?,
        profiles: login_profiles::of_account(store, account_id).await?,
        keys: access_keys::for_report(store, account_id).await?,
        certificates: signing_certificates::of_account(store, account_id).await?,
        policy: login_profiles::policy(store, account_id).await?,
        mfa_users: mfa_devices::users_with_devices(store, account_id).await?,
    };
    Ok(CredentialReport { generated_at: ids::now(), content: render(&inputs) })
}

operation!(iam, GENERATE_CREDENTIAL_REPORT, "GenerateCredentialReport", Write, account_wide, |ctx| query(
    generate_credential_report(ctx)
));

async fn generate_credential_report(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let store = &ctx.app.store;
    let latest = model::latest(store, ctx.account()).await?;
    let mut xml = ctx.response();
    if latest.is_some_and(|report| ids::now() - report.generated_at < FRESH_FOR) {
        xml.element("State", "COMPLETE");
        return Ok(xml);
    }
    // Last use is recorded by the audit importer: let it catch up first.
    ctx.app.audit.sync().await.map_err(crate::operations::internal)?;
    let report = generate(ctx).await?;
    model::save(store, ctx.account(), &report).await?;
    xml.element("State", "STARTED").element("Description", "No report exists. Starting a new report generation task");
    Ok(xml)
}

operation!(iam, GET_CREDENTIAL_REPORT, "GetCredentialReport", Read, account_wide, |ctx| query(get_credential_report(
    ctx
)));

async fn get_credential_report(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let report = model::latest(&ctx.app.store, ctx.account()).await?.ok_or_else(|| {
        AwsError::new(
            "ReportNotPresent",
            410,
            "The credential report does not exist. To generate a credential report, use GenerateCredentialReport.",
        )
    })?;
    if ids::now() - report.generated_at >= FRESH_FOR {
        return Err(AwsError::new(
            "ReportExpired",
            410,
            "The most recent credential report has expired. To generate a new credential report, use GenerateCredentialReport.",
        ));
    }
    let mut xml = ctx.response();
    xml.element("Content", &STANDARD.encode(&report.content))
        .element("ReportFormat", "text/csv")
        .element("GeneratedTime", &ids::iso8601(report.generated_at));
    Ok(xml)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn mfa_active_says_which_users_have_a_device() {
        let user = |name: &str| Entity {
            kind: Kind::User,
            name: name.to_owned(),
            id: format!("AIDA{name}"),
            path: "/".to_owned(),
            created_at: 0,
        };
        let inputs = Inputs {
            account: "123456789012".to_owned(),
            account_created: 0,
            users: vec![user("alice"), user("bob")],
            profiles: Vec::new(),
            keys: Vec::new(),
            certificates: Vec::new(),
            policy: None,
            mfa_users: HashSet::from(["alice".to_owned()]),
        };
        let mfa: Vec<String> =
            render(&inputs).lines().skip(1).map(|line| line.split(',').nth(7).unwrap_or_default().to_owned()).collect();
        assert_eq!(mfa, ["false", "true", "false"], "root, alice, bob");
    }
}
