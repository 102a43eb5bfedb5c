//! Managed policies: the AWS managed catalogue (read-only, shipped in the binary) and the
//! account's customer managed policies with their versions.
//!
//! Guarantees: a customer managed policy has at most five versions and exactly one default;
//! a policy is deleted only when nothing uses it (attachments, boundaries) and only its
//! default version remains; every such check runs in the transaction that writes.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use iam_policy::{PolicyKind, SizeQuota};
use store::{Statement, Value};

use super::inline_policies::policy_error;
use super::tags::{self, Tagged};
use crate::iam::managed;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, check_name, check_path, internal};
use crate::operations::{query, validation};

/// Versions a customer managed policy keeps at most.
const MAX_VERSIONS: i64 = 5;

/// When AWS published the managed policies (the catalogue carries no dates of its own).
const CATALOGUE_DATE: i64 = 1_423_247_986;

/// A managed policy, AWS's or the account's.
#[derive(Debug, Clone)]
pub(crate) struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub aws_managed: bool,
}

impl ManagedPolicy {
    fn from_catalogue(policy: &managed::ManagedPolicy) -> ManagedPolicy {
        ManagedPolicy {
            arn: policy.arn.to_owned(),
            name: policy.name.to_owned(),
            id: policy.policy_id.to_owned(),
            path: policy.path.to_owned(),
            description: None,
            default_version: policy.default_version.to_owned(),
            created_at: CATALOGUE_DATE,
            updated_at: CATALOGUE_DATE,
            aws_managed: true,
        }
    }

    const COLUMNS: &str = "arn, name, policy_id, path, description, default_version, created_at, updated_at";

    fn from_row(row: &store::Row) -> Result<ManagedPolicy, AwsError> {
        Ok(ManagedPolicy {
            arn: row.text(0).map_err(internal)?,
            name: row.text(1).map_err(internal)?,
            id: row.text(2).map_err(internal)?,
            path: row.text(3).map_err(internal)?,
            description: row.opt_text(4).map_err(internal)?,
            default_version: row.text(5).map_err(internal)?,
            created_at: row.int(6).map_err(internal)?,
            updated_at: row.int(7).map_err(internal)?,
            aws_managed: false,
        })
    }
}

/// How many entities use a policy, in this account.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    attachments: i64,
    boundaries: i64,
}

pub(crate) async fn usage(ctx: &Ctx<'_>, arn: &str) -> Result<Usage, AwsError> {
    let rows = ctx
        .app
        .store
        .query(
            "SELECT (SELECT COUNT(*) FROM policy_attachments WHERE account_id = ? AND policy_arn = ?),
                    (SELECT COUNT(*) FROM permissions_boundaries WHERE account_id = ? AND policy_arn = ?)",
            vec![ctx.account().into(), arn.into(), ctx.account().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    let row = rows.first().ok_or_else(|| internal("no usage row"))?;
    Ok(Usage { attachments: row.int(0).map_err(internal)?, boundaries: row.int(1).map_err(internal)? })
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
    if let Some(policy) = managed::find(arn) {
        return Ok(Some(ManagedPolicy::from_catalogue(policy)));
    }
    let sql = format!("SELECT {} FROM managed_policies WHERE arn = ? AND account_id = ?", ManagedPolicy::COLUMNS);
    let rows = ctx.app.store.query(&sql, vec![arn.into(), ctx.account().into()]).await.map_err(internal)?;
    rows.first().map(ManagedPolicy::from_row).transpose()
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
async fn stored_arn(ctx: &Ctx<'_>, arn: &str) -> Result<String, AwsError> {
    let name = arn.rsplit('/').next().unwrap_or_default().to_lowercase();
    let rows = ctx
        .app
        .store
        .query(
            "SELECT arn FROM managed_policies WHERE account_id = ? AND name_key = ?",
            vec![ctx.account().into(), name.into()],
        )
        .await
        .map_err(internal)?;
    let stored = rows.first().map(|row| row.text(0).map_err(internal)).transpose()?;
    Ok(stored.filter(|stored| stored.eq_ignore_ascii_case(arn)).unwrap_or_else(|| arn.to_owned()))
}

/// The document of a policy version (AWS managed policies have only their default).
async fn version_document(ctx: &Ctx<'_>, policy: &ManagedPolicy, version: &str) -> Result<Option<String>, AwsError> {
    if policy.aws_managed {
        let document = managed::find(&policy.arn).filter(|_| version == policy.default_version);
        return Ok(document.map(|found| found.document.to_owned()));
    }
    let rows = ctx
        .app
        .store
        .query(
            "SELECT document FROM policy_versions WHERE policy_arn = ? AND version_id = ?",
            vec![policy.arn.as_str().into(), version.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(|row| row.text(0).map_err(internal)).transpose()
}

/// Validates a managed policy document: an identity policy within IAM's size quota.
fn check_document(document: &str) -> Result<(), AwsError> {
    iam_policy::validate(document, PolicyKind::Identity).map_err(policy_error)?;
    SizeQuota::ManagedPolicy.check([document]).map_err(policy_error)
}

pub(crate) fn write_policy(xml: &mut XmlResponse, policy: &ManagedPolicy, usage: Usage, tags: &[tags::Tag]) {
    xml.element("PolicyName", &policy.name)
        .element("PolicyId", &policy.id)
        .element("Arn", &policy.arn)
        .element("Path", &policy.path)
        .element("DefaultVersionId", &policy.default_version)
        .element("AttachmentCount", &usage.attachments.to_string())
        .element("PermissionsBoundaryUsageCount", &usage.boundaries.to_string())
        .element("IsAttachable", "true");
    if let Some(description) = &policy.description {
        xml.element("Description", description);
    }
    xml.element("CreateDate", &ids::iso8601(policy.created_at)).element("UpdateDate", &ids::iso8601(policy.updated_at));
    tags::write(xml, tags);
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
    let name = ctx.required("PolicyName")?;
    check_name(name, "policyName", 128)?;
    let path = ctx.params.get("Path").unwrap_or("/");
    check_path(path)?;
    let document = ctx.required("PolicyDocument")?;
    let description = ctx.params.get("Description");
    if description.is_some_and(|text| text.chars().count() > 1000) {
        return Err(validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000",
        ));
    }
    check_document(document)?;
    let tags = tags::from_params(ctx)?;
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
    };
    let mut statements = vec![
        Statement::new(
            "INSERT INTO managed_policies (arn, account_id, name_key, name, policy_id, path, description, default_version, next_version, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'v1', 2, ?, ?)",
            vec![
                policy.arn.as_str().into(),
                ctx.account().into(),
                name.to_lowercase().into(),
                name.into(),
                policy.id.as_str().into(),
                path.into(),
                Value::from(description.map(str::to_owned)),
                Value::Int(now),
                Value::Int(now),
            ],
        ),
        Statement::new(
            "INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?, 'v1', ?, ?)",
            vec![policy.arn.as_str().into(), document.into(), Value::Int(now)],
        ),
    ];
    statements.extend(tags::set_statements(ctx.account(), Tagged::Policy, &policy.arn, &tags));
    match ctx.app.store.transaction(statements).await {
        Ok(_) => {}
        Err(store::StoreError::Conflict) => {
            return Err(AwsError::new(
                "EntityAlreadyExists",
                409,
                format!("A policy called {name} already exists. Duplicate names are not allowed."),
            ));
        }
        Err(error) => return Err(internal(error)),
    }
    let mut xml = ctx.response();
    xml.nest("Policy", |xml| write_policy(xml, &policy, Usage::default(), &tags));
    Ok(xml)
}

operation!(iam, GET_POLICY, "GetPolicy", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(get_policy(ctx)));

async fn get_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = named_policy(ctx).await?;
    let usage = usage(ctx, &policy.arn).await?;
    let tags = tags::load(&ctx.app.store, ctx.account(), Tagged::Policy, &policy.arn).await?;
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
    let account = ctx.account();
    let deleted = ctx
        .app
        .store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM managed_policies WHERE arn = ?
                   AND NOT EXISTS (SELECT 1 FROM policy_attachments WHERE account_id = ? AND policy_arn = ?)
                   AND NOT EXISTS (SELECT 1 FROM permissions_boundaries WHERE account_id = ? AND policy_arn = ?)
                   AND NOT EXISTS (SELECT 1 FROM policy_versions WHERE policy_arn = ? AND version_id <> default_version)",
                vec![arn.into(), account.into(), arn.into(), account.into(), arn.into(), arn.into()],
            ),
            Statement::new("DELETE FROM policy_versions WHERE policy_arn = ?", vec![arn.into()]),
            tags::delete_all(account, Tagged::Policy, arn),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(ctx.response()),
        Err(store::StoreError::Unmet(_)) => {
            let usage = usage(ctx, arn).await?;
            let message = if usage.attachments > 0 || usage.boundaries > 0 {
                "Cannot delete a policy attached to entities."
            } else {
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
            };
            Err(AwsError::new("DeleteConflict", 409, message))
        }
        Err(error) => Err(internal(error)),
    }
}

operation!(iam, LIST_POLICIES, "ListPolicies", Read, |_| Box::pin(async move { Ok(vec!["*".to_owned()]) }), |ctx| {
    query(list_policies(ctx))
});

async fn list_policies(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let scope = ctx.params.get("Scope").unwrap_or("All");
    if !["All", "AWS", "Local"].contains(&scope) {
        return Err(validation(format!(
            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
        )));
    }
    let only_attached = ctx.params.get("OnlyAttached") == Some("true");
    let prefix = ctx.params.get("PathPrefix").unwrap_or("/");
    let usage_filter = ctx.params.get("PolicyUsageFilter");
    if usage_filter.is_some_and(|filter| !["PermissionsPolicy", "PermissionsBoundary"].contains(&filter)) {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
            usage_filter.unwrap_or_default()
        )));
    }
    let page = Page::from_params(ctx)?;
    let mut policies: Vec<ManagedPolicy> = Vec::new();
    if scope != "Local" {
        policies.extend(managed::CATALOGUE.iter().map(ManagedPolicy::from_catalogue));
    }
    if scope != "AWS" {
        let sql = format!("SELECT {} FROM managed_policies WHERE account_id = ?", ManagedPolicy::COLUMNS);
        let rows = ctx.app.store.query(&sql, vec![ctx.account().into()]).await.map_err(internal)?;
        for row in &rows {
            policies.push(ManagedPolicy::from_row(row)?);
        }
    }
    policies.retain(|policy| policy.path.starts_with(prefix));
    // Markers are ARNs, so the order is theirs.
    policies.sort_by(|a, b| a.arn.cmp(&b.arn));
    let mut listed = Vec::new();
    for policy in policies.into_iter().filter(|policy| policy.arn > page.after) {
        let usage = usage(ctx, &policy.arn).await?;
        let used = match usage_filter {
            Some("PermissionsPolicy") => usage.attachments > 0,
            Some(_) => usage.boundaries > 0,
            None => usage.attachments > 0 || usage.boundaries > 0,
        };
        if only_attached && !used {
            continue;
        }
        listed.push((policy, usage));
        if listed.len() > page.max_items {
            break;
        }
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
    let policy = existing_policy(ctx).await?;
    let document = ctx.required("PolicyDocument")?;
    check_document(document)?;
    let set_as_default = ctx.params.get("SetAsDefault") == Some("true");
    let arn = policy.arn.as_str();
    let now = ids::now();
    // Concurrent calls race for the next version number; a lost race is tried again with the
    // new number, and LimitExceeded is answered only when five versions are there.
    let mut attempts = 0;
    let version = loop {
        attempts += 1;
        let rows = ctx
            .app
            .store
            .query("SELECT next_version FROM managed_policies WHERE arn = ?", vec![arn.into()])
            .await
            .map_err(internal)?;
        let next = rows.first().ok_or_else(|| not_found(arn))?.int(0).map_err(internal)?;
        let version = format!("v{next}");
        let mut statements = vec![
            // The counter only moves if nobody took this number first...
            Statement::guard(
                "UPDATE managed_policies SET next_version = next_version + 1, updated_at = ? WHERE arn = ? AND next_version = ?",
                vec![Value::Int(now), arn.into(), Value::Int(next)],
            ),
            // ...and the version is added only while fewer than five exist.
            Statement::guard(
                "UPDATE managed_policies SET updated_at = ? WHERE arn = ? AND (SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?) < ?",
                vec![Value::Int(now), arn.into(), arn.into(), Value::Int(MAX_VERSIONS)],
            ),
            Statement::new(
                "INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?, ?, ?, ?)",
                vec![arn.into(), version.as_str().into(), document.into(), Value::Int(now)],
            ),
        ];
        if set_as_default {
            statements.push(Statement::new(
                "UPDATE managed_policies SET default_version = ? WHERE arn = ?",
                vec![version.as_str().into(), arn.into()],
            ));
        }
        match ctx.app.store.transaction(statements).await {
            Ok(_) => break version,
            // Another call took the number (or deleted the policy: the next read says so).
            Err(store::StoreError::Unmet(0)) if attempts < crate::operations::RACE_ATTEMPTS => {}
            Err(store::StoreError::Unmet(0)) => return Err(crate::iam::errors::concurrent_modification()),
            Err(store::StoreError::Unmet(_)) => {
                return Err(AwsError::new(
                    "LimitExceeded",
                    409,
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
                ));
            }
            Err(error) => return Err(internal(error)),
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

operation!(iam, GET_POLICY_VERSION, "GetPolicyVersion", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(
    get_policy_version(ctx)
));

async fn get_policy_version(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = named_policy(ctx).await?;
    let version = ctx.required("VersionId")?;
    let document = version_document(ctx, &policy, version).await?.ok_or_else(|| no_such_version(&policy, version))?;
    let created_at =
        if policy.aws_managed { policy.created_at } else { version_created_at(ctx, &policy, version).await? };
    let mut xml = ctx.response();
    xml.nest("PolicyVersion", |xml| {
        write_version(xml, version, &policy.default_version, created_at, Some(&document));
    });
    Ok(xml)
}

async fn version_created_at(ctx: &Ctx<'_>, policy: &ManagedPolicy, version: &str) -> Result<i64, AwsError> {
    let rows = ctx
        .app
        .store
        .query(
            "SELECT created_at FROM policy_versions WHERE policy_arn = ? AND version_id = ?",
            vec![policy.arn.as_str().into(), version.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().ok_or_else(|| no_such_version(policy, version))?.int(0).map_err(internal)
}

operation!(iam, LIST_POLICY_VERSIONS, "ListPolicyVersions", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(
    list_policy_versions(ctx)
));

async fn list_policy_versions(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = named_policy(ctx).await?;
    let versions: Vec<(String, i64)> = if policy.aws_managed {
        vec![(policy.default_version.clone(), policy.created_at)]
    } else {
        let rows = ctx
            .app
            .store
            .query(
                "SELECT version_id, created_at FROM policy_versions WHERE policy_arn = ? ORDER BY created_at DESC, version_id DESC",
                vec![policy.arn.as_str().into()],
            )
            .await
            .map_err(internal)?;
        rows.iter()
            .map(|row| Ok((row.text(0).map_err(internal)?, row.int(1).map_err(internal)?)))
            .collect::<Result<_, AwsError>>()?
    };
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
    let policy = existing_policy(ctx).await?;
    let version = ctx.required("VersionId")?;
    let deleted = ctx
        .app
        .store
        .execute(
            "DELETE FROM policy_versions WHERE policy_arn = ? AND version_id = ?
               AND version_id <> (SELECT default_version FROM managed_policies WHERE arn = ?)",
            vec![policy.arn.as_str().into(), version.into(), policy.arn.as_str().into()],
        )
        .await
        .map_err(internal)?;
    if deleted == 1 {
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
    let policy = existing_policy(ctx).await?;
    let version = ctx.required("VersionId")?;
    let changed = ctx
        .app
        .store
        .execute(
            "UPDATE managed_policies SET default_version = ?, updated_at = ? WHERE arn = ?
               AND EXISTS (SELECT 1 FROM policy_versions WHERE policy_arn = ? AND version_id = ?)",
            vec![
                version.into(),
                Value::Int(ids::now()),
                policy.arn.as_str().into(),
                policy.arn.as_str().into(),
                version.into(),
            ],
        )
        .await
        .map_err(internal)?;
    if changed == 0 {
        return Err(no_such_version(&policy, version));
    }
    Ok(ctx.response())
}

operation!(iam, LIST_ENTITIES_FOR_POLICY, "ListEntitiesForPolicy", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| {
    query(list_entities_for_policy(ctx))
});

async fn list_entities_for_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy = named_policy(ctx).await?;
    let filter = ctx.params.get("EntityFilter");
    let prefix = ctx.params.get("PathPrefix").unwrap_or("/");
    let table = match ctx.params.get("PolicyUsageFilter") {
        Some("PermissionsBoundary") => "permissions_boundaries",
        _ => "policy_attachments",
    };
    let mut xml = ctx.response();
    for (kind, list, entities, element) in [
        ("group", "Group", "iam_groups", "PolicyGroups"),
        ("user", "User", "users", "PolicyUsers"),
        ("role", "Role", "roles", "PolicyRoles"),
    ] {
        let id_column = format!("{kind}_id");
        let rows = if filter.is_none_or(|filter| filter == list) {
            ctx.app
                .store
                .query(
                    &format!(
                        "SELECT e.name, e.{id_column}, e.path FROM {table} a
                         JOIN {entities} e ON e.account_id = a.account_id AND e.name_key = a.owner_key
                         WHERE a.account_id = ? AND a.owner_kind = ? AND a.policy_arn = ? ORDER BY e.name_key"
                    ),
                    vec![ctx.account().into(), kind.into(), policy.arn.as_str().into()],
                )
                .await
                .map_err(internal)?
        } else {
            Vec::new()
        };
        let mut members = Vec::with_capacity(rows.len());
        for row in &rows {
            let path = row.text(2).map_err(internal)?;
            if path.starts_with(prefix) {
                members.push((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?));
            }
        }
        xml.nest(element, |xml| {
            for (name, id) in &members {
                xml.nest("member", |xml| {
                    xml.element(&format!("{list}Name"), name).element(&format!("{list}Id"), id);
                });
            }
        });
    }
    xml.element("IsTruncated", "false");
    Ok(xml)
}
