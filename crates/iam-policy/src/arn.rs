//! Amazon Resource Names: `arn:partition:service:region:account:resource`.

/// A borrowed view of the six parts of an ARN. The resource part may contain colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` unless it starts with `arn:` and has all six parts.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// True for a 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_six_parts_keeping_colons_in_the_resource() {
        let arn = Arn::parse("arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s").unwrap();
        assert_eq!(arn.service, "logs");
        assert_eq!(arn.account, "111122223333");
        assert_eq!(arn.resource, "log-group:g:log-stream:s");
        assert!(Arn::parse("arn:aws:s3").is_none());
        assert!(Arn::parse("urn:aws:s3:::b").is_none());
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333a"));
    }
}
