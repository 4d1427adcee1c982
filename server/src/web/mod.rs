//! The web edge: HTTP pages on the same port as gRPC. Templates and static files live in
//! `web/` at the top of the repository and are embedded in the binary; they hold no logic.
//!
//! `router` maps paths to `pages/` (one file per page), behind `guard` (the layer where
//! sign-in and CSRF checks go); a handler returns `Result<Html, WebError>` and renders through
//! `render`, which wraps every page in `web/templates/layout.hbs`.

mod assets;
mod error;
mod format;
mod guard;
mod pages;
mod render;
mod router;

use std::sync::Arc;

use handlebars::Handlebars;

use crate::query::Clock;
use crate::store::HostQueries;

pub use self::error::WebError;
pub use self::render::templates;
pub use self::router::router;

/// What every handler can reach.
#[derive(Clone)]
pub struct WebState {
    store: Arc<dyn HostQueries>,
    templates: Arc<Handlebars<'static>>,
    silent_after_ms: i64,
}

impl WebState {
    /// `silent_after_days`: a host that has not reported for longer is shown as silent.
    pub fn new(store: Arc<dyn HostQueries>, silent_after_days: u32) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            templates: Arc::new(templates()?),
            silent_after_ms: i64::from(silent_after_days) * 86_400_000,
        })
    }

    /// Now, for the statuses a page shows.
    fn clock(&self) -> Clock {
        Clock { now_ms: crate::clock::now_ms(), silent_after_ms: self.silent_after_ms }
    }
}
