//! A fuzzed policy and a fuzzed request: evaluation never panics and always decides.
#![no_main]

use iam_policy::{Caller, Context, PolicyRef, PolicySet, Request, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Policy, action, resource and one context value, separated by NUL bytes.
    let mut parts = text.split('\0');
    let (Some(policy), Some(action), Some(resource)) = (parts.next(), parts.next(), parts.next()) else { return };
    let value = parts.next().unwrap_or("");
    let Ok(policy) = iam_policy::Policy::parse(policy) else { return };
    let caller = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/r/s");
    let context = Context::new()
        .with("aws:username", value)
        .with("aws:SourceIp", value)
        .with("aws:CurrentTime", value)
        .with_values("aws:TagKeys", value.split(','));
    let refs = [PolicyRef { id: "fuzz", policy: &policy }];
    for set in [
        PolicySet { identity: &refs, ..PolicySet::default() },
        PolicySet { resource: Some(refs[0]), ..PolicySet::default() },
    ] {
        let _ = decide(&set, &Request::new(action, resource, caller.as_ref(), &context).tracking_missing_keys());
    }
});
