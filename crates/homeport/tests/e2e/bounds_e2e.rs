//! What the server bounds before (or without) authentication, against the real binary: body
//! sizes by operation with AWS-shaped refusals, the head deadline for slow clients and idle
//! connections (TLS handshakes and idle HTTP/2 connections included), the streamed and capped binary download, unauthenticated identifiers checked
//! before they are recorded, and FilterLogEvents' work per call.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Key, Server, body, fresh_dir, post, read_credentials};

/// The listener's head deadline (`server::http::HEAD_TIMEOUT`).
const HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends a request head declaring `length` body bytes and then as much of the body as the
/// server takes; returns the response (the server answers a declared oversize at once).
/// A server on plain HTTP, for the tests that write HTTP/1.1 byte by byte on a socket: the
/// bounds they probe are hyper's, the same behind TLS; the TLS-specific ones (a silent
/// handshake, idle HTTP/2 and HTTP/1.1 over TLS) are tested on the default listener below.
fn plain_server(dir: &std::path::Path) -> Server {
    Server::start_with(&dir.join("data"), None, &["--insecure-http"])
}

fn send_declared(address: &str, headers: &[(&str, &str)], length: usize) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("POST / HTTP/1.1\r\nHost: {address}\r\nContent-Length: {length}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may close before taking it all: that is the point.
    let _ = stream.write_all(&vec![b'a'; length]);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn status(response: &str) -> u16 {
    response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

#[test]
fn oversized_bodies_are_refused_in_the_request_protocol() {
    let dir = fresh_dir("bounds-bodies");
    let server = plain_server(&dir);
    let two_mib = 2 * 1024 * 1024;

    // awsQuery (no target): XML, in STS's namespace when signed for STS.
    let query = send_declared(
        &server.address,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/sts/aws4_request"),
        ],
        two_mib,
    );
    assert_eq!(status(&query), 413, "{query}");
    assert!(query.contains("<Code>RequestEntityTooLarge</Code>"), "{query}");
    assert!(query.contains("https://sts.amazonaws.com/doc/2011-06-15/"), "{query}");
    assert!(query.contains("x-amzn-requestid"), "{query}");

    // awsJson (a target): JSON with `__type`, even for the unauthenticated instance calls.
    let json = send_declared(&server.address, &[("X-Amz-Target", "AmazonSSM.RegisterManagedInstance")], two_mib);
    assert_eq!(status(&json), 413, "{json}");
    assert_eq!(body(&json)["__type"], "RequestEntityTooLargeException", "{json}");
    assert!(body(&json)["message"].as_str().unwrap().contains("1048576 bytes"), "{json}");

    // A chunked body (no length declared) is counted as it arrives.
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nX-Amz-Target: AmazonSSM.DescribeInstanceInformation\r\n\r\n",
        server.address
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "b".repeat(64 * 1024));
    for _ in 0..40 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert_eq!(status(&response), 413, "{response}");

    // PutLogEvents may send more (CloudWatch takes a 1 MiB batch, which JSON makes larger): it
    // reaches authentication, which refuses the unsigned request.
    let logs = send_declared(&server.address, &[("X-Amz-Target", "Logs_20140328.PutLogEvents")], two_mib);
    assert_eq!(status(&logs), 403, "{logs}");
    assert_eq!(body(&logs)["__type"], "MissingAuthenticationTokenException", "{logs}");
    let logs = send_declared(&server.address, &[("X-Amz-Target", "Logs_20140328.PutLogEvents")], 5 * 1024 * 1024);
    assert_eq!(status(&logs), 413, "{logs}");
}

/// A client that sends its head a byte every two seconds is dropped at the head deadline, and
/// a keep-alive connection left idle is closed at the same deadline; other clients are served
/// throughout. Bounded: the test gives up at twice the deadline.
#[test]
fn slow_and_idle_clients_are_dropped_at_the_head_deadline() {
    let dir = fresh_dir("bounds-slow");
    let server = plain_server(&dir);

    let idle = std::thread::spawn({
        let address = server.address.clone();
        move || {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream.set_read_timeout(Some(HEAD_TIMEOUT * 2)).unwrap();
            stream.write_all(format!("GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).unwrap();
            let mut answer = [0_u8; 4096];
            let read = stream.read(&mut answer).unwrap();
            assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
            let idle_from = Instant::now();
            // The server closes the idle connection: a read returns end of stream (or an error).
            let closed = matches!(stream.read(&mut answer), Ok(0) | Err(_));
            (closed, idle_from.elapsed())
        }
    });

    let mut slow = TcpStream::connect(&server.address).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    let started = Instant::now();
    let head = format!("POST / HTTP/1.1\r\nHost: {}\r\nX-Padding: {}\r\n", server.address, "p".repeat(64));
    let mut dropped_after = None;
    for byte in head.bytes().cycle() {
        if started.elapsed() > HEAD_TIMEOUT * 2 {
            break;
        }
        let mut probe = [0_u8; 512];
        let closed = slow.write_all(&[byte]).is_err()
            || match slow.read(&mut probe) {
                Ok(_) => true,
                Err(error) => !matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            };
        if closed {
            dropped_after = Some(started.elapsed());
            break;
        }
        // Meanwhile the server answers everyone else.
        let (status, _) = common::raw_post(&server.address, &[("Host", server.address.clone())], "");
        assert!(status >= 400, "an unsigned POST is refused, not left hanging");
        std::thread::sleep(Duration::from_secs(2));
    }
    let dropped_after = dropped_after.expect("the slow client was never dropped");
    assert!(dropped_after >= HEAD_TIMEOUT - Duration::from_secs(1), "dropped before the deadline: {dropped_after:?}");
    assert!(dropped_after < HEAD_TIMEOUT + Duration::from_secs(15), "dropped late: {dropped_after:?}");

    let (closed, idle_for) = idle.join().unwrap();
    assert!(closed, "the idle keep-alive connection was never closed");
    assert!(idle_for < HEAD_TIMEOUT + Duration::from_secs(15), "closed late: {idle_for:?}");
}

/// Reads a response head (up to the blank line); the rest stays in the socket.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn start_download(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.write_all(format!("GET /download/homeport HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).unwrap();
    stream
}

#[test]
fn the_binary_is_streamed_and_concurrent_downloads_are_capped() {
    let dir = fresh_dir("bounds-download");
    let server = plain_server(&dir);
    let binary = std::fs::read(env!("CARGO_BIN_EXE_homeport")).unwrap();

    // A whole download is the binary, with its length declared up front.
    let mut stream = start_download(&server.address);
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains(&format!("content-length: {}", binary.len())), "{head}");
    let mut received = vec![0_u8; binary.len()];
    stream.read_exact(&mut received).unwrap();
    assert!(received == binary, "the download is the binary");
    drop(stream);

    // Readers that stop reading hold their places; one more than the cap is refused at once,
    // in AWS's shape.
    let mut holders: Vec<TcpStream> = (0..32)
        .map(|_| {
            let mut stream = start_download(&server.address);
            assert!(read_head(&mut stream).starts_with("HTTP/1.1 200"));
            stream
        })
        .collect();
    let mut refused = start_download(&server.address);
    let head = read_head(&mut refused);
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let mut rest = vec![0_u8; 4096];
    let read = refused.read(&mut rest).unwrap();
    let text = String::from_utf8_lossy(&rest[..read]);
    assert!(text.contains("<Code>ServiceUnavailable</Code>"), "{text}");

    // Their places are released when they go.
    holders.clear();
    common::ecs::wait_for("a download place to be released", Duration::from_secs(60), || {
        let mut stream = start_download(&server.address);
        read_head(&mut stream).starts_with("HTTP/1.1 200").then_some(())
    });
}

#[test]
fn an_oversized_activation_id_is_refused_before_anything_is_recorded() {
    let dir = fresh_dir("bounds-activation");
    let server = Server::start(&dir.join("data"), None);
    let audit_size = || -> u64 {
        std::fs::read_dir(dir.join("data").join("audit"))
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .map(|metadata| metadata.len())
            .sum()
    };
    let before = audit_size();
    let request = json!({
        "ActivationId": "a".repeat(900 * 1024),
        "ActivationCode": "code",
        "PublicKey": "AAAA",
        "PublicKeyType": "Ed25519",
        "Fingerprint": "f",
    });
    let headers = [
        ("Host", server.address.clone()),
        ("Content-Type", "application/x-amz-json-1.1".to_owned()),
        ("X-Amz-Target", "AmazonSSM.RegisterManagedInstance".to_owned()),
        ("User-Agent", "u".repeat(64 * 1024)),
    ];
    for _ in 0..5 {
        let (status, response) = common::raw_post(&server.address, &headers, &request.to_string());
        assert_eq!(status, 400, "{response}");
        let answer = body(&response);
        assert_eq!(answer["__type"], "ValidationException");
        assert!(response.len() < 4096, "the answer does not echo the value: {} bytes", response.len());
    }
    let grown = audit_size() - before;
    assert!(grown < 5 * 8 * 1024, "five refusals grew the audit trail by {grown} bytes");
}

/// FilterLogEvents stops at its work budget and answers a `nextToken`, and paging with it
/// finishes the search: a pattern of many terms over many large events cannot hold a
/// runtime thread.
#[test]
fn filter_log_events_bounds_its_work_per_call() {
    let dir = fresh_dir("bounds-filter");
    let server = Server::start(&dir.join("data"), None);
    let (id, secret, _) = read_credentials(&server.root_credentials());
    let key = Key { id: &id, secret: &secret, token: None };
    let call = |operation: &str, request: Value| {
        let (status, response) = post(
            &server.address,
            Some(&key),
            "logs",
            Some(&format!("Logs_20140328.{operation}")),
            &request.to_string(),
        );
        assert_eq!(status, 200, "{operation}: {response}");
        body(&response)
    };
    let (group, stream) = ("/bounds/filter", "s");
    call("CreateLogGroup", json!({"logGroupName": group}));
    call("CreateLogStream", json!({"logGroupName": group, "logStreamName": stream}));
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    for batch in 0..2 {
        let events: Vec<Value> = (0..500)
            .map(|n| json!({"timestamp": now - 10_000 + batch * 500 + n, "message": "x".repeat(1000)}))
            .collect();
        call("PutLogEvents", json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}));
    }
    call(
        "PutLogEvents",
        json!({"logGroupName": group, "logStreamName": stream,
        "logEvents": [{"timestamp": now, "message": "needle t0 t1"}]}),
    );
    // 100 terms: each 1,000-byte event costs 100,000 bytes of work, so 1,001 events are more
    // than one call's budget.
    let pattern = format!("needle t0 t1{}", " t0".repeat(97));
    let mut request = json!({"logGroupName": group, "filterPattern": pattern});
    let first = call("FilterLogEvents", request.clone());
    assert_eq!(first["events"].as_array().unwrap().len(), 0, "the first call stops before the match");
    let mut token = first["nextToken"].as_str().expect("a call that spent its budget answers a nextToken").to_owned();
    let mut found = Vec::new();
    for _ in 0..20 {
        request["nextToken"] = json!(token);
        let page = call("FilterLogEvents", request.clone());
        found.extend(page["events"].as_array().unwrap().iter().map(|event| event["message"].clone()));
        match page["nextToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(found, vec![json!("needle t0 t1")]);
}

/// CPU time (user and system) a process has used, from `/proc/PID/stat`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Reads one HTTP/2 frame: its type, flags and payload; `None` once the connection ends.
fn read_frame(stream: &mut impl Read) -> Option<(u8, u8, Vec<u8>)> {
    let mut header = [0_u8; 9];
    stream.read_exact(&mut header).ok()?;
    let length = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0_u8; length];
    stream.read_exact(&mut payload).ok()?;
    Some((header[3], header[4], payload))
}

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let length = payload.len().to_be_bytes();
    let mut frame = vec![length[5], length[6], length[7], kind, flags, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Over TLS, the head deadline holds too: a client that connects and never sends its
/// handshake is dropped at it, an idle HTTP/1.1 keep-alive connection is closed at it, and an
/// HTTP/2 connection that sends no request (while answering the server's pings) is closed at
/// it, GOAWAY first.
/// Bounded: each gives up at twice the deadline.
#[test]
fn a_silent_tls_client_and_an_idle_http2_connection_are_closed_at_the_head_deadline() {
    use std::io::{BufRead, BufReader};
    let dir = fresh_dir("bounds-tls");
    let data = dir.join("data");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_homeport"))
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    assert!(first_line.starts_with("Homeport is listening on https://"), "{first_line}");
    let address = common::listen_address(&first_line).unwrap();

    let silent = std::thread::spawn({
        let address = address.clone();
        move || {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream.set_read_timeout(Some(HEAD_TIMEOUT * 2)).unwrap();
            let started = Instant::now();
            let closed = match stream.read(&mut [0_u8; 64]) {
                Ok(read) => read == 0,
                Err(error) => !matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            };
            (closed, started.elapsed())
        }
    });

    let connect = |protocol: &[u8]| {
        let mut config = (*common::tls::client_config(&data.join("tls/ca.pem"))).clone();
        config.alpn_protocols = vec![protocol.to_vec()];
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(&address).unwrap();
        tcp.set_read_timeout(Some(HEAD_TIMEOUT * 2)).unwrap();
        rustls::StreamOwned::new(connection, tcp)
    };

    // HTTP/1.1 over TLS: an idle keep-alive connection is closed at the head deadline.
    let mut http1 = connect(b"http/1.1");
    let idle_http1 = std::thread::spawn({
        let address = address.clone();
        move || {
            http1.write_all(format!("GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).unwrap();
            let mut answer = [0_u8; 4096];
            let read = http1.read(&mut answer).unwrap();
            assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
            let idle_from = Instant::now();
            let closed = matches!(http1.read(&mut answer), Ok(0) | Err(_));
            (closed, idle_from.elapsed())
        }
    });

    let mut h2 = connect(b"h2");
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    h2.write_all(&frame(4, 0, &[])).unwrap();
    assert_eq!(h2.conn.alpn_protocol(), Some(&b"h2"[..]), "the server chose HTTP/2");
    let idle_from = Instant::now();
    let mut goaway = None;
    while let Some((kind, flags, payload)) = read_frame(&mut h2) {
        match (kind, flags & 1) {
            (4, 0) => h2.write_all(&frame(4, 1, &[])).unwrap(),
            (6, 0) => h2.write_all(&frame(6, 1, &payload)).unwrap(),
            (7, _) => goaway = goaway.or(Some(idle_from.elapsed())),
            _ => {}
        }
        assert!(idle_from.elapsed() < HEAD_TIMEOUT * 2, "the idle HTTP/2 connection stayed open");
    }
    let closed_after = idle_from.elapsed();
    let goaway = goaway.expect("the server said GOAWAY before closing");
    assert!(goaway >= HEAD_TIMEOUT - Duration::from_secs(1), "closed before the deadline: {goaway:?}");
    assert!(closed_after < HEAD_TIMEOUT + Duration::from_secs(10), "closed late: {closed_after:?}");

    let (closed, after) = idle_http1.join().unwrap();
    assert!(closed, "the idle HTTP/1.1 connection over TLS was never closed");
    assert!(after < HEAD_TIMEOUT + Duration::from_secs(10), "closed late: {after:?}");
    let (closed, after) = silent.join().unwrap();
    assert!(closed, "the client that never shook hands was never dropped");
    assert!(after >= HEAD_TIMEOUT - Duration::from_secs(1), "dropped before the deadline: {after:?}");
    assert!(after < HEAD_TIMEOUT + Duration::from_secs(10), "dropped late: {after:?}");
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// At a low descriptor limit the server caps its connections below it: more clients than it
/// may hold wait in the backlog instead of making accept fail in a loop, the server does not
/// spin, and a new client is answered once the head deadline frees a place.
#[test]
fn at_a_low_descriptor_limit_the_server_neither_spins_nor_stops_answering() {
    use std::io::{BufRead, BufReader};
    let dir = fresh_dir("bounds-fds");
    let mut child = std::process::Command::new("sh")
        .args(["-c", "ulimit -n 128 && exec \"$0\" server --insecure-http --listen 127.0.0.1:0 --data-dir \"$1\""])
        .arg(env!("CARGO_BIN_EXE_homeport"))
        .arg(dir.join("data"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let address = first_line.split("http://").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let health = |address: &str| -> Option<Duration> {
        let started = Instant::now();
        let mut stream = TcpStream::connect(address).ok()?;
        stream.set_read_timeout(Some(HEAD_TIMEOUT * 3)).unwrap();
        stream
            .write_all(format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes())
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.starts_with("HTTP/1.1 200").then(|| started.elapsed())
    };
    assert!(health(&address).is_some());

    // More clients than the process may open descriptors, all idle: the cap (64 here) holds
    // some, the backlog the rest.
    let idle: Vec<TcpStream> = (0..150).filter_map(|_| TcpStream::connect(&address).ok()).collect();
    assert!(idle.len() > 128, "the backlog took the clients: {}", idle.len());
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let spent = cpu_ticks(child.id()) - before;
    assert!(spent < 100, "the server spent {spent} ticks of CPU in 3 s while full: it spins");

    // A new client is answered once the deadline has closed the idle ones ahead of it (two
    // rounds of 64 here, so about 40 s).
    let waited = health(&address).expect("the server stopped answering");
    assert!(waited < HEAD_TIMEOUT * 3, "answered after {waited:?}");
    drop(idle);
    let _ = child.kill();
    let _ = child.wait();
}

/// Signs a request the way a client that opts out of the payload hash (`UNSIGNED-PAYLOAD`) or
/// presigns without `X-Amz-Expires` would, with root's key: the server refuses both with AWS's
/// errors (only S3 honours `UNSIGNED-PAYLOAD`; a presign must say when it expires).
#[test]
fn unsigned_payloads_and_presigns_without_expiry_are_refused() {
    use aws_protocol::sigv4::{canonical_request, format_amz_date, signing_key, string_to_sign, uri_encode};
    let dir = fresh_dir("bounds-unsigned");
    let server = Server::start(&dir.join("data"), None);
    let (id, secret, _) = read_credentials(&server.root_credentials());
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let amz_date = format_amz_date(now);
    let scope = format!("{}/us-east-1/iam/aws4_request", &amz_date[..8]);
    let key = signing_key(&secret, &amz_date[..8], "us-east-1", "iam");

    // Header-signed over UNSIGNED-PAYLOAD, then the body swapped for another action.
    let headers = vec![
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8".to_owned()),
        ("Host", server.address.clone()),
        ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD".to_owned()),
        ("X-Amz-Date", amz_date.clone()),
    ];
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let signed_names = ["content-type", "host", "x-amz-content-sha256", "x-amz-date"];
    let request = aws_protocol::sigv4::HttpRequest { method: "POST", path: "/", query: "", headers: &pairs, body: b"" };
    let signature =
        key.sign(&string_to_sign(&amz_date, &scope, &canonical_request(&request, &signed_names, "UNSIGNED-PAYLOAD")));
    let mut headers = headers.clone();
    headers.push((
        "Authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={id}/{scope}, SignedHeaders={}, Signature={signature}",
            signed_names.join(";")
        ),
    ));
    let (code, response) =
        common::raw_post(&server.address, &headers, "Action=CreateUser&Version=2010-05-08&UserName=swapped");
    assert_eq!(code, 403, "{response}");
    assert!(response.contains("<Code>SignatureDoesNotMatch</Code>"), "{response}");

    // Presigned without X-Amz-Expires.
    let credential = uri_encode(&format!("{id}/{scope}"), false);
    let query = format!(
        "Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={amz_date}&X-Amz-SignedHeaders=host"
    );
    let host = [("Host", server.address.as_str())];
    let unsigned =
        aws_protocol::sigv4::HttpRequest { method: "GET", path: "/", query: &query, headers: &host, body: b"" };
    let payload = aws_protocol::sigv4::sha256_hex(b"");
    let signature = key.sign(&string_to_sign(&amz_date, &scope, &canonical_request(&unsigned, &["host"], &payload)));
    let response = get_presigned(&server.address, &query, &signature);
    assert_eq!(status(&response), 400, "{response}");
    assert!(response.contains("<Code>IncompleteSignature</Code>"), "{response}");
    assert!(
        response.contains(
            "AWS query-string parameters must include &apos;X-Amz-Expires&apos;. Re-examine the query-string parameters."
        ),
        "{response}"
    );
    // The same presign with X-Amz-Expires is accepted.
    let query = format!("{query}&X-Amz-Expires=60");
    let unsigned = aws_protocol::sigv4::HttpRequest { query: &query, ..unsigned };
    let signature = key.sign(&string_to_sign(&amz_date, &scope, &canonical_request(&unsigned, &["host"], &payload)));
    let response = get_presigned(&server.address, &query, &signature);
    assert_eq!(status(&response), 200, "{response}");
}

/// Sends a presigned GET (the query and its signature) and reads the whole answer.
fn get_presigned(address: &str, query: &str, signature: &str) -> String {
    let mut stream = common::connect(address);
    stream
        .write_all(
            format!(
                "GET /?{query}&X-Amz-Signature={signature} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
