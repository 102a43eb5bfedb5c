//! Any Logs Insights query and messages: parsing, running and finishing never panic. The first
//! line is the query, each line after it one event's message.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use logs_insights::{Event, Query};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let Ok(query) = Query::parse(lines.next().unwrap_or_default()) else { return };
    let mut run = query.run(100);
    let log: Arc<str> = Arc::from("111122223333:/fuzz");
    for (i, message) in lines.enumerate() {
        let event = Event {
            timestamp: i as i64 * 1000,
            ingestion_time: i as i64 * 1000,
            message: message.to_owned(),
            stream: "s".to_owned(),
            log: Arc::clone(&log),
            source: 0,
            id: i as i64,
        };
        if run.push(event).is_err() || run.done() {
            break;
        }
    }
    if let Ok(outcome) = run.finish() {
        assert!(outcome.rows.len() <= 100);
    }
});
