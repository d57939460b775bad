//! A small W3C WebDriver client for the end-to-end tests: it starts `tauri-driver` (which
//! starts Debian's WebKitWebDriver, which starts the real desktop app) and speaks plain
//! HTTP/1.1 with JSON to it. Only what the tests use: sessions, finding elements, clicking,
//! typing, reading text and values, and running a script.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A free loopback TCP port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One HTTP request; returns the status code and the JSON body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
    // Starting the app (a new session) can take long on a loaded 2-core machine.
    let timeout = if path == "/session" { 150 } else { 60 };
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(timeout)))
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{method} {path}: no answer: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: malformed HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload)?;
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: no status in {head:?}"))?;
    let value = if payload.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&payload).map_err(|e| format!("{method} {path}: bad JSON: {e}"))?
    };
    Ok((status, value))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunked body")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|_| "bad chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// A running tauri-driver; stopped with SIGTERM on drop (a killed one leaves WebKitWebDriver
/// holding its port).
pub struct TauriDriver {
    child: Child,
    port: u16,
    /// tauri-driver's output, with WebKitWebDriver's and the app's (for a failure message).
    log: std::path::PathBuf,
}

impl TauriDriver {
    /// Starts tauri-driver for the X display `display` and waits until it answers. `home` holds
    /// the webview's own storage (theme and language choices), private to the test.
    pub fn start(display: &str, home: &Path) -> Result<TauriDriver, String> {
        let port = free_port();
        let native = free_port();
        std::fs::create_dir_all(home).map_err(|e| format!("{}: {e}", home.display()))?;
        let log = home.join(format!("tauri-driver-{port}.log"));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", display)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| {
                format!("cannot start tauri-driver ({e}): scripts/setup.sh installs it")
            })?;
        let driver = TauriDriver { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(port, "GET", "/status", None) {
                return Ok(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("tauri-driver did not answer within 20 s".into())
    }

    /// The last lines tauri-driver, WebKitWebDriver and the app wrote.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Opens the app `application` with `args` in a new session.
    pub fn session(&self, application: &Path, args: &[String]) -> Result<Session, String> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application, "args": args}
        }}});
        let (status, v) = http(self.port, "POST", "/session", Some(&caps))?;
        let id = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session ({status}): {v}"))?
            .to_owned();
        Ok(Session {
            port: self.port,
            id,
        })
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: one running app window.
pub struct Session {
    port: u16,
    id: String,
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let full = format!("/session/{}{path}", self.id);
        let (status, v) = http(self.port, method, &full, body.as_ref())?;
        if status >= 400 {
            return Err(format!("{method} {path}: {status} {}", v["value"]));
        }
        Ok(v["value"].clone())
    }

    /// The element matching `css` now, if any.
    pub fn find(&self, css: &str) -> Result<Option<String>, String> {
        let v = self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        Ok(v.as_array()
            .and_then(|a| a.first())
            .and_then(|e| e[ELEMENT].as_str())
            .map(str::to_owned))
    }

    /// Waits up to `within` for an element matching `css`.
    pub fn wait(&self, css: &str, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.find(css)? {
                return Ok(e);
            }
            if Instant::now() >= deadline {
                return Err(format!("no element {css:?} within {} s", within.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the text of `css` contains `text`.
    pub fn wait_text(&self, css: &str, text: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let now = self.text(css).unwrap_or_default();
            if now.contains(text) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{css:?} never contained {text:?}; it says {now:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, css: &str) -> Result<(), String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})))
            .map(|_| ())
    }

    /// Types `text` into the element (keys, so the page sees input events).
    pub fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .map(|_| ())
    }

    /// Empties an input.
    pub fn clear(&self, css: &str) -> Result<(), String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})))
            .map(|_| ())
    }

    pub fn text(&self, css: &str) -> Result<String, String> {
        let e = self
            .find(css)?
            .ok_or_else(|| format!("no element {css:?}"))?;
        let v = self.call("GET", &format!("/element/{e}/text"), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The current value of an input.
    pub fn value(&self, css: &str) -> Result<String, String> {
        let e = self
            .find(css)?
            .ok_or_else(|| format!("no element {css:?}"))?;
        let v = self.call("GET", &format!("/element/{e}/property/value"), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Runs a synchronous script in the page.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Resizes the window (there is no window manager under Xvfb: it is placed at 0,0).
    pub fn set_window(&self, width: u32, height: u32) -> Result<(), String> {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({"x": 0, "y": 0, "width": width, "height": height})),
        )
        .map(|_| ())
    }

    /// Ends the session, which closes the app.
    pub fn close(self) -> Result<(), String> {
        self.call("DELETE", "", None).map(|_| ())
    }
}
