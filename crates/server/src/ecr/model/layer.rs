//! The layer model: the layers a repository holds (`ecr_layers`, digest and size) and the
//! uploads started into it (`ecr_uploads`). The bytes are files of
//! [`crate::ecr::registry::blobs`]; this is what the store says about them.
//!
//! Guarantees: an upload belongs to the repository it was started in and is known only
//! there ([`upload_status`]); a layer is recorded, and its upload forgotten, in one
//! transaction guarded by the repository's row, so no layer is recorded for a repository
//! deleted meanwhile; a digest is [`referenced`] while any repository of any account holds
//! it (what keeps its file).

use crate::regions::Scope;
use store::{Statement, Store, StoreError, Value};

use super::{ModelError, repository_guard};

/// Where an upload stands, as the store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStatus {
    /// Started in this repository and neither completed nor cancelled: it takes bytes.
    InProgress,
    /// Never started here, or completed, or cancelled.
    Unknown,
}

/// A layer's size in a repository, if the repository has it.
pub async fn size(store: &Store, scope: Scope<'_>, repository: &str, digest: &str) -> Result<Option<i64>, ModelError> {
    let rows = store
        .query(
            "SELECT size FROM ecr_layers WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?",
            vec![scope.account.into(), scope.region.into(), repository.into(), digest.into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.int(0)).transpose()?)
}

/// Whether any repository still holds layer `digest` (its file must stay). The store's
/// failure is returned as is: the collector keeps a file when the store cannot say.
pub async fn referenced(store: &Store, digest: &str) -> Result<bool, StoreError> {
    store.query("SELECT 1 FROM ecr_layers WHERE digest = ?", vec![digest.into()]).await.map(|rows| !rows.is_empty())
}

/// Records upload `id`, started now into a repository.
pub async fn start_upload(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    id: &str,
    now: i64,
) -> Result<(), ModelError> {
    store
        .execute(
            "INSERT INTO ecr_uploads (upload_id, account_id, region, repository, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![id.into(), scope.account.into(), scope.region.into(), repository.into(), Value::Int(now)],
        )
        .await?;
    Ok(())
}

/// Where upload `id` stands in a repository.
pub async fn upload_status(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    id: &str,
) -> Result<UploadStatus, ModelError> {
    let rows = store
        .query(
            "SELECT 1 FROM ecr_uploads WHERE upload_id = ? AND account_id = ? AND region = ? AND repository = ?",
            vec![id.into(), scope.account.into(), scope.region.into(), repository.into()],
        )
        .await?;
    Ok(if rows.is_empty() { UploadStatus::Unknown } else { UploadStatus::InProgress })
}

/// Forgets upload `id` (its row; the caller removes its file).
pub async fn forget_upload(store: &Store, id: &str) -> Result<(), ModelError> {
    store.execute("DELETE FROM ecr_uploads WHERE upload_id = ?", vec![id.into()]).await?;
    Ok(())
}

/// Forgets every upload started before `cutoff` (their files went with the registry's
/// start), in every account.
pub async fn forget_uploads_started_before(store: &Store, cutoff: i64) -> Result<(), StoreError> {
    store.execute("DELETE FROM ecr_uploads WHERE created_at < ?", vec![Value::Int(cutoff)]).await.map(|_| ())
}

/// Records layer `digest` of `size` bytes in a repository and forgets the upload it came
/// from, in one transaction; false (nothing written) when the repository is gone.
pub async fn record(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    digest: &str,
    size: i64,
    upload: &str,
) -> Result<bool, ModelError> {
    let key = || vec![Value::from(scope.account), Value::from(scope.region), Value::from(repository)];
    let recorded = store
        .transaction(vec![
            repository_guard(scope, repository),
            Statement::new(
                "DELETE FROM ecr_layers WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?",
                [key(), vec![digest.into()]].concat(),
            ),
            Statement::new(
                "INSERT INTO ecr_layers (account_id, region, repository, digest, size) VALUES (?, ?, ?, ?, ?)",
                [key(), vec![digest.into(), Value::Int(size)]].concat(),
            ),
            Statement::new("DELETE FROM ecr_uploads WHERE upload_id = ?", vec![upload.into()]),
        ])
        .await;
    match recorded {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Records that a repository holds a layer whose file is already stored (a replica of one
/// another repository holds); false when the repository is gone.
pub async fn reference(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    digest: &str,
    size: i64,
) -> Result<bool, ModelError> {
    let key = || vec![Value::from(scope.account), Value::from(scope.region), Value::from(repository)];
    let recorded = store
        .transaction(vec![
            repository_guard(scope, repository),
            Statement::new(
                "DELETE FROM ecr_layers WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?",
                [key(), vec![digest.into()]].concat(),
            ),
            Statement::new(
                "INSERT INTO ecr_layers (account_id, region, repository, digest, size) VALUES (?, ?, ?, ?, ?)",
                [key(), vec![digest.into(), Value::Int(size)]].concat(),
            ),
        ])
        .await;
    match recorded {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::ecr::model::repository::{self, TagMutability, create};
    use crate::testing::{SCOPE, temp_store};

    const UPLOAD: &str = "0f4e2a8c-1b2d-4e5f-8a9b-0c1d2e3f4a5b";

    #[tokio::test]
    async fn an_upload_is_known_only_in_its_repository_until_it_completes() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, "web", TagMutability::Mutable, 1).await.unwrap();
        create(store, SCOPE, "api", TagMutability::Mutable, 1).await.unwrap();
        assert_eq!(upload_status(store, SCOPE, "web", UPLOAD).await.unwrap(), UploadStatus::Unknown);
        start_upload(store, SCOPE, "web", UPLOAD, 5).await.unwrap();
        assert_eq!(upload_status(store, SCOPE, "web", UPLOAD).await.unwrap(), UploadStatus::InProgress);
        assert_eq!(upload_status(store, SCOPE, "api", UPLOAD).await.unwrap(), UploadStatus::Unknown);
        assert_eq!(
            upload_status(store, crate::regions::Scope { account: "444455556666", region: "us-east-1" }, "web", UPLOAD)
                .await
                .unwrap(),
            UploadStatus::Unknown
        );

        let digest = format!("sha256:{}", "b".repeat(64));
        assert_eq!(size(store, SCOPE, "web", &digest).await.unwrap(), None);
        assert!(record(store, SCOPE, "web", &digest, 9, UPLOAD).await.unwrap());
        assert_eq!(size(store, SCOPE, "web", &digest).await.unwrap(), Some(9));
        assert_eq!(size(store, SCOPE, "api", &digest).await.unwrap(), None, "layers belong to a repository");
        assert_eq!(upload_status(store, SCOPE, "web", UPLOAD).await.unwrap(), UploadStatus::Unknown, "completed");
        // The same layer again (another upload) replaces the record.
        assert!(record(store, SCOPE, "web", &digest, 9, "other").await.unwrap());
        assert_eq!(size(store, SCOPE, "web", &digest).await.unwrap(), Some(9));

        start_upload(store, SCOPE, "api", UPLOAD, 6).await.unwrap();
        forget_upload(store, UPLOAD).await.unwrap();
        assert_eq!(upload_status(store, SCOPE, "api", UPLOAD).await.unwrap(), UploadStatus::Unknown, "cancelled");
    }

    #[tokio::test]
    async fn a_layer_is_referenced_while_any_repository_holds_it_and_never_recorded_for_a_gone_one() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, "web", TagMutability::Mutable, 1).await.unwrap();
        create(store, SCOPE, "api", TagMutability::Mutable, 1).await.unwrap();
        let digest = format!("sha256:{}", "c".repeat(64));
        assert!(!referenced(store, &digest).await.unwrap());
        record(store, SCOPE, "web", &digest, 3, UPLOAD).await.unwrap();
        record(store, SCOPE, "api", &digest, 3, UPLOAD).await.unwrap();
        repository::delete(store, SCOPE, "web", true).await.unwrap();
        assert!(referenced(store, &digest).await.unwrap(), "`api` still holds it");
        repository::delete(store, SCOPE, "api", true).await.unwrap();
        assert!(!referenced(store, &digest).await.unwrap());

        start_upload(store, SCOPE, "gone", UPLOAD, 7).await.unwrap();
        assert!(!record(store, SCOPE, "gone", &digest, 3, UPLOAD).await.unwrap(), "no repository, no layer");
        assert_eq!(size(store, SCOPE, "gone", &digest).await.unwrap(), None);
        assert_eq!(upload_status(store, SCOPE, "gone", UPLOAD).await.unwrap(), UploadStatus::InProgress, "untouched");
    }
}
