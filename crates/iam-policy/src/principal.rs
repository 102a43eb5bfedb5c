//! The `Principal` / `NotPrincipal` elements and the principal that makes a request.
//!
//! How a statement names the caller matters for same-account evaluation, so matching returns
//! a [`Grant`]: naming the user or the role session grants directly, naming the role is
//! still limited by the session's boundary and session policies, and naming the account only
//! delegates to the account's own identity policies.

use crate::arn;

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The account root user.
    Root { account: String },
    /// An IAM user.
    User { arn: String, account: String },
    /// A role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) and its role's ARN.
    RoleSession { session_arn: String, role_arn: String, account: String },
    /// A `GetFederationToken` session.
    FederatedUser { arn: String, account: String },
    /// An AWS service principal such as `ssm.amazonaws.com`.
    Service { name: String },
    /// A web identity or SAML provider (the `Federated` principal element).
    WebIdentity { provider: String },
    /// Nobody authenticated.
    Anonymous,
}

impl Caller {
    /// The caller an ARN stands for: user, role session, federated user or root. For a role
    /// session the role ARN is derived without a path; use [`Caller::role_session`] when the
    /// role has one.
    pub fn from_arn(principal_arn: &str) -> Option<Caller> {
        let parsed = arn::Arn::parse(principal_arn)?;
        let account = parsed.account.to_owned();
        match (parsed.service, parsed.resource.split_once('/')) {
            ("iam", None) if parsed.resource == "root" => Some(Caller::Root { account }),
            ("iam", Some(("user", _))) => Some(Caller::User { arn: principal_arn.to_owned(), account }),
            ("sts", Some(("assumed-role", rest))) => {
                let (role, _session) = rest.split_once('/')?;
                let role_arn = format!("arn:{}:iam::{}:role/{}", parsed.partition, account, role);
                Some(Caller::RoleSession { session_arn: principal_arn.to_owned(), role_arn, account })
            }
            ("sts", Some(("federated-user", _))) => {
                Some(Caller::FederatedUser { arn: principal_arn.to_owned(), account })
            }
            _ => None,
        }
    }

    /// A role session whose role ARN is known (it may carry a path).
    pub fn role_session(session_arn: &str, role_arn: &str) -> Option<Caller> {
        let account = arn::Arn::parse(session_arn)?.account.to_owned();
        Some(Caller::RoleSession { session_arn: session_arn.to_owned(), role_arn: role_arn.to_owned(), account })
    }

    /// The caller's account, for principals that belong to one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Caller::Root { account }
            | Caller::User { account, .. }
            | Caller::RoleSession { account, .. }
            | Caller::FederatedUser { account, .. } => Some(account),
            _ => None,
        }
    }

    /// The ARN IAM names in error messages (`User: ARN is not authorized ...`).
    pub fn arn(&self) -> String {
        match self {
            Caller::Root { account } => format!("arn:aws:iam::{account}:root"),
            Caller::User { arn, .. } | Caller::FederatedUser { arn, .. } => arn.clone(),
            Caller::RoleSession { session_arn, .. } => session_arn.clone(),
            Caller::Service { name } => name.clone(),
            Caller::WebIdentity { provider } => provider.clone(),
            Caller::Anonymous => "anonymous".to_owned(),
        }
    }
}

/// How a matching `Principal` element names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Names only the caller's account: delegates to the account's identity policies.
    Account,
    /// Names the role behind the caller's session: limited by boundary and session policies.
    Role,
    /// Names the caller itself (user, session, service, or everyone).
    Direct,
}

/// The parsed contents of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    /// `"*"` or `{"AWS": "*"}`.
    pub everyone: bool,
    /// `AWS` values: account ids and IAM / STS ARNs.
    pub aws: Vec<String>,
    pub service: Vec<String>,
    pub federated: Vec<String>,
    pub canonical_user: Vec<String>,
}

impl PrincipalSet {
    /// How this element names `caller`, if it does.
    pub fn grant_for(&self, caller: &Caller) -> Option<Grant> {
        if self.everyone {
            return Some(Grant::Direct);
        }
        match caller {
            Caller::Service { name } => self.service.iter().any(|s| s == name).then_some(Grant::Direct),
            Caller::WebIdentity { provider } => self.federated.iter().any(|f| f == provider).then_some(Grant::Direct),
            Caller::Anonymous => None,
            Caller::Root { account } => self.names_account(account).then_some(Grant::Direct),
            Caller::User { arn, account } | Caller::FederatedUser { arn, account } => {
                if self.aws.iter().any(|value| value == arn) {
                    Some(Grant::Direct)
                } else {
                    self.names_account(account).then_some(Grant::Account)
                }
            }
            Caller::RoleSession { session_arn, role_arn, account } => {
                if self.aws.iter().any(|value| value == session_arn) {
                    Some(Grant::Direct)
                } else if self.aws.iter().any(|value| value == role_arn) {
                    Some(Grant::Role)
                } else {
                    self.names_account(account).then_some(Grant::Account)
                }
            }
        }
    }

    /// `NotPrincipal` semantics: the caller is excluded only when every identity it carries
    /// (its account, its role, itself) is listed.
    pub fn excludes(&self, caller: &Caller) -> bool {
        if self.everyone {
            return true;
        }
        let listed = |arn: &str| self.aws.iter().any(|value| value == arn);
        match caller {
            Caller::Service { name } => self.service.iter().any(|s| s == name),
            Caller::WebIdentity { provider } => self.federated.iter().any(|f| f == provider),
            Caller::Anonymous => false,
            Caller::Root { account } => self.names_account(account),
            Caller::User { arn, account } | Caller::FederatedUser { arn, account } => {
                self.names_account(account) && listed(arn)
            }
            Caller::RoleSession { session_arn, role_arn, account } => {
                self.names_account(account) && listed(role_arn) && listed(session_arn)
            }
        }
    }

    fn names_account(&self, account: &str) -> bool {
        self.aws.iter().any(|value| {
            value == account
                || arn::Arn::parse(value).is_some_and(|parsed| {
                    parsed.service == "iam" && parsed.resource == "root" && parsed.account == account
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(aws: &[&str]) -> PrincipalSet {
        PrincipalSet { aws: aws.iter().map(|s| (*s).to_owned()).collect(), ..PrincipalSet::default() }
    }

    #[test]
    fn callers_parse_from_arns() {
        assert_eq!(
            Caller::from_arn("arn:aws:sts::111122223333:assumed-role/app/i-1"),
            Some(Caller::RoleSession {
                session_arn: "arn:aws:sts::111122223333:assumed-role/app/i-1".into(),
                role_arn: "arn:aws:iam::111122223333:role/app".into(),
                account: "111122223333".into(),
            })
        );
        assert!(matches!(Caller::from_arn("arn:aws:iam::111122223333:root"), Some(Caller::Root { .. })));
        assert_eq!(Caller::from_arn("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn grants_rank_how_the_caller_is_named() {
        let session = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/app/s").unwrap();
        assert_eq!(set(&["111122223333"]).grant_for(&session), Some(Grant::Account));
        assert_eq!(set(&["arn:aws:iam::111122223333:root"]).grant_for(&session), Some(Grant::Account));
        assert_eq!(set(&["arn:aws:iam::111122223333:role/app"]).grant_for(&session), Some(Grant::Role));
        assert_eq!(set(&["arn:aws:sts::111122223333:assumed-role/app/s"]).grant_for(&session), Some(Grant::Direct));
        assert_eq!(set(&["444455556666"]).grant_for(&session), None);
    }

    #[test]
    fn not_principal_needs_the_whole_chain() {
        let bob = Caller::from_arn("arn:aws:iam::444455556666:user/Bob").unwrap();
        assert!(!set(&["arn:aws:iam::444455556666:user/Bob"]).excludes(&bob));
        assert!(set(&["arn:aws:iam::444455556666:user/Bob", "arn:aws:iam::444455556666:root"]).excludes(&bob));
    }
}
