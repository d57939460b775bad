//! The audit log: hash-chained, signed entries for security events, appended to
//! `audit.log` in the data dir as JSON lines, verifiable and exportable for a SIEM.
//!
//! Each entry's hash covers the previous entry's hash and its own fields, so an edited, removed
//! or reordered entry breaks the chain from that point. Every entry is signed by this device,
//! except a failed unlock (written while the device key is sealed); the next signed entry's hash
//! covers it. A chain cannot show entries cut off its end, so after each synced write the node
//! signs the chain's head (entry number and hash) into `audit.head`, two fixed slots written in
//! turn: a log shorter than its signed head, or whose entry differs from it, has been cut or
//! replaced. The head is written only after the log's `fdatasync`, never synced itself: after a
//! crash it may lag the log (entries past it are still checked for this device's signature),
//! never lead it. Entries hold ids and reasons, never record content.
//!
//! Over 700 lines because the chain, its signed head, verification and recovery share the
//! entry format and the head's slots, and each needs all of it; export (`audit/export.rs`) and
//! the tests (`audit/tests.rs`) live beside it.
//!
//! A damaged log (unreadable or torn lines, a broken chain, a cut tail, entries of another
//! device) never stops the node: [`AuditLog::recover`] keeps the file aside and starts a new
//! chain whose first entry records the damage and the old head.
//!
//! Refusals caused by peers go through [`AuditLog::refusal`]: the first of each kind (event,
//! source, reason) in an interval is written at once, further ones are counted and written as
//! one summary entry per kind when the interval ends, with one `fdatasync` for all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::keys::{self, DeviceKeys, SIGNATURE_LEN};
use crate::engine::private;
use crate::ids::DeviceId;

/// Longest audit line read back; longer lines are reported as damage.
const MAX_LINE: usize = 16 * 1024;

/// Refusals caused by peers are summarised per this many seconds.
pub const REFUSAL_INTERVAL_SECS: i64 = 60;

/// Kinds of refusal (event, source, reason) written in full per interval; refusals of further
/// kinds are counted per event and summarised, never dropped.
pub const MAX_REFUSAL_KINDS: usize = 32;

/// The detail key of the entry that started anchoring a chain in `audit.head`: once a chain
/// holds it, a missing `audit.head` is a problem.
const ANCHORED: &str = "anchored";

const HEAD_DOMAIN: &[u8] = b"krizlink/audit-head/v1\n";
/// One head slot: entry number (8 bytes, big-endian), entry hash (32), signature (64).
const HEAD_SLOT: usize = 8 + 32 + SIGNATURE_LEN;

/// The kinds of security events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    DeviceCreated,
    UnlockOk,
    UnlockFailed,
    SpaceCreated,
    InviteCreated,
    InviteUsed,
    InviteRefused,
    MemberJoined,
    OperationRejected,
    KeyChanged,
    AuditExported,
    StateRebuilt,
    /// The previous audit log was damaged, kept aside, and this chain started anew.
    LogDamaged,
    /// Refusals of one kind counted over an interval instead of written one by one.
    RefusalsSummarized,
    /// This device's own operations were stamped too far in the future (its clock ran ahead
    /// and was put right) and were stamped again at the real time.
    WritesRestamped,
    /// A device signed two different envelopes for one operation id (a data dir copied or
    /// restored from an older copy and written on), or this device got back writes of its own
    /// that it had lost.
    DeviceForked,
    /// This device (a chair's or secretary's) signed a new member list for relays.
    MemberListIssued,
    /// A fork was healed: losing envelopes replaced by the winners everyone keeps, and this
    /// device's own losing writes issued again under fresh numbers (`node/heal.rs`).
    ForkHealed,
    /// This device changed a member's role or ORP binding.
    MemberRoleChanged,
    /// This device removed a member's device from a space (with a key rotation).
    MemberRemoved,
    /// This device took a new space key (a rotation after a removal).
    KeyRotated,
}

impl AuditEvent {
    /// 0 (debug) to 10 (very high), as CEF wants it.
    pub fn severity(self) -> u8 {
        match self {
            AuditEvent::LogDamaged | AuditEvent::DeviceForked => 8,
            AuditEvent::UnlockFailed
            | AuditEvent::OperationRejected
            | AuditEvent::InviteRefused
            | AuditEvent::RefusalsSummarized => 7,
            AuditEvent::KeyChanged
            | AuditEvent::MemberJoined
            | AuditEvent::InviteUsed
            | AuditEvent::MemberRoleChanged
            | AuditEvent::MemberRemoved
            | AuditEvent::KeyRotated => 5,
            AuditEvent::StateRebuilt
            | AuditEvent::WritesRestamped
            | AuditEvent::MemberListIssued
            | AuditEvent::ForkHealed => 4,
            _ => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::DeviceCreated => "device_created",
            AuditEvent::UnlockOk => "unlock_ok",
            AuditEvent::UnlockFailed => "unlock_failed",
            AuditEvent::SpaceCreated => "space_created",
            AuditEvent::InviteCreated => "invite_created",
            AuditEvent::InviteUsed => "invite_used",
            AuditEvent::InviteRefused => "invite_refused",
            AuditEvent::MemberJoined => "member_joined",
            AuditEvent::OperationRejected => "operation_rejected",
            AuditEvent::KeyChanged => "key_changed",
            AuditEvent::AuditExported => "audit_exported",
            AuditEvent::StateRebuilt => "state_rebuilt",
            AuditEvent::LogDamaged => "log_damaged",
            AuditEvent::RefusalsSummarized => "refusals_summarized",
            AuditEvent::WritesRestamped => "writes_restamped",
            AuditEvent::DeviceForked => "device_forked",
            AuditEvent::MemberListIssued => "member_list_issued",
            AuditEvent::ForkHealed => "fork_healed",
            AuditEvent::MemberRoleChanged => "member_role_changed",
            AuditEvent::MemberRemoved => "member_removed",
            AuditEvent::KeyRotated => "key_rotated",
        }
    }
}

/// One entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub time: String,
    pub device: String,
    pub event: AuditEvent,
    /// Event details (ids, reasons), as ordered key-value pairs.
    pub detail: Vec<(String, String)>,
    pub prev: String,
    pub hash: String,
    pub sig: Option<String>,
}

impl AuditEntry {
    fn get(&self, key: &str) -> Option<&str> {
        self.detail
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot access the audit log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the audit log does not verify: {0}")]
    Broken(String),
}

/// A problem `verify` found, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditProblem {
    Unreadable {
        line: usize,
    },
    /// The last line ends without a newline and is not a whole entry (a torn write).
    Torn {
        line: usize,
    },
    Edited {
        seq: u64,
    },
    BadSignature {
        seq: u64,
    },
    /// An entry of an event that is always signed carries no signature.
    Unsigned {
        seq: u64,
    },
    /// An entry names another device than this data dir's.
    ForeignDevice {
        seq: u64,
        device: String,
    },
    /// The chain does not continue here: entries before it were removed or reordered.
    Broken {
        line: usize,
        expected_seq: u64,
        found_seq: u64,
    },
    /// The log ends before the entry its signed head names.
    CutOff {
        last: u64,
        head: u64,
    },
    /// The entry the signed head names is not in the log as signed.
    HeadMismatch {
        seq: u64,
    },
    /// The chain was anchored, but `audit.head` is gone.
    HeadMissing,
    /// `audit.head` holds no head signed by this device.
    HeadInvalid(String),
    /// An earlier audit log was found damaged and this chain started anew (entry `seq` says so).
    EarlierDamage {
        seq: u64,
        reason: String,
        kept_at: String,
    },
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditProblem::Unreadable { line } => write!(f, "line {line} is not a readable audit entry"),
            AuditProblem::Torn { line } => write!(f, "line {line} is cut off (a torn write)"),
            AuditProblem::Edited { seq } => write!(f, "entry {seq} was edited (its hash does not match)"),
            AuditProblem::BadSignature { seq } => write!(f, "entry {seq} has an invalid signature"),
            AuditProblem::Unsigned { seq } => write!(f, "entry {seq} has no signature (it was removed)"),
            AuditProblem::ForeignDevice { seq, device } => {
                write!(f, "entry {seq} was written by another device ({device})")
            }
            AuditProblem::Broken { line, expected_seq, found_seq } => write!(
                f,
                "line {line}: expected entry {expected_seq}, found entry {found_seq} (entries removed or reordered)"
            ),
            AuditProblem::CutOff { last, head } => write!(
                f,
                "entries {} to {head} were cut off the end (the signed head is entry {head})",
                last + 1
            ),
            AuditProblem::HeadMismatch { seq } => {
                write!(f, "entry {seq} is not the entry the signed head names (entries replaced)")
            }
            AuditProblem::HeadMissing => write!(
                f,
                "the signed head audit.head is missing: entries cut off the end cannot be ruled out"
            ),
            AuditProblem::HeadInvalid(reason) => {
                write!(f, "the signed head audit.head is not valid: {reason}")
            }
            AuditProblem::EarlierDamage { seq, reason, kept_at } => write!(
                f,
                "entry {seq}: the earlier audit log was damaged ({reason}); it is kept at {kept_at} and this chain started anew"
            ),
        }
    }
}

/// The outcome of `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub entries: usize,
    pub signed: usize,
    /// Unsigned entries at the end, not yet covered by a signed one.
    pub unsealed_tail: usize,
    /// The entry the signed head names, if any.
    pub head: Option<u64>,
    pub problems: Vec<AuditProblem>,
}

/// What was wrong with the log when it was opened.
#[derive(Debug, Clone)]
struct Damage {
    reason: String,
    /// The last entry of the readable chain, if any.
    last: Option<(u64, String)>,
}

/// Refusals caused by peers in the current interval.
#[derive(Default)]
struct Refusals {
    since: Option<DateTime<Utc>>,
    /// (event, source, reason): refusals past the first, which was written in full.
    kinds: BTreeMap<(AuditEvent, String, String), u64>,
    /// Refusals of kinds past [`MAX_REFUSAL_KINDS`], per event.
    other: BTreeMap<AuditEvent, u64>,
}

/// The audit log of one data dir.
pub struct AuditLog {
    path: PathBuf,
    head_path: PathBuf,
    device: DeviceId,
    last_seq: u64,
    last_hash: String,
    /// Entries written since the last `fdatasync`.
    unsynced: bool,
    /// `audit.head` holds this chain's signed head.
    anchored: bool,
    /// The file ends without a newline (a whole entry whose newline was lost).
    needs_newline: bool,
    damage: Option<Damage>,
    refusals: Refusals,
    syncs: u64,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn entry_hash(
    prev: &str,
    seq: u64,
    time: &str,
    device: &str,
    event: AuditEvent,
    detail: &[(String, String)],
) -> String {
    let mut h = Sha256::new();
    h.update(b"krizlink/audit/v1\n");
    h.update(prev.as_bytes());
    h.update(seq.to_be_bytes());
    for part in [time, device, event.name()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    for (k, v) in detail {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A signed chain head: the entry number and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    seq: u64,
    hash: [u8; 32],
}

fn head_message(seq: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = HEAD_DOMAIN.to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m
}

/// The newest head in `path` signed by `device`: `Ok(None)` when there is no file, an error
/// sentence when the file holds no valid head.
fn read_head(path: &Path, device: &DeviceId) -> Result<Option<Head>, String> {
    let bytes = match private::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    bytes
        .chunks_exact(HEAD_SLOT)
        .take(2)
        .filter_map(|slot| {
            let seq = u64::from_be_bytes(slot[..8].try_into().ok()?);
            let hash: [u8; 32] = slot[8..40].try_into().ok()?;
            let sig: [u8; SIGNATURE_LEN] = slot[40..].try_into().ok()?;
            keys::verify(device, &head_message(seq, &hash), &sig).ok()?;
            Some(Head { seq, hash })
        })
        .max_by_key(|h| h.seq)
        .map(Some)
        .ok_or_else(|| "it holds no head signed by this device".to_owned())
}

/// The log read leniently: whole entries, and what could not be read.
struct Scan {
    entries: Vec<AuditEntry>,
    problems: Vec<AuditProblem>,
    needs_newline: bool,
}

fn scan(path: &Path) -> Result<Scan, AuditError> {
    let bytes = match private::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(AuditError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let unterminated = !bytes.is_empty() && !bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let mut out = Scan {
        entries: Vec::new(),
        problems: Vec::new(),
        needs_newline: false,
    };
    for (i, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry = std::str::from_utf8(line)
            .ok()
            .filter(|l| l.len() <= MAX_LINE)
            .and_then(|l| serde_json::from_str::<AuditEntry>(l).ok());
        let last = i + 1 == lines.len();
        match entry {
            Some(entry) => {
                out.needs_newline = last && unterminated;
                out.entries.push(entry);
            }
            None if last && unterminated => out.problems.push(AuditProblem::Torn { line: i + 1 }),
            None => out.problems.push(AuditProblem::Unreadable { line: i + 1 }),
        }
    }
    Ok(out)
}

/// Checks the chain against `device` and the signed `head`; signatures only when `signatures`.
fn check(
    entries: &[AuditEntry],
    mut problems: Vec<AuditProblem>,
    device: &DeviceId,
    head: Result<Option<Head>, String>,
    signatures: bool,
) -> AuditReport {
    let own = device.to_string();
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut signed = 0;
    let mut unsealed_tail = 0;
    let mut anchored = false;
    for (i, e) in entries.iter().enumerate() {
        if e.seq != expected_seq || e.prev != prev {
            problems.push(AuditProblem::Broken {
                line: i + 1,
                expected_seq,
                found_seq: e.seq,
            });
        }
        let recomputed = entry_hash(&e.prev, e.seq, &e.time, &e.device, e.event, &e.detail);
        if recomputed != e.hash {
            problems.push(AuditProblem::Edited { seq: e.seq });
        }
        anchored |= e.get(ANCHORED).is_some();
        if e.device != own {
            problems.push(AuditProblem::ForeignDevice {
                seq: e.seq,
                device: e.device.chars().take(64).collect(),
            });
        } else if let Some(sig) = &e.sig {
            let ok = !signatures
                || unhex::<SIGNATURE_LEN>(sig)
                    .is_some_and(|sig| keys::verify(device, e.hash.as_bytes(), &sig).is_ok());
            if ok {
                signed += 1;
                unsealed_tail = 0;
            } else {
                problems.push(AuditProblem::BadSignature { seq: e.seq });
            }
        } else if e.event == AuditEvent::UnlockFailed {
            unsealed_tail += 1;
        } else {
            problems.push(AuditProblem::Unsigned { seq: e.seq });
        }
        if e.event == AuditEvent::LogDamaged {
            problems.push(AuditProblem::EarlierDamage {
                seq: e.seq,
                reason: e.get("reason").unwrap_or("unknown").to_owned(),
                kept_at: e.get("kept_at").unwrap_or("unknown").to_owned(),
            });
        }
        prev = e.hash.clone();
        expected_seq = e.seq + 1;
    }
    let last = entries.last().map_or(0, |e| e.seq);
    let head_seq = match head {
        Err(reason) => {
            problems.push(AuditProblem::HeadInvalid(reason));
            None
        }
        Ok(None) => {
            if anchored {
                problems.push(AuditProblem::HeadMissing);
            }
            None
        }
        Ok(Some(h)) => {
            match entries.iter().find(|e| e.seq == h.seq) {
                None if last < h.seq => problems.push(AuditProblem::CutOff { last, head: h.seq }),
                Some(e) if unhex::<32>(&e.hash) == Some(h.hash) => {}
                _ => problems.push(AuditProblem::HeadMismatch { seq: h.seq }),
            }
            Some(h.seq)
        }
    };
    AuditReport {
        entries: entries.len(),
        signed,
        unsealed_tail,
        head: head_seq,
        problems,
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => private::sync_dir(parent),
        _ => Ok(()),
    }
}

impl AuditLog {
    /// Opens the log at `path` for `device`, continuing its chain. Damage is remembered, not an
    /// error: [`AuditLog::recover`] sets the file aside once the device key is unlocked; until
    /// then entries are appended to the damaged file.
    pub fn open(path: &Path, device: DeviceId) -> Result<AuditLog, AuditError> {
        let head_path = path.with_extension("head");
        let (scan, damage_read) = match scan(path) {
            Ok(s) => (s, None),
            Err(e) => (
                Scan {
                    entries: Vec::new(),
                    problems: Vec::new(),
                    needs_newline: true,
                },
                Some(e.to_string()),
            ),
        };
        let head = read_head(&head_path, &device);
        let anchored = matches!(head, Ok(Some(_)));
        // Opening checks the structure only; signatures are checked by `verify`.
        let report = check(&scan.entries, scan.problems, &device, head, false);
        let (last_seq, last_hash) = scan
            .entries
            .last()
            .map(|e| (e.seq, e.hash.clone()))
            .unwrap_or((0, GENESIS.to_owned()));
        let found: Vec<&AuditProblem> = report
            .problems
            .iter()
            .filter(|p| !matches!(p, AuditProblem::EarlierDamage { .. }))
            .collect();
        let reason = damage_read.or_else(|| {
            found.first().map(|first| match found.len() {
                1 => first.to_string(),
                n => format!("{first}, and {} more problem(s)", n - 1),
            })
        });
        let damage = reason.map(|reason| Damage {
            reason,
            last: (last_seq > 0).then(|| (last_seq, last_hash.clone())),
        });
        Ok(AuditLog {
            path: path.to_owned(),
            head_path,
            device,
            last_seq,
            last_hash,
            unsynced: false,
            anchored,
            needs_newline: scan.needs_newline,
            damage,
            refusals: Refusals::default(),
            syncs: 0,
        })
    }

    /// What was wrong with the log when it was opened, if it has not been recovered yet.
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_ref().map(|d| d.reason.as_str())
    }

    /// The number of `fdatasync`s of the log in this run.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// If the log was damaged when opened: keeps the damaged file (and its head) aside under a
    /// timestamped name, never deleting it, and starts a new chain whose first entry records the
    /// damage and the old head. Returns a sentence for the person.
    pub fn recover(
        &mut self,
        keys: &DeviceKeys,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, AuditError> {
        let Some(damage) = self.damage.take() else {
            return Ok(None);
        };
        let stamp = now.timestamp_millis();
        let name = |file: &Path| {
            let base = file
                .file_name()
                .map_or("audit".into(), |n| n.to_string_lossy().into_owned());
            file.with_file_name(format!("{base}.damaged-{stamp}"))
        };
        let aside = name(&self.path);
        let moved = |from: &Path, to: &Path| match fs::rename(from, to) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(AuditError::Io {
                path: from.to_owned(),
                source,
            }),
        };
        let kept = match moved(&self.path, &aside) {
            Ok(kept) => kept,
            Err(e) => {
                self.damage = Some(damage);
                return Err(e);
            }
        };
        if moved(&self.head_path, &name(&self.head_path)).is_err() {
            // The log is aside already; the old head must not count against the new chain.
            let _ = fs::remove_file(&self.head_path);
        }
        self.last_seq = 0;
        self.last_hash = GENESIS.to_owned();
        self.anchored = false;
        self.needs_newline = false;
        self.unsynced = false;
        let kept_at = if kept {
            aside.display().to_string()
        } else {
            "nowhere (the file was gone)".to_owned()
        };
        let mut detail = vec![
            ("reason", damage.reason.clone()),
            ("kept_at", kept_at.clone()),
        ];
        if let Some((seq, hash)) = damage.last {
            detail.push(("old_last_entry", seq.to_string()));
            detail.push(("old_last_hash", hash));
        }
        self.record(AuditEvent::LogDamaged, &detail, Some(keys), now)?;
        Ok(Some(format!(
            "the audit log was damaged ({}); it is kept at {kept_at} and a new chain was started",
            damage.reason
        )))
    }

    /// Appends an event, signed, without its own `fdatasync`: the next synced write (or
    /// [`AuditLog::flush`]) makes it durable. For what follows from something already durable
    /// elsewhere and can be known again from it (a key taken from a logged rotation).
    pub fn note(
        &mut self,
        event: AuditEvent,
        detail: &[(&str, String)],
        keys: &DeviceKeys,
        now: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        self.append(event, detail, Some(keys), now)
    }

    /// Appends an event, signed when `keys` are at hand, and syncs it to disk (with any
    /// refusals written before it).
    pub fn record(
        &mut self,
        event: AuditEvent,
        detail: &[(&str, String)],
        keys: Option<&DeviceKeys>,
        now: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        if let Some(keys) = keys {
            if self.refusals_due(now) {
                self.flush(keys, now)?;
            }
        }
        self.append(event, detail, keys, now)?;
        self.sync(keys)
    }

    fn io_err(&self, source: io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes one entry, without syncing it.
    fn append(
        &mut self,
        event: AuditEvent,
        detail: &[(&str, String)],
        keys: Option<&DeviceKeys>,
        now: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let seq = self.last_seq + 1;
        let time = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let device = self.device.to_string();
        let mut detail: Vec<(String, String)> = detail
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let anchoring = keys.is_some() && !self.anchored && self.damage.is_none();
        if anchoring {
            detail.push((ANCHORED.to_owned(), "audit.head".to_owned()));
        }
        let hash = entry_hash(&self.last_hash, seq, &time, &device, event, &detail);
        let sig = keys.map(|k| hex(&k.sign(hash.as_bytes())));
        let entry = AuditEntry {
            seq,
            time,
            device,
            event,
            detail,
            prev: self.last_hash.clone(),
            hash,
            sig,
        };
        let mut line = String::new();
        if self.needs_newline {
            line.push('\n');
        }
        line.push_str(
            &serde_json::to_string(&entry).map_err(|e| self.io_err(io::Error::other(e)))?,
        );
        line.push('\n');
        let mut file = private::open(&self.path, private::options().create(true).append(true))
            .map_err(|e| self.io_err(e))?;
        file.write_all(line.as_bytes())
            .map_err(|e| self.io_err(e))?;
        self.needs_newline = false;
        self.unsynced = true;
        self.last_seq = seq;
        self.last_hash = entry.hash;
        Ok(())
    }

    /// Syncs what was written, then signs the new head into `audit.head` (when the key is at
    /// hand and the log is not damaged). The head is synced only when first created.
    fn sync(&mut self, keys: Option<&DeviceKeys>) -> Result<(), AuditError> {
        if !self.unsynced {
            return Ok(());
        }
        private::open(&self.path, private::options().append(true))
            .and_then(|f| f.sync_data())
            .map_err(|e| self.io_err(e))?;
        self.syncs += 1;
        self.unsynced = false;
        let Some(keys) = keys else { return Ok(()) };
        if self.damage.is_some() {
            return Ok(());
        }
        let Some(hash) = unhex::<32>(&self.last_hash) else {
            return Ok(());
        };
        let seq = self.last_seq;
        let mut slot = Vec::with_capacity(HEAD_SLOT);
        slot.extend_from_slice(&seq.to_be_bytes());
        slot.extend_from_slice(&hash);
        slot.extend_from_slice(&keys.sign(&head_message(seq, &hash)));
        let first = !self.anchored;
        let head_err = |source| AuditError::Io {
            path: self.head_path.clone(),
            source,
        };
        let mut file = private::open(
            &self.head_path,
            private::options().create(true).write(true).truncate(first),
        )
        .map_err(head_err)?;
        file.seek(SeekFrom::Start((seq % 2) * HEAD_SLOT as u64))
            .and_then(|_| file.write_all(&slot))
            .map_err(head_err)?;
        if first {
            // Once the chain says it is anchored, a missing head is a problem: make it durable.
            file.sync_all()
                .and_then(|()| sync_dir(&self.head_path))
                .map_err(head_err)?;
            self.anchored = true;
        }
        Ok(())
    }

    fn refusals_due(&self, now: DateTime<Utc>) -> bool {
        self.refusals
            .since
            .is_some_and(|since| (now - since).num_seconds() >= REFUSAL_INTERVAL_SECS)
    }

    /// Records a refusal caused by a peer. The first of its kind (event, `source`, `reason`)
    /// in an interval is written in full at once, without its own `fdatasync` (the next synced
    /// write covers it); further ones are counted and summarised when the interval ends or on
    /// [`AuditLog::flush`]. Past [`MAX_REFUSAL_KINDS`] kinds, refusals are counted per event.
    pub fn refusal(
        &mut self,
        event: AuditEvent,
        source: &str,
        reason: &str,
        detail: &[(&str, String)],
        keys: &DeviceKeys,
        now: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        if self.refusals_due(now) {
            self.flush(keys, now)?;
        }
        self.refusals.since.get_or_insert(now);
        let key = (event, source.to_owned(), reason.to_owned());
        if let Some(count) = self.refusals.kinds.get_mut(&key) {
            *count += 1;
            return Ok(());
        }
        if self.refusals.kinds.len() >= MAX_REFUSAL_KINDS {
            *self.refusals.other.entry(event).or_default() += 1;
            return Ok(());
        }
        self.refusals.kinds.insert(key, 0);
        self.append(event, detail, Some(keys), now)
    }

    /// Writes the refusal summaries if their interval has ended (a long-running peer calls
    /// this on its timer, so a burst is summarised even when nothing follows it).
    pub fn flush_due(&mut self, keys: &DeviceKeys, now: DateTime<Utc>) -> Result<(), AuditError> {
        if self.refusals_due(now) {
            self.flush(keys, now)?;
        }
        Ok(())
    }

    /// Writes the summaries of the interval's refusals, one entry per kind, and syncs the log
    /// once (covering the refusals written in full too).
    pub fn flush(&mut self, keys: &DeviceKeys, now: DateTime<Utc>) -> Result<(), AuditError> {
        if let Some(since) = self.refusals.since.take() {
            let since = since.to_rfc3339_opts(SecondsFormat::Millis, true);
            let kinds = std::mem::take(&mut self.refusals.kinds);
            let other = std::mem::take(&mut self.refusals.other);
            let summaries =
                kinds
                    .into_iter()
                    .filter(|(_, count)| *count > 0)
                    .chain(other.into_iter().map(|(event, count)| {
                        let kind = (
                            event,
                            "further sources".to_owned(),
                            "further kinds".to_owned(),
                        );
                        (kind, count)
                    }));
            for ((event, source, reason), count) in summaries {
                let detail = [
                    ("event", event.name().to_owned()),
                    ("source", source),
                    ("reason", reason),
                    ("count", count.to_string()),
                    ("since", since.clone()),
                ];
                self.append(AuditEvent::RefusalsSummarized, &detail, Some(keys), now)?;
            }
        }
        self.sync(Some(keys))
    }
}

/// Checks the whole chain, every signature and the signed head against `device`, naming each
/// problem.
pub fn verify(path: &Path, device: &DeviceId) -> Result<AuditReport, AuditError> {
    let scan = scan(path)?;
    let head = read_head(&path.with_extension("head"), device);
    Ok(check(&scan.entries, scan.problems, device, head, true))
}

mod export;
pub use export::{export, export_marked, ExportFormat, EXERCISE_MARK};

#[cfg(test)]
mod tests;
