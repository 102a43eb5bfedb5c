//! The instance's Ed25519 key pair and the `HOMEPORT-ED25519` authorization it signs.
//!
//! The private key is born here from 32 bytes of the operating system's randomness, lives
//! in `instance.key` (see [`crate::state`]) and is never sent, printed or logged; only the
//! public key goes to the control plane, at registration. The seed is wiped from memory
//! when the key is dropped.
//!
//! What a token request carries (`docs/instance-protocol.md`):
//! `Authorization: HOMEPORT-ED25519 InstanceId=mi-..., Timestamp=YYYYMMDDTHHMMSSZ, Signature=BASE64`,
//! the signature covering [`string_to_sign`].

use std::fmt;

use aws_protocol::sigv4::{format_amz_date, sha256_hex};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use zeroize::Zeroizing;

/// The scheme of the `Authorization` header and the first line of what is signed.
pub const SCHEME: &str = "HOMEPORT-ED25519";

/// The key type registration declares.
pub const PUBLIC_KEY_TYPE: &str = "Ed25519";

/// The instance's private key.
pub struct InstanceKey(SigningKey);

/// Why a key could not be made or read. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The operating system would not provide random bytes.
    #[error("cannot get random bytes for a key: {0}")]
    NoRandomness(String),
    /// `instance.key` does not hold a base64 32-byte seed.
    #[error("the instance key file does not hold a base64 Ed25519 seed")]
    Malformed,
}

impl InstanceKey {
    /// A new key from 32 random bytes.
    pub fn generate() -> Result<InstanceKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut()).map_err(|error| KeyError::NoRandomness(error.to_string()))?;
        Ok(InstanceKey(SigningKey::from_bytes(&seed)))
    }

    /// The key whose seed [`InstanceKey::seed_text`] wrote.
    pub fn from_seed_text(text: &str) -> Result<InstanceKey, KeyError> {
        let bytes = Zeroizing::new(BASE64.decode(text.trim()).map_err(|_| KeyError::Malformed)?);
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.as_slice().try_into().map_err(|_| KeyError::Malformed)?);
        Ok(InstanceKey(SigningKey::from_bytes(&seed)))
    }

    /// The seed as the key file holds it: base64 and a newline.
    pub fn seed_text(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(format!("{}\n", BASE64.encode(seed.as_ref())))
    }

    /// The 32-byte public key in base64, as `RegisterManagedInstance` takes it.
    pub fn public_key_base64(&self) -> String {
        BASE64.encode(self.0.verifying_key().to_bytes())
    }

    /// The `Authorization` header value for a token request with `body`, at `now` (seconds
    /// since the epoch).
    pub fn authorization(&self, instance_id: &str, now: i64, body: &[u8]) -> String {
        let timestamp = format_amz_date(now);
        let signature = self.0.sign(string_to_sign(&timestamp, instance_id, body).as_bytes());
        format!(
            "{SCHEME} InstanceId={instance_id}, Timestamp={timestamp}, Signature={}",
            BASE64.encode(signature.to_bytes())
        )
    }
}

impl fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceKey(public {})", self.public_key_base64())
    }
}

/// What the instance signs: the scheme, the timestamp, the instance id and the hex SHA-256
/// of the body, one per line.
pub fn string_to_sign(timestamp: &str, instance_id: &str, body: &[u8]) -> String {
    format!("{SCHEME}\n{timestamp}\n{instance_id}\n{}", sha256_hex(body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    use super::*;

    #[test]
    fn the_string_to_sign_is_the_protocols() {
        assert_eq!(
            string_to_sign("20261128T045000Z", "mi-0123456789abcdef0", b""),
            "HOMEPORT-ED25519\n20261128T045000Z\nmi-0123456789abcdef0\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_authorization_verifies_with_the_registered_public_key() {
        let key = InstanceKey::generate().unwrap();
        let body = br#"{"Fingerprint":"f"}"#;
        let header = key.authorization("mi-0123456789abcdef0", 1_795_000_000, body);
        let rest = header.strip_prefix("HOMEPORT-ED25519 ").unwrap();
        let fields: Vec<(&str, &str)> = rest.split(", ").map(|field| field.split_once('=').unwrap()).collect();
        assert_eq!(fields[0], ("InstanceId", "mi-0123456789abcdef0"));
        assert_eq!(fields[1], ("Timestamp", "20261118T110640Z"));
        assert_eq!(fields[2].0, "Signature");

        // What the control plane does: the public key from registration, the signature from
        // the header (base64 keeps its `=` padding past the first `=`).
        let signature_text = rest.split_once("Signature=").unwrap().1;
        let public: [u8; 32] = BASE64.decode(key.public_key_base64()).unwrap().try_into().unwrap();
        let signature: [u8; 64] = BASE64.decode(signature_text).unwrap().try_into().unwrap();
        let verifying = VerifyingKey::from_bytes(&public).unwrap();
        let message = string_to_sign("20261118T110640Z", "mi-0123456789abcdef0", body);
        verifying.verify(message.as_bytes(), &Signature::from_bytes(&signature)).unwrap();
        assert!(verifying.verify(b"another message", &Signature::from_bytes(&signature)).is_err());
    }

    #[test]
    fn the_seed_round_trips_and_nothing_else_is_a_key() {
        let key = InstanceKey::generate().unwrap();
        let again = InstanceKey::from_seed_text(&key.seed_text()).unwrap();
        assert_eq!(again.public_key_base64(), key.public_key_base64());
        assert_ne!(InstanceKey::generate().unwrap().public_key_base64(), key.public_key_base64());
        for bad in ["", "not base64!", "c2VlZA==", &BASE64.encode([0u8; 33])] {
            assert_eq!(InstanceKey::from_seed_text(bad).unwrap_err(), KeyError::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_only_the_public_key() {
        let key = InstanceKey::generate().unwrap();
        let seed = key.seed_text();
        let shown = format!("{key:?}");
        assert!(!shown.contains(seed.trim()), "{shown}");
        assert!(shown.contains(&key.public_key_base64()));
    }
}
