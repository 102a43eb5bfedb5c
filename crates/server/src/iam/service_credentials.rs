//! Service-specific credentials: CreateServiceSpecificCredential,
//! ListServiceSpecificCredentials, ResetServiceSpecificCredential,
//! UpdateServiceSpecificCredential, DeleteServiceSpecificCredential, for the services IAM
//! issues them for: CodeCommit and Keyspaces passwords (a `ServiceUserName` and a
//! `ServicePassword`), Bedrock and CloudWatch Logs API keys (a `ServiceCredentialAlias` and a
//! `ServiceCredentialSecret`, optionally expiring after `CredentialAgeDays`).
//!
//! Guarantees: the secret is answered once (by Create and Reset) and kept only as its hash;
//! two credentials per user and service at most.

use aws_model::iam::{
    CreateServiceSpecificCredentialRequest, DeleteServiceSpecificCredentialRequest,
    ListServiceSpecificCredentialsRequest, ResetServiceSpecificCredentialRequest,
    UpdateServiceSpecificCredentialRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::access_keys::{parse_status, user_subject};
use super::model::access_keys::KeyStatus;
use super::model::passwords;
use super::model::service_credentials::{self as model, PER_SERVICE, ServiceCredential};
use super::users::user_resource;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query, validation};

/// How a service's credential is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A user name and a password (CodeCommit's Git credentials, Keyspaces').
    Password,
    /// An API key: a public alias and a secret, which may expire.
    ApiKey,
}

/// The services IAM issues service-specific credentials for.
const SERVICES: &[(&str, Shape)] = &[
    ("codecommit.amazonaws.com", Shape::Password),
    ("cassandra.amazonaws.com", Shape::Password),
    ("bedrock.amazonaws.com", Shape::ApiKey),
    ("logs.amazonaws.com", Shape::ApiKey),
];

fn shape(service: &str) -> Result<Shape, AwsError> {
    SERVICES.iter().find(|(name, _)| *name == service).map(|(_, shape)| *shape).ok_or_else(|| {
        AwsError::new(
            "NotSupportedService",
            404,
            format!("No such service {service} is supported for Service-Specific Credentials"),
        )
    })
}

fn no_such_credential(id: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("No such credential {id} exists"))
}

/// The status a caller sees: `Expired` once an API key's expiry has passed.
fn status(credential: &ServiceCredential, now: i64) -> &'static str {
    match credential.expires_at {
        Some(at) if at <= now => "Expired",
        _ => credential.status.as_str(),
    }
}

/// The members every answer about a credential holds; `secret` only when just issued.
fn write(xml: &mut XmlResponse, user: &str, credential: &ServiceCredential, secret: Option<&str>) {
    let shape = shape(&credential.service).unwrap_or(Shape::Password);
    xml.element("CreateDate", &ids::iso8601(credential.created_at));
    if let Some(at) = credential.expires_at {
        xml.element("ExpirationDate", &ids::iso8601(at));
    }
    xml.element("ServiceName", &credential.service);
    match shape {
        Shape::Password => {
            xml.element("ServiceUserName", &credential.service_user_name);
            if let Some(secret) = secret {
                xml.element("ServicePassword", secret);
            }
        }
        Shape::ApiKey => {
            xml.element("ServiceCredentialAlias", &credential.service_user_name);
            if let Some(secret) = secret {
                xml.element("ServiceCredentialSecret", secret);
            }
        }
    }
    xml.element("ServiceSpecificCredentialId", &credential.id)
        .element("UserName", user)
        .element("Status", status(credential, ids::now()));
}

operation!(
    iam,
    CREATE_SERVICE_SPECIFIC_CREDENTIAL,
    "CreateServiceSpecificCredential",
    Write,
    |ctx| Box::pin(user_resource(ctx, false)),
    |ctx| query(create_service_specific_credential(ctx))
);

async fn create_service_specific_credential(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateServiceSpecificCredentialRequest { service_name: service, credential_age_days: age_days, .. } =
        ctx.input();
    let shape = shape(service)?;
    // A value that is not a number passes the model's validator and is dropped by the typed
    // input: it is refused, not ignored.
    if let (None, Some(text)) = (age_days, ctx.params.get("CredentialAgeDays")) {
        return Err(validation(format!("Invalid value '{text}' for CredentialAgeDays")));
    }
    if age_days.is_some() && shape == Shape::Password {
        return Err(validation("CredentialAgeDays is only valid for Bedrock and CloudWatch Logs API keys."));
    }
    let user = user_subject(ctx).await?;
    let now = ids::now();
    let credential = ServiceCredential {
        id: ids::unique_id("ACCA").map_err(internal)?,
        user_key: user.to_lowercase(),
        service: service.to_owned(),
        service_user_name: format!("{user}-at-{}", ctx.account()),
        status: KeyStatus::Active,
        created_at: now,
        expires_at: age_days.map(|days| now.saturating_add(days.saturating_mul(86_400))),
    };
    let secret = ids::secret_access_key().map_err(internal)?;
    let hash = passwords::hash_blocking(secret.clone()).await.map_err(internal)?;
    if !model::create(&ctx.app.store, ctx.account(), &credential, &hash).await? {
        return Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {PER_SERVICE}"),
        ));
    }
    let mut xml = ctx.response();
    xml.nest("ServiceSpecificCredential", |xml| write(xml, &user, &credential, Some(&secret)));
    Ok(xml)
}

operation!(
    iam,
    LIST_SERVICE_SPECIFIC_CREDENTIALS,
    "ListServiceSpecificCredentials",
    Read,
    |ctx| Box::pin(list_resource(ctx)),
    |ctx| query(list_service_specific_credentials(ctx))
);

/// With `AllUsers`, every user of the account; else the named user or the caller.
async fn list_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let ListServiceSpecificCredentialsRequest { all_users, .. } = ctx.input();
    if all_users == Some(true) {
        return Ok(vec![format!("arn:aws:iam::{}:user/*", ctx.account())]);
    }
    user_resource(ctx, true).await
}

async fn list_service_specific_credentials(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let ListServiceSpecificCredentialsRequest { user_name, service_name: service, all_users, .. } = ctx.input();
    if let Some(service) = service {
        shape(service)?;
    }
    let all_users = all_users == Some(true);
    if all_users && user_name.is_some() {
        return Err(validation("AllUsers cannot be specified together with UserName."));
    }
    let user = if all_users { None } else { Some(user_subject(ctx).await?) };
    let store = &ctx.app.store;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    let credentials: Vec<ServiceCredential> = model::list(store, ctx.account(), user_key.as_deref(), service)
        .await?
        .into_iter()
        .filter(|credential| credential.id.as_str() > page.after.as_str())
        .collect();
    let (shown, next) = page.cut(&credentials, |credential| credential.id.clone());
    // Every user's credentials name their users as stored.
    let mut names = Vec::with_capacity(shown.len());
    for credential in shown {
        let name = match &user {
            Some(name) => name.clone(),
            None => super::users::find_user(ctx, &credential.user_key)
                .await?
                .map(|found| found.name)
                .unwrap_or_else(|| credential.user_key.clone()),
        };
        names.push(name);
    }
    let now = ids::now();
    let mut xml = ctx.response();
    xml.nest("ServiceSpecificCredentials", |xml| {
        for (credential, name) in shown.iter().zip(&names) {
            xml.nest("member", |xml| {
                let api_key = matches!(shape(&credential.service), Ok(Shape::ApiKey));
                xml.element("UserName", name).element("Status", status(credential, now));
                xml.element(
                    if api_key { "ServiceCredentialAlias" } else { "ServiceUserName" },
                    &credential.service_user_name,
                );
                xml.element("CreateDate", &ids::iso8601(credential.created_at));
                if let Some(at) = credential.expires_at {
                    xml.element("ExpirationDate", &ids::iso8601(at));
                }
                xml.element("ServiceSpecificCredentialId", &credential.id).element("ServiceName", &credential.service);
            });
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(
    iam,
    RESET_SERVICE_SPECIFIC_CREDENTIAL,
    "ResetServiceSpecificCredential",
    Write,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(reset_service_specific_credential(ctx))
);

async fn reset_service_specific_credential(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ResetServiceSpecificCredentialRequest { service_specific_credential_id: id, .. } = ctx.input();
    let user = user_subject(ctx).await?;
    let key = user.to_lowercase();
    let store = &ctx.app.store;
    let credential = model::find(store, ctx.account(), &key, id).await?.ok_or_else(|| no_such_credential(id))?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let hash = passwords::hash_blocking(secret.clone()).await.map_err(internal)?;
    if !model::reset(store, ctx.account(), &key, id, &hash).await? {
        return Err(no_such_credential(id));
    }
    let mut xml = ctx.response();
    xml.nest("ServiceSpecificCredential", |xml| write(xml, &user, &credential, Some(&secret)));
    Ok(xml)
}

operation!(
    iam,
    UPDATE_SERVICE_SPECIFIC_CREDENTIAL,
    "UpdateServiceSpecificCredential",
    Write,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(update_service_specific_credential(ctx))
);

async fn update_service_specific_credential(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateServiceSpecificCredentialRequest { service_specific_credential_id: id, status, .. } = ctx.input();
    let status = parse_status(status)?;
    let user = user_subject(ctx).await?;
    if !model::set_status(&ctx.app.store, ctx.account(), &user.to_lowercase(), id, status).await? {
        return Err(no_such_credential(id));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    DELETE_SERVICE_SPECIFIC_CREDENTIAL,
    "DeleteServiceSpecificCredential",
    Write,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(delete_service_specific_credential(ctx))
);

async fn delete_service_specific_credential(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteServiceSpecificCredentialRequest { service_specific_credential_id: id, .. } = ctx.input();
    let user = user_subject(ctx).await?;
    if !model::delete(&ctx.app.store, ctx.account(), &user.to_lowercase(), id).await? {
        return Err(no_such_credential(id));
    }
    Ok(ctx.response())
}
