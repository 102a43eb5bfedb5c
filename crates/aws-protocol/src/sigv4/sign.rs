//! The client side: signing a request as the aws CLI does, for Homeport's own clients (the
//! agent, the load generator, the `homeport iam` commands). Built from the same canonical
//! request and signing key as verification, so what it signs [`super::Claim::verify`] accepts.

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
        self.authorization_of("POST", "/", "", headers, body, amz_date)
    }

    /// [`Signer::authorization`] for any method, path (percent-encoded as sent) and query
    /// string (as sent, without the `?`): the REST protocols' `PUT /policy/generation` or
    /// `GET /policy/generation/ID?name=value`.
    pub fn authorization_of(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
        amz_date: &str,
    ) -> String {
        let date = amz_date.get(..8).unwrap_or_default();
        let signed_names: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
        let signed: Vec<&str> = signed_names.iter().map(String::as_str).collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let request = HttpRequest { method, path, query, headers: &pairs, body };
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::super::{Claim, format_amz_date};
    use super::*;

    #[test]
    fn a_get_with_a_query_and_a_put_verify_as_the_server_checks_them() {
        let signer = Signer {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "access-analyzer",
        };
        let now = 1_795_000_000;
        let amz_date = format_amz_date(now);
        for (method, path, query, body) in [
            ("GET", "/policy/generation/1b2c3d4e", "includeResourcePlaceholders=true&a=b%20c", &b""[..]),
            ("PUT", "/policy/generation", "", &br#"{"policyGenerationDetails":{}}"#[..]),
        ] {
            let headers =
                vec![("Host".to_owned(), "127.0.0.1:7780".to_owned()), ("X-Amz-Date".to_owned(), amz_date.clone())];
            let authorization = signer.authorization_of(method, path, query, &headers, body, &amz_date);
            let mut pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            pairs.push(("Authorization", &authorization));
            let request = HttpRequest { method, path, query, headers: &pairs, body };
            let claim = Claim::parse(&request).unwrap();
            let key = signing_key(signer.secret_access_key, &amz_date[..8], "us-east-1", "access-analyzer");
            claim.verify(&request, "us-east-1", &key, now).unwrap();
            // The method, the path and the query are all signed.
            for changed in [
                HttpRequest { method: "DELETE", ..request },
                HttpRequest { path: "/policy/generation/other", ..request },
                HttpRequest { query: "a=b", ..request },
            ] {
                assert!(claim.verify(&changed, "us-east-1", &key, now).is_err(), "{method} {path}");
            }
        }
    }
}
