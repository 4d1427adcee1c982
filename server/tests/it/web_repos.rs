//! The repository, mirror, update and OS group pages, in process and on both backends: lists with their filters
//! and downloads, detail pages, and what administrators change there (CSRF-checked, in the
//! audit log, refused to viewers), including a refresh started from a page against a real apt
//! repository on loopback.

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use patchman_server::accounts::Role;
use patchman_testkit::http::FileServer;

use crate::host_queries::fleet;
use crate::repo_support::{AptRepo, HELLO};
use crate::store_suite::{apt_repo, base_packages, enroll, ingest, report};
use crate::web_support::*;

on_both_backends!(
    repository_pages_list_filter_and_download_the_same_rows,
    the_updates_page_lists_each_pair_with_its_host_count_security_first,
    administrators_manage_repositories_mirrors_and_os_groups_and_viewers_are_refused,
    a_mirror_error_is_shown_escaped,
    an_administrator_refreshes_a_repository_from_its_page,
);

/// The values of `attr="…"` in rows that start with `marker`, in page order.
fn cells(page: &str, marker: &str) -> Vec<String> {
    page.split(marker).skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

async fn repository_pages_list_filter_and_download_the_same_rows(app: App) {
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    fleet(&app.store).await;
    let repos = app.store.repos().await.unwrap();
    assert_eq!(repos.len(), 2);

    let (status, _, page) = get3(&app, &viewer, "/repos").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Repositories (2)"), "{page}");
    for r in &repos {
        assert!(page.contains(&format!(r#"<a href="/repos/{}">{}</a>"#, r.id, r.name)), "{page}");
    }
    assert!(!page.contains("/repos/refresh"), "a viewer sees no management forms");

    let (_, _, page) = get3(&app, &viewer, "/repos?security=true").await;
    let shown = cells(&page, "<td class=\"name\"><a href=\"/repos/");
    assert_eq!(shown.len(), 1, "{page}");
    let (status, headers, csv) = get3(&app, &viewer, "/repos?security=true&format=csv").await;
    assert_eq!((status, headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "text/csv; charset=utf-8"));
    let csv_ids: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(csv_ids, shown);
    let (_, _, json) = get3(&app, &viewer, "/repos?security=true&format=json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let json_ids: Vec<String> = json.as_array().unwrap().iter().map(|r| r["id"].to_string()).collect();
    assert_eq!(json_ids, shown);

    let (status, _, page) = get3(&app, &viewer, "/repos?kind=arch").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("kind: &quot;arch&quot; is not deb or rpm"), "{page}");

    let r = &repos[0];
    let (status, _, page) = get3(&app, &viewer, &format!("/repos/{}", r.id)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&r.mirrors[0].url) && page.contains("from its metadata"), "{page}");
    assert!(page.contains(&format!("/hosts?repo&#x3D;{}", r.id)), "links to its hosts: {page}");
    assert!(!page.contains("/security\""), "no forms for a viewer: {page}");
    let (status, _, page) = get3(&app, &viewer, "/repos/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("no repository 999999"), "{page}");

    let (status, _, page) = get3(&app, &viewer, "/os-groups").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let group = &app.store.os_groups().await.unwrap()[0];
    assert!(page.contains(&format!("<h3>{}</h3>", group.name)), "{page}");
    assert!(!page.contains("/os-groups/repos"), "no forms for a viewer");

    // The dashboard's repository items link to these lists.
    let (_, _, page) = get3(&app, &viewer, "/").await;
    let page = page.replace("&#x3D;", "=");
    assert!(
        page.contains(
            r#"<a href="/repos?stale=true"><span class="count">2</span> repositories not refreshed lately</a>"#
        ),
        "{page}"
    );
}

async fn the_updates_page_lists_each_pair_with_its_host_count_security_first(app: App) {
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    fleet(&app.store).await;
    let (status, _, page) = get3(&app, &viewer, "/updates").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Outstanding updates (2)"), "{page}");
    let classes = cells(&page, "<tr class=\"");
    assert_eq!(classes, ["update security", "update"], "security first: {page}");
    let names = cells(&page, "<td class=\"name\"><a href=\"/packages?name&#x3D;");

    let (_, _, page) = get3(&app, &viewer, "/updates?tag=web").await;
    assert!(page.contains("Outstanding updates (1)") && page.contains("badge st-security"), "{page}");
    let (_, _, page) = get3(&app, &viewer, &format!("/updates?package={}", names[1])).await;
    assert!(page.contains("Outstanding updates ("), "{page}");
    let (_, _, csv) = get3(&app, &viewer, "/updates?format=csv").await;
    let csv_names: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(csv_names, names);
    assert!(csv.starts_with("kind,name,arch,installed,available,security,hosts,repo\r\n"), "{csv}");
    let (_, _, json) = get3(&app, &viewer, "/updates?format=json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let json_names: Vec<&str> = json.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(json_names, names);
    assert_eq!(json[0]["security"], true);
    // A page and a partial must not share a name: the host page's update rows still render.
    let (status, _, page) = get3(&app, &viewer, "/hosts/a.example.org").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"<td class="reason">newer in the test</td>"#), "{page}");
    let (status, _, page) = get3(&app, &viewer, "/updates?status=fine").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("status: &quot;fine&quot;"), "{page}");
}

async fn administrators_manage_repositories_mirrors_and_os_groups_and_viewers_are_refused(app: App) {
    fleet(&app.store).await;
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    let admin = sign_in(&app, "adam", Role::Admin).await;
    let repos = app.store.repos().await.unwrap();
    let (id, other, mirror) = (repos[0].id, repos[1].id, repos[0].mirrors[0].id);
    let group = app.store.os_groups().await.unwrap()[0].name.clone();
    let group_field = group.replace(' ', "+");
    let forms = [
        (format!("/repos/{id}/security"), "flag=yes".to_owned()),
        (format!("/repos/{id}/enabled"), "enabled=no".to_owned()),
        (format!("/mirrors/{mirror}/enabled"), "enabled=no".to_owned()),
        (format!("/repos/{id}/link"), format!("other={other}")),
        ("/os-groups/repos".to_owned(), format!("group={group_field}&repo={id}&member=yes")),
        ("/repos/refresh".to_owned(), String::new()),
    ];
    let viewer_csrf = csrf_of(&app, &viewer).await;
    let admin_csrf = csrf_of(&app, &admin).await;
    for (path, fields) in &forms {
        let as_viewer =
            post_form(&app, path, &format!("pm_session={viewer}"), &format!("csrf={viewer_csrf}&{fields}")).await;
        assert_eq!(as_viewer.status, StatusCode::FORBIDDEN, "{path}: {}", as_viewer.body);
        let forged = post_form(&app, path, &format!("pm_session={admin}"), &format!("csrf=forged&{fields}")).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}: a wrong CSRF token is refused");
    }
    assert_eq!(app.store.repos().await.unwrap().len(), 2, "nothing changed");

    let cookie = format!("pm_session={admin}");
    let post = |path: String, fields: String| {
        let (app, cookie, csrf) = (&app, cookie.clone(), admin_csrf.clone());
        async move { post_form(app, &path, &cookie, &format!("csrf={csrf}&{fields}")).await }
    };
    let repo = |id: i64| {
        let store = app.store.clone();
        async move { store.repos().await.unwrap().into_iter().find(|r| r.id == id) }
    };

    let done = post(format!("/repos/{id}/security"), "flag=yes".into()).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, format!("/repos/{id}").as_str()));
    let r = repo(id).await.unwrap();
    assert!(r.security && r.security_manual);
    let (_, _, page) = get3(&app, &admin, &format!("/repos/{id}")).await;
    assert!(page.contains("set by hand") && page.contains(&format!(r#"action="/repos/{id}/security""#)), "{page}");
    let bad = post(format!("/repos/{id}/security"), "flag=maybe".into()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("flag: &quot;maybe&quot; is not yes, no or auto"), "{}", bad.body);
    assert_eq!(post(format!("/repos/{id}/security"), "flag=auto".into()).await.status, StatusCode::SEE_OTHER);
    assert!(!repo(id).await.unwrap().security_manual, "given back to its metadata");

    assert_eq!(post(format!("/repos/{id}/enabled"), "enabled=no".into()).await.status, StatusCode::SEE_OTHER);
    assert!(!repo(id).await.unwrap().enabled);
    assert_eq!(post(format!("/repos/{id}/enabled"), "enabled=yes".into()).await.status, StatusCode::SEE_OTHER);
    assert!(repo(id).await.unwrap().enabled);

    let done = post(format!("/mirrors/{mirror}/enabled"), "enabled=no".into()).await;
    assert_eq!(done.location(), format!("/repos/{id}#mirrors"));
    assert!(!repo(id).await.unwrap().mirrors[0].enabled);
    assert_eq!(post("/mirrors/999999/enabled".into(), "enabled=yes".into()).await.status, StatusCode::NOT_FOUND);

    let done = post("/os-groups/repos".into(), format!("group={group_field}&repo={id}&member=yes")).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/os-groups"));
    let held = |groups: Vec<patchman_server::store::views::OsGroupView>| {
        groups.iter().find(|g| g.name == group).unwrap().repos.iter().any(|r| r.id == id)
    };
    assert!(held(app.store.os_groups().await.unwrap()));
    let (_, _, page) = get3(&app, &admin, "/os-groups").await;
    assert!(page.contains(&format!(r#"<a href="/repos/{id}">"#)), "{page}");
    post("/os-groups/repos".into(), format!("group={group_field}&repo={id}&member=no")).await;
    assert!(!held(app.store.os_groups().await.unwrap()));
    let missing = post("/os-groups/repos".into(), format!("group=Plan9&repo={id}&member=yes")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    assert_eq!(post(format!("/repos/{id}/link"), format!("other={id}")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(post(format!("/repos/{id}/link"), "other=999999".into()).await.status, StatusCode::NOT_FOUND);
    let done = post(format!("/repos/{id}/link"), format!("other={other}")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(repo(other).await.is_none(), "linked into {id}");
    assert_eq!(repo(id).await.unwrap().mirrors.len(), 2);

    let log = app.store.audit_log(20).await.unwrap();
    let actions: Vec<String> = log.iter().map(|e| format!("{} {} {}", e.actor, e.action, e.target)).collect();
    for want in [
        format!("web:adam repo.security {id}"),
        format!("web:adam repo.enabled {id}"),
        format!("web:adam mirror.enabled {mirror}"),
        format!("web:adam os_group.add_repo {group}"),
        format!("web:adam os_group.remove_repo {group}"),
        format!("web:adam repo.link {id}"),
    ] {
        assert!(actions.contains(&want), "{want} not in {actions:?}");
    }
}

async fn a_mirror_error_is_shown_escaped(app: App) {
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    fleet(&app.store).await;
    let r = &app.store.repos().await.unwrap()[0];
    let failure = patchman_server::store::MirrorAttempt {
        mirror_id: r.mirrors[0].id,
        result: patchman_server::store::MirrorResult::Failed { error: "<script>alert(3)</script>" },
        max_failures: 5,
        now: patchman_server::clock::now_ms(),
    };
    app.store.record_mirror(&failure).await.unwrap();
    for path in [format!("/repos/{}", r.id), "/".to_owned(), "/repos?failing=true".to_owned()] {
        let (status, _, page) = get3(&app, &viewer, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains("<script>"), "{path}: {page}");
    }
    let (_, _, page) = get3(&app, &viewer, &format!("/repos/{}", r.id)).await;
    assert!(page.contains("&lt;script&gt;alert(3)&lt;/script&gt;") && page.contains("1 failures in a row"), "{page}");
}

/// "Refresh now" on a repository's page refreshes it in the background from a real apt
/// repository on loopback; the page says so while it runs.
async fn an_administrator_refreshes_a_repository_from_its_page(app: App) {
    let apt = AptRepo::build(HELLO);
    let files = FileServer::start(apt.root());
    let admin = sign_in(&app, "adam", Role::Admin).await;
    let token = enroll(&*app.store, "r.example.org").await;
    let mut r = report("r.example.org", "r1", 100, base_packages());
    r.repos = vec![apt_repo("stable", &AptRepo::url(&files))];
    ingest(&*app.store, &token, r).await;
    let id = app.store.repos().await.unwrap()[0].id;
    let csrf = csrf_of(&app, &admin).await;
    let done =
        post_form(&app, &format!("/repos/{id}/refresh"), &format!("pm_session={admin}"), &format!("csrf={csrf}")).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, format!("/repos/{id}").as_str()));
    let deadline = Instant::now() + Duration::from_secs(30);
    let refreshed = loop {
        let r = app.store.repos().await.unwrap().remove(0);
        if r.refreshed_at.is_some() || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refreshed.refreshed_at.is_some(), "refreshed within 30 s: {refreshed:?}");
    assert_eq!(refreshed.package_count, 3, "{refreshed:?}");
    assert_eq!(refreshed.mirrors[0].fail_count, 0, "{refreshed:?}");
    let log = app.store.audit_log(5).await.unwrap();
    assert!(log.iter().any(|e| e.action == "repo.refresh" && e.target == id.to_string()), "{log:?}");
}

/// The transactions and errata pages render their lists; an OS variant moved from the OS
/// groups page stays in its new group when a host of it reports again (SQLite keeps it as
/// PostgreSQL does).
#[tokio::test]
async fn transactions_errata_and_moving_a_variant() {
    let app = app().await;
    let admin = sign_in(&app, "adam", Role::Admin).await;
    let token = enroll(&*app.store, "v.example.org").await;
    let mut r = report("v.example.org", "r1", 100, base_packages());
    r.transactions = vec![patchman_server::report::Transaction {
        transaction_id: "t1".into(),
        finished_at_ms: 150,
        tool: "dnf".into(),
        changes: vec![patchman_server::report::PackageChange {
            action: patchman_server::report::ChangeAction::Removed,
            name: "<telnet>".into(),
            arch: "x86_64".into(),
            old_version: "1.2".into(),
            new_version: String::new(),
        }],
    }];
    ingest(&*app.store, &token, r).await;
    let (status, _, page) = get3(&app, &admin, "/transactions").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Transactions (1)") && page.contains(r#"<a href="/hosts/v.example.org">"#), "{page}");
    assert!(page.contains(r#"<span class="action">removed</span> &lt;telnet&gt;.x86_64 1.2"#), "escaped: {page}");
    let (_, _, page) = get3(&app, &admin, "/transactions?package=nothing").await;
    assert!(page.contains("Transactions (0)") && page.contains("No transaction matches"), "{page}");
    let (status, _, page) = get3(&app, &admin, "/errata").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No repository offers errata"), "{page}");

    let variant = app.store.hosts().await.unwrap()[0].os_variant.clone();
    let (_, _, page) = get3(&app, &admin, "/os-groups").await;
    assert!(page.contains(r#"action="/os-groups/variants""#), "{page}");
    let csrf = csrf_of(&app, &admin).await;
    let cookie = format!("pm_session={admin}");
    let body = format!("csrf={csrf}&variant={}&group=Debian+fleet", variant.replace(' ', "+"));
    let done = post_form(&app, "/os-groups/variants", &cookie, &body).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/os-groups"));
    let missing = post_form(&app, "/os-groups/variants", &cookie, &format!("csrf={csrf}&variant=Plan9&group=x")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // A second server process (no cached names) ingests a report of a new host of the variant.
    let again = patchman_server::store::connect(&format!("sqlite://{}", app.dir.path().join("web.db").display()))
        .await
        .unwrap();
    let token = enroll(&*again, "w.example.org").await;
    ingest(&*again, &token, report("w.example.org", "r1", 100, base_packages())).await;
    let groups = again.os_groups().await.unwrap();
    let fleet = groups.iter().find(|g| g.name == "Debian fleet").expect("the group");
    assert_eq!((fleet.variants.clone(), fleet.host_count), (vec![variant], 2), "{groups:?}");
}
