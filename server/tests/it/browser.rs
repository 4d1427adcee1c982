//! The web UI in a real headless Chromium (WebDriver), against a real server process and a
//! real apt repository on loopback: sign in, the dashboard's counts are the CLI's, follow
//! "hosts with security updates", filter by tag, open a host and read an update's reason,
//! tag it as an administrator, sign out; as a viewer see no forms and be refused a hand-made
//! one. Screenshots land in `target/<profile>/browser/`.

use patchman_testkit::browser::Browser;

use crate::repo_support::{AptRepo, HELLO, INSTALLED, deb_report, only_repo, refresh, report};
use crate::support::start_server;
use patchman_testkit::http::FileServer;

const PASSWORD: &str = "correct horse battery staple";

fn count_listed(listing: &str) -> usize {
    listing.lines().skip(1).filter(|l| !l.trim().is_empty()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_finds_the_hosts_that_need_security_updates() {
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    let keyring = repo.key.public.to_str().unwrap().to_owned();
    let server = start_server(&[("PATCHMAN_REPOS_KEYRINGS", &keyring)]);
    for (host, tag) in [("a.example.org", "web"), ("b.example.org", "db")] {
        let mut r = deb_report(host, INSTALLED, &[AptRepo::url(&files)]);
        r.tags = vec![tag.into()];
        report(&server, r).await;
    }
    let mut lone = deb_report("c.example.org", INSTALLED, &[]);
    lone.tags = vec!["web".into()];
    report(&server, lone).await;
    let (ok, out) = refresh(&server);
    assert!(ok, "{out}");
    let id = only_repo(&server)["id"].as_i64().unwrap().to_string();
    server.admin(&["repo", "security", &id, "yes"]);
    // Hosts that run Patchman's client: a Rocky host whose dnf offers updates this server
    // cannot see (its repositories are not refreshed here), and an Arch host (inventory only).
    let key = server.admin(&["api-key", "create", "browser"]).trim().to_owned();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patchman-client");
    let content_type = std::fs::read_to_string(fixtures.join("rocky9-protocol1.content-type")).unwrap();
    let upload = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-S", "-o", "/dev/null", "-w", "%{http_code}", "-H", &format!("Authorization: Api-Key {key}")])
            .args(args)
            .arg(format!("{}/reports/upload/", server.url()))
            .output()
            .expect("curl");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "204", "{}", String::from_utf8_lossy(&out.stderr));
    };
    let body = format!("@{}", fixtures.join("rocky9-protocol1.body").display());
    upload(&["-H", &format!("Content-Type: {content_type}"), "--data-binary", &body]);
    upload(&[
        "-F",
        "host=arch1.example.org",
        "-F",
        "kernel=6.12.1-arch1-1",
        "-F",
        "arch=x86_64",
        "-F",
        "os=Arch Linux",
        "-F",
        "packages='bash' '' '5.2.037' '1' 'x86_64' 'arch'",
        "-F",
        "reboot=ServerCheck",
        "-F",
        "repos='arch' 'Arch Linux core x86_64' 'core' 'https://geo.mirror.pkgbuild.com/core/os/x86_64'",
    ]);
    server.admin(&["find-updates"]);
    let added = server.admin_with_stdin(&["user", "add", "ops", "--role", "admin"], &format!("{PASSWORD}\n"));
    assert!(added.status.success(), "{added:?}");

    let b = Browser::start("security_updates").await;
    let base = server.url();
    b.goto(&format!("{base}/")).await;
    assert!(b.url().await.contains("/login"), "a page without a session goes to the sign-in: {}", b.url().await);
    b.screenshot("1-login").await;
    b.type_into("input[name=name]", "ops").await;
    b.type_into("input[name=password]", PASSWORD).await;
    b.follow("form.login button[type=submit]").await;
    assert_eq!(b.url().await, format!("{base}/"), "signed in, back where it started: {}", b.source().await);
    b.screenshot("2-dashboard").await;

    // The dashboard says what the CLI says.
    let cli = count_listed(&server.admin(&["host", "list", "--filter", "has_security=true"]));
    assert_eq!(cli, 2);
    let shown = b.text("a[href='/hosts?has_security=true'] .count").await;
    assert_eq!(shown, cli.to_string());
    let unknown = count_listed(&server.admin(&["host", "list", "--filter", "status=unknown"]));
    assert_eq!(b.text("a[href='/hosts?status=unknown'] .count").await, unknown.to_string());

    b.follow("a[href='/hosts?has_security=true']").await;
    let page = b.source().await;
    assert!(page.contains("Hosts (2)") && page.contains("a.example.org") && page.contains("b.example.org"), "{page}");
    assert!(!page.contains("c.example.org"), "{page}");
    b.screenshot("3-hosts-with-security-updates").await;

    b.type_into("form.filter input[name=tag]", "web").await;
    b.follow("form.filter button[type=submit]").await;
    assert!(b.url().await.contains("tag=web") && b.url().await.contains("has_security=true"), "{}", b.url().await);
    let page = b.source().await;
    assert!(page.contains("Hosts (1)") && page.contains("a.example.org") && !page.contains("b.example.org"), "{page}");
    b.screenshot("4-filtered-by-tag").await;

    b.follow("td.hostname a").await;
    assert!(b.url().await.ends_with("/hosts/a.example.org"), "{}", b.url().await);
    let reason = b.text("#security-updates + table td.reason").await;
    assert!(!reason.is_empty(), "an update says why");
    assert!(b.source().await.contains("hello-tiny"), "the update's package");
    b.screenshot("5-host").await;

    // An administrator tags the host from its page; the tag stays through its reports.
    b.type_into("form.add-tag input[name=tag]", "patch-tonight").await;
    b.click("form.add-tag button[type=submit]").await;
    b.wait_for_text(">patch-tonight*</a>").await;
    b.screenshot("6-tagged").await;
    let tagged = count_listed(&server.admin(&["host", "list", "--filter", "tag=patch-tonight"]));
    assert_eq!(tagged, 1, "the CLI sees the tag");

    // Every other page, as an administrator sees it (screenshots for review).
    for (shot, path, heading) in [
        ("8-updates", "/updates", "Outstanding updates (1)"),
        ("9-repos", "/repos", "Repositories (7)"),
        ("10-os-groups", "/os-groups", "OS groups"),
        ("11-packages", "/packages?search=hello", "Package names (1)"),
        ("12-package", "/packages?name=hello-tiny", "hello-tiny"),
        ("13-transactions", "/transactions", "Transactions ("),
        ("14-errata", "/errata", "Errata (0)"),
        ("15-audit", "/audit", "patch-tonight"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        b.wait_for_text(heading).await;
        b.screenshot(shot).await;
    }
    b.goto(&format!("{base}/repos/{id}")).await;
    b.wait_for_text("Mirrors (1)").await;
    assert!(b.source().await.contains("set by hand"), "the CLI set its security flag");
    b.screenshot("16-repo").await;

    // Patchman's clients: the dashboard counts the host whose package manager disagrees, its
    // page lists where; an Arch host's updates are unknown, not none.
    b.goto(&format!("{base}/")).await;
    assert_eq!(b.text("a[href='/hosts?view_disagrees=true'] .count").await, "1");
    b.follow("a[href='/hosts?view_disagrees=true']").await;
    b.follow("td.hostname a").await;
    b.wait_for_text("Its package manager's view (7 differences)").await;
    assert!(b.source().await.contains("API key browser"), "it says how the host reports");
    b.screenshot("17-host-view").await;
    b.goto(&format!("{base}/hosts/arch1.example.org")).await;
    b.wait_for_text("Updates are not found yet for arch packages").await;
    b.screenshot("18-arch-host").await;

    b.follow("form.signout button[type=submit]").await;
    assert!(b.url().await.contains("/login"), "{}", b.url().await);
    b.goto(&format!("{base}/hosts")).await;
    assert!(b.url().await.contains("/login"), "signed out: the list needs a session again");

    // A viewer sees no management forms, and a hand-made one is refused.
    let added = server.admin_with_stdin(&["user", "add", "eve", "--role", "viewer"], &format!("{PASSWORD}\n"));
    assert!(added.status.success(), "{added:?}");
    b.type_into("input[name=name]", "eve").await;
    b.type_into("input[name=password]", PASSWORD).await;
    b.follow("form.login button[type=submit]").await;
    b.goto(&format!("{base}/hosts/a.example.org")).await;
    let page = b.source().await;
    assert!(page.contains("patch-tonight") && !page.contains("add-tag"), "a viewer reads, and has no forms: {page}");
    b.screenshot("7-viewer").await;
    let csrf = b.attribute("form.signout input[name=csrf]", "value").await;
    let status = b.post_from_page("/hosts/a.example.org/tags", &format!("csrf={csrf}&tag=mine&action=add")).await;
    assert_eq!(status, 403, "a viewer's change is refused");
    assert_eq!(count_listed(&server.admin(&["host", "list", "--filter", "tag=mine"])), 0);
}
