//! Ingest benchmark: N synthetic hosts report over gRPC to a real `patchman serve` (release
//! build), first-time and then unchanged. Prints reports/s, ack latency and peak server RSS.
//!
//! cargo bench -p patchman-server --bench ingest -- [--hosts N] [--concurrency C]
//!     [--database-url URL] [--servers K] [--unchanged-rounds R] [--protocol1] [--protocol2]
//!
//! With `--servers K` (PostgreSQL), K servers share the database and requests alternate
//! between them. With `--protocol1`, the same hosts then upload to a second, fresh server
//! as Patchman's `patchman-client` does (multipart over HTTP/1.1, one keep-alive connection
//! per worker), first-time and unchanged, for the figures side by side. `--protocol2` does the
//! same with `patchman-client -p 2`'s JSON to `/api/report/`, with an API key. With
//! `--watchers W`, W `WatchHostStatus` streams (read token, every host) are open during the
//! first-time round: it prints the time from each report's acknowledgement to its event at
//! each watcher (p50, p99, max). `--watch-each` makes each watcher follow one host
//! (`hostname=…`, spread over the fleet) instead of every host. `--tls` serves gRPC over TLS
//! (a throwaway CA and certificate made by the bench; the same fleet and clients). Every run
//! ends by timing 300 new connections (TCP, the TLS handshake with `--tls`, HTTP/2 setup), the
//! cost a host pays per report when it connects afresh. Before the unchanged rounds it waits
//! until every host's first verdict is saved (printing how long that took), so that the
//! unchanged reports, as a timer's would, meet a server that is not recomputing. Unchanged
//! rounds alternate between offering each report's digest first (`SubmitDigest`, as
//! `patchman-client` does for a timer's report) and sending the whole report.
//! `PATCHMAN_BENCH_SERVER_LOG=FILTER` has the server log at FILTER as JSON lines on stderr
//! (`sqlx::query=debug` gives each statement's time: where a report's writing goes).

#[path = "fleet/mod.rs"]
mod fleet;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use patchman_proto as pb;
use patchman_testkit::grpc::{submit_digest_of, submit_raw};
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use pb::report_service_client::ReportServiceClient;
use tonic::transport::{Channel, Endpoint};

struct Args {
    hosts: usize,
    concurrency: usize,
    database_url: Option<String>,
    unchanged_rounds: usize,
    servers: usize,
    protocol1: bool,
    protocol2: bool,
    watchers: usize,
    watch_each: bool,
    tls: bool,
}

fn args() -> Args {
    let mut a = Args {
        hosts: 2_000,
        concurrency: 16,
        database_url: None,
        unchanged_rounds: 1,
        servers: 1,
        protocol1: false,
        protocol2: false,
        watchers: 0,
        watch_each: false,
        tls: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--hosts" => a.hosts = it.next().and_then(|v| v.parse().ok()).expect("--hosts N"),
            "--concurrency" => a.concurrency = it.next().and_then(|v| v.parse().ok()).expect("--concurrency C"),
            "--database-url" => a.database_url = it.next(),
            "--protocol1" => a.protocol1 = true,
            "--protocol2" => a.protocol2 = true,
            "--watch-each" => a.watch_each = true,
            "--tls" => a.tls = true,
            "--watchers" => a.watchers = it.next().and_then(|v| v.parse().ok()).expect("--watchers W"),
            "--servers" => a.servers = it.next().and_then(|v| v.parse().ok()).expect("--servers K"),
            "--unchanged-rounds" => {
                a.unchanged_rounds = it.next().and_then(|v| v.parse().ok()).expect("--unchanged-rounds N")
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

#[tokio::main]
async fn main() {
    let args = args();
    let t = Instant::now();
    let fleet = Arc::new(fleet::fleet(args.hosts, 42));
    let wire = Arc::new(fleet::WireCache::new(&fleet));
    let packages: usize = fleet.hosts.iter().map(|h| h.picks.len()).sum();
    println!(
        "fleet: {} hosts, {} packages in all ({:.0} per host), generated in {:.1} s",
        fleet.hosts.len(),
        packages,
        packages as f64 / fleet.hosts.len() as f64,
        t.elapsed().as_secs_f64()
    );

    let bin = Path::new(env!("CARGO_BIN_EXE_patchman"));
    let certs = tempfile::tempdir().unwrap();
    let tls_env: Vec<(String, String)> = if args.tls {
        let ca = patchman_testkit::tls::Ca::new("bench CA");
        let cert = ca.issue(certs.path(), "server", &["127.0.0.1"], patchman_testkit::tls::Use::Server, false);
        let _ = CA_PEM.set(ca.pem.clone());
        vec![
            ("PATCHMAN_TLS_CERT".into(), cert.cert.display().to_string()),
            ("PATCHMAN_TLS_KEY".into(), cert.key.display().to_string()),
        ]
    } else {
        Vec::new()
    };
    let mut env: Vec<(&str, &str)> = tls_env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend(FLEET_LIMITS);
    let log = std::env::var("PATCHMAN_BENCH_SERVER_LOG").unwrap_or_default();
    if !log.is_empty() {
        env.push(("PATCHMAN_LOG", log.as_str()));
        env.push(("PATCHMAN_LOG_FORMAT", "json"));
    }
    let first = match &args.database_url {
        Some(url) => Server::start_with(bin, tempfile::tempdir().unwrap(), url.clone(), &env),
        None => Server::start(bin, &env),
    };
    let mut servers = vec![first];
    for _ in 1..args.servers {
        let url = servers[0].database_url.clone();
        servers.push(Server::start_with(bin, tempfile::tempdir().unwrap(), url, &env));
    }
    let mut channels: Vec<Channel> = Vec::new();
    for s in &servers {
        println!("server: {} on {}", s.database_url, s.addr);
        channels.extend(futures_channels(&s.url(), 4).await);
    }

    let t = Instant::now();
    let tokens = Arc::new(enroll_all(&fleet, &channels, args.concurrency).await);
    println!("enrolled {} hosts in {:.1} s", tokens.len(), t.elapsed().as_secs_f64());

    let mut watch = if args.watchers > 0 {
        Some(Watchers::open(&servers[0], &fleet, args.watchers, args.watch_each).await)
    } else {
        None
    };
    for round in 0..=args.unchanged_rounds {
        // Unchanged rounds alternate: offered as a digest first (what `patchman-client` does
        // for a timer's report), then sent whole (what older clients and the hooks send).
        let label = match round {
            0 => "first-time",
            r if r % 2 == 1 => "unchanged, digest",
            _ => "unchanged, whole report",
        };
        let t = Instant::now();
        let cpu_before: Duration = servers.iter().map(Server::cpu_time).sum();
        let acks = if round == 0 { watch.as_ref().map(|w| w.acks.clone()) } else { None };
        let mut latencies = run_round(&fleet, &wire, &tokens, &channels, args.concurrency, round, acks).await;
        let elapsed = t.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let pct = |p: f64| percentile_ms(&latencies, p);
        println!(
            "{label:>23}: {} reports in {elapsed:.2} s = {:.0} reports/s; ack latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            latencies.len() as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            pct(1.0)
        );
        // The bench's own clients share the cores: what the server alone needs per report.
        let cpu = servers.iter().map(Server::cpu_time).sum::<Duration>().saturating_sub(cpu_before);
        let per_report = cpu.as_secs_f64() / latencies.len().max(1) as f64;
        println!(
            "{:>23}  server CPU {:.0} µs a report (one core's worth: {:.0} reports/s)",
            "",
            per_report * 1e6,
            1.0 / per_report.max(1e-9)
        );
        if round == 0
            && let Some(w) = watch.take()
        {
            w.report().await;
        }
        if round == 0 && args.unchanged_rounds > 0 {
            // Unchanged reports are the timer's: they arrive at a server that has long since
            // computed the first verdicts. Measured apart, the two do not share the 2 cores.
            let t = Instant::now();
            for s in &servers {
                while recompute_queue(s.addr).await > 0 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            println!(
                "first verdicts of every host saved {:.1} s after the last first-time report",
                t.elapsed().as_secs_f64()
            );
        }
    }
    for s in &servers {
        println!("server peak RSS: {} MB", s.peak_rss_kb() / 1024);
    }
    new_connections(&servers[0].url(), 300).await;
    for (protocol, wanted) in [(1, args.protocol1), (2, args.protocol2)] {
        if !wanted {
            continue;
        }
        let legacy = Server::start(bin, &FLEET_LIMITS);
        println!("protocol {protocol}: another server on {}", legacy.addr);
        let (door, bodies, auth): (Door, Vec<Vec<u8>>, Vec<String>) = if protocol == 1 {
            // A host token each, as `patchman host token` gives them.
            let channels = futures_channels(&legacy.url(), 4).await;
            let tokens = enroll_all(&fleet, &channels, args.concurrency).await;
            let bodies = fleet.hosts.iter().map(|h| fleet.protocol1_body(h)).collect();
            (Door::PROTOCOL1, bodies, tokens.iter().map(|t| format!("Bearer {t}")).collect())
        } else {
            // One API key for all, as a site rolls out `api_key=` in patchman-client.conf.
            let key = legacy.admin(&["api-key", "create", "bench"]).trim().to_owned();
            let bodies = fleet.hosts.iter().map(|h| fleet.protocol2_body(h)).collect();
            (Door::PROTOCOL2, bodies, vec![format!("Api-Key {key}"); fleet.hosts.len()])
        };
        let (bodies, auth) = (Arc::new(bodies), Arc::new(auth));
        for round in 0..=args.unchanged_rounds {
            let label = if round == 0 { "first-time" } else { "unchanged" };
            let t = Instant::now();
            let mut latencies = upload_round(&bodies, &auth, door, legacy.addr, args.concurrency).await;
            let elapsed = t.elapsed().as_secs_f64();
            latencies.sort_unstable();
            let pct = |p: f64| percentile_ms(&latencies, p);
            println!(
                "protocol {protocol} {label:>10}: {} uploads in {elapsed:.2} s = {:.0} uploads/s; answer latency p50 {:.1} ms, p99 {:.1} ms",
                latencies.len(),
                latencies.len() as f64 / elapsed,
                pct(0.50),
                pct(0.99),
            );
        }
        println!("protocol {protocol} server peak RSS: {} MB", legacy.peak_rss_kb() / 1024);
    }
    let server = &servers[0];
    if server.database_url.starts_with("sqlite://") {
        let size: u64 = ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", server.db_path().display())).ok())
            .map(|m| m.len())
            .sum();
        println!("database size: {} MB", size / (1024 * 1024));
    }
}

/// `patchman_recompute_queue_hosts` from the server's `/metrics`.
async fn recompute_queue(addr: std::net::SocketAddr) -> u64 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("patchman_recompute_queue_hosts "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no recompute queue in /metrics: {text}")) as u64
}

/// The `p` quantile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// The whole fleet enrolls from this one address within a second or two.
const FLEET_LIMITS: [(&str, &str); 2] = [
    ("PATCHMAN_LIMITS__ENROLLMENTS_PER_MINUTE_PER_SOURCE", "0"),
    ("PATCHMAN_LIMITS__ENROLLMENTS_PER_MINUTE_PER_KEY", "0"),
];

/// Every host uploads its body once; each worker keeps one HTTP/1.1 connection.
/// Where and how Patchman's client uploads.
#[derive(Clone, Copy)]
struct Door {
    path: &'static str,
    json: bool,
    status: u16,
}

impl Door {
    const PROTOCOL1: Door = Door { path: "/reports/upload/", json: false, status: 204 };
    const PROTOCOL2: Door = Door { path: "/api/report/", json: true, status: 202 };
}

async fn upload_round(
    bodies: &Arc<Vec<Vec<u8>>>,
    auth: &Arc<Vec<String>>,
    door: Door,
    addr: std::net::SocketAddr,
    concurrency: usize,
) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (bodies, auth, next) = (bodies.clone(), auth.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Http1::connect(addr).await;
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let (status, text) = conn.post(door, &auth[i], body).await;
                latencies.push(t.elapsed());
                assert_eq!(status, door.status, "host {i}: {text}");
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// The least of an HTTP/1.1 client that `curl -F` would be: one keep-alive connection.
struct Http1 {
    stream: tokio::io::BufStream<tokio::net::TcpStream>,
    host: String,
}

impl Http1 {
    async fn connect(addr: std::net::SocketAddr) -> Self {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        Self { stream: tokio::io::BufStream::new(tcp), host: addr.to_string() }
    }

    async fn post(&mut self, door: Door, authorization: &str, body: &[u8]) -> (u16, String) {
        use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
        let kind = if door.json { "application/json".to_owned() } else { patchman_testkit::multipart::content_type() };
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: curl/7.88.1\r\nAuthorization: {authorization}\r\n\
             Content-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
            door.path,
            self.host,
            body.len()
        );
        self.stream.write_all(head.as_bytes()).await.unwrap();
        self.stream.write_all(body).await.unwrap();
        self.stream.flush().await.unwrap();
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await.unwrap();
        let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut text = vec![0; length];
        self.stream.read_exact(&mut text).await.unwrap();
        (status, String::from_utf8_lossy(&text).into_owned())
    }
}

/// The bench CA's certificate, with `--tls`.
static CA_PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn connect(url: &str) -> Channel {
    let mut endpoint = Endpoint::from_shared(url.to_owned()).unwrap().tcp_nodelay(true);
    if let Some(ca) = CA_PEM.get().filter(|_| url.starts_with("https://")) {
        let tls = tonic::transport::ClientTlsConfig::new().ca_certificate(tonic::transport::Certificate::from_pem(ca));
        endpoint = endpoint.tls_config(tls).unwrap();
    }
    endpoint.connect().await.expect("connect")
}

async fn futures_channels(url: &str, n: usize) -> Vec<Channel> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(connect(url).await);
    }
    out
}

/// Times `n` new connections, one after another, as many hosts each opening their own.
async fn new_connections(url: &str, n: usize) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let channel = connect(url).await;
        times.push(t.elapsed());
        drop(channel);
    }
    times.sort_unstable();
    let what = if url.starts_with("https://") { "TCP + TLS handshake + HTTP/2" } else { "TCP + HTTP/2" };
    println!(
        "new connections ({what}): {n} in a row, p50 {:.2} ms, p99 {:.2} ms",
        percentile_ms(&times, 0.50),
        percentile_ms(&times, 0.99)
    );
}

async fn enroll_all(fleet: &Arc<fleet::Fleet>, channels: &[Channel], concurrency: usize) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(std::sync::Mutex::new(vec![String::new(); fleet.hosts.len()]));
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (fleet, next, tokens) = (fleet.clone(), next.clone(), tokens.clone());
        let mut client = ReportServiceClient::new(channels[w % channels.len()].clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(host) = fleet.hosts.get(i) else { break };
                let req = pb::EnrollRequest {
                    enrollment_key: ENROLLMENT_KEY.into(),
                    host: Some(pb::Host { hostname: host.hostname.clone(), machine_id: String::new() }),
                };
                let token = client.enroll(req).await.expect("enroll").into_inner().host_token;
                tokens.lock().unwrap()[i] = token;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(tokens).unwrap().into_inner().unwrap()
}

async fn run_round(
    fleet: &Arc<fleet::Fleet>,
    wire: &Arc<fleet::WireCache>,
    tokens: &Arc<Vec<String>>,
    channels: &[Channel],
    concurrency: usize,
    round: usize,
    acks: Option<Arc<Acks>>,
) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (fleet, tokens, next, acks) = (fleet.clone(), tokens.clone(), next.clone(), acks.clone());
        let wire = wire.clone();
        let channels = channels.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(host) = fleet.hosts.get(i) else { break };
                let bytes = wire.encode(&fleet, host, format!("r{round}-{i}"), 1_700_000_000_000 + round as i64 * 1000);
                // Alternate servers per request (channels are grouped per server).
                let channel = channels[(i % channels.len() + w) % channels.len()].clone();
                let t = Instant::now();
                // An unchanged report is a timer's: the client offers its digest first.
                let ack = if round % 2 == 1 {
                    submit_digest_of(channel.clone(), &tokens[i], bytes).await.expect("submit digest")
                } else {
                    submit_raw(channel.clone(), &tokens[i], bytes).await.expect("submit")
                };
                latencies.push(t.elapsed());
                if let Some(acks) = &acks {
                    acks.at[i].store(acks.since(Instant::now()), Ordering::Relaxed);
                }
                let want = if round == 0 { pb::SubmitOutcome::Stored } else { pb::SubmitOutcome::Unchanged };
                assert_eq!(ack.outcome, want as i32, "host {i} round {round}");
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// When each host's report was acknowledged, in ns since `epoch` (0: not yet).
struct Acks {
    epoch: Instant,
    at: Vec<std::sync::atomic::AtomicU64>,
}

impl Acks {
    fn since(&self, t: Instant) -> u64 {
        t.duration_since(self.epoch).as_nanos().max(1) as u64
    }
}

/// `WatchHostStatus` streams open on every host (or one host each), each noting when it
/// first hears of a host.
struct Watchers {
    acks: Arc<Acks>,
    /// Per watcher: the host it follows (None: all), and when it first heard of each host.
    seen: Vec<(Option<usize>, tokio::task::JoinHandle<Vec<u64>>)>,
    hosts: usize,
}

impl Watchers {
    async fn open(server: &Server, fleet: &Arc<fleet::Fleet>, n: usize, each: bool) -> Self {
        let token = server.admin(&["token", "create", "--name", "bench-watch", "--role", "read"]).trim().to_owned();
        let acks = Arc::new(Acks {
            epoch: Instant::now(),
            at: (0..fleet.hosts.len()).map(|_| std::sync::atomic::AtomicU64::new(0)).collect(),
        });
        let index: Arc<std::collections::HashMap<String, usize>> =
            Arc::new(fleet.hosts.iter().enumerate().map(|(i, h)| (h.hostname.clone(), i)).collect());
        // HTTP/2 connections of 100 streams each.
        let channels = futures_channels(&server.url(), n.div_ceil(100)).await;
        let t = Instant::now();
        let mut seen = Vec::new();
        for w in 0..n {
            let mut q = pb::query_service_client::QueryServiceClient::new(channels[w / 100].clone());
            let one = each.then(|| w * fleet.hosts.len() / n);
            let filter = one.map(|i| format!("hostname={}", fleet.hosts[i].hostname)).unwrap_or_default();
            let mut req = tonic::Request::new(pb::WatchHostStatusRequest { filter, ..Default::default() });
            req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
            let mut stream = q.watch_host_status(req).await.expect("watch").into_inner();
            let (acks, index, hosts) = (acks.clone(), index.clone(), fleet.hosts.len());
            seen.push((
                one,
                tokio::spawn(async move {
                    let mut first = vec![0u64; hosts];
                    let mut left = if one.is_some() { 1 } else { hosts };
                    while left > 0 {
                        let Ok(Some(event)) = stream.message().await else { break };
                        if let Some(&i) = event.host.as_ref().and_then(|h| index.get(&h.hostname))
                            && first[i] == 0
                        {
                            first[i] = acks.since(Instant::now());
                            left -= 1;
                        }
                    }
                    first
                }),
            ));
        }
        println!("watch: {n} watchers subscribed in {:.1} s", t.elapsed().as_secs_f64());
        Self { acks, seen, hosts: fleet.hosts.len() }
    }

    /// Waits (at most 60 s) for every watcher to hear of every host, and prints ack → event.
    async fn report(self) {
        let watchers = self.seen.len();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut delays, mut missing) = (Vec::new(), 0usize);
        for (one, task) in self.seen {
            while !task.is_finished() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !task.is_finished() {
                task.abort();
                missing += if one.is_some() { 1 } else { self.hosts };
                continue;
            }
            let first = task.await.expect("a watcher");
            for (i, &seen) in first.iter().enumerate() {
                if one.is_some_and(|o| o != i) {
                    continue;
                }
                let ack = self.acks.at[i].load(Ordering::Relaxed);
                if seen == 0 || ack == 0 {
                    missing += 1;
                } else {
                    // An event may arrive before its ack does: that counts as no delay.
                    delays.push(Duration::from_nanos(seen.saturating_sub(ack)));
                }
            }
        }
        if delays.is_empty() {
            println!("watch: no events delivered");
            return;
        }
        delays.sort_unstable();
        println!(
            "watch: {watchers} watchers, {} events matched to acks ({missing} missing); ack → event p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            delays.len(),
            percentile_ms(&delays, 0.50),
            percentile_ms(&delays, 0.99),
            percentile_ms(&delays, 1.0)
        );
    }
}
