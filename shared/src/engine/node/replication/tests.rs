//! Tests of replication: the envelope index, what a peer lacks, and the receive path's
//! handling of refused operations.

use super::*;

fn id(device: u8, seq: u64) -> OpId {
    OpId {
        device: DeviceId([device; 32]),
        seq,
    }
}

fn store(ids: &[OpId]) -> EnvelopeStore {
    let mut s = EnvelopeStore::default();
    for i in ids {
        s.push(*i, vec![i.device.0[0], i.seq as u8]);
    }
    s
}

#[test]
fn have_is_the_contiguous_prefix_per_device() {
    let s = store(&[id(1, 1), id(1, 2), id(1, 4), id(2, 2)]);
    let vv = contiguous(&s, std::iter::empty());
    assert_eq!(vv.get(&DeviceId([1; 32])), 2);
    assert_eq!(vv.get(&DeviceId([2; 32])), 0);
    let extra = [id(1, 3), id(2, 1)];
    let vv = contiguous(&s, extra.iter());
    assert_eq!(vv.get(&DeviceId([1; 32])), 4);
    assert_eq!(vv.get(&DeviceId([2; 32])), 2);
}

#[test]
fn an_operation_held_for_its_admission_is_audited_but_not_refused() {
    let device = DeviceId([7; 32]);
    let held = NotStored::Held(Refusal::NotAMember(device));
    assert!(!held.is_refusal());
    assert_eq!(
        held.to_string(),
        format!(
            "{} (held until what it needs arrives)",
            Refusal::NotAMember(device)
        ),
        "the audited reason is unchanged"
    );
    let refused = NotStored::Refused("envelope of another space".into());
    assert!(refused.is_refusal());
    assert_eq!(refused.to_string(), "envelope of another space");
}

#[test]
fn missing_sends_admissions_first_and_respects_bounds() {
    let s = store(&[id(1, 1), id(1, 2), id(1, 3), id(2, 1), id(2, 2)]);
    let mut theirs = VersionVector::new();
    theirs.advance(DeviceId([1; 32]), 1);
    let first: BTreeSet<OpId> = [id(2, 2)].into();
    let (batch, more) = missing(&s, &first, &theirs, 10, 1 << 20);
    assert!(!more);
    assert_eq!(batch, vec![vec![2, 2], vec![1, 2], vec![1, 3], vec![2, 1]]);
    let (batch, more) = missing(&s, &first, &theirs, 2, 1 << 20);
    assert!(more);
    assert_eq!(batch.len(), 2);
    // A byte bound smaller than one envelope still moves one, so a sync always progresses.
    let (batch, more) = missing(&s, &BTreeSet::new(), &theirs, 10, 1);
    assert_eq!((batch.len(), more), (1, true));
}

#[test]
fn a_refused_operation_does_not_hold_back_its_authors_later_ones() {
    use crate::engine::node::testing::{new_node, scratch, staff, sync, titles, PASS};
    use crate::hlc::Hlc;
    use crate::ids::RecordId;
    use crate::op::Change;
    use crate::record::FieldValue;
    let dir = scratch("refused-author");
    let (mut chair, member, space) = staff(&dir);
    // A member's device (a modified or much newer client) sends an invalid operation —
    // a change to a journal entry, which is written once — then a valid new task.
    let device = member.device_id();
    let (epoch, key) = member.entry(space).unwrap().keys.last().cloned().unwrap();
    let seq = member.replica(space).unwrap().version_vector().get(&device);
    let hlc = |ms| Hlc {
        wall_ms: now_ms() - 1_000 + ms,
        counter: 0,
    };
    let invalid = Operation {
        id: OpId {
            device,
            seq: seq + 1,
        },
        hlc: hlc(0),
        space,
        record: RecordId([7; 16]),
        kind: RecordKind::JournalEntry,
        changes: vec![Change::Comment {
            text: "oprava zápisu".into(),
        }]
        .try_into()
        .unwrap(),
    };
    assert!(invalid.validate().is_err());
    let valid = Operation::new_record(
        OpId {
            device,
            seq: seq + 2,
        },
        hlc(1),
        space,
        RecordKind::Task,
        vec![Change::Set {
            value: FieldValue::Title("Zajistit pytle s pískem".into()),
            bases: Default::default(),
        }],
    )
    .unwrap();
    let seal = |op: &Operation| {
        Envelope::seal_content(op, epoch, 1, &key, &member.keys)
            .unwrap()
            .encode()
            .unwrap()
    };
    let got = chair
        .receive(space, vec![seal(&invalid), seal(&valid)], "test peer")
        .unwrap();
    assert_eq!(got.rejected.len(), 1, "{:?}", got.rejected);
    let titles_now = titles(&chair, space);
    assert_eq!(titles_now, ["Zajistit pytle s pískem"], "not held back");
    assert_eq!(chair.replica(space).unwrap().held_count(), 0);
    assert_eq!(
        chair.replica(space).unwrap().version_vector().get(&device),
        seq + 2,
        "the refused operation's place is taken"
    );
    // The same after a restart (from the checkpoint and from the whole log), and on a
    // third replica that learns everything from the chair.
    chair.close().unwrap();
    let chair = Node::open(&dir.join("chair"), PASS).unwrap();
    assert_eq!(titles(&chair, space), titles_now);
    let hash = chair.replica(space).unwrap().state_hash();
    chair.close().unwrap();
    std::fs::remove_dir_all(dir.join("chair").join("state")).unwrap();
    let mut chair = Node::open(&dir.join("chair"), PASS).unwrap();
    assert_eq!(
        chair.replica(space).unwrap().state_hash(),
        hash,
        "rebuilt alike"
    );
    let code = chair.create_invite(space, StaffRole::Member, 60).unwrap();
    let mut third = new_node(&dir, "third");
    let request = third.request_join(&code).unwrap();
    let welcome = chair.accept_join(&request).unwrap();
    third.finish_join(&welcome).unwrap();
    let got = sync(&chair, &mut third, space);
    assert_eq!(got.rejected.len(), 1, "{:?}", got.rejected);
    assert_eq!(titles(&third, space), titles_now);
    assert_eq!(third.replica(space).unwrap().held_count(), 0);
    assert_eq!(
        third.replica(space).unwrap().version_vector().get(&device),
        seq + 2
    );
    let _ = std::fs::remove_dir_all(&dir);
}
