//! ECS's error codes, as its service model (`ecs/2014-11-13`) defines them: every operation's
//! own errors, and `ServerException` (a fault, HTTP 500) for a failure that is Homeport's.
//! Codes are rendered in awsJson as `__type` by the pipeline.

use aws_protocol::AwsError;

/// A failure that is Homeport's (the store's), logged and answered as
/// [`internal_error`] by the pipeline: what the model (`ecs::model`) returns for it.
pub(crate) use crate::operations::internal;

/// ECS's answer to a failure that is Homeport's, not the caller's: the pipeline renders
/// [`crate::operations::internal`] in this shape for every ECS operation.
pub fn internal_error() -> AwsError {
    server(
        "The server failed to process the request because of an internal error; retry it, and if it keeps failing, the server's log records the cause.",
    )
}

/// `ServerException`: the server could not finish a valid request (the caller may retry).
pub fn server(message: impl Into<String>) -> AwsError {
    AwsError::new("ServerException", 500, message)
}

pub fn client(message: impl Into<String>) -> AwsError {
    AwsError::new("ClientException", 400, message)
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", 400, message)
}

pub fn cluster_not_found() -> AwsError {
    AwsError::new("ClusterNotFoundException", 400, "Cluster not found.")
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_ecs_server_exception() {
        internal_as_answered(&super::super::SERVICE, "ServerException", 500);
    }
}
