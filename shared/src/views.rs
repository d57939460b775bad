//! Typed views of merged records: what a person sees of a task, a report, an entry, a request,
//! an incident or a contact. Built from a [`Replica`]; plain data, serialisable for the UI.

use serde::{Deserialize, Serialize};

use crate::hlc::Stamp;
use crate::ids::{DeviceId, RecordId};
use crate::merge::{Comment, RecordState, Replica};
use crate::record::{
    FieldKey, FieldValue, GeoPoint, IncidentKind, IncidentState, JournalKind, Level, Priority,
    RecordKind, ReportKind, RequestStatus, SetField, StaffRole, Status, TaskStatus, Timestamp,
};

/// Who created a record and when, and when it last changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub id: RecordId,
    pub created_by: DeviceId,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    /// Fields with concurrent differing values that a person should resolve.
    pub conflicting_fields: Vec<FieldKey>,
    /// In a drill: the simulated originator exercise control wrote this as ("ČHMÚ"); shown
    /// as "ČHMÚ — simulováno".
    #[serde(default)]
    pub simulated_for: Option<String>,
}

impl Meta {
    /// "ČHMÚ — simulováno" for a record of the simulation cell.
    pub fn simulated_label_cs(&self) -> Option<String> {
        self.simulated_for
            .as_ref()
            .map(|s| format!("{s} — simulováno"))
    }
}

fn meta(id: RecordId, state: &RecordState) -> Option<Meta> {
    let created = state.created()?;
    Some(Meta {
        id,
        created_by: created.op.device,
        created_at: created.stamp,
        updated_at: state.last_change().unwrap_or(created.stamp),
        conflicting_fields: state
            .field_conflicts()
            .into_iter()
            .map(|(k, _)| k)
            .collect(),
        simulated_for: match state.field(FieldKey::SimulatedFor) {
            Some(FieldValue::SimulatedFor(s)) => Some(s.clone()),
            _ => None,
        },
    })
}

macro_rules! getter {
    ($fn:ident, $variant:ident, $ty:ty) => {
        fn $fn(state: &RecordState, key: FieldKey) -> Option<$ty> {
            match state.field(key) {
                Some(FieldValue::$variant(v)) => Some(v.clone()),
                _ => None,
            }
        }
    };
}

fn text(state: &RecordState, key: FieldKey) -> Option<String> {
    use FieldValue as V;
    match state.field(key)? {
        V::Number(t)
        | V::Title(t)
        | V::Description(t)
        | V::AssignedBy(t)
        | V::Outcome(t)
        | V::Sender(t)
        | V::Recipient(t)
        | V::Period(t)
        | V::Situation(t)
        | V::SupplyOutages(t)
        | V::Measures(t)
        | V::ForcesDeployed(t)
        | V::ExpectedDevelopment(t)
        | V::PreparedBy(t)
        | V::ContactInfo(t)
        | V::Text(t)
        | V::Author(t)
        | V::AuthorRole(t)
        | V::Workstation(t)
        | V::Source(t)
        | V::Requester(t)
        | V::Item(t)
        | V::Unit(t)
        | V::DeliveryPlace(t)
        | V::Reason(t)
        | V::HandledBy(t)
        | V::Place(t)
        | V::Name(t)
        | V::Function(t)
        | V::Organization(t)
        | V::Phone(t)
        | V::Email(t)
        | V::DataBox(t)
        | V::RadioCallSign(t)
        | V::Note(t) => Some(t.clone()).filter(|t| !t.is_empty()),
        _ => None,
    }
}

fn time(state: &RecordState, key: FieldKey) -> Option<Timestamp> {
    use FieldValue as V;
    match state.field(key)? {
        V::Deadline(t) | V::AsOf(t) | V::EventTime(t) | V::NeededBy(t) | V::Start(t) => Some(*t),
        _ => None,
    }
}

fn count(state: &RecordState, key: FieldKey) -> Option<u32> {
    use FieldValue as V;
    match state.field(key)? {
        V::ReportNumber(n)
        | V::Injured(n)
        | V::Dead(n)
        | V::Evacuated(n)
        | V::Missing(n)
        | V::AffectedBuildings(n)
        | V::Quantity(n) => Some(*n),
        _ => None,
    }
}

fn record_ref(state: &RecordState, key: FieldKey) -> Option<RecordId> {
    match state.field(key)? {
        FieldValue::Supersedes(id) | FieldValue::Corrects(id) => Some(*id),
        _ => None,
    }
}

getter!(priority, Priority, Priority);
getter!(report_kind, ReportKind, ReportKind);
getter!(journal_kind, JournalKind, JournalKind);
getter!(incident_kind, IncidentKind, IncidentKind);
getter!(incident_state, IncidentState, IncidentState);
getter!(level, Level, Level);
getter!(location, Location, GeoPoint);

/// Úkol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub meta: Meta,
    pub number: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub assigned_by: Option<String>,
    pub assignees: Vec<String>,
    pub deadline: Option<Timestamp>,
    pub priority: Priority,
    pub status: TaskStatus,
    /// Concurrent status moves that differ from the shown one (empty: no conflict).
    pub status_conflicts: Vec<TaskStatus>,
    pub outcome: Option<String>,
    pub links: Vec<String>,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

impl AsRef<Task> for Task {
    fn as_ref(&self) -> &Task {
        self
    }
}

impl Task {
    /// Open and past its deadline.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        !self.status.is_terminal() && self.deadline.is_some_and(|d| d < now)
    }
}

/// Situační zpráva (immutable once written).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SituationReport {
    pub meta: Meta,
    pub kind: ReportKind,
    pub number: Option<u32>,
    pub sender: String,
    pub recipient: Option<String>,
    pub as_of: Timestamp,
    pub period: Option<String>,
    pub situation: Option<String>,
    pub injured: Option<u32>,
    pub dead: Option<u32>,
    pub evacuated: Option<u32>,
    pub missing: Option<u32>,
    pub affected_buildings: Option<u32>,
    pub supply_outages: Option<String>,
    pub measures: Option<String>,
    pub forces_deployed: Option<String>,
    pub expected_development: Option<String>,
    pub prepared_by: Option<String>,
    pub contact: Option<String>,
    pub linked_requests: Vec<String>,
    /// The earlier report this one corrects.
    pub supersedes: Option<RecordId>,
    /// Later reports that correct this one.
    pub superseded_by: Vec<RecordId>,
}

/// Záznam v deníku.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub meta: Meta,
    /// Time of the event (defaults to the time written).
    pub event_time: Timestamp,
    /// Time written, from the author's clock.
    pub written_at: Timestamp,
    pub kind: JournalKind,
    pub text: String,
    pub author: Option<String>,
    pub author_role: Option<String>,
    pub workstation: Option<String>,
    pub source: Option<String>,
    pub corrects: Option<RecordId>,
    pub tags: Vec<String>,
}

/// Požadavek na síly a prostředky.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRequest {
    pub meta: Meta,
    pub requester: String,
    pub item: String,
    pub quantity: Option<u32>,
    pub unit: Option<String>,
    pub delivery_place: Option<String>,
    pub needed_by: Option<Timestamp>,
    pub priority: Priority,
    pub reason: Option<String>,
    pub status: RequestStatus,
    /// The note of the shown status move (the reason of a rejection).
    pub status_note: Option<String>,
    pub status_conflicts: Vec<RequestStatus>,
    pub handled_by: Option<String>,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

/// Mimořádná událost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub meta: Meta,
    pub title: String,
    pub kind: IncidentKind,
    pub description: Option<String>,
    pub place: Option<String>,
    pub location: Option<GeoPoint>,
    pub start: Option<Timestamp>,
    pub state: IncidentState,
    pub level: Option<Level>,
    pub affected_municipalities: Vec<String>,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

/// Kontakt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub meta: Meta,
    pub name: String,
    pub function: Option<String>,
    pub organization: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub data_box: Option<String>,
    pub radio_call_sign: Option<String>,
    pub note: Option<String>,
}

fn task_statuses(statuses: Vec<Status>) -> Vec<TaskStatus> {
    statuses
        .into_iter()
        .filter_map(|s| {
            if let Status::Task(t) = s {
                Some(t)
            } else {
                None
            }
        })
        .collect()
}

fn request_statuses(statuses: Vec<Status>) -> Vec<RequestStatus> {
    statuses
        .into_iter()
        .filter_map(|s| {
            if let Status::Request(r) = s {
                Some(r)
            } else {
                None
            }
        })
        .collect()
}

/// Concurrent status moves to a status other than the shown one (moves that agree on the
/// status, by different people, are no conflict).
fn status_conflicts(state: &RecordState) -> Vec<Status> {
    let shown = state.status_register().value().map(|m| m.to);
    let mut out: Vec<Status> = state
        .status_register()
        .conflicts()
        .into_iter()
        .map(|(_, _, m)| m.to)
        .filter(|to| Some(*to) != shown)
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Task {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<Task> {
        let status = match s.status(RecordKind::Task) {
            Some(Status::Task(t)) => t,
            _ => TaskStatus::Assigned,
        };
        Some(Task {
            meta: meta(id, s)?,
            number: text(s, FieldKey::Number),
            title: text(s, FieldKey::Title).unwrap_or_default(),
            description: text(s, FieldKey::Description),
            assigned_by: text(s, FieldKey::AssignedBy),
            assignees: s.set_elements(SetField::Assignees),
            deadline: time(s, FieldKey::Deadline),
            priority: priority(s, FieldKey::Priority).unwrap_or(Priority::Normal),
            status,
            status_conflicts: task_statuses(status_conflicts(s)),
            outcome: text(s, FieldKey::Outcome),
            links: s.set_elements(SetField::Links),
            tags: s.set_elements(SetField::Tags),
            comments: s.comments().cloned().collect(),
        })
    }
}

impl SituationReport {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<SituationReport> {
        Some(SituationReport {
            meta: meta(id, s)?,
            kind: report_kind(s, FieldKey::ReportKind)?,
            number: count(s, FieldKey::ReportNumber),
            sender: text(s, FieldKey::Sender)?,
            recipient: text(s, FieldKey::Recipient),
            as_of: time(s, FieldKey::AsOf)?,
            period: text(s, FieldKey::Period),
            situation: text(s, FieldKey::Situation),
            injured: count(s, FieldKey::Injured),
            dead: count(s, FieldKey::Dead),
            evacuated: count(s, FieldKey::Evacuated),
            missing: count(s, FieldKey::Missing),
            affected_buildings: count(s, FieldKey::AffectedBuildings),
            supply_outages: text(s, FieldKey::SupplyOutages),
            measures: text(s, FieldKey::Measures),
            forces_deployed: text(s, FieldKey::ForcesDeployed),
            expected_development: text(s, FieldKey::ExpectedDevelopment),
            prepared_by: text(s, FieldKey::PreparedBy),
            contact: text(s, FieldKey::ContactInfo),
            linked_requests: s.set_elements(SetField::Links),
            supersedes: record_ref(s, FieldKey::Supersedes),
            superseded_by: Vec::new(),
        })
    }
}

impl JournalEntry {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<JournalEntry> {
        let meta = meta(id, s)?;
        let written_at = Timestamp(i64::try_from(meta.created_at.hlc.wall_ms).unwrap_or(i64::MAX));
        Some(JournalEntry {
            event_time: time(s, FieldKey::EventTime).unwrap_or(written_at),
            written_at,
            meta,
            kind: journal_kind(s, FieldKey::JournalKind)?,
            text: text(s, FieldKey::Text)?,
            author: text(s, FieldKey::Author),
            author_role: text(s, FieldKey::AuthorRole),
            workstation: text(s, FieldKey::Workstation),
            source: text(s, FieldKey::Source),
            corrects: record_ref(s, FieldKey::Corrects),
            tags: s.set_elements(SetField::Tags),
        })
    }
}

impl ResourceRequest {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<ResourceRequest> {
        let status = match s.status(RecordKind::ResourceRequest) {
            Some(Status::Request(r)) => r,
            _ => RequestStatus::New,
        };
        Some(ResourceRequest {
            meta: meta(id, s)?,
            requester: text(s, FieldKey::Requester)?,
            item: text(s, FieldKey::Item)?,
            quantity: count(s, FieldKey::Quantity),
            unit: text(s, FieldKey::Unit),
            delivery_place: text(s, FieldKey::DeliveryPlace),
            needed_by: time(s, FieldKey::NeededBy),
            priority: priority(s, FieldKey::Priority).unwrap_or(Priority::Normal),
            reason: text(s, FieldKey::Reason),
            status,
            status_note: s
                .status_register()
                .value()
                .map(|m| m.note.clone())
                .filter(|n| !n.is_empty()),
            status_conflicts: request_statuses(status_conflicts(s)),
            handled_by: text(s, FieldKey::HandledBy),
            tags: s.set_elements(SetField::Tags),
            comments: s.comments().cloned().collect(),
        })
    }
}

impl Incident {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<Incident> {
        Some(Incident {
            meta: meta(id, s)?,
            title: text(s, FieldKey::Title)?,
            kind: incident_kind(s, FieldKey::IncidentKind)?,
            description: text(s, FieldKey::Description),
            place: text(s, FieldKey::Place),
            location: location(s, FieldKey::Location),
            start: time(s, FieldKey::Start),
            state: incident_state(s, FieldKey::IncidentState).unwrap_or(IncidentState::Active),
            level: level(s, FieldKey::Level),
            affected_municipalities: s.set_elements(SetField::AffectedMunicipalities),
            tags: s.set_elements(SetField::Tags),
            comments: s.comments().cloned().collect(),
        })
    }
}

impl Contact {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<Contact> {
        Some(Contact {
            meta: meta(id, s)?,
            name: text(s, FieldKey::Name)?,
            function: text(s, FieldKey::Function),
            organization: text(s, FieldKey::Organization),
            phone: text(s, FieldKey::Phone),
            email: text(s, FieldKey::Email),
            data_box: text(s, FieldKey::DataBox),
            radio_call_sign: text(s, FieldKey::RadioCallSign),
            note: text(s, FieldKey::Note),
        })
    }
}

/// A device's standing in a space as every replica decides it (`crate::authority`): what the
/// member screens and `member list` show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStanding {
    pub device: DeviceId,
    pub name: String,
    /// None: removed.
    pub role: Option<StaffRole>,
    /// The ORP an ORP coordinator is bound to.
    pub orp: Option<String>,
    /// The founder of the space.
    pub founder: bool,
    /// The key epoch of the space now.
    pub epoch: u32,
}

/// Whether one member device holds a record's latest version (from its own signed receipt).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub device: DeviceId,
    pub name: String,
    pub role: Option<StaffRole>,
    /// This is the device asking.
    pub this_device: bool,
    /// The device signed that it holds the latest version (or wrote it).
    pub holds: bool,
    /// Since when (its clock, ms since 1970): the first of its receipts held that covers it.
    pub since_ms: Option<u64>,
    /// False when even the oldest receipt held covers it: it may have held it earlier.
    pub since_exact: bool,
    /// When it last said what it holds.
    pub last_heard_ms: Option<u64>,
}

/// The Czech preposition "z" or "ze" before the number `n` as it is read aloud: "ze" where the
/// spoken number starts with s, z, š, ž or a cluster ("ze čtrnácti", "ze sedmi", "ze sta",
/// "ze tří", "ze dvou"), else "z" ("z jedenácti", "z pěti", "z osmi").
pub fn z_ze(n: usize) -> &'static str {
    // Spoken forms starting with s, z, š, ž ("sedmi", "šesti", "sta") or with a cluster
    // ("dvou", "tří", "čtyř", "dvanácti") take "ze".
    fn starts_hard(n: usize) -> bool {
        match n {
            0..=19 => matches!(n, 2 | 3 | 4 | 6 | 7 | 12 | 13 | 14 | 16 | 17),
            20..=99 => matches!(n / 10, 2 | 3 | 4 | 6 | 7),
            100..=999 => matches!(n / 100, 1 | 2 | 3 | 4 | 6 | 7),
            _ => n / 1000 != 1 && starts_hard(n / 1000),
        }
    }
    if starts_hard(n) {
        "ze"
    } else {
        "z"
    }
}

/// How far the newest key rotation has reached ("Nový klíč má 11 ze 14 zařízení").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyProgress {
    pub epoch: u32,
    /// Member devices that signed that they hold `epoch`'s key.
    pub holding: usize,
    /// Member devices in all.
    pub total: usize,
}

/// A device admitted to the space (člen prostoru).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub meta: Meta,
    pub device: DeviceId,
    pub name: String,
    /// The role shown (last writer wins).
    pub role: StaffRole,
    /// Every role the record holds now, the shown one included: concurrent changes of a role
    /// leave several, and permissions are checked against the strongest of them.
    pub roles: Vec<StaffRole>,
}

impl Member {
    pub fn from_state(id: RecordId, s: &RecordState) -> Option<Member> {
        let device = match s.field(FieldKey::MemberDevice)? {
            FieldValue::MemberDevice(d) => *d,
            _ => return None,
        };
        let role = match s.field(FieldKey::MemberRole)? {
            FieldValue::MemberRole(r) => *r,
            _ => return None,
        };
        let mut roles = vec![role];
        if let Some(register) = s.register(FieldKey::MemberRole) {
            for (_, _, value) in register.conflicts() {
                if let FieldValue::MemberRole(r) = value {
                    roles.push(*r);
                }
            }
        }
        roles.sort();
        roles.dedup();
        Some(Member {
            meta: meta(id, s)?,
            device,
            name: text(s, FieldKey::Name)?,
            role,
            roles,
        })
    }
}

impl Replica {
    /// The admitted devices, by name.
    pub fn members(&self) -> Vec<Member> {
        let mut members = self.views(RecordKind::Member, Member::from_state, |m| {
            m.meta.created_at
        });
        members.sort_by_cached_key(|m| m.name.to_lowercase());
        members
    }

    /// Every task, in creation order.
    pub fn tasks(&self) -> Vec<Task> {
        self.views(RecordKind::Task, Task::from_state, |t| t.meta.created_at)
    }

    /// The tasks changed since `token`, in creation order, or `None` when the token is not
    /// this replica's (take [`Replica::tasks`] then).
    pub fn tasks_changed_since(&self, token: crate::merge::ChangeToken) -> Option<Vec<Task>> {
        let keys = self.changed_since(token)?;
        let mut out: Vec<Task> = keys
            .into_iter()
            .filter(|k| k.kind == RecordKind::Task)
            .filter_map(|k| Task::from_state(k.id, self.record(k.kind, k.id)?))
            .collect();
        out.sort_by_key(|t| t.meta.created_at);
        Some(out)
    }

    /// Every situation report, in creation order, with corrections linked both ways.
    pub fn situation_reports(&self) -> Vec<SituationReport> {
        let mut reports = self.views(
            RecordKind::SituationReport,
            SituationReport::from_state,
            |r| r.meta.created_at,
        );
        let links: Vec<(RecordId, RecordId)> = reports
            .iter()
            .filter_map(|r| r.supersedes.map(|old| (old, r.meta.id)))
            .collect();
        for (old, new) in links {
            if let Some(r) = reports.iter_mut().find(|r| r.meta.id == old) {
                r.superseded_by.push(new);
            }
        }
        reports
    }

    /// The journal in chronological order of the events (then of writing).
    pub fn journal(&self) -> Vec<JournalEntry> {
        let mut entries = self.views(RecordKind::JournalEntry, JournalEntry::from_state, |e| {
            e.meta.created_at
        });
        entries.sort_by_key(|e| (e.event_time, e.meta.created_at));
        entries
    }

    pub fn resource_requests(&self) -> Vec<ResourceRequest> {
        self.views(
            RecordKind::ResourceRequest,
            ResourceRequest::from_state,
            |r| r.meta.created_at,
        )
    }

    pub fn incidents(&self) -> Vec<Incident> {
        self.views(RecordKind::Incident, Incident::from_state, |i| {
            i.meta.created_at
        })
    }

    pub fn contacts(&self) -> Vec<Contact> {
        let mut contacts = self.views(RecordKind::Contact, Contact::from_state, |c| {
            c.meta.created_at
        });
        contacts.sort_by_cached_key(|c| c.name.to_lowercase());
        contacts
    }

    fn views<T>(
        &self,
        kind: RecordKind,
        build: fn(RecordId, &RecordState) -> Option<T>,
        order: fn(&T) -> Stamp,
    ) -> Vec<T> {
        let mut out: Vec<T> = self
            .records_of(kind)
            .filter_map(|(id, s)| build(id, s))
            .collect();
        out.sort_by_key(order);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::z_ze;

    #[test]
    fn z_or_ze_as_the_number_is_read() {
        for (n, p) in [
            (1, "z"),
            (2, "ze"),
            (3, "ze"),
            (4, "ze"),
            (5, "z"),
            (6, "ze"),
            (7, "ze"),
            (8, "z"),
            (11, "z"),
            (14, "ze"),
            (16, "ze"),
            (17, "ze"),
            (20, "ze"),
            (56, "z"),
            (65, "ze"),
            (40, "ze"),
            (47, "ze"),
            (73, "ze"),
            (100, "ze"),
            (128, "ze"),
            (200, "ze"),
            (400, "ze"),
            (500, "z"),
            (1000, "z"),
            (2000, "ze"),
            (5000, "z"),
            (4000, "ze"),
        ] {
            assert_eq!(z_ze(n), p, "{n}");
        }
    }
}
