//! The web routes, called in process through `serve::app()` (no listener, no child process):
//! every page but `/login` needs a session; sign-in (CSRF-protected, rate-limited), sign-out
//! and session expiry; pages render inside the layout with the signed-in user, unknown paths
//! get a 404 page, every page carries its security headers, static files their type. Each
//! runs on SQLite and on PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::store_suite::{base_packages, enroll, ingest, report};
use crate::web_support::*;
use patchman_server::accounts::{Role, SessionHash};
use patchman_server::config::Config;
use patchman_server::store::NewSession;

on_both_backends!(
    the_hosts_page_renders_inside_the_layout_with_the_user,
    the_dashboard_counts_link_to_their_lists,
    a_host_page_shows_its_state_and_an_unknown_host_is_404,
    a_bad_filter_is_a_400_that_names_the_field_and_downloads_match_the_page,
    names_tags_and_errors_are_escaped_on_every_page,
    every_page_carries_its_security_headers,
    unknown_paths_get_a_404_page_that_names_them,
    static_files_are_served_with_their_type_without_sign_in,
    pages_require_sign_in,
    signing_in_sets_the_session_cookie_and_goes_to_next,
    a_wrong_password_or_name_is_refused_and_the_name_is_escaped,
    repeated_failures_are_rate_limited,
    the_login_form_needs_its_csrf_token,
    logout_needs_the_csrf_token_and_ends_the_session,
    expired_sessions_are_refused,
    a_second_sign_in_page_keeps_the_first_ones_token,
    a_package_page_says_which_hosts_have_each_version,
    administrators_manage_hosts_and_viewers_are_refused,
);

async fn the_hosts_page_renders_inside_the_layout_with_the_user(app: App) {
    let session = sign_in(&app, "alice", Role::Admin).await;
    let page = get(&app, "/hosts", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No host has reported yet"), "{}", page.body);

    let token = enroll(&*app.store, "web01.example.org").await;
    ingest(&*app.store, &token, report("web01.example.org", "r1", 100, base_packages())).await;
    let page = get(&app, "/hosts", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(body.starts_with("<!doctype html>"), "{body}");
    assert!(body.contains("<title>patchman: hosts</title>"), "the layout's title: {body}");
    assert!(body.contains(r#"<header><h1><a href="/">patchman</a></h1>"#), "the nav partial: {body}");
    assert!(body.contains(r#"<span class="user">alice</span>"#), "the signed-in user: {body}");
    assert!(body.contains(r#"<form class="signout" method="post" action="/logout">"#), "{body}");
    assert!(body.contains(r#"<a href="/hosts/web01.example.org">web01.example.org</a>"#), "{body}");
    assert!(body.contains("Hosts (1)"), "{body}");
    assert_eq!(page.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
}

async fn the_dashboard_counts_link_to_their_lists(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    for name in ["a.example.org", "b.example.org"] {
        let token = enroll(&*app.store, name).await;
        ingest(&*app.store, &token, report(name, "r1", 100, base_packages())).await;
    }
    let (status, _, page) = get3(&app, &session, "/").await;
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
    let (_, _, list) = get3(&app, &session, "/hosts?status=silent").await;
    assert!(list.contains("Hosts (2)"), "{list}");
}

async fn a_host_page_shows_its_state_and_an_unknown_host_is_404(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    let token = enroll(&*app.store, "web01.example.org").await;
    let mut r = report("web01.example.org", "r1", 100, base_packages());
    r.tags = vec!["prod".into()];
    ingest(&*app.store, &token, r).await;
    let (status, _, page) = get3(&app, &session, "/hosts/WEB01.example.org").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<title>patchman: web01.example.org</title>"), "{page}");
    assert!(page.contains(r#"<a class="tag" href="/hosts?tag&#x3D;prod">prod</a>"#), "{page}");
    assert!(page.contains(r#"<a href="/packages?name=openssl">openssl</a>"#), "{page}");
    assert!(page.contains("Security updates (0)"), "{page}");
    assert!(page.contains("not known to be current"), "never computed: {page}");
    let (status, _, page) = get3(&app, &session, "/hosts/nobody.example.org").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("no host named nobody.example.org"), "{page}");
}

async fn a_bad_filter_is_a_400_that_names_the_field_and_downloads_match_the_page(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    let (status, _, page) = get3(&app, &session, "/hosts?status=fine").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("status: &quot;fine&quot; is not a status"), "{page}");
    for name in ["a.example.org", "b.example.org", "c.example.org"] {
        let token = enroll(&*app.store, name).await;
        let mut r = report(name, "r1", 100, base_packages());
        r.tags = if name == "b.example.org" { vec!["db".into()] } else { vec!["web".into()] };
        ingest(&*app.store, &token, r).await;
    }
    let (_, _, page) = get3(&app, &session, "/hosts?tag=web").await;
    let marker = "<td class=\"hostname\"><a href=\"/hosts/";
    let shown: Vec<&str> = page.split(marker).skip(1).map(|rest| rest.split('"').next().unwrap()).collect();
    assert_eq!(shown, ["a.example.org", "c.example.org"], "{page}");
    let (status, headers, csv) = get3(&app, &session, "/hosts?tag=web&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let csv_hosts: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(csv_hosts, shown);
    let (_, _, json) = get3(&app, &session, "/hosts?tag=web&format=json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let json_hosts: Vec<&str> = json.as_array().unwrap().iter().map(|h| h["hostname"].as_str().unwrap()).collect();
    assert_eq!(json_hosts, shown);
}

async fn names_tags_and_errors_are_escaped_on_every_page(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    let token = enroll(&*app.store, "x.example.org").await;
    let mut r = report("x.example.org", "r1", 100, base_packages());
    r.tags = vec!["<script>alert(1)</script>".into()];
    r.packages.push(crate::store_suite::pkg("<img src=x onerror=alert(2)>", "1", "1"));
    ingest(&*app.store, &token, r).await;
    for path in ["/", "/hosts", "/hosts/x.example.org"] {
        let (status, _, page) = get3(&app, &session, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains("<script>") && !page.contains("<img src=x"), "{path}: {page}");
    }
    let (_, _, page) = get3(&app, &session, "/hosts/x.example.org").await;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(page.contains("&lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;"), "{page}");
}

async fn every_page_carries_its_security_headers(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    for (path, session) in
        [("/", Some(session.as_str())), ("/no/such/page", Some(&session)), ("/", None), ("/login", None)]
    {
        let headers = get(&app, path, session).await.headers;
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}: inventory must not be cached");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

async fn unknown_paths_get_a_404_page_that_names_them(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    let page = get(&app, "/nothing/a&b", Some(&session)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.body.contains("there is no page at /nothing/a&amp;b"), "the path, escaped: {}", page.body);
}

async fn static_files_are_served_with_their_type_without_sign_in(app: App) {
    let css = get(&app, "/static/patchman.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.body.contains("font-family"), "{}", css.body);
    assert_eq!(get(&app, "/static/missing.css", None).await.status, StatusCode::NOT_FOUND);
}

async fn pages_require_sign_in(app: App) {
    let page = get(&app, "/", None).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/login?next=/"));
    let page = get(&app, "/hosts/x?a=b&c=%C3%A9", None).await;
    assert_eq!(page.location(), "/login?next=/hosts/x%3Fa%3Db%26c%3D%25C3%25A9", "the path and query, encoded");
    let form = get(&app, page.location(), None).await;
    assert!(form.body.contains(r#"name="next" value="/hosts/x?a&#x3D;b&amp;c&#x3D;%C3%A9""#), "{}", form.body);
    assert_eq!(get(&app, "/", Some("pms_not-a-session")).await.status, StatusCode::SEE_OTHER);
    let post = post_form(&app, "/", "", "a=b").await;
    assert_eq!(post.status, StatusCode::FORBIDDEN, "other methods are refused: {}", post.body);
    let form = get(&app, "/login?next=/hosts", None).await;
    assert!(form.body.contains("<title>patchman: sign in</title>"), "{}", form.body);
    assert!(form.body.contains(r#"name="next" value="/hosts""#), "{}", form.body);
    assert!(!form.body.contains("class=\"signout\""), "no user, no sign-out form: {}", form.body);
}

async fn signing_in_sets_the_session_cookie_and_goes_to_next(app: App) {
    add_user(&app, "alice", Role::Viewer).await;
    let answer = try_sign_in(&app, "alice", PASSWORD, "/hosts%3Fq%3D1").await;
    assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, "/hosts?q=1"));
    let cookie = answer.set_cookie("pm_session").unwrap();
    for attr in ["; Path=/;", "; HttpOnly", "; SameSite=Lax"] {
        assert!(cookie.contains(attr), "{attr}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(answer.set_cookie("pm_login_csrf").unwrap().contains("Max-Age=0"), "the form's token is spent");
    let session = answer.cookie_value("pm_session").unwrap();
    assert_eq!(get(&app, "/", Some(&session)).await.status, StatusCode::OK);

    // Signing in again from the same browser ends its previous session.
    let (form_cookie, field) = login_form(&app).await;
    let cookies = format!("pm_login_csrf={form_cookie}; pm_session={session}");
    let form = format!("name=alice&password={}&csrf={field}&next=/", PASSWORD.replace(' ', "+"));
    let again = post_form(&app, "/login", &cookies, &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_ne!(again.cookie_value("pm_session").unwrap(), session, "a new session id");
    assert_eq!(get(&app, "/", Some(&session)).await.status, StatusCode::SEE_OTHER, "the old one ended");

    for evil in ["//evil.example/", "https://evil.example/", "%2F%2Fevil.example"] {
        let answer = try_sign_in(&app, "alice", PASSWORD, evil).await;
        assert_eq!(answer.location(), "/", "{evil}");
    }
    let audit = app.store.audit_log(10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "session.login" && e.actor == "web:alice"), "{audit:?}");
}

#[tokio::test]
async fn cookies_are_secure_when_configured_or_behind_https() {
    let mut config = Config::default();
    config.web.secure_cookies = true;
    let secure = app_with(config).await;
    add_user(&secure, "alice", Role::Viewer).await;
    let answer = try_sign_in(&secure, "alice", PASSWORD, "/").await;
    assert!(answer.set_cookie("pm_session").unwrap().ends_with("; Secure"));

    let plain = app().await;
    let req = Request::get("/login").header("x-forwarded-proto", "https").body(Body::empty()).unwrap();
    assert!(send(&plain, req).await.set_cookie("pm_login_csrf").unwrap().ends_with("; Secure"));
}

async fn a_wrong_password_or_name_is_refused_and_the_name_is_escaped(app: App) {
    add_user(&app, "alice", Role::Admin).await;
    for (name, password) in [("alice", "not the password"), ("nobody", PASSWORD), ("%3Cb%3Ex%3C%2Fb%3E", PASSWORD)] {
        let answer = try_sign_in(&app, name, password, "/").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(answer.body.contains("wrong user name or password"), "{}", answer.body);
        assert!(answer.set_cookie("pm_session").is_none());
        assert!(answer.cookie_value("pm_login_csrf").is_some(), "a new form, with a new token");
    }
    let answer = try_sign_in(&app, "%3Cb%3Ex", PASSWORD, "/").await;
    assert!(answer.body.contains("value=\"&lt;b&gt;x\"") && !answer.body.contains("<b>x"), "{}", answer.body);
}

async fn repeated_failures_are_rate_limited(app: App) {
    add_user(&app, "alice", Role::Admin).await;
    for _ in 0..5 {
        assert_eq!(try_sign_in(&app, "alice", "wrong password!", "/").await.status, StatusCode::UNAUTHORIZED);
    }
    let refused = try_sign_in(&app, "alice", PASSWORD, "/").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "even the right password: {}", refused.body);
    assert!(refused.body.contains("too many failed sign-ins: try again in"), "{}", refused.body);
    assert!(refused.set_cookie("pm_session").is_none());
}

async fn the_login_form_needs_its_csrf_token(app: App) {
    add_user(&app, "alice", Role::Admin).await;
    let form = format!("name=alice&password={}&next=/", PASSWORD.replace(' ', "+"));
    let (cookie, field) = login_form(&app).await;
    let cases = [
        (String::new(), format!("{form}&csrf={field}")),
        (format!("pm_login_csrf={cookie}"), form.clone()),
        (format!("pm_login_csrf={cookie}"), format!("{form}&csrf=wrong{field}")),
    ];
    for (cookies, body) in cases {
        let answer = post_form(&app, "/login", &cookies, &body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{cookies} {body}");
        assert!(answer.body.contains("reload it"), "{}", answer.body);
        assert!(answer.set_cookie("pm_session").is_none());
    }
    let ok = post_form(&app, "/login", &format!("pm_login_csrf={cookie}"), &format!("{form}&csrf={field}")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

async fn logout_needs_the_csrf_token_and_ends_the_session(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    let cookie = format!("pm_session={session}");
    let csrf = csrf_of(&app, &session).await;
    for body in [String::new(), format!("csrf=x{csrf}")] {
        let answer = post_form(&app, "/logout", &cookie, &body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{body:?}: {}", answer.body);
        assert_eq!(get(&app, "/", Some(&session)).await.status, StatusCode::OK, "still signed in");
    }
    assert_eq!(post_form(&app, "/logout", "", &format!("csrf={csrf}")).await.status, StatusCode::FORBIDDEN);
    let answer = post_form(&app, "/logout", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, "/login"));
    assert!(answer.set_cookie("pm_session").unwrap().contains("Max-Age=0"));
    let after = get(&app, "/", Some(&session)).await;
    assert_eq!((after.status, after.location()), (StatusCode::SEE_OTHER, "/login?next=/"), "the session ended");
}

async fn expired_sessions_are_refused(app: App) {
    add_user(&app, "alice", Role::Admin).await;
    let user = app.store.user_by_name("alice").await.unwrap().unwrap();
    let now = patchman_server::clock::now_ms();
    let hour = 3_600_000;
    let sessions = [("pms_idle", now - 9 * hour, now - 9 * hour), ("pms_old", now - 8 * 24 * hour, now - 1_000)];
    for (id, created, last_seen) in sessions {
        let hash = SessionHash::of(id);
        let session = NewSession { id_hash: &hash, user_id: user.id, csrf_token: "t", now: created };
        app.store.create_session(&session).await.unwrap();
        app.store.touch_session(&hash, last_seen).await.unwrap();
        assert_eq!(get(&app, "/", Some(id)).await.status, StatusCode::SEE_OTHER, "{id}");
        assert!(app.store.session(&hash).await.unwrap().is_none(), "{id}: the expired session is deleted");
    }
    let hash = SessionHash::of("pms_fresh");
    let session = NewSession { id_hash: &hash, user_id: user.id, csrf_token: "t", now: now - 2 * 60_000 };
    app.store.create_session(&session).await.unwrap();
    assert_eq!(get(&app, "/", Some("pms_fresh")).await.status, StatusCode::OK);
    let seen = app.store.session(&hash).await.unwrap().unwrap().last_seen_at;
    assert!(seen >= now, "last seen was refreshed (older than a minute): {seen} < {now}");
}

/// A second sign-in page (another tab, or the browser's own `/favicon.ico` request sent to
/// the sign-in) keeps the browser's token, so the first page's form still works.
async fn a_second_sign_in_page_keeps_the_first_ones_token(app: App) {
    add_user(&app, "alice", Role::Viewer).await;
    let (cookie, field) = login_form(&app).await;
    let req = Request::get("/login?next=/favicon.ico")
        .header(header::COOKIE, format!("pm_login_csrf={cookie}"))
        .body(Body::empty())
        .unwrap();
    let again = send(&app, req).await;
    assert!(again.body.contains(&format!("name=\"csrf\" value=\"{field}\"")), "{}", again.body);
    let form = format!("name=alice&password={}&csrf={field}&next=/", PASSWORD.replace(' ', "+"));
    let answer = post_form(&app, "/login", &format!("pm_login_csrf={cookie}"), &form).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let icon = get(&app, "/favicon.ico", None).await;
    assert_eq!(icon.status, StatusCode::NO_CONTENT, "no sign-in detour for the icon");
}

async fn a_package_page_says_which_hosts_have_each_version(app: App) {
    let session = sign_in(&app, "alice", Role::Viewer).await;
    for (name, openssl) in [("a.example.org", "27.el9"), ("b.example.org", "1~deb12u1"), ("c.example.org", "1~deb12u1")]
    {
        let token = enroll(&*app.store, name).await;
        let mut packages = base_packages();
        packages.retain(|p| p.package.name != "openssl");
        packages.push(crate::store_suite::pkg(
            "openssl",
            if openssl == "27.el9" { "3.0.7" } else { "3.0.15" },
            openssl,
        ));
        ingest(&*app.store, &token, report(name, "r1", 100, packages)).await;
    }
    let (status, _, page) = get3(&app, &session, "/packages?name=openssl").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = page.replace("&#x3D;", "=");
    assert!(page.contains(r#"<td>3.0.15-1~deb12u1</td>"#) && page.contains(r#"<td>3.0.7-27.el9</td>"#), "{page}");
    assert!(page.contains(r#"<a href="/hosts?package_name=openssl&amp;package_evr=3.0.15-1~deb12u1">2</a>"#), "{page}");
    let (_, _, hosts) = get3(&app, &session, "/hosts?package_name=openssl&package_evr=3.0.7-27").await;
    assert!(hosts.contains("Hosts (1)") && hosts.contains("a.example.org"), "{hosts}");
    let (status, _, list) = get3(&app, &session, "/packages?search=ssl").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("Package names (1)") && list.contains(r#"<a href="/packages?name&#x3D;openssl">openssl</a>"#),
        "{list}"
    );
    let (status, _, bad) = get3(&app, &session, "/packages?kind=apk").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("kind: &quot;apk&quot; is not deb, rpm, arch or gentoo"), "{bad}");
    let (_, _, none) = get3(&app, &session, "/packages?name=nothing-here").await;
    assert!(none.contains("No host has a package named nothing-here"), "{none}");
}

/// An administrator manages a host from its page (CSRF-checked, audited); a viewer sees no
/// such forms and is refused when posting them anyway.
async fn administrators_manage_hosts_and_viewers_are_refused(app: App) {
    let token = enroll(&*app.store, "m.example.org").await;
    ingest(&*app.store, &token, report("m.example.org", "r1", 100, base_packages())).await;
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    let admin = sign_in(&app, "adam", Role::Admin).await;

    let (_, _, page) = get3(&app, &viewer, "/hosts/m.example.org").await;
    assert!(!page.contains("/hosts/m.example.org/delete"), "a viewer sees no management forms");
    let csrf = csrf_of(&app, &viewer).await;
    let refused =
        post_form(&app, "/hosts/m.example.org/delete", &format!("pm_session={viewer}"), &format!("csrf={csrf}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("vera is a viewer"), "{}", refused.body);

    let (_, _, page) = get3(&app, &admin, "/hosts/m.example.org").await;
    assert!(page.contains(r#"action="/hosts/m.example.org/delete""#), "{page}");
    let cookie = format!("pm_session={admin}");
    let csrf = csrf_of(&app, &admin).await;
    let forged = post_form(&app, "/hosts/m.example.org/use-host-repos", &cookie, "csrf=wrong&own_only=no").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "a wrong CSRF token is refused");
    assert!(app.store.host("m.example.org").await.unwrap().unwrap().use_host_repos);

    let done =
        post_form(&app, "/hosts/m.example.org/use-host-repos", &cookie, &format!("csrf={csrf}&own_only=no")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/hosts/m.example.org");
    assert!(!app.store.host("m.example.org").await.unwrap().unwrap().use_host_repos);
    let done =
        post_form(&app, "/hosts/m.example.org/tags", &cookie, &format!("csrf={csrf}&tag=pinned&action=add")).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/hosts/m.example.org"));
    let (_, _, page) = get3(&app, &admin, "/hosts/m.example.org").await;
    assert!(page.contains(r#"title="given by an administrator">pinned*</a>"#), "{page}");
    let bad = post_form(&app, "/hosts/m.example.org/tags", &cookie, &format!("csrf={csrf}&tag=a+b&action=add")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("tag: contains &#x27; &#x27;"), "{}", bad.body);
    let done =
        post_form(&app, "/hosts/m.example.org/tags", &cookie, &format!("csrf={csrf}&tag=pinned&action=remove")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(!app.store.host("m.example.org").await.unwrap().unwrap().summary.tags.contains(&"pinned".to_owned()));
    let done = post_form(&app, "/hosts/m.example.org/recompute", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(app.store.host("m.example.org").await.unwrap().unwrap().summary.updates_current, "recomputed");
    let done = post_form(&app, "/hosts/m.example.org/delete", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/hosts"));
    assert!(app.store.host("m.example.org").await.unwrap().is_none());
    let gone = post_form(&app, "/hosts/m.example.org/delete", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let (status, _, page) = get3(&app, &admin, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<td>web:adam</td><td>host.delete</td><td>m.example.org</td>"), "{page}");
    let (status, _, _) = get3(&app, &viewer, "/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the audit log is for administrators");
    let log = app.store.audit_log(10).await.unwrap();
    let actions: Vec<String> = log.iter().map(|e| format!("{} {} {}", e.actor, e.action, e.target)).collect();
    for want in [
        "web:adam host.delete m.example.org",
        "web:adam host.recompute m.example.org",
        "web:adam host.use_host_repos m.example.org",
        "web:adam host.tag m.example.org",
        "web:adam host.untag m.example.org",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} not in {actions:?}");
    }
}
