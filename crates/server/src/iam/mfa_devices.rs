//! Virtual MFA devices: CreateVirtualMFADevice, EnableMFADevice, ResyncMFADevice,
//! DeactivateMFADevice, DeleteVirtualMFADevice, ListMFADevices, ListVirtualMFADevices and
//! GetMFADevice (their tags are in `tags`). The seed is sealed before it reaches the store and
//! shown once, by CreateVirtualMFADevice (as its base-32 text and as a QR code); it is never
//! logged nor written to the audit record. A device is named by its serial number exactly as
//! AWS names it; the user a request names is authorized on the stored user's ARN.

use aws_model::iam::{
    CreateVirtualMFADeviceRequest, DeactivateMFADeviceRequest, EnableMFADeviceRequest, GetMFADeviceRequest,
    ListMFADevicesRequest, ListVirtualMFADevicesRequest, ResyncMFADeviceRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use base64::Engine;

use super::entities::{self, Entity, Kind};
use super::mfa_qr;
use super::model::mfa_devices::{self as model, Enabled, MfaDevice};
use super::model::totp;
use super::tag_list;
use super::users::{find_user, user_resource};
use crate::auth::Principal;
use crate::iam::errors::no_such_user;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query, validation};

fn no_such_device(serial: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("VirtualMFADevice with serial number {serial} doesn't exist."))
}

fn invalid_code() -> AwsError {
    AwsError::new("InvalidAuthenticationCode", 403, "Authentication code for device is not valid.")
}

/// The device the request's `SerialNumber` names, or NoSuchEntity.
pub(crate) async fn existing_device(ctx: &Ctx<'_>) -> Result<MfaDevice, AwsError> {
    let serial = ctx.required("SerialNumber")?;
    model::find(&ctx.app.store, ctx.account(), serial).await?.ok_or_else(|| no_such_device(serial))
}

/// Operations on a device are authorized on its serial number, the device's ARN, as spelled
/// (AWS's serial numbers are case-sensitive identities).
pub(crate) async fn device_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![ctx.required("SerialNumber")?.to_owned()])
}

/// The user a request is about: its `UserName`, else the calling user (`None`: the caller is
/// root, which has no virtual devices here).
async fn subject(ctx: &Ctx<'_>, user_name: Option<&str>) -> Result<Option<Entity>, AwsError> {
    let name = match (user_name, &ctx.identity.principal) {
        (Some(name), _) => name.to_owned(),
        (None, Principal::User { name, .. }) => name.clone(),
        (None, Principal::Root) => return Ok(None),
        (None, Principal::RoleSession { .. } | Principal::FederatedUser { .. }) => {
            return Err(validation("Must specify userName when calling with non-User credentials"));
        }
    };
    Ok(Some(find_user(ctx, &name).await?.ok_or_else(|| no_such_user(&name))?))
}

/// The user a request's `UserName` names.
async fn named_user(ctx: &Ctx<'_>, name: &str) -> Result<Entity, AwsError> {
    find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))
}

operation!(
    iam,
    CREATE_VIRTUAL_MFA_DEVICE,
    "CreateVirtualMFADevice",
    IamWrite,
    |ctx| Box::pin(async move {
        let CreateVirtualMFADeviceRequest { virtual_mfa_device_name: name, path, .. } = ctx.input();
        Ok(vec![model::serial_number(ctx.account(), path.unwrap_or("/"), name)])
    }),
    |ctx| query(create_virtual_mfa_device(ctx))
);

async fn create_virtual_mfa_device(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateVirtualMFADeviceRequest { virtual_mfa_device_name: name, path, tags } = ctx.input();
    let path = path.unwrap_or("/");
    let tags = tag_list::from_members(&tags)?;
    let serial = model::serial_number(ctx.account(), path, name);
    let mut seed = [0u8; model::SEED_BYTES];
    getrandom::getrandom(&mut seed).map_err(|_| internal(ids::NoRandomness))?;
    let sealed = ctx.app.sealer.seal(&seed, &serial).map_err(internal)?;
    let base32 = ids::base32(&seed);
    let png = mfa_qr::png(&mfa_qr::otpauth_uri(name, ctx.account(), &base32))
        .ok_or_else(|| internal("the device's URI does not fit a QR code"))?;
    if !model::create(&ctx.app.store, ctx.account(), &serial, (name, path), sealed, ids::now(), &tags).await? {
        return Err(AwsError::new(
            "EntityAlreadyExists",
            409,
            "MFADevice entity at the same path and name already exists.",
        ));
    }
    let base64 = base64::engine::general_purpose::STANDARD;
    let mut xml = ctx.response();
    xml.nest("VirtualMFADevice", |xml| {
        xml.element("SerialNumber", &serial)
            .element("Base32StringSeed", &base64.encode(base32.as_bytes()))
            .element("QRCodePNG", &base64.encode(&png));
        tag_list::write(xml, &tags);
    });
    Ok(xml)
}

/// The two consecutive codes of Enable and Resync, checked against `seed` around `around`.
fn consecutive_codes(
    (first, second): (&str, &str),
    seed: &[u8],
    around: i64,
    window: i64,
    after: i64,
) -> Result<i64, AwsError> {
    totp::consecutive(seed, first, second, around, window, after).ok_or_else(invalid_code)
}

operation!(iam, ENABLE_MFA_DEVICE, "EnableMFADevice", IamWrite, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(enable_mfa_device(ctx))
});

async fn enable_mfa_device(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let EnableMFADeviceRequest { user_name, authentication_code1, authentication_code2, .. } = ctx.input();
    let user = named_user(ctx, user_name).await?;
    let device = existing_device(ctx).await?;
    if device.user_key.is_some() {
        return Err(AwsError::new("EntityAlreadyExists", 409, "MFA Device is already in use."));
    }
    let seed = device.seed(&ctx.app.sealer)?;
    let now = ids::now();
    let server_step = totp::step_at(now);
    // The codes may have been typed a while after they were shown: the device's clock is
    // taken to be right until Resync says otherwise.
    let codes = (authentication_code1, authentication_code2);
    let step = consecutive_codes(codes, &seed, server_step, totp::ENABLE_WINDOW, device.last_step)?;
    let assigned =
        model::enable(&ctx.app.store, ctx.account(), &device.serial_number, (&user.key(), &user.id), now, (step, 0))
            .await?;
    match assigned {
        Enabled::Assigned => Ok(ctx.response()),
        Enabled::InUse => Err(AwsError::new("EntityAlreadyExists", 409, "MFA Device is already in use.")),
        Enabled::OverQuota => Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for MFADevicesPerUser: {}", model::PER_USER),
        )),
    }
}

/// The device `SerialNumber` names, assigned to `user`, or NoSuchEntity.
async fn device_of(ctx: &Ctx<'_>, user: &Entity) -> Result<MfaDevice, AwsError> {
    let device = existing_device(ctx).await?;
    if device.user_key.as_deref() != Some(user.key().as_str()) {
        return Err(AwsError::new(
            "NoSuchEntity",
            404,
            format!("MFA Device with serial number {} does not exist.", device.serial_number),
        ));
    }
    Ok(device)
}

operation!(iam, RESYNC_MFA_DEVICE, "ResyncMFADevice", IamWrite, |ctx| Box::pin(user_resource(ctx, false)), |ctx| {
    query(resync_mfa_device(ctx))
});

async fn resync_mfa_device(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ResyncMFADeviceRequest { user_name, authentication_code1, authentication_code2, .. } = ctx.input();
    let user = named_user(ctx, user_name).await?;
    let device = device_of(ctx, &user).await?;
    let seed = device.seed(&ctx.app.sealer)?;
    let server_step = totp::step_at(ids::now());
    let codes = (authentication_code1, authentication_code2);
    let step = consecutive_codes(codes, &seed, server_step, totp::RESYNC_WINDOW, device.last_step)?;
    let drift = step - server_step;
    if !model::accept(&ctx.app.store, ctx.account(), &device.serial_number, &user.key(), step, Some(drift)).await? {
        return Err(invalid_code());
    }
    Ok(ctx.response())
}

operation!(
    iam,
    DEACTIVATE_MFA_DEVICE,
    "DeactivateMFADevice",
    IamWrite,
    |ctx| Box::pin(user_resource(ctx, true)),
    |ctx| query(deactivate_mfa_device(ctx))
);

async fn deactivate_mfa_device(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeactivateMFADeviceRequest { user_name, serial_number: serial } = ctx.input();
    let user = subject(ctx, user_name).await?.ok_or_else(|| no_such_device(serial))?;
    let device = device_of(ctx, &user).await?;
    if !model::deactivate(&ctx.app.store, ctx.account(), &device.serial_number, &user.key()).await? {
        return Err(no_such_device(serial));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    DELETE_VIRTUAL_MFA_DEVICE,
    "DeleteVirtualMFADevice",
    IamWrite,
    |ctx| Box::pin(device_resource(ctx)),
    |ctx| query(delete_virtual_mfa_device(ctx))
);

async fn delete_virtual_mfa_device(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let device = existing_device(ctx).await?;
    let store = &ctx.app.store;
    if model::delete(store, ctx.account(), &device.serial_number).await? {
        return Ok(ctx.response());
    }
    // Not deleted: assigned, or deleted by another request meanwhile.
    match model::find(store, ctx.account(), &device.serial_number).await? {
        Some(_) => Err(AwsError::new("DeleteConflict", 409, "MFA device is still in use.")),
        None => Err(no_such_device(&device.serial_number)),
    }
}

operation!(iam, LIST_MFA_DEVICES, "ListMFADevices", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    list_mfa_devices(ctx)
));

async fn list_mfa_devices(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ListMFADevicesRequest { user_name, .. } = ctx.input();
    let page = Page::from_params(ctx)?;
    let devices = match subject(ctx, user_name).await? {
        Some(user) => model::of_user(&ctx.app.store, ctx.account(), &user.key())
            .await?
            .into_iter()
            .filter(|device| device.key() > page.after)
            .map(|device| (user.name.clone(), device))
            .collect(),
        None => Vec::new(),
    };
    let (shown, next) = page.cut(&devices, |(_, device)| device.key());
    let mut xml = ctx.response();
    xml.nest("MFADevices", |xml| {
        for (user_name, device) in shown {
            xml.nest("member", |xml| {
                xml.element("UserName", user_name)
                    .element("SerialNumber", &device.serial_number)
                    .element("EnableDate", &ids::iso8601(device.enabled_at.unwrap_or(device.created_at)));
            });
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(
    iam,
    LIST_VIRTUAL_MFA_DEVICES,
    "ListVirtualMFADevices",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(list_virtual_mfa_devices(ctx))
);

async fn list_virtual_mfa_devices(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let ListVirtualMFADevicesRequest { assignment_status, .. } = ctx.input();
    let status = assignment_status.unwrap_or("Any");
    let wanted = |device: &MfaDevice| match status {
        "Assigned" => device.user_key.is_some(),
        "Unassigned" => device.user_key.is_none(),
        _ => true,
    };
    let page = Page::from_params(ctx)?;
    let devices: Vec<MfaDevice> =
        model::all(&ctx.app.store, ctx.account(), &page.after).await?.into_iter().filter(wanted).collect();
    let (shown, next) = page.cut(&devices, MfaDevice::key);
    let mut users = Vec::new();
    for device in shown {
        let user = match &device.user_id {
            Some(user_id) => {
                crate::iam::model::entities::find_by_id(&ctx.app.store, ctx.account(), Kind::User, user_id).await?
            }
            None => None,
        };
        users.push(user);
    }
    let mut xml = ctx.response();
    xml.nest("VirtualMFADevices", |xml| {
        for (device, user) in shown.iter().zip(&users) {
            xml.nest("member", |xml| {
                xml.element("SerialNumber", &device.serial_number);
                if let Some(user) = user {
                    xml.nest("User", |xml| entities::write(xml, user, ctx.account()));
                }
                if let Some(at) = device.enabled_at {
                    xml.element("EnableDate", &ids::iso8601(at));
                }
            });
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(iam, GET_MFA_DEVICE, "GetMFADevice", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    get_mfa_device(ctx)
));

async fn get_mfa_device(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetMFADeviceRequest { serial_number: serial, user_name } = ctx.input();
    let user = subject(ctx, user_name).await?.ok_or_else(|| no_such_device(serial))?;
    let device = device_of(ctx, &user).await?;
    let mut xml = ctx.response();
    xml.element("UserName", &user.name)
        .element("SerialNumber", &device.serial_number)
        .element("EnableDate", &ids::iso8601(device.enabled_at.unwrap_or(device.created_at)));
    Ok(xml)
}
