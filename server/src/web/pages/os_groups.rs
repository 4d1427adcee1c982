//! `/os-groups`: each OS group with its variants, how many hosts run it, and the
//! repositories its hosts use when they do not use only their own; administrators add and
//! remove those repositories and move variants between groups here (the store functions of
//! `patchman os-group add-repo|remove-repo|move-variant`). `?format=csv|json` downloads the
//! groups (in CSV the variants and the repository names share a cell each, joined by spaces).

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::store::views::{OsGroupView, RepoRef};
use crate::web::change::{Checked, yes_no};
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::link;
use crate::web::{Admin, WebError, WebState, render};

#[derive(Serialize)]
struct Group<'a> {
    group: &'a OsGroupView,
    hosts_href: String,
    /// Repositories it could take (all it does not hold yet).
    others: Vec<&'a RepoRef>,
}

#[derive(Serialize)]
struct Page<'a> {
    groups: Vec<Group<'a>>,
    #[serde(flatten)]
    downloads: Downloads,
}

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let format = Format::from_pairs(&pairs)?;
    if format != Format::Html {
        let groups = state.store.os_groups().await?;
        return Ok(download(format, "os-groups", &groups).expect("a download format"));
    }
    let (groups, repos) = tokio::try_join!(state.store.os_groups(), state.store.repos())?;
    let all: Vec<RepoRef> = repos.into_iter().map(|r| RepoRef { id: r.id, name: r.name }).collect();
    let page = Page {
        groups: groups
            .iter()
            .map(|g| Group {
                group: g,
                hosts_href: link("/hosts", &[("os_group", g.name.clone())]),
                others: all.iter().filter(|r| !g.repos.iter().any(|m| m.id == r.id)).collect(),
            })
            .collect(),
        downloads: Downloads::new("/os-groups", &[]),
    };
    Ok(render::page(&state, "os_groups", &page)?.into_response())
}

impl Export for OsGroupView {
    const COLUMNS: &'static [&'static str] = &["name", "variants", "hosts", "repos"];

    fn cells(&self) -> Vec<String> {
        let repos: Vec<&str> = self.repos.iter().map(|r| r.name.as_str()).collect();
        vec![self.name.clone(), self.variants.join(" "), self.host_count.to_string(), repos.join(" ")]
    }
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    group: String,
    repo: String,
    /// `yes`: add the repository to the group; `no`: take it out.
    member: String,
}

pub async fn set_repo(
    State(state): State<WebState>,
    admin: Admin,
    Form(form): Form<MemberForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let member = yes_no("member", &form.member)?;
    let repo: i64 = form
        .repo
        .trim()
        .parse()
        .map_err(|_| WebError::BadRequest(format!("repo: {:?} is not a repository id", form.repo)))?;
    if !state.admin.set_os_group_repo(&form.group, repo, member).await? {
        return Err(WebError::NotFound(format!("no OS group named {} or no repository {repo}", form.group)));
    }
    state.updater.notify();
    let action = if member { "os_group.add_repo" } else { "os_group.remove_repo" };
    change.done(action, &form.group, &repo.to_string(), "/os-groups").await
}

#[derive(Deserialize)]
pub struct VariantForm {
    #[serde(default)]
    csrf: String,
    variant: String,
    /// The group it moves to (made if it is new).
    group: String,
}

pub async fn move_variant(
    State(state): State<WebState>,
    admin: Admin,
    Form(form): Form<VariantForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let group = form.group.trim();
    if group.is_empty() || group.len() > 128 || group.chars().any(char::is_control) {
        return Err(WebError::BadRequest("group: must be 1 to 128 printable characters".to_owned()));
    }
    if !state.admin.set_os_variant_group(&form.variant, group).await? {
        return Err(WebError::NotFound(format!("no OS variant named {}", form.variant)));
    }
    state.updater.notify();
    change.done("os_group.move_variant", group, &form.variant, "/os-groups").await
}
