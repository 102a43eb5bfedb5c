//! IAM's OpenID Connect identity providers: every statement on `oidc_providers`.
//!
//! A provider is its ARN (`arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`, compared exactly),
//! its URL as IAM answers it (without `https://`), its client ids (audiences) and the
//! thumbprints of certificates it is trusted by, each a JSON list in the order given.
//!
//! Guarantees: at most [`PER_ACCOUNT`] providers, counted in the inserting statement; a
//! second provider of one URL is a conflict of the primary key; a list is rewritten only if
//! it is still what the caller read (compare-and-set), so concurrent changes never lose one;
//! a provider's tags go with it.

use store::{Statement, Store, StoreError, Value};

use super::Error;
use super::tags::{self, Tag, Tagged};

/// OpenID Connect providers per account (IAM's quota).
pub(crate) const PER_ACCOUNT: usize = 100;
/// Client ids per provider (IAM's quota `ClientIdsPerOpenIdConnectProvider`).
pub(crate) const CLIENT_IDS: usize = 100;
/// Thumbprints per provider (IAM's quota `ThumbprintsPerOpenIdConnectProvider`).
pub(crate) const THUMBPRINTS: usize = 5;

/// One provider as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OidcProvider {
    pub arn: String,
    /// `HOST/PATH`: the issuer URL without `https://`.
    pub url: String,
    pub client_ids: Vec<String>,
    /// Lowercase hex SHA-1 thumbprints.
    pub thumbprints: Vec<String>,
    pub created_at: i64,
}

/// What a create found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Creation {
    Made,
    AlreadyExists,
    QuotaReached,
}

fn json_list(list: &[String]) -> Result<String, Error> {
    serde_json::to_string(list).map_err(|error| Error::Failed(error.to_string()))
}

fn read_list(text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|error| Error::Failed(format!("a stored provider list: {error}")))
}

/// Creates `provider` with `tags`, unless its ARN exists or the account holds [`PER_ACCOUNT`].
pub(crate) async fn create(
    store: &Store,
    account: &str,
    provider: &OidcProvider,
    tags: &[Tag],
) -> Result<Creation, Error> {
    let limit = Value::Int(i64::try_from(PER_ACCOUNT).unwrap_or(i64::MAX));
    let mut statements = vec![Statement::guard(
        "INSERT INTO oidc_providers (account_id, arn, url, client_ids, thumbprints, created_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM oidc_providers WHERE account_id = ?) < ?",
        vec![
            account.into(),
            provider.arn.as_str().into(),
            provider.url.as_str().into(),
            json_list(&provider.client_ids)?.into(),
            json_list(&provider.thumbprints)?.into(),
            Value::Int(provider.created_at),
            account.into(),
            limit,
        ],
    )];
    statements.extend(tags::set_statements(account, Tagged::OidcProvider, &provider.arn, tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(Creation::Made),
        Err(StoreError::Conflict) => Ok(Creation::AlreadyExists),
        Err(StoreError::Unmet(_)) => {
            // The count or a concurrent insert of the same ARN: tell them apart.
            Ok(if find(store, account, &provider.arn).await?.is_some() {
                Creation::AlreadyExists
            } else {
                Creation::QuotaReached
            })
        }
        Err(error) => Err(error.into()),
    }
}

const COLUMNS: &str = "arn, url, client_ids, thumbprints, created_at";

fn from_row(row: &store::Row) -> Result<OidcProvider, Error> {
    Ok(OidcProvider {
        arn: row.text(0)?,
        url: row.text(1)?,
        client_ids: read_list(&row.text(2)?)?,
        thumbprints: read_list(&row.text(3)?)?,
        created_at: row.int(4)?,
    })
}

/// The provider of exactly this ARN.
pub(crate) async fn find(store: &Store, account: &str, arn: &str) -> Result<Option<OidcProvider>, Error> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM oidc_providers WHERE account_id = ? AND arn = ?"),
            vec![account.into(), arn.into()],
        )
        .await?;
    rows.first().map(from_row).transpose()
}

/// The account's providers, by ARN.
pub(crate) async fn list(store: &Store, account: &str) -> Result<Vec<OidcProvider>, Error> {
    let rows = store
        .query(&format!("SELECT {COLUMNS} FROM oidc_providers WHERE account_id = ? ORDER BY arn"), vec![account.into()])
        .await?;
    rows.iter().map(from_row).collect()
}

/// Which list of a provider a change rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    ClientIds,
    Thumbprints,
}

/// Sets one list of `provider` to `new`, if it still holds what `provider` was read with.
/// `false`: it changed (or went) meanwhile, and nothing was written.
pub(crate) async fn replace_list(
    store: &Store,
    account: &str,
    provider: &OidcProvider,
    list: List,
    new: &[String],
) -> Result<bool, Error> {
    let (column, old) = match list {
        List::ClientIds => ("client_ids", &provider.client_ids),
        List::Thumbprints => ("thumbprints", &provider.thumbprints),
    };
    let changed = store
        .execute(
            &format!("UPDATE oidc_providers SET {column} = ? WHERE account_id = ? AND arn = ? AND {column} = ?"),
            vec![json_list(new)?.into(), account.into(), provider.arn.as_str().into(), json_list(old)?.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Deletes the provider and its tags; `false` if there was none.
pub(crate) async fn delete(store: &Store, account: &str, arn: &str) -> Result<bool, Error> {
    let deleted = store
        .transaction(vec![
            Statement::new(
                "DELETE FROM oidc_providers WHERE account_id = ? AND arn = ?",
                vec![account.into(), arn.into()],
            ),
            tags::delete_all(account, Tagged::OidcProvider, arn),
        ])
        .await?;
    Ok(deleted.first().copied().unwrap_or(0) == 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    fn provider(host: &str) -> OidcProvider {
        OidcProvider {
            arn: format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"),
            url: host.to_owned(),
            client_ids: vec!["sts.amazonaws.com".to_owned()],
            thumbprints: Vec::new(),
            created_at: 100,
        }
    }

    #[tokio::test]
    async fn a_provider_is_created_once_and_its_lists_change_only_from_what_was_read() {
        let temp = temp_store().await;
        let store = &temp.store;
        let github = provider("token.actions.githubusercontent.com");
        let tag = Tag { key: "team".to_owned(), value: "ci".to_owned() };
        assert_eq!(create(store, ACCOUNT, &github, std::slice::from_ref(&tag)).await.unwrap(), Creation::Made);
        assert_eq!(create(store, ACCOUNT, &github, &[]).await.unwrap(), Creation::AlreadyExists);
        let read = find(store, ACCOUNT, &github.arn).await.unwrap().unwrap();
        assert_eq!(read, github);
        let two = vec!["sts.amazonaws.com".to_owned(), "other".to_owned()];
        assert!(replace_list(store, ACCOUNT, &read, List::ClientIds, &two).await.unwrap());
        assert!(!replace_list(store, ACCOUNT, &read, List::ClientIds, &[]).await.unwrap(), "read before the change");
        assert_eq!(find(store, ACCOUNT, &github.arn).await.unwrap().unwrap().client_ids, two);
        assert_eq!(tags::load(store, ACCOUNT, Tagged::OidcProvider, &github.arn).await.unwrap(), [tag]);
        assert!(delete(store, ACCOUNT, &github.arn).await.unwrap());
        assert!(!delete(store, ACCOUNT, &github.arn).await.unwrap());
        assert!(tags::load(store, ACCOUNT, Tagged::OidcProvider, &github.arn).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_account_holds_at_most_a_hundred_providers() {
        let temp = temp_store().await;
        let store = &temp.store;
        for n in 0..PER_ACCOUNT {
            assert_eq!(create(store, ACCOUNT, &provider(&format!("h{n}.example")), &[]).await.unwrap(), Creation::Made);
        }
        assert_eq!(create(store, ACCOUNT, &provider("one-more.example"), &[]).await.unwrap(), Creation::QuotaReached);
        assert_eq!(create(store, ACCOUNT, &provider("h0.example"), &[]).await.unwrap(), Creation::AlreadyExists);
        assert_eq!(list(store, ACCOUNT).await.unwrap().len(), PER_ACCOUNT);
    }
}
