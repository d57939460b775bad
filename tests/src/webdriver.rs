//! A small W3C WebDriver client for the end-to-end tests and the desktop benchmark. It starts
//! Debian's `WebKitWebDriver` itself (which starts the real desktop app) and speaks plain
//! HTTP/1.1 with JSON to it: sessions, finding elements, clicking, typing, reading text and
//! values, and running a script. Nothing else.
//!
//! **Why no `tauri-driver` in between.** tauri-driver is a proxy: it renames `tauri:options`
//! to `webkitgtk:browserOptions`, sets `TAURI_WEBVIEW_AUTOMATION=true`, and forwards each
//! request through a pooled keep-alive HTTP client. With WebKitWebDriver 2.50.6 (Debian 12,
//! late 2026) that pool breaks sessions: our request said `Connection: close`, the proxy
//! forwarded the header, WebKitWebDriver answered and closed the connection, and the proxy
//! sent the next request (often within a millisecond: find, then read text) down the same
//! connection, which the closing server answered with a TCP reset (seen in a loopback
//! capture). The proxy then dropped our connection without an answer. Both of its jobs are
//! three lines here, so this client talks to WebKitWebDriver directly, one fresh connection
//! per command that neither side reuses: there is no pool left to race.
//!
//! **Why not fantoccini or thirtyfour.** Both pool keep-alive connections (hyper), the very
//! mechanism that failed; both are async and would add an HTTP stack to the cold build. This
//! client is small, synchronous, and decides itself what is retried.
//!
//! **Faults.** A command that gets no answer says so in one line, with whether the driver is
//! still running (or how it exited) and the last lines the driver and the app wrote (the app
//! inherits the driver's output). Only commands that change nothing (finding elements, reading
//! text or a property, status) are retried, once, when the connection fails and the driver
//! still runs; a click or typing is never sent twice.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The driver binary (Debian's webkit2gtk-driver).
const DRIVER: &str = "WebKitWebDriver";
/// Largest answer accepted (a page source or a long list of elements is far smaller).
const MAX_ANSWER: usize = 64 << 20;
/// Lines of the driver's output quoted in a failure.
const TAIL_LINES: usize = 6;

/// A free loopback TCP port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A transport-level failure of one request (no HTTP answer).
struct NoAnswer(String);

/// One HTTP request on a fresh connection; returns the status code and the JSON body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Value), NoAnswer> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| NoAnswer(format!("cannot connect: {e}")))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| NoAnswer(e.to_string()))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    let body = body.map(Value::to_string);
    if let Some(body) = &body {
        request.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.as_deref().unwrap_or_default());
    (&stream)
        .write_all(request.as_bytes())
        .map_err(|e| NoAnswer(format!("cannot send: {e}")))?;
    let (status, payload) = read_answer(BufReader::new(&stream), timeout)?;
    let value = if payload.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&payload).map_err(|e| {
            NoAnswer(format!(
                "an answer that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&payload[..payload.len().min(200)])
            ))
        })?
    };
    Ok((status, value))
}

/// Reads one HTTP/1.1 answer from `r`: the status code and the body, read by its length (or
/// chunked, or to the end of the connection). Public for the suite's tests of this client.
pub fn read_answer_from(r: impl BufRead) -> Result<(u16, Vec<u8>), String> {
    read_answer(r, Duration::from_secs(60)).map_err(|e| e.0)
}

/// [`read_answer_from`] with the timeout named in its message.
fn read_answer(mut r: impl BufRead, timeout: Duration) -> Result<(u16, Vec<u8>), NoAnswer> {
    let fail = |what: &str, e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            NoAnswer(format!("no answer within {} s", timeout.as_secs()))
        } else {
            NoAnswer(format!("{what}: {e}"))
        }
    };
    let mut line = String::new();
    let n = r
        .read_line(&mut line)
        .map_err(|e| fail("connection lost", e))?;
    if n == 0 {
        return Err(NoAnswer("connection closed without an answer".into()));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| NoAnswer(format!("not an HTTP status line: {:?}", line.trim())))?;
    let mut length = None;
    let mut chunked = false;
    loop {
        line.clear();
        r.read_line(&mut line)
            .map_err(|e| fail("connection lost in the headers", e))?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse::<usize>().ok();
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)
                .map_err(|e| fail("connection lost in the body", e))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| NoAnswer(format!("bad chunk size {:?}", line.trim())))?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_ANSWER {
                return Err(NoAnswer("an answer over 64 MiB".into()));
            }
            let start = body.len();
            body.resize(start + size + 2, 0);
            r.read_exact(&mut body[start..])
                .map_err(|e| fail("connection lost in the body", e))?;
            body.truncate(start + size);
        }
    } else if let Some(length) = length {
        if length > MAX_ANSWER {
            return Err(NoAnswer("an answer over 64 MiB".into()));
        }
        body.resize(length, 0);
        r.read_exact(&mut body)
            .map_err(|e| fail("connection lost in the body", e))?;
    } else {
        r.take(MAX_ANSWER as u64)
            .read_to_end(&mut body)
            .map_err(|e| fail("connection lost in the body", e))?;
    }
    Ok((status, body))
}

/// The driver process, shared by the driver handle and its sessions (for failure messages).
struct Process {
    child: Mutex<Child>,
    /// WebKitWebDriver's output, with the app's (the app inherits it).
    log: PathBuf,
}

impl Process {
    /// "still running", or how it ended.
    fn state(&self) -> String {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match child.try_wait() {
            Ok(None) => "still running".to_owned(),
            Ok(Some(status)) => format!("exited ({status})"),
            Err(e) => format!("in an unknown state ({e})"),
        }
    }

    fn running(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        matches!(child.try_wait(), Ok(None))
    }

    /// The last `n` non-empty lines of the driver's and the app's output.
    fn tail(&self, n: usize) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    /// One line naming the failed command, the driver's state and its last output.
    fn fault(&self, method: &str, path: &str, why: &NoAnswer) -> String {
        let tail = self.tail(TAIL_LINES);
        let said = if tail.is_empty() {
            "nothing".to_owned()
        } else {
            tail.join(" ⏎ ")
        };
        format!(
            "{method} {path}: {} — {DRIVER} {}; it and the app last wrote: {said}",
            why.0,
            self.state()
        )
    }
}

/// A running WebKitWebDriver on a private port; stopped on drop (any open session first, so
/// the app it started does not outlive it).
pub struct Driver {
    process: Arc<Process>,
    port: u16,
    sessions: Arc<Mutex<Vec<String>>>,
}

impl Driver {
    /// Starts WebKitWebDriver for the X display `display` and waits until it answers. `home`
    /// holds the webview's own storage (theme and language choices), private to the test, and
    /// the driver's log; the documents the app saves go to `home/documents/KrizLink`
    /// (`XDG_DOCUMENTS_DIR`).
    pub fn start(display: &str, home: &Path) -> Result<Driver, String> {
        let port = free_port();
        std::fs::create_dir_all(home).map_err(|e| format!("{}: {e}", home.display()))?;
        let log = home.join(format!("webkitwebdriver-{port}.log"));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .arg("--host=127.0.0.1")
            .env("DISPLAY", display)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DOCUMENTS_DIR", home.join("documents"))
            // Tauri lets WebDriver automate its webview only when this is set.
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| {
                format!("cannot start {DRIVER} ({e}): install webkit2gtk-driver (scripts/setup.sh does)")
            })?;
        let driver = Driver {
            process: Arc::new(Process {
                child: Mutex::new(child),
                log,
            }),
            port,
            sessions: Arc::new(Mutex::new(Vec::new())),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if !driver.process.running() {
                break;
            }
            if let Ok((200, _)) = http(port, "GET", "/status", None, Duration::from_secs(5)) {
                return Ok(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "{DRIVER} did not answer within 20 s ({}); it wrote: {}",
            driver.process.state(),
            driver.process.tail(TAIL_LINES).join(" ⏎ ")
        ))
    }

    /// The driver's process id (for tests that take it away).
    pub fn pid(&self) -> u32 {
        self.process
            .child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .id()
    }

    /// The last lines WebKitWebDriver and the app wrote.
    pub fn log_tail(&self) -> String {
        self.process.tail(30).join("\n")
    }

    /// Opens the app `application` with `args` in a new session.
    pub fn session(&self, application: &Path, args: &[String]) -> Result<Session, String> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "webkitgtk:browserOptions": {"binary": application, "args": args}
        }}});
        // Starting the app can take long on a loaded 2-core machine.
        let (status, v) = http(
            self.port,
            "POST",
            "/session",
            Some(&caps),
            Duration::from_secs(150),
        )
        .map_err(|e| self.process.fault("POST", "/session", &e))?;
        let id = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session ({status}): {v}"))?
            .to_owned();
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id.clone());
        Ok(Session {
            port: self.port,
            id,
            process: Arc::clone(&self.process),
            sessions: Arc::clone(&self.sessions),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let open: Vec<String> =
            std::mem::take(&mut *self.sessions.lock().unwrap_or_else(|p| p.into_inner()));
        for id in open {
            if self.process.running() {
                let _ = http(
                    self.port,
                    "DELETE",
                    &format!("/session/{id}"),
                    None,
                    Duration::from_secs(10),
                );
            }
        }
        let mut child = self.process.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// One WebDriver session: one running app window.
pub struct Session {
    port: u16,
    id: String,
    process: Arc<Process>,
    sessions: Arc<Mutex<Vec<String>>>,
}

/// Whether a command changes nothing in the page, so it may be sent again after a lost
/// connection (`path` is the part after `/session/ID`).
pub fn changes_nothing(method: &str, path: &str) -> bool {
    method == "GET" || (method == "POST" && (path == "/elements" || path == "/element"))
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let full = format!("/session/{}{path}", self.id);
        let timeout = Duration::from_secs(60);
        let mut answer = http(self.port, method, &full, body.as_ref(), timeout);
        if let Err(first) = &answer {
            if changes_nothing(method, path) && self.process.running() {
                eprintln!("webdriver: {method} {path} sent again after: {}", first.0);
                std::thread::sleep(Duration::from_millis(200));
                answer = http(self.port, method, &full, body.as_ref(), timeout);
            }
        }
        let (status, v) = answer.map_err(|e| self.process.fault(method, path, &e))?;
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

    /// Waits until the text of `css` contains `text`. A driver fault ends the wait at once
    /// with its own message.
    pub fn wait_text(&self, css: &str, text: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let now = match self.find(css)? {
                // The element may be replaced between finding and reading: read again.
                Some(e) => match self.element_text(&e) {
                    Ok(text) => text,
                    Err(fault) if !self.process.running() => return Err(fault),
                    Err(_) => String::new(),
                },
                None => String::new(),
            };
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

    /// Empties an input, as a person's select-all and delete would. WebDriver's Element Clear
    /// empties the field without an `input` event, so a page that keeps typed text in its own
    /// state never hears of it and its next render puts the old text back (seen as a flaky
    /// test: the next address typed was appended to the old one). The event is sent here.
    pub fn clear(&self, css: &str) -> Result<(), String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})))?;
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                "args": [{ELEMENT: e}],
            })),
        )
        .map(|_| ())
    }

    fn element_text(&self, element: &str) -> Result<String, String> {
        let v = self.call("GET", &format!("/element/{element}/text"), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    pub fn text(&self, css: &str) -> Result<String, String> {
        let e = self
            .find(css)?
            .ok_or_else(|| format!("no element {css:?}"))?;
        self.element_text(&e)
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
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| *s != self.id);
        self.call("DELETE", "", None).map(|_| ())
    }
}
