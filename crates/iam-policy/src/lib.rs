//! The IAM policy engine: parse, validate, evaluate and explain IAM policy documents exactly
//! as AWS IAM does.
//!
//! A pure library: no I/O, no clock, no globals. The caller passes the request, including
//! the time and every other context key, and gets back a [`Decision`] with the statements
//! that decided it. Evaluation never fails and never panics: a piece of a policy that cannot
//! be evaluated simply does not match.
//!
//! ```
//! use iam_policy::{Caller, Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, decide};
//!
//! let policy = Policy::parse(r#"{"Version": "2012-10-17", "Statement": {
//!     "Effect": "Allow", "Action": "iam:GetUser",
//!     "Resource": "arn:aws:iam::111122223333:user/${aws:username}"}}"#).unwrap();
//! let identity = [PolicyRef { id: "self-service", policy: &policy }];
//! let policies = PolicySet { identity: &identity, ..PolicySet::default() };
//! let caller = Caller::from_arn("arn:aws:iam::111122223333:user/bob").unwrap();
//! let context = Context::new().with("aws:username", "bob");
//!
//! let own = Request::new("iam:GetUser", "arn:aws:iam::111122223333:user/bob", Some(&caller), &context);
//! assert_eq!(decide(&policies, &own).decision, EvalDecision::Allowed);
//! let other = Request::new("iam:GetUser", "arn:aws:iam::111122223333:user/alice", Some(&caller), &context);
//! assert_eq!(decide(&policies, &other).decision, EvalDecision::ImplicitDeny);
//! ```

pub mod access;
mod action_index;
pub mod analyzer;
pub mod arn;
pub mod condition;
pub mod context;
pub mod decision;
pub mod document;
pub mod error;
pub mod eval;
pub mod json;
pub mod lint;
pub mod pattern;
pub mod principal;
pub mod simulate;
pub mod validate;
pub mod variables;

pub use context::{Context, ContextValue};
pub use decision::{
    Decision, DenyReason, EvalDecision, MatchedStatement, PolicyRef, PolicySet, PolicyType, ResourcePolicyKind, decide,
};
pub use document::{Effect, Policy, Statement, Version};
pub use error::{ErrorCode, PolicyError};
pub use eval::Request;
pub use lint::{Finding, FindingType};
pub use principal::{Caller, Grant};
pub use validate::{PolicyKind, SizeQuota, Validated, policy_size, validate};
