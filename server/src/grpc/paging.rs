//! Opaque page tokens (Google API design guide, AIP-158): the next page's number, bound to the
//! request that made it (its filter, order and page size), so that a token replayed with
//! another query is refused instead of paging through the wrong list.

use tonic::Status;

use crate::query::PageRequest;

pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// The page a request asks for. `query` names what the token is bound to (the method and
/// every field that selects or orders rows).
pub fn page(page_size: i32, page_token: &str, query: &[&str]) -> Result<PageRequest, Status> {
    let per_page = match page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => return Err(Status::invalid_argument("page_size: must not be negative")),
        n => (n as u32).min(PageRequest::MAX_PER_PAGE),
    };
    if page_token.is_empty() {
        return Ok(PageRequest { page: 1, per_page });
    }
    let bad = || Status::invalid_argument("page_token: not a token this server gave for this query");
    let raw = decode(page_token).ok_or_else(bad)?;
    let [p0, p1, p2, p3, rest @ ..] = raw.as_slice() else { return Err(bad()) };
    let page = u32::from_le_bytes([*p0, *p1, *p2, *p3]);
    if rest != fingerprint(per_page, query).as_slice() || page < 2 {
        return Err(bad());
    }
    Ok(PageRequest { page, per_page })
}

/// The token of the page after `page`, or empty when there is none.
pub fn next_token(page: PageRequest, total: u64, query: &[&str]) -> String {
    if page.offset() + u64::from(page.per_page) >= total {
        return String::new();
    }
    let mut raw = (page.page + 1).to_le_bytes().to_vec();
    raw.extend_from_slice(&fingerprint(page.per_page, query));
    encode(&raw)
}

fn fingerprint(per_page: u32, query: &[&str]) -> [u8; 8] {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&per_page.to_le_bytes());
    for part in query {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.digest().to_le_bytes()
}

fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 64 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_pages_on_through_the_same_query_only() {
        let q = ["ListHosts", "tag=web", "hostname"];
        let first = page(2, "", &q).unwrap();
        assert_eq!((first.page, first.per_page), (1, 2));
        let token = next_token(first, 5, &q);
        let second = page(2, &token, &q).unwrap();
        assert_eq!(second.page, 2);
        let third = page(2, &next_token(second, 5, &q), &q).unwrap();
        assert_eq!(third.page, 3);
        assert_eq!(next_token(third, 5, &q), "", "the last page has no next");
        assert!(page(2, &token, &["ListHosts", "tag=db", "hostname"]).is_err(), "another filter");
        assert!(page(3, &token, &q).is_err(), "another page size");
        assert!(page(2, "zz", &q).is_err() && page(2, "00", &q).is_err());
        assert_eq!(page(0, "", &q).unwrap().per_page, DEFAULT_PAGE_SIZE);
        assert_eq!(page(5_000, "", &q).unwrap().per_page, 1_000);
        assert!(page(-1, "", &q).is_err());
    }
}
