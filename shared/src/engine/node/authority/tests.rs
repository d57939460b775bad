//! Authority on apply, across replicas in one process: refusals everywhere, demotions that
//! hold for concurrent writes, ORP scope, admissions that cannot be replayed.

use super::*;
use crate::engine::node::testing::{
    envelope_at, joined_as, new_node, scratch, sync, task, titles, PASS,
};
use crate::record::{FieldValue, ReportKind, SetField, TaskStatus, Timestamp};

/// A chair at `dir/chair` that founded a space named `name`.
fn founded(dir: &Path, name: &str) -> (Node, SpaceId) {
    let mut chair = new_node(dir, "chair");
    let space = chair.create_space(name).unwrap();
    (chair, space)
}

/// `op` sealed by `author` with its next sequence number, as a modified client would send it.
fn forged(author: &Node, space: SpaceId, kind: RecordKind, changes: Vec<Change>) -> Vec<u8> {
    let id = OpId {
        device: author.device_id(),
        seq: author
            .replica(space)
            .unwrap()
            .version_vector()
            .get(&author.device_id())
            + 1,
    };
    let hlc = Hlc {
        wall_ms: now_ms(),
        counter: 0,
    };
    let op = Operation::new_record(id, hlc, space, kind, changes).unwrap();
    author
        .seal_as(space, &op, &author.keys)
        .unwrap()
        .encode()
        .unwrap()
}

fn set(value: FieldValue) -> Change {
    Change::Set {
        value,
        bases: Default::default(),
    }
}

fn report(sender: &str) -> Vec<Change> {
    vec![
        set(FieldValue::ReportKind(ReportKind::Situation)),
        set(FieldValue::AsOf(Timestamp(now_ms() as i64))),
        set(FieldValue::Sender(sender.into())),
    ]
}

fn hash(node: &Node, space: SpaceId) -> crate::merge::StateHash {
    node.replica(space).unwrap().state_hash()
}

#[test]
fn what_a_role_may_not_do_is_refused_on_every_replica_and_never_state() {
    let dir = scratch("authority-refused");
    let (mut chair, space) = founded(&dir, "Krizový štáb Zlínského kraje");
    let mut member = joined_as(&mut chair, space, &dir, "member", StaffRole::Member, None);
    let observer = joined_as(
        &mut chair,
        space,
        &dir,
        "observer",
        StaffRole::Observer,
        None,
    );
    let mut orp = joined_as(
        &mut chair,
        space,
        &dir,
        "orp",
        StaffRole::OrpCoordinator,
        Some("Vsetín"),
    );
    // Their own ORP's report counts everywhere.
    orp.create_record(space, RecordKind::SituationReport, report("ORP Vsetín"))
        .unwrap();
    let got = sync(&orp, &mut chair, space);
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert_eq!(chair.replica(space).unwrap().situation_reports().len(), 1);
    // The modified clients' operations, each validly signed and sealed.
    let attempts = [
        (
            "an observer's task",
            forged(
                &observer,
                space,
                RecordKind::Task,
                vec![set(FieldValue::Title("Pozorovatel píše".into()))],
            ),
        ),
        (
            "a member's member record",
            forged(
                &member,
                space,
                RecordKind::Member,
                vec![
                    set(FieldValue::MemberDevice(DeviceId([9; 32]))),
                    set(FieldValue::MemberRole(StaffRole::Chair)),
                    set(FieldValue::Name("Vetřelec".into())),
                ],
            ),
        ),
        (
            "an ORP coordinator's report as another ORP",
            forged(&orp, space, RecordKind::SituationReport, report("ORP Zlín")),
        ),
    ];
    let before = hash(&chair, space);
    for (what, envelope) in attempts {
        let got = chair.receive(space, vec![envelope], "test peer").unwrap();
        assert_eq!(got.rejected.len(), 1, "{what}: {got:?}");
        assert_eq!(got.stored.len(), 1, "{what}: kept and passed on as a void");
    }
    let standings = chair.member_standings(space).unwrap();
    assert_eq!(standings.len(), 4, "no one admitted: {standings:?}");
    assert_eq!(chair.replica(space).unwrap().members().len(), 4);
    assert!(titles(&chair, space).is_empty());
    assert_ne!(before, hash(&chair, space), "the version vector moved on");
    // The member's replica refuses them alike and ends in the same state.
    let got = sync(&chair, &mut member, space);
    assert_eq!(got.rejected.len(), 3, "{:?}", got.rejected);
    assert_eq!(hash(&chair, space), hash(&member, space));
    // The ORP coordinator's own client refuses the same before sealing.
    let refused = orp.create_record(space, RecordKind::SituationReport, report("ORP Zlín"));
    assert!(
        matches!(refused, Err(NodeError::Refused(Refusal::OtherOrp { .. }))),
        "{refused:?}"
    );
    chair.audit_flush().unwrap();
    let audit = fs::read_to_string(dir.join("chair").join("audit.log")).unwrap();
    assert!(audit.contains("operation_rejected"), "{audit}");
    assert!(
        audit.contains("observer") && audit.contains("Zlín"),
        "{audit}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_demotion_holds_for_what_follows_it_and_what_was_written_concurrently() {
    let dir = scratch("authority-demotion");
    let (mut chair, space) = founded(&dir, "Povodňová komise ORP Vsetín");
    let mut member = joined_as(&mut chair, space, &dir, "member", StaffRole::Member, None);
    let mut third = joined_as(&mut chair, space, &dir, "third", StaffRole::Member, None);
    task(&mut member, space, "Před sesazením");
    sync(&member, &mut chair, space);
    sync(&member, &mut third, space);
    chair
        .change_member(space, member.device_id(), StaffRole::Observer, None)
        .unwrap();
    // Written before the demotion reached the member; the third replica gets it first.
    task(&mut member, space, "Souběžně se sesazením");
    sync(&member, &mut third, space);
    assert_eq!(
        titles(&third, space),
        ["Před sesazením", "Souběžně se sesazením"]
    );
    // The demotion arrives: the third replica decides its state again.
    sync(&chair, &mut third, space);
    assert_eq!(titles(&third, space), ["Před sesazením"]);
    let got = sync(&member, &mut chair, space);
    assert_eq!(got.rejected.len(), 1, "{:?}", got.rejected);
    assert_eq!(titles(&chair, space), ["Před sesazením"]);
    // On the demoted device itself, once the demotion is there.
    sync(&chair, &mut member, space);
    assert_eq!(titles(&member, space), ["Před sesazením"]);
    assert_eq!(member.own_role(space).unwrap(), StaffRole::Observer);
    let refused = member.create_record(
        space,
        RecordKind::Task,
        vec![set(FieldValue::Title("Po sesazení".into()))],
    );
    assert!(
        matches!(refused, Err(NodeError::Refused(Refusal::NotAllowed { .. }))),
        "{refused:?}"
    );
    sync(&third, &mut chair, space);
    sync(&chair, &mut third, space);
    assert_eq!(hash(&chair, space), hash(&member, space));
    assert_eq!(hash(&chair, space), hash(&third, space));
    // And after a restart, from the checkpoint or the log alike.
    let path = dir.join("third");
    third.close().unwrap();
    let third = Node::open(&path, PASS).unwrap();
    assert_eq!(hash(&chair, space), hash(&third, space));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_orp_coordinator_works_only_on_tasks_given_to_their_orp() {
    let dir = scratch("authority-orp-tasks");
    let (mut chair, space) = founded(&dir, "Krizový štáb Zlínského kraje");
    let given = task(&mut chair, space, "Evakuace Jablůnka");
    let other = task(&mut chair, space, "Pytle ve Zlíně");
    chair
        .edit_record(
            space,
            given,
            RecordKind::Task,
            vec![Change::Add {
                set: SetField::Assignees,
                element: "ORP Vsetín".into(),
            }],
        )
        .unwrap();
    let mut orp = joined_as(
        &mut chair,
        space,
        &dir,
        "orp",
        StaffRole::OrpCoordinator,
        Some("Vsetín"),
    );
    let accepted = Status::Task(TaskStatus::Accepted);
    orp.move_status(space, given, RecordKind::Task, accepted, String::new())
        .unwrap();
    let refused = orp.move_status(space, other, RecordKind::Task, accepted, String::new());
    assert!(
        matches!(
            refused,
            Err(NodeError::Refused(Refusal::NotTheirTask { .. }))
        ),
        "{refused:?}"
    );
    let retitle = orp.edit_record(
        space,
        given,
        RecordKind::Task,
        vec![set(FieldValue::Title("Jiný název".into()))],
    );
    assert!(matches!(
        retitle,
        Err(NodeError::Refused(Refusal::TaskFieldNotTheirs { .. }))
    ));
    let created = orp.create_record(
        space,
        RecordKind::Task,
        vec![set(FieldValue::Title("Vlastní úkol".into()))],
    );
    assert!(matches!(
        created,
        Err(NodeError::Refused(Refusal::NotAllowed { .. }))
    ));
    sync(&orp, &mut chair, space);
    let status = |node: &Node, id| {
        node.replica(space)
            .unwrap()
            .record(RecordKind::Task, id)
            .and_then(|r| r.status(RecordKind::Task))
    };
    assert_eq!(status(&chair, given), Some(accepted));
    assert_eq!(
        status(&chair, other),
        Some(Status::Task(TaskStatus::Assigned))
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_admitted_device_is_not_admitted_again_with_another_role() {
    let dir = scratch("authority-readmit");
    let (mut chair, space) = founded(&dir, "Krizový štáb ORP Vsetín");
    let mut member = joined_as(&mut chair, space, &dir, "member", StaffRole::Observer, None);
    // A second invite, this time for a chair, and a request from the same device.
    let code = chair.create_invite(space, StaffRole::Chair, 60).unwrap();
    let request = member.request_join(&code).unwrap();
    assert!(matches!(
        chair.accept_join(&request),
        Err(NodeError::Invite(InviteError::AlreadyMember))
    ));
    // A second admission written straight away is refused by the fold, before sealing.
    let again = chair.write(space, |id, hlc| {
        Operation::new_record(
            id,
            hlc,
            space,
            RecordKind::Member,
            vec![
                set(FieldValue::MemberDevice(member.device_id())),
                set(FieldValue::MemberRole(StaffRole::Chair)),
                set(FieldValue::Name("Znovu".into())),
            ],
        )
    });
    assert!(
        matches!(again, Err(NodeError::Refused(Refusal::Control(_)))),
        "{again:?}"
    );
    sync(&chair, &mut member, space);
    assert_eq!(member.own_role(space).unwrap(), StaffRole::Observer);
    let _ = fs::remove_dir_all(&dir);
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_removed_device_reads_nothing_new_and_what_it_writes_after_counts_nowhere() {
    let dir = scratch("authority-removal");
    let (mut chair, space) = founded(&dir, "Krizový štáb ORP Vsetín");
    let mut stays = joined_as(&mut chair, space, &dir, "stays", StaffRole::Member, None);
    let mut lost = joined_as(&mut chair, space, &dir, "lost", StaffRole::Secretary, None);
    task(&mut lost, space, "Před ztrátou notebooku");
    sync(&lost, &mut chair, space);
    // The laptop is lost: the chair removes it, with a new key for everyone else.
    let (epoch, unreachable) = chair.remove_devices(space, &[lost.device_id()]).unwrap();
    assert_eq!((epoch, unreachable.len()), (1, 0));
    // Whoever has the laptop writes, and even admits a newcomer, as the secretary it was.
    task(&mut lost, space, "Po ztrátě");
    let newcomer = crate::engine::keys::DeviceKeys::generate().unwrap();
    lost.admit_member(
        space,
        newcomer.device_id(),
        super::membership::Admission {
            name: "Nováček",
            role: StaffRole::Member,
            orp: None,
            invite: None,
            key: None,
            exercise: false,
        },
    )
    .unwrap();
    task(&mut chair, space, "TAJNÉ-PO-ODEBRÁNÍ");
    // The member that stays takes the new key and reads the new epoch.
    sync(&chair, &mut stays, space);
    assert!(stays.space_key(space, 1).is_some());
    assert_eq!(
        titles(&stays, space),
        ["Před ztrátou notebooku", "TAJNÉ-PO-ODEBRÁNÍ"]
    );
    // The lost laptop gets the removal, not the key: nothing written after it is readable.
    let got = sync(&chair, &mut lost, space);
    assert!(lost.space_key(space, 1).is_none());
    assert!(
        !got.rejected.is_empty(),
        "the new epoch is unreadable there"
    );
    assert_eq!(titles(&lost, space), ["Před ztrátou notebooku"]);
    let refused = lost.create_record(
        space,
        RecordKind::Task,
        vec![set(FieldValue::Title("Ještě jednou".into()))],
    );
    assert!(
        matches!(refused, Err(NodeError::Refused(Refusal::Removed { .. }))),
        "{refused:?}"
    );
    // What it wrote after the removal counts nowhere: not at the chair, not at the member.
    let got = sync(&lost, &mut chair, space);
    assert_eq!(got.rejected.len(), 2, "{:?}", got.rejected);
    sync(&chair, &mut stays, space);
    for node in [&chair, &stays] {
        assert_eq!(
            titles(node, space),
            ["Před ztrátou notebooku", "TAJNÉ-PO-ODEBRÁNÍ"]
        );
        assert!(node
            .authority(space)
            .unwrap()
            .current(newcomer.device_id())
            .is_none());
    }
    assert_eq!(hash(&chair, space), hash(&stays, space));
    // The lost laptop's whole data dir holds no trace of what was written after.
    lost.close().unwrap();
    let marker = "TAJNÉ-PO-ODEBRÁNÍ".as_bytes();
    for file in files(&dir.join("lost")) {
        let bytes = fs::read(&file).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{file:?} holds the marker"
        );
    }
    // The list relays check authors against no longer names it.
    let list = chair.member_list(space).unwrap();
    assert!(!list.devices().contains(&dir_device(&dir, "lost")));
    let _ = fs::remove_dir_all(&dir);
}

/// A batch that brings a member operation whose author is not admitted here yet (held) with
/// one that counts (a demotion concurrent with the demoted member's write): the held one
/// leaves the fold, the demotion stays and the write it cuts off is decided again (compared
/// with the fold before the batch), and once the author's admission arrives every replica
/// agrees.
#[test]
fn a_held_member_operation_leaves_the_fold_and_counts_once_its_author_is_admitted() {
    let dir = scratch("authority-held-control");
    let (mut chair, space) = founded(&dir, "Krizový štáb Zlínského kraje");
    let mut far = joined_as(&mut chair, space, &dir, "far", StaffRole::Member, None);
    let mut other = joined_as(&mut chair, space, &dir, "other", StaffRole::Member, None);
    task(&mut other, space, "Od člena");
    sync(&other, &mut chair, space);
    sync(&chair, &mut far, space);
    let mut secretary = joined_as(&mut chair, space, &dir, "sec", StaffRole::Secretary, None);
    // The other member writes again; `far` gets it, the chair not before it demotes the author.
    task(&mut other, space, "Souběžně");
    sync(&other, &mut far, space);
    assert_eq!(titles(&far, space), ["Od člena", "Souběžně"]);
    // The secretary admits a newcomer; the chair demotes the other member.
    let newcomer = crate::engine::keys::DeviceKeys::generate().unwrap();
    secretary
        .admit_member(
            space,
            newcomer.device_id(),
            super::membership::Admission {
                name: "Nováček",
                role: StaffRole::Member,
                orp: None,
                invite: None,
                key: None,
                exercise: false,
            },
        )
        .unwrap();
    chair
        .change_member(space, other.device_id(), StaffRole::Observer, None)
        .unwrap();
    let seq = |n: &Node, d: DeviceId| n.replica(space).unwrap().version_vector().get(&d);
    let admitted_by_secretary = envelope_at(
        &secretary,
        space,
        secretary.device_id(),
        seq(&secretary, secretary.device_id()),
    );
    let demotion = envelope_at(
        &chair,
        space,
        chair.device_id(),
        seq(&chair, chair.device_id()),
    );
    // `far` has not heard of the secretary yet.
    let got = far
        .receive(space, vec![admitted_by_secretary, demotion], "sec")
        .unwrap();
    assert_eq!(
        (got.stored.len(), got.pending),
        (1, 1),
        "{:?}",
        got.rejected
    );
    let authority = far.authority(space).unwrap();
    assert!(authority.current(newcomer.device_id()).is_none());
    assert_eq!(
        authority.current(other.device_id()).map(|g| g.role),
        Some(StaffRole::Observer)
    );
    assert_eq!(
        titles(&far, space),
        ["Od člena"],
        "the concurrent write counts no more"
    );
    // The secretary's admission arrives, and the held admission with the next pull (deciding
    // the space again let go of what was held; it is not in `far`'s log, so it is pulled
    // again): it counts now.
    sync(&secretary, &mut chair, space);
    sync(&other, &mut chair, space);
    sync(&chair, &mut far, space);
    assert!(far
        .authority(space)
        .unwrap()
        .current(newcomer.device_id())
        .is_some());
    assert_eq!(hash(&far, space), hash(&chair, space));
    assert_eq!(
        far.authority(space).unwrap(),
        chair.authority(space).unwrap()
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A removal wraps the new key only to keys whose binding signature holds. Bindings are
/// checked once, as members publish them; a device that publishes another key (here with a
/// signature that does not bind it, as a modified client could) is checked again, and the
/// removal reports it unreachable instead of wrapping to it.
#[test]
fn a_removal_wraps_only_to_keys_whose_binding_holds_even_after_a_key_changed() {
    let dir = scratch("authority-binding");
    let (mut chair, space) = founded(&dir, "Krizový štáb ORP Kroměříž");
    let mut odd = joined_as(&mut chair, space, &dir, "odd", StaffRole::Member, None);
    let gone = joined_as(&mut chair, space, &dir, "gone", StaffRole::Member, None);
    sync(&chair, &mut odd, space);
    // `odd` publishes its key again, with a binding signature over something else.
    let mut blob = crate::engine::rekey::member_key(&odd.keys);
    blob[40] ^= 0x01;
    let record = odd
        .authority(space)
        .unwrap()
        .record_of(odd.device_id())
        .unwrap();
    let seq = odd
        .replica(space)
        .unwrap()
        .version_vector()
        .get(&odd.device_id())
        + 1;
    let op = Operation::edit(
        OpId {
            device: odd.device_id(),
            seq,
        },
        Hlc {
            wall_ms: now_ms(),
            counter: 0,
        },
        space,
        record,
        RecordKind::Member,
        vec![set(FieldValue::MemberKey(crate::record::Blob(blob)))],
    )
    .unwrap();
    let bytes = odd
        .seal_as(space, &op, &odd.keys)
        .unwrap()
        .encode()
        .unwrap();
    let got = chair.receive(space, vec![bytes], "odd").unwrap();
    assert_eq!(got.stored.len(), 1, "{:?}", got.rejected);
    let (epoch, unreachable) = chair.remove_devices(space, &[gone.device_id()]).unwrap();
    assert_eq!((epoch, unreachable), (1, vec![odd.device_id()]));
    sync(&chair, &mut odd, space);
    assert!(
        odd.space_key(space, 1).is_none(),
        "nothing was wrapped to it"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A received rotation's key is held in memory, not saved to the keystore file: it is wrapped
/// to this device in the log, and opening the node takes it from there, rotation after
/// rotation (the second removal is sealed under the first one's key), with the checkpoint and
/// without it. Fails if opening does not read the log's rotations.
#[test]
fn keys_of_rotations_are_taken_from_the_log_on_opening() {
    let dir = scratch("authority-logged-keys");
    let (mut chair, space) = founded(&dir, "Povodňová komise ORP Vsetín");
    let mut stays = joined_as(&mut chair, space, &dir, "stays", StaffRole::Member, None);
    let first = joined_as(&mut chair, space, &dir, "first", StaffRole::Member, None);
    let second = joined_as(&mut chair, space, &dir, "second", StaffRole::Member, None);
    chair.remove_devices(space, &[first.device_id()]).unwrap();
    assert_eq!(
        chair
            .remove_devices(space, &[second.device_id()])
            .unwrap()
            .0,
        2
    );
    task(&mut chair, space, "Po druhém odebrání");
    sync(&chair, &mut stays, space);
    assert!(stays.space_key(space, 2).is_some());
    assert_eq!(titles(&stays, space), ["Po druhém odebrání"]);
    let keystore = dir.join("stays").join("keystore.krz");
    let saved = fs::read(&keystore).unwrap();
    let audited = |node: &mut Node| {
        node.audit_export(ExportFormat::Jsonl, "test")
            .unwrap()
            .into_iter()
            .filter(|l| l.contains("key_rotated") && l.contains("op log"))
            .count()
    };
    assert_eq!(audited(&mut stays), 0);
    stays.close().unwrap();
    assert_eq!(
        fs::read(&keystore).unwrap(),
        saved,
        "receiving saved no keystore"
    );
    // Opened from its checkpoint, then with the derived state gone.
    for round in ["checkpoint", "log"] {
        let mut node = Node::open(&dir.join("stays"), PASS).unwrap();
        assert!(node.space_key(space, 2).is_some(), "{round}");
        assert_eq!(titles(&node, space), ["Po druhém odebrání"], "{round}");
        assert_eq!(
            audited(&mut node),
            2,
            "taken from the log once, then saved: {round}"
        );
        node.close().unwrap();
        fs::remove_dir_all(dir.join("stays").join("state")).unwrap();
    }
    let _ = fs::remove_dir_all(&dir);
}

fn dir_device(dir: &Path, name: &str) -> DeviceId {
    fs::read_to_string(dir.join(name).join("device.id"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_relay_serves_nothing_to_a_device_the_member_lists_dropped() {
    let dir = scratch("authority-relay-dropped");
    let (mut chair, space) = founded(&dir, "Krizový štáb ORP Vsetín");
    let stays = joined_as(&mut chair, space, &dir, "stays", StaffRole::Member, None);
    let lost = joined_as(&mut chair, space, &dir, "lost", StaffRole::Member, None);
    let mut relay = crate::engine::node::testing::granted_relay(&mut chair, space, &dir, "relay");
    let take_lists = |relay: &mut Node, chair: &Node| {
        let lists = chair.member_lists_newer_than(space, relay.member_list_mark(space));
        relay.accept_member_lists(space, lists, "chair").unwrap();
    };
    take_lists(&mut relay, &chair);
    assert!(!relay.dropped_from_lists(space, lost.device_id()));
    chair.remove_devices(space, &[lost.device_id()]).unwrap();
    take_lists(&mut relay, &chair);
    assert!(relay.dropped_from_lists(space, lost.device_id()));
    assert!(!relay.dropped_from_lists(space, stays.device_id()));
    assert!(
        !chair.dropped_from_lists(space, lost.device_id()),
        "members decide by the fold"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_exercise_space_is_one_for_good_and_none_of_its_operations_count_in_a_real_space() {
    let dir = scratch("authority-exercise");
    let mut leader = new_node(&dir, "leader");
    let drill = leader
        .create_space_as("Cvičení Povodeň Zlínsko 2026", true)
        .unwrap();
    let real = leader.create_space("Krizový štáb Zlínského kraje").unwrap();
    assert!(leader.is_exercise(drill));
    assert!(!leader.is_exercise(real));
    let summaries = leader.spaces();
    assert!(summaries.iter().any(|s| s.id == drill && s.exercise));
    assert!(summaries.iter().any(|s| s.id == real && !s.exercise));
    // Saying otherwise later changes nothing: only the first operation counts.
    let record = leader
        .authority(real)
        .unwrap()
        .record_of(leader.device_id())
        .unwrap();
    let marks = |value: bool| {
        vec![Change::Set {
            value: FieldValue::SpaceExercise(value),
            bases: Default::default(),
        }]
    };
    leader
        .edit_record(real, record, RecordKind::Member, marks(true))
        .unwrap();
    assert!(
        !leader.is_exercise(real),
        "a real space never becomes a drill"
    );
    // A member of both joins the drill; the drill's operations reach nothing in the real space.
    let mut player = joined_as(&mut leader, drill, &dir, "player", StaffRole::Member, None);
    assert!(
        player.is_exercise(drill),
        "the first operation says so on every replica"
    );
    task(&mut leader, drill, "CVIČNÝ-ÚKOL");
    let drill_batch: Vec<Vec<u8>> = {
        let theirs = crate::vv::VersionVector::new();
        leader
            .envelopes_missing_from(drill, &theirs, 10_000, usize::MAX)
            .unwrap()
            .0
    };
    let code = leader.create_invite(real, StaffRole::Member, 60).unwrap();
    let request = player.request_join(&code).unwrap();
    let welcome = leader.accept_join(&request).unwrap();
    player.finish_join(&welcome).unwrap();
    sync(&leader, &mut player, real);
    let before = hash(&player, real);
    let got = player.receive(real, drill_batch, "test peer").unwrap();
    assert!(got.stored.is_empty(), "{got:?}");
    assert!(!got.rejected.is_empty());
    assert_eq!(hash(&player, real), before);
    assert!(titles(&player, real).is_empty());
    let _ = fs::remove_dir_all(&dir);
}
