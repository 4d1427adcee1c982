//! Reads the certificate, key and client CAs again when one of the files changes (checked
//! every two seconds) or on SIGHUP. New connections use the new files; open ones keep the
//! session they have. A set of files that does not load (a key half-written, a certificate
//! that does not match it) is logged and the previous configuration stays.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::signal::unix::{SignalKind, signal};

use super::{Current, server_config};
use crate::config::TlsConfig;

const CHECK_EVERY: Duration = Duration::from_secs(2);

type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| std::fs::metadata(f).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len())))
        .collect()
}

/// Runs until the process ends.
pub async fn watch(config: TlsConfig, current: Current) {
    let files: Vec<PathBuf> = [&config.cert, &config.key, &config.client_ca].into_iter().flatten().cloned().collect();
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(err) => {
            tracing::warn!(%err, "cannot listen for SIGHUP: TLS files are reloaded when they change only");
            None
        }
    };
    let mut seen = stamp(&files);
    loop {
        let why = tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {
                let now = stamp(&files);
                if now == seen {
                    continue;
                }
                // A renewal writes the certificate and the key one after the other.
                tokio::time::sleep(Duration::from_millis(300)).await;
                "files changed"
            }
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => "SIGHUP",
        };
        seen = stamp(&files);
        match server_config(&config) {
            Ok(next) => {
                current.set(next);
                tracing::info!(why, "TLS certificate and key reloaded");
            }
            Err(err) => {
                tracing::error!(why, err = format!("{err:#}"), "cannot reload TLS files: the previous ones stay")
            }
        }
    }
}
