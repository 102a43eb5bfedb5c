//! IAM's SAML identity providers: every statement on `saml_providers`.
//!
//! A provider is its ARN (`arn:aws:iam::ACCOUNT:saml-provider/NAME`, compared exactly), its
//! metadata document as uploaded, that document's expiry and the provider's UUID.
//!
//! Guarantees: at most [`PER_ACCOUNT`] providers, counted in the inserting statement; a second
//! provider of one name is a conflict of the primary key; a provider's tags go with it.

use store::{Statement, Store, StoreError, Value};

use super::Error;
use super::oidc_providers::Creation;
use super::tags::{self, Tag, Tagged};

/// SAML providers per account (IAM's quota `SAMLProvidersPerAccount`).
pub(crate) const PER_ACCOUNT: usize = 100;

/// One provider as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SamlProvider {
    pub arn: String,
    pub uuid: String,
    pub metadata: String,
    pub valid_until: i64,
    pub created_at: i64,
}

/// Creates `provider` with `tags`, unless its ARN exists or the account holds [`PER_ACCOUNT`].
pub(crate) async fn create(
    store: &Store,
    account: &str,
    provider: &SamlProvider,
    tags: &[Tag],
) -> Result<Creation, Error> {
    let limit = Value::Int(i64::try_from(PER_ACCOUNT).unwrap_or(i64::MAX));
    let mut statements = vec![Statement::guard(
        "INSERT INTO saml_providers (account_id, arn, provider_uuid, metadata, valid_until, created_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM saml_providers WHERE account_id = ?) < ?",
        vec![
            account.into(),
            provider.arn.as_str().into(),
            provider.uuid.as_str().into(),
            provider.metadata.as_str().into(),
            Value::Int(provider.valid_until),
            Value::Int(provider.created_at),
            account.into(),
            limit,
        ],
    )];
    statements.extend(tags::set_statements(account, Tagged::SamlProvider, &provider.arn, tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(Creation::Made),
        Err(StoreError::Conflict) => Ok(Creation::AlreadyExists),
        Err(StoreError::Unmet(_)) => Ok(if find(store, account, &provider.arn).await?.is_some() {
            Creation::AlreadyExists
        } else {
            Creation::QuotaReached
        }),
        Err(error) => Err(error.into()),
    }
}

const COLUMNS: &str = "arn, provider_uuid, metadata, valid_until, created_at";

fn from_row(row: &store::Row) -> Result<SamlProvider, Error> {
    Ok(SamlProvider {
        arn: row.text(0)?,
        uuid: row.text(1)?,
        metadata: row.text(2)?,
        valid_until: row.int(3)?,
        created_at: row.int(4)?,
    })
}

/// The provider of exactly this ARN.
pub(crate) async fn find(store: &Store, account: &str, arn: &str) -> Result<Option<SamlProvider>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM saml_providers WHERE account_id = ? AND arn = ?"),
            vec![account.into(), arn.into()],
        )
        .await?;
    rows.first().map(from_row).transpose()
}

/// The account's providers, by ARN, without their documents: (ARN, valid until, created at).
pub(crate) async fn list(store: &Store, account: &str) -> Result<Vec<(String, i64, i64)>, Error> {
    let rows = store
        .query(
            "SELECT arn, valid_until, created_at FROM saml_providers WHERE account_id = ? ORDER BY arn",
            vec![account.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.int(1)?, row.int(2)?))).collect()
}

/// Replaces a provider's metadata document and expiry; `false` if there is no such provider.
pub(crate) async fn update_metadata(
    store: &Store,
    account: &str,
    arn: &str,
    metadata: &str,
    valid_until: i64,
) -> Result<bool, Error> {
    let changed = store
        .execute(
            "UPDATE saml_providers SET metadata = ?, valid_until = ? WHERE account_id = ? AND arn = ?",
            vec![metadata.into(), Value::Int(valid_until), account.into(), arn.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Deletes the provider and its tags; `false` if there was none.
pub(crate) async fn delete(store: &Store, account: &str, arn: &str) -> Result<bool, Error> {
    let deleted = store
        .transaction(vec![
            Statement::new(
                "DELETE FROM saml_providers WHERE account_id = ? AND arn = ?",
                vec![account.into(), arn.into()],
            ),
            tags::delete_all(account, Tagged::SamlProvider, arn),
        ])
        .await?;
    Ok(deleted.first().copied().unwrap_or(0) == 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn a_provider_is_created_once_updated_and_deleted_with_its_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        let provider = SamlProvider {
            arn: format!("arn:aws:iam::{ACCOUNT}:saml-provider/Okta"),
            uuid: "U".repeat(22),
            metadata: "<md/>".to_owned(),
            valid_until: 2_000,
            created_at: 100,
        };
        let tag = Tag { key: "team".to_owned(), value: "it".to_owned() };
        assert_eq!(create(store, ACCOUNT, &provider, std::slice::from_ref(&tag)).await.unwrap(), Creation::Made);
        assert_eq!(create(store, ACCOUNT, &provider, &[]).await.unwrap(), Creation::AlreadyExists);
        assert_eq!(find(store, ACCOUNT, &provider.arn).await.unwrap().unwrap(), provider);
        assert!(update_metadata(store, ACCOUNT, &provider.arn, "<new/>", 3_000).await.unwrap());
        let updated = find(store, ACCOUNT, &provider.arn).await.unwrap().unwrap();
        assert_eq!((updated.metadata.as_str(), updated.valid_until), ("<new/>", 3_000));
        assert_eq!(list(store, ACCOUNT).await.unwrap(), [(provider.arn.clone(), 3_000, 100)]);
        assert_eq!(tags::load(store, ACCOUNT, Tagged::SamlProvider, &provider.arn).await.unwrap(), [tag]);
        assert!(delete(store, ACCOUNT, &provider.arn).await.unwrap());
        assert!(!delete(store, ACCOUNT, &provider.arn).await.unwrap());
        assert!(!update_metadata(store, ACCOUNT, &provider.arn, "<x/>", 1).await.unwrap());
        assert!(tags::load(store, ACCOUNT, Tagged::SamlProvider, &provider.arn).await.unwrap().is_empty());
    }
}
