//! The layer every page passes. It sets the headers every page needs (no framing, no
//! sniffing, no caching of inventory, a content security policy that allows only this
//! server's own files) and requires a valid session for everything but `/login` and a path no
//! page has (which gets the 404 page): without one
//! a GET or HEAD is sent to `/login?next=<path>`, any other method gets a 403. A valid
//! session's last-seen time is written at most once a minute; the request gets its
//! `CurrentUser`, and the page rendered for it shows who is signed in.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::session::{CurrentUser, SESSION_COOKIE, cookie};
use super::{WebError, WebState, render};
use crate::accounts::SessionHash;

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

pub async fn guard(State(state): State<WebState>, mut req: Request, next: Next) -> Response {
    // No route matched: the 404 page reads nothing, and says the same to everyone.
    let unrouted = req.extensions().get::<axum::extract::MatchedPath>().is_none();
    let mut res = if req.uri().path() == "/login" || unrouted {
        next.run(req).await
    } else {
        let session_id = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned);
        match signed_in(&state, session_id).await {
            Ok(Some(user)) => {
                req.extensions_mut().insert(user.clone());
                render::with_user(user, next.run(req)).await
            }
            Ok(None) => to_login(&req),
            Err(err) => err.into_response(),
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The request's session, if it has a valid one; an expired one is deleted.
async fn signed_in(state: &WebState, session_id: Option<String>) -> Result<Option<CurrentUser>, WebError> {
    let Some(id) = session_id else {
        return Ok(None);
    };
    let hash = SessionHash::of(&id);
    let Some(session) = state.accounts.session(&hash).await? else {
        return Ok(None);
    };
    let now = crate::clock::now_ms();
    let policy = state.sign_in.policy;
    if !policy.is_valid(session.created_at, session.last_seen_at, now) {
        state.accounts.delete_session(&hash).await?;
        return Ok(None);
    }
    if policy.needs_touch(session.last_seen_at, now) {
        state.accounts.touch_session(&hash, now).await?;
    }
    Ok(Some(CurrentUser { name: session.user_name, role: session.role, csrf: session.csrf_token, session: hash }))
}

fn to_login(req: &Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return WebError::Forbidden("sign in first".to_owned()).into_response();
    }
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("/login?next={}", percent_encode(target));
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).expect("percent-encoded"));
    res
}

/// Percent-encodes everything but unreserved characters and `/`.
fn percent_encode(s: &str) -> String {
    super::format::percent_encode(s, |b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_percent_encoded() {
        assert_eq!(super::percent_encode("/hosts?q=a b&x=é"), "/hosts%3Fq%3Da%20b%26x%3D%C3%A9");
    }
}
