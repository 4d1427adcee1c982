//! `POST /logout`: ends the session (CSRF-checked) and deletes its cookie, then `/login`.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;

use crate::web::session::{SESSION_COOKIE, secure_request, set_cookie};
use crate::web::{CurrentUser, WebError, WebState, check_csrf};

#[derive(Debug, Default, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(state): State<WebState>,
    user: CurrentUser,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    check_csrf(&user, &form.csrf)?;
    state.accounts.delete_session(&user.session).await?;
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/login"));
    let secure = secure_request(state.sign_in.secure_cookies, &headers);
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", "/", 0, secure));
    Ok(res)
}
