//! CloudTrail's error codes. Its service model (`cloudtrail/2013-11-01`) defines no fault, so
//! a failure that is Homeport's is AWS's common `InternalFailure` (HTTP 500); LookupEvents'
//! own errors are all the caller's (HTTP 400). Codes are rendered in awsJson as `__type` by
//! the pipeline.

use aws_protocol::AwsError;

/// CloudTrail's answer to a failure that is Homeport's, not the caller's: the pipeline
/// renders [`crate::operations::internal`] in this shape for LookupEvents.
pub fn internal_error() -> AwsError {
    AwsError::new(
        "InternalFailure",
        500,
        "The server failed to process the request because of an internal error; retry it, and if it keeps failing, the server's log records the cause.",
    )
}

/// One of LookupEvents' own errors (`InvalidTimeRangeException`, ...): the caller's.
pub fn invalid(code: &str, message: &str) -> AwsError {
    AwsError::new(code, 400, message)
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_the_common_internal_failure() {
        internal_as_answered(&super::super::SERVICE, "InternalFailure", 500);
    }
}
