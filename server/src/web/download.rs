//! A list's rows as a download: CSV (RFC 4180, a header line, formula characters
//! neutralised for spreadsheets) or JSON, from the same rows the page shows.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::query::PageRequest;

/// A row of a download: the same cells in CSV as its fields in JSON.
pub trait Export: Serialize {
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// `?format=`: the page, or one of the downloads; a 400 naming the field otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
}

impl Format {
    /// The rows a request asks for: one page of the list for the page itself, every row of
    /// the same selection for a download.
    pub fn slice(self, page: PageRequest) -> PageRequest {
        if self == Self::Html { page } else { PageRequest { page: 1, per_page: u32::MAX } }
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, super::WebError> {
        match pairs.iter().rev().find(|(k, _)| k == "format").map_or("html", |(_, v)| v.as_str()) {
            "html" | "" => Ok(Self::Html),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => Err(super::WebError::BadRequest(format!("format: {other:?} is not html, csv or json"))),
        }
    }
}

/// The CSV and JSON links of the list at `path` with the query `pairs` (the page's filter),
/// flattened into a page's data for `{{> downloads}}`.
#[derive(Debug, Serialize)]
pub struct Downloads {
    pub csv: String,
    pub json: String,
}

impl Downloads {
    pub fn new(path: &str, pairs: &[(&'static str, String)]) -> Self {
        let with = |f: &str| {
            let mut p = pairs.to_vec();
            p.push(("format", f.to_owned()));
            super::format::link(path, &p)
        };
        Self { csv: with("csv"), json: with("json") }
    }
}

/// The rows as `format` (`name` names the CSV file); `None` for the page itself.
pub fn download<T: Export>(format: Format, name: &str, rows: &[T]) -> Option<Response> {
    match format {
        Format::Html => None,
        Format::Json => {
            let body = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".to_owned());
            Some(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        Format::Csv => {
            let mut out = T::COLUMNS.join(",");
            out.push_str("\r\n");
            for row in rows {
                let line: Vec<String> = row.cells().iter().map(|c| csv_cell(c)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
            let disposition = format!("attachment; filename=\"{name}.csv\"");
            Some(
                (
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                        (header::CONTENT_DISPOSITION, disposition),
                    ],
                    out,
                )
                    .into_response(),
            )
        }
    }
}

/// RFC 4180 quoting; a leading formula character is neutralised for spreadsheets.
fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd()"), "'=cmd()");
    }
}
