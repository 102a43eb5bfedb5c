//! Server certificates: UploadServerCertificate, GetServerCertificate, ListServerCertificates,
//! UpdateServerCertificate (rename and move), DeleteServerCertificate (their tags are
//! [`super::tags`]' operations).
//!
//! Guarantees: a certificate is stored only when it parses, has not expired, and its private
//! key is its own; the private key is sealed with the master key before it reaches the store
//! and is never answered; every operation on an existing certificate is authorized on its
//! stored ARN (its name as stored, its path), whatever the request's spelling.

use aws_model::iam::{ListServerCertificatesRequest, UpdateServerCertificateRequest, UploadServerCertificateRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::key_material;
use super::model::server_certificates::{self as model, PER_ACCOUNT, ServerCertificate, Uploaded};
use super::model::tags::{self, Tagged};
use super::signing_certificates::{expired_certificate, malformed_certificate};
use super::tag_list;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query};

fn no_such_certificate(name: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The Server Certificate with name {name} cannot be found."))
}

fn arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:server-certificate{path}{name}")
}

/// The certificate a request names with `ServerCertificateName`, as stored.
pub(crate) async fn existing(ctx: &Ctx<'_>) -> Result<ServerCertificate, AwsError> {
    let name = ctx.required("ServerCertificateName")?;
    model::find(&ctx.app.store, ctx.account(), name).await?.ok_or_else(|| no_such_certificate(name))
}

/// The ARN a request naming a certificate is authorized on: an existing one's own, else the
/// name as spelled under `Path` (or `/`).
pub(crate) async fn certificate_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let name = ctx.required("ServerCertificateName")?;
    Ok(vec![match model::find(&ctx.app.store, ctx.account(), name).await? {
        Some(found) => arn(ctx.account(), &found.path, &found.name),
        None => arn(ctx.account(), ctx.params.get("Path").unwrap_or("/"), name),
    }])
}

fn write_metadata(xml: &mut XmlResponse, account: &str, certificate: &ServerCertificate) {
    xml.element("Path", &certificate.path)
        .element("ServerCertificateName", &certificate.name)
        .element("ServerCertificateId", &certificate.id)
        .element("Arn", &arn(account, &certificate.path, &certificate.name))
        .element("UploadDate", &ids::iso8601(certificate.uploaded_at))
        .element("Expiration", &ids::iso8601(certificate.expires_at));
}

operation!(
    iam,
    UPLOAD_SERVER_CERTIFICATE,
    "UploadServerCertificate",
    Write,
    |ctx| Box::pin(certificate_resource(ctx)),
    |ctx| query(upload_server_certificate(ctx))
);

async fn upload_server_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UploadServerCertificateRequest {
        path,
        server_certificate_name: name,
        certificate_body: body,
        private_key,
        certificate_chain: chain,
        tags,
    } = ctx.input();
    let tags = tag_list::from_members(&tags)?;
    let parsed = key_material::certificate(body).ok_or_else(malformed_certificate)?;
    let now = ids::now();
    if parsed.not_after <= now {
        return Err(expired_certificate());
    }
    if chain.is_some_and(|chain| key_material::certificates(chain).is_none()) {
        return Err(AwsError::new(
            "MalformedCertificate",
            400,
            "Unable to parse certificate chain. Please ensure the certificate chain is in PEM format.",
        ));
    }
    let public_key = key_material::private_key_public_part(private_key).ok_or_else(|| {
        AwsError::new(
            "MalformedCertificate",
            400,
            "Unable to parse private key. Please ensure the private key is in PEM format.",
        )
    })?;
    if public_key != parsed.public_key {
        return Err(AwsError::new("KeyPairMismatch", 400, "Public key certificate and private key doesn't match"));
    }
    let certificate = ServerCertificate {
        name: name.to_owned(),
        id: ids::unique_id("ASCA").map_err(internal)?,
        path: path.unwrap_or("/").to_owned(),
        body: body.to_owned(),
        chain: chain.map(str::to_owned),
        uploaded_at: now,
        expires_at: parsed.not_after,
    };
    let sealed = ctx
        .app
        .sealer
        .seal(private_key.as_bytes(), &format!("server-certificate:{}", certificate.id))
        .map_err(internal)?;
    match model::upload(&ctx.app.store, ctx.account(), &certificate, sealed, &tags).await? {
        Uploaded::New => {}
        Uploaded::NameTaken => {
            return Err(AwsError::new(
                "EntityAlreadyExists",
                409,
                format!("The Server Certificate with name {name} already exists."),
            ));
        }
        Uploaded::OverQuota => {
            return Err(AwsError::new(
                "LimitExceeded",
                409,
                format!("Cannot exceed quota for ServerCertificatesPerAccount: {PER_ACCOUNT}"),
            ));
        }
    }
    let mut xml = ctx.response();
    xml.nest("ServerCertificateMetadata", |xml| write_metadata(xml, ctx.account(), &certificate));
    tag_list::write(&mut xml, &tags);
    Ok(xml)
}

operation!(
    iam,
    GET_SERVER_CERTIFICATE,
    "GetServerCertificate",
    Read,
    |ctx| Box::pin(certificate_resource(ctx)),
    |ctx| query(get_server_certificate(ctx))
);

async fn get_server_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let certificate = existing(ctx).await?;
    let tags = tags::load(&ctx.app.store, ctx.account(), Tagged::ServerCertificate, &certificate.key()).await?;
    let mut xml = ctx.response();
    xml.nest("ServerCertificate", |xml| {
        xml.nest("ServerCertificateMetadata", |xml| write_metadata(xml, ctx.account(), &certificate));
        xml.element("CertificateBody", &certificate.body);
        if let Some(chain) = &certificate.chain {
            xml.element("CertificateChain", chain);
        }
        tag_list::write(xml, &tags);
    });
    Ok(xml)
}

operation!(
    iam,
    LIST_SERVER_CERTIFICATES,
    "ListServerCertificates",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:server-certificate/", ctx.account())]) }),
    |ctx| query(list_server_certificates(ctx))
);

async fn list_server_certificates(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ListServerCertificatesRequest { path_prefix, .. } = ctx.input();
    let page = Page::from_params(ctx)?;
    let prefix = path_prefix.unwrap_or("/");
    let limit = page.max_items.saturating_add(1);
    let certificates = model::page(&ctx.app.store, ctx.account(), prefix, &page.after, limit).await?;
    let (shown, next) = page.cut(&certificates, ServerCertificate::key);
    let mut xml = ctx.response();
    xml.nest("ServerCertificateMetadataList", |xml| {
        for certificate in shown {
            xml.nest("member", |xml| write_metadata(xml, ctx.account(), certificate));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(
    iam,
    UPDATE_SERVER_CERTIFICATE,
    "UpdateServerCertificate",
    Write,
    |ctx| Box::pin(update_resources(ctx)),
    |ctx| query(update_server_certificate(ctx))
);

/// Authorized on the certificate as it is and, when renamed or moved, as it will be (as
/// IAM documents for UpdateServerCertificate).
async fn update_resources(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let UpdateServerCertificateRequest { server_certificate_name: name, new_path, new_server_certificate_name } =
        ctx.input();
    let mut resources = certificate_resource(ctx).await?;
    if let Some(found) = model::find(&ctx.app.store, ctx.account(), name).await? {
        let name = new_server_certificate_name.unwrap_or(&found.name);
        let path = new_path.unwrap_or(&found.path);
        let renamed = arn(ctx.account(), path, name);
        if !resources.contains(&renamed) {
            resources.push(renamed);
        }
    }
    Ok(resources)
}

async fn update_server_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateServerCertificateRequest { new_path, new_server_certificate_name, .. } = ctx.input();
    let certificate = existing(ctx).await?;
    let new_name = new_server_certificate_name.unwrap_or(&certificate.name);
    let new_path = new_path.unwrap_or(&certificate.path);
    if !model::rename(&ctx.app.store, ctx.account(), &certificate.key(), new_name, new_path).await? {
        return Err(AwsError::new(
            "EntityAlreadyExists",
            409,
            format!("The Server Certificate with name {new_name} already exists."),
        ));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    DELETE_SERVER_CERTIFICATE,
    "DeleteServerCertificate",
    Write,
    |ctx| Box::pin(certificate_resource(ctx)),
    |ctx| query(delete_server_certificate(ctx))
);

async fn delete_server_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let certificate = existing(ctx).await?;
    if !model::delete(&ctx.app.store, ctx.account(), &certificate.key()).await? {
        return Err(no_such_certificate(&certificate.name));
    }
    Ok(ctx.response())
}
