//! Advisories end to end: this machine's installed packages against real Debian advisories
//! (every exposure confirmed by `dpkg --compare-versions`, none missed), and feeds that fail
//! (bad JSON, a truncated zip, an endless response, a feed that vanishes) leaving the previous
//! advisories in place and shown as failing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use patchman_testkit::http::{FileServer, Mode};
use patchman_testkit::{run, write};

use crate::support::start_server;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/advisories")
}

/// Reports this machine's dpkg status and OS as `this.example.org` (no repositories), from
/// a copy under `tmp/root` made on the first call (later calls report the copy as it is now).
fn report_this_machine(server: &patchman_testkit::server::Server, tmp: &Path) {
    let root = tmp.join("root");
    for f in ["/var/lib/dpkg/status", "/etc/os-release", "/etc/debian_version"] {
        let dest = root.join(f.trim_start_matches('/'));
        if !dest.exists() {
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(f, dest).unwrap();
        }
    }
    let out = run(Command::new(crate::e2e::client_bin())
        .args(["--server", &server.url(), "--root", root.to_str().unwrap()])
        .args(["--state-dir", tmp.join("state").to_str().unwrap()])
        .args(["--enroll", patchman_testkit::server::ENROLLMENT_KEY, "--hostname", "this.example.org"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stored"), "{out:?}");
}

/// (source package, fixed version or None for no fix yet, advisory) for Debian 12, read from
/// the fixtures with plain JSON (not the server's parsers).
fn bookworm_entries() -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(fixtures().join("osv")).unwrap() {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap();
        for a in v["affected"].as_array().unwrap() {
            if a["package"]["ecosystem"] != "Debian:12" {
                continue;
            }
            let events: Vec<&serde_json::Value> = a["ranges"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["type"] == "ECOSYSTEM")
                .flat_map(|r| r["events"].as_array().unwrap())
                .collect();
            assert!(events.iter().any(|e| e["introduced"] == "0"), "{v}");
            let fixed = events.iter().filter_map(|e| e["fixed"].as_str()).next_back().map(str::to_owned);
            let name = a["package"]["name"].as_str().unwrap().to_owned();
            out.push((name, fixed, v["id"].as_str().unwrap().to_owned()));
        }
    }
    let tracker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("debian-tracker.json")).unwrap()).unwrap();
    for (source, cves) in tracker.as_object().unwrap() {
        for (cve, entry) in cves.as_object().unwrap() {
            let Some(r) = entry["releases"].get("bookworm") else { continue };
            if !cve.starts_with("CVE-") {
                continue;
            }
            let fixed = match (r["status"].as_str().unwrap(), r["fixed_version"].as_str()) {
                ("resolved", Some("0")) => continue,
                ("resolved", Some(v)) => Some(v.to_owned()),
                ("resolved", None) => continue,
                _ => None,
            };
            out.push((source.clone(), fixed, cve.clone()));
        }
    }
    out
}

/// What dpkg says: (advisory, binary package) for every installed package whose source an
/// entry names and whose source version `dpkg --compare-versions` finds below the fix.
fn expected_by_dpkg() -> BTreeSet<(String, String)> {
    let out = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Abbrev}\t${Package}\t${source:Package}\t${source:Version}\n",
    ]));
    let installed: Vec<(String, String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ii"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].to_owned(), f[2].to_owned(), f[3].to_owned())
        })
        .collect();
    let mut expected = BTreeSet::new();
    for (source, fixed, advisory) in bookworm_entries() {
        for (binary, _, version) in installed.iter().filter(|(_, s, _)| *s == source) {
            let exposed = match &fixed {
                None => true,
                Some(f) => {
                    Command::new("dpkg").args(["--compare-versions", version, "lt", f]).status().unwrap().success()
                }
            };
            if exposed {
                expected.insert((advisory.clone(), binary.clone()));
            }
        }
    }
    expected
}

fn config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("server.toml");
    write(&path, body);
    path
}

/// A configuration file reading these fixture feeds: (name, kind, file under the fixtures).
fn fixture_feeds(dir: &Path, feeds: &[(&str, &str, &str)]) -> PathBuf {
    let mut body = "[advisories]\nrefresh_interval_seconds = 0\n".to_owned();
    for (name, kind, file) in feeds {
        body += &format!(
            "[[advisories.feed]]\nname = \"{name}\"\nkind = \"{kind}\"\npath = \"{}\"\n",
            fixtures().join(file).display()
        );
    }
    config(dir, &body)
}

#[test]
fn exposures_on_this_machine_are_exactly_what_dpkg_compare_versions_says() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = fixture_feeds(
        tmp.path(),
        &[
            ("debian-osv", "osv", "osv"),
            ("debian-tracker", "debian-tracker", "debian-tracker.json"),
            ("kev", "kev", "kev.json"),
        ],
    );
    let server = start_server(&[("PATCHMAN_CONFIG", cfg.to_str().unwrap())]);
    report_this_machine(&server, tmp.path());

    let refreshed: serde_json::Value = serde_json::from_str(&server.admin(&["advisory", "refresh", "--json"])).unwrap();
    let statuses: Vec<&str> =
        refreshed["feeds"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["updated", "updated", "updated"], "{refreshed}");
    let computed =
        refreshed["feeds"].as_array().unwrap().iter().map(|f| f["hosts_computed"].as_u64().unwrap()).sum::<u64>()
            + refreshed["exposures"]["saved"].as_u64().unwrap();
    assert!(computed >= 1, "the host's exposures were computed: {refreshed}");

    let ours: Vec<serde_json::Value> =
        serde_json::from_str(&server.admin(&["advisory", "list", "--host", "this.example.org", "--json"])).unwrap();
    let got: BTreeSet<(String, String)> = ours
        .iter()
        .map(|e| (e["advisory"].as_str().unwrap().to_owned(), e["package"].as_str().unwrap().to_owned()))
        .collect();
    let expected = expected_by_dpkg();
    assert!(expected.len() >= 5, "the fixtures should expose this machine: {expected:?}");
    assert_eq!(got, expected, "the server's exposures differ from dpkg --compare-versions");
    // Both kinds are there: fixed in a version, and no fix yet.
    assert!(ours.iter().any(|e| e["fixed"] == ""), "{ours:?}");
    assert!(ours.iter().any(|e| e["fixed"] != ""), "{ours:?}");
    // An advisory whose fix is the installed version exposes nothing (DSA-6140-1, gnutls28).
    assert!(!got.iter().any(|(a, _)| a == "DSA-6140-1"));

    // The CVE view agrees, and the feeds are listed as read.
    let (advisory, _) = got.iter().find(|(a, _)| a.starts_with("DSA-")).unwrap().clone();
    let shown: serde_json::Value =
        serde_json::from_str(&server.admin(&["advisory", "show", &advisory, "--json"])).unwrap();
    let cve = shown["advisory"]["cves"][0].as_str().unwrap().to_owned();
    let cve_view: serde_json::Value = serde_json::from_str(&server.admin(&["cve", "show", &cve, "--json"])).unwrap();
    assert!(cve_view["exposed"].as_array().unwrap().iter().all(|e| e["hostname"] == "this.example.org"));
    assert!(!cve_view["exposed"].as_array().unwrap().is_empty(), "{cve_view}");
    let feeds: serde_json::Value = serde_json::from_str(&server.admin(&["advisory", "feeds", "--json"])).unwrap();
    assert!(
        feeds.as_array().unwrap().iter().all(|f| f["fail_count"] == 0 && f["record_count"].as_i64().unwrap() > 0),
        "{feeds}"
    );

    // Reading the same files again changes nothing.
    let again: serde_json::Value = serde_json::from_str(&server.admin(&["advisory", "refresh", "--json"])).unwrap();
    let statuses: Vec<&str> =
        again["feeds"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["unchanged", "unchanged", "unchanged"], "{again}");
}

fn zip_of(dir: &Path, out: &Path) {
    run(Command::new("python3").args([
        "-c",
        "import sys, zipfile, os\n\
         with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   for n in sorted(os.listdir(sys.argv[1])):\n\
         \x20       z.write(os.path.join(sys.argv[1], n), n)\n",
        dir.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
}

fn feed_state(server: &patchman_testkit::server::Server) -> (i64, String, i64) {
    let feeds: serde_json::Value = serde_json::from_str(&server.admin(&["advisory", "feeds", "--json"])).unwrap();
    let f = &feeds[0];
    (
        f["fail_count"].as_i64().unwrap(),
        f["last_error"].as_str().unwrap().to_owned(),
        f["record_count"].as_i64().unwrap(),
    )
}

#[test]
fn failing_feeds_leave_the_previous_advisories_and_are_shown_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    zip_of(&fixtures().join("osv"), &www.join("all.zip"));
    let files = FileServer::start(&www);
    let cfg = config(
        tmp.path(),
        &format!(
            "[advisories]\nrefresh_interval_seconds = 0\nmax_feed_megabytes = 1\n\
             [[advisories.feed]]\nname = \"debian\"\nkind = \"osv\"\nurl = \"{}/all.zip\"\n",
            files.url()
        ),
    );
    let server = start_server(&[("PATCHMAN_CONFIG", cfg.to_str().unwrap())]);
    report_this_machine(&server, tmp.path());
    server.admin(&["advisory", "refresh"]);
    let records = std::fs::read_dir(fixtures().join("osv")).unwrap().count() as i64;
    assert_eq!(feed_state(&server), (0, String::new(), records));
    let before = server.admin(&["advisory", "list", "--json"]);
    let exposed_before = server.admin(&["advisory", "list", "--host", "this.example.org", "--json"]);

    let refresh_fails = |what: &str| {
        let out = server.admin_output(&["advisory", "refresh"]);
        assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(said.starts_with("debian: failed: "), "{what}: {said}");
        assert_eq!(server.admin(&["advisory", "list", "--json"]), before, "{what}: the advisories changed");
        assert_eq!(
            server.admin(&["advisory", "list", "--host", "this.example.org", "--json"]),
            exposed_before,
            "{what}: the exposures changed"
        );
        said
    };

    // A truncated archive.
    let whole = std::fs::read(www.join("all.zip")).unwrap();
    std::fs::write(www.join("all.zip"), &whole[..whole.len() / 2]).unwrap();
    refresh_fails("truncated zip");
    assert_eq!(feed_state(&server).0, 1);

    // A record that is not JSON, inside a good archive: the error names it.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for e in std::fs::read_dir(fixtures().join("osv")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), bad.join(e.file_name())).unwrap();
    }
    std::fs::write(bad.join("DSA-9999-1.json"), b"{\"id\": \"DSA-9999-1\", \"affected\": [").unwrap();
    zip_of(&bad, &www.join("all.zip"));
    let said = refresh_fails("bad JSON");
    assert!(said.contains("DSA-9999-1.json"), "{said}");

    // Endless answers: one declaring 10 GB, one that never says its length.
    for declared in [true, false] {
        files.set_mode(Mode::Endless { declared });
        let said = refresh_fails("endless");
        assert!(said.contains("larger than") || said.contains("limit"), "{said}");
    }
    files.set_mode(Mode::Normal);

    // The feed vanishes.
    std::fs::remove_file(www.join("all.zip")).unwrap();
    let said = refresh_fails("vanished");
    assert!(said.contains("404"), "{said}");
    let (fails, error, kept) = feed_state(&server);
    assert_eq!((fails, kept), (5, records));
    assert!(error.contains("404"), "{error}");

    // It comes back as it was: the same bytes, so nothing to parse; failures forgotten.
    zip_of(&fixtures().join("osv"), &www.join("all.zip"));
    let out = server.admin(&["advisory", "refresh"]);
    assert!(out.starts_with("debian: unchanged"), "{out}");
    assert_eq!(feed_state(&server), (0, String::new(), records));
    assert_eq!(server.admin(&["advisory", "list", "--json"]), before);
}

/// The advisory pages in a real headless Chromium, over this machine's report and the real
/// advisories: from the dashboard to the exposed advisories, one advisory, its CVE, the host's
/// advisories and time to patch (after the host installs one fix). Screenshots land in
/// `target/<profile>/browser/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_follows_an_advisory_from_the_dashboard_to_its_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = fixture_feeds(tmp.path(), &[("debian-osv", "osv", "osv"), ("kev", "kev", "kev.json")]);
    let server = start_server(&[("PATCHMAN_CONFIG", cfg.to_str().unwrap())]);
    report_this_machine(&server, tmp.path());
    server.admin(&["advisory", "refresh"]);
    // The host installs the cups fix (DSA-5998-1): its next report closes that window.
    let status = tmp.path().join("root/var/lib/dpkg/status");
    let text = std::fs::read_to_string(&status).unwrap();
    assert!(text.contains("2.4.2-3+deb12u8"), "this machine runs the vulnerable cups the fixtures name");
    std::fs::write(&status, text.replace("2.4.2-3+deb12u8", "2.4.2-3+deb12u9")).unwrap();
    report_this_machine(&server, tmp.path());
    server.admin(&["advisory", "refresh"]);
    let shown: serde_json::Value =
        serde_json::from_str(&server.admin(&["advisory", "show", "DSA-5998-1", "--json"])).unwrap();
    assert_eq!(shown["fixed"].as_array().unwrap().len(), 1, "{shown}");
    let added = server.admin_with_stdin(&["user", "add", "ops", "--role", "admin"], "correct horse battery staple\n");
    assert!(added.status.success(), "{added:?}");

    let b = patchman_testkit::browser::Browser::start("advisories").await;
    let base = server.url();
    // Signed out: the sign-in form, and nothing of the advisories.
    b.goto(&format!("{base}/advisories/DSA-6281-1")).await;
    assert!(b.url().await.contains("/login?next="), "{}", b.url().await);
    assert!(!b.source().await.contains("gnutls28"));
    b.screenshot("advisories-0-signed-out").await;
    b.goto(&format!("{base}/login")).await;
    b.type_into("input[name=name]", "ops").await;
    b.type_into("input[name=password]", "correct horse battery staple").await;
    b.follow("form.login button[type=submit]").await;
    assert_eq!(b.text("a[href='/advisories?exposed=true'] .count").await, "1");
    b.screenshot("advisories-1-dashboard").await;

    b.follow("a[href='/advisories?exposed=true']").await;
    let exposed: Vec<serde_json::Value> =
        serde_json::from_str(&server.admin(&["advisory", "list", "--host", "this.example.org", "--json"])).unwrap();
    let names: BTreeSet<&str> = exposed.iter().map(|e| e["advisory"].as_str().unwrap()).collect();
    b.wait_for_text(&format!("Advisories ({})", names.len())).await;
    b.screenshot("advisories-2-exposed").await;

    b.goto(&format!("{base}/advisories/DSA-6281-1")).await;
    b.wait_for_text("Hosts exposed (1)").await;
    assert!(b.source().await.contains("gnutls28"), "the source package and its fixed version");
    b.screenshot("advisories-3-advisory").await;

    b.follow("dl.facts a[href^='/cves/']").await;
    b.wait_for_text("this.example.org").await;
    b.screenshot("advisories-4-cve").await;

    b.goto(&format!("{base}/hosts/this.example.org#advisories")).await;
    b.wait_for_text(&format!("Security advisories ({})", names.len())).await;
    b.screenshot("advisories-5-host").await;

    b.goto(&format!("{base}/time-to-patch?by=severity")).await;
    b.wait_for_text("Time to patch, last 90 days").await;
    assert!(b.source().await.contains("<rect class=\"ttp-median\""), "the chart has bars");
    b.screenshot("advisories-6-time-to-patch").await;
}

/// The query API's advisory RPCs, over gRPC and as JSON (`/api/v1/…`), answer what the CLI
/// says; refusals name the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_api_answers_what_the_cli_says() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = fixture_feeds(tmp.path(), &[("debian-osv", "osv", "osv")]);
    let server = start_server(&[("PATCHMAN_CONFIG", cfg.to_str().unwrap())]);
    report_this_machine(&server, tmp.path());
    server.admin(&["advisory", "refresh"]);
    let out = server.admin_output(&["token", "create", "--name", "siem", "--role", "read"]);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let get = |path: &str| {
        let req = reqwest::Client::new().get(format!("{}/api/v1{path}", server.url())).bearer_auth(&token);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), serde_json::from_str::<serde_json::Value>(&res.text().await.unwrap()).unwrap())
        }
    };
    let cli: Vec<serde_json::Value> =
        serde_json::from_str(&server.admin(&["advisory", "list", "--host", "this.example.org", "--json"])).unwrap();
    let (status, api) = get("/hosts/this.example.org/exposures").await;
    assert_eq!(status, 200, "{api}");
    let pairs = |v: &[serde_json::Value]| -> Vec<(String, String, String)> {
        v.iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_owned();
                (s("advisory"), s("package"), s("fixed"))
            })
            .collect()
    };
    assert_eq!(pairs(api["exposures"].as_array().unwrap()), pairs(&cli));

    let (_, list) = get("/advisories?filter=exposed%3Dtrue&page_size=2").await;
    let cli_list: serde_json::Value =
        serde_json::from_str(&server.admin(&["advisory", "list", "--filter", "exposed=true", "--json"])).unwrap();
    assert_eq!(list["total_size"], cli_list["total"], "{list}");
    assert_eq!(list["advisories"][0]["name"], cli_list["advisories"][0]["name"]);
    assert!(!list["next_page_token"].as_str().unwrap().is_empty(), "{list}");

    let (status, dsa) = get("/advisories/DSA-6281-1").await;
    assert_eq!(status, 200);
    assert_eq!(dsa["packages"][0]["fixed"], "3.7.9-2+deb12u7", "{dsa}");
    assert!(dsa["exposed"].as_array().unwrap().iter().all(|e| e["hostname"] == "this.example.org"));

    let (status, bad) = get("/advisories?filter=severity%3Durgent").await;
    assert_eq!(status, 400);
    assert!(bad["error"]["message"].as_str().unwrap().contains("severity"), "{bad}");
    let (status, _) = get("/cves/CVE-2099-0001").await;
    assert_eq!(status, 404);
    let (status, ttp) = get("/time-to-patch?by=severity").await;
    assert_eq!(status, 200, "{ttp}");
    assert!(ttp["buckets"].as_array().unwrap().iter().any(|b| b["open"].as_i64().unwrap() > 0), "{ttp}");

    // The same over gRPC.
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut client = patchman_proto::query_service_client::QueryServiceClient::new(channel);
    let mut req = tonic::Request::new(patchman_proto::GetCveRequest { cve: "cve-2026-5201".into() });
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let cve = client.get_cve(req).await.unwrap().into_inner();
    assert_eq!(cve.cve, "CVE-2026-5201");
    assert_eq!(cve.advisories.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["DSA-6206-1"]);
    assert!(cve.exposed.iter().any(|e| e.hostname == "this.example.org" && e.package.starts_with("libgdk-pixbuf")));
}
