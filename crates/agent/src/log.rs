//! The agent's log: one line per event on standard error, each starting with a UTC
//! timestamp, so journald and `2>agent.log` both read well. Callers pass identifiers,
//! error codes and messages only, never a secret.

use std::io::Write;

use aws_protocol::sigv4::format_iso8601;

/// Logs one event.
pub fn event(text: &str) {
    let line = format!("{} {text}\n", format_iso8601(crate::now()));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
