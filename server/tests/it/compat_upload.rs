//! Patchman's protocol-1 upload (`/reports/upload/`), in process and on both backends: a
//! body as `patchman-client` 4 sends it with `curl -F` stores the same inventory as the
//! equivalent gRPC report; each bad upload gets a status and one line naming the field and
//! line, and leaves the database as it was (who may upload: `compat_trust`).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::StreamExt as _;
use patchman_server::auth::TokenHash;
use patchman_server::ingest::prepare;
use patchman_server::report::Report;
use patchman_server::store::{Credential, EnrollOutcome, Enrollment};

use crate::store_suite::{pkg, report};
use crate::web_support::*;
use patchman_testkit::multipart::{BOUNDARY, content_type};

on_both_backends!(
    a_patchman_client_upload_stores_what_the_grpc_report_stores,
    each_bad_upload_is_refused_with_its_field_and_stores_nothing,
    arch_and_gentoo_hosts_are_kept_as_inventory_with_updates_unknown,
);

/// The fields of the baseline's recorded Debian request (`patchman-baseline.md`).
fn debian_fields(host: &str) -> Vec<(&'static str, String)> {
    vec![
        ("host", host.to_owned()),
        ("tags", "web".into()),
        ("kernel", "6.1.0-18-amd64".into()),
        ("arch", "x86_64".into()),
        ("protocol", "1".into()),
        ("os", "Debian 12.5".into()),
        ("report", "false".into()),
        (
            "packages",
            "'ace-gperf' '' '7.0.8+dfsg' '2' 'amd64' 'deb'\n'zlib1g' '1' '1.2.13.dfsg' '1' 'amd64' 'deb'\n'adduser' '' '3.134' '' 'all' 'deb'\n\n".into(),
        ),
        (
            "repos",
            "'deb' 'Debian 12 x86_64 repo at http://deb.debian.org/debian/dists/bookworm/main/binary-amd64' '500' 'http://deb.debian.org/debian/dists/bookworm/main/binary-amd64'\n\
             'deb' 'Debian 12 x86_64 repo at http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64' '500' 'http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64'\n"
                .into(),
        ),
        ("sec_updates", String::new()),
        ("bug_updates", String::new()),
        ("modules", String::new()),
        ("reboot", "ServerCheck".into()),
    ]
}

fn multipart(fields: &[(&str, String)]) -> Vec<u8> {
    patchman_testkit::multipart::body(fields)
}

async fn upload(app: &App, path: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Answer {
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, content_type).header(header::USER_AGENT, "curl/7.88.1");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(app, req.body(Body::from(body)).unwrap()).await
}

async fn curl_f(app: &App, token: Option<&str>, fields: &[(&str, String)]) -> Answer {
    upload(app, "/reports/upload/", token, &content_type(), multipart(fields)).await
}

/// A host given a protocol-1 token, as `patchman host token NAME` does.
async fn legacy_host(app: &App, hostname: &str) -> String {
    let token = format!("pmh_legacy-{hostname}");
    let e = Enrollment { hostname, machine_id: "", token_hash: &TokenHash::of(&token), now_ms: 1 };
    assert_eq!(app.store.enroll(&e).await.unwrap(), EnrollOutcome::Enrolled);
    token
}

/// What `patchman-client` (this project's) reports for the same Debian host over gRPC.
fn grpc_equivalent(hostname: &str) -> Report {
    let deb = |name: &str, epoch: u32, version: &str, release: &str, arch: &str| {
        let mut p = pkg(name, version, release);
        p.package.epoch = epoch;
        p.package.arch = arch.into();
        p
    };
    let packages = vec![
        deb("ace-gperf", 0, "7.0.8+dfsg", "2", "amd64"),
        deb("zlib1g", 1, "1.2.13.dfsg", "1", "amd64"),
        deb("adduser", 0, "3.134", "", "all"),
    ];
    let mut r = report(hostname, "g1", 1_000, packages);
    r.os.version_detail = "12.5".into();
    r.os.pretty_name = "Debian GNU/Linux 12 (bookworm)".into();
    r
}

/// A host's inventory as `host show --json` prints it, without what differs by name or time.
async fn inventory(app: &App, hostname: &str) -> serde_json::Value {
    let h = app.store.host(hostname).await.unwrap().expect("the host");
    let repos: Vec<_> = h.repos.iter().map(|r| serde_json::json!([r.name, r.priority, r.kind])).collect();
    serde_json::json!({
        "os_variant": h.summary.os_variant,
        "os_group": h.summary.os_group,
        "kernel": h.summary.kernel,
        "arch": h.summary.arch,
        "tags": h.summary.tags,
        "packages": h.packages,
        "repos": repos,
        "reboot": h.summary.reboot_required,
    })
}

async fn a_patchman_client_upload_stores_what_the_grpc_report_stores(app: App) {
    let token = legacy_host(&app, "deb12-00001.dc1.example.org").await;
    let done = curl_f(&app, Some(&token), &debian_fields("Deb12-00001.dc1.example.org")).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);

    let grpc = TokenHash::of("grpc-token");
    let e = Enrollment { hostname: "deb12-grpc.example.org", machine_id: "", token_hash: &grpc, now_ms: 1 };
    app.store.enroll(&e).await.unwrap();
    app.store
        .ingest(&Credential::Host(grpc), prepare(grpc_equivalent("deb12-grpc.example.org")), 2_000)
        .await
        .unwrap()
        .unwrap();
    let legacy = inventory(&app, "deb12-00001.dc1.example.org").await;
    assert_eq!(legacy, inventory(&app, "deb12-grpc.example.org").await);
    assert_eq!(legacy["os_variant"], "Debian 12.5");
    assert_eq!(app.store.repos().await.unwrap().len(), 2, "both hosts use the same two repositories");

    // Unchanged: the same upload again changes nothing but last-seen.
    let before = app.store.host("deb12-00001.dc1.example.org").await.unwrap().unwrap();
    let again = upload(
        &app,
        "/patchman/reports/upload/",
        Some(&token),
        &content_type(),
        multipart(&debian_fields("deb12-00001.dc1.example.org")),
    )
    .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "the Apache prefix works too: {}", again.body);
    let after = app.store.host("deb12-00001.dc1.example.org").await.unwrap().unwrap();
    assert_eq!(after.last_changed_at, before.last_changed_at, "an unchanged upload changes no state");
    assert!(after.summary.last_seen_at >= before.summary.last_seen_at);

    // report=true: Patchman's text summary; as a plain form it is read the same.
    let mut fields = debian_fields("deb12-00001.dc1.example.org");
    fields.retain(|(k, _)| *k != "report");
    fields.push(("report", "true".into()));
    let form = serde_urlencoded::to_string(&fields).unwrap();
    let echo =
        upload(&app, "/reports/upload/", Some(&token), "application/x-www-form-urlencoded", form.into_bytes()).await;
    assert_eq!(echo.status, StatusCode::OK, "{}", echo.body);
    assert!(echo.body.starts_with("The following data has been submitted for processing:\n\nhost:     deb12-00001.dc1.example.org\nos:       Debian 12.5\n"), "{}", echo.body);
    assert!(echo.body.contains("\npackages:\n ace-gperf |  | 7.0.8+dfsg | 2 | amd64 | deb |\n zlib1g | 1 | 1.2.13.dfsg | 1 | amd64 | deb |\n"), "{}", echo.body);

    // A hook's upload (`-n`: no repositories) keeps the host's repositories.
    let mut hook = debian_fields("deb12-00001.dc1.example.org");
    hook.retain(|(k, _)| *k != "repos" && *k != "packages");
    hook.push(("repos", String::new()));
    hook.push(("packages", "'zlib1g' '1' '1.2.13.dfsg' '1' 'amd64' 'deb'\n".into()));
    assert_eq!(curl_f(&app, Some(&token), &hook).await.status, StatusCode::NO_CONTENT);
    let h = app.store.host("deb12-00001.dc1.example.org").await.unwrap().unwrap();
    assert_eq!((h.packages.len(), h.repos.len()), (1, 2), "{h:?}");
}

async fn each_bad_upload_is_refused_with_its_field_and_stores_nothing(app: App) {
    let token = legacy_host(&app, "a.example.org").await;
    assert_eq!(curl_f(&app, Some(&token), &debian_fields("a.example.org")).await.status, StatusCode::NO_CONTENT);
    let stored = inventory(&app, "a.example.org").await;
    let with = |k: &'static str, v: &str| {
        let mut f = debian_fields("a.example.org");
        f.retain(|(name, _)| *name != k);
        f.push((k, v.to_owned()));
        f
    };
    let multipart_kind = content_type();
    let cases: Vec<(Answer, StatusCode, &str)> = vec![
        (
            curl_f(
                &app,
                Some(&token),
                &with("packages", "'bash' '' '5.2.15' '2' 'amd64' 'deb'\nthis is not a package line"),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "packages line 2: expected a quoted value, found \"this is not a packag\"",
        ),
        (
            curl_f(&app, Some(&token), &with("packages", "'x' '1' '2'")).await,
            StatusCode::BAD_REQUEST,
            "packages line 1: 3 values; a package line has 6",
        ),
        (
            curl_f(&app, Some(&token), &with("os", "Debian")).await,
            StatusCode::BAD_REQUEST,
            "os: \"Debian\" names no version",
        ),
        (
            curl_f(&app, Some(&token), &with("sec_updates", "openssl.amd64")).await,
            StatusCode::BAD_REQUEST,
            "sec_updates line 1: 1 words; expected 'name.arch version repo'",
        ),
        (curl_f(&app, Some(&token), &with("kernel", "")).await, StatusCode::BAD_REQUEST, "kernel: must not be empty"),
        (
            upload(&app, "/reports/upload/", Some(&token), "", Vec::new()).await,
            StatusCode::BAD_REQUEST,
            "the upload has no Content-Type",
        ),
        (
            upload(&app, "/reports/upload/", Some(&token), &multipart_kind, format!("--{BOUNDARY}--\r\n").into_bytes())
                .await,
            StatusCode::BAD_REQUEST,
            "the upload has no fields",
        ),
        (
            upload(&app, "/reports/upload/", Some(&token), "application/json", br#"{"protocol": 2}"#.to_vec()).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json is not multipart/form-data",
        ),
        (
            upload(&app, "/reports/upload/", Some(&token), &multipart_kind, b"not multipart at all".to_vec()).await,
            StatusCode::BAD_REQUEST,
            "the multipart body is broken",
        ),
    ];
    for (answer, status, message) in cases {
        assert_eq!(answer.status, status, "{message}: {}", answer.body);
        assert!(answer.body.contains(message) && answer.body.lines().count() == 1, "{message}: {}", answer.body);
    }
    // Non-UTF-8 (latin-1 é on the second line).
    let mut body = multipart(&with("packages", "'bash' '' '5.2.15' '2' 'amd64' 'deb'\n'caf"));
    let at = body.windows(4).position(|w| w == b"'caf").unwrap() + 4;
    body.insert(at, 0xe9);
    let latin1 = upload(&app, "/reports/upload/", Some(&token), &multipart_kind, body).await;
    assert_eq!((latin1.status, latin1.body.as_str()), (StatusCode::BAD_REQUEST, "packages line 2: is not UTF-8\n"));
    // Larger than the message limit (32 MiB): refused, not read whole.
    let huge = with("packages", &"'p' '' '1' '1' 'amd64' 'deb'\n".repeat(1_200_000));
    let big = curl_f(&app, Some(&token), &huge).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.body);
    // 1 GiB, as curl announces it: refused before it is read (a lazy body counts what was read).
    let produced = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = produced.clone();
    let chunks = futures_util::stream::iter(0..(1usize << 30) / (1 << 20)).map(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 1 << 20]))
    });
    let req = Request::post("/reports/upload/")
        .header(header::CONTENT_TYPE, &multipart_kind)
        .header(header::CONTENT_LENGTH, 1usize << 30)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from_stream(chunks))
        .unwrap();
    let gigabyte = send(&app, req).await;
    assert_eq!(gigabyte.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", gigabyte.body);
    assert!(produced.load(std::sync::atomic::Ordering::Relaxed) <= 40, "read no more than the limit");
    assert_eq!(inventory(&app, "a.example.org").await, stored, "no bad upload changed the host");
    // Patchman answers 500 to an upload without a User-Agent; it is no bad input here.
    let req = Request::post("/reports/upload/")
        .header(header::CONTENT_TYPE, &multipart_kind)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(multipart(&with("kernel", "6.1.0-21-amd64"))))
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.store.host("a.example.org").await.unwrap().unwrap().summary.kernel, "6.1.0-21-amd64");
}

async fn arch_and_gentoo_hosts_are_kept_as_inventory_with_updates_unknown(app: App) {
    let arch = legacy_host(&app, "arch1.example.org").await;
    let gentoo = legacy_host(&app, "gentoo1.example.org").await;
    let with = |host: &str, os: &str, packages: &str, repos: &str| {
        let mut f = debian_fields(host);
        f.retain(|(k, _)| !["os", "packages", "repos"].contains(k));
        f.extend([("os", os.to_owned()), ("packages", packages.to_owned()), ("repos", repos.to_owned())]);
        f
    };
    let arch_fields = with(
        "arch1.example.org",
        "Arch Linux",
        "'bash' '' '5.2.026' '2' 'x86_64' 'arch'\n'glibc' '' '2.40+r16+gaa533d58ff' '2' 'x86_64' 'arch'\n",
        "'arch' 'Arch Linux core x86_64' 'core' 'https://geo.mirror.pkgbuild.com/core/os/x86_64'\n",
    );
    assert_eq!(curl_f(&app, Some(&arch), &arch_fields).await.status, StatusCode::NO_CONTENT);
    let gentoo_fields = with(
        "gentoo1.example.org",
        "Gentoo Linux 2.15",
        "'bash' '0' '5.2_p26' '1' 'amd64' 'gentoo' 'app-shells' 'gentoo'\n",
        "'gentoo' 'Gentoo Linux gentoo Repo x86_64' 'gentoo' '-1000' 'rsync://rsync.gentoo.org/gentoo-portage'\n",
    );
    let answer = curl_f(&app, Some(&gentoo), &gentoo_fields).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);

    patchman_server::updates::Updater::new(app.store.clone()).recompute_stale().await.unwrap();
    let clock = patchman_server::query::Clock { now_ms: patchman_server::clock::now_ms(), silent_after_ms: 86_400_000 };
    let h = app.store.host("arch1.example.org").await.unwrap().unwrap();
    let kinds: Vec<_> = h.packages.iter().map(|p| (p.name.as_str(), p.kind.as_str(), p.evr.as_str())).collect();
    assert_eq!(kinds, [("bash", "arch", "5.2.026-2"), ("glibc", "arch", "2.40+r16+gaa533d58ff-2")]);
    assert_eq!((h.repos.len(), h.repos[0].kind.as_str(), h.repos[0].repo_key.as_str()), (1, "arch", "core"));
    assert_eq!(h.summary.status_at(&clock), patchman_server::query::HostStatus::Unknown, "unknown, never up to date");
    let g = app.store.host("gentoo1.example.org").await.unwrap().unwrap();
    assert_eq!((g.packages[0].name.as_str(), g.packages[0].kind.as_str()), ("app-shells/bash", "gentoo"));
    assert_eq!(g.repos[0].urls, ["rsync://rsync.gentoo.org/gentoo-portage"]);
    assert_eq!(g.summary.status_at(&clock), patchman_server::query::HostStatus::Unknown);
    let d = app.store.dashboard(&clock).await.unwrap();
    assert_eq!(d.repos_not_refreshed, 0, "inventory-only repositories are never refreshed, so never stale");

    let session = sign_in(&app, "ann", patchman_server::accounts::Role::Viewer).await;
    let (status, _, page) = get3(&app, &session, "/hosts/arch1.example.org").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Updates are not found yet for arch packages"), "{page}");
    let packages = get3(&app, &session, "/packages?kind=gentoo&format=json").await.2;
    assert!(packages.contains("app-shells/bash"), "{packages}");
}
