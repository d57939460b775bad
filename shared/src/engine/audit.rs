//! The audit log: hash-chained, signed entries for security events, appended to
//! `audit.log` in the data dir as JSON lines, verifiable and exportable for a SIEM.
//!
//! Each entry's hash covers the previous entry's hash and its own fields, so an edited, removed
//! or reordered entry breaks the chain from that point. Entries written while the device key is
//! sealed (a failed unlock) carry no signature; the next signed entry's hash covers them, so
//! they cannot be edited unnoticed either. Entries hold ids and reasons, never record content.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::keys::{self, DeviceKeys};
use crate::ids::DeviceId;

/// Longest audit line read back; longer lines are reported as damage.
const MAX_LINE: usize = 16 * 1024;

/// The kinds of security events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl AuditEvent {
    /// 0 (debug) to 10 (very high), as CEF wants it.
    pub fn severity(self) -> u8 {
        match self {
            AuditEvent::UnlockFailed
            | AuditEvent::OperationRejected
            | AuditEvent::InviteRefused => 7,
            AuditEvent::KeyChanged | AuditEvent::MemberJoined | AuditEvent::InviteUsed => 5,
            AuditEvent::StateRebuilt => 4,
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
    Edited {
        seq: u64,
    },
    BadSignature {
        seq: u64,
    },
    /// The chain does not continue here: entries before it were removed or reordered.
    Broken {
        line: usize,
        expected_seq: u64,
        found_seq: u64,
    },
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditProblem::Unreadable { line } => write!(f, "line {line} is not a readable audit entry"),
            AuditProblem::Edited { seq } => write!(f, "entry {seq} was edited (its hash does not match)"),
            AuditProblem::BadSignature { seq } => write!(f, "entry {seq} has an invalid signature"),
            AuditProblem::Broken { line, expected_seq, found_seq } => write!(
                f,
                "line {line}: expected entry {expected_seq}, found entry {found_seq} (entries removed or reordered)"
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
    pub problems: Vec<AuditProblem>,
}

/// The audit log of one data dir.
pub struct AuditLog {
    path: PathBuf,
    device: DeviceId,
    last_seq: u64,
    last_hash: String,
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

fn unhex64(text: &str) -> Option<[u8; 64]> {
    if text.len() != 128 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 64];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl AuditLog {
    /// Opens the log at `path` for `device`, continuing its chain.
    pub fn open(path: &Path, device: DeviceId) -> Result<AuditLog, AuditError> {
        let (entries, _) = read_entries(path)?;
        let (last_seq, last_hash) = entries
            .last()
            .map(|e| (e.seq, e.hash.clone()))
            .unwrap_or((0, GENESIS.to_owned()));
        Ok(AuditLog {
            path: path.to_owned(),
            device,
            last_seq,
            last_hash,
        })
    }

    /// Appends an event, signed when `keys` are at hand, and syncs it to disk.
    pub fn record(
        &mut self,
        event: AuditEvent,
        detail: &[(&str, String)],
        keys: Option<&DeviceKeys>,
        now: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let seq = self.last_seq + 1;
        let time = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let device = self.device.to_string();
        let detail: Vec<(String, String)> = detail
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
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
        let io_err = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(&entry).map_err(|e| io_err(io::Error::other(e)))?;
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err)?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io_err)?;
        self.last_seq = seq;
        self.last_hash = entry.hash;
        Ok(())
    }
}

fn read_entries(path: &Path) -> Result<(Vec<AuditEntry>, Vec<AuditProblem>), AuditError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(source) => {
            return Err(AuditError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| AuditError::Io {
            path: path.to_owned(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match (line.len() <= MAX_LINE).then(|| serde_json::from_str::<AuditEntry>(&line)) {
            Some(Ok(entry)) => entries.push(entry),
            _ => problems.push(AuditProblem::Unreadable { line: i + 1 }),
        }
    }
    Ok((entries, problems))
}

/// Checks the whole chain and every signature, naming each entry that is wrong.
pub fn verify(path: &Path) -> Result<AuditReport, AuditError> {
    let (entries, mut problems) = read_entries(path)?;
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut signed = 0;
    let mut unsealed_tail = 0;
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
        match &e.sig {
            Some(sig) => {
                let ok = match (e.device.parse::<DeviceId>(), unhex64(sig)) {
                    (Ok(device), Some(sig)) => {
                        keys::verify(&device, e.hash.as_bytes(), &sig).is_ok()
                    }
                    _ => false,
                };
                if ok {
                    signed += 1;
                    unsealed_tail = 0;
                } else {
                    problems.push(AuditProblem::BadSignature { seq: e.seq });
                }
            }
            None => unsealed_tail += 1,
        }
        prev = e.hash.clone();
        expected_seq = e.seq + 1;
    }
    Ok(AuditReport {
        entries: entries.len(),
        signed,
        unsealed_tail,
        problems,
    })
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
    let (entries, problems) = read_entries(path)?;
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
        let report = verify(&path).unwrap();
        assert_eq!(report.entries, 4);
        assert_eq!(report.signed, 3);
        assert_eq!(report.unsealed_tail, 0);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // Reopening continues the chain.
        let mut log = AuditLog::open(&path, keys.device_id()).unwrap();
        log.record(AuditEvent::AuditExported, &[], Some(&keys), Utc::now())
            .unwrap();
        assert!(verify(&path).unwrap().problems.is_empty());
    }

    #[test]
    fn edits_removals_and_reordering_are_found_and_named() {
        let (path, keys) = setup("tamper");
        write_some(&path, &keys);
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        std::fs::write(&path, original.replace("wrong passphrase", "typo")).unwrap();
        assert!(verify(&path)
            .unwrap()
            .problems
            .contains(&AuditProblem::Edited { seq: 2 }));

        let removed = [lines[0], lines[2], lines[3]].join("\n");
        std::fs::write(&path, removed).unwrap();
        assert!(matches!(
            verify(&path).unwrap().problems[0],
            AuditProblem::Broken {
                expected_seq: 2,
                found_seq: 3,
                ..
            }
        ));

        let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n");
        std::fs::write(&path, swapped).unwrap();
        assert!(!verify(&path).unwrap().problems.is_empty());

        std::fs::write(&path, original.replace("unlock_ok", "space_created")).unwrap();
        assert!(verify(&path)
            .unwrap()
            .problems
            .contains(&AuditProblem::Edited { seq: 3 }));

        std::fs::write(&path, format!("{original}not json\n")).unwrap();
        assert!(verify(&path)
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
}
