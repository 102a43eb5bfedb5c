//! The server's log: one line per event on standard error. Secrets never reach it: callers
//! log identifiers and error texts, never request bodies or keys.

use std::io::Write;

/// Logs an event.
pub fn event(text: &str) {
    let line = format!("{} {text}\n", crate::ids::iso8601(crate::ids::now()));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
