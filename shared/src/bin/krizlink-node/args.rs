//! The command line as clap types: every command, its flags and their help text (the contract
//! is docs/CLI.md). Parsed once in `main` and again, for a forwarded command, in `serve`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "krizlink-node",
    version,
    about = "KrizLink headless peer and scripting CLI"
)]
pub(crate) struct Cli {
    /// Data directory (default: KRIZLINK_DATA_DIR, else $XDG_DATA_HOME/krizlink, else
    /// ~/.local/share/krizlink).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of KRIZLINK_PASSPHRASE or a prompt.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create this device's identity.
    Init {
        #[arg(long)]
        name: String,
    },
    /// Spaces (staffs) this device holds.
    #[command(subcommand)]
    Space(SpaceCmd),
    /// Tasks (úkoly).
    #[command(subcommand)]
    Task(TaskCmd),
    /// Situation reports (situační zprávy).
    #[command(subcommand)]
    Sitrep(SitrepCmd),
    /// Journal entries (záznamy do deníku).
    #[command(subcommand)]
    Journal(JournalCmd),
    /// Resource requests (požadavky na síly a prostředky).
    #[command(subcommand)]
    Request(RequestCmd),
    /// Incidents (mimořádné události).
    #[command(subcommand)]
    Incident(IncidentCmd),
    /// Contacts (kontakty).
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Invites to a space.
    #[command(subcommand)]
    Invite(InviteCmd),
    /// Members of a space: their devices, roles, ORP and the key epoch.
    #[command(subcommand)]
    Member(MemberCmd),
    /// One device of a member (a lost or replaced laptop).
    #[command(subcommand)]
    Device(DeviceCmd),
    /// A drill (cvičení): its scenario, its clock, its injects.
    #[command(subcommand)]
    Exercise(ExerciseCmd),
    /// Join a space with an invite code.
    Join {
        /// The invite code (KRZ-...), for the first step.
        code: Option<String>,
        /// Exchange codes by hand instead of over the network: prints a request code.
        #[arg(long)]
        offline: bool,
        /// The welcome code from the inviting device, for the last step.
        #[arg(long, value_name = "CODE")]
        welcome: Option<String>,
        /// Where to reach the inviting device (repeatable), besides the addresses in the code.
        #[arg(long, value_name = "MULTIADDR")]
        peer: Vec<String>,
    },
    /// The audit log of security events.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Run as an always-on peer: sync with other peers until SIGINT/SIGTERM. Prints the peer
    /// id, then each listen address, one per line. Other commands on the same data dir reach
    /// the running peer through its control socket.
    Serve {
        /// Address to listen on (repeatable). Default: TCP and QUIC on port 7470, all interfaces.
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<String>,
        /// A peer to dial and keep dialling (repeatable), e.g. /ip4/10.0.0.5/tcp/7470.
        #[arg(long, value_name = "MULTIADDR")]
        peer: Vec<String>,
        /// Do not discover peers on the local network.
        #[arg(long)]
        no_mdns: bool,
        /// Also hold a space as a blind relay (store and forward its ciphertext), with the grant
        /// a chair or secretary made for this device by `space grant-relay` (repeatable).
        #[arg(long, value_name = "GRANT")]
        blind_relay: Vec<String>,
    },
    /// Who holds a record's latest version: each member device, from its own signed receipt.
    Receipts {
        #[command(flatten)]
        space: SpaceArg,
        /// The record id (hex, as the lists print it).
        record: String,
        #[arg(long)]
        json: bool,
    },
    /// Network state: peers, last sync with each, my changes not yet on any other peer.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// The keystore's passphrase.
    #[command(subcommand)]
    Passphrase(PassphraseCmd),
}

#[derive(Subcommand)]
pub(crate) enum PassphraseCmd {
    /// Set a new passphrase: from --new-passphrase-file, KRIZLINK_NEW_PASSPHRASE, or a prompt.
    Change {
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum MemberCmd {
    /// Every device admitted to the space: name, role, ORP, standing, key epoch.
    List {
        #[command(flatten)]
        space: SpaceArg,
        #[arg(long)]
        json: bool,
    },
    /// Promote, demote or rebind a member (chair or secretary; only a chair touches a chair).
    Role {
        #[command(flatten)]
        space: SpaceArg,
        /// A device id (16 hex digits or more) or a member's name, if only one has it.
        member: String,
        /// chair | secretary | member | orp_coordinator | exercise_leader | observer.
        role: String,
        /// The ORP of an ORP coordinator.
        #[arg(long)]
        orp: Option<String>,
    },
    /// Remove a member with all their devices, with a new space key for everyone else.
    Remove {
        #[command(flatten)]
        space: SpaceArg,
        /// A device id, or a member's name (all devices of that name are removed).
        member: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum DeviceCmd {
    /// Revoke one device: its later operations count nowhere, and the space gets a new key
    /// that every remaining device receives and the revoked one cannot read.
    Revoke {
        #[command(flatten)]
        space: SpaceArg,
        /// The device id (16 hex digits or more; `member list` shows them).
        device: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum InviteCmd {
    /// Create a one-use invite; prints the code to hand over.
    Create {
        #[command(flatten)]
        space: SpaceArg,
        /// chair | secretary | member | orp_coordinator | exercise_leader | observer.
        #[arg(long)]
        role: String,
        /// The ORP an ORP coordinator is bound to (required for orp_coordinator), e.g. "Vsetín".
        #[arg(long)]
        orp: Option<String>,
        /// How long the invite stays valid, in hours (1 to 720).
        #[arg(long, default_value_t = 72)]
        valid_hours: u64,
    },
    /// Admit the device that sent REQUEST (from `join CODE --offline`); prints a welcome code.
    Accept { request: String },
}

#[derive(Subcommand)]
pub(crate) enum SpaceCmd {
    /// Create a space; prints its id.
    Create {
        name: String,
        /// An exercise space (cvičení): marked so everywhere, for good.
        #[arg(long)]
        exercise: bool,
    },
    /// List spaces.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Let a device relay a space blind (chair or secretary): prints the grant its operator
    /// passes to `serve --blind-relay`. Members sync the space only with relays granted so.
    GrantRelay {
        #[command(flatten)]
        space: SpaceArg,
        /// The relay's peer id (the first line `serve` prints) or device id.
        #[arg(long)]
        relay: String,
    },
}

/// In a drill: the released inject a new record answers (it is linked to it), and for
/// exercise control the simulated originator it is written as (the simulation cell).
#[derive(Args)]
pub(crate) struct AnswerArg {
    /// In an exercise: the number of the released inject this record answers.
    #[arg(long, value_name = "N")]
    pub(crate) answers: Option<u32>,
    /// In an exercise, exercise control only: write as this simulated originator
    /// (e.g. "ČHMÚ"); shown as "ČHMÚ — simulováno".
    #[arg(long = "as", value_name = "ORIGINATOR")]
    pub(crate) simulated: Option<String>,
}

#[derive(Args)]
pub(crate) struct SpaceArg {
    /// Space id (hex, from `space list`).
    #[arg(long)]
    pub(crate) space: String,
}

#[derive(Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) space: SpaceArg,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Subcommand)]
pub(crate) enum TaskCmd {
    /// Add a task; prints its id once durable.
    Add {
        #[command(flatten)]
        space: SpaceArg,
        #[command(flatten)]
        answer: AnswerArg,
        #[arg(long)]
        title: String,
        #[arg(long)]
        description: Option<String>,
        /// A member or ORP responsible (repeatable).
        #[arg(long)]
        assignee: Vec<String>,
        /// Deadline, RFC 3339 (e.g. 2026-11-23T18:00:00+01:00).
        #[arg(long)]
        due: Option<String>,
        /// low | normal | high | critical (or nízká | běžná | vysoká | kritická).
        #[arg(long)]
        priority: Option<String>,
        #[arg(long)]
        number: Option<String>,
        #[arg(long)]
        tag: Vec<String>,
    },
    List(ListArgs),
    /// Add tasks from standard input, one per line: JSON objects with the fields of `task add`
    /// (title, description, assignees, due, priority, number, tags) or plain titles. Prints each
    /// id as soon as that task is durable; a bad line is reported and the rest still imported.
    Import {
        #[command(flatten)]
        space: SpaceArg,
    },
    /// Move a task's status: assigned | accepted | in-progress | done | not-done | cancelled.
    Status {
        #[command(flatten)]
        space: SpaceArg,
        record: String,
        status: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Add a comment to a task.
    Comment {
        #[command(flatten)]
        space: SpaceArg,
        record: String,
        text: String,
    },
}

// The report form has many optional fields; the enum is parsed once per run, so its size is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum SitrepCmd {
    /// Send a situation report (immutable once written); prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
        #[command(flatten)]
        answer: AnswerArg,
        /// situation | interim | final.
        #[arg(long, default_value = "situation")]
        kind: String,
        #[arg(long)]
        sender: String,
        /// "Stav k" time, RFC 3339.
        #[arg(long)]
        as_of: String,
        #[arg(long)]
        number: Option<u32>,
        #[arg(long)]
        recipient: Option<String>,
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        situation: Option<String>,
        #[arg(long)]
        injured: Option<u32>,
        #[arg(long)]
        dead: Option<u32>,
        #[arg(long)]
        evacuated: Option<u32>,
        #[arg(long)]
        missing: Option<u32>,
        #[arg(long)]
        affected_buildings: Option<u32>,
        #[arg(long)]
        supply_outages: Option<String>,
        #[arg(long)]
        measures: Option<String>,
        #[arg(long)]
        forces: Option<String>,
        #[arg(long)]
        expected: Option<String>,
        #[arg(long)]
        prepared_by: Option<String>,
        #[arg(long)]
        contact: Option<String>,
        /// Id of the earlier report this one corrects.
        #[arg(long)]
        supersedes: Option<String>,
    },
    List(ListArgs),
    /// Write one report as a PDF file (A4, the report alone; marked CVIČENÍ in a drill).
    Pdf {
        #[command(flatten)]
        space: SpaceArg,
        /// The report's id (hex, as `sitrep list` prints it).
        record: String,
        /// The PDF file to write (replaced if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum JournalCmd {
    /// Append a journal entry; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
        #[command(flatten)]
        answer: AnswerArg,
        #[arg(long)]
        text: String,
        /// information | decision | resolution | incoming-message | outgoing-message | phone-call | task.
        #[arg(long, default_value = "information")]
        kind: String,
        /// Time of the event, RFC 3339 (default: now).
        #[arg(long)]
        event_time: Option<String>,
        #[arg(long)]
        author: Option<String>,
        #[arg(long)]
        source: Option<String>,
        /// Id of the earlier entry this one corrects.
        #[arg(long)]
        corrects: Option<String>,
    },
    List(ListArgs),
}

#[derive(Subcommand)]
pub(crate) enum RequestCmd {
    /// Add a resource request; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
        #[command(flatten)]
        answer: AnswerArg,
        #[arg(long)]
        requester: String,
        #[arg(long)]
        item: String,
        #[arg(long)]
        quantity: Option<u32>,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        delivery_place: Option<String>,
        #[arg(long)]
        needed_by: Option<String>,
        #[arg(long)]
        priority: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    List(ListArgs),
    /// Move a request's status: under-review | approved | partially-fulfilled | fulfilled | rejected | escalated.
    Status {
        #[command(flatten)]
        space: SpaceArg,
        record: String,
        status: String,
        /// The reason (required for rejected).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum IncidentCmd {
    /// Add an incident; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
        #[command(flatten)]
        answer: AnswerArg,
        #[arg(long)]
        title: String,
        /// flood | flash-flood | fire | hazardous-release | power-outage | snow-calamity | epidemic | traffic-accident | other.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        place: Option<String>,
        /// spa1 | spa2 | spa3 | spa3-extreme | state-of-danger | state-of-emergency | state-of-threat | state-of-war.
        #[arg(long)]
        level: Option<String>,
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// A municipality affected (repeatable).
        #[arg(long)]
        municipality: Vec<String>,
    },
    List(ListArgs),
}

#[derive(Subcommand)]
pub(crate) enum ContactCmd {
    /// Add a contact; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        function: Option<String>,
        #[arg(long)]
        organization: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        data_box: Option<String>,
        #[arg(long)]
        radio: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    List(ListArgs),
}

#[derive(Subcommand)]
pub(crate) enum ExerciseCmd {
    /// Import a scenario (MSEL) from CSV or JSON, or the sample scenario (--sample); an inject
    /// whose number the scenario holds is replaced. Nothing is imported unless every row is valid.
    Import {
        #[command(flatten)]
        space: SpaceArg,
        /// The scenario file (.csv or .json).
        #[arg(required_unless_present = "sample", conflicts_with = "sample")]
        file: Option<PathBuf>,
        /// Import the sample scenario shipped with KrizLink (a flood in the Zlín region).
        #[arg(long)]
        sample: bool,
    },
    /// Print the scenario (controllers only) as CSV or JSON, or write it to --out.
    Export {
        #[command(flatten)]
        space: SpaceArg,
        #[arg(long)]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Start the exercise clock (T+00:00 now).
    Start {
        #[command(flatten)]
        space: SpaceArg,
    },
    /// Pause the clock: exercise time stands still, nothing is released.
    Pause {
        #[command(flatten)]
        space: SpaceArg,
    },
    /// Resume a paused clock.
    Resume {
        #[command(flatten)]
        space: SpaceArg,
    },
    /// Stop the exercise for good.
    Stop {
        #[command(flatten)]
        space: SpaceArg,
    },
    /// Jump the clock to an exercise time (T+hh:mm) or to an inject's time (--inject N).
    Jump {
        #[command(flatten)]
        space: SpaceArg,
        #[arg(required_unless_present = "inject", conflicts_with = "inject")]
        to: Option<String>,
        #[arg(long, value_name = "N")]
        inject: Option<u32>,
    },
    /// The clock, the released injects (scheduled, released, reached) and, for controllers,
    /// the injects to come.
    Status {
        #[command(flatten)]
        space: SpaceArg,
        #[arg(long)]
        json: bool,
    },
    /// The evaluation: hot wash, expected actions met or not, response times per ORP and
    /// role, objectives, the improvement plan and the timeline (controllers and evaluators).
    Evaluate {
        #[command(flatten)]
        space: SpaceArg,
        /// csv | json | pdf
        #[arg(long)]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// An evaluator's observation on an inject: met or not, a comment, a corrective action.
    Observe {
        #[command(flatten)]
        space: SpaceArg,
        /// The inject's number.
        #[arg(long, value_name = "N")]
        inject: u32,
        /// yes | no (ano | ne): whether the expected action was met.
        #[arg(long)]
        met: Option<String>,
        #[arg(long, default_value = "")]
        text: String,
        /// A corrective action for the improvement plan.
        #[arg(long)]
        corrective: Option<String>,
        #[arg(long, requires = "corrective")]
        owner: Option<String>,
        /// Its due date, RFC 3339.
        #[arg(long, requires = "corrective")]
        due: Option<String>,
    },
    /// Release an ad-hoc inject now (controllers only).
    Inject {
        #[command(flatten)]
        space: SpaceArg,
        /// Whom it is for: všichni, "ORP <name>", a role, or a member's name.
        #[arg(long)]
        to: String,
        #[arg(long)]
        text: String,
        /// The simulated originator (default: řízení cvičení).
        #[arg(long)]
        from: Option<String>,
        /// telefonát, e-mail, datová zpráva, osobně or rádio (default: telefonát).
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        subject: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCmd {
    /// Check the hash chain and signatures; names every broken entry.
    Verify,
    /// Print the log for a SIEM: jsonl | syslog | cef.
    Export {
        #[arg(long)]
        format: String,
    },
}
