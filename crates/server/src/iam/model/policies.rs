//! Managed policies: the AWS managed catalogue (read-only, shipped in the binary, see
//! [`super::managed`]) and the account's customer managed policies with their versions:
//! every statement on `managed_policies` and `policy_versions` that IAM's operations make.
//!
//! Guarantees: a customer managed policy has at most [`MAX_VERSIONS`] versions and exactly
//! one default; a policy is deleted only when nothing uses it (attachments, boundaries) and
//! only its default version remains; every such check runs in the transaction that writes.

use std::collections::HashMap;

use store::{Statement, Store, StoreError, Value};

use super::tags::{self, Tag, Tagged};
use super::{Dependents, Error, attachments, boundaries, managed};

/// Versions a customer managed policy keeps at most.
pub(crate) const MAX_VERSIONS: i64 = 5;

/// A managed policy, AWS's or the account's.
#[derive(Debug, Clone)]
pub(crate) struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub aws_managed: bool,
    /// Whether it can be attached or made a boundary (every customer managed policy can).
    pub attachable: bool,
}

impl ManagedPolicy {
    pub(crate) fn from_catalogue(policy: &managed::ManagedPolicy) -> ManagedPolicy {
        ManagedPolicy {
            arn: policy.arn.to_owned(),
            name: policy.name.to_owned(),
            id: policy.policy_id.to_owned(),
            path: policy.path.to_owned(),
            description: None,
            default_version: policy.default_version.to_owned(),
            created_at: policy.created_at,
            updated_at: policy.updated_at,
            aws_managed: true,
            attachable: policy.attachable,
        }
    }

    const COLUMNS: &str = "arn, name, policy_id, path, description, default_version, created_at, updated_at";

    fn from_row(row: &store::Row) -> Result<ManagedPolicy, Error> {
        Ok(ManagedPolicy {
            arn: row.text(0)?,
            name: row.text(1)?,
            id: row.text(2)?,
            path: row.text(3)?,
            description: row.opt_text(4)?,
            default_version: row.text(5)?,
            created_at: row.int(6)?,
            updated_at: row.int(7)?,
            aws_managed: false,
            attachable: true,
        })
    }
}

/// How many entities use a policy, in this account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub attachments: i64,
    pub boundaries: i64,
}

pub(crate) async fn usage(store: &Store, account: &str, arn: &str) -> Result<Usage, Error> {
    Ok(Usage {
        attachments: attachments::count_of_policy(store, account, arn).await?,
        boundaries: boundaries::count_of_policy(store, account, arn).await?,
    })
}

/// The managed policy of an ARN, AWS's or this account's, if it exists.
pub(crate) async fn find(store: &Store, account: &str, arn: &str) -> Result<Option<ManagedPolicy>, Error> {
    if let Some(policy) = managed::find(arn) {
        return Ok(Some(ManagedPolicy::from_catalogue(policy)));
    }
    let sql = format!("SELECT {} FROM managed_policies WHERE arn = ? AND account_id = ?", ManagedPolicy::COLUMNS);
    let rows = store.query(&sql, vec![arn.into(), account.into()]).await?;
    rows.first().map(ManagedPolicy::from_row).transpose()
}

/// [`ManagedPolicy::COLUMNS`] on `managed_policies` aliased `p`.
const ALIASED_COLUMNS: &str =
    "p.arn, p.name, p.policy_id, p.path, p.description, p.default_version, p.created_at, p.updated_at";

/// The managed policy of an ARN with its usage, if it exists: the account's read in one
/// statement.
pub(crate) async fn find_with_usage(
    store: &Store,
    account: &str,
    arn: &str,
) -> Result<Option<(ManagedPolicy, Usage)>, Error> {
    if let Some(policy) = managed::find(arn) {
        return Ok(Some((ManagedPolicy::from_catalogue(policy), usage(store, account, arn).await?)));
    }
    let sql = format!(
        "SELECT {ALIASED_COLUMNS}, {}, {} FROM managed_policies p WHERE p.arn = ? AND p.account_id = ?",
        attachments::count_of_row(),
        boundaries::count_of_row()
    );
    let rows = store.query(&sql, vec![arn.into(), account.into()]).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some((ManagedPolicy::from_row(row)?, Usage { attachments: row.int(8)?, boundaries: row.int(9)? })))
}

/// The managed policy of an ARN, if it exists, with the document and creation date of its
/// version `version`, if that exists: the account's read in one statement (AWS managed
/// policies have only their default version).
pub(crate) async fn find_with_version(
    store: &Store,
    account: &str,
    arn: &str,
    version: &str,
) -> Result<Option<(ManagedPolicy, Option<(String, i64)>)>, Error> {
    if let Some(policy) = managed::find(arn) {
        let document =
            (version == policy.default_version).then(|| (policy.document.to_owned(), policy.version_created_at));
        return Ok(Some((ManagedPolicy::from_catalogue(policy), document)));
    }
    let sql = format!(
        "SELECT {ALIASED_COLUMNS}, v.document, v.created_at FROM managed_policies p
         LEFT JOIN policy_versions v ON v.policy_arn = p.arn AND v.version_id = ?
         WHERE p.arn = ? AND p.account_id = ?"
    );
    let rows = store.query(&sql, vec![version.into(), arn.into(), account.into()]).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let document = match (row.opt_text(8)?, row.opt_int(9)?) {
        (Some(document), Some(created_at)) => Some((document, created_at)),
        _ => None,
    };
    Ok(Some((ManagedPolicy::from_row(row)?, document)))
}

/// Which of the account's policies a page of ListPolicies shows: those under `prefix` whose
/// ARN sorts after `after`, by ARN, at most `limit`, and with `OnlyAttached` only those used
/// (`Some(Usage { attachments: 1, .. })`: attached; `boundaries`: as a boundary; both: either).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PolicyWindow<'a> {
    pub prefix: &'a str,
    pub after: &'a str,
    pub limit: usize,
    pub used_as: Option<Usage>,
}

/// The account's policies in `window`, with their usage, read in one statement that stops at
/// the page's end.
pub(crate) async fn page_with_usage(
    store: &Store,
    account: &str,
    window: PolicyWindow<'_>,
) -> Result<Vec<(ManagedPolicy, Usage)>, Error> {
    let (attached, bounding) = (attachments::count_of_row(), boundaries::count_of_row());
    let used = match window.used_as {
        None => String::new(),
        Some(Usage { attachments: 0, .. }) => format!("AND {bounding} > 0"),
        Some(Usage { boundaries: 0, .. }) => format!("AND {attached} > 0"),
        Some(_) => format!("AND ({attached} > 0 OR {bounding} > 0)"),
    };
    let sql = format!(
        "SELECT {ALIASED_COLUMNS}, {attached}, {bounding} FROM managed_policies p
         WHERE p.account_id = ? AND p.arn > ? AND substr(p.path, 1, {}) = ? {used}
         ORDER BY p.arn LIMIT {}",
        window.prefix.chars().count(),
        window.limit
    );
    // The account's ARNs share their beginning: the scan starts there, not at the first
    // account's.
    let start = format!("arn:aws:iam::{account}:");
    let after = if window.after > start.as_str() { window.after.to_owned() } else { start };
    let rows = store.query(&sql, vec![account.into(), after.into(), window.prefix.into()]).await?;
    rows.iter()
        .map(|row| Ok((ManagedPolicy::from_row(row)?, Usage { attachments: row.int(8)?, boundaries: row.int(9)? })))
        .collect()
}

/// AWS's policies in `window`, sorted by ARN, with their usage in this account (read in two
/// statements, whatever the page: each table's counts of the AWS policies it names).
pub(crate) async fn catalogue_page_with_usage(
    store: &Store,
    account: &str,
    window: PolicyWindow<'_>,
) -> Result<Vec<(ManagedPolicy, Usage)>, Error> {
    let mut used: HashMap<String, Usage> = HashMap::new();
    for (arn, count) in attachments::counts_by_policy(store, account, managed::ARN_PREFIX).await? {
        used.entry(arn).or_default().attachments = count;
    }
    for (arn, count) in boundaries::counts_by_policy(store, account, managed::ARN_PREFIX).await? {
        used.entry(arn).or_default().boundaries = count;
    }
    let catalogue = managed::catalogue();
    let start = catalogue.partition_point(|policy| policy.arn <= window.after);
    Ok(catalogue
        .iter()
        .skip(start)
        .filter(|policy| policy.path.starts_with(window.prefix))
        .map(|policy| (policy, used.get(policy.arn).copied().unwrap_or_default()))
        .filter(|(_, usage)| match window.used_as {
            None => true,
            Some(Usage { attachments: 0, .. }) => usage.boundaries > 0,
            Some(Usage { boundaries: 0, .. }) => usage.attachments > 0,
            Some(_) => usage.attachments > 0 || usage.boundaries > 0,
        })
        .take(window.limit)
        .map(|(policy, usage)| (ManagedPolicy::from_catalogue(policy), usage))
        .collect())
}

/// The ARN of the account's policy named `name` (case-insensitively), if there is one.
pub(crate) async fn arn_of_name(store: &Store, account: &str, name: &str) -> Result<Option<String>, Error> {
    let rows = store
        .query(
            "SELECT arn FROM managed_policies WHERE account_id = ? AND name_key = ?",
            vec![account.into(), name.to_lowercase().into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.text(0)).transpose()?)
}

/// Records a new customer managed policy with `document` as its default version `v1`, and
/// its tags, in one transaction. `false`: the account has a policy of that name.
pub(crate) async fn create(
    store: &Store,
    account: &str,
    policy: &ManagedPolicy,
    document: &str,
    tags: &[Tag],
) -> Result<bool, Error> {
    let mut statements = vec![
        Statement::new(
            "INSERT INTO managed_policies (arn, account_id, name_key, name, policy_id, path, description, default_version, next_version, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'v1', 2, ?, ?)",
            vec![
                policy.arn.as_str().into(),
                account.into(),
                policy.name.to_lowercase().into(),
                policy.name.as_str().into(),
                policy.id.as_str().into(),
                policy.path.as_str().into(),
                Value::from(policy.description.clone()),
                Value::Int(policy.created_at),
                Value::Int(policy.updated_at),
            ],
        ),
        Statement::new(
            "INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?, 'v1', ?, ?)",
            vec![policy.arn.as_str().into(), document.into(), Value::Int(policy.created_at)],
        ),
    ];
    statements.extend(tags::set_statements(account, Tagged::Policy, &policy.arn, tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a customer managed policy with its versions and tags, only while nothing uses it
/// and only its default version remains. `false`: it was not deleted.
pub(crate) async fn delete(store: &Store, account: &str, arn: &str) -> Result<bool, Error> {
    let mut sql = "DELETE FROM managed_policies WHERE arn = ?".to_owned();
    let mut params = vec![arn.into()];
    Dependents::append_none(
        &mut sql,
        &mut params,
        &[
            attachments::of_policy(account, arn),
            boundaries::of_policy(account, arn),
            Dependents::new(
                "SELECT 1 FROM policy_versions WHERE policy_arn = ? AND version_id <> default_version",
                vec![arn.into()],
            ),
        ],
    );
    let deleted = store
        .transaction(vec![
            Statement::guard(sql, params),
            Statement::new("DELETE FROM policy_versions WHERE policy_arn = ?", vec![arn.into()]),
            tags::delete_all(account, Tagged::Policy, arn),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A policy version: its id, its document and when it was made.
pub(crate) type Version = (String, String, i64);

/// When a customer managed policy's version was made, if it exists.
pub(crate) async fn version_created_at(store: &Store, arn: &str, version: &str) -> Result<Option<i64>, Error> {
    let rows = store
        .query(
            "SELECT created_at FROM policy_versions WHERE policy_arn = ? AND version_id = ?",
            vec![arn.into(), version.into()],
        )
        .await?;
    Ok(rows.first().map(|row| row.int(0)).transpose()?)
}

/// A policy's versions (id and creation date), newest first; an AWS managed policy has its
/// default only.
pub(crate) async fn versions(store: &Store, policy: &ManagedPolicy) -> Result<Vec<(String, i64)>, Error> {
    if policy.aws_managed {
        return Ok(managed::find(&policy.arn)
            .map(|found| vec![(policy.default_version.clone(), found.version_created_at)])
            .unwrap_or_default());
    }
    let rows = store
        .query(
            "SELECT version_id, created_at FROM policy_versions WHERE policy_arn = ? ORDER BY created_at DESC, version_id DESC",
            vec![policy.arn.as_str().into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.int(1)?))).collect()
}

/// A policy's versions with their documents, oldest first; an AWS managed policy has its
/// default only.
pub(crate) async fn versions_with_documents(store: &Store, policy: &ManagedPolicy) -> Result<Vec<Version>, Error> {
    if policy.aws_managed {
        return Ok(managed::find(&policy.arn)
            .map(|found| vec![(policy.default_version.clone(), found.document.to_owned(), found.version_created_at)])
            .unwrap_or_default());
    }
    let rows = store
        .query(
            "SELECT version_id, document, created_at FROM policy_versions WHERE policy_arn = ? ORDER BY created_at, version_id",
            vec![policy.arn.as_str().into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?, row.int(2)?))).collect()
}

/// The number the next version of a customer managed policy takes, if the policy exists.
pub(crate) async fn next_version(store: &Store, arn: &str) -> Result<Option<i64>, Error> {
    let rows = store.query("SELECT next_version FROM managed_policies WHERE arn = ?", vec![arn.into()]).await?;
    Ok(rows.first().map(|row| row.int(0)).transpose()?)
}

/// What adding a version found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionAdded {
    Added,
    /// Another call took the number first (or deleted the policy): read it again.
    Raced,
    /// The policy has [`MAX_VERSIONS`] already.
    TooMany,
}

/// Adds version `v{next}` (`next` as [`next_version`] read it) with `document`, made the
/// default when `set_as_default`, only while nobody took the number and fewer than
/// [`MAX_VERSIONS`] exist.
pub(crate) async fn add_version(
    store: &Store,
    arn: &str,
    next: i64,
    document: &str,
    now: i64,
    set_as_default: bool,
) -> Result<VersionAdded, Error> {
    let version = format!("v{next}");
    let mut statements = vec![
        // The counter only moves if nobody took this number first...
        Statement::guard(
            "UPDATE managed_policies SET next_version = next_version + 1, updated_at = ? WHERE arn = ? AND next_version = ?",
            vec![Value::Int(now), arn.into(), Value::Int(next)],
        ),
        // ...and the version is added only while fewer than five exist.
        Statement::guard(
            "UPDATE managed_policies SET updated_at = ? WHERE arn = ? AND (SELECT COUNT(*) FROM policy_versions WHERE policy_arn = ?) < ?",
            vec![Value::Int(now), arn.into(), arn.into(), Value::Int(MAX_VERSIONS)],
        ),
        Statement::new(
            "INSERT INTO policy_versions (policy_arn, version_id, document, created_at) VALUES (?, ?, ?, ?)",
            vec![arn.into(), version.as_str().into(), document.into(), Value::Int(now)],
        ),
    ];
    if set_as_default {
        statements.push(Statement::new(
            "UPDATE managed_policies SET default_version = ? WHERE arn = ?",
            vec![version.as_str().into(), arn.into()],
        ));
    }
    match store.transaction(statements).await {
        Ok(_) => Ok(VersionAdded::Added),
        Err(StoreError::Unmet(0)) => Ok(VersionAdded::Raced),
        Err(StoreError::Unmet(_)) => Ok(VersionAdded::TooMany),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a version that is not the default. `false`: it was not deleted (absent, or the
/// default).
pub(crate) async fn delete_version(store: &Store, arn: &str, version: &str) -> Result<bool, Error> {
    let deleted = store
        .execute(
            "DELETE FROM policy_versions WHERE policy_arn = ? AND version_id = ?
               AND version_id <> (SELECT default_version FROM managed_policies WHERE arn = ?)",
            vec![arn.into(), version.into(), arn.into()],
        )
        .await?;
    Ok(deleted == 1)
}

/// Makes an existing version the default. `false`: the policy has no such version.
pub(crate) async fn set_default_version(store: &Store, arn: &str, version: &str, now: i64) -> Result<bool, Error> {
    let changed = store
        .execute(
            "UPDATE managed_policies SET default_version = ?, updated_at = ? WHERE arn = ?
               AND EXISTS (SELECT 1 FROM policy_versions WHERE policy_arn = ? AND version_id = ?)",
            vec![version.into(), Value::Int(now), arn.into(), arn.into(), version.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Every managed policy ARN the account has or uses (its own, and those attached or used as
/// a boundary), sorted.
pub(crate) async fn in_use(store: &Store, account: &str) -> Result<Vec<String>, Error> {
    let mut arns: std::collections::BTreeSet<String> = store
        .query("SELECT arn FROM managed_policies WHERE account_id = ?", vec![account.into()])
        .await?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<_, _>>()?;
    arns.extend(attachments::policy_arns(store, account).await?);
    arns.extend(boundaries::policy_arns(store, account).await?);
    Ok(arns.into_iter().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::Kind;
    use crate::testing::{ACCOUNT, temp_store};

    const DOC: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;

    fn policy(name: &str) -> ManagedPolicy {
        ManagedPolicy {
            arn: format!("arn:aws:iam::{ACCOUNT}:policy/{name}"),
            name: name.to_owned(),
            id: format!("ANPA{}", name.to_uppercase()),
            path: "/".to_owned(),
            description: None,
            default_version: "v1".to_owned(),
            created_at: 5,
            updated_at: 5,
            aws_managed: false,
            attachable: true,
        }
    }

    #[tokio::test]
    async fn versions_are_added_up_to_five_and_a_policy_in_use_is_not_deleted() {
        let temp = temp_store().await;
        let store = &temp.store;
        let read = policy("Read");
        assert!(create(store, ACCOUNT, &read, DOC, &[]).await.unwrap());
        assert!(
            !create(store, ACCOUNT, &policy("READ"), DOC, &[]).await.unwrap(),
            "names are unique case-insensitively"
        );
        assert_eq!(arn_of_name(store, ACCOUNT, "read").await.unwrap().as_deref(), Some(read.arn.as_str()));
        for expected in 2..=5 {
            let next = next_version(store, &read.arn).await.unwrap().unwrap();
            assert_eq!(next, expected);
            assert_eq!(add_version(store, &read.arn, next, DOC, 6, false).await.unwrap(), VersionAdded::Added);
        }
        assert_eq!(add_version(store, &read.arn, 5, DOC, 7, false).await.unwrap(), VersionAdded::Raced, "v5 is taken");
        assert_eq!(add_version(store, &read.arn, 6, DOC, 7, false).await.unwrap(), VersionAdded::TooMany);
        assert_eq!(versions(store, &read).await.unwrap().len(), 5);
        assert!(!delete_version(store, &read.arn, "v1").await.unwrap(), "the default stays");
        assert!(!set_default_version(store, &read.arn, "v9", 8).await.unwrap());
        assert!(set_default_version(store, &read.arn, "v5", 8).await.unwrap());
        assert_eq!(find(store, ACCOUNT, &read.arn).await.unwrap().unwrap().default_version, "v5");
        assert!(!delete(store, ACCOUNT, &read.arn).await.unwrap(), "versions other than the default remain");
        for version in ["v1", "v2", "v3", "v4"] {
            assert!(delete_version(store, &read.arn, version).await.unwrap());
        }
        assert_eq!(version_created_at(store, &read.arn, "v5").await.unwrap(), Some(6));
        attachments::attach(store, ACCOUNT, Kind::User, "alice", &read.arn).await.unwrap();
        assert_eq!(usage(store, ACCOUNT, &read.arn).await.unwrap(), Usage { attachments: 1, boundaries: 0 });
        let (found, usage_read) = find_with_usage(store, ACCOUNT, &read.arn).await.unwrap().unwrap();
        assert_eq!((found.default_version.as_str(), usage_read), ("v5", Usage { attachments: 1, boundaries: 0 }));
        let (_, v5) = find_with_version(store, ACCOUNT, &read.arn, "v5").await.unwrap().unwrap();
        assert_eq!(v5, Some((DOC.to_owned(), 6)));
        assert!(find_with_version(store, ACCOUNT, &read.arn, "v1").await.unwrap().unwrap().1.is_none(), "deleted");
        assert!(find_with_version(store, "999988887777", &read.arn, "v5").await.unwrap().is_none(), "not another's");
        assert!(!delete(store, ACCOUNT, &read.arn).await.unwrap(), "attached");
        attachments::detach(store, ACCOUNT, Kind::User, "alice", &read.arn).await.unwrap();
        assert!(delete(store, ACCOUNT, &read.arn).await.unwrap());
        assert!(find(store, ACCOUNT, &read.arn).await.unwrap().is_none());
        assert!(next_version(store, &read.arn).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn aws_managed_policies_come_from_the_catalogue_and_in_use_lists_each_once() {
        let temp = temp_store().await;
        let store = &temp.store;
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let found = find(store, ACCOUNT, admin).await.unwrap().unwrap();
        assert!(found.aws_managed);
        assert_eq!(versions(store, &found).await.unwrap(), [("v1".to_owned(), found.created_at)]);
        let (_, v1) = find_with_version(store, ACCOUNT, admin, "v1").await.unwrap().unwrap();
        assert_eq!(v1.map(|(_, created_at)| created_at), Some(found.created_at));
        assert!(find_with_version(store, ACCOUNT, admin, "v2").await.unwrap().unwrap().1.is_none());
        create(store, ACCOUNT, &policy("Own"), DOC, &[]).await.unwrap();
        attachments::attach(store, ACCOUNT, Kind::User, "alice", admin).await.unwrap();
        attachments::attach(store, ACCOUNT, Kind::Role, "deploy", admin).await.unwrap();
        store.transaction(boundaries::set(ACCOUNT, Kind::Role, "deploy", admin)).await.unwrap();
        assert_eq!(in_use(store, ACCOUNT).await.unwrap(), [policy("Own").arn, admin.to_owned()], "sorted, each once");
    }
}
