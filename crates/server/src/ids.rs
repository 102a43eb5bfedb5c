//! Identifiers and timestamps in AWS's formats, from the operating system's randomness and
//! clock (the only place the server reads either).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

/// `2026-11-28T03:04:13Z`.
pub fn iso8601(seconds: i64) -> String {
    aws_protocol::sigv4::format_iso8601(seconds)
}

/// The operating system could not supply randomness: nothing secret can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system could not supply random bytes")]
pub struct NoRandomness;

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_from(alphabet: &[u8], len: usize) -> Result<String, NoRandomness> {
    let limit = 256 - 256 % alphabet.len().max(1);
    let mut out = String::with_capacity(len);
    let mut buffer = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buffer).map_err(|_| NoRandomness)?;
        for &byte in buffer.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == len {
                break;
            }
            if let Some(&ch) = alphabet.get(usize::from(byte) % alphabet.len()) {
                out.push(char::from(ch));
            }
        }
    }
    Ok(out)
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A long-term access key id: `AKIA` and 16 base-32 characters.
pub fn access_key_id() -> Result<String, NoRandomness> {
    Ok(format!("AKIA{}", random_from(BASE32, 16)?))
}

/// A temporary access key id: `ASIA` and 16 base-32 characters.
pub fn temporary_access_key_id() -> Result<String, NoRandomness> {
    Ok(format!("ASIA{}", random_from(BASE32, 16)?))
}

/// A 40-character secret access key.
pub fn secret_access_key() -> Result<String, NoRandomness> {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
}

/// A session token for temporary credentials: 256 random characters.
pub fn session_token() -> Result<String, NoRandomness> {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 256)
}

/// A unique id with an IAM prefix such as `AIDA` (users) or `AROA` (roles): 21 characters.
pub fn unique_id(prefix: &str) -> Result<String, NoRandomness> {
    Ok(format!("{prefix}{}", random_from(BASE32, 17)?))
}

/// A request id in UUID form.
pub fn request_id() -> Result<String, NoRandomness> {
    uuid()
}

/// A random (version 4) UUID: `xxxxxxxx-xxxx-4xxx-axxx-xxxxxxxxxxxx`.
pub fn uuid() -> Result<String, NoRandomness> {
    let hex = random_from(b"0123456789abcdef", 32)?;
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    Ok(format!("{}-{}-4{}-a{}-{}", part(0..8), part(8..12), part(13..16), part(17..20), part(20..32)))
}

/// An SSM activation code: 20 letters and digits.
pub fn activation_code() -> Result<String, NoRandomness> {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 20)
}

/// A managed instance id: `mi-` and 17 hex digits.
pub fn managed_instance_id() -> Result<String, NoRandomness> {
    Ok(format!("mi-{}", random_from(b"0123456789abcdef", 17)?))
}

/// A 12-digit account id not starting with 0.
pub fn account_id() -> Result<String, NoRandomness> {
    Ok(format!("{}{}", random_from(b"123456789", 1)?, random_from(b"0123456789", 11)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_have_aws_shapes() {
        let key = access_key_id().unwrap();
        assert!(key.starts_with("AKIA") && key.len() == 20 && key.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(secret_access_key().unwrap().len(), 40);
        assert_eq!(unique_id("AIDA").unwrap().len(), 21);
        assert_eq!(request_id().unwrap().len(), 36);
        let account = account_id().unwrap();
        assert!(account.len() == 12 && !account.starts_with('0'));
        assert_ne!(access_key_id().unwrap(), access_key_id().unwrap());
    }
}
