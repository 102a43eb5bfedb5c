//! Any awsJson request body: decoding it never panics, and what decodes is an object.
#![no_main]

use aws_protocol::json::decode_body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode_body(data) {
        assert!(value.is_object());
    }
});
