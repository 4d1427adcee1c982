//! The gRPC query API against a real server process, on SQLite and on PostgreSQL: every
//! QueryService RPC with filters and pagination across pages, the AdminService changes, who
//! may call what, and the watch stream (a report's change seen, a resumed watcher missing
//! nothing, a slow watcher dropped while reports go on).

use patchman_proto as pb;
use patchman_testkit::http::FileServer;
use patchman_testkit::server::Server;
use pb::admin_service_client::AdminServiceClient;
use pb::query_service_client::QueryServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::repo_support::{AptRepo, HELLO, INSTALLED, deb_report, only_ok, refresh, start_on_postgres};
use crate::support::{client, enroll, start_server, submit};

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

fn token(server: &Server, name: &str, role: &str, extra: &[&str]) -> String {
    let out = server.admin_output(&[&["token", "create", "--name", name, "--role", role], extra].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn channel(server: &Server) -> Channel {
    tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.expect("connect")
}

/// Five hosts on one signed apt repository (hello-tiny 1.0 → 1.1): a, b, c tagged web, d, e
/// tagged db; e has no repository.
pub(crate) async fn fleet(server: &Server, files: &FileServer) {
    let mut c = client(server).await;
    for (i, host) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let hostname = format!("{host}.example.org");
        let urls = if *host == "e" { vec![] } else { vec![AptRepo::url(files)] };
        let mut r = deb_report(&hostname, INSTALLED, &urls);
        r.tags = vec![if i < 3 { "web".into() } else { "db".into() }];
        let token = enroll(&mut c, &hostname, &r.host.as_ref().unwrap().machine_id).await;
        submit(&mut c, Some(&token), r).await.expect("accepted");
    }
}

async fn with_server(server: Server) {
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    fleet(&server, &files).await;
    only_ok(refresh(&server));
    server.admin(&["find-updates"]);
    let read = token(&server, "dashboards", "read", &[]);
    let admin = token(&server, "pipeline", "admin", &["--expires", "1d"]);
    let ch = channel(&server).await;
    let mut q = QueryServiceClient::new(ch.clone());

    // ListHosts: a filter, an order, pages of two, and the page token bound to its query.
    let mut names = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let req = pb::ListHostsRequest {
            filter: "tag=web".into(),
            order_by: "-hostname".into(),
            page_size: 2,
            page_token: page_token.clone(),
        };
        let answer = q.list_hosts(authed(req, &read)).await.expect("ListHosts").into_inner();
        assert_eq!(answer.total_size, 3);
        names.extend(answer.hosts.iter().map(|h| h.hostname.clone()));
        pages += 1;
        if answer.next_page_token.is_empty() {
            break;
        }
        page_token = answer.next_page_token;
    }
    assert_eq!((names, pages), (vec!["c.example.org".into(), "b.example.org".into(), "a.example.org".into()], 2));
    let first = q
        .list_hosts(authed(
            pb::ListHostsRequest { filter: "tag=web".into(), page_size: 2, ..Default::default() },
            &read,
        ))
        .await
        .unwrap()
        .into_inner();
    let misuse = pb::ListHostsRequest {
        filter: "tag=db".into(),
        page_size: 2,
        page_token: first.next_page_token,
        ..Default::default()
    };
    let err = q.list_hosts(authed(misuse, &read)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "a token of another query: {err:?}");
    let bad = pb::ListHostsRequest { filter: "colour=blue".into(), ..Default::default() };
    let err = q.list_hosts(authed(bad, &read)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("colour"), "names the field: {}", err.message());
    let security = q
        .list_hosts(authed(pb::ListHostsRequest { filter: "has_bugfix=true".into(), ..Default::default() }, &read))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(security.total_size, 4, "a to d need hello-tiny 1.1");

    // GetHost, its packages across pages, its updates with reason and repository.
    let a =
        q.get_host(authed(pb::GetHostRequest { hostname: "A.example.org".into() }, &read)).await.unwrap().into_inner();
    assert_eq!(
        (a.status, a.bugfix_updates, a.tags.clone()),
        (pb::HostStatus::Bugfix as i32, 1, vec!["web".to_owned()])
    );
    let err = q.get_host(authed(pb::GetHostRequest { hostname: "nope.example.org".into() }, &read)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let p1 = q
        .list_host_packages(authed(
            pb::ListHostPackagesRequest { hostname: "a.example.org".into(), page_size: 1, ..Default::default() },
            &read,
        ))
        .await
        .unwrap()
        .into_inner();
    let p2 = q
        .list_host_packages(authed(
            pb::ListHostPackagesRequest {
                hostname: "a.example.org".into(),
                page_size: 1,
                page_token: p1.next_page_token,
            },
            &read,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut packages: Vec<String> =
        p1.packages.iter().chain(&p2.packages).map(|p| format!("{} {}", p.name, p.evr)).collect();
    packages.sort();
    assert_eq!((packages, p2.next_page_token.as_str()), (vec!["bar 7".into(), "hello-tiny 1.0-1".into()], ""));
    let updates = q
        .list_host_updates(authed(pb::ListHostUpdatesRequest { hostname: "a.example.org".into() }, &read))
        .await
        .unwrap();
    let updates = updates.into_inner();
    assert!(updates.current);
    let u = &updates.updates[0];
    assert_eq!((u.name.as_str(), u.installed_evr.as_str(), u.available_evr.as_str()), ("hello-tiny", "1.0-1", "1.1-1"));
    assert!(!u.reason.is_empty() && u.repository.contains("stable/main"), "{u:?}");

    // Packages and which hosts have one, from which of their repositories.
    let names = q
        .list_packages(authed(pb::ListPackagesRequest { search: "hello".into(), ..Default::default() }, &read))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["hello-tiny"]);
    let having = q
        .list_package_hosts(authed(
            pb::ListPackageHostsRequest {
                name: "hello-tiny".into(),
                evr: "1.0-1".into(),
                page_size: 3,
                ..Default::default()
            },
            &read,
        ))
        .await
        .unwrap()
        .into_inner();
    // PostgreSQL counts from its package index; SQLite stops at a full page (-1: not counted).
    let sqlite = server.database_url.starts_with("sqlite");
    assert_eq!(having.total_size, if sqlite { -1 } else { 5 });
    assert_eq!(having.hosts.len(), 3);
    assert!(!having.next_page_token.is_empty());
    let rest = q
        .list_package_hosts(authed(
            pb::ListPackageHostsRequest {
                name: "hello-tiny".into(),
                evr: "1.0-1".into(),
                page_size: 3,
                page_token: having.next_page_token.clone(),
                ..Default::default()
            },
            &read,
        ))
        .await
        .unwrap()
        .into_inner();
    let hosts: Vec<&str> = having.hosts.iter().chain(&rest.hosts).map(|h| h.hostname.as_str()).collect();
    assert_eq!(hosts, ["a.example.org", "b.example.org", "c.example.org", "d.example.org", "e.example.org"]);
    assert_eq!((rest.total_size, rest.next_page_token.as_str()), (5, ""), "the last page is counted on both");
    let a_has = &having.hosts[0];
    assert_eq!((a_has.hostname.as_str(), a_has.evr.as_str()), ("a.example.org", "1.0-1"));
    assert_eq!(a_has.repositories.len(), 1, "its repository offers 1.0-1: {a_has:?}");
    let e_has = q
        .list_package_hosts(authed(
            pb::ListPackageHostsRequest {
                name: "hello-tiny".into(),
                filter: "tag=db&has_repos=false".into(),
                ..Default::default()
            },
            &read,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e_has.hosts.len(), 1);
    assert!(e_has.hosts[0].repositories.is_empty(), "from no repository");

    // Repositories, mirrors, OS groups, errata, the summary.
    let repos = q.list_repositories(authed(pb::ListRepositoriesRequest::default(), &read)).await.unwrap().into_inner();
    assert_eq!(repos.total_size, 1);
    let repo = &repos.repositories[0];
    assert_eq!((repo.host_count, repo.package_count, repo.enabled), (4, 3, true));
    let mirrors = q
        .list_mirrors(authed(pb::ListMirrorsRequest { repository_id: repo.id, ..Default::default() }, &read))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mirrors.mirrors.len(), 1);
    let err = q.list_mirrors(authed(pb::ListMirrorsRequest { repository_id: 999, ..Default::default() }, &read)).await;
    assert_eq!(err.unwrap_err().code(), Code::NotFound);
    let groups = q.list_os_groups(authed(pb::ListOsGroupsRequest {}, &read)).await.unwrap().into_inner();
    assert_eq!(groups.os_groups[0].name, "Debian 12");
    let errata = q.list_errata(authed(pb::ListErrataRequest::default(), &read)).await.unwrap().into_inner();
    assert_eq!(errata.total_size, 0);
    let summary = q.get_summary(authed(pb::GetSummaryRequest {}, &read)).await.unwrap().into_inner();
    assert_eq!((summary.hosts, summary.hosts_without_repositories, summary.repositories), (5, 1, 1));

    // Who may call what.
    let code = |r: Result<tonic::Response<pb::Summary>, tonic::Status>| r.unwrap_err().code();
    assert_eq!(code(q.get_summary(Request::new(pb::GetSummaryRequest {})).await), Code::Unauthenticated);
    let mut rc = client(&server).await;
    let host_token = enroll(&mut rc, "h.example.org", "ffffffffffffffffffffffffffffffff").await;
    let refused = q.get_summary(authed(pb::GetSummaryRequest {}, &host_token)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("host token"), "{}", refused.message());
    crate::query_json::check(&server, &read, &host_token).await;
    let upload = server.admin(&["api-key", "create", "site"]).trim().to_owned();
    assert_eq!(code(q.get_summary(authed(pb::GetSummaryRequest {}, &upload)).await), Code::PermissionDenied);
    let expired = token(&server, "old", "read", &["--expires", "1ms"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(code(q.get_summary(authed(pb::GetSummaryRequest {}, &expired)).await), Code::Unauthenticated);
    // …and API tokens cannot report.
    let err = submit(&mut rc, Some(&read), deb_report("a.example.org", INSTALLED, &[])).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // AdminService: admin tokens only; each change is audited as the token.
    let mut adm = AdminServiceClient::new(ch.clone());
    let tag = pb::SetHostTagRequest { hostname: "b.example.org".into(), tag: "patch-tonight".into(), present: true };
    assert_eq!(adm.set_host_tag(authed(tag.clone(), &read)).await.unwrap_err().code(), Code::PermissionDenied);
    let b = adm.set_host_tag(authed(tag, &admin)).await.unwrap().into_inner();
    assert!(b.tags.contains(&"patch-tonight".to_owned()));
    let b = adm
        .set_use_host_repos(authed(
            pb::SetUseHostReposRequest { hostname: "b.example.org".into(), use_host_repos: false },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!b.use_host_repos);
    let r = adm
        .set_repository_security(authed(
            pb::SetRepositorySecurityRequest { repository_id: repo.id, security: "yes".into() },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(r.security && r.security_manual);
    let bad = pb::SetRepositorySecurityRequest { repository_id: repo.id, security: "maybe".into() };
    assert_eq!(adm.set_repository_security(authed(bad, &admin)).await.unwrap_err().code(), Code::InvalidArgument);
    let m = adm
        .set_mirror_enabled(authed(
            pb::SetMirrorEnabledRequest { mirror_id: mirrors.mirrors[0].id, enabled: false },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!m.enabled);
    adm.set_mirror_enabled(authed(pb::SetMirrorEnabledRequest { mirror_id: m.id, enabled: true }, &admin))
        .await
        .unwrap();
    let refreshed = adm
        .refresh_repositories(authed(pb::RefreshRepositoriesRequest { repository_id: repo.id, force: true }, &admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((refreshed.repositories, refreshed.failed), (1, 0));
    let recomputed = adm
        .recompute_hosts(authed(pb::RecomputeHostsRequest { filter: "tag=web".into() }, &admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recomputed.hosts, 3);
    let a =
        q.get_host(authed(pb::GetHostRequest { hostname: "a.example.org".into() }, &read)).await.unwrap().into_inner();
    assert_eq!(a.security_updates, 1, "the repository is a security repository now");
    adm.delete_host(authed(pb::DeleteHostRequest { hostname: "e.example.org".into() }, &admin)).await.unwrap();
    let gone = adm.delete_host(authed(pb::DeleteHostRequest { hostname: "e.example.org".into() }, &admin)).await;
    assert_eq!(gone.unwrap_err().code(), Code::NotFound);
    let audit = server.admin(&["audit"]);
    assert!(
        audit.contains("api:pipeline") && audit.contains("host.delete") && audit.contains("repo.security"),
        "{audit}"
    );
    server.admin(&["token", "revoke", "pipeline"]);
    let revoked = adm.delete_host(authed(pb::DeleteHostRequest { hostname: "d.example.org".into() }, &admin)).await;
    assert_eq!(revoked.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_and_change_on_sqlite() {
    with_server(start_server(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_and_change_on_postgres() {
    with_server(start_on_postgres("query_api", &[])).await;
}

/// The next event of a watch stream, within a few seconds.
async fn next(stream: &mut tonic::Streaming<pb::HostStatusEvent>) -> pb::HostStatusEvent {
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("not the end")
}

/// Reports `hostname` with `packages` more packages than the base.
async fn report(
    c: &mut pb::report_service_client::ReportServiceClient<Channel>,
    token: &str,
    hostname: &str,
    n: usize,
) {
    report_tagged(c, token, hostname, n, n, vec![]).await;
}

async fn report_tagged(
    c: &mut pb::report_service_client::ReportServiceClient<Channel>,
    token: &str,
    hostname: &str,
    seq: usize,
    n: usize,
    tags: Vec<String>,
) {
    let mut r = deb_report(hostname, INSTALLED, &[]);
    r.tags = tags;
    r.report_id = format!("{hostname}-{seq}");
    r.generated_at_ms += seq as i64;
    r.packages.extend((0..n).map(|i| crate::support::package(&format!("extra{i}"), "1", "1")));
    submit(c, Some(token), r).await.expect("accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_sees_changes_resumes_without_loss_and_is_dropped_when_slow() {
    // One host reports 600 times in a row here: no per-host rate limit.
    let server = start_server(&[
        ("PATCHMAN_API__WATCH_BUFFER_BATCHES", "4"),
        ("PATCHMAN_LIMITS__REPORTS_PER_MINUTE_PER_HOST", "0"),
    ]);
    let read = token(&server, "watcher", "read", &[]);
    let mut c = client(&server).await;
    let machine = |h: &str| format!("{:0>32x}", xxhash_rust::xxh3::xxh3_64(h.as_bytes()));
    let w1 = enroll(&mut c, "w1.example.org", &machine("w1")).await;
    let w2 = enroll(&mut c, "w2.example.org", &machine("w2")).await;
    let mut q = QueryServiceClient::new(channel(&server).await);

    // One host's changes, as they happen.
    let watch = pb::WatchHostStatusRequest { filter: "hostname=w1.example.org".into(), cursor: String::new() };
    let mut stream = q.watch_host_status(authed(watch, &read)).await.expect("watch").into_inner();
    report(&mut c, &w2, "w2.example.org", 1).await;
    report(&mut c, &w1, "w1.example.org", 1).await;
    let seen = next(&mut stream).await;
    let host = seen.host.clone().unwrap();
    assert_eq!((host.hostname.as_str(), host.package_count), ("w1.example.org", 3), "only w1's: {seen:?}");
    assert!(!seen.cursor.is_empty() && !seen.deleted);
    let mut cursor = seen.cursor.clone();
    // The verdict's event follows; drain what there is for a moment.
    while let Ok(Ok(Some(e))) = tokio::time::timeout(std::time::Duration::from_millis(500), stream.message()).await {
        cursor = e.cursor;
    }
    drop(stream);

    // Disconnected: a change happens; resuming from the cursor delivers it, nothing twice.
    report(&mut c, &w1, "w1.example.org", 2).await;
    let resume = pb::WatchHostStatusRequest { filter: "hostname=w1.example.org".into(), cursor: cursor.clone() };
    let mut stream = q.watch_host_status(authed(resume, &read)).await.unwrap().into_inner();
    let missed = next(&mut stream).await;
    assert_eq!(missed.host.unwrap().package_count, 4, "the change made while away");
    assert!(missed.cursor.parse::<i64>().unwrap() > cursor.parse::<i64>().unwrap());
    drop(stream);
    let err = q
        .watch_host_status(authed(
            pb::WatchHostStatusRequest { filter: "package_name=bash".into(), cursor: String::new() },
            &read,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // A watcher that does not read (its flow-control window a kilobyte, so the server cannot
    // hand it much): reports go on at full speed, and it is dropped.
    let narrow = tonic::transport::Endpoint::from_shared(server.url())
        .unwrap()
        .initial_stream_window_size(Some(1_024))
        .initial_connection_window_size(Some(1_024))
        .connect()
        .await
        .unwrap();
    let all = pb::WatchHostStatusRequest::default();
    let mut slow = QueryServiceClient::new(narrow).watch_host_status(authed(all, &read)).await.unwrap().into_inner();
    // Each event carries the host's 64 long tags: far more than the connection buffers.
    let tags: Vec<String> = (0..64).map(|i| format!("{i:02}-{}", "t".repeat(60))).collect();
    let started = std::time::Instant::now();
    for n in 3..600 {
        report_tagged(&mut c, &w2, "w2.example.org", n, n % 7 + 3, tags.clone()).await;
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "reports were not held up");
    let mut ended = None;
    let mut got = 0;
    for _ in 0..100_000 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), slow.message()).await;
        let next = next.unwrap_or_else(|_| panic!("in time, after {got} events"));
        match next {
            Ok(Some(_)) => {
                got += 1;
                continue;
            }
            Ok(None) => break,
            Err(status) => {
                ended = Some(status);
                break;
            }
        }
    }
    let status = ended.expect("the slow watcher is ended with a status");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("resume from cursor"), "{}", status.message());
}

/// Reflection and health through a client of another implementation: Debian's python3-grpcio,
/// with no .proto file, builds the messages from what the server describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_and_health_serve_a_client_without_proto_files() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let mut r = deb_report("web1.example.org", INSTALLED, &[]);
    let token = enroll(&mut c, "web1.example.org", &r.host.as_ref().unwrap().machine_id).await;
    r.tags = vec!["web".into()];
    submit(&mut c, Some(&token), r).await.unwrap();
    let read = token_of(&server, "python", "read");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc_reflection_client.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(server.addr.to_string())
        .arg(&read)
        .output()
        .expect("Debian's python3 (python3-grpcio, python3-protobuf: .ci/setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let services: Vec<&str> = seen["services"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    for wanted in
        ["patchman.v1.QueryService", "patchman.v1.AdminService", "patchman.v1.ReportService", "grpc.health.v1.Health"]
    {
        assert!(services.contains(&wanted), "{wanted} in {services:?}");
    }
    assert_eq!(seen["summary"]["hosts"], "1", "{seen}");
    assert_eq!(seen["web_hosts"], serde_json::json!(["web1.example.org"]));
    assert_eq!(seen["without_token"], "UNAUTHENTICATED");
    assert_eq!(
        seen["health"],
        serde_json::json!({"(server)": 1, "patchman.v1.QueryService": 1, "patchman.v1.ReportService": 1})
    );
}

fn token_of(server: &Server, name: &str, role: &str) -> String {
    token(server, name, role, &[])
}
