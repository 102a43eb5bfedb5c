//! Unused access as IAM Access Analyzer models it, pure: the account's users and roles (what
//! they did, their keys, what their permissions policies allow) and an analyzer's tracking
//! period in, the findings that hold now out. The caller reads the principals
//! (`findings::principals`) and passes the clock.
//!
//! Rules (each has a case in the tests), with `cutoff` = now − `unusedAccessAge` days:
//! - Access is unused when its last use is at or before `cutoff`, or never happened: "not
//!   used in N or more days". A use is any authenticated attempt, allowed or denied, as
//!   IAM's last accessed data (access advisor, which this analysis is built on) counts it.
//! - Only what has existed for the whole tracking period is analyzed (AWS: "only evaluate
//!   permissions for IAM entities ... that have existed for the entire tracking period"): a
//!   user or role created after `cutoff` has no finding, nor a key created after it.
//! - `UnusedIAMRole`: a role whose latest activity (a session's request, or being assumed)
//!   is unused. `UnusedIAMUserAccessKey`: an active key of a user, unused. A key that is
//!   `Inactive` grants no access, and has none.
//! - `UnusedPermission`: one finding per *active* user or role (used within the period; an
//!   unused role has its `UnusedIAMRole` finding instead, as on AWS), one detail per service
//!   its permissions policies allow (access advisor's reading of them) with an unused part:
//!   the tracked actions allowed and unused, each with its last access, or, for a service
//!   whose actions Homeport does not track, the whole service when unused. A service some of
//!   whose actions were used lists only the unused ones, with the service's last access.
//! - `UnusedIAMUserPassword` is never found: Homeport users have no console password.
//! - A principal an analysis rule excludes (by its tags) has no finding.
//! - A finding's id is derived from the analyzer's id, its type and the principal's unique id
//!   (and the key's id), so it is the same at every read and never passes to a namesake
//!   created later. It began to hold when its access had been unused (and its entity had
//!   existed) for the whole period, never before the analyzer was created: `createdAt` is the
//!   earliest such time of its parts, `updatedAt` the latest.

use crate::access_analyzer::model::analyzers::Exclusion;
use crate::iam::model::access_reports::ServiceReport;
use crate::ids;

/// A day, in seconds.
pub(crate) const DAY: i64 = 86_400;

/// The two kinds of principal an unused access analyzer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalKind {
    User,
    Role,
}

impl PrincipalKind {
    /// The finding's `resourceType`.
    pub(crate) fn resource_type(self) -> &'static str {
        match self {
            PrincipalKind::User => "AWS::IAM::User",
            PrincipalKind::Role => "AWS::IAM::Role",
        }
    }
}

/// An active access key of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessKey {
    pub id: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
}

/// A user or role as the analysis reads it (times in seconds since the epoch).
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub kind: PrincipalKind,
    /// Its unique id (`AIDA...`, `AROA...`).
    pub id: String,
    pub arn: String,
    pub created_at: i64,
    /// Its latest activity: a call it made (allowed or denied), a key of its used, a role
    /// assumed; `None`: never (within what Homeport keeps).
    pub last_activity: Option<i64>,
    /// A user's active keys.
    pub keys: Vec<AccessKey>,
    /// Its tags, for the analysis rule's exclusions.
    pub tags: Vec<(String, String)>,
    /// The services its permissions policies allow, each with its last access and, where
    /// Homeport tracks them, its allowed actions' (access advisor's action-level report).
    pub services: Vec<ServiceReport>,
}

/// The finding types of an unused access analyzer that Homeport produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FindingType {
    Role,
    AccessKey,
    Permissions,
}

impl FindingType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FindingType::Role => "UnusedIAMRole",
            FindingType::AccessKey => "UnusedIAMUserAccessKey",
            FindingType::Permissions => "UnusedPermission",
        }
    }
}

/// An allowed action not used within the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnusedAction {
    /// As access advisor names it: the action's name, without its service's prefix.
    pub action: String,
    pub last_accessed: Option<i64>,
}

/// One service of an `UnusedPermission` finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnusedService {
    pub namespace: String,
    /// The service's last access, by any of its actions.
    pub last_accessed: Option<i64>,
    /// Its unused tracked actions; empty for a service whose actions are not tracked.
    pub actions: Vec<UnusedAction>,
}

/// What a finding says, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Details {
    Role { last_accessed: Option<i64> },
    AccessKey { id: String, last_accessed: Option<i64> },
    Permissions(Vec<UnusedService>),
}

/// A finding that holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub id: String,
    pub kind: FindingType,
    /// The principal's ARN, and `AWS::IAM::User` or `AWS::IAM::Role`.
    pub resource: String,
    pub resource_type: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
    pub details: Details,
}

/// An analyzer's view: who it is, since when, and its tracking period.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Analysis<'a> {
    pub analyzer_id: &'a str,
    pub analyzer_created_at: i64,
    pub age_days: i64,
    pub exclusions: &'a [Exclusion],
    pub now: i64,
}

impl Analysis<'_> {
    fn cutoff(&self) -> i64 {
        self.now.saturating_sub(self.age_days.saturating_mul(DAY))
    }

    /// Unused: last used at or before the cutoff, or never.
    fn unused(&self, last: Option<i64>) -> bool {
        last.is_none_or(|time| time <= self.cutoff())
    }

    /// When access last used at `last` by an entity created at `created` became unused: a
    /// whole period after the later of the two, never before the analyzer existed.
    fn unused_since(&self, created: i64, last: Option<i64>) -> i64 {
        let start = last.map_or(created, |last| last.max(created));
        start.saturating_add(self.age_days.saturating_mul(DAY)).max(self.analyzer_created_at)
    }

    fn finding_id(&self, kind: FindingType, principal: &Principal, key: Option<&str>) -> String {
        let mut name = format!("{}\n{}\n{}", self.analyzer_id, kind.as_str(), principal.id);
        if let Some(key) = key {
            name.push('\n');
            name.push_str(key);
        }
        ids::uuid_of(&name)
    }
}

/// Whether an analysis rule's exclusions take the principal with `tags` out: it carries every
/// pair of one of the maps (compared by key case-insensitively, as IAM keeps tag keys unique;
/// an empty value matches any value).
pub(crate) fn excluded(exclusions: &[Exclusion], tags: &[(String, String)]) -> bool {
    let carries = |key: &str, value: &str| {
        tags.iter()
            .any(|(held, held_value)| held.eq_ignore_ascii_case(key) && (value.is_empty() || held_value == value))
    };
    exclusions
        .iter()
        .flat_map(|exclusion| exclusion.resource_tags.iter())
        .any(|pairs| !pairs.is_empty() && pairs.iter().all(|(key, value)| carries(key, value)))
}

/// The findings that hold now for `principals`, by resource, type and id.
pub(crate) fn findings(analysis: &Analysis<'_>, principals: &[Principal]) -> Vec<Finding> {
    let mut found = Vec::new();
    for principal in principals {
        if excluded(analysis.exclusions, &principal.tags) {
            continue;
        }
        let finding = |kind: FindingType, key: Option<&str>, since: (i64, i64), details: Details| Finding {
            id: analysis.finding_id(kind, principal, key),
            kind,
            resource: principal.arn.clone(),
            resource_type: principal.kind.resource_type(),
            created_at: since.0,
            updated_at: since.1,
            details,
        };
        let cutoff = analysis.cutoff();
        for key in principal.keys.iter().filter(|key| key.created_at <= cutoff) {
            if analysis.unused(key.last_used) {
                let since = analysis.unused_since(key.created_at, key.last_used);
                let details = Details::AccessKey { id: key.id.clone(), last_accessed: key.last_used };
                found.push(finding(FindingType::AccessKey, Some(&key.id), (since, since), details));
            }
        }
        if principal.created_at > cutoff {
            continue;
        }
        if analysis.unused(principal.last_activity) {
            if principal.kind == PrincipalKind::Role {
                let since = analysis.unused_since(principal.created_at, principal.last_activity);
                let details = Details::Role { last_accessed: principal.last_activity };
                found.push(finding(FindingType::Role, None, (since, since), details));
            }
            // An inactive principal's permissions are not analyzed (AWS: only for active
            // roles and users).
            continue;
        }
        let (services, times) = unused_services(analysis, principal);
        if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
            found.push(finding(FindingType::Permissions, None, (*first, *last), Details::Permissions(services)));
        }
    }
    found.sort_by(|a, b| (&a.resource, a.kind, &a.id).cmp(&(&b.resource, b.kind, &b.id)));
    found
}

/// The unused part of each service the principal's policies allow, and when each unused
/// action (or service) became unused.
fn unused_services(analysis: &Analysis<'_>, principal: &Principal) -> (Vec<UnusedService>, Vec<i64>) {
    let mut services = Vec::new();
    let mut times = Vec::new();
    for service in &principal.services {
        let service_last = service.last.as_ref().map(|access| access.time);
        let tracked = service.actions.as_deref().unwrap_or_default();
        let actions: Vec<UnusedAction> = tracked
            .iter()
            .map(|action| UnusedAction {
                action: action.name.clone(),
                last_accessed: action.last.as_ref().map(|access| access.time),
            })
            .filter(|action| analysis.unused(action.last_accessed))
            .collect();
        if tracked.is_empty() {
            if !analysis.unused(service_last) {
                continue;
            }
            times.push(analysis.unused_since(principal.created_at, service_last));
        } else if actions.is_empty() {
            continue;
        } else {
            times
                .extend(actions.iter().map(|action| analysis.unused_since(principal.created_at, action.last_accessed)));
        }
        services.push(UnusedService { namespace: service.namespace.clone(), last_accessed: service_last, actions });
    }
    (services, times)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use std::collections::BTreeMap;

    use super::*;
    use crate::iam::model::access_reports::{Access, ActionReport};

    const NOW: i64 = 1_000 * DAY;

    fn analysis(exclusions: &[Exclusion]) -> Analysis<'_> {
        Analysis { analyzer_id: "analyzer-1", analyzer_created_at: 0, age_days: 90, exclusions, now: NOW }
    }

    fn ago(days: i64) -> i64 {
        NOW - days * DAY
    }

    fn access(time: i64) -> Option<Access> {
        Some(Access { time, entity: "arn".to_owned(), region: "us-east-1".to_owned() })
    }

    fn principal(kind: PrincipalKind, name: &str, created_days_ago: i64, last_activity: Option<i64>) -> Principal {
        let noun = if kind == PrincipalKind::Role { "role" } else { "user" };
        Principal {
            kind,
            id: format!("ID{name}"),
            arn: format!("arn:aws:iam::111122223333:{noun}/{name}"),
            created_at: ago(created_days_ago),
            last_activity,
            keys: Vec::new(),
            tags: Vec::new(),
            services: Vec::new(),
        }
    }

    /// A service with tracked actions, each `(name, last access)`.
    fn service(namespace: &str, actions: &[(&str, Option<i64>)]) -> ServiceReport {
        let last = actions.iter().filter_map(|(_, last)| *last).max();
        ServiceReport {
            namespace: namespace.to_owned(),
            name: namespace.to_owned(),
            last: last.and_then(access),
            entities: Vec::new(),
            actions: Some(
                actions
                    .iter()
                    .map(|(name, last)| ActionReport { name: (*name).to_owned(), last: last.and_then(access) })
                    .collect(),
            ),
        }
    }

    fn kinds(found: &[Finding]) -> Vec<(&str, &str)> {
        found.iter().map(|finding| (finding.resource.rsplit('/').next().unwrap(), finding.kind.as_str())).collect()
    }

    #[test]
    fn a_role_is_unused_when_not_active_for_the_whole_period_and_old_enough() {
        let roles = [
            principal(PrincipalKind::Role, "never", 120, None),
            principal(PrincipalKind::Role, "at-the-cutoff", 120, Some(ago(90))),
            principal(PrincipalKind::Role, "a-second-after", 120, Some(ago(90) + 1)),
            principal(PrincipalKind::Role, "yesterday", 120, Some(ago(1))),
            principal(PrincipalKind::Role, "new", 89, None),
            principal(PrincipalKind::Role, "exactly-old-enough", 90, None),
        ];
        let found = findings(&analysis(&[]), &roles);
        assert_eq!(
            kinds(&found),
            [("at-the-cutoff", "UnusedIAMRole"), ("exactly-old-enough", "UnusedIAMRole"), ("never", "UnusedIAMRole")]
        );
        let never = found.iter().find(|finding| finding.resource.ends_with("/never")).unwrap();
        assert_eq!(never.details, Details::Role { last_accessed: None });
        assert_eq!(never.resource_type, "AWS::IAM::Role");
        assert_eq!((never.created_at, never.updated_at), (ago(30), ago(30)), "created 120 days ago, unused for 90");
        let cut = found.iter().find(|finding| finding.resource.ends_with("/at-the-cutoff")).unwrap();
        assert_eq!(cut.details, Details::Role { last_accessed: Some(ago(90)) });
        assert_eq!(cut.created_at, NOW);
    }

    #[test]
    fn a_key_is_unused_when_active_old_enough_and_not_used_within_the_period() {
        let mut user = principal(PrincipalKind::User, "alice", 200, Some(ago(1)));
        user.keys = vec![
            AccessKey { id: "AKIAOLD".to_owned(), created_at: ago(200), last_used: Some(ago(100)) },
            AccessKey { id: "AKIANEVER".to_owned(), created_at: ago(95), last_used: None },
            AccessKey { id: "AKIAUSED".to_owned(), created_at: ago(200), last_used: Some(ago(1)) },
            AccessKey { id: "AKIANEW".to_owned(), created_at: ago(10), last_used: None },
        ];
        let found = findings(&analysis(&[]), &[user]);
        let keys: Vec<&Details> = found.iter().map(|finding| &finding.details).collect();
        assert_eq!(found.iter().filter(|finding| finding.kind == FindingType::AccessKey).count(), 2);
        assert!(keys.contains(&&Details::AccessKey { id: "AKIAOLD".to_owned(), last_accessed: Some(ago(100)) }));
        assert!(keys.contains(&&Details::AccessKey { id: "AKIANEVER".to_owned(), last_accessed: None }));
        let old =
            found.iter().find(|f| matches!(&f.details, Details::AccessKey { id, .. } if id == "AKIAOLD")).unwrap();
        assert_eq!(old.created_at, ago(10), "last used 100 days ago: unused for 90 since 10 days ago");
        assert_eq!(old.resource_type, "AWS::IAM::User");
        assert!(found.iter().all(|finding| finding.kind != FindingType::Permissions), "nothing is allowed");
    }

    #[test]
    fn unused_permissions_list_each_service_with_its_unused_actions_for_active_principals_only() {
        let mut user = principal(PrincipalKind::User, "alice", 200, Some(ago(1)));
        user.services = vec![
            service("ecs", &[("ListClusters", Some(ago(1)))]),
            service("logs", &[("CreateLogGroup", None), ("DescribeLogGroups", Some(ago(120)))]),
            service("iam", &[("GetUser", Some(ago(2))), ("PassRole", Some(ago(91)))]),
            // A service whose actions are not tracked: unused as a whole.
            ServiceReport {
                namespace: "s3".to_owned(),
                name: "s3".to_owned(),
                last: None,
                entities: Vec::new(),
                actions: Some(Vec::new()),
            },
        ];
        let found = findings(&analysis(&[]), std::slice::from_ref(&user));
        assert_eq!(kinds(&found), [("alice", "UnusedPermission")]);
        let Details::Permissions(services) = &found[0].details else { panic!("{found:?}") };
        let namespaces: Vec<&str> = services.iter().map(|service| service.namespace.as_str()).collect();
        assert_eq!(namespaces, ["logs", "iam", "s3"], "ecs was used");
        assert_eq!(
            services[0].actions,
            [
                UnusedAction { action: "CreateLogGroup".to_owned(), last_accessed: None },
                UnusedAction { action: "DescribeLogGroups".to_owned(), last_accessed: Some(ago(120)) },
            ]
        );
        assert_eq!(services[0].last_accessed, Some(ago(120)));
        assert_eq!(services[1].actions, [UnusedAction { action: "PassRole".to_owned(), last_accessed: Some(ago(91)) }]);
        assert_eq!(services[1].last_accessed, Some(ago(2)), "the service's own last access");
        assert!(services[2].actions.is_empty());
        // Created 200 days ago: never-used actions became unused 110 days ago; PassRole a day ago.
        assert_eq!((found[0].created_at, found[0].updated_at), (ago(110), ago(1)));

        // Inactive: no permission is analyzed (a user has no finding of its own).
        let idle = Principal { last_activity: Some(ago(91)), ..user.clone() };
        assert!(findings(&analysis(&[]), &[idle]).is_empty());
        // Everything used: nothing.
        let busy = Principal { services: vec![service("ecs", &[("ListClusters", Some(ago(1)))])], ..user };
        assert!(findings(&analysis(&[]), &[busy]).is_empty());
    }

    #[test]
    fn ids_are_stable_and_apart_and_findings_never_predate_their_analyzer() {
        let mut role = principal(PrincipalKind::Role, "r", 400, None);
        role.services = vec![service("logs", &[("CreateLogGroup", None)])];
        let first = findings(&analysis(&[]), std::slice::from_ref(&role));
        assert_eq!(first, findings(&analysis(&[]), std::slice::from_ref(&role)), "the same at every read");
        let other = Analysis { analyzer_id: "analyzer-2", ..analysis(&[]) };
        assert_ne!(first[0].id, findings(&other, std::slice::from_ref(&role))[0].id, "another analyzer's");
        let namesake = Principal { id: "IDother".to_owned(), ..role.clone() };
        assert_ne!(first[0].id, findings(&analysis(&[]), &[namesake])[0].id, "a namesake's");
        assert_eq!(first[0].created_at, ago(310));
        let recent = Analysis { analyzer_created_at: ago(5), ..analysis(&[]) };
        assert_eq!(findings(&recent, &[role])[0].created_at, ago(5));
    }

    #[test]
    fn an_analysis_rule_excludes_principals_by_their_tags() {
        let rule = |pairs: &[(&str, &str)]| Exclusion {
            resource_tags: vec![
                pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
            ],
        };
        let tags = vec![("Team".to_owned(), "platform".to_owned()), ("env".to_owned(), "prod".to_owned())];
        assert!(excluded(&[rule(&[("team", "platform")])], &tags), "keys compare case-insensitively");
        assert!(excluded(&[rule(&[("env", "")])], &tags), "an empty value matches any value");
        assert!(excluded(&[rule(&[("env", "prod"), ("team", "platform")])], &tags));
        assert!(!excluded(&[rule(&[("env", "prod"), ("owner", "")])], &tags), "every pair of a map");
        assert!(!excluded(&[rule(&[("team", "Platform")])], &tags), "values compare exactly");
        assert!(!excluded(&[rule(&[])], &tags));
        assert!(!excluded(&[], &tags));

        let mut role = principal(PrincipalKind::Role, "tagged", 120, None);
        role.tags = tags;
        assert!(findings(&analysis(&[rule(&[("env", "prod")])]), &[role.clone()]).is_empty());
        assert_eq!(findings(&analysis(&[rule(&[("env", "dev")])]), &[role]).len(), 1);
    }
}
