//! What a signed request claims, and checking that claim.

use super::canonical::{canonical_request, string_to_sign};
use super::{
    ALGORITHM, AuthError, HttpRequest, MAX_CLOCK_SKEW_SECONDS, MAX_PRESIGNED_EXPIRY_SECONDS, SigningKey,
    constant_time_eq, format_amz_date, parse_amz_date, sha256_hex,
};

/// The credential scope: `AKID/20150830/us-east-1/iam/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

impl CredentialScope {
    /// `date/region/service/aws4_request`, as it appears in the string to sign.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// What a request claims about its signature, before the key is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub credential: CredentialScope,
    /// Lowercase and sorted, as signed.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Date` (or `Date`): when the request was signed.
    pub amz_date: String,
    /// `X-Amz-Security-Token`: present for temporary credentials.
    pub security_token: Option<String>,
    /// `X-Amz-Expires` of a presigned request; `None` for the header form.
    pub expires: Option<i64>,
}

impl Claim {
    /// Reads the claim from the `Authorization` header or the presigned query parameters.
    pub fn parse(request: &HttpRequest<'_>) -> Result<Claim, AuthError> {
        match request.header("authorization") {
            Some(header) => Claim::from_header(request, header),
            None => {
                let params = request.query_params();
                if params.iter().any(|(key, _)| key == "X-Amz-Signature" || key == "X-Amz-Credential") {
                    Claim::from_query(&params)
                } else {
                    Err(AuthError::Missing)
                }
            }
        }
    }

    fn from_header(request: &HttpRequest<'_>, header: &str) -> Result<Claim, AuthError> {
        let (algorithm, fields) = header.trim().split_once(char::is_whitespace).unwrap_or((header.trim(), ""));
        if algorithm != ALGORITHM {
            return Err(AuthError::Incomplete(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'. Only '{ALGORITHM}' is supported."
            )));
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for field in fields.split(',') {
            let (name, value) = field.trim().split_once('=').unwrap_or((field.trim(), ""));
            match name {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed_headers = Some(value),
                "Signature" => signature = Some(value),
                _ => {}
            }
        }
        let amz_date = request.header("x-amz-date").or_else(|| request.header("date"));
        let mut missing = Vec::new();
        if credential.is_none() {
            missing.push("Authorization header requires 'Credential' parameter.");
        }
        if signature.is_none() {
            missing.push("Authorization header requires 'Signature' parameter.");
        }
        if signed_headers.is_none() {
            missing.push("Authorization header requires 'SignedHeaders' parameter.");
        }
        if amz_date.is_none() {
            missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        }
        let (Some(credential), Some(signed_headers), Some(signature), Some(amz_date)) =
            (credential, signed_headers, signature, amz_date)
        else {
            return Err(AuthError::Incomplete(format!("{} Authorization={header}", missing.join(" "))));
        };
        Ok(Claim {
            credential: parse_credential(credential)?,
            signed_headers: parse_signed_headers(signed_headers),
            signature: signature.to_owned(),
            amz_date: amz_date.to_owned(),
            security_token: request.header("x-amz-security-token").map(str::to_owned),
            expires: None,
        })
    }

    fn from_query(params: &[(String, String)]) -> Result<Claim, AuthError> {
        let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        // A presigned request must say how long it lives: without `X-Amz-Expires` it is
        // refused, as AWS refuses it, never given the seven-day maximum.
        let missing: Vec<String> = [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-SignedHeaders",
            "X-Amz-Date",
            "X-Amz-Expires",
        ]
        .into_iter()
        .filter(|name| param(name).is_none())
        .map(|name| format!("AWS query-string parameters must include '{name}'."))
        .collect();
        if !missing.is_empty() {
            return Err(AuthError::Incomplete(format!(
                "{} Re-examine the query-string parameters.",
                missing.join(" ")
            )));
        }
        if param("X-Amz-Algorithm") != Some(ALGORITHM) {
            return Err(AuthError::Incomplete(format!("X-Amz-Algorithm only supports \"{ALGORITHM}\"")));
        }
        let expires = match param("X-Amz-Expires").unwrap_or_default().parse::<i64>() {
            Ok(seconds) if (1..=MAX_PRESIGNED_EXPIRY_SECONDS).contains(&seconds) => seconds,
            _ => return Err(AuthError::Incomplete("X-Amz-Expires must be between 1 and 604800 seconds".to_owned())),
        };
        Ok(Claim {
            credential: parse_credential(param("X-Amz-Credential").unwrap_or_default())?,
            signed_headers: parse_signed_headers(param("X-Amz-SignedHeaders").unwrap_or_default()),
            signature: param("X-Amz-Signature").unwrap_or_default().to_owned(),
            amz_date: param("X-Amz-Date").unwrap_or_default().to_owned(),
            security_token: param("X-Amz-Security-Token").map(str::to_owned),
            expires: Some(expires),
        })
    }

    /// Checks the claim against the key's signing key for the claimed scope: the scope fits
    /// this endpoint, the time is within the window, and the signature is right.
    /// `region` is the endpoint's region; `now` is seconds since the epoch.
    pub fn verify(&self, request: &HttpRequest<'_>, region: &str, key: &SigningKey, now: i64) -> Result<(), AuthError> {
        self.check_scope(region)?;
        self.check_time(now)?;
        // Only S3 accepts a request without a payload hash (a presigned URL, or an explicit
        // `UNSIGNED-PAYLOAD`); every other service hashes the body actually received, whatever
        // the request says, so a body swapped under an `UNSIGNED-PAYLOAD` signature does not
        // match (AWS answers such a request `SignatureDoesNotMatch` too).
        let unsigned = self.credential.service == "s3"
            && (self.expires.is_some() || request.header("x-amz-content-sha256") == Some("UNSIGNED-PAYLOAD"));
        let payload_hash = if unsigned { "UNSIGNED-PAYLOAD".to_owned() } else { sha256_hex(request.body) };
        let signed: Vec<&str> = self.signed_headers.iter().map(String::as_str).collect();
        let canonical = canonical_request(request, &signed, &payload_hash);
        let expected = key.sign(&string_to_sign(&self.amz_date, &self.credential.scope(), &canonical));
        if constant_time_eq(expected.as_bytes(), self.signature.as_bytes()) {
            Ok(())
        } else {
            Err(AuthError::SignatureMismatch)
        }
    }

    fn check_scope(&self, region: &str) -> Result<(), AuthError> {
        let date_part = self.amz_date.get(..8).unwrap_or_default();
        if self.credential.date != date_part {
            return Err(AuthError::BadScope(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
                self.credential.date, date_part, self.amz_date
            )));
        }
        if self.credential.region != region {
            return Err(AuthError::BadScope(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                self.credential.region
            )));
        }
        if !self.signed_headers.iter().any(|name| name == "host" || name == ":authority") {
            return Err(AuthError::Incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
            ));
        }
        Ok(())
    }

    fn check_time(&self, now: i64) -> Result<(), AuthError> {
        let Some(signed_at) = parse_amz_date(&self.amz_date) else {
            return Err(AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
                self.amz_date
            )));
        };
        if signed_at > now + MAX_CLOCK_SKEW_SECONDS {
            return Err(AuthError::Skewed(format!(
                "Signature not yet current: {} is still later than {} ({} + 5 min.)",
                self.amz_date,
                format_amz_date(now + MAX_CLOCK_SKEW_SECONDS),
                format_amz_date(now)
            )));
        }
        match self.expires {
            Some(expires) if now > signed_at + expires => Err(AuthError::PresignExpired),
            Some(_) => Ok(()),
            None if signed_at < now - MAX_CLOCK_SKEW_SECONDS => Err(AuthError::Skewed(format!(
                "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                self.amz_date,
                format_amz_date(now - MAX_CLOCK_SKEW_SECONDS),
                format_amz_date(now)
            ))),
            None => Ok(()),
        }
    }
}

fn parse_credential(text: &str) -> Result<CredentialScope, AuthError> {
    let parts: Vec<&str> = text.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::Incomplete(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            parts.get(2).copied().unwrap_or_default()
        )));
    };
    if *terminator != "aws4_request" {
        return Err(AuthError::BadScope(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    if access_key_id.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::Incomplete(format!("Invalid credential scope `{text}`")));
    }
    Ok(CredentialScope {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

fn parse_signed_headers(text: &str) -> Vec<String> {
    text.split(';').filter(|name| !name.is_empty()).map(str::to_ascii_lowercase).collect()
}
