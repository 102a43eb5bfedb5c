//! The requests naming an IAM user, group, role or instance profile: finding the entity a
//! request names (and authorizing on its stored ARN), Create and List over any kind, and
//! the shape every kind shares in answers. The entities themselves are
//! [`super::model::entities`].

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use store::{Statement, Value};

use super::model::entities as model;
use crate::ids;
use crate::operations::{Ctx, Page, internal};

pub(crate) use super::model::entities::{Entity, Kind, Window, arn};

/// Path, name, id, ARN and creation date, as IAM's `User` and `Group` shapes hold them.
pub(crate) fn write(xml: &mut XmlResponse, entity: &Entity, account: &str) {
    let element = entity.kind.element();
    xml.element("Path", &entity.path)
        .element(&format!("{element}Name"), &entity.name)
        .element(&format!("{element}Id"), &entity.id)
        .element("Arn", &entity.arn(account))
        .element("CreateDate", &ids::iso8601(entity.created_at));
}

pub(crate) fn no_such(kind: Kind, name: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The {} with name {name} cannot be found.", kind.noun()))
}

/// The stored entity of that name (compared case-insensitively, as IAM does). The entity the
/// request was authorized on is that entity: handlers act on it, not on a second lookup.
pub(crate) async fn find(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
    let key = name.to_lowercase();
    if let Some(target) = ctx.target.get().filter(|target| target.kind == kind && target.key() == key) {
        return Ok(Some(target.clone()));
    }
    find_stored(ctx, kind, name).await
}

/// The entity of that name as the store holds it now (a handler asks after its own write
/// failed, when the request's target may be gone).
pub(crate) async fn find_stored(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
    Ok(model::find(&ctx.app.store, ctx.account(), kind, name).await?)
}

/// The entity the request names with `kind.param()`, or NoSuchEntity.
pub(crate) async fn existing(ctx: &Ctx<'_>, kind: Kind) -> Result<Entity, AwsError> {
    let name = ctx.required(kind.param())?;
    find(ctx, kind, name).await?.ok_or_else(|| no_such(kind, name))
}

/// The ARN a request naming an entity with `kind.param()` is authorized on. An existing
/// entity is authorized by its own ARN (its name as stored, its path), whatever the
/// request's spelling, and becomes the request's target; only a name no entity has yet
/// (CreateUser, ...) is authorized as spelled, under the `Path` parameter or `/`.
pub(crate) async fn resource(ctx: &Ctx<'_>, kind: Kind) -> Result<Vec<String>, AwsError> {
    let name = ctx.required(kind.param())?;
    Ok(vec![match resolve(ctx, kind, name).await? {
        Some(entity) => entity.arn(ctx.account()),
        None => arn(kind, ctx.account(), ctx.params.get("Path").unwrap_or("/"), name),
    }])
}

/// Whether a request may change `entity`: a service-linked role (under `/aws-service-role/`)
/// is changed only by its service, as on AWS.
pub(crate) fn modifiable(entity: &Entity) -> Result<(), AwsError> {
    if entity.kind == Kind::Role && entity.path.starts_with("/aws-service-role/") {
        return Err(AwsError::new(
            "UnmodifiableEntity",
            400,
            format!(
                "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
                entity.name
            ),
        ));
    }
    Ok(())
}

/// The entity the request names, when the request may change it ([`existing`] and
/// [`modifiable`]).
pub(crate) async fn existing_modifiable(ctx: &Ctx<'_>, kind: Kind) -> Result<Entity, AwsError> {
    let entity = existing(ctx, kind).await?;
    modifiable(&entity)?;
    Ok(entity)
}

/// What an Update{User,Group} is authorized on: the entity as it is and, when it is renamed
/// or moved (`new_name_param`, `NewPath`), the entity as it will be, as IAM documents. A caller
/// cannot move an entity under a path, or to a name, that its policies would not let it act on.
pub(crate) async fn resource_and_renamed(
    ctx: &Ctx<'_>,
    kind: Kind,
    new_name_param: &str,
) -> Result<Vec<String>, AwsError> {
    let mut resources = resource(ctx, kind).await?;
    if let Some(entity) = ctx.target.get() {
        let name = ctx.params.get(new_name_param).unwrap_or(&entity.name);
        let path = ctx.params.get("NewPath").unwrap_or(&entity.path);
        let renamed = arn(kind, ctx.account(), path, name);
        if !resources.contains(&renamed) {
            resources.push(renamed);
        }
    }
    Ok(resources)
}

/// The stored entity `name` names, recorded as the request's target (the first resolved one
/// stays the target).
pub(crate) async fn resolve(ctx: &Ctx<'_>, kind: Kind, name: &str) -> Result<Option<Entity>, AwsError> {
    let entity = find(ctx, kind, name).await?;
    if let Some(entity) = &entity {
        // Set once: an entity resolved later in the same request is not its target.
        let _ = ctx.target.set(entity.clone());
    }
    Ok(entity)
}

/// Inserts a new entity named by the request (`kind.param()` and `Path`) with `columns`
/// beyond the common ones, and `also` (tags, a boundary) in the same transaction.
pub(crate) async fn insert(
    ctx: &Ctx<'_>,
    kind: Kind,
    columns: Vec<(&'static str, Value)>,
    also: impl FnOnce(&str) -> Vec<Statement>,
) -> Result<Entity, AwsError> {
    // The name's and the path's length and pattern are the model's, checked by the pipeline.
    let name = ctx.required(kind.param())?;
    let path = ctx.params.get("Path").unwrap_or("/");
    let entity = Entity {
        kind,
        name: name.to_owned(),
        id: ids::unique_id(kind.id_prefix()).map_err(internal)?,
        path: path.to_owned(),
        created_at: ids::now(),
    };
    if !model::create(&ctx.app.store, ctx.account(), &entity, columns, also(&entity.key())).await? {
        let message = format!("{} with name {name} already exists.", kind.element());
        return Err(AwsError::new("EntityAlreadyExists", 409, message));
    }
    Ok(entity)
}

/// CreateGroup (users and roles write more than the common fields).
pub(crate) async fn create(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let entity = insert(ctx, kind, Vec::new(), |_| Vec::new()).await?;
    let mut xml = ctx.response();
    xml.nest(kind.element(), |xml| write(xml, &entity, ctx.account()));
    Ok(xml)
}

/// The window of a List request: under `PathPrefix`, from `Marker` on, one more than `page`
/// shows (so [`Page::cut`] knows whether another page follows).
pub(crate) fn window<'a>(ctx: &'a Ctx<'_>, page: &'a Page) -> Window<'a> {
    let prefix = ctx.params.get("PathPrefix").unwrap_or("/");
    Window { prefix, after: &page.after, limit: page.max_items.saturating_add(1) }
}

/// ListUsers / ListGroups: `PathPrefix`, `Marker` and `MaxItems`.
pub(crate) async fn list(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let entities = model::page(&ctx.app.store, ctx.account(), kind, window(ctx, &page)).await?;
    let (shown, next) = page.cut(&entities, Entity::key);
    let mut xml = ctx.response();
    xml.nest(&format!("{}s", kind.element()), |xml| {
        for entity in shown {
            xml.nest("member", |xml| write(xml, entity, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}
