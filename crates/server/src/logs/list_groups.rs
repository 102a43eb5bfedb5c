//! ListLogGroups, the paginated listing of a region's log groups (name, ARN and class).
//!
//! Guarantees: `logGroupNamePattern` is CloudWatch's: up to five `|`-separated alternatives,
//! each a case-sensitive substring, or a prefix when it starts with `^` (the model has checked
//! its shape); `logGroupClass` and `logGroupTags` (every filter's key, with one of its values
//! when it lists any) filter as documented; `limit` is 1 to 1,000 (50 by default) and
//! `nextToken` an offset in name order. Homeport has no linked source accounts, no data
//! sources and no field indexes: `includeLinkedAccounts` adds no group, `accountIdentifiers`
//! may name only the caller's own account, and a `dataSources` or `fieldIndexNames` filter
//! matches no group.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::{group, tags};
use super::{group_arn, invalid_parameter};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(
    logs,
    LIST_LOG_GROUPS,
    "ListLogGroups",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:logs:{}:{}:log-group:*", ctx.region(), ctx.account())]) }),
    |ctx| json_op(list_log_groups(ctx))
);

/// Whether `name` matches a ListLogGroups pattern (`^prefix|substring|...`).
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    pattern.split('|').any(|alternative| match alternative.strip_prefix('^') {
        Some(prefix) => name.starts_with(prefix),
        None => name.contains(alternative),
    })
}

/// A `logGroupTags` filter: a key, and the values any of which it must have (any, when none).
struct TagFilter<'a> {
    key: &'a str,
    values: Vec<&'a str>,
}

fn tag_filters(body: &Json) -> Vec<TagFilter<'_>> {
    body.get("logGroupTags")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|filter| {
            Some(TagFilter {
                key: filter.get("key")?.as_str()?,
                values: filter
                    .get("values")
                    .and_then(Json::as_array)
                    .map(|values| values.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

async fn list_log_groups(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let limit = match ctx.body.get("limit").and_then(Json::as_u64) {
        Some(limit) => usize::try_from(limit).unwrap_or(50),
        None => 50,
    };
    let start = match ctx.body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The specified nextToken is invalid."))?,
    };
    super::no_linked_accounts(ctx)?;
    let pattern = ctx.body.get("logGroupNamePattern").and_then(Json::as_str);
    let class = ctx.body.get("logGroupClass").and_then(Json::as_str);
    let filters = tag_filters(ctx.body);
    // No group has data sources or field indexes here, so such a filter matches none.
    let needs_absent = ["dataSources", "fieldIndexNames"].iter().any(|member| ctx.body.get(*member).is_some());
    let mut found = Vec::new();
    for stored in group::all(&ctx.app.store, ctx.scope()).await? {
        if needs_absent
            || pattern.is_some_and(|pattern| !matches_pattern(pattern, &stored.name))
            || class.is_some_and(|class| class != stored.class)
        {
            continue;
        }
        let arn = group_arn(ctx.scope(), &stored.name);
        if !filters.is_empty() {
            let held = crate::tags::of(&ctx.app.store, ctx.account(), tags::KIND, &arn)
                .await
                .map_err(crate::errors::internal)?;
            let has = |filter: &TagFilter<'_>| {
                held.iter().any(|(key, value)| {
                    key == filter.key && (filter.values.is_empty() || filter.values.contains(&value.as_str()))
                })
            };
            if !filters.iter().all(has) {
                continue;
            }
        }
        found.push(json!({"logGroupName": stored.name, "logGroupArn": arn, "logGroupClass": stored.class}));
    }
    Ok(crate::operations::json_page("logGroups", "nextToken", found, start, limit))
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn a_pattern_is_prefixes_and_substrings_case_sensitive() {
        let table = [
            ("^/aws/lambda|discovery", "/aws/lambda/f", true),
            ("^/aws/lambda|discovery", "/app/discovery/x", true),
            ("^/aws/lambda|discovery", "/app/Discovery", false),
            ("^/aws/lambda|discovery", "/x/aws/lambda", false),
            ("web", "/app/web-1", true),
        ];
        for (pattern, name, expected) in table {
            assert_eq!(matches_pattern(pattern, name), expected, "{pattern} {name}");
        }
    }
}
