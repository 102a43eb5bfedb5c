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

/// A long-term access key id of `account`: `AKIA` and 16 base-32 characters that carry the
/// account as AWS's do (see [`key_id_account`]).
pub fn access_key_id(account: &str) -> Result<String, NoRandomness> {
    key_id("AKIA", account)
}

/// A temporary access key id of `account`: `ASIA` and 16 base-32 characters, carrying the
/// account as [`access_key_id`] does.
pub fn temporary_access_key_id(account: &str) -> Result<String, NoRandomness> {
    key_id("ASIA", account)
}

/// The bits of a key id's first six bytes (after the prefix, base-32 decoded) that hold its
/// account, as AWS lays them out: 40 bits above 7 random ones, below one set bit.
const ACCOUNT_MASK: u64 = 0x7fff_ffff_ff80;

/// `prefix` and ten bytes in base 32 (16 characters, no padding): bytes 0..6 hold the set top
/// bit, the account's 40 bits and 7 random bits; bytes 6..10 are random.
fn key_id(prefix: &str, account: &str) -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 10];
    getrandom::getrandom(&mut bytes).map_err(|_| NoRandomness)?;
    let account: u64 = account.parse().unwrap_or(0);
    let head = u64::from_be_bytes([0, 0, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]]);
    let head = (1 << 47) | ((account << 7) & ACCOUNT_MASK) | (head & 0x7f);
    bytes[..6].copy_from_slice(&head.to_be_bytes()[2..]);
    Ok(format!("{prefix}{}", base32(&bytes)))
}

/// The account an access key id carries (`AKIA`/`ASIA` and 16 base-32 characters), decoded as
/// AWS decodes its own key ids; `None` for text that is not such an id.
pub fn key_id_account(access_key_id: &str) -> Option<String> {
    let body = access_key_id.get(4..).filter(|body| body.len() == 16)?;
    let bytes = base32_decode(body)?;
    let head = u64::from_be_bytes([
        0,
        0,
        *bytes.first()?,
        *bytes.get(1)?,
        *bytes.get(2)?,
        *bytes.get(3)?,
        *bytes.get(4)?,
        *bytes.get(5)?,
    ]);
    Some(format!("{:012}", (head & ACCOUNT_MASK) >> 7))
}

/// RFC 4648 base 32 without padding (a whole number of 5-byte groups needs none).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            push_base32(&mut out, buffer >> bits);
        }
    }
    if bits > 0 {
        push_base32(&mut out, buffer << (5 - bits));
    }
    out
}

/// Appends the base-32 digit of `value`'s low five bits.
fn push_base32(out: &mut String, value: u32) {
    if let Some(&digit) = usize::try_from(value & 31).ok().and_then(|index| BASE32.get(index)) {
        out.push(char::from(digit));
    }
}

/// The bytes of unpadded RFC 4648 base 32 (upper case), or `None`.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for ch in text.bytes() {
        let value = BASE32.iter().position(|&c| c == ch)?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
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

/// A signing certificate's id: 32 characters of IAM's unique-id alphabet (AWS's are
/// uppercase letters and digits of about that length).
pub fn certificate_id() -> Result<String, NoRandomness> {
    random_from(BASE32, 32)
}

/// A SAML provider's id as IAM shows it (`SAMLProviderUUID`): 26 characters of `[A-Z2-7]`.
pub fn saml_provider_uuid() -> Result<String, NoRandomness> {
    random_from(BASE32, 26)
}

/// A request id in UUID form.
pub fn request_id() -> Result<String, NoRandomness> {
    uuid()
}

/// The lowercase hex digit of a nibble.
fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 0x0f), 16).unwrap_or('0')
}

/// A random (version 4) UUID: `xxxxxxxx-xxxx-4xxx-axxx-xxxxxxxxxxxx`, from one read of 16
/// random bytes (every request takes one).
pub fn uuid() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|_| NoRandomness)?;
    Ok(uuid_text(bytes, 0x40))
}

/// The UUID that `name` always gives: the first 16 bytes of its SHA-256 as a version 8
/// (RFC 9562's custom) UUID, `xxxxxxxx-xxxx-8xxx-axxx-xxxxxxxxxxxx`. Ids derived this way
/// are stable across reads of what they name.
pub fn uuid_of(name: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    for (byte, from) in bytes.iter_mut().zip(digest.iter()) {
        *byte = *from;
    }
    uuid_text(bytes, 0x80)
}

/// 16 bytes as a UUID of `version` (the high nibble of its seventh byte), RFC 4122's variant.
fn uuid_text(mut bytes: [u8; 16], version: u8) -> String {
    // The version and variant (`a`, RFC 4122's 10xx) nibbles.
    bytes[6] = (bytes[6] & 0x0f) | version;
    bytes[8] = (bytes[8] & 0x0f) | 0xa0;
    let mut out = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out
}

/// An SSM activation code: 20 letters and digits.
pub fn activation_code() -> Result<String, NoRandomness> {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 20)
}

/// A managed instance id: `mi-` and 17 hex digits.
pub fn managed_instance_id() -> Result<String, NoRandomness> {
    Ok(format!("mi-{}", random_from(b"0123456789abcdef", 17)?))
}

/// The suffix Secrets Manager adds to a secret's name in its ARN (`-` and 6 letters and
/// digits), so a secret created again under a deleted one's name has another ARN.
pub fn secret_suffix() -> Result<String, NoRandomness> {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 6)
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
        let key = access_key_id("123456789012").unwrap();
        assert!(key.starts_with("AKIA") && key.len() == 20 && key.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(secret_access_key().unwrap().len(), 40);
        assert_eq!(unique_id("AIDA").unwrap().len(), 21);
        assert_eq!(request_id().unwrap().len(), 36);
        let uuid = uuid().unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(groups.iter().map(|group| group.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4') && groups[3].starts_with('a'), "{uuid}");
        assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_digit() || matches!(c, 'a'..='f')), "{uuid}");
        let account = account_id().unwrap();
        assert!(account.len() == 12 && !account.starts_with('0'));
        assert_ne!(access_key_id("123456789012").unwrap(), access_key_id("123456789012").unwrap());
    }

    #[test]
    fn a_key_id_carries_its_account_as_awss_do() {
        for account in ["123456789012", "999999999999", "000000000001"] {
            let long_term = access_key_id(account).unwrap();
            let temporary = temporary_access_key_id(account).unwrap();
            assert!(long_term.starts_with("AKIA") && temporary.starts_with("ASIA"));
            assert_eq!(key_id_account(&long_term).as_deref(), Some(account), "{long_term}");
            assert_eq!(key_id_account(&temporary).as_deref(), Some(account), "{temporary}");
        }
        // A key id AWS issued, decoded to the account it belongs to (609629065308).
        assert_eq!(key_id_account("ASIAY34FZKBOKMUTVV7A").as_deref(), Some("609629065308"));
        assert_eq!(key_id_account("AKIA1"), None);
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn a_derived_uuid_is_the_same_for_the_same_name_only() {
        let derived = uuid_of("analyzer\nUnusedIAMRole\nAROAEXAMPLE");
        assert_eq!(derived, uuid_of("analyzer\nUnusedIAMRole\nAROAEXAMPLE"));
        assert_ne!(derived, uuid_of("analyzer\nUnusedIAMRole\nAROAOTHER"));
        let groups: Vec<&str> = derived.split('-').collect();
        assert_eq!(groups.iter().map(|group| group.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('8') && groups[3].starts_with('a'), "{derived}");
        // SHA-256("") begins e3b0c442 98fc1c14 9afbf4c8 996fb924.
        assert_eq!(uuid_of(""), "e3b0c442-98fc-8c14-aafb-f4c8996fb924");
    }
}
