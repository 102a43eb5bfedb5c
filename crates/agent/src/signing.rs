//! SigV4 signatures for the agent's own AWS API calls, made with the role credentials.
//!
//! The agent signs with exactly what it holds in memory: it never reads `~/.aws`, the
//! `AWS_*` environment or any profile, so the machine owner's own credentials can neither
//! leak into nor be confused with the instance's. The canonical request and string to sign
//! come from `aws-protocol`, the same code the control plane verifies with.

use aws_protocol::sigv4::{Signer, format_amz_date};

use crate::credentials::RoleCredentials;

/// The headers a signed awsJson 1.1 call carries, `Authorization` last (no
/// `X-Amz-Security-Token` when `credentials` are a long-term key, with an empty token). `target` is the
/// `X-Amz-Target` value (`AmazonSSM.UpdateInstanceInformation`), `host` the `Host` header.
pub fn sign_json_call(
    credentials: &RoleCredentials,
    region: &str,
    service: &str,
    host: &str,
    target: &str,
    body: &[u8],
    now: i64,
) -> Vec<(String, String)> {
    let amz_date = format_amz_date(now);
    // Sorted by lowercase name: that order is the signed-headers list.
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/x-amz-json-1.1".to_owned()),
        ("Host".to_owned(), host.to_owned()),
        ("X-Amz-Date".to_owned(), amz_date.clone()),
        ("X-Amz-Security-Token".to_owned(), credentials.session_token.clone()),
        ("X-Amz-Target".to_owned(), target.to_owned()),
    ];
    // Long-term keys (the fleet simulator's root key) have no session token to send.
    headers.retain(|(name, value)| name != "X-Amz-Security-Token" || !value.is_empty());
    let signer = Signer {
        access_key_id: &credentials.access_key_id,
        secret_access_key: &credentials.secret_access_key,
        region,
        service,
    };
    let authorization = signer.authorization(&headers, body, &amz_date);
    headers.push(("Authorization".to_owned(), authorization));
    // The HTTP client adds Host itself.
    headers.retain(|(name, _)| name != "Host");
    headers
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use aws_protocol::sigv4::{Claim, HttpRequest, signing_key};

    use super::*;

    fn credentials() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE01".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: "token/with+chars=".into(),
            expires_at: 1_795_003_600,
        }
    }

    fn as_received<'a>(host: &'a str, headers: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
        let mut pairs = vec![("Host", host)];
        pairs.extend(headers.iter().map(|(name, value)| (name.as_str(), value.as_str())));
        pairs
    }

    #[test]
    fn the_signature_verifies_as_the_control_plane_checks_it() {
        let body = br#"{"InstanceId":"mi-0123456789abcdef0"}"#;
        let now = 1_795_000_000;
        let headers = sign_json_call(
            &credentials(),
            "us-east-1",
            "ssm",
            "127.0.0.1:7780",
            "AmazonSSM.UpdateInstanceInformation",
            body,
            now,
        );
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target", "Authorization"]);
        assert_eq!(
            headers[4].1.split(", Signature=").next().unwrap(),
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE01/20261118/us-east-1/ssm/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        );

        let pairs = as_received("127.0.0.1:7780", &headers);
        let request = HttpRequest { method: "POST", path: "/", query: "", headers: &pairs, body };
        let claim = Claim::parse(&request).unwrap();
        let key = signing_key(&credentials().secret_access_key, "20261118", "us-east-1", "ssm");
        claim.verify(&request, "us-east-1", &key, now).unwrap();

        // Another body, host or secret does not verify.
        let other = HttpRequest { body: b"{}", ..request };
        assert!(claim.verify(&other, "us-east-1", &key, now).is_err());
        let pairs = as_received("127.0.0.1:7781", &headers);
        let moved = HttpRequest { headers: &pairs, ..request };
        assert!(claim.verify(&moved, "us-east-1", &key, now).is_err());
        let wrong = signing_key("another secret", "20261118", "us-east-1", "ssm");
        assert!(claim.verify(&request, "us-east-1", &wrong, now).is_err());
    }
}
