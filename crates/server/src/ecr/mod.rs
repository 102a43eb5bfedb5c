//! Amazon ECR: what its operation families share. Repositories are handled in
//! `repositories` and `policies` (with their tag mutability and repository policy), images in
//! `images` (the manifest's exact bytes, addressed by their SHA-256), and the layers each
//! repository holds in `layers`; what they store, and the SQL, is the domain layer's
//! (`model`); the layer bytes themselves are files of [`registry::blobs`].
//!
//! Lifecycle policies and their pass are in `lifecycle`, resource tags in `tags`, what the
//! registry as a whole keeps (registry policy, replication, scanning configuration, account
//! settings, pull-time exclusions) in `account`, replication between regions in
//! `replication`, scanning in `scanning`, an image's
//! replication and signing status, referrers and storage class in `image_status`, and the
//! features the registry lacks (pull-through cache, creation templates, signing) in
//! `unavailable`.
//!
//! Every operation on one repository is authorized on the repository's ARN with the
//! repository policy taking part (`Authorization::Repository`), as AWS evaluates a
//! same-account resource-based policy; the registry (`registry`, the `/v2` API) authorizes
//! its pushes and pulls through [`authorize_on_repository`], the same code. Operations on the
//! registry as a whole (and GetAuthorizationToken) are authorized on `*`, and those naming
//! several repositories on each of them, by the caller's policies alone.

pub(crate) mod account;
pub(crate) mod auth;
pub(crate) mod errors;
pub(crate) mod image_status;
pub(crate) mod images;
pub(crate) mod layers;
pub(crate) mod lifecycle;
pub(crate) mod model;
pub(crate) mod policies;
pub(crate) mod registry;
pub(crate) mod replication;
pub(crate) mod repositories;
pub(crate) mod scanning;
pub(crate) mod tags;
pub(crate) mod unavailable;

use aws_protocol::AwsError;
use iam_policy::{Policy, ResourcePolicyKind};
use serde_json::{Value as Json, json};

use crate::app::App;
use crate::auth::Identity;
use crate::authz::{RequestFacts, ResourcePolicy, Verdict, authorize, context};
use crate::operations::Ctx;
use crate::regions::Scope;

/// The `X-Amz-Target` prefix of ECR.
pub const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921";

pub use errors::{invalid_member, invalid_parameter, repository_not_found};
pub use model::repository::Repository;

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "ecr",
    protocol: aws_protocol::Protocol::Json,
    namespace: ECR_TARGET,
    authorization: crate::operations::Authorization::WithResourcePolicy(&REPOSITORY_POLICY),
    internal_error: errors::internal_error,
    admits: crate::operations::admit_all,
};

/// Whether `name` fits ECR's repository name rule: 2 to 256 characters,
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn valid_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len()) && name.split('/').all(valid_name_component)
}

/// Whether one `/`-separated part of a repository name fits ECR's pattern.
pub(crate) fn valid_name_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.first().is_none_or(|b| !alnum(b)) || bytes.last().is_none_or(|b| !alnum(b)) {
        return false;
    }
    // Separators between alphanumeric runs: `.`, `_`, `__`, or one or more `-`.
    let mut index = 0;
    while let Some(&b) = bytes.get(index) {
        if alnum(&b) {
            index += 1;
            continue;
        }
        let start = index;
        while bytes.get(index).is_some_and(|b| !alnum(b)) {
            index += 1;
        }
        let separator = component.get(start..index).unwrap_or_default();
        let fits = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !fits {
            return false;
        }
    }
    true
}

/// The `repositoryName` member, checked against ECR's pattern.
pub fn repository_name(body: &Json) -> Result<&str, AwsError> {
    let name = body.get("repositoryName").and_then(Json::as_str).unwrap_or_default();
    if valid_repository_name(name) {
        Ok(name)
    } else {
        Err(invalid_member(
            "repositoryName",
            name,
            "Member must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
        ))
    }
}

/// Refuses a `registryId` other than this server's account (it has no other registry).
pub fn check_registry(ctx: &Ctx<'_>) -> Result<(), AwsError> {
    match ctx.body.get("registryId").and_then(Json::as_str) {
        Some(id) if id != ctx.account() => Err(invalid_parameter(format!(
            "Invalid parameter at 'registryId' failed to satisfy constraint: 'The registry {id} is not this registry ({})'",
            ctx.account()
        ))),
        _ => Ok(()),
    }
}

/// `arn:aws:ecr:REGION:ACCOUNT:repository/NAME`.
pub fn repository_arn(scope: Scope<'_>, name: &str) -> String {
    format!("arn:aws:ecr:{}:{}:repository/{name}", scope.region, scope.account)
}

/// The repository resource a request names (`repositoryName`).
pub fn repository_resource<'a>(ctx: &'a Ctx<'a>) -> crate::operations::ResourcesFuture<'a> {
    Box::pin(async move { Ok(vec![repository_arn(ctx.scope(), repository_name(ctx.body)?)]) })
}

/// `HOST/NAME`: where Docker reaches the repository.
pub fn repository_uri(app: &App, name: &str) -> String {
    format!("{}/{name}", app.registry_host)
}

/// ECR's `Repository` shape.
pub fn repository_json(app: &App, scope: Scope<'_>, repository: &Repository) -> Json {
    json!({
        "repositoryArn": repository_arn(scope, &repository.name),
        "registryId": app.account_id,
        "repositoryName": repository.name,
        "repositoryUri": repository_uri(app, &repository.name),
        "createdAt": repository.created_at,
        "imageTagMutability": repository.tag_mutability.as_str(),
        "imageScanningConfiguration": {"scanOnPush": false},
        "encryptionConfiguration": {"encryptionType": "AES256"},
    })
}

/// ECR's `Repository` shape with what the repository's settings say (its encryption).
pub async fn repository_view(ctx: &Ctx<'_>, repository: &Repository) -> Result<Json, AwsError> {
    let key = model::settings::RepositoryKey { account: ctx.account(), region: ctx.region(), name: &repository.name };
    let settings = model::settings::repository(&ctx.app.store, key).await?;
    Ok(with_settings(repository_json(ctx.app, ctx.scope(), repository), &settings))
}

/// A `Repository` shape with `settings`' encryption and scan on push.
pub fn with_settings(mut shape: Json, settings: &model::settings::RepositorySettings) -> Json {
    crate::operations::put(&mut shape, "imageScanningConfiguration", json!({ "scanOnPush": settings.scan_on_push }));
    let mut encryption = json!({ "encryptionType": settings.encryption_type });
    if let Some(key) = &settings.kms_key {
        crate::operations::put(&mut encryption, "kmsKey", key.as_str());
    }
    crate::operations::put(&mut shape, "encryptionConfiguration", encryption);
    shape
}

/// The scan status of an image in a repository that scans on push: the scan could not run
/// (there is no scanner, `ecr::scanning`).
pub fn no_scanner_status() -> Json {
    json!({
        "status": "FAILED",
        "description": "Homeport has no vulnerability scanner configured: the image was not scanned",
    })
}

/// Whether the repository `name` scans its images on push.
pub async fn scans_on_push(ctx: &Ctx<'_>, name: &str) -> Result<bool, AwsError> {
    let key = model::settings::RepositoryKey { account: ctx.account(), region: ctx.region(), name };
    Ok(model::settings::repository(&ctx.app.store, key).await?.scan_on_push)
}

/// The repository named `name`, if it exists.
pub async fn find_repository(app: &App, scope: Scope<'_>, name: &str) -> Result<Option<Repository>, AwsError> {
    Ok(model::repository::find(&app.store, scope, name).await?)
}

/// The repository named `name`, or RepositoryNotFoundException.
pub async fn repository(app: &App, scope: Scope<'_>, name: &str) -> Result<Repository, AwsError> {
    find_repository(app, scope, name).await?.ok_or_else(|| repository_not_found(app, name))
}

/// Where ECR's operations find the repository policy that takes part in their authorization
/// (every ECR operation's, unless it says otherwise).
pub static REPOSITORY_POLICY: crate::operations::ResourcePolicySource = crate::operations::ResourcePolicySource {
    id: "repository-policy",
    kind: iam_policy::ResourcePolicyKind::Ordinary,
    find: |ctx, resources| Box::pin(repository_policy(ctx.app, ctx.scope(), resources)),
};

/// The repository policy of the repository the (single) resource ARN names, parsed: what
/// the pipeline hands the policy engine for [`REPOSITORY_POLICY`]. A repository that
/// does not exist, or has no policy, has none (the operation itself then answers).
pub async fn repository_policy(app: &App, scope: Scope<'_>, resources: &[String]) -> Result<Option<Policy>, AwsError> {
    let prefix = repository_arn(scope, "");
    let Some(name) = resources.first().and_then(|arn| arn.strip_prefix(&prefix)) else { return Ok(None) };
    let Some(repository) = find_repository(app, scope, name).await? else { return Ok(None) };
    // A stored policy was validated on the way in; one that no longer parses takes no part.
    Ok(repository.policy.and_then(|text| Policy::parse(&text).ok()))
}

/// Decides `action` on repository `name` for a registry request: the caller's policies and
/// the repository policy, as the pipeline decides the same action through the API.
pub async fn authorize_on_repository(
    app: &App,
    identity: &Identity,
    facts: &RequestFacts,
    action: &str,
    name: &str,
) -> Result<Verdict, (Verdict, AwsError)> {
    let scope = Scope { account: &app.account_id, region: &facts.region };
    let resources = vec![repository_arn(scope, name)];
    let policy = repository_policy(app, scope, &resources).await.map_err(|error| {
        let error = SERVICE.answer(error);
        (Verdict { decision: iam_policy::EvalDecision::ImplicitDeny, statements: vec![error.code.clone()] }, error)
    })?;
    let resource_policy = policy.as_ref().map(|policy| ResourcePolicy {
        id: "repository-policy",
        policy,
        kind: ResourcePolicyKind::Ordinary,
    });
    authorize(app, identity, action, &resources, &context(identity, facts), resource_policy).await
}

/// `maxResults` (1 to 1000, default 100) and an offset `nextToken`.
pub fn page(body: &Json) -> Result<(usize, usize), AwsError> {
    let size = match body.get("maxResults") {
        None | Some(Json::Null) => 100,
        Some(value) => value.as_u64().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
            invalid_member("maxResults", &value.to_string(), "Member must have value less than or equal to 1000")
        })?,
    };
    let start = match body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("Invalid parameter at 'nextToken'"))?,
    };
    Ok((start, usize::try_from(size).unwrap_or(100)))
}

/// The strings of a list member (absent: empty).
pub fn strings<'a>(body: &'a Json, member: &str) -> Vec<&'a str> {
    body.get(member)
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_ecr_pattern() {
        for good in ["ab", "my-app", "team/app", "a.b_c__d---e", "x1/y2/z3"] {
            assert!(valid_repository_name(good), "{good}");
        }
        for bad in ["a", "", "My-App", "-ab", "ab-", "a..b", "a___b", "a/", "/ab", "a//b", "a.-b", "a b"] {
            assert!(!valid_repository_name(bad), "{bad}");
        }
        assert!(!valid_repository_name(&"a".repeat(257)));
    }
}
