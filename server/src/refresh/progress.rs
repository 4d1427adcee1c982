//! Progress of a refresh run: a bar on a terminal, log lines otherwise.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Bar(ProgressBar),
    Log,
}

impl Progress {
    /// A bar when stderr is a terminal.
    pub fn auto() -> Self {
        if std::io::stderr().is_terminal() { Self::Bar(ProgressBar::new(0)) } else { Self::Log }
    }

    pub(super) fn start(&self, total: usize) {
        match self {
            Self::Bar(bar) => {
                bar.set_length(total as u64);
                if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
                    bar.set_style(style);
                }
            }
            Self::Log => tracing::info!(repositories = total, "refreshing repositories"),
        }
    }

    pub(super) fn step(&self, repo: &str) {
        match self {
            Self::Bar(bar) => {
                bar.set_message(repo.to_owned());
                bar.inc(1);
            }
            Self::Log => tracing::debug!(repo, "repository done"),
        }
    }

    pub(super) fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
