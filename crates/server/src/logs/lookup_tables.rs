//! Lookup tables: CreateLookupTable, GetLookupTable, DescribeLookupTables, UpdateLookupTable
//! and DeleteLookupTable.
//!
//! Guarantees: a table is durable CSV whose first row names its columns (each non-empty, none
//! twice) and whose every row has as many fields (RFC 4180 quoting: `"` around a field, `""`
//! for a quote, line breaks inside quotes); its `tableFields` and `recordsCount` are counted
//! from it; an update replaces body, description and key whole. A `kmsKeyId` is recorded as a
//! log group's is (`logs::kms`: a symmetric key's ARN of the region, else
//! `AccessDeniedException`) and never used. Tables are stored and answered: Homeport's Logs
//! Insights language has no `lookup` command yet, so no query reads them (a query using it is
//! refused as malformed, never run without it).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::deliveries::invalid;
use super::invalid_parameter;
use super::model::lookup_table::{self, LookupTable};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing, put};
use crate::regions::Scope;

operation!(
    logs,
    CREATE_LOOKUP_TABLE,
    "CreateLookupTable",
    Write,
    |ctx| Box::pin(async move { Ok(vec![lookup_table::arn(ctx.scope(), text(ctx.body, "lookupTableName")?)]) }),
    |ctx| json_op(create_lookup_table(ctx))
);
operation!(logs, GET_LOOKUP_TABLE, "GetLookupTable", Read, |ctx| Box::pin(async move { named(ctx) }), |ctx| json_op(
    get_lookup_table(ctx)
));
operation!(logs, DESCRIBE_LOOKUP_TABLES, "DescribeLookupTables", Read, crate::operations::account_wide, |ctx| json_op(
    describe_lookup_tables(ctx)
));
operation!(logs, UPDATE_LOOKUP_TABLE, "UpdateLookupTable", Write, |ctx| Box::pin(async move { named(ctx) }), |ctx| {
    json_op(update_lookup_table(ctx))
});
operation!(logs, DELETE_LOOKUP_TABLE, "DeleteLookupTable", Write, |ctx| Box::pin(async move { named(ctx) }), |ctx| {
    json_op(delete_lookup_table(ctx))
});

/// Tags a table may carry.
const MAX_TAGS: usize = 50;

fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

fn no_table(arn: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, format!("Lookup table {arn} does not exist."))
}

/// The name of the table `lookupTableArn` names in this region, if it names one here.
fn table_name<'a>(scope: Scope<'_>, arn: &'a str) -> Option<&'a str> {
    arn.strip_prefix(lookup_table::arn(scope, "").as_str())
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The resource a request naming a table is authorized on: its ARN as given (its name is its
/// identity).
fn named(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![text(ctx.body, "lookupTableArn")?.to_owned()])
}

/// The rows of a CSV text, each a list of fields (RFC 4180 quoting); `None` when a quote is
/// left open.
fn csv_rows(body: &str) -> Option<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Some(rows)
}

/// A table's columns and data row count, or why its body is no table.
fn checked_body(body: &str) -> Result<(Vec<String>, i64), AwsError> {
    let rows = csv_rows(body).ok_or_else(|| invalid("The tableBody is not CSV: a quoted field is not closed."))?;
    let Some((header, records)) = rows.split_first() else {
        return Err(invalid("The tableBody needs a header row naming its columns."));
    };
    let fields: Vec<String> = header.iter().map(|name| name.trim().to_owned()).collect();
    if fields.iter().any(String::is_empty) {
        return Err(invalid("Every column of the tableBody's header row needs a name."));
    }
    if let Some(twice) =
        fields.iter().enumerate().find(|(at, name)| fields.iter().take(*at).any(|before| before == *name))
    {
        return Err(invalid(format!("The column {} is named twice in the tableBody's header row.", twice.1)));
    }
    if let Some((at, _)) = records.iter().enumerate().find(|(_, row)| row.len() != fields.len()) {
        return Err(invalid(format!(
            "Row {} of the tableBody has a different number of fields than its header row ({}).",
            at + 2,
            fields.len()
        )));
    }
    Ok((fields, i64::try_from(records.len()).unwrap_or(i64::MAX)))
}

/// A `kmsKeyId`, checked as a log group's is.
fn kms_key(ctx: &Ctx<'_>, arn: &str) -> Result<Option<String>, AwsError> {
    match ctx.body.get("kmsKeyId").and_then(Json::as_str) {
        None => Ok(None),
        Some(key) => super::kms::key_arn(ctx.scope(), key, "").map(|key| Some(key.to_owned())).map_err(|_| {
            AwsError::new(
                "AccessDeniedException",
                400,
                format!("The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"),
            )
        }),
    }
}

/// A table as Describe lists it.
fn summary(scope: Scope<'_>, table: &LookupTable, size: i64) -> Json {
    let mut answer = json!({
        "lookupTableArn": lookup_table::arn(scope, &table.name),
        "lookupTableName": table.name,
        "tableFields": table.fields,
        "recordsCount": table.records,
        "sizeBytes": size,
        "lastUpdatedTime": table.updated_at,
    });
    if let Some(description) = &table.description {
        put(&mut answer, "description", description.as_str());
    }
    if let Some(key) = &table.kms_key_id {
        put(&mut answer, "kmsKeyId", key.as_str());
    }
    answer
}

async fn create_lookup_table(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "lookupTableName")?;
    let arn = lookup_table::arn(ctx.scope(), name);
    let tags = super::tags::tag_map(ctx.body, "tags")?;
    if tags.len() > MAX_TAGS {
        return Err(invalid_parameter(format!("A lookup table can have at most {MAX_TAGS} tags.")));
    }
    let body = text(ctx.body, "tableBody")?;
    let (fields, records) = checked_body(body)?;
    let table = LookupTable {
        name: name.to_owned(),
        description: ctx.body.get("description").and_then(Json::as_str).map(str::to_owned),
        body: body.to_owned(),
        kms_key_id: kms_key(ctx, &arn)?,
        fields,
        records,
        updated_at: ids::now() * 1000,
    };
    if !lookup_table::create(&ctx.app.store, ctx.scope(), &table, &tags).await? {
        return Err(AwsError::new(
            "ResourceAlreadyExistsException",
            400,
            format!("Lookup table {name} already exists."),
        ));
    }
    Ok(json!({"lookupTableArn": arn, "createdAt": table.updated_at}))
}

/// The table a request's `lookupTableArn` names, which must exist.
async fn existing(ctx: &Ctx<'_>) -> Result<LookupTable, AwsError> {
    let arn = text(ctx.body, "lookupTableArn")?;
    let Some(name) = table_name(ctx.scope(), arn) else { return Err(no_table(arn)) };
    lookup_table::get(&ctx.app.store, ctx.scope(), name).await?.ok_or_else(|| no_table(arn))
}

async fn get_lookup_table(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let table = existing(ctx).await?;
    let mut answer = summary(ctx.scope(), &table, table.size());
    for member in ["tableFields", "recordsCount"] {
        if let Some(map) = answer.as_object_mut() {
            map.remove(member);
        }
    }
    put(&mut answer, "tableBody", table.body);
    Ok(answer)
}

async fn describe_lookup_tables(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let start = match ctx.body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The specified nextToken is invalid."))?,
    };
    let size = ctx.body.get("maxResults").and_then(Json::as_u64).map_or(50, |n| usize::try_from(n).unwrap_or(50));
    let prefix = ctx.body.get("lookupTableNamePrefix").and_then(Json::as_str).unwrap_or_default();
    let found: Vec<Json> = lookup_table::list(&ctx.app.store, ctx.scope(), prefix)
        .await?
        .iter()
        .map(|(table, size)| summary(ctx.scope(), table, *size))
        .collect();
    Ok(crate::operations::json_page("lookupTables", "nextToken", found, start, size.max(1)))
}

async fn update_lookup_table(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stored = existing(ctx).await?;
    let arn = lookup_table::arn(ctx.scope(), &stored.name);
    let body = text(ctx.body, "tableBody")?;
    let (fields, records) = checked_body(body)?;
    let table = LookupTable {
        description: ctx.body.get("description").and_then(Json::as_str).map(str::to_owned),
        body: body.to_owned(),
        kms_key_id: kms_key(ctx, &arn)?,
        fields,
        records,
        updated_at: ids::now() * 1000,
        ..stored
    };
    if !lookup_table::replace(&ctx.app.store, ctx.scope(), &table).await? {
        return Err(no_table(&arn));
    }
    Ok(json!({"lookupTableArn": arn, "lastUpdatedTime": table.updated_at}))
}

async fn delete_lookup_table(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stored = existing(ctx).await?;
    if lookup_table::delete(&ctx.app.store, ctx.scope(), &stored.name).await? {
        Ok(json!({}))
    } else {
        Err(no_table(&lookup_table::arn(ctx.scope(), &stored.name)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn a_body_is_csv_with_a_header_and_rows_as_wide() {
        let (fields, records) = checked_body("id,name\n1,\"Ann, \"\"A\"\"\"\r\n2,\"two\nlines\"\n").unwrap();
        assert_eq!((fields, records), (vec!["id".to_owned(), "name".to_owned()], 2));
        assert_eq!(checked_body("id\n").unwrap().1, 0);
        for bad in ["", "id,id\n1,2\n", "id,\n1,2\n", "id,name\n1\n", "id\n\"open\n"] {
            assert!(checked_body(bad).is_err(), "{bad:?}");
        }
    }
}
