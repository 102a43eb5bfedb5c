//! Homeport's own failures, in every service: a start that cannot proceed, and a request
//! that failed for a reason that is the server's, not the caller's. Service-specific codes
//! live in each service's `errors` module.

use aws_protocol::AwsError;

/// Why the server cannot start, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

pub(crate) fn start_error(context: &str) -> impl Fn(&dyn std::fmt::Display) -> StartError + '_ {
    move |error| StartError(format!("{context}: {error}"))
}

/// AWS's common code for a failure that is the service's, which [`internal`] answers with
/// until [`in_service`] renders it as the operation's service models it.
pub(crate) const INTERNAL_FAILURE: &str = "InternalFailure";

/// A failure that is Homeport's, not the caller's: logged here, reported without internals.
///
/// It is service-neutral (AWS's common `InternalFailure`, HTTP 500): the pipeline answers it
/// in the code, status and message of the service the request reached ([`in_service`]), so
/// no handler names its service's internal error.
pub fn internal(error: impl std::fmt::Display) -> AwsError {
    tracing::error!("internal error: {error}");
    AwsError::new(INTERNAL_FAILURE, 500, "The request processing has failed because of an unknown error.")
}

/// AWS's ValidationError, for a request whose input breaks a constraint.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", 400, message)
}
