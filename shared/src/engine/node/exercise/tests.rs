//! Tests of exercise control on real on-disk nodes: the sealed scenario, controllers sharing
//! the control key, the clock releasing injects, triggers, and what a player sees and holds.

use super::*;
use crate::engine::node::testing::*;
use crate::exercise::msel::import_csv;
use crate::exercise::SAMPLE_SCENARIO_CSV;
use crate::record::Channel;

const MIN: i64 = 60_000;

fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

fn scenario(marker: &str) -> Vec<Inject> {
    import_csv(&format!(
        "Číslo;Čas;Od;Komu;Způsob;Předmět;Zpráva;Očekávaná reakce;Termín reakce;Spouštěč\n\
         1;T+00:00;ČHMÚ;všichni;e-mail;Výstraha;Začátek cvičení {marker}-1;Svolat štáb;T+00:20;\n\
         2;T+00:10;starosta obce Jablůnka;ORP Vsetín;telefonát;Bečva;Hladina stoupá {marker}-2;;;\n\
         3;T+00:30;KOPIS;předseda štábu;rádio;Evakuace;Evakuujte {marker}-3;;;\n\
         4;;hejtman;předseda štábu;telefonát;Připomínka;Proč štáb nezasedá {marker}-4;;;po-termínu:1\n"
    ))
    .unwrap()
}

/// A leader with a drill and a member (a player), both on disk.
fn drill(dir: &Path) -> (Node, Node, SpaceId) {
    let mut leader = new_node(dir, "leader");
    let space = leader.create_space_as("Cvičení ZÓNA 2026", true).unwrap();
    assert_eq!(leader.own_role(space).unwrap(), StaffRole::ExerciseLeader);
    assert!(leader.holds_control_key(space));
    let player = joined_as(&mut leader, space, dir, "player", StaffRole::Member, None);
    (leader, player, space)
}

fn contains_in_any_form(haystack: &[u8], text: &str) -> bool {
    use data_encoding::BASE64;
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let b64 = BASE64.encode(text.as_bytes());
    let needles: [&[u8]; 3] = [
        text.as_bytes(),
        &utf16,
        b64.trim_end_matches('=').as_bytes(),
    ];
    needles
        .iter()
        .any(|n| haystack.windows(n.len()).any(|w| w == *n))
}

fn dir_contains(dir: &Path, text: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = fs::read(&path) {
                if contains_in_any_form(&bytes, text) {
                    found.push(path);
                }
            }
        }
    }
    found
}

#[test]
fn a_player_holds_no_unreleased_inject_in_any_form_and_cannot_list_the_scenario() {
    let dir = scratch("exercise-sealed");
    let (mut leader, mut player, space) = drill(&dir);
    let marker = "TAJNY-VSTUP-7f3a";
    let summary = leader.import_scenario(space, &scenario(marker)).unwrap();
    assert_eq!(summary.added, 4);
    assert_eq!(leader.scenario(space).unwrap().len(), 4);
    sync(&leader, &mut player, space);
    // The player's role may not read it, and holds no key that could.
    assert!(matches!(
        player.scenario(space),
        Err(ExerciseError::NotControl("member"))
    ));
    assert!(!player.holds_control_key(space));
    assert_eq!(
        player
            .replica(space)
            .unwrap()
            .records_of(RecordKind::Inject)
            .count(),
        4
    );
    // Not on its disk, and not in what its replica holds after decrypting with the space key.
    let player_dir = dir.join("player");
    drop(player);
    for n in 1..=4 {
        let text = format!("{marker}-{n}");
        assert_eq!(dir_contains(&player_dir, &text), Vec::<PathBuf>::new());
    }
    let player = Node::open(&player_dir, PASS).unwrap();
    let replica =
        postcard::to_allocvec(&player.replica(space).unwrap().records().collect::<Vec<_>>())
            .unwrap();
    assert!(!contains_in_any_form(&replica, marker));
    // The leader reads it (the test of the test: the marker is findable where it is plain).
    let plain = postcard::to_allocvec(&leader.scenario(space).unwrap()).unwrap();
    assert!(contains_in_any_form(&plain, &format!("{marker}-3")));
    // A player may not write scenario, clock or release records either.
    let mut player = player;
    for (kind, changes) in [
        (
            RecordKind::ExerciseControl,
            vec![set(FieldValue::Clock(ClockAction::Start))],
        ),
        (RecordKind::ReleasedInject, release_changes()),
        (
            RecordKind::Inject,
            vec![set(FieldValue::InjectSealed(crate::record::Blob(vec![
                0;
                40
            ])))],
        ),
    ] {
        let e = player.create_record(space, kind, changes).unwrap_err();
        assert!(matches!(e, NodeError::Refused(_)), "{e}");
    }
    let _ = fs::remove_dir_all(&dir);
}

/// A released inject's fields, as a modified client might write them.
fn release_changes() -> Vec<Change> {
    vec![
        set(FieldValue::InjectNumber(3)),
        set(FieldValue::InjectTo("všichni".into())),
        set(FieldValue::InjectText("Falešný vstup".into())),
        set(FieldValue::ReleasedAt(Timestamp(1))),
    ]
}

#[test]
fn the_clock_releases_what_is_due_once_and_a_paused_clock_releases_nothing_more() {
    let dir = scratch("exercise-clock");
    let (mut leader, mut player, space) = drill(&dir);
    leader.import_scenario(space, &scenario("hodiny")).unwrap();
    assert!(
        leader.release_due(space, now()).unwrap().is_empty(),
        "not started"
    );
    let clock = leader
        .clock_action(space, ClockAction::Start, None)
        .unwrap();
    let start = clock.started.unwrap();
    assert_eq!(leader.release_due(space, start).unwrap(), vec![1]);
    assert!(leader.release_due(space, start).unwrap().is_empty(), "once");
    assert_eq!(
        leader
            .release_due(space, Timestamp(start.0 + 10 * MIN))
            .unwrap(),
        vec![2]
    );
    // Paused: exercise time stands still whatever the wall clock says.
    let paused = leader
        .clock_action(space, ClockAction::Pause, None)
        .unwrap();
    assert!(matches!(
        leader.clock_action(space, ClockAction::Pause, None),
        Err(ExerciseError::Clock {
            phase: Phase::Paused,
            ..
        })
    ));
    assert!(leader
        .release_due(space, Timestamp(start.0 + 600 * MIN))
        .unwrap()
        .is_empty());
    let resumed = leader
        .clock_action(space, ClockAction::Resume, None)
        .unwrap();
    let at_resume = resumed.elapsed_ms(now());
    assert!((at_resume - paused.elapsed_ms(now())).abs() < 1_000);
    // Inject 3 at T+00:30: due 30 minutes of running later, not before.
    let mark = resumed.wall_time_of(ExerciseTime(30)).unwrap();
    assert!(leader
        .release_due(space, Timestamp(mark.0 - 1))
        .unwrap()
        .iter()
        .all(|n| *n != 3));
    assert!(leader.release_due(space, mark).unwrap().contains(&3));
    sync(&leader, &mut player, space);
    let seen = player.released_injects(space).unwrap();
    let numbers: Vec<u32> = seen.iter().map(|r| r.number).collect();
    assert!(numbers.starts_with(&[1, 2]), "{numbers:?}");
    let third = seen.iter().find(|r| r.number == 3).unwrap();
    assert_eq!(third.scheduled, Some(ExerciseTime(30)));
    assert_eq!(third.to, "předseda štábu");
    assert_eq!(third.channel, Some(Channel::Radio));
    assert!(third.text.contains("hodiny-3"));
    // The player sees neither the expected action nor what is still to come.
    let status = player.exercise_status(space, now()).unwrap();
    assert!(!status.controller);
    assert!(status.next.is_empty());
    assert_eq!(status.scenario_size, None);
    assert_eq!(status.phase, Phase::Running);
    let leader_status = leader.exercise_status(space, now()).unwrap();
    assert_eq!(leader_status.scenario_size, Some(4));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_second_controller_gets_the_key_and_runs_the_drill_when_the_leader_is_gone() {
    let dir = scratch("exercise-second");
    let (mut leader, mut player, space) = drill(&dir);
    leader.import_scenario(space, &scenario("druhy")).unwrap();
    let mut deputy = joined_as(
        &mut leader,
        space,
        &dir,
        "deputy",
        StaffRole::ExerciseLeader,
        None,
    );
    // The leader wrapped the key to the deputy on admitting it; the sync carried it.
    sync(&leader, &mut deputy, space);
    assert!(deputy.holds_control_key(space));
    assert_eq!(deputy.scenario(space).unwrap().len(), 4);
    // A player cannot make itself a controller: only a leader makes a leader in a drill.
    let me = player.device_id();
    assert!(player
        .change_member(space, me, StaffRole::ExerciseLeader, None)
        .is_err());
    // The deputy starts the clock; the leader's laptop is gone.
    let clock = deputy
        .clock_action(space, ClockAction::Start, None)
        .unwrap();
    let start = clock.started.unwrap();
    drop(leader);
    // Second in rank, it waits its stagger before releasing.
    let rank_delay = RELEASE_STAGGER_MS;
    let first = deputy.release_due(space, start).unwrap();
    let later = deputy
        .release_due(space, Timestamp(start.0 + rank_delay))
        .unwrap();
    assert_eq!([first, later].concat(), vec![1]);
    sync(&deputy, &mut player, space);
    assert_eq!(player.released_injects(space).unwrap()[0].number, 1);
    // Reopened, the deputy takes the key from the log again (it is kept in memory only).
    let deputy_dir = dir.join("deputy");
    drop(deputy);
    let deputy = Node::open(&deputy_dir, PASS).unwrap();
    assert!(deputy.holds_control_key(space));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_overdue_expected_action_releases_its_reminder_and_a_linked_response_prevents_it() {
    for answered in [false, true] {
        let dir = scratch(&format!("exercise-overdue-{answered}"));
        let (mut leader, mut player, space) = drill(&dir);
        leader.import_scenario(space, &scenario("termin")).unwrap();
        let start = leader
            .clock_action(space, ClockAction::Start, None)
            .unwrap()
            .started
            .unwrap();
        assert_eq!(leader.release_due(space, start).unwrap(), vec![1]);
        if answered {
            sync(&leader, &mut player, space);
            let release = player.released_injects(space).unwrap()[0].record;
            player
                .create_record(
                    space,
                    RecordKind::JournalEntry,
                    vec![
                        set(FieldValue::JournalKind(
                            crate::record::JournalKind::Decision,
                        )),
                        set(FieldValue::Text("Štáb svolán na 10:30.".into())),
                        Change::Add {
                            set: SetField::Links,
                            element: release.to_string(),
                        },
                    ],
                )
                .unwrap();
            sync(&player, &mut leader, space);
        }
        let before = leader
            .release_due(space, Timestamp(start.0 + 19 * MIN))
            .unwrap();
        assert!(!before.contains(&4), "not before the deadline");
        let after = leader
            .release_due(space, Timestamp(start.0 + 20 * MIN))
            .unwrap();
        assert_eq!(after.contains(&4), !answered, "answered: {answered}");
        let _ = fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_sample_scenario_imports_sealed_and_an_ad_hoc_inject_reaches_players() {
    let dir = scratch("exercise-sample");
    let (mut leader, mut player, space) = drill(&dir);
    let injects = import_csv(SAMPLE_SCENARIO_CSV).unwrap();
    let summary = leader.import_scenario(space, &injects).unwrap();
    assert_eq!(summary.added, injects.len());
    // Imported again: nothing changes; one changed inject is edited in place.
    let mut again = injects.clone();
    again[0].content.push_str(" (upřesněno)");
    let summary = leader.import_scenario(space, &again).unwrap();
    assert_eq!((summary.added, summary.changed), (0, 1));
    assert_eq!(leader.scenario(space).unwrap().len(), injects.len());
    leader
        .clock_action(space, ClockAction::Start, None)
        .unwrap();
    let ad_hoc = AdHocInject {
        to: Target::Orp("Vsetín".into()),
        from: "Český rozhlas Zlín".into(),
        channel: Channel::Phone,
        subject: "Dotaz médií".into(),
        text: "Volá rozhlas: potvrďte evakuaci Jablůnky.".into(),
    };
    leader.ad_hoc_inject(space, &ad_hoc, now()).unwrap();
    assert!(matches!(
        player.ad_hoc_inject(space, &ad_hoc, now()),
        Err(ExerciseError::NotControl(_))
    ));
    sync(&leader, &mut player, space);
    let seen = player.released_injects(space).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].number, 0);
    assert_eq!(seen[0].from, "Český rozhlas Zlín");
    // Nothing of a drill's control is accepted in a real space.
    let mut chair = new_node(&dir, "chair");
    let real = chair.create_space("Krizový štáb kraje").unwrap();
    assert!(matches!(
        chair.clock_action(real, ClockAction::Start, None),
        Err(ExerciseError::NotAnExercise(_))
    ));
    let e = chair
        .create_record(real, RecordKind::ReleasedInject, release_changes())
        .unwrap_err();
    assert!(matches!(e, NodeError::Refused(_)), "{e}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_simulation_cell_writes_as_an_originator_and_players_cannot() {
    use crate::api::{JournalInput, RecordInput};
    let dir = scratch("exercise-simulation");
    let (mut leader, mut player, space) = drill(&dir);
    let entry = RecordInput::JournalEntry(JournalInput {
        kind: Some(crate::record::JournalKind::IncomingMessage),
        text: "Hladina Bečvy ve Vsetíně 290 cm, stoupá.".into(),
        ..JournalInput::default()
    });
    let id = leader
        .create_linked(space, &entry, &[], Some("ČHMÚ"))
        .unwrap();
    sync(&leader, &mut player, space);
    let shown = player
        .replica(space)
        .unwrap()
        .journal()
        .into_iter()
        .find(|e| e.meta.id == id)
        .unwrap();
    assert_eq!(
        shown.meta.simulated_label_cs().as_deref(),
        Some("ČHMÚ — simulováno")
    );
    // A player may not write as a simulated body, nor may anyone in a real space.
    let e = player
        .create_linked(space, &entry, &[], Some("ČHMÚ"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            WriteError::Node(NodeError::Refused(
                crate::authority::Refusal::NotSimulationCell { .. }
            ))
        ),
        "{e}"
    );
    // The app's journal form carries it in the input itself.
    let from_form = RecordInput::JournalEntry(JournalInput {
        kind: Some(crate::record::JournalKind::PhoneCall),
        text: "Starosta Jablůnky žádá o pytle.".into(),
        simulated_for: "starosta obce Jablůnka".into(),
        ..JournalInput::default()
    });
    let id = leader.create_from(space, &from_form).unwrap();
    let shown = leader.replica(space).unwrap().journal();
    let shown = shown.iter().find(|e| e.meta.id == id).unwrap();
    assert_eq!(
        shown.meta.simulated_label_cs().as_deref(),
        Some("starosta obce Jablůnka — simulováno")
    );
    assert!(player.create_from(space, &from_form).is_err());
    let mut chair = new_node(&dir, "chair");
    let real = chair.create_space("Krizový štáb").unwrap();
    assert!(chair
        .create_linked(real, &entry, &[], Some("ČHMÚ"))
        .is_err());
    assert!(chair.create_linked(real, &entry, &[], None).is_ok());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_task_accepted_a_report_sent_and_a_tagged_request_release_their_injects() {
    use crate::api::{RecordInput, SitrepInput, TaskInput};
    let dir = scratch("exercise-triggers");
    let (mut leader, mut player, space) = drill(&dir);
    let injects = import_csv(
        "Číslo;Čas;Od;Komu;Způsob;Zpráva;Spouštěč\n\
         1;T+00:00;KOPIS;všichni;telefonát;Zajistěte evakuaci;\n\
         2;;KOPIS;všichni;telefonát;Autobusy přistaveny;úkol-přijat:1\n\
         3;;ČHMÚ;všichni;e-mail;Děkujeme za zprávu;zpráva-odeslána:ORP Vsetín\n\
         4;;Sklad;všichni;telefonát;Pytle docházejí;požadavek-štítek:pytle\n",
    )
    .unwrap();
    leader.import_scenario(space, &injects).unwrap();
    let start = leader
        .clock_action(space, ClockAction::Start, None)
        .unwrap()
        .started
        .unwrap();
    assert_eq!(leader.release_due(space, start).unwrap(), vec![1]);
    sync(&leader, &mut player, space);
    let release = player.release_of(space, 1).unwrap();
    let task = player
        .create_linked(
            space,
            &RecordInput::Task(TaskInput {
                title: "Evakuace Jablůnky".into(),
                ..TaskInput::default()
            }),
            &[release],
            None,
        )
        .unwrap();
    sync(&player, &mut leader, space);
    assert!(
        leader.release_due(space, start).unwrap().is_empty(),
        "not accepted yet"
    );
    player
        .move_status(
            space,
            task,
            RecordKind::Task,
            Status::Task(TaskStatus::Accepted),
            String::new(),
        )
        .unwrap();
    player
        .create_from(
            space,
            &RecordInput::SituationReport(SitrepInput {
                sender: "ORP Vsetín".into(),
                as_of: Some(now()),
                ..SitrepInput::default()
            }),
        )
        .unwrap();
    sync(&player, &mut leader, space);
    let mut fired = leader.release_due(space, start).unwrap();
    fired.sort_unstable();
    assert_eq!(fired, vec![2, 3]);
    player
        .create_record(
            space,
            RecordKind::ResourceRequest,
            vec![
                set(FieldValue::Requester("ORP Vsetín".into())),
                set(FieldValue::Item("protipovodňové pytle".into())),
                Change::Add {
                    set: SetField::Tags,
                    element: "Pytle".into(),
                },
            ],
        )
        .unwrap();
    sync(&player, &mut leader, space);
    assert_eq!(leader.release_due(space, start).unwrap(), vec![4]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn audit_exports_mark_what_concerns_a_drill_in_every_format() {
    use crate::engine::audit::ExportFormat;
    let dir = scratch("exercise-audit");
    let mut leader = new_node(&dir, "leader");
    let drill = leader.create_space_as("Cvičení ZÓNA", true).unwrap();
    let real = leader.create_space("Krizový štáb").unwrap();
    for format in [ExportFormat::Jsonl, ExportFormat::Syslog, ExportFormat::Cef] {
        let lines = leader.audit_export(format, "kraj-srv").unwrap();
        let about = |space: SpaceId| {
            lines
                .iter()
                .filter(|l| l.contains(&space.to_string()))
                .cloned()
                .collect::<Vec<_>>()
        };
        let (d, r) = (about(drill), about(real));
        assert!(!d.is_empty() && !r.is_empty(), "{format:?}");
        let marked = |l: &String| match format {
            ExportFormat::Jsonl => l.contains("\"exercise\":true"),
            ExportFormat::Syslog => l.contains("exercise=\"CVIČENÍ\""),
            ExportFormat::Cef => l.contains("cs2=CVIČENÍ"),
        };
        assert!(d.iter().all(marked), "{format:?}: {d:?}");
        assert!(!r.iter().any(marked), "{format:?}: {r:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_drill_without_a_chair_can_remove_players_but_never_loses_its_last_leader() {
    let dir = scratch("exercise-last-leader");
    let (mut leader, player, space) = drill(&dir);
    let me = leader.device_id();
    assert!(matches!(
        leader.change_member(space, me, StaffRole::Member, None),
        Err(NodeError::LastLeader)
    ));
    assert!(matches!(
        leader.remove_devices(space, &[me]),
        Err(NodeError::LastLeader)
    ));
    // Removing a player works in a drill that has no chair at all.
    let (epoch, _) = leader.remove_devices(space, &[player.device_id()]).unwrap();
    assert_eq!(epoch, 1);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_evaluator_reads_the_scenario_observes_and_evaluates_but_runs_nothing() {
    let dir = scratch("exercise-evaluator");
    let (mut leader, mut player, space) = drill(&dir);
    leader
        .import_scenario(space, &scenario("hodnotitel"))
        .unwrap();
    let mut evaluator = joined_as(
        &mut leader,
        space,
        &dir,
        "evaluator",
        StaffRole::Evaluator,
        None,
    );
    sync(&leader, &mut evaluator, space);
    // The leader wrapped the control key to the evaluator on admitting it.
    assert!(evaluator.holds_control_key(space));
    assert_eq!(evaluator.scenario(space).unwrap().len(), 4);
    // It runs nothing and writes no staff records.
    assert!(matches!(
        evaluator.clock_action(space, ClockAction::Start, None),
        Err(ExerciseError::NotControl("evaluator"))
    ));
    assert!(matches!(
        evaluator.import_scenario(space, &scenario("x")),
        Err(ExerciseError::NotControl("evaluator"))
    ));
    let e = evaluator
        .create_record(
            space,
            RecordKind::Task,
            vec![set(FieldValue::Title("Úkol hodnotitele".into()))],
        )
        .unwrap_err();
    assert!(matches!(e, NodeError::Refused(_)), "{e}");
    // The drill runs; the player answers late; the evaluator judges and plans a correction.
    let start = leader
        .clock_action(space, ClockAction::Start, None)
        .unwrap()
        .started
        .unwrap();
    leader.release_due(space, start).unwrap();
    sync(&leader, &mut evaluator, space);
    let status = evaluator.exercise_status(space, now()).unwrap();
    assert!(!status.controller);
    assert_eq!(
        status.scenario_size,
        Some(4),
        "an evaluator sees what is to come"
    );
    evaluator
        .observe(
            space,
            &ObservationInput {
                inject: 1,
                met: Some(false),
                text: "Štáb nebyl svolán.".into(),
                corrective: Some(crate::exercise::evaluation::Corrective {
                    action: "Aktualizovat svolávací plán".into(),
                    owner: "tajemník štábu".into(),
                    due: None,
                }),
            },
        )
        .unwrap();
    assert!(matches!(
        player.observe(
            space,
            &ObservationInput {
                inject: 1,
                met: Some(true),
                ..ObservationInput::default()
            }
        ),
        Err(ExerciseError::NotControl("member"))
    ));
    sync(&evaluator, &mut leader, space);
    let evaluation = leader.evaluation(space).unwrap();
    let first = evaluation.expected.iter().find(|x| x.number == 1).unwrap();
    assert!(!first.met && first.judged);
    assert_eq!(evaluation.plan.len(), 1);
    assert!(evaluator.evaluation(space).is_ok());
    assert!(player.evaluation(space).is_err());
    let _ = fs::remove_dir_all(&dir);
}
