//! Managed policies' operations: Create/Get/List/DeletePolicy, the policy version
//! operations and ListEntitiesForPolicy. The policies, their versions and what is checked
//! when they change are [`super::model::policies`]. Handlers read their typed input
//! (`aws_model::iam::*Request`): the pipeline has checked the model's constraints (names, paths,
//! the description's length, `Scope` and `PolicyUsageFilter`'s values, required members).

use aws_model::iam::{
    CreatePolicyRequest, CreatePolicyVersionRequest, DeletePolicyVersionRequest, GetPolicyRequest,
    GetPolicyVersionRequest, ListEntitiesForPolicyRequest, ListPoliciesRequest, SetDefaultPolicyVersionRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use iam_policy::{PolicyKind, SizeQuota};

use super::inline_policies::policy_error;
use super::model::entities::{Entity, Kind, Window};
use super::model::policies::{self as model, ManagedPolicy, Usage, VersionAdded};
use super::model::tags::{Tag, Tagged, load as load_tags};
use super::tag_list;
use crate::ids;
use crate::operations::operation;
use crate::operations::query;
use crate::operations::{Ctx, Page, internal};

pub(crate) async fn usage(ctx: &Ctx<'_>, arn: &str) -> Result<Usage, AwsError> {
    Ok(model::usage(&ctx.app.store, ctx.account(), arn).await?)
}

pub(crate) fn not_found(arn: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("Policy {arn} was not found."))
}

/// Refuses text that is not a policy ARN, as IAM does.
pub(crate) fn check_arn(arn: &str) -> Result<(), AwsError> {
    let valid = arn.len() >= 20
        && arn.len() <= 2048
        && arn.starts_with("arn:")
        && iam_policy::arn::Arn::parse(arn).is_some_and(|parsed| !parsed.resource.is_empty());
    if valid { Ok(()) } else { Err(AwsError::new("InvalidInput", 400, format!("ARN {arn} is not valid."))) }
}

/// The managed policy of an ARN, AWS's or this account's, if it exists.
pub(crate) async fn find_policy(ctx: &Ctx<'_>, arn: &str) -> Result<Option<ManagedPolicy>, AwsError> {
    Ok(model::find(&ctx.app.store, ctx.account(), arn).await?)
}

/// The managed policy of an ARN that can be attached or made a boundary, or IAM's
/// NoSuchEntity (said alike of a missing policy and of AWS's one unattachable policy).
pub(crate) async fn attachable_policy(ctx: &Ctx<'_>, arn: &str) -> Result<ManagedPolicy, AwsError> {
    check_arn(arn)?;
    find_policy(ctx, arn)
        .await?
        .filter(|policy| policy.attachable)
        .ok_or_else(|| AwsError::new("NoSuchEntity", 404, format!("Policy {arn} does not exist or is not attachable.")))
}

/// The managed policy the request's `PolicyArn` names, or NoSuchEntity.
async fn named_policy(ctx: &Ctx<'_>) -> Result<ManagedPolicy, AwsError> {
    let arn = ctx.required("PolicyArn")?;
    check_arn(arn)?;
    find_policy(ctx, arn).await?.ok_or_else(|| not_found(arn))
}

/// The customer managed policy the request's `PolicyArn` names (AWS's cannot be changed).
pub(crate) async fn existing_policy(ctx: &Ctx<'_>) -> Result<ManagedPolicy, AwsError> {
    let policy = named_policy(ctx).await?;
    if policy.aws_managed {
        return Err(AwsError::new(
            "InvalidInput",
            400,
            format!("The specified value for policyArn is invalid: {} is an AWS managed policy.", policy.arn),
        ));
    }
    Ok(policy)
}

/// The policy ARN a request is authorized on: `PolicyArn`, or the one `PolicyName` and
/// `Path` will make.
pub(crate) async fn policy_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    if let Some(arn) = ctx.params.get("PolicyArn") {
        return Ok(vec![stored_arn(ctx, arn).await?]);
    }
    let name = ctx.required("PolicyName")?;
    let path = ctx.params.get("Path").unwrap_or("/");
    Ok(vec![format!("arn:aws:iam::{}:policy{path}{name}", ctx.account())])
}

/// The ARN of the account's policy `arn` names, as stored: policy names are unique
/// case-insensitively, so another spelling is authorized as the policy it would name (and
/// then not found, since policies are found by their exact ARN). Anything else is as given.
pub(crate) async fn stored_arn(ctx: &Ctx<'_>, arn: &str) -> Result<String, AwsError> {
    let name = arn.rsplit('/').next().unwrap_or_default();
    let stored = model::arn_of_name(&ctx.app.store, ctx.account(), name).await?;
    Ok(stored.filter(|stored| stored.eq_ignore_ascii_case(arn)).unwrap_or_else(|| arn.to_owned()))
}

/// Validates a managed policy document: an identity policy within IAM's size quota.
fn check_document(document: &str) -> Result<(), AwsError> {
    iam_policy::validate(document, PolicyKind::Identity).map_err(policy_error)?;
    SizeQuota::ManagedPolicy.check([document]).map_err(policy_error)
}

pub(crate) fn write_policy(xml: &mut XmlResponse, policy: &ManagedPolicy, usage: Usage, tags: &[Tag]) {
    xml.element("PolicyName", &policy.name)
        .element("PolicyId", &policy.id)
        .element("Arn", &policy.arn)
        .element("Path", &policy.path)
        .element("DefaultVersionId", &policy.default_version)
        .element("AttachmentCount", &usage.attachments.to_string())
        .element("PermissionsBoundaryUsageCount", &usage.boundaries.to_string())
        .element("IsAttachable", if policy.attachable { "true" } else { "false" });
    if let Some(description) = &policy.description {
        xml.element("Description", description);
    }
    xml.element("CreateDate", &ids::iso8601(policy.created_at)).element("UpdateDate", &ids::iso8601(policy.updated_at));
    tag_list::write(xml, tags);
}

fn write_version(xml: &mut XmlResponse, version: &str, default: &str, created_at: i64, document: Option<&str>) {
    if let Some(document) = document {
        // IAM returns policy documents URL-encoded.
        xml.element("Document", &uri_encode(document, false));
    }
    xml.element("VersionId", version)
        .element("IsDefaultVersion", if version == default { "true" } else { "false" })
        .element("CreateDate", &ids::iso8601(created_at));
}

operation!(iam, CREATE_POLICY, "CreatePolicy", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(
    create_policy(ctx)
));

async fn create_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreatePolicyRequest { policy_name: name, path, policy_document: document, description, tags } = ctx.input();
    let path = path.unwrap_or("/");
    check_document(document)?;
    let tags = tag_list::from_members(&tags)?;
    let now = ids::now();
    let policy = ManagedPolicy {
        arn: format!("arn:aws:iam::{}:policy{path}{name}", ctx.account()),
        name: name.to_owned(),
        id: ids::unique_id("ANPA").map_err(internal)?,
        path: path.to_owned(),
        description: description.map(str::to_owned),
        default_version: "v1".to_owned(),
        created_at: now,
        updated_at: now,
        aws_managed: false,
        attachable: true,
    };
    if !model::create(&ctx.app.store, ctx.account(), &policy, document, &tags).await? {
        return Err(AwsError::new(
            "EntityAlreadyExists",
            409,
            format!("A policy called {name} already exists. Duplicate names are not allowed."),
        ));
    }
    let mut xml = ctx.response();
    xml.nest("Policy", |xml| write_policy(xml, &policy, Usage::default(), &tags));
    Ok(xml)
}

operation!(iam, GET_POLICY, "GetPolicy", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(get_policy(ctx)));

async fn get_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetPolicyRequest { policy_arn: arn } = ctx.input();
    check_arn(arn)?;
    let (policy, usage) =
        model::find_with_usage(&ctx.app.store, ctx.account(), arn).await?.ok_or_else(|| not_found(arn))?;
    let tags = load_tags(&ctx.app.store, ctx.account(), Tagged::Policy, &policy.arn).await?;
    let mut xml = ctx.response();
    xml.nest("Policy", |xml| write_policy(xml, &policy, usage, &tags));
    Ok(xml)
}

operation!(iam, DELETE_POLICY, "DeletePolicy", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(
    delete_policy(ctx)
));

async fn delete_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = existing_policy(ctx).await?;
    let arn = policy.arn.as_str();
    if model::delete(&ctx.app.store, ctx.account(), arn).await? {
        return Ok(ctx.response());
    }
    let usage = usage(ctx, arn).await?;
    let message = if usage.attachments > 0 || usage.boundaries > 0 {
        "Cannot delete a policy attached to entities."
    } else {
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
    };
    Err(AwsError::new("DeleteConflict", 409, message))
}

operation!(iam, LIST_POLICIES, "ListPolicies", Read, |_| Box::pin(async move { Ok(vec!["*".to_owned()]) }), |ctx| {
    query(list_policies(ctx))
});

async fn list_policies(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ListPoliciesRequest { scope, only_attached, path_prefix, policy_usage_filter: usage_filter, .. } = ctx.input();
    let scope = scope.unwrap_or("All");
    let only_attached = only_attached == Some(true);
    let prefix = path_prefix.unwrap_or("/");
    let page = Page::from_params(ctx)?;
    let limit = page.max_items.saturating_add(1);
    let used_as = only_attached.then_some(match usage_filter {
        Some("PermissionsPolicy") => Usage { attachments: 1, boundaries: 0 },
        Some(_) => Usage { attachments: 0, boundaries: 1 },
        None => Usage { attachments: 1, boundaries: 1 },
    });
    let mut listed = Vec::new();
    // Markers are ARNs, so the order is theirs: the account's (`arn:aws:iam::123...`) sort
    // before AWS's (`arn:aws:iam::aws:...`).
    if scope != "AWS" {
        let window = model::PolicyWindow { prefix, after: &page.after, limit, used_as };
        listed = model::page_with_usage(&ctx.app.store, ctx.account(), window).await?;
    }
    if scope != "Local" && listed.len() < limit {
        let window = model::PolicyWindow { prefix, after: &page.after, limit: limit - listed.len(), used_as };
        listed.extend(model::catalogue_page_with_usage(&ctx.app.store, ctx.account(), window).await?);
    }
    let (shown, next) = page.cut(&listed, |(policy, _)| policy.arn.clone());
    let mut xml = ctx.response();
    xml.nest("Policies", |xml| {
        for (policy, usage) in shown {
            xml.nest("member", |xml| write_policy(xml, policy, *usage, &[]));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(iam, CREATE_POLICY_VERSION, "CreatePolicyVersion", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| {
    query(create_policy_version(ctx))
});

async fn create_policy_version(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreatePolicyVersionRequest { policy_document: document, set_as_default, .. } = ctx.input();
    let policy = existing_policy(ctx).await?;
    check_document(document)?;
    let set_as_default = set_as_default == Some(true);
    let arn = policy.arn.as_str();
    let now = ids::now();
    // Concurrent calls race for the next version number; a lost race is tried again with the
    // new number, and LimitExceeded is answered only when five versions are there.
    let mut attempts = 0;
    let version = loop {
        attempts += 1;
        let next = model::next_version(&ctx.app.store, arn).await?.ok_or_else(|| not_found(arn))?;
        match model::add_version(&ctx.app.store, arn, next, document, now, set_as_default).await? {
            VersionAdded::Added => break format!("v{next}"),
            // Another call took the number (or deleted the policy: the next read says so).
            VersionAdded::Raced if attempts < crate::operations::RACE_ATTEMPTS => {}
            VersionAdded::Raced => return Err(crate::iam::errors::concurrent_modification()),
            VersionAdded::TooMany => {
                return Err(AwsError::new(
                    "LimitExceeded",
                    409,
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
                ));
            }
        }
    };
    let default = if set_as_default { version.as_str() } else { policy.default_version.as_str() };
    let mut xml = ctx.response();
    xml.nest("PolicyVersion", |xml| write_version(xml, &version, default, now, None));
    Ok(xml)
}

fn no_such_version(policy: &ManagedPolicy, version: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("Policy {} version {version} does not exist.", policy.arn))
}

operation!(iam, GET_POLICY_VERSION, "GetPolicyVersion", Read, |ctx| Box::pin(policy_version_resource(ctx)), |ctx| {
    query(get_policy_version(ctx))
});

/// A policy and the version a request asks for, as [`model::find_with_version`] reads them.
type PolicyWithVersion = (ManagedPolicy, Option<(String, i64)>);

/// GetPolicyVersion's resource: a policy stored under exactly the ARN asked for is read with
/// the version in one statement, authorized on its ARN and answered from that read; any other
/// ARN is authorized as [`policy_resource`] says (and then not found).
async fn policy_version_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let GetPolicyVersionRequest { policy_arn: arn, version_id: version } = ctx.input();
    if check_arn(arn).is_ok() {
        if let Some(found) = model::find_with_version(&ctx.app.store, ctx.account(), arn, version).await? {
            let resource = found.0.arn.clone();
            ctx.prefetch::<PolicyWithVersion>(found);
            return Ok(vec![resource]);
        }
    }
    policy_resource(ctx).await
}

async fn get_policy_version(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetPolicyVersionRequest { policy_arn: arn, version_id: version } = ctx.input();
    check_arn(arn)?;
    let (policy, found) = match ctx.prefetched::<PolicyWithVersion>() {
        Some(prefetched) => prefetched.clone(),
        None => model::find_with_version(&ctx.app.store, ctx.account(), arn, version)
            .await?
            .ok_or_else(|| not_found(arn))?,
    };
    let (document, created_at) = found.ok_or_else(|| no_such_version(&policy, version))?;
    let mut xml = ctx.response();
    xml.nest("PolicyVersion", |xml| {
        write_version(xml, version, &policy.default_version, created_at, Some(&document));
    });
    Ok(xml)
}

async fn version_created_at(ctx: &Ctx<'_>, policy: &ManagedPolicy, version: &str) -> Result<i64, AwsError> {
    model::version_created_at(&ctx.app.store, &policy.arn, version)
        .await?
        .ok_or_else(|| no_such_version(policy, version))
}

operation!(iam, LIST_POLICY_VERSIONS, "ListPolicyVersions", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(
    list_policy_versions(ctx)
));

async fn list_policy_versions(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = named_policy(ctx).await?;
    let versions = model::versions(&ctx.app.store, &policy).await?;
    let mut xml = ctx.response();
    xml.nest("Versions", |xml| {
        for (version, created_at) in &versions {
            xml.nest("member", |xml| write_version(xml, version, &policy.default_version, *created_at, None));
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}

operation!(iam, DELETE_POLICY_VERSION, "DeletePolicyVersion", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| {
    query(delete_policy_version(ctx))
});

async fn delete_policy_version(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeletePolicyVersionRequest { version_id: version, .. } = ctx.input();
    let policy = existing_policy(ctx).await?;
    if model::delete_version(&ctx.app.store, &policy.arn, version).await? {
        return Ok(ctx.response());
    }
    version_created_at(ctx, &policy, version).await?;
    Err(AwsError::new("DeleteConflict", 409, "Cannot delete the default version of a policy."))
}

operation!(
    iam,
    SET_DEFAULT_POLICY_VERSION,
    "SetDefaultPolicyVersion",
    IamWrite,
    |ctx| Box::pin(policy_resource(ctx)),
    |ctx| { query(set_default_policy_version(ctx)) }
);

async fn set_default_policy_version(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let SetDefaultPolicyVersionRequest { version_id: version, .. } = ctx.input();
    let policy = existing_policy(ctx).await?;
    if !model::set_default_version(&ctx.app.store, &policy.arn, version, ids::now()).await? {
        return Err(no_such_version(&policy, version));
    }
    Ok(ctx.response())
}

operation!(iam, LIST_ENTITIES_FOR_POLICY, "ListEntitiesForPolicy", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| {
    query(list_entities_for_policy(ctx))
});

/// The kinds ListEntitiesForPolicy lists, in its order, with their answer's element.
const POLICY_ENTITIES: [(Kind, &str); 3] =
    [(Kind::Group, "PolicyGroups"), (Kind::User, "PolicyUsers"), (Kind::Role, "PolicyRoles")];

async fn list_entities_for_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = named_policy(ctx).await?;
    let ListEntitiesForPolicyRequest { entity_filter: filter, path_prefix, policy_usage_filter, .. } = ctx.input();
    let prefix = path_prefix.unwrap_or("/");
    let boundaries = policy_usage_filter == Some("PermissionsBoundary");
    let page = Page::from_params(ctx)?;
    // One page over the three kinds in turn: its marker is `noun/key` of the last entity shown.
    let (from_kind, after) = page.after.split_once('/').unwrap_or(("", ""));
    let start = POLICY_ENTITIES.iter().position(|(kind, _)| kind.noun() == from_kind).unwrap_or(0);
    let limit = page.max_items.saturating_add(1);
    let mut listed: Vec<Entity> = Vec::new();
    for (index, (kind, _)) in POLICY_ENTITIES.iter().enumerate().skip(start) {
        if filter.is_some_and(|filter| filter != kind.element()) || listed.len() >= limit {
            continue;
        }
        let after = if index == start { after } else { "" };
        let window = Window { prefix, after, limit: limit - listed.len() };
        let (store, account, arn) = (&ctx.app.store, ctx.account(), policy.arn.as_str());
        listed.extend(if boundaries {
            super::model::boundaries::entities_of_policy(store, account, *kind, arn, window).await?
        } else {
            super::model::attachments::entities_of_policy(store, account, *kind, arn, window).await?
        });
    }
    let (shown, next) = page.cut(&listed, |entity| format!("{}/{}", entity.kind.noun(), entity.key()));
    let mut xml = ctx.response();
    for (kind, element) in POLICY_ENTITIES {
        let list = kind.element();
        xml.nest(element, |xml| {
            for entity in shown.iter().filter(|entity| entity.kind == kind) {
                xml.nest("member", |xml| {
                    xml.element(&format!("{list}Name"), &entity.name).element(&format!("{list}Id"), &entity.id);
                });
            }
        });
    }
    page.finish(&mut xml, next);
    Ok(xml)
}
