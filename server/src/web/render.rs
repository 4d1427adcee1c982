//! Rendering: the embedded templates, and the one way a handler turns data into a page.
//!
//! `web/templates/NAME.hbs` is the page `NAME`; `layout.hbs` and `partials/NAME.hbs` are
//! partials (`{{#> layout title="…"}}…{{/layout}}`, `{{> NAME}}`). Strict mode: a template
//! that names a field the data lacks is an error, not an empty string.
//!
//! The signed-in user reaches the layout without the handler passing it: `guard` runs the
//! handler inside `with_user`, and `page` adds a `user` field (`name`, `role`, `is_admin`,
//! `csrf`) to the top level of the page's data, unless the data has one. Pages outside the
//! guard (`/login`) have none; the layout tests `{{#if user}}`.

use axum::response::Html;
use handlebars::{Handlebars, RenderError, RenderErrorReason};
use serde::Serialize;

use super::assets::Assets;
use super::session::CurrentUser;
use super::{WebError, WebState};

pub fn templates() -> anyhow::Result<Handlebars<'static>> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    for path in Assets::iter().filter(|p| p.starts_with("templates/") && p.ends_with(".hbs")) {
        let file = Assets::get(&path).ok_or_else(|| anyhow::anyhow!("embedded template {path} vanished"))?;
        let text = std::str::from_utf8(&file.data)?;
        let name = path.trim_start_matches("templates/").trim_end_matches(".hbs");
        match name.strip_prefix("partials/") {
            // Pages and partials share one namespace: a partial named like a page would
            // render the page in its place.
            Some(partial) if Assets::get(&format!("templates/{partial}.hbs")).is_some() => {
                anyhow::bail!("partial {partial} has the name of a page")
            }
            Some(partial) => hb.register_partial(partial, text)?,
            None if name == "layout" => hb.register_partial(name, text)?,
            None => hb.register_template_string(name, text)?,
        }
    }
    Ok(hb)
}

tokio::task_local! {
    static USER: CurrentUser;
}

/// Runs `fut` (a page handler) with `user` as the signed-in user its pages show.
pub(super) async fn with_user<F: std::future::Future>(user: CurrentUser, fut: F) -> F::Output {
    USER.scope(user, fut).await
}

/// The page `template` with `data` (and the signed-in user), inside the layout.
pub fn page<T: Serialize>(state: &WebState, template: &str, data: &T) -> Result<Html<String>, WebError> {
    let mut data = serde_json::to_value(data).map_err(|e| RenderError::from(RenderErrorReason::SerdeError(e)))?;
    if let (Some(fields), Ok(user)) = (data.as_object_mut(), USER.try_with(user_fields)) {
        fields.entry("user").or_insert(user);
    }
    Ok(Html(state.templates.render(template, &data)?))
}

fn user_fields(user: &CurrentUser) -> serde_json::Value {
    serde_json::json!({ "name": user.name, "role": user.role, "is_admin": user.is_admin(), "csrf": user.csrf })
}
