//! What the SSM operations share: their declaration (awsJson 1.1, target prefix `AmazonSSM`,
//! action `ssm:NAME`), SSM's error shapes, JSON timestamps, tags, filters, `NextToken` paging,
//! and whether a role trusts `ssm.amazonaws.com`. Parameter Store is `parameters` (reads and
//! writes), `parameter_history` (history, labels, DescribeParameters, tags) and
//! `parameter_names` (names, ARNs, selectors, key ids). What SSM stores, and the SQL, is the domain
//! layer's (`model`).

pub(crate) mod activations;
pub(crate) mod downloads;
pub(crate) mod errors;
pub(crate) mod instance_protocol;
pub(crate) mod instances;
pub(crate) mod model;
pub(crate) mod parameter_history;
pub(crate) mod parameter_names;
pub(crate) mod parameters;

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::iam::roles::Role;
use crate::ssm::model::tags::Tag;

/// The `X-Amz-Target` prefix of SSM.
pub const SSM_TARGET: &str = "AmazonSSM";

pub use crate::operations::put;

pub use errors::{invalid_parameters, too_many_tags, validation_exception};

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "ssm",
    protocol: aws_protocol::Protocol::Json,
    namespace: SSM_TARGET,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
    admits: crate::operations::admit_all,
};

/// A timestamp member as the SDKs send it: epoch seconds, possibly fractional.
pub fn epoch(value: &Json) -> Option<i64> {
    let seconds = value.as_f64()?;
    (0.0..1e12).contains(&seconds).then(|| seconds.floor() as i64)
}

/// The `Tags` list of a request body (`[{"Key", "Value"}]`), as SSM validates it.
pub fn tags_from_body(body: &Json) -> Result<Vec<(String, String)>, AwsError> {
    let Some(items) = body.get("Tags").and_then(Json::as_array) else { return Ok(Vec::new()) };
    if items.len() > 1000 {
        return Err(validation_exception(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1000",
        ));
    }
    items
        .iter()
        .map(|item| {
            let key = item.get("Key").and_then(Json::as_str).unwrap_or_default();
            let value = item.get("Value").and_then(Json::as_str).unwrap_or_default();
            if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
                return Err(validation_exception(format!(
                    "1 validation error detected: Value '{key}' at 'tags' failed to satisfy constraint: a key has 1 to 128 characters, a value at most 256"
                )));
            }
            Ok((key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Tags one SSM resource may carry (SSM's quota for most resources).
pub const TAGS_PER_RESOURCE: i64 = model::tags::PER_RESOURCE;

/// Tags as SSM returns them (`[{"Key", "Value"}]`, in the order given).
pub fn tags_json(tags: Vec<Tag>) -> Vec<Json> {
    tags.into_iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect()
}

/// A request's filters: `[{KEY_MEMBER: key, VALUES_MEMBER: [..]}]`, each key one of `known`.
pub fn filters(
    body: &Json,
    list: &str,
    key_member: &str,
    values_member: &str,
    known: &[&str],
    error: &str,
) -> Result<Vec<(String, Vec<String>)>, AwsError> {
    let Some(items) = body.get(list).and_then(Json::as_array) else { return Ok(Vec::new()) };
    items
        .iter()
        .map(|item| {
            let key = item.get(key_member).and_then(Json::as_str).unwrap_or_default();
            if !known.contains(&key) {
                return Err(AwsError::new(error, 400, format!("The filter key {key} is not valid.")));
            }
            let values = item
                .get(values_member)
                .and_then(Json::as_array)
                .map(|values| values.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            Ok((key.to_owned(), values))
        })
        .collect()
}

/// `MaxResults` / `NextToken` paging over a list computed whole (tokens are offsets).
pub struct Page {
    start: usize,
    size: usize,
}

impl Page {
    pub fn from_body(body: &Json, bounds: std::ops::RangeInclusive<i64>, default: i64) -> Result<Page, AwsError> {
        let size = match body.get("MaxResults") {
            None | Some(Json::Null) => default,
            Some(value) => value.as_i64().filter(|n| bounds.contains(n)).ok_or_else(|| {
                validation_exception(format!(
                    "1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have value between {} and {}",
                    bounds.start(),
                    bounds.end()
                ))
            })?,
        };
        let start = match body.get("NextToken").and_then(Json::as_str) {
            None => 0,
            Some(token) => token
                .parse::<usize>()
                .map_err(|_| AwsError::new("InvalidNextToken", 400, "The specified token is not valid."))?,
        };
        Ok(Page { start, size: usize::try_from(size).unwrap_or(50) })
    }

    /// `{LIST: this page's items, "NextToken": ...}`.
    pub fn answer(&self, list: &str, items: Vec<Json>) -> Json {
        crate::operations::json_page(list, "NextToken", items, self.start, self.size)
    }
}

/// Whether `role`'s trust policy lets `ssm.amazonaws.com` assume it, as SSM would for this
/// account on behalf of `source_arn` (an activation or a managed instance).
pub fn trusts_ssm(app: &crate::app::App, role: &Role, source_arn: &str) -> bool {
    crate::authz::trusts_service(
        app,
        &role.trust_policy,
        &role.arn(&app.account_id),
        "ssm.amazonaws.com",
        Some(source_arn),
    )
}
