//! Any Authorization header, query and body: parsing and verifying a SigV4 claim never panics.
#![no_main]

use aws_protocol::sigv4::{Claim, HttpRequest, signing_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, '\n');
    let (authorization, query, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let body = parts.next().unwrap_or("").as_bytes();
    let headers = [("Host", "127.0.0.1"), ("X-Amz-Date", "20261128T120000Z"), ("Authorization", authorization)];
    for headers in [&headers[..], &headers[..2]] {
        let request = HttpRequest { method: "POST", path, query, headers, body };
        if let Ok(claim) = Claim::parse(&request) {
            let key = signing_key("secret", &claim.credential.date, &claim.credential.region, &claim.credential.service);
            let _ = claim.verify(&request, "us-east-1", &key, 1_764_331_200);
        }
    }
});
