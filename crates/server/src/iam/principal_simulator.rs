//! SimulatePrincipalPolicy and GetContextKeysForPrincipalPolicy: the simulator run with the
//! policies a user, group or role holds now (inline, its groups', attached managed ones and
//! its permissions boundary), plus any the request adds.
//!
//! Matched statements of the principal's own policies are reported under the policy's name
//! (inline) or ARN (managed), those of the request's under `PolicyInputList.N`, as IAM does.

use std::sync::Arc;

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use iam_policy::Policy;
use iam_policy::simulate::{Extensions, StatementRef};

use super::entities::{Entity, Kind, find};
use super::simulator::{
    context_key_names, parse_policies, required_list, simulate, simulation_request, write_context_keys,
    write_simulation,
};
use crate::authz::owner_permissions;
use crate::operations::operation;
use crate::operations::{Ctx, query};

operation!(
    iam,
    SIMULATE_PRINCIPAL_POLICY,
    "SimulatePrincipalPolicy",
    Read,
    |ctx| Box::pin(source_resource(ctx)),
    |ctx| { query(simulate_principal_policy(ctx)) }
);
operation!(
    iam,
    GET_CONTEXT_KEYS_FOR_PRINCIPAL_POLICY,
    "GetContextKeysForPrincipalPolicy",
    Read,
    |ctx| Box::pin(source_resource(ctx)),
    |ctx| query(get_context_keys_for_principal_policy(ctx))
);

/// The policies of the principal `PolicySourceArn` names, and its kind.
struct Held {
    kind: Kind,
    /// `(id, policy)`: inline policies as `kind/name/policy`, managed ones by ARN.
    identity: Vec<(String, Arc<Policy>)>,
    boundary: Option<Arc<Policy>>,
}

/// The user, group or role `PolicySourceArn` names, if it is this account's: found by name
/// (unique case-insensitively) and kept when the ARN is its own, whatever the spelling.
async fn source(ctx: &Ctx<'_>) -> Result<(Kind, Option<Entity>), AwsError> {
    let arn = ctx.required("PolicySourceArn")?;
    let invalid = || AwsError::new("InvalidInput", 400, format!("ARN {arn} is not valid."));
    let parsed = iam_policy::arn::Arn::parse(arn).ok_or_else(invalid)?;
    let (noun, path_and_name) = parsed.resource.split_once('/').ok_or_else(invalid)?;
    let kind = match (parsed.service, noun) {
        ("iam", "user") => Kind::User,
        ("iam", "group") => Kind::Group,
        ("iam", "role") => Kind::Role,
        _ => return Err(invalid()),
    };
    if parsed.account != ctx.account() {
        return Ok((kind, None));
    }
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let entity = find(ctx, kind, name).await?.filter(|entity| entity.arn(ctx.account()).eq_ignore_ascii_case(arn));
    if let Some(entity) = &entity {
        let _ = ctx.target.set(entity.clone());
    }
    Ok((kind, entity))
}

/// Authorized on the principal's own ARN when it exists, else on the ARN as given.
async fn source_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let arn = ctx.required("PolicySourceArn")?;
    Ok(vec![match source(ctx).await {
        Ok((_, Some(entity))) => entity.arn(ctx.account()),
        // A malformed ARN is refused by the operation, after authorization, as IAM does.
        Ok((_, None)) => arn.to_owned(),
        Err(error) if error.code == "InvalidInput" => arn.to_owned(),
        Err(error) => return Err(error),
    }])
}

async fn held(ctx: &Ctx<'_>) -> Result<Held, AwsError> {
    let arn = ctx.required("PolicySourceArn")?;
    let (kind, entity) = source(ctx).await?;
    let entity = entity
        .ok_or_else(|| AwsError::new("NoSuchEntity", 404, format!("{} {arn} does not exist.", kind.element())))?;
    let permissions = owner_permissions(ctx.app, ctx.account(), kind, &entity.name.to_lowercase()).await?;
    Ok(Held {
        kind,
        identity: permissions.identity.clone(),
        boundary: permissions.boundary.as_ref().map(|(_, policy)| policy.clone()),
    })
}

async fn simulate_principal_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    required_list(ctx, "ActionNames")?;
    let held = held(ctx).await?;
    let mut request = simulation_request(ctx.params)?;
    let added = request.policy_input_list.len();
    // The principal's policies first, then the request's.
    let own: Vec<String> = held.identity.iter().map(|(_, policy)| policy.text().to_owned()).collect();
    request.policy_input_list = own.into_iter().chain(request.policy_input_list).collect();
    // A boundary given in the request replaces the principal's own.
    if request.permissions_boundary_policy_input_list.is_empty() {
        request.permissions_boundary_policy_input_list = held.boundary.iter().map(|p| p.text().to_owned()).collect();
    }
    if request.caller_arn.is_none() && held.kind == Kind::User {
        request.caller_arn = ctx.params.get("PolicySourceArn").map(str::to_owned);
    }
    let mut response = simulate(&request, &Extensions::default())?;
    let rename = |statement: &mut StatementRef| {
        let Some(index) = statement.source_policy_id.strip_prefix("PolicyInputList.") else { return };
        let Ok(position) = index.parse::<usize>() else { return };
        match held.identity.get(position.wrapping_sub(1)) {
            Some((id, _)) => {
                statement.source_policy_type = if id.starts_with("arn:aws:iam::aws:") {
                    "aws-managed".to_owned()
                } else if id.starts_with("arn:") {
                    "user-managed".to_owned()
                } else {
                    id.split('/').next().unwrap_or("user").to_owned()
                };
                statement.source_policy_id = id.rsplit('/').next().unwrap_or(id).to_owned();
            }
            None if position > held.identity.len() && position - held.identity.len() <= added => {
                statement.source_policy_id = format!("PolicyInputList.{}", position - held.identity.len());
            }
            None => {}
        }
    };
    for result in &mut response.evaluation_results {
        result.matched_statements.iter_mut().for_each(rename);
        for specific in &mut result.resource_specific_results {
            specific.matched_statements.iter_mut().for_each(rename);
        }
    }
    let mut xml = ctx.response();
    write_simulation(&mut xml, &response);
    Ok(xml)
}

async fn get_context_keys_for_principal_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let held = held(ctx).await?;
    let added = parse_policies(&ctx.params.strings("PolicyInputList"), "PolicyInputList")?;
    let policies: Vec<&Policy> = held.identity.iter().map(|(_, policy)| &**policy).chain(&added).collect();
    let mut xml = ctx.response();
    write_context_keys(&mut xml, &context_key_names(&policies));
    Ok(xml)
}
