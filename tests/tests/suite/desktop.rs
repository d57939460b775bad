//! The desktop app's build path: the real binary, linked against webkit, opens a window under
//! a private X server and loads the built UI, which calls the backend and shows its answer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use krizlink_tests::{target_dir, workspace_bin, TempDir, Xvfb};

#[test]
fn desktop_app_loads_the_built_ui() {
    let xvfb = Xvfb::start();
    let home = TempDir::new("desktop-home");
    let mut app = Command::new(workspace_bin("krizlink-desktop"))
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
        .expect("the desktop app starts");
    let stdout = app.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(90));
    if ready.is_ok() {
        // The app lingers briefly after announcing itself: let the answer paint, then keep
        // what the window shows.
        std::thread::sleep(Duration::from_millis(700));
        let shot = target_dir()
            .join("e2e-screenshots")
            .join("desktop-smoke.png");
        if let Err(e) = xvfb.screenshot(&shot) {
            eprintln!("screenshot not taken: {e}");
        }
    }
    let status = app.wait().expect("the app exits");
    let mut stderr = String::new();
    if let Some(mut err) = app.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    assert_eq!(
        ready.ok().as_deref(),
        Some("krizlink-desktop: ui ready"),
        "stderr: {stderr}"
    );
    assert!(status.success(), "exit {status}; stderr: {stderr}");
}
