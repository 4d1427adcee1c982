//! `patchman copy-db`: SQLite → PostgreSQL → SQLite gives back every row (inventories,
//! repository contents, errata, modules, computed updates), and the copy is a working
//! database. `patchman migrate` applies each migration once.

use std::path::Path;
use std::process::Command;

use patchman_server::contents::{ErratumRecord, ModuleRecord, RepoContents};
use patchman_server::ingest::prepare;
use patchman_server::report::{ChangeAction, ModuleStream, PackageChange, Transaction};
use patchman_server::store::{self, Credential, IngestOutcome};
use patchman_server::updates::Updater;
use patchman_testkit::run;

use crate::store_suite::{base_packages, enroll, ingest, pkg, report};
use crate::support::fingerprint_url;

fn patchman(args: &[&str]) -> std::process::Output {
    Command::new(Path::new(env!("CARGO_BIN_EXE_patchman"))).args(args).env("PATCHMAN_LOG", "warn").output().unwrap()
}

fn host_json(url: &str, host: &str) -> serde_json::Value {
    let out = run(Command::new(env!("CARGO_BIN_EXE_patchman"))
        .args(["host", "show", host, "--json"])
        .env("PATCHMAN_DATABASE_URL", url));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_db_round_trip_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let a = format!("sqlite://{}", dir.path().join("a.db").display());
    let b = format!("sqlite://{}", dir.path().join("b.db").display());
    let pg = patchman_testkit::pg::fresh_database("copydb");
    {
        let store = store::connect(&a).await.unwrap();
        for i in 0..30 {
            let host = format!("h{i:02}.example.org");
            let token = enroll(&*store, &host).await;
            let mut packages = base_packages();
            packages.push(pkg(&format!("extra-{}", i % 7), "1.0", &format!("{i}")));
            let mut r = report(&host, "r1", 100, packages);
            r.modules = vec![ModuleStream { name: "nginx".into(), stream: "1.22".into(), profiles: vec![] }];
            r.tags = vec![format!("rack{}", i % 3)];
            r.transactions = vec![Transaction {
                transaction_id: format!("t{i}"),
                finished_at_ms: 50,
                tool: "apt".into(),
                changes: vec![PackageChange {
                    action: ChangeAction::Installed,
                    name: "bash".into(),
                    arch: "amd64".into(),
                    old_version: String::new(),
                    new_version: "5.2.15-2+b8".into(),
                }],
            }];
            ingest(&*store, &token, r).await;
        }
        store.register_job("prune-reports", 60_000, 5).await.unwrap();
        // A refreshed repository (packages, an erratum, a module stream) and computed updates.
        let repo = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm-security").unwrap();
        let newer = pkg("openssl", "3.0.16", "1~deb12u1").package;
        let contents = RepoContents {
            packages: vec![newer.clone(), pkg("bash", "5.2.15", "2+b8").package],
            errata: vec![ErratumRecord {
                name: "DSA-5000-1".into(),
                kind: "security".into(),
                severity: "high".into(),
                issued_ms: Some(1_700_000_000_000),
                title: "openssl security update".into(),
                cves: vec!["CVE-2024-5535".into()],
                packages: vec![newer.clone()],
            }],
            modules: vec![ModuleRecord {
                name: "tools".into(),
                stream: "1".into(),
                version: "1".into(),
                context: "c".into(),
                arch: "amd64".into(),
                artifacts: vec![newer],
            }],
            module_defaults: vec![("tools".into(), "1".into())],
        };
        assert!(store.replace_repo_contents(repo.id, &contents, 60).await.unwrap());
        // The main suite offers zlib1g only: the extra packages are found in no repository.
        let main = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm").unwrap();
        let zlib = RepoContents { packages: vec![pkg("zlib1g", "1.2.13.dfsg", "1").package], ..Default::default() };
        assert!(store.replace_repo_contents(main.id, &zlib, 60).await.unwrap());
        assert_eq!(Updater::new(store.clone()).recompute_stale().await.unwrap().hosts, 30);
    }

    let out = patchman(&["copy-db", "--from", &a, "--to", &pg]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.lines().any(|l| l.starts_with("hosts") && l.trim_end().ends_with("30 rows")), "{printed}");
    let out = patchman(&["copy-db", "--from", &pg, "--to", &b]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (fa, fb) = (fingerprint_url(&a).await, fingerprint_url(&b).await);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (table, rows) in &fa {
        assert_eq!(rows, &fb[table], "table {table} differs after SQLite → PostgreSQL → SQLite");
    }
    for table in [
        "host_packages",
        "transaction_changes",
        "repo_packages",
        "erratum_cves",
        "repo_errata",
        "module_packages",
        "host_updates",
        "host_unknown_packages",
    ] {
        assert!(!fa[table].is_empty(), "nothing in {table} to copy");
    }
    for host in ["h00.example.org", "h13.example.org", "h29.example.org"] {
        let (ja, jp) = (host_json(&a, host), host_json(&pg, host));
        assert_eq!(ja, jp, "{host} reads differently on PostgreSQL");
        assert_eq!(ja["packages"].as_array().unwrap().len(), 4);
        assert_eq!(ja["updates"][0]["available"], "3.0.16-1~deb12u1", "{ja:#}");
        assert_eq!(ja["updates"][0]["security"], true);
    }

    // The copy is a working database: new hosts get fresh ids, existing ones keep reporting.
    let store = store::connect(&pg).await.unwrap();
    let token = enroll(&*store, "new.example.org").await;
    let outcome = ingest(&*store, &token, report("new.example.org", "r1", 100, base_packages())).await;
    assert_eq!(outcome, IngestOutcome::Stored { package_count: 3, added: 3, removed: 0 });
    let old = patchman_server::auth::TokenHash::of("token-of-h05.example.org");
    let again = store
        .ingest(&Credential::Host(old), prepare(report("h05.example.org", "r2", 200, base_packages())), 9)
        .await
        .unwrap();
    assert!(matches!(again, Ok(IngestOutcome::Stored { .. })), "{again:?}");

    // A database that already holds hosts is not overwritten.
    let out = patchman(&["copy-db", "--from", &a, "--to", &pg]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `patchman migrate` brings an empty database to the current schema, once: a second run
/// applies nothing, and the server's commands work on the result. On both backends.
#[tokio::test]
async fn migrate_applies_every_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let pg = patchman_testkit::pg::fresh_database("migrate");
    for (url, dialect) in [(&sqlite, "sqlite"), (&pg, "postgres")] {
        let files = std::fs::read_dir(patchman_testkit::workspace_root().join("migrations").join(dialect))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".sql"))
            .count();
        for _ in 0..2 {
            migrate(url);
            let applied: i64 = if dialect == "sqlite" {
                let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await.unwrap();
                sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            } else {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
                sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            };
            assert_eq!(applied as usize, files, "{dialect}");
        }
        let out = run(Command::new(env!("CARGO_BIN_EXE_patchman"))
            .args(["host", "list", "--json"])
            .env("PATCHMAN_DATABASE_URL", url));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    }
}

/// A column copy-db does not know (a migration added it, copy-db was not taught) stops the
/// copy before a row is written, naming the table and column, whichever side has it.
#[tokio::test]
async fn copy_db_refuses_a_column_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("src.db").display());
    let pg = patchman_testkit::pg::fresh_database("copy_unknown_column");
    for url in [&sqlite, &pg] {
        run(Command::new(env!("CARGO_BIN_EXE_patchman")).arg("migrate").env("PATCHMAN_DATABASE_URL", url));
    }
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&sqlite).await.unwrap();
    sqlx::query("ALTER TABLE hosts ADD COLUMN location TEXT").execute(&mut conn).await.unwrap();
    let out = patchman(&["copy-db", "--from", &sqlite, "--to", &pg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("column location of table hosts"), "{out:?}");

    // And a PostgreSQL source with a column of its own.
    let pg_src = patchman_testkit::pg::fresh_database("copy_unknown_column_src");
    run(Command::new(env!("CARGO_BIN_EXE_patchman")).arg("migrate").env("PATCHMAN_DATABASE_URL", &pg_src));
    let mut pg_conn = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_src).await.unwrap();
    sqlx::query("ALTER TABLE repos ADD COLUMN owner_team TEXT").execute(&mut pg_conn).await.unwrap();
    let fresh = format!("sqlite://{}", dir.path().join("dst.db").display());
    let out = patchman(&["copy-db", "--from", &pg_src, "--to", &fresh]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("column owner_team of table repos"), "{out:?}");
}

/// Upgrading a database whose hosts already have packages flags those packages `installed`
/// (a repository's set difference probes only flagged rows), and not the rows only a
/// repository has; on SQLite it also packs each host's package ids in one row. The links and
/// update rows that lose their key checks are all kept. On both backends.
#[tokio::test]
async fn migrate_flags_and_packs_the_packages_hosts_already_have_and_drops_marks_of_packages_gone() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("old.db").display());
    let pg = patchman_testkit::pg::fresh_database("migrate_installed");
    for (url, dialect, before) in [(&sqlite, "sqlite", 11), (&pg, "postgres", 13)] {
        // The schema as it was before the flag: the migrations older than it.
        let old = dir.path().join(dialect);
        std::fs::create_dir_all(&old).unwrap();
        for entry in std::fs::read_dir(patchman_testkit::workspace_root().join("migrations").join(dialect)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name[..4].parse::<i64>().unwrap() < before {
                std::fs::copy(&path, old.join(&name)).unwrap();
            }
        }
        let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
        let rows = "INSERT INTO hosts (id, hostname, enrolled_at) VALUES (7, 'a', 1), (8, 'b', 1); \
                    INSERT INTO packages (id, kind, name, epoch, version, release, arch) VALUES \
                    (1, 1, 'vim', 0, '9', '1', 'amd64'), (2, 1, 'vim', 0, '10', '1', 'amd64'), \
                    (-3, 1, 'curl', 0, '8', '1', 'amd64'); \
                    INSERT INTO host_packages (host_id, package_id) VALUES (7, 1), (8, -3), (8, 1); \
                    INSERT INTO host_stale_packages (host_id, package_id) VALUES (7, 1), (7, 2), (8, -3); \
                    INSERT INTO host_updates (host_id, installed_id, candidate_id, repo_id, security, kind, reason) \
                    VALUES (7, 1, 2, 4, true, 0, 'newer')";
        // Links and update rows lose their key checks (SQLite rebuilds both tables): no row is lost.
        let links = "SELECT host_id, package_id FROM host_packages ORDER BY host_id, package_id";
        let updates = "SELECT host_id, installed_id, candidate_id, repo_id FROM host_updates";
        // Host 7 has no vim 10 (any more): its mark goes; the marks of installed packages stay.
        let marks = "SELECT host_id, package_id FROM host_stale_packages ORDER BY host_id, package_id";
        // What both dialects must hold after migrating: marks, links, update rows, flags.
        macro_rules! after {
            ($conn:ident) => {{
                let marks: Vec<(i64, i64)> = sqlx::query_as(marks).fetch_all(&mut $conn).await.unwrap();
                let links: Vec<(i64, i64)> = sqlx::query_as(links).fetch_all(&mut $conn).await.unwrap();
                let updates: Vec<(i64, i64, i64, i64)> = sqlx::query_as(updates).fetch_all(&mut $conn).await.unwrap();
                let flagged: Vec<i64> = sqlx::query_scalar("SELECT id FROM packages WHERE installed ORDER BY id")
                    .fetch_all(&mut $conn)
                    .await
                    .unwrap();
                (marks, links, updates, flagged)
            }};
        }
        let (kept, links, updates, flagged) = if dialect == "sqlite" {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options.create_if_missing(true))
                .await
                .unwrap();
            migrator.run(&mut conn).await.unwrap();
            sqlx::raw_sql(rows).execute(&mut conn).await.unwrap();
            migrate(url);
            let sets: Vec<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT host_id, ids FROM host_package_sets ORDER BY host_id")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let sets: Vec<(i64, Vec<i64>)> = sets
                .into_iter()
                .map(|(host, ids)| {
                    let mut ids: Vec<i64> =
                        ids.chunks_exact(8).map(|b| i64::from_be_bytes(b.try_into().unwrap())).collect();
                    ids.sort();
                    (host, ids)
                })
                .collect();
            assert_eq!(sets, [(7, vec![1]), (8, vec![-3, 1])]);
            after!(conn)
        } else {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
            migrator.run(&mut conn).await.unwrap();
            sqlx::raw_sql(rows).execute(&mut conn).await.unwrap();
            migrate(url);
            after!(conn)
        };
        assert_eq!(kept, [(7, 1), (8, -3)], "{dialect}");
        assert_eq!(links, [(7, 1), (8, -3), (8, 1)], "{dialect}");
        assert_eq!(updates, [(7, 1, 2, 4)], "{dialect}");
        assert_eq!(flagged, [-3, 1], "{dialect}");
    }
}

fn migrate(url: &str) {
    let out = run(Command::new(env!("CARGO_BIN_EXE_patchman")).arg("migrate").env("PATCHMAN_DATABASE_URL", url));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("migrations applied to"), "{out:?}");
}
