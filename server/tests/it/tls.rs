//! TLS on the one port, with a throwaway CA made here: the real `patchman-client` over
//! https (its own CA file), a wrong CA and an expired certificate refused and the report kept
//! in the spool, a renewed certificate picked up without a restart while an open connection
//! goes on, plain text refused with a reason, mutual TLS binding a certificate to its host,
//! curl and a real Chromium on the web side.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use patchman_proto as pb;
use patchman_testkit::browser::Browser;
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use patchman_testkit::tls::{Ca, Issued, Use};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use crate::e2e::client_bin;

fn start_tls(dir: &Path, cert: &Issued, extra: &[(&str, &str)]) -> Server {
    let (c, k) = (cert.cert.to_str().unwrap().to_owned(), cert.key.to_str().unwrap().to_owned());
    let mut env = vec![("PATCHMAN_TLS_CERT", c.as_str()), ("PATCHMAN_TLS_KEY", k.as_str()), ("PATCHMAN_LOG", "info")];
    env.extend_from_slice(extra);
    let _ = dir;
    Server::start_logged(Path::new(env!("CARGO_BIN_EXE_patchman")), &env)
}

/// A root with this machine's dpkg status and os-release: a real Debian host.
fn host_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    for f in ["/var/lib/dpkg/status", "/etc/os-release", "/etc/debian_version"] {
        let dest = root.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(f, &dest).unwrap();
    }
    root
}

/// Runs `patchman-client` for `hostname` with the state under `dir/<hostname>`.
fn client(url: &str, dir: &Path, hostname: &str, args: &[&str]) -> Output {
    let state = dir.join(hostname);
    Command::new(client_bin())
        .args(["--server", url, "--root", host_root(dir).to_str().unwrap(), "--state-dir", state.to_str().unwrap()])
        .args(["--hostname", hostname, "--enroll", ENROLLMENT_KEY, "--trigger", "manual"])
        .args(args)
        .output()
        .expect("run patchman-client")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn spooled(dir: &Path, hostname: &str) -> usize {
    std::fs::read_dir(dir.join(hostname).join("spool"))
        // The state not yet delivered and transaction records (sent.json is the last one acknowledged).
        .map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name == "state.json" || name.starts_with("tx-")
                })
                .count()
        })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_host_reports_over_tls_a_wrong_ca_keeps_it_spooled_and_plain_text_is_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("patchman test CA");
    let ca_file = ca.write(&tmp.path().join("ca.pem"));
    let cert = ca.issue(tmp.path(), "server", &["127.0.0.1", "localhost"], Use::Server, false);
    let server = start_tls(tmp.path(), &cert, &[]);
    let url = server.url();
    assert!(url.starts_with("https://"), "{url}");

    let out = client(&url, tmp.path(), "web1.example.org", &["--ca-file", path(&ca_file)]);
    assert!(out.status.success() && stderr(&out).contains("stored"), "{}", stderr(&out));

    // Another CA: the server is not trusted; the report waits in the spool, as for a server
    // that is down, and the error says why.
    let other = Ca::new("someone else").write(&tmp.path().join("other-ca.pem"));
    let out = client(&url, tmp.path(), "web1.example.org", &["--ca-file", path(&other)]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("UnknownIssuer") || err.contains("certificate"), "the error names the certificate: {err}");
    assert!(spooled(tmp.path(), "web1.example.org") > 0, "the report stays spooled: {err}");
    // The system's trust store does not know the throwaway CA either.
    let out = client(&url, tmp.path(), "web1.example.org", &["--flush"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let out = client(&url, tmp.path(), "web1.example.org", &["--flush", "--ca-file", path(&ca_file)]);
    assert!(out.status.success() && stderr(&out).contains("report"), "{}", stderr(&out));
    assert_eq!(spooled(tmp.path(), "web1.example.org"), 0, "delivered once the CA is right");

    // Plain text to a TLS port: refused, with a reason an HTTP/1 client can show.
    let plain = url.replace("https://", "http://");
    let out = client(&plain, tmp.path(), "web2.example.org", &[]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let mut tcp = std::net::TcpStream::connect(server.addr).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("requires TLS"), "{answer}");
    assert!(server.log().contains("refused a plain-text connection"), "{}", server.log());

    // HTTP/1.1 over TLS (ALPN) for curl and scripts.
    let curl =
        Command::new("curl").args(["-sS", "--cacert", path(&ca_file), &format!("{url}/healthz")]).output().unwrap();
    assert!(curl.status.success(), "{}", String::from_utf8_lossy(&curl.stderr));
    let curl = Command::new("curl")
        .args([
            "-sS",
            "--http2",
            "--cacert",
            path(&ca_file),
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &format!("{url}/healthz"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "2", "ALPN offers h2 too");
}

async fn tls_channel(url: &str, ca_pem: &str) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    Endpoint::from_shared(url.to_owned())
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)))
        .unwrap()
        .connect()
        .await
}

async fn enroll(channel: tonic::transport::Channel, hostname: &str) -> Result<String, tonic::Status> {
    let mut c = pb::report_service_client::ReportServiceClient::new(channel);
    let req = pb::EnrollRequest {
        enrollment_key: ENROLLMENT_KEY.to_owned(),
        host: Some(pb::Host { hostname: hostname.to_owned(), machine_id: String::new() }),
    };
    c.enroll(req).await.map(|r| r.into_inner().host_token)
}

#[tokio::test]
async fn an_expired_certificate_is_refused_and_a_renewed_one_is_picked_up_while_connections_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("patchman test CA");
    let ca_file = ca.write(&tmp.path().join("ca.pem"));
    let live = ca.issue(tmp.path(), "live", &["127.0.0.1"], Use::Server, false);
    let server = start_tls(tmp.path(), &live, &[]);
    let url = server.url();

    let open = tls_channel(&url, &ca.pem).await.expect("a TLS connection");
    enroll(open.clone(), "a.example.org").await.expect("enrolled over TLS");

    // The certificate is replaced by an expired one (as a renewal gone wrong would): new
    // connections are refused within the reload interval, the open one goes on.
    let expired = ca.issue(tmp.path(), "expired", &["127.0.0.1"], Use::Server, true);
    std::fs::copy(&expired.cert, &live.cert).unwrap();
    std::fs::copy(&expired.key, &live.key).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let refusal = loop {
        match tls_channel(&url, &ca.pem).await {
            Err(err) => break format!("{err:?}"),
            Ok(_) => {
                assert!(Instant::now() < deadline, "the expired certificate was never picked up");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(refusal.contains("Expired"), "{refusal}");
    let out = client(&url, tmp.path(), "b.example.org", &["--ca-file", path(&ca_file)]);
    assert!(!out.status.success() && stderr(&out).contains("certificate expired"), "{}", stderr(&out));
    enroll(open.clone(), "c.example.org").await.expect("the open connection is not dropped by a reload");

    // A renewed certificate and SIGHUP: taken at once.
    let renewed = ca.issue(tmp.path(), "renewed", &["127.0.0.1"], Use::Server, false);
    std::fs::copy(&renewed.cert, &live.cert).unwrap();
    std::fs::copy(&renewed.key, &live.key).unwrap();
    patchman_testkit::run(Command::new("kill").args(["-HUP", &server.pid().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(15);
    while tls_channel(&url, &ca.pem).await.is_err() {
        assert!(Instant::now() < deadline, "the renewed certificate was never picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = client(&url, tmp.path(), "b.example.org", &["--flush", "--ca-file", path(&ca_file)]);
    assert!(
        out.status.success() && stderr(&out).contains("stored"),
        "the spooled report is delivered: {}",
        stderr(&out)
    );
    assert!(server.log().contains("TLS certificate and key reloaded"), "{}", server.log());

    // A broken pair (a key that is not the certificate's) is refused and the last good one stays.
    std::fs::copy(&expired.key, &live.key).unwrap();
    patchman_testkit::run(Command::new("kill").args(["-HUP", &server.pid().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("cannot reload TLS files") {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tls_channel(&url, &ca.pem).await.expect("the last good certificate still serves");
}

#[test]
fn mutual_tls_requires_a_client_certificate_that_names_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("patchman test CA");
    let ca_file = ca.write(&tmp.path().join("ca.pem"));
    let hosts_ca = Ca::new("patchman hosts CA");
    let hosts_ca_file = hosts_ca.write(&tmp.path().join("hosts-ca.pem"));
    let cert = ca.issue(tmp.path(), "server", &["127.0.0.1"], Use::Server, false);
    let server = start_tls(
        tmp.path(),
        &cert,
        &[("PATCHMAN_TLS__CLIENT_CA", path(&hosts_ca_file)), ("PATCHMAN_TLS__CLIENT_CERT_NAMES_HOST", "true")],
    );
    let url = server.url();
    let web1 = hosts_ca.issue(tmp.path(), "web1", &["web1.example.org"], Use::Client, false);
    let old = hosts_ca.issue(tmp.path(), "web1-old", &["web1.example.org"], Use::Client, true);
    let stranger = ca.issue(tmp.path(), "stranger", &["web1.example.org"], Use::Client, false);
    let with = |c: &Issued| {
        vec![
            "--ca-file".to_owned(),
            path(&ca_file).to_owned(),
            "--client-cert".to_owned(),
            path(&c.cert).to_owned(),
            "--client-key".to_owned(),
            path(&c.key).to_owned(),
        ]
    };
    let run = |host: &str, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        client(&url, tmp.path(), host, &args)
    };

    let out = run("web1.example.org", vec!["--ca-file".into(), path(&ca_file).into()]);
    assert!(!out.status.success(), "no client certificate: refused: {}", stderr(&out));
    let out = run("web1.example.org", with(&old));
    assert!(!out.status.success(), "an expired client certificate: refused: {}", stderr(&out));
    let out = run("web1.example.org", with(&stranger));
    assert!(!out.status.success(), "a certificate from another CA: refused: {}", stderr(&out));
    let out = run("web2.example.org", with(&web1));
    assert!(!out.status.success() && stderr(&out).contains("does not name host web2.example.org"), "{}", stderr(&out));
    let out = run("web1.example.org", with(&web1));
    assert!(out.status.success() && stderr(&out).contains("stored"), "{}", stderr(&out));
    let hosts = server.admin(&["host", "list", "--json"]);
    assert!(hosts.contains("web1.example.org") && !hosts.contains("web2.example.org"), "{hosts}");
}

#[tokio::test]
async fn the_web_ui_is_served_over_tls_to_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("patchman test CA");
    let cert = ca.issue(tmp.path(), "server", &["127.0.0.1"], Use::Server, false);
    let server = start_tls(tmp.path(), &cert, &[]);
    let added = server.admin_with_stdin(&["user", "add", "ops", "--role", "admin"], "a-long-test-password\n");
    assert!(added.status.success(), "{added:?}");
    let b = Browser::start("tls").await;
    let base = server.url();
    b.goto(&format!("{base}/")).await;
    assert!(b.url().await.starts_with(&format!("{base}/login")), "{}", b.url().await);
    b.type_into("input[name=name]", "ops").await;
    b.type_into("input[name=password]", "a-long-test-password").await;
    b.follow("form.login button[type=submit]").await;
    assert_eq!(b.url().await, format!("{base}/"), "signed in over https: {}", b.source().await);
    b.screenshot("dashboard-over-tls").await;
}
