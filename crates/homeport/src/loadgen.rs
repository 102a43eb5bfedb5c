//! `homeport loadgen`: correctly signed requests over keep-alive connections, for measuring a
//! Homeport endpoint (or writing the same request as a wrk script).
//!
//! One request is signed up front and replayed: SigV4 accepts a signature for five minutes,
//! so runs are capped at four. Latency is measured per request, client side.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_protocol::sigv4::{HttpRequest, canonical_request, format_amz_date, sha256_hex, signing_key, string_to_sign};
use clap::{Args, ValueEnum};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::output;

#[derive(Args)]
pub struct LoadgenArgs {
    /// The endpoint, `http://HOST:PORT`.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    endpoint: String,
    /// A shared-credentials file whose `[default]` profile signs the requests.
    #[arg(long)]
    credentials: PathBuf,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The request to send.
    #[arg(long, value_enum, default_value_t = Call::GetCallerIdentity)]
    call: Call,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds to run (at most 240: the signature must stay valid).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Instead of running, write a wrk script that sends the same signed request.
    #[arg(long)]
    wrk_script: Option<PathBuf>,
    /// put-log-events: the log group and stream (created beforehand) and events per call.
    #[arg(long, default_value = "/bench/loadgen")]
    log_group: String,
    #[arg(long, default_value = "loadgen")]
    log_stream: String,
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    events: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Call {
    /// sts:GetCallerIdentity
    GetCallerIdentity,
    /// iam:GetUser on the caller itself
    GetUser,
    /// logs:PutLogEvents of `--events` 100-byte events (timestamps now)
    PutLogEvents,
}

struct Signed {
    host: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn read_credentials(path: &PathBuf) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, value)| value.trim().to_owned())
    };
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(format!("{} has no aws_access_key_id / aws_secret_access_key", path.display())),
    }
}

fn sign(args: &LoadgenArgs) -> Result<Signed, String> {
    // https:// only for --wrk-script: wrk speaks TLS, this generator does not.
    let host = match (args.endpoint.strip_prefix("http://"), args.endpoint.strip_prefix("https://")) {
        (Some(host), _) => host,
        (None, Some(host)) if args.wrk_script.is_some() => host,
        (None, Some(_)) => return Err("the built-in generator speaks plain HTTP: for https:// use --wrk-script and wrk, or a server started with --insecure-http".to_owned()),
        (None, None) => return Err("the endpoint must be http://HOST:PORT".to_owned()),
    }
    .trim_end_matches('/')
    .to_owned();
    let (access_key_id, secret) = read_credentials(&args.credentials)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?;
    let (service, body) = match args.call {
        Call::GetCallerIdentity => ("sts", "Action=GetCallerIdentity&Version=2011-06-15".to_owned()),
        Call::GetUser => ("iam", "Action=GetUser&Version=2010-05-08".to_owned()),
        Call::PutLogEvents => ("logs", put_log_events_body(args, now.as_millis())),
    };
    let amz_date = format_amz_date(i64::try_from(now.as_secs()).map_err(|e| e.to_string())?);
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let content_type = match args.call {
        Call::PutLogEvents => "application/x-amz-json-1.1",
        _ => "application/x-www-form-urlencoded; charset=utf-8",
    };
    let mut headers = vec![
        ("Content-Type".to_owned(), content_type.to_owned()),
        ("Host".to_owned(), host.clone()),
        ("X-Amz-Date".to_owned(), amz_date.clone()),
    ];
    if let Call::PutLogEvents = args.call {
        headers.push(("X-Amz-Target".to_owned(), "Logs_20140328.PutLogEvents".to_owned()));
    }
    let signed_names: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
    let signed: Vec<&str> = signed_names.iter().map(String::as_str).collect();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let request = HttpRequest { method: "POST", path: "/", query: "", headers: &pairs, body: body.as_bytes() };
    let canonical = canonical_request(&request, &signed, &sha256_hex(body.as_bytes()));
    let scope = format!("{date}/{}/{service}/aws4_request", args.region);
    let signature =
        signing_key(&secret, &date, &args.region, service).sign(&string_to_sign(&amz_date, &scope, &canonical));
    headers.push((
        "Authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
            signed.join(";")
        ),
    ));
    Ok(Signed { host, headers, body })
}

/// A PutLogEvents body: `--events` events of 100 bytes, all stamped `now_ms` (replaying the
/// same batch is fine: CloudWatch Logs no longer asks for sequence tokens).
fn put_log_events_body(args: &LoadgenArgs, now_ms: u128) -> String {
    let events: Vec<serde_json::Value> = (0..args.events)
        .map(|i| serde_json::json!({"timestamp": now_ms, "message": format!("{i:08} {}", "x".repeat(91))}))
        .collect();
    serde_json::json!({"logGroupName": args.log_group, "logStreamName": args.log_stream, "logEvents": events})
        .to_string()
}

fn wrk_script(signed: &Signed) -> String {
    let mut script = String::from(
        "-- Generated by `homeport loadgen --wrk-script`: valid for five minutes.\nwrk.method = \"POST\"\n",
    );
    script.push_str(&format!("wrk.body = {:?}\n", signed.body));
    for (name, value) in &signed.headers {
        if name != "Host" {
            script.push_str(&format!("wrk.headers[{name:?}] = {value:?}\n"));
        }
    }
    script
}

pub fn run(args: LoadgenArgs) -> ExitCode {
    let signed = match sign(&args) {
        Ok(signed) => signed,
        Err(message) => {
            output::error_line(&format!("error: {message}"));
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.wrk_script {
        return match std::fs::write(path, wrk_script(&signed)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                output::error_line(&format!("error: cannot write {}: {error}", path.display()));
                ExitCode::FAILURE
            }
        };
    }
    if args.duration > 240 || args.concurrency == 0 {
        output::error_line("error: --duration must be at most 240 seconds and --concurrency at least 1");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::error_line(&format!("error: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let mut raw = format!("POST / HTTP/1.1\r\nHost: {}\r\n", signed.host);
    for (name, value) in signed.headers.iter().filter(|(name, _)| name != "Host") {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n{}", signed.body.len(), signed.body));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let results = runtime.block_on(async {
        let workers: Vec<_> = (0..args.concurrency)
            .map(|_| tokio::spawn(connection(signed.host.clone(), raw.clone().into_bytes(), deadline)))
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            if let Ok(result) = worker.await {
                all.push(result);
            }
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u64> = results.iter().flat_map(|r| r.latencies_us.iter().copied()).collect();
    let errors: usize = results.iter().map(|r| r.errors).sum();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(index).copied().unwrap_or(0) as f64 / 1000.0
    };
    let name = match args.call {
        Call::GetCallerIdentity => "sts:GetCallerIdentity",
        Call::GetUser => "iam:GetUser",
        Call::PutLogEvents => "logs:PutLogEvents",
    };
    let events = match args.call {
        Call::PutLogEvents => format!(
            " events/call={} events/s={:.0}",
            args.events,
            (latencies.len() as f64) * (args.events as f64) / elapsed
        ),
        _ => String::new(),
    };
    output::line(&format!(
        "{name} concurrency={} requests={} errors={errors} rps={:.0} p50={:.2}ms p99={:.2}ms{events}",
        args.concurrency,
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99)
    ));
    if errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

#[derive(Default)]
struct ConnectionResult {
    latencies_us: Vec<u64>,
    errors: usize,
}

/// One keep-alive connection sending the request until the deadline.
async fn connection(host: String, request: Vec<u8>, deadline: Instant) -> ConnectionResult {
    let mut result = ConnectionResult::default();
    let Ok(mut stream) = TcpStream::connect(&host).await else {
        result.errors += 1;
        return result;
    };
    let _ = stream.set_nodelay(true);
    let mut buffer = vec![0u8; 16 * 1024];
    while Instant::now() < deadline {
        let sent = Instant::now();
        if stream.write_all(&request).await.is_err() {
            result.errors += 1;
            return result;
        }
        match read_response(&mut stream, &mut buffer).await {
            Some(200) => result.latencies_us.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX)),
            Some(_) => result.errors += 1,
            None => {
                result.errors += 1;
                return result;
            }
        }
    }
    result
}

/// Reads one response (headers and a Content-Length body) and returns its status.
async fn read_response(stream: &mut TcpStream, buffer: &mut [u8]) -> Option<u16> {
    let mut filled = 0;
    loop {
        let read = stream.read(buffer.get_mut(filled..)?).await.ok()?;
        if read == 0 {
            return None;
        }
        filled += read;
        let head = buffer.get(..filled)?;
        let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let text = std::str::from_utf8(head.get(..end)?).ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let length: usize = text
            .lines()
            .find_map(|line| line.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("content-length")))
            .and_then(|(_, value)| value.trim().parse().ok())
            .unwrap_or(0);
        while filled < end + 4 + length {
            let read = stream.read(buffer.get_mut(filled..)?).await.ok()?;
            if read == 0 {
                return None;
            }
            filled += read;
        }
        return Some(status);
    }
}
