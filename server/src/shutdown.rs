//! The stop signal `patchman serve` gives its parts on SIGTERM or Ctrl-C: the listener stops
//! accepting, watch streams end (their clients resume elsewhere from their cursor), the job
//! runner stops between jobs. Set once, never cleared.

use tokio::sync::watch;

/// Sets the signal.
pub struct Stop(watch::Sender<bool>);

/// Waits for the signal; cheap to clone.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

pub fn channel() -> (Stop, Stopping) {
    let (tx, rx) = watch::channel(false);
    (Stop(tx), Stopping(rx))
}

impl Stop {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Stopping {
    /// A signal that never comes (the in-process app of the tests).
    pub fn never() -> Self {
        let (stop, stopping) = channel();
        std::mem::forget(stop);
        stopping
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the signal is set.
    pub async fn wait(&mut self) {
        // A dropped sender cannot set it any more: wait for ever.
        if self.0.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_signal_reaches_every_clone() {
        let (stop, stopping) = super::channel();
        let mut a = stopping.clone();
        let waiting = tokio::spawn(async move { a.wait().await });
        assert!(!stopping.is_set());
        stop.stop();
        waiting.await.unwrap();
        assert!(stopping.is_set());
    }
}
