//! SSH public keys (CodeCommit's): UploadSSHPublicKey, GetSSHPublicKey, ListSSHPublicKeys,
//! UpdateSSHPublicKey, DeleteSSHPublicKey. Keys are RSA, at least 2048 bits, in `ssh-rsa` or
//! PEM form ([`super::key_material`]); the fingerprint is the MD5 of the key's DER
//! SubjectPublicKeyInfo, as EC2 shows an imported key's.

use aws_model::iam::{
    DeleteSSHPublicKeyRequest, GetSSHPublicKeyRequest, UpdateSSHPublicKeyRequest, UploadSSHPublicKeyRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::access_keys::{parse_status, user_subject};
use super::key_material::{SshKeyRefusal, SshPublicKey};
use super::model::access_keys::KeyStatus;
use super::model::ssh_keys::{self as model, PER_USER, SshKey, Uploaded};
use super::users::user_resource;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query};

fn no_such_key(id: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The Public Key with id {id} cannot be found."))
}

fn write_key(xml: &mut XmlResponse, user: &str, key: &SshKey, body: &str) {
    xml.nest("SSHPublicKey", |xml| {
        xml.element("UserName", user)
            .element("SSHPublicKeyId", &key.id)
            .element("Fingerprint", &key.fingerprint)
            .element("SSHPublicKeyBody", body)
            .element("Status", key.status.as_str())
            .element("UploadDate", &ids::iso8601(key.uploaded_at));
    });
}

operation!(iam, UPLOAD_SSH_PUBLIC_KEY, "UploadSSHPublicKey", Write, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(upload_ssh_public_key(ctx))
});

async fn upload_ssh_public_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UploadSSHPublicKeyRequest { ssh_public_key_body: body, .. } = ctx.input();
    let user = user_subject(ctx).await?;
    let parsed = SshPublicKey::parse(body).map_err(|refusal| match refusal {
        SshKeyRefusal::Encoding => AwsError::new(
            "UnrecognizedPublicKeyEncoding",
            400,
            "The public key encoding format is unsupported or unrecognized.",
        ),
        SshKeyRefusal::Invalid => {
            AwsError::new("InvalidPublicKey", 400, "The public key is malformed or otherwise invalid.")
        }
    })?;
    let key = SshKey {
        id: ids::unique_id("APKA").map_err(internal)?,
        blob: parsed.to_blob(),
        fingerprint: parsed.fingerprint(),
        status: KeyStatus::Active,
        uploaded_at: ids::now(),
    };
    match model::upload(&ctx.app.store, ctx.account(), &user.to_lowercase(), &key).await? {
        Uploaded::New => {}
        Uploaded::Duplicate => {
            return Err(AwsError::new(
                "DuplicateSSHPublicKey",
                400,
                "The SSH public key is already associated with the specified IAM user.",
            ));
        }
        Uploaded::OverQuota => {
            return Err(AwsError::new(
                "LimitExceeded",
                409,
                format!("Cannot exceed quota for PublicKeysPerUser: {PER_USER}"),
            ));
        }
    }
    let mut xml = ctx.response();
    write_key(&mut xml, &user, &key, &parsed.to_ssh());
    Ok(xml)
}

operation!(iam, GET_SSH_PUBLIC_KEY, "GetSSHPublicKey", Read, |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(
    get_ssh_public_key(ctx)
));

async fn get_ssh_public_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetSSHPublicKeyRequest { ssh_public_key_id: id, encoding, .. } = ctx.input();
    let user = user_subject(ctx).await?;
    let key =
        model::find(&ctx.app.store, ctx.account(), &user.to_lowercase(), id).await?.ok_or_else(|| no_such_key(id))?;
    let parsed = SshPublicKey::from_blob(&key.blob).ok_or_else(|| internal("a stored SSH key does not read"))?;
    // `SSH` or `PEM`: the pipeline has checked the model's enum.
    let body = if encoding == "SSH" { parsed.to_ssh() } else { parsed.to_pem() };
    let mut xml = ctx.response();
    write_key(&mut xml, &user, &key, &body);
    Ok(xml)
}

operation!(iam, LIST_SSH_PUBLIC_KEYS, "ListSSHPublicKeys", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| {
    query(list_ssh_public_keys(ctx))
});

async fn list_ssh_public_keys(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let user = user_subject(ctx).await?;
    let keys: Vec<SshKey> = model::of_user(&ctx.app.store, ctx.account(), &user.to_lowercase())
        .await?
        .into_iter()
        .filter(|key| key.id.as_str() > page.after.as_str())
        .collect();
    let (shown, next) = page.cut(&keys, |key| key.id.clone());
    let mut xml = ctx.response();
    xml.nest("SSHPublicKeys", |xml| {
        for key in shown {
            xml.nest("member", |xml| {
                xml.element("UserName", &user)
                    .element("SSHPublicKeyId", &key.id)
                    .element("Status", key.status.as_str())
                    .element("UploadDate", &ids::iso8601(key.uploaded_at));
            });
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(iam, UPDATE_SSH_PUBLIC_KEY, "UpdateSSHPublicKey", Write, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(update_ssh_public_key(ctx))
});

async fn update_ssh_public_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateSSHPublicKeyRequest { ssh_public_key_id: id, status, .. } = ctx.input();
    let status = parse_status(status)?;
    let user = user_subject(ctx).await?;
    if !model::set_status(&ctx.app.store, ctx.account(), &user.to_lowercase(), id, status).await? {
        return Err(no_such_key(id));
    }
    Ok(ctx.response())
}

operation!(iam, DELETE_SSH_PUBLIC_KEY, "DeleteSSHPublicKey", Write, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(delete_ssh_public_key(ctx))
});

async fn delete_ssh_public_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteSSHPublicKeyRequest { ssh_public_key_id: id, .. } = ctx.input();
    let user = user_subject(ctx).await?;
    if !model::delete(&ctx.app.store, ctx.account(), &user.to_lowercase(), id).await? {
        return Err(no_such_key(id));
    }
    Ok(ctx.response())
}
