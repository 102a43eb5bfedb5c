//! `homeport loadgen`: correctly signed requests over keep-alive connections, for measuring a
//! Homeport endpoint (or writing the same request as a wrk script), and for filling an
//! account with many distinct requests (`--count`).
//!
//! The request is a preset (`--call`) or any call (`--service` with `--form`, or `--target`
//! and `--json`). Replayed, it is signed once up front: SigV4 accepts a signature for five
//! minutes, so runs are capped at four. Filled, each request is stamped (`{n}`) and signed
//! when sent. Latency is measured per request, client side.

mod fill;
mod request;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use crate::output;
use request::{Credentials, Protocol, RequestTemplate, Signed, sign};
use wire::Connection;

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
    /// The request to send, unless --service names another.
    #[arg(long, value_enum, default_value_t = Call::GetCallerIdentity)]
    call: Call,
    /// Any call instead of a preset: the signing name (`iam`, `ecs`, ...), with --form or
    /// with --target and --json.
    #[arg(long)]
    service: Option<String>,
    /// An awsQuery form body, `Action=GetRole&Version=2010-05-08&RoleName=r{n}` (encoded as
    /// sent; `{n}` is the sequence number, see --count).
    #[arg(long, requires = "service", conflicts_with_all = ["target", "json"])]
    form: Option<String>,
    /// An awsJson 1.1 operation, `Prefix.Operation` (the X-Amz-Target header); needs --json.
    #[arg(long, requires_all = ["service", "json"])]
    target: Option<String>,
    /// The awsJson body (`{n}` is the sequence number, see --count).
    #[arg(long, requires = "target")]
    json: Option<String>,
    /// Fill mode: send this many requests, `{n}` replaced by --start, --start + 1, ..., each
    /// signed when sent; the first non-2xx answer stops the fill and fails the command.
    #[arg(long)]
    count: Option<u64>,
    /// The first sequence number (also what `{n}` is when replaying).
    #[arg(long, default_value_t = 0)]
    start: u64,
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

fn read_credentials(path: &PathBuf, region: &str) -> Result<Credentials, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, value)| value.trim().to_owned())
    };
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            Ok(Credentials { access_key_id, secret_access_key, region: region.to_owned() })
        }
        _ => Err(format!("{} has no aws_access_key_id / aws_secret_access_key", path.display())),
    }
}

/// The request the arguments describe, and its name for reports (`iam:GetRole`).
fn template(args: &LoadgenArgs, now_ms: u128) -> Result<(RequestTemplate, String), String> {
    let Some(service) = &args.service else {
        let (service, name, protocol, body) = match args.call {
            Call::GetCallerIdentity => (
                "sts",
                "sts:GetCallerIdentity",
                Protocol::Query,
                "Action=GetCallerIdentity&Version=2011-06-15".to_owned(),
            ),
            Call::GetUser => ("iam", "iam:GetUser", Protocol::Query, "Action=GetUser&Version=2010-05-08".to_owned()),
            Call::PutLogEvents => (
                "logs",
                "logs:PutLogEvents",
                Protocol::Json { target: "Logs_20140328.PutLogEvents".to_owned() },
                put_log_events_body(args, now_ms),
            ),
        };
        return Ok((RequestTemplate { service: service.to_owned(), protocol, body }, name.to_owned()));
    };
    let (protocol, body, operation) = match (&args.form, &args.target, &args.json) {
        (Some(form), None, None) => {
            let action = form
                .split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
                .ok_or("--form has no Action=...")?
                .to_owned();
            (Protocol::Query, form.clone(), action)
        }
        (None, Some(target), Some(json)) => {
            let operation =
                target.rsplit_once('.').map(|(_, operation)| operation).ok_or("--target is Prefix.Operation")?;
            (Protocol::Json { target: target.clone() }, json.clone(), operation.to_owned())
        }
        _ => return Err("--service needs --form, or --target with --json".to_owned()),
    };
    Ok((RequestTemplate { service: service.clone(), protocol, body }, format!("{service}:{operation}")))
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

/// `HOST:PORT` of the endpoint; https:// only for --wrk-script: wrk speaks TLS, this
/// generator does not.
fn host(args: &LoadgenArgs) -> Result<String, String> {
    let host = match (args.endpoint.strip_prefix("http://"), args.endpoint.strip_prefix("https://")) {
        (Some(host), _) => host,
        (None, Some(host)) if args.wrk_script.is_some() => host,
        (None, Some(_)) => return Err("the built-in generator speaks plain HTTP: for https:// use --wrk-script and wrk, or a server started with --insecure-http".to_owned()),
        (None, None) => return Err("the endpoint must be http://HOST:PORT".to_owned()),
    };
    Ok(host.trim_end_matches('/').to_owned())
}

pub fn run(args: LoadgenArgs) -> ExitCode {
    match run_checked(args) {
        Ok(code) => code,
        Err(message) => {
            output::error_line(&format!("error: {message}"));
            ExitCode::FAILURE
        }
    }
}

fn run_checked(args: LoadgenArgs) -> Result<ExitCode, String> {
    let host = host(&args)?;
    let credentials = read_credentials(&args.credentials, &args.region)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?;
    let (template, name) = template(&args, now.as_millis())?;
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".to_owned());
    }
    let runtime =
        || tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|error| error.to_string());
    if let Some(count) = args.count {
        if args.wrk_script.is_some() {
            return Err("--count sends the requests itself: it cannot write a wrk script".to_owned());
        }
        output::line(&format!("{name}: sending {count} requests ({} at a time)...", args.concurrency));
        let filled = runtime()?.block_on(fill::fill(fill::Fill {
            template,
            host,
            credentials,
            start: args.start,
            count,
            concurrency: args.concurrency,
        }))?;
        let mut latencies = filled.latencies_us;
        latencies.sort_unstable();
        let seconds = filled.elapsed.as_secs_f64();
        output::line(&format!(
            "{name} filled={count} seconds={seconds:.2} rps={:.0} p50={:.2}ms p99={:.2}ms",
            count as f64 / seconds,
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 0.99)
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let unix_seconds = i64::try_from(now.as_secs()).map_err(|e| e.to_string())?;
    let signed = sign(&template, template.stamp(args.start), &host, &credentials, unix_seconds);
    if let Some(path) = &args.wrk_script {
        std::fs::write(path, signed.to_wrk_script())
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.duration > 240 {
        return Err("--duration must be at most 240 seconds".to_owned());
    }
    replay(&args, &name, &signed, runtime()?)
}

/// Sends the one signed request over `--concurrency` connections for `--duration` seconds.
fn replay(
    args: &LoadgenArgs,
    name: &str,
    signed: &Signed,
    runtime: tokio::runtime::Runtime,
) -> Result<ExitCode, String> {
    let raw = signed.to_http();
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let results = runtime.block_on(async {
        let workers: Vec<_> = (0..args.concurrency)
            .map(|_| tokio::spawn(connection(signed.host.clone(), raw.clone(), deadline)))
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
    let events = match (&args.service, args.call) {
        (None, Call::PutLogEvents) => format!(
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
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99)
    ));
    Ok(if errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The `p` quantile of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    let index = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us.get(index).copied().unwrap_or(0) as f64 / 1000.0
}

#[derive(Default)]
struct ConnectionResult {
    latencies_us: Vec<u64>,
    errors: usize,
}

/// One keep-alive connection sending the request until the deadline; only a 200 counts.
async fn connection(host: String, request: Vec<u8>, deadline: Instant) -> ConnectionResult {
    let mut result = ConnectionResult::default();
    let Ok(mut connection) = Connection::open(&host).await else {
        result.errors += 1;
        return result;
    };
    while Instant::now() < deadline {
        let sent = Instant::now();
        match connection.exchange(&request).await {
            Ok(response) if response.status == 200 => {
                result.latencies_us.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            Ok(_) => result.errors += 1,
            Err(_) => {
                result.errors += 1;
                return result;
            }
        }
    }
    result
}
