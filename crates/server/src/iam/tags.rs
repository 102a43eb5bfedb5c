//! Tag/Untag/List{User,Role,Policy,InstanceProfile,MFADevice,ServerCertificate,OpenIDConnectProvider,SAMLProvider}Tags. The tags and their quota are
//! [`super::model::tags`]; the request's `Tags` list is [`super::tag_list`]. Each operation
//! hands its typed input's `Tags` or `TagKeys` (`aws_model::iam::Tag*Request`) to the shared
//! handler; the pipeline has checked their sizes and characters.

use aws_model::iam::{
    TagInstanceProfileRequest, TagMFADeviceRequest, TagOpenIDConnectProviderRequest, TagPolicyRequest, TagRoleRequest,
    TagSAMLProviderRequest, TagServerCertificateRequest, TagUserRequest, UntagInstanceProfileRequest,
    UntagMFADeviceRequest, UntagOpenIDConnectProviderRequest, UntagPolicyRequest, UntagRoleRequest,
    UntagSAMLProviderRequest, UntagServerCertificateRequest, UntagUserRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::{QueryParams, XmlResponse};

use super::entities::{Kind, existing, resource};
use super::mfa_devices::{device_resource, existing_device};
use super::model::tags::{self as model, PER_RESOURCE, Tag, Tagged};
use super::oidc_providers::{existing_provider, provider_resource};
use super::policies::{existing_policy, policy_resource};
use super::saml_providers::{existing_saml_provider, saml_provider_resource};
use super::server_certificates::{certificate_resource, existing as existing_certificate};
use super::tag_list::{from_members, write_members};
use crate::operations::operation;
use crate::operations::{Ctx, Page, query};

fn quota(tagged: Tagged) -> &'static str {
    match tagged {
        Tagged::Entity(Kind::User) => "TagsPerUser",
        Tagged::Entity(Kind::Role) => "TagsPerRole",
        Tagged::Entity(Kind::Group) => "TagsPerGroup",
        Tagged::Entity(Kind::InstanceProfile) => "TagsPerInstanceProfile",
        Tagged::Policy => "TagsPerPolicy",
        Tagged::MfaDevice => "TagsPerMFADevice",
        Tagged::ServerCertificate => "TagsPerServerCertificate",
        Tagged::OidcProvider => "TagsPerOpenIdConnectProvider",
        Tagged::SamlProvider => "TagsPerSAMLProvider",
    }
}

/// The key a request's tagged resource is stored under: an entity's lowercase name or a
/// policy's ARN (after checking it exists).
async fn target(ctx: &Ctx<'_>, tagged: Tagged) -> Result<String, AwsError> {
    match tagged {
        Tagged::Entity(kind) => Ok(existing(ctx, kind).await?.name.to_lowercase()),
        Tagged::Policy => Ok(existing_policy(ctx).await?.arn),
        Tagged::MfaDevice => Ok(existing_device(ctx).await?.key()),
        Tagged::ServerCertificate => Ok(existing_certificate(ctx).await?.key()),
        Tagged::OidcProvider => Ok(existing_provider(ctx).await?.arn),
        Tagged::SamlProvider => Ok(existing_saml_provider(ctx).await?.arn),
    }
}

async fn tag(ctx: &Ctx<'_>, tagged: Tagged, tags: Vec<QueryParams>) -> Result<XmlResponse, AwsError> {
    let tags = from_members(&tags)?;
    let key = target(ctx, tagged).await?;
    if !model::tag(&ctx.app.store, ctx.account(), tagged, &key, &tags).await? {
        return Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for {}: {PER_RESOURCE}", quota(tagged)),
        ));
    }
    Ok(ctx.response())
}

async fn untag(ctx: &Ctx<'_>, tagged: Tagged, tag_keys: Vec<&str>) -> Result<XmlResponse, AwsError> {
    let key = target(ctx, tagged).await?;
    model::untag(&ctx.app.store, ctx.account(), tagged, &key, &tag_keys).await?;
    Ok(ctx.response())
}

async fn list(ctx: &Ctx<'_>, tagged: Tagged) -> Result<XmlResponse, AwsError> {
    let key = target(ctx, tagged).await?;
    let page = Page::from_params(ctx)?;
    let tags: Vec<Tag> = model::load(&ctx.app.store, ctx.account(), tagged, &key)
        .await?
        .into_iter()
        .filter(|tag| tag.key.to_lowercase() > page.after)
        .collect();
    let (shown, next) = page.cut(&tags, |tag| tag.key.to_lowercase());
    let mut xml = ctx.response();
    xml.nest("Tags", |xml| write_members(xml, shown));
    page.finish(&mut xml, next);
    Ok(xml)
}

const USER: Tagged = Tagged::Entity(Kind::User);
const ROLE: Tagged = Tagged::Entity(Kind::Role);
const INSTANCE_PROFILE: Tagged = Tagged::Entity(Kind::InstanceProfile);

operation!(iam, TAG_USER, "TagUser", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(tag(
    ctx,
    USER,
    ctx.input::<TagUserRequest>().tags
)));
operation!(iam, UNTAG_USER, "UntagUser", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(untag(
    ctx,
    USER,
    ctx.input::<UntagUserRequest>().tag_keys
)));
operation!(iam, LIST_USER_TAGS, "ListUserTags", Read, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(list(
    ctx, USER
)));
operation!(iam, TAG_ROLE, "TagRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(tag(
    ctx,
    ROLE,
    ctx.input::<TagRoleRequest>().tags
)));
operation!(iam, UNTAG_ROLE, "UntagRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(untag(
    ctx,
    ROLE,
    ctx.input::<UntagRoleRequest>().tag_keys
)));
operation!(iam, LIST_ROLE_TAGS, "ListRoleTags", Read, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(list(
    ctx, ROLE
)));
operation!(iam, TAG_POLICY, "TagPolicy", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(tag(
    ctx,
    Tagged::Policy,
    ctx.input::<TagPolicyRequest>().tags
)));
operation!(iam, UNTAG_POLICY, "UntagPolicy", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(untag(
    ctx,
    Tagged::Policy,
    ctx.input::<UntagPolicyRequest>().tag_keys
)));
operation!(iam, LIST_POLICY_TAGS, "ListPolicyTags", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(list(
    ctx,
    Tagged::Policy
)));
operation!(
    iam,
    TAG_INSTANCE_PROFILE,
    "TagInstanceProfile",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(tag(ctx, INSTANCE_PROFILE, ctx.input::<TagInstanceProfileRequest>().tags))
);
operation!(
    iam,
    UNTAG_INSTANCE_PROFILE,
    "UntagInstanceProfile",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(untag(ctx, INSTANCE_PROFILE, ctx.input::<UntagInstanceProfileRequest>().tag_keys))
);
operation!(
    iam,
    LIST_INSTANCE_PROFILE_TAGS,
    "ListInstanceProfileTags",
    Read,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(list(ctx, INSTANCE_PROFILE))
);
operation!(iam, TAG_MFA_DEVICE, "TagMFADevice", IamWrite, |ctx| Box::pin(device_resource(ctx)), |ctx| query(tag(
    ctx,
    Tagged::MfaDevice,
    ctx.input::<TagMFADeviceRequest>().tags
)));
operation!(iam, UNTAG_MFA_DEVICE, "UntagMFADevice", IamWrite, |ctx| Box::pin(device_resource(ctx)), |ctx| query(
    untag(ctx, Tagged::MfaDevice, ctx.input::<UntagMFADeviceRequest>().tag_keys)
));
operation!(iam, LIST_MFA_DEVICE_TAGS, "ListMFADeviceTags", Read, |ctx| Box::pin(device_resource(ctx)), |ctx| query(
    list(ctx, Tagged::MfaDevice)
));
operation!(
    iam,
    TAG_SERVER_CERTIFICATE,
    "TagServerCertificate",
    Write,
    |ctx| Box::pin(certificate_resource(ctx)),
    |ctx| query(tag(ctx, Tagged::ServerCertificate, ctx.input::<TagServerCertificateRequest>().tags))
);
operation!(
    iam,
    UNTAG_SERVER_CERTIFICATE,
    "UntagServerCertificate",
    Write,
    |ctx| Box::pin(certificate_resource(ctx)),
    |ctx| query(untag(ctx, Tagged::ServerCertificate, ctx.input::<UntagServerCertificateRequest>().tag_keys))
);
operation!(
    iam,
    LIST_SERVER_CERTIFICATE_TAGS,
    "ListServerCertificateTags",
    Read,
    |ctx| Box::pin(certificate_resource(ctx)),
    |ctx| query(list(ctx, Tagged::ServerCertificate))
);
operation!(
    iam,
    TAG_OPEN_ID_CONNECT_PROVIDER,
    "TagOpenIDConnectProvider",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(tag(ctx, Tagged::OidcProvider, ctx.input::<TagOpenIDConnectProviderRequest>().tags))
);
operation!(
    iam,
    UNTAG_OPEN_ID_CONNECT_PROVIDER,
    "UntagOpenIDConnectProvider",
    IamWrite,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(untag(ctx, Tagged::OidcProvider, ctx.input::<UntagOpenIDConnectProviderRequest>().tag_keys))
);
operation!(
    iam,
    LIST_OPEN_ID_CONNECT_PROVIDER_TAGS,
    "ListOpenIDConnectProviderTags",
    Read,
    |ctx| Box::pin(provider_resource(ctx)),
    |ctx| query(list(ctx, Tagged::OidcProvider))
);
operation!(iam, TAG_SAML_PROVIDER, "TagSAMLProvider", IamWrite, |ctx| Box::pin(saml_provider_resource(ctx)), |ctx| {
    query(tag(ctx, Tagged::SamlProvider, ctx.input::<TagSAMLProviderRequest>().tags))
});
operation!(
    iam,
    UNTAG_SAML_PROVIDER,
    "UntagSAMLProvider",
    IamWrite,
    |ctx| Box::pin(saml_provider_resource(ctx)),
    |ctx| query(untag(ctx, Tagged::SamlProvider, ctx.input::<UntagSAMLProviderRequest>().tag_keys))
);
operation!(
    iam,
    LIST_SAML_PROVIDER_TAGS,
    "ListSAMLProviderTags",
    Read,
    |ctx| Box::pin(saml_provider_resource(ctx)),
    |ctx| query(list(ctx, Tagged::SamlProvider))
);
