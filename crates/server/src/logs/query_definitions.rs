//! Saved Logs Insights queries: PutQueryDefinition, DescribeQueryDefinitions and
//! DeleteQueryDefinition, per account and region, authorized on `*` (their actions have no
//! resource type).
//!
//! PutQueryDefinition keeps CloudWatch's rules: a name of 1 to 255 characters, a query string
//! of 1 to 10,000 (stored as written; it is parsed when run), log group names of Logs' pattern,
//! at most 20 parameters (a name `[a-zA-Z_][a-zA-Z0-9_]*` of at most 128, a default of at most
//! 1,024, a description of at most 512), a client token of 36 to 128 non-space characters,
//! `CWLI` only, at most 1,000 definitions. With `queryDefinitionId` it replaces that definition
//! whole.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ids;
use crate::logs::errors::validation;
use crate::logs::invalid_parameter;
use crate::logs::model::query_definition::{self, Put, QueryDefinition};
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, json as json_op};

const MAX_DEFINITIONS: i64 = 1000;
const MAX_PARAMETERS: usize = 20;

operation!(logs, PUT_QUERY_DEFINITION, "PutQueryDefinition", Write, account_wide, |ctx| json_op(put_query_definition(
    ctx
)));
operation!(logs, DESCRIBE_QUERY_DEFINITIONS, "DescribeQueryDefinitions", Read, account_wide, |ctx| json_op(
    describe_query_definitions(ctx)
));
operation!(logs, DELETE_QUERY_DEFINITION, "DeleteQueryDefinition", Write, account_wide, |ctx| json_op(
    delete_query_definition(ctx)
));

fn text<'b>(body: &'b Json, member: &str, min: usize, max: usize) -> Result<Option<&'b str>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            let length = text.chars().count();
            if length < min || length > max {
                return Err(validation(member, text, &format!("Member must have length between {min} and {max}")));
            }
            Ok(Some(text))
        }
    }
}

fn required<'b>(body: &'b Json, member: &str, min: usize, max: usize) -> Result<&'b str, AwsError> {
    text(body, member, min, max)?.ok_or_else(|| {
        invalid_parameter(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn no_definition() -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, "The specified query definition does not exist.")
}

fn parameters(body: &Json) -> Result<Json, AwsError> {
    let Some(list) = body.get("parameters").and_then(Json::as_array) else { return Ok(json!([])) };
    if list.len() > MAX_PARAMETERS {
        return Err(validation(
            "parameters",
            &list.len().to_string(),
            "Member must have length less than or equal to 20",
        ));
    }
    let mut kept = Vec::new();
    for parameter in list {
        let name = required(parameter, "name", 1, 128)?;
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(validation(
                "parameters.member.name",
                name,
                "Member must satisfy regular expression pattern: ^[a-zA-Z_][a-zA-Z0-9_]*",
            ));
        }
        let mut entry = json!({"name": name});
        if let Some(default) = text(parameter, "defaultValue", 0, 1024)? {
            crate::operations::put(&mut entry, "defaultValue", default);
        }
        if let Some(description) = text(parameter, "description", 0, 512)? {
            crate::operations::put(&mut entry, "description", description);
        }
        kept.push(entry);
    }
    Ok(Json::Array(kept))
}

async fn put_query_definition(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    if let Some(language) = body.get("queryLanguage").and_then(Json::as_str).filter(|l| *l != "CWLI") {
        return Err(invalid_parameter(format!("Query language {language} is not supported; use CWLI.")));
    }
    let name = required(body, "name", 1, 255)?;
    let query_string = required(body, "queryString", 1, 10_000)?;
    let groups: Vec<&str> = body
        .get("logGroupNames")
        .and_then(Json::as_array)
        .map(|g| g.iter().map(|n| n.as_str().unwrap_or_default()).collect())
        .unwrap_or_default();
    for group in &groups {
        let valid = !group.is_empty()
            && group.len() <= 512
            && group.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
        if !valid {
            return Err(validation(
                "logGroupNames",
                group,
                "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
            ));
        }
    }
    let token = text(body, "clientToken", 36, 128)?;
    if let Some(token) = token.filter(|t| t.chars().any(char::is_whitespace)) {
        return Err(validation("clientToken", token, "Member must satisfy regular expression pattern: \\S{36,128}"));
    }
    let update = text(body, "queryDefinitionId", 1, 256)?;
    let id = match update {
        Some(id) => id.to_owned(),
        None => ids::uuid().map_err(crate::operations::internal)?,
    };
    let definition = QueryDefinition {
        id,
        name: name.to_owned(),
        query_string: query_string.to_owned(),
        log_groups: Json::from(groups).to_string(),
        parameters: parameters(body)?.to_string(),
        last_modified: ids::now() * 1000,
    };
    match query_definition::put(&ctx.app.store, ctx.scope(), &definition, update.is_some(), token, MAX_DEFINITIONS)
        .await?
    {
        Put::Stored(id) => Ok(json!({"queryDefinitionId": id})),
        Put::NoSuchDefinition => Err(no_definition()),
        Put::TooMany => Err(AwsError::new(
            "LimitExceededException",
            400,
            format!("The maximum number of query definitions ({MAX_DEFINITIONS}) has been reached."),
        )),
    }
}

async fn describe_query_definitions(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let prefix = text(body, "queryDefinitionNamePrefix", 1, 255)?.unwrap_or_default();
    let max = match body.get("maxResults") {
        None | Some(Json::Null) => 1000,
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| validation("maxResults", &value.to_string(), "Member must have value between 1 and 1000"))?,
    };
    let start = match body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The specified nextToken is invalid."))?,
    };
    let cwli = body.get("queryLanguage").and_then(Json::as_str).is_none_or(|l| l == "CWLI");
    let definitions: Vec<Json> = if cwli {
        query_definition::all(&ctx.app.store, ctx.scope(), prefix)
            .await?
            .into_iter()
            .map(|definition| {
                json!({
                    "queryLanguage": "CWLI",
                    "queryDefinitionId": definition.id,
                    "name": definition.name,
                    "queryString": definition.query_string,
                    "lastModified": definition.last_modified,
                    "logGroupNames": serde_json::from_str::<Json>(&definition.log_groups).unwrap_or_else(|_| json!([])),
                    "parameters": serde_json::from_str::<Json>(&definition.parameters).unwrap_or_else(|_| json!([])),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let size = usize::try_from(max).unwrap_or(1000);
    Ok(crate::operations::json_page("queryDefinitions", "nextToken", definitions, start, size))
}

async fn delete_query_definition(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = required(ctx.body, "queryDefinitionId", 1, 256)?;
    if query_definition::delete(&ctx.app.store, ctx.scope(), id).await? {
        Ok(json!({"success": true}))
    } else {
        Err(no_definition())
    }
}
