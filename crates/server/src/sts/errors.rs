//! STS's error codes. Its service model (`sts/2011-06-15`) defines no fault of its own, so a
//! failure that is Homeport's is AWS's common `InternalFailure` (HTTP 500, `Receiver`),
//! rendered in awsQuery XML with STS's namespace by the pipeline.

use aws_protocol::AwsError;

/// STS's answer to a failure that is Homeport's, not the caller's: the pipeline renders
/// [`crate::operations::internal`] in this shape for every STS operation.
pub fn internal_error() -> AwsError {
    AwsError::new(
        "InternalFailure",
        500,
        "The server failed to process the request because of an internal error; retry it, and if it keeps failing, the server's log records the cause.",
    )
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_the_common_internal_failure() {
        internal_as_answered(&super::super::SERVICE, "InternalFailure", 500);
    }
}
