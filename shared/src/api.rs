//! The plain data the desktop shell (`src-tauri`) and the UI (`ui`) exchange besides records:
//! space summaries, the network view, the events, form problems and the Czech labels of
//! fields; the form inputs themselves live in [`crate::forms`] and are re-exported here. Pure
//! serde types; no keys, no sled, no Tauri.
//!
//! Every side validates with the same code: the UI to put a message next to the field before
//! anything is sent, the engine because it never trusts the webview or the command line.

use serde::{Deserialize, Serialize};

use crate::record::{FieldKey, FieldValue, ValueProblem};

pub use crate::forms::{
    ContactInput, FieldEdit, IncidentInput, JournalInput, RecordInput, RequestInput, SitrepInput,
    TaskInput,
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
    /// The ORP this device's member is bound to (an ORP coordinator), as the member records
    /// say now.
    #[serde(default)]
    pub orp: Option<String>,
    /// This device's member name in the space, as the member records say now.
    #[serde(default)]
    pub member_name: Option<String>,
    /// The space is an exercise (cvičení): every screen marks it so.
    #[serde(default)]
    pub exercise: bool,
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
        K::MemberOrp => "ORP",
        K::MemberSeen => "viděné operace",
        K::MemberInvite => "pozvánka",
        K::MemberRemoved => "odebrán",
        K::MemberKey => "klíč zařízení",
        K::MemberRekey => "nový klíč prostoru",
        K::SpaceExercise => "cvičení",
        K::InjectSealed => "vstup scénáře (zapečetěný)",
        K::Clock => "hodiny cvičení",
        K::ClockTo => "skok na čas",
        K::ControlWrap => "klíč řízení cvičení",
        K::InjectNumber => "číslo vstupu",
        K::InjectFrom => "od",
        K::InjectTo => "komu",
        K::InjectChannel => "způsob",
        K::InjectSubject => "předmět",
        K::InjectText => "zpráva",
        K::ScheduledAt => "plánovaný čas",
        K::ReleasedAt => "vydáno",
        K::ReleasedAtExerciseTime => "vydáno v čase cvičení",
        K::ObservedInject => "vstup",
        K::ObservationMet => "splněno",
        K::ObservationText => "pozorování",
        K::CorrectiveAction => "nápravné opatření",
        K::CorrectiveOwner => "odpovídá",
        K::CorrectiveDue => "termín opatření",
        K::SimulatedFor => "simulováno za",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{IncidentKind, Priority, Timestamp, LONG_TEXT};

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
