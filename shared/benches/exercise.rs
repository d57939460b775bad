//! Evaluation benchmark (issue 15, target): the evaluation of a six-hour drill with 200
//! injects and 2,000 responses, each figure next to a floor measured in the same run.
//!
//! - the model alone (`exercise::evaluation::evaluate`) on 200 released injects, 2,000
//!   responses from 13 ORPs and the region's roles, 100 observations; floor: cloning that
//!   input (one pass over the same data);
//! - through the engine, on real on-disk nodes: a leader's drill with 200 sealed injects over
//!   six hours, all released, an ORP coordinator's 2,000 resource requests each linked to the inject it answers,
//!   synced to the leader; `Node::evaluation` (decrypts the scenario, reads every record,
//!   computes); floor: the leader listing the 2,000 requests as the app's request screen does
//!   (`Replica::resource_requests`); and the evaluation rendered as CSV and as PDF.
//!
//! Target (issue 15): under 1 s.
//!
//! `cargo bench -p krizlink-core --features engine --bench exercise`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use krizlink_core::api::{RecordInput, RequestInput};
use krizlink_core::engine::keystore::KdfParams;
use krizlink_core::engine::node::Node;
use krizlink_core::exercise::evaluation::{evaluate, Corrective, Input, Observation, Response};
use krizlink_core::exercise::msel;
use krizlink_core::exercise::{ExerciseTime, Inject, Released, Target};
use krizlink_core::record::{Channel, ClockAction, StaffRole, Timestamp};
use krizlink_core::{DeviceId, RecordId, RecordKind, SpaceId};

const INJECTS: u32 = 200;
const RESPONSES: usize = 2_000;
const PASS: &str = "heslo-pro-bench-1234";
const ORPS: [&str; 13] = krizlink_core::exercise::ZLIN_REGION_ORPS;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "krizlink-bench-exercise-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median wall time of `runs` runs of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn scenario() -> Vec<Inject> {
    (1..=INJECTS)
        .map(|n| {
            // Six hours: T+00:00 to T+05:58, one every 1.8 minutes.
            let t = (n - 1) * 360 / INJECTS;
            Inject {
                number: n,
                time: Some(ExerciseTime(t)),
                from: "ČHMÚ – RPP Ostrava".into(),
                to: Target::Orp(ORPS[n as usize % ORPS.len()].into()),
                channel: Channel::Phone,
                subject: format!("Vstup číslo {n}: vzestup hladiny"),
                content: "Hladina Bečvy ve Vsetíně dosáhla 3. SPA a dále stoupá; \
                          očekáváme kulminaci v nočních hodinách."
                    .into(),
                expected: "Vyhlásit 3. SPA, zahájit evakuaci a zapsat do deníku.".into(),
                deadline: Some(ExerciseTime(t + 20)),
                objective: format!("C{} Cíl cvičení", n % 6 + 1),
                evaluator_notes: "Sledujte čas a úplnost.".into(),
                trigger: None,
            }
        })
        .collect()
}

fn model_input() -> Input {
    let t0 = 1_800_000_000_000i64;
    let injects = scenario();
    let released: Vec<Released> = injects
        .iter()
        .map(|i| Released {
            record: RecordId([(i.number % 251) as u8; 16]),
            number: i.number,
            from: i.from.clone(),
            to: i.to.to_string(),
            channel: Some(i.channel),
            subject: i.subject.clone(),
            text: i.content.clone(),
            scheduled: i.time,
            released_at: Timestamp(t0 + i.time.map_or(0, |t| t.millis())),
            released_at_t: i.time.unwrap_or(ExerciseTime(0)),
            released_by: DeviceId([1; 32]),
            stamp_order: (0, i.number),
            reached: Vec::new(),
        })
        .collect();
    let responses: Vec<Response> = (0..RESPONSES)
        .map(|k| {
            let n = (k as u32 % INJECTS) + 1;
            Response {
                record: RecordId([(k % 256) as u8; 16]),
                kind: RecordKind::Task,
                summary: format!("Odpověď {k}"),
                created_at: Timestamp(
                    t0 + i64::from((n - 1) * 360 / INJECTS) * 60_000 + (k as i64 % 40) * 60_000,
                ),
                author: format!("Koordinátor {}", ORPS[k % ORPS.len()]),
                role: Some(if k % 3 == 0 {
                    StaffRole::Member
                } else {
                    StaffRole::OrpCoordinator
                }),
                orp: (k % 3 != 0).then(|| ORPS[k % ORPS.len()].to_owned()),
                answers: vec![n],
            }
        })
        .collect();
    let observations: Vec<Observation> = (0..100u32)
        .map(|k| Observation {
            record: RecordId([k as u8; 16]),
            inject: k * 2 + 1,
            met: Some(k % 4 != 0),
            text: "Reakce byla pomalá, chyběl zápis v deníku.".into(),
            by: "Hodnotitel".into(),
            at: Timestamp(t0 + 7 * 3_600_000),
            corrective: (k % 5 == 0).then(|| Corrective {
                action: "Procvičit vyhlášení SPA.".into(),
                owner: "ORP Vsetín".into(),
                due: Some(Timestamp(t0 + 30 * 86_400_000)),
            }),
        })
        .collect();
    Input {
        name: "Cvičení Povodeň 2026".into(),
        started: Some(Timestamp(t0)),
        stopped: Some(Timestamp(t0 + 6 * 3_600_000)),
        scenario: injects,
        released,
        responses,
        observations,
    }
}

fn model() {
    let input = model_input();
    let floor = median(21, || {
        std::hint::black_box(input.clone());
    });
    let eval = median(21, || {
        std::hint::black_box(evaluate(&input));
    });
    let e = evaluate(&input);
    println!(
        "model: evaluate {INJECTS} injects, {RESPONSES} responses, {} observations: {:.2} ms \
         (median of 21) | floor, cloning the input: {:.2} ms → {:.1}× | {} expected actions, \
         {} ORP groups | target < 1,000 ms {}",
        input.observations.len(),
        ms(eval),
        ms(floor),
        eval.as_secs_f64() / floor.as_secs_f64().max(1e-9),
        e.expected.len(),
        e.by_orp.len(),
        if eval < Duration::from_secs(1) {
            "✔"
        } else {
            "✘"
        }
    );
}

fn sync(from: &Node, to: &mut Node, space: SpaceId) {
    loop {
        let theirs = to.replica(space).expect("space").version_vector().clone();
        let (batch, _) = from
            .envelopes_missing_from(space, &theirs, 10_000, usize::MAX)
            .expect("envelopes");
        if batch.is_empty() {
            return;
        }
        to.receive(space, batch, "bench").expect("receive");
    }
}

fn engine() {
    let dir = scratch("engine");
    let setup = Instant::now();
    let mut leader =
        Node::init(&dir.join("leader"), "Řídící", PASS, KdfParams::for_tests()).expect("leader");
    let space = leader
        .create_space_as("Cvičení Povodeň 2026", true)
        .expect("drill");
    let code = leader
        .create_invite_for(space, StaffRole::OrpCoordinator, Some("Vsetín"), 60)
        .expect("invite");
    let mut player = Node::init(
        &dir.join("player"),
        "Koordinátor Vsetín",
        PASS,
        KdfParams::for_tests(),
    )
    .expect("player");
    let request = player.request_join(&code).expect("request");
    let welcome = leader.accept_join(&request).expect("welcome");
    player.finish_join(&welcome).expect("joined");
    let csv = msel::export_csv(&scenario()).expect("csv");
    let injects = msel::import(msel::Format::Csv, &csv).expect("scenario");
    leader.import_scenario(space, &injects).expect("import");
    let clock = leader
        .clock_action(space, ClockAction::Start, None)
        .expect("start");
    leader
        .clock_action(space, ClockAction::Jump, Some(ExerciseTime(6 * 60)))
        .expect("jump");
    let started = clock.started.expect("started");
    let released = leader
        .release_due(space, Timestamp(started.0 + 1))
        .expect("release");
    assert_eq!(released.len(), INJECTS as usize);
    sync(&leader, &mut player, space);
    let releases: Vec<RecordId> = (1..=INJECTS)
        .map(|n| player.release_of(space, n).expect("released"))
        .collect();
    for k in 0..RESPONSES {
        let task = RecordInput::ResourceRequest(RequestInput {
            requester: "ORP Vsetín".into(),
            item: format!("pytle k vstupu {}", k % INJECTS as usize + 1),
            ..RequestInput::default()
        });
        player
            .create_linked(space, &task, &[releases[k % releases.len()]], None)
            .expect("response");
    }
    sync(&player, &mut leader, space);
    println!(
        "engine: a drill with {INJECTS} sealed injects, all released, {RESPONSES} linked \
         responses synced to the leader, set up in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let floor = median(5, || {
        std::hint::black_box(leader.replica(space).expect("space").resource_requests());
    });
    let eval = median(5, || {
        std::hint::black_box(leader.evaluation(space).expect("evaluation"));
    });
    let e = leader.evaluation(space).expect("evaluation");
    assert_eq!(e.expected.len(), INJECTS as usize);
    // Every response counted: the timeline holds each release and each response.
    assert_eq!(e.timeline.len(), INJECTS as usize + RESPONSES);
    let csv = median(5, || {
        std::hint::black_box(msel::evaluation_csv(&e).expect("csv"));
    });
    let mut pdf_bytes = 0;
    let pdf = median(3, || {
        let doc = krizlink_core::engine::pdf::evaluation(&e, &chrono::Utc);
        pdf_bytes = krizlink_core::engine::pdf::render(&doc).expect("pdf").len();
    });
    let total = eval + pdf;
    println!(
        "engine: Node::evaluation {:.1} ms (median of 5) | floor, listing the {RESPONSES} requests: \
         {:.1} ms → {:.1}× | as CSV +{:.1} ms, as PDF +{:.1} ms ({} KB) | evaluation and PDF \
         {:.0} ms, target < 1,000 ms {}",
        ms(eval),
        ms(floor),
        eval.as_secs_f64() / floor.as_secs_f64().max(1e-9),
        ms(csv),
        ms(pdf),
        pdf_bytes / 1024,
        ms(total),
        if total < Duration::from_secs(1) {
            "✔"
        } else {
            "✘"
        }
    );
    drop(leader);
    drop(player);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    model();
    engine();
}
