//! Bad input: every malformed report is refused with the right code and a message naming the
//! field, and leaves the database exactly as it was.

use patchman_proto as pb;
use prost::Message as _;
use tonic::Code;

use crate::support::{client, enroll, fingerprint, good_report, package, settled, start_server, submit};

type Mutation = fn(&mut pb::Report);

/// (what is wrong, how to make it so, expected code, text the message must contain)
const CASES: &[(&str, Mutation, Code, &str)] = &[
    ("empty hostname", |r| r.host.as_mut().unwrap().hostname.clear(), Code::InvalidArgument, "host.hostname"),
    ("no host", |r| r.host = None, Code::InvalidArgument, "host: is required"),
    (
        "hostname with a space",
        |r| r.host.as_mut().unwrap().hostname = "web 01".into(),
        Code::InvalidArgument,
        "host.hostname",
    ),
    (
        "machine id not hex",
        |r| r.host.as_mut().unwrap().machine_id = "zz".into(),
        Code::InvalidArgument,
        "host.machine_id",
    ),
    ("no report id", |r| r.report_id.clear(), Code::InvalidArgument, "report_id"),
    ("no generation time", |r| r.generated_at_ms = 0, Code::InvalidArgument, "generated_at_ms"),
    ("no os", |r| r.os = None, Code::InvalidArgument, "os: is required"),
    ("empty os id", |r| r.os.as_mut().unwrap().id.clear(), Code::InvalidArgument, "os.id"),
    ("empty kernel", |r| r.kernel.clear(), Code::InvalidArgument, "kernel"),
    ("empty arch", |r| r.arch.clear(), Code::InvalidArgument, "arch"),
    ("package without name", |r| r.packages[1].name.clear(), Code::InvalidArgument, "packages[1].name"),
    ("package without version", |r| r.packages[2].version.clear(), Code::InvalidArgument, "packages[2].version"),
    (
        "package version with a space",
        |r| r.packages[0].version = "1 2".into(),
        Code::InvalidArgument,
        "packages[0].version",
    ),
    ("package without kind", |r| r.packages[0].kind = 0, Code::InvalidArgument, "packages[0].kind"),
    ("unknown package kind", |r| r.packages[0].kind = 7, Code::InvalidArgument, "packages[0].kind: unknown value 7"),
    (
        "duplicate packages",
        |r| r.packages.push(r.packages[0].clone()),
        Code::InvalidArgument,
        "packages[3]: duplicates packages[0]",
    ),
    (
        "too many packages",
        |r| r.packages = (0..1001).map(|i| package(&format!("p{i}"), "1", "1")).collect(),
        Code::InvalidArgument,
        "packages: 1001 packages is more than the limit of 1000",
    ),
    ("unspecified trigger", |r| r.trigger = 0, Code::InvalidArgument, "trigger: is required"),
    ("unknown trigger", |r| r.trigger = 9, Code::InvalidArgument, "trigger: unknown value 9"),
    ("repository without URL", |r| r.repos[0].urls.clear(), Code::InvalidArgument, "repos[0].urls"),
    (
        "repository URL scheme",
        |r| r.repos[0].urls[0].url = "gopher://x/y".into(),
        Code::InvalidArgument,
        "repos[0].urls[0].url",
    ),
    ("repository URL kind", |r| r.repos[0].urls[0].kind = 12, Code::InvalidArgument, "repos[0].urls[0].kind"),
    ("repository without kind", |r| r.repos[0].kind = 0, Code::InvalidArgument, "repos[0].kind"),
    ("tag with a space", |r| r.tags = vec!["a b".into()], Code::InvalidArgument, "tags[0]"),
    (
        "module without stream",
        |r| r.modules = vec![pb::ModuleStream { name: "nginx".into(), ..Default::default() }],
        Code::InvalidArgument,
        "modules[0].stream",
    ),
    (
        "transaction change without action",
        |r| {
            r.transactions = vec![pb::Transaction {
                transaction_id: "t1".into(),
                finished_at_ms: 1,
                tool: "apt".into(),
                changes: vec![pb::PackageChange { name: "bash".into(), ..Default::default() }],
            }]
        },
        Code::InvalidArgument,
        "transactions[0].changes[0].action",
    ),
];

#[tokio::test]
async fn bad_reports_are_refused_and_change_nothing() {
    let server = start_server(&[("PATCHMAN_MAX_PACKAGES", "1000"), ("PATCHMAN_MAX_MESSAGE_BYTES", "1048576")]);
    let mut c = client(&server).await;
    let token = enroll(&mut c, "web01.example.org", "0123456789abcdef0123456789abcdef").await;
    let other_token = enroll(&mut c, "db01.example.org", "").await;
    submit(&mut c, Some(&token), good_report("web01.example.org", "r1")).await.expect("a good report is stored");
    settled(&server, "web01.example.org").await;
    let before = fingerprint(&server).await;

    let mut checked = 0;
    for (what, mutate, code, text) in CASES {
        let mut report = good_report("web01.example.org", &format!("bad-{checked}"));
        mutate(&mut report);
        let status = submit(&mut c, Some(&token), report).await.expect_err(what);
        assert_eq!(status.code(), *code, "{what}: {status:?}");
        assert!(status.message().contains(text), "{what}: message {:?} does not contain {text:?}", status.message());
        checked += 1;
    }

    // Authentication: no token, a made-up token, another host's token.
    let report = || good_report("web01.example.org", "auth");
    let status = submit(&mut c, None, report()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = submit(&mut c, Some("pmh_madeup"), report()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = submit(&mut c, Some(&other_token), report()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    checked += 3;

    // Bytes that are not a valid message: invalid UTF-8 in a string, garbage, too large.
    let mut bytes = good_report("web01.example.org", "utf8").encode_to_vec();
    let at = bytes.windows(6).position(|w| w == b"zlib1g").expect("the package name is in the encoding");
    bytes[at..at + 2].copy_from_slice(&[0xff, 0xfe]);
    let status = submit_raw(&server, &token, bytes).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("Package.name") && status.message().contains("UTF-8"), "{status:?}");
    let status = submit_raw(&server, &token, vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let mut huge = good_report("web01.example.org", "huge");
    huge.client_version = "x".repeat(2 << 20);
    let status = submit(&mut c, Some(&token), huge).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("report: the message is 2097"), "{status:?}");
    assert!(status.message().ends_with("more than the limit of 1048576 bytes (max_message_bytes)"), "{status:?}");
    checked += 3;

    assert!(checked >= 20, "only {checked} bad reports checked");
    assert_eq!(fingerprint(&server).await, before, "a refused report changed the database");
}

/// A report that fails half way through its transaction (a trigger refuses the last write)
/// leaves no trace: packages, repositories and links written before the failure are gone.
#[tokio::test]
async fn a_report_failing_half_way_is_rolled_back() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let token = enroll(&mut c, "web01.example.org", "").await;
    submit(&mut c, Some(&token), good_report("web01.example.org", "r1")).await.unwrap();
    settled(&server, "web01.example.org").await;
    fail_inserts(&mut database(&server).await, "reports", "NEW.report_id = 'r2'").await;
    let before = fingerprint(&server).await;
    let mut report = good_report("web01.example.org", "r2");
    report.packages.push(package("curl", "7.88.1", "10+deb12u8"));
    report.repos[0].urls.push(pb::RepoUrl {
        url: "http://mirror.example.org/debian/dists/bookworm/main/binary-amd64".into(),
        kind: pb::UrlKind::Apt as i32,
    });
    report.tags = vec!["changed".into()];
    let status = submit(&mut c, Some(&token), report).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(!status.message().contains("injected"), "internal details leaked: {status:?}");
    assert_eq!(fingerprint(&server).await, before, "a failed report left part of itself behind");
}

/// Reports arriving together are written in one transaction; one of them failing at its last
/// write (a trigger refuses the package only it has) is undone alone: every other report of
/// the burst is stored whole, and nothing of the failing one remains.
#[tokio::test]
async fn a_failing_report_among_many_leaves_the_others_stored() {
    let server = start_server(&[]);
    let c = client(&server).await;
    let names: Vec<String> = (0..24).map(|i| format!("burst{i:02}.example.org")).collect();
    let mut tokens = Vec::new();
    for name in &names {
        tokens.push(enroll(&mut c.clone(), name, "").await);
    }
    let mut db = database(&server).await;
    // The bad report's own package is its last write: everything else of it is written first.
    fail_inserts(&mut db, "packages", "NEW.name = 'only-in-the-bad-report'").await;
    for round in 0..3 {
        let submits = names.iter().zip(&tokens).enumerate().map(|(i, (name, token))| {
            let mut c = c.clone();
            let id = if i == 7 { "bad".to_owned() } else { format!("good-{round}") };
            let mut report = good_report(name, &id);
            if i == 7 {
                report.packages.push(package("only-in-the-bad-report", "1.0", "1"));
            }
            report.packages.push(package(&format!("own-{i}-{round}"), "1.0", "1"));
            async move { submit(&mut c, Some(token), report).await }
        });
        let answers = futures_util::future::join_all(submits).await;
        for (i, answer) in answers.iter().enumerate() {
            if i == 7 {
                let status = answer.as_ref().unwrap_err();
                assert_eq!(status.code(), Code::Internal, "round {round}: {status:?}");
            } else {
                assert!(answer.is_ok(), "round {round}: {} was not stored: {answer:?}", names[i]);
            }
        }
        let per_host: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT h.hostname, (SELECT count(*) FROM host_packages p WHERE p.host_id = h.id), \
             (SELECT count(*) FROM reports r WHERE r.host_id = h.id) FROM hosts h ORDER BY h.hostname",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        for (i, (name, packages, reports)) in per_host.iter().enumerate() {
            assert_eq!(name, &names[i]);
            if i == 7 {
                assert_eq!((*packages, *reports), (0, 0), "round {round}: the failing report left a part behind");
            } else {
                let want = (good_report(name, "x").packages.len() as i64 + 1, round as i64 + 1);
                assert_eq!((*packages, *reports), want, "round {round}: {name} is not whole");
            }
        }
        let links: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM host_repos r WHERE r.host_id = h.id) \
             + (SELECT count(*) FROM host_tags t WHERE t.host_id = h.id) FROM hosts h WHERE h.hostname = $1",
        )
        .bind(&names[7])
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(links, 0, "round {round}: the failing report's repositories or tags were kept");
    }
}

/// A connection to the server's SQLite file.
async fn database(server: &patchman_testkit::server::Server) -> sqlx::SqliteConnection {
    let opts = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&server.database_url).unwrap();
    sqlx::ConnectOptions::connect(&opts).await.unwrap()
}

/// Makes inserting a row into `table` fail when `condition` holds (a report then fails half
/// way through its transaction).
async fn fail_inserts(db: &mut sqlx::SqliteConnection, table: &str, condition: &str) {
    let sql = format!(
        "CREATE TRIGGER fail_late BEFORE INSERT ON {table} WHEN {condition} \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(db).await.unwrap();
}

async fn submit_raw(
    server: &patchman_testkit::server::Server,
    token: &str,
    bytes: Vec<u8>,
) -> Result<pb::SubmitResponse, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    patchman_testkit::grpc::submit_raw(channel, token, bytes).await
}
