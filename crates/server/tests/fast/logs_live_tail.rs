//! StartLiveTail in process, read as a client reads it (HTTP/1.1 chunks of event-stream
//! messages): what arrives after the start, filtered and sampled as CloudWatch Logs does, the
//! refusals, and the quota of open sessions, which a client that goes away stops holding.

use std::time::{Duration, Instant};

use crate::support::{Case, Streaming, TestServer, fresh_postgres, logs, now_ms, unique};
use aws_protocol::event_stream::Message;
use serde_json::{Value, json};

crate::support::on_both_stores!(events_put_after_the_start_arrive_filtered_and_sampled, live_tail_refusals);

#[test]
fn sessions_are_counted_and_freed_on_sqlite() {
    sessions_are_counted_and_freed(&TestServer::start());
}

#[test]
fn sessions_are_counted_and_freed_on_postgres() {
    if let Some(url) = fresh_postgres("live_tail") {
        sessions_are_counted_and_freed(&TestServer::start_on(Some(url)));
    }
}

fn payload(message: &Message) -> Value {
    serde_json::from_slice(&message.payload).unwrap()
}

/// Reads the stream's first two messages: the initial response and the session's start.
fn started(stream: &mut Streaming) -> Value {
    assert_eq!(stream.status, 200, "{}", stream.head);
    let initial = stream.next_message(Duration::from_secs(5)).expect("an initial response");
    assert_eq!(initial.header(":event-type"), Some("initial-response"));
    assert_eq!(payload(&initial), json!({}));
    let start = stream.next_message(Duration::from_secs(5)).expect("a session start");
    assert_eq!(start.header(":message-type"), Some("event"));
    assert_eq!(start.header(":event-type"), Some("sessionStart"));
    assert_eq!(start.header(":content-type"), Some("application/json"));
    payload(&start)
}

/// The next update that carries events, within `within`: its results and whether they were
/// sampled; every update before it is empty.
fn next_events(stream: &mut Streaming, within: Duration) -> (Vec<Value>, bool) {
    let deadline = Instant::now() + within;
    while let Some(message) = stream.next_message(deadline.saturating_duration_since(Instant::now())) {
        assert_eq!(message.header(":event-type"), Some("sessionUpdate"), "{message:?}");
        let update = payload(&message);
        let results = update["sessionResults"].as_array().unwrap().clone();
        if !results.is_empty() {
            return (results, update["sessionMetadata"]["sampled"].as_bool().unwrap());
        }
        assert_eq!(update["sessionMetadata"]["sampled"], false);
    }
    panic!("no events within {within:?}");
}

fn events_put_after_the_start_arrive_filtered_and_sampled(server: &TestServer) {
    let root = &server.root;
    let group = unique("live");
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    for stream in ["app-1", "db"] {
        server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": stream})).ok();
    }
    let put = |stream: &str, messages: &[&str]| {
        let now = now_ms();
        let events: Vec<Value> = messages.iter().map(|m| json!({"timestamp": now, "message": m})).collect();
        server
            .logs(root, "PutLogEvents", &json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}))
            .ok();
    };
    put("app-1", &["ERROR before the session"]);
    let mut stream = server.logs_stream(
        root,
        "StartLiveTail",
        &json!({"logGroupIdentifiers": [arn], "logStreamNamePrefixes": ["app-"], "logEventFilterPattern": "ERROR"}),
    );
    assert!(
        stream.head.to_ascii_lowercase().contains("content-type: application/vnd.amazon.eventstream"),
        "{}",
        stream.head
    );
    let start = started(&mut stream);
    assert_eq!(start["logGroupIdentifiers"], json!([arn]));
    assert_eq!(start["logStreamNamePrefixes"], json!(["app-"]));
    assert_eq!(start["logEventFilterPattern"], "ERROR");
    assert!(start["sessionId"].as_str().is_some_and(|id| !id.is_empty()), "{start}");
    assert!(start["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{start}");

    let sent = Instant::now();
    put("app-1", &["ERROR boom", "INFO fine"]);
    put("db", &["ERROR elsewhere"]);
    let (results, sampled) = next_events(&mut stream, Duration::from_secs(5));
    let latency = sent.elapsed();
    assert!(!sampled);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["message"], "ERROR boom");
    assert_eq!(results[0]["logStreamName"], "app-1");
    assert_eq!(results[0]["logGroupIdentifier"], arn.as_str());
    assert!(results[0]["timestamp"].is_i64() && results[0]["ingestionTime"].is_i64(), "{results:?}");
    eprintln!("live tail: an event put reached the session in {latency:?}");

    // 1,200 matching events in one second are sampled down to 500, evenly.
    let many: Vec<String> = (0..1_200).map(|n| format!("ERROR {n:04}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    put("app-1", &many);
    let (results, sampled) = next_events(&mut stream, Duration::from_secs(5));
    assert!(sampled);
    assert_eq!(results.len(), 500);
    assert_eq!(results[0]["message"], "ERROR 0000");
    let messages: Vec<&str> = results.iter().map(|r| r["message"].as_str().unwrap()).collect();
    assert!(messages.windows(2).all(|pair| pair[0] < pair[1]), "in their order");
}

fn live_tail_refusals(server: &TestServer) {
    let root = &server.root;
    let group = unique("live-refused");
    let other = unique("live-other");
    for name in [&group, &other] {
        server.logs(root, "CreateLogGroup", &json!({"logGroupName": name})).ok();
    }
    let arn = |name: &str| format!("arn:aws:logs:us-east-1:{}:log-group:{name}", server.account_id);
    let start = |body: Value| logs("StartLiveTail", body);
    let only_group = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"logs:StartLiveTail","Resource":"{}"}}}}"#,
        arn(&group)
    );
    let limited = server.user_with_policy(&unique("tailer"), Some(&only_group));
    let eleven: Vec<String> = (0..11).map(|n| arn(&format!("{group}-{n}"))).collect();
    server.run(&[
        Case::error("names and prefixes", root,
            start(json!({"logGroupIdentifiers": [arn(&group)], "logStreamNames": ["a"], "logStreamNamePrefixes": ["b"]})),
            400, "InvalidParameterException", "mutually exclusive"),
        Case::error("prefixes over two groups", root,
            start(json!({"logGroupIdentifiers": [arn(&group), arn(&other)], "logStreamNamePrefixes": ["b"]})),
            400, "InvalidParameterException", "only one log group"),
        Case::error("a group nobody made", root,
            start(json!({"logGroupIdentifiers": [arn("nobody-made-me")]})),
            400, "ResourceNotFoundException", "nobody-made-me"),
        Case::error("another region's group", root,
            start(json!({"logGroupIdentifiers": [format!("arn:aws:logs:eu-west-1:{}:log-group:{group}", server.account_id)]})),
            400, "ResourceNotFoundException", "does not exist"),
        Case::error("eleven groups", root, start(json!({"logGroupIdentifiers": eleven})),
            400, "InvalidParameterException", "logGroupIdentifiers"),
        Case::error("no group", root, start(json!({"logGroupIdentifiers": []})),
            400, "InvalidParameterException", "logGroupIdentifiers"),
        // Space-delimited patterns are refused, as FilterLogEvents refuses them.
        Case::error("a pattern Homeport does not take", root,
            start(json!({"logGroupIdentifiers": [arn(&group)], "logEventFilterPattern": "[ip, user]"})),
            400, "InvalidParameterException", "Space-delimited"),
        Case::error("a group the caller may not tail", &limited,
            start(json!({"logGroupIdentifiers": [arn(&group), arn(&other)]})),
            403, "AccessDeniedException", "logs:StartLiveTail"),
        Case::error("nobody", server.nobody(), start(json!({"logGroupIdentifiers": [arn(&group)]})),
            403, "AccessDeniedException", "logs:StartLiveTail"),
    ]);
    // Allowed on its one group, the limited user tails it.
    let mut stream = server.logs_stream(&limited, "StartLiveTail", &json!({"logGroupIdentifiers": [arn(&group)]}));
    started(&mut stream);
}

fn sessions_are_counted_and_freed(server: &TestServer) {
    let root = &server.root;
    let group = unique("live-quota");
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    let body = json!({"logGroupIdentifiers": [group]});
    let mut open: Vec<Streaming> = (0..15).map(|_| server.logs_stream(root, "StartLiveTail", &body)).collect();
    for stream in &mut open {
        started(stream);
    }
    let refused = server.logs(root, "StartLiveTail", &body);
    assert_eq!((refused.status, refused.code()), (400, "LimitExceededException".to_owned()), "{}", refused.body);
    // A client that goes away stops holding its place within a second or two.
    drop(open.pop());
    let freed = Instant::now();
    let mut again = loop {
        let stream = server.logs_stream(root, "StartLiveTail", &body);
        if stream.status == 200 {
            break stream;
        }
        assert!(freed.elapsed() < Duration::from_secs(5), "still refused: {}", stream.rest());
        std::thread::sleep(Duration::from_millis(200));
    };
    started(&mut again);
    eprintln!("live tail: a closed session's place was free again after {:?}", freed.elapsed());
}
