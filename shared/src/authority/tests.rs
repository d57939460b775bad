use super::*;
use crate::record::{ReportKind, TaskStatus, Timestamp};
use crate::testing::ops::*;
use proptest::prelude::*;

const CHAIR: u8 = 1;

fn admit(by: OpId, wall: u64, device: u8, role: StaffRole, orp: &str) -> Operation {
    let mut changes = vec![
        set(FieldValue::MemberDevice(dev(device)), &[]),
        set(FieldValue::MemberRole(role), &[]),
        set(FieldValue::Name(format!("Člen {device}")), &[]),
    ];
    if !orp.is_empty() {
        changes.push(set(FieldValue::MemberOrp(orp.into()), &[]));
    }
    Operation::new_record(by, hlc(wall), SPACE, RecordKind::Member, changes).unwrap()
}

fn change(by: OpId, wall: u64, admission: OpId, role: StaffRole, seen: u64) -> Operation {
    edit(
        by,
        wall,
        RecordId::for_create(&admission),
        RecordKind::Member,
        vec![
            set(FieldValue::MemberRole(role), &[]),
            set(FieldValue::MemberSeen(seen), &[]),
        ],
    )
}

fn remove(by: OpId, wall: u64, admission: OpId, seen: u64) -> Operation {
    edit(
        by,
        wall,
        RecordId::for_create(&admission),
        RecordKind::Member,
        vec![
            set(FieldValue::MemberRemoved(true), &[]),
            set(FieldValue::MemberSeen(seen), &[]),
        ],
    )
}

fn fold(ops: &[Operation]) -> Authority {
    Authority::fold(dev(CHAIR), "Předsedkyně", ops)
}

fn role_at(a: &Authority, device: u8, seq: u64) -> Option<StaffRole> {
    match a.standing(dev(device), seq) {
        Standing::Granted(g) => Some(g.role),
        _ => None,
    }
}

fn grant(role: StaffRole, orp: Option<&str>) -> Grant {
    Grant {
        role,
        orp: orp.map(str::to_owned),
        name: "Petr Svoboda".into(),
    }
}

fn report(by: OpId, sender: &str) -> Operation {
    Operation::new_record(
        by,
        hlc(10),
        SPACE,
        RecordKind::SituationReport,
        vec![
            set(FieldValue::ReportKind(ReportKind::Situation), &[]),
            set(FieldValue::AsOf(Timestamp(1_790_000_000_000)), &[]),
            set(FieldValue::Sender(sender.into()), &[]),
        ],
    )
    .unwrap()
}

#[test]
fn an_observer_changes_nothing() {
    for kind in WORK_KINDS.iter().chain([&RecordKind::Member]) {
        for action in Action::ALL {
            assert!(
                !permitted(StaffRole::Observer, *kind, *action),
                "{kind:?} {action:?}"
            );
        }
    }
    let g = grant(StaffRole::Observer, None);
    let op = create_task(id(5, 1), 10, "Pytle na nábřeží");
    assert!(matches!(
        judge(Standing::Granted(&g), &op, None),
        Err(Refusal::NotAllowed {
            action: Action::Create,
            ..
        })
    ));
}

#[test]
fn only_chair_and_secretary_manage_members_and_only_the_chair_decides_requests() {
    for role in StaffRole::ALL {
        let manages = permitted(*role, RecordKind::Member, Action::ManageMembers);
        assert_eq!(
            manages,
            matches!(role, StaffRole::Chair | StaffRole::Secretary),
            "{role:?}"
        );
        let decides = permitted(*role, RecordKind::ResourceRequest, Action::Decide);
        assert_eq!(decides, *role == StaffRole::Chair, "{role:?}");
    }
}

#[test]
fn a_sent_report_and_a_journal_entry_stay_as_written_for_everyone() {
    for role in StaffRole::ALL {
        for kind in [RecordKind::SituationReport, RecordKind::JournalEntry] {
            for action in Action::ALL.iter().filter(|a| **a != Action::Create) {
                assert!(
                    !permitted(*role, kind, *action),
                    "{role:?} {kind:?} {action:?}"
                );
            }
        }
    }
}

#[test]
fn an_orp_coordinator_reports_only_as_their_orp() {
    let g = grant(StaffRole::OrpCoordinator, Some("Vsetín"));
    let own = report(id(5, 1), "ORP Vsetín");
    assert_eq!(judge(Standing::Granted(&g), &own, None), Ok(()));
    let other = report(id(5, 2), "ORP Zlín");
    assert!(matches!(
        judge(Standing::Granted(&g), &other, None),
        Err(Refusal::OtherOrp { .. })
    ));
    // Unbound (the ORP has not arrived): writes as no ORP at all.
    let unbound = grant(StaffRole::OrpCoordinator, None);
    assert!(judge(Standing::Granted(&unbound), &own, None).is_err());
}

#[test]
fn an_orp_coordinator_works_only_on_tasks_given_to_their_orp_or_to_them() {
    let mut replica = crate::merge::Replica::new(SPACE);
    let given = create_task(id(CHAIR, 1), 10, "Evakuace Jablůnka");
    let other = create_task(id(CHAIR, 2), 11, "Pytle Zlín");
    let (given_id, other_id) = (given.record, other.record);
    replica.apply(given).unwrap();
    replica.apply(other).unwrap();
    replica
        .apply(edit(
            id(CHAIR, 3),
            12,
            given_id,
            RecordKind::Task,
            vec![add(SetField::Assignees, "ORP Vsetín")],
        ))
        .unwrap();
    let g = grant(StaffRole::OrpCoordinator, Some("Vsetín"));
    let accept = |record| {
        edit(
            id(5, 1),
            20,
            record,
            RecordKind::Task,
            vec![transition(
                Status::Task(TaskStatus::Assigned),
                Status::Task(TaskStatus::Accepted),
                &[],
            )],
        )
    };
    let on =
        |replica: &crate::merge::Replica, record| replica.record(RecordKind::Task, record).cloned();
    assert_eq!(
        judge(
            Standing::Granted(&g),
            &accept(given_id),
            on(&replica, given_id).as_ref()
        ),
        Ok(())
    );
    let refused = judge(
        Standing::Granted(&g),
        &accept(other_id),
        on(&replica, other_id).as_ref(),
    );
    assert!(
        matches!(refused, Err(Refusal::NotTheirTask { .. })),
        "{refused:?}"
    );
    let retitle = edit(
        id(5, 2),
        21,
        given_id,
        RecordKind::Task,
        vec![set(FieldValue::Title("Jiný".into()), &[])],
    );
    assert!(matches!(
        judge(
            Standing::Granted(&g),
            &retitle,
            on(&replica, given_id).as_ref()
        ),
        Err(Refusal::TaskFieldNotTheirs { .. })
    ));
    let outcome = edit(
        id(5, 3),
        22,
        given_id,
        RecordKind::Task,
        vec![set(FieldValue::Outcome("Evakuováno 40 osob".into()), &[])],
    );
    assert_eq!(
        judge(
            Standing::Granted(&g),
            &outcome,
            on(&replica, given_id).as_ref()
        ),
        Ok(())
    );
    // Given to them by name works too.
    let named = Grant {
        name: "Petr Svoboda".into(),
        ..grant(StaffRole::OrpCoordinator, Some("Zlín"))
    };
    replica
        .apply(edit(
            id(CHAIR, 4),
            13,
            other_id,
            RecordKind::Task,
            vec![add(SetField::Assignees, "petr svoboda")],
        ))
        .unwrap();
    assert_eq!(
        judge(
            Standing::Granted(&named),
            &accept(other_id),
            on(&replica, other_id).as_ref()
        ),
        Ok(())
    );
}

#[test]
fn orp_names_compare_without_case_and_prefix() {
    assert!(same_orp("ORP Vsetín", "vsetín"));
    assert!(same_orp("  Valašské   Meziříčí ", "ORP Valašské Meziříčí"));
    assert!(!same_orp("Vsetín", "Zlín"));
    assert!(!same_orp("", ""));
}

#[test]
fn a_demotion_governs_what_the_chair_had_not_seen() {
    let a = admit(id(CHAIR, 1), 10, 2, StaffRole::Member, "");
    // The chair had applied 3 of device 2's operations when demoting it.
    let d = change(id(CHAIR, 2), 50, id(CHAIR, 1), StaffRole::Observer, 3);
    let auth = fold(&[d.clone(), a.clone()]);
    assert_eq!(role_at(&auth, 2, 3), Some(StaffRole::Member));
    assert_eq!(role_at(&auth, 2, 4), Some(StaffRole::Observer));
    assert_eq!(
        auth.current(dev(2)).map(|g| g.role),
        Some(StaffRole::Observer)
    );
    assert!(auth.differs_for(&fold(std::slice::from_ref(&a)), |_| 4));
    assert!(
        !auth.differs_for(&fold(std::slice::from_ref(&a)), |_| 3),
        "nothing applied after the cut"
    );
    assert!(!auth.differs_for(&fold(&[a, d]), |_| 100));
}

#[test]
fn a_secretary_may_not_touch_a_chair_nor_make_one() {
    let s = admit(id(CHAIR, 1), 10, 2, StaffRole::Secretary, "");
    let c2 = admit(id(CHAIR, 2), 11, 3, StaffRole::Chair, "");
    let demote = change(id(2, 1), 20, id(CHAIR, 2), StaffRole::Member, 0);
    let promote_self = change(id(2, 2), 21, id(CHAIR, 1), StaffRole::Chair, 0);
    let auth = fold(&[s, c2, demote.clone(), promote_self.clone()]);
    assert!(auth.refusal(&demote.id).is_some());
    assert!(auth.refusal(&promote_self.id).is_some());
    assert_eq!(role_at(&auth, 3, 1), Some(StaffRole::Chair));
    assert_eq!(role_at(&auth, 2, 5), Some(StaffRole::Secretary));
}

#[test]
fn an_invite_admits_one_device_once_and_an_admitted_device_is_not_admitted_again() {
    let with_invite = |by, wall, device, role| {
        let mut op = admit(by, wall, device, role, "");
        let mut changes = op.changes.to_vec();
        changes.push(set(FieldValue::MemberInvite("00ff".into()), &[]));
        op.changes = changes.try_into().unwrap();
        op
    };
    let first = with_invite(id(CHAIR, 1), 10, 2, StaffRole::Observer);
    let replayed = with_invite(id(CHAIR, 2), 11, 3, StaffRole::Chair);
    let again = admit(id(CHAIR, 3), 12, 2, StaffRole::Chair, "");
    let auth = fold(&[again.clone(), replayed.clone(), first]);
    assert!(auth.refusal(&replayed.id).unwrap().contains("invite"));
    assert!(auth
        .refusal(&again.id)
        .unwrap()
        .contains("admitted already"));
    assert_eq!(
        auth.current(dev(2)).map(|g| g.role),
        Some(StaffRole::Observer)
    );
    assert!(auth.current(dev(3)).is_none());
}

#[test]
fn two_chairs_demoting_each_other_at_once_end_with_the_earlier_change() {
    let c2 = admit(id(CHAIR, 1), 10, 2, StaffRole::Chair, "");
    // Each saw nothing of the other's later operations.
    let one_demotes_two = change(id(CHAIR, 2), 30, id(CHAIR, 1), StaffRole::Member, 0);
    let founder_record = admit(id(2, 1), 31, CHAIR, StaffRole::Member, "");
    let mut founder_record_seen = founder_record.changes.to_vec();
    founder_record_seen.push(set(FieldValue::MemberSeen(1), &[]));
    let mut two_demotes_one = founder_record;
    two_demotes_one.changes = founder_record_seen.try_into().unwrap();
    for order in [
        vec![c2.clone(), one_demotes_two.clone(), two_demotes_one.clone()],
        vec![two_demotes_one.clone(), one_demotes_two.clone(), c2.clone()],
    ] {
        let auth = fold(&order);
        assert_eq!(
            auth.current(dev(2)).map(|g| g.role),
            Some(StaffRole::Member)
        );
        assert_eq!(
            auth.current(dev(CHAIR)).map(|g| g.role),
            Some(StaffRole::Chair)
        );
        assert!(auth.refusal(&two_demotes_one.id).is_some());
    }
}

#[test]
fn a_removed_admins_concurrent_admission_counts_nowhere() {
    let s = admit(id(CHAIR, 1), 10, 2, StaffRole::Secretary, "");
    // The chair removes the secretary having seen none of its operations; the secretary,
    // concurrently and with a clock far ahead, admits a newcomer.
    let removal = remove(id(CHAIR, 2), 20, id(CHAIR, 1), 0);
    let newcomer = admit(id(2, 1), 10_000, 9, StaffRole::Member, "");
    let earlier = admit(id(2, 1), 15, 9, StaffRole::Member, "");
    for late in [newcomer, earlier] {
        let auth = fold(&[s.clone(), removal.clone(), late.clone()]);
        assert!(auth.refusal(&late.id).is_some(), "{:?}", late.hlc);
        assert!(auth.current(dev(9)).is_none());
        assert!(matches!(auth.standing(dev(2), 1), Standing::Removed { .. }));
    }
}

#[test]
fn two_admins_removing_each_other_at_once_end_with_the_earlier_removal() {
    let c2 = admit(id(CHAIR, 1), 10, 2, StaffRole::Chair, "");
    let one_removes_two = remove(id(CHAIR, 2), 30, id(CHAIR, 1), 0);
    let founder_record = admit(id(2, 1), 15, CHAIR, StaffRole::Chair, "");
    // Device 2 first writes the founder's record (as a chair may), then removes it,
    // having seen 1 of the founder's operations.
    let two_removes_one = remove(id(2, 2), 31, id(2, 1), 1);
    for order in [
        vec![
            c2.clone(),
            one_removes_two.clone(),
            founder_record.clone(),
            two_removes_one.clone(),
        ],
        vec![
            two_removes_one.clone(),
            founder_record.clone(),
            one_removes_two.clone(),
            c2.clone(),
        ],
    ] {
        let auth = fold(&order);
        assert!(auth.current(dev(2)).is_none(), "the earlier removal counts");
        assert_eq!(
            auth.current(dev(CHAIR)).map(|g| g.role),
            Some(StaffRole::Chair)
        );
        assert!(auth.refusal(&two_removes_one.id).is_some());
    }
}

#[test]
fn a_role_change_concurrent_with_a_removal_does_not_bring_the_device_back() {
    let s = admit(id(CHAIR, 1), 10, 2, StaffRole::Secretary, "");
    let m = admit(id(CHAIR, 2), 11, 3, StaffRole::Member, "");
    let removal = remove(id(CHAIR, 3), 20, id(CHAIR, 2), 0);
    // The secretary, not having seen the removal, promotes the member (a later stamp).
    let promote = change(id(2, 1), 25, id(CHAIR, 2), StaffRole::Secretary, 0);
    let auth = fold(&[s.clone(), m.clone(), removal.clone(), promote.clone()]);
    assert!(auth.current(dev(3)).is_none());
    assert!(auth.refusal(&promote.id).unwrap().contains("removed"));
    // A new admission after the removal does bring it back, for what it writes after.
    let readmit = admit(id(CHAIR, 4), 40, 3, StaffRole::Observer, "");
    let mut readmit_seen = readmit.changes.to_vec();
    readmit_seen.push(set(FieldValue::MemberSeen(2), &[]));
    let mut readmit = readmit;
    readmit.changes = readmit_seen.try_into().unwrap();
    let auth = fold(&[s, m, removal, promote, readmit]);
    assert!(matches!(auth.standing(dev(3), 1), Standing::Removed { .. }));
    assert_eq!(role_at(&auth, 3, 3), Some(StaffRole::Observer));
}

/// A small universe of control operations: admissions and changes by devices 1–4 of devices
/// 2–5, with cuts and clocks drawn freely.
fn control_ops() -> impl Strategy<Value = Vec<Operation>> {
    let role = prop::sample::select(StaffRole::ALL.to_vec());
    let step = (
        0u8..4,
        1u64..6,
        0u64..40,
        2u8..6,
        role,
        0u64..4,
        any::<bool>(),
        any::<bool>(),
    );
    proptest::collection::vec(step, 1..24).prop_map(|steps| {
        let mut next: BTreeMap<u8, u64> = BTreeMap::new();
        let mut out = Vec::new();
        let mut admissions: Vec<OpId> = Vec::new();
        for (author, pick, wall, target, role, seen, creates, removes) in steps {
            let author = author + 1;
            let seq = next.entry(author).or_insert(0);
            *seq += 1;
            let by = id(author, *seq);
            let creates = creates || admissions.is_empty();
            let admission = admissions
                .get(pick as usize % admissions.len().max(1))
                .copied()
                .unwrap_or(by);
            if creates {
                admissions.push(by);
            }
            out.push(if creates {
                admit(by, wall, target, role, "Vsetín")
            } else if removes {
                remove(by, wall, admission, seen)
            } else {
                change(by, wall, admission, role, seen)
            });
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The fold depends only on the set: any order, any duplicates.
    #[test]
    fn the_fold_is_the_same_in_any_order(ops in control_ops(), seed in any::<u64>()) {
        let mut shuffled = ops.clone();
        shuffled.extend(ops.iter().take((seed % 3) as usize).cloned());
        let n = shuffled.len();
        for i in 0..n {
            let j = (seed.wrapping_mul(i as u64 + 7) % n as u64) as usize;
            shuffled.swap(i, j);
        }
        let (a, b) = (fold(&ops), fold(&shuffled));
        prop_assert_eq!(&a, &b);
        prop_assert!(!a.differs_for(&b, |_| 50));
    }

    /// Folding in the next operation (by stamp) gives what the whole fold gives, and says that
    /// applied operations must be decided again exactly when the two folds judge some of them
    /// differently.
    #[test]
    fn extending_the_fold_is_folding_the_whole_set(ops in control_ops(), upto in 0u64..8) {
        let mut sorted = ops.clone();
        sorted.sort_by_key(|op| (op.stamp(), op.id));
        sorted.dedup_by_key(|op| op.id);
        let mut a = fold(&[]);
        for (i, op) in sorted.iter().enumerate() {
            let whole = fold(&sorted[..=i]);
            let before = a.clone();
            prop_assert!(a.takes_next(op));
            match a.extend(op, |_| upto) {
                Extended::Folded { rejudges } => {
                    prop_assert_eq!(&a, &whole);
                    prop_assert_eq!(rejudges, before.differs_for(&whole, |_| upto));
                }
                Extended::FoldAgain => {
                    a = whole;
                    prop_assert!(before.differs_for(&a, |_| upto), "a cut-off refuses a change");
                }
            }
            prop_assert!(!a.takes_next(op), "the same operation twice");
        }
    }

    /// Every control operation that counts was allowed under the final standing of its author
    /// (no counted change is cut off by a change that also counts).
    #[test]
    fn every_change_that_counts_was_its_authors_to_make(ops in control_ops()) {
        let a = fold(&ops);
        for op in &ops {
            if a.refusal(&op.id).is_none() {
                match a.standing(op.id.device, op.id.seq) {
                    Standing::Granted(g) => prop_assert!(
                        matches!(g.role, StaffRole::Chair | StaffRole::Secretary),
                        "{:?} counted as {:?}", op.id, g.role
                    ),
                    other => prop_assert!(false, "{:?} counted while {:?}", op.id, other),
                }
            }
        }
    }
}

/// The permission tables in docs/ARCHITECTURE.md (a real space, an exercise space) are the
/// ones enforced.
#[test]
fn the_documented_tables_are_the_enforced_ones() {
    let doc = include_str!("../../../docs/ARCHITECTURE.md");
    let real: Vec<RecordKind> = WORK_KINDS
        .iter()
        .copied()
        .chain([RecordKind::Member])
        .collect();
    let drill: Vec<RecordKind> = real
        .iter()
        .copied()
        .chain([
            RecordKind::Inject,
            RecordKind::ExerciseControl,
            RecordKind::ReleasedInject,
            RecordKind::Observation,
        ])
        .collect();
    for (marker, exercise, kinds) in [
        ("<!-- permission-table -->", false, &real),
        ("<!-- exercise-permission-table -->", true, &drill),
    ] {
        let start = doc
            .find(marker)
            .unwrap_or_else(|| panic!("docs/ARCHITECTURE.md has {marker}"));
        let mut rows = 0;
        for line in doc[start..].lines().skip(1) {
            if !line.starts_with('|') {
                if rows > 0 {
                    break;
                }
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let Some(role) = StaffRole::ALL.iter().find(|r| r.code() == cells[0]) else {
                continue;
            };
            rows += 1;
            assert_eq!(cells.len(), kinds.len() + 1, "{marker} {}", role.code());
            for (kind, cell) in kinds.iter().zip(&cells[1..]) {
                let documented: BTreeSet<Action> = Action::ALL
                    .iter()
                    .copied()
                    .filter(|a| {
                        cell.split(", ")
                            .any(|c| c.trim_end_matches('*') == a.code())
                    })
                    .collect();
                let enforced: BTreeSet<Action> = Action::ALL
                    .iter()
                    .copied()
                    .filter(|a| permitted_in(exercise, *role, *kind, *a))
                    .collect();
                assert_eq!(
                    documented,
                    enforced,
                    "{marker} {} × {}",
                    role.code(),
                    kind.code()
                );
            }
        }
        assert_eq!(rows, StaffRole::ALL.len(), "{marker}");
    }
}
