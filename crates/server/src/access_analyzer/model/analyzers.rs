//! Analyzers as the store keeps them (`access_analyzers`, migration 17) and the statuses
//! callers set on their findings (`access_analyzer_findings`): every statement on both tables.
//!
//! Guarantees:
//! - An account holds at most one analyzer of each type, and a name at most once
//!   (case-sensitively): both are the tables' keys, so concurrent creations cannot pass
//!   them together; what an insert ran into is answered as [`Created`], never guessed.
//! - An analyzer is written whole (its configuration and tags as JSON) and read back as
//!   written; a stored word the model does not know (a finding's status) is an error.
//! - A finding's status is written only while its analyzer exists, and goes with it.

use crate::regions::Scope;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use store::{Row, Statement, Store, StoreError, Value};

/// The one analyzer type Homeport creates.
pub(crate) const ACCOUNT_UNUSED_ACCESS: &str = "ACCOUNT_UNUSED_ACCESS";

/// What an unused access analyzer was configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UnusedAccess {
    /// `unusedAccessAge`: days without use after which access is unused.
    pub age_days: i64,
    /// `analysisRule`'s `exclusions`, when the rule was given (`None`: no rule).
    pub exclusions: Option<Vec<Exclusion>>,
}

/// One exclusion of an analysis rule: principals carrying every pair of one of the maps
/// (a pair with an empty value: any value of that key) are not analyzed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Exclusion {
    pub resource_tags: Vec<BTreeMap<String, String>>,
}

/// One analyzer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Analyzer {
    pub name: String,
    /// Homeport's own id: findings' ids and stored statuses are derived from it, so an
    /// analyzer created again under the same name shares nothing with the one deleted.
    pub id: String,
    pub kind: String,
    pub created_at: i64,
    pub client_token: Option<String>,
    pub configuration: UnusedAccess,
    pub tags: BTreeMap<String, String>,
}

impl Analyzer {
    /// `arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME`.
    pub(crate) fn arn(&self, region: &str, account: &str) -> String {
        arn(region, account, &self.name)
    }
}

/// The ARN of the analyzer `name` of `account` in `region`.
pub(crate) fn arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:access-analyzer:{region}:{account}:analyzer/{name}")
}

const COLUMNS: &str = "name, analyzer_id, type, created_at, client_token, configuration, tags";

fn unreadable(error: serde_json::Error) -> StoreError {
    StoreError::Unavailable(format!("an analyzer that does not read back: {error}"))
}

impl Analyzer {
    fn from_row(row: &Row) -> Result<Analyzer, StoreError> {
        Ok(Analyzer {
            name: row.text(0)?,
            id: row.text(1)?,
            kind: row.text(2)?,
            created_at: row.int(3)?,
            client_token: row.opt_text(4)?,
            configuration: serde_json::from_str(&row.text(5)?).map_err(unreadable)?,
            tags: serde_json::from_str(&row.text(6)?).map_err(unreadable)?,
        })
    }
}

/// What inserting an analyzer found.
#[derive(Debug)]
pub(crate) enum Created {
    New,
    /// An analyzer of that name was created with the same client token: that one (a retry).
    Retried(Box<Analyzer>),
    /// The name is taken.
    NameTaken,
    /// The account has an analyzer of that type already: its name.
    TypeTaken(String),
}

/// Stores `analyzer` for `account` unless the name or (one per account) the type is taken.
pub(crate) async fn insert(store: &Store, scope: Scope<'_>, analyzer: &Analyzer) -> Result<Created, StoreError> {
    let configuration = serde_json::to_string(&analyzer.configuration).map_err(unreadable)?;
    let tags = serde_json::to_string(&analyzer.tags).map_err(unreadable)?;
    let inserted = store
        .execute(
            &format!("INSERT INTO access_analyzers (account_id, region, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            vec![
                scope.account.into(),
                scope.region.into(),
                analyzer.name.as_str().into(),
                analyzer.id.as_str().into(),
                analyzer.kind.as_str().into(),
                Value::Int(analyzer.created_at),
                Value::from(analyzer.client_token.clone()),
                configuration.into(),
                tags.into(),
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(Created::New),
        Err(StoreError::Conflict) => {
            if let Some(existing) = find(store, scope, &analyzer.name).await? {
                let retried = existing.client_token.is_some() && existing.client_token == analyzer.client_token;
                return Ok(if retried { Created::Retried(Box::new(existing)) } else { Created::NameTaken });
            }
            match page(store, scope, Some(&analyzer.kind), None, 1).await?.into_iter().next() {
                Some(holder) => Ok(Created::TypeTaken(holder.name)),
                // The holder was deleted meanwhile: the caller may try again.
                None => Err(StoreError::Conflict),
            }
        }
        Err(error) => Err(error),
    }
}

/// The account's analyzer `name` (case-sensitive).
pub(crate) async fn find(store: &Store, scope: Scope<'_>, name: &str) -> Result<Option<Analyzer>, StoreError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM access_analyzers WHERE account_id = ? AND region = ? AND name = ?"),
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    rows.first().map(Analyzer::from_row).transpose()
}

/// Up to `size` of the account's analyzers (of `kind` when given), by name, after `after`.
pub(crate) async fn page(
    store: &Store,
    scope: Scope<'_>,
    kind: Option<&str>,
    after: Option<&str>,
    size: usize,
) -> Result<Vec<Analyzer>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM access_analyzers WHERE account_id = ? AND region = ?");
    let mut params: Vec<Value> = vec![scope.account.into(), scope.region.into()];
    if let Some(kind) = kind {
        sql.push_str(" AND type = ?");
        params.push(kind.into());
    }
    if let Some(after) = after {
        sql.push_str(" AND name > ?");
        params.push(after.into());
    }
    sql.push_str(" ORDER BY name LIMIT ?");
    params.push(Value::Int(i64::try_from(size).unwrap_or(i64::MAX)));
    store.query(&sql, params).await?.iter().map(Analyzer::from_row).collect()
}

/// Replaces the configuration of the account's analyzer `name`; `false`: there is none.
pub(crate) async fn configure(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    configuration: &UnusedAccess,
) -> Result<bool, StoreError> {
    let configuration = serde_json::to_string(configuration).map_err(unreadable)?;
    let changed = store
        .execute(
            "UPDATE access_analyzers SET configuration = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![configuration.into(), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Deletes the account's analyzer `name` with the statuses of its findings; `false`: there
/// is none.
pub(crate) async fn delete(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, StoreError> {
    let Some(analyzer) = find(store, scope, name).await? else { return Ok(false) };
    let deleted = store
        .transaction(vec![
            Statement::new(
                "DELETE FROM access_analyzer_findings WHERE analyzer_id = ?",
                vec![analyzer.id.as_str().into()],
            ),
            Statement::guard(
                "DELETE FROM access_analyzers WHERE account_id = ? AND region = ? AND analyzer_id = ?",
                vec![scope.account.into(), scope.region.into(), analyzer.id.as_str().into()],
            ),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        // Deleted meanwhile by another call.
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// A finding's status, in Access Analyzer's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FindingStatus {
    Active,
    Archived,
    Resolved,
}

impl FindingStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Active => "ACTIVE",
            FindingStatus::Archived => "ARCHIVED",
            FindingStatus::Resolved => "RESOLVED",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<FindingStatus> {
        [FindingStatus::Active, FindingStatus::Archived, FindingStatus::Resolved]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A status a caller set on a finding, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetStatus {
    pub status: FindingStatus,
    pub at: i64,
}

/// The statuses set on the findings of the analyzer `analyzer_id`, by finding id.
pub(crate) async fn statuses(store: &Store, analyzer_id: &str) -> Result<HashMap<String, SetStatus>, StoreError> {
    let rows = store
        .query(
            "SELECT finding_id, status, updated_at FROM access_analyzer_findings WHERE analyzer_id = ?",
            vec![analyzer_id.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let text = row.text(1)?;
            let status = FindingStatus::parse(&text)
                .ok_or_else(|| StoreError::Unavailable(format!("a finding with status {text}")))?;
            Ok((row.text(0)?, SetStatus { status, at: row.int(2)? }))
        })
        .collect()
}

/// Sets `status` on the findings `finding_ids` of the analyzer `analyzer_id` at `at`, in one
/// transaction; `false`: the analyzer no longer exists, and nothing was written.
pub(crate) async fn set_statuses(
    store: &Store,
    analyzer_id: &str,
    finding_ids: &[String],
    status: FindingStatus,
    at: i64,
) -> Result<bool, StoreError> {
    let mut statements: Vec<Statement> = finding_ids
        .iter()
        .map(|finding_id| {
            Statement::new(
                "INSERT INTO access_analyzer_findings (analyzer_id, finding_id, status, updated_at)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (analyzer_id, finding_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
                vec![analyzer_id.into(), finding_id.as_str().into(), status.as_str().into(), Value::Int(at)],
            )
        })
        .collect();
    // Only while the analyzer exists: its deletion takes its statuses with it.
    statements.push(Statement::guard(
        "UPDATE access_analyzers SET name = name WHERE analyzer_id = ?",
        vec![analyzer_id.into()],
    ));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Forgets the statuses set on findings of the analyzer `analyzer_id` that no longer hold
/// (`stale`): a finding that holds again later starts `ACTIVE`, as a new one does on AWS.
pub(crate) async fn forget_statuses(store: &Store, analyzer_id: &str, stale: &[String]) -> Result<(), StoreError> {
    let statements = stale
        .iter()
        .map(|finding_id| {
            Statement::new(
                "DELETE FROM access_analyzer_findings WHERE analyzer_id = ? AND finding_id = ?",
                vec![analyzer_id.into(), finding_id.as_str().into()],
            )
        })
        .collect::<Vec<_>>();
    if !statements.is_empty() {
        store.transaction(statements).await?;
    }
    Ok(())
}

/// The account's analyzers, in every region, some of whose findings carry a status a caller
/// set.
pub(crate) async fn with_statuses(store: &Store, account: &str) -> Result<Vec<Analyzer>, StoreError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM access_analyzers WHERE account_id = ?
                 AND analyzer_id IN (SELECT DISTINCT analyzer_id FROM access_analyzer_findings) ORDER BY region, name"
            ),
            vec![account.into()],
        )
        .await?;
    rows.iter().map(Analyzer::from_row).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, SCOPE, temp_store};

    fn analyzer(name: &str, token: Option<&str>) -> Analyzer {
        Analyzer {
            name: name.to_owned(),
            id: format!("id-{name}"),
            kind: ACCOUNT_UNUSED_ACCESS.to_owned(),
            created_at: 7,
            client_token: token.map(str::to_owned),
            configuration: UnusedAccess {
                age_days: 90,
                exclusions: Some(vec![Exclusion {
                    resource_tags: vec![BTreeMap::from([("team".to_owned(), String::new())])],
                }]),
            },
            tags: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        }
    }

    #[tokio::test]
    async fn one_analyzer_per_type_and_name_and_a_retry_finds_its_own() {
        let temp = temp_store().await;
        let store = &temp.store;
        let first = analyzer("Unused", Some("token-1"));
        assert!(matches!(insert(store, SCOPE, &first).await.unwrap(), Created::New));
        assert_eq!(find(store, SCOPE, "Unused").await.unwrap(), Some(first.clone()), "read back as written");
        assert_eq!(find(store, SCOPE, "unused").await.unwrap(), None, "names are case-sensitive");
        let retried = insert(store, SCOPE, &Analyzer { id: "id-2".to_owned(), ..first.clone() }).await.unwrap();
        assert!(matches!(retried, Created::Retried(found) if found.id == first.id));
        let again = Analyzer { id: "id-3".to_owned(), client_token: Some("other".to_owned()), ..first.clone() };
        assert!(matches!(insert(store, SCOPE, &again).await.unwrap(), Created::NameTaken));
        let second = Analyzer { id: "id-4".to_owned(), ..analyzer("Other", None) };
        assert!(matches!(insert(store, SCOPE, &second).await.unwrap(), Created::TypeTaken(name) if name == "Unused"));
        let elsewhere = Analyzer { id: "id-5".to_owned(), ..second.clone() };
        assert!(
            matches!(
                insert(store, crate::regions::Scope { account: "999988887777", region: "us-east-1" }, &elsewhere)
                    .await
                    .unwrap(),
                Created::New
            ),
            "accounts are apart"
        );
        assert_eq!(page(store, SCOPE, Some("ACCOUNT"), None, 10).await.unwrap(), []);
        assert_eq!(page(store, SCOPE, None, Some("Unused"), 10).await.unwrap(), []);

        let configuration = UnusedAccess { age_days: 30, exclusions: None };
        assert!(configure(store, SCOPE, "Unused", &configuration).await.unwrap());
        assert!(!configure(store, SCOPE, "Nobody", &configuration).await.unwrap());
        assert_eq!(find(store, SCOPE, "Unused").await.unwrap().unwrap().configuration, configuration);

        let ids = ["f1".to_owned(), "f2".to_owned()];
        assert!(set_statuses(store, &first.id, &ids, FindingStatus::Archived, 100).await.unwrap());
        assert!(set_statuses(store, &first.id, &ids[..1], FindingStatus::Active, 200).await.unwrap());
        let set = statuses(store, &first.id).await.unwrap();
        assert_eq!(set.get("f1"), Some(&SetStatus { status: FindingStatus::Active, at: 200 }));
        assert_eq!(set.get("f2"), Some(&SetStatus { status: FindingStatus::Archived, at: 100 }));
        assert_eq!(with_statuses(store, ACCOUNT).await.unwrap().len(), 1);
        forget_statuses(store, &first.id, &ids[1..]).await.unwrap();
        assert_eq!(statuses(store, &first.id).await.unwrap().len(), 1);

        assert!(delete(store, SCOPE, "Unused").await.unwrap());
        assert!(!delete(store, SCOPE, "Unused").await.unwrap());
        assert!(statuses(store, &first.id).await.unwrap().is_empty(), "statuses go with their analyzer");
        assert!(!set_statuses(store, &first.id, &ids, FindingStatus::Archived, 300).await.unwrap());
        assert!(statuses(store, &first.id).await.unwrap().is_empty(), "nothing written for a deleted analyzer");
        assert!(matches!(insert(store, SCOPE, &second).await.unwrap(), Created::New), "the type is free again");
    }
}
