//! IAM's error codes, as its service model (`iam/2010-05-08`) defines them, for the errors
//! several of its operations share: `ServiceFailure` (HTTP 500, `Receiver`) for a failure
//! that is Homeport's, and `ConcurrentModification`. Codes are rendered in awsQuery XML by
//! the pipeline.

use aws_protocol::AwsError;

/// IAM's answer to a failure that is Homeport's, not the caller's: the pipeline renders the
/// service-neutral internal failure in this shape for every IAM operation.
pub fn internal_error() -> AwsError {
    AwsError::new("ServiceFailure", 500, "The request processing has failed because of an unknown error.")
}

/// IAM's answer when concurrent calls kept changing what a request depends on.
pub(crate) fn concurrent_modification() -> AwsError {
    AwsError::new(
        "ConcurrentModification",
        409,
        "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.",
    )
}

/// IAM's NoSuchEntity for a user.
pub fn no_such_user(name: &str) -> AwsError {
    super::entities::no_such(super::entities::Kind::User, name)
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_iams_service_failure() {
        let error = internal_as_answered(&super::super::SERVICE, "ServiceFailure", 500);
        assert_eq!(error.message, "The request processing has failed because of an unknown error.");
    }
}
