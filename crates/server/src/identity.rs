//! Who a request is from, once authenticated: the principal behind its key and what the
//! signature proved. Built only by `auth`; read by authorization, the cache and handlers.

use std::sync::Arc;

use iam_policy::{Caller, Policy};

/// The kind of principal behind an access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Root,
    User {
        name: String,
        user_id: String,
        path: String,
        created_at: i64,
    },
    /// A session of a role (AssumeRole), named `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    RoleSession {
        role_name: String,
        role_id: String,
        role_path: String,
        session_name: String,
    },
    /// A GetFederationToken session, named `arn:aws:sts::ACCOUNT:federated-user/NAME`: the
    /// permissions of the IAM user who asked for it (`user`: its name and unique id; `None`:
    /// root), within the session's policies (none: no permissions at all).
    FederatedUser {
        name: String,
        user: Option<(String, String)>,
    },
}

/// What temporary credentials were issued to, recorded when they are issued and kept apart
/// from what revokes them: a task's session ends with the managed instance it runs on, as the
/// instance's own does, but only the instance's own session acts as the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// GetSessionToken by the root user.
    Root,
    /// GetSessionToken by an IAM user (bound to the user's unique id, not its name).
    User,
    /// AssumeRole.
    Role,
    /// A managed instance's role credentials, issued to the instance itself over the instance
    /// protocol: the instance it is.
    Instance { instance_id: String },
    /// A task's role credentials (GetTaskCredentials): the task, not the instance it runs on.
    Task,
    /// GetFederationToken by an IAM user or root.
    Federated,
}

impl SessionKind {
    /// The `sessions.kind` column's value.
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionKind::Root => "root",
            SessionKind::User => "user",
            SessionKind::Role => "role",
            SessionKind::Instance { .. } => "instance",
            SessionKind::Task => "task",
            SessionKind::Federated => "federated",
        }
    }
}

impl Principal {
    /// The kind and lowercase name its policies are stored under (none for root).
    pub fn policy_owner(&self) -> Option<(&'static str, String)> {
        match self {
            Principal::Root => None,
            Principal::User { name, .. } => Some(("user", name.to_lowercase())),
            Principal::RoleSession { role_name, .. } => Some(("role", role_name.to_lowercase())),
            Principal::FederatedUser { user, .. } => user.as_ref().map(|(name, _)| ("user", name.to_lowercase())),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account_id: String,
    pub principal: Principal,
    pub access_key_id: String,
    /// When the caller signed with temporary credentials: when they were issued.
    pub session_issued_at: Option<i64>,
    /// When the caller signed with temporary credentials issued with an MFA code: when that
    /// code was authenticated (`aws:MultiFactorAuthAge` counts from it).
    pub mfa_authenticated_at: Option<i64>,
    /// The source identity of the session it signed with (`aws:SourceIdentity`).
    pub source_identity: Option<String>,
    /// When the caller signed with temporary credentials: what they were issued to.
    pub session_kind: Option<SessionKind>,
    /// What the session was scoped to when it was made (empty for long-term keys).
    pub scope: Arc<SessionScope>,
}

impl Identity {
    /// The managed instance the caller is, when it signed with that instance's own
    /// credentials (never a task's or anyone else's, whatever their policies allow).
    pub fn instance(&self) -> Option<&str> {
        match &self.session_kind {
            Some(SessionKind::Instance { instance_id }) => Some(instance_id),
            _ => None,
        }
    }

    /// The principal's ARN, as AWS names it in responses and errors.
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::Root => format!("arn:aws:iam::{}:root", self.account_id),
            Principal::User { name, path, .. } => user_arn(&self.account_id, path, name),
            Principal::RoleSession { role_name, session_name, .. } => {
                format!("arn:aws:sts::{}:assumed-role/{role_name}/{session_name}", self.account_id)
            }
            Principal::FederatedUser { name, .. } => federated_user_arn(&self.account_id, name),
        }
    }

    /// `aws:PrincipalArn`: the role's ARN for a role session, else the caller's ARN.
    pub fn principal_arn(&self) -> String {
        match &self.principal {
            Principal::RoleSession { role_name, role_path, .. } => {
                format!("arn:aws:iam::{}:role{role_path}{role_name}", self.account_id)
            }
            _ => self.arn(),
        }
    }

    /// The user name, or `root` for the root user (CloudTrail's `Username`).
    pub fn username(&self) -> String {
        match &self.principal {
            Principal::Root => "root".to_owned(),
            Principal::User { name, .. } => name.clone(),
            Principal::RoleSession { role_name, session_name, .. } => format!("{role_name}/{session_name}"),
            Principal::FederatedUser { name, .. } => name.clone(),
        }
    }

    /// `aws:userid`: the account id for root, the unique id for a user, `ROLEID:SESSION` for
    /// a role session.
    pub fn user_id(&self) -> String {
        match &self.principal {
            Principal::Root => self.account_id.clone(),
            Principal::User { user_id, .. } => user_id.clone(),
            Principal::RoleSession { role_id, session_name, .. } => format!("{role_id}:{session_name}"),
            Principal::FederatedUser { name, .. } => format!("{}:{name}", self.account_id),
        }
    }

    /// The unique id of the IAM principal behind the caller: the user's, the role's (not the
    /// session's), or the account id for root. Usage is bound to it, never to a name.
    pub fn principal_id(&self) -> &str {
        match &self.principal {
            Principal::Root => &self.account_id,
            Principal::User { user_id, .. } => user_id,
            Principal::RoleSession { role_id, .. } => role_id,
            Principal::FederatedUser { user, .. } => user.as_ref().map_or(&self.account_id, |(_, user_id)| user_id),
        }
    }

    /// The caller as the policy engine sees it.
    pub fn caller(&self) -> Caller {
        match &self.principal {
            Principal::Root => Caller::Root { account: self.account_id.clone() },
            Principal::User { .. } => Caller::User { arn: self.arn(), account: self.account_id.clone() },
            Principal::RoleSession { .. } => Caller::RoleSession {
                session_arn: self.arn(),
                role_arn: self.principal_arn(),
                account: self.account_id.clone(),
            },
            Principal::FederatedUser { .. } => {
                Caller::FederatedUser { arn: self.arn(), account: self.account_id.clone() }
            }
        }
    }
}

/// `arn:aws:sts::ACCOUNT:federated-user/NAME`.
pub fn federated_user_arn(account_id: &str, name: &str) -> String {
    format!("arn:aws:sts::{account_id}:federated-user/{name}")
}

pub fn user_arn(account_id: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:user{path}{name}")
}

/// A role session's session policies (AssumeRole's `Policy` and `PolicyArns`) and session
/// tags. Empty for every other caller.
#[derive(Debug, Clone, Default)]
pub struct SessionScope {
    pub policies: Vec<(String, std::sync::Arc<Policy>)>,
    pub tags: Vec<(String, String)>,
    /// The keys of `tags` that pass on to the sessions this one chains to.
    pub transitive: Vec<String>,
}

/// What a request's global condition keys describe beyond its caller: where it came from.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub source_ip: String,
    pub region: String,
}
