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
