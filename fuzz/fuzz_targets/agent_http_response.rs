//! Any bytes from the network: the agent's HTTP/1.1 response reader, and its endpoint parser
//! on any text, never panic (and never return a body over its cap).
#![no_main]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A byte slice never makes the reader wait: one poll finishes it.
    let mut reader = data;
    let mut future = std::pin::pin!(agent::http::read_response(&mut reader));
    if let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        assert!(response.body.len() <= 1024 * 1024);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = agent::http::Endpoint::parse(text);
    }
});
