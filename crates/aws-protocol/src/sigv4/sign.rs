//! The client side: signing a request as the aws CLI does, for Homeport's own clients (the
//! agent, the load generator). Built from the same canonical request and signing key as
//! verification, so what it signs [`super::Claim::verify`] accepts.

use super::{ALGORITHM, HttpRequest, canonical_request, sha256_hex, signing_key, string_to_sign};

/// Who signs, and for which region and service.
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Signer<'_> {
    /// The `Authorization` value of a POST to `/` carrying `headers` (every one signed,
    /// sorted by lowercase name, `Host` and `X-Amz-Date` among them) and `body`, at
    /// `amz_date` (`20261118T010203Z`).
    pub fn authorization(&self, headers: &[(String, String)], body: &[u8], amz_date: &str) -> String {
        let date = amz_date.get(..8).unwrap_or_default();
        let signed_names: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
        let signed: Vec<&str> = signed_names.iter().map(String::as_str).collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let request = HttpRequest { method: "POST", path: "/", query: "", headers: &pairs, body };
        let canonical = canonical_request(&request, &signed, &sha256_hex(body));
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let signature = signing_key(self.secret_access_key, date, self.region, self.service)
            .sign(&string_to_sign(amz_date, &scope, &canonical));
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.access_key_id,
            signed.join(";")
        )
    }
}
