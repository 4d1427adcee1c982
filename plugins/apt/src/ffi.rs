//! The C ABI of `libpatchman_report.so`; `include/patchman_report.h` documents it for callers.
//!
//! Rules kept here: handles are opaque boxes; every string comes with its length (no NUL
//! needed, need not be NUL-terminated) and must be UTF-8; output goes to a caller's buffer of
//! a given capacity; no panic crosses the boundary (each entry point catches unwinding and
//! returns `PATCHMAN_ERR_PANIC`); nothing here prints.

use std::ffi::{c_char, c_int};
use std::fs::File;
use std::io::Read;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use libreport::hooks::{self, ClientConfig};
use libreport::model::{ChangeAction, PackageChange, Trigger};

use crate::hook;

pub const PATCHMAN_OK: c_int = 0;
pub const PATCHMAN_ERR_NULL: c_int = -1;
pub const PATCHMAN_ERR_ARGUMENT: c_int = -2;
pub const PATCHMAN_ERR_FAILED: c_int = -3;
pub const PATCHMAN_ERR_PANIC: c_int = -4;

/// What a `patchman_reporter *` points to.
#[derive(Debug)]
pub struct Reporter {
    inner: hooks::Reporter,
    /// Why the configuration file could not be read; reported by `patchman_report`.
    config_error: Option<String>,
    last_error: String,
}

type Failure = (c_int, String);

fn argument(message: impl Into<String>) -> Failure {
    (PATCHMAN_ERR_ARGUMENT, message.into())
}

/// The `len` bytes at `ptr` as text. A zero length needs no pointer.
fn text<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str, Failure> {
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err((PATCHMAN_ERR_NULL, format!("{what}: null pointer with length {len}")));
    }
    #[allow(unsafe_code)]
    // SAFETY: the header requires `ptr` to point to `len` readable bytes that stay unchanged
    // for the duration of the call; null was excluded above.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|_| argument(format!("{what}: not UTF-8")))
}

/// Copies `s` into `buf` (at most `cap - 1` bytes, cut at a character boundary, then a NUL)
/// and returns the length of all of `s`, like snprintf.
fn copy_out(s: &str, buf: *mut c_char, cap: usize) -> usize {
    if !buf.is_null() && cap > 0 {
        let mut n = s.len().min(cap - 1);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        #[allow(unsafe_code)]
        // SAFETY: the header requires `buf` to point to `cap` writable bytes; we write n + 1
        // <= cap of them, from a source that cannot overlap a caller's buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    s.len()
}

/// Runs `f` on the handle, catching panics and keeping the error message.
fn with_reporter(h: *mut Reporter, f: impl FnOnce(&mut Reporter) -> Result<(), Failure>) -> c_int {
    if h.is_null() {
        return PATCHMAN_ERR_NULL;
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        #[allow(unsafe_code)]
        // SAFETY: a non-null handle comes from `patchman_reporter_new` and has not been freed,
        // and the header allows one thread at a time per handle: this is the only reference.
        let reporter = unsafe { &mut *h };
        f(reporter)
    }));
    #[allow(unsafe_code)]
    // SAFETY: as above; the closure's reference ended with the closure.
    let reporter = unsafe { &mut *h };
    match result {
        Ok(Ok(())) => {
            reporter.last_error.clear();
            PATCHMAN_OK
        }
        Ok(Err((code, message))) => {
            reporter.last_error = message;
            code
        }
        Err(_) => {
            reporter.last_error = "internal error in libpatchman_report (a bug; please report it)".into();
            PATCHMAN_ERR_PANIC
        }
    }
}

/// See `patchman_reporter_new` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_reporter_new(config_path: *const c_char, config_path_len: usize) -> *mut Reporter {
    let made = catch_unwind(|| {
        let (config, config_error) = match text(config_path, config_path_len, "config_path") {
            Ok(path) => {
                let path = (!path.is_empty()).then(|| Path::new(path));
                match ClientConfig::load(path) {
                    Ok(config) => (config, None),
                    Err(e) => (ClientConfig::default(), Some(e.to_string())),
                }
            }
            Err((_, message)) => (ClientConfig::default(), Some(message)),
        };
        Box::new(Reporter { inner: hooks::Reporter::new(config, "apt"), config_error, last_error: String::new() })
    });
    made.map_or(std::ptr::null_mut(), Box::into_raw)
}

/// See `patchman_reporter_free` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_reporter_free(h: *mut Reporter) {
    if h.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a non-null handle comes from `patchman_reporter_new` (Box::into_raw) and the
        // header forbids using it after this call, so the box is freed exactly once.
        drop(unsafe { Box::from_raw(h) });
    }));
}

/// See `patchman_reporter_set` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_reporter_set(
    h: *mut Reporter,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
) -> c_int {
    with_reporter(h, |r| {
        let key = text(key, key_len, "key")?;
        let value = text(value, value_len, "value")?;
        match key {
            "tool" if !value.trim().is_empty() => r.inner.set_tool(value.trim()),
            "tool" => return Err(argument("tool: must not be empty")),
            "status_hint" => r.inner.set_status_hint(value),
            _ => r.inner.config_mut().set(key, value).map_err(|e| argument(e.to_string()))?,
        }
        Ok(())
    })
}

/// See `patchman_record_change` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code, clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_record_change(
    h: *mut Reporter,
    action: c_int,
    name: *const c_char,
    name_len: usize,
    arch: *const c_char,
    arch_len: usize,
    old_version: *const c_char,
    old_version_len: usize,
    new_version: *const c_char,
    new_version_len: usize,
) -> c_int {
    with_reporter(h, |r| {
        let action = match action {
            1 => ChangeAction::Installed,
            2 => ChangeAction::Upgraded,
            3 => ChangeAction::Downgraded,
            4 => ChangeAction::Removed,
            5 => ChangeAction::Reinstalled,
            other => return Err(argument(format!("action: unknown value {other}"))),
        };
        let name = text(name, name_len, "name")?;
        if name.trim().is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(argument("name: must be one non-empty word"));
        }
        r.inner.record(PackageChange {
            action,
            name: name.to_owned(),
            arch: text(arch, arch_len, "arch")?.trim().to_owned(),
            old_version: text(old_version, old_version_len, "old_version")?.trim().to_owned(),
            new_version: text(new_version, new_version_len, "new_version")?.trim().to_owned(),
        });
        Ok(())
    })
}

/// See `patchman_report` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_report(h: *mut Reporter, trigger: c_int) -> c_int {
    with_reporter(h, |r| {
        let trigger = match trigger {
            1 => Trigger::Timer,
            2 => Trigger::Transaction,
            3 => Trigger::Manual,
            other => return Err(argument(format!("trigger: unknown value {other}"))),
        };
        if let Some(err) = &r.config_error {
            return Err((PATCHMAN_ERR_FAILED, format!("configuration: {err}")));
        }
        r.inner.report(trigger).map(drop).map_err(|e| (PATCHMAN_ERR_FAILED, e.to_string()))
    })
}

/// See `patchman_run_hook` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`;
/// `input_fd` is an open file descriptor, or negative.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_run_hook(
    h: *mut Reporter,
    command: *const c_char,
    command_len: usize,
    input_fd: c_int,
) -> c_int {
    with_reporter(h, |r| {
        let command = text(command, command_len, "command")?;
        let command = hook::Command::parse(command).ok_or_else(|| {
            argument(format!("command: {command:?} is none of pre-install-pkgs, post-invoke, dpkg-post-invoke"))
        })?;
        // apt's information stream is read only by pre-install-pkgs, and always to its end:
        // apt must never write into a closed pipe.
        let input: Box<dyn Read> = if command == hook::Command::PreInstallPkgs && input_fd >= 0 {
            // SAFETY: the header requires `input_fd` to be an open descriptor for the duration
            // of the call; ManuallyDrop leaves closing it to the caller.
            let file = ManuallyDrop::new(unsafe { File::from_raw_fd(input_fd) });
            Box::new(BorrowedInput(file))
        } else {
            Box::new(std::io::empty())
        };
        if let Some(err) = &r.config_error {
            let _ = std::io::copy(&mut { input }, &mut std::io::sink());
            return Err((PATCHMAN_ERR_FAILED, format!("configuration: {err}")));
        }
        let config = r.inner.config().clone();
        hook::run(command, config, &hook::Env::from_process(), input).map_err(|e| (PATCHMAN_ERR_FAILED, e.to_string()))
    })
}

/// A caller's file descriptor, read but never closed.
struct BorrowedInput(ManuallyDrop<File>);

impl Read for BorrowedInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// See `patchman_last_error` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_last_error(h: *const Reporter, buf: *mut c_char, cap: usize) -> usize {
    if h.is_null() {
        return copy_out("", buf, cap);
    }
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a non-null handle comes from `patchman_reporter_new` and has not been freed;
        // we only read it, and the header allows one thread at a time per handle.
        let reporter = unsafe { &*h };
        copy_out(&reporter.last_error, buf, cap)
    }))
    .unwrap_or(0)
}

/// See `patchman_version` in the header.
///
/// # Safety
///
/// Pointers and lengths as the header says: each (pointer, length) pair names readable
/// bytes, output buffers `cap` writable bytes, handles come from `patchman_reporter_new`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn patchman_version(buf: *mut c_char, cap: usize) -> usize {
    catch_unwind(|| copy_out(env!("CARGO_PKG_VERSION"), buf, cap)).unwrap_or(0)
}
