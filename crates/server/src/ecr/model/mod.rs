//! ECR's domain layer: repositories (with their tag mutability, repository policy and
//! lifecycle), their settings and tags and the registry's (`settings`), lifecycle policies
//! (`lifecycle`, pure), images (manifests, tags and digests) and layers with their uploads, and the
//! SQL of the `ecr_*` tables as functions of the store, never of a request's `Ctx`. The
//! handlers in `ecr/` and the registry (`ecr/registry`) decode a request, call these, and
//! encode the answer.
//!
//! Guarantees:
//! - everything a repository holds (images, tags, layers, uploads) is written in a
//!   transaction guarded by the repository's row ([`repository_guard`]), so nothing is
//!   recorded for a repository deleted meanwhile, and deleting a repository removes all of
//!   it in one transaction;
//! - a repository with images is deleted only when forced (the check is in the `DELETE`);
//! - a tag names one image of its repository and moves only from the digest it was read to
//!   name (a concurrent move fails the guard rather than being overwritten);
//! - an image goes with its last tag, never while a tag still names it;
//! - a tag mutability or an upload status is an enum stored in ECR's words, and a stored word
//!   the model does not know is an internal error, never guessed at.
//!
//! The model answers in its own errors ([`ModelError`], [`image::ManifestError`]), never in
//! ECR's wire shapes: `ecr::errors` turns them into ECR's codes and messages.

pub(crate) mod image;
pub(crate) mod layer;
pub(crate) mod lifecycle;
pub(crate) mod repository;
pub(crate) mod settings;

use crate::regions::Scope;
use store::{Statement, StoreError};

/// Why the model could not answer: a failure that is Homeport's, never the caller's (the
/// handlers answer it as ECR's `ServerException`, `ecr::errors`).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds what the model cannot read (a word it does not know).
    #[error("{0}")]
    Corrupt(String),
    /// A stored policy's principals could not be read (`crate::principals`), already in the
    /// shape the caller answers.
    #[error("{0}")]
    Principals(aws_protocol::AwsError),
}

/// A transaction's guard that repository `name` still exists (it also locks the row, so the
/// repository cannot go while the transaction writes what belongs to it).
pub fn repository_guard(scope: Scope<'_>, name: &str) -> Statement {
    Statement::guard(
        "UPDATE ecr_repositories SET name = name WHERE account_id = ? AND region = ? AND name = ?",
        vec![scope.account.into(), scope.region.into(), name.into()],
    )
}
