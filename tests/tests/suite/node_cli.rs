//! The engine through the real `krizlink-node` binary on real data dirs: crash safety under
//! kill -9, what a lost laptop gives away, tampering, and the errors a person sees.
//!
//! Long because each test is a whole story told through the CLI (set-up, the act, what the
//! person and the files show) and reads alone; the shared helpers are at the top.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use krizlink_core::engine::envelope::{nonce_of, Envelope};
use krizlink_core::engine::oplog::OpLog;
use krizlink_tests::{workspace_bin, TempDir};

const PASS: &str = "heslo-pro-test-1234";

fn node(dir: &Path, args: &[&str]) -> Output {
    Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("KRIZLINK_PASSPHRASE", PASS)
        .output()
        .expect("krizlink-node runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = node(dir, args);
    assert!(
        out.status.success(),
        "krizlink-node {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .trim()
        .to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A data dir with an identity and one space.
fn fresh(name: &str) -> (TempDir, String) {
    let dir = TempDir::new(name);
    ok(dir.path(), &["init", "--name", "Jana Nováková"]);
    let space = ok(
        dir.path(),
        &["space", "create", "Krizový štáb Zlínského kraje"],
    );
    (dir, space)
}

fn task_ids(dir: &Path, space: &str) -> BTreeSet<String> {
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir, &["task", "list", "--space", space, "--json"]))
            .expect("json");
    json.as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("spaces"))
        .expect("spaces dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

#[test]
fn kill_9_while_writing_loses_no_acknowledged_write_and_reuses_no_nonce() {
    let (dir, space) = fresh("crash");
    let mut acknowledged = BTreeSet::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..50 {
        let mut child = Command::new(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["task", "import", "--space", &space])
            .env("KRIZLINK_PASSPHRASE", PASS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            for i in 0.. {
                if writeln!(stdin, "Úkol kolo {round} č. {i}").is_err() {
                    break;
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first durable write, then kill at a random moment.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the node writes within 30 s");
        acknowledged.insert(first);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 150);
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if let Ok(id) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                acknowledged.insert(id);
            }
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
        // Ids printed before the kill and still in the pipe were acknowledged too.
        reader.join().expect("reader");
        acknowledged.extend(rx.try_iter());
        let _ = writer.join();
    }
    let present = task_ids(dir.path(), &space);
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    assert!(acknowledged.len() >= 50);

    // No (key, nonce) pair was ever used twice: scan every stored envelope.
    let mut nonces = BTreeSet::new();
    let mut envelopes = 0;
    for log in log_files(dir.path()) {
        for bytes in OpLog::read_intact_prefix(&log).expect("log readable") {
            let envelope = Envelope::decode(&bytes).expect("stored envelope decodes");
            assert!(
                nonces.insert(nonce_of(&envelope)),
                "nonce reused: {:?}",
                nonce_of(&envelope)
            );
            envelopes += 1;
        }
    }
    assert!(envelopes >= acknowledged.len());
}

fn forms_of(marker: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    let mut forms = vec![("raw".to_owned(), marker.as_bytes().to_vec())];
    forms.push((
        "utf-16le".into(),
        marker
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect(),
    ));
    forms.push((
        "utf-16be".into(),
        marker
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect(),
    ));
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        // Every alignment of the marker inside a base64 stream.
        for pad in 0..3 {
            let mut bytes = vec![b'x'; pad];
            bytes.extend_from_slice(marker.as_bytes());
            let encoded = engine.encode(&bytes);
            let skip = (pad * 4).div_ceil(3) + 1;
            let core = &encoded[skip.min(encoded.len())..encoded.len().saturating_sub(4)];
            forms.push((format!("base64+{pad}"), core.as_bytes().to_vec()));
        }
    }
    forms
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn a_lost_laptop_gives_away_no_record_content() {
    let (dir, space) = fresh("lost-laptop");
    let marker = "TAJNE-evakuace-Bystřice-7f3a9c";
    ok(
        dir.path(),
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            marker,
            "--description",
            marker,
            "--assignee",
            marker,
        ],
    );
    ok(
        dir.path(),
        &["journal", "add", "--space", &space, "--text", marker],
    );
    ok(
        dir.path(),
        &[
            "contact",
            "add",
            "--space",
            &space,
            "--name",
            marker,
            "--phone",
            "+420 577 000 111",
        ],
    );
    ok(
        dir.path(),
        &[
            "sitrep",
            "add",
            "--space",
            &space,
            "--sender",
            marker,
            "--as-of",
            "2026-11-23T06:00:00+01:00",
            "--situation",
            marker,
        ],
    );
    // The space name is content too.
    let named = ok(dir.path(), &["space", "create", marker]);
    ok(
        dir.path(),
        &["task", "add", "--space", &named, "--title", "x"],
    );
    assert!(
        ok(dir.path(), &["task", "list", "--space", &space]).contains(marker),
        "the marker is readable with the passphrase"
    );

    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    assert!(files.len() >= 5);
    for file in files {
        let bytes = std::fs::read(&file).expect("readable");
        for (form, needle) in forms_of(marker) {
            let hit = bytes.windows(needle.len()).any(|w| w == needle.as_slice());
            assert!(!hit, "{} holds the marker in {form} form", file.display());
        }
    }
}

/// Rewrites one envelope in the op log with `edit`, keeping the log's own framing valid (as an
/// attacker with the laptop could).
fn tamper_first_envelope(dir: &Path, edit: impl Fn(&mut Vec<u8>)) {
    let log = &log_files(dir)[0];
    let mut entries = OpLog::read_intact_prefix(log).expect("log");
    edit(&mut entries[0]);
    std::fs::remove_file(log).expect("remove");
    let (mut fresh, _, _) = OpLog::open(log).expect("reopen");
    for e in entries {
        fresh.append(&e).expect("append");
    }
}

#[test]
fn tampered_envelopes_are_rejected_and_audited() {
    for (case, offset_from) in [("header", 0usize), ("ciphertext", 1), ("signature", 2)] {
        let (dir, space) = fresh(&format!("tamper-{case}"));
        let victim = ok(
            dir.path(),
            &["task", "add", "--space", &space, "--title", "Původní znění"],
        );
        let other = ok(
            dir.path(),
            &["task", "add", "--space", &space, "--title", "Druhý úkol"],
        );
        tamper_first_envelope(dir.path(), |bytes| {
            let len = bytes.len();
            let at = match offset_from {
                0 => 1 + 16 + 2, // inside the header, after version and space id
                1 => len / 2,    // inside the ciphertext
                _ => len - 10,   // inside the signature
            };
            bytes[at] ^= 0x04;
        });
        let tasks = task_ids(dir.path(), &space);
        assert!(
            !tasks.contains(&victim),
            "{case}: the tampered task must not be shown"
        );
        let audit = ok(dir.path(), &["audit", "export", "--format", "jsonl"]);
        assert!(
            audit.contains("operation_rejected"),
            "{case}: rejection audited:\n{audit}"
        );
        let _ = other;
    }
}

#[test]
fn an_edited_audit_log_fails_verify() {
    let (dir, _space) = fresh("audit-edit");
    assert!(ok(dir.path(), &["audit", "verify"]).starts_with("audit log OK"));
    let path = dir.path().join("audit.log");
    let text = std::fs::read_to_string(&path).expect("audit log");
    std::fs::write(&path, text.replacen("space_created", "unlock_ok", 1)).expect("write");
    let out = node(dir.path(), &["audit", "verify"]);
    assert!(!out.status.success());
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("was edited"), "{report}");
}

/// The files kept aside in `dir` whose name starts with `prefix`.
fn kept_aside(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect()
}

#[test]
fn entries_cut_off_the_end_of_the_audit_log_fail_verify() {
    let (dir, _space) = fresh("audit-cut");
    assert!(ok(dir.path(), &["audit", "verify"]).starts_with("audit log OK"));
    let path = dir.path().join("audit.log");
    let text = std::fs::read_to_string(&path).expect("audit log");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..lines.len() - 2].join("\n") + "\n").expect("write");
    let out = node(dir.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("were cut off the end"), "{report}");
    assert_eq!(kept_aside(dir.path(), "audit.log.damaged-").len(), 1);
}

#[test]
fn a_damaged_audit_log_never_locks_out_and_verify_says_so() {
    let (dir, space) = fresh("audit-damaged");
    let id = ok(
        dir.path(),
        &["task", "add", "--space", &space, "--title", "Úkol"],
    );
    let path = dir.path().join("audit.log");
    let mut bytes = std::fs::read(&path).expect("audit log");
    bytes.extend_from_slice(b"\xff\xfe not an entry\n");
    std::fs::write(&path, &bytes).expect("write");
    let out = node(dir.path(), &["task", "list", "--space", &space]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    let said = stderr(&out);
    assert!(
        said.contains("warning: the audit log was damaged (")
            && said.contains("is not a readable audit entry"),
        "{said}"
    );
    let kept = kept_aside(dir.path(), "audit.log.damaged-");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read(&kept[0]).expect("kept"),
        bytes,
        "kept as found"
    );
    let out = node(dir.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(report.lines().count(), 1, "{report}");
    assert!(
        report.contains("the earlier audit log was damaged (line")
            && report.contains(&kept[0].display().to_string()),
        "{report}"
    );
    // A torn last line (a write cut short) opens as well.
    let text = std::fs::read(&path).expect("audit log");
    std::fs::write(&path, &text[..text.len() - 30]).expect("write");
    let out = node(dir.path(), &["task", "list", "--space", &space]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is cut off (a torn write)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(kept_aside(dir.path(), "audit.log.damaged-").len(), 2);
}

#[test]
fn wrong_passphrase_is_refused_audited_and_changes_nothing() {
    let (dir, space) = fresh("wrong-pass");
    let id = ok(
        dir.path(),
        &["task", "add", "--space", &space, "--title", "Úkol"],
    );
    let out = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["task", "list", "--space", &space])
        .env("KRIZLINK_PASSPHRASE", "spatne-heslo")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), "krizlink-node: wrong passphrase");
    assert!(out.stdout.is_empty());
    assert!(task_ids(dir.path(), &space).contains(&id));
    assert!(ok(dir.path(), &["audit", "export", "--format", "jsonl"]).contains("unlock_failed"));
}

#[test]
fn bad_input_changes_nothing_and_says_why() {
    let (dir, space) = fresh("bad-input");
    let before = std::fs::read(&log_files(dir.path())[0]).expect("log");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "task",
                "add",
                "--space",
                "00112233445566778899aabbccddeeff",
                "--title",
                "x",
            ],
            "no space with id",
        ),
        (
            vec!["task", "add", "--space", "nonsense", "--title", "x"],
            "space id",
        ),
        (
            vec!["task", "add", "--space", &space, "--title", "   "],
            "must not be empty",
        ),
        (
            vec![
                "task", "add", "--space", &space, "--title", "x", "--due", "zítra",
            ],
            "RFC 3339",
        ),
        (
            vec![
                "task",
                "add",
                "--space",
                &space,
                "--title",
                "x",
                "--priority",
                "urgent",
            ],
            "unknown priority",
        ),
        (
            vec![
                "task",
                "status",
                "--space",
                &space,
                "00112233445566778899aabbccddeeff",
                "done",
            ],
            "no Task",
        ),
        (
            vec![
                "task",
                "status",
                "--space",
                &space,
                "00112233445566778899aabbccddeeff",
                "finished",
            ],
            "unknown task status",
        ),
    ];
    for (args, expected) in cases {
        let out = node(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("krizlink-node: ") && err.contains(expected),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    assert_eq!(
        std::fs::read(&log_files(dir.path())[0]).expect("log"),
        before,
        "nothing was written"
    );
}

#[test]
fn a_second_process_on_the_same_data_dir_is_refused() {
    let (dir, space) = fresh("second-process");
    let mut first = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["task", "import", "--space", &space])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = first.stdin.take().expect("stdin");
    writeln!(stdin, "První").expect("write");
    let mut lines = BufReader::new(first.stdout.take().expect("stdout")).lines();
    let id = lines.next().expect("a line").expect("utf-8");
    let out = node(dir.path(), &["task", "list", "--space", &space]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("in use by another KrizLink process"),
        "{}",
        stderr(&out)
    );
    drop(stdin);
    assert!(first.wait().expect("wait").success());
    assert!(task_ids(dir.path(), &space).contains(&id));
}

#[test]
fn damaged_derived_state_is_rebuilt_from_the_log() {
    let (dir, space) = fresh("damaged-db");
    let ids: BTreeSet<String> = (0..5)
        .map(|i| {
            ok(
                dir.path(),
                &[
                    "task",
                    "add",
                    "--space",
                    &space,
                    "--title",
                    &format!("Úkol {i}"),
                ],
            )
        })
        .collect();
    // Garble every file of the sled store.
    let mut files = Vec::new();
    files_under(&dir.path().join("state"), &mut files);
    for f in files {
        let mut bytes = std::fs::read(&f).expect("read");
        for b in bytes.iter_mut().step_by(7) {
            *b ^= 0x5a;
        }
        std::fs::write(&f, bytes).expect("write");
    }
    assert_eq!(task_ids(dir.path(), &space), ids);
}

#[test]
fn a_damaged_op_log_keeps_earlier_records_readable_and_refuses_writes() {
    let (dir, space) = fresh("damaged-log");
    let ids: Vec<String> = (0..4)
        .map(|i| {
            ok(
                dir.path(),
                &[
                    "task",
                    "add",
                    "--space",
                    &space,
                    "--title",
                    &format!("Úkol {i}"),
                ],
            )
        })
        .collect();
    let log = &log_files(dir.path())[0];
    let frames = OpLog::read_intact_prefix(log).expect("log");
    // The first entry is the founder's member record, then the four tasks.
    let third: usize = frames[..3].iter().map(|f| f.len() + 8).sum();
    let mut bytes = std::fs::read(log).expect("log");
    bytes[third + 8 + 10] ^= 0xff; // inside the third task; the fourth stays intact after it
    std::fs::write(log, &bytes).expect("write");

    let out = node(dir.path(), &["task", "list", "--space", &space, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("read-only")
            && err.contains("damaged at byte")
            && err.contains("3 earlier changes are intact"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let shown: Vec<&str> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(shown, vec![ids[0].as_str(), ids[1].as_str()]);

    let out = node(
        dir.path(),
        &["task", "add", "--space", &space, "--title", "Nový"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("read-only until its op log is repaired"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(log).expect("log"),
        bytes,
        "the damaged file is left for an administrator"
    );
}

#[test]
fn an_offline_invite_admits_one_device_once() {
    let (chair, space) = fresh("invite-chair");
    let code = ok(
        chair.path(),
        &[
            "invite",
            "create",
            "--space",
            &space,
            "--role",
            "orp_coordinator",
        ],
    );
    assert!(
        code.starts_with("KRZ-") && code.len() < 40,
        "a short code: {code}"
    );

    let joiner = TempDir::new("invite-joiner");
    ok(joiner.path(), &["init", "--name", "Petr Svoboda"]);
    let request = ok(joiner.path(), &["join", &code, "--offline"]);
    let welcome = ok(chair.path(), &["invite", "accept", &request]);
    assert_eq!(ok(joiner.path(), &["join", "--welcome", &welcome]), space);
    let spaces: serde_json::Value =
        serde_json::from_str(&ok(joiner.path(), &["space", "list", "--json"])).expect("json");
    assert_eq!(spaces[0]["id"], space.as_str());
    assert_eq!(spaces[0]["name"], "Krizový štáb Zlínského kraje");
    assert_eq!(spaces[0]["role"], "orp_coordinator");
    ok(
        joiner.path(),
        &["task", "add", "--space", &space, "--title", "Hlášení z ORP"],
    );

    // The code is used up: a second device is refused, and so is a code nobody issued.
    let late = TempDir::new("invite-late");
    ok(late.path(), &["init", "--name", "Eva Malá"]);
    let late_request = ok(late.path(), &["join", &code, "--offline"]);
    let out = node(chair.path(), &["invite", "accept", &late_request]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already used"), "{}", stderr(&out));
    let guessed = ok(
        late.path(),
        &["join", "KRZ-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA", "--offline"],
    );
    let out = node(chair.path(), &["invite", "accept", &guessed]);
    assert!(stderr(&out).contains("no such invite"), "{}", stderr(&out));
    // A welcome for another device is useless to it.
    let out = node(late.path(), &["join", "--welcome", &welcome]);
    assert_eq!(out.status.code(), Some(1));

    let audit = ok(chair.path(), &["audit", "export", "--format", "jsonl"]);
    for event in [
        "invite_created",
        "invite_used",
        "member_joined",
        "invite_refused",
    ] {
        assert!(audit.contains(event), "{event} audited");
    }
    assert!(ok(joiner.path(), &["audit", "export", "--format", "jsonl"]).contains("member_joined"));
}

/// A small filesystem of the test's own (needs root, as scripts/test.sh runs); unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "this test mounts a {size} tmpfs at {} and needs root",
            at.display()
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_refuses_writes_clearly_and_keeps_everything_readable() {
    let root = TempDir::new("full-disk");
    let _fs = Tmpfs::mount(root.path(), "6m");
    let dir = root.path().join("data");
    ok(&dir, &["init", "--name", "Jana Nováková"]);
    let space = ok(&dir, &["space", "create", "Krizový štáb Zlínského kraje"]);

    let mut child = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["task", "import", "--space", &space])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let description = "Evakuace obyvatel z ulic podél Bečvy. ".repeat(100);
        for i in 0..2_500 {
            let line =
                serde_json::json!({"title": format!("Úkol {i}"), "description": description});
            if writeln!(stdin, "{line}").is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().expect("import finishes");
    let _ = writer.join();
    let printed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the disk must have filled up");
    assert!(printed.len() > 100, "some writes fit: {}", printed.len());
    assert!(err.contains("the disk is full"), "{err}");

    // Everything acknowledged is readable on the full disk, with a warning, not an error.
    let list = node(&dir, &["task", "list", "--space", &space, "--json"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let shown: BTreeSet<String> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect();
    let lost: Vec<_> = printed.difference(&shown).collect();
    assert!(lost.is_empty(), "acknowledged writes unreadable: {lost:?}");

    let add = node(
        &dir,
        &["task", "add", "--space", &space, "--title", "Ještě jeden"],
    );
    assert_eq!(add.status.code(), Some(1));
    assert!(
        stderr(&add)
            .lines()
            .last()
            .unwrap_or("")
            .contains("the disk is full"),
        "{}",
        stderr(&add)
    );
}

#[test]
fn changing_the_passphrase_is_audited_and_the_old_one_stops_working() {
    let (dir, space) = fresh("passphrase");
    let id = ok(
        dir.path(),
        &["task", "add", "--space", &space, "--title", "Úkol"],
    );
    let out = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["passphrase", "change"])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .env("KRIZLINK_NEW_PASSPHRASE", "nove-heslo-5678")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        node(dir.path(), &["space", "list"]).status.code(),
        Some(3),
        "the old passphrase is refused"
    );
    let with_new = |args: &[&str]| {
        Command::new(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("KRIZLINK_PASSPHRASE", "nove-heslo-5678")
            .output()
            .expect("runs")
    };
    let list = with_new(&["task", "list", "--space", &space]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&id));
    let audit = with_new(&["audit", "export", "--format", "jsonl"]);
    assert!(String::from_utf8_lossy(&audit.stdout).contains("key_changed"));
    assert!(with_new(&["audit", "verify"]).status.success());
}

/// The CLI writes through the engine's one write path, as the desktop does: a journal entry
/// gets this device as its workstation and the identity's name as its author, and references
/// to earlier records are checked.
#[test]
fn a_journal_entry_written_with_the_cli_carries_the_workstation() {
    let (dir, space) = fresh("journal-workstation");
    let first = ok(
        dir.path(),
        &[
            "journal",
            "add",
            "--space",
            &space,
            "--text",
            "Hladina Bečvy ve Vsetíně stoupá.",
        ],
    );
    let second = ok(
        dir.path(),
        &[
            "journal",
            "add",
            "--space",
            &space,
            "--text",
            "Oprava: hladina klesá.",
            "--author",
            "Petr Novák",
            "--corrects",
            &first,
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["journal", "list", "--space", &space, "--json"],
    ))
    .expect("json");
    let entries = json.as_array().expect("array");
    assert_eq!(entries.len(), 2);
    let device: krizlink_core::DeviceId = entries[0]["created_by"]
        .as_str()
        .expect("created_by")
        .parse()
        .expect("a device id");
    for entry in entries {
        assert_eq!(
            entry["workstation"].as_str(),
            Some(device.short().as_str()),
            "{entry}"
        );
    }
    let by_id = |id: &str| {
        entries
            .iter()
            .find(|e| e["id"].as_str() == Some(id))
            .expect("listed")
    };
    assert_eq!(by_id(&first)["author"].as_str(), Some("Jana Nováková"));
    assert_eq!(by_id(&second)["author"].as_str(), Some("Petr Novák"));
    assert_eq!(by_id(&second)["corrects"].as_str(), Some(first.as_str()));

    // A correction must name an entry of its own kind; a report one of its own.
    let task = ok(
        dir.path(),
        &["task", "add", "--space", &space, "--title", "Úkol"],
    );
    let before = std::fs::read(&log_files(dir.path())[0]).expect("log");
    for (args, expected) in [
        (
            vec![
                "journal",
                "add",
                "--space",
                &space,
                "--text",
                "x",
                "--corrects",
                &task,
            ],
            "--corrects",
        ),
        (
            vec![
                "sitrep",
                "add",
                "--space",
                &space,
                "--sender",
                "ORP Vsetín",
                "--as-of",
                "2026-11-23T06:00:00+01:00",
                "--supersedes",
                "nonsense",
            ],
            "--supersedes",
        ),
    ] {
        let out = node(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("krizlink-node: {expected}: ")),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    assert_eq!(
        std::fs::read(&log_files(dir.path())[0]).expect("log"),
        before,
        "nothing was written"
    );
}

/// Without `--data-dir` the CLI uses `KRIZLINK_DATA_DIR` (as the desktop does), else
/// `$XDG_DATA_HOME/krizlink`; `--data-dir` wins over both.
#[test]
fn krizlink_data_dir_is_honoured_and_data_dir_wins() {
    let root = TempDir::new("data-dir-default");
    let from_env = root.path().join("from-env");
    let xdg = root.path().join("xdg");
    let explicit = root.path().join("explicit");
    let run = |args: &[&str], krizlink_data_dir: Option<&Path>| {
        let mut cmd = Command::new(workspace_bin("krizlink-node"));
        cmd.args(args)
            .env("KRIZLINK_PASSPHRASE", PASS)
            .env("XDG_DATA_HOME", &xdg)
            .env("HOME", root.path().join("home"))
            .env_remove("KRIZLINK_DATA_DIR");
        if let Some(dir) = krizlink_data_dir {
            cmd.env("KRIZLINK_DATA_DIR", dir);
        }
        let out = cmd.output().expect("krizlink-node runs");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    run(&["init", "--name", "Jana"], Some(&from_env));
    assert!(
        from_env.join("keystore.krz").exists(),
        "KRIZLINK_DATA_DIR used"
    );
    assert!(!xdg.join("krizlink").exists(), "XDG_DATA_HOME not used");
    let space = run(&["space", "create", "Krizový štáb"], Some(&from_env));
    assert!(ok(&from_env, &["space", "list"]).contains(&space));

    let explicit_arg = explicit.to_str().expect("utf-8 path");
    run(
        &["--data-dir", explicit_arg, "init", "--name", "Petr"],
        Some(&from_env),
    );
    assert!(explicit.join("keystore.krz").exists(), "--data-dir wins");

    run(&["init", "--name", "Eva"], None);
    assert!(
        xdg.join("krizlink").join("keystore.krz").exists(),
        "without KRIZLINK_DATA_DIR: $XDG_DATA_HOME/krizlink"
    );
}
