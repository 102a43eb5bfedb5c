//! Why a policy document is refused, in IAM's own error codes and words.

use std::fmt;

use crate::json::Span;

/// The IAM error code a refusal maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The document breaks the grammar or the rules of its policy kind.
    MalformedPolicyDocument,
    /// The document is larger than its quota.
    LimitExceeded,
    /// The document holds characters outside IAM's allowed set.
    ValidationError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::ValidationError => "ValidationError",
        }
    }
}

/// A refused policy document: the code, IAM's message, and where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub code: ErrorCode,
    pub message: String,
    pub span: Option<Span>,
}

impl PolicyError {
    pub(crate) fn malformed(message: impl Into<String>) -> PolicyError {
        PolicyError { code: ErrorCode::MalformedPolicyDocument, message: message.into(), span: None }
    }

    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> PolicyError {
        PolicyError { code, message: message.into(), span: None }
    }

    pub(crate) fn at(mut self, span: Span) -> PolicyError {
        self.span = Some(span);
        self
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for PolicyError {}
