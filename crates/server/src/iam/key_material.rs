//! What IAM reads out of the keys and certificates callers upload, pure: X.509 certificates
//! in PEM (validity and public key, read with the `der` crate, no signature checked), private
//! keys (PKCS#8, PKCS#1 RSA, SEC1 EC; opened with aws-lc-rs only to learn their public key),
//! and SSH public keys (`ssh-rsa` in OpenSSH's one-line form, or PEM: `PUBLIC KEY` or
//! `RSA PUBLIC KEY`), with the fingerprint IAM shows.
//!
//! Guarantees: never panics on any input; work is linear in the input (PEM blocks are
//! decoded once, DER is walked without recursion beyond a certificate's fixed depth); a
//! private key is never kept, logged or put in an error.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{AnyRef, GeneralizedTime, UtcTime};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use md5::Digest;

/// The DER of `rsaEncryption`'s AlgorithmIdentifier (OID 1.2.840.113549.1.1.1, NULL).
const RSA_ALGORITHM: &[u8] =
    &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

/// An X.509 certificate, as much of it as IAM answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Certificate {
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// `subjectPublicKey`'s bits (an RSA key's PKCS#1 DER, an EC key's point).
    pub public_key: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
}

/// The PEM blocks of `text` with their labels, in order; `None` if it holds none or a block
/// does not decode.
fn pem_blocks(text: &str) -> Option<Vec<pem::Pem>> {
    let blocks = pem::parse_many(text.trim()).ok()?;
    (!blocks.is_empty()).then_some(blocks)
}

/// The elements inside a constructed DER value.
fn children(value: &[u8]) -> Result<Vec<AnyRef<'_>>, der::Error> {
    let mut reader = SliceReader::new(value)?;
    let mut found = Vec::new();
    while !reader.is_finished() {
        found.push(AnyRef::decode(&mut reader)?);
    }
    Ok(found)
}

fn time(any: &AnyRef<'_>) -> Option<i64> {
    let der = any.to_der().ok()?;
    let since_epoch = match any.tag() {
        Tag::UtcTime => UtcTime::from_der(&der).ok()?.to_unix_duration(),
        Tag::GeneralizedTime => GeneralizedTime::from_der(&der).ok()?.to_unix_duration(),
        _ => return None,
    };
    i64::try_from(since_epoch.as_secs()).ok()
}

/// The bits of a BIT STRING with no unused bits.
fn bits<'a>(any: &AnyRef<'a>) -> Option<&'a [u8]> {
    if any.tag() != Tag::BitString {
        return None;
    }
    match any.value().split_first() {
        Some((0, rest)) => Some(rest),
        _ => None,
    }
}

/// Reads one DER certificate.
pub(crate) fn certificate_from_der(der: &[u8]) -> Option<Certificate> {
    let outer = AnyRef::from_der(der).ok()?;
    let parts = children(outer.value()).ok()?;
    let tbs = parts.first().filter(|tbs| tbs.tag() == Tag::Sequence)?;
    let fields = children(tbs.value()).ok()?;
    // An explicit version ([0]) comes first when present.
    let skip = usize::from(fields.first().is_some_and(|first| first.tag().is_context_specific()));
    let mut fields = fields.iter().skip(skip);
    let (_serial, _algorithm, _issuer) = (fields.next()?, fields.next()?, fields.next()?);
    let validity = children(fields.next()?.value()).ok()?;
    let (_subject, spki) = (fields.next()?, fields.next()?);
    let spki = children(spki.value()).ok()?;
    Some(Certificate {
        der: der.to_vec(),
        public_key: bits(spki.get(1)?)?.to_vec(),
        not_before: time(validity.first()?)?,
        not_after: time(validity.get(1)?)?,
    })
}

/// The certificates of a PEM text (`CERTIFICATE` blocks only); `None` if any block is not
/// one, or none is there.
pub(crate) fn certificates(text: &str) -> Option<Vec<Certificate>> {
    pem_blocks(text)?
        .iter()
        .map(|block| if block.tag() == "CERTIFICATE" { certificate_from_der(block.contents()) } else { None })
        .collect()
}

/// The one certificate of a PEM text.
pub(crate) fn certificate(text: &str) -> Option<Certificate> {
    let mut found = certificates(text)?;
    if found.len() == 1 { found.pop() } else { None }
}

/// The public key (as a certificate carries it) of an unencrypted PEM private key: PKCS#8
/// (RSA, P-256, P-384), PKCS#1 RSA or SEC1 EC. `None` for anything else.
pub(crate) fn private_key_public_part(text: &str) -> Option<Vec<u8>> {
    let blocks = pem_blocks(text)?;
    let [block] = blocks.as_slice() else { return None };
    let der = block.contents();
    let ec = |parse: &dyn Fn(&'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> Option<EcdsaKeyPair>| {
        [&ECDSA_P256_SHA256_ASN1_SIGNING, &ECDSA_P384_SHA384_ASN1_SIGNING]
            .into_iter()
            .find_map(parse)
            .map(|pair| pair.public_key().as_ref().to_vec())
    };
    match block.tag() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(der)
            .ok()
            .map(|pair| pair.public_key().as_ref().to_vec())
            .or_else(|| ec(&|alg| EcdsaKeyPair::from_pkcs8(alg, der).ok())),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(der).ok().map(|pair| pair.public_key().as_ref().to_vec()),
        "EC PRIVATE KEY" => ec(&|alg| EcdsaKeyPair::from_private_key_der(alg, der).ok()),
        _ => None,
    }
}

/// Why an SSH public key was refused, in IAM's two codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SshKeyRefusal {
    /// Neither `ssh-rsa` nor PEM (`UnrecognizedPublicKeyEncoding`).
    Encoding,
    /// Recognized, but malformed or shorter than 2048 bits (`InvalidPublicKey`).
    Invalid,
}

/// An RSA public key as SSH and IAM hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshPublicKey {
    /// The `modulus` and `publicExponent` as DER INTEGER contents (two's complement, minimal),
    /// which is also SSH's mpint form.
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

/// The minimum size IAM accepts.
const MIN_RSA_BITS: usize = 2048;

/// A DER TLV of a short or long length.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|byte| *byte == 0).collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// An SSH `string` / `mpint` field: its length, then its bytes.
fn ssh_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads SSH `string` fields one after another.
struct SshFields<'a>(&'a [u8]);

impl<'a> SshFields<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let (field, rest) = (rest.get(..len)?, rest.get(len..)?);
        self.0 = rest;
        Some(field)
    }
}

/// A positive INTEGER's contents in minimal form (as both DER and SSH's mpint want).
fn positive_integer(bytes: &[u8]) -> Option<Vec<u8>> {
    let first = bytes.first()?;
    if first & 0x80 != 0 {
        return None;
    }
    // A leading zero is allowed only before a byte with its high bit set.
    if *first == 0 && bytes.get(1).is_none_or(|next| next & 0x80 == 0) {
        return None;
    }
    Some(bytes.to_vec())
}

impl SshPublicKey {
    /// Reads an uploaded key: `ssh-rsa BASE64 [comment]`, or a PEM `PUBLIC KEY` (an RSA
    /// SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1).
    pub(crate) fn parse(text: &str) -> Result<SshPublicKey, SshKeyRefusal> {
        let text = text.trim();
        let key = if let Some(rest) = text.strip_prefix("ssh-rsa ") {
            let encoded = rest.split_whitespace().next().ok_or(SshKeyRefusal::Invalid)?;
            let blob = STANDARD.decode(encoded).map_err(|_| SshKeyRefusal::Invalid)?;
            let mut fields = SshFields(&blob);
            let (name, exponent, modulus) = (fields.next(), fields.next(), fields.next());
            if name != Some(b"ssh-rsa".as_slice()) || !fields.0.is_empty() {
                return Err(SshKeyRefusal::Invalid);
            }
            SshPublicKey::from_parts(modulus, exponent)
        } else if text.starts_with("-----BEGIN ") {
            let blocks = pem_blocks(text).ok_or(SshKeyRefusal::Invalid)?;
            match blocks.as_slice() {
                [block] if block.tag() == "PUBLIC KEY" => SshPublicKey::from_spki(block.contents()),
                [block] if block.tag() == "RSA PUBLIC KEY" => SshPublicKey::from_pkcs1(block.contents()),
                _ => return Err(SshKeyRefusal::Encoding),
            }
        } else {
            return Err(SshKeyRefusal::Encoding);
        };
        let key = key.ok_or(SshKeyRefusal::Invalid)?;
        if key.size_in_bits() < MIN_RSA_BITS { Err(SshKeyRefusal::Invalid) } else { Ok(key) }
    }

    fn from_parts(modulus: Option<&[u8]>, exponent: Option<&[u8]>) -> Option<SshPublicKey> {
        Some(SshPublicKey { modulus: positive_integer(modulus?)?, exponent: positive_integer(exponent?)? })
    }

    fn from_pkcs1(der: &[u8]) -> Option<SshPublicKey> {
        let sequence = AnyRef::from_der(der).ok().filter(|any| any.tag() == Tag::Sequence)?;
        let parts = children(sequence.value()).ok()?;
        let [modulus, exponent] = parts.as_slice() else { return None };
        if modulus.tag() != Tag::Integer || exponent.tag() != Tag::Integer {
            return None;
        }
        SshPublicKey::from_parts(Some(modulus.value()), Some(exponent.value()))
    }

    fn from_spki(der: &[u8]) -> Option<SshPublicKey> {
        let sequence = AnyRef::from_der(der).ok().filter(|any| any.tag() == Tag::Sequence)?;
        let parts = children(sequence.value()).ok()?;
        let [algorithm, key] = parts.as_slice() else { return None };
        if algorithm.to_der().ok()? != RSA_ALGORITHM {
            return None;
        }
        SshPublicKey::from_pkcs1(bits(key)?)
    }

    /// The modulus' size in bits.
    fn size_in_bits(&self) -> usize {
        let significant: Vec<&u8> = self.modulus.iter().skip_while(|byte| **byte == 0).collect();
        match significant.first() {
            Some(first) => (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
            None => 0,
        }
    }

    /// The key as SSH's wire form (`ssh-rsa`, e, n), base64: what is stored.
    pub(crate) fn to_blob(&self) -> String {
        let mut blob = Vec::new();
        ssh_field(&mut blob, b"ssh-rsa");
        ssh_field(&mut blob, &self.exponent);
        ssh_field(&mut blob, &self.modulus);
        STANDARD.encode(blob)
    }

    /// The key back from what [`SshPublicKey::to_blob`] stored.
    pub(crate) fn from_blob(blob: &str) -> Option<SshPublicKey> {
        let bytes = STANDARD.decode(blob).ok()?;
        let mut fields = SshFields(&bytes);
        if fields.next()? != b"ssh-rsa" {
            return None;
        }
        let exponent = fields.next();
        SshPublicKey::from_parts(fields.next(), exponent)
    }

    /// The SubjectPublicKeyInfo DER of the key.
    fn spki(&self) -> Vec<u8> {
        let rsa_key = tlv(0x30, &[tlv(0x02, &self.modulus), tlv(0x02, &self.exponent)].concat());
        let bit_string = tlv(0x03, &[&[0u8][..], &rsa_key].concat());
        tlv(0x30, &[RSA_ALGORITHM, &bit_string].concat())
    }

    /// IAM's fingerprint: the MD5 of the key's DER SubjectPublicKeyInfo in colon-separated
    /// lowercase hex (what `openssl pkey -pubin -outform DER | openssl md5 -c` prints, and
    /// what EC2 shows for an imported key).
    pub(crate) fn fingerprint(&self) -> String {
        let digest = md5::Md5::digest(self.spki());
        digest.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":")
    }

    /// The key as GetSSHPublicKey answers it with `Encoding` `SSH`.
    pub(crate) fn to_ssh(&self) -> String {
        format!("ssh-rsa {}", self.to_blob())
    }

    /// The key as GetSSHPublicKey answers it with `Encoding` `PEM`.
    pub(crate) fn to_pem(&self) -> String {
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_config(&pem::Pem::new("PUBLIC KEY", self.spki()), config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    /// A 2048-bit RSA key and its certificate, made once with openssl for these tests.
    const KEY: &str = include_str!("testdata/key.pem");
    const CERT: &str = include_str!("testdata/cert.pem");
    const SSH: &str = include_str!("testdata/key.pub");
    /// `openssl pkey -in key.pem -pubout -outform DER | openssl md5 -c`.
    const FINGERPRINT: &str = include_str!("testdata/fingerprint.txt");

    #[test]
    fn a_certificate_gives_its_validity_and_matches_its_private_key() {
        let cert = certificate(CERT).unwrap();
        assert!(cert.not_after > cert.not_before);
        assert_eq!(private_key_public_part(KEY).unwrap(), cert.public_key);
        assert!(certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_none());
        assert!(certificate("not pem").is_none());
        assert!(private_key_public_part(CERT).is_none());
    }

    #[test]
    fn ssh_and_pem_forms_of_one_key_are_one_key_with_openssls_md5() {
        let ssh = SshPublicKey::parse(SSH).unwrap();
        assert_eq!(ssh.fingerprint(), FINGERPRINT.trim());
        let pem = SshPublicKey::parse(&ssh.to_pem()).unwrap();
        assert_eq!(pem, ssh);
        assert_eq!(SshPublicKey::from_blob(&ssh.to_blob()).unwrap(), ssh);
        assert_eq!(ssh.to_ssh(), SSH.split_whitespace().take(2).collect::<Vec<_>>().join(" "));
        assert_eq!(SshPublicKey::parse("ssh-ed25519 AAAA"), Err(SshKeyRefusal::Encoding));
        assert_eq!(SshPublicKey::parse("ssh-rsa !!!"), Err(SshKeyRefusal::Invalid));
        assert_eq!(SshPublicKey::parse(CERT), Err(SshKeyRefusal::Encoding));
    }
}
