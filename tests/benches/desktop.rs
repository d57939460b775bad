//! Desktop benchmarks (a program that prints figures, not a timed test), against the real app
//! under a private Xvfb, driven through WebDriver like the end-to-end tests:
//!
//! 1. cold start until the board is interactive: app start to the unlock screen, and unlock to
//!    the board (the person's typing is not counted; Argon2id is);
//! 2. a space of 10,000 tasks: unlock to the board, opening the task list, filtering as you
//!    type (one keystroke = input event to the next painted frame, measured in the page), and
//!    a local write back on screen (the click on "Vytvořit úkol" to the list's count showing
//!    the new task), next to the engine's durable write alone.
//!
//! Run: `cargo build --release --workspace --exclude krizlink-ui --bins` and then
//! `cargo bench -p krizlink-tests --bench desktop` (the binaries come from `target/release`;
//! `KRIZLINK_BIN_DIR` points elsewhere). Needs Xvfb and WebKitWebDriver
//! (`scripts/setup.sh`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use krizlink_core::engine::node::Node;
use krizlink_tests::webdriver::{Driver, Session};
use krizlink_tests::{TempDir, Xvfb};
use serde_json::{json, Value};

const PASSPHRASE: &str = "povodeň na Bečvě 2026";
const TASKS: usize = 10_000;
const RUNS: usize = 5;

fn bin_dir() -> PathBuf {
    std::env::var_os("KRIZLINK_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("own path");
            // target/release/deps/desktop-... -> target/release
            exe.ancestors().nth(2).expect("target dir").to_owned()
        })
}

fn node(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(bin_dir().join("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("KRIZLINK_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("krizlink-node (build the release binaries first)");
    // Feed stdin from a thread: the child prints an id per line while it reads, and a full
    // stdout pipe would otherwise block both sides.
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.unwrap_or_default().to_owned();
    let feeder = std::thread::spawn(move || {
        pipe.write_all(input.as_bytes()).expect("write stdin");
    });
    let out = child.wait_with_output().expect("krizlink-node ran");
    feeder.join().expect("stdin written");
    assert!(out.status.success(), "krizlink-node {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn wait(s: &Session, css: &str) {
    s.wait(css, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Polls (every 5 ms) until `css` exists; the polling adds a few ms at most.
fn time_until(s: &Session, css: &str, from: Instant) -> Duration {
    loop {
        if s.find(css).ok().flatten().is_some() {
            return from.elapsed();
        }
        assert!(
            from.elapsed() < Duration::from_secs(120),
            "{css} never appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Opens the app and measures start → unlock screen, unlock → board.
fn cold_start(driver: &Driver, dir: &Path) -> (Duration, Duration, Session) {
    let t0 = Instant::now();
    let s = driver
        .session(
            &bin_dir().join("krizlink-desktop"),
            &[
                "--data-dir".to_owned(),
                dir.display().to_string(),
                // Sync runs in the app; keep it on loopback and off mDNS here.
                "--listen".to_owned(),
                "/ip4/127.0.0.1/tcp/0".to_owned(),
                "--no-mdns".to_owned(),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let to_unlock = time_until(&s, "#unlock-submit", t0);
    s.type_into("#f-passphrase", PASSPHRASE).unwrap();
    let t1 = Instant::now();
    s.click("#unlock-submit").unwrap();
    let to_board = time_until(&s, "#board-title", t1);
    (to_unlock, to_board, s)
}

/// Runs `script` (async: its last argument is the callback) and returns its number.
fn in_page(s: &Session, script: &str) -> f64 {
    let v: Value = s
        .execute(
            &format!("return await new Promise(done => {{ {script} }});"),
            json!([]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    v.as_f64().unwrap_or(f64::NAN)
}

/// Time from an input event on the filter to the next painted frame, in ms.
const KEYSTROKE: &str = "
  const el = document.getElementById('filter');
  const t0 = performance.now();
  el.value = TEXT;
  el.dispatchEvent(new InputEvent('input', {bubbles: true}));
  requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
";

/// A local write: the click on the task form's submit button to the painted list whose count
/// ends with TOTAL (the new number of tasks).
const WRITE: &str = "
  const t0 = performance.now();
  document.getElementById('task-submit').click();
  const look = () => {
    const c = document.getElementById('task-count');
    if (c && c.textContent.trim().endsWith(TOTAL)) {
      requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
    } else if (performance.now() - t0 > 30000) {
      done(-1);
    } else {
      requestAnimationFrame(look);
    }
  };
  look();
";

/// The floor of a keystroke: the same wait for the next painted frame with no input.
const FRAME: &str = "
  const t0 = performance.now();
  requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
";

fn stats(name: &str, xs: &mut [f64]) {
    xs.sort_by(|a, b| a.total_cmp(b));
    let median = xs[xs.len() / 2];
    let p95 = xs[(xs.len() * 95).div_ceil(100).saturating_sub(1)];
    let max = xs[xs.len() - 1];
    println!(
        "{name:<58} median {median:8.1} ms   p95 {p95:8.1} ms   max {max:8.1} ms   (n = {})",
        xs.len()
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let xvfb = Xvfb::start();
    let scratch = TempDir::new("bench-desktop");
    let driver = Driver::start(xvfb.display(), &scratch.path().join("home"))
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "KrizLink desktop benchmarks, {} runs each, binaries from {}",
        RUNS,
        bin_dir().display()
    );

    // 1. A small space: cold start.
    let small = scratch.path().join("small");
    node(&small, &["init", "--name", "Bench"], None);
    let space = node(&small, &["space", "create", "Krizový štáb"], None);
    node(
        &small,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Zajistit pytle",
        ],
        None,
    );
    let (mut starts, mut unlocks) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (a, b, s) = cold_start(&driver, &small);
        starts.push(ms(a));
        unlocks.push(ms(b));
        s.close().unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    // The floor of unlocking: the engine alone opening the same dir in this process (Argon2id,
    // keystore, the space loaded), measured between the app runs.
    let mut opens_alone = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let opened = Node::open(&small, PASSPHRASE).unwrap_or_else(|e| panic!("{e}"));
        opens_alone.push(ms(t.elapsed()));
        opened.close().unwrap_or_else(|e| panic!("{e}"));
    }
    let mut total: Vec<f64> = starts.iter().zip(&unlocks).map(|(a, b)| a + b).collect();
    stats("cold start: app start to unlock screen", &mut starts);
    stats(
        "unlock (Argon2id 64 MiB, t=10) to interactive board",
        &mut unlocks,
    );
    stats(
        "cold start to interactive board (without typing)",
        &mut total,
    );
    stats(
        "floor: Node::open of the same dir, in process",
        &mut opens_alone,
    );
    println!(
        "{:<58} {:8.2}x (medians)",
        "unlock to board / Node::open",
        unlocks[unlocks.len() / 2] / opens_alone[opens_alone.len() / 2]
    );

    // 2. 10,000 tasks.
    let big = scratch.path().join("big");
    node(&big, &["init", "--name", "Bench"], None);
    let space = node(&big, &["space", "create", "Krizový štáb"], None);
    let words = [
        "Zajistit pytle",
        "Evakuace",
        "Ověřit kapacity",
        "Informovat obyvatele",
        "Čerpadla",
    ];
    let places = [
        "Vsetín",
        "Jablůnka",
        "Zlín",
        "Kroměříž",
        "Rožnov pod Radhoštěm",
        "Valašské Meziříčí",
    ];
    let lines: String = (0..TASKS)
        .map(|i| {
            format!(
                "{{\"title\": \"{} {} č. {i}\", \"assignees\": [\"ORP {}\"]}}\n",
                words[i % words.len()],
                places[i % places.len()],
                places[(i / 7) % places.len()]
            )
        })
        .collect();
    let t = Instant::now();
    node(&big, &["task", "import", "--space", &space], Some(&lines));
    println!(
        "(seeding {TASKS} tasks with krizlink-node task import took {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let (mut opens, mut boards, mut lists, mut keys, mut frames, mut writes) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for run in 0..RUNS {
        let (a, b, s) = cold_start(&driver, &big);
        opens.push(ms(a));
        boards.push(ms(b));
        let list = in_page(
            &s,
            "const t0 = performance.now(); document.getElementById('nav-tasks').click();
             const look = () => document.getElementById('task-list')
               ? requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0))
               : requestAnimationFrame(look);
             look();",
        );
        wait(&s, "#task-list");
        lists.push(list);
        // Two local writes: the click on the submit button to the count showing the task.
        for n in 1..=2 {
            s.type_into("#f-title", &format!("Nový úkol {run}-{n}"))
                .unwrap_or_else(|e| panic!("{e}"));
            let total = TASKS + (run * 2) + n;
            let script = WRITE.replace("TOTAL", &format!("\"/ {total}\""));
            writes.push(in_page(&s, &script));
        }
        // Type "vsetín" one key at a time, then delete it again.
        let word = "vsetín č. 1";
        let chars: Vec<char> = word.chars().collect();
        let mut texts: Vec<String> = (1..=chars.len())
            .map(|n| chars[..n].iter().collect())
            .collect();
        texts.extend(
            (0..chars.len())
                .rev()
                .map(|n| chars[..n].iter().collect::<String>()),
        );
        for text in texts {
            let script =
                KEYSTROKE.replace("TEXT", &serde_json::to_string(&text).unwrap_or_default());
            let t = in_page(&s, &script);
            let floor = in_page(&s, FRAME);
            if run > 0 {
                keys.push(t);
                frames.push(floor);
            }
        }
        s.close().unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut big_alone = Vec::new();
    let mut writes_alone = Vec::new();
    let space_id: krizlink_core::SpaceId = space.parse().unwrap_or_else(|e| panic!("{e:?}"));
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut opened = Node::open(&big, PASSPHRASE).unwrap_or_else(|e| panic!("{e}"));
        big_alone.push(ms(t.elapsed()));
        // The floor of a local write: the engine's durable write alone, in this process.
        for n in 0..2 {
            let input = krizlink_core::api::TaskInput {
                title: format!("Zápis bez aplikace {n}"),
                ..Default::default()
            };
            let changes = input.to_changes().unwrap_or_else(|e| panic!("{e:?}"));
            let t = Instant::now();
            opened
                .create_record(space_id, krizlink_core::RecordKind::Task, changes)
                .unwrap_or_else(|e| panic!("{e}"));
            writes_alone.push(ms(t.elapsed()));
        }
        opened.close().unwrap_or_else(|e| panic!("{e}"));
    }
    stats("10,000 tasks: app start to unlock screen", &mut opens);
    stats("10,000 tasks: unlock to interactive board", &mut boards);
    stats(
        "floor: Node::open of the 10,000-task dir, in process",
        &mut big_alone,
    );
    println!(
        "{:<58} {:8.2}x (medians)",
        "10,000 tasks: unlock to board / Node::open",
        boards[boards.len() / 2] / big_alone[big_alone.len() / 2]
    );
    stats(
        "10,000 tasks: open the task list (click to painted)",
        &mut lists,
    );
    stats(
        "10,000 tasks: filter, one keystroke (input to painted)",
        &mut keys,
    );
    stats("floor: next painted frame, no input", &mut frames);
    println!(
        "{:<58} {:8.2}x (medians)",
        "keystroke / frame floor",
        keys[keys.len() / 2] / frames[frames.len() / 2]
    );
    assert!(
        writes.iter().all(|w| *w >= 0.0),
        "a written task never showed in the list's count: {writes:?}"
    );
    stats(
        "10,000 tasks: local write, click to the count on screen",
        &mut writes,
    );
    stats(
        "floor: durable task write (Node::create_record), in process",
        &mut writes_alone,
    );
    println!(
        "{:<58} {:8.2}x (medians)",
        "local write on screen / durable write alone",
        writes[writes.len() / 2] / writes_alone[writes_alone.len() / 2]
    );
}
