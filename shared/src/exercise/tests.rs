//! Tests of the exercise model: times, targets, triggers, the clock fold and, natively, the
//! MSEL import and export.

use proptest::prelude::*;

use super::*;
use crate::record::{Channel, ClockAction, StaffRole, Timestamp};

#[test]
fn exercise_times_read_as_people_write_them() {
    assert_eq!(ExerciseTime::parse("T+01:30"), Ok(ExerciseTime(90)));
    assert_eq!(ExerciseTime::parse("T+0:05"), Ok(ExerciseTime(5)));
    assert_eq!(ExerciseTime::parse("t + 02:00"), Ok(ExerciseTime(120)));
    assert_eq!(ExerciseTime::parse("06:00"), Ok(ExerciseTime(360)));
    assert_eq!(ExerciseTime::parse("01:30:00"), Ok(ExerciseTime(90)));
    assert_eq!(ExerciseTime(90).to_string(), "T+01:30");
    for bad in [
        "",
        "T+",
        "1h30",
        "T+01:60",
        "T+-1:00",
        "T+01:3a",
        "12",
        "T+1:2:3:4",
    ] {
        assert!(ExerciseTime::parse(bad).is_err(), "{bad:?}");
    }
    assert!(matches!(
        ExerciseTime::parse("T+169:00"),
        Err(TimeProblem::TooLate(_))
    ));
}

#[test]
fn targets_name_everyone_a_role_an_orp_or_a_member() {
    assert_eq!(Target::parse("všichni"), Some(Target::All));
    assert_eq!(Target::parse("Vsichni"), Some(Target::All));
    assert_eq!(
        Target::parse("ORP Vsetín"),
        Some(Target::Orp("Vsetín".into()))
    );
    assert_eq!(
        Target::parse("předseda štábu"),
        Some(Target::Role(StaffRole::Chair))
    );
    assert_eq!(
        Target::parse("Jana Nováková"),
        Some(Target::Member("Jana Nováková".into()))
    );
    assert_eq!(Target::parse("ORP "), None);
    assert_eq!(Target::parse("  "), None);
    let vsetin = Target::Orp("Vsetín".into());
    assert!(vsetin.addresses(StaffRole::OrpCoordinator, Some("ORP vsetín"), "x"));
    assert!(!vsetin.addresses(StaffRole::OrpCoordinator, Some("Zlín"), "x"));
    assert!(!vsetin.addresses(StaffRole::Chair, None, "x"));
    for t in [
        Target::All,
        Target::Role(StaffRole::Secretary),
        Target::Orp("Uherský Brod".into()),
        Target::Member("Petr Dvořák".into()),
    ] {
        assert_eq!(Target::parse(&t.to_string()), Some(t));
    }
}

#[test]
fn triggers_parse_in_czech_and_english() {
    assert_eq!(Trigger::parse("po-termínu:3"), Some(Trigger::Overdue(3)));
    assert_eq!(Trigger::parse("overdue:3"), Some(Trigger::Overdue(3)));
    assert_eq!(
        Trigger::parse("úkol-přijat:12"),
        Some(Trigger::TaskAccepted(12))
    );
    assert_eq!(
        Trigger::parse("zpráva-odeslána:ORP Vsetín"),
        Some(Trigger::ReportSent("ORP Vsetín".into()))
    );
    assert_eq!(
        Trigger::parse("pozadavek-stitek:pytle"),
        Some(Trigger::RequestTagged("pytle".into()))
    );
    for bad in [
        "po-termínu:",
        "po-termínu:x",
        "po-termínu:0",
        "kdykoli:3",
        "3",
    ] {
        assert_eq!(Trigger::parse(bad), None, "{bad:?}");
    }
}

fn event(order: u32, at: i64, action: ClockAction) -> ClockEvent<u32> {
    ClockEvent {
        order,
        at: Timestamp(at),
        action,
        to: None,
    }
}

#[test]
fn the_clock_runs_pauses_resumes_and_stops() {
    let min = 60_000;
    let events = vec![
        event(1, 1_000, ClockAction::Start),
        event(2, 1_000 + 10 * min, ClockAction::Pause),
        event(3, 1_000 + 25 * min, ClockAction::Resume),
        event(4, 1_000 + 40 * min, ClockAction::Stop),
    ];
    let c = Clock::fold(&events[..1]);
    assert_eq!(c.phase, Phase::Running);
    assert_eq!(c.elapsed_ms(Timestamp(1_000 + 5 * min)), 5 * min);
    let c = Clock::fold(&events[..2]);
    assert_eq!(c.phase, Phase::Paused);
    assert_eq!(c.elapsed_ms(Timestamp(1_000 + 20 * min)), 10 * min);
    assert_eq!(c.wall_time_of(ExerciseTime(12)), None);
    let c = Clock::fold(&events[..3]);
    assert_eq!(c.elapsed_ms(Timestamp(1_000 + 30 * min)), 15 * min);
    assert_eq!(
        c.wall_time_of(ExerciseTime(20)),
        Some(Timestamp(1_000 + 35 * min))
    );
    let c = Clock::fold(&events);
    assert_eq!(c.phase, Phase::Stopped);
    assert_eq!(c.elapsed_ms(Timestamp(1_000 + 90 * min)), 25 * min);
    // Nothing moves a stopped clock.
    let mut more = events.clone();
    more.push(event(5, 1_000 + 50 * min, ClockAction::Resume));
    more.push(event(6, 1_000 + 51 * min, ClockAction::Start));
    assert_eq!(Clock::fold(&more), c);
}

#[test]
fn a_jump_goes_to_an_exercise_time_and_a_paused_clock_stays_there() {
    let min = 60_000;
    let mut jump = event(2, 5 * min, ClockAction::Jump);
    jump.to = Some(ExerciseTime(120));
    let c = Clock::fold(&[event(1, 0, ClockAction::Start), jump.clone()]);
    assert_eq!(c.elapsed_ms(Timestamp(6 * min)), 121 * min);
    let c = Clock::fold(&[
        event(1, 0, ClockAction::Start),
        event(2, min, ClockAction::Pause),
        ClockEvent { order: 3, ..jump },
    ]);
    assert_eq!(c.elapsed_ms(Timestamp(60 * min)), 120 * min);
    // A jump before the start does nothing.
    let c = Clock::fold(&[ClockEvent {
        order: 0,
        at: Timestamp(0),
        action: ClockAction::Jump,
        to: Some(ExerciseTime(30)),
    }]);
    assert_eq!(c.phase, Phase::NotStarted);
    assert_eq!(c.elapsed_ms(Timestamp(10 * min)), 0);
}

fn inject(number: u32, minutes: Option<u32>) -> Inject {
    Inject {
        number,
        time: minutes.map(ExerciseTime),
        from: "ČHMÚ".into(),
        to: Target::All,
        channel: Channel::Phone,
        subject: "Výstraha".into(),
        content: "Silné deště.".into(),
        expected: String::new(),
        deadline: None,
        objective: String::new(),
        evaluator_notes: String::new(),
        trigger: None,
    }
}

#[test]
fn injects_are_due_once_the_clock_reaches_them_and_only_once() {
    let injects = vec![
        inject(1, Some(0)),
        inject(2, Some(30)),
        inject(3, Some(30)),
        inject(4, None),
    ];
    let released = BTreeSet::from([1]);
    let due_now: Vec<u32> = due(&injects, &released, 30 * 60_000)
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(due_now, vec![2, 3]);
    assert!(due(&injects, &released, 30 * 60_000 - 1).is_empty());
}

#[test]
fn a_scenario_is_checked_whole() {
    let mut a = inject(1, Some(10));
    a.deadline = Some(ExerciseTime(5));
    assert!(matches!(
        a.check(),
        Err(InjectProblem::DeadlineBeforeTime { .. })
    ));
    assert_eq!(
        inject(2, None).check(),
        Err(InjectProblem::NoTimeNorTrigger)
    );
    let mut t = inject(2, None);
    t.trigger = Some(Trigger::Overdue(1));
    assert_eq!(
        check_scenario(&[inject(1, Some(0)), t.clone()]),
        Err((1, InjectProblem::TriggerWithoutDeadline(1)))
    );
    let mut with_deadline = inject(1, Some(0));
    with_deadline.deadline = Some(ExerciseTime(30));
    assert_eq!(check_scenario(&[with_deadline.clone(), t.clone()]), Ok(()));
    t.trigger = Some(Trigger::TaskAccepted(9));
    assert_eq!(
        check_scenario(&[with_deadline.clone(), t]),
        Err((1, InjectProblem::TriggerUnknownInject(9)))
    );
    assert_eq!(
        check_scenario(&[with_deadline.clone(), with_deadline]),
        Err((1, InjectProblem::DuplicateNumber(1)))
    );
}

fn arb_action() -> impl Strategy<Value = (ClockAction, Option<u32>)> {
    prop_oneof![
        Just((ClockAction::Start, None)),
        Just((ClockAction::Pause, None)),
        Just((ClockAction::Resume, None)),
        Just((ClockAction::Stop, None)),
        (0u32..400).prop_map(|m| (ClockAction::Jump, Some(m))),
    ]
}

proptest! {
    /// Replicas receive clock actions in any order; ordered by stamp they fold to one clock,
    /// and exercise time never runs backwards except by a jump.
    #[test]
    fn the_clock_is_the_same_whatever_order_actions_arrive_in(
        actions in proptest::collection::vec((arb_action(), 0i64..600_000), 0..12),
        seed in any::<u64>(),
    ) {
        let mut at = 0;
        let events: Vec<ClockEvent<u32>> = actions
            .iter()
            .enumerate()
            .map(|(i, ((action, to), gap))| {
                at += gap;
                ClockEvent { order: i as u32, at: Timestamp(at), action: *action, to: to.map(ExerciseTime) }
            })
            .collect();
        let mut shuffled = events.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = Clock::fold(&events);
        let b = Clock::fold(&shuffled);
        prop_assert_eq!(a, b);
        // Read later, the clock never shows an earlier exercise time; without a jump it never
        // shows more than the wall time since its start.
        let has_jump = events.iter().any(|e| e.action == ClockAction::Jump);
        let mut last = 0;
        for later in [0, 1, 1_000, 3_600_000] {
            let e = a.elapsed_ms(Timestamp(at + later));
            prop_assert!(e >= last);
            if !has_jump {
                let start = a.started.map_or(at + later, |s| s.0);
                prop_assert!(e <= at + later - start);
            }
            last = e;
        }
    }
}

#[cfg(feature = "engine")]
mod msel_tests {
    use super::*;
    use crate::exercise::msel::{export_csv, export_json, import, import_csv, Format};

    const CZECH: &str = "Číslo;Čas;Od;Komu;Způsob;Předmět;Zpráva;Očekávaná reakce;Termín reakce;Cíl;Poznámka pro hodnotitele;Spouštěč\n\
1;T+00:00;ČHMÚ – RPP Ostrava;všichni;e-mail;Výstraha;\"Silné deště; až 80 mm\";Svolat KŠK;T+00:45;C1 Aktivace;Sledovat čas;\n\
2;T+00:30;starosta obce Jablůnka;ORP Vsetín;telefonát;Bečva stoupá;\"Hladina 250 cm, \"\"rychle\"\" stoupá.\";Vyhlásit 2. SPA;T+01:00;C6;;\n\
3;;KOPIS HZS;předseda štábu;rádio;Připomínka;KŠK stále nesvolán.;;;C1;;po-termínu:1\n";

    #[test]
    fn a_czech_spreadsheet_msel_imports_with_semicolons_and_quotes() {
        let injects = import(Format::Csv, CZECH.as_bytes()).unwrap();
        assert_eq!(injects.len(), 3);
        assert_eq!(injects[0].content, "Silné deště; až 80 mm");
        assert_eq!(injects[0].channel, Channel::Email);
        assert_eq!(injects[0].deadline, Some(ExerciseTime(45)));
        assert_eq!(injects[1].to, Target::Orp("Vsetín".into()));
        assert_eq!(injects[1].content, "Hladina 250 cm, \"rychle\" stoupá.");
        assert_eq!(injects[2].time, None);
        assert_eq!(injects[2].trigger, Some(Trigger::Overdue(1)));
        assert_eq!(injects[2].to, Target::Role(StaffRole::Chair));
    }

    #[test]
    fn english_column_names_and_commas_are_read_too() {
        let text = "Number,Time,From,To,Method,Subject,Message,Expected Action\n\
                    1,T+0:10,Povodí Moravy,all,Phone,Dam release,Release 40 m3/s from VD Bystřička.,Warn Vsetín\n";
        let injects = import_csv(text).unwrap();
        assert_eq!(injects[0].time, Some(ExerciseTime(10)));
        assert_eq!(injects[0].channel, Channel::Phone);
        assert_eq!(injects[0].expected, "Warn Vsetín");
        // With the BOM a spreadsheet writes and without diacritics.
        let text =
            "\u{feff}Cislo;Cas;Od;Komu;Zpusob;Zprava\n7;T+01:00;ČHMÚ;vsichni;datova zprava;Text\n";
        let injects = import(Format::Csv, text.as_bytes()).unwrap();
        assert_eq!(injects[0].channel, Channel::DataBox);
        assert_eq!(injects[0].to, Target::All);
    }

    #[test]
    fn a_bad_row_is_named_by_line_and_column_and_nothing_is_imported() {
        let bad = CZECH.replace("T+00:30;starosta", "T+0x:30;starosta");
        let e = import_csv(&bad).unwrap_err();
        assert_eq!(e.total, 1);
        assert_eq!(e.problems[0].line, Some(3));
        assert_eq!(e.problems[0].column, Some((2, "Čas".into())));
        assert!(e.to_string().contains("line 3, column 2 (Čas)"), "{e}");
        // Every bad row is reported at once.
        let bad = bad.replace(";rádio;", ";holub;");
        let e = import_csv(&bad).unwrap_err();
        assert_eq!(e.total, 2);
        assert_eq!(e.problems[1].line, Some(4));
        assert_eq!(e.problems[1].column, Some((5, "Způsob".into())));
        // An unknown column is refused (nothing silently dropped), a missing one named.
        let e =
            import_csv("Číslo;Čas;Od;Komu;Způsob;Zpráva;Barva\n1;T+0:00;A;všichni;rádio;x;modrá\n")
                .unwrap_err();
        assert_eq!(e.problems[0].column, Some((7, "Barva".into())));
        let e = import_csv("Číslo;Čas;Od;Komu;Zpráva\n1;T+0:00;A;všichni;x\n").unwrap_err();
        assert!(e.to_string().contains("Způsob"), "{e}");
        // A trigger naming an inject that is not there names its line.
        let e = import_csv(&CZECH.replace("po-termínu:1", "po-termínu:9")).unwrap_err();
        assert_eq!(e.problems[0].line, Some(4));
        assert_eq!(e.problems[0].column, Some((12, "Spouštěč".into())));
        // Not UTF-8.
        let e = import(Format::Csv, b"\xc8islo;\xe8as\n").unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        assert!(import_csv("Číslo;Čas;Od;Komu;Způsob;Zpráva\n").is_err());
    }

    #[test]
    fn the_sample_scenario_is_a_six_hour_flood_for_the_region_and_all_13_orps() {
        let injects = import_csv(SAMPLE_SCENARIO_CSV).unwrap();
        assert!(injects.len() >= 30, "{} injects", injects.len());
        let last = injects.iter().filter_map(|i| i.time).max().unwrap();
        assert_eq!(last, ExerciseTime(6 * 60));
        for orp in ZLIN_REGION_ORPS {
            assert!(
                injects.iter().any(|i| i.to == Target::Orp(orp.into())),
                "no inject for ORP {orp}"
            );
        }
        assert!(injects.iter().any(|i| i.trigger.is_some()));
        assert!(injects.iter().all(|i| !i.objective.is_empty()));
    }

    #[test]
    fn json_names_the_element_and_field() {
        let json = r#"{"injects": [
            {"number": 1, "time": "T+00:00", "from": "ČHMÚ", "to": "všichni", "channel": "e-mail", "content": "x"},
            {"number": "2", "time": "T+00:10", "from": "ČHMÚ", "to": "všichni", "channel": "pošta", "content": "y"}
        ]}"#;
        let e = import(Format::Json, json.as_bytes()).unwrap_err();
        assert_eq!(e.problems[0].column, Some((2, "injects[1].channel".into())));
        let e = import(Format::Json, b"{\"injects\": [ {\"number\": 1,, } ]}").unwrap_err();
        assert_eq!(e.problems[0].line, Some(1));
        let e = import(Format::Json, br#"[{"number": 1, "colour": "red"}]"#).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    fn arb_text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9ěščřžýáíéůú ;,\"'\n.-]{0,40}"
    }

    fn arb_inject() -> impl Strategy<Value = Inject> {
        (
            (0u32..400, proptest::option::of(0u32..60)),
            "[A-Za-zČŘŠ][a-zčřšě]{0,10}( [a-zčřšě]{1,8})?",
            prop_oneof![
                Just(Target::All),
                Just(Target::Role(StaffRole::Secretary)),
                "[A-Z][a-zěš]{1,10}".prop_map(Target::Orp),
                "[A-Z][a-zěš]{1,10} [A-Z][a-z]{1,8}".prop_map(Target::Member),
            ],
            proptest::sample::select(Channel::ALL.to_vec()),
            (
                arb_text(),
                "[a-zěš]{1,30}",
                arb_text(),
                arb_text(),
                arb_text(),
            ),
        )
            .prop_map(
                |((t, d), from, to, channel, (subject, content, expected, objective, notes))| {
                    Inject {
                        number: 0,
                        time: Some(ExerciseTime(t)),
                        from,
                        to,
                        channel,
                        subject: subject.trim().to_owned(),
                        content,
                        expected: expected.trim().to_owned(),
                        deadline: d.map(|d| ExerciseTime(t + d + 1)),
                        objective: objective.trim().to_owned(),
                        evaluator_notes: notes.trim().to_owned(),
                        trigger: None,
                    }
                },
            )
    }

    proptest! {
        /// What is exported imports as the same scenario, in both formats.
        #[test]
        fn export_then_import_gives_the_same_scenario(mut injects in proptest::collection::vec(arb_inject(), 1..12)) {
            for (i, inject) in injects.iter_mut().enumerate() {
                inject.number = i as u32 + 1;
                inject.content = inject.content.trim().to_owned();
                if i > 0 && i % 3 == 0 {
                    inject.trigger = Some(Trigger::TaskAccepted(1));
                }
            }
            let csv = export_csv(&injects).unwrap();
            prop_assert!(String::from_utf8_lossy(&csv).starts_with("=== CVIČENÍ"));
            prop_assert_eq!(&import(Format::Csv, &csv).unwrap(), &injects);
            let json = export_json(&injects).unwrap();
            prop_assert!(String::from_utf8_lossy(&json).contains("\"exercise\": true"));
            prop_assert_eq!(&import(Format::Json, &json).unwrap(), &injects);
        }
    }
}

mod evaluation_tests {
    use super::*;
    use crate::exercise::evaluation::*;
    use crate::ids::{DeviceId, RecordId};
    use crate::record::RecordKind;

    const T0: i64 = 1_800_000_000_000;

    fn release(number: u32, minute: i64) -> Released {
        Released {
            record: RecordId([number as u8; 16]),
            number,
            from: "ČHMÚ".into(),
            to: "všichni".into(),
            channel: Some(Channel::Phone),
            subject: format!("Vstup {number}"),
            text: "Text".into(),
            scheduled: Some(ExerciseTime(minute as u32)),
            released_at: Timestamp(T0 + minute * 60_000),
            released_at_t: ExerciseTime(minute as u32),
            released_by: DeviceId([1; 32]),
            stamp_order: (0, 0),
            reached: Vec::new(),
        }
    }

    fn response(
        id: u8,
        minute: i64,
        orp: Option<&str>,
        role: StaffRole,
        answers: &[u32],
    ) -> Response {
        Response {
            record: RecordId([100 + id; 16]),
            kind: RecordKind::Task,
            summary: format!("Odpověď {id}"),
            created_at: Timestamp(T0 + minute * 60_000),
            author: format!("Autor {id}"),
            role: Some(role),
            orp: orp.map(str::to_owned),
            answers: answers.to_vec(),
        }
    }

    fn scenario() -> Vec<Inject> {
        let mut a = inject(1, Some(0));
        a.expected = "Svolat štáb".into();
        a.deadline = Some(ExerciseTime(20));
        a.objective = "C1 Aktivace".into();
        let mut b = inject(2, Some(10));
        b.expected = "Vyhlásit 2. SPA".into();
        b.deadline = Some(ExerciseTime(30));
        b.objective = "C6 Součinnost".into();
        let mut c = inject(3, Some(30));
        c.expected = "Evakuovat".into();
        c.objective = "C3 Evakuace".into();
        vec![a, b, c]
    }

    #[test]
    fn expected_actions_are_met_by_responses_in_time_or_by_the_evaluators_verdict() {
        let input = Input {
            name: "Cvičení".into(),
            started: Some(Timestamp(T0)),
            stopped: None,
            scenario: scenario(),
            released: vec![release(1, 0), release(2, 10), release(3, 30)],
            responses: vec![
                // Inject 1: the region's chair after 12 minutes (in time).
                response(1, 12, None, StaffRole::Chair, &[1]),
                // Inject 2: ORP Vsetín after 25 minutes: after the deadline T+00:30? No: 10+25=35 > 30, late.
                response(2, 35, Some("Vsetín"), StaffRole::OrpCoordinator, &[2]),
                response(3, 40, Some("Vsetín"), StaffRole::OrpCoordinator, &[2]),
            ],
            observations: vec![Observation {
                record: RecordId([200; 16]),
                inject: 2,
                met: Some(true),
                text: "Pozdě, ale správně".into(),
                by: "Hodnotitel".into(),
                at: Timestamp(T0 + 50 * 60_000),
                corrective: Some(Corrective {
                    action: "Procvičit vyhlášení SPA".into(),
                    owner: "ORP Vsetín".into(),
                    due: Some(Timestamp(T0 + 30 * 86_400_000)),
                }),
            }],
        };
        let e = evaluate(&input);
        assert!(e.exercise);
        assert_eq!(e.expected.len(), 3);
        let one = &e.expected[0];
        assert!(one.met && !one.judged && !one.late);
        assert_eq!(one.response_ms, Some(12 * 60_000));
        assert_eq!(one.first_response_by.as_deref(), Some("Autor 1"));
        let two = &e.expected[1];
        assert!(two.late, "answered after its deadline");
        assert!(two.met && two.judged, "the evaluator's verdict counts");
        assert_eq!(two.response_ms, Some(25 * 60_000));
        assert!(two.comment.contains("Pozdě, ale správně"));
        let three = &e.expected[2];
        assert!(!three.met);
        assert_eq!(e.unanswered.len(), 1);
        assert_eq!(e.unanswered[0].number, 3);
        // Response times per ORP and per role: the slowest first.
        assert_eq!(e.by_orp[0].group, "ORP Vsetín");
        assert_eq!(e.by_orp[0].median_ms, 25 * 60_000);
        assert_eq!(e.by_orp[1].group, "krajský štáb");
        assert_eq!(e.by_role[0].group, "koordinátor ORP");
        // Objectives, plan and the hot wash.
        let c6 = e
            .by_objective
            .iter()
            .find(|o| o.objective == "C6 Součinnost")
            .unwrap();
        assert_eq!((c6.expected, c6.met), (1, 1));
        assert_eq!(c6.observations.len(), 1);
        assert_eq!(e.plan.len(), 1);
        assert_eq!(e.plan[0].owner, "ORP Vsetín");
        assert!(
            e.hot_wash
                .iter()
                .any(|l| l == "Očekávané reakce splněny: 2 ze 3."),
            "{:?}",
            e.hot_wash
        );
        assert!(e.hot_wash.iter().any(|l| l.contains("#3")));
        assert!(e
            .hot_wash
            .iter()
            .any(|l| l.contains("Nejpomalejší reakce: ORP Vsetín")));
        // The timeline interleaves injects and responses by time.
        let whats: Vec<&str> = e.timeline.iter().map(|t| t.what.as_str()).collect();
        assert_eq!(
            whats,
            ["inject", "inject", "task", "inject", "task", "task"]
        );
        assert_eq!(minutes_text(65 * 60_000), "1 h 05 min");
    }

    #[cfg(feature = "engine")]
    #[test]
    fn the_evaluation_csv_is_marked_and_lists_every_expected_action() {
        let input = Input {
            name: "Cvičení".into(),
            scenario: scenario(),
            released: vec![release(1, 0)],
            responses: vec![response(
                1,
                12,
                Some("Zlín"),
                StaffRole::OrpCoordinator,
                &[1],
            )],
            ..Input::default()
        };
        let csv = crate::exercise::msel::evaluation_csv(&evaluate(&input)).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(text.starts_with("=== CVIČENÍ"));
        assert!(text.contains("1;Výstraha;všichni;C1 Aktivace;Svolat štáb;T+00:20;"));
        assert!(text.contains("ORP Zlín;1;12 min;12 min"));
    }
}
