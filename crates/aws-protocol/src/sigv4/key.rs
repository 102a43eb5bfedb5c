//! Signing keys: derived from a secret once per key, day, region and service, then cached.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A derived SigV4 signing key. It is as sensitive as the secret for its day and scope, so
/// it is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// The hex signature of `string_to_sign`.
    pub fn sign(&self, string_to_sign: &str) -> String {
        super::hex(&hmac_sha256(&self.0, string_to_sign.as_bytes()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Derives the signing key: HMAC chain over `AWS4` + secret, date, region, service,
/// `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    SigningKey(hmac_sha256(&k_service, b"aws4_request"))
}

/// Signing keys by access key id and scope, so the HMAC chain runs once per key and day
/// rather than on every request. Bounded: when full it starts over, which costs one
/// derivation per active key.
#[derive(Debug, Default)]
pub struct SigningKeyCache {
    keys: Mutex<HashMap<String, SigningKey>>,
}

/// Entries kept before the cache starts over.
const CAPACITY: usize = 16_384;

impl SigningKeyCache {
    pub fn new() -> SigningKeyCache {
        SigningKeyCache::default()
    }

    /// The signing key of `access_key_id` for the scope, derived from `secret` on a miss.
    /// The secret must be the key's current one: callers drop a key's entries with
    /// [`SigningKeyCache::forget`] when it is rotated or deleted.
    pub fn get(&self, access_key_id: &str, secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
        let id = format!("{access_key_id}/{date}/{region}/{service}");
        let mut keys = match self.keys.lock() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(key) = keys.get(&id) {
            return key.clone();
        }
        if keys.len() >= CAPACITY {
            keys.clear();
        }
        let key = signing_key(secret, date, region, service);
        keys.insert(id, key.clone());
        key
    }

    /// Forgets every cached key of an access key.
    pub fn forget(&self, access_key_id: &str) {
        let prefix = format!("{access_key_id}/");
        let mut keys = match self.keys.lock() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        };
        keys.retain(|id, _| !id.starts_with(&prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing key of AWS's documented example (secret
    /// `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, 2015-08-30, us-east-1, iam).
    #[test]
    fn derives_the_documented_signing_key() {
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
        assert_eq!(
            super::super::hex(key.as_bytes()),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
    }

    #[test]
    fn the_cache_derives_once_and_forgets_on_request() {
        let cache = SigningKeyCache::new();
        let first = cache.get("AKID", "secret", "20150830", "us-east-1", "iam");
        let again = cache.get("AKID", "other-secret-ignored-while-cached", "20150830", "us-east-1", "iam");
        assert_eq!(first, again);
        cache.forget("AKID");
        let rotated = cache.get("AKID", "other-secret", "20150830", "us-east-1", "iam");
        assert_ne!(first, rotated);
    }
}
