//! X.509 signing certificates of users (and of the root user, without `UserName`):
//! UploadSigningCertificate, ListSigningCertificates, UpdateSigningCertificate,
//! DeleteSigningCertificate. A certificate must be one PEM `CERTIFICATE` that parses and has
//! not expired; one certificate belongs to one owner of the account at most.

use aws_model::iam::{
    DeleteSigningCertificateRequest, UpdateSigningCertificateRequest, UploadSigningCertificateRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use sha2::Digest;

use super::access_keys::{parse_status, subject};
use super::key_material;
use super::model::access_keys::KeyStatus;
use super::model::signing_certificates::{self as model, PER_USER, SigningCertificate, Uploaded};
use super::users::user_resource;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query};

fn no_such_certificate(id: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The Certificate with id {id} cannot be found."))
}

/// IAM's refusal of a certificate that does not parse.
pub(crate) fn malformed_certificate() -> AwsError {
    AwsError::new(
        "MalformedCertificate",
        400,
        "Unable to parse certificate. Please ensure the certificate is in PEM format.",
    )
}

/// IAM's refusal of a certificate past its `notAfter`.
pub(crate) fn expired_certificate() -> AwsError {
    AwsError::new(
        "MalformedCertificate",
        400,
        "Certificate is no longer valid. The 'Not After' date restriction on the certificate has passed.",
    )
}

fn write(xml: &mut XmlResponse, user: Option<&str>, certificate: &SigningCertificate) {
    if let Some(user) = user {
        xml.element("UserName", user);
    }
    xml.element("CertificateId", &certificate.id)
        .element("CertificateBody", &certificate.body)
        .element("Status", certificate.status.as_str())
        .element("UploadDate", &ids::iso8601(certificate.uploaded_at));
}

operation!(
    iam,
    UPLOAD_SIGNING_CERTIFICATE,
    "UploadSigningCertificate",
    Write,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(upload_signing_certificate(ctx))
);

async fn upload_signing_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UploadSigningCertificateRequest { certificate_body: body, .. } = ctx.input();
    let user = subject(ctx).await?;
    let parsed = key_material::certificate(body).ok_or_else(malformed_certificate)?;
    let now = ids::now();
    if parsed.not_after <= now {
        return Err(expired_certificate());
    }
    let certificate = SigningCertificate {
        id: ids::certificate_id().map_err(internal)?,
        user_key: user.as_ref().map(|name| name.to_lowercase()),
        body: body.to_owned(),
        digest: aws_protocol::sigv4::hex(&sha2::Sha256::digest(&parsed.der)),
        status: KeyStatus::Active,
        uploaded_at: now,
    };
    match model::upload(&ctx.app.store, ctx.account(), &certificate).await? {
        Uploaded::New => {}
        Uploaded::Duplicate => {
            return Err(AwsError::new(
                "DuplicateCertificate",
                409,
                "The request was rejected because the same certificate is associated with an IAM user in the account.",
            ));
        }
        Uploaded::OverQuota => {
            return Err(AwsError::new(
                "LimitExceeded",
                409,
                format!("Cannot exceed quota for SigningCertificatesPerUser: {PER_USER}"),
            ));
        }
    }
    let mut xml = ctx.response();
    xml.nest("Certificate", |xml| write(xml, user.as_deref(), &certificate));
    Ok(xml)
}

operation!(
    iam,
    LIST_SIGNING_CERTIFICATES,
    "ListSigningCertificates",
    Read,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(list_signing_certificates(ctx))
);

async fn list_signing_certificates(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let user = subject(ctx).await?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    let certificates: Vec<SigningCertificate> = model::of_owner(&ctx.app.store, ctx.account(), user_key.as_deref())
        .await?
        .into_iter()
        .filter(|certificate| certificate.id.as_str() > page.after.as_str())
        .collect();
    let (shown, next) = page.cut(&certificates, |certificate| certificate.id.clone());
    let mut xml = ctx.response();
    xml.nest("Certificates", |xml| {
        for certificate in shown {
            xml.nest("member", |xml| write(xml, user.as_deref(), certificate));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(
    iam,
    UPDATE_SIGNING_CERTIFICATE,
    "UpdateSigningCertificate",
    Write,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(update_signing_certificate(ctx))
);

async fn update_signing_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateSigningCertificateRequest { certificate_id: id, status, .. } = ctx.input();
    let status = parse_status(status)?;
    let user = subject(ctx).await?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    if !model::set_status(&ctx.app.store, ctx.account(), user_key.as_deref(), id, status).await? {
        return Err(no_such_certificate(id));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    DELETE_SIGNING_CERTIFICATE,
    "DeleteSigningCertificate",
    Write,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(delete_signing_certificate(ctx))
);

async fn delete_signing_certificate(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteSigningCertificateRequest { certificate_id: id, .. } = ctx.input();
    let user = subject(ctx).await?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    if !model::delete(&ctx.app.store, ctx.account(), user_key.as_deref(), id).await? {
        return Err(no_such_certificate(id));
    }
    Ok(ctx.response())
}
