//! ECR's error codes, as its service model (`ecr/2015-09-21`) defines them: every operation's
//! own errors, and `ServerException` (a fault, HTTP 500) for a failure that is Homeport's.
//! Codes are rendered in awsJson as `__type` by the pipeline; the `/v2` registry answers in
//! the Docker registry's own error shapes (`registry`).

use aws_protocol::AwsError;

use crate::app::App;
use crate::ecr::model::ModelError;
use crate::ecr::model::image::ManifestError;

/// A failure of the model is Homeport's: logged, and answered as [`internal_error`] by the
/// pipeline (a policy's principals that could not be read are answered as they were).
impl From<ModelError> for AwsError {
    fn from(error: ModelError) -> AwsError {
        match error {
            ModelError::Principals(error) => error,
            other => crate::operations::internal(other),
        }
    }
}

/// A refused manifest, in ECR's words: the member that is wrong, and why.
impl From<ManifestError> for AwsError {
    fn from(error: ManifestError) -> AwsError {
        let member = if error.of_media_type() { "imageManifestMediaType" } else { "imageManifest" };
        invalid_parameter(format!("Invalid parameter at '{member}' failed to satisfy constraint: '{error}'"))
    }
}

/// ECR's answer to a failure that is Homeport's, not the caller's: the pipeline renders
/// [`crate::operations::internal`] in this shape for every ECR operation.
pub fn internal_error() -> AwsError {
    AwsError::new(
        "ServerException",
        500,
        "The server failed to process the request because of an internal error; retry it, and if it keeps failing, the server's log records the cause.",
    )
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", 400, message)
}

/// A member that fails the service model's constraint, in ECR's words.
pub fn invalid_member(member: &str, value: &str, constraint: &str) -> AwsError {
    invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

pub fn repository_not_found(app: &App, name: &str) -> AwsError {
    AwsError::new(
        "RepositoryNotFoundException",
        400,
        format!("The repository with name '{name}' does not exist in the registry with id '{}'", app.account_id),
    )
}

/// ECR's ImageNotFoundException for an `ImageIdentifier` of repository `name`.
pub fn image_not_found(account: &str, name: &str, id: &serde_json::Value) -> AwsError {
    let shown = |member: &str| id.get(member).and_then(serde_json::Value::as_str).unwrap_or("null").to_owned();
    AwsError::new(
        "ImageNotFoundException",
        400,
        format!(
            "The image with imageId {{imageDigest:'{}', imageTag:'{}'}} does not exist within the repository with name '{name}' in the registry with id '{account}'",
            shown("imageDigest"),
            shown("imageTag"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::operations::tests::internal_as_answered;

    #[test]
    fn an_internal_failure_is_ecr_server_exception() {
        internal_as_answered(&super::super::SERVICE, "ServerException", 500);
    }
}
