//! krizlink-node: the headless KrizLink peer and the scripting CLI for regional IT.
//!
//! Every command opens the data dir, does one thing and prints its result on stdout; errors go
//! to stderr as one line with the reason, with a non-zero exit code, and change nothing.
//! The contract (names, output, exit codes) is documented in docs/CLI.md.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use krizlink_core::engine::sync::{self, NetStatus};

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use krizlink_core::engine::audit::ExportFormat;
use krizlink_core::engine::keystore::KdfParams;
use krizlink_core::engine::node::{Node, NodeError};
use krizlink_core::merge::Comment;
use krizlink_core::op::Change;
use krizlink_core::record::{
    IncidentKind, JournalKind, Level, Priority, ReportKind, RequestStatus, SetField, StaffRole,
    TaskStatus,
};
use krizlink_core::views::{
    Contact, Incident, JournalEntry, Meta, ResourceRequest, SituationReport, Task,
};
use krizlink_core::{FieldValue, RecordId, RecordKind, SpaceId, Stamp, Status, Timestamp};

/// What a command reads and writes: the terminal (output streamed, so a long import shows each
/// id as soon as it is durable), or a control-socket client's text (collected).
struct Io {
    out: String,
    err: String,
    input: Box<dyn BufRead + Send>,
    /// Print at once instead of collecting.
    stream: bool,
}

impl Io {
    fn terminal() -> Io {
        Io {
            out: String::new(),
            err: String::new(),
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
            stream: true,
        }
    }

    fn write_out(&mut self, args: std::fmt::Arguments<'_>) {
        if self.stream {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_fmt(args).and_then(|()| stdout.flush());
        } else {
            use std::fmt::Write as _;
            let _ = self.out.write_fmt(args);
        }
    }

    fn write_err(&mut self, args: std::fmt::Arguments<'_>) {
        if self.stream {
            let _ = std::io::stderr().lock().write_fmt(args);
        } else {
            use std::fmt::Write as _;
            let _ = self.err.write_fmt(args);
        }
    }
}

macro_rules! outln {
    ($io:expr, $($arg:tt)*) => {
        $io.write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

macro_rules! errln {
    ($io:expr, $($arg:tt)*) => {
        $io.write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[path = "krizlink-node/serve.rs"]
mod serve;

/// Exit codes (docs/CLI.md).
const EXIT_ERROR: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_WRONG_PASSPHRASE: u8 = 3;
const EXIT_IN_USE: u8 = 4;
const EXIT_NOT_INITIALIZED: u8 = 5;

#[derive(Parser)]
#[command(
    name = "krizlink-node",
    version,
    about = "KrizLink headless peer and scripting CLI"
)]
struct Cli {
    /// Data directory (default: $XDG_DATA_HOME/krizlink or ~/.local/share/krizlink).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of KRIZLINK_PASSPHRASE or a prompt.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        /// Also hold this space as a blind relay: store and forward its ciphertext (repeatable).
        #[arg(long, value_name = "SPACE_ID")]
        blind_relay: Vec<String>,
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
enum PassphraseCmd {
    /// Set a new passphrase: from --new-passphrase-file, KRIZLINK_NEW_PASSPHRASE, or a prompt.
    Change {
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum InviteCmd {
    /// Create a one-use invite; prints the code to hand over.
    Create {
        #[command(flatten)]
        space: SpaceArg,
        /// chair | secretary | member | orp_coordinator | exercise_leader | observer.
        #[arg(long)]
        role: String,
        /// How long the invite stays valid, in hours (1 to 720).
        #[arg(long, default_value_t = 72)]
        valid_hours: u64,
    },
    /// Admit the device that sent REQUEST (from `join CODE --offline`); prints a welcome code.
    Accept { request: String },
}

#[derive(Subcommand)]
enum SpaceCmd {
    /// Create a space; prints its id.
    Create { name: String },
    /// List spaces.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct SpaceArg {
    /// Space id (hex, from `space list`).
    #[arg(long)]
    space: String,
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    space: SpaceArg,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum TaskCmd {
    /// Add a task; prints its id once durable.
    Add {
        #[command(flatten)]
        space: SpaceArg,
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
enum SitrepCmd {
    /// Send a situation report (immutable once written); prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
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
}

#[derive(Subcommand)]
enum JournalCmd {
    /// Append a journal entry; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
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
enum RequestCmd {
    /// Add a resource request; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
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
enum IncidentCmd {
    /// Add an incident; prints its id.
    Add {
        #[command(flatten)]
        space: SpaceArg,
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
enum ContactCmd {
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
enum AuditCmd {
    /// Check the hash chain and signatures; names every broken entry.
    Verify,
    /// Print the log for a SIEM: jsonl | syslog | cef.
    Export {
        #[arg(long)]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match run(cli, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Forwarded(code)) = e.downcast_ref::<Forwarded>() {
                return ExitCode::from(*code); // the serving peer's messages are printed already
            }
            eprintln!("krizlink-node: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code a command ended with on the serving peer (its output is already shown).
#[derive(Debug)]
struct Forwarded(u8);

impl std::fmt::Display for Forwarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Forwarded {}

fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<NodeError>() {
        Some(NodeError::WrongPassphrase) => EXIT_WRONG_PASSPHRASE,
        Some(NodeError::InUse(_)) => EXIT_IN_USE,
        Some(NodeError::NotInitialized(_)) => EXIT_NOT_INITIALIZED,
        _ => EXIT_ERROR,
    }
}

/// The error and its causes on one line, without repeating a cause the message already holds.
fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text.replace('\n', " ")
}

fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("krizlink"));
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| anyhow!("no --data-dir given and HOME is not set"))?;
    Ok(PathBuf::from(home).join(".local/share/krizlink"))
}

fn passphrase(file: Option<&Path>, confirm: bool) -> Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read passphrase file {}", path.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_owned());
    }
    if let Ok(p) = std::env::var("KRIZLINK_PASSPHRASE") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no passphrase: set KRIZLINK_PASSPHRASE, use --passphrase-file, or run in a terminal"
        );
    }
    let p =
        rpassword::prompt_password("Heslo / passphrase: ").context("cannot read the passphrase")?;
    if confirm {
        let again =
            rpassword::prompt_password("Znovu / again: ").context("cannot read the passphrase")?;
        if again != p {
            bail!("the two passphrases differ");
        }
    }
    Ok(p)
}

fn run(cli: Cli, args: Vec<String>) -> Result<()> {
    let dir = match cli.data_dir.clone() {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let pass_file = cli.passphrase_file.as_deref();
    if !matches!(cli.command, Command::Init { .. } | Command::Serve { .. }) {
        let with_stdin = matches!(cli.command, Command::Task(TaskCmd::Import { .. }));
        if let Some(code) = serve::forward(&dir, &args, with_stdin)? {
            return if code == 0 {
                Ok(())
            } else {
                Err(anyhow::Error::new(Forwarded(code)))
            };
        }
    }
    if let Command::Init { name } = &cli.command {
        if name.trim().is_empty() {
            bail!("the name must not be empty");
        }
        let pass = passphrase(pass_file, true)?;
        if pass.chars().count() < 8 {
            bail!("the passphrase must have at least 8 characters");
        }
        let node = Node::init(&dir, name, &pass, KdfParams::default())?;
        println!("{}", node.device_id());
        node.close()?;
        return Ok(());
    }
    let pass = passphrase(pass_file, false)?;
    let mut node = Node::open(&dir, &pass)?;
    for (space, reason) in node.damaged_spaces() {
        eprintln!("krizlink-node: warning: space {space} is read-only: {reason}");
    }
    for warning in node.warnings() {
        eprintln!("krizlink-node: warning: {warning}");
    }
    let result = match cli.command {
        Command::Serve {
            listen,
            peer,
            no_mdns,
            blind_relay,
        } => serve::serve(&mut node, listen, peer, !no_mdns, blind_relay),
        Command::Join {
            code: Some(code),
            offline: false,
            welcome: None,
            peer,
        } => serve::join_once(&mut node, &code, &peer),
        command => {
            let mut io = Io::terminal();
            dispatch(&mut node, &mut io, None, command)
        }
    };
    // Every change is already durable in the op log; failing to save derived state on the way
    // out loses nothing (the next start replays the log), so it is a warning, not an error.
    if let Err(e) = node.close() {
        eprintln!("krizlink-node: warning: {e}");
    }
    result
}

fn parse_space(node: &Node, text: &str) -> Result<SpaceId> {
    let id: SpaceId = text
        .parse()
        .map_err(|e| anyhow!("space id {text:?}: {e}"))?;
    node.replica(id)?;
    Ok(id)
}

fn parse_record(text: &str) -> Result<RecordId> {
    text.parse().map_err(|e| anyhow!("record id {text:?}: {e}"))
}

/// The id of a record of `kind` that must already exist in `space` (for `flag`).
fn existing(
    node: &Node,
    space: SpaceId,
    kind: RecordKind,
    text: &str,
    flag: &str,
) -> Result<RecordId> {
    let id = parse_record(text)?;
    if node.replica(space)?.record(kind, id).is_none() {
        bail!("{flag}: no {} {id} in this space", kind.code());
    }
    Ok(id)
}

fn parse_time(what: &str, text: &str) -> Result<Timestamp> {
    let t = Timestamp::parse_rfc3339(text).map_err(|_| {
        anyhow!("{what}: {text:?} is not an RFC 3339 time such as 2026-11-23T18:00:00+01:00")
    })?;
    if !t.is_plausible() {
        bail!("{what}: {text:?} is outside the years 1970 to 9999");
    }
    Ok(t)
}

fn parse_enum<T>(
    what: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
    codes: &[&str],
) -> Result<T> {
    parse(text).ok_or_else(|| anyhow!("unknown {what} {text:?}; use one of: {}", codes.join(", ")))
}

macro_rules! codes {
    ($t:ty) => {
        <$t>::ALL.iter().map(|v| v.code()).collect::<Vec<_>>()
    };
}

fn set(value: FieldValue) -> Change {
    Change::Set {
        value,
        bases: Default::default(),
    }
}

fn opt_text(changes: &mut Vec<Change>, value: Option<String>, field: fn(String) -> FieldValue) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        changes.push(set(field(v)));
    }
}

fn opt_count(changes: &mut Vec<Change>, value: Option<u32>, field: fn(u32) -> FieldValue) {
    if let Some(v) = value {
        changes.push(set(field(v)));
    }
}

fn priority(text: Option<String>) -> Result<Option<Priority>> {
    text.map(|p| parse_enum("priority", &p, Priority::parse, &codes!(Priority)))
        .transpose()
}

fn dispatch(node: &mut Node, io: &mut Io, net: Option<&NetStatus>, command: Command) -> Result<()> {
    match command {
        Command::Init { .. } => bail!("this data dir already holds an identity"),
        Command::Space(SpaceCmd::Create { name }) => {
            outln!(io, "{}", node.create_space(&name)?);
        }
        Command::Space(SpaceCmd::List { json }) => {
            let spaces = node.spaces();
            if json {
                let list: Vec<Value> = spaces
                    .iter()
                    .map(|s| {
                        let hash: String = node
                            .replica(s.id)
                            .map(|r| r.state_hash().0.iter().map(|b| format!("{b:02x}")).collect())
                            .unwrap_or_default();
                        json!({"id": s.id.to_string(), "name": s.name, "role": s.role.code(), "records": s.records, "operations": s.operations, "state_hash": hash})
                    })
                    .collect();
                outln!(io, "{}", Value::Array(list));
            } else {
                for s in spaces {
                    outln!(
                        io,
                        "{}  {}  ({}, {} records)",
                        s.id,
                        s.name,
                        s.role.label_cs(),
                        s.records
                    );
                }
            }
        }
        Command::Task(cmd) => task(node, io, cmd)?,
        Command::Sitrep(cmd) => sitrep(node, io, cmd)?,
        Command::Journal(cmd) => journal(node, io, cmd)?,
        Command::Request(cmd) => request(node, io, cmd)?,
        Command::Incident(cmd) => incident(node, io, cmd)?,
        Command::Contact(cmd) => contact(node, io, cmd)?,
        Command::Invite(InviteCmd::Create {
            space,
            role,
            valid_hours,
        }) => {
            let space = parse_space(node, &space.space)?;
            let role: StaffRole = role.parse().map_err(|_| {
                anyhow!(
                    "unknown role {role:?}; use one of: {}",
                    StaffRole::ALL
                        .iter()
                        .map(|r| r.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if !(1..=720).contains(&valid_hours) {
                bail!("--valid-hours must be 1 to 720");
            }
            let code = node.create_invite(space, role, valid_hours * 60)?;
            // A serving peer adds where it can be reached, for a one-step network join.
            match net.map(sync::invite_hint).filter(|h| !h.is_empty()) {
                Some(hint) => outln!(io, "{code}@{hint}"),
                None => outln!(io, "{code}"),
            }
        }
        Command::Invite(InviteCmd::Accept { request }) => {
            outln!(io, "{}", node.accept_join(&request)?);
        }
        Command::Join {
            code,
            offline,
            welcome,
            ..
        } => match (code, welcome) {
            (Some(_), Some(_)) => bail!("give either an invite code or --welcome, not both"),
            (None, Some(welcome)) => outln!(io, "{}", node.finish_join(&welcome)?),
            (Some(code), None) if offline => {
                let secret = code.split('@').next().unwrap_or_default();
                outln!(io, "{}", node.request_join(secret)?)
            }
            (Some(_), None) => {
                bail!("joining over the network is done by the peer itself; this should not happen")
            }
            (None, None) => bail!("give an invite code (join CODE --offline) or --welcome CODE"),
        },
        Command::Passphrase(PassphraseCmd::Change {
            new_passphrase_file,
        }) => {
            let new = match (
                new_passphrase_file,
                std::env::var("KRIZLINK_NEW_PASSPHRASE"),
            ) {
                (Some(path), _) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read passphrase file {}", path.display()))?
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                (None, Ok(p)) => p,
                (None, Err(_)) => {
                    if !std::io::stdin().is_terminal() {
                        bail!("no new passphrase: set KRIZLINK_NEW_PASSPHRASE, use --new-passphrase-file, or run in a terminal");
                    }
                    let p = rpassword::prompt_password("Nové heslo / new passphrase: ")
                        .context("cannot read the passphrase")?;
                    let again = rpassword::prompt_password("Znovu / again: ")
                        .context("cannot read the passphrase")?;
                    if again != p {
                        bail!("the two passphrases differ");
                    }
                    p
                }
            };
            if new.chars().count() < 8 {
                bail!("the passphrase must have at least 8 characters");
            }
            node.change_passphrase(&new)?;
            outln!(io, "passphrase changed");
        }
        Command::Audit(AuditCmd::Verify) => {
            let report = node.audit_verify()?;
            if report.problems.is_empty() {
                outln!(
                    io,
                    "audit log OK: {} entries, {} signed",
                    report.entries,
                    report.signed
                );
                if report.unsealed_tail > 0 {
                    outln!(
                        io,
                        "{} newest entries are not yet covered by a signature",
                        report.unsealed_tail
                    );
                }
            } else {
                for p in &report.problems {
                    outln!(io, "{p}");
                }
                bail!(
                    "the audit log has been tampered with: {} problem(s)",
                    report.problems.len()
                );
            }
        }
        Command::Serve { .. } => bail!("this data dir is served already"),
        Command::Status { json } => serve::status(node, io, net, json)?,
        Command::Audit(AuditCmd::Export { format }) => {
            let format = match format.as_str() {
                "jsonl" => ExportFormat::Jsonl,
                "syslog" => ExportFormat::Syslog,
                "cef" => ExportFormat::Cef,
                other => bail!("unknown format {other:?}; use jsonl, syslog or cef"),
            };
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            for line in node.audit_export(format, host.trim())? {
                outln!(io, "{line}");
            }
        }
    }
    Ok(())
}

fn task(node: &mut Node, io: &mut Io, cmd: TaskCmd) -> Result<()> {
    match cmd {
        TaskCmd::Add {
            space,
            title,
            description,
            assignee,
            due,
            priority: p,
            number,
            tag,
        } => {
            let space = parse_space(node, &space.space)?;
            let mut changes = vec![set(FieldValue::Title(title))];
            opt_text(&mut changes, description, FieldValue::Description);
            opt_text(&mut changes, number, FieldValue::Number);
            if let Some(due) = due {
                changes.push(set(FieldValue::Deadline(parse_time("--due", &due)?)));
            }
            if let Some(p) = priority(p)? {
                changes.push(set(FieldValue::Priority(p)));
            }
            for a in assignee {
                changes.push(Change::Add {
                    set: SetField::Assignees,
                    element: a,
                });
            }
            for t in tag {
                changes.push(Change::Add {
                    set: SetField::Tags,
                    element: t,
                });
            }
            outln!(
                io,
                "{}",
                node.create_record(space, RecordKind::Task, changes)?
            );
        }
        TaskCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let tasks = node.replica(space)?.tasks();
            print_list(io, args.json, &tasks, task_json, |t| {
                format!(
                    "{}  {:<9} {:<8} {:<25} {}",
                    t.meta.id,
                    t.status.label_cs(),
                    t.priority.label_cs(),
                    t.deadline.map(time_text).unwrap_or_else(|| "-".into()),
                    t.title
                )
            });
        }
        TaskCmd::Import { space } => {
            let space = parse_space(node, &space.space)?;
            let mut failed = 0usize;
            let input = std::mem::replace(&mut io.input, Box::new(std::io::empty()));
            for (n, line) in input.lines().enumerate() {
                let line = line.context("cannot read standard input")?;
                if line.trim().is_empty() {
                    continue;
                }
                match import_task(&line)
                    .and_then(|c| Ok(node.create_record(space, RecordKind::Task, c)?))
                {
                    Ok(id) => outln!(io, "{id}"),
                    Err(e) => {
                        failed += 1;
                        errln!(io, "krizlink-node: line {}: {}", n + 1, one_line(&e));
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} line(s) were not imported");
            }
        }
        TaskCmd::Status {
            space,
            record,
            status,
            note,
        } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            let to = parse_enum(
                "task status",
                &status,
                TaskStatus::parse,
                &codes!(TaskStatus),
            )?;
            node.move_status(space, record, RecordKind::Task, Status::Task(to), note)?;
            outln!(io, "{record} {}", to.code());
        }
        TaskCmd::Comment {
            space,
            record,
            text,
        } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            node.edit_record(
                space,
                record,
                RecordKind::Task,
                vec![Change::Comment { text }],
            )?;
            outln!(io, "{record}");
        }
    }
    Ok(())
}

/// One line of `task import`: a JSON object or a plain title.
fn import_task(line: &str) -> Result<Vec<Change>> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return Ok(vec![set(FieldValue::Title(trimmed.to_owned()))]);
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        title: String,
        description: Option<String>,
        #[serde(default)]
        assignees: Vec<String>,
        due: Option<String>,
        priority: Option<String>,
        number: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
    }
    let l: Line = serde_json::from_str(trimmed).context("not a task: expected {\"title\": ...}")?;
    let mut changes = vec![set(FieldValue::Title(l.title))];
    opt_text(&mut changes, l.description, FieldValue::Description);
    opt_text(&mut changes, l.number, FieldValue::Number);
    if let Some(due) = l.due {
        changes.push(set(FieldValue::Deadline(parse_time("due", &due)?)));
    }
    if let Some(p) = priority(l.priority)? {
        changes.push(set(FieldValue::Priority(p)));
    }
    for a in l.assignees {
        changes.push(Change::Add {
            set: SetField::Assignees,
            element: a,
        });
    }
    for t in l.tags {
        changes.push(Change::Add {
            set: SetField::Tags,
            element: t,
        });
    }
    Ok(changes)
}

fn sitrep(node: &mut Node, io: &mut Io, cmd: SitrepCmd) -> Result<()> {
    match cmd {
        SitrepCmd::Add {
            space,
            kind,
            sender,
            as_of,
            number,
            recipient,
            period,
            situation,
            injured,
            dead,
            evacuated,
            missing,
            affected_buildings,
            supply_outages,
            measures,
            forces,
            expected,
            prepared_by,
            contact,
            supersedes,
        } => {
            let space = parse_space(node, &space.space)?;
            let kind = parse_enum("report kind", &kind, ReportKind::parse, &codes!(ReportKind))?;
            let mut c = vec![
                set(FieldValue::ReportKind(kind)),
                set(FieldValue::Sender(sender)),
                set(FieldValue::AsOf(parse_time("--as-of", &as_of)?)),
            ];
            opt_count(&mut c, number, FieldValue::ReportNumber);
            opt_text(&mut c, recipient, FieldValue::Recipient);
            opt_text(&mut c, period, FieldValue::Period);
            opt_text(&mut c, situation, FieldValue::Situation);
            opt_count(&mut c, injured, FieldValue::Injured);
            opt_count(&mut c, dead, FieldValue::Dead);
            opt_count(&mut c, evacuated, FieldValue::Evacuated);
            opt_count(&mut c, missing, FieldValue::Missing);
            opt_count(&mut c, affected_buildings, FieldValue::AffectedBuildings);
            opt_text(&mut c, supply_outages, FieldValue::SupplyOutages);
            opt_text(&mut c, measures, FieldValue::Measures);
            opt_text(&mut c, forces, FieldValue::ForcesDeployed);
            opt_text(&mut c, expected, FieldValue::ExpectedDevelopment);
            opt_text(&mut c, prepared_by, FieldValue::PreparedBy);
            opt_text(&mut c, contact, FieldValue::ContactInfo);
            if let Some(old) = supersedes {
                let old = existing(
                    node,
                    space,
                    RecordKind::SituationReport,
                    &old,
                    "--supersedes",
                )?;
                c.push(set(FieldValue::Supersedes(old)));
            }
            outln!(
                io,
                "{}",
                node.create_record(space, RecordKind::SituationReport, c)?
            );
        }
        SitrepCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let reports = node.replica(space)?.situation_reports();
            print_list(io, args.json, &reports, sitrep_json, |r| {
                format!(
                    "{}  {} č. {}  stav k {}  {}{}",
                    r.meta.id,
                    r.kind.label_cs(),
                    r.number
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                    time_text(r.as_of),
                    r.sender,
                    if r.superseded_by.is_empty() {
                        ""
                    } else {
                        "  (nahrazena opravou)"
                    }
                )
            });
        }
    }
    Ok(())
}

fn journal(node: &mut Node, io: &mut Io, cmd: JournalCmd) -> Result<()> {
    match cmd {
        JournalCmd::Add {
            space,
            text,
            kind,
            event_time,
            author,
            source,
            corrects,
        } => {
            let space = parse_space(node, &space.space)?;
            let kind = parse_enum(
                "journal kind",
                &kind,
                JournalKind::parse,
                &codes!(JournalKind),
            )?;
            let mut c = vec![
                set(FieldValue::JournalKind(kind)),
                set(FieldValue::Text(text)),
            ];
            if let Some(t) = event_time {
                c.push(set(FieldValue::EventTime(parse_time("--event-time", &t)?)));
            }
            opt_text(&mut c, author, FieldValue::Author);
            opt_text(&mut c, source, FieldValue::Source);
            if let Some(old) = corrects {
                let old = existing(node, space, RecordKind::JournalEntry, &old, "--corrects")?;
                c.push(set(FieldValue::Corrects(old)));
            }
            outln!(
                io,
                "{}",
                node.create_record(space, RecordKind::JournalEntry, c)?
            );
        }
        JournalCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let entries = node.replica(space)?.journal();
            print_list(io, args.json, &entries, journal_json, |e| {
                format!(
                    "{}  {}  {:<16} {}",
                    e.meta.id,
                    time_text(e.event_time),
                    e.kind.label_cs(),
                    e.text
                )
            });
        }
    }
    Ok(())
}

fn request(node: &mut Node, io: &mut Io, cmd: RequestCmd) -> Result<()> {
    match cmd {
        RequestCmd::Add {
            space,
            requester,
            item,
            quantity,
            unit,
            delivery_place,
            needed_by,
            priority: p,
            reason,
        } => {
            let space = parse_space(node, &space.space)?;
            let mut c = vec![
                set(FieldValue::Requester(requester)),
                set(FieldValue::Item(item)),
            ];
            opt_count(&mut c, quantity, FieldValue::Quantity);
            opt_text(&mut c, unit, FieldValue::Unit);
            opt_text(&mut c, delivery_place, FieldValue::DeliveryPlace);
            if let Some(t) = needed_by {
                c.push(set(FieldValue::NeededBy(parse_time("--needed-by", &t)?)));
            }
            if let Some(p) = priority(p)? {
                c.push(set(FieldValue::Priority(p)));
            }
            opt_text(&mut c, reason, FieldValue::Reason);
            outln!(
                io,
                "{}",
                node.create_record(space, RecordKind::ResourceRequest, c)?
            );
        }
        RequestCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let requests = node.replica(space)?.resource_requests();
            print_list(io, args.json, &requests, request_json, |r| {
                format!(
                    "{}  {:<17} {} {} {}  ({})",
                    r.meta.id,
                    r.status.label_cs(),
                    r.quantity.map(|q| q.to_string()).unwrap_or_default(),
                    r.unit.clone().unwrap_or_default(),
                    r.item,
                    r.requester
                )
            });
        }
        RequestCmd::Status {
            space,
            record,
            status,
            reason,
        } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            let to = parse_enum(
                "request status",
                &status,
                RequestStatus::parse,
                &codes!(RequestStatus),
            )?;
            node.move_status(
                space,
                record,
                RecordKind::ResourceRequest,
                Status::Request(to),
                reason,
            )?;
            outln!(io, "{record} {}", to.code());
        }
    }
    Ok(())
}

fn incident(node: &mut Node, io: &mut Io, cmd: IncidentCmd) -> Result<()> {
    match cmd {
        IncidentCmd::Add {
            space,
            title,
            kind,
            place,
            level,
            start,
            description,
            municipality,
        } => {
            let space = parse_space(node, &space.space)?;
            let kind = parse_enum(
                "incident kind",
                &kind,
                IncidentKind::parse,
                &codes!(IncidentKind),
            )?;
            let mut c = vec![
                set(FieldValue::Title(title)),
                set(FieldValue::IncidentKind(kind)),
            ];
            opt_text(&mut c, place, FieldValue::Place);
            opt_text(&mut c, description, FieldValue::Description);
            if let Some(l) = level {
                c.push(set(FieldValue::Level(parse_enum(
                    "level",
                    &l,
                    Level::parse,
                    &codes!(Level),
                )?)));
            }
            if let Some(t) = start {
                c.push(set(FieldValue::Start(parse_time("--start", &t)?)));
            }
            for m in municipality {
                c.push(Change::Add {
                    set: SetField::AffectedMunicipalities,
                    element: m,
                });
            }
            outln!(
                io,
                "{}",
                node.create_record(space, RecordKind::Incident, c)?
            );
        }
        IncidentCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let incidents = node.replica(space)?.incidents();
            print_list(io, args.json, &incidents, incident_json, |i| {
                format!(
                    "{}  {:<13} {:<26} {}",
                    i.meta.id,
                    i.state.label_cs(),
                    i.level.map(|l| l.label_cs()).unwrap_or("-"),
                    i.title
                )
            });
        }
    }
    Ok(())
}

fn contact(node: &mut Node, io: &mut Io, cmd: ContactCmd) -> Result<()> {
    match cmd {
        ContactCmd::Add {
            space,
            name,
            function,
            organization,
            phone,
            email,
            data_box,
            radio,
            note,
        } => {
            let space = parse_space(node, &space.space)?;
            let mut c = vec![set(FieldValue::Name(name))];
            opt_text(&mut c, function, FieldValue::Function);
            opt_text(&mut c, organization, FieldValue::Organization);
            opt_text(&mut c, phone, FieldValue::Phone);
            opt_text(&mut c, email, FieldValue::Email);
            opt_text(&mut c, data_box, FieldValue::DataBox);
            opt_text(&mut c, radio, FieldValue::RadioCallSign);
            opt_text(&mut c, note, FieldValue::Note);
            outln!(io, "{}", node.create_record(space, RecordKind::Contact, c)?);
        }
        ContactCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let contacts = node.replica(space)?.contacts();
            print_list(io, args.json, &contacts, contact_json, |c| {
                format!(
                    "{}  {}  {}  {}",
                    c.meta.id,
                    c.name,
                    c.function.clone().unwrap_or_default(),
                    c.phone.clone().unwrap_or_default()
                )
            });
        }
    }
    Ok(())
}

fn print_list<T>(
    io: &mut Io,
    json: bool,
    items: &[T],
    to_json: fn(&T) -> Value,
    to_line: impl Fn(&T) -> String,
) {
    if json {
        outln!(io, "{}", Value::Array(items.iter().map(to_json).collect()));
    } else {
        for item in items {
            outln!(io, "{}", to_line(item));
        }
    }
}

fn time_text(t: Timestamp) -> String {
    t.to_datetime()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into())
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map(|t| Value::String(time_text(t)))
        .unwrap_or(Value::Null)
}

fn stamp_time(s: Stamp) -> String {
    time_text(Timestamp(i64::try_from(s.hlc.wall_ms).unwrap_or(i64::MAX)))
}

fn meta_json(m: &Meta, fields: &mut serde_json::Map<String, Value>) {
    fields.insert("id".into(), json!(m.id.to_string()));
    fields.insert("created_by".into(), json!(m.created_by.to_string()));
    fields.insert("created_at".into(), json!(stamp_time(m.created_at)));
    fields.insert("updated_at".into(), json!(stamp_time(m.updated_at)));
    fields.insert(
        "conflicting_fields".into(),
        json!(m
            .conflicting_fields
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()),
    );
}

fn with_meta(m: &Meta, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    meta_json(m, &mut map);
    if let Value::Object(rest) = value {
        map.extend(rest);
    }
    Value::Object(map)
}

fn comments_json(comments: &[Comment]) -> Value {
    Value::Array(
        comments
            .iter()
            .map(|c| json!({"author": c.author.to_string(), "time": stamp_time(c.stamp), "text": c.text}))
            .collect(),
    )
}

fn task_json(t: &Task) -> Value {
    with_meta(
        &t.meta,
        json!({
            "number": t.number, "title": t.title, "description": t.description, "assigned_by": t.assigned_by,
            "assignees": t.assignees, "deadline": opt_time(t.deadline), "priority": t.priority.code(),
            "status": t.status.code(), "status_conflicts": t.status_conflicts.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "outcome": t.outcome, "tags": t.tags, "links": t.links, "comments": comments_json(&t.comments),
        }),
    )
}

fn sitrep_json(r: &SituationReport) -> Value {
    with_meta(
        &r.meta,
        json!({
            "kind": r.kind.code(), "number": r.number, "sender": r.sender, "recipient": r.recipient,
            "as_of": time_text(r.as_of), "period": r.period, "situation": r.situation,
            "impact": {"injured": r.injured, "dead": r.dead, "evacuated": r.evacuated, "missing": r.missing,
                       "affected_buildings": r.affected_buildings, "supply_outages": r.supply_outages},
            "measures": r.measures, "forces_deployed": r.forces_deployed, "expected_development": r.expected_development,
            "prepared_by": r.prepared_by, "contact": r.contact, "linked_requests": r.linked_requests,
            "supersedes": r.supersedes.map(|i| i.to_string()),
            "superseded_by": r.superseded_by.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        }),
    )
}

fn journal_json(e: &JournalEntry) -> Value {
    with_meta(
        &e.meta,
        json!({
            "event_time": time_text(e.event_time), "written_at": time_text(e.written_at), "kind": e.kind.code(),
            "text": e.text, "author": e.author, "author_role": e.author_role, "workstation": e.workstation,
            "source": e.source, "corrects": e.corrects.map(|i| i.to_string()), "tags": e.tags,
        }),
    )
}

fn request_json(r: &ResourceRequest) -> Value {
    with_meta(
        &r.meta,
        json!({
            "requester": r.requester, "item": r.item, "quantity": r.quantity, "unit": r.unit,
            "delivery_place": r.delivery_place, "needed_by": opt_time(r.needed_by), "priority": r.priority.code(),
            "reason": r.reason, "status": r.status.code(), "status_note": r.status_note,
            "status_conflicts": r.status_conflicts.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "handled_by": r.handled_by, "tags": r.tags, "comments": comments_json(&r.comments),
        }),
    )
}

fn incident_json(i: &Incident) -> Value {
    with_meta(
        &i.meta,
        json!({
            "title": i.title, "kind": i.kind.code(), "description": i.description, "place": i.place,
            "location": i.location.map(|g| json!({"lat": g.lat_e6 as f64 / 1e6, "lon": g.lon_e6 as f64 / 1e6})),
            "start": opt_time(i.start), "state": i.state.code(),
            "level": i.level.map(|l| l.code()), "affected_municipalities": i.affected_municipalities,
            "tags": i.tags, "comments": comments_json(&i.comments),
        }),
    )
}

fn contact_json(c: &Contact) -> Value {
    with_meta(
        &c.meta,
        json!({
            "name": c.name, "function": c.function, "organization": c.organization, "phone": c.phone,
            "email": c.email, "data_box": c.data_box, "radio_call_sign": c.radio_call_sign, "note": c.note,
        }),
    )
}
