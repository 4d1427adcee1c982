//! The admin CLI against a real server's database: every data command's `--json` parsed back,
//! `host show` in the order an administrator reads it, `host list`'s filters, exit statuses
//! (0 done, 1 failure, 2 usage or not found), a closed pipe, `find-updates` saying what changed,
//! `clean` and its dry run, `report`, `check-config`, completions and man pages, and no
//! database created by a read-only command.

use std::process::{Command, Output};

use patchman_testkit::http::FileServer;
use patchman_testkit::server::Server;
use serde_json::Value;

use crate::repo_support::{AptRepo, HELLO, deb_report};
use crate::support::{client, enroll, package, start_server, submit};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchman"));
    cmd.env("PATCHMAN_LOG", "warn").env_remove("PATCHMAN_DATABASE_URL");
    cmd
}

#[track_caller]
fn json(server: &Server, args: &[&str]) -> Value {
    let out = server.admin_output(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e})"))
}

fn text(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn hostnames(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|h| h["hostname"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_answers_in_text_and_json_with_exit_statuses_scripts_rely_on() {
    let server = start_server(&[]);
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    crate::query_api::fleet(&server, &files).await;
    let refreshed = json(&server, &["refresh-repos", "--json"]);
    assert_eq!((refreshed["repositories"].as_i64(), refreshed["failed"].as_array().map(Vec::len)), (Some(1), Some(0)));

    // find-updates says what changed, and a rerun that nothing did. (refresh-repos computed
    // every host; the verdicts are taken back as an older engine would have left them.)
    assert!(server.admin(&["find-updates"]).starts_with("nothing changed: 5 hosts computed, 4 updates"));
    let pool = sqlx::SqlitePool::connect(&server.database_url).await.unwrap();
    sqlx::query("UPDATE hosts SET updates_digest = NULL WHERE id IN (SELECT host_id FROM host_updates)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM host_updates").execute(&pool).await.unwrap();
    pool.close().await;
    let first = server.admin(&["find-updates"]);
    assert!(first.contains("4 of 5 hosts changed: 4 updates added, 0 removed"), "{first}");
    let again = server.admin(&["find-updates"]);
    assert!(again.starts_with("nothing changed: 5 hosts computed"), "{again}");
    let stats = json(&server, &["find-updates", "--json", "--host", "a.example.org"]);
    assert_eq!((stats["hosts"].as_i64(), stats["hosts_changed"].as_i64()), (Some(1), Some(0)));

    // host list: counts and status, and the web's filters as flags.
    let all = json(&server, &["host", "list", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 5);
    let a = &all[0];
    assert_eq!(
        (a["hostname"].as_str(), a["status"].as_str(), a["bugfix_updates"].as_i64()),
        (Some("a.example.org"), Some("bugfix"), Some(1))
    );
    assert_eq!(
        hostnames(&json(&server, &["host", "list", "--json", "--tag", "web", "--sort=-hostname"])),
        ["c.example.org", "b.example.org", "a.example.org"]
    );
    assert_eq!(json(&server, &["host", "list", "--json", "--has-bugfix"]).as_array().unwrap().len(), 4);
    assert_eq!(json(&server, &["host", "list", "--json", "--has-security"]).as_array().unwrap().len(), 0);
    assert_eq!(
        json(&server, &["host", "list", "--json", "--package", "hello-tiny=1.0-1", "--tag", "db"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        json(&server, &["host", "list", "--json", "--reported-before", "2000-01-01"]).as_array().unwrap().len(),
        0
    );
    assert_eq!(
        json(&server, &["host", "list", "--json", "--os-group", "Debian 12", "--filter", "has_repos=false"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let table = server.admin(&["host", "list", "--status", "bugfix"]);
    assert!(table.lines().next().unwrap().contains("STATUS") && table.contains("bugfix updates only"), "{table}");
    let (code, _, err) = text(&server.admin_output(&["host", "list", "--status", "purple"]));
    assert_eq!(code, Some(2));
    assert!(err.contains("--status") && err.contains("purple"), "{err}");

    // host show: status, reboot, updates, then repositories; packages on request.
    let shown = server.admin(&["host", "show", "a.example.org"]);
    assert!(shown.starts_with("a.example.org: bugfix updates only (0 security, 1 bugfix updates)\nreboot:"), "{shown}");
    let update = shown.lines().find(|l| l.contains("hello-tiny")).expect("the update");
    assert!(update.contains("1.0-1 → 1.1-1") && update.contains("stable/main"), "{update}");
    let at = |s: &str| shown.find(s).unwrap_or_else(|| panic!("{s} in {shown}"));
    assert!(at("reboot:") < at("bugfix updates (1)") && at("bugfix updates (1)") < at("repositories (1"));
    assert!(at("repositories (1") < at("installed packages: 2 (--packages lists them)"));
    let with_packages = server.admin(&["host", "show", "a.example.org", "--packages"]);
    assert!(with_packages.contains("installed packages (2):") && with_packages.contains("  bar "), "{with_packages}");
    let detail = json(&server, &["host", "show", "a.example.org", "--json"]);
    assert_eq!(detail["updates"][0]["available"], "1.1-1");
    let (code, _, err) = text(&server.admin_output(&["host", "show", "nope.example.org"]));
    assert_eq!((code, err.trim()), (Some(2), "patchman: no host named nope.example.org"));

    // report history.
    let reports = json(&server, &["report", "list", "a.example.org", "--json"]);
    assert_eq!(reports.as_array().unwrap().len(), 1);
    let report_id = reports[0]["report_id"].as_str().unwrap().to_owned();
    let one = json(&server, &["report", "show", "a.example.org", "--json"]);
    assert_eq!((one["report_id"].as_str(), one["package_count"].as_i64()), (Some(report_id.as_str()), Some(2)));
    assert!(
        server.admin(&["report", "show", "a.example.org", &report_id]).contains("packages:  2 (2 added, 0 removed)")
    );
    assert_eq!(server.admin_output(&["report", "show", "a.example.org", "no-such-report"]).status.code(), Some(2));

    // The other listings.
    for args in [
        &["repo", "list", "--json"][..],
        &["os-group", "list", "--json"],
        &["jobs", "--json"],
        &["user", "list", "--json"],
        &["token", "list", "--json"],
        &["api-key", "list", "--json"],
        &["audit", "--json"],
    ] {
        assert!(json(&server, args).is_array(), "{args:?}");
    }
    let token = json(&server, &["token", "create", "--name", "ci", "--role", "read", "--expires", "30d", "--json"]);
    assert!(token["token"].as_str().unwrap().starts_with("pmt_") && token["expires_at"].is_string(), "{token}");
    let key = json(&server, &["api-key", "create", "site", "--json"]);
    assert_eq!(key["role"], "upload");
    assert_eq!(server.admin_output(&["repo", "enable", "999"]).status.code(), Some(2), "not found");

    // clean: a host with a package nobody else has goes; its package goes with the clean.
    let mut c = client(&server).await;
    let mut lonely = deb_report("z.example.org", &[], &[]);
    lonely.packages = vec![package("only-on-z", "1", "1")];
    let token = enroll(&mut c, "z.example.org", &lonely.host.as_ref().unwrap().machine_id).await;
    submit(&mut c, Some(&token), lonely.clone()).await.expect("stored");
    server.admin(&["host", "delete", "z.example.org"]);
    let dry = json(&server, &["clean", "--dry-run", "--json"]);
    assert_eq!((dry["dry_run"].as_bool(), dry["deleted"]["packages"].as_i64()), (Some(true), Some(1)), "{dry}");
    let again = json(&server, &["clean", "--dry-run", "--json"]);
    assert_eq!(again["deleted"], dry["deleted"], "a dry run deletes nothing");
    let done = server.admin(&["clean"]);
    assert!(done.starts_with("deleted: 0 reports") && done.contains("1 packages nothing refers to"), "{done}");
    assert_eq!(json(&server, &["clean", "--dry-run", "--json"])["deleted"]["packages"], 0);
    // The server had that package in its cache: z comes back with it, and has it.
    let token = enroll(&mut c, "z.example.org", &lonely.host.as_ref().unwrap().machine_id).await;
    lonely.report_id = "z-2".into();
    submit(&mut c, Some(&token), lonely).await.expect("stored again");
    let z = json(&server, &["host", "show", "z.example.org", "--json"]);
    assert_eq!(z["packages"][0]["name"], "only-on-z", "{z}");

    // copy-db into a new file.
    let dir = tempfile::tempdir().unwrap();
    let to = format!("sqlite://{}", dir.path().join("copy.db").display());
    let copied = json(&server, &["copy-db", "--from", &server.database_url, "--to", &to, "--json"]);
    assert_eq!(copied["hosts"], 6);

    // Two versions of a deb at once: flagged, listed, shown on the CLI and the web page.
    let mut dup = deb_report("dup.example.org", &[], &[]);
    dup.packages = vec![package("bash", "5.2.15", "2"), package("bash", "5.2.15", "2+b8")];
    let token = enroll(&mut c, "dup.example.org", &dup.host.as_ref().unwrap().machine_id).await;
    submit(&mut c, Some(&token), dup).await.expect("stored");
    crate::support::settled(&server, "dup.example.org").await;
    let flagged = json(&server, &["host", "list", "--json", "--filter", "duplicate_packages=true"]);
    assert_eq!(hostnames(&flagged), ["dup.example.org"]);
    let shown = server.admin(&["host", "show", "dup.example.org"]);
    assert!(shown.contains("installed twice (only the newest counts): bash amd64: 5.2.15-2, 5.2.15-2+b8"), "{shown}");
    let page = crate::support::http_get(&server, "/hosts/dup.example.org");
    assert!(page.contains("Installed twice") && page.contains("bash amd64: 5.2.15-2, 5.2.15-2+b8"), "{page}");
}

/// `| head` ends the command quietly: status 0, nothing on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_a_listing_quietly() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let mut big = deb_report("big.example.org", &[], &[]);
    big.packages = (0..5_000).map(|i| package(&format!("package-with-a-long-name-{i:05}"), "1.0", "1")).collect();
    let token = enroll(&mut c, "big.example.org", &big.host.as_ref().unwrap().machine_id).await;
    submit(&mut c, Some(&token), big).await.expect("stored");
    let out = Command::new("bash")
        .args([
            "-c",
            "set -o pipefail; \"$0\" host show big.example.org --packages | head -1",
            env!("CARGO_BIN_EXE_patchman"),
        ])
        .env("PATCHMAN_DATABASE_URL", &server.database_url)
        .env("PATCHMAN_LOG", "warn")
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&out);
    assert_eq!((code, stderr.as_str()), (Some(0), ""), "{stdout}");
    assert!(stdout.starts_with("big.example.org: "), "{stdout}");
}

#[test]
fn a_read_only_command_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["host", "list"]).current_dir(dir.path()).output().unwrap();
    let (code, _, err) = text(&out);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("patchman.db") && err.contains(&dir.path().display().to_string()), "{err}");
    assert!(err.contains("PATCHMAN_DATABASE_URL"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing created");
    // migrate creates it; then the same command answers.
    assert!(bin().arg("migrate").current_dir(dir.path()).output().unwrap().status.success());
    let out = bin().args(["host", "list", "--json"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn configuration_completions_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    // The defaults, as a file that loads back.
    let defaults = bin().arg("print-default-config").output().unwrap();
    let file = dir.path().join("patchman.toml");
    std::fs::write(&file, &defaults.stdout).unwrap();
    let parsed: toml::Table = toml::from_str(&String::from_utf8_lossy(&defaults.stdout)).unwrap();
    assert_eq!(parsed["listen"].as_str(), Some("127.0.0.1:8080"));
    // check-config: the effective values, secrets masked, problems named.
    let out = bin()
        .args(["check-config", "--json", "--config"])
        .arg(&file)
        .env("PATCHMAN_ENROLLMENT_KEY", "an-enrollment-key-of-some-length")
        .env("PATCHMAN_API__METRICS_TOKEN", "tooshort")
        .env("PATCHMAN_DATABASE_URL", "postgres://patchman:hunter22@db.example.org/patchman")
        .env("PATCHMAN_JOBS__LEASE_SECONDS", "90")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an error: {}", String::from_utf8_lossy(&out.stderr));
    let checked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checked["config"]["jobs"]["lease_seconds"], 90);
    assert_eq!(checked["config"]["enrollment_key"], "<redacted>");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("hunter22") && !stdout.contains("tooshort") && !stdout.contains("some-length"),
        "{stdout}"
    );
    assert!(checked["problems"].as_array().unwrap().iter().any(|p| p["key"] == "api.metrics_token"), "{checked}");
    let fine = bin().arg("check-config").env("PATCHMAN_DATABASE_URL", "sqlite::memory:").output().unwrap();
    let (code, out, err) = text(&fine);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("[jobs]") && err.contains("fine"), "{out}{err}");
    let broken = bin().arg("check-config").env("PATCHMAN_JOBS__LEASE_SECONDS", "soon").output().unwrap();
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("PATCHMAN_JOBS__LEASE_SECONDS"), "{broken:?}");

    for (shell, mark) in [("bash", "_patchman"), ("zsh", "#compdef patchman"), ("fish", "complete -c patchman")] {
        let out = bin().args(["completions", shell]).output().unwrap();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && script.contains(mark) && script.contains("find-updates"), "{shell}");
    }
    let man = dir.path().join("man");
    assert!(bin().arg("manpages").arg(&man).output().unwrap().status.success());
    let page = std::fs::read_to_string(man.join("patchman-host.1")).unwrap();
    assert!(page.contains(".TH patchman-host") && page.contains("list"), "{page}");
    assert!(man.join("patchman.1").exists() && man.join("patchman-clean.1").exists());
    assert_eq!(bin().arg("no-such-command").output().unwrap().status.code(), Some(2), "usage");
}
