//! What the real upstream `patchman-client` sent (recorded bodies under
//! `tests/fixtures/patchman-client/`, see its README), uploaded by both protocols on both
//! backends: each stores the inventory the equivalent gRPC report stores, and protocol 2's
//! refusals name every bad field in Patchman's JSON and store nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use patchman_server::auth::{ApiRole, TokenHash};
use patchman_server::ingest::prepare;
use patchman_server::report::{InstalledPackage, Package, PackageKind};
use patchman_server::store::{Credential, NewApiKey};

use crate::store_suite::{apt_repo, enroll, report};
use crate::web_support::*;

on_both_backends!(
    the_recorded_debian_uploads_store_what_grpc_stores,
    the_recorded_rocky_uploads_agree_and_keep_the_hosts_view,
    protocol_2_refusals_name_each_field_and_store_nothing,
);

const KEY: &str = "pmk_recorded-fixtures";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patchman-client").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn with_key(app: &App) {
    let new =
        NewApiKey { name: "fixtures", role: ApiRole::Upload, key_hash: &TokenHash::of(KEY), now: 1, expires_at: None };
    assert!(app.store.add_api_key(&new).await.unwrap());
}

/// Uploads a recorded body as it was sent, with the API key.
async fn recorded(app: &App, path: &str, body: &str) -> Answer {
    let content_type = match body.strip_suffix(".body") {
        Some(stem) => String::from_utf8(fixture(&format!("{stem}.content-type"))).unwrap(),
        None => "application/json".to_owned(),
    };
    post(app, path, &content_type, fixture(body)).await
}

async fn post(app: &App, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::AUTHORIZATION, format!("Api-Key {KEY}"))
        .header(header::USER_AGENT, "curl/7.88.1")
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

/// A host as `host show --json` prints it, without what differs by name, time or door.
async fn inventory(app: &App, hostname: &str) -> serde_json::Value {
    let h = app.store.host(hostname).await.unwrap().expect("the host");
    let mut json = serde_json::to_value(&h).unwrap();
    for volatile in [
        "hostname",
        "last_seen_at",
        "last_changed_at",
        "enrolled_at",
        "reports",
        "client_version",
        "reported_with",
        "token",
        "updates_current",
        "reboot_reason",
        "offered_known",
        "view_differences",
        "view_disagreements",
        "os_pretty_name",
    ] {
        json.as_object_mut().unwrap().remove(volatile);
    }
    json
}

async fn the_recorded_debian_uploads_store_what_grpc_stores(app: App) {
    with_key(&app).await;
    let p1 = recorded(&app, "/reports/upload/", "debian12-protocol1.body").await;
    assert_eq!(p1.status, StatusCode::NO_CONTENT, "{}", p1.body);
    let by_p1 = inventory(&app, "debian12.example.org").await;
    assert_eq!(by_p1["os_variant"], "Debian 12.11");
    assert_eq!(by_p1["os_group"], "Debian 12");
    assert_eq!(by_p1["tags"], serde_json::json!(["prod", "web"]));

    // The same host over gRPC: its packages as dpkg lists them (read from the recorded JSON,
    // the same machine at the same moment), the same three apt sources.
    let json: serde_json::Value = serde_json::from_slice(&fixture("debian12-protocol2.json")).unwrap();
    let packages: Vec<InstalledPackage> = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            InstalledPackage {
                package: Package {
                    kind: PackageKind::Deb,
                    name: s("name"),
                    epoch: s("epoch").parse().unwrap_or(0),
                    version: s("version"),
                    release: s("release"),
                    arch: s("arch"),
                },
                source_name: String::new(),
                source_version: String::new(),
            }
        })
        .collect();
    assert_eq!(packages.len(), 766);
    let mut grpc = report("debian12-grpc.example.org", "g1", 1_000, packages);
    grpc.repos = vec![
        apt_repo(
            "bookworm-security",
            "http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64",
        ),
        apt_repo("bookworm-updates", "http://deb.debian.org/debian/dists/bookworm-updates/main/binary-amd64"),
        apt_repo("bookworm", "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64"),
    ];
    grpc.kernel = "6.18.44-fc-v1272".into();
    grpc.os.version_detail = "12.11".into();
    grpc.tags = vec!["prod".into(), "web".into()];
    let token = enroll(&*app.store, "debian12-grpc.example.org").await;
    app.store.ingest(&Credential::Host(token), prepare(grpc), 2_000).await.unwrap().unwrap();
    assert_eq!(by_p1, inventory(&app, "debian12-grpc.example.org").await, "protocol 1 and gRPC store the same");
    assert_eq!(app.store.repos().await.unwrap().len(), 3, "the same three repositories, shared");

    // Protocol 2, recorded at the same moment: the same again.
    assert!(app.store.delete_host("debian12.example.org").await.unwrap());
    let p2 = recorded(&app, "/api/report/", "debian12-protocol2.json").await;
    assert_eq!(p2.status, StatusCode::ACCEPTED, "{}", p2.body);
    let answer: serde_json::Value = serde_json::from_str(&p2.body).unwrap();
    assert_eq!((answer["status"].as_str(), answer["message"].as_str()), (Some("accepted"), Some("stored")));
    assert_eq!(inventory(&app, "debian12.example.org").await, by_p1, "protocol 2 stores what protocol 1 does");
    let again = recorded(&app, "/patchman/api/report/", "debian12-protocol2.json").await;
    assert!(again.body.contains("unchanged"), "{}", again.body);

    // Its apt hook (`-n`): no repositories, and the host keeps its own.
    let hook = recorded(&app, "/patchman/reports/upload/", "debian12-protocol1-hook.body").await;
    assert_eq!(hook.status, StatusCode::NO_CONTENT, "{}", hook.body);
    let h = app.store.host("debian12.example.org").await.unwrap().unwrap();
    assert_eq!((h.repos.len(), h.packages.len()), (3, 766));
}

async fn the_recorded_rocky_uploads_agree_and_keep_the_hosts_view(app: App) {
    with_key(&app).await;
    let p1 = recorded(&app, "/reports/upload/", "rocky9-protocol1.body").await;
    assert_eq!(p1.status, StatusCode::NO_CONTENT, "{}", p1.body);
    let h = app.store.host("rocky9.example.org").await.unwrap().unwrap();
    assert_eq!(h.summary.kernel, "5.14.0-427.13.1.el9_4.x86_64+debug");
    assert_eq!(h.summary.os_variant, "Rocky Linux 9.4");
    assert_eq!(h.packages.len(), 17, "19 lines, two of them gpg-pubkey");
    assert!(h.packages.iter().any(|p| p.name == "libstdc++"));
    let modules: Vec<(&str, &str)> = h.modules.iter().map(|m| (m.name.as_str(), m.stream.as_str())).collect();
    assert_eq!(modules, [("nginx", "1.22"), ("php", "8.1")]);
    let internal = h.repos.iter().find(|r| r.name == "Internal Tools").expect("named as its .repo file names it");
    assert_eq!((internal.priority, internal.urls.len()), (10, 2));
    assert!(h.offered_known, "it said what dnf offers it");
    // No repository was refreshed: the server finds nothing yet, and says where the views differ.
    patchman_server::updates::Updater::new(app.store.clone()).recompute_stale().await.unwrap();
    let h = app.store.host("rocky9.example.org").await.unwrap().unwrap();
    let differ: Vec<(&str, Option<&str>)> =
        h.view_differences.iter().map(|d| (d.name.as_str(), d.host.as_deref())).collect();
    assert_eq!(
        differ,
        [
            ("curl", Some("7.76.1-29.el9_4.1 (bugfix)")),
            ("kernel-core", Some("5.14.0-427.16.1.el9_4 (security)")),
            ("nginx-core", Some("2:1.22.1-8.module+el9.4.0+21013+60a8c7b1 (security)")),
            ("openssl", Some("1:3.0.7-28.el9_4 (security)")),
            ("openssl-libs", Some("1:3.0.7-28.el9_4 (security)")),
            ("php-cli", Some("8.1.27-2.module+el9.4.0+21050+c0ab7f2e (bugfix)")),
            ("vim-minimal", Some("2:8.2.2637-21.el9 (bugfix)")),
        ],
        "listed in both of its lists, a security update is one security update"
    );
    assert_eq!(h.summary.view_disagreements, 7);
    let by_p1 = inventory(&app, "rocky9.example.org").await;

    assert!(app.store.delete_host("rocky9.example.org").await.unwrap());
    let p2 = recorded(&app, "/api/report/", "rocky9-protocol2.json").await;
    assert_eq!(p2.status, StatusCode::ACCEPTED, "{}", p2.body);
    assert_eq!(inventory(&app, "rocky9.example.org").await, by_p1, "protocol 2 stores what protocol 1 does");
    assert_eq!(app.store.host("rocky9.example.org").await.unwrap().unwrap().repos.len(), 5);
}

async fn protocol_2_refusals_name_each_field_and_store_nothing(app: App) {
    with_key(&app).await;
    let good: serde_json::Value = serde_json::from_slice(&fixture("rocky9-protocol2.json")).unwrap();
    let json = |v: &serde_json::Value| v.to_string().into_bytes();
    let mut bad = good.clone();
    bad["os"] = "Rocky".into();
    bad["packages"][2]["epoch"] = "x".into();
    bad["sec_updates"][1]["version"] = "".into();
    let answer = post(&app, "/api/report/", "application/json", json(&bad)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let errors: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(errors["status"], "error");
    assert_eq!(
        errors["errors"],
        serde_json::json!({
            "os": ["\"Rocky\" names no version (expected e.g. \"Debian 12.7\")"],
            "packages[2].epoch": ["\"x\" is not a number"],
            "sec_updates[1].version": ["must not be empty"],
        })
    );
    let cases: Vec<(Answer, StatusCode, &str)> = vec![
        (
            post(&app, "/api/report/", "application/json", b"{\"hostname\": ".to_vec()).await,
            StatusCode::BAD_REQUEST,
            "\"body\":[\"is not JSON",
        ),
        (
            post(&app, "/api/report/", "multipart/form-data; boundary=x", b"--x--".to_vec()).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "protocol 2 sends application/json",
        ),
        (
            send(
                &app,
                Request::post("/api/report/")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json(&good)))
                    .unwrap(),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "\"detail\":\"an upload needs credentials",
        ),
        (
            post(&app, "/api/report/", "application/json", vec![b' '; 33 * 1024 * 1024]).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "cannot be read whole",
        ),
    ];
    for (answer, status, says) in cases {
        assert_eq!(answer.status, status, "{says}: {}", answer.body);
        assert!(answer.body.contains(says), "{says}: {}", answer.body);
        assert!(answer.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    }
    assert!(app.store.host("rocky9.example.org").await.unwrap().is_none(), "no refused upload created the host");
    assert!(app.store.hosts().await.unwrap().is_empty());
}
