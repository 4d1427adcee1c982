//! Integration tests of the server: a real `patchman serve` process, a real SQLite file, real
//! clients. One test binary for the crate keeps link time down.

mod accounts_cli;
mod admin_cli;
mod bad_reports;
mod browser;
mod compat_curl;
mod compat_json;
mod compat_trust;
mod compat_upload;
mod copy_db;
mod credentials;
mod e2e;
mod enroll;
mod host_queries;
mod host_view;
mod import_patchman;
mod list_queries;
mod ops;
mod os_groups;
mod query_api;
mod query_json;
mod real_debian;
mod real_rpm;
mod refresh;
mod repo_support;
mod scale_out;
mod shutdown;
mod store_suite;
mod support;
mod tls;
mod vercmp_cli;
mod web;
mod web_bulk;
mod web_downloads;
mod web_repos;
mod web_support;
