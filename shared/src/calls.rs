//! The seam between the screens (`ui`) and the desktop shell (`src-tauri`): every command the
//! UI can call, declared once with its name, its argument type and its answer type. The UI
//! calls `bridge::call::<calls::CreateRecord>(&args)`; the shell's command takes
//! `args: Args<CreateRecord>` and answers `Reply<CreateRecord>`, and its registration checks at
//! compile time that the function's name is the declared [`Command::NAME`] and that every
//! declared command is registered. A command's arguments travel as one JSON object under the
//! key `args`; a failed command answers one Czech sentence.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{AppStatus, FieldConflict, FieldEdit, NetworkView, RecordInput, SpaceInfo};
use crate::exercise::evaluation::{Corrective, Evaluation};
use crate::exercise::ExerciseStatus;
use crate::merge::ChangeToken;
use crate::record::{Channel, ClockAction, RecordKind, StaffRole, Status};
use crate::snapshot::{SpaceSnapshot, Wants};
use crate::views::{Delivery, KeyProgress, MemberStanding};

/// One command of the desktop shell.
pub trait Command {
    /// The Tauri command's name (its function's name in `src-tauri`).
    const NAME: &'static str;
    type Args: Serialize + DeserializeOwned;
    type Answer: Serialize + DeserializeOwned;
}

/// The argument type of command `C`.
pub type Args<C> = <C as Command>::Args;
/// The answer type of command `C`.
pub type Reply<C> = <C as Command>::Answer;

/// Whether two names are equal, usable in constants (the shell's registration check).
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

macro_rules! commands {
    ($( $(#[$doc:meta])* $ty:ident = $name:ident ( $args:ty ) -> $answer:ty; )*) => {
        $(
            $(#[$doc])*
            pub enum $ty {}
            impl Command for $ty {
                const NAME: &'static str = stringify!($name);
                type Args = $args;
                type Answer = $answer;
            }
        )*
        /// The names of every command, in declaration order.
        pub const ALL: &[&str] = &[$(stringify!($name)),*];
    };
}

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nothing {}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIdentity {
    pub name: String,
    pub passphrase: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passphrase {
    pub passphrase: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceName {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvite {
    /// The space id in hex.
    pub space: String,
    pub role: StaffRole,
    pub valid_hours: u64,
    /// The ORP an ORP coordinator is bound to (empty for other roles).
    #[serde(default)]
    pub orp: String,
}

/// One space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceRef {
    /// The space id in hex.
    pub space: String,
}

/// A new role (and ORP binding) for a member device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeMember {
    /// The space id in hex.
    pub space: String,
    /// The member's device id in hex.
    pub device: String,
    pub role: StaffRole,
    /// The ORP an ORP coordinator is bound to (empty for other roles).
    #[serde(default)]
    pub orp: String,
}

/// One member device of a space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRef {
    /// The space id in hex.
    pub space: String,
    /// The device id in hex.
    pub device: String,
}

/// A pasted text: an invite code, a join request or a welcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAddress {
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSpace {
    pub space: String,
    pub wants: Wants,
    /// The `tasks_token` of the snapshot the UI holds: only the tasks changed since come back.
    pub since: Option<ChangeToken>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    pub space: String,
    pub input: RecordInput,
}

/// One record of a space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub space: String,
    pub kind: RecordKind,
    /// The record id in hex.
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditRecord {
    pub record: RecordRef,
    pub edit: FieldEdit,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveStatus {
    pub record: RecordRef,
    pub to: Status,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddComment {
    pub record: RecordRef,
    pub text: String,
}

/// An action on a drill's exercise clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseClock {
    /// The space id in hex.
    pub space: String,
    pub action: ClockAction,
    /// For a jump: the number of the inject whose time the clock jumps to.
    #[serde(default)]
    pub inject: Option<u32>,
}

/// An inject a controller writes on the spot (mimořádný vstup), as typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAdHocInject {
    /// The space id in hex.
    pub space: String,
    /// Komu: `všichni`, `ORP <name>`, a role or a member's name.
    pub to: String,
    /// Od: the simulated originator (empty: "řízení cvičení").
    pub from: String,
    pub channel: Channel,
    pub subject: String,
    pub text: String,
}

/// The file format a document is saved in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocFormat {
    Pdf,
    Csv,
}

impl DocFormat {
    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            DocFormat::Pdf => "pdf",
            DocFormat::Csv => "csv",
        }
    }
}

/// Saves a drill's evaluation as a file in the person's documents folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveEvaluation {
    /// The space id in hex.
    pub space: String,
    pub format: DocFormat,
}

/// An evaluator's observation on one inject of the scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewObservation {
    /// The space id in hex.
    pub space: String,
    /// The inject's number in the scenario.
    pub inject: u32,
    /// The verdict on the expected action: met, not met, or none given.
    pub met: Option<bool>,
    pub text: String,
    /// A corrective action for the improvement plan.
    pub corrective: Option<Corrective>,
}

/// A player's record answering a released inject (it links the inject's release).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAnswer {
    /// The space id in hex.
    pub space: String,
    /// The number of the released inject it answers.
    pub inject: u32,
    pub input: RecordInput,
}

/// One situation report, saved as an engine PDF.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRef {
    /// The space id in hex.
    pub space: String,
    /// The report's record id in hex.
    pub id: String,
}

commands! {
    /// The UI has mounted; answers the app's name and version.
    UiReady = ui_ready(Nothing) -> String;
    /// Whether an identity exists and is unlocked.
    GetStatus = app_status(Nothing) -> AppStatus;
    /// Creates the identity of a first run (and unlocks it).
    InitIdentity = init_identity(NewIdentity) -> AppStatus;
    Unlock = unlock(Passphrase) -> AppStatus;
    ListSpaces = list_spaces(Nothing) -> Vec<SpaceInfo>;
    CreateSpace = create_space(SpaceName) -> SpaceInfo;
    /// An invite code (with the inviter's address after `@` while sync runs).
    CreateInvite = create_invite(NewInvite) -> String;
    /// Offline exchange, step 1: the join request for an invite code.
    RequestJoin = request_join(Code) -> String;
    /// Joins over the network with a code that carries the inviter's address.
    JoinNetwork = join_network(Code) -> SpaceInfo;
    /// Offline exchange, step 2 at the inviter: the welcome for a join request.
    AcceptJoin = accept_join(Code) -> String;
    /// Offline exchange, step 3: the welcome opens the space.
    FinishJoin = finish_join(Code) -> SpaceInfo;
    NetworkStatus = network_status(Nothing) -> NetworkView;
    AddPeer = add_peer(PeerAddress) -> NetworkView;
    RemovePeer = remove_peer(PeerAddress) -> NetworkView;
    /// What the shown screen needs of a space, from one state of it.
    OpenSpaceCmd = open_space(OpenSpace) -> SpaceSnapshot;
    /// Creates a record; answers its id (hex) once it is durable.
    CreateRecord = create_record(NewRecord) -> String;
    EditRecordCmd = edit_record(EditRecord) -> ();
    MoveStatusCmd = move_status(MoveStatus) -> ();
    AddCommentCmd = add_comment(AddComment) -> ();
    /// The concurrent values of each conflicting field, the shown one first.
    RecordConflicts = record_conflicts(RecordRef) -> Vec<FieldConflict>;
    /// Every member device of a space with its standing now (removed ones too).
    ListMembers = list_members(SpaceRef) -> Vec<MemberStanding>;
    /// Changes a member's role (and ORP binding); a chair or secretary only.
    ChangeMemberCmd = change_member(ChangeMember) -> ();
    /// Revokes one device (a lost laptop) with a new key for everyone else: the new epoch.
    RevokeDevice = revoke_device(DeviceRef) -> u32;
    /// Which member devices signed that they hold a record's latest version, and since when
    /// (empty for a record not here yet).
    RecordDeliveries = record_deliveries(RecordRef) -> Vec<Delivery>;
    /// How far the newest key rotation of a space has reached: its epoch and how many member
    /// devices said they hold its key.
    KeyProgressCmd = key_progress(SpaceRef) -> KeyProgress;
    /// Where a drill stands now: its clock, the released injects with when each reached its
    /// targets, and for exercise control the injects still to come.
    ExerciseStatusCmd = exercise_status(SpaceRef) -> ExerciseStatus;
    /// Starts, pauses, resumes or stops a drill's clock, or jumps it to an inject's time
    /// (exercise control only); answers the status after it.
    ExerciseClockCmd = exercise_clock(ExerciseClock) -> ExerciseStatus;
    /// Imports the sample scenario (a flood in the Zlín region) into a drill (exercise control
    /// only); answers the status after it.
    ImportSampleScenario = import_sample_scenario(SpaceRef) -> ExerciseStatus;
    /// Releases an ad-hoc inject at once (exercise control only); answers the status after it.
    AdHocInjectCmd = ad_hoc_inject(NewAdHocInject) -> ExerciseStatus;
    /// The evaluation of a drill (exercise leaders and evaluators only).
    ExerciseEvaluation = exercise_evaluation(SpaceRef) -> Evaluation;
    /// Saves the evaluation as PDF or CSV in the documents folder; answers the file's full
    /// path.
    SaveEvaluationCmd = save_evaluation(SaveEvaluation) -> String;
    /// Records an evaluator's observation (evaluators and exercise leaders); answers its id.
    ObserveCmd = observe(NewObservation) -> String;
    /// Creates a record answering a released inject (linked to it); answers its id.
    AnswerInject = answer_inject(NewAnswer) -> String;
    /// Saves a situation report as a PDF (the report only; CVIČENÍ in a drill) in the
    /// documents folder; answers the file's full path.
    SaveReportPdf = save_report_pdf(ReportRef) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_compared_exactly() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(same_name(CreateRecord::NAME, "create_record"));
        assert!(!same_name(CreateRecord::NAME, "create_recor"));
        assert!(!same_name("unlock", "unloch"));
    }
}
