//! A loopback HTTP/1.1 file server for tests: serves a directory on 127.0.0.1:0 with ETag /
//! If-None-Match and Last-Modified / If-Modified-Since, records every request, follows
//! configured redirects, can require basic authentication, and can play a dead mirror
//! (connection closed, hanging, or an error status). It stops when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Accept and close at once, before reading a request; nothing is recorded.
    Down,
    /// Read the request, record it, then close the connection without a word.
    Reset,
    /// Accept and never answer (until the server is dropped).
    Hang,
    /// Answer every request with this status and an empty body.
    Status(u16),
    /// Answer 200 with a body that never ends: declaring 10 GB (`declared`), or with no
    /// length at all, streaming zeros until the client goes away.
    Endless {
        declared: bool,
    },
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub method: String,
    pub path: String,
    /// 0 when the connection was closed or left hanging instead of answered.
    pub status: u16,
    /// The request's Authorization header.
    pub authorization: Option<String>,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    hits: Vec<Hit>,
    redirects: HashMap<String, String>,
    /// The Authorization header every request must carry, when set.
    required_auth: Option<String>,
    /// Open connections, closed when the server stops (a dead mirror keeps no pooled connection).
    conns: Vec<TcpStream>,
}

pub struct FileServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FileServer {
    /// Serves `root` on 127.0.0.1 at a free port until dropped.
    pub fn start(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Normal,
            hits: Vec::new(),
            redirects: HashMap::new(),
            required_auth: None,
            conns: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (root, st, sp) = (root.to_owned(), state.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                if lock(&st).mode == Mode::Down {
                    let _ = conn.shutdown(Shutdown::Both);
                    continue;
                }
                if let Ok(c) = conn.try_clone() {
                    lock(&st).conns.push(c);
                }
                let (root, st, sp) = (root.clone(), st.clone(), sp.clone());
                std::thread::spawn(move || handle(conn, &root, &st, &sp));
            }
        });
        Self { addr, state, stop, accept: Some(accept) }
    }

    /// "http://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        lock(&self.state).mode = mode;
    }

    /// While down, connections are accepted and closed at once (`Mode::Down`).
    pub fn set_down(&self, down: bool) {
        self.set_mode(if down { Mode::Down } else { Mode::Normal });
    }

    /// Answers requests for `from` with a 302 to `to` (a path on this server or a full URL).
    pub fn redirect(&self, from: &str, to: &str) {
        lock(&self.state).redirects.insert(from.to_owned(), to.to_owned());
    }

    /// From now on, answers 401 to requests without HTTP basic authentication as `user`,
    /// `password`.
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        lock(&self.state).required_auth = Some(format!("Basic {}", base64(format!("{user}:{password}").as_bytes())));
    }

    /// Every request so far, in order.
    pub fn log(&self) -> Vec<Hit> {
        lock(&self.state).hits.clone()
    }

    /// Every request so far, as "METHOD /path STATUS".
    pub fn requests(&self) -> Vec<String> {
        self.log().into_iter().map(|h| format!("{} {} {}", h.method, h.path, h.status)).collect()
    }

    /// Requests for exactly `path` so far (any status).
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.state).hits.iter().filter(|h| h.path == path).count()
    }

    /// Requests for a path containing `fragment` so far.
    pub fn count(&self, fragment: &str) -> usize {
        lock(&self.state).hits.iter().filter(|h| h.path.contains(fragment)).count()
    }

    pub fn clear_log(&self) {
        lock(&self.state).hits.clear();
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for c in lock(&self.state).conns.drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn handle(conn: TcpStream, root: &Path, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(write_half) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    let mut out = write_half;
    loop {
        let Some(req) = read_request(&mut reader) else { return };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (mode, redirect, required_auth) = {
            let s = lock(state);
            (s.mode, s.redirects.get(&req.path).cloned(), s.required_auth.clone())
        };
        let (status, headers, body) = match mode {
            Mode::Down | Mode::Reset => {
                lock(state).hits.push(req.hit(0));
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Mode::Hang => {
                lock(state).hits.push(req.hit(0));
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Mode::Status(code) => (code, Vec::new(), Vec::new()),
            Mode::Endless { declared } => {
                lock(state).hits.push(req.hit(200));
                let length = if declared { "Content-Length: 10737418240\r\n" } else { "Connection: close\r\n" };
                if out.write_all(format!("HTTP/1.1 200 OK\r\n{length}\r\n").as_bytes()).is_err() {
                    return;
                }
                let zeros = vec![0u8; 64 * 1024];
                while !stop.load(Ordering::SeqCst) && out.write_all(&zeros).is_ok() {}
                return;
            }
            Mode::Normal if required_auth.is_some_and(|want| req.headers.get("authorization") != Some(&want)) => {
                (401, vec![("WWW-Authenticate".to_owned(), "Basic realm=\"test\"".to_owned())], Vec::new())
            }
            Mode::Normal => match redirect {
                Some(to) => (302, vec![("Location".to_owned(), to)], Vec::new()),
                None => serve_file(root, &req),
            },
        };
        lock(state).hits.push(req.hit(status));
        if respond(&mut out, status, &headers, &body, req.method == "HEAD").is_err() || req.close {
            return;
        }
    }
}

struct Request {
    method: String,
    path: String,
    close: bool,
    headers: HashMap<String, String>,
}

impl Request {
    fn hit(&self, status: u16) -> Hit {
        Hit {
            method: self.method.clone(),
            path: self.path.clone(),
            status,
            authorization: self.headers.get("authorization").cloned(),
        }
    }
}

fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.split('?').next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let close = headers.get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
    Some(Request { method, path, close, headers })
}

fn serve_file(root: &Path, req: &Request) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let not_found = (404, Vec::new(), b"not found\n".to_vec());
    let Some(file) = safe_join(root, &req.path) else { return not_found };
    let Ok(meta) = std::fs::metadata(&file) else { return not_found };
    if !meta.is_file() {
        return not_found;
    }
    let mtime = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
    let etag = format!("\"{:x}-{:x}\"", meta.len(), mtime.as_nanos());
    let validators = vec![("ETag".to_owned(), etag.clone()), ("Last-Modified".to_owned(), http_date(mtime.as_secs()))];
    let not_modified = match (req.headers.get("if-none-match"), req.headers.get("if-modified-since")) {
        (Some(inm), _) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(ims)) => parse_http_date(ims).is_some_and(|t| mtime.as_secs() <= t),
        (None, None) => false,
    };
    if not_modified {
        return (304, validators, Vec::new());
    }
    match std::fs::read(&file) {
        Ok(body) => (200, validators, body),
        Err(_) => not_found,
    }
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    head: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Status",
    };
    let mut h = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if status != 304 {
        h.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    h.push_str("\r\n");
    out.write_all(h.as_bytes())?;
    if !head && status != 304 {
        out.write_all(body)?;
    }
    out.flush()
}

/// `root` + the request path, refusing to leave `root`.
fn safe_join(root: &Path, path: &str) -> Option<PathBuf> {
    let mut out = root.to_owned();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let part = percent_decode(part);
        if part == ".." || part == "." || part.contains('/') {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// RFC 7231 date of Unix seconds, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
fn http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {d:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// Unix seconds of an RFC 7231 date ("Sun, 06 Nov 1994 08:49:37 GMT").
fn parse_http_date(s: &str) -> Option<u64> {
    let mut parts = s.split_once(',')?.1.split_ascii_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? as i64 + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + sec).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_paths() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date(&http_date(1_767_225_600)), Some(1_767_225_600));
        assert_eq!(base64(b"alice:s3cret"), "YWxpY2U6czNjcmV0");
        assert_eq!((base64(b"a"), base64(b"ab"), base64(b"abc")), ("YQ==".into(), "YWI=".into(), "YWJj".into()));
        assert_eq!(safe_join(Path::new("/r"), "/a/../b"), None);
        assert_eq!(safe_join(Path::new("/r"), "/a/b%20c"), Some(PathBuf::from("/r/a/b c")));
    }
}
