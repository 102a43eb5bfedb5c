//! ECR lifecycle policies: PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy,
//! StartLifecyclePolicyPreview and GetLifecyclePolicyPreview, and the pass that applies
//! every repository's policy ([`expire_when_due`]).
//!
//! A policy is validated as ECR validates it (`model::lifecycle`) before it is stored. The
//! pass runs every minute, at once after a policy is put, and whenever the lifecycle clock
//! moves ([`LifecycleClock`]); it expires what each policy selects, deleting the image with
//! all its tags as BatchDeleteImage does, and records when it evaluated the policy
//! (`lastEvaluatedAt`). An image an index lists is kept while the index is (a later pass
//! expires it once the index is gone), so no index is left naming a missing image. ECR promises expiry within a day of an image meeting a rule; this is
//! sooner. A preview is evaluated when it is started (its status is `COMPLETE` at once) and
//! kept, with the policy it previewed, until the next one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::app::App;
use crate::ecr::model::image::{self as images, TagStatus};
use crate::ecr::model::lifecycle::{Candidate, Expiry, LifecyclePolicy};
use crate::ecr::model::settings::{self, RepositoryKey};
use crate::ecr::{check_registry, invalid_member, invalid_parameter, repository, repository_name, repository_resource};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(ecr, PUT_LIFECYCLE_POLICY, "PutLifecyclePolicy", Write, repository_resource, |ctx| json_op(
    put_lifecycle_policy(ctx)
));
operation!(ecr, GET_LIFECYCLE_POLICY, "GetLifecyclePolicy", Read, repository_resource, |ctx| json_op(
    get_lifecycle_policy(ctx)
));
operation!(ecr, DELETE_LIFECYCLE_POLICY, "DeleteLifecyclePolicy", Write, repository_resource, |ctx| json_op(
    delete_lifecycle_policy(ctx)
));
operation!(ecr, START_LIFECYCLE_POLICY_PREVIEW, "StartLifecyclePolicyPreview", Write, repository_resource, |ctx| {
    json_op(start_preview(ctx))
});
operation!(ecr, GET_LIFECYCLE_POLICY_PREVIEW, "GetLifecyclePolicyPreview", Read, repository_resource, |ctx| {
    json_op(get_preview(ctx))
});

/// The file, in the data directory, whose integer content is a number of seconds the
/// lifecycle clock runs ahead of the system's: a test hook (tests age images without
/// waiting days). Absent or unreadable, the lifecycle clock is the system's.
pub const CLOCK_OFFSET_FILE: &str = "ecr-lifecycle-clock-offset";

/// How often the pass runs unprompted, in seconds of the background loop.
const PASS_PERIOD: u64 = 60;

/// The lifecycle's clock and when its pass is due, kept for the life of the server.
#[derive(Debug)]
pub struct LifecycleClock {
    offset_file: PathBuf,
    /// The offset the last pass ran with.
    last_offset: AtomicI64,
    /// A policy was put since the last pass.
    due: AtomicBool,
}

impl LifecycleClock {
    pub fn new(data_dir: &Path) -> LifecycleClock {
        LifecycleClock {
            offset_file: data_dir.join(CLOCK_OFFSET_FILE),
            last_offset: AtomicI64::new(0),
            due: AtomicBool::new(false),
        }
    }

    fn offset(&self) -> i64 {
        std::fs::read_to_string(&self.offset_file).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
    }

    /// Now, as lifecycle rules see it.
    pub fn now(&self) -> i64 {
        ids::now().saturating_add(self.offset())
    }
}

fn key<'a>(ctx: &'a Ctx<'a>, name: &'a str) -> RepositoryKey<'a> {
    RepositoryKey { account: ctx.account(), region: ctx.region(), name }
}

/// `lifecyclePolicyText`, within the model's length, parsed; `None` when absent.
fn policy_text<'a>(ctx: &'a Ctx<'a>) -> Result<Option<(&'a str, LifecyclePolicy)>, AwsError> {
    let Some(value) = ctx.body.get("lifecyclePolicyText").filter(|value| !value.is_null()) else { return Ok(None) };
    let text = value.as_str().unwrap_or_default();
    if text.len() < 100 {
        return Err(invalid_member(
            "lifecyclePolicyText",
            text,
            "Member must have length greater than or equal to 100",
        ));
    }
    if text.len() > 30_720 {
        return Err(invalid_member(
            "lifecyclePolicyText",
            "...",
            "Member must have length less than or equal to 30720",
        ));
    }
    let policy = LifecyclePolicy::parse(text).map_err(|detail| {
        invalid_parameter(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {detail}'"
        ))
    })?;
    Ok(Some((text, policy)))
}

fn no_policy(ctx: &Ctx<'_>, name: &str) -> AwsError {
    AwsError::new(
        "LifecyclePolicyNotFoundException",
        400,
        format!(
            "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            ctx.account()
        ),
    )
}

async fn put_lifecycle_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let Some((text, _)) = policy_text(ctx)? else {
        return Err(invalid_member("lifecyclePolicyText", "null", "Member must not be null"));
    };
    repository(ctx.app, ctx.scope(), name).await?;
    settings::set_lifecycle_policy(&ctx.app.store, key(ctx, name), Some(text)).await?;
    if let Ok(clock) = ctx.app.service_state.get::<LifecycleClock>() {
        clock.due.store(true, Ordering::Relaxed);
    }
    Ok(json!({ "registryId": ctx.account(), "repositoryName": name, "lifecyclePolicyText": text }))
}

/// The stored policy's answer (Get and Delete answer alike).
async fn stored_policy(ctx: &Ctx<'_>, name: &str) -> Result<Json, AwsError> {
    repository(ctx.app, ctx.scope(), name).await?;
    let stored = settings::repository(&ctx.app.store, key(ctx, name)).await?;
    let text = stored.lifecycle_policy.ok_or_else(|| no_policy(ctx, name))?;
    let mut answer = json!({ "registryId": ctx.account(), "repositoryName": name, "lifecyclePolicyText": text });
    if let Some(at) = stored.lifecycle_evaluated_at {
        crate::operations::put(&mut answer, "lastEvaluatedAt", at);
    }
    Ok(answer)
}

async fn get_lifecycle_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    stored_policy(ctx, repository_name(ctx.body)?).await
}

async fn delete_lifecycle_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let answer = stored_policy(ctx, name).await?;
    settings::set_lifecycle_policy(&ctx.app.store, key(ctx, name), None).await?;
    Ok(answer)
}

/// What `policy` expires in repository `name` of `scope` at `now`, with the images' tags
/// and push times.
async fn evaluate(
    app: &App,
    scope: Scope<'_>,
    name: &str,
    policy: &LifecyclePolicy,
    now: i64,
) -> Result<Vec<(Expiry, Vec<String>, i64)>, AwsError> {
    let stored = images::with_tags(&app.store, scope, name).await?;
    let candidates: Vec<Candidate<'_>> = stored
        .iter()
        .map(|(image, tags)| Candidate { digest: &image.digest, tags, pushed_at: image.pushed_at })
        .collect();
    let expiries = policy.evaluate(&candidates, now);
    // An image an index (a manifest list) lists stays while the index does: expiring it
    // would break the index. It is expired by a later pass once the index is gone.
    let expiring: HashSet<&str> = expiries.iter().map(|expiry| expiry.digest.as_str()).collect();
    let listed: HashSet<String> = stored
        .iter()
        .filter(|(image, _)| !expiring.contains(image.digest.as_str()))
        .filter_map(|(image, _)| images::references(&image.manifest, Some(&image.media_type)).ok())
        .flat_map(|references| references.manifests)
        .collect();
    Ok(expiries
        .into_iter()
        .filter(|expiry| !listed.contains(&expiry.digest))
        .filter_map(|expiry| {
            let (image, tags) = stored.iter().find(|(image, _)| image.digest == expiry.digest)?;
            Some((expiry, tags.clone(), image.pushed_at))
        })
        .collect())
}

fn lifecycle_now(app: &App) -> i64 {
    app.service_state.get::<LifecycleClock>().map_or_else(|_| ids::now(), LifecycleClock::now)
}

async fn start_preview(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let given = policy_text(ctx)?;
    repository(ctx.app, ctx.scope(), name).await?;
    let (text, policy) = match given {
        Some((text, policy)) => (text.to_owned(), policy),
        None => {
            let stored = settings::repository(&ctx.app.store, key(ctx, name)).await?;
            let text = stored.lifecycle_policy.ok_or_else(|| no_policy(ctx, name))?;
            // A stored policy was validated when it was put.
            let policy = LifecyclePolicy::parse(&text).map_err(crate::operations::internal)?;
            (text, policy)
        }
    };
    let results: Vec<Json> = evaluate(ctx.app, ctx.scope(), name, &policy, lifecycle_now(ctx.app))
        .await?
        .into_iter()
        .map(|(expiry, tags, pushed_at)| {
            let mut result = json!({
                "imageDigest": expiry.digest,
                "imagePushedAt": pushed_at,
                "action": {"type": "EXPIRE"},
                "appliedRulePriority": expiry.priority,
                "storageClass": "STANDARD",
            });
            if !tags.is_empty() {
                crate::operations::put(&mut result, "imageTags", tags);
            }
            result
        })
        .collect();
    settings::set_preview(&ctx.app.store, key(ctx, name), &text, &Json::Array(results).to_string()).await?;
    Ok(
        json!({ "registryId": ctx.account(), "repositoryName": name, "lifecyclePolicyText": text, "status": "COMPLETE" }),
    )
}

/// Whether a preview result is one an `ImageIdentifier` names (by digest, tag, or both).
fn named_by(result: &Json, id: &Json) -> bool {
    let digest = id.get("imageDigest").and_then(Json::as_str);
    let tag = id.get("imageTag").and_then(Json::as_str);
    let digest_fits = digest.is_none_or(|digest| result.get("imageDigest").and_then(Json::as_str) == Some(digest));
    let tags = result.get("imageTags").and_then(Json::as_array);
    let tag_fits = tag.is_none_or(|tag| tags.is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag))));
    (digest.is_some() || tag.is_some()) && digest_fits && tag_fits
}

async fn get_preview(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_registry(ctx)?;
    let name = repository_name(ctx.body)?;
    let status = match ctx.body.get("filter").and_then(|filter| filter.get("tagStatus")).and_then(Json::as_str) {
        None => TagStatus::Any,
        Some(word) => TagStatus::parse(word).ok_or_else(|| {
            invalid_member("filter.tagStatus", word, "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
        })?,
    };
    let size = match ctx.body.get("maxResults").filter(|value| !value.is_null()) {
        None => 100,
        Some(value) => value.as_u64().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
            invalid_member("maxResults", &value.to_string(), "Member must have value less than or equal to 100")
        })?,
    };
    let start = match ctx.body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("Invalid parameter at 'nextToken'"))?,
    };
    repository(ctx.app, ctx.scope(), name).await?;
    let Some((text, results)) = settings::preview(&ctx.app.store, key(ctx, name)).await? else {
        return Err(AwsError::new(
            "LifecyclePolicyPreviewNotFoundException",
            400,
            format!(
                "There is no lifecycle policy preview for the repository with name '{name}' in the registry with id '{}'",
                ctx.account()
            ),
        ));
    };
    let results: Vec<Json> = serde_json::from_str(&results).map_err(crate::operations::internal)?;
    let total = results.len();
    let ids = ctx.body.get("imageIds").and_then(Json::as_array);
    let shown: Vec<Json> = results
        .into_iter()
        .filter(|result| {
            let tags: Vec<String> = result
                .get("imageTags")
                .and_then(Json::as_array)
                .map(|tags| tags.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            status.admits(&tags)
        })
        .filter(|result| ids.is_none_or(|ids| ids.iter().any(|id| named_by(result, id))))
        .collect();
    let mut answer =
        crate::operations::json_page("previewResults", "nextToken", shown, start, usize::try_from(size).unwrap_or(100));
    for (member, value) in [
        ("registryId", json!(ctx.account())),
        ("repositoryName", json!(name)),
        ("lifecyclePolicyText", json!(text)),
        ("status", json!("COMPLETE")),
        ("summary", json!({ "expiringImageTotalCount": total })),
    ] {
        crate::operations::put(&mut answer, member, value);
    }
    Ok(answer)
}

/// Runs the lifecycle pass when it is due: every [`PASS_PERIOD`] passes of the background
/// loop (one a second), after a policy was put, or when the lifecycle clock moved.
pub async fn expire_when_due(app: &App, pass: u64) -> Result<(), AwsError> {
    let clock = app.service_state.get::<LifecycleClock>()?;
    let offset = clock.offset();
    let moved = clock.last_offset.swap(offset, Ordering::Relaxed) != offset;
    let put = clock.due.swap(false, Ordering::Relaxed);
    if pass % PASS_PERIOD == 0 || moved || put {
        expire(app, clock.now()).await?;
    }
    Ok(())
}

/// Applies every repository's lifecycle policy at `now`: each image a policy expires is
/// deleted with its tags; a policy that no longer parses is skipped (it was validated when
/// put), and a repository whose pass fails is logged and left to the next pass, the others
/// going on.
pub async fn expire(app: &App, now: i64) -> Result<(), AwsError> {
    for repository in settings::with_lifecycle_policies(&app.store).await? {
        if let Err(error) = expire_repository(app, &repository, now).await {
            tracing::error!(
                account = repository.account,
                region = repository.region,
                repository = repository.repository,
                "lifecycle policy not applied: {}",
                error.message
            );
        }
    }
    Ok(())
}

async fn expire_repository(app: &App, repository: &settings::WithLifecycle, now: i64) -> Result<(), AwsError> {
    let Ok(policy) = LifecyclePolicy::parse(&repository.policy) else { return Ok(()) };
    let name = repository.repository.as_str();
    let scope = Scope { account: &repository.account, region: &repository.region };
    for (expiry, _, _) in evaluate(app, scope, name, &policy, now).await? {
        images::delete(&app.store, scope, name, &expiry.digest, None).await?;
        tracing::info!(
            account = repository.account,
            region = repository.region,
            repository = name,
            digest = expiry.digest,
            rule = expiry.priority,
            "lifecycle policy expired an image"
        );
    }
    let key = RepositoryKey { account: &repository.account, region: &repository.region, name };
    settings::lifecycle_evaluated(&app.store, key, now).await?;
    Ok(())
}
