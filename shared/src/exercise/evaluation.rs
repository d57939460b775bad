//! The evaluation of a drill (vyhodnocení cvičení), computed from what the replica holds: the
//! timeline of injects and responses, each expected action met or not (when, by whom, the
//! evaluator's verdict and comment), response times per ORP and per role, injects left
//! unanswered, results by objective, the hot-wash summary and the improvement plan.
//!
//! Pure: the engine gathers the inputs (`engine::node::exercise`), this computes; the CLI and
//! the app render it (CSV, JSON, PDF, a screen), every one marked CVIČENÍ.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ExerciseTime, Inject, Released};
use crate::ids::RecordId;
use crate::record::{RecordKind, StaffRole, Timestamp};

/// A player's record that answers one or more injects (linked to their releases).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub record: RecordId,
    pub kind: RecordKind,
    /// Its title, item or first line.
    pub summary: String,
    pub created_at: Timestamp,
    pub author: String,
    pub role: Option<StaffRole>,
    pub orp: Option<String>,
    /// The scenario numbers of the injects it answers.
    pub answers: Vec<u32>,
}

/// An evaluator's observation on one inject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub record: RecordId,
    pub inject: u32,
    /// The verdict on the expected action, if the evaluator gave one.
    pub met: Option<bool>,
    pub text: String,
    pub by: String,
    pub at: Timestamp,
    pub corrective: Option<Corrective>,
}

/// A corrective action of the improvement plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrective {
    pub action: String,
    pub owner: String,
    pub due: Option<Timestamp>,
}

/// What the evaluation is computed from.
#[derive(Clone, Debug, Default)]
pub struct Input {
    pub name: String,
    pub started: Option<Timestamp>,
    pub stopped: Option<Timestamp>,
    pub scenario: Vec<Inject>,
    pub released: Vec<Released>,
    pub responses: Vec<Response>,
    pub observations: Vec<Observation>,
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    /// "inject" or the response's record kind code.
    pub what: String,
    /// The inject's number (0 ad hoc) or the numbers a response answers.
    pub injects: Vec<u32>,
    pub text: String,
    pub who: String,
}

/// One expected action and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedResult {
    pub number: u32,
    pub subject: String,
    pub to: String,
    pub objective: String,
    pub expected: String,
    pub deadline: Option<ExerciseTime>,
    pub released_at: Timestamp,
    pub met: bool,
    /// The evaluator gave the verdict (else: met when a response answers it by its deadline).
    pub judged: bool,
    pub first_response_at: Option<Timestamp>,
    pub first_response_by: Option<String>,
    /// From release to the first response, in ms.
    pub response_ms: Option<i64>,
    pub late: bool,
    pub comment: String,
}

/// Response times of one group (an ORP or a role).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseTimes {
    pub group: String,
    pub answered: usize,
    pub median_ms: i64,
    pub max_ms: i64,
}

/// The results for one objective.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveResult {
    pub objective: String,
    pub expected: usize,
    pub met: usize,
    /// "#N: text" of each observation on the objective's injects.
    pub observations: Vec<String>,
}

/// One corrective action with where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    pub inject: u32,
    pub objective: String,
    pub finding: String,
    pub action: String,
    pub owner: String,
    pub due: Option<Timestamp>,
}

/// The whole evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub exercise: bool,
    pub name: String,
    pub started: Option<Timestamp>,
    pub stopped: Option<Timestamp>,
    pub scenario_size: usize,
    pub released: usize,
    pub timeline: Vec<TimelineEntry>,
    pub expected: Vec<ExpectedResult>,
    pub by_orp: Vec<ResponseTimes>,
    pub by_role: Vec<ResponseTimes>,
    pub unanswered: Vec<ExpectedResult>,
    pub by_objective: Vec<ObjectiveResult>,
    /// The hot-wash summary, one Czech sentence per line.
    pub hot_wash: Vec<String>,
    pub plan: Vec<PlanItem>,
}

/// "12 min" / "1 h 05 min".
pub fn minutes_text(ms: i64) -> String {
    let m = (ms.max(0) + 30_000) / 60_000;
    if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

fn median(sorted: &[i64]) -> i64 {
    match sorted.len() {
        0 => 0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn times(groups: BTreeMap<String, Vec<i64>>) -> Vec<ResponseTimes> {
    let mut out: Vec<ResponseTimes> = groups
        .into_iter()
        .map(|(group, mut ms)| {
            ms.sort_unstable();
            ResponseTimes {
                group,
                answered: ms.len(),
                median_ms: median(&ms),
                max_ms: ms.last().copied().unwrap_or(0),
            }
        })
        .collect();
    out.sort_by(|a, b| b.median_ms.cmp(&a.median_ms).then(a.group.cmp(&b.group)));
    out
}

/// Computes the evaluation. Linear in injects + responses + observations (indexed once).
pub fn evaluate(input: &Input) -> Evaluation {
    let scenario: BTreeMap<u32, &Inject> = input.scenario.iter().map(|i| (i.number, i)).collect();
    let mut answers: BTreeMap<u32, Vec<&Response>> = BTreeMap::new();
    for r in &input.responses {
        for n in &r.answers {
            answers.entry(*n).or_default().push(r);
        }
    }
    for list in answers.values_mut() {
        list.sort_by_key(|r| (r.created_at, r.record));
    }
    // The latest observation with a verdict, and every comment, per inject.
    let mut verdicts: BTreeMap<u32, &Observation> = BTreeMap::new();
    let mut comments: BTreeMap<u32, Vec<&Observation>> = BTreeMap::new();
    let mut observations: Vec<&Observation> = input.observations.iter().collect();
    observations.sort_by_key(|o| (o.at, o.record));
    for o in &observations {
        if o.met.is_some() {
            verdicts.insert(o.inject, o);
        }
        comments.entry(o.inject).or_default().push(o);
    }

    let mut timeline: Vec<TimelineEntry> = input
        .released
        .iter()
        .map(|r| TimelineEntry {
            at: r.released_at,
            what: "inject".into(),
            injects: vec![r.number],
            text: format!(
                "{} → {}: {}",
                r.from,
                r.to,
                if r.subject.is_empty() {
                    &r.text
                } else {
                    &r.subject
                }
            ),
            who: r.from.clone(),
        })
        .chain(input.responses.iter().map(|r| TimelineEntry {
            at: r.created_at,
            what: r.kind.code().into(),
            injects: r.answers.clone(),
            text: r.summary.clone(),
            who: r.author.clone(),
        }))
        .collect();
    timeline.sort_by(|a, b| a.at.cmp(&b.at).then(a.what.cmp(&b.what)));

    let mut expected = Vec::new();
    let mut by_orp: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut by_role: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for release in input.released.iter().filter(|r| r.number != 0) {
        let Some(inject) = scenario.get(&release.number) else {
            continue;
        };
        let first = answers
            .get(&release.number)
            .and_then(|l| l.first())
            .copied();
        let response_ms = first.map(|r| r.created_at.0 - release.released_at.0);
        if let (Some(r), Some(ms)) = (first, response_ms) {
            let orp = r
                .orp
                .clone()
                .map(|o| format!("ORP {}", o.trim_start_matches("ORP ").trim()))
                .unwrap_or_else(|| "krajský štáb".into());
            by_orp.entry(orp).or_default().push(ms);
            let role = r.role.map_or("neznámá role", |x| x.label_cs()).to_owned();
            by_role.entry(role).or_default().push(ms);
        }
        if inject.expected.trim().is_empty() {
            continue;
        }
        let deadline_at = inject.deadline.map(|d| {
            let from_release = i64::from(d.0) - i64::from(release.released_at_t.0);
            Timestamp(release.released_at.0 + from_release * 60_000)
        });
        let late = match (first, deadline_at) {
            (Some(r), Some(d)) => r.created_at > d,
            _ => false,
        };
        let (met, judged) = match verdicts.get(&release.number) {
            Some(o) => (o.met.unwrap_or(false), true),
            None => (first.is_some() && !late, false),
        };
        let comment = comments
            .get(&release.number)
            .map(|l| {
                l.iter()
                    .filter(|o| !o.text.trim().is_empty())
                    .map(|o| format!("{} ({})", o.text.trim(), o.by))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        expected.push(ExpectedResult {
            number: release.number,
            subject: inject.subject.clone(),
            to: inject.to.to_string(),
            objective: inject.objective.clone(),
            expected: inject.expected.clone(),
            deadline: inject.deadline,
            released_at: release.released_at,
            met,
            judged,
            first_response_at: first.map(|r| r.created_at),
            first_response_by: first.map(|r| r.author.clone()),
            response_ms,
            late,
            comment,
        });
    }
    expected.sort_by_key(|e| e.number);
    let unanswered: Vec<ExpectedResult> = expected
        .iter()
        .filter(|e| e.first_response_at.is_none())
        .cloned()
        .collect();

    let mut objectives: BTreeMap<String, ObjectiveResult> = BTreeMap::new();
    for e in &expected {
        let key = if e.objective.trim().is_empty() {
            "(bez cíle)".to_owned()
        } else {
            e.objective.clone()
        };
        let o = objectives.entry(key.clone()).or_insert(ObjectiveResult {
            objective: key,
            expected: 0,
            met: 0,
            observations: Vec::new(),
        });
        o.expected += 1;
        o.met += usize::from(e.met);
        for obs in comments.get(&e.number).into_iter().flatten() {
            if !obs.text.trim().is_empty() {
                o.observations
                    .push(format!("#{}: {} ({})", e.number, obs.text.trim(), obs.by));
            }
        }
    }

    let mut plan: Vec<PlanItem> = observations
        .iter()
        .filter_map(|o| {
            let c = o.corrective.as_ref()?;
            Some(PlanItem {
                inject: o.inject,
                objective: scenario
                    .get(&o.inject)
                    .map(|i| i.objective.clone())
                    .unwrap_or_default(),
                finding: o.text.clone(),
                action: c.action.clone(),
                owner: c.owner.clone(),
                due: c.due,
            })
        })
        .collect();
    plan.sort_by(|a, b| a.due.cmp(&b.due).then(a.inject.cmp(&b.inject)));

    let by_orp = times(by_orp);
    let by_role = times(by_role);
    let met = expected.iter().filter(|e| e.met).count();
    let mut all_ms: Vec<i64> = expected.iter().filter_map(|e| e.response_ms).collect();
    all_ms.sort_unstable();
    let mut hot_wash = vec![
        format!(
            "Vydáno {} z {} vstupů scénáře.",
            input.released.iter().filter(|r| r.number != 0).count(),
            input.scenario.len()
        ),
        format!(
            "Očekávané reakce splněny: {met} {} {}.",
            crate::views::z_ze(expected.len()),
            expected.len()
        ),
    ];
    if !all_ms.is_empty() {
        hot_wash.push(format!(
            "Medián doby reakce {}, nejdelší {}.",
            minutes_text(median(&all_ms)),
            minutes_text(*all_ms.last().unwrap_or(&0))
        ));
    }
    if !unanswered.is_empty() {
        hot_wash.push(format!(
            "Bez odezvy (počet {}): {}.",
            unanswered.len(),
            unanswered
                .iter()
                .map(|e| format!("#{}", e.number))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(slowest) = by_orp.first() {
        hot_wash.push(format!(
            "Nejpomalejší reakce: {} (medián {}).",
            slowest.group,
            minutes_text(slowest.median_ms)
        ));
    }
    let weakest = objectives
        .values()
        .filter(|o| o.expected > 0)
        .min_by(|a, b| (a.met * b.expected).cmp(&(b.met * a.expected)));
    if let Some(w) = weakest {
        hot_wash.push(format!(
            "Nejslabší cíl: {} ({} {} {} splněno).",
            w.objective,
            w.met,
            crate::views::z_ze(w.expected),
            w.expected
        ));
    }
    if !plan.is_empty() {
        hot_wash.push(format!("Navržených nápravných opatření: {}.", plan.len()));
    }

    Evaluation {
        exercise: true,
        name: input.name.clone(),
        started: input.started,
        stopped: input.stopped,
        scenario_size: input.scenario.len(),
        released: input.released.len(),
        timeline,
        expected,
        by_orp,
        by_role,
        unanswered,
        by_objective: objectives.into_values().collect(),
        hot_wash,
        plan,
    }
}
