//! Account policies: PutAccountPolicy, DescribeAccountPolicies and DeleteAccountPolicy.
//!
//! Only subscription filter policies are kept: a JSON document with `DestinationArn`
//! (checked as a subscription filter's is: a CloudWatch Logs destination must exist in this
//! account and region), `FilterPattern` (parsed with FilterLogEvents' language), `Distribution`
//! (`ByLogStream` or `Random`) and `RoleArn` (`iam:PassRole` to `logs.amazonaws.com`, as
//! PutAccountPolicy documents), and selection criteria of the one form AWS takes
//! (`LogGroupName NOT IN [...]`); one per region (`LimitExceededException`, CloudWatch's
//! quota). They are stored and answered: as for subscription filters, nothing is delivered.
//! The other types (data protection, field index, transformer, metric extraction) would need
//! what Homeport does not run (masking, indexes, transformers, metrics) and are refused:
//! DescribeAccountPolicies answers none of them.

use aws_protocol::AwsError;
use logs_filter::Pattern;
use serde_json::{Value as Json, json};

use super::invalid_parameter;
use super::model::account_policies::{self, AccountPolicy, Put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing, put};

operation!(logs, PUT_ACCOUNT_POLICY, "PutAccountPolicy", Write, crate::operations::account_wide, |ctx| json_op(
    put_account_policy(ctx)
));
operation!(logs, DESCRIBE_ACCOUNT_POLICIES, "DescribeAccountPolicies", Read, crate::operations::account_wide, |ctx| {
    json_op(describe_account_policies(ctx))
});
operation!(logs, DELETE_ACCOUNT_POLICY, "DeleteAccountPolicy", Write, crate::operations::account_wide, |ctx| json_op(
    delete_account_policy(ctx)
));

/// The one policy type Homeport keeps.
const SUBSCRIPTION_FILTER_POLICY: &str = "SUBSCRIPTION_FILTER_POLICY";
/// Subscription filter policies a region may hold.
const SUBSCRIPTION_POLICIES_PER_REGION: i64 = 1;

fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

/// `policyType`, which must be the one Homeport keeps.
fn kept_type(body: &Json) -> Result<&str, AwsError> {
    match text(body, "policyType")? {
        SUBSCRIPTION_FILTER_POLICY => Ok(SUBSCRIPTION_FILTER_POLICY),
        other => Err(invalid_parameter(format!(
            "Homeport keeps only SUBSCRIPTION_FILTER_POLICY account policies: a {other} needs what it does not run (data protection, field indexes, transformers or metric extraction)."
        ))),
    }
}

/// Checks a subscription filter policy's document, and passes its role.
async fn check_subscription_document(ctx: &Ctx<'_>, document: &str) -> Result<(), AwsError> {
    let parsed: Json = serde_json::from_str(document)
        .ok()
        .filter(Json::is_object)
        .ok_or_else(|| invalid_parameter("The policyDocument is not a JSON object."))?;
    let destination = parsed
        .get("DestinationArn")
        .and_then(Json::as_str)
        .ok_or_else(|| invalid_parameter("A subscription filter policy needs a DestinationArn."))?;
    if let Some(pattern) = parsed.get("FilterPattern") {
        let pattern = pattern.as_str().ok_or_else(|| invalid_parameter("FilterPattern must be a string."))?;
        Pattern::parse(pattern).map_err(|error| invalid_parameter(format!("Invalid filter pattern: {}", error.0)))?;
    }
    match parsed.get("Distribution").map(Json::as_str) {
        None | Some(Some("ByLogStream" | "Random")) => {}
        Some(_) => return Err(invalid_parameter("Distribution must be ByLogStream or Random.")),
    }
    super::destinations::subscribed_destination(ctx, destination).await?;
    if let Some(role) = parsed.get("RoleArn") {
        let role = role.as_str().ok_or_else(|| invalid_parameter("RoleArn must be a string."))?;
        let account = format!("arn:aws:logs:{}:{}:*", ctx.region(), ctx.account());
        crate::authz::pass_role(ctx, role, "logs.amazonaws.com", &account).await?;
    }
    Ok(())
}

/// A policy as PutAccountPolicy and DescribeAccountPolicies answer it.
fn policy_json(ctx: &Ctx<'_>, policy: AccountPolicy) -> Json {
    let mut answer = json!({
        "policyName": policy.name,
        "policyDocument": policy.document,
        "lastUpdatedTime": policy.updated_at,
        "policyType": policy.policy_type,
        "scope": "ALL",
        "accountId": ctx.account(),
    });
    if let Some(criteria) = policy.selection_criteria {
        put(&mut answer, "selectionCriteria", criteria);
    }
    answer
}

async fn put_account_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "policyName")?;
    let document = text(ctx.body, "policyDocument")?;
    let policy_type = kept_type(ctx.body)?;
    let criteria = ctx.body.get("selectionCriteria").and_then(Json::as_str);
    if let Some(criteria) = criteria
        && !(criteria.starts_with("LogGroupName NOT IN [") && criteria.ends_with(']'))
    {
        return Err(invalid_parameter(
            "The only selectionCriteria of a subscription filter policy is LogGroupName NOT IN [...].",
        ));
    }
    check_subscription_document(ctx, document).await?;
    let policy = AccountPolicy {
        policy_type: policy_type.to_owned(),
        name: name.to_owned(),
        document: document.to_owned(),
        selection_criteria: criteria.map(str::to_owned),
        updated_at: ids::now() * 1000,
    };
    match account_policies::put(&ctx.app.store, ctx.scope(), &policy, SUBSCRIPTION_POLICIES_PER_REGION).await? {
        Put::Written => Ok(json!({ "accountPolicy": policy_json(ctx, policy) })),
        Put::OverQuota => Err(AwsError::new(
            "LimitExceededException",
            400,
            "Each account can have one account-level subscription filter policy per Region: update it by its name.",
        )),
    }
}

async fn describe_account_policies(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    super::no_linked_accounts(ctx)?;
    if ctx.body.get("nextToken").is_some() {
        return Err(invalid_parameter("The specified nextToken is invalid."));
    }
    let policy_type = text(ctx.body, "policyType")?;
    let name = ctx.body.get("policyName").and_then(Json::as_str);
    let found: Vec<Json> = account_policies::of_type(&ctx.app.store, ctx.scope(), policy_type)
        .await?
        .into_iter()
        .filter(|policy| name.is_none_or(|name| policy.name == name))
        .map(|policy| policy_json(ctx, policy))
        .collect();
    Ok(json!({ "accountPolicies": found }))
}

async fn delete_account_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "policyName")?;
    let policy_type = text(ctx.body, "policyType")?;
    if account_policies::delete(&ctx.app.store, ctx.scope(), policy_type, name).await? {
        Ok(json!({}))
    } else {
        Err(AwsError::new("ResourceNotFoundException", 400, format!("Policy with name [{name}] does not exist")))
    }
}
