//! What Secrets Manager's lists share: `MaxResults`/`NextToken` paging and ListSecrets'
//! `Filters` (prefix matches, `!` negating), over the secrets of the request's region.

use aws_protocol::AwsError;
use serde_json::Value as Json;

use crate::ids;
use crate::operations::Ctx;
use crate::secretsmanager::model::{self, Secret};
use crate::secretsmanager::{invalid_parameter, validation};

/// `MaxResults` (1 to `max`, `max` by default) and an offset `NextToken`.
pub fn page_of(body: &Json, max: i64) -> Result<(usize, usize), AwsError> {
    let size = match body.get("MaxResults") {
        None | Some(Json::Null) => max,
        Some(value) => value.as_i64().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {max}"
            ))
        })?,
    };
    let start = match body.get("NextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The NextToken value is not valid."))?,
    };
    Ok((start, usize::try_from(size).unwrap_or(100)))
}

/// ListSecrets' and ListSecretVersionIds' paging (1 to 100).
pub fn page(body: &Json) -> Result<(usize, usize), AwsError> {
    page_of(body, 100)
}

/// A ListSecrets filter: its key and values (a value starting with `!` negates).
pub type Filter = (String, Vec<String>);

/// `Filters`: keys `description`, `name`, `tag-key`, `tag-value`, `primary-region`,
/// `owning-service`, `all`.
pub fn filters(body: &Json) -> Result<Vec<Filter>, AwsError> {
    let Some(items) = body.get("Filters").and_then(Json::as_array) else { return Ok(Vec::new()) };
    items
        .iter()
        .map(|item| {
            let key = item.get("Key").and_then(Json::as_str).unwrap_or_default();
            if !["description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"].contains(&key) {
                return Err(validation(format!(
                    "1 validation error detected: Value '{key}' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, description, primary-region, owning-service, tag-value]"
                )));
            }
            let values: Vec<String> = item
                .get("Values")
                .and_then(Json::as_array)
                .map(|values| values.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            Ok((key.to_owned(), values))
        })
        .collect()
}

/// Whether a secret passes a filter: a value matches a field it prefixes (case-sensitive
/// for names, as AWS; `!` negates it); values of one filter are alternatives.
fn passes(secret: &Secret, (key, values): &Filter) -> bool {
    let fields: Vec<&str> = match key.as_str() {
        "name" => vec![secret.name.as_str()],
        "description" => secret.description.as_deref().into_iter().collect(),
        "tag-key" => secret.tags.iter().map(|(k, _)| k.as_str()).collect(),
        "tag-value" => secret.tags.iter().map(|(_, v)| v.as_str()).collect(),
        "primary-region" | "owning-service" => Vec::new(),
        _ => {
            let mut all = vec![secret.name.as_str()];
            all.extend(secret.description.as_deref());
            all.extend(secret.tags.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
            all
        }
    };
    values.iter().any(|value| match value.strip_prefix('!') {
        Some(negated) => !fields.iter().any(|field| field.starts_with(negated)),
        None => fields.iter().any(|field| field.starts_with(value.as_str())),
    })
}

/// The secrets of the region that pass every filter (and are not scheduled for deletion,
/// unless `planned_deletion`), by name.
pub async fn matching(ctx: &Ctx<'_>, filters: &[Filter], planned_deletion: bool) -> Result<Vec<Secret>, AwsError> {
    let all = model::all(&ctx.app.store, ctx.account(), ctx.region(), ids::now()).await?;
    Ok(all
        .into_iter()
        .filter(|secret| planned_deletion || secret.deletion_date.is_none())
        .filter(|secret| filters.iter().all(|filter| passes(secret, filter)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, tags: &[(&str, &str)]) -> Secret {
        Secret {
            name: name.to_owned(),
            arn: format!("arn:aws:secretsmanager:us-east-1:111122223333:secret:{name}-AbCdEf"),
            description: Some("the database".to_owned()),
            kms_key_id: None,
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            policy: None,
            policy_principals: None,
            generation: 1,
            created_at: 1,
            changed_at: 1,
            accessed_at: None,
            deletion_date: None,
        }
    }

    #[test]
    fn filters_match_prefixes_and_negations() {
        let db = secret("prod/db", &[("team", "ops")]);
        let filter = |key: &str, values: &[&str]| (key.to_owned(), values.iter().map(|v| (*v).to_owned()).collect());
        assert!(passes(&db, &filter("name", &["prod/"])));
        assert!(!passes(&db, &filter("name", &["db"])));
        assert!(!passes(&db, &filter("name", &["!prod"])));
        assert!(passes(&db, &filter("name", &["!dev", "x"])));
        assert!(passes(&db, &filter("tag-key", &["te"])));
        assert!(passes(&db, &filter("tag-value", &["ops"])));
        assert!(passes(&db, &filter("description", &["the"])));
        assert!(passes(&db, &filter("all", &["ops"])));
        assert!(!passes(&db, &filter("all", &["zzz"])));
    }
}
