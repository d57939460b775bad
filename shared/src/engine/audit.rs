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
//! A damaged log (unreadable or torn lines, a broken chain, a cut tail, entries of another
//! device) never stops the node: [`AuditLog::recover`] keeps the file aside and starts a new
//! chain whose first entry records the damage and the old head.
//!
//! Refusals caused by peers go through [`AuditLog::refusal`]: the first of each kind (event,
//! source, reason) in an interval is written at once, further ones are counted and written as
//! one summary entry per kind when the interval ends, with one `fdatasync` for all of them.

use std::collections::BTreeMap;
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
            AuditEvent::KeyChanged | AuditEvent::MemberJoined | AuditEvent::InviteUsed => 5,
            AuditEvent::StateRebuilt | AuditEvent::WritesRestamped => 4,
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

/// Formats for SIEM export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Syslog,
    Cef,
}

/// Renders every entry in `format`, one line each.
pub fn export(
    path: &Path,
    format: ExportFormat,
    hostname: &str,
) -> Result<Vec<String>, AuditError> {
    let Scan {
        entries, problems, ..
    } = scan(path)?;
    if let Some(p) = problems.first() {
        return Err(AuditError::Broken(p.to_string()));
    }
    let host = sanitize_token(hostname);
    Ok(entries
        .iter()
        .map(|e| match format {
            ExportFormat::Jsonl => serde_json::to_string(e).unwrap_or_default(),
            ExportFormat::Syslog => syslog_line(e, &host),
            ExportFormat::Cef => cef_line(e, &host),
        })
        .collect())
}

fn sanitize_token(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if t.is_empty() {
        "-".to_owned()
    } else {
        t
    }
}

/// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`; facility 10 (authpriv).
fn syslog_line(e: &AuditEntry, host: &str) -> String {
    let severity = match e.event.severity() {
        7.. => 4,   // warning
        5 | 6 => 5, // notice
        _ => 6,     // informational
    };
    let pri = 10 * 8 + severity;
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(']', "\\]")
    };
    let mut sd = format!(
        "[krizlink@32473 seq=\"{}\" device=\"{}\" hash=\"{}\"",
        e.seq, e.device, e.hash
    );
    for (k, v) in &e.detail {
        let name: String = k
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(32)
            .collect();
        sd.push_str(&format!(" {name}=\"{}\"", escape(v)));
    }
    sd.push(']');
    format!(
        "<{pri}>1 {} {host} krizlink-node - {} {sd} {}",
        e.time,
        e.event.name(),
        e.event.name()
    )
}

/// ArcSight CEF: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
fn cef_line(e: &AuditEntry, host: &str) -> String {
    let ext = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('=', "\\=")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    };
    let millis = DateTime::parse_from_rfc3339(&e.time)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0);
    let mut extension = format!(
        "rt={millis} dvchost={} deviceExternalId={} cn1Label=seq cn1={} cs1Label=hash cs1={}",
        ext(host),
        e.device,
        e.seq,
        e.hash
    );
    let detail: Vec<String> = e.detail.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if !detail.is_empty() {
        extension.push_str(&format!(" msg={}", ext(&detail.join("; "))));
    }
    format!(
        "CEF:0|KrizLink|krizlink-node|{}|{}|{}|{}|{extension}",
        crate::VERSION,
        e.event.name(),
        e.event.name().replace('_', " "),
        e.event.severity()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(name: &str) -> (PathBuf, DeviceKeys) {
        let dir =
            std::env::temp_dir().join(format!("krizlink-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (dir.join("audit.log"), DeviceKeys::from_seed(&[5; 32]))
    }

    fn write_some(path: &Path, keys: &DeviceKeys) {
        let mut log = AuditLog::open(path, keys.device_id()).unwrap();
        let now = Utc::now();
        log.record(AuditEvent::DeviceCreated, &[], Some(keys), now)
            .unwrap();
        log.record(
            AuditEvent::UnlockFailed,
            &[("reason", "wrong passphrase".into())],
            None,
            now,
        )
        .unwrap();
        log.record(AuditEvent::UnlockOk, &[], Some(keys), now)
            .unwrap();
        log.record(
            AuditEvent::SpaceCreated,
            &[("space", "ab".repeat(16))],
            Some(keys),
            now,
        )
        .unwrap();
    }

    #[test]
    fn an_intact_log_verifies() {
        let (path, keys) = setup("intact");
        write_some(&path, &keys);
        let report = verify(&path, &keys.device_id()).unwrap();
        assert_eq!(report.entries, 4);
        assert_eq!(report.signed, 3);
        assert_eq!(report.unsealed_tail, 0);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // Reopening continues the chain.
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        log.record(AuditEvent::AuditExported, &[], Some(&keys), Utc::now())
            .unwrap();
        assert!(verify(&path, &keys.device_id())
            .unwrap()
            .problems
            .is_empty());
    }

    #[test]
    fn edits_removals_and_reordering_are_found_and_named() {
        let (path, keys) = setup("tamper");
        write_some(&path, &keys);
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        std::fs::write(&path, original.replace("wrong passphrase", "typo")).unwrap();
        assert!(verify(&path, &keys.device_id())
            .unwrap()
            .problems
            .contains(&AuditProblem::Edited { seq: 2 }));

        let removed = [lines[0], lines[2], lines[3]].join("\n");
        std::fs::write(&path, removed).unwrap();
        assert!(matches!(
            verify(&path, &keys.device_id()).unwrap().problems[0],
            AuditProblem::Broken {
                expected_seq: 2,
                found_seq: 3,
                ..
            }
        ));

        let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n");
        std::fs::write(&path, swapped).unwrap();
        assert!(!verify(&path, &keys.device_id())
            .unwrap()
            .problems
            .is_empty());

        std::fs::write(&path, original.replace("unlock_ok", "space_created")).unwrap();
        assert!(verify(&path, &keys.device_id())
            .unwrap()
            .problems
            .contains(&AuditProblem::Edited { seq: 3 }));

        std::fs::write(&path, format!("{original}not json\n")).unwrap();
        assert!(verify(&path, &keys.device_id())
            .unwrap()
            .problems
            .contains(&AuditProblem::Unreadable { line: 5 }));
    }

    #[test]
    fn exports_in_three_formats() {
        let (path, keys) = setup("export");
        write_some(&path, &keys);
        let jsonl = export(&path, ExportFormat::Jsonl, "kraj-srv").unwrap();
        assert_eq!(jsonl.len(), 4);
        assert!(serde_json::from_str::<AuditEntry>(&jsonl[1]).is_ok());
        let syslog = export(&path, ExportFormat::Syslog, "kraj-srv").unwrap();
        assert!(syslog[1].starts_with("<84>1 "), "{}", syslog[1]);
        assert!(
            syslog[1].contains(" kraj-srv krizlink-node - unlock_failed [krizlink@32473 seq=\"2\"")
        );
        let cef = export(&path, ExportFormat::Cef, "kraj-srv").unwrap();
        assert!(cef[1].starts_with("CEF:0|KrizLink|krizlink-node|"));
        assert!(cef[1].contains("|unlock_failed|unlock failed|7|rt="));
        assert!(cef[1].contains("msg=reason: wrong passphrase"));
    }

    fn lines_of(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn entries_cut_off_the_end_are_found() {
        let (path, keys) = setup("cut");
        write_some(&path, &keys);
        let lines = lines_of(&path);
        let report = verify(&path, &keys.device_id()).unwrap();
        assert_eq!(report.head, Some(4));
        write_lines(&path, &lines[..2]);
        let problems = verify(&path, &keys.device_id()).unwrap().problems;
        assert_eq!(problems, vec![AuditProblem::CutOff { last: 2, head: 4 }]);
        assert_eq!(
            problems[0].to_string(),
            "entries 3 to 4 were cut off the end (the signed head is entry 4)"
        );
        // Cut, then an unsigned failed unlock appended to reach the same length again.
        write_lines(&path, &lines[..3]);
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        assert!(log.damage().is_some());
        log.record(AuditEvent::UnlockFailed, &[], None, Utc::now())
            .unwrap();
        assert!(verify(&path, &keys.device_id())
            .unwrap()
            .problems
            .contains(&AuditProblem::HeadMismatch { seq: 4 }));
        // The whole file gone is a cut too.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            verify(&path, &keys.device_id()).unwrap().problems,
            vec![AuditProblem::CutOff { last: 0, head: 4 }]
        );
    }

    #[test]
    fn a_removed_head_is_found_once_the_chain_is_anchored() {
        let (path, keys) = setup("head");
        write_some(&path, &keys);
        std::fs::remove_file(path.with_extension("head")).unwrap();
        assert_eq!(
            verify(&path, &keys.device_id()).unwrap().problems,
            vec![AuditProblem::HeadMissing]
        );
        std::fs::write(path.with_extension("head"), [7u8; 2 * HEAD_SLOT]).unwrap();
        assert!(matches!(
            verify(&path, &keys.device_id()).unwrap().problems[..],
            [AuditProblem::HeadInvalid(_)]
        ));
        // A log written before heads existed (no anchor entry) is not blamed for lacking one.
        let legacy: Vec<String> = lines_of(&path)
            .into_iter()
            .filter(|l| !l.contains(ANCHORED))
            .collect();
        assert_eq!(legacy.len(), 3);
        std::fs::remove_file(path.with_extension("head")).unwrap();
        let (legacy_path, _) = setup("head-legacy");
        let mut log = AuditLog::open(&legacy_path, keys.device_id()).unwrap();
        log.anchored = true; // writes entries without the anchor mark, as before
        log.record(AuditEvent::DeviceCreated, &[], Some(&keys), Utc::now())
            .unwrap();
        std::fs::remove_file(legacy_path.with_extension("head")).unwrap();
        let report = verify(&legacy_path, &keys.device_id()).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // Reopened, the next signed entry anchors it.
        let mut log = AuditLog::open(&legacy_path, keys.device_id()).unwrap();
        assert!(log.damage().is_none());
        log.record(AuditEvent::UnlockOk, &[], Some(&keys), Utc::now())
            .unwrap();
        assert_eq!(
            verify(&legacy_path, &keys.device_id()).unwrap().head,
            Some(2)
        );
    }

    #[test]
    fn a_removed_signature_is_found() {
        let (path, keys) = setup("unsigned");
        write_some(&path, &keys);
        let mut lines = lines_of(&path);
        let mut entry: AuditEntry = serde_json::from_str(&lines[2]).unwrap();
        entry.sig = None;
        lines[2] = serde_json::to_string(&entry).unwrap();
        write_lines(&path, &lines);
        assert_eq!(
            verify(&path, &keys.device_id()).unwrap().problems,
            vec![AuditProblem::Unsigned { seq: 3 }]
        );
    }

    #[test]
    fn entries_of_another_device_are_found() {
        let (path, keys) = setup("foreign");
        write_some(&path, &keys);
        let intruder = DeviceKeys::from_seed(&[6; 32]);
        let mut log = AuditLog::open(&path, intruder.device_id()).unwrap();
        log.record(AuditEvent::UnlockOk, &[], Some(&intruder), Utc::now())
            .unwrap();
        let problems = verify(&path, &keys.device_id()).unwrap().problems;
        assert_eq!(
            problems,
            vec![AuditProblem::ForeignDevice {
                seq: 5,
                device: intruder.device_id().to_string()
            }]
        );
        // A whole log of another device, with its own head, is refused as well.
        let (other, _) = setup("foreign-whole");
        write_some(&other, &intruder);
        let problems = verify(&other, &keys.device_id()).unwrap().problems;
        assert!(problems.contains(&AuditProblem::ForeignDevice {
            seq: 1,
            device: intruder.device_id().to_string()
        }));
        assert!(matches!(
            problems.last(),
            Some(AuditProblem::HeadInvalid(_))
        ));
    }

    #[test]
    fn appended_entries_are_found() {
        let (path, keys) = setup("appended");
        write_some(&path, &keys);
        let lines = lines_of(&path);
        // An unsigned entry that is always signed, continuing the chain.
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        log.record(AuditEvent::MemberJoined, &[], None, Utc::now())
            .unwrap();
        assert_eq!(
            verify(&path, &keys.device_id()).unwrap().problems,
            vec![AuditProblem::Unsigned { seq: 5 }]
        );
        // A copy of a signed entry appended.
        let mut copied = lines.clone();
        copied.push(lines[3].clone());
        write_lines(&path, &copied);
        assert!(matches!(
            verify(&path, &keys.device_id()).unwrap().problems[..],
            [AuditProblem::Broken {
                expected_seq: 5,
                found_seq: 4,
                ..
            }]
        ));
        // A failed unlock needs no key: anyone can cause one, so it is only counted as unsealed.
        write_lines(&path, &lines);
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        log.record(AuditEvent::UnlockFailed, &[], None, Utc::now())
            .unwrap();
        let report = verify(&path, &keys.device_id()).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.unsealed_tail, 1);
    }

    #[test]
    fn a_damaged_log_is_kept_aside_and_a_new_chain_records_it() {
        let (path, keys) = setup("damaged");
        type Spoil = fn(&[u8]) -> Vec<u8>;
        let cases: [(&str, Spoil); 4] = [
            ("non-utf-8 line", |b| {
                [b, b"\xff\xfe\x00audit\n".as_slice()].concat()
            }),
            ("torn last line", |b| b[..b.len() - 40].to_vec()),
            ("garbage", |_| b"\x00\x01 not an audit log at all".to_vec()),
            ("cut tail", |b| {
                let text = String::from_utf8(b.to_vec()).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                (lines[..2].join("\n") + "\n").into_bytes()
            }),
        ];
        for (case, damage) in cases {
            let dir = path.parent().unwrap();
            std::fs::remove_dir_all(dir).unwrap();
            std::fs::create_dir_all(dir).unwrap();
            write_some(&path, &keys);
            let good = std::fs::read(&path).unwrap();
            let old_head = lines_of(&path)
                .iter()
                .map(|l| serde_json::from_str::<AuditEntry>(l).unwrap())
                .nth(1)
                .unwrap()
                .hash;
            let damaged = damage(&good);
            std::fs::write(&path, &damaged).unwrap();
            let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
            assert!(log.damage().is_some(), "{case}");
            // Before the key is unlocked, a failed unlock is still written (to the damaged file).
            log.record(AuditEvent::UnlockFailed, &[], None, Utc::now())
                .unwrap();
            let said = log.recover(&keys, Utc::now()).unwrap().unwrap();
            assert!(
                said.starts_with("the audit log was damaged ("),
                "{case}: {said}"
            );
            let kept: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains("audit.log.damaged-"))
                .collect();
            assert_eq!(kept.len(), 1, "{case}");
            assert!(std::fs::read(&kept[0])
                .unwrap()
                .starts_with(&damaged[..damaged.len().min(20)]));
            log.record(AuditEvent::UnlockOk, &[], Some(&keys), Utc::now())
                .unwrap();
            let report = verify(&path, &keys.device_id()).unwrap();
            assert_eq!(report.entries, 2, "{case}");
            assert!(
                matches!(
                    &report.problems[..],
                    [AuditProblem::EarlierDamage { seq: 1, .. }]
                ),
                "{case}: {:?}",
                report.problems
            );
            let first: AuditEntry = serde_json::from_str(&lines_of(&path)[0]).unwrap();
            assert_eq!(first.event, AuditEvent::LogDamaged);
            if case != "garbage" && case != "torn last line" {
                assert!(
                    first.detail.iter().any(|(k, _)| k == "old_last_hash"),
                    "{case}"
                );
            }
            if case == "cut tail" {
                assert_eq!(first.get("old_last_hash"), Some(old_head.as_str()));
                assert!(first.get("reason").unwrap().contains("cut off the end"));
            }
            // Reopened, the new chain is continued without further damage.
            assert!(AuditLog::open(&path, keys.device_id())
                .unwrap()
                .damage()
                .is_none());
        }
    }

    #[test]
    fn a_refusal_flood_is_counted_and_summarised_without_a_sync_each() {
        let (path, keys) = setup("flood");
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        log.record(AuditEvent::DeviceCreated, &[], Some(&keys), Utc::now())
            .unwrap();
        let start = Utc::now();
        let refuse = |log: &mut AuditLog, source: &str, at| {
            let detail = [("device", source.to_owned())];
            log.refusal(
                AuditEvent::InviteRefused,
                source,
                "unknown invite",
                &detail,
                &keys,
                at,
            )
            .unwrap()
        };
        let syncs = log.syncs();
        for _ in 0..500 {
            refuse(&mut log, "peer-a", start);
        }
        assert_eq!(log.syncs(), syncs, "no sync per refusal");
        assert_eq!(lines_of(&path).len(), 2, "the first is written at once");
        // More kinds than are written in full: counted, not dropped.
        for i in 0..(MAX_REFUSAL_KINDS + 10) {
            refuse(&mut log, &format!("peer-{i}"), start);
        }
        log.flush(&keys, start).unwrap();
        assert_eq!(log.syncs(), syncs + 1, "one sync for the whole flood");
        let entries: Vec<AuditEntry> = lines_of(&path)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let full = entries
            .iter()
            .filter(|e| e.event == AuditEvent::InviteRefused)
            .count();
        let summarised: u64 = entries
            .iter()
            .filter(|e| e.event == AuditEvent::RefusalsSummarized)
            .map(|e| e.get("count").unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(full, MAX_REFUSAL_KINDS);
        assert_eq!(
            full as u64 + summarised,
            500 + MAX_REFUSAL_KINDS as u64 + 10
        );
        assert_eq!(entries.len(), 1 + full + 2, "one summary per kind repeated");
        // A new interval writes the first of a kind again; the earlier one is summarised first.
        refuse(&mut log, "peer-a", start);
        refuse(&mut log, "peer-a", start);
        refuse(
            &mut log,
            "peer-a",
            start + chrono::Duration::seconds(REFUSAL_INTERVAL_SECS),
        );
        let events: Vec<AuditEvent> = lines_of(&path)
            .iter()
            .map(|l| serde_json::from_str::<AuditEntry>(l).unwrap().event)
            .collect();
        assert_eq!(
            events[events.len() - 3..],
            [
                AuditEvent::InviteRefused,
                AuditEvent::RefusalsSummarized,
                AuditEvent::InviteRefused
            ]
        );
        let report = verify(&path, &keys.device_id()).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}
