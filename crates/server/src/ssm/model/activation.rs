//! The activation model: a hybrid activation lets up to `registration_limit` servers register
//! as managed instances acting with its IAM role until it expires; the SQL of `activations`.
//!
//! Guarantees: only the SHA-256 of an activation's code is stored; an activation is created
//! and deleted with its tags in one transaction; its registration count only moves inside a
//! registration (`instance::register`), which checks the limit and the expiry in the same
//! statement.

use crate::regions::Scope;
use store::{Statement, Store, StoreError, Value};

use crate::ssm::model::ModelError;
use crate::ssm::model::tags::{self, ResourceKind, Tag};

/// A stored activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub id: String,
    /// The SHA-256 (hex) of its code.
    pub code_hash: String,
    pub role_name: String,
    pub description: Option<String>,
    pub default_instance_name: Option<String>,
    pub registration_limit: i64,
    pub registrations_count: i64,
    pub expires_at: i64,
    pub created_at: i64,
    /// The region it was created in, where the instances it registers are.
    pub region: String,
}

impl Activation {
    /// Whether it has expired at `now` (it expires at `expires_at` exactly).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at <= now
    }
}

/// What creating an activation records (its count starts at 0).
#[derive(Debug, Clone)]
pub struct NewActivation<'a> {
    pub id: &'a str,
    pub code_hash: &'a str,
    pub role_name: &'a str,
    pub description: Option<&'a str>,
    pub default_instance_name: Option<&'a str>,
    pub registration_limit: i64,
    pub expires_at: i64,
    pub created_at: i64,
    /// `RegistrationMetadata` as given (JSON text).
    pub metadata: Option<String>,
}

/// Records a new activation and its tags, in one transaction.
pub async fn create(store: &Store, scope: Scope<'_>, new: &NewActivation<'_>, tags: &[Tag]) -> Result<(), ModelError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO activations (activation_id, account_id, region, code_hash, role_name, description,
                                  default_instance_name, registration_limit, registrations_count, expires_at, created_at,
                                  registration_metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        vec![
            new.id.into(),
            scope.account.into(), scope.region.into(),
            new.code_hash.into(),
            new.role_name.into(),
            Value::from(new.description.map(str::to_owned)),
            Value::from(new.default_instance_name.map(str::to_owned)),
            Value::Int(new.registration_limit),
            Value::Int(new.expires_at),
            Value::Int(new.created_at),
            Value::from(new.metadata.clone()),
        ],
    )];
    statements.extend(tags::set(scope.account, ResourceKind::Activation, new.id, tags));
    store.transaction(statements).await?;
    Ok(())
}

const COLUMNS: &str = "activation_id, code_hash, role_name, description, default_instance_name, registration_limit,
                       registrations_count, expires_at, created_at, region";

fn activation_of(row: &store::Row) -> Result<Activation, ModelError> {
    Ok(Activation {
        id: row.text(0)?,
        code_hash: row.text(1)?,
        role_name: row.text(2)?,
        description: row.opt_text(3)?,
        default_instance_name: row.opt_text(4)?,
        registration_limit: row.int(5)?,
        registrations_count: row.int(6)?,
        expires_at: row.int(7)?,
        created_at: row.int(8)?,
        region: row.text(9)?,
    })
}

/// The activation `id` of `account`, in whichever region it was created (its code is what
/// the unsigned registration proves; the region is the activation's), expired or not.
pub async fn find_for_registration(store: &Store, account: &str, id: &str) -> Result<Option<Activation>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM activations WHERE account_id = ? AND activation_id = ?"),
            vec![account.into(), id.into()],
        )
        .await?;
    rows.first().map(activation_of).transpose()
}

/// Every activation of `account`, oldest first.
pub async fn all(store: &Store, scope: Scope<'_>) -> Result<Vec<Activation>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM activations WHERE account_id = ? AND region = ? ORDER BY created_at, activation_id"),
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    rows.iter().map(activation_of).collect()
}

/// Deletes an activation and its tags (the instances it registered stay); false when there
/// is no such activation.
pub async fn delete(store: &Store, scope: Scope<'_>, id: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM activations WHERE account_id = ? AND region = ? AND activation_id = ?",
                vec![scope.account.into(), scope.region.into(), id.into()],
            ),
            tags::delete_all(scope.account, ResourceKind::Activation, id),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, SCOPE, temp_store};

    pub(crate) const ACTIVATION: &str = "7a3c1f52-0e1d-4b6a-9c2e-5d8f0a1b2c3d";

    pub(crate) fn new_activation(id: &str, limit: i64, expires_at: i64) -> NewActivation<'_> {
        NewActivation {
            id,
            code_hash: "c0de",
            role_name: "ssm-role",
            description: Some("edge servers"),
            default_instance_name: None,
            registration_limit: limit,
            expires_at,
            created_at: 100,
            metadata: None,
        }
    }

    #[test]
    fn an_activation_expires_at_its_date() {
        let activation = Activation {
            id: ACTIVATION.to_owned(),
            code_hash: "c0de".to_owned(),
            role_name: "r".to_owned(),
            description: None,
            default_instance_name: None,
            registration_limit: 2,
            registrations_count: 1,
            expires_at: 200,
            created_at: 100,
            region: "us-east-1".to_owned(),
        };
        assert!(!activation.expired(199));
        assert!(activation.expired(200), "expired at the instant");
        assert!(activation.expired(201));
    }

    #[tokio::test]
    async fn an_activation_is_created_and_deleted_with_its_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        let tags = [("team".to_owned(), "edge".to_owned())];
        create(store, SCOPE, &new_activation(ACTIVATION, 3, 1_000), &tags).await.unwrap();
        let later = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
        let mut second = new_activation(later, 1, 2_000);
        second.created_at = 150;
        create(store, SCOPE, &second, &[]).await.unwrap();

        let found = find_for_registration(store, ACCOUNT, ACTIVATION).await.unwrap().unwrap();
        assert_eq!((found.registrations_count, found.registration_limit, found.expires_at), (0, 3, 1_000));
        assert_eq!(found.description.as_deref(), Some("edge servers"));
        assert_eq!(found.region, "us-east-1", "the region it was created in");
        assert!(find_for_registration(store, "444455556666", ACTIVATION).await.unwrap().is_none());
        let ids: Vec<_> = all(store, SCOPE).await.unwrap().into_iter().map(|a| a.id).collect();
        assert_eq!(ids, [ACTIVATION, later], "oldest first");
        let elsewhere = crate::regions::Scope { account: ACCOUNT, region: "eu-west-1" };
        assert!(all(store, elsewhere).await.unwrap().is_empty(), "another region's activations are not listed");
        assert!(!delete(store, elsewhere, ACTIVATION).await.unwrap(), "nor deleted from another region");
        assert_eq!(tags::of(store, ACCOUNT, ResourceKind::Activation, ACTIVATION).await.unwrap(), tags);

        assert!(delete(store, SCOPE, ACTIVATION).await.unwrap());
        assert!(!delete(store, SCOPE, ACTIVATION).await.unwrap(), "gone");
        assert!(tags::of(store, ACCOUNT, ResourceKind::Activation, ACTIVATION).await.unwrap().is_empty());
        assert_eq!(all(store, SCOPE).await.unwrap().len(), 1);
    }
}
