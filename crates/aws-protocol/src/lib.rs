//! AWS wire protocols for Homeport: SigV4 request verification, the awsQuery codec, the
//! awsJson body decoder, the event-stream message format and the AWS error shapes.
//!
//! Nothing here touches sockets, clocks or storage: the server hands in a request as plain
//! strings and bytes, looks keys up itself, and renders errors through [`AwsError`].

pub mod error;
pub mod event_stream;
pub mod json;
#[cfg(test)]
mod load_shape;
pub mod query;
pub mod sigv4;

pub use error::{AwsError, Protocol};
pub use sigv4::{AuthError, Claim, HttpRequest, SigningKey, SigningKeyCache};
