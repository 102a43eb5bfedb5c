//! IAM Access Analyzer, over restJson1 (signing name `access-analyzer`): the policy checks,
//! `ValidatePolicy` (`validation`), `CheckNoNewAccess` and `CheckAccessNotGranted` (`checks`),
//! each a pure function of its input decided by `iam-policy` (`analyzer`, `access`); policy
//! generation over Homeport's audit trail (`policy_generation`, jobs in `model::generations`);
//! and unused access analysis: analyzers (`analyzers`, kept in `model::analyzers`) whose
//! findings (`findings`, filtered and sorted by `filter`) are computed when read by
//! `unused_access`'s rules. Every operation is authorized as `access-analyzer:ACTION`: those
//! on an analyzer on its ARN (the Service Authorization Reference's `Analyzer` resource), the
//! others on `*`, as the reference lists them.
//!
//! Input members are checked as botocore's model constrains them (required, enums, list
//! lengths, types) and refused with `ValidationException` (`reason`, `fieldList`); what
//! Homeport cannot honour (a locale other than English) is refused the same way, with the
//! reason `notSupported`.

pub(crate) mod analyzers;
pub(crate) mod checks;
pub(crate) mod filter;
pub(crate) mod findings;
pub(crate) mod model;
pub(crate) mod policy_generation;
pub(crate) mod unused_access;
pub(crate) mod validation;

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::operations::{Authorization, Service};

/// The service as the pipeline routes it.
pub const SERVICE: Service = Service {
    name: "access-analyzer",
    protocol: aws_protocol::Protocol::RestJson,
    namespace: "AccessAnalyzer",
    authorization: Authorization::Policies,
    internal_error,
    admits: crate::operations::admit_all,
};

/// Access Analyzer's answer to a failure that is Homeport's: `InternalServerException` (500).
pub fn internal_error() -> AwsError {
    AwsError::new(
        "InternalServerException",
        500,
        "Internal server error. Retry the request; the server's log records the cause.",
    )
}

/// `ValidationException` (400) for one member that breaks a constraint: `reason` is one of the
/// model's (`fieldValidationFailed`, `notSupported`, ...), `fieldList` names the member.
pub fn invalid(reason: &str, member: &str, message: impl Into<String>) -> AwsError {
    let message = message.into();
    AwsError::new("ValidationException", 400, message.clone())
        .with_member("reason", json!(reason))
        .with_member("fieldList", json!([{"name": member, "message": message}]))
}

/// A required member, or the error naming it.
fn missing(member: &str) -> AwsError {
    invalid(
        "fieldValidationFailed",
        member,
        format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ),
    )
}

/// A string member: `None` when absent (or `null`), an error when not a string.
pub fn optional_string<'a>(body: &'a Json, member: &str) -> Result<Option<&'a str>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => Ok(Some(text)),
        Some(_) => Err(invalid("cannotParse", member, format!("Member '{member}' must be a string."))),
    }
}

/// A required string member.
pub fn required_string<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    optional_string(body, member)?.ok_or_else(|| missing(member))
}

/// An object member (`None` when absent or `null`).
pub fn optional_object<'a>(body: &'a Json, member: &str) -> Result<Option<&'a Json>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(value @ Json::Object(_)) => Ok(Some(value)),
        Some(_) => Err(invalid("cannotParse", member, format!("Member '{member}' must be an object."))),
    }
}

/// An integer member (`None` when absent or `null`).
pub fn optional_integer(body: &Json, member: &str) -> Result<Option<i64>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid("cannotParse", member, format!("Member '{member}' must be an integer."))),
    }
}

/// A member outside its model's numeric range: `ValidationException` saying which bound.
pub fn out_of_range(member: &str, value: impl std::fmt::Display, bound: &str) -> AwsError {
    invalid(
        "fieldValidationFailed",
        member,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value {bound}"
        ),
    )
}

/// A page's length as `maxResults` asks it: 1 or more (at most `max` are answered),
/// `default` when absent.
pub fn page_size(asked: Option<i64>, default: usize, max: usize) -> Result<usize, AwsError> {
    match asked {
        None => Ok(default),
        Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(max).min(max)),
        Some(n) => Err(out_of_range("maxResults", n, "greater than or equal to 1")),
    }
}

/// An integer query-string member (`None` when absent).
pub fn query_integer(ctx: &crate::operations::Ctx<'_>, member: &str) -> Result<Option<i64>, AwsError> {
    ctx.query(member)
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| invalid("cannotParse", member, format!("Member '{member}' must be an integer.")))
        })
        .transpose()
}

/// A required member that must be one of `values`.
pub fn required_enum<'a>(body: &'a Json, member: &str, values: &[&str]) -> Result<&'a str, AwsError> {
    let value = required_string(body, member)?;
    check_enum(value, member, values)?;
    Ok(value)
}

pub fn check_enum(value: &str, member: &str, values: &[&str]) -> Result<(), AwsError> {
    if values.contains(&value) {
        return Ok(());
    }
    let shown: String = value.chars().take(256).collect();
    Err(invalid(
        "fieldValidationFailed",
        member,
        format!(
            "1 validation error detected: Value '{shown}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            values.join(", ")
        ),
    ))
}

/// The resource every policy check is authorized on.
pub fn any_resource(_ctx: &crate::operations::Ctx<'_>) -> crate::operations::ResourcesFuture<'static> {
    Box::pin(async { Ok(vec!["*".to_owned()]) })
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_the_internal_server_exception() {
        internal_as_answered(&super::SERVICE, "InternalServerException", 500);
    }
}
