//! SAML identity providers: Create/Get/List/Update/DeleteSAMLProvider (their tags are in
//! [`super::tags`]). What they store is [`super::model::saml_providers`]; the metadata
//! document is checked by [`super::saml_metadata`].
//!
//! A provider is named by its ARN exactly (`saml-provider/NAME`). Homeport does not decrypt
//! SAML assertions (nor answer AssumeRoleWithSAML), so the members for encrypted assertions
//! (`AssertionEncryptionMode`, `AddPrivateKey`, `RemovePrivateKey`) are refused, never
//! dropped. A document without `validUntil` is valid for a hundred years from its upload.

use aws_model::iam::{CreateSAMLProviderRequest, DeleteSAMLProviderRequest, UpdateSAMLProviderRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::oidc_providers::Creation;
use super::model::saml_providers::{self as model, SamlProvider};
use super::model::tags::{self, Tagged};
use super::saml_metadata;
use super::tag_list;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

/// The parameter every operation but Create and List names its provider by.
const ARN: &str = "SAMLProviderArn";
/// How long a document without `validUntil` is valid (IAM's hundred years).
const DEFAULT_VALIDITY_SECONDS: i64 = 100 * 365 * 86_400;

fn not_found(arn: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("SAMLProvider not found for arn {arn}"))
}

/// The provider the request names, as stored, or NoSuchEntity.
pub(crate) async fn existing_saml_provider(ctx: &Ctx<'_>) -> Result<SamlProvider, AwsError> {
    let arn = ctx.required(ARN)?;
    model::find(&ctx.app.store, ctx.account(), arn).await?.ok_or_else(|| not_found(arn))
}

/// The ARN a request is authorized on: the one it names, or the one Create will make.
pub(crate) async fn saml_provider_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    if ctx.operation.name == "CreateSAMLProvider" {
        return Ok(vec![format!("arn:aws:iam::{}:saml-provider/{}", ctx.account(), ctx.required("Name")?)]);
    }
    Ok(vec![ctx.required(ARN)?.to_owned()])
}

/// Refuses the members for encrypted assertions, which Homeport cannot honour: each is its
/// name and what the request's typed input holds.
fn refuse_encryption(members: &[(&str, Option<&str>)]) -> Result<(), AwsError> {
    for (member, sent) in members {
        if sent.is_some() {
            return Err(AwsError::new(
                "InvalidInput",
                400,
                format!("{member} is not supported: Homeport does not decrypt SAML assertions."),
            ));
        }
    }
    Ok(())
}

/// The document's expiry, or IAM's refusal of a document without the structure it needs.
fn checked_metadata(document: &str, now: i64) -> Result<i64, AwsError> {
    let metadata = saml_metadata::check(document)
        .map_err(|refused| AwsError::new("InvalidInput", 400, format!("Could not parse metadata: {}", refused.0)))?;
    Ok(metadata.valid_until.unwrap_or(now + DEFAULT_VALIDITY_SECONDS))
}

operation!(
    iam,
    CREATE_SAML_PROVIDER,
    "CreateSAMLProvider",
    IamWrite,
    |ctx| Box::pin(saml_provider_resource(ctx)),
    |ctx| query(create(ctx))
);

async fn create(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateSAMLProviderRequest {
        saml_metadata_document: document,
        name,
        tags,
        assertion_encryption_mode,
        add_private_key,
    } = ctx.input();
    refuse_encryption(&[("AssertionEncryptionMode", assertion_encryption_mode), ("AddPrivateKey", add_private_key)])?;
    let tags = tag_list::from_members(&tags)?;
    let now = ids::now();
    let provider = SamlProvider {
        arn: format!("arn:aws:iam::{}:saml-provider/{name}", ctx.account()),
        uuid: ids::saml_provider_uuid().map_err(internal)?,
        metadata: document.to_owned(),
        valid_until: checked_metadata(document, now)?,
        created_at: now,
    };
    match model::create(&ctx.app.store, ctx.account(), &provider, &tags).await? {
        Creation::Made => {}
        Creation::AlreadyExists => {
            return Err(AwsError::new("EntityAlreadyExists", 409, format!("SAMLProvider {name} already exists.")));
        }
        Creation::QuotaReached => {
            return Err(AwsError::new(
                "LimitExceeded",
                409,
                format!("Cannot exceed quota for SAMLProvidersPerAccount: {}", model::PER_ACCOUNT),
            ));
        }
    }
    let mut xml = ctx.response();
    xml.element("SAMLProviderArn", &provider.arn);
    tag_list::write(&mut xml, &tags);
    Ok(xml)
}

operation!(iam, GET_SAML_PROVIDER, "GetSAMLProvider", Read, |ctx| Box::pin(saml_provider_resource(ctx)), |ctx| query(
    get(ctx)
));

async fn get(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let provider = existing_saml_provider(ctx).await?;
    let tags = tags::load(&ctx.app.store, ctx.account(), Tagged::SamlProvider, &provider.arn).await?;
    let mut xml = ctx.response();
    xml.element("SAMLProviderUUID", &provider.uuid)
        .element("SAMLMetadataDocument", &provider.metadata)
        .element("CreateDate", &ids::iso8601(provider.created_at))
        .element("ValidUntil", &ids::iso8601(provider.valid_until));
    tag_list::write(&mut xml, &tags);
    Ok(xml)
}

operation!(
    iam,
    LIST_SAML_PROVIDERS,
    "ListSAMLProviders",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(list(ctx))
);

async fn list(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let providers = model::list(&ctx.app.store, ctx.account()).await?;
    let mut xml = ctx.response();
    xml.nest("SAMLProviderList", |xml| {
        for (arn, valid_until, created_at) in &providers {
            xml.nest("member", |xml| {
                xml.element("Arn", arn)
                    .element("ValidUntil", &ids::iso8601(*valid_until))
                    .element("CreateDate", &ids::iso8601(*created_at));
            });
        }
    });
    Ok(xml)
}

operation!(
    iam,
    UPDATE_SAML_PROVIDER,
    "UpdateSAMLProvider",
    IamWrite,
    |ctx| Box::pin(saml_provider_resource(ctx)),
    |ctx| query(update(ctx))
);

async fn update(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateSAMLProviderRequest {
        saml_metadata_document,
        saml_provider_arn: arn,
        assertion_encryption_mode,
        add_private_key,
        remove_private_key,
    } = ctx.input();
    refuse_encryption(&[
        ("AssertionEncryptionMode", assertion_encryption_mode),
        ("AddPrivateKey", add_private_key),
        ("RemovePrivateKey", remove_private_key),
    ])?;
    let provider = existing_saml_provider(ctx).await?;
    if let Some(document) = saml_metadata_document {
        let valid_until = checked_metadata(document, ids::now())?;
        if !model::update_metadata(&ctx.app.store, ctx.account(), &provider.arn, document, valid_until).await? {
            return Err(not_found(arn));
        }
    }
    let mut xml = ctx.response();
    xml.element("SAMLProviderArn", &provider.arn);
    Ok(xml)
}

operation!(
    iam,
    DELETE_SAML_PROVIDER,
    "DeleteSAMLProvider",
    IamWrite,
    |ctx| Box::pin(saml_provider_resource(ctx)),
    |ctx| query(delete(ctx))
);

async fn delete(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteSAMLProviderRequest { saml_provider_arn: arn } = ctx.input();
    if !model::delete(&ctx.app.store, ctx.account(), arn).await? {
        return Err(not_found(arn));
    }
    Ok(ctx.response())
}
