//! Policy generation jobs as the store keeps them (`policy_generations`, migration 16): every
//! statement on the table.
//!
//! Guarantees:
//! - A job is made whole when it starts (generation reads `iam_usage`, already grouped by the
//!   hour, so it finishes within the request): its status, its result or its error, and the
//!   window it covered are written once, with the job.
//! - The daily quota is checked in the inserting statement itself, so concurrent starts
//!   cannot pass it together; a client token names one job per account (a retry with it finds
//!   the job it started).
//! - A stored status the model does not know is an error, never guessed at.

use crate::regions::Scope;
use serde::{Deserialize, Serialize};
use store::{Row, Statement, Store, StoreError, Value};

/// A job's status, in Access Analyzer's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Canceled => "CANCELED",
        }
    }

    fn parse(text: &str) -> Result<JobStatus, StoreError> {
        [JobStatus::InProgress, JobStatus::Succeeded, JobStatus::Failed, JobStatus::Canceled]
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| StoreError::Unavailable(format!("a policy generation with status {text}")))
    }
}

/// What a finished job found, kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The window read, in seconds since the epoch.
    pub start_time: i64,
    pub end_time: i64,
    /// Whether the trail held all of the window.
    pub is_complete: bool,
    /// The trail read and its regions (empty: every region).
    pub trail_arn: String,
    pub regions: Vec<String>,
    /// The documents naming the observed resources (`includeResourcePlaceholders`), and the
    /// same actions on `*` (without).
    pub detailed: Vec<String>,
    pub on_any_resource: Vec<String>,
    /// Why it failed: Access Analyzer's `JobErrorCode` and a message.
    pub error: Option<(String, String)>,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub job_id: String,
    pub principal_arn: String,
    pub status: JobStatus,
    pub started_on: i64,
    pub completed_on: Option<i64>,
    pub outcome: Outcome,
}

const COLUMNS: &str = "job_id, principal_arn, status, started_on, completed_on, outcome";

impl Job {
    fn from_row(row: &Row) -> Result<Job, StoreError> {
        let outcome = row.text(5)?;
        Ok(Job {
            job_id: row.text(0)?,
            principal_arn: row.text(1)?,
            status: JobStatus::parse(&row.text(2)?)?,
            started_on: row.int(3)?,
            completed_on: row.opt_int(4)?,
            outcome: serde_json::from_str(&outcome).map_err(|error| StoreError::Unavailable(error.to_string()))?,
        })
    }
}

/// What inserting a job found.
#[derive(Debug)]
pub enum Started {
    New,
    /// The account started `per_day` jobs in the last day already; nothing was written.
    OverQuota,
    /// A job with this client token exists: this one.
    Existing(Box<Job>),
}

/// Stores `job` for `account`, unless the account started `per_day` jobs in the day before it
/// or `client_token` names an earlier job.
pub async fn insert(
    store: &Store,
    scope: Scope<'_>,
    job: &Job,
    client_token: Option<&str>,
    per_day: i64,
) -> Result<Started, StoreError> {
    if let Some(token) = client_token
        && let Some(existing) = by_token(store, scope, token).await?
    {
        return Ok(Started::Existing(Box::new(existing)));
    }
    let outcome = serde_json::to_string(&job.outcome).map_err(|error| StoreError::Unavailable(error.to_string()))?;
    let insert = Statement::guard(
        format!(
            "INSERT INTO policy_generations (account_id, region, client_token, {COLUMNS})
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM policy_generations WHERE account_id = ? AND region = ? AND started_on > ?) < ?"
        ),
        vec![
            scope.account.into(),
            scope.region.into(),
            client_token.map_or(Value::Null, Value::from),
            job.job_id.as_str().into(),
            job.principal_arn.as_str().into(),
            job.status.as_str().into(),
            Value::Int(job.started_on),
            job.completed_on.map_or(Value::Null, Value::Int),
            outcome.into(),
            scope.account.into(),
            scope.region.into(),
            Value::Int(job.started_on - 86_400),
            Value::Int(per_day),
        ],
    );
    match store.transaction(vec![insert]).await {
        Ok(_) => Ok(Started::New),
        Err(StoreError::Unmet(_)) => Ok(Started::OverQuota),
        // A concurrent start with the same token won: its job is the answer.
        Err(StoreError::Conflict) => match client_token {
            Some(token) => by_token(store, scope, token)
                .await?
                .map(|job| Started::Existing(Box::new(job)))
                .ok_or_else(|| StoreError::Unavailable("a client token's job vanished".to_owned())),
            None => Err(StoreError::Conflict),
        },
        Err(error) => Err(error),
    }
}

async fn by_token(store: &Store, scope: Scope<'_>, token: &str) -> Result<Option<Job>, StoreError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM policy_generations WHERE account_id = ? AND region = ? AND client_token = ?"
            ),
            vec![scope.account.into(), scope.region.into(), token.into()],
        )
        .await?;
    rows.first().map(Job::from_row).transpose()
}

/// The account's job `job_id`.
pub async fn find(store: &Store, scope: Scope<'_>, job_id: &str) -> Result<Option<Job>, StoreError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM policy_generations WHERE account_id = ? AND region = ? AND job_id = ?"),
            vec![scope.account.into(), scope.region.into(), job_id.into()],
        )
        .await?;
    rows.first().map(Job::from_row).transpose()
}

/// Up to `size` of the account's jobs (of `principal_arn` when given), newest first, after
/// the job at (`started_on`, `job_id`) when given: a page by key.
pub async fn page(
    store: &Store,
    scope: Scope<'_>,
    principal_arn: Option<&str>,
    after: Option<(i64, &str)>,
    size: usize,
) -> Result<Vec<Job>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM policy_generations WHERE account_id = ? AND region = ?");
    let mut params: Vec<Value> = vec![scope.account.into(), scope.region.into()];
    if let Some(arn) = principal_arn {
        sql.push_str(" AND principal_arn = ?");
        params.push(arn.into());
    }
    if let Some((started_on, job_id)) = after {
        sql.push_str(" AND (started_on < ? OR (started_on = ? AND job_id < ?))");
        params.extend([Value::Int(started_on), Value::Int(started_on), job_id.into()]);
    }
    sql.push_str(" ORDER BY started_on DESC, job_id DESC LIMIT ?");
    params.push(Value::Int(i64::try_from(size).unwrap_or(i64::MAX)));
    store.query(&sql, params).await?.iter().map(Job::from_row).collect()
}

/// Forgets jobs started before `before`.
pub async fn expire(store: &Store, before: i64) -> Result<u64, StoreError> {
    store.execute("DELETE FROM policy_generations WHERE started_on < ?", vec![Value::Int(before)]).await
}
