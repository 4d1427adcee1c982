//! How commands answer: data on stdout (a line at a time; a reader that went away, as `head`
//! does, ends the process quietly with status 0), errors on stderr. Exit status 0 when done,
//! 1 on failure, 2 for a usage error or something named that does not exist (`Usage`).

use std::fmt;
use std::io::Write as _;

/// `println!` for command output.
macro_rules! outln {
    () => { $crate::cli::out::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::out::line(format_args!($($arg)*)) };
}

pub fn line(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        closed(&err);
    }
}

/// Prints `value` as pretty JSON.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from);
    if let Err(err) = written.and_then(|()| out.write_all(b"\n")) {
        closed(&err);
    }
    Ok(())
}

fn closed(err: &std::io::Error) {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("patchman: cannot write the output: {err}");
    std::process::exit(1);
}

/// A usage error or a missing thing: the message goes to stderr, the exit status is 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// `Err(Usage)` as an `anyhow::Error`.
pub fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage(message.into()).into())
}
