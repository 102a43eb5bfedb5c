//! Any JSON as a SimulateCustomPolicy request: an answer or InvalidInput, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(request) = iam_policy::simulate::SimulateCustomPolicyRequest::from_json(value) {
        let _ = iam_policy::simulate::simulate_custom_policy(&request);
    }
});
