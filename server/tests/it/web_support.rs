//! What the web route tests share: the app called in process through `serve::app()` (no
//! listener), requests with and without a session, signing in, a page's CSRF token.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt as _;

use patchman_server::accounts::{Role, hash_password};
use patchman_server::config::Config;
use patchman_server::store::{self, NewUser, Store};
use patchman_server::updates::Updater;

pub(crate) const PASSWORD: &str = "a long test password";

pub(crate) struct App {
    pub(crate) router: axum::Router,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) async fn app() -> App {
    app_with(Config::default()).await
}

pub(crate) async fn app_with(config: Config) -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("web.db").display());
    app_at(&url, config, dir).await
}

/// The app over a fresh database of the test PostgreSQL server (`PATCHMAN_TEST_PG_URL`).
pub(crate) async fn app_on_postgres(label: &str) -> App {
    app_on_postgres_with(label, Config::default()).await
}

pub(crate) async fn app_on_postgres_with(label: &str, config: Config) -> App {
    let url = patchman_testkit::pg::fresh_database(label);
    app_at(&url, config, tempfile::tempdir().unwrap()).await
}

async fn app_at(url: &str, config: Config, dir: tempfile::TempDir) -> App {
    let store = store::connect(url).await.unwrap();
    let updater = Updater::new(store.clone());
    let router =
        patchman_server::serve::app(store.clone(), updater, &config, patchman_server::shutdown::Stopping::never())
            .expect("the app");
    App { router, store, dir }
}

/// Runs each route test (an `async fn(App)`) once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    // With a configuration of the test module's: `on_both_backends!(config = name; tests…)`.
    (config = $config:ident; $($test:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test($crate::web_support::app_with(super::$config()).await).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let label = concat!("web_", stringify!($test));
                super::$test($crate::web_support::app_on_postgres_with(label, super::$config()).await).await;
            })*
        }
    };
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test($crate::web_support::app().await).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test($crate::web_support::app_on_postgres(concat!("web_", stringify!($test))).await).await;
            })*
        }
    };
}
pub(crate) use on_both_backends;

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    /// The value a `Set-Cookie` header gives cookie `name`, with its attributes.
    pub(crate) fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    pub(crate) fn cookie_value(&self, name: &str) -> Option<String> {
        let set = self.set_cookie(name)?;
        Some(set.split(';').next().unwrap().split_once('=').unwrap().1.to_owned())
    }

    pub(crate) fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }
}

pub(crate) async fn send(app: &App, req: Request<Body>) -> Answer {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    Answer { status: parts.status, headers: parts.headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

/// `GET path`, with the session cookie when given.
pub(crate) async fn get(app: &App, path: &str, session: Option<&str>) -> Answer {
    let mut req = Request::get(path).header(header::ACCEPT, "text/html");
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("pm_session={s}"));
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

pub(crate) async fn post_form(app: &App, path: &str, cookies: &str, form: &str) -> Answer {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(form.to_owned()))
        .unwrap();
    send(app, req).await
}

/// The sign-in form's token: (cookie, hidden field).
pub(crate) async fn login_form(app: &App) -> (String, String) {
    let form = get(app, "/login", None).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let cookie = form.cookie_value("pm_login_csrf").expect("the form sets its token cookie");
    let field = form.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    (cookie, field)
}

pub(crate) async fn try_sign_in(app: &App, name: &str, password: &str, next: &str) -> Answer {
    let (cookie, field) = login_form(app).await;
    let form = format!("name={name}&password={}&csrf={field}&next={next}", password.replace(' ', "+"));
    post_form(app, "/login", &format!("pm_login_csrf={cookie}"), &form).await
}

pub(crate) async fn add_user(app: &App, name: &str, role: Role) {
    let hash = hash_password(PASSWORD).unwrap();
    let user = NewUser { name, role, password_hash: &hash, now: patchman_server::clock::now_ms() };
    assert!(app.store.add_user(&user).await.unwrap());
}

/// Adds a user and signs in: the session cookie's value.
pub(crate) async fn sign_in(app: &App, name: &str, role: Role) -> String {
    add_user(app, name, role).await;
    let answer = try_sign_in(app, name, PASSWORD, "/").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    answer.cookie_value("pm_session").expect("a session cookie")
}

/// GET as a signed-in user: (status, headers, body).
pub(crate) async fn get3(app: &App, session: &str, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let a = get(app, path, Some(session)).await;
    (a.status, a.headers, a.body)
}

/// The session's CSRF token, as the page's sign-out form carries it.
pub(crate) async fn csrf_of(app: &App, session: &str) -> String {
    let page = get(app, "/", Some(session)).await;
    page.body.split("name=\"csrf\" value=\"").nth(1).expect("a sign-out form").split('"').next().unwrap().to_owned()
}
