//! The `Tags` list of IAM requests and answers: decoded and validated as IAM does (the
//! `Tags` of Create calls and TagX), and written. The tags themselves are
//! [`super::model::tags`].

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::tags::{PER_RESOURCE, Tag};
use crate::operations::Ctx;

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
    if members.len() > PER_RESOURCE {
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

/// `<Tags>` with a member per tag (nothing when there are none, as IAM's Get calls do).
pub(crate) fn write(xml: &mut XmlResponse, tags: &[Tag]) {
    if tags.is_empty() {
        return;
    }
    xml.nest("Tags", |xml| write_members(xml, tags));
}

/// A `member` per tag.
pub(crate) fn write_members(xml: &mut XmlResponse, tags: &[Tag]) {
    for tag in tags {
        xml.nest("member", |xml| {
            xml.element("Key", &tag.key).element("Value", &tag.value);
        });
    }
}
