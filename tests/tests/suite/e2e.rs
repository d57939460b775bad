//! End-to-end tests of the real desktop app under a private Xvfb, driven through WebDriver
//! (Debian's WebKitWebDriver, `krizlink_tests::webdriver`): first run to a task that survives
//! a restart, bad input that keeps what was typed, drafts that survive switching screens and
//! times typed as people type them, the keyboard, and a driver that dies. The sync test puts
//! the app next to a real `krizlink-node serve` on loopback: it joins over the network from the
//! invite code, tasks written on either side appear on the other without a click, and the
//! offline banner and the unsent count tell the truth while the peer is down. The screenshots
//! are in `screens.rs`, with the shared `Desktop` from here.
//!
//! The tests take turns (one app at a time): the machines have two cores. A little over 700
//! lines because each test is one person's whole walk through the app and reads alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use krizlink_core::Timestamp;
use krizlink_tests::webdriver::{changes_nothing, free_port, read_answer_from, Driver, Session};

use krizlink_tests::staff::wait_until;
use krizlink_tests::{target_dir, workspace_bin, TempDir, Xvfb};
use serde_json::json;

/// One app at a time.
pub(crate) static TURN: Mutex<()> = Mutex::new(());

pub(crate) const PASSPHRASE: &str = "povodeň na Bečvě 2026";
/// Unlocking runs Argon2id (64 MiB, 10 passes): generous on a loaded 2-core machine.
const UNLOCK: Duration = Duration::from_secs(40);
pub(crate) const SHORT: Duration = Duration::from_secs(15);

/// A private display, a WebKitWebDriver on it, and a data dir.
pub(crate) struct Desktop {
    // Field order is drop order: the driver (and the app) before the display.
    driver: Driver,
    xvfb: Xvfb,
    pub(crate) data: TempDir,
}

impl Desktop {
    pub(crate) fn start(name: &str) -> Desktop {
        let xvfb = Xvfb::start();
        let data = TempDir::new(name);
        let driver = Driver::start(xvfb.display(), &data.path().join("home"))
            .unwrap_or_else(|e| panic!("{e}"));
        Desktop { driver, xvfb, data }
    }

    fn data_dir(&self) -> PathBuf {
        self.data.path().join("krizlink")
    }

    /// Starts the app on this data dir, the window filling the screen. If WebKitWebDriver does
    /// not start it (seen once under heavy load: no answer to the new session), the driver is
    /// restarted and the app started once more; the first failure is reported on stderr.
    pub(crate) fn open(&mut self) -> Session {
        // Sync runs in the app: on loopback only, without mDNS, so tests never meet each other.
        let args = vec![
            "--data-dir".to_owned(),
            self.data_dir().display().to_string(),
            "--listen".to_owned(),
            "/ip4/127.0.0.1/tcp/0".to_owned(),
            "--no-mdns".to_owned(),
        ];
        let app = workspace_bin("krizlink-desktop");
        let s = match self.driver.session(&app, &args) {
            Ok(s) => s,
            Err(first) => {
                eprintln!(
                    "the app did not start ({first}); restarting WebKitWebDriver once; its log:\n{}",
                    self.driver.log_tail()
                );
                self.driver = Driver::start(self.xvfb.display(), &self.data.path().join("home"))
                    .unwrap_or_else(|e| panic!("{e}"));
                self.driver.session(&app, &args).unwrap_or_else(|e| {
                    panic!(
                        "cannot open the app: {first}; then: {e}; log:\n{}",
                        self.driver.log_tail()
                    )
                })
            }
        };
        s.set_window(1280, 800).unwrap_or_else(|e| panic!("{e}"));
        s
    }

    /// Runs `krizlink-node` on this data dir; returns its stdout.
    pub(crate) fn node(&self, args: &[&str]) -> String {
        node_at(&self.data_dir(), args)
    }

    pub(crate) fn shot(&self, name: &str) {
        let path = target_dir()
            .join("e2e-screenshots")
            .join(format!("{name}.png"));
        // Let the last render and the fonts settle.
        std::thread::sleep(Duration::from_millis(500));
        let painted = self
            .xvfb
            .screenshot_when_painted(&path, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(painted, "the window looked blank in {}", path.display());
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "WebKitWebDriver and the app wrote:\n{}",
                self.driver.log_tail()
            );
        }
    }
}

/// Exit code of krizlink-node when another process holds the data dir (docs/CLI.md).
const EXIT_IN_USE: i32 = 4;

fn node_at(dir: &Path, args: &[&str]) -> String {
    // A closed app may take a moment to exit and release the data dir.
    let mut tries = 0;
    let out = loop {
        let out = Command::new(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .env("KRIZLINK_PASSPHRASE", PASSPHRASE)
            .output()
            .expect("run krizlink-node");
        tries += 1;
        if out.status.code() != Some(EXIT_IN_USE) || tries >= 100 {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        out.status.success(),
        "krizlink-node {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// RFC 3339 for now + `minutes`.
pub(crate) fn at(minutes: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(now + minutes * 60_000)
        .to_datetime()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// The local date `days` from today as the app writes it (`1. 12. 2026`).
fn local_date(days: i64) -> String {
    let out = Command::new("date")
        .args(["-d", &format!("{days} days"), "+%-d. %-m. %Y"])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub(crate) fn unlock(s: &Session) {
    s.wait("#unlock", SHORT).unwrap();
    s.type_into("#f-passphrase", PASSPHRASE).unwrap();
    s.click("#unlock-submit").unwrap();
    s.wait("#board-title", UNLOCK).unwrap();
}

#[test]
fn e2e_first_run_space_task_survive_restart_and_unlock() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-first-run");
    let s = d.open();
    s.wait("#create-identity", SHORT).unwrap();
    s.wait_text(
        "#not-classified",
        "Není určeno pro utajované informace.",
        SHORT,
    )
    .unwrap();
    d.shot("first-run-light");
    s.type_into("#f-name", "Jana Nováková").unwrap();
    s.type_into("#f-passphrase", PASSPHRASE).unwrap();
    s.wait_text("#strength", "Síla hesla: silné", SHORT)
        .unwrap();
    s.type_into("#f-again", PASSPHRASE).unwrap();
    s.click("#create-identity-submit").unwrap();
    s.wait("#create-space", UNLOCK).unwrap();
    s.type_into("#f-space_name", "Krizový štáb ORP Vsetín")
        .unwrap();
    s.click("#create-space-submit").unwrap();
    s.wait_text("#board-title", "Krizový štáb ORP Vsetín", SHORT)
        .unwrap();

    s.click("#nav-tasks").unwrap();
    let title = "Zajistit 2000 protipovodňových pytlů pro Jablůnku";
    s.type_into("#f-title", title).unwrap();
    s.type_into("#f-assignees", "ORP Vsetín").unwrap();
    s.type_into("#f-deadline", "24. 11. 2026 18:00").unwrap();
    s.click("#task-submit").unwrap();
    s.wait_text("#task-list", title, SHORT).unwrap();
    s.wait_text("#saved", "Uloženo", SHORT).unwrap();
    // The form is empty again for the next task.
    assert_eq!(s.value("#f-title").unwrap(), "");
    // Accept it and comment on it: a status move and an append-only comment.
    s.click("#task-list tbody td.task-title").unwrap();
    s.click("#move-accepted").unwrap();
    s.wait_text("#task-list", "přijat", SHORT).unwrap();
    s.type_into("#f-comment", "Pytle vyzvednout ve skladu HZS.")
        .unwrap();
    s.click("#comment-submit").unwrap();
    s.wait_text("#task-detail", "Pytle vyzvednout ve skladu HZS.", SHORT)
        .unwrap();
    s.close().unwrap();

    // A new process on the same data dir: a wrong passphrase is refused in Czech, the right
    // one unlocks, and the task is there.
    let s = d.open();
    s.wait("#unlock", SHORT).unwrap();
    s.type_into("#f-passphrase", "špatné heslo").unwrap();
    s.click("#unlock-submit").unwrap();
    s.wait_text("#unlock .form-error", "Nesprávné heslo", UNLOCK)
        .unwrap();
    s.clear("#f-passphrase").unwrap();
    s.type_into("#f-passphrase", PASSPHRASE).unwrap();
    s.click("#unlock-submit").unwrap();
    s.wait_text("#board-title", "Krizový štáb ORP Vsetín", UNLOCK)
        .unwrap();
    s.wait_text("#board", title, SHORT).unwrap();
    s.click("#nav-tasks").unwrap();
    s.wait_text("#task-list", title, SHORT).unwrap();
    s.wait_text("#task-list", "24. 11. 2026 18:00", SHORT)
        .unwrap();
    s.wait_text("#task-list", "přijat", SHORT).unwrap();
    s.click("#task-list tbody td.task-title").unwrap();
    s.wait_text("#task-detail", "Pytle vyzvednout ve skladu HZS.", SHORT)
        .unwrap();
    s.close().unwrap();
    // The same task as the engine sees it, through the CLI.
    let space = d.node(&["space", "list", "--json"]);
    let spaces: serde_json::Value = serde_json::from_str(&space).unwrap();
    let id = spaces[0]["id"].as_str().unwrap().to_owned();
    let tasks = d.node(&["task", "list", "--space", &id, "--json"]);
    assert!(tasks.contains(title), "{tasks}");
    assert!(tasks.contains("ORP Vsetín"), "{tasks}");
    assert!(tasks.contains("\"status\":\"accepted\""), "{tasks}");
}

#[test]
fn e2e_bad_input_shows_czech_messages_and_keeps_the_text() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-bad-input");
    d.node(&["init", "--name", "Petr Svoboda"]);
    d.node(&["space", "create", "Povodňová komise ORP Vsetín"]);
    let s = d.open();
    unlock(&s);

    // A task without a title and with a deadline nobody can parse.
    s.click("#nav-tasks").unwrap();
    let description = "Popis, který se nesmí ztratit: Bečva u Jablůnky";
    s.type_into("#f-description", description).unwrap();
    s.type_into("#f-deadline", "zítra ráno").unwrap();
    s.click("#task-submit").unwrap();
    s.wait_text("#f-title-error", "Toto pole je povinné.", SHORT)
        .unwrap();
    // The message shows the forms people type, with today's date as the full example.
    s.wait_text(
        "#f-deadline-error",
        &format!(
            "Zadejte datum a čas, např. zítra 18:00, 18:00, +2 h nebo {} 18:00.",
            local_date(0)
        ),
        SHORT,
    )
    .unwrap();
    assert_eq!(s.value("#f-description").unwrap(), description);
    assert_eq!(s.value("#f-deadline").unwrap(), "zítra ráno");
    assert!(s.text("#task-count").unwrap().ends_with("0 / 0"));
    d.shot("task-form-errors-light");
    // Fixing the title is enough to clear its message; the rest stays as typed.
    s.type_into("#f-title", "Uzavřít lávku").unwrap();
    assert!(s.find("#f-title-error").unwrap().is_none());
    assert_eq!(s.value("#f-deadline").unwrap(), "zítra ráno");

    // A situation report with words where numbers belong.
    s.click("#nav-reports").unwrap();
    s.type_into("#f-sender", "ORP Vsetín").unwrap();
    s.type_into("#f-evacuated", "asi dvacet").unwrap();
    s.type_into("#f-situation", "Hladina Bečvy stoupá.")
        .unwrap();
    s.click("#report-submit").unwrap();
    s.wait_text(
        "#f-evacuated-error",
        "Zadejte celé nezáporné číslo, např. 12.",
        SHORT,
    )
    .unwrap();
    assert_eq!(s.value("#f-evacuated").unwrap(), "asi dvacet");
    assert_eq!(s.value("#f-situation").unwrap(), "Hladina Bečvy stoupá.");

    // A rejection without a reason is refused next to the reason field.
    s.click("#nav-requests").unwrap();
    s.type_into("#f-requester", "ORP Vsetín").unwrap();
    s.type_into("#f-item", "čerpadla").unwrap();
    s.type_into("#f-quantity", "4").unwrap();
    s.click("#request-submit").unwrap();
    s.wait_text("#request-list", "čerpadla", SHORT).unwrap();
    s.click("#request-list button.danger").unwrap();
    s.wait_text("#request-list .field-error", "Toto pole je povinné.", SHORT)
        .unwrap();
    s.close().unwrap();
}

/// In a staff room people are interrupted: a half-typed task survives a trip to another screen
/// until it is sent or thrown away, deadlines are read as people type them ("zítra 18:00",
/// "+2 h"), and a report's sender starts as the staff instead of an empty field.
#[test]
fn e2e_drafts_survive_screens_and_times_read_as_typed() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-drafts");
    d.node(&["init", "--name", "Karel Dvořák"]);
    d.node(&["space", "create", "Krizový štáb ORP Vsetín"]);
    let s = d.open();
    unlock(&s);
    let key = |code: &str, key: &str| {
        s.execute(
            "document.dispatchEvent(new KeyboardEvent('keydown', {code: arguments[0], key: arguments[1], altKey: true, bubbles: true}));",
            json!([code, key]),
        )
        .unwrap();
    };
    s.click("#nav-tasks").unwrap();
    s.type_into("#f-title", "Objednat cisterny s pitnou vodou")
        .unwrap();
    s.type_into("#f-deadline", "zítra 18:00").unwrap();
    // Alt+4 to the journal, Alt+2 back: the draft is still there.
    key("Digit4", "4");
    s.wait("#journal-form", SHORT).unwrap();
    key("Digit2", "2");
    s.wait("#task-form", SHORT).unwrap();
    assert_eq!(
        s.value("#f-title").unwrap(),
        "Objednat cisterny s pitnou vodou"
    );
    assert_eq!(s.value("#f-deadline").unwrap(), "zítra 18:00");
    // Sent: the deadline is tomorrow 18:00, and the form is empty again. The write reloads
    // the shown space exactly once (the sync peer's note of the same write is not a second).
    let snapshots = || {
        s.execute(
            "return document.querySelector('.app').dataset.snapshots;",
            json!([]),
        )
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .parse::<u32>()
        .unwrap()
    };
    let before = snapshots();
    s.click("#task-submit").unwrap();
    s.wait_text("#task-list", "Objednat cisterny", SHORT)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(snapshots(), before + 1, "one local write, one reload");
    s.wait_text("#task-list", &format!("{} 18:00", local_date(1)), SHORT)
        .unwrap();
    assert_eq!(s.value("#f-title").unwrap(), "");
    // A draft thrown away is gone, also after a trip to another screen.
    s.type_into("#f-title", "Koncept k zahození").unwrap();
    s.click("#task-submit-discard").unwrap();
    s.wait("#task-form", SHORT).unwrap();
    assert_eq!(s.value("#f-title").unwrap(), "");
    key("Digit4", "4");
    s.wait("#journal-form", SHORT).unwrap();
    key("Digit2", "2");
    s.wait("#task-form", SHORT).unwrap();
    assert_eq!(s.value("#f-title").unwrap(), "");
    assert!(s.find("#task-submit-discard").unwrap().is_none());
    // A field emptied through WebDriver stays empty when the page renders again (the client's
    // clear tells the page, as a person's delete would).
    s.type_into("#f-title", "Smazat").unwrap();
    s.clear("#f-title").unwrap();
    key("KeyL", "l");
    s.wait_text("#nav-tasks", "Tasks", SHORT).unwrap();
    key("KeyL", "l");
    s.wait_text("#nav-tasks", "Úkoly", SHORT).unwrap();
    assert_eq!(s.value("#f-title").unwrap(), "");
    // "+2 h" is a deadline too.
    s.type_into("#f-title", "Zkontrolovat hráz").unwrap();
    s.type_into("#f-deadline", "+2 h").unwrap();
    s.click("#task-submit").unwrap();
    s.wait_text("#task-list", "Zkontrolovat hráz", SHORT)
        .unwrap();
    // A report's sender starts as the staff; the journal keeps its own draft too.
    s.click("#nav-reports").unwrap();
    // The screen shows "Načítání…" until its snapshot is there.
    s.wait("#f-sender", SHORT).unwrap();
    assert_eq!(s.value("#f-sender").unwrap(), "Krizový štáb ORP Vsetín");
    s.click("#nav-journal").unwrap();
    s.type_into("#f-text", "Rozepsaný záznam").unwrap();
    s.click("#nav-board").unwrap();
    s.wait("#board-title", SHORT).unwrap();
    s.click("#nav-journal").unwrap();
    s.wait("#journal-form", SHORT).unwrap();
    assert_eq!(s.value("#f-text").unwrap(), "Rozepsaný záznam");
    s.close().unwrap();
}

#[test]
fn e2e_keyboard_reaches_every_main_action() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-keys");
    d.node(&["init", "--name", "Eva Dvořáková"]);
    d.node(&["space", "create", "Krizový štáb Zlínského kraje"]);
    let s = d.open();
    unlock(&s);
    let key = |code: &str, key: &str, alt: bool| {
        s.execute(
            "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {code: arguments[0], key: arguments[1], altKey: arguments[2], bubbles: true}));",
            json!([code, key, alt]),
        )
        .unwrap();
    };
    let focused = || {
        s.execute(
            "return document.activeElement && document.activeElement.id;",
            json!([]),
        )
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
    };
    let wait_focus = |id: &str| {
        for _ in 0..50 {
            if focused() == id {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("focus never reached #{id}; it is on #{}", focused());
    };
    // Alt+J: the journal's quick entry; type and Enter writes it.
    key("KeyJ", "j", true);
    wait_focus("f-text");
    s.type_into("#f-text", "Volal starosta Jablůnky: voda v obci.\u{E007}")
        .unwrap();
    s.wait_text("#journal-list", "Volal starosta Jablůnky", SHORT)
        .unwrap();
    wait_focus("f-text");
    // Alt+N: a new task, title focused.
    key("KeyN", "n", true);
    wait_focus("f-title");
    // Alt+S, Alt+R: a report, a request.
    key("KeyS", "s", true);
    wait_focus("f-sender");
    key("KeyR", "r", true);
    wait_focus("f-requester");
    // Alt+1 .. Alt+9: every screen.
    for (n, id) in [
        (1, "board"),
        (2, "tasks"),
        (3, "reports"),
        (4, "journal"),
        (5, "requests"),
        (6, "incidents"),
        (7, "contacts"),
        (8, "members"),
        (9, "network"),
    ] {
        key(&format!("Digit{n}"), &n.to_string(), true);
        s.wait(&format!("main.screen-{id}"), SHORT).unwrap();
    }
    // F1: the help dialog lists the shortcuts; Esc closes it.
    key("F1", "F1", false);
    s.wait_text("#help-dialog", "Alt+J", SHORT).unwrap();
    key("Escape", "Escape", false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.find("#help-dialog").unwrap().is_none());
    // Alt+B: the projector board; Esc leaves it.
    key("KeyB", "b", true);
    s.wait("main.board-main", SHORT).unwrap();
    key("Escape", "Escape", false);
    s.wait("nav.tabs", SHORT).unwrap();
    // Alt+L: English; Alt+T: dark.
    key("KeyL", "l", true);
    s.wait_text("#nav-tasks", "Tasks", SHORT).unwrap();
    key("KeyT", "t", true);
    s.wait(".app.theme-dark", SHORT).unwrap();
    s.close().unwrap();
}

/// `krizlink-node serve` on `dir`, listening on `addr`; stopped with SIGTERM on drop.
struct Serving(std::process::Child);

impl Serving {
    fn start(dir: &Path, addr: &str) -> Serving {
        use std::io::BufRead;
        let mut child = Command::new(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", addr, "--no-mdns"])
            .env("KRIZLINK_PASSPHRASE", PASSPHRASE)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve starts");
        // The peer id, then the listen address: by then the control socket is up.
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        for _ in 0..2 {
            line.clear();
            out.read_line(&mut line).expect("serve prints its address");
        }
        assert!(line.contains("/p2p/"), "serve printed {line:?}");
        Serving(child)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn task_list_at(dir: &Path, space: &str) -> String {
    node_at(dir, &["task", "list", "--space", space, "--json"])
}

#[test]
fn e2e_app_and_a_serving_node_sync_without_a_click() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-sync");
    // The region's server node founds the space and serves on a fixed loopback port.
    let office = d.data.path().join("office-node");
    node_at(&office, &["init", "--name", "Server KŠ Zlínského kraje"]);
    let space = node_at(
        &office,
        &["space", "create", "Krizový štáb Zlínského kraje"],
    );
    let addr = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let serving = Serving::start(&office, &addr);
    let code = node_at(
        &office,
        &["invite", "create", "--space", &space, "--role", "member"],
    );
    assert!(
        code.contains('@'),
        "a serving node's code says where it is: {code}"
    );

    // The laptop: an identity, then the invite code joins over the network in one step.
    d.node(&["init", "--name", "Jana Nováková"]);
    let s = d.open();
    s.wait("#unlock", SHORT).unwrap();
    s.type_into("#f-passphrase", PASSPHRASE).unwrap();
    s.click("#unlock-submit").unwrap();
    s.wait("#join-space", UNLOCK).unwrap();
    s.type_into("#f-invite_code", &code).unwrap();
    s.click("#join-submit").unwrap();
    s.wait_text(
        "#board-title",
        "Krizový štáb Zlínského kraje",
        Duration::from_secs(60),
    )
    .unwrap();
    s.wait_text("#net-indicator", "Připojeno: 1", SHORT)
        .unwrap();

    // The node writes a task; it appears in the open list with no click.
    s.click("#nav-tasks").unwrap();
    s.wait("#task-list", SHORT).unwrap();
    let from_office = "Svolat povodňovou komisi kraje na 14:00";
    let office_task = node_at(
        &office,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            from_office,
            "--assignee",
            "ORP Vsetín",
        ],
    );
    s.wait_text("#task-list", from_office, SHORT).unwrap();

    // A task written in the app reaches the node.
    let from_laptop = "Nahlásit počet evakuovaných v Jablůnce";
    s.type_into("#f-title", from_laptop).unwrap();
    s.click("#task-submit").unwrap();
    s.wait_text("#saved", "Uloženo", SHORT).unwrap();
    wait_until("the laptop's task at the node", SHORT, || {
        task_list_at(&office, &space).contains(from_laptop)
    });

    // The network panel: the node by its member name, connected, nothing unsent. A typed
    // address that is not one gets a Czech sentence next to the field and stays as typed.
    s.click("#nav-network").unwrap();
    s.wait_text("#peer-list", "Server KŠ Zlínského kraje", SHORT)
        .unwrap();
    s.wait_text("#peer-list", "připojen", SHORT).unwrap();
    s.wait_text("#network-unsent", "Neodesláno: 0 změn", SHORT)
        .unwrap();
    s.type_into("#f-peer_address", "192.168.1.10:7470").unwrap();
    s.click("#peer-submit").unwrap();
    s.wait_text("#f-peer_address-error", "není adresa uzlu", SHORT)
        .unwrap();
    assert_eq!(s.value("#f-peer_address").unwrap(), "192.168.1.10:7470");
    s.clear("#f-peer_address").unwrap();
    s.type_into("#f-peer_address", &addr).unwrap();
    s.click("#peer-submit").unwrap();
    s.wait_text("#saved-peers", &addr, SHORT).unwrap();
    d.shot("network-peer-light");

    // The node goes down: the banner says so, and a task written now is counted as unsent.
    drop(serving);
    s.wait("#offline-banner", SHORT).unwrap();
    s.wait_text("#net-indicator", "Bez spojení", SHORT).unwrap();
    s.click("#nav-tasks").unwrap();
    let while_offline = "Zajistit náhradní zdroj pro ORP Vsetín";
    s.type_into("#f-title", while_offline).unwrap();
    s.click("#task-submit").unwrap();
    s.wait_text("#task-list", while_offline, SHORT).unwrap();
    s.wait_text("#unsent-count", "Neodesláno: 1 změna", SHORT)
        .unwrap();
    s.wait_text("#offline-banner", "Neodesláno: 1 změna", SHORT)
        .unwrap();
    d.shot("offline-light");

    // Apart, both sides move the office's task: the laptop accepts it, the node (not serving,
    // its own CLI) puts it in progress.
    s.click("#task-list tbody tr:nth-child(1) td.task-title")
        .unwrap();
    s.wait_text("#task-detail", from_office, SHORT).unwrap();
    s.click("#task-detail .actions #move-accepted").unwrap();
    s.wait_text("#unsent-count", "Neodesláno: 2 změny", SHORT)
        .unwrap();
    node_at(
        &office,
        &[
            "task",
            "status",
            &office_task,
            "in-progress",
            "--space",
            &space,
        ],
    );

    // Back up at the saved address: the app redials, the task goes out, the count is zero.
    let _serving = Serving::start(&office, &addr);
    s.wait_text("#net-indicator", "Připojeno: 1", Duration::from_secs(40))
        .unwrap();
    wait_until("the offline task at the node", SHORT, || {
        task_list_at(&office, &space).contains(while_offline)
    });
    // Both moves are shown as a conflict, and choosing one resolves it on both sides.
    s.wait("#status-conflict", SHORT).unwrap();
    s.wait_text("#task-list", "Souběžná změna", SHORT).unwrap();
    d.shot("conflict-light");
    s.click("#status-conflict #move-in-progress").unwrap();
    wait_until("the conflict resolved in the app", SHORT, || {
        s.find("#status-conflict")
            .map(|e| e.is_none())
            .unwrap_or(false)
    });
    wait_until("the resolution at the node", SHORT, || {
        let list: serde_json::Value =
            serde_json::from_str(&task_list_at(&office, &space)).unwrap_or_default();
        list.as_array().into_iter().flatten().any(|t| {
            t["title"] == from_office
                && t["status"] == "in-progress"
                && t["status_conflicts"]
                    .as_array()
                    .is_some_and(|c| c.is_empty())
        })
    });
    wait_until("the unsent count back to zero", SHORT, || {
        s.find("#unsent-count")
            .map(|e| e.is_none())
            .unwrap_or(false)
    });
    assert!(s.find("#offline-banner").unwrap().is_none());
    s.close().unwrap();
}

/// The WebDriver client reads answers by their length, chunked or to the end, and names a lost
/// or garbled one instead of guessing.
#[test]
fn webdriver_client_reads_answers_and_names_broken_ones() {
    let read = |raw: &str| read_answer_from(raw.as_bytes());
    let (s, b) = read("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}  extra").unwrap();
    assert_eq!((s, b.as_slice()), (200, b"{}  ".as_slice()));
    let chunked = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n\
                   3\r\n{\"a\r\n4;x\r\n\":1}\r\n0\r\n\r\n";
    let (s, b) = read(chunked).unwrap();
    assert_eq!((s, b.as_slice()), (404, b"{\"a\":1}".as_slice()));
    let (s, b) = read("HTTP/1.1 200 OK\r\n\r\nnull").unwrap();
    assert_eq!((s, b.as_slice()), (200, b"null".as_slice()));
    assert_eq!(read("").unwrap_err(), "connection closed without an answer");
    assert!(read("garbage\r\n\r\n")
        .unwrap_err()
        .contains("not an HTTP status line"));
    assert!(read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")
        .unwrap_err()
        .contains("connection lost in the body"));
    assert!(
        read("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n")
            .unwrap_err()
            .contains("over 64 MiB")
    );
    // Only commands that change nothing are ever sent twice.
    assert!(changes_nothing("GET", "/element/x/text"));
    assert!(changes_nothing("POST", "/elements"));
    assert!(!changes_nothing("POST", "/element/x/click"));
    assert!(!changes_nothing("POST", "/element/x/value"));
    assert!(!changes_nothing("POST", "/execute/sync"));
    assert!(!changes_nothing("DELETE", ""));
}

/// When WebKitWebDriver dies in the middle of a session, the next command fails with one line
/// that says so and quotes what the driver and the app last wrote.
#[test]
fn e2e_a_dead_driver_is_named_in_one_line() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-dead-driver");
    let s = d.open();
    s.wait("#create-identity", SHORT).unwrap();
    let pid = d.driver.pid().to_string();
    let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    let fault = s.find("#f-name").unwrap_err();
    eprintln!("the failure reads: {fault}");
    assert!(!fault.contains('\n'), "one line: {fault}");
    assert!(fault.starts_with("POST /elements: "), "{fault}");
    assert!(
        fault.contains("WebKitWebDriver exited (signal: 9"),
        "{fault}"
    );
    assert!(fault.contains("last wrote: "), "{fault}");
    // The app the dead driver started is nobody's child now: end it here.
    let _ = Command::new("pkill")
        .args(["-f", &d.data_dir().display().to_string()])
        .status();
}
