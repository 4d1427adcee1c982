//! Shared helpers: a server, a gRPC client, a well-formed report, a database fingerprint.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr as _;

use patchman_proto as pb;
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use pb::report_service_client::ReportServiceClient;
use sqlx::Row as _;
use sqlx::sqlite::SqliteConnectOptions;
use tonic::transport::Channel;

pub fn start_server(env: &[(&str, &str)]) -> Server {
    Server::start(Path::new(env!("CARGO_BIN_EXE_patchman")), env)
}

pub async fn client(server: &Server) -> ReportServiceClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.expect("connect");
    ReportServiceClient::new(channel).max_encoding_message_size(usize::MAX)
}

pub async fn enroll(client: &mut ReportServiceClient<Channel>, hostname: &str, machine_id: &str) -> String {
    let req = pb::EnrollRequest {
        enrollment_key: ENROLLMENT_KEY.to_owned(),
        host: Some(pb::Host { hostname: hostname.to_owned(), machine_id: machine_id.to_owned() }),
    };
    client.enroll(req).await.expect("enroll").into_inner().host_token
}

pub async fn submit(
    client: &mut ReportServiceClient<Channel>,
    token: Option<&str>,
    report: pb::Report,
) -> Result<pb::SubmitResponse, tonic::Status> {
    let mut req = tonic::Request::new(report);
    if let Some(token) = token {
        req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    client.submit(req).await.map(|r| r.into_inner())
}

pub fn package(name: &str, version: &str, release: &str) -> pb::Package {
    pb::Package {
        name: name.to_owned(),
        epoch: 0,
        version: version.to_owned(),
        release: release.to_owned(),
        arch: "amd64".to_owned(),
        kind: pb::PackageKind::Deb as i32,
        ..Default::default()
    }
}

/// A small but complete Debian host report.
pub fn good_report(hostname: &str, report_id: &str) -> pb::Report {
    pb::Report {
        report_id: report_id.to_owned(),
        generated_at_ms: 1_700_000_000_000,
        host: Some(pb::Host {
            hostname: hostname.to_owned(),
            machine_id: "0123456789abcdef0123456789abcdef".to_owned(),
        }),
        os: Some(pb::OperatingSystem {
            id: "debian".into(),
            name: "Debian GNU/Linux".into(),
            version_id: "12".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            codename: "bookworm".into(),
            version_detail: "12.7".into(),
            ..Default::default()
        }),
        kernel: "6.1.0-18-amd64".into(),
        arch: "x86_64".into(),
        packages: vec![
            package("bash", "5.2.15", "2+b8"),
            package("openssl", "3.0.15", "1~deb12u1"),
            package("zlib1g", "1.2.13.dfsg", "1"),
        ],
        repos: vec![pb::Repository {
            kind: pb::PackageKind::Deb as i32,
            id: "deb.debian.org/debian bookworm/main amd64".into(),
            name: "deb.debian.org/debian bookworm/main amd64".into(),
            priority: 500,
            urls: vec![pb::RepoUrl {
                url: "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64".into(),
                kind: pb::UrlKind::Apt as i32,
            }],
            suite: "bookworm".into(),
            component: "main".into(),
            architecture: "amd64".into(),
        }],
        reboot: Some(pb::Reboot::default()),
        tags: vec!["web".into()],
        trigger: pb::Trigger::Manual as i32,
        client_version: "test".into(),
        ..Default::default()
    }
}

/// Every row of every table but the scheduler's (`jobs`, `job_runs`), as text: equal
/// fingerprints mean an unchanged database.
pub async fn fingerprint(server: &Server) -> BTreeMap<String, String> {
    fingerprint_url(&server.database_url).await
}

/// As `fingerprint`, for a SQLite URL.
pub async fn fingerprint_url(url: &str) -> BTreeMap<String, String> {
    let opts = SqliteConnectOptions::from_str(url).unwrap().read_only(true);
    let mut conn = sqlx::ConnectOptions::connect(&opts).await.expect("open the test database");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_sqlx%' AND name NOT LIKE 'job%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| format!("hex({})", r.get::<String, _>(1)))
            .collect();
        let sql = format!(
            "SELECT group_concat(row, char(10)) FROM (SELECT {} AS row FROM {table} ORDER BY 1)",
            columns.join(" || '|' || ")
        );
        let dump: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap();
        out.insert(table, dump.unwrap_or_default());
    }
    out
}

/// `patchman host show NAME --json`.
pub fn host_json(server: &Server, hostname: &str) -> serde_json::Value {
    serde_json::from_str(&server.admin(&["host", "show", hostname, "--json"])).expect("host show prints JSON")
}

/// Waits until the server has computed the host's updates from its current state.
pub async fn settled(server: &Server, hostname: &str) {
    for _ in 0..200 {
        if host_json(server, hostname)["updates_current"] == true {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the updates of {hostname} were never computed");
}

/// `GET path` on the server's one port, as a browser would, signed in (as a viewer added with
/// `patchman user add`, the password on stdin): the whole response, head and body.
pub fn http_get(server: &Server, path: &str) -> String {
    const USER: &str = "http-test";
    const PASSWORD: &str = "http test password";
    let added = server.admin_with_stdin(&["user", "add", USER, "--role", "viewer"], &format!("{PASSWORD}\n"));
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success() || stderr.contains("already a user"), "user add: {stderr}");

    let form = http(server, "GET /login HTTP/1.1\r\nAccept: text/html\r\n", "");
    let form_cookie = set_cookie(&form, "pm_login_csrf");
    let field = form.split("name=\"csrf\" value=\"").nth(1).expect("a sign-in form").split('"').next().unwrap();
    let body = format!("name={USER}&password={}&csrf={field}&next=/", PASSWORD.replace(' ', "+"));
    let head = format!(
        "POST /login HTTP/1.1\r\nCookie: pm_login_csrf={form_cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    let signed_in = http(server, &head, &body);
    assert!(signed_in.starts_with("HTTP/1.1 303"), "sign-in: {signed_in}");
    let session = set_cookie(&signed_in, "pm_session");
    http(server, &format!("GET {path} HTTP/1.1\r\nAccept: text/html\r\nCookie: pm_session={session}\r\n"), "")
}

/// One request (`head`: request line and headers, each ending in CRLF) on a new connection.
fn http(server: &Server, head: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "{head}Host: {addr}\r\nConnection: close\r\n\r\n{body}").unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    page
}

/// The value a response's `Set-Cookie` header gives cookie `name`.
fn set_cookie<'a>(response: &'a str, name: &str) -> &'a str {
    let prefix = format!("set-cookie: {name}=");
    response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].split(';').next().unwrap())
        .unwrap_or_else(|| panic!("no cookie {name} in {response}"))
}
