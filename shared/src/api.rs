//! The desktop contract: the plain data that crosses between the Tauri shell (`src-tauri`) and
//! the UI (`ui`): form inputs and their validation, space summaries, the change event, and the
//! Czech and English labels of fields. Pure serde types; no keys, no sled, no Tauri.
//!
//! Both sides validate with the same code: the UI to put a message next to the field before
//! anything is sent, the shell because it never trusts the webview.

use serde::{Deserialize, Serialize};

use crate::op::Change;
use crate::record::{
    check_text, FieldKey, FieldValue, IncidentKind, IncidentState, JournalKind, Level, Priority,
    RecordKind, ReportKind, SetField, Timestamp, ValueProblem, LONG_TEXT, SHORT_TEXT,
};

/// The Tauri event emitted after every change to a space (local write now, sync later).
pub const SPACE_CHANGED: &str = "space-changed";

/// The Tauri event emitted when what the network panel shows changed (a peer came or went, a
/// sync completed, operations were stored); the payload is a [`NetworkView`].
pub const NETWORK_CHANGED: &str = "network-changed";

/// Most peer addresses a person can keep in the app's list.
pub const MAX_SAVED_PEERS: usize = 32;

/// Shortest passphrase accepted for a new identity.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The payload of [`SPACE_CHANGED`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceChanged {
    /// The space id in hex.
    pub space: String,
}

/// The network as the app's panel shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkView {
    /// The background sync runs (false before unlocking, or when it could not start).
    pub running: bool,
    /// Why sync is not running, as a Czech sentence.
    pub error: Option<String>,
    /// This device's network addresses (with `/p2p/<peer id>`), for an administrator.
    pub listen: Vec<String>,
    /// Peers that are connected now or were synced with in this run, connected first.
    pub peers: Vec<PeerView>,
    /// Per space id (hex): this device's operations not yet known to be on any other peer.
    pub unsent: Vec<(String, u64)>,
    /// The peer addresses this app dials (saved in the data dir).
    pub saved_peers: Vec<String>,
}

impl NetworkView {
    /// How many peers are connected now.
    pub fn connected(&self) -> usize {
        self.peers.iter().filter(|p| p.connected).count()
    }

    /// This device's operations in `space` not yet on another peer.
    pub fn unsent_in(&self, space: &str) -> u64 {
        self.unsent
            .iter()
            .find(|(s, _)| s == space)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

/// One peer in the network panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub peer_id: String,
    /// The member's name when the device is a member of a space held here.
    pub name: Option<String>,
    /// The device id (hex) behind the peer id.
    pub device: Option<String>,
    pub connected: bool,
    pub addresses: Vec<String>,
    /// RFC 3339, UTC: the last completed sync with this peer in this run.
    pub last_sync: Option<String>,
}

/// What the app knows before and after unlocking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    /// A keystore exists in the data dir.
    pub initialised: bool,
    /// The identity is unlocked in this process.
    pub unlocked: bool,
    pub name: Option<String>,
    /// The device id in hex (public).
    pub device: Option<String>,
    pub data_dir: String,
    pub version: String,
    /// Problems met while opening that did not stop the app, as Czech sentences.
    pub warnings: Vec<String>,
}

/// A space as the UI lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceInfo {
    pub id: String,
    pub name: String,
    /// The role code (`chair`, `orp_coordinator`, ...).
    pub role: String,
    pub role_cs: String,
    pub records: usize,
    pub operations: u64,
    /// Why the space is read-only (a damaged op log), if it is.
    pub read_only: Option<String>,
}

/// Concurrent differing values of one field of a record, for a person to choose from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: FieldKey,
    /// Every current value, the shown one first.
    pub values: Vec<FieldValue>,
}

/// Why a form field was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    Required,
    TooLong { max: usize },
    ControlCharacter,
    NotATime,
    TimeOutOfRange,
    NotANumber,
    PassphraseTooShort,
    PassphrasesDiffer,
}

impl Problem {
    pub fn cs(self) -> String {
        match self {
            Problem::Required => "Toto pole je povinné.".into(),
            Problem::TooLong { max } => format!("Text je příliš dlouhý (nejvýše {max} bajtů)."),
            Problem::ControlCharacter => "Text obsahuje nepovolený řídicí znak.".into(),
            Problem::NotATime => {
                "Zadejte datum a čas, např. zítra 18:00, dnes 8:00, 18:00 nebo +2 h.".into()
            }
            Problem::TimeOutOfRange => "Datum musí ležet mezi roky 1970 a 9999.".into(),
            Problem::NotANumber => "Zadejte celé nezáporné číslo, např. 12.".into(),
            Problem::PassphraseTooShort => {
                format!("Heslo musí mít alespoň {MIN_PASSPHRASE_CHARS} znaků.")
            }
            Problem::PassphrasesDiffer => "Hesla se neshodují.".into(),
        }
    }

    pub fn en(self) -> String {
        match self {
            Problem::Required => "This field is required.".into(),
            Problem::TooLong { max } => format!("The text is too long (at most {max} bytes)."),
            Problem::ControlCharacter => "The text contains a control character.".into(),
            Problem::NotATime => {
                "Enter a date and time, e.g. tomorrow 18:00, today 8:00, 18:00 or +2 h.".into()
            }
            Problem::TimeOutOfRange => "The date must lie between 1970 and 9999.".into(),
            Problem::NotANumber => "Enter a whole number of zero or more, e.g. 12.".into(),
            Problem::PassphraseTooShort => {
                format!("The passphrase needs at least {MIN_PASSPHRASE_CHARS} characters.")
            }
            Problem::PassphrasesDiffer => "The passphrases differ.".into(),
        }
    }
}

impl From<ValueProblem> for Problem {
    fn from(p: ValueProblem) -> Problem {
        match p {
            ValueProblem::TooLong { max, .. } => Problem::TooLong { max },
            ValueProblem::Empty => Problem::Required,
            ValueProblem::ControlCharacter => Problem::ControlCharacter,
            ValueProblem::ImplausibleTime | ValueProblem::InvalidCoordinates => {
                Problem::TimeOutOfRange
            }
        }
    }
}

/// One rejected field of a form: its name in the form (the input's id) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

/// The problems of a whole form (empty: valid).
pub type FormErrors = Vec<FieldError>;

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

pub use crate::when::parse_local_time_at;

/// Parses a whole number field; empty text is `None`.
pub fn parse_count(text: &str) -> Result<Option<u32>, Problem> {
    let t = text.trim().replace([' ', '\u{a0}'], "");
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| Problem::NotANumber)
}

/// Rough passphrase strength, 0 (weak) to 3 (strong), for the hint under the field.
pub fn passphrase_strength(p: &str) -> u8 {
    let chars = p.chars().count();
    if chars < MIN_PASSPHRASE_CHARS {
        return 0;
    }
    let classes = [
        p.chars().any(char::is_lowercase),
        p.chars().any(char::is_uppercase),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let words = p.split_whitespace().count();
    match (chars, classes, words) {
        (c, _, w) if c >= 20 && w >= 3 => 3,
        (c, k, _) if c >= 14 && k >= 3 => 3,
        (c, k, _) if c >= 12 || k >= 3 => 2,
        _ => 1,
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
}

impl JournalInput {
    pub fn validate(&self) -> FormErrors {
        let mut e = Vec::new();
        check(&mut e, "text", &self.text, LONG_TEXT, true);
        check(&mut e, "author", &self.author, SHORT_TEXT, false);
        check(&mut e, "source", &self.source, SHORT_TEXT, false);
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

/// The Czech label of a field, as forms and conflict dialogs show it.
pub fn field_label_cs(key: FieldKey) -> &'static str {
    use FieldKey as K;
    match key {
        K::Number => "číslo",
        K::Title => "název",
        K::Description => "popis",
        K::AssignedBy => "zadal",
        K::Deadline => "termín",
        K::Priority => "priorita",
        K::Outcome => "výsledek",
        K::ReportKind => "druh zprávy",
        K::ReportNumber => "číslo zprávy",
        K::Sender => "odesílatel",
        K::Recipient => "adresát",
        K::AsOf => "stav k",
        K::Period => "období",
        K::Situation => "popis situace",
        K::Injured => "zraněné osoby",
        K::Dead => "oběti",
        K::Evacuated => "evakuované osoby",
        K::Missing => "nezvěstné osoby",
        K::AffectedBuildings => "zasažené objekty",
        K::SupplyOutages => "přerušené dodávky",
        K::Measures => "přijatá opatření",
        K::ForcesDeployed => "nasazené síly a prostředky",
        K::ExpectedDevelopment => "předpokládaný vývoj",
        K::PreparedBy => "zpracoval",
        K::ContactInfo => "kontakt",
        K::Supersedes => "nahrazuje zprávu",
        K::EventTime => "čas události",
        K::JournalKind => "druh záznamu",
        K::Text => "text",
        K::Author => "autor",
        K::AuthorRole => "role autora",
        K::Workstation => "pracoviště",
        K::Source => "zdroj",
        K::Corrects => "opravuje záznam",
        K::Requester => "žadatel",
        K::Item => "položka",
        K::Quantity => "množství",
        K::Unit => "jednotka",
        K::DeliveryPlace => "místo dodání",
        K::NeededBy => "potřebné do",
        K::Reason => "zdůvodnění",
        K::HandledBy => "vyřizuje",
        K::IncidentKind => "druh události",
        K::Place => "místo",
        K::Location => "GPS",
        K::Start => "začátek",
        K::IncidentState => "stav události",
        K::Level => "stupeň",
        K::Name => "jméno",
        K::Function => "funkce",
        K::Organization => "organizace",
        K::Phone => "telefon",
        K::Email => "e-mail",
        K::DataBox => "ID datové schránky",
        K::RadioCallSign => "radiové spojení",
        K::Note => "poznámka",
        K::MemberDevice => "zařízení",
        K::MemberRole => "role",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_name_the_bad_fields() {
        let t = TaskInput {
            title: "  ".into(),
            description: "x".repeat(LONG_TEXT + 1),
            ..Default::default()
        };
        let e = t.to_changes().unwrap_err();
        assert_eq!(e[0].field, "title");
        assert_eq!(e[0].problem, Problem::Required);
        assert_eq!(e[1].field, "description");
        assert!(matches!(e[1].problem, Problem::TooLong { .. }));
        let s = SitrepInput::default().validate();
        assert!(s.iter().any(|e| e.field == "as_of"));
        assert!(s.iter().any(|e| e.field == "sender"));
        assert_eq!(parse_count("1 200"), Ok(Some(1200)));
        assert_eq!(parse_count("-3"), Err(Problem::NotANumber));
        assert!(Problem::Required.cs().contains("povinné"));
    }

    #[test]
    fn valid_forms_make_valid_operations() {
        use crate::ids::{DeviceId, OpId, SpaceId};
        use crate::{Hlc, Operation, RecordKind};
        let id = OpId {
            device: DeviceId([1; 32]),
            seq: 1,
        };
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
        };
        let space = SpaceId([2; 16]);
        let task = TaskInput {
            title: "Zajistit pytle".into(),
            assignees: vec!["ORP Vsetín".into(), " ".into()],
            priority: Some(Priority::High),
            ..Default::default()
        };
        let ops = [
            (RecordKind::Task, task.to_changes()),
            (
                RecordKind::SituationReport,
                SitrepInput {
                    sender: "ORP Vsetín".into(),
                    as_of: Some(Timestamp(1_800_000_000_000)),
                    injured: Some(2),
                    ..Default::default()
                }
                .to_changes(),
            ),
            (
                RecordKind::JournalEntry,
                JournalInput {
                    text: "Hladina Bečvy stoupá.".into(),
                    ..Default::default()
                }
                .to_changes(),
            ),
            (
                RecordKind::Incident,
                IncidentInput {
                    title: "Povodeň na Bečvě".into(),
                    kind: Some(IncidentKind::Flood),
                    ..Default::default()
                }
                .to_changes(),
            ),
        ];
        for (kind, changes) in ops {
            let changes = changes.unwrap();
            Operation::new_record(id, hlc, space, kind, changes).unwrap();
        }
        assert_eq!(passphrase_strength("krátké"), 0);
        assert_eq!(passphrase_strength("tři slova spolu dohromady"), 3);
    }
}
