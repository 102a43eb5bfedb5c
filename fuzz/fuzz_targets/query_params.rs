//! Any query string and form body: decoding awsQuery parameters and reading lists and
//! structures out of them never panics, and a decode that succeeds respects the caps.
#![no_main]

use aws_protocol::query::{MAX_PARAMETERS, QueryParams};
use aws_protocol::sigv4::HttpRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&byte| byte == b'\n') {
        Some(at) => (data.get(..at).unwrap_or_default(), data.get(at + 1..).unwrap_or_default()),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")];
    let request = HttpRequest { method: "POST", path: "/", query: &query, headers: &headers, body };
    let Ok(params) = QueryParams::from_request(&request) else { return };
    assert!(params.len() <= MAX_PARAMETERS);
    let _ = params.get("Action");
    for entry in params.members("ContextEntries") {
        let _ = entry.get("ContextKeyName");
        let _ = entry.strings("ContextKeyValues");
    }
    let _ = params.strings("PolicyInputList");
    let _ = params.members("Tags").iter().map(|tag| tag.get("Key")).count();
    let _ = params.nested("A").contains("B");
});
