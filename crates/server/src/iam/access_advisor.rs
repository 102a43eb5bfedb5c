//! Access advisor (service last accessed data): GenerateServiceLastAccessedDetails,
//! GetServiceLastAccessedDetails, GetServiceLastAccessedDetailsWithEntities and
//! ListPoliciesGrantingServiceAccess, and the background pass that forgets old use and jobs.
//!
//! A report is about a user, group, role or managed policy: the services its permissions
//! policies allow (the entity's inline and attached policies, a user's groups' too; never
//! boundaries, session or resource policies), each with the last attempt of its entities
//! (the user, the role, a group's members, a policy's users, groups' members and roles) in the
//! tracking period (`--access-advisor-days`, 400 by default), allowed or denied. It is made
//! whole when the job starts, after the audit trail has caught up with every earlier request,
//! and kept ([`reports`]); a job is read only by the principal that started it, and is
//! unknown to anyone else.

use std::sync::Arc;

use aws_model::iam::{
    GenerateServiceLastAccessedDetailsRequest, GetServiceLastAccessedDetailsRequest,
    GetServiceLastAccessedDetailsWithEntitiesRequest, ListPoliciesGrantingServiceAccessRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use iam_policy::Policy;

use super::entities::{Entity, Kind, find, no_such};
use super::model::access_reports::{self as reports, Granularity, Job, Report, ReportEntity, ServiceReport};
use super::model::entities::Window;
use super::model::service_access::{Allowed, Tracked};
use super::model::{attachments, groups, managed, usage};
use super::policies::{find_policy, not_found as no_such_policy, stored_arn};
use super::simulator::max_items;
use crate::app::App;
use crate::authz::owner_permissions;
use crate::ids;
use crate::operations::{Ctx, account_wide, internal, operation, query, validation};

/// A day, in seconds.
const DAY: i64 = 86_400;

/// How long a job is kept after it starts (AWS documents no figure).
const JOB_DAYS: i64 = 30;

/// Entities read per statement when gathering a group's members or a policy's users.
const ENTITIES_PER_READ: usize = 1_000;

operation!(
    iam,
    GENERATE_SERVICE_LAST_ACCESSED_DETAILS,
    "GenerateServiceLastAccessedDetails",
    Write,
    |ctx| Box::pin(subject_resource(ctx, ctx.input::<GenerateServiceLastAccessedDetailsRequest>().arn, WITH_POLICIES)),
    |ctx| query(generate_service_last_accessed_details(ctx))
);
operation!(iam, GET_SERVICE_LAST_ACCESSED_DETAILS, "GetServiceLastAccessedDetails", Read, account_wide, |ctx| query(
    get_service_last_accessed_details(ctx)
));
operation!(
    iam,
    GET_SERVICE_LAST_ACCESSED_DETAILS_WITH_ENTITIES,
    "GetServiceLastAccessedDetailsWithEntities",
    Read,
    account_wide,
    |ctx| query(get_service_last_accessed_details_with_entities(ctx))
);
operation!(
    iam,
    LIST_POLICIES_GRANTING_SERVICE_ACCESS,
    "ListPoliciesGrantingServiceAccess",
    Read,
    |ctx| Box::pin(subject_resource(ctx, ctx.input::<ListPoliciesGrantingServiceAccessRequest>().arn, !WITH_POLICIES)),
    |ctx| query(list_policies_granting_service_access(ctx))
);

/// The background pass: forgets use older than the tracking period, and jobs older than a
/// month.
pub async fn expire(app: &App) -> Result<(), AwsError> {
    let now = ids::now();
    usage::expire(&app.store, now.saturating_sub(app.access_advisor_days.saturating_mul(DAY))).await?;
    reports::expire(&app.store, now.saturating_sub(JOB_DAYS * DAY)).await?;
    Ok(())
}

/// What the request's `Arn` names: a user, group or role, or a managed policy.
enum Subject {
    Entity(Entity),
    Policy(String),
}

impl Subject {
    fn arn(&self, account: &str) -> String {
        match self {
            Subject::Entity(entity) => entity.arn(account),
            Subject::Policy(arn) => arn.clone(),
        }
    }
}

/// Whether a managed policy may be a [`Subject`] (a report may be about one; a listing of the
/// policies granting access may not).
const WITH_POLICIES: bool = true;

/// The user, group, role or (`with_policies`) managed policy the request's `Arn` names, as
/// stored: InvalidInput for an ARN of anything else, NoSuchEntity for one naming nothing.
async fn subject(ctx: &Ctx<'_>, arn: &str, with_policies: bool) -> Result<Subject, AwsError> {
    let invalid = || AwsError::new("InvalidInput", 400, format!("ARN {arn} is not valid."));
    let parsed = iam_policy::arn::Arn::parse(arn).filter(|parsed| parsed.service == "iam").ok_or_else(invalid)?;
    let (noun, path_and_name) = parsed.resource.split_once('/').ok_or_else(invalid)?;
    let kind = match noun {
        "user" => Kind::User,
        "group" => Kind::Group,
        "role" => Kind::Role,
        "policy" if with_policies => {
            // Policies are found by their exact ARN.
            return match find_policy(ctx, arn).await? {
                Some(policy) => Ok(Subject::Policy(policy.arn)),
                None => Err(no_such_policy(arn)),
            };
        }
        _ => return Err(invalid()),
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    // Another account's entity is none of this one's; a name is found by any spelling, and
    // kept when the ARN (its path too) is the entity's own.
    let entity = if parsed.account == ctx.account() {
        find(ctx, kind, name).await?.filter(|entity| entity.arn(ctx.account()).eq_ignore_ascii_case(arn))
    } else {
        None
    };
    let entity = entity.ok_or_else(|| no_such(kind, name))?;
    let _ = ctx.target.set(entity.clone());
    Ok(Subject::Entity(entity))
}

/// Authorized on the subject's own ARN when it exists, else on the ARN as given (a malformed
/// or unknown one is refused by the operation, after authorization, as IAM does).
async fn subject_resource(ctx: &Ctx<'_>, arn: &str, with_policies: bool) -> Result<Vec<String>, AwsError> {
    Ok(vec![match subject(ctx, arn, with_policies).await {
        Ok(subject) => subject.arn(ctx.account()),
        // Another spelling of a policy's ARN is authorized as the policy it would name.
        Err(error) if error.code == "NoSuchEntity" && with_policies && arn.contains(":policy/") => {
            stored_arn(ctx, arn).await?
        }
        Err(error) if matches!(error.code.as_str(), "InvalidInput" | "NoSuchEntity") => arn.to_owned(),
        Err(error) => return Err(error),
    }])
}

/// The permissions policies of a subject, parsed: an entity's (a user's with its groups'), or
/// the policy itself. A document that no longer parses allows nothing.
async fn permissions_policies(ctx: &Ctx<'_>, subject: &Subject) -> Result<Vec<Arc<Policy>>, AwsError> {
    match subject {
        Subject::Entity(entity) => {
            let held = owner_permissions(ctx.app, ctx.account(), entity.kind, &entity.key()).await?;
            Ok(held.identity.iter().map(|(_, policy)| policy.clone()).collect())
        }
        Subject::Policy(arn) => {
            if let Some(policy) = managed::parsed(arn) {
                return Ok(vec![policy.clone()]);
            }
            let document = managed::document(&ctx.app.store, ctx.account(), arn).await.map_err(internal)?;
            Ok(document.and_then(|text| Policy::parse(&text).ok()).map(Arc::new).into_iter().collect())
        }
    }
}

fn report_entity(entity: &Entity, account: &str) -> (String, ReportEntity) {
    let kind = if entity.kind == Kind::Role { "ROLE" } else { "USER" };
    let reported = ReportEntity {
        arn: entity.arn(account),
        name: entity.name.clone(),
        kind: kind.to_owned(),
        id: entity.id.clone(),
        path: entity.path.clone(),
    };
    (entity.id.clone(), reported)
}

/// Every member of a group, read a page at a time.
async fn members(ctx: &Ctx<'_>, group_key: &str) -> Result<Vec<Entity>, AwsError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(Entity::key).unwrap_or_default();
        let page = groups::members(&ctx.app.store, ctx.account(), group_key, &after, ENTITIES_PER_READ).await?;
        let done = page.len() < ENTITIES_PER_READ;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// Every entity of `kind` a managed policy is attached to, read a page at a time.
async fn attached(ctx: &Ctx<'_>, kind: Kind, arn: &str) -> Result<Vec<Entity>, AwsError> {
    let mut all: Vec<Entity> = Vec::new();
    loop {
        let after = all.last().map(Entity::key).unwrap_or_default();
        let window = Window { prefix: "/", after: &after, limit: ENTITIES_PER_READ };
        let page = attachments::entities_of_policy(&ctx.app.store, ctx.account(), kind, arn, window).await?;
        let done = page.len() < ENTITIES_PER_READ;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The users and roles whose use a report counts, with their principal ids: the user or
/// role itself, a group's members, or a policy's users, its groups' members and its roles
/// (each once).
async fn report_entities(ctx: &Ctx<'_>, subject: &Subject) -> Result<Vec<(String, ReportEntity)>, AwsError> {
    let entities = match subject {
        Subject::Entity(entity) if entity.kind == Kind::Group => members(ctx, &entity.key()).await?,
        Subject::Entity(entity) => vec![entity.clone()],
        Subject::Policy(arn) => {
            let mut users = attached(ctx, Kind::User, arn).await?;
            for group in attached(ctx, Kind::Group, arn).await? {
                users.extend(members(ctx, &group.key()).await?);
            }
            users.sort_by_key(Entity::key);
            users.dedup_by(|a, b| a.id == b.id);
            users.extend(attached(ctx, Kind::Role, arn).await?);
            users
        }
    };
    Ok(entities.iter().map(|entity| report_entity(entity, ctx.account())).collect())
}

async fn generate_service_last_accessed_details(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GenerateServiceLastAccessedDetailsRequest { arn, granularity } = ctx.input();
    // `SERVICE_LEVEL` (the default) or `ACTION_LEVEL`: the pipeline has checked the model's enum.
    let granularity = granularity.and_then(Granularity::parse).unwrap_or(Granularity::ServiceLevel);
    let subject = subject(ctx, arn, WITH_POLICIES).await?;
    // Use is recorded by the audit importer: let it catch up with this replica.
    ctx.app.audit.sync().await.map_err(internal)?;
    let tracked = ctx.app.service_state.get::<Tracked>()?;
    let policies = permissions_policies(ctx, &subject).await?;
    let entities = report_entities(ctx, &subject).await?;
    let now = ids::now();
    let since = now.saturating_sub(ctx.app.access_advisor_days.saturating_mul(DAY));
    let principals: Vec<String> = entities.iter().map(|(principal, _)| principal.clone()).collect();
    let accesses = usage::last_accesses(&ctx.app.store, ctx.account(), &principals, since).await?;
    let report = Report::build(
        &Allowed::new(policies.iter().map(|policy| &**policy), tracked),
        granularity,
        entities,
        &accesses,
    );
    let job = Job {
        id: ids::uuid().map_err(internal)?,
        owner_id: ctx.identity.user_id(),
        arn: subject.arn(ctx.account()),
        granularity,
        created_at: now,
        completed_at: now,
        report,
    };
    reports::insert(&ctx.app.store, ctx.account(), &job).await?;
    let mut xml = ctx.response();
    xml.element("JobId", &job.id);
    Ok(xml)
}

/// The job a request's `JobId` (`id`) names, if the caller started it; NoSuchEntity
/// otherwise, whoever started it.
async fn job(ctx: &Ctx<'_>, id: &str) -> Result<Job, AwsError> {
    reports::find(&ctx.app.store, ctx.account(), id, &ctx.identity.user_id())
        .await?
        .ok_or_else(|| AwsError::new("NoSuchEntity", 404, format!("The job with ID {id} cannot be found.")))
}

/// `MaxItems` (1 to 1,000, 100 by default) and `Marker` over a report's list of `total`
/// items: the marker is the place of the next item, as the previous page answered it.
fn page(ctx: &Ctx<'_>, total: usize) -> Result<std::ops::Range<usize>, AwsError> {
    let max_items = ctx.params.get("MaxItems").map(max_items).transpose()?.unwrap_or(100);
    let start = match ctx.params.get("Marker") {
        None => 0,
        Some("") => {
            return Err(validation(
                "1 validation error detected: Value '' at 'marker' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        Some(marker) => {
            marker.parse::<usize>().ok().filter(|start| *start <= total).ok_or_else(|| invalid_marker(marker))?
        }
    };
    let length = usize::try_from(max_items).unwrap_or(usize::MAX);
    Ok(start..start.saturating_add(length).min(total))
}

fn invalid_marker(marker: &str) -> AwsError {
    AwsError::new("InvalidInput", 400, format!("Marker {marker} is not valid."))
}

/// `IsTruncated`, and `Marker` when more follow.
fn finish(xml: &mut XmlResponse, shown: &std::ops::Range<usize>, total: usize) {
    if shown.end < total {
        xml.element("IsTruncated", "true").element("Marker", &shown.end.to_string());
    } else {
        xml.element("IsTruncated", "false");
    }
}

fn write_service(xml: &mut XmlResponse, service: &ServiceReport) {
    xml.element("ServiceName", &service.name);
    if let Some(last) = &service.last {
        xml.element("LastAuthenticated", &ids::iso8601(last.time));
    }
    xml.element("ServiceNamespace", &service.namespace);
    if let Some(last) = &service.last {
        xml.element("LastAuthenticatedEntity", &last.entity).element("LastAuthenticatedRegion", &last.region);
    }
    xml.element("TotalAuthenticatedEntities", &service.entities.len().to_string());
    // Absent when there is no tracked action (AWS: "null if there no tracked actions").
    let actions = service.actions.as_deref().unwrap_or_default();
    if !actions.is_empty() {
        xml.nest("TrackedActionsLastAccessed", |xml| {
            for action in actions {
                xml.nest("member", |xml| {
                    xml.element("ActionName", &action.name);
                    if let Some(last) = &action.last {
                        xml.element("LastAccessedEntity", &last.entity)
                            .element("LastAccessedTime", &ids::iso8601(last.time))
                            .element("LastAccessedRegion", &last.region);
                    }
                });
            }
        });
    }
}

async fn get_service_last_accessed_details(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetServiceLastAccessedDetailsRequest { job_id, .. } = ctx.input();
    let job = job(ctx, job_id).await?;
    let services = &job.report.services;
    let shown = page(ctx, services.len())?;
    let mut xml = ctx.response();
    xml.element("JobStatus", "COMPLETED")
        .element("JobType", job.granularity.as_str())
        .element("JobCreationDate", &ids::iso8601(job.created_at));
    xml.nest("ServicesLastAccessed", |xml| {
        for service in services.get(shown.clone()).unwrap_or_default() {
            xml.nest("member", |xml| write_service(xml, service));
        }
    });
    xml.element("JobCompletionDate", &ids::iso8601(job.completed_at));
    finish(&mut xml, &shown, services.len());
    Ok(xml)
}

async fn get_service_last_accessed_details_with_entities(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetServiceLastAccessedDetailsWithEntitiesRequest { job_id, service_namespace, .. } = ctx.input();
    let namespace = service_namespace.to_ascii_lowercase();
    let job = job(ctx, job_id).await?;
    let report = &job.report;
    // Every entity that could have used the policies for the service, the latest first, then
    // those that did not (none for a service the report does not list).
    let mut details: Vec<(&ReportEntity, Option<i64>)> =
        match report.services.iter().find(|service| service.namespace == namespace) {
            Some(service) => report
                .entities
                .iter()
                .enumerate()
                .map(|(place, entity)| {
                    let last = service.entities.iter().find(|seen| seen.entity == place).map(|seen| seen.time);
                    (entity, last)
                })
                .collect(),
            None => Vec::new(),
        };
    details.sort_by(|(a, a_last), (b, b_last)| b_last.cmp(a_last).then_with(|| a.arn.cmp(&b.arn)));
    let shown = page(ctx, details.len())?;
    let mut xml = ctx.response();
    xml.element("JobStatus", "COMPLETED")
        .element("JobCreationDate", &ids::iso8601(job.created_at))
        .element("JobCompletionDate", &ids::iso8601(job.completed_at));
    xml.nest("EntityDetailsList", |xml| {
        for (entity, last) in details.get(shown.clone()).unwrap_or_default() {
            xml.nest("member", |xml| {
                xml.nest("EntityInfo", |xml| {
                    xml.element("Arn", &entity.arn)
                        .element("Name", &entity.name)
                        .element("Type", &entity.kind)
                        .element("Id", &entity.id)
                        .element("Path", &entity.path);
                });
                if let Some(time) = last {
                    xml.element("LastAuthenticated", &ids::iso8601(*time));
                }
            });
        }
    });
    finish(&mut xml, &shown, details.len());
    Ok(xml)
}

/// A request's `ServiceNamespaces`, each once, in the request's order (the pipeline has checked
/// there are 1 to 200 and each one's characters).
fn unique_namespaces(namespaces: &[&str]) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(namespaces.len());
    for namespace in namespaces {
        if !unique.iter().any(|held| held == namespace) {
            unique.push((*namespace).to_owned());
        }
    }
    unique
}

/// A permissions policy as ListPoliciesGrantingServiceAccess names it.
struct Granting {
    name: String,
    source: Source,
    policy: Arc<Policy>,
}

enum Source {
    Managed {
        arn: String,
    },
    /// Its owner's type (`USER`, `GROUP`, `ROLE`) and name.
    Inline {
        owner_type: String,
        owner_name: String,
    },
}

/// An entity's permissions policies, managed ones first (by ARN), then inline ones (its own,
/// then its groups', by owner and name).
async fn granting_policies(ctx: &Ctx<'_>, entity: &Entity) -> Result<Vec<Granting>, AwsError> {
    let held = owner_permissions(ctx.app, ctx.account(), entity.kind, &entity.key()).await?;
    let groups = match entity.kind {
        Kind::User => groups::of_user(&ctx.app.store, ctx.account(), &entity.key()).await?,
        _ => Vec::new(),
    };
    let owner_name = |noun: &str, key: &str| {
        if noun == entity.kind.noun() && key == entity.key() {
            Some(entity.name.clone())
        } else {
            groups.iter().find(|group| noun == "group" && group.key() == key).map(|group| group.name.clone())
        }
    };
    let (mut managed, mut inline) = (Vec::new(), Vec::new());
    for (id, policy) in held.identity.iter() {
        if id.starts_with("arn:") {
            let name = id.rsplit('/').next().unwrap_or(id).to_owned();
            managed.push(Granting { name, source: Source::Managed { arn: id.clone() }, policy: policy.clone() });
            continue;
        }
        let mut parts = id.splitn(3, '/');
        let (Some(noun), Some(key), Some(name)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let owner_name = owner_name(noun, key).unwrap_or_else(|| key.to_owned());
        let source = Source::Inline { owner_type: noun.to_ascii_uppercase(), owner_name };
        inline.push(Granting { name: name.to_owned(), source, policy: policy.clone() });
    }
    managed.extend(inline);
    Ok(managed)
}

async fn list_policies_granting_service_access(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ListPoliciesGrantingServiceAccessRequest { marker, arn, service_namespaces } = ctx.input();
    let namespaces = unique_namespaces(&service_namespaces);
    // Every answer is whole: a marker is never handed out, so none is honoured.
    if let Some(marker) = marker {
        return Err(invalid_marker(marker));
    }
    let Subject::Entity(entity) = subject(ctx, arn, !WITH_POLICIES).await? else {
        return Err(internal("a policy named where only identities are"));
    };
    let tracked = ctx.app.service_state.get::<Tracked>()?;
    let granting = granting_policies(ctx, &entity).await?;
    let mut xml = ctx.response();
    xml.nest("PoliciesGrantingServiceAccess", |xml| {
        for namespace in &namespaces {
            xml.nest("member", |xml| {
                xml.element("ServiceNamespace", namespace);
                xml.nest("Policies", |xml| {
                    for policy in &granting {
                        if !Allowed::new([&*policy.policy], tracked).grants(namespace) {
                            continue;
                        }
                        xml.nest("member", |xml| {
                            xml.element("PolicyName", &policy.name);
                            match &policy.source {
                                Source::Managed { arn } => {
                                    xml.element("PolicyType", "MANAGED").element("PolicyArn", arn);
                                }
                                Source::Inline { owner_type, owner_name } => {
                                    xml.element("PolicyType", "INLINE")
                                        .element("EntityType", owner_type)
                                        .element("EntityName", owner_name);
                                }
                            }
                        });
                    }
                });
            });
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}
