//! Repository refresh: for each enabled repository, its mirrors in turn until one answers;
//! what it has replaces the repository's contents (as set differences, in the store), the
//! hosts that use a changed repository are marked for recomputation, and every attempt is
//! recorded on the mirror (failures counted and reset on success, a mirror disabled after
//! too many in a row). The previous contents stay when every mirror fails.

mod convert;
mod progress;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::config::ReposConfig;
use crate::report::{PackageKind, UrlKind};
use crate::repos::{self, AptMirror, Fetcher, HttpConfig, Keyring, Refreshed, RepoAuth, RepoError, Seen};
use crate::store::{MirrorAttempt, MirrorResult, MirrorState, RefreshTarget, RepoStore, StoreError};

pub use self::progress::Progress;

/// What a refresh run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub repos: usize,
    /// Repositories whose contents changed.
    pub changed: usize,
    pub unchanged: usize,
    /// (repository, why) for each repository no mirror of which answered.
    pub failed: Vec<(String, RepoFailure)>,
    /// Repositories merged into another because they are the same one.
    pub merged: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Setup(#[from] RepoError),
    #[error("cannot read the password file {path}: {source}")]
    Password { path: String, source: std::io::Error },
}

/// Why no mirror of a repository answered: the last mirror's error.
#[derive(Debug, thiserror::Error)]
pub enum RepoFailure {
    #[error("no enabled mirror")]
    NoEnabledMirror,
    #[error(transparent)]
    Mirror(#[from] RepoError),
}

/// Keyring and credentials for the repositories under a URL prefix.
struct Source {
    prefix: String,
    keyring: Option<Keyring>,
    auth: Option<RepoAuth>,
}

pub struct Refresher {
    store: Arc<dyn RepoStore>,
    fetcher: Fetcher,
    /// `[repos] keyrings`, for apt repositories.
    keyring: Option<Keyring>,
    /// `[repos] rpm_keyrings`, for yum/dnf repositories' repomd.xml.
    rpm_keyring: Option<Keyring>,
    sources: Vec<Source>,
    /// `[repos] require_signed`: metadata that cannot be verified is refused.
    require_signed: bool,
    max_failures: i64,
    mirrors_per_list: usize,
}

enum Outcome {
    Changed,
    Unchanged,
}

/// How repositories (and advisory feeds) are fetched: `[repos]`'s timeouts, limits and proxy.
pub fn http_config(config: &ReposConfig) -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(config.timeout_seconds.max(1)),
        connect_timeout: Duration::from_secs(config.connect_timeout_seconds.max(1)),
        max_bytes: config.max_file_megabytes.max(1) << 20,
        max_redirects: config.max_redirects,
        proxy: config.proxy.clone(),
        ..HttpConfig::default()
    }
}

impl Refresher {
    pub fn new(store: Arc<dyn RepoStore>, config: &ReposConfig) -> Result<Self, RefreshError> {
        let http = http_config(config);
        let global = keyring(&config.keyrings)?;
        let mut sources = Vec::new();
        for s in &config.sources {
            let password = match (&s.password_file, &s.password) {
                (Some(path), _) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|source| RefreshError::Password { path: path.display().to_string(), source })?
                        .trim()
                        .to_owned(),
                ),
                (None, p) => p.clone(),
            };
            let basic = s.username.clone().map(|u| (u, password.unwrap_or_default()));
            let has_auth = basic.is_some() || s.client_cert.is_some();
            let auth = has_auth.then(|| RepoAuth {
                basic,
                client_cert_pem: s.client_cert.clone(),
                client_key_pem: s.client_key.clone(),
            });
            sources.push(Source { prefix: s.url_prefix.clone(), keyring: keyring(&s.keyrings)?, auth });
        }
        // The longest matching prefix wins.
        sources.sort_by_key(|s| std::cmp::Reverse(s.prefix.len()));
        Ok(Self {
            store,
            fetcher: Fetcher::new(&http)?,
            keyring: global,
            rpm_keyring: keyring(&config.rpm_keyrings)?,
            sources,
            require_signed: config.require_signed,
            max_failures: if config.max_mirror_failures <= 0 { i64::MAX } else { config.max_mirror_failures },
            mirrors_per_list: config.mirrors_per_list.max(1),
        })
    }

    /// Refreshes every enabled repository (or one); `force` fetches everything again.
    pub async fn run(&self, only: Option<i64>, force: bool, progress: &Progress) -> Result<Summary, RefreshError> {
        let mut targets = self.store.refresh_targets(only).await?;
        // arch and gentoo repositories are inventory only: nothing reads their metadata yet.
        targets.retain(|t| t.kind.has_updates());
        self.refresh_all(targets, force, progress).await
    }

    /// Refreshes the enabled repositories no refresh ever succeeded for: those a report
    /// named first, whose hosts' updates are unknown until then.
    pub async fn run_new(&self, progress: &Progress) -> Result<Summary, RefreshError> {
        let mut targets = self.store.refresh_targets(None).await?;
        targets.retain(|t| !t.refreshed && t.kind.has_updates());
        if targets.is_empty() {
            return Ok(Summary::default());
        }
        self.refresh_all(targets, false, progress).await
    }

    async fn refresh_all(
        &self,
        targets: Vec<RefreshTarget>,
        force: bool,
        progress: &Progress,
    ) -> Result<Summary, RefreshError> {
        progress.start(targets.len());
        let mut summary = Summary { repos: targets.len(), ..Summary::default() };
        for t in &targets {
            let started = std::time::Instant::now();
            let refreshed = self.refresh(t, force).await?;
            crate::metrics::observe("patchman_refresh_duration_seconds", &[], started.elapsed());
            match refreshed {
                Ok(Outcome::Changed) => summary.changed += 1,
                Ok(Outcome::Unchanged) => summary.unchanged += 1,
                Err(reason) => {
                    crate::metrics::count("patchman_refresh_failures_total", &[("repository", &t.name)], 1);
                    tracing::warn!(repo = t.name, %reason, "no mirror of the repository answered");
                    summary.failed.push((t.name.clone(), reason));
                }
            }
            progress.step(&t.name);
        }
        for (keep, gone) in self.store.duplicate_repos().await? {
            tracing::info!(keep, gone, "merging repositories with the same metadata");
            self.store.merge_repos(keep, gone).await?;
            summary.merged += 1;
        }
        progress.finish();
        Ok(summary)
    }

    /// One repository: its mirrors in turn. The inner error is why every mirror failed.
    async fn refresh(&self, t: &RefreshTarget, force: bool) -> Result<Result<Outcome, RepoFailure>, RefreshError> {
        let mut last_error = RepoFailure::NoEnabledMirror;
        for m in t.mirrors.iter().filter(|m| m.enabled) {
            let candidates = match m.kind {
                UrlKind::Mirrorlist | UrlKind::Metalink => match self.expand(t, m).await? {
                    Ok(found) => found,
                    Err(e) => {
                        last_error = e.into();
                        continue;
                    }
                },
                UrlKind::Baseurl | UrlKind::Apt => vec![m.clone()],
            };
            for c in candidates.iter().filter(|c| c.enabled) {
                match self.try_mirror(t, c, force).await? {
                    Ok(outcome) => return Ok(Ok(outcome)),
                    Err(e) => last_error = e.into(),
                }
            }
        }
        Ok(Err(last_error))
    }

    /// The baseurls a mirrorlist or metalink names, as mirrors of the repository.
    async fn expand(
        &self,
        t: &RefreshTarget,
        m: &MirrorState,
    ) -> Result<Result<Vec<MirrorState>, RepoError>, RefreshError> {
        let found = match m.kind {
            UrlKind::Metalink => repos::expand_metalink(&self.fetcher, &m.url, self.mirrors_per_list).await,
            _ => repos::expand_mirrorlist(&self.fetcher, &m.url, self.mirrors_per_list).await,
        };
        let now = now_ms();
        match found {
            Ok(urls) => {
                // A list of mirrors: no metadata of its own to verify.
                let answered = MirrorResult::Answered {
                    checksum: None,
                    etag: None,
                    last_modified: None,
                    valid_until_passed: false,
                    verified_by: None,
                };
                self.record(m, answered, now).await?;
                Ok(Ok(self.store.add_found_mirrors(t.repo_id, &urls, now).await?))
            }
            Err(e) => {
                self.record(m, MirrorResult::Failed { error: &e.to_string() }, now).await?;
                Ok(Err(e))
            }
        }
    }

    async fn try_mirror(
        &self,
        t: &RefreshTarget,
        m: &MirrorState,
        force: bool,
    ) -> Result<Result<Outcome, RepoError>, RefreshError> {
        let seen = if force {
            Seen::default()
        } else {
            Seen { checksum: m.checksum.clone(), etag: m.etag.clone(), last_modified: m.last_modified.clone() }
        };
        let source = self.sources.iter().find(|s| m.url.starts_with(&s.prefix));
        let global = if t.kind == PackageKind::Rpm { self.rpm_keyring.as_ref() } else { self.keyring.as_ref() };
        let keyring = source.and_then(|s| s.keyring.as_ref()).or(global);
        let auth = source.and_then(|s| s.auth.as_ref());
        if keyring.is_none() && self.require_signed && matches!(t.kind, PackageKind::Deb | PackageKind::Rpm) {
            let e = RepoError::NoKeyring { url: m.url.clone() };
            self.record(m, MirrorResult::Failed { error: &e.to_string() }, now_ms()).await?;
            return Ok(Err(e));
        }
        let fetched = match t.kind {
            PackageKind::Deb => match AptMirror::parse(&m.url) {
                Some(mirror) => repos::refresh_apt(&self.fetcher, &mirror, &seen, keyring, auth).await,
                None => Err(RepoError::Http { url: m.url.clone(), reason: "not an apt repository URL".to_owned() }),
            },
            PackageKind::Rpm => repos::refresh_yum(&self.fetcher, &m.url, &seen, keyring, auth).await,
            PackageKind::Arch | PackageKind::Gentoo => {
                return Ok(Err(RepoError::Http {
                    url: m.url.clone(),
                    reason: format!("{} repositories are not refreshed yet", t.kind.as_str()),
                }));
            }
        };
        let now = now_ms();
        match fetched {
            Err(e) => {
                self.record(m, MirrorResult::Failed { error: &e.to_string() }, now).await?;
                Ok(Err(e))
            }
            Ok(Refreshed::Unchanged { etag, last_modified }) => {
                let answered = MirrorResult::Answered {
                    checksum: None,
                    etag: etag.as_deref(),
                    last_modified: last_modified.as_deref(),
                    valid_until_passed: false,
                    verified_by: None,
                };
                self.record(m, answered, now).await?;
                Ok(Ok(Outcome::Unchanged))
            }
            Ok(Refreshed::Changed(mut snapshot)) => {
                let contents = convert::contents(&mut snapshot);
                snapshot.deb_sources = Vec::new();
                let changed = self.store.replace_repo_contents(t.repo_id, &contents, now).await?;
                if let Some(release) = &snapshot.apt {
                    let text = |v: &Option<String>| v.clone().unwrap_or_default();
                    let codename = release.codename.clone().or_else(|| release.suite.clone()).unwrap_or_default();
                    self.store
                        .set_repo_release(
                            t.repo_id,
                            &text(&release.origin),
                            &text(&release.label),
                            &codename,
                            release.security,
                        )
                        .await?;
                }
                let verified_by = snapshot.signed_by.join(",");
                let answered = MirrorResult::Answered {
                    checksum: Some(snapshot.checksum.as_str()),
                    etag: snapshot.etag.as_deref(),
                    last_modified: snapshot.last_modified.as_deref(),
                    valid_until_passed: snapshot.valid_until_passed,
                    verified_by: Some(&verified_by),
                };
                self.record(m, answered, now).await?;
                if verified_by.is_empty() {
                    tracing::warn!(
                        repo = t.name,
                        mirror = m.url,
                        "its metadata is not verified: no keyring is configured for it ([repos] keyrings, \
                         rpm_keyrings or a [[repos.source]]); set one, or require_signed to refuse such repositories"
                    );
                }
                if snapshot.valid_until_passed {
                    tracing::warn!(
                        repo = t.name,
                        mirror = m.url,
                        "the Release is past its Valid-Until; its packages are used anyway"
                    );
                }
                tracing::info!(repo = t.name, mirror = m.url, packages = contents.packages.len(), changed, "refreshed");
                Ok(Ok(if changed { Outcome::Changed } else { Outcome::Unchanged }))
            }
        }
    }

    /// Records an attempt: what the mirror answered, or why it failed.
    async fn record(&self, m: &MirrorState, result: MirrorResult<'_>, now: i64) -> Result<(), RefreshError> {
        let attempt = MirrorAttempt { mirror_id: m.id, result, max_failures: self.max_failures, now };
        if self.store.record_mirror(&attempt).await? {
            tracing::warn!(
                mirror = m.url,
                failures = self.max_failures,
                "mirror disabled after failing too often in a row"
            );
        }
        Ok(())
    }
}

fn keyring(paths: &[std::path::PathBuf]) -> Result<Option<Keyring>, RefreshError> {
    if paths.is_empty() {
        return Ok(None);
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    Ok(Some(Keyring::from_files(&refs)?))
}
