//! Instance profiles: Create/Get/List/DeleteInstanceProfile, Add/RemoveRoleFromInstanceProfile
//! and ListInstanceProfilesForRole. A profile holds at most one role (IAM's quota), and
//! adding one needs `iam:PassRole` on it, as on AWS.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use store::Statement;

use super::entities::{Entity, Kind, existing, insert, page_of, resource};
use super::roles::{Role, existing_role, find_role};
use super::tags::{self, Tagged};
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

/// The role a profile holds, if any.
async fn role_of(ctx: &Ctx<'_>, profile: &Entity) -> Result<Option<Role>, AwsError> {
    let rows = ctx
        .app
        .store
        .query(
            "SELECT role_key FROM instance_profile_roles WHERE account_id = ? AND profile_key = ?",
            vec![ctx.account().into(), profile.name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    match rows.first() {
        Some(row) => find_role(&ctx.app.store, ctx.account(), &row.text(0).map_err(internal)?).await,
        None => Ok(None),
    }
}

/// IAM's `InstanceProfile` shape.
fn write_profile(xml: &mut XmlResponse, account: &str, profile: &Entity, role: Option<&Role>) {
    xml.nest("InstanceProfile", |xml| write_profile_fields(xml, account, profile, role));
}

pub(crate) fn write_profile_fields(xml: &mut XmlResponse, account: &str, profile: &Entity, role: Option<&Role>) {
    profile.write(xml, account);
    xml.nest("Roles", |xml| {
        if let Some(role) = role {
            xml.nest("member", |xml| role.write_summary(xml, account));
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
    let tags = tags::from_params(ctx)?;
    let account = ctx.account();
    let profile = insert(ctx, Kind::InstanceProfile, Vec::new(), |key| {
        tags::set_statements(account, Tagged::Entity(Kind::InstanceProfile), key, &tags)
    })
    .await?;
    let mut xml = ctx.response();
    write_profile(&mut xml, account, &profile, None);
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
    let mut xml = ctx.response();
    write_profile(&mut xml, ctx.account(), &profile, role.as_ref());
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
    let (profiles, page, next) = page_of(ctx, Kind::InstanceProfile).await?;
    let mut listed = Vec::with_capacity(profiles.len());
    for profile in profiles {
        let role = role_of(ctx, &profile).await?;
        listed.push((profile, role));
    }
    let mut xml = ctx.response();
    xml.nest("InstanceProfiles", |xml| {
        for (profile, role) in &listed {
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
    let key = profile.name.to_lowercase();
    let account = ctx.account();
    let deleted = ctx
        .app
        .store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM instance_profiles WHERE account_id = ? AND name_key = ?
                   AND NOT EXISTS (SELECT 1 FROM instance_profile_roles WHERE account_id = ? AND profile_key = ?)",
                vec![account.into(), key.as_str().into(), account.into(), key.as_str().into()],
            ),
            tags::delete_all(account, Tagged::Entity(Kind::InstanceProfile), &key),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(ctx.response()),
        Err(store::StoreError::Unmet(_)) => Err(AwsError::new(
            "DeleteConflict",
            409,
            "Cannot delete entity, must remove roles from instance profile first.",
        )),
        Err(error) => Err(internal(error)),
    }
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
    let added = ctx
        .app
        .store
        .execute(
            "INSERT INTO instance_profile_roles (account_id, profile_key, role_key) VALUES (?, ?, ?)",
            vec![ctx.account().into(), profile.name.to_lowercase().into(), role.entity.name.to_lowercase().into()],
        )
        .await;
    match added {
        Ok(_) => Ok(ctx.response()),
        Err(store::StoreError::Conflict) => {
            Err(AwsError::new("LimitExceeded", 409, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"))
        }
        Err(error) => Err(internal(error)),
    }
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
    let removed = ctx
        .app
        .store
        .execute(
            "DELETE FROM instance_profile_roles WHERE account_id = ? AND profile_key = ? AND role_key = ?",
            vec![ctx.account().into(), profile.name.to_lowercase().into(), role.entity.name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    if removed == 0 {
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
    let rows = ctx
        .app
        .store
        .query(
            &format!(
                "SELECT {} FROM instance_profile_roles r
                 JOIN instance_profiles p ON p.account_id = r.account_id AND p.name_key = r.profile_key
                 WHERE r.account_id = ? AND r.role_key = ? ORDER BY p.name_key",
                Entity::columns(Kind::InstanceProfile, "p")
            ),
            vec![ctx.account().into(), role.entity.name.to_lowercase().into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| Entity::from_row(Kind::InstanceProfile, row)).collect()
}
