//! The update engine and version comparison: pure functions, no IO.
//!
//! `vercmp` orders versions exactly as dpkg and rpm do; `model` holds the engine's plain
//! inputs and outputs; `index` prepares a repository for lookups; `evaluate` finds one host's
//! updates. Nothing here can fail: odd data gives fewer verdicts, never an error.

pub mod arch;
pub mod evaluate;
pub mod hash;
pub mod index;
pub mod kernel;
pub mod memo;
pub mod model;
pub mod vercmp;

pub use evaluate::{RepoUse, evaluate, evaluate_with};
pub use index::IndexedRepo;
pub use memo::PackageMemo;
pub use model::{Erratum, HostInput, Kind, ModuleStream, Pkg, RepoData, Update, UpdateKind, Verdict, format_evr};
