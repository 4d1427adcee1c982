//! What operators and their tools ask of a real server process: `/healthz`, `/readyz` (false
//! while the database refuses connections, true again after), `/metrics` read by Debian's
//! Prometheus text-format parser with counters that match what the test did, and a 404 for a
//! path nobody serves.

use std::path::Path;
use std::process::{Command, Stdio};

use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use tempfile::TempDir;

use crate::support::{client, enroll, good_report, submit};

const METRICS_TOKEN: &str = "a-scrape-token-of-some-length";

fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = http_client().get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("the server answers");
    (res.status().as_u16(), res.text().await.unwrap())
}

/// `/metrics` as Debian's python3-prometheus-client parses it: one line per sample,
/// `name{k="v",…} value` with the labels sorted.
fn parse_with_prometheus_client(text: &str) -> Vec<String> {
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Debian's python3 (python3-prometheus-client: .ci/setup)");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the parser refused /metrics: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

fn sample(samples: &[String], name_and_labels: &str) -> f64 {
    let prefix = format!("{name_and_labels} ");
    let line = samples
        .iter()
        .find(|s| s.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no sample {name_and_labels} in {samples:#?}"));
    line[prefix.len()..].parse().unwrap()
}

fn psql(url: &str, sql: &str) {
    patchman_testkit::pg::query(url, sql);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_say_what_happened() {
    let url = patchman_testkit::pg::fresh_database("ops");
    let db = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    let admin = patchman_testkit::pg::admin_url();
    let env = [("PATCHMAN_ENROLLMENT_KEY", ENROLLMENT_KEY), ("PATCHMAN_API__METRICS_TOKEN", METRICS_TOKEN)];
    let server = Server::start_with(Path::new(env!("CARGO_BIN_EXE_patchman")), TempDir::new().unwrap(), url, &env);
    let base = server.url();

    // Two hosts stored, one report again unchanged, one refused for a bad field.
    let mut c = client(&server).await;
    let machine_id = good_report("x", "x").host.unwrap().machine_id;
    let a = enroll(&mut c, "a.example.org", &machine_id).await;
    let b = enroll(&mut c, "b.example.org", &machine_id).await;
    submit(&mut c, Some(&a), good_report("a.example.org", "a-1")).await.expect("stored");
    submit(&mut c, Some(&b), good_report("b.example.org", "b-1")).await.expect("stored");
    let mut again = good_report("a.example.org", "a-2");
    again.generated_at_ms += 1;
    let answer = submit(&mut c, Some(&a), again).await.expect("unchanged");
    assert_eq!(answer.outcome, patchman_proto::SubmitOutcome::Unchanged as i32);
    let mut bad = good_report("b.example.org", "b-2");
    bad.arch = String::new();
    submit(&mut c, Some(&b), bad).await.expect_err("refused");

    assert_eq!(get(&format!("{base}/healthz"), None).await, (200, "ok\n".to_owned()));
    let (status, body) = get(&format!("{base}/readyz"), None).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(get(&format!("{base}/metrics"), None).await.0, 401);
    assert_eq!(get(&format!("{base}/metrics"), Some("not-the-token")).await.0, 401);
    let (status, text) = get(&format!("{base}/metrics"), Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    let samples = parse_with_prometheus_client(&text);
    let reports =
        |result: &str| sample(&samples, &format!("patchman_reports_total{{door=\"grpc\",result=\"{result}\"}}"));
    assert_eq!((reports("stored"), reports("unchanged"), reports("rejected_invalid")), (2.0, 1.0, 1.0));
    assert_eq!(sample(&samples, "patchman_ingest_duration_seconds_count{door=\"grpc\"}"), 4.0);
    let hosts: f64 = ["silent", "unknown", "security", "bugfix", "up_to_date"]
        .iter()
        .map(|s| sample(&samples, &format!("patchman_hosts{{status=\"{s}\"}}")))
        .sum();
    assert_eq!(hosts, 2.0);
    assert_eq!(sample(&samples, "patchman_database_up{}"), 1.0);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(sample(&samples, &format!("patchman_build_info{{version=\"{version}\"}}")), 1.0);
    assert!(sample(&samples, "patchman_database_connections_open{}") >= 1.0);

    // The database refuses connections: not ready, though the process is up; then ready again.
    psql(&admin, &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"));
    psql(&admin, &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"));
    let (status, body) = get(&format!("{base}/readyz"), None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database"), "{body}");
    assert_eq!(get(&format!("{base}/healthz"), None).await.0, 200);
    psql(&admin, &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"));
    let (status, body) = get(&format!("{base}/readyz"), None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_is_a_404_page_for_anyone() {
    let server = crate::support::start_server(&[]);
    let res = http_client().get(format!("{}/no/such/page", server.url())).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let body = res.text().await.unwrap();
    assert!(body.contains("/no/such/page"), "{body}");
    // A page that exists still wants a session.
    let res = http_client().get(format!("{}/hosts", server.url())).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
}

/// `PATCHMAN_LOG_FORMAT=json`: one JSON object per line, each request's lines carrying its
/// id, which the answer returns in `x-request-id` (the client's own when it sent one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_each_requests_id() {
    let env = [("PATCHMAN_LOG_FORMAT", "json"), ("PATCHMAN_LOG", "info,patchman_server::access=debug")];
    let server = Server::start_logged(Path::new(env!("CARGO_BIN_EXE_patchman")), &env);
    let res =
        http_client().get(format!("{}/healthz", server.url())).header("x-request-id", "probe-42").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "probe-42");
    let res = http_client().get(format!("{}/no/such/page", server.url())).send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!generated.is_empty() && generated != "probe-42");
    // A gRPC call is a request too.
    let mut c = client(&server).await;
    let refused = c.enroll(patchman_proto::EnrollRequest::default()).await.expect_err("no host");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = server.log().lines().map(str::to_owned).collect();
        if lines.iter().filter(|l| l.contains("patchman_server::access")).count() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let entries: Vec<serde_json::Value> =
        lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let access: Vec<&serde_json::Value> = entries.iter().filter(|e| e["target"] == "patchman_server::access").collect();
    let of = |path: &str| {
        access
            .iter()
            .find(|e| e["fields"]["path"] == path)
            .unwrap_or_else(|| panic!("no access line for {path} in {lines:#?}"))
    };
    assert_eq!(of("/healthz")["span"]["request_id"], "probe-42");
    assert_eq!(of("/healthz")["fields"]["status"], 200);
    assert_eq!(of("/no/such/page")["span"]["request_id"], generated.as_str());
    assert_eq!(of("/no/such/page")["fields"]["status"], 404);
    assert_eq!(of("/patchman.v1.ReportService/Enroll")["fields"]["grpc_status"], "3");
}
