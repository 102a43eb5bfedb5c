//! Saved Logs Insights query definitions: the SQL of `logs_query_definitions`, keyed by
//! account, region and id.
//!
//! Guarantees: a definition is replaced whole by an update (nothing of the old one kept, as
//! CloudWatch documents); a client token already used answers the definition it made instead
//! of making another; at most `max` definitions per account and region.

use store::{Store, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// One saved definition. `log_groups` and `parameters` are kept as the JSON given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDefinition {
    pub id: String,
    pub name: String,
    pub query_string: String,
    pub log_groups: String,
    pub parameters: String,
    /// Epoch milliseconds.
    pub last_modified: i64,
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Stored under this id (new, updated, or made before with the same client token).
    Stored(String),
    NoSuchDefinition,
    TooMany,
}

/// Creates a definition (`definition.id` new), or replaces the one with that id when
/// `update`; `client_token` makes a repeated create answer the first one's id.
pub async fn put(
    store: &Store,
    scope: Scope<'_>,
    definition: &QueryDefinition,
    update: bool,
    client_token: Option<&str>,
    max: i64,
) -> Result<Put, ModelError> {
    let key = |id: &str| -> Vec<Value> { vec![scope.account.into(), scope.region.into(), id.into()] };
    if update {
        let mut params = vec![
            definition.name.as_str().into(),
            definition.query_string.as_str().into(),
            definition.log_groups.as_str().into(),
            definition.parameters.as_str().into(),
            Value::Int(definition.last_modified),
        ];
        params.extend(key(&definition.id));
        let changed = store
            .execute(
                "UPDATE logs_query_definitions SET name = ?, query_string = ?, log_groups = ?, parameters = ?, last_modified = ?
                 WHERE account_id = ? AND region = ? AND definition_id = ?",
                params,
            )
            .await?;
        return Ok(if changed == 1 { Put::Stored(definition.id.clone()) } else { Put::NoSuchDefinition });
    }
    if let Some(token) = client_token {
        let rows = store
            .query(
                "SELECT definition_id FROM logs_query_definitions WHERE account_id = ? AND region = ? AND client_token = ?",
                vec![scope.account.into(), scope.region.into(), token.into()],
            )
            .await?;
        if let Some(row) = rows.first() {
            return Ok(Put::Stored(row.text(0)?));
        }
    }
    let mut params = key(&definition.id);
    params.extend([
        definition.name.as_str().into(),
        definition.query_string.as_str().into(),
        definition.log_groups.as_str().into(),
        definition.parameters.as_str().into(),
        client_token.map_or(Value::Null, Value::from),
        Value::Int(definition.last_modified),
        scope.account.into(),
        scope.region.into(),
        Value::Int(max),
    ]);
    let inserted = store
        .execute(
            "INSERT INTO logs_query_definitions (account_id, region, definition_id, name, query_string, log_groups,
                 parameters, client_token, last_modified)
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM logs_query_definitions WHERE account_id = ? AND region = ?) < ?",
            params,
        )
        .await?;
    Ok(if inserted == 1 { Put::Stored(definition.id.clone()) } else { Put::TooMany })
}

/// The scope's definitions whose name starts with `prefix`, by name.
pub async fn all(store: &Store, scope: Scope<'_>, prefix: &str) -> Result<Vec<QueryDefinition>, ModelError> {
    let rows = store
        .query(
            "SELECT definition_id, name, query_string, log_groups, parameters, last_modified FROM logs_query_definitions
             WHERE account_id = ? AND region = ? ORDER BY name, definition_id",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    let mut definitions = Vec::new();
    for row in &rows {
        let name = row.text(1)?;
        if !name.starts_with(prefix) {
            continue;
        }
        definitions.push(QueryDefinition {
            id: row.text(0)?,
            name,
            query_string: row.text(2)?,
            log_groups: row.text(3)?,
            parameters: row.text(4)?,
            last_modified: row.int(5)?,
        });
    }
    Ok(definitions)
}

/// Deletes a definition: whether there was one.
pub async fn delete(store: &Store, scope: Scope<'_>, id: &str) -> Result<bool, ModelError> {
    let deleted = store
        .execute(
            "DELETE FROM logs_query_definitions WHERE account_id = ? AND region = ? AND definition_id = ?",
            vec![scope.account.into(), scope.region.into(), id.into()],
        )
        .await?;
    Ok(deleted == 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, SCOPE, temp_store};

    fn definition(id: &str, name: &str) -> QueryDefinition {
        QueryDefinition {
            id: id.into(),
            name: name.into(),
            query_string: "fields @message".into(),
            log_groups: "[]".into(),
            parameters: "[]".into(),
            last_modified: 1,
        }
    }

    #[tokio::test]
    async fn definitions_are_created_once_per_token_replaced_whole_and_bounded() {
        let temp = temp_store().await;
        let store = &temp.store;
        let scope = SCOPE;
        let stored = |id: &str| Put::Stored(id.to_owned());
        assert_eq!(put(store, scope, &definition("d1", "errors"), false, Some("t1"), 2).await.unwrap(), stored("d1"));
        assert_eq!(
            put(store, scope, &definition("d2", "errors"), false, Some("t1"), 2).await.unwrap(),
            stored("d1"),
            "the same token answers the first"
        );
        assert_eq!(put(store, scope, &definition("d2", "slow"), false, None, 2).await.unwrap(), stored("d2"));
        assert_eq!(put(store, scope, &definition("d3", "x"), false, None, 2).await.unwrap(), Put::TooMany);
        let renamed = QueryDefinition { query_string: "stats count(*)".into(), ..definition("d1", "errors-2") };
        assert_eq!(put(store, scope, &renamed, true, None, 2).await.unwrap(), stored("d1"));
        assert_eq!(put(store, scope, &definition("nope", "x"), true, None, 2).await.unwrap(), Put::NoSuchDefinition);
        let found = all(store, scope, "err").await.unwrap();
        assert_eq!(found, [renamed]);
        let west = Scope { account: ACCOUNT, region: "us-west-2" };
        assert!(all(store, west, "").await.unwrap().is_empty(), "regions do not share definitions");
        assert!(delete(store, scope, "d1").await.unwrap());
        assert!(!delete(store, scope, "d1").await.unwrap());
    }
}
