//! The repository model: a stored repository (its tag mutability and repository policy),
//! and the SQL of `ecr_repositories`: creating one, reading it, changing its mutability or
//! policy, and deleting it with everything it holds.
//!
//! Guarantees: a name is created once per account (the primary key decides, never a read
//! before the write); a repository policy is read as it reads now (principals bound to
//! users or roles since deleted show their unique ids, `crate::principals`); deleting a
//! repository removes its images, tags, layer references and uploads in the same
//! transaction (with its settings and tags, `settings::deletions`), and refuses, in the `DELETE` itself, a repository with images unless forced.

use crate::regions::Scope;
use store::{Statement, Store, StoreError, Value};

use crate::ecr::model::ModelError;

/// Whether a tag may move to another image, as ECR names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMutability {
    Mutable,
    Immutable,
}

impl TagMutability {
    /// The word ECR uses (stored and answered as is).
    pub fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
        }
    }

    /// The mutability `word` names, if it is one Homeport keeps.
    pub fn parse(word: &str) -> Option<TagMutability> {
        [TagMutability::Mutable, TagMutability::Immutable].into_iter().find(|m| m.as_str() == word)
    }
}

/// One repository's row.
#[derive(Debug, Clone)]
pub struct Repository {
    pub name: String,
    pub created_at: i64,
    pub tag_mutability: TagMutability,
    /// The repository policy, as it reads now.
    pub policy: Option<String>,
}

impl Repository {
    pub fn immutable(&self) -> bool {
        self.tag_mutability == TagMutability::Immutable
    }
}

const COLUMNS: &str = "name, created_at, tag_mutability, policy, policy_principals";

async fn repository_of(store: &Store, scope: Scope<'_>, row: &store::Row) -> Result<Repository, ModelError> {
    // The policy as it reads now: principals bound to users or roles gone since show their ids.
    let policy = match row.opt_text(3)? {
        Some(text) => Some(
            crate::principals::resolve(store, scope.account, &text, row.opt_text(4)?.as_deref())
                .await
                .map_err(ModelError::Principals)?,
        ),
        None => None,
    };
    let mutability = row.text(2)?;
    Ok(Repository {
        name: row.text(0)?,
        created_at: row.int(1)?,
        tag_mutability: TagMutability::parse(&mutability)
            .ok_or_else(|| ModelError::Corrupt(format!("unknown tag mutability `{mutability}`")))?,
        policy,
    })
}

/// The repository named `name`, if it exists.
pub async fn find(store: &Store, scope: Scope<'_>, name: &str) -> Result<Option<Repository>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM ecr_repositories WHERE account_id = ? AND region = ? AND name = ?"),
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    match rows.first() {
        Some(row) => repository_of(store, scope, row).await.map(Some),
        None => Ok(None),
    }
}

/// Every repository of `account`, by name.
pub async fn all(store: &Store, scope: Scope<'_>) -> Result<Vec<Repository>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM ecr_repositories WHERE account_id = ? AND region = ? ORDER BY name"),
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    let mut repositories = Vec::with_capacity(rows.len());
    for row in &rows {
        repositories.push(repository_of(store, scope, row).await?);
    }
    Ok(repositories)
}

/// Records a new repository without a policy; false when the name is taken.
pub async fn create(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    mutability: TagMutability,
    now: i64,
) -> Result<bool, ModelError> {
    let inserted = store
        .execute(
            "INSERT INTO ecr_repositories (account_id, region, name, created_at, tag_mutability, policy) VALUES (?, ?, ?, ?, ?, NULL)",
            vec![scope.account.into(), scope.region.into(), name.into(), Value::Int(now), mutability.as_str().into()],
        )
        .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Sets a repository's tag mutability; false when it does not exist.
pub async fn set_tag_mutability(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    mutability: TagMutability,
) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE ecr_repositories SET tag_mutability = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![mutability.as_str().into(), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Stores a (validated) repository policy with its principals bound (`principals::bind`);
/// false when the repository does not exist.
pub async fn set_policy(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    text: &str,
    principals: &str,
) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE ecr_repositories SET policy = ?, policy_principals = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![text.into(), principals.into(), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Removes a repository's policy (none, or no repository, is no change).
pub async fn delete_policy(store: &Store, scope: Scope<'_>, name: &str) -> Result<(), ModelError> {
    store
        .execute(
            "UPDATE ecr_repositories SET policy = NULL, policy_principals = NULL WHERE account_id = ? AND region = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(())
}

/// What deleting a repository did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// It went with everything it held; `layers` are the digests it referenced, whose files
    /// the caller collects (`registry::blobs::Blobs::collect`) once no repository has them.
    Deleted {
        layers: Vec<String>,
    },
    NotFound,
    /// It holds images and was not forced.
    NotEmpty,
}

/// Deletes a repository with its images, tags, layer references and uploads, in one
/// transaction; one holding images only when `force`.
pub async fn delete(store: &Store, scope: Scope<'_>, name: &str, force: bool) -> Result<Deletion, ModelError> {
    let key = || vec![Value::from(scope.account), Value::from(scope.region), Value::from(name)];
    let layers = store
        .query("SELECT digest FROM ecr_layers WHERE account_id = ? AND region = ? AND repository = ?", key())
        .await?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<Vec<String>, _>>()?;
    let guard = if force {
        Statement::guard("DELETE FROM ecr_repositories WHERE account_id = ? AND region = ? AND name = ?", key())
    } else {
        Statement::guard(
            "DELETE FROM ecr_repositories WHERE account_id = ? AND region = ? AND name = ?
             AND NOT EXISTS (SELECT 1 FROM ecr_images WHERE account_id = ? AND region = ? AND repository = ?)",
            [key(), key()].concat(),
        )
    };
    let mut statements = vec![
        guard,
        Statement::new("DELETE FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ?", key()),
        Statement::new("DELETE FROM ecr_images WHERE account_id = ? AND region = ? AND repository = ?", key()),
        Statement::new("DELETE FROM ecr_layers WHERE account_id = ? AND region = ? AND repository = ?", key()),
        Statement::new("DELETE FROM ecr_uploads WHERE account_id = ? AND region = ? AND repository = ?", key()),
    ];
    // Its settings and tags (`settings`) go with it.
    statements.extend(crate::ecr::model::settings::deletions(scope.account, scope.region, name));
    match store.transaction(statements).await {
        Ok(_) => Ok(Deletion::Deleted { layers }),
        Err(StoreError::Unmet(_)) => {
            if find(store, scope, name).await?.is_none() {
                Ok(Deletion::NotFound)
            } else {
                Ok(Deletion::NotEmpty)
            }
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::ecr::model::{image, layer};
    use crate::testing::{SCOPE, temp_store};

    #[test]
    fn tag_mutabilities_round_trip_through_their_words() {
        for mutability in [TagMutability::Mutable, TagMutability::Immutable] {
            assert_eq!(TagMutability::parse(mutability.as_str()), Some(mutability));
        }
        assert_eq!(TagMutability::parse("IMMUTABLE_WITH_EXCLUSION"), None, "exclusion filters are not kept");
        assert_eq!(TagMutability::parse("mutable"), None);
    }

    #[tokio::test]
    async fn a_name_is_created_once_per_account_and_listed_by_name() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(create(store, SCOPE, "web", TagMutability::Mutable, 10).await.unwrap());
        assert!(create(store, SCOPE, "api", TagMutability::Immutable, 11).await.unwrap());
        assert!(!create(store, SCOPE, "web", TagMutability::Immutable, 12).await.unwrap(), "the name is taken");
        assert!(
            create(
                store,
                crate::regions::Scope { account: "444455556666", region: "us-east-1" },
                "web",
                TagMutability::Mutable,
                13
            )
            .await
            .unwrap(),
            "per account"
        );
        let names: Vec<_> = all(store, SCOPE).await.unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["api", "web"]);
        let web = find(store, SCOPE, "web").await.unwrap().unwrap();
        assert_eq!((web.created_at, web.tag_mutability, web.policy), (10, TagMutability::Mutable, None));
        assert!(find(store, SCOPE, "gone").await.unwrap().is_none());

        assert!(set_tag_mutability(store, SCOPE, "web", TagMutability::Immutable).await.unwrap());
        assert!(find(store, SCOPE, "web").await.unwrap().unwrap().immutable());
        assert!(!set_tag_mutability(store, SCOPE, "gone", TagMutability::Immutable).await.unwrap());
    }

    #[tokio::test]
    async fn a_policy_is_stored_read_and_removed() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, "web", TagMutability::Mutable, 10).await.unwrap();
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}"#;
        assert!(set_policy(store, SCOPE, "web", text, "{}").await.unwrap());
        assert!(!set_policy(store, SCOPE, "gone", text, "{}").await.unwrap());
        assert_eq!(find(store, SCOPE, "web").await.unwrap().unwrap().policy.as_deref(), Some(text));
        delete_policy(store, SCOPE, "web").await.unwrap();
        assert_eq!(find(store, SCOPE, "web").await.unwrap().unwrap().policy, None);
    }

    #[tokio::test]
    async fn a_repository_with_images_goes_only_when_forced_and_takes_everything_with_it() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, "web", TagMutability::Mutable, 10).await.unwrap();
        let config = format!("sha256:{}", "a".repeat(64));
        assert!(layer::record(store, SCOPE, "web", &config, 7, "upload-1").await.unwrap());
        layer::start_upload(store, SCOPE, "web", "upload-2", 11).await.unwrap();
        let digest = format!("sha256:{}", "d".repeat(64));
        let new = image::NewImage {
            media_type: "application/vnd.oci.image.manifest.v1+json",
            artifact_media_type: None,
            manifest: b"{}",
            size: 7,
            pushed_at: 12,
        };
        image::store(store, SCOPE, "web", &digest, Some(&new), image::TagMove::To { tag: "v1", from: None })
            .await
            .unwrap();

        assert_eq!(delete(store, SCOPE, "web", false).await.unwrap(), Deletion::NotEmpty);
        assert!(find(store, SCOPE, "web").await.unwrap().is_some(), "refused whole");
        assert_eq!(
            delete(store, SCOPE, "web", true).await.unwrap(),
            Deletion::Deleted { layers: vec![config.clone()] }
        );
        assert_eq!(delete(store, SCOPE, "web", true).await.unwrap(), Deletion::NotFound);
        for table in ["ecr_images", "ecr_tags", "ecr_layers", "ecr_uploads"] {
            let rows = store.query(&format!("SELECT 1 FROM {table}"), vec![]).await.unwrap();
            assert!(rows.is_empty(), "{table}");
        }
        assert!(!layer::referenced(store, &config).await.unwrap(), "its file may be collected");

        create(store, SCOPE, "empty", TagMutability::Mutable, 20).await.unwrap();
        assert_eq!(delete(store, SCOPE, "empty", false).await.unwrap(), Deletion::Deleted { layers: Vec::new() });
    }
}
