//! SSM hybrid activations: CreateActivation, DescribeActivations, DeleteActivation.
//!
//! An activation lets up to `RegistrationLimit` servers register as managed instances that
//! act with its IAM role. Its code is returned once and only its SHA-256 is stored. Creating
//! one passes the role to SSM, so it needs `iam:PassRole`, and the role must exist and trust
//! `ssm.amazonaws.com` (decided by the engine, as SSM would assume it).

use aws_protocol::AwsError;
use aws_protocol::sigv4::sha256_hex;
use serde_json::{Value as Json, json};

use crate::iam::roles::{Role, find_role};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};
use crate::ssm::model::activation::{self as model, NewActivation};
use crate::ssm::model::tags::{self, ResourceKind};
use crate::ssm::{self, epoch, invalid_parameters, tags_from_body, validation_exception};

/// An activation's default lifetime, and the furthest ahead it may expire.
const DEFAULT_LIFETIME: i64 = 24 * 3600;
const MAX_LIFETIME: i64 = 30 * 24 * 3600;

operation!(
    ssm,
    CREATE_ACTIVATION,
    "CreateActivation",
    Write,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| { json_op(create_activation(ctx)) }
);
operation!(
    ssm,
    DESCRIBE_ACTIVATIONS,
    "DescribeActivations",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| { json_op(describe_activations(ctx)) }
);
operation!(
    ssm,
    DELETE_ACTIVATION,
    "DeleteActivation",
    Write,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| { json_op(delete_activation(ctx)) }
);

/// The role an activation's `IamRole` names (a role name, or a role ARN of this account),
/// if it exists and its trust policy lets `ssm.amazonaws.com` assume it for `source_arn`.
pub(crate) async fn ssm_role(
    app: &crate::app::App,
    iam_role: &str,
    source_arn: &str,
) -> Result<Option<Role>, AwsError> {
    let name = iam_role.rsplit('/').next().unwrap_or(iam_role);
    let Some(role) = find_role(&app.store, &app.account_id, name).await? else { return Ok(None) };
    if iam_role.starts_with("arn:") && role.arn(&app.account_id) != iam_role {
        return Ok(None);
    }
    Ok(ssm::trusts_ssm(app, &role, source_arn).then_some(role))
}

async fn create_activation(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    // The pipeline has checked the model: `IamRole` is present, `RegistrationLimit` is a number
    // from 1 to 1000 (a fraction truncated, as AWS reads it), the texts within their lengths.
    let iam_role = body.get("IamRole").and_then(Json::as_str).unwrap_or_default();
    let limit = body.get("RegistrationLimit").and_then(Json::as_f64).map_or(1, |limit| limit.trunc() as i64);
    let now = ids::now();
    let expires_at = match body.get("ExpirationDate") {
        None | Some(Json::Null) => now + DEFAULT_LIFETIME,
        Some(value) => {
            let at = epoch(value).ok_or_else(|| invalid_parameters("ExpirationDate is not a valid timestamp."))?;
            if at <= now || at > now + MAX_LIFETIME {
                return Err(invalid_parameters("ExpirationDate must be in the future and at most 30 days from now."));
            }
            at
        }
    };
    let text = |member: &str| body.get(member).and_then(Json::as_str).map(str::to_owned);
    let description = text("Description");
    let default_instance_name = text("DefaultInstanceName");
    let tags = tags_from_body(body)?;
    // CreateActivation declares no TooManyTagsError: the quota is refused as a parameter.
    if tags.len() > usize::try_from(ssm::TAGS_PER_RESOURCE).unwrap_or(usize::MAX) {
        return Err(invalid_parameters("A resource can have at most 50 tags."));
    }
    let role_arn_text = if iam_role.starts_with("arn:") {
        iam_role.to_owned()
    } else {
        format!("arn:aws:iam::{}:role/{iam_role}", ctx.account())
    };
    let activation_id = ids::uuid().map_err(internal)?;
    let activation_arn = format!("arn:aws:ssm:{}:{}:activation/{activation_id}", ctx.region(), ctx.account());
    let role = ssm_role(ctx.app, iam_role, &activation_arn)
        .await?
        .ok_or_else(|| validation_exception(format!("Not existing role: {role_arn_text}")))?;
    // The role is passed to SSM for the instances this activation registers.
    crate::authz::pass_role(ctx, &role.arn(ctx.account()), "ssm.amazonaws.com", &activation_arn).await?;
    let code = ids::activation_code().map_err(internal)?;
    let metadata = body.get("RegistrationMetadata").map(Json::to_string);
    let activation = NewActivation {
        id: &activation_id,
        code_hash: &sha256_hex(code.as_bytes()),
        role_name: &role.entity.name,
        description: description.as_deref(),
        default_instance_name: default_instance_name.as_deref(),
        registration_limit: limit,
        expires_at,
        created_at: now,
        metadata,
    };
    model::create(&ctx.app.store, ctx.scope(), &activation, &tags).await?;
    Ok(json!({"ActivationId": activation_id, "ActivationCode": code}))
}

async fn describe_activations(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ssm::Page::from_body(ctx.body, 1..=50, 50)?;
    let filters = ssm::filters(
        ctx.body,
        "Filters",
        "FilterKey",
        "FilterValues",
        &["ActivationIds", "DefaultInstanceName", "IamRole"],
        "InvalidFilter",
    )?;
    let now = ids::now();
    let mut activations = Vec::new();
    for stored in model::all(&ctx.app.store, ctx.scope()).await? {
        let matches = filters.iter().all(|(key, values)| {
            let field = match key.as_str() {
                "ActivationIds" => Some(stored.id.as_str()),
                "DefaultInstanceName" => stored.default_instance_name.as_deref(),
                _ => Some(stored.role_name.as_str()),
            };
            field.is_some_and(|field| values.iter().any(|value| value == field))
        });
        if !matches {
            continue;
        }
        let tags = tags::of(&ctx.app.store, ctx.account(), ResourceKind::Activation, &stored.id).await?;
        let mut activation = json!({
            "ActivationId": stored.id,
            "IamRole": stored.role_name,
            "RegistrationLimit": stored.registration_limit,
            "RegistrationsCount": stored.registrations_count,
            "ExpirationDate": stored.expires_at,
            "Expired": stored.expired(now),
            "CreatedDate": stored.created_at,
            "Tags": ssm::tags_json(tags),
        });
        if let Some(description) = stored.description {
            ssm::put(&mut activation, "Description", json!(description));
        }
        if let Some(name) = stored.default_instance_name {
            ssm::put(&mut activation, "DefaultInstanceName", json!(name));
        }
        activations.push(activation);
    }
    Ok(page.answer("ActivationList", activations))
}

async fn delete_activation(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = ctx.body.get("ActivationId").and_then(Json::as_str).unwrap_or_default();
    if model::delete(&ctx.app.store, ctx.scope(), id).await? {
        Ok(json!({}))
    } else {
        Err(AwsError::new("InvalidActivation", 400, format!("Activation ID {id} is not valid.")))
    }
}
