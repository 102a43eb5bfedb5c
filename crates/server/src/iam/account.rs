//! The account as a whole: GetAccountSummary (entity counts and IAM's quotas) and
//! GetAccountAuthorizationDetails (every user, group, role and managed policy in use, with
//! their policies, in one answer).

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;

use super::boundaries;
use super::entities::{self, Entity, Kind};
use super::instance_profiles::{profiles_of, write_profile_fields};
use super::policies::{ManagedPolicy, Usage, find_policy, usage, write_policy};
use super::roles::find_role;
use super::tags::{self, Tagged};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

operation!(
    iam,
    GET_ACCOUNT_SUMMARY,
    "GetAccountSummary",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| { query(get_account_summary(ctx)) }
);

/// IAM's default quotas, as GetAccountSummary reports them.
const QUOTAS: &[(&str, i64)] = &[
    ("UsersQuota", 5_000),
    ("GroupsQuota", 300),
    ("RolesQuota", 1_000),
    ("PoliciesQuota", 1_500),
    ("InstanceProfilesQuota", 1_000),
    ("AccessKeysPerUserQuota", 2),
    ("AttachedPoliciesPerUserQuota", 10),
    ("AttachedPoliciesPerGroupQuota", 10),
    ("AttachedPoliciesPerRoleQuota", 10),
    ("GroupsPerUserQuota", 10),
    ("PolicySizeQuota", 6_144),
    ("UserPolicySizeQuota", 2_048),
    ("GroupPolicySizeQuota", 5_120),
    ("RolePolicySizeQuota", 10_240),
    ("AssumeRolePolicySizeQuota", 2_048),
    ("VersionsPerPolicyQuota", 5),
    ("PolicyVersionsInUseQuota", 10_000),
    ("ServerCertificatesQuota", 20),
    ("SigningCertificatesPerUserQuota", 2),
    ("MFADevices", 0),
    ("MFADevicesInUse", 0),
    ("AccountMFAEnabled", 0),
    ("AccountSigningCertificatesPresent", 0),
    ("ServerCertificates", 0),
    ("Providers", 0),
    ("GlobalEndpointTokenVersion", 1),
];

async fn get_account_summary(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let account = ctx.account();
    let rows = ctx
        .app
        .store
        .query(
            "SELECT (SELECT COUNT(*) FROM users WHERE account_id = ?),
                    (SELECT COUNT(*) FROM iam_groups WHERE account_id = ?),
                    (SELECT COUNT(*) FROM roles WHERE account_id = ?),
                    (SELECT COUNT(*) FROM managed_policies WHERE account_id = ?),
                    (SELECT COUNT(*) FROM instance_profiles WHERE account_id = ?),
                    (SELECT COUNT(*) FROM policy_versions v JOIN managed_policies p ON p.arn = v.policy_arn WHERE p.account_id = ?),
                    (SELECT COUNT(*) FROM access_keys WHERE account_id = ? AND user_name_key IS NULL)",
            vec![account.into(); 7],
        )
        .await
        .map_err(internal)?;
    let row = rows.first().ok_or_else(|| internal("no summary row"))?;
    let count = |index| row.int(index).map_err(internal);
    let counts = [
        ("Users", count(0)?),
        ("Groups", count(1)?),
        ("Roles", count(2)?),
        ("Policies", count(3)?),
        ("InstanceProfiles", count(4)?),
        ("PolicyVersionsInUse", count(5)?),
        ("AccountAccessKeysPresent", count(6)?.min(1)),
    ];
    let mut entries: Vec<(&str, i64)> = counts.into_iter().chain(QUOTAS.iter().copied()).collect();
    entries.sort_unstable();
    let mut xml = ctx.response();
    xml.nest("SummaryMap", |xml| {
        for (key, value) in &entries {
            xml.nest("entry", |xml| {
                xml.element("key", key).element("value", &value.to_string());
            });
        }
    });
    Ok(xml)
}

operation!(
    iam,
    GET_ACCOUNT_AUTHORIZATION_DETAILS,
    "GetAccountAuthorizationDetails",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_account_authorization_details(ctx))
);

/// An entity's inline policies (`(name, document)`) and attached managed policy ARNs.
async fn policies_of(ctx: &Ctx<'_>, kind: Kind, key: &str) -> Result<(Vec<(String, String)>, Vec<String>), AwsError> {
    let owner = vec![ctx.account().into(), kind.noun().into(), key.into()];
    let store = &ctx.app.store;
    let inline = store
        .query(
            "SELECT policy_name, document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? ORDER BY policy_name",
            owner.clone(),
        )
        .await
        .map_err(internal)?;
    let attached = store
        .query(
            "SELECT policy_arn FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? ORDER BY policy_arn",
            owner,
        )
        .await
        .map_err(internal)?;
    let inline = inline
        .iter()
        .map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?)))
        .collect::<Result<_, AwsError>>()?;
    let attached = attached.iter().map(|row| row.text(0).map_err(internal)).collect::<Result<_, _>>()?;
    Ok((inline, attached))
}

fn write_inline(xml: &mut XmlResponse, element: &str, policies: &[(String, String)]) {
    xml.nest(element, |xml| {
        for (name, document) in policies {
            xml.nest("member", |xml| {
                xml.element("PolicyName", name).element("PolicyDocument", &uri_encode(document, false));
            });
        }
    });
}

fn write_attached(xml: &mut XmlResponse, arns: &[String]) {
    xml.nest("AttachedManagedPolicies", |xml| {
        for arn in arns {
            xml.nest("member", |xml| {
                xml.element("PolicyName", arn.rsplit('/').next().unwrap_or(arn)).element("PolicyArn", arn);
            });
        }
    });
}

async fn entities(ctx: &Ctx<'_>, kind: Kind) -> Result<Vec<Entity>, AwsError> {
    let rows = ctx
        .app
        .store
        .query(
            &format!(
                "SELECT {} FROM {} WHERE account_id = ? ORDER BY name_key",
                Entity::columns(kind, ""),
                kind.table()
            ),
            vec![ctx.account().into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| Entity::from_row(kind, row)).collect()
}

/// A policy version: its id, its document and when it was made.
type Version = (String, String, i64);

async fn get_account_authorization_details(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let filters = ctx.params.strings("Filter");
    let wanted = |filter: &str| filters.is_empty() || filters.iter().any(|f| f == filter);
    let account = ctx.account();
    let store = &ctx.app.store;
    let mut xml = ctx.response();
    let mut used_policies: Vec<String> = Vec::new();

    let mut users = Vec::new();
    if wanted("User") {
        for user in entities(ctx, Kind::User).await? {
            let key = user.name.to_lowercase();
            let (inline, attached) = policies_of(ctx, Kind::User, &key).await?;
            let groups = store
                .query(
                    "SELECT g.name FROM group_members m JOIN iam_groups g ON g.account_id = m.account_id AND g.name_key = m.group_key
                     WHERE m.account_id = ? AND m.user_key = ? ORDER BY g.name_key",
                    vec![account.into(), key.as_str().into()],
                )
                .await
                .map_err(internal)?
                .iter()
                .map(|row| row.text(0).map_err(internal))
                .collect::<Result<Vec<_>, _>>()?;
            let boundary = entities::boundary_of(store, account, Kind::User, &key).await?;
            let tags = tags::load(store, account, Tagged::Entity(Kind::User), &key).await?;
            users.push((user, inline, attached, groups, boundary, tags));
        }
    }
    xml.nest("UserDetailList", |xml| {
        for (user, inline, attached, groups, boundary, tags) in &users {
            xml.nest("member", |xml| {
                user.write(xml, account);
                write_inline(xml, "UserPolicyList", inline);
                xml.nest("GroupList", |xml| {
                    for group in groups {
                        xml.element("member", group);
                    }
                });
                write_attached(xml, attached);
                boundaries::write(xml, boundary.as_deref());
                tags::write(xml, tags);
            });
        }
    });

    let mut groups = Vec::new();
    if wanted("Group") {
        for group in entities(ctx, Kind::Group).await? {
            let (inline, attached) = policies_of(ctx, Kind::Group, &group.name.to_lowercase()).await?;
            groups.push((group, inline, attached));
        }
    }
    xml.nest("GroupDetailList", |xml| {
        for (group, inline, attached) in &groups {
            xml.nest("member", |xml| {
                group.write(xml, account);
                write_inline(xml, "GroupPolicyList", inline);
                write_attached(xml, attached);
            });
        }
    });

    let mut roles = Vec::new();
    if wanted("Role") {
        for entity in entities(ctx, Kind::Role).await? {
            let key = entity.name.to_lowercase();
            let Some(role) = find_role(store, account, &key).await? else { continue };
            let (inline, attached) = policies_of(ctx, Kind::Role, &key).await?;
            let boundary = entities::boundary_of(store, account, Kind::Role, &key).await?;
            let tags = tags::load(store, account, Tagged::Entity(Kind::Role), &key).await?;
            let profiles = profiles_of(ctx, &role).await?;
            roles.push((role, profiles, inline, attached, boundary, tags));
        }
    }
    xml.nest("RoleDetailList", |xml| {
        for (role, profiles, inline, attached, boundary, tags) in &roles {
            xml.nest("member", |xml| {
                // RoleDetail has no Description or MaxSessionDuration, unlike Role.
                role.entity.write(xml, account);
                xml.element("AssumeRolePolicyDocument", &uri_encode(&role.trust_policy, false));
                xml.nest("InstanceProfileList", |xml| {
                    for profile in profiles {
                        xml.nest("member", |xml| write_profile_fields(xml, account, profile, Some(role)));
                    }
                });
                write_inline(xml, "RolePolicyList", inline);
                write_attached(xml, attached);
                boundaries::write(xml, boundary.as_deref());
                tags::write(xml, tags);
            });
        }
    });

    // Managed policies: the account's own, and AWS's that something here uses.
    let (local, aws) = (wanted("LocalManagedPolicy"), wanted("AWSManagedPolicy"));
    if local || aws {
        let rows = store
            .query(
                "SELECT arn FROM managed_policies WHERE account_id = ?
                 UNION SELECT policy_arn FROM policy_attachments WHERE account_id = ?
                 UNION SELECT policy_arn FROM permissions_boundaries WHERE account_id = ?",
                vec![account.into(), account.into(), account.into()],
            )
            .await
            .map_err(internal)?;
        for row in &rows {
            used_policies.push(row.text(0).map_err(internal)?);
        }
        used_policies.sort_unstable();
    }
    let mut policies: Vec<(ManagedPolicy, Usage, Vec<Version>)> = Vec::new();
    for arn in &used_policies {
        let Some(policy) = find_policy(ctx, arn).await? else { continue };
        if (policy.aws_managed && !aws) || (!policy.aws_managed && !local) {
            continue;
        }
        let versions = if policy.aws_managed {
            crate::iam::managed::find(arn)
                .map(|found| vec![(policy.default_version.clone(), found.document.to_owned(), policy.created_at)])
                .unwrap_or_default()
        } else {
            store
                .query(
                    "SELECT version_id, document, created_at FROM policy_versions WHERE policy_arn = ? ORDER BY created_at, version_id",
                    vec![arn.as_str().into()],
                )
                .await
                .map_err(internal)?
                .iter()
                .map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?, row.int(2).map_err(internal)?)))
                .collect::<Result<_, AwsError>>()?
        };
        let usage = usage(ctx, arn).await?;
        policies.push((policy, usage, versions));
    }
    xml.nest("Policies", |xml| {
        for (policy, usage, versions) in &policies {
            xml.nest("member", |xml| {
                write_policy(xml, policy, *usage, &[]);
                xml.nest("PolicyVersionList", |xml| {
                    for (version, document, created_at) in versions {
                        xml.nest("member", |xml| {
                            xml.element("Document", &uri_encode(document, false))
                                .element("VersionId", version)
                                .element(
                                    "IsDefaultVersion",
                                    if *version == policy.default_version { "true" } else { "false" },
                                )
                                .element("CreateDate", &ids::iso8601(*created_at));
                        });
                    }
                });
            });
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}
