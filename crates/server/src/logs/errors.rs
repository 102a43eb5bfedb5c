//! CloudWatch Logs' error codes, as its service model (`logs/2014-03-28`) defines them: every
//! operation's own errors, and `ServiceUnavailableException` (a fault, HTTP 500), the failure
//! every operation Homeport serves lists, for a failure that is Homeport's. (The model's
//! `InternalServerException` belongs to newer operations only.) Codes are rendered in awsJson
//! as `__type` by the pipeline.

use aws_protocol::AwsError;

use crate::logs::model::ModelError;

/// A failure of the model (the store's) is Homeport's: logged, and answered as
/// [`internal_error`] by the pipeline.
impl From<ModelError> for AwsError {
    fn from(error: ModelError) -> AwsError {
        crate::operations::internal(error)
    }
}

/// CloudWatch Logs' answer to a failure that is Homeport's, not the caller's: the pipeline
/// renders [`crate::operations::internal`] in this shape for every Logs operation.
pub fn internal_error() -> AwsError {
    AwsError::new(
        "ServiceUnavailableException",
        500,
        "The server failed to process the request because of an internal error; retry it, and if it keeps failing, the server's log records the cause.",
    )
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", 400, message)
}

/// A member that fails the service model's constraint, in CloudWatch's words.
pub fn validation(member: &str, value: &str, constraint: &str) -> AwsError {
    invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

pub fn no_group() -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, "The specified log group does not exist.")
}

pub fn no_stream() -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, "The specified log stream does not exist.")
}

/// CloudWatch Logs' answer for a destination that does not exist.
pub fn no_destination() -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, "The specified destination does not exist.")
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_logs_service_unavailable_exception() {
        internal_as_answered(&super::super::SERVICE, "ServiceUnavailableException", 500);
    }
}
