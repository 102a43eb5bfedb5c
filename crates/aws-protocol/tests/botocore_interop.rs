//! Requests signed by botocore (the signer of the aws CLI and boto3) verify, and any change
//! to them does not. Fixtures: `botocore-signed.json`, made by `botocore_sign.py`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

use aws_protocol::sigv4::{AuthError, Claim, HttpRequest, parse_amz_date, signing_key};
use serde_json::Value;

#[test]
fn botocore_signed_requests_verify_and_tampered_ones_do_not() {
    let fixtures: Value = serde_json::from_str(include_str!("botocore-signed.json")).unwrap();
    let cases = fixtures["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let headers: Vec<(&str, &str)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_str().unwrap(), pair[1].as_str().unwrap()))
            .collect();
        let request = HttpRequest {
            method: case["method"].as_str().unwrap(),
            path: case["path"].as_str().unwrap(),
            query: case["query"].as_str().unwrap(),
            headers: &headers,
            body: case["body"].as_str().unwrap().as_bytes(),
        };
        let claim = Claim::parse(&request).unwrap_or_else(|error| panic!("{name}: {error}"));
        let scope = &claim.credential;
        let key = signing_key(case["secret"].as_str().unwrap(), &scope.date, &scope.region, &scope.service);
        let now = parse_amz_date(&claim.amz_date).unwrap();
        assert_eq!(claim.verify(&request, "us-east-1", &key, now), Ok(()), "{name}");

        let tampered_body = format!("{} ", case["body"].as_str().unwrap());
        let tampered = HttpRequest { body: tampered_body.as_bytes(), ..request };
        if claim.expires.is_none() {
            assert_eq!(
                claim.verify(&tampered, "us-east-1", &key, now),
                Err(AuthError::SignatureMismatch),
                "{name}: body"
            );
        }
        let tampered_path = format!("{}x", request.path);
        let tampered = HttpRequest { path: &tampered_path, ..request };
        assert_eq!(claim.verify(&tampered, "us-east-1", &key, now), Err(AuthError::SignatureMismatch), "{name}: path");
        if claim.expires.is_none() {
            assert!(claim.security_token.is_some() == name.contains("session token"), "{name}: token");
        }
    }
}
