//! Console passwords and generated service secrets, pure: the account password policy (its
//! members and AWS's defaults), whether a password conforms to it, and the slow salted hash
//! every password and service secret is kept as (PBKDF2-HMAC-SHA256 from aws-lc-rs).
//!
//! Guarantees: a password or secret never leaves this module other than as its hash; a hash
//! is checked in constant time; hashing costs [`ITERATIONS`] rounds, so callers run it off the
//! request's thread ([`hash_blocking`], [`verify_blocking`]).

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};

/// PBKDF2 rounds (OWASP's 2023 figure for PBKDF2-HMAC-SHA256 is 600,000; this is a sixth of it,
/// since every CreateLoginProfile, ChangePassword and reuse check pays it on a small server).
pub(crate) const ITERATIONS: u32 = 100_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// The characters IAM counts as symbols (`RequireSymbols`).
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// The account password policy, as UpdateAccountPasswordPolicy sets it (an omitted member
/// takes its default: length 6, nothing required, no expiry, no reuse rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordPolicy {
    pub minimum_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    /// Days a password is valid (`None`: passwords never expire).
    pub max_age: Option<u32>,
    /// How many earlier passwords may not be reused.
    pub reuse_prevention: Option<u32>,
    pub hard_expiry: bool,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            minimum_length: 6,
            require_symbols: false,
            require_numbers: false,
            require_uppercase: false,
            require_lowercase: false,
            allow_users_to_change: false,
            max_age: None,
            reuse_prevention: None,
            hard_expiry: false,
        }
    }
}

/// Whether `password` meets `policy` (the account's), or, when the account has none, AWS's
/// default policy: at least 8 characters, three of the four kinds (uppercase, lowercase,
/// numbers, symbols), and not the user's name.
pub(crate) fn conforms(policy: Option<&PasswordPolicy>, password: &str, user_name: &str) -> bool {
    let length = password.chars().count();
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let number = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    match policy {
        Some(policy) => {
            length >= usize::try_from(policy.minimum_length).unwrap_or(usize::MAX)
                && (upper || !policy.require_uppercase)
                && (lower || !policy.require_lowercase)
                && (number || !policy.require_numbers)
                && (symbol || !policy.require_symbols)
        }
        None => {
            let kinds = [upper, lower, number, symbol].into_iter().filter(|kind| *kind).count();
            length >= 8 && kinds >= 3 && !password.eq_ignore_ascii_case(user_name)
        }
    }
}

fn rounds() -> NonZeroU32 {
    NonZeroU32::new(ITERATIONS).unwrap_or(NonZeroU32::MIN)
}

/// The stored form of a secret: `pbkdf2-sha256$ROUNDS$SALT$HASH` (base64, no padding).
pub(crate) fn hash(secret: &str) -> Result<String, getrandom::Error> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt)?;
    let mut out = [0u8; HASH_LEN];
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, rounds(), &salt, secret.as_bytes(), &mut out);
    Ok(format!("pbkdf2-sha256${ITERATIONS}${}${}", STANDARD_NO_PAD.encode(salt), STANDARD_NO_PAD.encode(out)))
}

/// Whether `secret` is the one `stored` was made from (false for a form it cannot read).
pub(crate) fn verify(stored: &str, secret: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(rounds), Ok(salt), Ok(expected)) = (
        rounds.parse::<u32>().ok().and_then(NonZeroU32::new),
        STANDARD_NO_PAD.decode(salt),
        STANDARD_NO_PAD.decode(expected),
    ) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, secret.as_bytes(), &expected).is_ok()
}

/// [`hash`] on the blocking pool.
pub(crate) async fn hash_blocking(secret: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash(&secret))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())
}

/// Whether `secret` matches any of `stored`, on the blocking pool.
pub(crate) async fn verify_blocking(stored: Vec<String>, secret: String) -> Result<bool, String> {
    tokio::task::spawn_blocking(move || stored.iter().any(|hash| verify(hash, &secret)))
        .await
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_only_and_is_salted() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("pbkdf2-sha256$100000$"));
        assert!(!stored.contains("correct"));
        assert!(verify(&stored, "correct horse"));
        assert!(!verify(&stored, "correct horsE"));
        assert_ne!(hash("correct horse").unwrap(), stored, "a fresh salt each time");
        for bad in ["", "pbkdf2-sha256$0$AA$AA", "md5$1$AA$AA", "pbkdf2-sha256$1$!!$AA"] {
            assert!(!verify(bad, "x"), "{bad}");
        }
    }

    #[test]
    fn the_policy_or_awss_default_decides() {
        // AWS's default: 8 characters, three kinds, not the user's name.
        assert!(conforms(None, "Abcdefg1", "bob"));
        assert!(!conforms(None, "abcdefg1", "bob"), "two kinds");
        assert!(!conforms(None, "Abcde1", "bob"), "too short");
        assert!(!conforms(None, "Bobby123!", "bobby123!"), "the user's name");
        let strict = PasswordPolicy {
            minimum_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            ..PasswordPolicy::default()
        };
        assert!(conforms(Some(&strict), "Abcdefghij1!", "bob"));
        assert!(!conforms(Some(&strict), "Abcdefghij1?", "bob"), "? is not one of IAM's symbols");
        assert!(!conforms(Some(&strict), "Abcdefgh1!", "bob"), "too short");
        assert!(conforms(Some(&PasswordPolicy::default()), "aaaaaa", "bob"), "the default asks only for 6");
    }
}
