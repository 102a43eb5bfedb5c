//! SigV4 against AWS's published examples: the IAM `ListUsers` example of the SigV4
//! documentation and cases of AWS's SigV4 test suite (`get-vanilla`, `post-vanilla`, ...),
//! with credentials `AKIDEXAMPLE` / `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY` signed at
//! 2015-08-30T12:36:00Z in us-east-1.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

use aws_protocol::sigv4::{
    AuthError, Claim, HttpRequest, canonical_request, parse_amz_date, sha256_hex, signing_key, string_to_sign,
};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SIGNED_AT: &str = "20150830T123600Z";

fn now() -> i64 {
    parse_amz_date(SIGNED_AT).unwrap()
}

/// The documentation's worked example: `GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08`.
#[test]
fn the_documented_iam_list_users_example() {
    let headers = [
        ("Host", "iam.amazonaws.com"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("X-Amz-Date", SIGNED_AT),
    ];
    let request = HttpRequest {
        method: "GET",
        path: "/",
        query: "Action=ListUsers&Version=2010-05-08",
        headers: &headers,
        body: b"",
    };
    let canonical = canonical_request(&request, &["content-type", "host", "x-amz-date"], &sha256_hex(b""));
    assert_eq!(
        canonical,
        "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(sha256_hex(canonical.as_bytes()), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    let to_sign = string_to_sign(SIGNED_AT, "20150830/us-east-1/iam/aws4_request", &canonical);
    let signature = signing_key(SECRET, "20150830", "us-east-1", "iam").sign(&to_sign);
    assert_eq!(signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");

    // And the same request verified end to end from its Authorization header.
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
    );
    let mut with_auth = headers.to_vec();
    with_auth.push(("Authorization", &authorization));
    let request = HttpRequest { headers: &with_auth, ..request };
    let claim = Claim::parse(&request).unwrap();
    assert_eq!(claim.credential.access_key_id, "AKIDEXAMPLE");
    assert_eq!(claim.credential.service, "iam");
    let key = signing_key(SECRET, "20150830", "us-east-1", "iam");
    assert_eq!(claim.verify(&request, "us-east-1", &key, now()), Ok(()));
}

/// A case of AWS's SigV4 test suite (host `example.amazonaws.com`, service `service`).
struct SuiteCase {
    name: &'static str,
    method: &'static str,
    query: &'static str,
    signature: &'static str,
}

const SUITE: &[SuiteCase] = &[
    SuiteCase {
        name: "get-vanilla",
        method: "GET",
        query: "",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    SuiteCase {
        name: "post-vanilla",
        method: "POST",
        query: "",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    SuiteCase {
        name: "get-vanilla-query-order-key-case",
        method: "GET",
        query: "Param2=value2&Param1=value1",
        signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    },
];

#[test]
fn the_sigv4_test_suite() {
    for case in SUITE {
        let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", SIGNED_AT)];
        let request = HttpRequest { method: case.method, path: "/", query: case.query, headers: &headers, body: b"" };
        let canonical = canonical_request(&request, &["host", "x-amz-date"], &sha256_hex(b""));
        let to_sign = string_to_sign(SIGNED_AT, "20150830/us-east-1/service/aws4_request", &canonical);
        let signature = signing_key(SECRET, "20150830", "us-east-1", "service").sign(&to_sign);
        assert_eq!(signature, case.signature, "{}:\n{canonical}", case.name);
    }
}

fn signed_request_parts() -> (Vec<(String, String)>, String) {
    let headers =
        vec![("Host".to_owned(), "example.amazonaws.com".to_owned()), ("X-Amz-Date".to_owned(), SIGNED_AT.to_owned())];
    let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".to_owned();
    (headers, authorization)
}

#[test]
fn refusals_name_what_is_wrong() {
    let (headers, authorization) = signed_request_parts();
    let verify = |headers: &[(&str, &str)], body: &[u8], region: &str, secret: &str, at: i64| {
        let request = HttpRequest { method: "GET", path: "/", query: "", headers, body };
        let claim = Claim::parse(&request)?;
        claim.verify(&request, region, &signing_key(secret, "20150830", "us-east-1", "service"), at)
    };
    let mut with_auth: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    with_auth.push(("Authorization", &authorization));

    assert_eq!(verify(&with_auth, b"", "us-east-1", SECRET, now()), Ok(()));
    assert_eq!(verify(&with_auth, b"", "us-east-1", "wrong", now()), Err(AuthError::SignatureMismatch));
    assert_eq!(verify(&with_auth, b"tampered", "us-east-1", SECRET, now()), Err(AuthError::SignatureMismatch));
    assert_eq!(verify(&with_auth, b"", "us-east-1", SECRET, now() + 300), Ok(()), "5 minutes of skew are allowed");
    assert_eq!(
        verify(&with_auth, b"", "us-east-1", SECRET, now() + 301),
        Err(AuthError::Skewed(
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)"
                .to_owned()
        ))
    );
    assert!(
        matches!(verify(&with_auth, b"", "us-east-1", SECRET, now() - 301), Err(AuthError::Skewed(m)) if m.starts_with("Signature not yet current"))
    );
    assert!(matches!(verify(&with_auth, b"", "eu-west-1", SECRET, now()), Err(AuthError::BadScope(_))));
    let unsigned: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(verify(&unsigned, b"", "us-east-1", SECRET, now()), Err(AuthError::Missing));
    let partial = [
        ("Host", "example.amazonaws.com"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"),
    ];
    assert!(
        matches!(verify(&partial, b"", "us-east-1", SECRET, now()), Err(AuthError::Incomplete(m)) if m.contains("requires 'Signature' parameter"))
    );
}

#[test]
fn presigned_requests_verify_until_they_expire() {
    let key = signing_key(SECRET, "20150830", "us-east-1", "sts");
    let base = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host";
    let headers = [("Host", "sts.amazonaws.com")];
    let unsigned = HttpRequest { method: "GET", path: "/", query: base, headers: &headers, body: b"" };
    let canonical = canonical_request(&unsigned, &["host"], &sha256_hex(b""));
    let signature = key.sign(&string_to_sign(SIGNED_AT, "20150830/us-east-1/sts/aws4_request", &canonical));
    let query = format!("{base}&X-Amz-Signature={signature}");
    let request = HttpRequest { query: &query, ..unsigned };
    let claim = Claim::parse(&request).unwrap();
    assert_eq!(claim.expires, Some(60));
    assert_eq!(claim.verify(&request, "us-east-1", &key, now() + 60), Ok(()));
    assert_eq!(claim.verify(&request, "us-east-1", &key, now() + 61), Err(AuthError::PresignExpired));
}

/// Signs `query` (presigned, without its signature) for `service` and returns the full query.
fn presign(service: &str, query: &str) -> String {
    let key = signing_key(SECRET, "20150830", "us-east-1", service);
    let headers = [("Host", "example.amazonaws.com")];
    let unsigned = HttpRequest { method: "GET", path: "/", query, headers: &headers, body: b"" };
    let canonical = canonical_request(&unsigned, &["host"], &sha256_hex(b""));
    let signature =
        key.sign(&string_to_sign(SIGNED_AT, &format!("20150830/us-east-1/{service}/aws4_request"), &canonical));
    format!("{query}&X-Amz-Signature={signature}")
}

/// A presigned request that does not say how long it lives is refused (it used to live the
/// seven-day maximum), in AWS's words.
#[test]
fn a_presigned_request_without_x_amz_expires_is_refused() {
    let base = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host";
    let query = presign("sts", base);
    let headers = [("Host", "example.amazonaws.com")];
    let request = HttpRequest { method: "GET", path: "/", query: &query, headers: &headers, body: b"" };
    assert_eq!(
        Claim::parse(&request),
        Err(AuthError::Incomplete(
            "AWS query-string parameters must include 'X-Amz-Expires'. Re-examine the query-string parameters."
                .to_owned()
        ))
    );
    let bare = HttpRequest { query: "X-Amz-Signature=abc", ..request };
    let Err(AuthError::Incomplete(message)) = Claim::parse(&bare) else { panic!("an incomplete claim parsed") };
    assert!(message.starts_with("AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string"));
    assert!(message.ends_with("must include 'X-Amz-Expires'. Re-examine the query-string parameters."));
    for bad in ["0", "604801", "-1", "ten"] {
        let query = presign("sts", &format!("{base}&X-Amz-Expires={bad}"));
        let request = HttpRequest { query: &query, ..request };
        assert!(matches!(Claim::parse(&request), Err(AuthError::Incomplete(_))), "{bad}");
    }
}

/// `UNSIGNED-PAYLOAD` lets a body be swapped under a valid signature; only S3 accepts it.
/// Everywhere else the body received is hashed, so such a request does not verify.
#[test]
fn unsigned_payload_is_honoured_only_for_s3() {
    let signed = |service: &str, body: &[u8]| {
        let key = signing_key(SECRET, "20150830", "us-east-1", service);
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SIGNED_AT),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ];
        let names = ["host", "x-amz-content-sha256", "x-amz-date"];
        let unsigned = HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
        let canonical = canonical_request(&unsigned, &names, "UNSIGNED-PAYLOAD");
        let scope = format!("20150830/us-east-1/{service}/aws4_request");
        let signature = key.sign(&string_to_sign(SIGNED_AT, &scope, &canonical));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={}, Signature={signature}",
            names.join(";")
        );
        let mut with_auth = headers.to_vec();
        with_auth.push(("Authorization", &authorization));
        let request = HttpRequest { headers: &with_auth, body, ..unsigned };
        Claim::parse(&request).unwrap().verify(&request, "us-east-1", &key, now())
    };
    assert_eq!(signed("s3", b"any body"), Ok(()));
    for service in ["iam", "sts", "logs", "ecs"] {
        assert_eq!(
            signed(service, b"Action=DeleteUser&UserName=admin"),
            Err(AuthError::SignatureMismatch),
            "{service}"
        );
        assert_eq!(signed(service, b""), Err(AuthError::SignatureMismatch), "{service}: even with an empty body");
    }
}
