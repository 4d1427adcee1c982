//! Bulk changes from the host list: on the hosts ticked or on every host the filter selects;
//! a delete needs its confirmation; each host's change has its own audit line; viewers are
//! refused and see no bulk form.

use axum::http::StatusCode;
use patchman_server::accounts::Role;

use crate::host_queries::fleet;
use crate::web_support::*;

on_both_backends!(administrators_change_ticked_hosts_or_all_that_match);

async fn administrators_change_ticked_hosts_or_all_that_match(app: App) {
    fleet(&app.store).await;
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    let admin = sign_in(&app, "adam", Role::Admin).await;
    let (_, _, page) = get3(&app, &viewer, "/hosts").await;
    assert!(!page.contains("/hosts/bulk"), "a viewer has no bulk form");
    let viewer_csrf = csrf_of(&app, &viewer).await;
    let refused = post_form(
        &app,
        "/hosts/bulk",
        &format!("pm_session={viewer}"),
        &format!("csrf={viewer_csrf}&action=recompute&scope=filter&filter="),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let (_, _, page) = get3(&app, &admin, "/hosts?tag=web").await;
    assert!(page.contains(r#"<input type="hidden" name="filter" value="tag&#x3D;web">"#), "{page}");
    assert!(page.contains(r#"name="host" value="a.example.org""#), "{page}");
    let cookie = format!("pm_session={admin}");
    let csrf = csrf_of(&app, &admin).await;
    let post = |fields: &str| {
        let (app, cookie, body) = (&app, cookie.clone(), format!("csrf={csrf}&{fields}"));
        async move { post_form(app, "/hosts/bulk", &cookie, &body).await }
    };
    let tagged = |tag: &'static str| {
        let store = app.store.clone();
        async move {
            let (filter, sort, page) = patchman_server::query::HostFilter::from_pairs([("tag", tag)]).unwrap();
            let clock = patchman_server::query::Clock { now_ms: 6_000, silent_after_ms: 3_000 };
            let list = store.host_list(&filter, &sort, page, &clock).await.unwrap();
            list.rows.into_iter().map(|h| h.hostname).collect::<Vec<_>>()
        }
    };

    let done = post("action=tag&tag=batch1&scope=selected&filter=&host=b.example.org&host=d.example.org").await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/hosts"));
    assert_eq!(tagged("batch1").await, ["b.example.org", "d.example.org"]);

    let done = post("action=tag&tag=webfleet&scope=filter&filter=tag%3Dweb").await;
    assert_eq!(done.location(), "/hosts?tag=web", "back to the same list");
    assert_eq!(tagged("webfleet").await, ["a.example.org", "c.example.org"], "all that match tag=web");
    post("action=untag&tag=webfleet&scope=filter&filter=tag%3Dweb").await;
    assert!(tagged("webfleet").await.is_empty());

    let bad = post("action=tag&tag=no+spaces&scope=selected&filter=&host=a.example.org").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let none = post("action=recompute&scope=selected&filter=").await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert!(none.body.contains("no host is ticked"), "{}", none.body);
    let bad_filter = post("action=recompute&scope=filter&filter=colour%3Dred").await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert!(bad_filter.body.contains("colour"), "{}", bad_filter.body);

    let unconfirmed = post("action=delete&scope=selected&filter=&host=e.example.org").await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(app.store.host("e.example.org").await.unwrap().is_some(), "not deleted without confirmation");
    let done = post("action=delete&confirm=yes&scope=selected&filter=&host=e.example.org&host=d.example.org").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(app.store.host("e.example.org").await.unwrap().is_none());
    assert!(app.store.host("d.example.org").await.unwrap().is_none());

    let done = post("action=recompute&scope=filter&filter=").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let log = app.store.audit_log(50).await.unwrap();
    let actions: Vec<String> = log.iter().map(|e| format!("{} {} {}", e.action, e.target, e.detail)).collect();
    for want in [
        "host.tag b.example.org batch1",
        "host.tag c.example.org webfleet",
        "host.untag a.example.org webfleet",
        "host.delete e.example.org ",
        "host.recompute a.example.org ",
        "host.recompute c.example.org ",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want:?} not in {actions:?}");
    }
    assert!(!actions.iter().any(|a| a.starts_with("host.recompute e.example.org")), "deleted hosts are gone");
}
