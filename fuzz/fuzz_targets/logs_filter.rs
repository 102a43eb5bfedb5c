//! Any filter pattern and message: parsing and matching never panic. The first line is the
//! pattern, the rest the message (JSON patterns need JSON messages to get far).
#![no_main]

use libfuzzer_sys::fuzz_target;
use logs_filter::Pattern;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pattern, message) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(pattern) = Pattern::parse(pattern) else { return };
    let _ = pattern.matches(message);
    assert!(pattern.cost(message.len()) >= message.len() || matches!(pattern, Pattern::All));
});
