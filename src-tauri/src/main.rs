//! krizlink-desktop: the Tauri shell. It embeds the built UI (ui/dist) and answers the UI's
//! typed commands; it holds no logic of its own (the engine lives in krizlink-core).
//!
//! `KRIZLINK_SMOKE=1` is the build-path check used by the test suite: the app prints
//! `krizlink-desktop: ui ready` once the UI has loaded and called `ui_ready`, then exits 0;
//! if that does not happen within 60 s it says so on stderr and exits 2.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether this run is a smoke check (see the module doc).
static SMOKE: AtomicBool = AtomicBool::new(false);
/// Set once the UI has called `ui_ready`; a smoke run that has got this far never times out.
static UI_READY: AtomicBool = AtomicBool::new(false);

/// Smoke runs give the UI this long to appear before failing.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// After the UI is ready, a smoke run stays up this long so the answer gets painted and a
/// screenshot can be taken (on a loaded 2-core machine the first paint can lag by a second).
const SMOKE_LINGER: Duration = Duration::from_millis(3000);

/// Called by the UI once it is mounted; answers with the core's version.
#[tauri::command]
fn ui_ready(app: tauri::AppHandle) -> String {
    if SMOKE.load(Ordering::SeqCst) && !UI_READY.swap(true, Ordering::SeqCst) {
        println!("krizlink-desktop: ui ready");
        std::thread::spawn(move || {
            std::thread::sleep(SMOKE_LINGER);
            app.exit(0);
        });
    }
    format!("KrizLink {}", krizlink_core::VERSION)
}

/// Opens the display before Tauri does: Tauri's window layer panics when GTK cannot start,
/// and the person starting the app deserves a sentence instead of a backtrace.
#[cfg(target_os = "linux")]
fn open_display() -> Result<(), String> {
    gtk::init().map_err(|e| {
        let display = std::env::var("DISPLAY").unwrap_or_else(|_| "(DISPLAY unset)".into());
        format!("cannot open the display {display}: {e}; the desktop app needs X11 or Wayland")
    })
}

#[cfg(not(target_os = "linux"))]
fn open_display() -> Result<(), String> {
    Ok(())
}

fn main() -> ExitCode {
    if let Err(e) = open_display() {
        eprintln!("krizlink-desktop: {e}");
        return ExitCode::FAILURE;
    }
    if std::env::var("KRIZLINK_SMOKE").as_deref() == Ok("1") {
        SMOKE.store(true, Ordering::SeqCst);
        std::thread::spawn(|| {
            std::thread::sleep(SMOKE_TIMEOUT);
            if UI_READY.load(Ordering::SeqCst) {
                return;
            }
            eprintln!(
                "krizlink-desktop: the UI did not call ui_ready within {} s",
                SMOKE_TIMEOUT.as_secs()
            );
            std::process::exit(2);
        });
    }
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!("../tauri.conf.json"));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("krizlink-desktop: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}
