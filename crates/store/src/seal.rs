//! Secrets at rest: AES-256-GCM with a key kept apart from the database.
//!
//! A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext+tag`. Sealing binds
//! the value to a context (for a secret access key, its access key id), so a ciphertext
//! copied into another row does not open. The key lives in a file of the data directory
//! (mode 0600) or comes from the environment, never in the database: a copy of the database
//! alone reveals no secret.
//!
//! Other keys are derived from it for one purpose each ([`Sealer::derive_key`]:
//! HMAC-SHA256 of the purpose under the master key), such as the key the registry's blobs
//! are encrypted with: a derived key reveals neither the master key nor another purpose's.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why a sealed value could not be opened, or the key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The value was not sealed with this key and context, or was altered.
    Tampered,
    /// The key is missing or malformed; the message says how to fix it.
    Key(String),
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Tampered => f.write_str("the sealed value does not open with this key"),
            SealError::Key(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for SealError {}

/// Seals and opens secrets with one key.
pub struct Sealer {
    cipher: Aes256Gcm,
    /// The master key itself, only to derive keys from ([`Sealer::derive_key`]).
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer from 32 key bytes.
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer { cipher: Aes256Gcm::new(key.into()), key: *key }
    }

    /// A sealer from 64 hex digits (as kept in the key file or an environment variable).
    pub fn from_hex(text: &str) -> Result<Sealer, SealError> {
        let text = text.trim();
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|index| text.get(index..index + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect();
        let key: [u8; 32] = bytes
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| SealError::Key("the master key must be 64 hexadecimal digits (32 bytes)".to_owned()))?;
        Ok(Sealer::new(&key))
    }

    /// Loads the key from `path`, creating it (random, mode 0600) on first use.
    pub fn from_key_file(path: &Path) -> Result<Sealer, SealError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Sealer::from_hex(&text).map_err(|_| {
                SealError::Key(format!("{} is not a valid master key (64 hexadecimal digits)", path.display()))
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::getrandom(&mut key).map_err(|error| SealError::Key(format!("no randomness: {error}")))?;
                let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
                write_private(path, &format!("{hex}\n"))
                    .map_err(|error| SealError::Key(format!("cannot create {}: {error}", path.display())))?;
                Ok(Sealer::new(&key))
            }
            Err(error) => Err(SealError::Key(format!("cannot read {}: {error}", path.display()))),
        }
    }

    /// A short public name for this key (16 hex digits), to say which key is which in a
    /// message: the start of an AES-GCM tag over a fixed label, which reveals nothing about
    /// the key (it is not a hash of it). The all-zero nonce is used for this one fixed input
    /// only; sealing draws random nonces.
    pub fn key_id(&self) -> String {
        let tag = self
            .cipher
            .encrypt(Nonce::from_slice(&[0u8; NONCE_LEN]), Payload { msg: b"", aad: b"homeport master key id" })
            .unwrap_or_default();
        tag.iter().take(8).map(|byte| format!("{byte:02x}")).collect()
    }

    /// A key for one `purpose` (a fixed label, such as `registry blobs`): HMAC-SHA256 of the
    /// purpose under the master key. The same master key and purpose give the same key;
    /// another purpose, or another master key, an unrelated one.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        use hmac::Mac as _;
        // HMAC pads a key shorter than the hash's block (64 bytes) with zeros.
        let block: [u8; 64] = std::array::from_fn(|index| self.key.get(index).copied().unwrap_or(0));
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&block.into());
        mac.update(b"homeport derived key\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `secret` for `context`.
    pub fn seal(&self, secret: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|error| SealError::Key(format!("no randomness: {error}")))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: context.as_bytes() })
            .map_err(|_| SealError::Tampered)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let (Some(&VERSION), Some(nonce), Some(ciphertext)) =
            (sealed.first(), sealed.get(1..1 + NONCE_LEN), sealed.get(1 + NONCE_LEN..))
        else {
            return Err(SealError::Tampered);
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| SealError::Tampered)
    }
}

/// AES-256-GCM over a stream cut into chunks (the STREAM construction), for one file: each
/// chunk is sealed with its index and whether it is the last in the nonce, so a chunk moved,
/// dropped or repeated does not open, and neither does a stream cut short before its last
/// chunk. The file's key is derived from a stream key and the file's own random salt
/// (HMAC-SHA256), so nonces never repeat under one key across files.
pub struct ChunkCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for ChunkCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkCipher(..)")
    }
}

/// The bytes a sealed chunk adds to its plaintext (the GCM tag).
pub const CHUNK_TAG_LEN: usize = 16;

/// What every chunk is authenticated with, beside its position.
const CHUNK_AAD: &[u8] = b"homeport chunked stream v1";

impl ChunkCipher {
    /// The cipher of the file whose random `salt` is given, under `key`.
    pub fn for_file(key: &[u8; 32], salt: &[u8]) -> ChunkCipher {
        use hmac::Mac as _;
        let block: [u8; 64] = std::array::from_fn(|index| key.get(index).copied().unwrap_or(0));
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&block.into());
        mac.update(b"homeport chunk file key\0");
        mac.update(salt);
        let file_key: [u8; 32] = mac.finalize().into_bytes().into();
        ChunkCipher { cipher: Aes256Gcm::new(&file_key.into()) }
    }

    fn nonce(index: u64, last: bool) -> [u8; NONCE_LEN] {
        let counter = index.to_be_bytes();
        std::array::from_fn(|at| match at {
            0..8 => counter.get(at).copied().unwrap_or(0),
            11 => u8::from(last),
            _ => 0,
        })
    }

    /// Seals chunk `index` (from 0) of the stream; `last` for its final chunk.
    pub fn seal_chunk(&self, index: u64, last: bool, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        self.cipher
            .encrypt(Nonce::from_slice(&Self::nonce(index, last)), Payload { msg: plaintext, aad: CHUNK_AAD })
            .map_err(|_| SealError::Tampered)
    }

    /// Opens chunk `index` of the stream, which must be the final one if `last`.
    pub fn open_chunk(&self, index: u64, last: bool, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.cipher
            .decrypt(Nonce::from_slice(&Self::nonce(index, last)), Payload { msg: sealed, aad: CHUNK_AAD })
            .map_err(|_| SealError::Tampered)
    }
}

/// Writes a file only its owner can read, failing if it already exists.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let sealer = Sealer::new(&[7; 32]);
        let sealed = sealer.seal(b"wJalrXUtnFEMI/K7MDENG", "AKIAEXAMPLE").unwrap();
        assert!(!sealed.windows(8).any(|window| window == b"wJalrXUt"), "no plaintext in the sealed value");
        assert_eq!(sealer.open(&sealed, "AKIAEXAMPLE").unwrap(), b"wJalrXUtnFEMI/K7MDENG");
        assert_eq!(sealer.open(&sealed, "AKIAOTHER"), Err(SealError::Tampered));
        assert_eq!(Sealer::new(&[8; 32]).open(&sealed, "AKIAEXAMPLE"), Err(SealError::Tampered));
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(sealer.open(&altered, "AKIAEXAMPLE"), Err(SealError::Tampered));
        assert_eq!(sealer.open(b"", "AKIAEXAMPLE"), Err(SealError::Tampered));
        assert_ne!(sealer.seal(b"same", "c").unwrap(), sealer.seal(b"same", "c").unwrap(), "fresh nonce each time");
        // The key id is stable per key, differs between keys, and is not the key.
        assert_eq!(sealer.key_id(), Sealer::new(&[7; 32]).key_id());
        assert_eq!(sealer.key_id().len(), 16);
        assert_ne!(sealer.key_id(), Sealer::new(&[8; 32]).key_id());
        assert!(!sealer.key_id().contains("0707"));
        // Derived keys: one per purpose and master key, none of them the master key.
        let derived = sealer.derive_key("registry blobs");
        assert_eq!(derived, Sealer::new(&[7; 32]).derive_key("registry blobs"));
        assert_ne!(derived, sealer.derive_key("other"));
        assert_ne!(derived, Sealer::new(&[8; 32]).derive_key("registry blobs"));
        assert_ne!(derived, [7; 32]);
    }

    #[test]
    fn chunks_open_only_in_their_place_of_their_file() {
        let key = Sealer::new(&[7; 32]).derive_key("blobs");
        let file = ChunkCipher::for_file(&key, b"salt-one");
        let first = file.seal_chunk(0, false, b"layer bytes, part one").unwrap();
        let last = file.seal_chunk(1, true, b"").unwrap();
        assert_eq!(first.len(), b"layer bytes, part one".len() + CHUNK_TAG_LEN);
        assert!(!first.windows(5).any(|window| window == b"layer"), "no plaintext in a sealed chunk");
        assert_eq!(file.open_chunk(0, false, &first).unwrap(), b"layer bytes, part one");
        assert_eq!(file.open_chunk(1, true, &last).unwrap(), b"");
        // Moved, marked last, taken for the last, from another file, altered: refused.
        assert_eq!(file.open_chunk(1, false, &first), Err(SealError::Tampered));
        assert_eq!(file.open_chunk(0, true, &first), Err(SealError::Tampered));
        assert_eq!(file.open_chunk(1, false, &last), Err(SealError::Tampered));
        assert_eq!(ChunkCipher::for_file(&key, b"salt-two").open_chunk(0, false, &first), Err(SealError::Tampered));
        let mut altered = first.clone();
        if let Some(byte) = altered.first_mut() {
            *byte ^= 1;
        }
        assert_eq!(file.open_chunk(0, false, &altered), Err(SealError::Tampered));
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("homeport-seal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        let first = Sealer::from_key_file(&path).unwrap();
        let sealed = first.seal(b"secret", "ctx").unwrap();
        let again = Sealer::from_key_file(&path).unwrap();
        assert_eq!(again.open(&sealed, "ctx").unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(Sealer::from_hex("not hex").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
