//! What an administrator does to many hosts at once from `/hosts`: add or remove a tag,
//! recompute, delete, on the hosts ticked or on every host the list's filter selects. Each
//! host's change goes through the same store function as one host's, with its own audit line.

use axum::Form;
use axum::extract::State;
use axum::response::Response;

use crate::query::{HostFilter, PageRequest};
use crate::web::change::Checked;
use crate::web::format::link;
use crate::web::{Admin, WebError, WebState};

enum Action {
    Tag(String),
    Untag(String),
    Recompute,
    Delete,
}

/// The form's fields: `csrf`, `action` (`tag`, `untag`, `recompute`, `delete`), `tag`,
/// `scope` (`selected`: the `host` fields; `filter`: every host `filter`, a query string,
/// selects), and for a delete `confirm=yes`.
pub async fn apply(
    State(state): State<WebState>,
    admin: Admin,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let field = |name: &str| fields.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let change = Checked::new(&state, &admin, field("csrf"))?;
    let tag = || crate::fields::tag("tag", field("tag")).map_err(|e| WebError::BadRequest(e.to_string()));
    let action = match field("action") {
        "tag" => Action::Tag(tag()?),
        "untag" => Action::Untag(tag()?),
        "recompute" => Action::Recompute,
        "delete" if field("confirm") == "yes" => Action::Delete,
        "delete" => return Err(WebError::BadRequest("confirm: tick it to delete hosts".to_owned())),
        other => return Err(WebError::BadRequest(format!("action: {other:?} is not tag, untag, recompute or delete"))),
    };
    let query = field("filter");
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| WebError::BadRequest(format!("filter: {e}")))?;
    let (filter, _, _) = HostFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let hosts: Vec<String> = match field("scope") {
        "selected" => fields.iter().filter(|(k, _)| k == "host").map(|(_, v)| v.to_ascii_lowercase()).collect(),
        "filter" => {
            let all = PageRequest { page: 1, per_page: u32::MAX };
            let list = state.store.host_list(&filter, &Default::default(), all, &state.clock()).await?;
            list.rows.into_iter().map(|h| h.hostname).collect()
        }
        other => return Err(WebError::BadRequest(format!("scope: {other:?} is not selected or filter"))),
    };
    if hosts.is_empty() {
        return Err(WebError::BadRequest("host: no host is ticked".to_owned()));
    }
    let mut ids = Vec::new();
    for name in &hosts {
        let (done, what, detail) = match &action {
            Action::Tag(t) => (state.admin.set_host_tag(name, t, true).await?, "host.tag", t.as_str()),
            Action::Untag(t) => (state.admin.set_host_tag(name, t, false).await?, "host.untag", t.as_str()),
            Action::Delete => (state.admin.delete_host(name).await?, "host.delete", ""),
            Action::Recompute => match state.store.host_id(name).await? {
                Some(id) => {
                    ids.push(id);
                    (true, "host.recompute", "")
                }
                None => (false, "", ""),
            },
        };
        if done {
            change.audit(what, name, detail).await?;
        }
    }
    if !ids.is_empty() {
        state.updater.recompute(&ids).await?;
    }
    Ok(crate::web::change::see_other(&link("/hosts", &filter.to_pairs())))
}
