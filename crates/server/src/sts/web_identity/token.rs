//! Web identity tokens (OpenID Connect ID tokens, JWS compact serialization) and the issuer's
//! JSON Web Keys: parsing, signature verification and the time claims. Pure: no I/O, no
//! clock (the caller passes the time), never panics; every input is bounded by its caller
//! (the token by STS's 20,000 characters, a key set by the fetch's size limit).
//!
//! Accepted algorithms: RS256, RS384, RS512 (RSA keys of 2,048 to 8,192 bits) and ES256,
//! ES384 (P-256, P-384); anything else (`none`, HMAC) is refused as not verifiable.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde_json::Value as Json;

/// A token split into its parts, its header and claims decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Json,
    /// `HEADER.PAYLOAD` as sent: what the signature covers.
    signed: String,
    signature: Vec<u8>,
}

impl Token {
    /// Splits and decodes a compact JWS; `None` when it is not one (three base64url parts, a
    /// JSON object header with `alg`, a JSON object payload).
    pub fn parse(text: &str) -> Option<Token> {
        let mut parts = text.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Json = serde_json::from_slice(&BASE64URL.decode(header).ok()?).ok()?;
        let claims: Json = serde_json::from_slice(&BASE64URL.decode(payload).ok()?).ok()?;
        if !claims.is_object() {
            return None;
        }
        let alg = header.get("alg")?.as_str()?.to_owned();
        let kid = header.get("kid").and_then(Json::as_str).map(str::to_owned);
        let signed = text.get(..text.len() - signature.len() - 1)?.to_owned();
        Some(Token { alg, kid, claims, signed, signature: BASE64URL.decode(signature).ok()? })
    }

    /// A string claim.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Json::as_str)
    }

    /// A time claim (seconds since the epoch; a fraction is cut).
    pub fn time(&self, name: &str) -> Option<i64> {
        let value = self.claims.get(name)?;
        value.as_i64().or_else(|| value.as_f64().filter(|seconds| seconds.is_finite()).map(|seconds| seconds as i64))
    }

    /// The audiences: `aud` as one string or a list of strings.
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Json::String(one)) => vec![one.as_str()],
            Some(Json::Array(many)) => many.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether `key` (one JWK) signed this token with the header's algorithm.
    pub fn verified_by(&self, key: &Json) -> bool {
        let field = |name: &str| key.get(name).and_then(Json::as_str).and_then(|text| BASE64URL.decode(text).ok());
        let kty = key.get("kty").and_then(Json::as_str).unwrap_or_default();
        let message = self.signed.as_bytes();
        match (self.alg.as_str(), kty) {
            ("RS256" | "RS384" | "RS512", "RSA") => {
                let (Some(n), Some(e)) = (field("n"), field("e")) else { return false };
                let parameters = match self.alg.as_str() {
                    "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA512,
                };
                // Big-endian without leading zeros, as the library requires.
                let strip = |bytes: &[u8]| {
                    bytes.iter().position(|byte| *byte != 0).and_then(|at| bytes.get(at..)).map(<[u8]>::to_vec)
                };
                let (Some(n), Some(e)) = (strip(&n), strip(&e)) else { return false };
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                    .verify(parameters, message, &self.signature)
                    .is_ok()
            }
            ("ES256" | "ES384", "EC") => {
                let (curve, algorithm, size) = match self.alg.as_str() {
                    "ES256" => ("P-256", &signature::ECDSA_P256_SHA256_FIXED, 32),
                    _ => ("P-384", &signature::ECDSA_P384_SHA384_FIXED, 48),
                };
                let (Some(x), Some(y)) = (field("x"), field("y")) else { return false };
                if key.get("crv").and_then(Json::as_str) != Some(curve) || x.len() != size || y.len() != size {
                    return false;
                }
                let point: Vec<u8> = [0x04].into_iter().chain(x).chain(y).collect();
                UnparsedPublicKey::new(algorithm, point).verify(message, &self.signature).is_ok()
            }
            _ => false,
        }
    }
}

/// The keys of a JWKS document (`{"keys": [...]}`) that may verify signatures: those without
/// a `use`, or whose `use` is `sig`.
pub(crate) fn signing_keys(document: &Json) -> Vec<Json> {
    let keys = document.get("keys").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    keys.iter().filter(|key| key.get("use").and_then(Json::as_str).is_none_or(|use_| use_ == "sig")).cloned().collect()
}

/// The most keys one token's signature is tried with (a key set may hold hundreds).
const MAX_CANDIDATES: usize = 8;

/// The keys of `keys` that may have signed `token`: the one its `kid` names, or, without a
/// `kid`, every key; at most [`MAX_CANDIDATES`] of them.
pub(crate) fn candidates<'a>(keys: &'a [Json], token: &Token) -> Vec<&'a Json> {
    keys.iter()
        .filter(|key| match &token.kid {
            Some(kid) => key.get("kid").and_then(Json::as_str) == Some(kid.as_str()),
            None => true,
        })
        .take(MAX_CANDIDATES)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair};
    use serde_json::json;

    use super::*;

    /// A signed token over `claims` with `header`, and the JWK of the key that signed it.
    pub(crate) fn es256(header: Json, claims: &Json) -> (String, Json) {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
            "x": BASE64URL.encode(&point[1..33]), "y": BASE64URL.encode(&point[33..])});
        let signed = format!("{}.{}", BASE64URL.encode(header.to_string()), BASE64URL.encode(claims.to_string()));
        let signature = pair.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
        (format!("{signed}.{}", BASE64URL.encode(signature.as_ref())), jwk)
    }

    /// The modulus and exponent of a PKCS#1 `RSAPublicKey` (DER), big-endian without sign bytes.
    fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
        fn item(bytes: &[u8]) -> (&[u8], &[u8]) {
            let (length, header) = match bytes[1] {
                short if short < 0x80 => (usize::from(short), 2),
                long => {
                    let count = usize::from(long & 0x7f);
                    (bytes[2..2 + count].iter().fold(0, |length, byte| length << 8 | usize::from(*byte)), 2 + count)
                }
            };
            (&bytes[header..header + length], &bytes[header + length..])
        }
        let (sequence, _) = item(der);
        let (n, rest) = item(sequence);
        let (e, _) = item(rest);
        let strip = |bytes: &[u8]| bytes.iter().skip_while(|byte| **byte == 0).copied().collect::<Vec<u8>>();
        (strip(n), strip(e))
    }

    fn rs256(claims: &Json) -> (String, Json) {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let (n, e) = rsa_components(pair.public_key().as_ref());
        let jwk =
            json!({"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": BASE64URL.encode(n), "e": BASE64URL.encode(e)});
        let signed = format!(
            "{}.{}",
            BASE64URL.encode(json!({"alg": "RS256", "kid": "rsa-1"}).to_string()),
            BASE64URL.encode(claims.to_string())
        );
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), signed.as_bytes(), &mut signature).unwrap();
        (format!("{signed}.{}", BASE64URL.encode(&signature)), jwk)
    }

    #[test]
    fn rs256_and_es256_tokens_verify_with_their_keys_only() {
        let claims = json!({"iss": "https://issuer.example", "aud": ["a", "b"], "sub": "s", "exp": 10.5});
        let (rsa_token, rsa_key) = rs256(&claims);
        let (ec_token, ec_key) = es256(json!({"alg": "ES256", "kid": "ec-1"}), &claims);
        let rsa = Token::parse(&rsa_token).unwrap();
        let ec = Token::parse(&ec_token).unwrap();
        assert!(rsa.verified_by(&rsa_key) && ec.verified_by(&ec_key));
        assert!(!rsa.verified_by(&ec_key) && !ec.verified_by(&rsa_key));
        assert_eq!(rsa.audiences(), ["a", "b"]);
        assert_eq!(rsa.time("exp"), Some(10));
        assert_eq!(ec.kid.as_deref(), Some("ec-1"));
        // One changed byte of the payload, and the signature no longer covers it.
        let mut parts: Vec<String> = ec_token.split('.').map(str::to_owned).collect();
        parts[1] = BASE64URL.encode(json!({"iss": "https://issuer.example", "sub": "root"}).to_string());
        assert!(!Token::parse(&parts.join(".")).unwrap().verified_by(&ec_key));
    }

    #[test]
    fn unsigned_and_malformed_tokens_are_refused() {
        let claims = json!({"sub": "s"});
        let (token, key) = es256(json!({"alg": "none"}), &claims);
        assert!(!Token::parse(&token).unwrap().verified_by(&key), "alg none verifies nothing");
        let (token, key) = es256(json!({"alg": "HS256"}), &claims);
        assert!(!Token::parse(&token).unwrap().verified_by(&key));
        for bad in ["", "a.b", "a.b.c.d", "e30.e30.", "W10.e30.", "e30.W10.", "!!.e30."] {
            assert!(Token::parse(bad).is_none_or(|token| !token.verified_by(&key)), "{bad}");
        }
    }

    #[test]
    fn keys_are_chosen_by_kid_and_use() {
        let document = json!({"keys": [{"kid": "a"}, {"kid": "b", "use": "enc"}, {"kid": "c", "use": "sig"}]});
        let keys = signing_keys(&document);
        assert_eq!(keys.len(), 2);
        let (token, _) = es256(json!({"alg": "ES256", "kid": "c"}), &json!({}));
        let token = Token::parse(&token).unwrap();
        assert_eq!(candidates(&keys, &token), [&keys[1]]);
        let (token, _) = es256(json!({"alg": "ES256"}), &json!({}));
        assert_eq!(candidates(&keys, &Token::parse(&token).unwrap()).len(), 2);
    }
}
