//! Test support for the KrizLink suite: finding the workspace's built binaries, private
//! scratch directories, a private X server (Xvfb) for the real desktop window, and a small
//! WebDriver client ([`webdriver`]) to drive it; a staff of serving nodes ([`staff`]) and the
//! hostile peers that attack one ([`adversary`]), shared by the suite and the soak benchmark.

pub mod adversary;
pub mod staff;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The path of a binary built in this workspace (`cargo build --bins` puts it beside the
/// test binary's `deps/` directory). Panics with instructions if it is missing: a test that
/// needs it must fail, not skip.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let bin = profile_dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The workspace's target directory (for artifacts such as screenshots).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<exe>")
        .to_owned()
}

/// A scratch directory removed on drop (kept if `KRIZLINK_KEEP_TEST_DIRS` is set).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("krizlink-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KRIZLINK_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A private X server on a free display; stopped on drop.
pub struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Starts `Xvfb :N` on the first free display from 90 on and waits until it accepts
    /// clients. Panics with the reason if Xvfb is not installed or does not come up.
    pub fn start() -> Xvfb {
        // Tests of one binary start their displays one at a time; the lock check below covers
        // other processes.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        for n in 90..140 {
            clear_stale_display(n);
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                || Path::new(&format!("/tmp/.X{n}-lock")).exists()
            {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start Xvfb ({e}): install the xvfb package (scripts/setup.sh does)"
                    )
                });
            let mut xvfb = Xvfb { child, display };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = xvfb.child.try_wait() {
                    break; // lost a race for this display; try the next
                }
                // The socket may be another server's that won the race for :n: ours is up only
                // when the lock names our process.
                let owner = std::fs::read_to_string(format!("/tmp/.X{n}-lock"))
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok());
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && owner == Some(xvfb.child.id())
                {
                    return xvfb;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = xvfb.child.kill();
            let _ = xvfb.child.wait();
        }
        panic!("no X display could be started with Xvfb on :90 to :139");
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// Saves a screenshot of the whole screen as PNG (ImageMagick's `import`).
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let status = Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .env("DISPLAY", &self.display)
            .status()
            .map_err(|e| format!("cannot run import (imagemagick): {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("import exited with {status}"))
        }
    }

    /// Takes screenshots into `path` until one shows more than a bare window (a painted page
    /// has many colours; an unpainted window two or three) or `within` has passed. Returns
    /// whether the last one kept looked painted.
    pub fn screenshot_when_painted(&self, path: &Path, within: Duration) -> Result<bool, String> {
        let deadline = Instant::now() + within;
        loop {
            self.screenshot(path)?;
            if colour_count(path)? > 16 {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The number of distinct colours in an image (ImageMagick's `%k`).
fn colour_count(path: &Path) -> Result<u64, String> {
    let out = Command::new("convert")
        .arg(path)
        .args(["-format", "%k", "info:"])
        .output()
        .map_err(|e| format!("cannot run convert (imagemagick): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .map_err(|_| format!("convert said {text:?} for {}", path.display()))
}

/// Removes the lock and socket of display `n` if the X server that held them is gone (a
/// killed Xvfb cannot clean up, and enough leftovers would exhaust the range).
fn clear_stale_display(n: u32) {
    let lock = format!("/tmp/.X{n}-lock");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return;
    };
    if !Path::new(&format!("/proc/{pid}")).exists() {
        let _ = std::fs::remove_file(&lock);
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM, so Xvfb removes its lock and socket; SIGKILL only if it does not go.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
