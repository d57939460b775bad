//! The record vocabulary of the glossary: record kinds, field values, sets, statuses and the
//! domain enums (priority, report kind, incident kind, crisis level ...), with their limits.
//!
//! Scalar fields are one flat [`FieldValue`] enum; each variant says which record kinds carry it
//! and how long its text may be. The merge treats every scalar field alike (a multi-value
//! register shown last-writer-wins), so adding a field is one line in [`fields!`].
//!
//! Longer than most files on purpose: it is the glossary in code, and a record kind's fields,
//! limits, statuses and Czech labels are meant to be read (and reviewed against GLOSSARY.md)
//! in one place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, RecordId};

/// Longest text of a short field (a title, a name, a place), in bytes.
pub const SHORT_TEXT: usize = 500;
/// Longest text of a long field (a description, a situation, a journal text), in bytes.
pub const LONG_TEXT: usize = 16 * 1024;

/// Bytes a member record carries for the engine (a device's X25519 key with its binding, a
/// key rotation): opaque to the model, bounded by the field's limit. Encoded as a byte string
/// (in postcard the same bytes as a sequence of `u8`, read as one slice).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Bounded by what holds it (an envelope's ciphertext); each field checks its own
        // limit afterwards, as before.
        deserializer
            .deserialize_bytes(crate::bounded::ByteVisitor::<{ usize::MAX }>)
            .map(Blob)
    }
}

/// A device's X25519 public key (32 bytes) and its Ed25519 signature binding it (64 bytes).
pub const MEMBER_KEY_BYTES: usize = 96;
/// Longest key rotation a member record carries (about 1,100 devices at 56 bytes each).
pub const MAX_REKEY_BYTES: usize = 62 * 1024;

/// The kinds of records a space holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKind {
    /// Úkol.
    Task,
    /// Situační zpráva.
    SituationReport,
    /// Záznam v deníku.
    JournalEntry,
    /// Požadavek na síly a prostředky.
    ResourceRequest,
    /// Mimořádná událost.
    Incident,
    /// Kontakt.
    Contact,
    /// Člen prostoru: a device admitted to the space, with its role. Only the chair or the
    /// secretary may write these; every replica checks operations against them on apply.
    Member,
    /// Vstup scénáře (a scenario inject), sealed for exercise control: players hold only
    /// ciphertext. Exercise spaces only.
    Inject,
    /// Řízení cvičení: one clock action (start, pause, resume, stop, jump) or one hand-over of the
    /// control key to controllers. Exercise spaces only.
    ExerciseControl,
    /// Vydaný vstup: an inject as released to the players (or an ad-hoc one), readable by the
    /// whole space. Exercise spaces only; written once.
    ReleasedInject,
    /// Pozorování hodnotitele: an evaluator's verdict on an inject's expected action (met or
    /// not, a comment) and an optional corrective action for the improvement plan. Exercise
    /// spaces only.
    Observation,
}

impl RecordKind {
    /// Every kind; a kind's index here is stored on disk (never reorder, only append).
    pub const ALL: [RecordKind; 11] = [
        RecordKind::Task,
        RecordKind::SituationReport,
        RecordKind::JournalEntry,
        RecordKind::ResourceRequest,
        RecordKind::Incident,
        RecordKind::Contact,
        RecordKind::Member,
        RecordKind::Inject,
        RecordKind::ExerciseControl,
        RecordKind::ReleasedInject,
        RecordKind::Observation,
    ];

    /// The kinds only an exercise space holds (the drill's control and its injects).
    pub fn is_exercise_only(self) -> bool {
        matches!(
            self,
            RecordKind::Inject
                | RecordKind::ExerciseControl
                | RecordKind::ReleasedInject
                | RecordKind::Observation
        )
    }

    /// The stable code used by the CLI and its JSON output.
    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Task => "task",
            RecordKind::SituationReport => "sitrep",
            RecordKind::JournalEntry => "journal",
            RecordKind::ResourceRequest => "request",
            RecordKind::Incident => "incident",
            RecordKind::Contact => "contact",
            RecordKind::Member => "member",
            RecordKind::Inject => "inject",
            RecordKind::ExerciseControl => "exercise-control",
            RecordKind::ReleasedInject => "released-inject",
            RecordKind::Observation => "observation",
        }
    }

    /// Records written once and never edited: a sent situation report (a correction is a new
    /// report that supersedes it) and a journal entry (corrected by a later entry).
    pub fn is_immutable(self) -> bool {
        matches!(
            self,
            RecordKind::SituationReport
                | RecordKind::JournalEntry
                | RecordKind::ExerciseControl
                | RecordKind::ReleasedInject
        )
    }

    /// Whether the record has a status state machine.
    pub fn has_status(self) -> bool {
        matches!(self, RecordKind::Task | RecordKind::ResourceRequest)
    }

    /// Whether the record takes append-only comments.
    pub fn has_comments(self) -> bool {
        matches!(
            self,
            RecordKind::Task | RecordKind::ResourceRequest | RecordKind::Incident
        )
    }

    /// Fields that must be set (and not empty) when the record is created.
    pub fn required_fields(self) -> &'static [FieldKey] {
        match self {
            RecordKind::Task => &[FieldKey::Title],
            RecordKind::SituationReport => {
                &[FieldKey::ReportKind, FieldKey::AsOf, FieldKey::Sender]
            }
            RecordKind::JournalEntry => &[FieldKey::JournalKind, FieldKey::Text],
            RecordKind::ResourceRequest => &[FieldKey::Requester, FieldKey::Item],
            RecordKind::Incident => &[FieldKey::Title, FieldKey::IncidentKind],
            RecordKind::Contact => &[FieldKey::Name],
            RecordKind::Member => &[FieldKey::MemberDevice, FieldKey::MemberRole, FieldKey::Name],
            RecordKind::Inject => &[FieldKey::InjectSealed],
            RecordKind::ExerciseControl => &[],
            RecordKind::ReleasedInject => &[
                FieldKey::InjectNumber,
                FieldKey::InjectTo,
                FieldKey::InjectText,
                FieldKey::ReleasedAt,
            ],
            RecordKind::Observation => &[FieldKey::ObservedInject],
        }
    }
}

/// A point in time, milliseconds since the Unix epoch in UTC. Kept as an integer so the
/// encoding is compact and canonical; shown through chrono.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp(0);
    /// 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0)
    }

    pub fn from_datetime(t: DateTime<Utc>) -> Timestamp {
        Timestamp(t.timestamp_millis())
    }

    /// Parses an RFC 3339 time such as `2026-11-23T14:00:00+01:00`.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, chrono::ParseError> {
        DateTime::parse_from_rfc3339(text.trim()).map(|t| Timestamp::from_datetime(t.to_utc()))
    }

    pub fn is_plausible(self) -> bool {
        (Timestamp::MIN..=Timestamp::MAX).contains(&self)
    }
}

/// A position in WGS-84, in millionths of a degree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat_e6: i32,
    pub lon_e6: i32,
}

impl GeoPoint {
    pub fn is_valid(self) -> bool {
        (-90_000_000..=90_000_000).contains(&self.lat_e6)
            && (-180_000_000..=180_000_000).contains(&self.lon_e6)
    }
}

macro_rules! domain_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal => $cs:literal / $en:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable code used by the CLI and its JSON output.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// Parses a code, or a Czech or English label (any letter case).
            pub fn parse(text: &str) -> Option<$name> {
                let t = text.trim().to_lowercase();
                Self::ALL.iter().copied().find(|v| {
                    v.code() == t || v.label_cs().to_lowercase() == t || v.label_en().to_lowercase() == t
                })
            }
            /// The Czech label, as the UI shows it.
            pub fn label_cs(self) -> &'static str {
                match self { $($name::$variant => $cs),+ }
            }
            /// The English label.
            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }
        }
    };
}

domain_enum!(
    /// Priorita.
    Priority {
        Low = "low" => "nízká" / "low",
        Normal = "normal" => "běžná" / "normal",
        High = "high" => "vysoká" / "high",
        Critical = "critical" => "kritická" / "critical",
    }
);

domain_enum!(
    /// Stav úkolu: zadán → přijat → v řešení → splněn; or nesplněn, zrušen.
    TaskStatus {
        Assigned = "assigned" => "zadán" / "assigned",
        Accepted = "accepted" => "přijat" / "accepted",
        InProgress = "in-progress" => "v řešení" / "in progress",
        Done = "done" => "splněn" / "done",
        NotDone = "not-done" => "nesplněn" / "not done",
        Cancelled = "cancelled" => "zrušen" / "cancelled",
    }
);

impl TaskStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Done | TaskStatus::NotDone | TaskStatus::Cancelled
        )
    }

    /// The moves a person may make: forward along the line, to an end from anywhere open,
    /// and an explicit reopening of an ended task (which is logged, never silent).
    pub fn can_move_to(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Assigned, Accepted | InProgress) | (Accepted, InProgress) => true,
            (a, Done | NotDone | Cancelled) => !a.is_terminal(),
            (a, InProgress) => a.is_terminal(),
            _ => false,
        }
    }
}

domain_enum!(
    /// Stav požadavku: nový → posuzuje se → schválen → částečně vyřízen → vyřízen; or zamítnut
    /// (with a reason) or postoupen (escalated to the next-higher staff).
    RequestStatus {
        New = "new" => "nový" / "new",
        UnderReview = "under-review" => "posuzuje se" / "under review",
        Approved = "approved" => "schválen" / "approved",
        PartiallyFulfilled = "partially-fulfilled" => "částečně vyřízen" / "partially fulfilled",
        Fulfilled = "fulfilled" => "vyřízen" / "fulfilled",
        Rejected = "rejected" => "zamítnut" / "rejected",
        Escalated = "escalated" => "postoupen" / "escalated",
    }
);

impl RequestStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestStatus::Fulfilled | RequestStatus::Rejected | RequestStatus::Escalated
        )
    }

    pub fn can_move_to(self, to: RequestStatus) -> bool {
        use RequestStatus::*;
        match (self, to) {
            (a, b) if a == b => false,
            (New, UnderReview | Approved)
            | (UnderReview, Approved)
            | (Approved, PartiallyFulfilled | Fulfilled)
            | (PartiallyFulfilled, Fulfilled) => true,
            (a, Rejected | Escalated) => matches!(a, New | UnderReview),
            _ => false,
        }
    }
}

/// The status of a record with a state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    Task(TaskStatus),
    Request(RequestStatus),
}

impl Status {
    /// The status a new record of `kind` starts in, if it has one.
    pub fn initial(kind: RecordKind) -> Option<Status> {
        match kind {
            RecordKind::Task => Some(Status::Task(TaskStatus::Assigned)),
            RecordKind::ResourceRequest => Some(Status::Request(RequestStatus::New)),
            _ => None,
        }
    }

    pub fn belongs_to(self, kind: RecordKind) -> bool {
        matches!(
            (self, kind),
            (Status::Task(_), RecordKind::Task) | (Status::Request(_), RecordKind::ResourceRequest)
        )
    }

    pub fn can_move_to(self, to: Status) -> bool {
        match (self, to) {
            (Status::Task(a), Status::Task(b)) => a.can_move_to(b),
            (Status::Request(a), Status::Request(b)) => a.can_move_to(b),
            _ => false,
        }
    }

    pub fn label_cs(self) -> &'static str {
        match self {
            Status::Task(s) => s.label_cs(),
            Status::Request(s) => s.label_cs(),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Status::Task(s) => s.code(),
            Status::Request(s) => s.code(),
        }
    }
}

domain_enum!(
    /// Druh situační zprávy.
    ReportKind {
        Situation = "situation" => "situační zpráva" / "situation report",
        Interim = "interim" => "průběžná zpráva" / "interim report",
        Final = "final" => "závěrečná zpráva" / "final report",
    }
);

domain_enum!(
    /// Druh záznamu v deníku.
    JournalKind {
        Information = "information" => "informace" / "information",
        Decision = "decision" => "rozhodnutí" / "decision",
        Resolution = "resolution" => "usnesení" / "resolution",
        IncomingMessage = "incoming-message" => "příchozí zpráva" / "incoming message",
        OutgoingMessage = "outgoing-message" => "odchozí zpráva" / "outgoing message",
        PhoneCall = "phone-call" => "telefonát" / "phone call",
        Task = "task" => "úkol" / "task",
    }
);

domain_enum!(
    /// Druh mimořádné události.
    IncidentKind {
        Flood = "flood" => "povodeň" / "flood",
        FlashFlood = "flash-flood" => "přívalové srážky" / "flash flood",
        Fire = "fire" => "požár" / "fire",
        HazardousRelease = "hazardous-release" => "únik nebezpečné látky" / "hazardous substance release",
        PowerOutage = "power-outage" => "dlouhodobý výpadek elektřiny" / "long power outage",
        SnowCalamity = "snow-calamity" => "sněhová kalamita" / "snow calamity",
        Epidemic = "epidemic" => "epidemie" / "epidemic",
        TrafficAccident = "traffic-accident" => "dopravní nehoda" / "traffic accident",
        Other = "other" => "jiné" / "other",
    }
);

domain_enum!(
    /// Stav mimořádné události.
    IncidentState {
        Active = "active" => "aktivní" / "active",
        Stabilized = "stabilized" => "stabilizovaná" / "stabilised",
        Closed = "closed" => "ukončená" / "closed",
    }
);

domain_enum!(
    /// Stupeň: the flood activity level (SPA) or the declared crisis state.
    Level {
        Spa1Alert = "spa1" => "1. SPA – bdělost" / "flood level 1 – alert",
        Spa2Readiness = "spa2" => "2. SPA – pohotovost" / "flood level 2 – readiness",
        Spa3Danger = "spa3" => "3. SPA – ohrožení" / "flood level 3 – danger",
        Spa3Extreme = "spa3-extreme" => "3. SPA – extrémní povodeň" / "flood level 3 – extreme flood",
        StateOfDanger = "state-of-danger" => "stav nebezpečí" / "state of danger",
        StateOfEmergency = "state-of-emergency" => "nouzový stav" / "state of emergency",
        StateOfThreat = "state-of-threat" => "stav ohrožení státu" / "state of threat to the state",
        StateOfWar = "state-of-war" => "válečný stav" / "state of war",
    }
);

domain_enum!(
    /// Způsob: how an inject reaches its recipient in the story.
    Channel {
        Phone = "phone" => "telefonát" / "phone call",
        Email = "email" => "e-mail" / "e-mail",
        DataBox = "data-box" => "datová zpráva" / "data box message",
        InPerson = "in-person" => "osobně" / "in person",
        Radio = "radio" => "rádio" / "radio",
    }
);

domain_enum!(
    /// One action on the exercise clock.
    ClockAction {
        Start = "start" => "zahájení" / "start",
        Pause = "pause" => "přerušení" / "pause",
        Resume = "resume" => "pokračování" / "resume",
        Stop = "stop" => "ukončení" / "stop",
        Jump = "jump" => "skok" / "jump",
    }
);

domain_enum!(
    /// Role of a member in a space (glossary: roles in a space).
    StaffRole {
        Chair = "chair" => "předseda štábu" / "chair",
        Secretary = "secretary" => "tajemník štábu" / "secretary",
        Member = "member" => "člen štábu" / "member",
        OrpCoordinator = "orp_coordinator" => "koordinátor ORP" / "ORP coordinator",
        ExerciseLeader = "exercise_leader" => "řídící cvičení" / "exercise leader",
        Observer = "observer" => "pozorovatel" / "observer",
        Evaluator = "evaluator" => "hodnotitel" / "evaluator",
    }
);

/// The text was not a role code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected one of chair, secretary, member, orp_coordinator, exercise_leader, observer, evaluator")]
pub struct UnknownRole(pub String);

/// Exactly a role's code (surrounding white space ignored), as the CLI and the desktop take it;
/// [`StaffRole::parse`] also takes the labels.
impl std::str::FromStr for StaffRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<StaffRole, UnknownRole> {
        let s = s.trim();
        StaffRole::ALL
            .iter()
            .copied()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl StaffRole {
    /// Whether operations by this role are accepted at all (an observer only reads).
    pub fn may_write(self) -> bool {
        !matches!(self, StaffRole::Observer | StaffRole::Evaluator)
    }

    /// Whether the role reads a drill's sealed scenario (exercise control and evaluators).
    pub fn reads_scenario(self) -> bool {
        matches!(self, StaffRole::ExerciseLeader | StaffRole::Evaluator)
    }

    /// Whether this role admits members (writes member records).
    pub fn may_admit(self) -> bool {
        matches!(self, StaffRole::Chair | StaffRole::Secretary)
    }
}

/// What a field's value may be, checked on every operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueProblem {
    #[error("text is {len} bytes; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("text must not be empty")]
    Empty,
    #[error("text contains a control character")]
    ControlCharacter,
    #[error("time is outside the years 1970 to 9999")]
    ImplausibleTime,
    #[error("coordinates are outside the globe")]
    InvalidCoordinates,
}

/// Checks a text against a byte limit; line breaks and tabs are allowed, other controls not.
pub fn check_text(text: &str, max: usize) -> Result<(), ValueProblem> {
    if text.len() > max {
        return Err(ValueProblem::TooLong {
            len: text.len(),
            max,
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValueProblem::ControlCharacter);
    }
    Ok(())
}

trait FieldPayload {
    fn check(&self, text_limit: usize) -> Result<(), ValueProblem>;
    fn is_empty_text(&self) -> bool {
        false
    }
}

impl FieldPayload for String {
    fn check(&self, text_limit: usize) -> Result<(), ValueProblem> {
        check_text(self, text_limit)
    }
    fn is_empty_text(&self) -> bool {
        self.trim().is_empty()
    }
}

impl FieldPayload for Timestamp {
    fn check(&self, _: usize) -> Result<(), ValueProblem> {
        if self.is_plausible() {
            Ok(())
        } else {
            Err(ValueProblem::ImplausibleTime)
        }
    }
}

impl FieldPayload for Blob {
    fn check(&self, limit: usize) -> Result<(), ValueProblem> {
        if self.0.len() > limit {
            return Err(ValueProblem::TooLong {
                len: self.0.len(),
                max: limit,
            });
        }
        Ok(())
    }
}

impl FieldPayload for GeoPoint {
    fn check(&self, _: usize) -> Result<(), ValueProblem> {
        if self.is_valid() {
            Ok(())
        } else {
            Err(ValueProblem::InvalidCoordinates)
        }
    }
}

macro_rules! plain_payload {
    ($($t:ty),*) => { $(impl FieldPayload for $t { fn check(&self, _: usize) -> Result<(), ValueProblem> { Ok(()) } })* };
}
plain_payload!(
    u32,
    u64,
    bool,
    RecordId,
    Priority,
    ReportKind,
    JournalKind,
    IncidentKind,
    IncidentState,
    Level,
    DeviceId,
    StaffRole,
    Channel,
    ClockAction
);

macro_rules! fields {
    ($( $(#[$meta:meta])* $name:ident($ty:ty, $limit:expr) on [$($kind:ident),+] ),+ $(,)?) => {
        /// The value of one scalar field.
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum FieldValue { $( $(#[$meta])* $name($ty) ),+ }

        /// Which scalar field a [`FieldValue`] sets.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum FieldKey { $( $(#[$meta])* $name ),+ }

        impl FieldValue {
            pub fn key(&self) -> FieldKey {
                match self { $( FieldValue::$name(_) => FieldKey::$name ),+ }
            }

            /// Checks the value against its field's limits.
            pub fn check(&self) -> Result<(), ValueProblem> {
                match self { $( FieldValue::$name(v) => v.check($limit) ),+ }
            }

            /// Whether this is a text that is empty (or only white space).
            pub fn is_empty_text(&self) -> bool {
                match self { $( FieldValue::$name(v) => v.is_empty_text() ),+ }
            }
        }

        impl FieldKey {
            /// Whether records of `kind` carry this field.
            pub fn allowed_on(self, kind: RecordKind) -> bool {
                match self { $( FieldKey::$name => matches!(kind, $(RecordKind::$kind)|+) ),+ }
            }
        }
    };
}

const NA: usize = 0;

fields! {
    // Task (úkol)
    /// číslo: the human-readable number, e.g. "Ú-2026-014".
    Number(String, SHORT_TEXT) on [Task],
    /// název.
    Title(String, SHORT_TEXT) on [Task, Incident],
    /// popis.
    Description(String, LONG_TEXT) on [Task, Incident],
    /// zadal.
    AssignedBy(String, SHORT_TEXT) on [Task],
    /// termín.
    Deadline(Timestamp, NA) on [Task],
    /// priorita.
    Priority(Priority, NA) on [Task, ResourceRequest],
    /// výsledek.
    Outcome(String, LONG_TEXT) on [Task],
    // Situation report (situační zpráva)
    /// druh zprávy.
    ReportKind(ReportKind, NA) on [SituationReport],
    /// číslo zprávy (per sender).
    ReportNumber(u32, NA) on [SituationReport],
    /// odesílatel.
    Sender(String, SHORT_TEXT) on [SituationReport],
    /// adresát.
    Recipient(String, SHORT_TEXT) on [SituationReport],
    /// stav k.
    AsOf(Timestamp, NA) on [SituationReport],
    /// období.
    Period(String, SHORT_TEXT) on [SituationReport],
    /// popis situace.
    Situation(String, LONG_TEXT) on [SituationReport],
    /// zranění.
    Injured(u32, NA) on [SituationReport],
    /// oběti.
    Dead(u32, NA) on [SituationReport],
    /// evakuovaní.
    Evacuated(u32, NA) on [SituationReport],
    /// nezvěstní.
    Missing(u32, NA) on [SituationReport],
    /// zasažené objekty.
    AffectedBuildings(u32, NA) on [SituationReport],
    /// přerušené dodávky.
    SupplyOutages(String, LONG_TEXT) on [SituationReport],
    /// přijatá opatření.
    Measures(String, LONG_TEXT) on [SituationReport],
    /// nasazené síly a prostředky.
    ForcesDeployed(String, LONG_TEXT) on [SituationReport],
    /// předpokládaný vývoj.
    ExpectedDevelopment(String, LONG_TEXT) on [SituationReport],
    /// zpracoval.
    PreparedBy(String, SHORT_TEXT) on [SituationReport],
    /// kontakt.
    ContactInfo(String, SHORT_TEXT) on [SituationReport],
    /// the earlier report this one corrects.
    Supersedes(RecordId, NA) on [SituationReport],
    // Journal entry (záznam v deníku)
    /// čas události.
    EventTime(Timestamp, NA) on [JournalEntry],
    /// druh záznamu.
    JournalKind(JournalKind, NA) on [JournalEntry],
    /// text.
    Text(String, LONG_TEXT) on [JournalEntry],
    /// autor.
    Author(String, SHORT_TEXT) on [JournalEntry],
    /// role of the author.
    AuthorRole(String, SHORT_TEXT) on [JournalEntry],
    /// pracoviště.
    Workstation(String, SHORT_TEXT) on [JournalEntry],
    /// zdroj.
    Source(String, SHORT_TEXT) on [JournalEntry],
    /// the earlier entry this one corrects.
    Corrects(RecordId, NA) on [JournalEntry],
    // Resource request (požadavek na síly a prostředky)
    /// žadatel.
    Requester(String, SHORT_TEXT) on [ResourceRequest],
    /// položka.
    Item(String, SHORT_TEXT) on [ResourceRequest],
    /// množství.
    Quantity(u32, NA) on [ResourceRequest],
    /// jednotka.
    Unit(String, SHORT_TEXT) on [ResourceRequest],
    /// místo dodání.
    DeliveryPlace(String, SHORT_TEXT) on [ResourceRequest],
    /// potřebné do.
    NeededBy(Timestamp, NA) on [ResourceRequest],
    /// zdůvodnění.
    Reason(String, LONG_TEXT) on [ResourceRequest],
    /// vyřizuje.
    HandledBy(String, SHORT_TEXT) on [ResourceRequest],
    // Incident (mimořádná událost)
    /// druh události.
    IncidentKind(IncidentKind, NA) on [Incident],
    /// místo.
    Place(String, SHORT_TEXT) on [Incident],
    /// GPS.
    Location(GeoPoint, NA) on [Incident],
    /// začátek.
    Start(Timestamp, NA) on [Incident],
    /// stav události.
    IncidentState(IncidentState, NA) on [Incident],
    /// stupeň.
    Level(Level, NA) on [Incident],
    // Contact (kontakt)
    /// jméno.
    Name(String, SHORT_TEXT) on [Contact, Member],
    /// funkce.
    Function(String, SHORT_TEXT) on [Contact],
    /// organizace.
    Organization(String, SHORT_TEXT) on [Contact],
    /// telefon.
    Phone(String, SHORT_TEXT) on [Contact],
    /// e-mail.
    Email(String, SHORT_TEXT) on [Contact],
    /// ID datové schránky.
    DataBox(String, SHORT_TEXT) on [Contact],
    /// radiové spojení.
    RadioCallSign(String, SHORT_TEXT) on [Contact],
    /// poznámka.
    Note(String, LONG_TEXT) on [Contact],
    // Member (člen prostoru)
    /// the admitted device.
    MemberDevice(DeviceId, NA) on [Member],
    /// its role.
    MemberRole(StaffRole, NA) on [Member],
    /// the ORP an ORP coordinator is bound to (empty: none).
    MemberOrp(String, SHORT_TEXT) on [Member],
    /// how many of the member device's operations the author of this change had applied: the
    /// change governs that device's later operations (see `authority`).
    MemberSeen(u64, NA) on [Member],
    /// the invite (its id in hex) an admission used: one invite admits one device once.
    MemberInvite(String, SHORT_TEXT) on [Member],
    /// the device is removed from the space (its later operations are refused).
    MemberRemoved(bool, NA) on [Member],
    /// the device's X25519 public key and binding signature (new space keys are wrapped to it).
    MemberKey(Blob, MEMBER_KEY_BYTES) on [Member],
    /// a new space key wrapped to every remaining device (with a removal).
    MemberRekey(Blob, MAX_REKEY_BYTES) on [Member],
    /// on the founder's own admission, the space's first operation: the space is an exercise
    /// (cvičení), for good.
    SpaceExercise(bool, NA) on [Member],
    // Exercise (cvičení)
    /// a scenario inject sealed under the exercise's control key (`engine::exercise`).
    InjectSealed(Blob, MAX_SEALED_INJECT_BYTES) on [Inject],
    /// one clock action.
    Clock(ClockAction, NA) on [ExerciseControl],
    /// the exercise time a jump goes to, in minutes from T+00:00.
    ClockTo(u32, NA) on [ExerciseControl],
    /// the control key wrapped to controllers' devices (`engine::rekey`, control purpose).
    ControlWrap(Blob, MAX_REKEY_BYTES) on [ExerciseControl],
    /// číslo vstupu (0: an ad-hoc inject).
    InjectNumber(u32, NA) on [ReleasedInject],
    /// od: the simulated originator.
    InjectFrom(String, SHORT_TEXT) on [ReleasedInject],
    /// komu: the target as the scenario names it ("ORP Vsetín", "předseda štábu", "všichni").
    InjectTo(String, SHORT_TEXT) on [ReleasedInject],
    /// způsob.
    InjectChannel(Channel, NA) on [ReleasedInject],
    /// předmět.
    InjectSubject(String, SHORT_TEXT) on [ReleasedInject],
    /// zpráva.
    InjectText(String, LONG_TEXT) on [ReleasedInject],
    /// the scheduled exercise time, in minutes from T+00:00.
    ScheduledAt(u32, NA) on [ReleasedInject],
    /// when it was released (wall clock of the releasing controller).
    ReleasedAt(Timestamp, NA) on [ReleasedInject],
    /// the exercise time at release, in minutes from T+00:00.
    ReleasedAtExerciseTime(u32, NA) on [ReleasedInject],
    /// the scenario inject (its number) an observation is about.
    ObservedInject(u32, NA) on [Observation],
    /// whether the expected action was met, as the evaluator judges it.
    ObservationMet(bool, NA) on [Observation],
    /// the evaluator's comment.
    ObservationText(String, LONG_TEXT) on [Observation],
    /// nápravné opatření: a corrective action for the improvement plan.
    CorrectiveAction(String, LONG_TEXT) on [Observation],
    /// who owns the corrective action.
    CorrectiveOwner(String, SHORT_TEXT) on [Observation],
    /// by when.
    CorrectiveDue(Timestamp, NA) on [Observation],
    /// simulační buňka: the simulated originator a controller writes as ("ČHMÚ").
    SimulatedFor(String, SHORT_TEXT) on [JournalEntry, ResourceRequest, SituationReport],
}

/// Longest sealed inject a scenario record carries.
pub const MAX_SEALED_INJECT_BYTES: usize = 40 * 1024;

/// The add-wins sets a record can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SetField {
    /// odpovídá: members or ORPs responsible for a task.
    Assignees,
    /// štítky.
    Tags,
    /// vazba: linked records (ids in hex).
    Links,
    /// dotčené obce.
    AffectedMunicipalities,
}

impl SetField {
    pub fn allowed_on(self, kind: RecordKind) -> bool {
        use RecordKind::*;
        match self {
            SetField::Assignees => kind == Task,
            SetField::Tags => matches!(kind, Task | ResourceRequest | Incident | JournalEntry),
            SetField::Links => matches!(
                kind,
                Task | SituationReport | ResourceRequest | Incident | JournalEntry
            ),
            SetField::AffectedMunicipalities => kind == Incident,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_have_czech_labels_and_codes() {
        assert_eq!(StaffRole::Chair.label_cs(), "předseda štábu");
        assert_eq!(StaffRole::OrpCoordinator.label_cs(), "koordinátor ORP");
        for role in StaffRole::ALL {
            assert_eq!(role.code().parse::<StaffRole>(), Ok(*role));
        }
        assert!("boss".parse::<StaffRole>().is_err());
        assert!(
            "předseda štábu".parse::<StaffRole>().is_err(),
            "only codes, as the CLI took them"
        );
    }

    #[test]
    fn task_state_machine_moves_forward_and_never_back_silently() {
        use TaskStatus::*;
        assert!(Assigned.can_move_to(Accepted));
        assert!(Accepted.can_move_to(InProgress));
        assert!(InProgress.can_move_to(Done));
        assert!(Assigned.can_move_to(Cancelled));
        assert!(!InProgress.can_move_to(Assigned));
        assert!(!Done.can_move_to(Cancelled));
        assert!(!Done.can_move_to(Done));
        assert!(Done.can_move_to(InProgress), "explicit reopening");
    }

    #[test]
    fn request_state_machine() {
        use RequestStatus::*;
        assert!(New.can_move_to(UnderReview));
        assert!(UnderReview.can_move_to(Rejected));
        assert!(UnderReview.can_move_to(Escalated));
        assert!(Approved.can_move_to(PartiallyFulfilled));
        assert!(PartiallyFulfilled.can_move_to(Fulfilled));
        assert!(!Fulfilled.can_move_to(New));
        assert!(!Approved.can_move_to(Rejected));
    }

    #[test]
    fn labels_keep_diacritics() {
        assert_eq!(TaskStatus::Done.label_cs(), "splněn");
        assert_eq!(
            RequestStatus::PartiallyFulfilled.label_cs(),
            "částečně vyřízen"
        );
        assert_eq!(Priority::Critical.label_cs(), "kritická");
        assert_eq!(
            IncidentKind::HazardousRelease.label_cs(),
            "únik nebezpečné látky"
        );
    }

    #[test]
    fn value_checks() {
        assert!(FieldValue::Title("Zajistit pytle".into()).check().is_ok());
        assert_eq!(
            FieldValue::Title("x".repeat(SHORT_TEXT + 1)).check(),
            Err(ValueProblem::TooLong {
                len: SHORT_TEXT + 1,
                max: SHORT_TEXT
            })
        );
        assert_eq!(
            FieldValue::Title("a\u{0}b".into()).check(),
            Err(ValueProblem::ControlCharacter)
        );
        assert!(FieldValue::Description("řádek\nřádek".into())
            .check()
            .is_ok());
        assert_eq!(
            FieldValue::Deadline(Timestamp(-1)).check(),
            Err(ValueProblem::ImplausibleTime)
        );
        assert_eq!(
            FieldValue::Location(GeoPoint {
                lat_e6: 91_000_000,
                lon_e6: 0
            })
            .check(),
            Err(ValueProblem::InvalidCoordinates)
        );
        assert!(FieldKey::Title.allowed_on(RecordKind::Incident));
        assert!(!FieldKey::Title.allowed_on(RecordKind::Contact));
    }

    #[test]
    fn rfc3339_times() {
        let t = Timestamp::parse_rfc3339("2026-11-23T14:00:00+01:00").unwrap();
        assert_eq!(
            t.to_datetime().unwrap().to_rfc3339(),
            "2026-11-23T13:00:00+00:00"
        );
        assert!(Timestamp::parse_rfc3339("23. 11. 2026").is_err());
    }
}
