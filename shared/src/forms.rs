//! The form inputs, one per record kind, as the desktop's forms and the CLI's flags fill them:
//! their validation (field by field, with the field's name, so the UI puts each message next
//! to its field) and the changes that create the record. [`RecordInput`] is any one of them, the
//! input of the engine's write path. Re-exported by [`crate::api`].

use serde::{Deserialize, Serialize};

use crate::api::{FieldError, FormErrors, Problem};
use crate::op::Change;
use crate::record::{
    check_text, FieldValue, IncidentKind, IncidentState, JournalKind, Level, Priority, RecordKind,
    ReportKind, SetField, Timestamp, LONG_TEXT, SHORT_TEXT,
};

fn err(errors: &mut FormErrors, field: &str, problem: Problem) {
    if !errors.iter().any(|e| e.field == field) {
        errors.push(FieldError {
            field: field.to_owned(),
            problem,
        });
    }
}

/// Checks a text field; `required` refuses empty text.
fn check(errors: &mut FormErrors, field: &str, text: &str, max: usize, required: bool) {
    if required && text.trim().is_empty() {
        err(errors, field, Problem::Required);
    } else if let Err(p) = check_text(text, max) {
        err(errors, field, p.into());
    }
}

fn check_time(errors: &mut FormErrors, field: &str, t: Option<Timestamp>) {
    if t.is_some_and(|t| !t.is_plausible()) {
        err(errors, field, Problem::TimeOutOfRange);
    }
}

fn set(value: FieldValue) -> Change {
    Change::Set {
        value,
        bases: Default::default(),
    }
}

fn opt_text(changes: &mut Vec<Change>, text: &str, field: fn(String) -> FieldValue) {
    let t = text.trim();
    if !t.is_empty() {
        changes.push(set(field(t.to_owned())));
    }
}

fn adds(changes: &mut Vec<Change>, set: SetField, elements: &[String]) {
    for e in elements {
        let e = e.trim();
        if !e.is_empty() {
            changes.push(Change::Add {
                set,
                element: e.to_owned(),
            });
        }
    }
}

/// Úkol, as the form sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInput {
    pub title: String,
    pub description: String,
    pub number: String,
    pub assigned_by: String,
    pub assignees: Vec<String>,
    pub deadline: Option<Timestamp>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
}

impl TaskInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "title", &self.title, SHORT_TEXT, true);
        check(&mut e, "description", &self.description, LONG_TEXT, false);
        check(&mut e, "number", &self.number, SHORT_TEXT, false);
        check(&mut e, "assigned_by", &self.assigned_by, SHORT_TEXT, false);
        for a in &self.assignees {
            check(&mut e, "assignees", a, SHORT_TEXT, false);
        }
        check_time(&mut e, "deadline", self.deadline);
        e
    }

    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        let e = self.validate();
        if !e.is_empty() {
            return Err(e);
        }
        let mut c = vec![set(FieldValue::Title(self.title.trim().to_owned()))];
        opt_text(&mut c, &self.description, FieldValue::Description);
        opt_text(&mut c, &self.number, FieldValue::Number);
        opt_text(&mut c, &self.assigned_by, FieldValue::AssignedBy);
        if let Some(d) = self.deadline {
            c.push(set(FieldValue::Deadline(d)));
        }
        if let Some(p) = self.priority {
            c.push(set(FieldValue::Priority(p)));
        }
        adds(&mut c, SetField::Assignees, &self.assignees);
        adds(&mut c, SetField::Tags, &self.tags);
        Ok(c)
    }
}

/// A change of scalar fields of an existing record: each `Some` value replaces every version
/// of that field the device shows (so it also resolves a conflict on that field).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldEdit {
    pub values: Vec<FieldValue>,
    /// Set elements to add (e.g. assignees).
    pub add: Vec<(SetField, String)>,
    /// Set elements to remove (every addition this device has seen).
    pub remove: Vec<(SetField, String)>,
}

/// Situační zpráva, as the form sends it. Sending it makes it immutable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitrepInput {
    pub kind: Option<ReportKind>,
    pub number: Option<u32>,
    pub sender: String,
    pub recipient: String,
    pub as_of: Option<Timestamp>,
    pub period: String,
    pub situation: String,
    pub injured: Option<u32>,
    pub dead: Option<u32>,
    pub evacuated: Option<u32>,
    pub missing: Option<u32>,
    pub affected_buildings: Option<u32>,
    pub supply_outages: String,
    pub measures: String,
    pub forces_deployed: String,
    pub expected_development: String,
    pub prepared_by: String,
    pub contact: String,
    /// Hex id of the earlier report this one corrects.
    pub supersedes: Option<String>,
}

impl SitrepInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "sender", &self.sender, SHORT_TEXT, true);
        if self.as_of.is_none() {
            err(&mut e, "as_of", Problem::Required);
        }
        check_time(&mut e, "as_of", self.as_of);
        for (f, t, max) in [
            ("recipient", &self.recipient, SHORT_TEXT),
            ("period", &self.period, SHORT_TEXT),
            ("situation", &self.situation, LONG_TEXT),
            ("supply_outages", &self.supply_outages, LONG_TEXT),
            ("measures", &self.measures, LONG_TEXT),
            ("forces_deployed", &self.forces_deployed, LONG_TEXT),
            (
                "expected_development",
                &self.expected_development,
                LONG_TEXT,
            ),
            ("prepared_by", &self.prepared_by, SHORT_TEXT),
            ("contact", &self.contact, SHORT_TEXT),
        ] {
            check(&mut e, f, t, max, false);
        }
        e
    }

    /// The changes, without the `supersedes` reference (the shell checks that it exists).
    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        let e = self.validate();
        let Some(as_of) = self.as_of.filter(|_| e.is_empty()) else {
            return Err(e);
        };
        let mut c = vec![
            set(FieldValue::ReportKind(
                self.kind.unwrap_or(ReportKind::Situation),
            )),
            set(FieldValue::Sender(self.sender.trim().to_owned())),
            set(FieldValue::AsOf(as_of)),
        ];
        for (v, f) in [
            (
                self.number,
                FieldValue::ReportNumber as fn(u32) -> FieldValue,
            ),
            (self.injured, FieldValue::Injured),
            (self.dead, FieldValue::Dead),
            (self.evacuated, FieldValue::Evacuated),
            (self.missing, FieldValue::Missing),
            (self.affected_buildings, FieldValue::AffectedBuildings),
        ] {
            if let Some(v) = v {
                c.push(set(f(v)));
            }
        }
        opt_text(&mut c, &self.recipient, FieldValue::Recipient);
        opt_text(&mut c, &self.period, FieldValue::Period);
        opt_text(&mut c, &self.situation, FieldValue::Situation);
        opt_text(&mut c, &self.supply_outages, FieldValue::SupplyOutages);
        opt_text(&mut c, &self.measures, FieldValue::Measures);
        opt_text(&mut c, &self.forces_deployed, FieldValue::ForcesDeployed);
        opt_text(
            &mut c,
            &self.expected_development,
            FieldValue::ExpectedDevelopment,
        );
        opt_text(&mut c, &self.prepared_by, FieldValue::PreparedBy);
        opt_text(&mut c, &self.contact, FieldValue::ContactInfo);
        Ok(c)
    }
}

/// Záznam v deníku, as the quick entry sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalInput {
    pub kind: Option<JournalKind>,
    pub text: String,
    /// Time of the event; the time written is always kept too.
    pub event_time: Option<Timestamp>,
    pub author: String,
    pub source: String,
    /// Hex id of the earlier entry this one corrects.
    pub corrects: Option<String>,
    /// In a drill, exercise control only: the simulated body the entry is written as
    /// (simulační buňka, "ČHMÚ"); empty for everyone else.
    #[serde(default)]
    pub simulated_for: String,
}

impl JournalInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "text", &self.text, LONG_TEXT, true);
        check(&mut e, "author", &self.author, SHORT_TEXT, false);
        check(&mut e, "source", &self.source, SHORT_TEXT, false);
        check(
            &mut e,
            "simulated_for",
            &self.simulated_for,
            SHORT_TEXT,
            false,
        );
        check_time(&mut e, "event_time", self.event_time);
        e
    }

    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        let e = self.validate();
        if !e.is_empty() {
            return Err(e);
        }
        let mut c = vec![
            set(FieldValue::JournalKind(
                self.kind.unwrap_or(JournalKind::Information),
            )),
            set(FieldValue::Text(self.text.trim().to_owned())),
        ];
        if let Some(t) = self.event_time {
            c.push(set(FieldValue::EventTime(t)));
        }
        opt_text(&mut c, &self.author, FieldValue::Author);
        opt_text(&mut c, &self.source, FieldValue::Source);
        opt_text(&mut c, &self.simulated_for, FieldValue::SimulatedFor);
        Ok(c)
    }
}

/// Požadavek na síly a prostředky, as the form sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInput {
    pub requester: String,
    pub item: String,
    pub quantity: Option<u32>,
    pub unit: String,
    pub delivery_place: String,
    pub needed_by: Option<Timestamp>,
    pub priority: Option<Priority>,
    pub reason: String,
}

impl RequestInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "requester", &self.requester, SHORT_TEXT, true);
        check(&mut e, "item", &self.item, SHORT_TEXT, true);
        check(&mut e, "unit", &self.unit, SHORT_TEXT, false);
        check(
            &mut e,
            "delivery_place",
            &self.delivery_place,
            SHORT_TEXT,
            false,
        );
        check(&mut e, "reason", &self.reason, LONG_TEXT, false);
        check_time(&mut e, "needed_by", self.needed_by);
        e
    }

    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        let e = self.validate();
        if !e.is_empty() {
            return Err(e);
        }
        let mut c = vec![
            set(FieldValue::Requester(self.requester.trim().to_owned())),
            set(FieldValue::Item(self.item.trim().to_owned())),
        ];
        if let Some(q) = self.quantity {
            c.push(set(FieldValue::Quantity(q)));
        }
        opt_text(&mut c, &self.unit, FieldValue::Unit);
        opt_text(&mut c, &self.delivery_place, FieldValue::DeliveryPlace);
        if let Some(t) = self.needed_by {
            c.push(set(FieldValue::NeededBy(t)));
        }
        if let Some(p) = self.priority {
            c.push(set(FieldValue::Priority(p)));
        }
        opt_text(&mut c, &self.reason, FieldValue::Reason);
        Ok(c)
    }
}

/// Mimořádná událost, as the form sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentInput {
    pub title: String,
    pub kind: Option<IncidentKind>,
    pub place: String,
    pub level: Option<Level>,
    pub state: Option<IncidentState>,
    pub start: Option<Timestamp>,
    pub description: String,
    pub municipalities: Vec<String>,
}

impl IncidentInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "title", &self.title, SHORT_TEXT, true);
        if self.kind.is_none() {
            err(&mut e, "kind", Problem::Required);
        }
        check(&mut e, "place", &self.place, SHORT_TEXT, false);
        check(&mut e, "description", &self.description, LONG_TEXT, false);
        for m in &self.municipalities {
            check(&mut e, "municipalities", m, SHORT_TEXT, false);
        }
        check_time(&mut e, "start", self.start);
        e
    }

    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        let e = self.validate();
        let Some(kind) = self.kind.filter(|_| e.is_empty()) else {
            return Err(e);
        };
        let mut c = vec![
            set(FieldValue::Title(self.title.trim().to_owned())),
            set(FieldValue::IncidentKind(kind)),
        ];
        opt_text(&mut c, &self.place, FieldValue::Place);
        opt_text(&mut c, &self.description, FieldValue::Description);
        if let Some(l) = self.level {
            c.push(set(FieldValue::Level(l)));
        }
        if let Some(s) = self.state {
            c.push(set(FieldValue::IncidentState(s)));
        }
        if let Some(t) = self.start {
            c.push(set(FieldValue::Start(t)));
        }
        adds(
            &mut c,
            SetField::AffectedMunicipalities,
            &self.municipalities,
        );
        Ok(c)
    }
}

/// Kontakt, as the form sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    pub name: String,
    pub function: String,
    pub organization: String,
    pub phone: String,
    pub email: String,
    pub data_box: String,
    pub radio_call_sign: String,
    pub note: String,
}

impl ContactInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "name", &self.name, SHORT_TEXT, true);
        for (f, t) in [
            ("function", &self.function),
            ("organization", &self.organization),
            ("phone", &self.phone),
            ("email", &self.email),
            ("data_box", &self.data_box),
            ("radio_call_sign", &self.radio_call_sign),
        ] {
            check(&mut e, f, t, SHORT_TEXT, false);
        }
        check(&mut e, "note", &self.note, LONG_TEXT, false);
        e
    }

    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        let e = self.validate();
        if !e.is_empty() {
            return Err(e);
        }
        let mut c = vec![set(FieldValue::Name(self.name.trim().to_owned()))];
        opt_text(&mut c, &self.function, FieldValue::Function);
        opt_text(&mut c, &self.organization, FieldValue::Organization);
        opt_text(&mut c, &self.phone, FieldValue::Phone);
        opt_text(&mut c, &self.email, FieldValue::Email);
        opt_text(&mut c, &self.data_box, FieldValue::DataBox);
        opt_text(&mut c, &self.radio_call_sign, FieldValue::RadioCallSign);
        opt_text(&mut c, &self.note, FieldValue::Note);
        Ok(c)
    }
}

/// A new record of any kind, as a form (or the CLI) sends it: the one input of the engine's
/// write path (`Node::create_from`), which validates it, resolves its references and fills the
/// defaults the form leaves to the device (a journal entry's author and workstation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordInput {
    Task(TaskInput),
    SituationReport(SitrepInput),
    JournalEntry(JournalInput),
    ResourceRequest(RequestInput),
    Incident(IncidentInput),
    Contact(ContactInput),
}

impl RecordInput {
    /// The kind of record this input creates.
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordInput::Task(_) => RecordKind::Task,
            RecordInput::SituationReport(_) => RecordKind::SituationReport,
            RecordInput::JournalEntry(_) => RecordKind::JournalEntry,
            RecordInput::ResourceRequest(_) => RecordKind::ResourceRequest,
            RecordInput::Incident(_) => RecordKind::Incident,
            RecordInput::Contact(_) => RecordKind::Contact,
        }
    }

    /// The problems of the form (empty: valid).
    pub fn validate(&self) -> FormErrors {
        match self {
            RecordInput::Task(i) => i.validate(),
            RecordInput::SituationReport(i) => i.validate(),
            RecordInput::JournalEntry(i) => i.validate(),
            RecordInput::ResourceRequest(i) => i.validate(),
            RecordInput::Incident(i) => i.validate(),
            RecordInput::Contact(i) => i.validate(),
        }
    }

    /// The changes the form itself makes, without references to other records (`supersedes`,
    /// `corrects`) and without device defaults: the engine adds those.
    pub fn to_changes(&self) -> Result<Vec<Change>, FormErrors> {
        match self {
            RecordInput::Task(i) => i.to_changes(),
            RecordInput::SituationReport(i) => i.to_changes(),
            RecordInput::JournalEntry(i) => i.to_changes(),
            RecordInput::ResourceRequest(i) => i.to_changes(),
            RecordInput::Incident(i) => i.to_changes(),
            RecordInput::Contact(i) => i.to_changes(),
        }
    }
}
