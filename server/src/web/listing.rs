//! What the list pages share: a host filter read from the query string together with one key
//! of the page's own (`package=`), and the links to the previous and next page.

use serde::Serialize;

use super::WebError;
use super::format::link;
use crate::query::{HostFilter, PageRequest};

/// A list page's host question: the filter and page, and its own key's value.
pub struct HostQuery {
    pub filter: HostFilter,
    pub page: PageRequest,
    pub own: Option<String>,
}

impl HostQuery {
    /// Reads the pairs; `own` is the page's key that is not a host filter's. A bad value is
    /// a 400 naming its field.
    pub fn from_pairs(pairs: &[(String, String)], own: &str) -> Result<Self, WebError> {
        let value = pairs.iter().rev().find(|(k, _)| k == own).map(|(_, v)| v.trim().to_owned());
        let rest = pairs.iter().filter(|(k, _)| k != own).map(|(k, v)| (k.as_str(), v.as_str()));
        let (filter, _sort, page) = HostFilter::from_pairs(rest).map_err(|e| WebError::BadRequest(e.to_string()))?;
        Ok(Self { filter, page, own: value.filter(|v| !v.is_empty()) })
    }
}

/// Page `page` of `pages`, and the links to its neighbours ("" when there is none).
#[derive(Debug, Serialize)]
pub struct Pager {
    pub prev: String,
    pub next: String,
    pub page: u32,
    pub pages: u64,
}

impl Pager {
    /// `pairs`: the query that selected the list (kept in the links), without the page.
    pub fn new(path: &str, pairs: &[(&'static str, String)], page: PageRequest, total: u64) -> Self {
        let pages = total.div_ceil(u64::from(page.per_page)).max(1);
        let to = |n: u32| {
            let mut p = pairs.to_vec();
            p.push(("page", n.to_string()));
            if page.per_page != PageRequest::default().per_page {
                p.push(("per_page", page.per_page.to_string()));
            }
            link(path, &p)
        };
        Pager {
            prev: if page.page > 1 { to(page.page - 1) } else { String::new() },
            next: if u64::from(page.page) < pages { to(page.page + 1) } else { String::new() },
            page: page.page,
            pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_link_to_their_neighbours_with_the_query() {
        let p = Pager::new("/updates", &[("tag", "web".into())], PageRequest { page: 2, per_page: 100 }, 250);
        assert_eq!(
            (p.prev.as_str(), p.next.as_str(), p.pages),
            ("/updates?tag=web&page=1", "/updates?tag=web&page=3", 3)
        );
        let last = Pager::new("/x", &[], PageRequest { page: 1, per_page: 50 }, 0);
        assert_eq!((last.prev.as_str(), last.next.as_str(), last.pages), ("", "", 1));
        let q = HostQuery::from_pairs(&[("package".into(), " zlib ".into()), ("tag".into(), "web".into())], "package");
        let q = q.unwrap();
        assert_eq!((q.own.as_deref(), q.filter.tag.as_deref()), (Some("zlib"), Some("web")));
    }
}
