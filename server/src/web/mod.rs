//! The web edge: HTTP pages on the same port as gRPC. Templates and static files live in
//! `web/` at the top of the repository and are embedded in the binary; they hold no logic.
//!
//! `router` maps paths to `pages/` (one file per page), behind `guard` (security headers, and
//! a valid session for every page but `/login`); a handler returns `Result<Html, WebError>`
//! and renders through `render`, which wraps every page in `web/templates/layout.hbs`.
//! `session` has the `CurrentUser` and `Admin` extractors and `check_csrf` for forms;
//! `change` what every administrator's change shares (CSRF, audit line, redirect).

mod assets;
mod change;
mod download;
mod error;
mod format;
mod guard;
mod listing;
mod pages;
mod render;
mod router;
mod session;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use handlebars::Handlebars;

use crate::accounts::{SessionPolicy, SignInLimiter};
use crate::config::Config;
use crate::query::Clock;
use crate::refresh::Refresher;
use crate::store::{AccountStore, AdminStore, AdvisoryStore, HostQueries, Store};
use crate::updates::Updater;

pub use self::error::WebError;
pub use self::render::templates;
pub use self::router::router;
pub use self::session::{Admin, CurrentUser, check_csrf};

/// What every handler can reach.
#[derive(Clone)]
pub struct WebState {
    store: Arc<dyn HostQueries>,
    advisories: Arc<dyn AdvisoryStore>,
    admin: Arc<dyn AdminStore>,
    accounts: Arc<dyn AccountStore>,
    updater: Arc<Updater>,
    refresher: Arc<Refresher>,
    /// A refresh an administrator started from a page is running.
    refreshing: Arc<AtomicBool>,
    templates: Arc<Handlebars<'static>>,
    sign_in: Arc<SignInRules>,
    silent_after_ms: i64,
}

/// How sign-in works: session lifetimes, the rate limiter, whether cookies are `Secure`.
struct SignInRules {
    policy: SessionPolicy,
    limiter: SignInLimiter,
    secure_cookies: bool,
}

impl WebState {
    /// From the configuration: the `[web]` section, the repositories' HTTP settings (a
    /// refresh an administrator starts) and `silent_after_days` (a host that has not
    /// reported for longer is shown as silent).
    pub fn new(store: Arc<dyn Store>, updater: Arc<Updater>, config: &Config) -> anyhow::Result<Self> {
        let (web, silent_after_days) = (&config.web, config.silent_after_days);
        let sign_in = SignInRules {
            policy: web.session_policy(),
            limiter: SignInLimiter::new(
                usize::try_from(web.login_max_failures).unwrap_or(usize::MAX),
                i64::try_from(web.login_window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX),
            ),
            // Served over TLS, the cookie never travels in clear.
            secure_cookies: web.secure_cookies || config.tls.enabled(),
        };
        Ok(Self {
            refresher: Arc::new(Refresher::new(store.clone(), &config.repos)?),
            refreshing: Arc::new(AtomicBool::new(false)),
            store: store.clone(),
            advisories: store.clone(),
            admin: store.clone(),
            accounts: store,
            updater,
            templates: Arc::new(templates()?),
            sign_in: Arc::new(sign_in),
            silent_after_ms: i64::from(silent_after_days) * 86_400_000,
        })
    }

    /// Now, for the statuses a page shows.
    fn clock(&self) -> Clock {
        Clock { now_ms: crate::clock::now_ms(), silent_after_ms: self.silent_after_ms }
    }
}
