//! The account as a whole: GetAccountSummary (entity counts and IAM's quotas) and
//! GetAccountAuthorizationDetails (every user, group, role and managed policy in use, with
//! their policies, in one answer).

use aws_model::iam::GetAccountAuthorizationDetailsRequest;
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;

use super::attachments::write_members as write_attached_members;
use super::boundaries;
use super::entities::{self, Kind};
use super::instance_profiles::{profiles_of, write_profile_fields};
use super::model::boundaries::boundary_of;
use super::model::entities as entity_model;
use super::model::policies::{self as policies_model, ManagedPolicy, Usage, Version};
use super::model::tags::{Tagged, load as load_tags};
use super::model::{account as model, attachments, groups, inline};
use super::policies::{find_policy, usage, write_policy};
use super::roles::find_role;
use super::tag_list;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, query};

operation!(iam, GET_ACCOUNT_SUMMARY, "GetAccountSummary", Read, account_wide, |ctx| {
    query(get_account_summary(ctx))
});

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
];

async fn get_account_summary(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let account = ctx.account();
    let counts = model::counts(&ctx.app.store, account).await?;
    let counts = [
        ("Users", counts.users),
        ("Groups", counts.groups),
        ("Roles", counts.roles),
        ("Policies", counts.policies),
        ("InstanceProfiles", counts.instance_profiles),
        ("PolicyVersionsInUse", counts.policy_versions),
        ("AccountAccessKeysPresent", i64::from(counts.root_has_access_keys)),
        ("GlobalEndpointTokenVersion", model::global_endpoint_token_version(&ctx.app.store, account).await?),
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

operation!(iam, GET_ACCOUNT_AUTHORIZATION_DETAILS, "GetAccountAuthorizationDetails", Read, account_wide, |ctx| query(
    get_account_authorization_details(ctx)
));

/// An entity's inline policies (`(name, document)`) and attached managed policy ARNs.
async fn policies_of(ctx: &Ctx<'_>, kind: Kind, key: &str) -> Result<(Vec<(String, String)>, Vec<String>), AwsError> {
    let (store, account) = (&ctx.app.store, ctx.account());
    Ok((inline::of_entity(store, account, kind, key).await?, attachments::of_entity(store, account, kind, key).await?))
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
    xml.nest("AttachedManagedPolicies", |xml| write_attached_members(xml, arns));
}

async fn get_account_authorization_details(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetAccountAuthorizationDetailsRequest { filter: filters, .. } = ctx.input();
    let wanted = |filter: &str| filters.is_empty() || filters.contains(&filter);
    let account = ctx.account();
    let store = &ctx.app.store;
    let mut xml = ctx.response();
    let mut used_policies: Vec<String> = Vec::new();

    let mut users = Vec::new();
    if wanted("User") {
        for user in entity_model::all(store, account, Kind::User).await? {
            let key = user.key();
            let (inline, attached) = policies_of(ctx, Kind::User, &key).await?;
            let groups: Vec<String> =
                groups::of_user(store, account, &key).await?.into_iter().map(|group| group.name).collect();
            let boundary = boundary_of(store, account, Kind::User, &key).await?;
            let tags = load_tags(store, account, Tagged::Entity(Kind::User), &key).await?;
            users.push((user, inline, attached, groups, boundary, tags));
        }
    }
    xml.nest("UserDetailList", |xml| {
        for (user, inline, attached, groups, boundary, tags) in &users {
            xml.nest("member", |xml| {
                entities::write(xml, user, account);
                write_inline(xml, "UserPolicyList", inline);
                xml.nest("GroupList", |xml| {
                    for group in groups {
                        xml.element("member", group);
                    }
                });
                write_attached(xml, attached);
                boundaries::write(xml, boundary.as_deref());
                tag_list::write(xml, tags);
            });
        }
    });

    let mut groups = Vec::new();
    if wanted("Group") {
        for group in entity_model::all(store, account, Kind::Group).await? {
            let (inline, attached) = policies_of(ctx, Kind::Group, &group.key()).await?;
            groups.push((group, inline, attached));
        }
    }
    xml.nest("GroupDetailList", |xml| {
        for (group, inline, attached) in &groups {
            xml.nest("member", |xml| {
                entities::write(xml, group, account);
                write_inline(xml, "GroupPolicyList", inline);
                write_attached(xml, attached);
            });
        }
    });

    let mut roles = Vec::new();
    if wanted("Role") {
        for entity in entity_model::all(store, account, Kind::Role).await? {
            let key = entity.key();
            let Some(role) = find_role(store, account, &key).await? else { continue };
            let (inline, attached) = policies_of(ctx, Kind::Role, &key).await?;
            let boundary = boundary_of(store, account, Kind::Role, &key).await?;
            let tags = load_tags(store, account, Tagged::Entity(Kind::Role), &key).await?;
            let profiles = profiles_of(ctx, &role).await?;
            roles.push((role, profiles, inline, attached, boundary, tags));
        }
    }
    xml.nest("RoleDetailList", |xml| {
        for (role, profiles, inline, attached, boundary, tags) in &roles {
            xml.nest("member", |xml| {
                // RoleDetail has no Description or MaxSessionDuration, unlike Role.
                entities::write(xml, &role.entity, account);
                xml.element("AssumeRolePolicyDocument", &uri_encode(&role.trust_policy, false));
                xml.nest("InstanceProfileList", |xml| {
                    for profile in profiles {
                        xml.nest("member", |xml| write_profile_fields(xml, account, profile, Some(role)));
                    }
                });
                write_inline(xml, "RolePolicyList", inline);
                write_attached(xml, attached);
                boundaries::write(xml, boundary.as_deref());
                tag_list::write(xml, tags);
            });
        }
    });

    // Managed policies: the account's own, and AWS's that something here uses.
    let (local, aws) = (wanted("LocalManagedPolicy"), wanted("AWSManagedPolicy"));
    if local || aws {
        used_policies = policies_model::in_use(store, account).await?;
    }
    let mut policies: Vec<(ManagedPolicy, Usage, Vec<Version>)> = Vec::new();
    for arn in &used_policies {
        let Some(policy) = find_policy(ctx, arn).await? else { continue };
        if (policy.aws_managed && !aws) || (!policy.aws_managed && !local) {
            continue;
        }
        let versions = policies_model::versions_with_documents(store, &policy).await?;
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
