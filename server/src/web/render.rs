//! Rendering: the embedded templates, and the one way a handler turns data into a page.
//!
//! `web/templates/NAME.hbs` is the page `NAME`; `layout.hbs` and `partials/NAME.hbs` are
//! partials (`{{#> layout title="…"}}…{{/layout}}`, `{{> NAME}}`). Strict mode: a template
//! that names a field the data lacks is an error, not an empty string.

use axum::response::Html;
use handlebars::Handlebars;
use serde::Serialize;

use super::assets::Assets;
use super::{WebError, WebState};

pub fn templates() -> anyhow::Result<Handlebars<'static>> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    for path in Assets::iter().filter(|p| p.starts_with("templates/") && p.ends_with(".hbs")) {
        let file = Assets::get(&path).ok_or_else(|| anyhow::anyhow!("embedded template {path} vanished"))?;
        let text = std::str::from_utf8(&file.data)?;
        let name = path.trim_start_matches("templates/").trim_end_matches(".hbs");
        match name.strip_prefix("partials/") {
            Some(partial) => hb.register_partial(partial, text)?,
            None if name == "layout" => hb.register_partial(name, text)?,
            None => hb.register_template_string(name, text)?,
        }
    }
    Ok(hb)
}

/// The page `template` with `data`, inside the layout.
pub fn page<T: Serialize>(state: &WebState, template: &str, data: &T) -> Result<Html<String>, WebError> {
    Ok(Html(state.templates.render(template, data)?))
}
