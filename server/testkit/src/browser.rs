//! A real headless Chromium, driven over the W3C WebDriver protocol by `chromedriver` (Debian
//! packages `chromium` and `chromium-driver`, installed by `.ci/setup`). Only what the web
//! UI's tests need: open a URL, type into and click elements found by CSS selector, read the
//! page, save screenshots under `target/browser/`.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::require_tool;

/// W3C's key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session.
    pub async fn start(name: &str) -> Browser {
        let driver_bin = require_tool("chromedriver");
        require_tool("chromium");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, so that Chromium, which it starts, ends with it.
        let driver = Command::new(driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        // Plain HTTP on loopback only, but reqwest wants a TLS provider chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok();
            if let Some(r) = ready
                && let Ok(v) = r.text().await
                && serde_json::from_str::<Value>(&v).is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // The TLS test serves the UI with a throwaway CA the browser does not know.
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
            }
        }}});
        let shots = crate::target_dir().join("browser").join(name);
        std::fs::create_dir_all(&shots).unwrap();
        let mut b = Browser { driver, base, session: String::new(), http, shots };
        let v = b.call(reqwest::Method::POST, "/session", Some(caps)).await;
        b.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_owned();
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = res.status();
        let text = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {url}: {text}"));
        assert!(status.is_success(), "{method} {url}: {status} {v}");
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let v =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_owned()
    }

    /// The visible text of the first element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An attribute of the first element `css` selects.
    pub async fn attribute(&self, css: &str, name: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/attribute/{name}"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Clicks a link or a submit button and waits (up to 10 s) until the browser has left
    /// the page it was on and loaded the next one: a click returns before the navigation.
    pub async fn follow(&self, css: &str) {
        let before = self.url().await;
        self.click(css).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let state = self
                .call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({"script": "return document.readyState", "args": []})),
                )
                .await;
            if self.url().await != before && state.as_str() == Some("complete") {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "clicking {css} on {before} led nowhere within 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// Waits (up to 10 s) until the page holds `text`, as after a form that redirects back
    /// to the page it was on.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.source().await.contains(text) {
            assert!(std::time::Instant::now() < deadline, "the page never showed {text:?}: {}", self.source().await);
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// POSTs `body` (form-encoded) to `path` from the page, as a hand-made form would, with
    /// the page's session cookie; returns the answer's status.
    pub async fn post_from_page(&self, path: &str, body: &str) -> u16 {
        let script = "const done = arguments[arguments.length - 1]; \
            fetch(arguments[0], {method: 'POST', redirect: 'manual', body: arguments[1], \
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => done(r.status), e => done(String(e)));";
        let v = self
            .call(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": [path, body]})))
            .await;
        v.as_u64().unwrap_or_else(|| panic!("POST {path} from the page: {v}")) as u16
    }

    /// Saves a PNG of the viewport as `target/browser/<test>/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, base64_decode(b64.as_str().unwrap_or_default())).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver and the browser it started, all of its process group, end together.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.driver.id())]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.bytes().filter_map(val).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_what_the_encoder_made() {
        for s in [&b"a"[..], b"ab", b"abc", b"\x89PNG\r\n\x1a\n"] {
            assert_eq!(super::base64_decode(&crate::http::base64(s)), s);
        }
    }
}
