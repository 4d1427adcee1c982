//! The patchman server: receives host reports over gRPC, stores them, works out which hosts
//! need which updates, and shows it all on a web UI on the same port.
//!
//! Codemap: `grpc` (edge) → `ingest` → `store` (the only SQL); `web` (edge); `cli` (admin
//! commands); `report` holds the domain types every layer shares.

pub mod access;
pub mod accounts;
pub mod advisories;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod compat;
pub mod config;
pub mod contents;
pub mod exposures;
pub mod fields;
pub mod first_admin;
pub mod fuzzing;
pub mod grpc;
pub mod ingest;
pub mod jobs;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod ops;
pub mod query;
pub mod refresh;
pub mod report;
pub mod repos;
pub mod serve;
pub mod shutdown;
pub mod store;
pub mod tls;
pub mod updates;
pub mod web;
