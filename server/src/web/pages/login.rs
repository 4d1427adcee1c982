//! `/login`: the sign-in form (GET) and signing in (POST). The form is protected by a
//! double-submit token (cookie `pm_login_csrf` and a hidden field, compared on POST), as there
//! is no session yet. Failures count against the account and the source address in the rate
//! limiter; a refused attempt says when to try again. Success makes a new session, sets
//! `pm_session` and sends the browser to `next` (a local path only) or `/`.

use axum::Extension;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};

use crate::accounts::{SessionHash, new_csrf_token, new_session_id, verify_password};
use crate::store::{AuditEntry, NewSession};
use crate::web::session::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie, secure_request, set_cookie};
use crate::web::{WebError, WebState, render};

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

#[derive(Serialize)]
struct LoginPage {
    name: String,
    next: String,
    csrf: String,
    error: String,
}

pub async fn form(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, WebError> {
    let page =
        LoginPage { name: String::new(), next: safe_next(&query.next), csrf: String::new(), error: String::new() };
    show(&state, &headers, StatusCode::OK, page)
}

pub async fn sign_in(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<crate::tls::Peer>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let sent_by_form = cookie(&headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|token| !form.csrf.is_empty() && crate::auth::secrets_equal(token, &form.csrf));
    if !sent_by_form {
        return Err(WebError::Forbidden(
            "the sign-in form expired or was not sent from this site: reload it and try again".to_owned(),
        ));
    }
    let next = safe_next(&form.next);
    let source = peer.map_or_else(|| "unknown".to_owned(), |Extension(ConnectInfo(peer))| peer.ip().to_string());
    let now = crate::clock::now_ms();
    let again = |status, error: String| {
        let page = LoginPage { name: form.name.clone(), next: next.clone(), csrf: String::new(), error };
        show(&state, &headers, status, page)
    };
    if let Err(refused) = state.sign_in.limiter.check(&form.name, &source, now) {
        tracing::warn!(user = %form.name, %source, "sign-in refused: too many failures");
        return again(StatusCode::TOO_MANY_REQUESTS, refused.to_string());
    }
    let user = state.accounts.user_by_name(&form.name).await?;
    let (password, hash) = (form.password.clone(), user.as_ref().map(|u| u.password_hash.clone()));
    // argon2 takes tens of milliseconds of CPU: not on the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref())).await;
    let Some(user) = user.filter(|_| matches.unwrap_or(false)) else {
        state.sign_in.limiter.failed(&form.name, &source, now);
        tracing::warn!(user = %form.name, %source, "failed sign-in");
        return again(StatusCode::UNAUTHORIZED, "wrong user name or password".to_owned());
    };
    state.sign_in.limiter.succeeded(&user.name);
    // A session this browser had before is ended: one browser, one session.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        state.accounts.delete_session(&SessionHash::of(old)).await?;
    }
    let (session_id, csrf) = (new_session_id(), new_csrf_token());
    let hash = SessionHash::of(&session_id);
    state.accounts.create_session(&NewSession { id_hash: &hash, user_id: user.id, csrf_token: &csrf, now }).await?;
    let actor = format!("web:{}", user.name);
    let entry = AuditEntry { at: now, actor: &actor, action: "session.login", target: &user.name, detail: &source };
    state.accounts.audit(&entry).await?;
    let secure = secure_request(state.sign_in.secure_cookies, &headers);
    let max_age = u64::try_from(state.sign_in.policy.absolute_ms / 1000).unwrap_or(0);
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/")));
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &session_id, "/", max_age, secure));
    h.append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", "/login", 0, secure));
    Ok(res)
}

/// The form with the double-submit token in its field and its cookie: the browser's current
/// token when it has a well-formed one, so that a second sign-in page loaded meanwhile (a
/// second tab, or the browser's own request for `/favicon.ico` sent here) does not invalidate
/// the first; else a new one.
fn show(state: &WebState, headers: &HeaderMap, status: StatusCode, mut page: LoginPage) -> Result<Response, WebError> {
    page.csrf = match cookie(headers, LOGIN_CSRF_COOKIE) {
        Some(t) if t.len() >= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            t.to_owned()
        }
        _ => new_csrf_token(),
    };
    let html = render::page(state, "login", &page)?;
    let secure = secure_request(state.sign_in.secure_cookies, headers);
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, &page.csrf, "/login", 3_600, secure);
    Ok((status, [(header::SET_COOKIE, cookie)], html).into_response())
}

/// Where to go after sign-in: a path on this site (`/…`, not `//…` or `/\…`), else `/`.
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if !local {
        return "/".to_owned();
    }
    crate::web::format::percent_encode(next, |b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_or_the_hosts_page() {
        assert_eq!(safe_next("/hosts?q=a"), "/hosts?q=a");
        assert_eq!(safe_next("/a b"), "/a%20b");
        for bad in ["", "https://evil.example", "//evil.example/", "/\\evil.example", "hosts"] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
