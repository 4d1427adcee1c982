//! The spool: what the host has not delivered yet, on disk under `<state-dir>/spool/`, so that
//! nothing is lost when the server is down or slow, the sender is killed or the disk fills.
//!
//! - `state.json`: the newest full state not yet delivered (a [`Report`] without
//!   transactions). Replaced only by a newer one (`generated_at_ms`): newest wins.
//! - `sent.json`: the last state the server acknowledged. It carries transaction records to
//!   the server when no newer state waits, and is the "before" of a diff.
//! - `tx-<seq>-<transaction id>.json`: one transaction record each. `seq` is zero-padded and
//!   one more than the highest record present, so names sort in the order the transactions
//!   happened.
//! - `write.lock`: held (flock) by a writer for the milliseconds it needs to pick a sequence
//!   number and write; a snapshot for delivery takes it too, so it sees whole records in order.
//! - `deliver.lock`: held by the one process delivering; hooks never wait for it.
//! - `dropped`: how many transaction records were refused because the spool was full.
//!
//! Every file is written under a temporary name, synced, renamed over the old one, and the
//! directory synced (once per call): a crash or a full disk leaves the old file or the new
//! one, never a part. A writer removes temporary files a crash left behind. Records are
//! removed only after the server acknowledged them; sending one twice is harmless because the
//! server stores each transaction id once.
//!
//! Bounds: at most [`SpoolLimits::max_records`] records and [`SpoolLimits::max_bytes`] bytes
//! of them. A full spool refuses new records (counted in `dropped`) rather than dropping old
//! ones, and still replaces the state, so the server always gets the current package set.

pub mod deliver;

use std::fs::{self, File, TryLockError};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::model::{Report, Transaction};
use crate::state::write_atomic;

const STATE: &str = "state.json";
const SENT: &str = "sent.json";
const WRITE_LOCK: &str = "write.lock";
const DELIVER_LOCK: &str = "deliver.lock";
const DROPPED: &str = "dropped";
const RECORD_PREFIX: &str = "tx-";
const RECORD_SUFFIX: &str = ".json";
/// How long a writer waits for another writer (which needs milliseconds) before giving up.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(3);

/// How much the spool may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    /// Transaction records; the server takes at most 10,000 in one report.
    pub max_records: usize,
    /// Total size of the transaction record files.
    pub max_bytes: u64,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        Self { max_records: 10_000, max_bytes: 50 << 20 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("spool {0} is locked by another process for too long")]
    Busy(PathBuf),
}

pub type SpoolResult<T> = Result<T, SpoolError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |error| SpoolError::Io { path: path.to_owned(), error }
}

/// The spool directory. Cheap to create; every method takes the locks it needs.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
}

/// What [`Spool::add`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The file name of the new transaction record.
    pub record: Option<String>,
    /// Whether the state given replaced the spooled one (false when the spooled one is newer).
    pub state_replaced: bool,
    /// A transaction record was refused: the spool is full.
    pub refused: bool,
}

/// One spooled transaction record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub bytes: u64,
    pub transaction: Transaction,
}

/// A consistent view of what waits for delivery.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    /// The state to send: the newest undelivered one, else the last delivered one (which then
    /// only carries the records). `None` when neither exists.
    pub state: Option<Report>,
    /// Whether `state` has not been delivered yet.
    pub state_is_new: bool,
    /// Transaction records in the order they happened.
    pub records: Vec<Record>,
    /// Records that could not be parsed, moved aside as `bad-<name>` (never sent).
    pub quarantined: Vec<String>,
}

impl Pending {
    /// Whether anything waits: a new state or a record.
    pub fn is_empty(&self) -> bool {
        !self.state_is_new && self.records.is_empty()
    }
}

/// Held while delivering; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DeliveryLock {
    _file: File,
}

impl Spool {
    /// Opens (creating, mode 0700) the spool directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> SpoolResult<Self> {
        let dir = dir.into();
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io_err(&dir))?;
        Ok(Self { dir, limits: SpoolLimits::default() })
    }

    /// The spool of a state directory: `<state_dir>/spool`.
    pub fn in_state_dir(state_dir: &Path) -> SpoolResult<Self> {
        Self::open(state_dir.join("spool"))
    }

    pub fn with_limits(mut self, limits: SpoolLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a state (kept only if newer than the spooled one) and a transaction record.
    /// Returns once both are on disk. When the spool is full the record is refused and
    /// counted; the state is still written.
    pub fn add(&self, state: Option<&Report>, transaction: Option<&Transaction>) -> SpoolResult<Added> {
        let _lock = self.lock_file(WRITE_LOCK, WRITE_LOCK_WAIT)?.ok_or_else(|| SpoolError::Busy(self.dir.clone()))?;
        self.remove_temporaries();
        let mut added = Added { record: None, state_replaced: false, refused: false };
        if let Some(t) = transaction {
            let names = self.record_names()?;
            let bytes: u64 = names.iter().map(|n| fs::metadata(self.dir.join(n)).map_or(0, |m| m.len())).sum();
            let data = serde_json::to_vec(t).expect("plain data serialises to JSON");
            if names.len() >= self.limits.max_records || bytes + data.len() as u64 > self.limits.max_bytes {
                self.count_dropped();
                added.refused = true;
            } else {
                let seq = names.last().and_then(|n| record_seq(n)).map_or(1, |s| s + 1);
                let name = format!("{RECORD_PREFIX}{seq:010}-{}{RECORD_SUFFIX}", file_safe(&t.transaction_id));
                let path = self.dir.join(&name);
                write_synced(&path, &data).map_err(io_err(&path))?;
                added.record = Some(name);
            }
        }
        if let Some(report) = state {
            let newer = match read_json::<Report>(&self.dir.join(STATE)) {
                Ok(Some(old)) => report.generated_at_ms > old.generated_at_ms,
                Ok(None) | Err(_) => true,
            };
            if newer {
                let mut report = report.clone();
                report.transactions.clear();
                let data = serde_json::to_vec(&report).expect("plain data serialises to JSON");
                let path = self.dir.join(STATE);
                write_synced(&path, &data).map_err(io_err(&path))?;
                added.state_replaced = true;
            }
        }
        // One directory sync makes both renames durable.
        if added.record.is_some() || added.state_replaced {
            File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io_err(&self.dir))?;
        }
        Ok(added)
    }

    /// What waits for delivery, read while no writer is busy.
    pub fn pending(&self) -> SpoolResult<Pending> {
        let _lock = self.lock_file(WRITE_LOCK, WRITE_LOCK_WAIT)?.ok_or_else(|| SpoolError::Busy(self.dir.clone()))?;
        let mut pending = Pending::default();
        match read_json::<Report>(&self.dir.join(STATE)) {
            Ok(Some(state)) => {
                pending.state = Some(state);
                pending.state_is_new = true;
            }
            // An unreadable state (only by hand or disk damage) is replaced by the next one.
            Ok(None) | Err(_) => pending.state = read_json(&self.dir.join(SENT)).ok().flatten(),
        }
        for name in self.record_names()? {
            let path = self.dir.join(&name);
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            match serde_json::from_slice::<Transaction>(&bytes) {
                Ok(transaction) => pending.records.push(Record { name, bytes: bytes.len() as u64, transaction }),
                Err(_) => {
                    let _ = fs::rename(&path, self.dir.join(format!("bad-{name}")));
                    pending.quarantined.push(name);
                }
            }
        }
        Ok(pending)
    }

    /// The newest state the spool knows, delivered or not: the "before" of the next diff.
    pub fn last_state(&self) -> Option<Report> {
        read_json(&self.dir.join(STATE)).ok().flatten().or_else(|| read_json(&self.dir.join(SENT)).ok().flatten())
    }

    /// Forgets what the server acknowledged: the records named, and the new state if it is
    /// still the one with `state_id` (a newer one that arrived meanwhile stays).
    pub fn mark_delivered(&self, state_id: Option<&str>, records: &[String]) -> SpoolResult<()> {
        let _lock = self.lock_file(WRITE_LOCK, WRITE_LOCK_WAIT)?.ok_or_else(|| SpoolError::Busy(self.dir.clone()))?;
        for name in records {
            let path = self.dir.join(name);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        if let Some(id) = state_id {
            let state = self.dir.join(STATE);
            if read_json::<Report>(&state).ok().flatten().is_some_and(|s| s.report_id == id) {
                fs::rename(&state, self.dir.join(SENT)).map_err(io_err(&state))?;
            }
        }
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io_err(&self.dir))
    }

    /// Takes the delivery lock, waiting up to `wait` (zero: try once). `None`: another
    /// process is delivering.
    pub fn lock_delivery(&self, wait: Duration) -> SpoolResult<Option<DeliveryLock>> {
        Ok(self.lock_file(DELIVER_LOCK, wait)?.map(|file| DeliveryLock { _file: file }))
    }

    /// How many transaction records were refused because the spool was full, ever.
    pub fn dropped(&self) -> u64 {
        fs::read_to_string(self.dir.join(DROPPED)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    fn count_dropped(&self) {
        // Best effort: on a full disk the count may stay behind, the state still goes out.
        let _ = write_atomic(&self.dir.join(DROPPED), format!("{}\n", self.dropped() + 1).as_bytes(), 0o600);
    }

    /// Names of the transaction records, sorted (= in order).
    fn record_names(&self) -> SpoolResult<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            if let Some(name) = entry.file_name().to_str()
                && name.starts_with(RECORD_PREFIX)
                && name.ends_with(RECORD_SUFFIX)
                && record_seq(name).is_some()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes `.<name>.<pid>.tmp` files: only a writer holding the write lock makes them, so
    /// any found by another writer were left by a crash.
    fn remove_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// flock(LOCK_EX) on `<dir>/<name>`, polled until `wait` has passed.
    fn lock_file(&self, name: &str, wait: Duration) -> SpoolResult<Option<File>> {
        let path = self.dir.join(name);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
    }
}

/// [`write_atomic`] without the directory sync, for a caller that syncs the directory once
/// after several files: a temporary file, synced, renamed over `path`; removed on failure
/// (a full disk leaves the old file).
fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The sequence number in `tx-<seq>-<id>.json`.
fn record_seq(name: &str) -> Option<u64> {
    name.strip_prefix(RECORD_PREFIX)?.split('-').next()?.parse().ok()
}

/// A transaction id made safe for a file name (ids are hex; anything else is replaced).
fn file_safe(id: &str) -> String {
    id.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, ()> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| ()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests;
