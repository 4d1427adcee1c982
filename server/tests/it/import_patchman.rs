//! `patchman import-patchman` on a real Patchman 4.0.21 database (made by the real Patchman
//! from PyPI: `tests/fixtures/patchman4/make-fixture`), into both backends: the organisation
//! matches Patchman's, a host's next report lands in it, a second run changes nothing, and the
//! source is never written.

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use patchman_server::auth::{ApiRole, TokenHash};
use patchman_server::compat::import::organisation;
use patchman_server::store::NewApiKey;
use patchman_server::store::patchman_source::read_patchman;

use crate::web_support::*;

on_both_backends!(the_organisation_comes_over_once_and_the_next_report_lands_in_it);

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patchman4/patchman4.sqlite3")
}

/// A copy of the fixture (Patchman's SQLite file), its URL, and its digest.
fn source(dir: &Path) -> (String, Vec<u8>) {
    let copy = dir.join("patchman.sqlite3");
    std::fs::copy(fixture(), &copy).unwrap();
    (format!("sqlite://{}", copy.display()), std::fs::read(&copy).unwrap())
}

/// What the organisation looks like here, without times and ids.
async fn organisation_here(app: &App) -> serde_json::Value {
    let groups = app.store.os_groups().await.unwrap();
    let groups: Vec<_> = groups
        .iter()
        .map(|g| {
            let mut repos: Vec<&str> = g.repos.iter().map(|r| r.name.as_str()).collect();
            repos.sort_unstable();
            serde_json::json!([g.name, g.variants, repos])
        })
        .collect();
    let repos: Vec<_> = app
        .store
        .repos()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let mirrors: Vec<_> = r.mirrors.iter().map(|m| serde_json::json!([m.url, m.enabled])).collect();
            serde_json::json!([r.name, r.kind, r.repo_key, r.arch, r.security, r.enabled, r.auth_required, mirrors])
        })
        .collect();
    let mut hosts = Vec::new();
    for h in app.store.hosts().await.unwrap() {
        let d = app.store.host(&h.hostname).await.unwrap().unwrap();
        let repos: Vec<_> = d.repos.iter().map(|r| serde_json::json!([r.name, r.priority, r.enabled])).collect();
        hosts.push(serde_json::json!([
            h.hostname,
            h.os_group,
            h.os_variant,
            h.tags,
            d.use_host_repos,
            h.kernel,
            repos
        ]));
    }
    serde_json::json!({ "groups": groups, "repos": repos, "hosts": hosts })
}

async fn the_organisation_comes_over_once_and_the_next_report_lands_in_it(app: App) {
    let (url, before) = source(app.dir.path());
    let data = read_patchman(&url).await.unwrap();
    let (org, skipped) = organisation(&data);
    assert!(skipped.lines.is_empty(), "{skipped:?}");
    let first = app.store.import_organisation(&org, 1_000).await.unwrap();
    assert_eq!(first.brought_count(), first.lines.len(), "everything is new: {first:?}");
    let here = organisation_here(&app).await;

    let deb = |suite: &str| format!("127.0.0.1:8766/debian {suite}/main amd64");
    let security = "127.0.0.1:8766/debian-security bookworm-security/main amd64".to_owned();
    assert_eq!(
        here["groups"],
        serde_json::json!([
            ["Debian 12", ["Debian 12.5", "Debian 12.7"], [deb("bookworm-updates"), deb("bookworm"), security]],
            [
                "Rocky Linux 9",
                ["Rocky Linux 9.3", "Rocky Linux 9.4"],
                ["Rocky Linux 9 - AppStream", "Rocky Linux 9 - BaseOS"]
            ],
            ["Ubuntu 22.04", ["Ubuntu 22.04.4"], []],
        ]),
        "Patchman's releases are named as ingest names them, so the hosts' reports land in them"
    );
    let repo = |name: &str| here["repos"].as_array().unwrap().iter().find(|r| r[0] == name).cloned().unwrap();
    assert_eq!(here["repos"].as_array().unwrap().len(), 12);
    assert_eq!(repo(&deb("bookworm-backports"))[5], false, "disabled in Patchman, disabled here");
    assert_eq!(
        repo(&deb("bookworm-backports"))[7],
        serde_json::json!([["http://127.0.0.1:8766/debian/dists/bookworm-backports/main/binary-amd64", false]])
    );
    assert_eq!(repo("127.0.0.1:8766/debian-security bookworm-security/main amd64")[4], true);
    assert_eq!(repo("security.example.org/ubuntu jammy-security/main amd64")[4], true);
    let base = repo("Rocky Linux 9 - BaseOS");
    assert_eq!(
        (base[1].as_str(), base[2].as_str(), base[3].as_str()),
        (Some("rpm"), Some("baseos"), Some("x86_64")),
        "{base}"
    );
    assert_eq!(base[7].as_array().unwrap().len(), 2, "its mirrorlist and its baseurl");
    let epel = repo("Extra Packages for Enterprise Linux 9 - x86_64");
    assert_eq!(epel[2], "epel");
    assert_eq!(epel[7][1], serde_json::json!(["http://127.0.0.1:8766/epel/9/Everything/x86_64", false]));
    assert_eq!(repo("Internal Tools")[6], true, "needs credentials, as in Patchman");

    let host = |name: &str| here["hosts"].as_array().unwrap().iter().find(|h| h[0] == name).cloned().unwrap();
    let web1 = host("deb12-web1.dc1.example.org");
    assert_eq!((web1[1].as_str(), web1[2].as_str()), (Some("Debian 12"), Some("Debian 12.5")));
    assert_eq!(web1[3], serde_json::json!(["prod", "web"]));
    assert_eq!(web1[4], true, "host_repos_only");
    assert_eq!(host("deb12-db1.dc1.example.org")[4], false);
    let build = host("rocky9-build1.example.org");
    assert_eq!(build[4], false);
    assert_eq!(
        build[6],
        serde_json::json!([
            ["Extra Packages for Enterprise Linux 9 - x86_64", 99, false],
            ["Internal Tools", 10, true],
            ["Rocky Linux 9 - AppStream", 99, true],
            ["Rocky Linux 9 - BaseOS", 99, true],
        ]),
        "yum priorities as yum has them (Patchman negates them); a link disabled in Patchman stays disabled"
    );
    assert_eq!(host("ubu2204-app1.dc2.example.org")[2], "Ubuntu 22.04.4");
    for h in app.store.hosts().await.unwrap() {
        assert!(!h.updates_known, "{} has not reported here: its updates are unknown", h.hostname);
    }

    // Again: nothing changes, everything is said to be here already.
    let second =
        app.store.import_organisation(&organisation(&read_patchman(&url).await.unwrap()).0, 2_000).await.unwrap();
    assert_eq!(second.brought_count(), 0, "{second:?}");
    assert_eq!(organisation_here(&app).await, here);
    assert_eq!(std::fs::read(url.strip_prefix("sqlite://").unwrap()).unwrap(), before, "the source is never written");

    // The host's next report, from its patchman-client with the site's API key, lands in the
    // imported organisation: no new repository, group or variant.
    let key = "pmk_import-test";
    assert!(
        app.store
            .add_api_key(&NewApiKey {
                name: "site",
                role: ApiRole::Upload,
                key_hash: &TokenHash::of(key),
                now: 1,
                expires_at: None
            })
            .await
            .unwrap()
    );
    let fields: Vec<(&str, String)> = vec![
        ("host", "deb12-web1.dc1.example.org".into()),
        ("tags", "web,prod".into()),
        ("kernel", "6.1.0-18-amd64".into()),
        ("arch", "x86_64".into()),
        ("protocol", "1".into()),
        ("os", "Debian 12.5".into()),
        ("report", "false".into()),
        ("packages", "'bash' '' '5.2.15' '2' 'amd64' 'deb'\n".into()),
        (
            "repos",
            ["bookworm", "bookworm-updates"]
                .iter()
                .map(|s| format!("'deb' 'Debian 12 x86_64 repo at x' '500' 'http://127.0.0.1:8766/debian/dists/{s}/main/binary-amd64'\n"))
                .collect::<String>()
                + "'deb' 'x' '500' 'http://127.0.0.1:8766/debian-security/dists/bookworm-security/main/binary-amd64'\n",
        ),
        ("reboot", "ServerCheck".into()),
    ];
    let req = Request::post("/reports/upload/")
        .header(header::CONTENT_TYPE, patchman_testkit::multipart::content_type())
        .header(header::AUTHORIZATION, format!("Api-Key {key}"))
        .body(Body::from(patchman_testkit::multipart::body(&fields)))
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::NO_CONTENT);
    let after = organisation_here(&app).await;
    assert_eq!((after["groups"].clone(), after["repos"].clone()), (here["groups"].clone(), here["repos"].clone()));
    assert_eq!(host_of(&after, "deb12-web1.dc1.example.org"), host_of(&here, "deb12-web1.dc1.example.org"));
    assert_eq!(app.store.host("deb12-web1.dc1.example.org").await.unwrap().unwrap().packages.len(), 1);
}

fn host_of(org: &serde_json::Value, name: &str) -> serde_json::Value {
    org["hosts"].as_array().unwrap().iter().find(|h| h[0] == name).cloned().unwrap()
}

/// The command itself: what it prints, and that it runs again without bringing anything.
#[test]
fn the_command_says_what_it_brought_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (url, before) = source(dir.path());
    let target = format!("sqlite://{}", dir.path().join("here.db").display());
    // Only serve, migrate and copy-db create a database.
    let refused = Command::new(env!("CARGO_BIN_EXE_patchman"))
        .args(["import-patchman", "--from", &url])
        .env("PATCHMAN_DATABASE_URL", &target)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("here.db"), "{refused:?}");
    assert!(!dir.path().join("here.db").exists());
    let migrated =
        Command::new(env!("CARGO_BIN_EXE_patchman")).arg("migrate").env("PATCHMAN_DATABASE_URL", &target).output();
    assert!(migrated.unwrap().status.success());
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_patchman"))
            .args(["import-patchman", "--from", &url])
            .env("PATCHMAN_DATABASE_URL", &target)
            .env("PATCHMAN_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.contains("brought  host                 rocky9-build1.example.org\n"), "{first}");
    assert!(first.contains("brought  OS group repository  Rocky Linux 9 → Rocky Linux 9 - BaseOS\n"), "{first}");
    assert!(first.ends_with("44 brought, 0 skipped\n"), "{first}");
    let second = run();
    assert!(second.contains("skipped  host                 rocky9-build1.example.org: already here"), "{second}");
    assert!(second.ends_with("0 brought, 44 skipped\n"), "{second}");
    let json = Command::new(env!("CARGO_BIN_EXE_patchman"))
        .args(["import-patchman", "--json", "--from", &url])
        .env("PATCHMAN_DATABASE_URL", &target)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).expect("JSON lines");
    assert_eq!(lines.len(), 44);
    assert!(lines.iter().all(|l| l["brought"] == false && l["skipped"].is_string()), "{lines:?}");
    assert_eq!(std::fs::read(url.strip_prefix("sqlite://").unwrap()).unwrap(), before);
    let missing = Command::new(env!("CARGO_BIN_EXE_patchman"))
        .args(["import-patchman", "--from", "mysql://patchman@db/patchman"])
        .env("PATCHMAN_DATABASE_URL", &target)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not MySQL"), "{missing:?}");
    let not_patchman = Command::new(env!("CARGO_BIN_EXE_patchman"))
        .args(["import-patchman", "--from", &target])
        .env("PATCHMAN_DATABASE_URL", &target)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&not_patchman.stderr).contains("not a Patchman 4 database"), "{not_patchman:?}");
}

/// Patchman's own PostgreSQL database of the same organisation (its dump, made by the same
/// script) reads as its SQLite one does, and imports the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_source_reads_as_the_sqlite_one() {
    let url = patchman_testkit::pg::fresh_database("pm4_source");
    let dump = std::fs::read_to_string(fixture().with_file_name("patchman4.postgres.sql")).unwrap();
    // psql before 15.14 does not know pg_dump's \restrict lines; they only guard the restore.
    let script: String = dump
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut psql = Command::new("psql")
        .args([url.as_str(), "-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql (installed by .ci/setup)");
    std::io::Write::write_all(psql.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    drop(psql.stdin.take());
    assert!(psql.wait().unwrap().success(), "the dump restores");

    let dir = tempfile::tempdir().unwrap();
    let (sqlite, _) = source(dir.path());
    let mask = |mut d: patchman_server::store::patchman_source::PatchmanData| {
        assert!(d.hosts.iter().all(|h| h.last_report_ms.is_some_and(|t| t > 1_700_000_000_000)), "{:?}", d.hosts);
        d.hosts.iter_mut().for_each(|h| h.last_report_ms = None);
        d
    };
    let from_pg = mask(read_patchman(&url).await.unwrap());
    assert_eq!(from_pg, mask(read_patchman(&sqlite).await.unwrap()));
    assert_eq!(
        (from_pg.hosts.len(), from_pg.repos.len(), from_pg.mirrors.len(), from_pg.host_repos.len()),
        (5, 12, 14, 17)
    );

    let app = app().await;
    let brought = app.store.import_organisation(&organisation(&read_patchman(&url).await.unwrap()).0, 1).await.unwrap();
    assert_eq!(brought.brought_count(), 44);
    // Read-only: the source refuses writes from the importer's connection settings, and has none.
    let hosts =
        Command::new("psql").args([url.as_str(), "-X", "-tAc", "SELECT count(*) FROM hosts_host"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&hosts.stdout).trim(), "5");
}
