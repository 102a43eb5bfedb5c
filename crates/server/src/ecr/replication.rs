//! Replication between the regions of this registry, as the replication configuration of
//! the region an image is pushed to says (PutReplicationConfiguration, `ecr::account`).
//!
//! When a push changes a repository (a new image, or a tag moved), every destination region
//! of every rule whose filters select the repository (a `PREFIX_MATCH` filter: the name
//! starts with it; no filters: every repository) receives the image: the repository of the
//! same name is created there when missing (with ECR's defaults: mutable tags, `AES256`), the
//! layers the manifest references become that repository's too (the files are shared, only
//! the references are written), and the manifest is stored with its tag, as a push there
//! would store it. A replica is not replicated again, and deleting an image deletes no
//! replica, as on ECR. How each destination went (`COMPLETE`, or `FAILED` with the error's
//! code, such as an immutable tag already naming another image there) is recorded for
//! DescribeImageReplicationStatus. Replication happens within the push, so a status is
//! never `IN_PROGRESS`.

use std::collections::BTreeSet;

use aws_protocol::AwsError;
use serde_json::Value as Json;

use crate::app::App;
use crate::ecr::images::{Push, Pushed};
use crate::ecr::model::repository::TagMutability;
use crate::ecr::model::settings::{self, ReplicationStatus, RepositoryKey};
use crate::ecr::model::{image, layer};
use crate::ids;
use crate::regions::Scope;

/// The destination regions the replication configuration of `scope` names for repository
/// `name`, each once.
async fn destinations(app: &App, scope: Scope<'_>, name: &str) -> Result<BTreeSet<String>, AwsError> {
    let Some(text) = settings::registry_setting(&app.store, scope.account, scope.region, "replication").await? else {
        return Ok(BTreeSet::new());
    };
    let configuration: Json = serde_json::from_str(&text).map_err(crate::operations::internal)?;
    let mut regions = BTreeSet::new();
    for rule in configuration.get("rules").and_then(Json::as_array).into_iter().flatten() {
        if !selects(rule, name) {
            continue;
        }
        for destination in rule.get("destinations").and_then(Json::as_array).into_iter().flatten() {
            let region = destination.get("region").and_then(Json::as_str);
            let registry = destination.get("registryId").and_then(Json::as_str);
            if let (Some(region), Some(registry)) = (region, registry) {
                // A configuration names only this registry and other regions (`ecr::account`).
                if registry == scope.account && region != scope.region {
                    regions.insert(region.to_owned());
                }
            }
        }
    }
    Ok(regions)
}

/// Whether a replication rule's filters select repository `name` (no filters: every one).
pub fn selects(rule: &Json, name: &str) -> bool {
    match rule.get("repositoryFilters").and_then(Json::as_array) {
        None => true,
        Some(filters) => filters
            .iter()
            .filter_map(|filter| filter.get("filter").and_then(Json::as_str))
            .any(|prefix| name.starts_with(prefix)),
    }
}

/// Replicates what a push to repository `name` of `scope` stored, to every destination, and
/// records how each went. Only a failure to record is an error: a destination that refuses
/// the image is recorded `FAILED`.
pub async fn replicate(
    app: &App,
    scope: Scope<'_>,
    name: &str,
    pushed: &Pushed,
    manifest: &[u8],
    tag: Option<&str>,
) -> Result<(), AwsError> {
    let key = RepositoryKey { account: scope.account, region: scope.region, name };
    for region in destinations(app, scope, name).await? {
        let destination = Scope { account: scope.account, region: &region };
        let status = match copy(app, scope, destination, name, pushed, manifest, tag).await {
            Ok(()) => {
                ReplicationStatus { destination_region: region.clone(), status: "COMPLETE".into(), failure_code: None }
            }
            Err(error) => {
                tracing::warn!(
                    account = scope.account,
                    repository = name,
                    digest = pushed.digest,
                    from = scope.region,
                    to = region,
                    "replication failed: {}: {}",
                    error.code,
                    error.message
                );
                ReplicationStatus {
                    destination_region: region.clone(),
                    status: "FAILED".into(),
                    failure_code: Some(error.code),
                }
            }
        };
        settings::record_replication(&app.store, key, &pushed.digest, &status).await?;
    }
    Ok(())
}

/// Stores the pushed image in repository `name` of `destination`, creating the repository
/// and referencing the layers there.
async fn copy(
    app: &App,
    source: Scope<'_>,
    destination: Scope<'_>,
    name: &str,
    pushed: &Pushed,
    manifest: &[u8],
    tag: Option<&str>,
) -> Result<(), AwsError> {
    // Created with ECR's defaults when missing; one that exists is used as it is.
    crate::ecr::model::repository::create(&app.store, destination, name, TagMutability::Mutable, ids::now()).await?;
    let repository = crate::ecr::repository(app, destination, name).await?;
    let references = image::references(manifest, Some(&pushed.media_type))?;
    for blob in &references.blobs {
        let size = layer::size(&app.store, source, name, blob).await?.ok_or_else(|| {
            crate::operations::internal(format!("layer {blob} of a stored image is not its repository's"))
        })?;
        if !layer::reference(&app.store, destination, name, blob, size).await? {
            return Err(crate::ecr::repository_not_found(app, name));
        }
    }
    let push = Push { manifest, media_type: Some(&pushed.media_type), tag, digest: Some(&pushed.digest) };
    crate::ecr::images::store_image(app, destination, &repository, push).await?;
    Ok(())
}
