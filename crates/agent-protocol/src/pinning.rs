//! What every message's tests check: that a literal JSON document reads as the expected value
//! and writes back as the same document (the same members, nothing added or dropped).

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `text` reads as `expected`, `expected` writes as `text`, and the value survives a round trip.
pub(crate) fn pins<T>(text: &str, expected: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let read: T = serde_json::from_str(text).unwrap_or_else(|error| panic!("{text} does not read: {error}"));
    assert_eq!(&read, expected, "{text} reads differently");
    let document: Value = serde_json::from_str(text).unwrap();
    let written = serde_json::to_value(expected).unwrap();
    assert_eq!(written, document, "writes other members than {text}");
    let again: T = serde_json::from_value(written).unwrap();
    assert_eq!(&again, expected, "does not survive a round trip");
}
