//! OpenID Connect identity providers: Create/Get/List/DeleteOpenIDConnectProvider,
//! Add/RemoveClientIDTo/FromOpenIDConnectProvider and UpdateOpenIDConnectProviderThumbprint
//! (their tags are in [`super::tags`]). What they store is [`super::model::oidc_providers`];
//! STS's AssumeRoleWithWebIdentity reads it.
//!
//! A provider is named by its ARN exactly (`oidc-provider/HOST/PATH`, case-sensitive), so the
//! ARN a request names is the one authorized. Adding a client id twice, removing one that is
//! not there and deleting a provider that does not exist succeed, as IAM documents. When no
//! `ThumbprintList` is given, none is kept: the issuer's certificate must then chain to the
//! system's roots (IAM would fetch the top intermediate CA's thumbprint at creation).

use aws_model::iam::{
    AddClientIDToOpenIDConnectProviderRequest, CreateOpenIDConnectProviderRequest, DeleteOpenIDConnectProviderRequest,
    RemoveClientIDFromOpenIDConnectProviderRequest, UpdateOpenIDConnectProviderThumbprintRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::oidc_providers::{self as model, CLIENT_IDS, Creation, List, OidcProvider, THUMBPRINTS};
use super::model::tags::{self, Tagged};
use super::tag_list;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, query};

/// The parameter every operation but Create and List names its provider by.
const ARN: &str = "OpenIDConnectProviderArn";

/// How many times a list change is tried again when a concurrent one changed it first.
const ATTEMPTS: usize = 8;

/// The ARN a provider of `url` (without `https://`) has in `account`.
pub(crate) fn provider_arn(account: &str, url: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{url}")
}

/// `HOST/PATH` of an `https://` URL with no query or fragment, as IAM keeps it.
pub(crate) fn provider_url(url: &str) -> Option<&str> {
    let scheme = url.get(..8).filter(|scheme| scheme.eq_ignore_ascii_case("https://"))?;
    let rest = url.get(scheme.len()..)?;
    let host = rest.split('/').next().unwrap_or_default();
    let clean = !rest.contains(['?', '#']) && rest.chars().all(|c| c.is_ascii_graphic());
    (clean && !host.is_empty() && !host.starts_with(':')).then_some(rest)
}

fn invalid_input(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInput", 400, message)
}

fn quota(name: &str, limit: usize) -> AwsError {
    AwsError::new("LimitExceeded", 409, format!("Cannot exceed quota for {name}: {limit}"))
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("OpenIDConnect Provider not found for arn {arn}"))
}

/// A request's client ids: duplicates dropped, within IAM's quota.
fn client_ids(sent: &[&str]) -> Result<Vec<String>, AwsError> {
    let mut ids: Vec<String> = Vec::new();
    for id in sent {
        if !ids.iter().any(|held| held == id) {
            ids.push((*id).to_owned());
        }
    }
    if ids.len() > CLIENT_IDS {
        return Err(quota("ClientIdsPerOpenIdConnectProvider", CLIENT_IDS));
    }
    Ok(ids)
}

/// A request's thumbprints, lowercase: each 40 hexadecimal digits, at most five.
fn thumbprints(sent: &[&str]) -> Result<Vec<String>, AwsError> {
    let mut prints: Vec<String> = Vec::new();
    for print in sent {
        if print.len() != 40 || !print.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid_input(format!("Thumbprint {print} is not a 40-character hexadecimal SHA-1 hash.")));
        }
        let print = print.to_ascii_lowercase();
        if !prints.contains(&print) {
            prints.push(print);
        }
    }
    if prints.len() > THUMBPRINTS {
        return Err(quota("ThumbprintsPerOpenIdConnectProvider", THUMBPRINTS));
    }
    Ok(prints)
}

/// The provider the request names, as stored, or NoSuchEntity.
pub(crate) async fn existing_provider(ctx: &Ctx<'_>) -> Result<OidcProvider, AwsError> {
    let arn = ctx.required(ARN)?;
    model::find(&ctx.app.store, ctx.account(), arn).await?.ok_or_else(|| not_found(arn))
}

/// The ARN a request is authorized on: the one it names, or the one Create will make.
pub(crate) async fn provider_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    if ctx.operation.name == "CreateOpenIDConnectProvider" {
        let url = ctx.required("Url")?;
        let url = provider_url(url).unwrap_or(url);
        return Ok(vec![provider_arn(ctx.account(), url)]);
    }
    Ok(vec![ctx.required(ARN)?.to_owned()])
}

operation!(
    iam,
    CREATE_OPEN_ID_CONNECT_PROVIDER,
    "CreateOpenIDConnectProvider",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(create(ctx))
);

async fn create(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateOpenIDConnectProviderRequest { url, client_id_list, thumbprint_list, tags } = ctx.input();
    let stored_url = provider_url(url).ok_or_else(|| {
        invalid_input(format!(
            "The URL {url} is not valid: it must begin with https:// and contain neither a query nor a fragment."
        ))
    })?;
    let provider = OidcProvider {
        arn: provider_arn(ctx.account(), stored_url),
        url: stored_url.to_owned(),
        client_ids: client_ids(&client_id_list)?,
        thumbprints: thumbprints(&thumbprint_list)?,
        created_at: ids::now(),
    };
    let tags = tag_list::from_members(&tags)?;
    match model::create(&ctx.app.store, ctx.account(), &provider, &tags).await? {
        Creation::Made => {}
        Creation::AlreadyExists => {
            return Err(AwsError::new("EntityAlreadyExists", 409, format!("Provider with url {url} already exists.")));
        }
        Creation::QuotaReached => return Err(quota("OpenIdConnectProvidersPerAccount", model::PER_ACCOUNT)),
    }
    let mut xml = ctx.response();
    xml.element("OpenIDConnectProviderArn", &provider.arn);
    tag_list::write(&mut xml, &tags);
    Ok(xml)
}

operation!(
    iam,
    GET_OPEN_ID_CONNECT_PROVIDER,
    "GetOpenIDConnectProvider",
    Read,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(get(ctx))
);

async fn get(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let provider = existing_provider(ctx).await?;
    let tags = tags::load(&ctx.app.store, ctx.account(), Tagged::OidcProvider, &provider.arn).await?;
    let mut xml = ctx.response();
    xml.element("Url", &provider.url);
    xml.nest("ClientIDList", |xml| {
        for id in &provider.client_ids {
            xml.element("member", id);
        }
    });
    xml.nest("ThumbprintList", |xml| {
        for print in &provider.thumbprints {
            xml.element("member", print);
        }
    });
    xml.element("CreateDate", &ids::iso8601(provider.created_at));
    tag_list::write(&mut xml, &tags);
    Ok(xml)
}

operation!(
    iam,
    LIST_OPEN_ID_CONNECT_PROVIDERS,
    "ListOpenIDConnectProviders",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(list(ctx))
);

async fn list(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let providers = model::list(&ctx.app.store, ctx.account()).await?;
    let mut xml = ctx.response();
    xml.nest("OpenIDConnectProviderList", |xml| {
        for provider in &providers {
            xml.nest("member", |xml| {
                xml.element("Arn", &provider.arn);
            });
        }
    });
    Ok(xml)
}

operation!(
    iam,
    DELETE_OPEN_ID_CONNECT_PROVIDER,
    "DeleteOpenIDConnectProvider",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(delete(ctx))
);

async fn delete(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    // Idempotent, as IAM documents: deleting what is not there succeeds.
    let DeleteOpenIDConnectProviderRequest { open_id_connect_provider_arn: arn } = ctx.input();
    model::delete(&ctx.app.store, ctx.account(), arn).await?;
    Ok(ctx.response())
}

/// Rewrites one list of the named provider with `change`, trying again while concurrent
/// changes win the race; `change` answers `None` when nothing needs writing.
async fn change_list(
    ctx: &Ctx<'_>,
    list: List,
    change: impl Fn(&OidcProvider) -> Result<Option<Vec<String>>, AwsError>,
) -> Result<XmlResponse, AwsError> {
    for _ in 0..ATTEMPTS {
        let provider = existing_provider(ctx).await?;
        let Some(new) = change(&provider)? else { return Ok(ctx.response()) };
        if model::replace_list(&ctx.app.store, ctx.account(), &provider, list, &new).await? {
            return Ok(ctx.response());
        }
    }
    Err(AwsError::new(
        "ConcurrentModification",
        409,
        "The provider was changed by another request while this one ran; retry it.",
    ))
}

operation!(
    iam,
    ADD_CLIENT_ID_TO_OPEN_ID_CONNECT_PROVIDER,
    "AddClientIDToOpenIDConnectProvider",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(add_client_id(ctx))
);

async fn add_client_id(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let AddClientIDToOpenIDConnectProviderRequest { client_id: id, .. } = ctx.input();
    change_list(ctx, List::ClientIds, |provider| {
        if provider.client_ids.iter().any(|held| held == id) {
            return Ok(None);
        }
        if provider.client_ids.len() >= CLIENT_IDS {
            return Err(quota("ClientIdsPerOpenIdConnectProvider", CLIENT_IDS));
        }
        Ok(Some(provider.client_ids.iter().cloned().chain([id.to_owned()]).collect()))
    })
    .await
}

operation!(
    iam,
    REMOVE_CLIENT_ID_FROM_OPEN_ID_CONNECT_PROVIDER,
    "RemoveClientIDFromOpenIDConnectProvider",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(remove_client_id(ctx))
);

async fn remove_client_id(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let RemoveClientIDFromOpenIDConnectProviderRequest { client_id: id, .. } = ctx.input();
    change_list(ctx, List::ClientIds, |provider| {
        Ok(provider
            .client_ids
            .iter()
            .any(|held| held == id)
            .then(|| provider.client_ids.iter().filter(|held| *held != id).cloned().collect()))
    })
    .await
}

operation!(
    iam,
    UPDATE_OPEN_ID_CONNECT_PROVIDER_THUMBPRINT,
    "UpdateOpenIDConnectProviderThumbprint",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(update_thumbprints(ctx))
);

async fn update_thumbprints(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    // Required: the pipeline has checked it was sent (botocore sends an empty one as
    // `ThumbprintList=` alone).
    let UpdateOpenIDConnectProviderThumbprintRequest { thumbprint_list, .. } = ctx.input();
    let prints = thumbprints(&thumbprint_list)?;
    change_list(ctx, List::Thumbprints, |_| Ok(Some(prints.clone()))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_url_is_https_without_query_or_fragment() {
        assert_eq!(
            provider_url("https://token.actions.githubusercontent.com"),
            Some("token.actions.githubusercontent.com")
        );
        assert_eq!(provider_url("HTTPS://example.com/tenant/v2.0"), Some("example.com/tenant/v2.0"));
        assert_eq!(provider_url("https://127.0.0.1:8443/issuer"), Some("127.0.0.1:8443/issuer"));
        for bad in
            ["http://example.com", "https://", "https:///path", "https://a.example?x=1", "https://a#b", "https://a b"]
        {
            assert_eq!(provider_url(bad), None, "{bad}");
        }
    }
}
