//! Who is signed in: `CurrentUser` (put in the request by `guard`), the `Admin` extractor
//! (403 for viewers), the CSRF check for forms, and the cookies that carry the session and
//! the sign-in form's token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

use super::WebError;
use crate::accounts::{Role, SessionHash};

/// The session cookie: the random session id (the database keeps only its SHA-256).
pub const SESSION_COOKIE: &str = "pm_session";
/// The sign-in form's double-submit token, before there is a session.
pub const LOGIN_CSRF_COOKIE: &str = "pm_login_csrf";

/// The signed-in user of a request; every page behind the guard has one.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentUser {
    pub name: String,
    pub role: Role,
    /// The session's CSRF token: forms send it back in the `csrf` field.
    pub csrf: String,
    #[serde(skip)]
    pub(super) session: SessionHash,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CurrentUser>().cloned().ok_or_else(|| WebError::Forbidden("sign in first".to_owned()))
    }
}

/// A signed-in administrator: viewers get a 403 page.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_admin() {
            return Err(WebError::Forbidden(format!("{} is a viewer: this needs an administrator", user.name)));
        }
        Ok(Self(user))
    }
}

/// Refuses a form whose `csrf` field is not the session's token.
pub fn check_csrf(user: &CurrentUser, sent: &str) -> Result<(), WebError> {
    if !sent.is_empty() && crate::auth::secrets_equal(sent, &user.csrf) {
        Ok(())
    } else {
        Err(WebError::Forbidden("the form's security token is missing or wrong: reload the page".to_owned()))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, on `path`; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).expect("cookie values are base64url")
}

/// Whether cookies should be `Secure`: configured so, or a proxy says the browser used HTTPS.
pub fn secure_request(configured: bool, headers: &HeaderMap) -> bool {
    configured
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse as _;

    use super::*;

    fn parts(user: Option<Role>) -> Parts {
        let mut req = Request::new(());
        if let Some(role) = user {
            let session = SessionHash::of("s");
            req.extensions_mut().insert(CurrentUser { name: "u".into(), role, csrf: "tok".into(), session });
        }
        req.into_parts().0
    }

    #[tokio::test]
    async fn only_administrators_pass_the_admin_extractor() {
        let admin = Admin::from_request_parts(&mut parts(Some(Role::Admin)), &()).await.unwrap();
        assert_eq!(admin.0.name, "u");
        let viewer = Admin::from_request_parts(&mut parts(Some(Role::Viewer)), &()).await.unwrap_err();
        assert_eq!(viewer.into_response().status(), StatusCode::FORBIDDEN);
        let nobody = CurrentUser::from_request_parts(&mut parts(None), &()).await.unwrap_err();
        assert_eq!(nobody.into_response().status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn csrf_tokens_must_match() {
        let user =
            CurrentUser { name: "u".into(), role: Role::Viewer, csrf: "tok".into(), session: SessionHash::of("s") };
        assert!(check_csrf(&user, "tok").is_ok());
        assert!(check_csrf(&user, "tok2").is_err() && check_csrf(&user, "").is_err());
    }

    #[test]
    fn cookies_are_found_by_name_and_set_with_their_attributes() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; pm_session=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        let set = set_cookie(SESSION_COOKIE, "v", "/", 60, true);
        assert_eq!(set, "pm_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(secure_request(false, &h) && !secure_request(false, &HeaderMap::new()));
    }
}
