//! An unused access analyzer's findings: `ListFindingsV2` (`POST /findingv2`), `GetFindingV2`
//! (`GET /findingv2/{id}`), `GetFindingsStatistics` (`POST /analyzer/findings/statistics`),
//! `UpdateFindings` (`PUT /finding`), and the background pass that forgets the statuses of
//! findings that no longer hold.
//!
//! Findings are computed when read, after the audit trail has caught up with every earlier
//! request: the account's users and roles, their active keys, their latest activity
//! (`iam_usage`, a key's and a role's last use) and what their permissions policies allow
//! (access advisor's action-level report, `iam::model::access_reports`) go through
//! `unused_access`'s rules. Nothing but the status a caller set (UpdateFindings) is stored.
//!
//! Guarantees:
//! - Every read computes the same findings with the same ids from the same state; a finding
//!   that no longer holds is gone (never `RESOLVED`), and its stored status is forgotten by
//!   the background pass within a minute, so a finding that holds again starts `ACTIVE`.
//! - A status is set only on findings that hold when it is set (an unknown id, or a resource
//!   without findings, is `ResourceNotFoundException`); `updatedAt` is the later of the
//!   finding's last change and its status's.
//! - The analyzer is named by its exact ARN, and each operation authorized on it
//!   (ListFindingsV2 as `access-analyzer:ListFindings`, GetFindingV2 as
//!   `access-analyzer:GetFinding`, as AWS documents).

use std::collections::HashMap;

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::analyzers::{check_name, not_found};
use super::filter::{Fields, Filter, Sort};
use super::model::analyzers::{self as model, Analyzer, FindingStatus};
use super::unused_access::{self, AccessKey, Analysis, DAY, Details, Finding, Principal, PrincipalKind};
use super::{check_enum, invalid, optional_integer, optional_string, page_size, query_integer, required_string};
use crate::app::App;
use crate::authz::owner_permissions;
use crate::errors::internal;
use crate::iam::model::access_keys::{self, KeyStatus};
use crate::iam::model::access_reports::{Granularity, Report, ReportEntity};
use crate::iam::model::entities::{self, Entity, Kind};
use crate::iam::model::service_access::{Allowed, Tracked};
use crate::iam::model::tags::{self, Tagged};
use crate::iam::model::{roles, usage};
use crate::ids;
use crate::operations::{Ctx, ResourcesFuture, json as json_op, operation};

operation!(
    access_analyzer,
    LIST_FINDINGS_V2,
    "ListFindingsV2",
    Read,
    |ctx| analyzer_resource(ctx.body.get("analyzerArn").and_then(Json::as_str)),
    |ctx| json_op(list(ctx)),
    action = "access-analyzer:ListFindings",
    http = ("POST", "/findingv2", 200),
);

operation!(
    access_analyzer,
    GET_FINDING_V2,
    "GetFindingV2",
    Read,
    |ctx| analyzer_resource(ctx.query("analyzerArn")),
    |ctx| json_op(get(ctx)),
    action = "access-analyzer:GetFinding",
    http = ("GET", "/findingv2/{id}", 200),
);

operation!(
    access_analyzer,
    GET_FINDINGS_STATISTICS,
    "GetFindingsStatistics",
    Read,
    |ctx| analyzer_resource(ctx.body.get("analyzerArn").and_then(Json::as_str)),
    |ctx| json_op(statistics(ctx)),
    action = "access-analyzer:GetFindingsStatistics",
    http = ("POST", "/analyzer/findings/statistics", 200),
);

operation!(
    access_analyzer,
    UPDATE_FINDINGS,
    "UpdateFindings",
    Write,
    |ctx| analyzer_resource(ctx.body.get("analyzerArn").and_then(Json::as_str)),
    |ctx| json_op(update(ctx)),
    action = "access-analyzer:UpdateFindings",
    http = ("PUT", "/finding", 200),
);

/// Authorized on the analyzer's ARN as given (names are exact: the spelling is the identity);
/// on `*` when the request names none, which the operation then refuses.
fn analyzer_resource(arn: Option<&str>) -> ResourcesFuture<'static> {
    let arn = arn.unwrap_or("*").to_owned();
    Box::pin(async move { Ok(vec![arn]) })
}

/// The analyzer an `AnalyzerArn` names: the pattern `[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:analyzer/.{1,255}`
/// (`ValidationException`), then this account's analyzer of that exact ARN
/// (`ResourceNotFoundException` otherwise).
async fn analyzer(ctx: &Ctx<'_>, arn: &str) -> Result<Analyzer, AwsError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name = match parts.as_slice() {
        [_, _, _, _, _, resource] => resource.strip_prefix("analyzer/"),
        _ => None,
    };
    let Some(name) = name.filter(|name| (1..=255).contains(&name.chars().count())) else {
        let shown: String = arn.chars().take(256).collect();
        return Err(invalid(
            "fieldValidationFailed",
            "analyzerArn",
            format!(
                "1 validation error detected: Value '{shown}' at 'analyzerArn' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:]*:[^:]*:[^:]*:[^:]*:[^:]*:analyzer/.{{1,255}}"
            ),
        ));
    };
    let found = if check_name(name, "analyzerArn").is_ok() {
        model::find(&ctx.app.store, ctx.scope(), name).await.map_err(internal)?
    } else {
        None
    };
    found.filter(|analyzer| analyzer.arn(ctx.region(), ctx.account()) == arn).ok_or_else(|| not_found(arn))
}

/// What a user's or role's report entity is, for access advisor's report builder.
fn report_entity(entity: &Entity, account: &str) -> ReportEntity {
    ReportEntity {
        arn: entity.arn(account),
        name: entity.name.clone(),
        kind: if entity.kind == Kind::Role { "ROLE" } else { "USER" }.to_owned(),
        id: entity.id.clone(),
        path: entity.path.clone(),
    }
}

/// The account's users and roles as the analysis reads them, now. Principals the analyzer's
/// rule excludes are read no further than their tags.
pub(crate) async fn principals(app: &App, analyzer: &Analyzer, now: i64) -> Result<Vec<Principal>, AwsError> {
    let store = &app.store;
    let account = app.account_id.as_str();
    let tracked = app.service_state.get::<Tracked>()?;
    let exclusions = analyzer.configuration.exclusions.as_deref().unwrap_or_default();
    let users = entities::all(store, account, Kind::User).await?;
    let roles = entities::all(store, account, Kind::Role).await?;
    let role_uses = roles::last_uses(store, account).await?;
    let mut keys: HashMap<String, Vec<AccessKey>> = HashMap::new();
    let mut key_uses: HashMap<String, i64> = HashMap::new();
    for held in access_keys::of_users(store, account).await? {
        if let Some(used) = held.last_used_at {
            let latest = key_uses.entry(held.user_key.clone()).or_insert(used);
            *latest = (*latest).max(used);
        }
        if held.key.status == KeyStatus::Active {
            let key = AccessKey { id: held.key.id, created_at: held.key.created_at, last_used: held.last_used_at };
            keys.entry(held.user_key).or_default().push(key);
        }
    }
    let mut tags: HashMap<(&str, String), Vec<(String, String)>> = HashMap::new();
    for kind in [Kind::User, Kind::Role] {
        for (key, tag) in tags::of_every(store, account, Tagged::Entity(kind)).await? {
            tags.entry((kind.noun(), key)).or_default().push((tag.key, tag.value));
        }
    }
    let entities: Vec<Entity> = users.into_iter().chain(roles).collect();
    let ids: Vec<String> = entities.iter().map(|entity| entity.id.clone()).collect();
    // Use is kept as long as access advisor's tracking period: the last access of what was
    // used before it is not known.
    let since = now.saturating_sub(app.access_advisor_days.saturating_mul(DAY));
    let mut accesses: HashMap<String, Vec<usage::LastAccess>> = HashMap::new();
    for access in usage::last_accesses(store, account, &ids, since).await? {
        accesses.entry(access.principal_id.clone()).or_default().push(access);
    }
    let mut principals = Vec::with_capacity(entities.len());
    for entity in entities {
        let key = entity.key();
        let principal_tags = tags.remove(&(entity.kind.noun(), key.clone())).unwrap_or_default();
        let kind = if entity.kind == Kind::Role { PrincipalKind::Role } else { PrincipalKind::User };
        let mut principal = Principal {
            kind,
            id: entity.id.clone(),
            arn: entity.arn(account),
            created_at: entity.created_at,
            last_activity: None,
            keys: Vec::new(),
            tags: principal_tags,
            services: Vec::new(),
        };
        if unused_access::excluded(exclusions, &principal.tags) {
            principals.push(principal);
            continue;
        }
        let used = accesses.remove(&entity.id).unwrap_or_default();
        let own_use = match kind {
            PrincipalKind::Role => role_uses.get(&entity.id).copied(),
            PrincipalKind::User => key_uses.get(&key).copied(),
        };
        principal.last_activity = used.iter().map(|access| access.time).chain(own_use).max();
        if kind == PrincipalKind::User {
            principal.keys = keys.remove(&key).unwrap_or_default();
        }
        let held = owner_permissions(app, account, entity.kind, &key).await?;
        let allowed = Allowed::new(held.identity.iter().map(|(_, policy)| &**policy), tracked);
        let report_entities = vec![(entity.id.clone(), report_entity(&entity, account))];
        principal.services = Report::build(&allowed, Granularity::ActionLevel, report_entities, &used).services;
        principals.push(principal);
    }
    Ok(principals)
}

/// A finding as answered: with its status and the time of its last change.
struct Listed {
    finding: Finding,
    status: FindingStatus,
    updated_at: i64,
    account: String,
    analyzed_at: i64,
}

impl Fields for Listed {
    fn field(&self, key: &str) -> Option<String> {
        Some(match key {
            "id" => self.finding.id.clone(),
            "findingType" => self.finding.kind.as_str().to_owned(),
            "resource" => self.finding.resource.clone(),
            "resourceType" => self.finding.resource_type.to_owned(),
            "resourceOwnerAccount" => self.account.clone(),
            "status" => self.status.as_str().to_owned(),
            "createdAt" => ids::iso8601(self.finding.created_at),
            "updatedAt" => ids::iso8601(self.updated_at),
            "analyzedAt" => ids::iso8601(self.analyzed_at),
            _ => return None,
        })
    }
}

impl Listed {
    /// Its `FindingSummaryV2` (GetFindingV2 adds the details).
    fn summary(&self) -> Json {
        json!({
            "analyzedAt": ids::iso8601(self.analyzed_at),
            "createdAt": ids::iso8601(self.finding.created_at),
            "id": self.finding.id,
            "resource": self.finding.resource,
            "resourceType": self.finding.resource_type,
            "resourceOwnerAccount": self.account,
            "status": self.status.as_str(),
            "updatedAt": ids::iso8601(self.updated_at),
            "findingType": self.finding.kind.as_str(),
        })
    }
}

/// The analyzer's findings now, with the statuses set on them.
async fn current(app: &App, analyzer: &Analyzer) -> Result<Vec<Listed>, AwsError> {
    // Every request answered before this one counts as use.
    app.audit.sync().await.map_err(internal)?;
    let now = ids::now();
    let principals = principals(app, analyzer, now).await?;
    let statuses = model::statuses(&app.store, &analyzer.id).await.map_err(internal)?;
    Ok(analyze(analyzer, now, &principals)
        .into_iter()
        .map(|finding| {
            let set = statuses.get(&finding.id);
            Listed {
                status: set.map_or(FindingStatus::Active, |set| set.status),
                updated_at: set.map_or(finding.updated_at, |set| set.at.max(finding.updated_at)),
                account: app.account_id.clone(),
                analyzed_at: now,
                finding,
            }
        })
        .collect())
}

/// The findings that hold for `principals` at `now`, as `analyzer` is configured.
fn analyze(analyzer: &Analyzer, now: i64, principals: &[Principal]) -> Vec<Finding> {
    let analysis = Analysis {
        analyzer_id: &analyzer.id,
        analyzer_created_at: analyzer.created_at,
        age_days: analyzer.configuration.age_days,
        exclusions: analyzer.configuration.exclusions.as_deref().unwrap_or_default(),
        now,
    };
    unused_access::findings(&analysis, principals)
}

/// Forgets the statuses of findings that no longer hold (the background pass, every minute).
pub async fn forget_resolved(app: &App) -> Result<(), AwsError> {
    for analyzer in model::with_statuses(&app.store, &app.account_id).await.map_err(internal)? {
        let now = ids::now();
        let holding: Vec<String> =
            analyze(&analyzer, now, &principals(app, &analyzer, now).await?).into_iter().map(|f| f.id).collect();
        let statuses = model::statuses(&app.store, &analyzer.id).await.map_err(internal)?;
        let stale: Vec<String> = statuses.into_keys().filter(|id| !holding.contains(id)).collect();
        model::forget_statuses(&app.store, &analyzer.id, &stale).await.map_err(internal)?;
    }
    Ok(())
}

/// Findings per page unless `maxResults` says otherwise, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

/// The place a `nextToken` names in a list of `total` items (the offset the previous page
/// handed out).
fn offset(token: Option<&str>, total: usize) -> Result<usize, AwsError> {
    let Some(token) = token else { return Ok(0) };
    token
        .parse::<usize>()
        .ok()
        .filter(|start| *start <= total)
        .ok_or_else(|| invalid("fieldValidationFailed", "nextToken", "The nextToken is not valid."))
}

async fn list(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let arn = required_string(body, "analyzerArn")?;
    let filter = Filter::parse(body.get("filter"))?;
    let sort = Sort::parse(body.get("sort"))?;
    let size = page_size(optional_integer(body, "maxResults")?, DEFAULT_PAGE, MAX_PAGE)?;
    let token = optional_string(body, "nextToken")?;
    let analyzer = analyzer(ctx, arn).await?;
    let mut findings: Vec<Listed> =
        current(ctx.app, &analyzer).await?.into_iter().filter(|listed| filter.matches(listed)).collect();
    sort.apply(&mut findings);
    let start = offset(token, findings.len())?;
    let end = start.saturating_add(size).min(findings.len());
    let page: Vec<Json> = findings.get(start..end).unwrap_or_default().iter().map(Listed::summary).collect();
    let mut answer = json!({"findings": page});
    if end < findings.len() {
        crate::operations::put(&mut answer, "nextToken", end.to_string());
    }
    Ok(answer)
}

/// A time member, present only when known.
fn put_time(object: &mut Map<String, Json>, member: &str, time: Option<i64>) {
    if let Some(time) = time {
        object.insert(member.to_owned(), json!(ids::iso8601(time)));
    }
}

/// A finding's `FindingDetails`, one per unused service for an `UnusedPermission` finding.
fn details(details: &Details) -> Vec<Json> {
    match details {
        Details::Role { last_accessed } => {
            let mut role = Map::new();
            put_time(&mut role, "lastAccessed", *last_accessed);
            vec![json!({"unusedIamRoleDetails": role})]
        }
        Details::AccessKey { id, last_accessed } => {
            let mut key = Map::new();
            key.insert("accessKeyId".to_owned(), json!(id));
            put_time(&mut key, "lastAccessed", *last_accessed);
            vec![json!({"unusedIamUserAccessKeyDetails": key})]
        }
        Details::Permissions(services) => services
            .iter()
            .map(|service| {
                let mut unused = Map::new();
                unused.insert("serviceNamespace".to_owned(), json!(service.namespace));
                put_time(&mut unused, "lastAccessed", service.last_accessed);
                if !service.actions.is_empty() {
                    let actions: Vec<Json> = service
                        .actions
                        .iter()
                        .map(|action| {
                            let mut unused_action = Map::new();
                            unused_action.insert("action".to_owned(), json!(action.action));
                            put_time(&mut unused_action, "lastAccessed", action.last_accessed);
                            Json::Object(unused_action)
                        })
                        .collect();
                    unused.insert("actions".to_owned(), json!(actions));
                }
                json!({"unusedPermissionDetails": unused})
            })
            .collect(),
    }
}

/// `ResourceNotFoundException` for a finding.
fn no_finding(id: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", 404, format!("Finding {id} not found."))
        .with_member("resourceId", json!(id))
        .with_member("resourceType", json!("Finding"))
}

async fn get(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = ctx.label("id").unwrap_or_default();
    let arn = ctx.query("analyzerArn").ok_or_else(|| {
        invalid(
            "fieldValidationFailed",
            "analyzerArn",
            "1 validation error detected: Value null at 'analyzerArn' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let asked = query_integer(ctx, "maxResults")?;
    let analyzer = analyzer(ctx, arn).await?;
    let listed = current(ctx.app, &analyzer)
        .await?
        .into_iter()
        .find(|listed| listed.finding.id == id)
        .ok_or_else(|| no_finding(id))?;
    let all = details(&listed.finding.details);
    // Without `maxResults`, every detail.
    let size = page_size(asked, all.len().max(1), MAX_PAGE)?;
    let start = offset(ctx.query("nextToken"), all.len())?;
    let end = start.saturating_add(size).min(all.len());
    let mut answer = listed.summary();
    crate::operations::put(&mut answer, "findingDetails", all.get(start..end).unwrap_or_default().to_vec());
    if end < all.len() {
        crate::operations::put(&mut answer, "nextToken", end.to_string());
    }
    Ok(answer)
}

async fn statistics(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let arn = required_string(ctx.body, "analyzerArn")?;
    let analyzer = analyzer(ctx, arn).await?;
    let findings = current(ctx.app, &analyzer).await?;
    let count = |status: FindingStatus| findings.iter().filter(|listed| listed.status == status).count();
    // Active findings by type, the types that have some, in the order of their names.
    let mut by_type: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for listed in findings.iter().filter(|listed| listed.status == FindingStatus::Active) {
        *by_type.entry(listed.finding.kind.as_str()).or_default() += 1;
    }
    let types: Vec<Json> =
        by_type.into_iter().map(|(kind, total)| json!({"unusedAccessType": kind, "total": total})).collect();
    Ok(json!({
        "findingsStatistics": [{"unusedAccessFindingsStatistics": {
            "unusedAccessTypeStatistics": types,
            "totalActiveFindings": count(FindingStatus::Active),
            "totalArchivedFindings": count(FindingStatus::Archived),
            "totalResolvedFindings": 0,
        }}],
        "lastUpdatedAt": ids::iso8601(ids::now()),
    }))
}

async fn update(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let arn = required_string(body, "analyzerArn")?;
    let status = required_string(body, "status")?;
    check_enum(status, "status", &["ACTIVE", "ARCHIVED"])?;
    let status = FindingStatus::parse(status).ok_or_else(|| internal("a checked status that does not parse"))?;
    optional_string(body, "clientToken")?;
    let ids: Option<Vec<String>> = match body.get("ids") {
        None | Some(Json::Null) => None,
        Some(Json::Array(ids)) => Some(
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid("cannotParse", "ids", "Member 'ids' must be a list of strings."))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(invalid("cannotParse", "ids", "Member 'ids' must be a list of strings.")),
    };
    let resource = optional_string(body, "resourceArn")?;
    match (&ids, resource) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(invalid(
                "fieldValidationFailed",
                "ids",
                "Name the findings to update either by ids or by resourceArn, one of the two.",
            ));
        }
        (Some(ids), None) if ids.is_empty() => {
            return Err(invalid("fieldValidationFailed", "ids", "Name at least one finding to update."));
        }
        (None, Some(resource)) if !resource.starts_with("arn:") || resource.split(':').count() < 6 => {
            let shown: String = resource.chars().take(256).collect();
            return Err(invalid(
                "fieldValidationFailed",
                "resourceArn",
                format!(
                    "1 validation error detected: Value '{shown}' at 'resourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[^:]*:[^:]*:[^:]*:[^:]*:.*"
                ),
            ));
        }
        _ => {}
    }
    let analyzer = analyzer(ctx, arn).await?;
    let findings = current(ctx.app, &analyzer).await?;
    let chosen: Vec<String> = match (ids, resource) {
        (Some(ids), _) => {
            for id in &ids {
                if !findings.iter().any(|listed| &listed.finding.id == id) {
                    return Err(no_finding(id));
                }
            }
            ids
        }
        (None, Some(resource)) => {
            let of_resource: Vec<String> = findings
                .iter()
                .filter(|listed| listed.finding.resource == resource)
                .map(|listed| listed.finding.id.clone())
                .collect();
            if of_resource.is_empty() {
                return Err(AwsError::new(
                    "ResourceNotFoundException",
                    404,
                    format!("Analyzer {arn} has no finding about {resource}."),
                )
                .with_member("resourceId", json!(resource))
                .with_member("resourceType", json!("Finding")));
            }
            of_resource
        }
        (None, None) => Vec::new(),
    };
    let written =
        model::set_statuses(&ctx.app.store, &analyzer.id, &chosen, status, ids::now()).await.map_err(internal)?;
    if !written {
        return Err(not_found(arn));
    }
    Ok(json!({}))
}
