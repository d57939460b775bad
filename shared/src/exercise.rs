//! The exercise (cvičení) model: a scenario's injects, their targets and triggers, exercise
//! time (T+hh:mm), and the replicated exercise clock as a fold of clock actions.
//!
//! Everything here is pure and deterministic: the engine seals injects for the controllers
//! (`engine::exercise`), writes clock actions as operations, and asks [`Clock::fold`] and
//! [`due`] what is released when. The spreadsheet import lives in [`msel`] (native only).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::authority::same_orp;
use crate::ids::{DeviceId, RecordId};
use crate::record::{
    check_text, Channel, ClockAction, StaffRole, Timestamp, ValueProblem, LONG_TEXT, SHORT_TEXT,
};

pub mod evaluation;
#[cfg(feature = "engine")]
pub mod msel;

/// The sample scenario shipped with the app: a flood in the Zlín region, the region's staff
/// and its 13 ORPs, six hours (a first-run demo in an exercise space).
pub const SAMPLE_SCENARIO_CSV: &str = include_str!("../data/scenario-povoden-zlinsky-kraj.csv");
/// The sample scenario's name, as `exercise import --sample` and the app offer it.
pub const SAMPLE_SCENARIO_NAME: &str = "Povodeň ve Zlínském kraji (ukázkový scénář, 6 hodin)";

/// The 13 ORPs of the Zlín region, the sample scenario's players besides the region's staff.
pub const ZLIN_REGION_ORPS: [&str; 13] = [
    "Bystřice pod Hostýnem",
    "Holešov",
    "Kroměříž",
    "Luhačovice",
    "Otrokovice",
    "Rožnov pod Radhoštěm",
    "Uherské Hradiště",
    "Uherský Brod",
    "Valašské Klobouky",
    "Valašské Meziříčí",
    "Vizovice",
    "Vsetín",
    "Zlín",
];

/// Latest exercise time a scenario may use: seven days (T+168:00).
pub const MAX_MINUTES: u32 = 7 * 24 * 60;
/// Most injects one scenario holds.
pub const MAX_INJECTS: usize = 2_000;

/// Exercise time: whole minutes from the start (T+00:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExerciseTime(pub u32);

/// The text was not an exercise time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeProblem {
    #[error("{0:?} is not an exercise time; write T+hh:mm, e.g. T+01:30")]
    NotATime(String),
    #[error("{0:?} is past T+168:00, the longest exercise")]
    TooLate(String),
}

impl ExerciseTime {
    /// Parses `T+hh:mm`, `T+h:mm`, `hh:mm` or `hh:mm:ss` (seconds dropped); `T+` may be `T +`.
    pub fn parse(text: &str) -> Result<ExerciseTime, TimeProblem> {
        let bad = || TimeProblem::NotATime(text.to_owned());
        let t = text.trim();
        let t = t
            .strip_prefix("T+")
            .or_else(|| t.strip_prefix("t+"))
            .or_else(|| {
                t.strip_prefix('T')
                    .or_else(|| t.strip_prefix('t'))
                    .and_then(|r| r.trim_start().strip_prefix('+'))
            })
            .unwrap_or(t)
            .trim();
        let mut parts = t.split(':');
        let h = parts.next().ok_or_else(bad)?;
        let m = parts.next().ok_or_else(bad)?;
        let s = parts.next();
        if parts.next().is_some() {
            return Err(bad());
        }
        let num = |p: &str, max_len: usize| -> Result<u32, TimeProblem> {
            if p.is_empty() || p.len() > max_len || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let h = num(h, 3)?;
        let m = num(m, 2)?;
        if m >= 60 {
            return Err(bad());
        }
        if let Some(s) = s {
            if num(s, 2)? >= 60 {
                return Err(bad());
            }
        }
        let minutes = h * 60 + m;
        if minutes > MAX_MINUTES {
            return Err(TimeProblem::TooLate(text.to_owned()));
        }
        Ok(ExerciseTime(minutes))
    }

    /// Milliseconds from the start.
    pub fn millis(self) -> i64 {
        i64::from(self.0) * 60_000
    }
}

impl fmt::Display for ExerciseTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T+{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Komu: whom an inject is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    /// všichni: the whole space.
    All,
    /// Every member of a role ("předseda štábu").
    Role(StaffRole),
    /// An ORP ("ORP Vsetín"): its coordinators.
    Orp(String),
    /// One member, by name.
    Member(String),
}

impl Target {
    /// `všichni`/`all`, `ORP <name>`, a role's label or code, else a member's name.
    pub fn parse(text: &str) -> Option<Target> {
        let t = text.trim();
        if t.is_empty() || check_text(t, SHORT_TEXT).is_err() {
            return None;
        }
        let folded = fold_diacritics(t);
        if matches!(folded.as_str(), "vsichni" | "all" | "everyone") {
            return Some(Target::All);
        }
        if folded == "orp" {
            return None;
        }
        if let Some(rest) = folded.strip_prefix("orp ") {
            if rest.trim().is_empty() {
                return None;
            }
            let name = t.get(4..).unwrap_or_default().trim();
            return Some(Target::Orp(name.to_owned()));
        }
        if let Some(role) = StaffRole::parse(t) {
            return Some(Target::Role(role));
        }
        Some(Target::Member(t.to_owned()))
    }

    /// Whether a member with `role`, bound to `orp`, named `name` is addressed.
    pub fn addresses(&self, role: StaffRole, orp: Option<&str>, name: &str) -> bool {
        match self {
            Target::All => true,
            Target::Role(r) => *r == role,
            Target::Orp(o) => orp.is_some_and(|mine| same_orp(mine, o)),
            Target::Member(n) => n.trim().to_lowercase() == name.trim().to_lowercase(),
        }
    }

    /// The ORP named, for response times per ORP.
    pub fn orp(&self) -> Option<&str> {
        match self {
            Target::Orp(o) => Some(o),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::All => f.write_str("všichni"),
            Target::Role(r) => f.write_str(r.label_cs()),
            Target::Orp(o) => write!(f, "ORP {o}"),
            Target::Member(n) => f.write_str(n),
        }
    }
}

/// Spouštěč: what releases an inject besides the clock.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Trigger {
    /// po-termínu:N: inject N's expected action is not met by its deadline.
    Overdue(u32),
    /// úkol-přijat:N: a task linked to inject N is accepted.
    TaskAccepted(u32),
    /// zpráva-odeslána:SENDER: a situation report from this sender (an ORP) is sent.
    ReportSent(String),
    /// požadavek-štítek:TAG: a resource request with this tag is filed.
    RequestTagged(String),
}

impl Trigger {
    /// Parses `po-termínu:N`, `úkol-přijat:N`, `zpráva-odeslána:SENDER`,
    /// `požadavek-štítek:TAG` (also without diacritics, or in English: `overdue:N`,
    /// `task-accepted:N`, `report-sent:SENDER`, `request-tag:TAG`).
    pub fn parse(text: &str) -> Option<Trigger> {
        let (kind, arg) = text.split_once(':')?;
        let arg = arg.trim();
        if arg.is_empty() || check_text(arg, SHORT_TEXT).is_err() {
            return None;
        }
        let number = || arg.parse::<u32>().ok().filter(|n| *n > 0);
        match fold_diacritics(kind.trim()).as_str() {
            "po-terminu" | "overdue" => number().map(Trigger::Overdue),
            "ukol-prijat" | "task-accepted" => number().map(Trigger::TaskAccepted),
            "zprava-odeslana" | "report-sent" => Some(Trigger::ReportSent(arg.to_owned())),
            "pozadavek-stitek" | "request-tag" => Some(Trigger::RequestTagged(arg.to_owned())),
            _ => None,
        }
    }

    /// The inject this trigger waits on, if it names one.
    pub fn inject(&self) -> Option<u32> {
        match self {
            Trigger::Overdue(n) | Trigger::TaskAccepted(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Overdue(n) => write!(f, "po-termínu:{n}"),
            Trigger::TaskAccepted(n) => write!(f, "úkol-přijat:{n}"),
            Trigger::ReportSent(s) => write!(f, "zpráva-odeslána:{s}"),
            Trigger::RequestTagged(t) => write!(f, "požadavek-štítek:{t}"),
        }
    }
}

/// Vstup: one scripted message of the scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inject {
    /// číslo (1 and up, unique in the scenario).
    pub number: u32,
    /// čas: when the clock releases it (none: only its trigger does).
    pub time: Option<ExerciseTime>,
    /// od: the simulated originator ("ČHMÚ", "starosta obce Jablůnka").
    pub from: String,
    /// komu.
    pub to: Target,
    /// způsob.
    pub channel: Channel,
    /// předmět.
    pub subject: String,
    /// zpráva.
    pub content: String,
    /// očekávaná reakce.
    pub expected: String,
    /// termín reakce.
    pub deadline: Option<ExerciseTime>,
    /// cíl: the objective it tests.
    pub objective: String,
    /// poznámka pro hodnotitele.
    pub evaluator_notes: String,
    /// spouštěč.
    pub trigger: Option<Trigger>,
}

/// What is wrong with one inject, naming its field (the import adds line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectProblem {
    #[error("the number must be a whole number from 1")]
    BadNumber,
    #[error("number {0} is used twice")]
    DuplicateNumber(u32),
    #[error("an inject needs a time (T+hh:mm) or a trigger")]
    NoTimeNorTrigger,
    #[error("the deadline {deadline} is not after the time {time}")]
    DeadlineBeforeTime {
        time: ExerciseTime,
        deadline: ExerciseTime,
    },
    #[error("{field}: {problem}")]
    Text {
        field: &'static str,
        problem: ValueProblem,
    },
    #[error("the trigger names inject {0}, which the scenario does not hold")]
    TriggerUnknownInject(u32),
    #[error("the trigger waits for inject {0}'s deadline, which has none")]
    TriggerWithoutDeadline(u32),
    #[error("the trigger names this inject itself")]
    TriggerOnItself,
}

impl InjectProblem {
    /// The field (column) the problem is in.
    pub fn field(&self) -> &'static str {
        match self {
            InjectProblem::BadNumber | InjectProblem::DuplicateNumber(_) => "number",
            InjectProblem::NoTimeNorTrigger => "time",
            InjectProblem::DeadlineBeforeTime { .. } => "deadline",
            InjectProblem::Text { field, .. } => field,
            InjectProblem::TriggerUnknownInject(_)
            | InjectProblem::TriggerWithoutDeadline(_)
            | InjectProblem::TriggerOnItself => "trigger",
        }
    }
}

impl Inject {
    /// Checks the inject on its own (numbers and triggers across the scenario: [`check_scenario`]).
    pub fn check(&self) -> Result<(), InjectProblem> {
        if self.number == 0 {
            return Err(InjectProblem::BadNumber);
        }
        if self.time.is_none() && self.trigger.is_none() {
            return Err(InjectProblem::NoTimeNorTrigger);
        }
        if let (Some(time), Some(deadline)) = (self.time, self.deadline) {
            if deadline <= time {
                return Err(InjectProblem::DeadlineBeforeTime { time, deadline });
            }
        }
        let texts: [(&'static str, &str, usize, bool); 6] = [
            ("from", &self.from, SHORT_TEXT, true),
            ("subject", &self.subject, SHORT_TEXT, false),
            ("content", &self.content, LONG_TEXT, true),
            ("expected", &self.expected, LONG_TEXT, false),
            ("objective", &self.objective, SHORT_TEXT, false),
            ("evaluator_notes", &self.evaluator_notes, LONG_TEXT, false),
        ];
        for (field, text, max, required) in texts {
            check_text(text, max).map_err(|problem| InjectProblem::Text { field, problem })?;
            if required && text.trim().is_empty() {
                return Err(InjectProblem::Text {
                    field,
                    problem: ValueProblem::Empty,
                });
            }
        }
        if let Some(n) = self.trigger.as_ref().and_then(Trigger::inject) {
            if n == self.number {
                return Err(InjectProblem::TriggerOnItself);
            }
        }
        Ok(())
    }

    /// The time the clock releases it at, if any.
    pub fn scheduled(&self) -> Option<ExerciseTime> {
        self.time
    }
}

/// Checks a whole scenario: each inject, unique numbers, triggers naming injects it holds.
/// Returns the index of the first bad inject with its problem.
pub fn check_scenario(injects: &[Inject]) -> Result<(), (usize, InjectProblem)> {
    let mut seen = BTreeSet::new();
    for (i, inject) in injects.iter().enumerate() {
        inject.check().map_err(|p| (i, p))?;
        if !seen.insert(inject.number) {
            return Err((i, InjectProblem::DuplicateNumber(inject.number)));
        }
    }
    for (i, inject) in injects.iter().enumerate() {
        let Some(trigger) = &inject.trigger else {
            continue;
        };
        if let Some(n) = trigger.inject() {
            let Some(named) = injects.iter().find(|j| j.number == n) else {
                return Err((i, InjectProblem::TriggerUnknownInject(n)));
            };
            if matches!(trigger, Trigger::Overdue(_)) && named.deadline.is_none() {
                return Err((i, InjectProblem::TriggerWithoutDeadline(n)));
            }
        }
    }
    Ok(())
}

/// One clock action as written: by whom and when (the operation's stamp orders them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockEvent<K: Ord + Clone> {
    /// The total order of the space's operations (the stamp), ties impossible.
    pub order: K,
    /// The wall time of the action (the operation's stamp's physical time).
    pub at: Timestamp,
    pub action: ClockAction,
    /// For a jump: the exercise time it goes to.
    pub to: Option<ExerciseTime>,
}

/// Where the exercise clock stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    NotStarted,
    Running,
    Paused,
    Stopped,
}

impl Phase {
    pub fn label_cs(self) -> &'static str {
        match self {
            Phase::NotStarted => "nezahájeno",
            Phase::Running => "běží",
            Phase::Paused => "přerušeno",
            Phase::Stopped => "ukončeno",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Phase::NotStarted => "not-started",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Stopped => "stopped",
        }
    }
}

/// The replicated exercise clock: the fold of every clock action in stamp order. Any
/// controller may act; an action that makes no sense where the clock stands (a pause of a
/// paused clock, anything after the stop) changes nothing, so concurrent actions of two
/// controllers end the same on every replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub phase: Phase,
    /// Exercise time, in ms, at `mark`.
    elapsed_ms: i64,
    /// Wall time the clock last started running or was last read off (running only).
    mark: Timestamp,
    /// Wall time of the start and of the stop.
    pub started: Option<Timestamp>,
    pub stopped: Option<Timestamp>,
}

impl Clock {
    pub fn fold<K: Ord + Clone>(events: &[ClockEvent<K>]) -> Clock {
        let mut sorted: Vec<&ClockEvent<K>> = events.iter().collect();
        sorted.sort_by(|a, b| a.order.cmp(&b.order));
        let mut c = Clock {
            phase: Phase::NotStarted,
            elapsed_ms: 0,
            mark: Timestamp(0),
            started: None,
            stopped: None,
        };
        for e in sorted {
            // A stamp's wall time never runs backwards in stamp order (hybrid logical clock),
            // but a hand-made event might: time never runs backwards here either.
            let at = Timestamp(e.at.0.max(c.mark.0));
            match (c.phase, e.action) {
                (Phase::NotStarted, ClockAction::Start) => {
                    c.phase = Phase::Running;
                    c.mark = at;
                    c.started = Some(at);
                }
                (Phase::Running, ClockAction::Pause) => {
                    c.elapsed_ms += at.0 - c.mark.0;
                    c.mark = at;
                    c.phase = Phase::Paused;
                }
                (Phase::Paused, ClockAction::Resume) => {
                    c.mark = at;
                    c.phase = Phase::Running;
                }
                (Phase::Running | Phase::Paused, ClockAction::Stop) => {
                    if c.phase == Phase::Running {
                        c.elapsed_ms += at.0 - c.mark.0;
                    }
                    c.mark = at;
                    c.phase = Phase::Stopped;
                    c.stopped = Some(at);
                }
                (Phase::Running | Phase::Paused, ClockAction::Jump) => {
                    if let Some(to) = e.to {
                        c.elapsed_ms = to.millis();
                        c.mark = at;
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// Exercise time in ms at wall time `now` (never before the last action).
    pub fn elapsed_ms(&self, now: Timestamp) -> i64 {
        match self.phase {
            Phase::Running => self.elapsed_ms + (now.0 - self.mark.0).max(0),
            _ => self.elapsed_ms,
        }
    }

    /// The wall time at which exercise time `t` is reached if the clock keeps running (none
    /// when it is not running).
    pub fn wall_time_of(&self, t: ExerciseTime) -> Option<Timestamp> {
        (self.phase == Phase::Running)
            .then(|| Timestamp(self.mark.0 + t.millis() - self.elapsed_ms))
    }
}

/// The injects the clock has reached at exercise time `elapsed_ms` and that are not released
/// yet, in time and number order.
pub fn due<'a>(
    injects: &'a [Inject],
    released: &BTreeSet<u32>,
    elapsed_ms: i64,
) -> Vec<&'a Inject> {
    let mut out: Vec<&Inject> = injects
        .iter()
        .filter(|i| !released.contains(&i.number))
        .filter(|i| i.time.is_some_and(|t| t.millis() <= elapsed_ms))
        .collect();
    out.sort_by_key(|i| (i.time, i.number));
    out
}

/// An inject a controller writes on the spot (mimořádný vstup).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdHocInject {
    pub to: Target,
    /// The simulated originator (default: "řízení cvičení").
    pub from: String,
    pub channel: Channel,
    pub subject: String,
    pub text: String,
}

/// A released inject as every member of the drill sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub record: RecordId,
    /// The scenario's number (0: an ad-hoc inject).
    pub number: u32,
    pub from: String,
    pub to: String,
    pub channel: Option<Channel>,
    pub subject: String,
    pub text: String,
    /// The scheduled exercise time (none: released by a trigger or ad hoc).
    pub scheduled: Option<ExerciseTime>,
    /// When it was released (the releasing controller's clock) and at what exercise time.
    pub released_at: Timestamp,
    pub released_at_t: ExerciseTime,
    pub released_by: DeviceId,
    /// The order of releases (the stamp's wall time and counter).
    pub stamp_order: (u64, u32),
    /// Each addressed member device and when it held the inject (its own signed receipt).
    pub reached: Vec<Reach>,
}

/// When a released inject reached one addressed device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    pub device: DeviceId,
    pub name: String,
    /// Since when it holds it (its clock, ms since 1970); none: not yet.
    pub at_ms: Option<u64>,
}

/// An inject still to come (controllers only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upcoming {
    pub number: u32,
    pub time: Option<ExerciseTime>,
    /// The wall time it is due at if the clock keeps running.
    pub due_at: Option<Timestamp>,
    pub to: String,
    pub subject: String,
    pub trigger: Option<String>,
}

/// Where a drill stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseStatus {
    pub phase: Phase,
    pub elapsed_ms: i64,
    pub started: Option<Timestamp>,
    pub stopped: Option<Timestamp>,
    /// This device is exercise control and holds the control key.
    pub controller: bool,
    /// How many injects the scenario holds (controllers only).
    pub scenario_size: Option<usize>,
    pub next: Vec<Upcoming>,
    pub released: Vec<Released>,
}

impl ExerciseStatus {
    pub fn elapsed(&self) -> ExerciseTime {
        ExerciseTime(u32::try_from(self.elapsed_ms.max(0) / 60_000).unwrap_or(u32::MAX))
    }
}

/// Lower case without Czech diacritics, for matching column names, channels and keywords.
pub fn fold_diacritics(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'č' => 'c',
            'ď' => 'd',
            'é' | 'ě' => 'e',
            'í' => 'i',
            'ň' => 'n',
            'ó' => 'o',
            'ř' => 'r',
            'š' => 's',
            'ť' => 't',
            'ú' | 'ů' => 'u',
            'ý' => 'y',
            'ž' => 'z',
            c => c,
        })
        .collect()
}

/// A channel from its Czech or English name, with or without diacritics.
pub fn parse_channel(text: &str) -> Option<Channel> {
    let t = fold_diacritics(text);
    Channel::ALL
        .iter()
        .copied()
        .find(|c| {
            fold_diacritics(c.label_cs()) == t
                || fold_diacritics(c.label_en()) == t
                || c.code() == t
        })
        .or(match t.as_str() {
            "telefon" | "phone" | "tel." | "tel" => Some(Channel::Phone),
            "email" | "mail" => Some(Channel::Email),
            "datova schranka" | "ds" | "isds" => Some(Channel::DataBox),
            "osobne" | "personal" => Some(Channel::InPerson),
            "radio" | "radiostanice" => Some(Channel::Radio),
            _ => None,
        })
}

#[cfg(test)]
mod tests;
