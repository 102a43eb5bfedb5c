//! AWS Secrets Manager (awsJson 1.1, target prefix `secretsmanager`, actions
//! `secretsmanager:NAME`): what its operation families share. Secrets are created, described,
//! listed, updated, deleted and restored in `secrets` (paging and filters in `listing`); their values and version stages in
//! `values`; resource policies in `policies`; tags in `tags`; what is stored, and the SQL, in
//! `model`.
//!
//! Guarantees:
//! - a secret's ARN is `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`, the suffix
//!   random, chosen by CreateSecret's resource function: the request is authorized on the ARN
//!   the secret then gets;
//! - every operation on a secret resolves `SecretId` (a name, a full ARN, or a partial ARN
//!   without the suffix) to the stored secret and is authorized on its ARN, with its resource
//!   policy taking part as AWS evaluates a same-account one;
//! - values are sealed at rest with the master key (`model::seal_context`) and opened only to
//!   answer GetSecretValue or BatchGetSecretValue;
//! - a secret scheduled for deletion answers `InvalidRequestException` to every operation
//!   but DescribeSecret, ListSecretVersionIds, GetResourcePolicy, RestoreSecret and a forced
//!   DeleteSecret, as AWS.

pub(crate) mod listing;
pub(crate) mod model;
pub(crate) mod policies;
pub(crate) mod secrets;
pub(crate) mod tags;
pub(crate) mod values;

use aws_protocol::AwsError;
use iam_policy::Policy;
use serde_json::Value as Json;

use crate::ids;
use crate::operations::{Ctx, ResourcesFuture};
use model::{By, Secret};

/// The `X-Amz-Target` prefix of Secrets Manager.
pub const TARGET: &str = "secretsmanager";

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "secretsmanager",
    protocol: aws_protocol::Protocol::Json,
    namespace: TARGET,
    authorization: crate::operations::Authorization::WithResourcePolicy(&RESOURCE_POLICY),
    internal_error,
    admits: crate::operations::admit_all,
};

/// Secrets Manager's answer to a failure that is Homeport's.
pub fn internal_error() -> AwsError {
    AwsError::new(
        "InternalServiceError",
        500,
        "An error occurred on the server side; retry the request, and if it keeps failing, the server's log records the cause.",
    )
}

pub fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, "Secrets Manager can't find the specified secret.")
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", 400, message)
}

pub fn invalid_request(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidRequestException", 400, message)
}

/// The refusal of an operation on a secret scheduled for deletion.
pub fn marked_for_deletion() -> AwsError {
    invalid_request("You can't perform this operation on the secret because it was marked for deletion.")
}

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", 400, message)
}

/// Where Secrets Manager's operations find the resource policy that takes part in their
/// authorization: the one of the secret their (single) resource ARN names.
pub static RESOURCE_POLICY: crate::operations::ResourcePolicySource = crate::operations::ResourcePolicySource {
    id: "secret-policy",
    kind: iam_policy::ResourcePolicyKind::Ordinary,
    find: |ctx, resources| Box::pin(secret_policy(ctx, resources)),
};

async fn secret_policy(ctx: &Ctx<'_>, resources: &[String]) -> Result<Option<Policy>, AwsError> {
    let Some(arn) = resources.first() else { return Ok(None) };
    let Some(secret) = model::find(&ctx.app.store, ctx.account(), ctx.region(), By::Arn(arn), ids::now()).await? else {
        return Ok(None);
    };
    policy_of(ctx, &secret).await
}

/// A secret's resource policy as it reads now (principals bound to unique ids resolved),
/// parsed; a stored policy was validated on the way in, one that no longer parses takes no part.
pub async fn policy_of(ctx: &Ctx<'_>, secret: &Secret) -> Result<Option<Policy>, AwsError> {
    let Some(text) = current_policy(ctx, secret).await? else { return Ok(None) };
    Ok(Policy::parse(&text).ok())
}

/// A secret's resource policy text as it reads now.
pub async fn current_policy(ctx: &Ctx<'_>, secret: &Secret) -> Result<Option<String>, AwsError> {
    match &secret.policy {
        None => Ok(None),
        Some(text) => Ok(Some(
            crate::principals::resolve(&ctx.app.store, ctx.account(), text, secret.policy_principals.as_deref())
                .await?,
        )),
    }
}

/// `arn:aws:secretsmanager:REGION:ACCOUNT:secret:`, what every secret's ARN starts with.
pub fn arn_prefix(ctx: &Ctx<'_>) -> String {
    format!("arn:aws:secretsmanager:{}:{}:secret:", ctx.region(), ctx.account())
}

/// The `SecretId` member.
pub fn secret_id<'a>(ctx: &'a Ctx<'_>) -> Result<&'a str, AwsError> {
    let id = ctx.body.get("SecretId").and_then(Json::as_str).ok_or_else(|| crate::operations::missing("SecretId"))?;
    if id.is_empty() || id.len() > 2048 {
        return Err(validation(format!(
            "1 validation error detected: Value '{id}' at 'secretId' failed to satisfy constraint: Member must have length between 1 and 2048"
        )));
    }
    Ok(id)
}

/// The secret `id` names: by full ARN, by name, or by a partial ARN (the name without the
/// suffix) when exactly one secret has that name.
pub async fn find_secret(ctx: &Ctx<'_>, id: &str) -> Result<Option<Secret>, AwsError> {
    let (store, account, region, now) = (&ctx.app.store, ctx.account(), ctx.region(), ids::now());
    if let Some(rest) = id.strip_prefix(&arn_prefix(ctx)) {
        if let Some(secret) = model::find(store, account, region, By::Arn(id), now).await? {
            return Ok(Some(secret));
        }
        return Ok(model::find(store, account, region, By::Name(rest), now).await?);
    }
    Ok(model::find(store, account, region, By::Name(id), now).await?)
}

/// The secret `SecretId` names, or ResourceNotFoundException; only the one the request was
/// authorized on (a secret deleted and created again since under the same name is another).
pub async fn existing_secret(ctx: &Ctx<'_>) -> Result<Secret, AwsError> {
    let secret = find_secret(ctx, secret_id(ctx)?).await?.ok_or_else(not_found)?;
    match ctx.created.get() {
        Some(authorized) if *authorized != secret.arn => Err(not_found()),
        _ => Ok(secret),
    }
}

/// [`existing_secret`], refusing one scheduled for deletion.
pub async fn live_secret(ctx: &Ctx<'_>) -> Result<Secret, AwsError> {
    let secret = existing_secret(ctx).await?;
    if secret.deletion_date.is_some() {
        return Err(marked_for_deletion());
    }
    Ok(secret)
}

/// The resource of an operation on one secret: the stored secret's ARN (what `SecretId`
/// spells when no secret answers to it: the operation then answers ResourceNotFoundException).
pub fn secret_resource<'a>(ctx: &'a Ctx<'a>) -> ResourcesFuture<'a> {
    Box::pin(async move {
        let id = secret_id(ctx)?;
        let found = find_secret(ctx, id).await?;
        // The handler acts on this secret only, and on none when none was found here
        // (`existing_secret`), whatever is created meanwhile.
        let authorized = ctx.created.get_or_init(|| found.map(|secret| secret.arn).unwrap_or_default());
        Ok(vec![match authorized.as_str() {
            "" if id.starts_with("arn:") => id.to_owned(),
            "" => format!("{}{id}", arn_prefix(ctx)),
            arn => arn.to_owned(),
        }])
    })
}

/// Checks a secret's name: 1 to 512 letters, digits and `/_+=.@-`.
pub fn check_name(name: &str) -> Result<(), AwsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    if name.is_empty() || name.len() > 512 || !name.chars().all(allowed) {
        return Err(validation(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
        ));
    }
    Ok(())
}

/// A `KmsKeyId`, spelled as KMS spells keys (Homeport has no KMS: it is recorded and answered).
pub fn kms_key_id(body: &Json) -> Result<Option<&str>, AwsError> {
    match body.get("KmsKeyId").and_then(Json::as_str) {
        None => Ok(None),
        Some(key) if crate::ssm::parameter_names::is_kms_key_id(key) => Ok(Some(key)),
        Some(key) => Err(invalid_parameter(format!("The KmsKeyId {key} is not a valid KMS key id, alias or ARN."))),
    }
}

/// Sets `member` of an answer.
pub use crate::operations::put;

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_secrets_managers_internal_service_error() {
        internal_as_answered(&super::SERVICE, "InternalServiceError", 500);
    }

    #[test]
    fn names_follow_secrets_managers_rule() {
        for good in ["db", "prod/db/password", "a+b=c.d@e-f_g"] {
            assert!(super::check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a!b", "x$"] {
            assert!(super::check_name(bad).is_err(), "{bad}");
        }
    }
}
