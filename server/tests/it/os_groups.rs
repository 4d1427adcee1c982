//! OS groups through the server: a host that does not use only its own repositories
//! (`host use-host-repos NAME no`) also gets its updates from its OS group's repositories
//! (`os-group add-repo`), and recomputation is incremental: a repository that changed
//! recomputes only the hosts that use it, directly or through their group. On both backends.

use patchman_testkit::http::FileServer;
use patchman_testkit::server::Server;
use serde_json::Value;

use crate::repo_support::{
    AptRepo, HELLO, INSTALLED, deb_report, only_ok, refresh_with, report, repos, start_on_postgres, update, updates,
};
use crate::support::{host_json, start_server};

/// (exit status, stdout) of an admin command.
fn admin(server: &Server, args: &[&str]) -> (Option<i32>, String) {
    let out = server.admin_output(args);
    (out.status.code(), String::from_utf8(out.stdout).unwrap() + &String::from_utf8_lossy(&out.stderr))
}

fn repo_id(server: &Server, url: &str) -> String {
    let all = repos(server);
    let found = all.iter().find(|r| r["mirrors"].as_array().unwrap().iter().any(|m| m["url"] == url));
    found.unwrap_or_else(|| panic!("no repository with mirror {url}: {all:#?}"))["id"].to_string()
}

async fn group_repositories_and_incremental_recomputation(server: &Server) {
    // `stable` offers hello-tiny 1.1-1; `other` (another origin, so never merged with it) does not.
    let (stable, other) = (AptRepo::build(HELLO), AptRepo::build(&[("baz", "2-1", "amd64")]));
    other.sign_with(&other.key, "other-origin");
    let (files_stable, files_other) = (FileServer::start(stable.root()), FileServer::start(other.root()));
    let (url_stable, url_other) = (AptRepo::url(&files_stable), AptRepo::url(&files_other));
    report(server, deb_report("a.example.org", INSTALLED, std::slice::from_ref(&url_stable))).await;
    let mut b =
        deb_report("b.example.org", &[("hello-tiny", "1.0", "1"), ("baz", "2", "1")], std::slice::from_ref(&url_other));
    b.os.as_mut().unwrap().version_detail = "12.8".into();
    report(server, b).await;
    let out = only_ok(refresh_with(server, &[]));
    assert!(out.starts_with("2 repositories: 2 changed, 0 unchanged, 0 failed, 0 merged; 2 hosts recomputed"), "{out}");
    assert_eq!(updates(server, "a.example.org"), [update("hello-tiny", "1.1-1", false)]);
    assert_eq!(updates(server, "b.example.org"), []);
    assert_eq!(
        host_json(server, "b.example.org")["packages_not_in_repos"],
        serde_json::json!(["hello-tiny 1.0-1 amd64"])
    );

    // Both hosts are in one OS group, under two variants; the group has no repositories yet.
    let (host_a, host_b) = (host_json(server, "a.example.org"), host_json(server, "b.example.org"));
    let group = host_a["os_group"].as_str().unwrap().to_owned();
    assert_eq!(host_b["os_group"], group.as_str());
    assert_ne!(host_a["os_variant"], host_b["os_variant"]);
    assert_eq!(host_b["use_host_repos"], true);
    let groups: Value = serde_json::from_str(&server.admin(&["os-group", "list", "--json"])).unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups:#}");
    assert_eq!((groups[0]["name"].as_str(), groups[0]["host_count"].as_i64()), (Some(group.as_str()), Some(2)));
    assert_eq!(groups[0]["variants"], serde_json::json!([host_a["os_variant"], host_b["os_variant"]]));
    assert_eq!(groups[0]["repos"], serde_json::json!([]));

    // `stable` joins the group: nothing changes while both hosts use only their own repositories.
    let stable_id = repo_id(server, &url_stable);
    let (code, out) = admin(server, &["os-group", "add-repo", &group, &stable_id]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("; 0 hosts recomputed\n"), "{out}");
    let groups: Value = serde_json::from_str(&server.admin(&["os-group", "list", "--json"])).unwrap();
    assert_eq!(groups[0]["repos"][0]["id"].to_string(), stable_id);
    assert_eq!(updates(server, "b.example.org"), []);

    // b uses its group's repositories too: the update comes from `stable`, and says so.
    let (code, out) = admin(server, &["host", "use-host-repos", "b.example.org", "no"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("; 1 hosts recomputed\n"), "{out}");
    let host_b = host_json(server, "b.example.org");
    assert_eq!(host_b["use_host_repos"], false);
    assert_eq!(updates(server, "b.example.org"), [update("hello-tiny", "1.1-1", false)]);
    let stable_name =
        repos(server).iter().find(|r| r["id"].as_i64() == stable_id.parse().ok()).unwrap()["name"].clone();
    assert_eq!(host_b["updates"][0]["repo"], stable_name, "{host_b:#}");
    assert_eq!(host_b["packages_not_in_repos"], serde_json::json!([]));

    // A change in `other` recomputes b only; a change in `stable` both hosts (b through its group).
    other.add(&[("baz", "2-2", "amd64")]);
    other.sign_with(&other.key, "other-origin");
    let out = only_ok(refresh_with(server, &["--repo", &repo_id(server, &url_other), "--force"]));
    assert!(out.starts_with("1 repositories: 1 changed, 0 unchanged, 0 failed, 0 merged; 1 hosts recomputed"), "{out}");
    assert_eq!(updates(server, "b.example.org"), [update("baz", "2-2", false), update("hello-tiny", "1.1-1", false)]);
    stable.add(&[("hello-tiny", "1.2-1", "amd64")]);
    stable.sign_with(&stable.key, "patchman-tests");
    let out = only_ok(refresh_with(server, &["--repo", &stable_id, "--force"]));
    assert!(out.starts_with("1 repositories: 1 changed, 0 unchanged, 0 failed, 0 merged; 2 hosts recomputed"), "{out}");
    for host in ["a.example.org", "b.example.org"] {
        assert!(updates(server, host).contains(&update("hello-tiny", "1.2-1", false)), "{host}");
    }

    // Out of the group again: b loses the update; unknown names are refused.
    let (code, out) = admin(server, &["os-group", "remove-repo", &group, &stable_id]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("; 1 hosts recomputed\n"), "{out}");
    assert_eq!(updates(server, "b.example.org"), [update("baz", "2-2", false)]);
    let (code, out) = admin(server, &["os-group", "add-repo", "Plan 9", &stable_id]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("no OS group named \"Plan 9\""), "{out}");
    let (code, out) = admin(server, &["host", "use-host-repos", "nobody.example.org", "no"]);
    assert_eq!(code, Some(2), "{out}");
}

#[tokio::test]
async fn os_group_repositories_on_sqlite() {
    group_repositories_and_incremental_recomputation(&start_server(&[])).await;
}

#[tokio::test]
async fn os_group_repositories_on_postgres() {
    group_repositories_and_incremental_recomputation(&start_on_postgres("os_groups", &[])).await;
}
