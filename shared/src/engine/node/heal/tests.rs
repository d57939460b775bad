//! The heal's tests: every replica ends with both writes and one state.

use super::*;
use crate::engine::envelope::nonce_of;
use crate::engine::node::testing::{
    backed_up_then_written, envelope_at, granted_relay, joined, new_node, pull, scratch, sync,
    task, titles, PASS,
};
use crate::record::FieldValue;

const BEFORE: &str = "Zápis před obnovou";
const AFTER: &str = "Zápis po obnovení";

fn hash(node: &Node, space: SpaceId) -> String {
    format!("{:?}", node.replica(space).unwrap().state_hash())
}

#[test]
fn a_restored_copy_written_on_ends_with_both_writes_on_every_replica() {
    let dir = scratch("heal-both");
    let (mut chair, space, copy) = backed_up_then_written(&dir);
    let mut other = joined(&mut chair, space, &dir, "other");
    let mut restored = Node::open(&copy, PASS).unwrap();
    let me = restored.device_id();
    task(&mut restored, space, AFTER);
    let seq = restored.own_last_seq(space);
    let loser = envelope_at(&restored, space, me, seq);
    let winner = envelope_at(&chair, space, me, seq);
    assert!(
        wins(&winner, &loser),
        "the staff's write has the lower session"
    );
    // The restored copy pulls from its staff: its write loses, and is issued again.
    let got = pull(&chair, &mut restored, space);
    assert_eq!(got.forked, [OpId { device: me, seq }], "{got:?}");
    assert_eq!(titles(&restored, space), [AFTER, BEFORE]);
    assert_eq!(envelope_at(&restored, space, me, seq), winner);
    assert_eq!(restored.own_last_seq(space), seq + 1, "a fresh number");
    assert!(restored.forked_devices().iter().any(|f| f.this_device));
    assert!(
        restored
            .notices()
            .iter()
            .any(|n| n.contains("Byly zapsány znovu") && n.contains(" / ")),
        "{:?}",
        restored.notices()
    );
    // The staff pull from it: the write issued again comes, and the loser is reported.
    let got = pull(&restored, &mut chair, space);
    assert_eq!(got.stored.len(), 1, "{got:?}");
    assert_eq!(got.forked.len(), 1, "{got:?}");
    assert_eq!(
        envelope_at(&chair, space, me, seq),
        winner,
        "the winner stays"
    );
    pull(&chair, &mut other, space);
    for node in [&chair, &other, &restored] {
        assert_eq!(titles(node, space), [AFTER, BEFORE]);
        assert_eq!(hash(node, space), hash(&chair, space));
    }
    // Again and again: nothing changes, the fork is reported once.
    for _ in 0..2 {
        pull(&restored, &mut chair, space);
        pull(&chair, &mut restored, space);
        pull(&other, &mut chair, space);
    }
    assert_eq!(hash(&restored, space), hash(&chair, space));
    assert_eq!(chair.forked_devices().len(), 1);
    assert_eq!(restored.own_last_seq(space), seq + 1);
    // No (key, nonce) pair was used twice: the loser, and every envelope of the device.
    let mut nonces = BTreeSet::new();
    assert!(nonces.insert(nonce_of(&Envelope::decode(&loser).unwrap())));
    for s in 1..=seq + 1 {
        let env = Envelope::decode(&envelope_at(&chair, space, me, s)).unwrap();
        assert!(nonces.insert(nonce_of(&env)), "nonce of {s} reused");
    }
    chair.audit_flush().unwrap();
    restored.audit_flush().unwrap();
    let audit = std::fs::read_to_string(dir.join("chair").join("audit.log")).unwrap();
    assert_eq!(audit.matches("\"event\":\"device_forked\"").count(), 1);
    let audit = std::fs::read_to_string(copy.join("audit.log")).unwrap();
    assert_eq!(audit.matches("\"event\":\"fork_healed\"").count(), 1);
    // After a restart too.
    restored.close().unwrap();
    let restored = Node::open(&copy, PASS).unwrap();
    assert_eq!(hash(&restored, space), hash(&chair, space));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn peers_and_relays_that_took_the_losing_write_first_replace_it() {
    let dir = scratch("heal-peers");
    let (mut chair, space, copy) = backed_up_then_written(&dir);
    let mut restored = Node::open(&copy, PASS).unwrap();
    let me = restored.device_id();
    // A member that never saw the staff's write, and a relay: both get the loser first.
    let mut other = joined(&mut chair, space, &dir, "other");
    let seq = restored.own_last_seq(space) + 1;
    task(&mut restored, space, AFTER);
    let mut relay = granted_relay(&mut chair, space, &dir, "relay");
    pull(&chair, &mut relay, space);
    let winner = envelope_at(&chair, space, me, seq);
    // The other member has the winner already (it joined after); make a third that has not.
    let (batch, _) = restored
        .envelopes_missing_from(space, &Default::default(), 10_000, usize::MAX)
        .unwrap();
    let mut third = new_node(&dir, "third");
    let code = chair.create_invite(space, StaffRole::Member, 60).unwrap();
    let request = third.request_join(&code).unwrap();
    let welcome = chair.accept_join(&request).unwrap();
    third.finish_join(&welcome).unwrap();
    let got = third.receive(space, batch.clone(), "obnovený").unwrap();
    assert!(got.forked.is_empty(), "nothing to compare yet: {got:?}");
    assert_eq!(titles(&third, space), [AFTER]);
    let got = relay.receive(space, batch, "obnovený").unwrap();
    assert_eq!(got.forked.len(), 1, "{got:?}");
    assert_eq!(
        envelope_at(&relay, space, me, seq),
        winner,
        "the relay keeps the winner"
    );
    // A blind relay holding the loser replaces it as well.
    let mut late_relay = granted_relay(&mut chair, space, &dir, "late-relay");
    let (loser_batch, _) = restored
        .envelopes_missing_from(space, &Default::default(), 10_000, usize::MAX)
        .unwrap();
    late_relay.receive(space, loser_batch, "obnovený").unwrap();
    let got = pull(&chair, &mut late_relay, space);
    assert_eq!(got.forked.len(), 1, "{got:?}");
    assert_eq!(envelope_at(&late_relay, space, me, seq), winner);
    late_relay.close().unwrap();
    let late_relay = Node::open(&dir.join("late-relay"), PASS).unwrap();
    assert_eq!(envelope_at(&late_relay, space, me, seq), winner, "on disk");
    // The member holding the loser writes on top of it: a comment on that task.
    let record = RecordId::for_create(&OpId { device: me, seq });
    third
        .edit_record(
            space,
            record,
            RecordKind::Task,
            vec![Change::Comment {
                text: "Navazuji na zápis po obnovení".into(),
            }],
        )
        .unwrap();
    // The member holding the loser takes the winner from the chair: only the staff's
    // write is left there until the restored copy issues its own again, and the member is
    // told that its comment now hangs on another write.
    let got = pull(&chair, &mut third, space);
    assert_eq!(got.forked.len(), 1, "{got:?}");
    assert_eq!(titles(&third, space), [BEFORE]);
    assert!(
        third
            .notices()
            .iter()
            .any(|n| n.contains("1 zápisů tohoto počítače navazovalo")),
        "{:?}",
        third.notices()
    );
    assert!(third.forked_devices().iter().any(|f| !f.this_device));
    pull(&chair, &mut restored, space);
    pull(&restored, &mut third, space);
    pull(&third, &mut chair, space);
    pull(&chair, &mut other, space);
    pull(&chair, &mut restored, space);
    pull(&chair, &mut relay, space);
    for node in [&chair, &other, &restored, &third] {
        assert_eq!(titles(node, space), [AFTER, BEFORE]);
        assert_eq!(hash(node, space), hash(&chair, space));
    }
    assert_eq!(relay.have(space).unwrap(), chair.have(space).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn writes_issued_again_keep_referring_to_each_other() {
    let dir = scratch("heal-refs");
    let (mut chair, space, copy) = backed_up_then_written(&dir);
    // The staff's member wrote a second task too (the laptop before its disk failed).
    let mut member = Node::open(&dir.join("member"), PASS).unwrap();
    task(&mut member, space, "Druhý zápis před obnovou");
    sync(&member, &mut chair, space);
    member.close().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut restored = Node::open(&copy, PASS).unwrap();
    // After the restore: a task, then its title changed — both under numbers the staff
    // hold with other content; the tips name only the last of them.
    let record = task(&mut restored, space, AFTER);
    let bases = restored
        .replica(space)
        .unwrap()
        .record(RecordKind::Task, record)
        .unwrap()
        .register(crate::record::FieldKey::Title)
        .unwrap()
        .heads();
    restored
        .edit_record(
            space,
            record,
            RecordKind::Task,
            vec![Change::Set {
                value: FieldValue::Title("Zápis po obnovení, opravený".into()),
                bases: bases.try_into().unwrap(),
            }],
        )
        .unwrap();
    let got = pull(&chair, &mut restored, space);
    assert_eq!(got.forked.len(), 2, "both found: {got:?}");
    pull(&restored, &mut chair, space);
    for node in [&chair, &restored] {
        assert_eq!(
            titles(node, space),
            [
                "Druhý zápis před obnovou",
                "Zápis po obnovení, opravený",
                BEFORE
            ]
        );
        let replica = node.replica(space).unwrap();
        assert!(
            replica
                .records_of(RecordKind::Task)
                .all(|(_, r)| r.field_conflicts().is_empty()),
            "the edit replaces the title it saw (its base was mapped)"
        );
    }
    assert_eq!(hash(&restored, space), hash(&chair, space));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The staff hold `staff` writes of the member after its backup, the restored copy wrote
/// `after` of its own: pulls both ways until the states agree; how many rounds it took.
fn heal_deep(name: &str, staff: usize, after: usize) -> usize {
    let dir = scratch(name);
    let (mut chair, space, copy) = backed_up_then_written(&dir);
    let mut member = Node::open(&dir.join("member"), PASS).unwrap();
    for i in 1..staff {
        task(&mut member, space, &format!("Štáb {i:02}"));
    }
    sync(&member, &mut chair, space);
    member.close().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut restored = Node::open(&copy, PASS).unwrap();
    for i in 0..after {
        task(&mut restored, space, &format!("Obnovený {i:02}"));
    }
    let mut rounds = 0;
    while hash(&restored, space) != hash(&chair, space) {
        rounds += 1;
        assert!(rounds <= 8, "no convergence after {rounds} rounds");
        pull(&chair, &mut restored, space);
        pull(&restored, &mut chair, space);
    }
    for node in [&chair, &restored] {
        assert_eq!(
            titles(node, space).len(),
            staff + after,
            "every write on both"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    rounds
}

#[test]
fn losers_deeper_than_one_window_are_found_pull_by_pull() {
    assert!(heal_deep("heal-deep", 50, 45) > 1, "more than one window");
    // The restored copy wrote more than its staff hold: its last writes take no number
    // anyone else has, the ones below do.
    assert!(
        heal_deep("heal-deep-long", 40, 75) > 1,
        "more than one window"
    );
}

#[test]
fn the_original_and_the_restored_copy_both_writing_on_end_alike() {
    let dir = scratch("heal-both-running");
    let (mut chair, space, copy) = backed_up_then_written(&dir);
    let mut original = Node::open(&dir.join("member"), PASS).unwrap();
    task(&mut original, space, "Originál 0");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut restored = Node::open(&copy, PASS).unwrap();
    task(&mut restored, space, "Kopie 0");
    for i in 1..4 {
        pull(&original, &mut chair, space);
        pull(&restored, &mut chair, space);
        task(&mut original, space, &format!("Originál {i}"));
        pull(&chair, &mut restored, space);
        task(&mut restored, space, &format!("Kopie {i}"));
        pull(&chair, &mut original, space);
    }
    let mut rounds = 0;
    loop {
        pull(&original, &mut chair, space);
        pull(&restored, &mut chair, space);
        pull(&chair, &mut original, space);
        pull(&chair, &mut restored, space);
        let h = hash(&chair, space);
        if h == hash(&original, space) && h == hash(&restored, space) {
            break;
        }
        rounds += 1;
        assert!(rounds <= 8, "no convergence after {rounds} rounds");
    }
    for node in [&chair, &original, &restored] {
        let t = titles(node, space);
        assert_eq!(t.len(), 1 + 4 + 4, "{t:?}");
        let distinct: BTreeSet<&String> = t.iter().collect();
        assert_eq!(distinct.len(), t.len(), "no write twice: {t:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
