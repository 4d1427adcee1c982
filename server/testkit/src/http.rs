//! A loopback HTTP file server for tests: serves a directory on 127.0.0.1:0, answers
//! conditional requests (ETag / If-None-Match, Last-Modified / If-Modified-Since), records
//! every request, and can play dead.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

/// A running file server; it stops with the test process.
pub struct FileServer {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    down: Arc<AtomicBool>,
    auth: Arc<Mutex<Option<String>>>,
}

impl FileServer {
    /// Serves `root` until the process ends.
    pub fn start(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (log, down) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let auth = Arc::new(Mutex::new(None));
        let (root, log2, down2, auth2) = (root.to_owned(), log.clone(), down.clone(), auth.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, log, down, auth) = (root.clone(), log2.clone(), down2.clone(), auth2.clone());
                std::thread::spawn(move || serve(stream, &root, &log, &down, &auth));
            }
        });
        Self { addr, log, down, auth }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, as "METHOD /path STATUS".
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many requests asked for a path containing `fragment`.
    pub fn count(&self, fragment: &str) -> usize {
        self.requests().iter().filter(|r| r.split(' ').nth(1).is_some_and(|p| p.contains(fragment))).count()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// While down, connections are accepted and closed at once.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// From now on, answers 401 to requests without HTTP basic authentication as `user`,
    /// `password`.
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        let value = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        *self.auth.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
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

fn serve(stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>, down: &AtomicBool, auth: &Mutex<Option<String>>) {
    if down.load(Ordering::SeqCst) {
        return;
    }
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("/").to_owned());
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let path = target.split('?').next().unwrap_or("/");
        let required = auth.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let refused = required.is_some_and(|want| header("authorization").as_ref() != Some(&want));
        let file = safe_join(root, path).filter(|_| !refused);
        let (status, body, extra) =
            match file.as_ref().and_then(|f| std::fs::metadata(f).ok().filter(|m| m.is_file()).map(|m| (f, m))) {
                None if refused => (401, Vec::new(), "WWW-Authenticate: Basic realm=\"test\"\r\n".to_owned()),
                None => (404, Vec::new(), String::new()),
                Some((f, meta)) => {
                    let mtime =
                        meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
                    let etag = format!("\"{:x}-{:x}\"", meta.len(), mtime);
                    let modified = http_date(mtime);
                    let fresh = header("if-none-match").is_some_and(|v| v == etag)
                        || (header("if-none-match").is_none()
                            && header("if-modified-since").is_some_and(|v| v == modified));
                    let extra = format!("ETag: {etag}\r\nLast-Modified: {modified}\r\n");
                    if fresh {
                        (304, Vec::new(), extra)
                    } else {
                        let mut body = Vec::new();
                        let _ = std::fs::File::open(f).and_then(|mut h| h.read_to_end(&mut body));
                        (200, body, extra)
                    }
                }
            };
        log.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{method} {path} {status}"));
        let reason = match status {
            200 => "OK",
            304 => "Not Modified",
            401 => "Unauthorized",
            _ => "Not Found",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n{extra}Connection: keep-alive\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method != "HEAD" && stream.write_all(&body).is_err() {
            return;
        }
    }
}

/// `root` + the request path, refusing to leave `root`.
fn safe_join(root: &Path, path: &str) -> Option<PathBuf> {
    let mut out = root.to_owned();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let part = percent_decode(part);
        if part == ".." || part.contains('/') {
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
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {d:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_paths() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(base64(b"alice:s3cret"), "YWxpY2U6czNjcmV0");
        assert_eq!((base64(b"a"), base64(b"ab"), base64(b"abc")), ("YQ==".into(), "YWI=".into(), "YWJj".into()));
        assert_eq!(safe_join(Path::new("/r"), "/a/../b"), None);
        assert_eq!(safe_join(Path::new("/r"), "/a/b%20c"), Some(PathBuf::from("/r/a/b c")));
    }
}
