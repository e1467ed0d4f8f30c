//! A small W3C WebDriver client over HTTP (chromedriver), enough for the browser flows:
//! sessions, navigation, elements, keys, scripts, screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver key codes.
pub mod keys {
    pub const BACKSPACE: &str = "\u{E003}";
    pub const CONTROL: &str = "\u{E009}";
    pub const ALT: &str = "\u{E00A}";
    pub const ARROW_UP: &str = "\u{E013}";
    pub const ENTER: &str = "\u{E007}";
    pub const F7: &str = "\u{E037}";
    pub const F8: &str = "\u{E038}";
    pub const F9: &str = "\u{E039}";
    pub const F10: &str = "\u{E03A}";
    pub const SHIFT: &str = "\u{E008}";
    /// Releases held modifier keys.
    pub const RELEASE: &str = "\u{E000}";
}

pub struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    child: Child,
}

#[derive(Clone, Debug)]
pub struct Element(String);

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// chromedriver and a Chromium/Chrome binary, or the reason they are not there.
pub fn browser_programs() -> Result<(PathBuf, PathBuf), String> {
    let driver = find_program("CHROMEDRIVER", &["chromedriver"]).ok_or("chromedriver is not on PATH")?;
    let browser = find_program("CHROMIUM", &["chromium", "chromium-browser", "google-chrome"])
        .ok_or("chromium is not on PATH")?;
    Ok((driver, browser))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Driver {
    pub async fn start(driver: &Path, browser: &Path, downloads: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok();
            if let Some(r) = ready
                && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": browser.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                         "--lang=en-GB"],
                "prefs": {"download.default_directory": downloads.to_string_lossy(),
                          "download.prompt_for_download": false},
            },
        }}});
        let mut d = Driver { http, base, session: String::new(), child };
        let v = d.raw("POST", "/session", Some(caps)).await.expect("new WebDriver session");
        d.session = v["sessionId"].as_str().expect("session id").to_string();
        d
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or(json!({}))),
        };
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let v: Value = resp.json().await.map_err(|e| e.to_string())?;
        if let Some(err) = v["value"]["error"].as_str() {
            return Err(format!("{err}: {}", v["value"]["message"].as_str().unwrap_or_default()));
        }
        Ok(v["value"].clone())
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.raw(method, &format!("/session/{}{path}", self.session), body).await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await.expect("navigate");
    }

    pub async fn current_path(&self) -> String {
        let url = self.cmd("GET", "/url", None).await.expect("url");
        let url = url.as_str().unwrap_or_default();
        url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default()
    }

    pub async fn find(&self, css: &str) -> Result<Element, String> {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await?;
        Ok(Element(v[ELEMENT_KEY].as_str().ok_or("no element id")?.to_string()))
    }

    /// Waits up to `secs` for `css` to match a displayed element.
    pub async fn wait(&self, css: &str, secs: u64) -> Element {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(e) = self.find(css).await
                && self.cmd("GET", &format!("/element/{}/displayed", e.0), None).await == Ok(json!(true))
            {
                return e;
            }
            if Instant::now() > end {
                panic!("{css:?} did not appear in {secs} s on {}{}", self.current_path().await, self.console().await);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits up to `secs` for the script (a function body returning a value) to return truthy.
    pub async fn wait_js(&self, what: &str, script: &str, secs: u64) -> Value {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            // A script error (e.g. the element is not there yet) counts as "not yet".
            let v = self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []}))).await;
            match &v {
                Ok(v) if !(v.is_null() || *v == json!(false) || *v == json!("") || *v == json!(0)) => return v.clone(),
                _ => {}
            }
            if Instant::now() > end {
                panic!(
                    "timed out after {secs} s waiting for {what} on {} (last: {v:?}){}",
                    self.current_path().await,
                    self.console().await
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The browser console so far (to explain a failure).
    pub async fn console(&self) -> String {
        match self.cmd("POST", "/se/log", Some(json!({"type": "browser"}))).await {
            Ok(Value::Array(entries)) => {
                entries.iter().map(|e| format!("\n  console: {}", e["message"].as_str().unwrap_or_default())).collect()
            }
            _ => String::new(),
        }
    }

    pub async fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), None).await.expect("click");
    }

    /// Clicks, tolerating a dialog the click opens (the answer then says so).
    pub async fn click_opening_dialog(&self, e: &Element) {
        let _ = self.cmd("POST", &format!("/element/{}/click", e.0), None).await;
    }

    pub async fn click_css(&self, css: &str, secs: u64) {
        let e = self.wait(css, secs).await;
        self.click(&e).await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.cmd("POST", &format!("/element/{}/value", e.0), Some(json!({"text": text}))).await.expect("send keys");
    }

    pub async fn text(&self, e: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", e.0), None).await.expect("text").as_str().unwrap_or("").into()
    }

    /// Runs a function body with `arguments`; returns its result.
    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args}))).await.expect("script")
    }

    /// Holds `key` down for `ms` milliseconds, then releases it (W3C actions: a real
    /// keydown, a pause and a keyup, which send keys cannot give).
    pub async fn hold_key(&self, key: &str, ms: u64) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "pause", "duration": ms}, {"type": "keyUp", "value": key}]}]});
        self.cmd("POST", "/actions", Some(actions)).await.expect("key actions");
    }

    /// Runs an async function body whose last argument is the callback to call with the result.
    pub async fn js_async(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": args}))).await.expect("async script")
    }

    /// The text of the open `alert`/`confirm` dialog, waiting up to `secs` for one.
    pub async fn dialog_text(&self, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(v) = self.cmd("GET", "/alert/text", None).await {
                return v.as_str().unwrap_or_default().to_string();
            }
            assert!(Instant::now() < end, "no dialog opened within {secs} s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn dialog_open(&self) -> bool {
        self.cmd("GET", "/alert/text", None).await.is_ok()
    }

    /// Answers the open dialog: OK (`accept`) or Cancel.
    pub async fn answer_dialog(&self, accept: bool) {
        let path = if accept { "/alert/accept" } else { "/alert/dismiss" };
        self.cmd("POST", path, None).await.expect("answer the dialog");
    }

    /// Chromium's network emulation: offline, or online with an upload rate (bytes/s).
    pub async fn network(&self, offline: bool, upload_bytes_per_second: i64) {
        let conditions = json!({"network_conditions": {"offline": offline, "latency": 1,
            "download_throughput": 10_000_000, "upload_throughput": upload_bytes_per_second}});
        self.cmd("POST", "/chromium/network_conditions", Some(conditions)).await.expect("network conditions");
    }

    pub async fn window_size(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height}))).await.expect("window size");
    }

    pub async fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "/screenshot", None).await.expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).expect("base64");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // End the session (which closes Chromium) from a plain thread, as Drop may run inside
        // the runtime; then stop chromedriver.
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build();
                if let Ok(c) = client {
                    let _ = c.delete(url).send();
                }
            })
            .join();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
