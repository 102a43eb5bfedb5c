//! A log group's KMS key: AssociateKmsKey and DisassociateKmsKey (and CreateLogGroup's
//! `kmsKeyId`, checked here).
//!
//! Homeport runs no KMS, and stores events as it stores them whatever key a group names: a
//! key is recorded and returned (DescribeLogGroups' `kmsKeyId`), as ECR and SSM record the key
//! ids they are given, and never used. So that what is recorded could be a key CloudWatch
//! Logs would take, it must be a symmetric key's ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`,
//! the ID a UUID or a multi-Region `mrk-` id) in the request's region: anything else (a bare
//! key id, an alias, another region's key) is refused with CloudWatch's answer for a key it
//! cannot use, `AccessDeniedException`. The account's query-result key
//! (`resourceIdentifier` `arn:aws:logs:REGION:ACCOUNT:query-result:*`) is refused: Homeport
//! keeps query results unencrypted and nothing would read the key back.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::group;
use super::{group_arn, group_name, invalid_parameter, no_group};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(
    logs,
    ASSOCIATE_KMS_KEY,
    "AssociateKmsKey",
    Write,
    |ctx| Box::pin(async move { target(ctx).map(|target| vec![target.arn]) }),
    |ctx| json_op(associate(ctx, true))
);
operation!(
    logs,
    DISASSOCIATE_KMS_KEY,
    "DisassociateKmsKey",
    Write,
    |ctx| Box::pin(async move { target(ctx).map(|target| vec![target.arn]) }),
    |ctx| json_op(associate(ctx, false))
);

/// `key` if it is a symmetric KMS key's ARN of `scope`'s region; else CloudWatch's refusal
/// of a key it cannot use for the group `group`.
pub fn key_arn<'a>(scope: Scope<'_>, key: &'a str, group: &str) -> Result<&'a str, AwsError> {
    let id_is_wellformed = |id: &str| {
        let uuid =
            id.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
        let multi_region =
            id.strip_prefix("mrk-").is_some_and(|hex| hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()));
        uuid || multi_region
    };
    let mut parts = key.splitn(6, ':');
    let wellformed = match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some("aws"), Some("kms"), Some(region), Some(account), Some(resource)) => {
            region == scope.region
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && resource.strip_prefix("key/").is_some_and(id_is_wellformed)
        }
        _ => false,
    };
    if wellformed {
        Ok(key)
    } else {
        Err(AwsError::new(
            "AccessDeniedException",
            400,
            format!(
                "The specified KMS key does not exist or is not allowed to be used with Arn '{}'",
                group_arn(scope, group)
            ),
        ))
    }
}

/// The group an Associate/DisassociateKmsKey request names: `logGroupName` or a group's ARN
/// as `resourceIdentifier`, never both.
struct Target<'a> {
    name: &'a str,
    arn: String,
    here: bool,
}

fn target<'a>(ctx: &'a Ctx<'_>) -> Result<Target<'a>, AwsError> {
    let identifier = ctx.body.get("resourceIdentifier").and_then(Json::as_str);
    match (ctx.body.get("logGroupName").filter(|name| !name.is_null()), identifier) {
        (Some(_), Some(_)) => Err(invalid_parameter("Specify either logGroupName or resourceIdentifier, not both.")),
        (None, None) => Err(invalid_parameter("Specify either logGroupName or resourceIdentifier.")),
        (Some(_), None) => {
            let name = group_name(ctx.body)?;
            Ok(Target { name, arn: group_arn(ctx.scope(), name), here: true })
        }
        (None, Some(identifier)) => {
            if identifier.contains(":query-result:") {
                return Err(invalid_parameter(
                    "Homeport keeps Logs Insights query results unencrypted: a query-result resourceIdentifier is not supported.",
                ));
            }
            if !identifier.starts_with("arn:") || !identifier.contains(":log-group:") {
                return Err(invalid_parameter(format!(
                    "The resourceIdentifier {identifier} is neither a log group ARN nor a query-result ARN."
                )));
            }
            let named = super::identified_group(ctx.scope(), identifier);
            Ok(Target { name: named.name, arn: named.arn, here: named.here })
        }
    }
}

async fn associate(ctx: &Ctx<'_>, associate: bool) -> Result<Json, AwsError> {
    let target = target(ctx)?;
    if !target.here {
        return Err(no_group());
    }
    let key = if associate {
        let key =
            ctx.body.get("kmsKeyId").and_then(Json::as_str).ok_or_else(|| crate::operations::missing("kmsKeyId"))?;
        Some(key_arn(ctx.scope(), key, target.name)?)
    } else {
        None
    };
    if group::set_kms_key(&ctx.app.store, ctx.scope(), target.name, key).await? {
        Ok(json!({}))
    } else {
        Err(no_group())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::SCOPE;

    #[test]
    fn only_a_key_arn_of_the_region_is_recorded() {
        let region = SCOPE.region;
        for good in [
            format!("arn:aws:kms:{region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            format!("arn:aws:kms:{region}:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
        ] {
            assert_eq!(key_arn(SCOPE, &good, "g").unwrap(), good);
        }
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
            "alias/mine".to_owned(),
            format!("arn:aws:kms:{region}:111122223333:alias/mine"),
            "arn:aws:kms:mars-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
            format!("arn:aws:kms:{region}:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            format!("arn:aws:kms:{region}:111122223333:key/not-a-key"),
        ] {
            let refused = key_arn(SCOPE, &bad, "g").unwrap_err();
            assert_eq!(refused.code, "AccessDeniedException", "{bad}");
            assert!(refused.message.contains(":log-group:g'"), "{}", refused.message);
        }
    }
}
