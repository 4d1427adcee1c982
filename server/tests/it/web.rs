//! The web routes, called in process through `serve::app()` (no listener, no child process):
//! pages render inside the layout, unknown paths and files get a 404 page, every page carries
//! its security headers, static files their type.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt as _;

use crate::store_suite::{base_packages, enroll, ingest, report};
use patchman_server::config::Config;
use patchman_server::store::{self, Store};
use patchman_server::updates::Updater;

struct App {
    router: axum::Router,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&format!("sqlite://{}", dir.path().join("web.db").display())).await.unwrap();
    let updater = Updater::new(store.clone());
    let router =
        patchman_server::serve::app(store.clone(), updater, &Config::default(), "k".repeat(20)).expect("the app");
    App { router, store, _dir: dir }
}

async fn get(app: &App, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let req = Request::get(path).header(header::ACCEPT, "text/html").body(Body::empty()).unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    (parts.status, parts.headers, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_hosts_page_renders_inside_the_layout() {
    let app = app().await;
    let (status, headers, page) = get(&app, "/hosts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No host has reported yet"), "{page}");

    let token = enroll(&*app.store, "web01.example.org").await;
    ingest(&*app.store, &token, report("web01.example.org", "r1", 100, base_packages())).await;
    let (status, _, page) = get(&app, "/hosts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.starts_with("<!doctype html>"), "{page}");
    assert!(page.contains("<title>patchman: hosts</title>"), "the layout's title: {page}");
    assert!(page.contains(r#"<header><h1><a href="/">patchman</a></h1>"#), "the nav partial: {page}");
    assert!(page.contains(r#"<a href="/hosts/web01.example.org">web01.example.org</a>"#), "{page}");
    assert!(page.contains("Hosts (1)"), "{page}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
}

#[tokio::test]
async fn the_dashboard_counts_link_to_their_lists() {
    let app = app().await;
    for name in ["a.example.org", "b.example.org"] {
        let token = enroll(&*app.store, name).await;
        ingest(&*app.store, &token, report(name, "r1", 100, base_packages())).await;
    }
    let (status, _, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    // Handlebars escapes `=` in attribute values; a browser reads it back.
    let page = page.replace("&#x3D;", "=");
    assert!(page.contains(r#"<a href="/hosts">2 hosts</a>"#), "{page}");
    // Reported at 1970 in the store suite's terms: both are silent, none up to date.
    assert!(
        page.contains(r#"<a href="/hosts?status=silent"><span class="swatch st-silent"></span>2 silent</a>"#),
        "{page}"
    );
    assert!(page.contains(r#"<li class="alert"><a href="/hosts?status=silent"><span class="count">2</span> hosts that stopped reporting</a></li>"#), "{page}");
    assert!(page.contains(r#"<li class="quiet"><a href="/hosts?has_security=true"><span class="count">0</span> hosts with security updates</a></li>"#), "{page}");
    assert!(page.contains("<svg"), "the status bar: {page}");
    let (_, _, list) = get(&app, "/hosts?status=silent").await;
    assert!(list.contains("Hosts (2)"), "{list}");
}

#[tokio::test]
async fn a_host_page_shows_its_state_and_an_unknown_host_is_404() {
    let app = app().await;
    let token = enroll(&*app.store, "web01.example.org").await;
    let mut r = report("web01.example.org", "r1", 100, base_packages());
    r.tags = vec!["prod".into()];
    ingest(&*app.store, &token, r).await;
    let (status, _, page) = get(&app, "/hosts/WEB01.example.org").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<title>patchman: web01.example.org</title>"), "{page}");
    assert!(page.contains(r#"<a class="tag" href="/hosts?tag=prod">prod</a>"#), "{page}");
    assert!(
        page.contains("<td>openssl</td>") || page.contains(r#"<a href="/hosts?package_name=openssl">openssl</a>"#),
        "{page}"
    );
    assert!(page.contains("Security updates (0)"), "{page}");
    assert!(page.contains("not known to be current"), "never computed: {page}");
    let (status, _, page) = get(&app, "/hosts/nobody.example.org").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("no host named nobody.example.org"), "{page}");
}

#[tokio::test]
async fn a_bad_filter_is_a_400_that_names_the_field_and_downloads_match_the_page() {
    let app = app().await;
    let (status, _, page) = get(&app, "/hosts?status=fine").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("status: &quot;fine&quot; is not a status"), "{page}");
    for name in ["a.example.org", "b.example.org", "c.example.org"] {
        let token = enroll(&*app.store, name).await;
        let mut r = report(name, "r1", 100, base_packages());
        r.tags = if name == "b.example.org" { vec!["db".into()] } else { vec!["web".into()] };
        ingest(&*app.store, &token, r).await;
    }
    let (_, _, page) = get(&app, "/hosts?tag=web").await;
    let marker = "<td class=\"hostname\"><a href=\"/hosts/";
    let shown: Vec<&str> = page.split(marker).skip(1).map(|rest| rest.split('"').next().unwrap()).collect();
    assert_eq!(shown, ["a.example.org", "c.example.org"], "{page}");
    let (status, headers, csv) = get(&app, "/hosts?tag=web&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let csv_hosts: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(csv_hosts, shown);
    let (_, _, json) = get(&app, "/hosts?tag=web&format=json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let json_hosts: Vec<&str> = json.as_array().unwrap().iter().map(|h| h["hostname"].as_str().unwrap()).collect();
    assert_eq!(json_hosts, shown);
}

#[tokio::test]
async fn names_tags_and_errors_are_escaped_on_every_page() {
    let app = app().await;
    let token = enroll(&*app.store, "x.example.org").await;
    let mut r = report("x.example.org", "r1", 100, base_packages());
    r.tags = vec!["<script>alert(1)</script>".into()];
    r.packages.push(crate::store_suite::pkg("<img src=x onerror=alert(2)>", "1", "1"));
    ingest(&*app.store, &token, r).await;
    for path in ["/", "/hosts", "/hosts/x.example.org"] {
        let (status, _, page) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains("<script>") && !page.contains("<img src=x"), "{path}: {page}");
    }
    let (_, _, page) = get(&app, "/hosts/x.example.org").await;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(page.contains("&lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;"), "{page}");
}

#[tokio::test]
async fn every_page_carries_its_security_headers() {
    let app = app().await;
    for path in ["/", "/no/such/page"] {
        let (_, headers, _) = get(&app, path).await;
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}: inventory must not be cached");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

#[tokio::test]
async fn unknown_paths_get_a_404_page_that_names_them() {
    let app = app().await;
    let (status, headers, page) = get(&app, "/nothing/a&b").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.contains("there is no page at /nothing/a&amp;b"), "the path, escaped: {page}");
}

#[tokio::test]
async fn static_files_are_served_with_their_type() {
    let app = app().await;
    let (status, headers, css) = get(&app, "/static/patchman.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.contains("font-family"), "{css}");
    let (status, _, _) = get(&app, "/static/missing.css").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
