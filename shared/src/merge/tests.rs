//! Tests of the merge: the rules one by one, then convergence as a property over random
//! histories from several devices (any permutation, any duplication, held-back predecessors).

use proptest::prelude::*;

use super::*;
use crate::hlc::Hlc;
use crate::op::Change;
use crate::record::{Priority, RequestStatus, TaskStatus};
use crate::testing::ops::*;

fn replica_with(ops: &[Operation]) -> Replica {
    let mut r = Replica::new(SPACE);
    for op in ops {
        r.apply(op.clone()).unwrap();
    }
    r
}

fn title_of(r: &Replica, record: RecordId) -> String {
    r.tasks()
        .into_iter()
        .find(|t| t.meta.id == record)
        .unwrap()
        .title
}

#[test]
fn last_writer_wins_by_hlc_then_device() {
    let create = create_task(id(1, 1), 10, "Zajistit pytle");
    let rec = create.record;
    let base = [create.id];
    // Same clock reading on two devices: the higher device id wins, whatever the order.
    let a = edit(
        id(2, 1),
        20,
        rec,
        RecordKind::Task,
        vec![set(FieldValue::Title("A".into()), &base)],
    );
    let b = edit(
        id(3, 1),
        20,
        rec,
        RecordKind::Task,
        vec![set(FieldValue::Title("B".into()), &base)],
    );
    let one = replica_with(&[create.clone(), a.clone(), b.clone()]);
    let two = replica_with(&[b, a, create]);
    assert_eq!(title_of(&one, rec), "B");
    assert_eq!(one.state_hash(), two.state_hash());
    // The loser stays visible as a conflict until resolved.
    let task = one.tasks().remove(0);
    assert_eq!(task.meta.conflicting_fields, vec![FieldKey::Title]);
    let heads = one
        .record(RecordKind::Task, rec)
        .unwrap()
        .register(FieldKey::Title)
        .unwrap()
        .heads();
    assert_eq!(heads.len(), 2);
    // A resolution names both heads and chooses a value; the conflict is gone.
    let resolve = edit(
        id(1, 2),
        30,
        rec,
        RecordKind::Task,
        vec![set(FieldValue::Title("A".into()), &heads)],
    );
    let mut resolved = one.clone();
    resolved.apply(resolve).unwrap();
    assert_eq!(title_of(&resolved, rec), "A");
    assert!(resolved.tasks()[0].meta.conflicting_fields.is_empty());
}

#[test]
fn a_later_edit_that_saw_the_value_replaces_it_without_conflict() {
    let create = create_task(id(1, 1), 10, "Původní");
    let rec = create.record;
    let e = edit(
        id(2, 1),
        5,
        rec,
        RecordKind::Task,
        vec![set(FieldValue::Title("Nový".into()), &[create.id])],
    );
    let r = replica_with(&[e, create]);
    // It names the creation as seen, so it replaces it even with a smaller clock reading.
    assert_eq!(title_of(&r, rec), "Nový");
    assert!(r.tasks()[0].meta.conflicting_fields.is_empty());
}

#[test]
fn tags_are_add_wins() {
    let create = create_task(id(1, 1), 10, "Úkol");
    let rec = create.record;
    let add1 = edit(
        id(1, 2),
        11,
        rec,
        RecordKind::Task,
        vec![add(SetField::Tags, "povodeň")],
    );
    // Device 2 saw add1 and removes the tag; device 3 concurrently adds it again.
    let rm = edit(
        id(2, 1),
        12,
        rec,
        RecordKind::Task,
        vec![remove(SetField::Tags, "povodeň", &[add1.id])],
    );
    let add2 = edit(
        id(3, 1),
        12,
        rec,
        RecordKind::Task,
        vec![add(SetField::Tags, "povodeň")],
    );
    let r = replica_with(&[create.clone(), add1.clone(), rm.clone(), add2.clone()]);
    assert_eq!(r.tasks()[0].tags, vec!["povodeň".to_string()]);
    let r2 = replica_with(&[create, rm, add2.clone(), add1]);
    assert_eq!(r.state_hash(), r2.state_hash());
    // Without the concurrent add the removal wins.
    let mut r3 = r2.clone();
    r3.apply(edit(
        id(2, 2),
        13,
        rec,
        RecordKind::Task,
        vec![remove(SetField::Tags, "povodeň", &[add2.id])],
    ))
    .unwrap();
    assert!(r3.tasks()[0].tags.is_empty());
}

#[test]
fn comments_append_in_stamp_order() {
    let create = create_task(id(1, 1), 10, "Úkol");
    let rec = create.record;
    let c1 = edit(
        id(2, 1),
        30,
        rec,
        RecordKind::Task,
        vec![Change::Comment {
            text: "druhý".into(),
        }],
    );
    let c2 = edit(
        id(3, 1),
        20,
        rec,
        RecordKind::Task,
        vec![Change::Comment {
            text: "první".into(),
        }],
    );
    let r = replica_with(&[create, c1, c2]);
    let texts: Vec<_> = r.tasks()[0]
        .comments
        .iter()
        .map(|c| c.text.clone())
        .collect();
    assert_eq!(texts, vec!["první", "druhý"]);
}

#[test]
fn concurrent_conflicting_status_moves_are_both_kept_and_surfaced() {
    let create = create_task(id(1, 1), 10, "Úkol");
    let rec = create.record;
    let t = |s| Status::Task(s);
    let start = edit(
        id(1, 2),
        11,
        rec,
        RecordKind::Task,
        vec![transition(
            t(TaskStatus::Assigned),
            t(TaskStatus::InProgress),
            &[],
        )],
    );
    let done = edit(
        id(2, 1),
        20,
        rec,
        RecordKind::Task,
        vec![transition(
            t(TaskStatus::InProgress),
            t(TaskStatus::Done),
            &[start.id],
        )],
    );
    let failed = edit(
        id(3, 1),
        21,
        rec,
        RecordKind::Task,
        vec![transition(
            t(TaskStatus::InProgress),
            t(TaskStatus::NotDone),
            &[start.id],
        )],
    );
    let r = replica_with(&[create.clone(), start.clone(), done.clone(), failed.clone()]);
    let r2 = replica_with(&[failed, done.clone(), start, create]);
    assert_eq!(r.state_hash(), r2.state_hash());
    let task = &r.tasks()[0];
    assert_eq!(task.status, TaskStatus::NotDone);
    assert_eq!(task.status_conflicts, vec![TaskStatus::Done]);
    // Resolving names both moves; the choice is itself an operation.
    let heads = r
        .record(RecordKind::Task, rec)
        .unwrap()
        .status_register()
        .heads();
    let resolve = edit(
        id(1, 3),
        30,
        rec,
        RecordKind::Task,
        vec![transition(
            t(TaskStatus::NotDone),
            t(TaskStatus::Done),
            &heads,
        )],
    );
    let mut r3 = r.clone();
    r3.apply(resolve).unwrap();
    assert_eq!(r3.tasks()[0].status, TaskStatus::Done);
    assert!(r3.tasks()[0].status_conflicts.is_empty());
}

#[test]
fn the_same_move_made_twice_concurrently_is_no_conflict() {
    let create = create_task(id(1, 1), 10, "Úkol");
    let rec = create.record;
    let t = |s| Status::Task(s);
    let a = edit(
        id(2, 1),
        20,
        rec,
        RecordKind::Task,
        vec![transition(
            t(TaskStatus::Assigned),
            t(TaskStatus::Accepted),
            &[],
        )],
    );
    let b = edit(
        id(3, 1),
        21,
        rec,
        RecordKind::Task,
        vec![transition(
            t(TaskStatus::Assigned),
            t(TaskStatus::Accepted),
            &[],
        )],
    );
    let r = replica_with(&[create, a, b]);
    assert_eq!(r.tasks()[0].status, TaskStatus::Accepted);
    assert!(r.tasks()[0].status_conflicts.is_empty());
}

#[test]
fn rejected_request_keeps_its_reason() {
    let create = Operation::new_record(
        id(1, 1),
        hlc(10),
        SPACE,
        RecordKind::ResourceRequest,
        vec![
            set(FieldValue::Requester("ORP Vsetín".into()), &[]),
            set(FieldValue::Item("čerpadla".into()), &[]),
            set(FieldValue::Quantity(4), &[]),
        ],
    )
    .unwrap();
    let rec = create.record;
    let r = |s| Status::Request(s);
    let reject = Operation::edit(
        id(2, 1),
        hlc(20),
        SPACE,
        rec,
        RecordKind::ResourceRequest,
        vec![Change::Transition {
            from: r(RequestStatus::New),
            to: r(RequestStatus::Rejected),
            note: "Nejsou k dispozici.".into(),
            bases: Default::default(),
        }],
    )
    .unwrap();
    let rep = replica_with(&[create, reject]);
    let req = &rep.resource_requests()[0];
    assert_eq!(req.status, RequestStatus::Rejected);
    assert_eq!(req.status_note.as_deref(), Some("Nejsou k dispozici."));
    assert_eq!(req.quantity, Some(4));
}

fn sitrep(op: OpId, number: u32, supersedes: Option<RecordId>) -> Operation {
    let mut changes = vec![
        set(
            FieldValue::ReportKind(crate::record::ReportKind::Situation),
            &[],
        ),
        set(
            FieldValue::AsOf(crate::record::Timestamp(1_790_000_000_000)),
            &[],
        ),
        set(FieldValue::Sender("ORP Vsetín".into()), &[]),
        set(FieldValue::ReportNumber(number), &[]),
        set(FieldValue::Evacuated(120), &[]),
    ];
    if let Some(old) = supersedes {
        changes.push(set(FieldValue::Supersedes(old), &[]));
    }
    Operation::new_record(
        op,
        hlc(100 + number as u64),
        SPACE,
        RecordKind::SituationReport,
        changes,
    )
    .unwrap()
}

#[test]
fn a_sent_report_is_immutable_and_a_correction_supersedes_it() {
    let first = sitrep(id(1, 1), 1, None);
    let edit_attempt = raw(
        id(1, 2),
        first.record,
        RecordKind::SituationReport,
        vec![set(FieldValue::Evacuated(7), &[first.id])],
    );
    let mut r = replica_with(std::slice::from_ref(&first));
    assert_eq!(
        r.apply(edit_attempt),
        Err(ApplyError::Invalid(InvalidOp::ImmutableRecord {
            kind: RecordKind::SituationReport
        }))
    );
    let correction = sitrep(id(1, 2), 2, Some(first.record));
    r.apply(correction.clone()).unwrap();
    let reports = r.situation_reports();
    assert_eq!(reports[0].evacuated, Some(120));
    assert_eq!(reports[0].superseded_by, vec![correction.record]);
    assert_eq!(reports[1].supersedes, Some(first.record));
}

#[test]
fn an_op_naming_the_wrong_kind_is_never_shown() {
    let create = create_task(id(1, 1), 10, "Úkol");
    let wrong = edit(
        id(2, 1),
        20,
        create.record,
        RecordKind::Incident,
        vec![set(FieldValue::Title("Převzetí".into()), &[create.id])],
    );
    let r = replica_with(&[wrong, create.clone()]);
    assert_eq!(title_of(&r, create.record), "Úkol");
    assert!(r.incidents().is_empty());
}

#[test]
fn missing_predecessors_are_held_back_then_released_in_order() {
    let c = create_task(id(1, 1), 10, "Úkol");
    let e2 = edit(
        id(1, 2),
        11,
        c.record,
        RecordKind::Task,
        vec![set(FieldValue::Priority(Priority::High), &[])],
    );
    let e3 = edit(
        id(1, 3),
        12,
        c.record,
        RecordKind::Task,
        vec![Change::Comment { text: "ok".into() }],
    );
    let mut r = Replica::new(SPACE);
    assert_eq!(r.apply(e3.clone()), Ok(ApplyOutcome::HeldBack));
    assert_eq!(r.apply(e2.clone()), Ok(ApplyOutcome::HeldBack));
    assert_eq!(r.apply(e3.clone()), Ok(ApplyOutcome::Duplicate));
    assert!(r.tasks().is_empty());
    assert_eq!(r.version_vector().get(&dev(1)), 0);
    assert_eq!(
        r.apply(c.clone()),
        Ok(ApplyOutcome::Applied { released: 2 })
    );
    assert_eq!(r.held_count(), 0);
    assert_eq!(r.held_bytes(), 0, "released operations no longer count");
    assert_eq!(r.version_vector().get(&dev(1)), 3);
    assert_eq!(r.tasks()[0].priority, Priority::High);
    assert_eq!(r.apply(c), Ok(ApplyOutcome::Duplicate));
}

#[test]
fn held_operations_are_bounded_in_bytes_too() {
    let c = create_task(id(1, 1), 10, "Úkol");
    let mut r = Replica::new(SPACE);
    let mut expected = 0;
    for seq in 2..12 {
        let e = edit(
            id(1, seq),
            10 + seq,
            c.record,
            RecordKind::Task,
            vec![Change::Comment {
                text: "x".repeat(1_000),
            }],
        );
        expected += e.encode().unwrap().len();
        assert_eq!(r.apply(e), Ok(ApplyOutcome::HeldBack));
    }
    assert_eq!(r.held_bytes(), expected);
    assert!(expected > 10_000 && MAX_HELD_BYTES < MAX_HELD * crate::op::MAX_OP_BYTES);
    assert_eq!(r.apply(c), Ok(ApplyOutcome::Applied { released: 10 }));
    assert_eq!(r.held_bytes(), 0);
}

#[test]
fn a_refused_operation_takes_its_place_so_later_ones_are_not_held_back_forever() {
    let c = create_task(id(1, 1), 10, "Úkol");
    // Operation 2 of device 1 was refused for good (say, its author may not write then).
    let refused = id(1, 2);
    let later = edit(
        id(1, 3),
        12,
        c.record,
        RecordKind::Task,
        vec![set(FieldValue::Priority(Priority::High), &[])],
    );
    // Delivered in any order, the later edit waits only until the refused one's place is
    // taken, and the refused one changes nothing.
    let mut a = Replica::new(SPACE);
    assert_eq!(a.apply(later.clone()), Ok(ApplyOutcome::HeldBack));
    assert_eq!(a.void(refused), Ok(ApplyOutcome::HeldBack));
    assert_eq!(
        a.apply(c.clone()),
        Ok(ApplyOutcome::Applied { released: 2 })
    );
    let mut b = Replica::new(SPACE);
    b.apply(c.clone()).unwrap();
    assert_eq!(b.apply(later.clone()), Ok(ApplyOutcome::HeldBack));
    assert_eq!(b.void(refused), Ok(ApplyOutcome::Applied { released: 1 }));
    assert_eq!(b.void(refused), Ok(ApplyOutcome::Duplicate));
    for r in [&a, &b] {
        assert_eq!(r.held_count(), 0);
        assert_eq!(r.version_vector().get(&dev(1)), 3);
        assert_eq!(r.tasks()[0].priority, Priority::High);
    }
    assert_eq!(a.state_hash(), b.state_hash());
    // Without the void, the later edit would wait for ever.
    let mut stuck = Replica::new(SPACE);
    stuck.apply(c).unwrap();
    stuck.apply(later).unwrap();
    assert_eq!(stuck.held_count(), 1);
    assert_eq!(stuck.tasks()[0].priority, Priority::Normal);
    assert!(Replica::new(SPACE).void(id(1, 0)).is_err());
}

#[test]
fn an_op_of_another_space_is_refused() {
    let mut op = create_task(id(1, 1), 10, "Úkol");
    op.space = SpaceId([9; 16]);
    assert_eq!(Replica::new(SPACE).apply(op), Err(ApplyError::WrongSpace));
}

// ---- Convergence as a property -------------------------------------------------------------

/// One step of a random history: which device acts, its clock, and what it does.
#[derive(Clone, Debug)]
struct Step {
    device: u8,
    wall: u64,
    action: u8,
    target: u8,
    value: u8,
    pick: u16,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u8..4,
        0u64..6,
        any::<u8>(),
        any::<u8>(),
        0u8..4,
        any::<u16>(),
    )
        .prop_map(|(device, wall, action, target, value, pick)| Step {
            device,
            wall,
            action,
            target,
            value,
            pick,
        })
}

/// Picks a subset of `from` by the bits of `pick`.
fn subset(from: &[OpId], pick: u16) -> Vec<OpId> {
    from.iter()
        .enumerate()
        .filter(|(i, _)| pick & (1 << (i % 16)) != 0)
        .map(|(_, id)| *id)
        .take(16)
        .collect()
}

/// Turns steps into valid operations. Devices keep monotonic clocks (with frequent ties across
/// devices), and bases/observed sets are random subsets of earlier operations, so histories
/// hold concurrent edits, conflicts, resolutions and stale references.
fn history(steps: &[Step]) -> Vec<Operation> {
    let mut seqs = [0u64; 4];
    let mut clocks = [Hlc::default(); 4];
    let mut records: Vec<(RecordId, RecordKind)> = Vec::new();
    let mut title_ops: Vec<Vec<OpId>> = Vec::new();
    let mut status_ops: Vec<Vec<OpId>> = Vec::new();
    let mut tag_adds: Vec<Vec<OpId>> = Vec::new();
    let mut out = Vec::new();
    let titles = ["Pytle", "Čerpadla", "Evakuace", "Voda"];
    let tags = ["povodeň", "kritické", "ORP"];
    let statuses = [
        TaskStatus::Assigned,
        TaskStatus::Accepted,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::NotDone,
        TaskStatus::Cancelled,
    ];
    for s in steps {
        let d = s.device as usize;
        seqs[d] += 1;
        let op_id = OpId {
            device: dev(s.device),
            seq: seqs[d],
        };
        let c = &mut clocks[d];
        *c = if s.wall > c.wall_ms {
            Hlc {
                wall_ms: s.wall,
                counter: 0,
            }
        } else {
            Hlc {
                wall_ms: c.wall_ms,
                counter: c.counter + 1,
            }
        };
        let hlc = *c;
        let title = FieldValue::Title(titles[s.value as usize].into());
        let op = if records.is_empty() || s.action % 7 == 0 {
            let op =
                Operation::new_record(op_id, hlc, SPACE, RecordKind::Task, vec![set(title, &[])])
                    .unwrap();
            records.push((op.record, RecordKind::Task));
            title_ops.push(vec![op_id]);
            status_ops.push(Vec::new());
            tag_adds.push(Vec::new());
            op
        } else {
            let r = s.target as usize % records.len();
            let (rec, kind) = records[r];
            let change = match s.action % 7 {
                1 | 2 => {
                    let bases = subset(&title_ops[r], s.pick);
                    title_ops[r].push(op_id);
                    set(title, &bases)
                }
                3 => {
                    tag_adds[r].push(op_id);
                    add(SetField::Tags, tags[s.value as usize % 3])
                }
                4 => remove(
                    SetField::Tags,
                    tags[s.value as usize % 3],
                    &subset(&tag_adds[r], s.pick),
                ),
                5 => Change::Comment {
                    text: format!("komentář {}", s.pick),
                },
                _ => {
                    let from = statuses[(s.pick as usize) % statuses.len()];
                    let to = statuses[(s.value as usize + s.pick as usize / 7) % statuses.len()];
                    let bases = subset(&status_ops[r], s.pick >> 3);
                    if bases.len() < 2 && !from.can_move_to(to) {
                        Change::Comment {
                            text: "bez změny stavu".into(),
                        }
                    } else {
                        status_ops[r].push(op_id);
                        transition(Status::Task(from), Status::Task(to), &bases)
                    }
                }
            };
            Operation::edit(op_id, hlc, SPACE, rec, kind, vec![change]).unwrap()
        };
        out.push(op);
    }
    out
}

/// A history, and the same operations shuffled with some of them duplicated.
fn history_and_delivery() -> impl Strategy<Value = (Vec<Operation>, Vec<Operation>)> {
    proptest::collection::vec(step(), 1..60).prop_flat_map(|steps| {
        let ops = history(&steps);
        let n = ops.len();
        let dups = proptest::collection::vec(0..n, 0..n.max(1));
        (Just(ops), dups).prop_flat_map(|(ops, dups)| {
            let mut delivery = ops.clone();
            delivery.extend(dups.into_iter().map(|i| ops[i].clone()));
            (Just(ops), Just(delivery).prop_shuffle())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_duplication_converges((ops, delivery) in history_and_delivery()) {
        let in_order = replica_with(&ops);
        let mut shuffled = Replica::new(SPACE);
        for op in delivery {
            shuffled.apply(op).unwrap();
        }
        prop_assert_eq!(shuffled.held_count(), 0);
        prop_assert_eq!(in_order.version_vector(), shuffled.version_vector());
        prop_assert_eq!(in_order.state_hash(), shuffled.state_hash());
        prop_assert_eq!(in_order.tasks(), shuffled.tasks());
    }

    #[test]
    fn apply_is_idempotent((ops, _) in history_and_delivery()) {
        let mut r = replica_with(&ops);
        let before = r.state_hash();
        for op in &ops {
            prop_assert_eq!(r.apply(op.clone()), Ok(ApplyOutcome::Duplicate));
        }
        prop_assert_eq!(r.state_hash(), before);
    }

    #[test]
    fn two_replicas_that_exchange_what_they_lack_converge(
        (ops, delivery) in history_and_delivery(),
        split in any::<u64>(),
    ) {
        // Each replica first sees a different part (with holes, so some ops are held back),
        // then receives the ops the other has applied and it lacks, by version vector.
        let mut a = Replica::new(SPACE);
        let mut b = Replica::new(SPACE);
        for (i, op) in delivery.iter().enumerate() {
            if (split >> (i % 64)) & 1 == 0 { a.apply(op.clone()).unwrap(); } else { b.apply(op.clone()).unwrap(); }
        }
        let by_id: BTreeMap<OpId, &Operation> = ops.iter().map(|o| (o.id, o)).collect();
        for _ in 0..2 {
            for range in a.version_vector().clone().missing_from(b.version_vector()) {
                for id in range.ids() { a.apply(by_id[&id].clone()).unwrap(); }
            }
            for range in b.version_vector().clone().missing_from(a.version_vector()) {
                for id in range.ids() { b.apply(by_id[&id].clone()).unwrap(); }
            }
        }
        // Whatever neither had applied yet (held on both sides) arrives last.
        for op in &ops { a.apply(op.clone()).unwrap(); b.apply(op.clone()).unwrap(); }
        prop_assert_eq!(a.state_hash(), b.state_hash());
        prop_assert_eq!(a.state_hash(), replica_with(&ops).state_hash());
    }
}
