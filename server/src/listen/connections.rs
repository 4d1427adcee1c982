//! Open connections, counted in all and per source address; a connection over either limit
//! is closed as soon as it is accepted. Refusals are logged at most once a minute per source.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Connections {
    max: usize,
    max_per_source: usize,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    open: usize,
    by_source: HashMap<IpAddr, usize>,
    /// When a refusal for the source was last logged.
    logged: HashMap<IpAddr, Instant>,
}

/// An admitted connection; counted until dropped.
pub struct Slot {
    source: IpAddr,
    state: Arc<Mutex<State>>,
}

impl Connections {
    /// 0 means no limit.
    pub fn new(max: usize, max_per_source: usize) -> Self {
        let unlimited = |n: usize| if n == 0 { usize::MAX } else { n };
        Self { max: unlimited(max), max_per_source: unlimited(max_per_source), state: Arc::default() }
    }

    pub fn admit(&self, source: IpAddr) -> Option<Slot> {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let from_source = s.by_source.get(&source).copied().unwrap_or(0);
        let why = if s.open >= self.max {
            Some("the server's connection limit ([limits] max_connections)")
        } else if from_source >= self.max_per_source {
            Some("the connection limit per source address ([limits] max_connections_per_source)")
        } else {
            None
        };
        if let Some(why) = why {
            let now = Instant::now();
            if s.logged.len() > 10_000 {
                s.logged.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
            }
            let last = s.logged.get(&source).copied();
            if last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60)) {
                s.logged.insert(source, now);
                tracing::warn!(%source, open = s.open, from_source, "connection refused: {why}");
            }
            return None;
        }
        s.open += 1;
        *s.by_source.entry(source).or_insert(0) += 1;
        Some(Slot { source, state: self.state.clone() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.open -= 1;
        if let Some(n) = s.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                s.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Connections;

    #[test]
    fn limits_in_all_and_per_source_free_their_slots_when_dropped() {
        let c = Connections::new(3, 2);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = c.admit(a).unwrap();
        let _a2 = c.admit(a).unwrap();
        assert!(c.admit(a).is_none(), "per source");
        let _b1 = c.admit(b).unwrap();
        assert!(c.admit(b).is_none(), "in all");
        drop(a1);
        assert!(c.admit(a).is_some(), "a slot freed");
    }
}
