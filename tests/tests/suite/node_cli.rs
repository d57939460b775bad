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
use krizlink_tests::staff::{node, ok, PASS};
use krizlink_tests::{workspace_bin, TempDir};

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

/// Copies `from` into a new dir `to` (a backup, or a VM snapshot of the disk).
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success());
}

#[test]
fn a_data_dir_restored_from_an_older_copy_reuses_no_nonce() {
    let (dir, space) = fresh("restore");
    let add = |at: &Path, title: &str| {
        ok(at, &["task", "add", "--space", &space, "--title", title]);
    };
    add(dir.path(), "Před zálohou");
    let backup = TempDir::new("restore-backup");
    let copy = backup.path().join("data");
    copy_dir(dir.path(), &copy);
    // The laptop goes on, and writes.
    add(dir.path(), "Po záloze 1");
    add(dir.path(), "Po záloze 2");
    let mut used = BTreeSet::new();
    for log in log_files(dir.path()) {
        for bytes in OpLog::read_intact_prefix(&log).expect("log readable") {
            used.insert(bytes);
        }
    }
    // Later the old copy is put back (the disk failed), and the person writes again: the same
    // operation ids as the lost writes, but never the same (key, nonce) pair for other content.
    std::thread::sleep(Duration::from_millis(2_100));
    add(&copy, "Po obnovení");
    let mut nonces = std::collections::BTreeMap::new();
    let mut restored = BTreeSet::new();
    for log in log_files(&copy) {
        for bytes in OpLog::read_intact_prefix(&log).expect("log readable") {
            restored.insert(bytes);
        }
    }
    for bytes in used.iter().chain(restored.difference(&used)) {
        let envelope = Envelope::decode(bytes).expect("stored envelope decodes");
        if let Some(other) = nonces.insert(nonce_of(&envelope), bytes.clone()) {
            panic!(
                "nonce {:?} used for two envelopes ({} and {} bytes)",
                nonce_of(&envelope),
                other.len(),
                bytes.len()
            );
        }
    }
    assert_eq!(
        nonces.len(),
        used.len() + 1,
        "one new envelope after the restore"
    );
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
            "--orp",
            "Vsetín",
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
    // Joined offline, its ORP binding arrives with the first sync: until then it is told so.
    let out = node(
        joiner.path(),
        &[
            "sitrep",
            "add",
            "--space",
            &space,
            "--sender",
            "ORP Vsetín",
            "--as-of",
            "2026-11-30T08:00:00+01:00",
            "--situation",
            "Hlášení z ORP",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("sync with the staff"),
        "{}",
        stderr(&out)
    );
    // Bound to its ORP: a task of its own is not an ORP coordinator's to write.
    let out = node(
        joiner.path(),
        &["task", "add", "--space", &space, "--title", "Vlastní úkol"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("orp_coordinator"), "{}", stderr(&out));

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

// ---- Local hardening (issue 13, property 8) ----

/// Mode bits of a path itself (a link is not followed).
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o7777
}

/// `krizlink-node` run through `sh` with umask 000, so nothing it creates is private by
/// accident of the caller's umask.
fn node_umask_000(dir: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("KRIZLINK_PASSPHRASE", PASS)
        .output()
        .expect("sh runs krizlink-node")
}

/// A `serve` started through `sh` with umask 000; the control socket is up once the first two
/// lines (peer id, address) are printed. Stopped with SIGTERM.
struct Served(std::process::Child);

impl Served {
    fn start(dir: &Path) -> Served {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("umask 000; exec \"$0\" \"$@\"")
            .arg(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .env("KRIZLINK_PASSPHRASE", PASS)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for _ in 0..2 {
            lines.next().expect("a line from serve").expect("utf-8");
        }
        Served(child)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let status = self.0.wait().expect("serve exits");
        assert!(status.success(), "serve stops cleanly: {status}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every file (sled's too) 0600 and every directory 0700, however the data dir came to be and
/// whatever the umask of whoever started the node.
#[test]
fn data_dir_and_files_are_private_from_creation() {
    let root = TempDir::new("private-modes");
    let dir = root.path().join("data");
    let out = node_umask_000(&dir, &["init", "--name", "Jana Nováková"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let space =
        String::from_utf8_lossy(&node_umask_000(&dir, &["space", "create", "Krizový štáb"]).stdout)
            .trim()
            .to_owned();
    let out = node_umask_000(
        &dir,
        &["task", "add", "--space", &space, "--title", "Pytle"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode_of(&dir), 0o700, "the data dir");
    // While a peer serves: the socket lives in the private data dir and is itself 0600.
    let served = Served::start(&dir);
    assert_eq!(mode_of(&dir.join("control.sock")), 0o600);
    let out = node_umask_000(
        &dir,
        &["task", "add", "--space", &space, "--title", "Písek"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    served.stop();
    // The audit log's set-aside copy and the damaged-state copy are made by renames of private
    // files; a damaged audit log exercises it.
    let audit = dir.join("audit.log");
    let mut text = std::fs::read(&audit).expect("audit log");
    text.extend_from_slice(b"\xff not an entry\n");
    std::fs::write(&audit, text).expect("damage the audit log");
    let out = node_umask_000(&dir, &["space", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let (mut files, mut dirs) = (Vec::new(), vec![dir.clone()]);
    let mut todo = vec![dir.clone()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("entry").path();
            let kind = std::fs::symlink_metadata(&path).expect("meta").file_type();
            if kind.is_dir() {
                todo.push(path.clone());
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let sled_files = files
        .iter()
        .filter(|p| p.starts_with(dir.join("state")))
        .count();
    assert!(sled_files > 0, "sled's files are checked too");
    assert!(files
        .iter()
        .any(|p| p.to_string_lossy().contains("audit.log.damaged-")));
    for path in &files {
        assert_eq!(mode_of(path), 0o600, "{} is not private", path.display());
    }
    for d in &dirs {
        assert_eq!(mode_of(d), 0o700, "{} is not private", d.display());
    }

    // A data dir of ours that others can read (copied, or chmod'ed by hand) is tightened, and
    // the person is told; one made by hand before `init` is private from the start.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = node(&dir, &["space", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("now private (700)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode_of(&dir), 0o700);
    let by_hand = root.path().join("by-hand");
    std::fs::create_dir(&by_hand).expect("mkdir");
    std::fs::set_permissions(
        &by_hand,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    ok(&by_hand, &["init", "--name", "Petr"]);
    assert_eq!(mode_of(&by_hand), 0o700);
}

/// A link planted in the data dir in place of one of its files is never followed: the op log,
/// the keystore, sled's directory, the control socket, a temp file and the data dir itself.
#[test]
fn a_planted_symlink_in_the_data_dir_is_refused_not_followed() {
    use std::os::unix::fs::symlink;
    let (dir, space) = fresh("planted-links");
    let dir = dir.path();
    let root = TempDir::new("planted-links-outside");
    let outside = root.path().join("outside.txt");
    let untouched = b"soubor mimo datovy adresar\n".to_vec();
    std::fs::write(&outside, &untouched).expect("outside file");
    let refused = |out: &Output, what: &str| {
        assert!(!out.status.success(), "{what}: followed the link");
        let err = stderr(out);
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(err.contains("symbolic link"), "{what}: {err}");
    };

    // The op log: reading and writing refused; the file it points to is not touched.
    let log = log_files(dir).pop().expect("an op log");
    let saved = root.path().join("saved.log");
    std::fs::rename(&log, &saved).expect("move the log");
    symlink(&outside, &log).expect("plant");
    refused(
        &node(dir, &["task", "list", "--space", &space]),
        "op log read",
    );
    refused(
        &node(dir, &["task", "add", "--space", &space, "--title", "X"]),
        "op log write",
    );
    assert!(stderr(&node(dir, &["space", "list"])).contains(&log.display().to_string()));
    assert_eq!(std::fs::read(&outside).expect("outside"), untouched);
    std::fs::remove_file(&log).expect("unplant");
    std::fs::rename(&saved, &log).expect("restore");

    // The keystore: a link to a (valid) copy elsewhere is refused.
    let keystore = dir.join("keystore.krz");
    let copy = root.path().join("keystore-copy.krz");
    std::fs::rename(&keystore, &copy).expect("move the keystore");
    symlink(&copy, &keystore).expect("plant");
    refused(&node(dir, &["space", "list"]), "keystore");
    std::fs::remove_file(&keystore).expect("unplant");
    std::fs::rename(&copy, &keystore).expect("restore");

    // sled's directory: a link to a directory elsewhere is refused, nothing is written there.
    let state = dir.join("state");
    let elsewhere = root.path().join("elsewhere");
    std::fs::rename(&state, &elsewhere).expect("move state");
    symlink(&elsewhere, &state).expect("plant");
    refused(&node(dir, &["space", "list"]), "sled dir");
    std::fs::remove_file(&state).expect("unplant");
    std::fs::rename(&elsewhere, &state).expect("restore");
    // ... and a link planted inside it (sled opens its own files, it would follow one).
    let conf = state.join("conf");
    let saved_conf = root.path().join("conf");
    std::fs::rename(&conf, &saved_conf).expect("move sled's conf");
    symlink(&outside, &conf).expect("plant");
    refused(&node(dir, &["space", "list"]), "a file in sled's dir");
    std::fs::remove_file(&conf).expect("unplant");
    std::fs::rename(&saved_conf, &conf).expect("restore");

    // A stale temp file replaced by a link: the write goes to a new private file, not through.
    symlink(&outside, dir.join(".session.tmp")).expect("plant");
    ok(
        dir,
        &["task", "add", "--space", &space, "--title", "Po odkazu"],
    );
    assert_eq!(std::fs::read(&outside).expect("outside"), untouched);

    // The audit log: set aside as damage (the link itself, never its target), a new chain.
    let audit = dir.join("audit.log");
    std::fs::remove_file(&audit).expect("remove the audit log");
    symlink(&outside, &audit).expect("plant");
    let out = node(dir, &["space", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert!(!std::fs::symlink_metadata(&audit)
        .expect("a new audit log")
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&outside).expect("outside"), untouched);

    // The control socket: a planted link to someone else's socket gets no command (and so no
    // new passphrase, no imported text).
    let trap_path = root.path().join("trap.sock");
    let trap = std::os::unix::net::UnixListener::bind(&trap_path).expect("a trap socket");
    trap.set_nonblocking(true).expect("nonblocking");
    symlink(&trap_path, dir.join("control.sock")).expect("plant");
    refused(&node(dir, &["space", "list"]), "control socket");
    assert!(
        trap.accept().is_err(),
        "the planted socket got a connection"
    );
    std::fs::remove_file(dir.join("control.sock")).expect("unplant");

    // The data dir itself given as a link: refused with a clear line.
    let link = root.path().join("data-link");
    symlink(dir, &link).expect("plant");
    refused(&node(&link, &["space", "list"]), "data dir");
    ok(dir, &["task", "list", "--space", &space]);
}

/// The control socket exists only inside the data dir, which is private before `serve` binds
/// it, so there is no moment at which another user could connect; and a connection from
/// another user is refused by the serving peer, as a socket served by another user is by the
/// client. The second half needs root (to run a node as `nobody`).
#[test]
fn the_control_socket_is_private_from_bind_and_serves_only_its_owner() {
    let (dir, space) = fresh("socket-private");
    let dir = dir.path();
    assert_eq!(mode_of(dir), 0o700, "private before serve binds");
    assert!(std::fs::symlink_metadata(dir.join("control.sock")).is_err());
    let served = Served::start(dir);
    assert_eq!(mode_of(dir), 0o700);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(dir.join("control.sock"))
        .expect("the socket is in the data dir")
        .file_type()
        .is_socket());
    ok(
        dir,
        &["task", "add", "--space", &space, "--title", "Přes socket"],
    );
    served.stop();

    // Who we are: /proc/self is owned by our effective uid.
    let me =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").expect("/proc/self"));
    if me != 0 {
        eprintln!("skipping the other-user half: it needs root to run a node as nobody");
        return;
    }
    const NOBODY: u32 = 65534;
    let root = TempDir::new("socket-other-user");
    std::os::unix::fs::chown(root.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
    let theirs = root.path().join("data");
    let as_nobody = |args: &[&str]| {
        use std::os::unix::process::CommandExt;
        Command::new(workspace_bin("krizlink-node"))
            .uid(NOBODY)
            .gid(NOBODY)
            .arg("--data-dir")
            .arg(&theirs)
            .args(args)
            .env("KRIZLINK_PASSPHRASE", PASS)
            .env("HOME", root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("krizlink-node as nobody")
    };
    let init = as_nobody(&["init", "--name", "Cizí"])
        .wait_with_output()
        .expect("init");
    assert!(init.status.success(), "init as nobody");
    let mut their_serve = as_nobody(&["serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"]);
    let mut lines = BufReader::new(their_serve.stdout.take().expect("stdout")).lines();
    for _ in 0..2 {
        lines.next().expect("a line from serve").expect("utf-8");
    }
    // Root can reach the socket file, but the serving peer refuses it.
    let mut raw = std::os::unix::net::UnixStream::connect(theirs.join("control.sock"))
        .expect("root reaches the socket file");
    // The peer may answer and close before reading: a failed send is fine, the reply counts.
    let _ = raw.write_all(br#"{"args":["space","create","Vetrelec"],"stdin":""}"#);
    let _ = raw.shutdown(std::net::Shutdown::Write);
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut raw, &mut reply).expect("reply");
    assert!(reply.contains("serves only its owner"), "{reply}");
    // The CLI, as root, refuses to hand its command to a peer of another user.
    let out = node(&theirs, &["space", "list"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("served by another user"),
        "{}",
        stderr(&out)
    );
    let list = as_nobody(&["space", "list"])
        .wait_with_output()
        .expect("list");
    assert!(
        String::from_utf8_lossy(&list.stdout).trim().is_empty(),
        "no space was created by the refused connection"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &their_serve.id().to_string()])
        .status();
    let _ = their_serve.wait();
}

/// A command forwarded to a serving peer never prompts on the serving process's terminal (it
/// would hang the peer for every client, and the person at that terminal would be asked for a
/// passphrase they did not choose): the client asks where its person is, or says how to give
/// it. The serving peer runs in a real terminal here (`script` gives it one).
#[test]
fn a_forwarded_command_never_prompts_on_the_serving_terminal() {
    let (dir, space) = fresh("forwarded-prompt");
    let dir = dir.path();
    let command = format!(
        "exec '{}' --data-dir '{}' serve --listen /ip4/127.0.0.1/tcp/0 --no-mdns",
        workspace_bin("krizlink-node").display(),
        dir.display()
    );
    let mut terminal = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &command, "/dev/null"])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .env_remove("KRIZLINK_NEW_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs the peer in a terminal");
    let mut keys = terminal.stdin.take().expect("the terminal's keyboard");
    let screen_out = terminal.stdout.take().expect("the terminal's screen");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut screen_out = screen_out;
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut screen_out, &mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Vec::new();
    let start = Instant::now();
    while !dir.join("control.sock").exists() || String::from_utf8_lossy(&screen).lines().count() < 2
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "serve did not start"
        );
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            screen.extend(chunk);
        }
    }

    // No new passphrase given and no terminal here: a clear error at once, nothing asked there.
    let mut client = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(["passphrase", "change"])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .env_remove("KRIZLINK_NEW_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client");
    let start = Instant::now();
    let answered = loop {
        match client.try_wait().expect("client") {
            Some(_) => break true,
            None if start.elapsed() > Duration::from_secs(15) => break false,
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(300)) {
        screen.extend(chunk);
    }
    let shown = String::from_utf8_lossy(&screen).to_lowercase();
    if !answered {
        let _ = client.kill();
    }
    let out = client.wait_with_output().expect("client output");
    assert!(
        answered,
        "the forwarded command hung; the serving terminal shows: {shown}"
    );
    assert!(
        !shown.contains("heslo") && !shown.contains("passphrase"),
        "the serving peer prompted on its terminal: {shown}"
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("KRIZLINK_NEW_PASSPHRASE"), "{err}");

    // Given by the client, the new passphrase is the client's, not the serving peer's.
    let out = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(["passphrase", "change"])
        .env("KRIZLINK_NEW_PASSPHRASE", "nove-heslo-klienta")
        .stdin(Stdio::null())
        .output()
        .expect("client");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "passphrase changed"
    );

    // Ctrl-C on the serving terminal stops the peer cleanly.
    keys.write_all(b"\x03").expect("Ctrl-C");
    let start = Instant::now();
    while terminal.try_wait().expect("script").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(node(dir, &["space", "list"]).status.code(), Some(3));
    let out = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(["task", "list", "--space", &space])
        .env("KRIZLINK_PASSPHRASE", "nove-heslo-klienta")
        .output()
        .expect("node");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_exercise_space_is_marked_in_every_listing_and_a_real_one_never() {
    let dir = TempDir::new("exercise-listings");
    ok(dir.path(), &["init", "--name", "Řídící cvičení"]);
    let drill = ok(
        dir.path(),
        &["space", "create", "Cvičení Povodeň Zlínsko", "--exercise"],
    );
    let real = ok(
        dir.path(),
        &["space", "create", "Krizový štáb Zlínského kraje"],
    );
    let tasks: Vec<String> = [&drill, &real]
        .into_iter()
        .map(|space| {
            ok(
                dir.path(),
                &["task", "add", "--space", space, "--title", "Svolat štáb"],
            )
        })
        .collect();
    let receipts = ok(dir.path(), &["receipts", "--space", &drill, &tasks[0]]);
    assert!(receipts.starts_with("=== CVIČENÍ"), "{receipts}");
    let receipts = ok(dir.path(), &["receipts", "--space", &real, &tasks[1]]);
    assert!(!receipts.contains("CVIČENÍ"), "{receipts}");
    let listed = ok(dir.path(), &["space", "list"]);
    let line = |id: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line(&drill).contains("CVIČENÍ"), "{listed}");
    assert!(!line(&real).contains("CVIČENÍ"), "{listed}");
    let spaces: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["space", "list", "--json"])).expect("json");
    for s in spaces.as_array().expect("array") {
        assert_eq!(s["exercise"], s["id"] == drill.as_str(), "{s}");
    }
    for what in ["task", "member"] {
        let text = ok(dir.path(), &[what, "list", "--space", &drill]);
        assert!(
            text.lines().next().is_some_and(|l| l.contains("CVIČENÍ")),
            "{what} list of the drill starts with the mark: {text}"
        );
        let json: serde_json::Value = serde_json::from_str(&ok(
            dir.path(),
            &[what, "list", "--space", &drill, "--json"],
        ))
        .expect("json");
        assert!(
            json.as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|e| e["exercise"] == true)),
            "{json}"
        );
        let text = ok(dir.path(), &[what, "list", "--space", &real]);
        assert!(!text.contains("CVIČENÍ"), "{text}");
        let json = ok(dir.path(), &[what, "list", "--space", &real, "--json"]);
        assert!(!json.contains("exercise"), "{json}");
    }
    // Drill data is never imported into a real space; into a drill it may be.
    let drill_line = r#"{"title": "Evakuace (ze cvičení)", "exercise": true}"#;
    for (space, accepted) in [(&real, false), (&drill, true)] {
        let mut child = Command::new(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["task", "import", "--space", space])
            .env("KRIZLINK_PASSPHRASE", PASS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        writeln!(child.stdin.take().expect("stdin"), "{drill_line}").expect("write");
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.success(), accepted, "{}", stderr(&out));
        if !accepted {
            assert!(
                stderr(&out).contains("never imported into a real space"),
                "{}",
                stderr(&out)
            );
        }
    }
    assert!(!ok(dir.path(), &["task", "list", "--space", &real]).contains("ze cvičení"));
}

/// `pdftotext -layout FILE -` (Debian's poppler-utils, installed by scripts/setup.sh).
fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils: scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "pdftotext {}: {}",
        pdf.display(),
        stderr(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A situation report written with `sitrep pdf` is a real PDF whose Czech text `pdftotext`
/// gives back exactly: in a real space with no CVIČENÍ anywhere, in a drill with the mark on
/// the page. Sent to a serving peer, the command writes the file where its caller meant (a
/// path relative to the caller's directory, not the peer's).
#[test]
fn a_situation_report_is_written_as_a_pdf_whose_czech_text_reads_back_exactly() {
    let dir = TempDir::new("sitrep-pdf");
    let files = TempDir::new("sitrep-pdf-files");
    ok(dir.path(), &["init", "--name", "Jana Nováková"]);
    let real = ok(
        dir.path(),
        &["space", "create", "Krizový štáb Zlínského kraje"],
    );
    let drill = ok(
        dir.path(),
        &["space", "create", "Cvičení Povodeň Zlínsko", "--exercise"],
    );
    let add = |space: &str| {
        ok(
            dir.path(),
            &[
                "sitrep",
                "add",
                "--space",
                space,
                "--sender",
                "ORP Valašské Meziříčí",
                "--recipient",
                "Krizový štáb Zlínského kraje",
                "--as-of",
                "2026-12-01T10:00:00+01:00",
                "--number",
                "3",
                "--situation",
                "Hladina: řeka Bečva stoupá, v Krásně nad Bečvou platí 3. stupeň povodňové aktivity.",
                "--evacuated",
                "145",
                "--injured",
                "2",
                "--measures",
                "Evakuace ulic Žerotínova a Šafaříkova, uzavírka silnice I/35.",
                "--forces",
                "HZS ZK: 4 družstva, JSDH: 6 jednotek",
                "--expected",
                "Kulminace kolem 14:00, poté pokles.",
                "--prepared-by",
                "Petr Dvořák",
                "--contact",
                "tel. 571 000 111",
            ],
        )
    };
    let expect_report = |text: &str| {
        for part in [
            "Situační zpráva č. 3",
            "Valašské Meziříčí",
            "řeka Bečva stoupá, v Krásně nad Bečvou platí 3. stupeň povodňové aktivity.",
            "Dopady",
            "Přijatá opatření",
            "Evakuace ulic Žerotínova a Šafaříkova, uzavírka silnice I/35.",
            "Nasazené síly a prostředky",
            "Předpokládaný vývoj",
            "Zpracoval:",
            "Petr Dvořák",
            "Strana 1 z 1",
        ] {
            assert!(text.contains(part), "{part:?} in:\n{text}");
        }
        let evacuated = text
            .lines()
            .find(|l| l.contains("Evakuované osoby"))
            .unwrap_or_else(|| panic!("no Evakuované osoby in:\n{text}"));
        assert!(evacuated.contains("145"), "{evacuated}");
        assert!(!text.contains('?'), "nothing replaced:\n{text}");
    };

    // A real space: the report alone, nowhere CVIČENÍ.
    let record = add(&real);
    let pdf = files.path().join("situacni-zprava.pdf");
    let out = ok(
        dir.path(),
        &[
            "sitrep",
            "pdf",
            "--space",
            &real,
            &record,
            "--out",
            pdf.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out, pdf.display().to_string());
    let bytes = std::fs::read(&pdf).expect("the PDF is written");
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        bytes.len() < 100_000,
        "a one-page report is {} bytes",
        bytes.len()
    );
    eprintln!("a one-page situation report: {} bytes", bytes.len());
    let text = pdf_text(&pdf);
    expect_report(&text);
    assert!(!text.contains("CVIČENÍ"), "{text}");

    // A drill, through a serving peer, to a path relative to the caller's directory.
    let record = add(&drill);
    let served = Served::start(dir.path());
    let out = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "sitrep",
            "pdf",
            "--space",
            &drill,
            &record,
            "--out",
            "cviceni.pdf",
        ])
        .current_dir(files.path())
        .env("KRIZLINK_PASSPHRASE", PASS)
        .output()
        .expect("krizlink-node runs");
    served.stop();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().next().is_some_and(|l| l.contains("CVIČENÍ")),
        "{stdout}"
    );
    let pdf = files.path().join("cviceni.pdf");
    let text = pdf_text(&pdf);
    expect_report(&text);
    assert!(
        text.contains("CVIČENÍ – EXERCISE – nejde o skutečnou událost"),
        "{text}"
    );
}
