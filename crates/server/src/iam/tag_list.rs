//! The `Tags` list of IAM requests and answers: decoded and validated as IAM does (the
//! `Tags` of Create calls and TagX), and written. The tags themselves are
//! [`super::model::tags`].

use aws_protocol::AwsError;
use aws_protocol::query::{QueryParams, XmlResponse};

use super::model::tags::Tag;

/// The request's `Tags` list (its typed input's `tags`), checked as IAM does beyond its model:
/// the pipeline has checked the list's size and each key's and value's length and characters.
pub(crate) fn from_members(members: &[QueryParams]) -> Result<Vec<Tag>, AwsError> {
    let mut tags: Vec<Tag> = Vec::with_capacity(members.len());
    for member in members {
        let key = member.get("Key").unwrap_or_default();
        let value = member.get("Value").unwrap_or_default();
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
