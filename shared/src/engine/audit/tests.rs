//! Tests of the audit log: the chain and its signed head against every edit an intruder
//! could make, recovery, refusal summaries and export.

use super::*;

fn setup(name: &str) -> (PathBuf, DeviceKeys) {
    let dir = std::env::temp_dir().join(format!("krizlink-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (dir.join("audit.log"), DeviceKeys::from_seed(&[5; 32]))
}

fn write_some(path: &Path, keys: &DeviceKeys) {
    let mut log = AuditLog::open(path, keys.device_id()).unwrap();
    let now = Utc::now();
    log.record(AuditEvent::DeviceCreated, &[], Some(keys), now)
        .unwrap();
    log.record(
        AuditEvent::UnlockFailed,
        &[("reason", "wrong passphrase".into())],
        None,
        now,
    )
    .unwrap();
    log.record(AuditEvent::UnlockOk, &[], Some(keys), now)
        .unwrap();
    log.record(
        AuditEvent::SpaceCreated,
        &[("space", "ab".repeat(16))],
        Some(keys),
        now,
    )
    .unwrap();
}

#[test]
fn an_intact_log_verifies() {
    let (path, keys) = setup("intact");
    write_some(&path, &keys);
    let report = verify(&path, &keys.device_id()).unwrap();
    assert_eq!(report.entries, 4);
    assert_eq!(report.signed, 3);
    assert_eq!(report.unsealed_tail, 0);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Reopening continues the chain.
    let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
    log.record(AuditEvent::AuditExported, &[], Some(&keys), Utc::now())
        .unwrap();
    assert!(verify(&path, &keys.device_id())
        .unwrap()
        .problems
        .is_empty());
}

#[test]
fn edits_removals_and_reordering_are_found_and_named() {
    let (path, keys) = setup("tamper");
    write_some(&path, &keys);
    let original = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = original.lines().collect();

    std::fs::write(&path, original.replace("wrong passphrase", "typo")).unwrap();
    assert!(verify(&path, &keys.device_id())
        .unwrap()
        .problems
        .contains(&AuditProblem::Edited { seq: 2 }));

    let removed = [lines[0], lines[2], lines[3]].join("\n");
    std::fs::write(&path, removed).unwrap();
    assert!(matches!(
        verify(&path, &keys.device_id()).unwrap().problems[0],
        AuditProblem::Broken {
            expected_seq: 2,
            found_seq: 3,
            ..
        }
    ));

    let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n");
    std::fs::write(&path, swapped).unwrap();
    assert!(!verify(&path, &keys.device_id())
        .unwrap()
        .problems
        .is_empty());

    std::fs::write(&path, original.replace("unlock_ok", "space_created")).unwrap();
    assert!(verify(&path, &keys.device_id())
        .unwrap()
        .problems
        .contains(&AuditProblem::Edited { seq: 3 }));

    std::fs::write(&path, format!("{original}not json\n")).unwrap();
    assert!(verify(&path, &keys.device_id())
        .unwrap()
        .problems
        .contains(&AuditProblem::Unreadable { line: 5 }));
}

#[test]
fn exports_in_three_formats() {
    let (path, keys) = setup("export");
    write_some(&path, &keys);
    let jsonl = export(&path, ExportFormat::Jsonl, "kraj-srv").unwrap();
    assert_eq!(jsonl.len(), 4);
    assert!(serde_json::from_str::<AuditEntry>(&jsonl[1]).is_ok());
    let syslog = export(&path, ExportFormat::Syslog, "kraj-srv").unwrap();
    assert!(syslog[1].starts_with("<84>1 "), "{}", syslog[1]);
    assert!(syslog[1].contains(" kraj-srv krizlink-node - unlock_failed [krizlink@32473 seq=\"2\""));
    let cef = export(&path, ExportFormat::Cef, "kraj-srv").unwrap();
    assert!(cef[1].starts_with("CEF:0|KrizLink|krizlink-node|"));
    assert!(cef[1].contains("|unlock_failed|unlock failed|7|rt="));
    assert!(cef[1].contains("msg=reason: wrong passphrase"));
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn entries_cut_off_the_end_are_found() {
    let (path, keys) = setup("cut");
    write_some(&path, &keys);
    let lines = lines_of(&path);
    let report = verify(&path, &keys.device_id()).unwrap();
    assert_eq!(report.head, Some(4));
    write_lines(&path, &lines[..2]);
    let problems = verify(&path, &keys.device_id()).unwrap().problems;
    assert_eq!(problems, vec![AuditProblem::CutOff { last: 2, head: 4 }]);
    assert_eq!(
        problems[0].to_string(),
        "entries 3 to 4 were cut off the end (the signed head is entry 4)"
    );
    // Cut, then an unsigned failed unlock appended to reach the same length again.
    write_lines(&path, &lines[..3]);
    let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
    assert!(log.damage().is_some());
    log.record(AuditEvent::UnlockFailed, &[], None, Utc::now())
        .unwrap();
    assert!(verify(&path, &keys.device_id())
        .unwrap()
        .problems
        .contains(&AuditProblem::HeadMismatch { seq: 4 }));
    // The whole file gone is a cut too.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        verify(&path, &keys.device_id()).unwrap().problems,
        vec![AuditProblem::CutOff { last: 0, head: 4 }]
    );
}

#[test]
fn a_removed_head_is_found_once_the_chain_is_anchored() {
    let (path, keys) = setup("head");
    write_some(&path, &keys);
    std::fs::remove_file(path.with_extension("head")).unwrap();
    assert_eq!(
        verify(&path, &keys.device_id()).unwrap().problems,
        vec![AuditProblem::HeadMissing]
    );
    std::fs::write(path.with_extension("head"), [7u8; 2 * HEAD_SLOT]).unwrap();
    assert!(matches!(
        verify(&path, &keys.device_id()).unwrap().problems[..],
        [AuditProblem::HeadInvalid(_)]
    ));
    // A log written before heads existed (no anchor entry) is not blamed for lacking one.
    let legacy: Vec<String> = lines_of(&path)
        .into_iter()
        .filter(|l| !l.contains(ANCHORED))
        .collect();
    assert_eq!(legacy.len(), 3);
    std::fs::remove_file(path.with_extension("head")).unwrap();
    let (legacy_path, _) = setup("head-legacy");
    let mut log = AuditLog::open(&legacy_path, keys.device_id()).unwrap();
    log.anchored = true; // writes entries without the anchor mark, as before
    log.record(AuditEvent::DeviceCreated, &[], Some(&keys), Utc::now())
        .unwrap();
    std::fs::remove_file(legacy_path.with_extension("head")).unwrap();
    let report = verify(&legacy_path, &keys.device_id()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Reopened, the next signed entry anchors it.
    let mut log = AuditLog::open(&legacy_path, keys.device_id()).unwrap();
    assert!(log.damage().is_none());
    log.record(AuditEvent::UnlockOk, &[], Some(&keys), Utc::now())
        .unwrap();
    assert_eq!(
        verify(&legacy_path, &keys.device_id()).unwrap().head,
        Some(2)
    );
}

#[test]
fn a_removed_signature_is_found() {
    let (path, keys) = setup("unsigned");
    write_some(&path, &keys);
    let mut lines = lines_of(&path);
    let mut entry: AuditEntry = serde_json::from_str(&lines[2]).unwrap();
    entry.sig = None;
    lines[2] = serde_json::to_string(&entry).unwrap();
    write_lines(&path, &lines);
    assert_eq!(
        verify(&path, &keys.device_id()).unwrap().problems,
        vec![AuditProblem::Unsigned { seq: 3 }]
    );
}

#[test]
fn entries_of_another_device_are_found() {
    let (path, keys) = setup("foreign");
    write_some(&path, &keys);
    let intruder = DeviceKeys::from_seed(&[6; 32]);
    let mut log = AuditLog::open(&path, intruder.device_id()).unwrap();
    log.record(AuditEvent::UnlockOk, &[], Some(&intruder), Utc::now())
        .unwrap();
    let problems = verify(&path, &keys.device_id()).unwrap().problems;
    assert_eq!(
        problems,
        vec![AuditProblem::ForeignDevice {
            seq: 5,
            device: intruder.device_id().to_string()
        }]
    );
    // A whole log of another device, with its own head, is refused as well.
    let (other, _) = setup("foreign-whole");
    write_some(&other, &intruder);
    let problems = verify(&other, &keys.device_id()).unwrap().problems;
    assert!(problems.contains(&AuditProblem::ForeignDevice {
        seq: 1,
        device: intruder.device_id().to_string()
    }));
    assert!(matches!(
        problems.last(),
        Some(AuditProblem::HeadInvalid(_))
    ));
}

#[test]
fn appended_entries_are_found() {
    let (path, keys) = setup("appended");
    write_some(&path, &keys);
    let lines = lines_of(&path);
    // An unsigned entry that is always signed, continuing the chain.
    let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
    log.record(AuditEvent::MemberJoined, &[], None, Utc::now())
        .unwrap();
    assert_eq!(
        verify(&path, &keys.device_id()).unwrap().problems,
        vec![AuditProblem::Unsigned { seq: 5 }]
    );
    // A copy of a signed entry appended.
    let mut copied = lines.clone();
    copied.push(lines[3].clone());
    write_lines(&path, &copied);
    assert!(matches!(
        verify(&path, &keys.device_id()).unwrap().problems[..],
        [AuditProblem::Broken {
            expected_seq: 5,
            found_seq: 4,
            ..
        }]
    ));
    // A failed unlock needs no key: anyone can cause one, so it is only counted as unsealed.
    write_lines(&path, &lines);
    let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
    log.record(AuditEvent::UnlockFailed, &[], None, Utc::now())
        .unwrap();
    let report = verify(&path, &keys.device_id()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.unsealed_tail, 1);
}

#[test]
fn a_damaged_log_is_kept_aside_and_a_new_chain_records_it() {
    let (path, keys) = setup("damaged");
    type Spoil = fn(&[u8]) -> Vec<u8>;
    let cases: [(&str, Spoil); 4] = [
        ("non-utf-8 line", |b| {
            [b, b"\xff\xfe\x00audit\n".as_slice()].concat()
        }),
        ("torn last line", |b| b[..b.len() - 40].to_vec()),
        ("garbage", |_| b"\x00\x01 not an audit log at all".to_vec()),
        ("cut tail", |b| {
            let text = String::from_utf8(b.to_vec()).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            (lines[..2].join("\n") + "\n").into_bytes()
        }),
    ];
    for (case, damage) in cases {
        let dir = path.parent().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        write_some(&path, &keys);
        let good = std::fs::read(&path).unwrap();
        let old_head = lines_of(&path)
            .iter()
            .map(|l| serde_json::from_str::<AuditEntry>(l).unwrap())
            .nth(1)
            .unwrap()
            .hash;
        let damaged = damage(&good);
        std::fs::write(&path, &damaged).unwrap();
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        assert!(log.damage().is_some(), "{case}");
        // Before the key is unlocked, a failed unlock is still written (to the damaged file).
        log.record(AuditEvent::UnlockFailed, &[], None, Utc::now())
            .unwrap();
        let said = log.recover(&keys, Utc::now()).unwrap().unwrap();
        assert!(
            said.starts_with("the audit log was damaged ("),
            "{case}: {said}"
        );
        let kept: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("audit.log.damaged-"))
            .collect();
        assert_eq!(kept.len(), 1, "{case}");
        assert!(std::fs::read(&kept[0])
            .unwrap()
            .starts_with(&damaged[..damaged.len().min(20)]));
        log.record(AuditEvent::UnlockOk, &[], Some(&keys), Utc::now())
            .unwrap();
        let report = verify(&path, &keys.device_id()).unwrap();
        assert_eq!(report.entries, 2, "{case}");
        assert!(
            matches!(
                &report.problems[..],
                [AuditProblem::EarlierDamage { seq: 1, .. }]
            ),
            "{case}: {:?}",
            report.problems
        );
        let first: AuditEntry = serde_json::from_str(&lines_of(&path)[0]).unwrap();
        assert_eq!(first.event, AuditEvent::LogDamaged);
        if case != "garbage" && case != "torn last line" {
            assert!(
                first.detail.iter().any(|(k, _)| k == "old_last_hash"),
                "{case}"
            );
        }
        if case == "cut tail" {
            assert_eq!(first.get("old_last_hash"), Some(old_head.as_str()));
            assert!(first.get("reason").unwrap().contains("cut off the end"));
        }
        // Reopened, the new chain is continued without further damage.
        assert!(AuditLog::open(&path, keys.device_id())
            .unwrap()
            .damage()
            .is_none());
    }
}

#[test]
fn a_refusal_flood_is_counted_and_summarised_without_a_sync_each() {
    let (path, keys) = setup("flood");
    let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
    log.record(AuditEvent::DeviceCreated, &[], Some(&keys), Utc::now())
        .unwrap();
    let start = Utc::now();
    let refuse = |log: &mut AuditLog, source: &str, at| {
        let detail = [("device", source.to_owned())];
        log.refusal(
            AuditEvent::InviteRefused,
            source,
            "unknown invite",
            &detail,
            &keys,
            at,
        )
        .unwrap()
    };
    let syncs = log.syncs();
    for _ in 0..500 {
        refuse(&mut log, "peer-a", start);
    }
    assert_eq!(log.syncs(), syncs, "no sync per refusal");
    assert_eq!(lines_of(&path).len(), 2, "the first is written at once");
    // More kinds than are written in full: counted, not dropped.
    for i in 0..(MAX_REFUSAL_KINDS + 10) {
        refuse(&mut log, &format!("peer-{i}"), start);
    }
    log.flush(&keys, start).unwrap();
    assert_eq!(log.syncs(), syncs + 1, "one sync for the whole flood");
    let entries: Vec<AuditEntry> = lines_of(&path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let full = entries
        .iter()
        .filter(|e| e.event == AuditEvent::InviteRefused)
        .count();
    let summarised: u64 = entries
        .iter()
        .filter(|e| e.event == AuditEvent::RefusalsSummarized)
        .map(|e| e.get("count").unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(full, MAX_REFUSAL_KINDS);
    assert_eq!(
        full as u64 + summarised,
        500 + MAX_REFUSAL_KINDS as u64 + 10
    );
    assert_eq!(entries.len(), 1 + full + 2, "one summary per kind repeated");
    // A new interval writes the first of a kind again; the earlier one is summarised first.
    refuse(&mut log, "peer-a", start);
    refuse(&mut log, "peer-a", start);
    refuse(
        &mut log,
        "peer-a",
        start + chrono::Duration::seconds(REFUSAL_INTERVAL_SECS),
    );
    let events: Vec<AuditEvent> = lines_of(&path)
        .iter()
        .map(|l| serde_json::from_str::<AuditEntry>(l).unwrap().event)
        .collect();
    assert_eq!(
        events[events.len() - 3..],
        [
            AuditEvent::InviteRefused,
            AuditEvent::RefusalsSummarized,
            AuditEvent::InviteRefused
        ]
    );
    let report = verify(&path, &keys.device_id()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
