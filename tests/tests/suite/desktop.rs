//! The desktop app's build path: the real binary, linked against webkit, opens a window under
//! a private X server and loads the built UI, which calls the backend and shows its answer.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use krizlink_tests::{target_dir, workspace_bin, TempDir, Xvfb};

/// The whole test, from starting the app to its exit (the app itself gives up after 60 s).
const OVERALL_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn desktop_app_loads_the_built_ui() {
    let deadline = Instant::now() + OVERALL_TIMEOUT;
    let bin = workspace_bin("krizlink-desktop");
    let xvfb = Xvfb::start();
    let home = TempDir::new("desktop-home");
    let mut app = Command::new(&bin)
        .env("DISPLAY", xvfb.display())
        .env("KRIZLINK_SMOKE", "1")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));

    let stdout = app.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stderr_pipe = app.stderr.take().expect("stderr is piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });

    let ready = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    if ready.is_ok() {
        // The app lingers a few seconds after announcing itself; keep the first screenshot
        // that shows the painted page (the first paint can lag behind the call on a busy
        // machine).
        let shot = target_dir()
            .join("e2e-screenshots")
            .join("desktop-smoke.png");
        let painted = xvfb.screenshot_when_painted(&shot, Duration::from_millis(2500));
        match painted {
            Ok(true) => {}
            Ok(false) => eprintln!("the window looked blank in {}", shot.display()),
            Err(e) => eprintln!("screenshot not taken: {e}"),
        }
    }

    let status = loop {
        match app.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) | Err(_) => {
                let _ = app.kill();
                let _ = app.wait();
                break None;
            }
        }
    };
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "the desktop app did not exit within {} s; stderr: {stderr}",
            OVERALL_TIMEOUT.as_secs()
        );
    };
    assert_eq!(
        ready.ok().as_deref(),
        Some("krizlink-desktop: ui ready"),
        "the UI never reported ready ({status}); stderr: {stderr}"
    );
    assert!(status.success(), "exit {status}; stderr: {stderr}");
}

/// The workspace root (the tests crate lives in `tests/`).
fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Property 8 of issue 13: the window runs under a strict content security policy. Scripts
/// come from the app itself only (plus WebAssembly compilation, which the Yew UI needs): no
/// inline or evaluated script, no remote origin; styles from the app's own stylesheet only;
/// the webview talks to nothing but Tauri's IPC. Cheap: reads the config and the UI sources;
/// `desktop_app_loads_the_built_ui` and the e2e tests show the UI still runs under it.
#[test]
fn the_desktop_app_has_a_strict_content_security_policy() {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("tauri.conf.json")).expect("tauri.conf.json");
    let conf: serde_json::Value = serde_json::from_str(&text).expect("tauri.conf.json is JSON");
    let security = &conf["app"]["security"];
    assert!(
        security["dangerousDisableAssetCspModification"].is_null()
            || security["dangerousDisableAssetCspModification"] == false,
        "Tauri must keep adding its hashes and nonces"
    );
    let csp = security["csp"]
        .as_object()
        .unwrap_or_else(|| panic!("app.security.csp must be a policy, not {}", security["csp"]));
    let sources = |directive: &str| -> Vec<String> {
        let value = csp
            .get(directive)
            .unwrap_or_else(|| panic!("the policy must name {directive}"));
        let words: Vec<String> = match value {
            serde_json::Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
            serde_json::Value::Array(list) => list
                .iter()
                .map(|v| v.as_str().expect("a source is a string").to_owned())
                .collect(),
            other => panic!("{directive} is {other}"),
        };
        assert!(!words.is_empty(), "{directive} is empty");
        words
    };
    let only = |directive: &str, allowed: &[&str]| {
        for source in sources(directive) {
            assert!(
                allowed.contains(&source.as_str()),
                "{directive} allows {source}: only {allowed:?} may be there (no 'unsafe-inline', 'unsafe-eval', remote origin or wildcard)"
            );
        }
    };
    only("default-src", &["'self'"]);
    only("script-src", &["'self'", "'wasm-unsafe-eval'"]);
    only("style-src", &["'self'"]);
    // 'self': the UI fetches its own .wasm; ipc: and http://ipc.localhost: Tauri's IPC.
    only("connect-src", &["'self'", "ipc:", "http://ipc.localhost"]);
    only("object-src", &["'none'"]);
    only("base-uri", &["'none'"]);
    for (directive, value) in csp {
        let text = value.to_string();
        for banned in ["'unsafe-inline'", "'unsafe-eval'", "https:", "http:*", "*"] {
            assert!(
                !text.split(['"', ' ', ',', '[', ']']).any(|w| w == banned),
                "{directive} allows {banned}"
            );
        }
    }

    // What the policy would block must not be in the UI: an inline script (a file instead),
    // an inline style attribute (a class instead).
    let index = std::fs::read_to_string(root.join("ui/index.html")).expect("ui/index.html");
    for tag in index.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap_or_default();
        assert!(
            open.contains("src="),
            "ui/index.html has an inline script; the policy blocks it: move it to a file"
        );
    }
    assert!(
        !index.contains("style="),
        "ui/index.html has an inline style"
    );
    let mut sources_rs = Vec::new();
    let mut dirs = vec![root.join("ui/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("ui/src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources_rs.push(path);
            }
        }
    }
    assert!(!sources_rs.is_empty(), "no UI sources found");
    for path in sources_rs {
        let code = std::fs::read_to_string(&path).expect("a UI source");
        for inline in ["set_attribute(\"style\"", " style=", "style={"] {
            assert!(
                !code.contains(inline),
                "{} sets an inline style ({inline}); style-src 'self' blocks it: use a class",
                path.display()
            );
        }
    }
}
