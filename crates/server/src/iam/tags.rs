//! Tags on users, roles and customer managed policies: the `Tags` of Create calls and
//! Tag/Untag/List{User,Role,Policy}Tags.
//!
//! Keys are unique case-insensitively (the case given first is kept, a later value replaces
//! the earlier one) and at most 50 sit on one resource; the count is checked in the same
//! transaction that writes, so concurrent Tag calls cannot pass it together.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use store::{Statement, Value};

use super::entities::{Kind, existing, resource};
use super::policies::{existing_policy, policy_resource};
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query};

/// Tags per resource (IAM's quota).
pub(crate) const TAGS_PER_RESOURCE: usize = 50;

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub key: String,
    pub value: String,
}

/// What carries tags, as the `tags` table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tagged {
    Entity(Kind),
    Policy,
}

impl Tagged {
    fn noun(self) -> &'static str {
        match self {
            Tagged::Entity(kind) => kind.noun(),
            Tagged::Policy => "policy",
        }
    }

    fn quota(self) -> &'static str {
        match self {
            Tagged::Entity(Kind::User) => "TagsPerUser",
            Tagged::Entity(Kind::Role) => "TagsPerRole",
            Tagged::Entity(Kind::Group) => "TagsPerGroup",
            Tagged::Entity(Kind::InstanceProfile) => "TagsPerInstanceProfile",
            Tagged::Policy => "TagsPerPolicy",
        }
    }

    /// The statement that changes its owner's row only while the owner exists and holds at
    /// most [`TAGS_PER_RESOURCE`] tags: the guard closing a tagging transaction.
    fn guard(self, account: &str, key: &str) -> Statement {
        let count = "(SELECT COUNT(*) FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?)";
        let limit = Value::Int(i64::try_from(TAGS_PER_RESOURCE).unwrap_or(i64::MAX));
        let counted = [account.into(), self.noun().into(), key.into(), limit];
        match self {
            Tagged::Entity(kind) => Statement::guard(
                format!(
                    "UPDATE {} SET name = name WHERE account_id = ? AND name_key = ? AND {count} <= ?",
                    kind.table()
                ),
                [account.into(), key.into()].into_iter().chain(counted).collect(),
            ),
            Tagged::Policy => Statement::guard(
                format!("UPDATE managed_policies SET name = name WHERE arn = ? AND {count} <= ?"),
                std::iter::once(key.into()).chain(counted).collect(),
            ),
        }
    }
}

fn tag_error(member: &str, value: &str, constraint: &str) -> AwsError {
    AwsError::new(
        "ValidationError",
        400,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ),
    )
}

fn valid_tag_text(text: &str) -> bool {
    text.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// The request's `Tags.member.N.Key` / `.Value` list, validated as IAM does.
pub(crate) fn from_params(ctx: &Ctx<'_>) -> Result<Vec<Tag>, AwsError> {
    let members = ctx.params.members("Tags");
    if members.len() > TAGS_PER_RESOURCE {
        return Err(tag_error("tags", "[...]", "Member must have length less than or equal to 50"));
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(members.len());
    for member in &members {
        let key = member.get("Key").unwrap_or_default();
        let value = member.get("Value").unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 || !valid_tag_text(key) {
            return Err(tag_error(
                "tags.member.key",
                key,
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+ and have length between 1 and 128",
            ));
        }
        if value.chars().count() > 256 || !valid_tag_text(value) {
            return Err(tag_error(
                "tags.member.value",
                value,
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]* and have length less than or equal to 256",
            ));
        }
        if key.to_lowercase().starts_with("aws:") {
            return Err(AwsError::new("InvalidInput", 400, "User-defined tag keys can't start with 'aws:'."));
        }
        if tags.iter().any(|tag| tag.key.to_lowercase() == key.to_lowercase()) {
            return Err(AwsError::new("InvalidInput", 400, "Duplicate tag keys found. Please remove duplicate tags."));
        }
        tags.push(Tag { key: key.to_owned(), value: value.to_owned() });
    }
    Ok(tags)
}

/// Statements that set `tags` on a resource (replacing values of keys it already has).
pub(crate) fn set_statements(account: &str, tagged: Tagged, key: &str, tags: &[Tag]) -> Vec<Statement> {
    tags.iter()
        .flat_map(|tag| {
            let target = vec![account.into(), tagged.noun().into(), key.into(), tag.key.to_lowercase().into()];
            let update = Statement::new(
                "UPDATE tags SET tag_value = ? WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
                std::iter::once(tag.value.as_str().into()).chain(target.iter().cloned()).collect(),
            );
            let insert = Statement::new(
                "INSERT INTO tags (account_id, resource_kind, resource_key, tag_key_lower, tag_key, tag_value)
                 SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS
                   (SELECT 1 FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?)",
                target.iter().cloned().chain([tag.key.as_str().into(), tag.value.as_str().into()]).chain(target.clone()).collect(),
            );
            [update, insert]
        })
        .collect()
}

/// The statement removing every tag of a resource (when it is deleted).
pub(crate) fn delete_all(account: &str, tagged: Tagged, key: &str) -> Statement {
    Statement::new(
        "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?",
        vec![account.into(), tagged.noun().into(), key.into()],
    )
}

/// A resource's tags, sorted by key.
pub(crate) async fn load(store: &store::Store, account: &str, tagged: Tagged, key: &str) -> Result<Vec<Tag>, AwsError> {
    let rows = store
        .query(
            "SELECT tag_key, tag_value FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? ORDER BY tag_key_lower",
            vec![account.into(), tagged.noun().into(), key.into()],
        )
        .await
        .map_err(internal)?;
    rows.iter()
        .map(|row| Ok(Tag { key: row.text(0).map_err(internal)?, value: row.text(1).map_err(internal)? }))
        .collect()
}

/// `<Tags>` with a member per tag (nothing when there are none, as IAM's Get calls do).
pub(crate) fn write(xml: &mut XmlResponse, tags: &[Tag]) {
    if tags.is_empty() {
        return;
    }
    xml.nest("Tags", |xml| write_members(xml, tags));
}

fn write_members(xml: &mut XmlResponse, tags: &[Tag]) {
    for tag in tags {
        xml.nest("member", |xml| {
            xml.element("Key", &tag.key).element("Value", &tag.value);
        });
    }
}

/// The key a request's tagged resource is stored under: an entity's lowercase name or a
/// policy's ARN (after checking it exists).
async fn target(ctx: &Ctx<'_>, tagged: Tagged) -> Result<String, AwsError> {
    match tagged {
        Tagged::Entity(kind) => Ok(existing(ctx, kind).await?.name.to_lowercase()),
        Tagged::Policy => Ok(existing_policy(ctx).await?.arn),
    }
}

async fn tag(ctx: &Ctx<'_>, tagged: Tagged) -> Result<XmlResponse, AwsError> {
    let tags = from_params(ctx)?;
    let key = target(ctx, tagged).await?;
    let mut statements = set_statements(ctx.account(), tagged, &key, &tags);
    statements.push(tagged.guard(ctx.account(), &key));
    match ctx.app.store.transaction(statements).await {
        Ok(_) => Ok(ctx.response()),
        Err(store::StoreError::Unmet(_)) => Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for {}: {TAGS_PER_RESOURCE}", tagged.quota()),
        )),
        Err(error) => Err(internal(error)),
    }
}

async fn untag(ctx: &Ctx<'_>, tagged: Tagged) -> Result<XmlResponse, AwsError> {
    let keys = ctx.params.strings("TagKeys");
    let key = target(ctx, tagged).await?;
    let statements = keys
        .iter()
        .map(|tag_key| {
            Statement::new(
                "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
                vec![ctx.account().into(), tagged.noun().into(), key.as_str().into(), tag_key.to_lowercase().into()],
            )
        })
        .collect();
    ctx.app.store.transaction(statements).await.map_err(internal)?;
    Ok(ctx.response())
}

async fn list(ctx: &Ctx<'_>, tagged: Tagged) -> Result<XmlResponse, AwsError> {
    let key = target(ctx, tagged).await?;
    let page = Page::from_params(ctx)?;
    let tags: Vec<Tag> = load(&ctx.app.store, ctx.account(), tagged, &key)
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

operation!(iam, TAG_USER, "TagUser", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(tag(ctx, USER)));
operation!(iam, UNTAG_USER, "UntagUser", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(untag(
    ctx, USER
)));
operation!(iam, LIST_USER_TAGS, "ListUserTags", Read, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(list(
    ctx, USER
)));
operation!(iam, TAG_ROLE, "TagRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(tag(ctx, ROLE)));
operation!(iam, UNTAG_ROLE, "UntagRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(untag(
    ctx, ROLE
)));
operation!(iam, LIST_ROLE_TAGS, "ListRoleTags", Read, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(list(
    ctx, ROLE
)));
operation!(iam, TAG_POLICY, "TagPolicy", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(tag(
    ctx,
    Tagged::Policy
)));
operation!(iam, UNTAG_POLICY, "UntagPolicy", IamWrite, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(untag(
    ctx,
    Tagged::Policy
)));
operation!(iam, LIST_POLICY_TAGS, "ListPolicyTags", Read, |ctx| Box::pin(policy_resource(ctx)), |ctx| query(list(
    ctx,
    Tagged::Policy
)));
