//! Instance profiles: Create/Get/List/DeleteInstanceProfile, Add/RemoveRoleFromInstanceProfile
//! and ListInstanceProfilesForRole. A profile holds at most one role (IAM's quota), and
//! adding one needs `iam:PassRole` on it, as on AWS.

use aws_model::iam::CreateInstanceProfileRequest;
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{self, Entity, Kind, existing, insert, resource};
use super::model::instance_profiles as model;
use super::model::tags::{self, Tagged};
use super::roles::{Role, existing_role, write_summary};
use super::tag_list;
use crate::operations::operation;
use crate::operations::{Ctx, Page, query};

/// The role a profile holds, if any.
async fn role_of(ctx: &Ctx<'_>, profile: &Entity) -> Result<Option<Role>, AwsError> {
    Ok(model::role_held(&ctx.app.store, ctx.account(), &profile.key()).await?)
}

/// The `InstanceProfile` of CreateInstanceProfile and GetInstanceProfile, with its tags.
fn write_profile(xml: &mut XmlResponse, account: &str, profile: &Entity, role: Option<&Role>, tags: &[tags::Tag]) {
    xml.nest("InstanceProfile", |xml| {
        write_profile_fields(xml, account, profile, role);
        tag_list::write(xml, tags);
    });
}

pub(crate) fn write_profile_fields(xml: &mut XmlResponse, account: &str, profile: &Entity, role: Option<&Role>) {
    entities::write(xml, profile, account);
    xml.nest("Roles", |xml| {
        if let Some(role) = role {
            xml.nest("member", |xml| write_summary(xml, role, account));
        }
    });
}

operation!(
    iam,
    CREATE_INSTANCE_PROFILE,
    "CreateInstanceProfile",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(create_instance_profile(ctx))
);

async fn create_instance_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateInstanceProfileRequest { tags, .. } = ctx.input();
    let tags = tag_list::from_members(&tags)?;
    let account = ctx.account();
    let profile = insert(ctx, Kind::InstanceProfile, Vec::new(), |key| {
        tags::set_statements(account, Tagged::Entity(Kind::InstanceProfile), key, &tags)
    })
    .await?;
    let mut xml = ctx.response();
    write_profile(&mut xml, account, &profile, None, &tags);
    Ok(xml)
}

operation!(
    iam,
    GET_INSTANCE_PROFILE,
    "GetInstanceProfile",
    Read,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(get_instance_profile(ctx))
);

async fn get_instance_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let profile = existing(ctx, Kind::InstanceProfile).await?;
    let role = role_of(ctx, &profile).await?;
    let tags = tags::load(&ctx.app.store, ctx.account(), Tagged::Entity(Kind::InstanceProfile), &profile.key()).await?;
    let mut xml = ctx.response();
    write_profile(&mut xml, ctx.account(), &profile, role.as_ref(), &tags);
    Ok(xml)
}

operation!(
    iam,
    LIST_INSTANCE_PROFILES,
    "ListInstanceProfiles",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:instance-profile/", ctx.account())]) }),
    |ctx| query(list_instance_profiles(ctx))
);

async fn list_instance_profiles(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let profiles = model::page(&ctx.app.store, ctx.account(), entities::window(ctx, &page)).await?;
    let (listed, next) = page.cut(&profiles, |(profile, _)| profile.key());
    let mut xml = ctx.response();
    xml.nest("InstanceProfiles", |xml| {
        for (profile, role) in listed {
            xml.nest("member", |xml| write_profile_fields(xml, ctx.account(), profile, role.as_ref()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(
    iam,
    DELETE_INSTANCE_PROFILE,
    "DeleteInstanceProfile",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(delete_instance_profile(ctx))
);

async fn delete_instance_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let profile = existing(ctx, Kind::InstanceProfile).await?;
    if !model::delete(&ctx.app.store, ctx.account(), &profile.key()).await? {
        return Err(AwsError::new(
            "DeleteConflict",
            409,
            "Cannot delete entity, must remove roles from instance profile first.",
        ));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    ADD_ROLE_TO_INSTANCE_PROFILE,
    "AddRoleToInstanceProfile",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(add_role_to_instance_profile(ctx))
);

async fn add_role_to_instance_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let profile = existing(ctx, Kind::InstanceProfile).await?;
    let role = existing_role(ctx).await?;
    // The role will be passed to EC2 instances through the profile.
    crate::authz::pass_role(ctx, &role.arn(ctx.account()), "ec2.amazonaws.com", &profile.arn(ctx.account())).await?;
    if !model::add_role(&ctx.app.store, ctx.account(), &profile.key(), &role.entity.key()).await? {
        return Err(AwsError::new(
            "LimitExceeded",
            409,
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
        ));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    REMOVE_ROLE_FROM_INSTANCE_PROFILE,
    "RemoveRoleFromInstanceProfile",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::InstanceProfile)),
    |ctx| query(remove_role_from_instance_profile(ctx))
);

async fn remove_role_from_instance_profile(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let profile = existing(ctx, Kind::InstanceProfile).await?;
    let role = existing_role(ctx).await?;
    let removed = model::remove_role(&ctx.app.store, ctx.account(), &profile.key(), &role.entity.key()).await?;
    if !removed {
        return Err(AwsError::new(
            "NoSuchEntity",
            404,
            format!("The role with name {} cannot be found in instance profile {}.", role.entity.name, profile.name),
        ));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    LIST_INSTANCE_PROFILES_FOR_ROLE,
    "ListInstanceProfilesForRole",
    Read,
    |ctx| Box::pin(resource(ctx, Kind::Role)),
    |ctx| query(list_instance_profiles_for_role(ctx))
);

async fn list_instance_profiles_for_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let role = existing_role(ctx).await?;
    let profiles = profiles_of(ctx, &role).await?;
    let mut xml = ctx.response();
    xml.nest("InstanceProfiles", |xml| {
        for profile in &profiles {
            xml.nest("member", |xml| write_profile_fields(xml, ctx.account(), profile, Some(&role)));
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}

/// The instance profiles holding a role.
pub(crate) async fn profiles_of(ctx: &Ctx<'_>, role: &Role) -> Result<Vec<Entity>, AwsError> {
    Ok(model::of_role(&ctx.app.store, ctx.account(), &role.entity.key()).await?)
}
