//! SSM's error codes, as its service model (`ssm/2014-11-06`) defines them: every operation's
//! own errors, and `InternalServerError` (a fault, HTTP 500) for a failure that is Homeport's,
//! the instance protocol's calls included. Codes are rendered in awsJson as `__type` by the
//! pipeline.

use aws_protocol::AwsError;

use crate::ssm::model::ModelError;

/// A failure of the model (the store's) is Homeport's: logged, and answered as
/// [`internal_error`] by the pipeline.
impl From<ModelError> for AwsError {
    fn from(error: ModelError) -> AwsError {
        crate::operations::internal(error)
    }
}

/// SSM's answer to a failure that is Homeport's, not the caller's: the pipeline renders
/// [`crate::operations::internal`] in this shape for every SSM call.
pub fn internal_error() -> AwsError {
    AwsError::new(
        "InternalServerError",
        500,
        "The server failed to process the request because of an internal error; retry it, and if it keeps failing, the server's log records the cause.",
    )
}

pub fn validation_exception(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", 400, message)
}

pub fn invalid_parameters(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameters", 400, message)
}

/// SSM's answer to more than [`super::TAGS_PER_RESOURCE`] tags on a resource.
pub fn too_many_tags() -> AwsError {
    AwsError::new(
        "TooManyTagsError",
        400,
        "The Targets parameter includes too many tags. Remove one or more tags and try the command again.",
    )
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_ssm_internal_server_error() {
        internal_as_answered(&super::super::SERVICE, "InternalServerError", 500);
    }
}
