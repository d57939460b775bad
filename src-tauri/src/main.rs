//! krizlink-desktop: the Tauri shell. It embeds the built UI (ui/dist), runs the engine
//! (`krizlink_core::engine::node::Node`) in managed state and answers the UI's typed commands
//! (`commands`); it holds no logic of its own.
//!
//! The data dir is `--data-dir DIR`, else `KRIZLINK_DATA_DIR`, else `$XDG_DATA_HOME/krizlink`,
//! else `~/.local/share/krizlink`.
//!
//! `KRIZLINK_SMOKE=1` is the build-path check used by the test suite: the app prints
//! `krizlink-desktop: ui ready` once the UI has loaded and called `ui_ready`, then exits 0;
//! if that does not happen within 60 s it says so on stderr and exits 2.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod errors;
mod network;

use std::path::PathBuf;
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

/// The UI has mounted: a smoke run says so, lingers and exits.
fn smoke_ui_ready(app: tauri::AppHandle) {
    if SMOKE.load(Ordering::SeqCst) && !UI_READY.swap(true, Ordering::SeqCst) {
        println!("krizlink-desktop: ui ready");
        std::thread::spawn(move || {
            std::thread::sleep(SMOKE_LINGER);
            app.exit(0);
        });
    }
}

/// The data dir: `--data-dir DIR`, else the engine's default (see the module doc), the same
/// rule as `krizlink-node`.
fn data_dir() -> Result<PathBuf, String> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--data-dir" {
            return args
                .next()
                .map(PathBuf::from)
                .ok_or_else(|| "--data-dir needs a directory".to_owned());
        }
    }
    krizlink_core::engine::default_data_dir().map_err(|e| e.to_string())
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

/// Registers the commands of `commands.rs`, each named by its declaration in
/// `krizlink_core::calls`: compilation fails when a function's name is not its declared name,
/// or when a declared command is left out.
macro_rules! commands {
    ($($decl:ident => $f:ident),* $(,)?) => {{
        use krizlink_core::calls::{self, Command};
        $(
            const _: () = assert!(
                calls::same_name(<calls::$decl as Command>::NAME, stringify!($f)),
                concat!("the command ", stringify!($f), " is not declared under that name")
            );
        )*
        const _: () = assert!(
            calls::ALL.len() == [$(stringify!($f)),*].len(),
            "every command declared in krizlink_core::calls must be registered"
        );
        tauri::generate_handler![$(commands::$f),*]
    }};
}

fn main() -> ExitCode {
    // Before any thread exists: files the engine's libraries (sled) create are private too.
    krizlink_core::engine::private::restrict_umask();
    let dir = match data_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("krizlink-desktop: {e}");
            return ExitCode::FAILURE;
        }
    };
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
    let app = tauri::Builder::default()
        .manage(commands::Engine::new(dir, network::NetOptions::from_env()))
        .invoke_handler(commands!(
            UiReady => ui_ready,
            GetStatus => app_status,
            InitIdentity => init_identity,
            Unlock => unlock,
            ListSpaces => list_spaces,
            CreateSpace => create_space,
            CreateInvite => create_invite,
            RequestJoin => request_join,
            JoinNetwork => join_network,
            AcceptJoin => accept_join,
            FinishJoin => finish_join,
            NetworkStatus => network_status,
            AddPeer => add_peer,
            RemovePeer => remove_peer,
            OpenSpaceCmd => open_space,
            CreateRecord => create_record,
            EditRecordCmd => edit_record,
            MoveStatusCmd => move_status,
            AddCommentCmd => add_comment,
            RecordConflicts => record_conflicts,
            ListMembers => list_members,
            ChangeMemberCmd => change_member,
            RevokeDevice => revoke_device,
            RecordDeliveries => record_deliveries,
            KeyProgressCmd => key_progress,
            ExerciseStatusCmd => exercise_status,
            ExerciseClockCmd => exercise_clock,
            ImportSampleScenario => import_sample_scenario,
            AdHocInjectCmd => ad_hoc_inject,
            ExerciseEvaluation => exercise_evaluation,
            SaveEvaluationCmd => save_evaluation,
            ObserveCmd => observe,
            AnswerInject => answer_inject,
            SaveReportPdf => save_report_pdf,
        ))
        .build(tauri::generate_context!("../tauri.conf.json"));
    match app {
        Ok(app) => {
            app.run(|handle, event| {
                if let tauri::RunEvent::Exit = event {
                    use tauri::Manager;
                    handle.state::<commands::Engine>().close();
                }
            });
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("krizlink-desktop: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}
