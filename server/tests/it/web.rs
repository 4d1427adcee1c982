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
    let (status, headers, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No host has reported yet"), "{page}");

    let token = enroll(&*app.store, "web01.example.org").await;
    ingest(&*app.store, &token, report("web01.example.org", "r1", 100, base_packages())).await;
    let (status, _, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.starts_with("<!doctype html>"), "{page}");
    assert!(page.contains("<title>patchman: hosts</title>"), "the layout's title: {page}");
    assert!(page.contains(r#"<header><h1><a href="/">patchman</a></h1></header>"#), "the nav partial: {page}");
    assert!(page.contains("<td class=\"hostname\">web01.example.org</td>"), "{page}");
    assert!(page.contains("Hosts (1)"), "{page}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
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
    let (status, headers, page) = get(&app, "/hosts/a&b").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.contains("there is no page at /hosts/a&amp;b"), "the path, escaped: {page}");
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
