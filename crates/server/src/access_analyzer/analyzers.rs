//! Analyzers: `CreateAnalyzer` (`PUT /analyzer`), `GetAnalyzer` (`GET /analyzer/{analyzerName}`),
//! `ListAnalyzers` (`GET /analyzer`), `UpdateAnalyzer` (`PUT /analyzer/{analyzerName}`),
//! `DeleteAnalyzer` (`DELETE /analyzer/{analyzerName}`).
//!
//! Guarantees:
//! - Only unused access analyzers of the account (`ACCOUNT_UNUSED_ACCESS`) are created, one
//!   per account (AWS's quota: `ServiceQuotaExceededException`); a name is taken once
//!   (`ConflictException`), except by a retry with the same `clientToken`, which answers the
//!   analyzer it made. Every other type is refused with `ValidationException` (`notSupported`):
//!   external and internal access analysis read resource policies Homeport does not analyze,
//!   and there are no Organizations.
//! - Everything accepted is kept and answered: the tracking period (`unusedAccessAge`, 90
//!   days unless given, 1 to 365), the analysis rule's exclusions by tags, the tags. What
//!   Homeport cannot honour is refused, never dropped: archive rules (`notSupported`), an
//!   exclusion by account (organization analyzers only), an `internalAccess` configuration.
//! - An analyzer is named by its exact name, and authorized as
//!   `arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME`, the Service Authorization
//!   Reference's `Analyzer` resource (ListAnalyzers on `*`).

use std::collections::BTreeMap;

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::model::analyzers::{self as model, ACCOUNT_UNUSED_ACCESS, Analyzer, Created, Exclusion, UnusedAccess};
use super::{
    any_resource, check_enum, invalid, optional_integer, optional_object, optional_string, out_of_range, page_size,
    query_integer, required_enum, required_string,
};
use crate::errors::internal;
use crate::ids;
use crate::operations::{Ctx, ResourcesFuture, json as json_op, operation};

operation!(
    access_analyzer,
    CREATE_ANALYZER,
    "CreateAnalyzer",
    Write,
    created_resource,
    |ctx| json_op(create(ctx)),
    action = "access-analyzer:CreateAnalyzer",
    http = ("PUT", "/analyzer", 200),
);

operation!(
    access_analyzer,
    GET_ANALYZER,
    "GetAnalyzer",
    Read,
    named_resource,
    |ctx| json_op(get(ctx)),
    action = "access-analyzer:GetAnalyzer",
    http = ("GET", "/analyzer/{analyzerName}", 200),
);

operation!(
    access_analyzer,
    LIST_ANALYZERS,
    "ListAnalyzers",
    Read,
    any_resource,
    |ctx| json_op(list(ctx)),
    action = "access-analyzer:ListAnalyzers",
    http = ("GET", "/analyzer", 200),
);

operation!(
    access_analyzer,
    UPDATE_ANALYZER,
    "UpdateAnalyzer",
    Write,
    named_resource,
    |ctx| json_op(update(ctx)),
    action = "access-analyzer:UpdateAnalyzer",
    http = ("PUT", "/analyzer/{analyzerName}", 200),
);

operation!(
    access_analyzer,
    DELETE_ANALYZER,
    "DeleteAnalyzer",
    Write,
    named_resource,
    |ctx| json_op(delete(ctx)),
    action = "access-analyzer:DeleteAnalyzer",
    http = ("DELETE", "/analyzer/{analyzerName}", 200),
);

/// Every analyzer type of the model (`Type`).
pub(crate) const TYPES: &[&str] = &[
    "ACCOUNT",
    "ORGANIZATION",
    "ACCOUNT_UNUSED_ACCESS",
    "ORGANIZATION_UNUSED_ACCESS",
    "ACCOUNT_INTERNAL_ACCESS",
    "ORGANIZATION_INTERNAL_ACCESS",
];

/// AWS's default tracking period, and the model's range.
pub(crate) const DEFAULT_AGE_DAYS: i64 = 90;
const AGE_DAYS: std::ops::RangeInclusive<i64> = 1..=365;

/// Tags an analyzer carries at most (CloudFormation's documented maximum for analyzers).
const MAX_TAGS: usize = 50;

/// The `Analyzer` resource the request names by its path.
fn named_resource<'a>(ctx: &'a Ctx<'a>) -> ResourcesFuture<'a> {
    let name = ctx.label("analyzerName").unwrap_or_default().to_owned();
    Box::pin(async move { Ok(vec![model::arn(ctx.region(), ctx.account(), &name)]) })
}

/// The `Analyzer` resource CreateAnalyzer would make, as its name is spelled.
fn created_resource<'a>(ctx: &'a Ctx<'a>) -> ResourcesFuture<'a> {
    let name = ctx.body.get("analyzerName").and_then(Json::as_str).unwrap_or_default().to_owned();
    Box::pin(async move { Ok(vec![model::arn(ctx.region(), ctx.account(), &name)]) })
}

/// `AnalyzerName`: 1 to 255 characters of `[A-Za-z_][A-Za-z0-9_.-]*`.
pub(crate) fn check_name(name: &str, member: &str) -> Result<(), AwsError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let shown: String = name.chars().take(256).collect();
    let constraint = match name.chars().count() {
        0 => "Member must have length greater than or equal to 1",
        256.. => "Member must have length less than or equal to 255",
        _ if !(first_ok && rest_ok) => "Member must satisfy regular expression pattern: [A-Za-z_][A-Za-z0-9_.-]*",
        _ => return Ok(()),
    };
    Err(invalid(
        "fieldValidationFailed",
        member,
        format!(
            "1 validation error detected: Value '{shown}' at '{member}' failed to satisfy constraint: {constraint}"
        ),
    ))
}

/// The analyzer the path names, checked: `ResourceNotFoundException` when there is none.
async fn named(ctx: &Ctx<'_>) -> Result<Analyzer, AwsError> {
    let name = ctx.label("analyzerName").unwrap_or_default();
    check_name(name, "analyzerName")?;
    model::find(&ctx.app.store, ctx.scope(), name).await.map_err(internal)?.ok_or_else(|| not_found(name))
}

/// `ResourceNotFoundException` for the analyzer `id` (its name or ARN).
pub(crate) fn not_found(id: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", 404, format!("Analyzer {id} not found."))
        .with_member("resourceId", json!(id))
        .with_member("resourceType", json!("Analyzer"))
}

/// One tag set (`TagsMap`), as the model documents its keys and values: keys of 1 to 128
/// characters not starting with `aws:`, values of 0 to 256, of Unicode letters, digits,
/// whitespace and `_ . / = + -`.
fn tag_map(value: &Json, member: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid("cannotParse", member, format!("Member '{member}' must be a map of strings.")))?;
    let allowed = |text: &str| text.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_./=+-".contains(c));
    let mut tags = BTreeMap::new();
    for (key, value) in map {
        let value = value
            .as_str()
            .ok_or_else(|| invalid("cannotParse", member, format!("Member '{member}' must be a map of strings.")))?;
        let shown: String = key.chars().take(128).collect();
        let problem = if key.is_empty() || key.chars().count() > 128 {
            Some(format!("The tag key {shown} must be 1 to 128 characters long."))
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            Some(format!("The tag key {shown} must not start with aws:."))
        } else if value.chars().count() > 256 {
            Some(format!("The value of tag {shown} must be at most 256 characters long."))
        } else if !allowed(key) || !allowed(value) {
            Some(format!(
                "The tag {shown} may hold only Unicode letters, digits, whitespace, and the characters _ . / = + -."
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(invalid("fieldValidationFailed", member, message));
        }
        tags.insert(key.clone(), value.to_owned());
    }
    Ok(tags)
}

/// A list member (`None` when absent or `null`).
fn optional_list<'a>(body: &'a Json, member: &str) -> Result<Option<&'a Vec<Json>>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(list)) => Ok(Some(list)),
        Some(_) => Err(invalid("cannotParse", member, format!("Member '{member}' must be a list."))),
    }
}

/// The request's `configuration` (`AnalyzerConfiguration`, a union) for an unused access
/// analyzer; `None` when absent.
fn configuration(body: &Json) -> Result<Option<UnusedAccess>, AwsError> {
    let Some(configuration) = optional_object(body, "configuration")? else { return Ok(None) };
    let set: Vec<&String> =
        configuration.as_object().into_iter().flatten().filter(|(_, value)| !value.is_null()).map(|(k, _)| k).collect();
    if set.len() != 1 {
        return Err(invalid(
            "fieldValidationFailed",
            "configuration",
            "The configuration must set exactly one of its members: unusedAccess for an ACCOUNT_UNUSED_ACCESS analyzer.",
        ));
    }
    let Some(unused) = optional_object(configuration, "unusedAccess")? else {
        return Err(invalid(
            "fieldValidationFailed",
            "configuration",
            "An ACCOUNT_UNUSED_ACCESS analyzer takes an unusedAccess configuration, not internalAccess.",
        ));
    };
    let age_days = optional_integer(unused, "unusedAccessAge")?.unwrap_or(DEFAULT_AGE_DAYS);
    if !AGE_DAYS.contains(&age_days) {
        let bound = if age_days < 1 { "greater than or equal to 1" } else { "less than or equal to 365" };
        return Err(out_of_range("unusedAccessAge", age_days, bound));
    }
    let exclusions = match optional_object(unused, "analysisRule")? {
        None => None,
        Some(rule) => {
            let mut exclusions = Vec::new();
            for criteria in optional_list(rule, "exclusions")?.into_iter().flatten() {
                if !criteria.is_object() {
                    return Err(invalid("cannotParse", "exclusions", "Member 'exclusions' must be a list of objects."));
                }
                if optional_list(criteria, "accountIds")?.is_some_and(|ids| !ids.is_empty()) {
                    return Err(invalid(
                        "fieldValidationFailed",
                        "accountIds",
                        "Account IDs apply only to the analysis rules of organization analyzers.",
                    ));
                }
                let mut resource_tags = Vec::new();
                for tags in optional_list(criteria, "resourceTags")?.into_iter().flatten() {
                    let tags = tag_map(tags, "resourceTags")?;
                    if tags.is_empty() {
                        return Err(invalid(
                            "fieldValidationFailed",
                            "resourceTags",
                            "A tag map of an exclusion is empty.",
                        ));
                    }
                    resource_tags.push(tags);
                }
                if resource_tags.is_empty() {
                    return Err(invalid(
                        "fieldValidationFailed",
                        "exclusions",
                        "An exclusion must name resource tags: an account analyzer excludes principals by their tags.",
                    ));
                }
                exclusions.push(Exclusion { resource_tags });
            }
            Some(exclusions)
        }
    };
    Ok(Some(UnusedAccess { age_days, exclusions }))
}

/// The configuration as the model answers it (`AnalyzerConfiguration`).
pub(crate) fn configuration_json(configuration: &UnusedAccess) -> Json {
    let mut unused = Map::new();
    unused.insert("unusedAccessAge".to_owned(), json!(configuration.age_days));
    if let Some(exclusions) = &configuration.exclusions {
        let exclusions: Vec<Json> =
            exclusions.iter().map(|exclusion| json!({"resourceTags": exclusion.resource_tags})).collect();
        unused.insert("analysisRule".to_owned(), json!({"exclusions": exclusions}));
    }
    json!({"unusedAccess": unused})
}

/// An `AnalyzerSummary` (its configuration only where GetAnalyzer answers it).
fn summary(ctx: &Ctx<'_>, analyzer: &Analyzer, with_configuration: bool) -> Json {
    let mut summary = json!({
        "arn": analyzer.arn(ctx.region(), ctx.account()),
        "name": analyzer.name,
        "type": analyzer.kind,
        "createdAt": ids::iso8601(analyzer.created_at),
        "status": "ACTIVE",
        "tags": analyzer.tags,
    });
    if with_configuration {
        crate::operations::put(&mut summary, "configuration", configuration_json(&analyzer.configuration));
    }
    summary
}

async fn create(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let name = required_string(body, "analyzerName")?;
    check_name(name, "analyzerName")?;
    let kind = required_enum(body, "type", TYPES)?;
    if kind != ACCOUNT_UNUSED_ACCESS {
        return Err(invalid(
            "notSupported",
            "type",
            format!(
                "Homeport creates only ACCOUNT_UNUSED_ACCESS analyzers, not {kind}: it does not analyze the resource policies external and internal access analyzers read, and has no Organizations."
            ),
        ));
    }
    if optional_list(body, "archiveRules")?.is_some_and(|rules| !rules.is_empty()) {
        return Err(invalid(
            "notSupported",
            "archiveRules",
            "Homeport does not apply archive rules: archive findings with UpdateFindings.",
        ));
    }
    let tags = match body.get("tags") {
        None | Some(Json::Null) => BTreeMap::new(),
        Some(tags) => tag_map(tags, "tags")?,
    };
    if tags.len() > MAX_TAGS {
        return Err(invalid("fieldValidationFailed", "tags", format!("An analyzer carries at most {MAX_TAGS} tags.")));
    }
    let configuration = configuration(body)?.unwrap_or(UnusedAccess { age_days: DEFAULT_AGE_DAYS, exclusions: None });
    let analyzer = Analyzer {
        name: name.to_owned(),
        id: ids::uuid().map_err(internal)?,
        kind: kind.to_owned(),
        created_at: ids::now(),
        client_token: optional_string(body, "clientToken")?.map(str::to_owned),
        configuration,
        tags,
    };
    let arn = |analyzer: &Analyzer| json!({"arn": analyzer.arn(ctx.region(), ctx.account())});
    match model::insert(&ctx.app.store, ctx.scope(), &analyzer).await {
        Ok(Created::New) => Ok(arn(&analyzer)),
        Ok(Created::Retried(existing)) => Ok(arn(&existing)),
        Ok(Created::NameTaken) | Err(store::StoreError::Conflict) => {
            Err(AwsError::new("ConflictException", 409, format!("Analyzer {name} already exists."))
                .with_member("resourceId", json!(name))
                .with_member("resourceType", json!("Analyzer")))
        }
        Ok(Created::TypeTaken(holder)) => Err(AwsError::new(
            "ServiceQuotaExceededException",
            402,
            format!("The account has an {kind} analyzer already ({holder}): its quota is one per account and Region."),
        )
        .with_member("resourceId", json!(name))
        .with_member("resourceType", json!("Analyzer"))),
        Err(error) => Err(internal(error)),
    }
}

async fn get(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let analyzer = named(ctx).await?;
    Ok(json!({"analyzer": summary(ctx, &analyzer, true)}))
}

/// Analyzers per page unless `maxResults` says otherwise, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

async fn list(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let kind = ctx.query("type");
    if let Some(kind) = kind {
        check_enum(kind, "type", TYPES)?;
    }
    let size = page_size(query_integer(ctx, "maxResults")?, DEFAULT_PAGE, MAX_PAGE)?;
    let after = ctx.query("nextToken");
    if let Some(token) = after {
        check_name(token, "nextToken")
            .map_err(|_| invalid("fieldValidationFailed", "nextToken", "The nextToken is not valid."))?;
    }
    let mut analyzers = model::page(&ctx.app.store, ctx.scope(), kind, after, size + 1).await.map_err(internal)?;
    let more = analyzers.len() > size;
    analyzers.truncate(size);
    let listed: Vec<Json> = analyzers.iter().map(|analyzer| summary(ctx, analyzer, false)).collect();
    Ok(match analyzers.last().filter(|_| more) {
        Some(last) => json!({"analyzers": listed, "nextToken": last.name}),
        None => json!({"analyzers": listed}),
    })
}

async fn update(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let analyzer = named(ctx).await?;
    let Some(configuration) = configuration(ctx.body)? else {
        return Ok(json!({"configuration": configuration_json(&analyzer.configuration)}));
    };
    if !model::configure(&ctx.app.store, ctx.scope(), &analyzer.name, &configuration).await.map_err(internal)? {
        return Err(not_found(&analyzer.name));
    }
    Ok(json!({"configuration": configuration_json(&configuration)}))
}

async fn delete(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = ctx.label("analyzerName").unwrap_or_default();
    check_name(name, "analyzerName")?;
    // `clientToken` (query) is accepted: deleting changes nothing twice, but a retry after a
    // success finds no analyzer and says so (AWS would answer it as the first).
    if !model::delete(&ctx.app.store, ctx.scope(), name).await.map_err(internal)? {
        return Err(not_found(name));
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn names_follow_the_models_pattern_and_length() {
        for name in ["unused", "_a", "A.b-c_9", &"a".repeat(255)] {
            assert!(check_name(name, "analyzerName").is_ok(), "{name}");
        }
        for name in ["", "9a", "-a", "a b", "a/b", "é", &"a".repeat(256)] {
            assert_eq!(check_name(name, "analyzerName").unwrap_err().code, "ValidationException", "{name}");
        }
    }

    #[test]
    fn a_configuration_is_checked_and_answered_as_given() {
        let parse = |value: Json| configuration(&json!({"configuration": value}));
        assert_eq!(parse(json!({"unusedAccess": {}})).unwrap(), Some(UnusedAccess { age_days: 90, exclusions: None }));
        let given = json!({"unusedAccess": {"unusedAccessAge": 30, "analysisRule": {"exclusions": [{"resourceTags": [{"team": "ops"}]}]}}});
        let parsed = parse(given.clone()).unwrap().unwrap();
        assert_eq!(parsed.age_days, 30);
        assert_eq!(configuration_json(&parsed), given);
        assert_eq!(configuration(&json!({})).unwrap(), None);
        for refused in [
            json!({"unusedAccess": {"unusedAccessAge": 0}}),
            json!({"unusedAccess": {"unusedAccessAge": 366}}),
            json!({"unusedAccess": {"unusedAccessAge": "90"}}),
            json!({"internalAccess": {}}),
            json!({}),
            json!({"unusedAccess": {}, "internalAccess": {}}),
            json!({"unusedAccess": {"analysisRule": {"exclusions": [{"accountIds": ["111122223333"]}]}}}),
            json!({"unusedAccess": {"analysisRule": {"exclusions": [{}]}}}),
            json!({"unusedAccess": {"analysisRule": {"exclusions": [{"resourceTags": [{}]}]}}}),
            json!({"unusedAccess": {"analysisRule": {"exclusions": [{"resourceTags": [{"aws:x": "y"}]}]}}}),
            json!("unusedAccess"),
        ] {
            assert_eq!(parse(refused.clone()).unwrap_err().code, "ValidationException", "{refused}");
        }
    }

    #[test]
    fn tags_are_checked_as_the_model_documents_them() {
        assert_eq!(tag_map(&json!({"team": "ops", "cost center": "a/b=c+d-e_f.g"}), "tags").unwrap().len(), 2);
        assert!(tag_map(&json!({"env": ""}), "tags").is_ok(), "an empty value");
        for refused in [
            json!({"": "x"}),
            json!({"aws:owner": "x"}),
            json!({"AWS:owner": "x"}),
            json!({"a": "x".repeat(257)}),
            json!({"k".repeat(129): "x"}),
            json!({"a": "semi;colon"}),
            json!({"a": 1}),
            json!(["a"]),
        ] {
            assert_eq!(tag_map(&refused, "tags").unwrap_err().code, "ValidationException", "{refused}");
        }
    }
}
