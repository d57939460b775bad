//! Authority on every replica, with real `krizlink-node serve` processes on 127.0.0.1: what a
//! role may not do is refused by every peer, audited and never state; a demotion holds on
//! every peer and on the demoted laptop itself, for what it wrote concurrently too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use krizlink_core::engine::node::Node;
use krizlink_core::engine::oplog::OpLog;
use krizlink_core::record::{FieldValue, ReportKind, StaffRole, Timestamp};
use krizlink_core::{Change, DeviceId, RecordKind, SpaceId};
use krizlink_tests::staff::*;
use krizlink_tests::TempDir;

const WAIT: Duration = Duration::from_secs(20);

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn set(value: FieldValue) -> Change {
    Change::Set {
        value,
        bases: Default::default(),
    }
}

/// What a modified client at `dir` writes and logs without asking its engine: `changes`
/// creating a `kind` record, sealed with the device's own keys.
fn modified_client_writes(dir: &Path, space: &str, kind: RecordKind, changes: Vec<Change>) {
    let id: SpaceId = space.parse().expect("space id");
    let node = Node::open(dir, PASS).expect("the data dir opens");
    let envelope = node
        .seal_unchecked(id, kind, changes)
        .expect("sealed with the device's keys");
    node.close().expect("closed");
    let (mut log, _, _) =
        OpLog::open(&dir.join("spaces").join(format!("{space}.log"))).expect("its op log");
    log.append(&envelope).expect("logged");
}

fn members(dir: &Path, space: &str) -> serde_json::Value {
    json(dir, &["member", "list", "--space", space, "--json"])
}

fn role_of(dir: &Path, space: &str, name: &str) -> Option<String> {
    members(dir, space)
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
        .and_then(|m| m["role"].as_str().map(str::to_owned))
}

#[test]
fn what_a_role_may_not_do_is_refused_on_every_peer_audited_and_never_state() {
    let root = TempDir::new("authority-refused");
    let (chair, space, chair_serving) = founder(&root, "Jana Předsedová");
    let member = joined_as(&root, "Petr Člen", &chair, &space, "member", None);
    let observer = joined_as(
        &root,
        "Olga Pozorovatelka",
        &chair,
        &space,
        "observer",
        None,
    );
    let orp = joined_as(
        &root,
        "Václav Koordinátor",
        &chair,
        &space,
        "orp_coordinator",
        Some("Vsetín"),
    );
    let honest = joined_as(&root, "Hana Tajemnice", &chair, &space, "secretary", None);
    assert_eq!(
        role_of(&chair, &space, "Václav Koordinátor").as_deref(),
        Some("orp_coordinator")
    );
    let listed = members(&chair, &space);
    assert!(
        listed
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["orp"] == "Vsetín")),
        "{listed}"
    );

    // The ORP coordinator's report for its own ORP counts; its CLI refuses another ORP.
    let sitrep = |dir: &Path, sender: &str| {
        node(
            dir,
            &[
                "sitrep",
                "add",
                "--space",
                &space,
                "--kind",
                "situation",
                "--sender",
                sender,
                "--as-of",
                "2026-11-30T08:00:00+01:00",
                "--situation",
                "Hladina Bečvy stoupá.",
            ],
        )
    };
    assert!(sitrep(&orp, "ORP Vsetín").status.success());
    let refused = sitrep(&orp, "ORP Zlín");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("Vsetín"),
        "the refusal names the ORP: {}",
        stderr(&refused)
    );

    // Three modified clients write what their roles may not, and serve it.
    modified_client_writes(
        &observer,
        &space,
        RecordKind::Task,
        vec![set(FieldValue::Title("ZNAČKA-POZOROVATEL".into()))],
    );
    modified_client_writes(
        &member,
        &space,
        RecordKind::Member,
        vec![
            set(FieldValue::MemberDevice(DeviceId([9; 32]))),
            set(FieldValue::MemberRole(StaffRole::Chair)),
            set(FieldValue::Name("ZNAČKA-VETŘELEC".into())),
        ],
    );
    modified_client_writes(
        &orp,
        &space,
        RecordKind::SituationReport,
        vec![
            set(FieldValue::ReportKind(ReportKind::Situation)),
            set(FieldValue::AsOf(Timestamp(1_790_000_000_000))),
            set(FieldValue::Sender("ORP Zlín".into())),
            set(FieldValue::Situation("ZNAČKA-CIZÍ-ORP".into())),
        ],
    );
    ok(
        &honest,
        &["task", "add", "--space", &space, "--title", "Poctivý úkol"],
    );
    let serving: Vec<Serving> = [&member, &observer, &orp, &honest]
        .into_iter()
        .map(|dir| serve(dir, &["--peer", &chair_serving.addr]))
        .collect();
    let hashes = || [&chair, &member, &observer, &orp, &honest].map(|d| state_hash(d, &space));
    wait_until("every peer holds the same state", WAIT * 2, || {
        let h = hashes();
        h.iter().all(|x| *x == h[0]) && has_task(&chair, &space, "Poctivý úkol")
    });
    for dir in [&chair, &member, &observer, &orp, &honest] {
        assert_eq!(task_titles(dir, &space), ["Poctivý úkol"], "{dir:?}");
        let sitreps = ok(dir, &["sitrep", "list", "--space", &space, "--json"]);
        assert!(!sitreps.contains("ZNAČKA"), "{dir:?}: {sitreps}");
        let listed = members(dir, &space).to_string();
        assert!(!listed.contains("ZNAČKA"), "{dir:?}: {listed}");
        assert_eq!(
            members(dir, &space).as_array().map(Vec::len),
            Some(5),
            "nobody admitted by a member"
        );
    }
    // Audited by the peers that refused them.
    for dir in [&chair, &honest] {
        let audit = ok(dir, &["audit", "export", "--format", "jsonl"]);
        for why in ["observer", "may not manage members", "ORP Zlín"] {
            assert!(
                audit.contains("operation_rejected") && audit.contains(why),
                "{dir:?} audits {why}: {audit}"
            );
        }
    }
    for s in serving {
        s.stop();
    }
    chair_serving.stop();
}

#[test]
fn a_demotion_holds_everywhere_and_on_the_demoted_laptop_for_what_it_wrote_concurrently() {
    let root = TempDir::new("authority-demotion");
    let (chair, space, chair_serving) = founder(&root, "Jana Předsedová");
    let member = joined_as(&root, "Petr Člen", &chair, &space, "member", None);
    let third = joined_as(&root, "Hana Tajemnice", &chair, &space, "member", None);
    let third_serving = serve(&third, &["--peer", &chair_serving.addr]);
    ok(
        &member,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Před sesazením",
        ],
    );
    let member_serving = serve(&member, &["--peer", &chair_serving.addr]);
    wait_until("the chair holds the member's task", WAIT, || {
        has_task(&chair, &space, "Před sesazením")
    });
    member_serving.stop();
    // The member's laptop is offline while the chair demotes it, and writes meanwhile: the
    // demotion governs what the chair had not seen of it.
    ok(
        &chair,
        &["member", "role", "--space", &space, "Petr Člen", "observer"],
    );
    ok(
        &member,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Souběžně se sesazením",
        ],
    );
    let member_serving = serve(&member, &["--peer", &chair_serving.addr]);
    wait_until("every peer holds the same state", WAIT, || {
        let (a, b, c) = (
            state_hash(&chair, &space),
            state_hash(&member, &space),
            state_hash(&third, &space),
        );
        a == b && b == c && role_of(&member, &space, "Petr Člen").as_deref() == Some("observer")
    });
    for dir in [&chair, &member, &third] {
        assert_eq!(task_titles(dir, &space), ["Před sesazením"], "{dir:?}");
    }
    // The demoted laptop refuses its own next write, saying why.
    let out = node(
        &member,
        &["task", "add", "--space", &space, "--title", "Po sesazení"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("observer"), "{}", stderr(&out));
    for dir in [&chair, &member, &third] {
        assert_eq!(task_titles(dir, &space), ["Před sesazením"], "{dir:?}");
    }
    member_serving.stop();
    third_serving.stop();
    chair_serving.stop();
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn device_id(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("device.id"))
        .expect("device.id")
        .trim()
        .to_owned()
}

#[test]
fn a_lost_laptop_is_removed_reads_nothing_new_and_what_it_writes_counts_nowhere() {
    let root = TempDir::new("authority-removal");
    let (chair, space, chair_serving) = founder(&root, "Jana Předsedová");
    let stays = joined_as(&root, "Petr Člen", &chair, &space, "member", None);
    let lost = joined_as(&root, "Eva Ztracená", &chair, &space, "secretary", None);
    let spare = joined_as(&root, "Náhradní notebook", &chair, &space, "member", None);
    let stays_serving = serve(&stays, &["--peer", &chair_serving.addr]);
    ok(
        &lost,
        &["task", "add", "--space", &space, "--title", "Před ztrátou"],
    );
    let lost_serving = serve(&lost, &["--peer", &chair_serving.addr]);
    wait_until("the chair holds the lost laptop's task", WAIT, || {
        has_task(&chair, &space, "Před ztrátou")
    });
    lost_serving.stop();

    // The laptop is lost: the chair removes its owner, and revokes a spare laptop by id.
    let out = ok(
        &chair,
        &["member", "remove", "--space", &space, "Eva Ztracená"],
    );
    assert!(
        out.contains(&device_id(&lost)) && out.contains("epoch 1"),
        "{out}"
    );
    let out = ok(
        &chair,
        &["device", "revoke", "--space", &space, &device_id(&spare)],
    );
    assert!(out.contains("epoch 2"), "{out}");
    let listed = members(&chair, &space);
    assert_eq!(
        listed
            .as_array()
            .map(|m| m.iter().filter(|m| m["role"].is_null()).count()),
        Some(2),
        "{listed}"
    );
    ok(
        &chair,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "TAJNÉ-PO-ODEBRÁNÍ",
        ],
    );
    wait_until("the member that stays reads the new epoch", WAIT, || {
        has_task(&stays, &space, "TAJNÉ-PO-ODEBRÁNÍ")
    });
    assert_eq!(members(&stays, &space)[0]["epoch"], 2);

    // Whoever has the laptops writes on them, then they meet the staff again.
    ok(
        &lost,
        &["task", "add", "--space", &space, "--title", "Po ztrátě"],
    );
    ok(
        &spare,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Ze zrušeného zařízení",
        ],
    );
    let lost_serving = serve(&lost, &["--peer", &chair_serving.addr]);
    let spare_serving = serve(&spare, &["--peer", &chair_serving.addr]);
    wait_until("the lost laptop learns of its removal", WAIT, || {
        role_of(&lost, &space, "Eva Ztracená").is_none()
            && members(&lost, &space)
                .as_array()
                .is_some_and(|m| !m.is_empty())
    });
    wait_until("the chair and the member agree", WAIT, || {
        state_hash(&chair, &space) == state_hash(&stays, &space)
            && json(&chair, &["status", "--json"])["spaces"][0]["unsent"] == 0
    });
    std::thread::sleep(Duration::from_secs(2));
    for dir in [&chair, &stays] {
        assert_eq!(
            task_titles(dir, &space),
            ["Před ztrátou", "TAJNÉ-PO-ODEBRÁNÍ"],
            "{dir:?}"
        );
    }
    assert_eq!(task_titles(&lost, &space), ["Před ztrátou"]);
    let out = node(
        &lost,
        &["task", "add", "--space", &space, "--title", "Ještě jednou"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("removed"), "{}", stderr(&out));
    lost_serving.stop();
    spare_serving.stop();
    // Nothing written after the removal is anywhere in the lost laptop's data dir.
    let marker = "TAJNÉ-PO-ODEBRÁNÍ".as_bytes();
    for file in files(&lost) {
        let bytes = std::fs::read(&file).expect("readable");
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{file:?} holds the marker"
        );
    }
    stays_serving.stop();
    chair_serving.stop();
}

fn delivered_at(region: &Path, space: &str, record: &str, name: &str) -> Option<serde_json::Value> {
    json(region, &["receipts", "--space", space, record, "--json"])
        .as_array()?
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
}

#[test]
fn a_task_shows_delivered_at_an_orp_only_once_that_orp_holds_it_also_through_a_relay() {
    let root = TempDir::new("authority-receipts");
    let (region, space, region_serving) = founder(&root, "Krajský štáb");
    let relay = root.path().join("relay");
    ok(&relay, &["init", "--name", "Krajský server"]);
    let grant = relay_grant(&region, &space, &relay);
    let relay_serving = serve(
        &relay,
        &["--peer", &region_serving.addr, "--blind-relay", &grant],
    );
    let orp = joined_as(&root, "ORP Vsetín", &region, &space, "member", None);
    let record = ok(
        &region,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Evakuace Jablůnky",
        ],
    );
    // The ORP is offline: the task is not delivered there, whatever else is known.
    std::thread::sleep(Duration::from_secs(3));
    let d = delivered_at(&region, &space, &record, "ORP Vsetín").expect("the ORP is listed");
    assert_eq!(d["holds"], false, "{d}");
    // The ORP comes online talking only to the relay; its own signed receipt comes back.
    let orp_serving = serve(&orp, &["--peer", &relay_serving.addr]);
    wait_until(
        "the ORP's receipt reaches the region through the relay",
        WAIT,
        || delivered_at(&region, &space, &record, "ORP Vsetín").is_some_and(|d| d["holds"] == true),
    );
    assert!(has_task(&orp, &space, "Evakuace Jablůnky"));
    let d = delivered_at(&region, &space, &record, "ORP Vsetín").expect("listed");
    assert!(d["since"].is_string(), "since when: {d}");
    let text = ok(&region, &["receipts", "--space", &space, &record]);
    assert!(text.contains("Doručeno: 2 ze 2"), "{text}");
    orp_serving.stop();
    relay_serving.stop();
    region_serving.stop();
}
