//! The image model: an image is its manifest's exact bytes, addressed by their SHA-256
//! digest; a tag names one image of a repository. Here are what a manifest references
//! ([`references`]), the tag rule, the tag-status filter, and the SQL of `ecr_images` and
//! `ecr_tags`.
//!
//! Guarantees: an image and the move of its tag are written in one transaction guarded by the
//! repository's row; a tag moves only from the digest it was read to name, so two concurrent
//! pushes of one tag cannot both win silently; an image is removed with its last tag (the
//! `DELETE` checks no tag names it), never while a tag still does.

use crate::regions::Scope;
use serde_json::Value as Json;
use store::{Statement, Store, StoreError, Value};

use super::{ModelError, repository_guard};
use crate::ecr::registry::blobs::Digest;

/// The manifest media types accepted (Docker schema 2 and OCI, single and index).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// ECR's limit on a manifest's size.
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// A stored image.
#[derive(Debug, Clone)]
pub struct Image {
    pub digest: String,
    pub media_type: String,
    pub artifact_media_type: Option<String>,
    pub manifest: Vec<u8>,
    pub size: i64,
    pub pushed_at: i64,
}

/// Whether `tag` fits ECR's and Docker's tag rule (`[\w][\w.-]{0,127}`, up to 300 in ECR).
pub fn valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    chars.next().is_some_and(word) && chars.all(|c| word(c) || c == '.' || c == '-') && tag.len() <= 300
}

/// Which images a listing wants (`filter.tagStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

impl TagStatus {
    /// The status `word` names, as ECR spells it.
    pub fn parse(word: &str) -> Option<TagStatus> {
        match word {
            "TAGGED" => Some(TagStatus::Tagged),
            "UNTAGGED" => Some(TagStatus::Untagged),
            "ANY" => Some(TagStatus::Any),
            _ => None,
        }
    }

    /// Whether an image with `tags` is wanted.
    pub fn admits(self, tags: &[String]) -> bool {
        match self {
            TagStatus::Tagged => !tags.is_empty(),
            TagStatus::Untagged => tags.is_empty(),
            TagStatus::Any => true,
        }
    }
}

/// What a manifest references, read from its JSON.
#[derive(Debug)]
pub struct References {
    pub media_type: String,
    pub artifact_media_type: Option<String>,
    /// Blobs (config and layers).
    pub blobs: Vec<String>,
    /// Manifests an index lists.
    pub manifests: Vec<String>,
}

/// Why a manifest is refused (ECR answers each as InvalidParameterException, `ecr::errors`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("Invalid JSON syntax")]
    InvalidJson,
    #[error("The manifest has no config")]
    NoConfig,
    #[error("Invalid digest {0}")]
    InvalidDigest(String),
    #[error("Manifest media type {declared} does not match the manifest's mediaType {inner}")]
    MediaTypeMismatch { declared: String, inner: String },
    #[error("Unsupported manifest media type {0}")]
    Unsupported(String),
}

impl ManifestError {
    /// Whether it is the media type that is wrong (rather than the manifest's content).
    pub fn of_media_type(&self) -> bool {
        matches!(self, ManifestError::MediaTypeMismatch { .. } | ManifestError::Unsupported(_))
    }
}

/// What `manifest` references, with its media type (`declared`, else its own `mediaType`,
/// else guessed from its shape), unless it is not a manifest Homeport keeps.
pub fn references(manifest: &[u8], declared: Option<&str>) -> Result<References, ManifestError> {
    let document: Json = serde_json::from_slice(manifest).map_err(|_| ManifestError::InvalidJson)?;
    let inner = document.get("mediaType").and_then(Json::as_str);
    let media_type = match (declared, inner) {
        (Some(declared), Some(inner)) if declared != inner => {
            return Err(ManifestError::MediaTypeMismatch { declared: declared.to_owned(), inner: inner.to_owned() });
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type.to_owned(),
        (None, None) if document.get("manifests").is_some() => OCI_INDEX.to_owned(),
        (None, None) => OCI_MANIFEST.to_owned(),
    };
    let digest_of = |entry: &Json| -> Result<String, ManifestError> {
        let digest = entry.get("digest").and_then(Json::as_str).unwrap_or_default();
        if Digest::parse(digest).is_none() {
            return Err(ManifestError::InvalidDigest(digest.to_owned()));
        }
        Ok(digest.to_owned())
    };
    let mut references = References { media_type, artifact_media_type: None, blobs: Vec::new(), manifests: Vec::new() };
    match references.media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = document.get("config").ok_or(ManifestError::NoConfig)?;
            references.artifact_media_type = config.get("mediaType").and_then(Json::as_str).map(str::to_owned);
            references.blobs.push(digest_of(config)?);
            let layers = document.get("layers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
            for layer in layers {
                // Foreign layers live elsewhere (their `urls`); they are not pushed here.
                if layer.get("urls").is_none() {
                    references.blobs.push(digest_of(layer)?);
                }
            }
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            let manifests = document.get("manifests").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
            for manifest in manifests {
                references.manifests.push(digest_of(manifest)?);
            }
        }
        other => return Err(ManifestError::Unsupported(other.to_owned())),
    }
    Ok(references)
}

const COLUMNS: &str = "digest, media_type, artifact_media_type, manifest, size, pushed_at";

fn image_of(row: &store::Row) -> Result<Image, ModelError> {
    Ok(Image {
        digest: row.text(0)?,
        media_type: row.text(1)?,
        artifact_media_type: row.opt_text(2)?,
        manifest: row.blob(3)?,
        size: row.int(4)?,
        pushed_at: row.int(5)?,
    })
}

/// The digest a tag names in a repository.
pub async fn tagged(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    tag: &str,
) -> Result<Option<String>, ModelError> {
    let rows = store
        .query(
            "SELECT digest FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ? AND tag = ?",
            vec![scope.account.into(), scope.region.into(), repository.into(), tag.into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.text(0)).transpose()?)
}

/// The image a reference (`sha256:...` digest or a tag) names in a repository.
pub async fn find(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    reference: &str,
) -> Result<Option<Image>, ModelError> {
    let digest = if Digest::parse(reference).is_some() {
        reference.to_owned()
    } else {
        match tagged(store, scope, repository, reference).await? {
            Some(digest) => digest,
            None => return Ok(None),
        }
    };
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ecr_images WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?"
            ),
            vec![scope.account.into(), scope.region.into(), repository.into(), digest.into()],
        )
        .await?;
    rows.first().map(image_of).transpose()
}

/// The tags of each image of a repository, as `(digest, tag)`, by tag.
async fn tags_by_digest(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
) -> Result<Vec<(String, String)>, ModelError> {
    let rows = store
        .query(
            "SELECT digest, tag FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ? ORDER BY tag",
            vec![scope.account.into(), scope.region.into(), repository.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
}

/// The tags of a repository, sorted (the registry's tag list).
pub async fn tags(store: &Store, scope: Scope<'_>, repository: &str) -> Result<Vec<String>, ModelError> {
    Ok(tags_by_digest(store, scope, repository).await?.into_iter().map(|(_, tag)| tag).collect())
}

/// Every image of a repository with its tags (sorted), oldest push first.
pub async fn with_tags(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
) -> Result<Vec<(Image, Vec<String>)>, ModelError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ecr_images WHERE account_id = ? AND region = ? AND repository = ? ORDER BY pushed_at, digest"
            ),
            vec![scope.account.into(), scope.region.into(), repository.into()],
        )
        .await?;
    let tags = tags_by_digest(store, scope, repository).await?;
    rows.iter()
        .map(|row| {
            let image = image_of(row)?;
            let own = tags.iter().filter(|(digest, _)| *digest == image.digest).map(|(_, tag)| tag.clone()).collect();
            Ok((image, own))
        })
        .collect()
}

/// An image to record (its digest is the push's).
#[derive(Debug)]
pub struct NewImage<'a> {
    pub media_type: &'a str,
    pub artifact_media_type: Option<&'a str>,
    pub manifest: &'a [u8],
    pub size: i64,
    pub pushed_at: i64,
}

/// Whether a push moves a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMove<'a> {
    Stays,
    /// `tag` is to name the pushed image; `from` is the digest it was read to name.
    To {
        tag: &'a str,
        from: Option<&'a str>,
    },
}

/// What recording a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    /// The repository went meanwhile; nothing was written.
    RepositoryGone,
    /// The tag was moved by a concurrent push since it was read; nothing was written.
    TagRaced,
}

/// Records a pushed image `digest` (`new`, when it is not stored yet) and moves its tag to
/// it, in one transaction guarded by the repository's row.
pub async fn store(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    digest: &str,
    new: Option<&NewImage<'_>>,
    tag: TagMove<'_>,
) -> Result<PushOutcome, ModelError> {
    let key = || vec![Value::from(scope.account), Value::from(scope.region), Value::from(repository)];
    let mut statements = vec![repository_guard(scope, repository)];
    if let Some(image) = new {
        statements.push(Statement::new(
            "INSERT INTO ecr_images (account_id, region, repository, digest, media_type, artifact_media_type, manifest, size, pushed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key(),
                vec![
                    digest.into(),
                    image.media_type.into(),
                    Value::from(image.artifact_media_type.map(str::to_owned)),
                    image.manifest.to_vec().into(),
                    Value::Int(image.size),
                    Value::Int(image.pushed_at),
                ],
            ]
            .concat(),
        ));
    }
    if let TagMove::To { tag, from } = tag {
        if let Some(from) = from {
            // Only the digest read may be replaced: a concurrent move makes this a guard
            // failure rather than a silent overwrite.
            statements.push(Statement::guard(
                "DELETE FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ? AND tag = ? AND digest = ?",
                [key(), vec![tag.into(), from.into()]].concat(),
            ));
        }
        statements.push(Statement::new(
            "INSERT INTO ecr_tags (account_id, region, repository, tag, digest) VALUES (?, ?, ?, ?, ?)",
            [key(), vec![tag.into(), digest.into()]].concat(),
        ));
    }
    match store.transaction(statements).await {
        Ok(_) => Ok(PushOutcome::Stored),
        Err(StoreError::Unmet(0)) => Ok(PushOutcome::RepositoryGone),
        Err(StoreError::Unmet(_) | StoreError::Conflict) => Ok(PushOutcome::TagRaced),
        Err(error) => Err(error.into()),
    }
}

/// An image id that was deleted: the digest, and the tag when one was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedId {
    pub digest: String,
    pub tag: Option<String>,
}

/// Deletes what an image id names: a tag (and the image when it was its last tag), or,
/// without a tag, the image with all its tags. Returns the ids deleted.
pub async fn delete(
    store: &Store,
    scope: Scope<'_>,
    repository: &str,
    digest: &str,
    tag: Option<&str>,
) -> Result<Vec<DeletedId>, ModelError> {
    let key = || vec![Value::from(scope.account), Value::from(scope.region), Value::from(repository)];
    let remove_untagged = Statement::new(
        "DELETE FROM ecr_images WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?
         AND NOT EXISTS (SELECT 1 FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?)",
        [key(), vec![digest.into()], key(), vec![digest.into()]].concat(),
    );
    let id = |tag: Option<&str>| DeletedId { digest: digest.to_owned(), tag: tag.map(str::to_owned) };
    let (statements, deleted) = match tag {
        Some(tag) => (
            vec![
                Statement::new(
                    "DELETE FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ? AND tag = ? AND digest = ?",
                    [key(), vec![tag.into(), digest.into()]].concat(),
                ),
                remove_untagged,
            ],
            vec![id(Some(tag))],
        ),
        None => {
            let tags: Vec<String> = tags_by_digest(store, scope, repository)
                .await?
                .into_iter()
                .filter(|(tagged, _)| tagged == digest)
                .map(|(_, tag)| tag)
                .collect();
            let deleted = if tags.is_empty() { vec![id(None)] } else { tags.iter().map(|tag| id(Some(tag))).collect() };
            (
                vec![
                    Statement::new(
                        "DELETE FROM ecr_tags WHERE account_id = ? AND region = ? AND repository = ? AND digest = ?",
                        [key(), vec![digest.into()]].concat(),
                    ),
                    remove_untagged,
                ],
                deleted,
            )
        }
    };
    store.transaction(statements).await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::ecr::model::repository::{TagMutability, create};
    use crate::testing::{SCOPE, temp_store};

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn new_image(pushed_at: i64) -> NewImage<'static> {
        NewImage {
            media_type: OCI_MANIFEST,
            artifact_media_type: Some("application/vnd.oci.image.config.v1+json"),
            manifest: b"{\"schemaVersion\":2}",
            size: 42,
            pushed_at,
        }
    }

    #[test]
    fn tags_follow_docker_rule() {
        for good in ["latest", "v1.2.3", "a", "_x", "1-2_3.4"] {
            assert!(valid_tag(good), "{good}");
        }
        for bad in ["", ".x", "-x", "a b", "a/b", "a:b"] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn a_tag_status_admits_images_by_their_tags() {
        let tagged = ["v1".to_owned()];
        let cases = [("TAGGED", true, false), ("UNTAGGED", false, true), ("ANY", true, true)];
        for (word, admits_tagged, admits_untagged) in cases {
            let status = TagStatus::parse(word).unwrap();
            assert_eq!((status.admits(&tagged), status.admits(&[])), (admits_tagged, admits_untagged), "{word}");
        }
        assert_eq!(TagStatus::parse("tagged"), None);
    }

    #[test]
    fn manifests_name_their_blobs() {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7, "digest": digest('a')},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 9, "digest": digest('b')},
                {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1, "digest": digest('c'), "urls": ["https://example.com"]}
            ]
        })
        .to_string();
        let found = references(manifest.as_bytes(), None).unwrap();
        assert_eq!(found.media_type, DOCKER_MANIFEST);
        assert_eq!(found.blobs.len(), 2, "the foreign layer is not expected here");
        assert_eq!(found.artifact_media_type.as_deref(), Some("application/vnd.docker.container.image.v1+json"));
        let mismatch = references(manifest.as_bytes(), Some(OCI_MANIFEST)).unwrap_err();
        assert!(mismatch.of_media_type());
        let answered = aws_protocol::AwsError::from(mismatch);
        assert_eq!(answered.code, "InvalidParameterException");
        assert_eq!(
            answered.message,
            format!(
                "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'Manifest media type {OCI_MANIFEST} does not match the manifest's mediaType {DOCKER_MANIFEST}'"
            )
        );
        assert_eq!(references(b"{", None).unwrap_err(), ManifestError::InvalidJson);
        let answered = aws_protocol::AwsError::from(ManifestError::InvalidJson).message;
        assert_eq!(
            answered,
            "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
        );
        let schema1 =
            json!({"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"});
        let unsupported = references(schema1.to_string().as_bytes(), None).unwrap_err();
        assert_eq!(
            unsupported,
            ManifestError::Unsupported("application/vnd.docker.distribution.manifest.v1+prettyjws".to_owned())
        );
        let bad_digest = json!({"schemaVersion": 2, "config": {"digest": "sha256:nope"}}).to_string();
        assert_eq!(
            references(bad_digest.as_bytes(), None).unwrap_err(),
            ManifestError::InvalidDigest("sha256:nope".to_owned())
        );
        let index = json!({"schemaVersion": 2, "manifests": [{"digest": digest('e')}]}).to_string();
        let found = references(index.as_bytes(), None).unwrap();
        assert_eq!((found.media_type.as_str(), found.manifests), (OCI_INDEX, vec![digest('e')]));
    }

    async fn push(store: &Store, digest: &str, new: Option<&NewImage<'_>>, tag: TagMove<'_>) -> PushOutcome {
        super::store(store, SCOPE, "web", digest, new, tag).await.unwrap()
    }

    #[tokio::test]
    async fn an_image_is_found_by_digest_or_tag_and_a_tag_moves_only_from_what_was_read() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, "web", TagMutability::Mutable, 1).await.unwrap();
        let (first, second) = (digest('1'), digest('2'));
        let to = |from| TagMove::To { tag: "latest", from };
        assert_eq!(push(store, &first, Some(&new_image(10)), to(None)).await, PushOutcome::Stored);
        assert_eq!(find(store, SCOPE, "web", "latest").await.unwrap().unwrap().digest, first);
        assert_eq!(find(store, SCOPE, "web", &first).await.unwrap().unwrap().size, 42);
        assert!(find(store, SCOPE, "web", "v2").await.unwrap().is_none());
        assert!(find(store, SCOPE, "other", &first).await.unwrap().is_none(), "images belong to a repository");

        // A second push read `latest` as naming nothing: it loses, and writes nothing.
        assert_eq!(push(store, &second, Some(&new_image(11)), to(None)).await, PushOutcome::TagRaced);
        assert!(find(store, SCOPE, "web", &second).await.unwrap().is_none(), "all or nothing");
        // Read from what it names, it moves.
        assert_eq!(push(store, &second, Some(&new_image(11)), to(Some(&first))).await, PushOutcome::Stored);
        assert_eq!(tagged(store, SCOPE, "web", "latest").await.unwrap(), Some(second.clone()));
        let listed = with_tags(store, SCOPE, "web").await.unwrap();
        let shown: Vec<_> = listed.iter().map(|(image, tags)| (image.digest.clone(), tags.clone())).collect();
        assert_eq!(shown, [(first.clone(), vec![]), (second.clone(), vec!["latest".to_owned()])], "oldest first");

        crate::ecr::model::repository::delete(store, SCOPE, "web", true).await.unwrap();
        assert_eq!(push(store, &digest('3'), Some(&new_image(12)), TagMove::Stays).await, PushOutcome::RepositoryGone);
    }

    #[tokio::test]
    async fn an_image_goes_with_its_last_tag_or_with_all_of_them() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, "web", TagMutability::Mutable, 1).await.unwrap();
        let image = digest('1');
        push(store, &image, Some(&new_image(10)), TagMove::To { tag: "a", from: None }).await;
        // A stored image tagged again: only the tag is written.
        assert_eq!(push(store, &image, None, TagMove::To { tag: "b", from: None }).await, PushOutcome::Stored);
        assert_eq!(tags(store, SCOPE, "web").await.unwrap(), ["a", "b"]);

        let deleted = delete(store, SCOPE, "web", &image, Some("a")).await.unwrap();
        assert_eq!(deleted, [DeletedId { digest: image.clone(), tag: Some("a".to_owned()) }]);
        assert!(find(store, SCOPE, "web", &image).await.unwrap().is_some(), "`b` still names it");
        delete(store, SCOPE, "web", &image, Some("b")).await.unwrap();
        assert!(find(store, SCOPE, "web", &image).await.unwrap().is_none(), "gone with its last tag");

        let other = digest('2');
        push(store, &other, Some(&new_image(11)), TagMove::To { tag: "x", from: None }).await;
        push(store, &other, None, TagMove::To { tag: "y", from: None }).await;
        let deleted = delete(store, SCOPE, "web", &other, None).await.unwrap();
        let tag = |t: &str| DeletedId { digest: other.clone(), tag: Some(t.to_owned()) };
        assert_eq!(deleted, [tag("x"), tag("y")], "an image deleted by digest goes with all its tags");
        assert!(with_tags(store, SCOPE, "web").await.unwrap().is_empty());
        assert!(tags(store, SCOPE, "web").await.unwrap().is_empty());

        let untagged = digest('3');
        push(store, &untagged, Some(&new_image(12)), TagMove::Stays).await;
        let deleted = delete(store, SCOPE, "web", &untagged, None).await.unwrap();
        assert_eq!(deleted, [DeletedId { digest: untagged.clone(), tag: None }]);
    }
}
