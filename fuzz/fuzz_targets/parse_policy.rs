//! Any bytes as a policy document: parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = iam_policy::Policy::parse(text);
    for kind in [iam_policy::PolicyKind::Identity, iam_policy::PolicyKind::Trust, iam_policy::PolicyKind::Resource] {
        let _ = iam_policy::validate(text, kind);
    }
});
