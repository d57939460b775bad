//! The node runtime: one unlocked data dir. It owns the device keys, the sealed keystore, the
//! per-space op logs (ground truth, durable before a write returns), the sled store of derived
//! state (encrypted, rebuildable) and the audit log. `krizlink-node`, the desktop app and the
//! tests all work through [`Node`].
//!
//! Data dir layout:
//! ```text
//! DIR/lock              held (flock) while a process has the dir open
//! DIR/device.id         the device's public key in hex (not secret)
//! DIR/keystore.krz      sealed keystore: device seed, space keys, names, roles, invites
//! DIR/session           start counter; part of every nonce, so a seq reused after a crash
//!                       never reuses a (key, nonce) pair
//! DIR/audit.log         hash-chained, signed security events (JSON lines, ids only)
//! DIR/spaces/<id>.log   op log per space: sealed envelopes, fdatasync'ed per write
//! DIR/state/            sled: derived state per space, each value AES-256-GCM sealed
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::engine::audit::{self, AuditError, AuditEvent, AuditLog, AuditReport, ExportFormat};
use crate::engine::envelope::{Envelope, EnvelopeError};
use crate::engine::invite::{InviteCode, InviteError, JoinRequest, Welcome};
use crate::engine::keys::{DeviceKeys, SpaceKey};
use crate::engine::keystore::{
    KdfParams, Keystore, KeystoreContents, KeystoreError, Role, SpaceEntry,
};
use crate::engine::keystore::{PendingJoin, Secret32, StoredInvite};
use crate::engine::oplog::{OpLog, OpLogError};
use crate::engine::wrap::{unwrap_space_key, wrap_space_key};
use crate::hlc::{ClockError, Hlc, HlcClock};
use crate::ids::{DeviceId, OpId, RecordId, SpaceId};
use crate::merge::{ApplyError, RecordKey, RecordState, Replica};
use crate::op::{Change, InvalidOp, Operation};
use crate::record::{FieldValue, RecordKind, StaffRole, Status};
use crate::vv::VersionVector;

mod replication;
pub use replication::{Holding, Received, MAX_PENDING_BYTES, MAX_PENDING_OPS};
mod records;
pub use records::WriteError;

/// Longest space name, in bytes.
pub const MAX_SPACE_NAME: usize = 200;

/// Why the node could not do what was asked. Messages are sentences for a person.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "no KrizLink identity in {0}: run `krizlink-node --data-dir DIR init --name NAME` first"
    )]
    NotInitialized(PathBuf),
    #[error("{0} already holds a KrizLink identity")]
    AlreadyInitialized(PathBuf),
    #[error("the data dir {0} is in use by another KrizLink process")]
    InUse(PathBuf),
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("keystore: {0}")]
    Keystore(KeystoreError),
    #[error("no space with id {0} on this device")]
    UnknownSpace(String),
    #[error("no {kind:?} with id {id} in this space")]
    UnknownRecord { kind: RecordKind, id: String },
    #[error("the space name must be 1 to {MAX_SPACE_NAME} bytes of text")]
    BadSpaceName,
    #[error("{0}")]
    Invalid(#[from] InvalidOp),
    #[error("clock: {0}")]
    Clock(#[from] ClockError),
    #[error("{0}")]
    OpLog(#[from] OpLogError),
    #[error("derived-state store in {path}: {reason}")]
    Store { path: PathBuf, reason: String },
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    #[error("operation rejected: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("cannot apply the change: {0}")]
    Apply(#[from] ApplyError),
    #[error("cannot access {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("no random numbers available from the operating system")]
    Random,
    #[error("{0}")]
    Invite(#[from] InviteError),
    #[error("an invite must be valid for 1 minute to 30 days")]
    BadValidity,
    #[error("the disk is full: nothing was changed ({0})")]
    DiskFull(PathBuf),
    #[error("this space is read-only until its op log is repaired: {0}")]
    Damaged(String),
    #[error("{0}")]
    Refused(Refusal),
    #[error("only the chair or the secretary of a space can invite to it")]
    MayNotInvite,
}

/// Why membership refuses an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("signed by device {0}, which is not a member of the space")]
    NotAMember(DeviceId),
    #[error("device {device} is a member as {role}, which may not {what}", role = .role.code())]
    NotAllowed {
        device: DeviceId,
        role: StaffRole,
        what: &'static str,
    },
}

/// The strongest role of every admitted device, from the space's member records.
fn member_roles(replica: &Replica) -> BTreeMap<DeviceId, StaffRole> {
    let mut roles: BTreeMap<DeviceId, StaffRole> = BTreeMap::new();
    for m in replica.members() {
        let strongest = m.roles.iter().copied().min().unwrap_or(m.role);
        roles
            .entry(m.device)
            .and_modify(|r| *r = (*r).min(strongest))
            .or_insert(strongest);
    }
    roles
}

/// Membership on apply: an operation counts only if its author is the founder or an admitted
/// member whose role allows it (member records only from the chair or the secretary).
///
/// `own` is this device and its role from its own keystore (from the signed welcome): its own
/// operations count here before its admission has arrived by sync; other replicas wait for it.
fn admit(
    founder: DeviceId,
    members: &BTreeMap<DeviceId, StaffRole>,
    own: (DeviceId, StaffRole),
    op: &Operation,
) -> Result<(), Refusal> {
    let device = op.id.device;
    let role = if device == founder {
        StaffRole::Chair
    } else {
        let recorded = members.get(&device).copied();
        let own_role = (device == own.0).then_some(own.1);
        match (recorded, own_role) {
            (Some(a), Some(b)) => a.min(b),
            (Some(r), None) | (None, Some(r)) => r,
            (None, None) => return Err(Refusal::NotAMember(device)),
        }
    };
    if op.kind == RecordKind::Member && !role.may_admit() {
        return Err(Refusal::NotAllowed {
            device,
            role,
            what: "admit members",
        });
    }
    if !role.may_write() {
        return Err(Refusal::NotAllowed {
            device,
            role,
            what: "write",
        });
    }
    Ok(())
}

/// A space as listed for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpaceSummary {
    pub id: SpaceId,
    pub name: String,
    pub role: Role,
    pub records: usize,
    pub operations: u64,
}

/// Derived-state metadata per space, sealed in sled under key `m`.
#[derive(Serialize, Deserialize)]
struct SpaceMeta {
    /// Log entries (and bytes) the derived state covers: the checkpoint.
    log_entries: u64,
    log_len: u64,
    /// Chained SHA-256 over the covered log entries: any change to them since the checkpoint
    /// (an edited or swapped envelope) forces a rebuild, which verifies every signature.
    log_digest: [u8; 32],
    applied: VersionVector,
    clock: Hlc,
    /// Operations on member records among the covered ones (sent first when syncing): kept
    /// here so opening a space does not have to decrypt every envelope to find them.
    member_ops: BTreeSet<OpId>,
}

struct SpaceState {
    /// The op log, or why it cannot be written (damaged: the intact part is shown read-only).
    log: Result<OpLog, String>,
    log_entries: u64,
    log_digest: [u8; 32],
    /// Log entries written since the last checkpoint of derived state.
    since_checkpoint: usize,
    /// Records changed since the last checkpoint of derived state.
    dirty: BTreeSet<RecordKey>,
    replica: Replica,
    clock: HlcClock,
    tree: Option<sled::Tree>,
    /// Every logged envelope, and where each operation is, for serving peers.
    store: EnvelopeStore,
    /// The root of membership and the admitted devices with their strongest role.
    founder: DeviceId,
    members: BTreeMap<DeviceId, StaffRole>,
    /// Operations of member records, sent first to peers (admissions before the admitted).
    member_ops: BTreeSet<OpId>,
    /// Verified operations from devices not (yet) admitted, waiting for their admission.
    pending: BTreeMap<OpId, (Operation, Vec<u8>)>,
    pending_bytes: usize,
}

/// The envelopes of one space as logged, indexed by operation id.
#[derive(Default)]
pub(crate) struct EnvelopeStore {
    pub(crate) envelopes: Vec<Vec<u8>>,
    pub(crate) index: BTreeMap<DeviceId, BTreeMap<u64, usize>>,
    pub(crate) bytes: u64,
    /// The contiguous prefix per device of what is held, kept up to date on every push.
    pub(crate) contiguous: VersionVector,
}

impl EnvelopeStore {
    pub(crate) fn contains(&self, id: &OpId) -> bool {
        self.index
            .get(&id.device)
            .is_some_and(|m| m.contains_key(&id.seq))
    }

    pub(crate) fn push(&mut self, id: OpId, bytes: Vec<u8>) {
        let seqs = self.index.entry(id.device).or_default();
        seqs.insert(id.seq, self.envelopes.len());
        let mut seq = self.contiguous.get(&id.device);
        while seqs.contains_key(&(seq + 1)) {
            seq += 1;
        }
        if seq > self.contiguous.get(&id.device) {
            self.contiguous.advance(id.device, seq);
        }
        self.bytes += bytes.len() as u64;
        self.envelopes.push(bytes);
    }
}

/// A space held as a blind relay: its envelopes, which this device cannot read.
pub(crate) struct RelaySpace {
    pub(crate) log: OpLog,
    pub(crate) store: EnvelopeStore,
}

/// Seals derived state in sled with a key derived from the device seed (random nonce each).
struct StateCipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl StateCipher {
    fn new(seed: &[u8; 32]) -> Result<StateCipher, NodeError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"krizlink/derived-state/v1").extract(seed);
        let mut key = [0u8; 32];
        prk.expand(&[b"state-key"], Len32)
            .and_then(|okm| okm.fill(&mut key))
            .map_err(|_| NodeError::Random)?;
        let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| NodeError::Random)?;
        key.fill(0);
        Ok(StateCipher {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    fn seal(&self, slot: &[u8], plain: &[u8]) -> Result<Vec<u8>, NodeError> {
        let mut nonce = [0u8; 12];
        self.rng.fill(&mut nonce).map_err(|_| NodeError::Random)?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot),
                &mut buf,
            )
            .map_err(|_| NodeError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, slot: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(12)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(slot), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Extends the chained digest of a space's log by one entry.
fn chain(digest: &[u8; 32], entry: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(digest);
    h.update(entry);
    h.finalize().into()
}

fn slot_key(key: &RecordKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.push(b'r');
    k.push(key.kind as u8);
    k.extend_from_slice(&key.id.0);
    k
}

const META_KEY: &[u8] = b"m";

/// Derived state is checkpointed to sled every this many local writes (and on close). Writing it
/// on every change would make each acknowledged write pay for sled's dirty pages too (ext4's
/// journal commit on our fdatasync writes them out); after a crash the load path replays the
/// log tail past the checkpoint instead.
const CHECKPOINT_OPS: usize = 512;

/// One unlocked data dir.
pub struct Node {
    dir: PathBuf,
    _lock: File,
    keystore: Keystore,
    keys: DeviceKeys,
    /// The derived-state store; `None` when it cannot be opened (e.g. a full disk): the node then
    /// works from the op logs alone, rebuilding state in memory.
    db: Option<sled::Db>,
    cipher: StateCipher,
    audit: AuditLog,
    /// The start counter, taken (durably incremented) at the first write of this run, so that
    /// reading needs no disk space.
    session: Option<u32>,
    /// Things a person should know that did not stop the node (e.g. a full disk on open).
    warnings: Vec<String>,
    spaces: BTreeMap<SpaceId, SpaceState>,
    relays: BTreeMap<SpaceId, RelaySpace>,
    /// Rejections already written to the audit log in this run, so a peer repeating the same
    /// bad operation cannot flood it: (space, author, reason).
    audited_rejections: BTreeSet<(SpaceId, DeviceId, String)>,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> NodeError + '_ {
    move |source| {
        if source.raw_os_error() == Some(28) {
            NodeError::DiskFull(path.to_owned())
        } else {
            NodeError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Takes the data dir's lock, or says another process has it.
fn lock_dir(dir: &Path) -> Result<File, NodeError> {
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(NodeError::InUse(dir.to_owned())),
        Err(fs::TryLockError::Error(e)) => Err(NodeError::Io { path, source: e }),
    }
}

/// Writes `bytes` to `path` atomically and durably (temp file, fsync, rename, fsync dir).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_at(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))?;
    if let Some(parent) = path.parent() {
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io_at(parent))?;
    }
    Ok(())
}

enum SledOpen {
    /// The store could not be opened for a reason that rebuilding does not cure.
    Failed(String),
    /// The store's files are damaged.
    Damaged(String),
}

/// Opens the sled store; damage (including a panic inside sled on garbled files) is reported
/// as such, so the caller can set the files aside and rebuild from the op logs.
fn open_sled(path: &Path) -> Result<sled::Db, SledOpen> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| sled::Config::new().path(path).open());
    std::panic::set_hook(quiet);
    match result {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(sled::Error::Io(e)))
            if !matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(SledOpen::Failed(e.to_string()))
        }
        Ok(Err(e)) => Err(SledOpen::Damaged(e.to_string())),
        Err(_) => Err(SledOpen::Damaged("the store's files are unreadable".into())),
    }
}

/// Reads and durably increments the start counter.
fn next_session(dir: &Path) -> Result<u32, NodeError> {
    let path = dir.join("session");
    let last = match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u32>().map_err(|_| NodeError::Io {
            path: path.clone(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                "the start counter is not a number",
            ),
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(NodeError::Io { path, source: e }),
    };
    let next = last.checked_add(1).ok_or_else(|| NodeError::Io {
        path: path.clone(),
        source: io::Error::other("the start counter is exhausted"),
    })?;
    write_atomic(&path, next.to_string().as_bytes())?;
    Ok(next)
}

impl Node {
    /// Creates a new identity in `dir` (which must not hold one) and opens it.
    pub fn init(
        dir: &Path,
        name: &str,
        passphrase: &str,
        kdf: KdfParams,
    ) -> Result<Node, NodeError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let lock = lock_dir(dir)?;
        if dir.join("keystore.krz").exists() {
            return Err(NodeError::AlreadyInitialized(dir.to_owned()));
        }
        let keys = DeviceKeys::generate().map_err(|_| NodeError::Random)?;
        let contents = KeystoreContents::new(keys.seed(), name.trim());
        Keystore::create(&dir.join("keystore.krz"), passphrase, contents, kdf)
            .map_err(NodeError::Keystore)?;
        write_atomic(
            &dir.join("device.id"),
            keys.device_id().to_string().as_bytes(),
        )?;
        let mut audit = AuditLog::open(&dir.join("audit.log"), keys.device_id())?;
        audit.record(AuditEvent::DeviceCreated, &[], Some(&keys), Utc::now())?;
        drop(lock);
        Node::open(dir, passphrase)
    }

    /// Unlocks the identity in `dir`. A wrong passphrase is audited.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Node, NodeError> {
        let keystore_path = dir.join("keystore.krz");
        if !keystore_path.exists() {
            return Err(NodeError::NotInitialized(dir.to_owned()));
        }
        let lock = lock_dir(dir)?;
        let id_path = dir.join("device.id");
        let device: DeviceId = fs::read_to_string(&id_path)
            .map_err(io_at(&id_path))?
            .parse()
            .map_err(|e| NodeError::Io {
                path: id_path.clone(),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })?;
        let mut audit = AuditLog::open(&dir.join("audit.log"), device)?;
        let keystore = match Keystore::unlock(&keystore_path, passphrase) {
            Ok(k) => k,
            Err(KeystoreError::WrongPassphrase) => {
                audit.record(
                    AuditEvent::UnlockFailed,
                    &[("reason", "wrong passphrase".into())],
                    None,
                    Utc::now(),
                )?;
                return Err(NodeError::WrongPassphrase);
            }
            Err(e) => return Err(NodeError::Keystore(e)),
        };
        let keys = DeviceKeys::from_seed(keystore.contents().device_seed());
        let mut warnings = Vec::new();
        // On a full disk the staff must still be able to read: say so instead of refusing.
        if let Err(e) = audit.record(AuditEvent::UnlockOk, &[], Some(&keys), Utc::now()) {
            warnings.push(format!(
                "the unlock could not be recorded in the audit log: {e}"
            ));
        }
        let state_path = dir.join("state");
        let db = match open_sled(&state_path) {
            Ok(db) => Some(db),
            Err(SledOpen::Failed(reason)) => {
                warnings.push(format!(
                    "the derived-state store {} cannot be opened ({reason}); working from the op logs alone",
                    state_path.display()
                ));
                None
            }
            Err(SledOpen::Damaged(reason)) => {
                // Derived state only: keep the damaged copy for an administrator, start afresh
                // and rebuild everything from the op logs below.
                let aside = dir.join(format!("state.damaged-{}", Utc::now().timestamp_millis()));
                fs::rename(&state_path, &aside).map_err(io_at(&state_path))?;
                let detail = [("reason", reason), ("kept_at", aside.display().to_string())];
                if let Err(e) =
                    audit.record(AuditEvent::StateRebuilt, &detail, Some(&keys), Utc::now())
                {
                    warnings.push(format!("the rebuild could not be audited: {e}"));
                }
                match open_sled(&state_path) {
                    Ok(db) => Some(db),
                    Err(SledOpen::Failed(r) | SledOpen::Damaged(r)) => {
                        warnings.push(format!(
                            "the derived-state store {} cannot be opened ({r}); working from the op logs alone",
                            state_path.display()
                        ));
                        None
                    }
                }
            }
        };
        let cipher = StateCipher::new(keys.seed())?;
        let mut node = Node {
            dir: dir.to_owned(),
            _lock: lock,
            keystore,
            keys,
            db,
            cipher,
            audit,
            session: None,
            warnings,
            spaces: BTreeMap::new(),
            relays: BTreeMap::new(),
            audited_rejections: BTreeSet::new(),
        };
        let ids: Vec<SpaceId> = node
            .keystore
            .contents()
            .spaces
            .iter()
            .map(|s| s.space)
            .collect();
        for space in ids {
            node.load_space(space)?;
        }
        let relays = node.keystore.contents().relay_spaces.clone();
        for space in relays {
            node.load_relay(space)?;
        }
        Ok(node)
    }

    pub fn device_id(&self) -> DeviceId {
        self.keys.device_id()
    }

    /// The device keys' seed, for the network identity (the same Ed25519 key).
    pub fn network_seed(&self) -> [u8; 32] {
        *self.keys.seed()
    }

    /// Records a signed security event.
    fn audit(&mut self, event: AuditEvent, detail: &[(&str, String)]) -> Result<(), NodeError> {
        self.audit
            .record(event, detail, Some(&self.keys), Utc::now())
            .map(|_| ())
            .map_err(NodeError::from)
    }

    pub fn name(&self) -> &str {
        self.keystore.contents().name()
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn log_path(&self, space: SpaceId) -> PathBuf {
        self.dir.join("spaces").join(format!("{space}.log"))
    }

    fn entry(&self, space: SpaceId) -> Result<&SpaceEntry, NodeError> {
        self.keystore
            .contents()
            .spaces
            .iter()
            .find(|s| s.space == space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))
    }

    fn space_key(&self, space: SpaceId, epoch: u32) -> Option<&SpaceKey> {
        self.entry(space)
            .ok()?
            .keys
            .iter()
            .find(|(e, _)| *e == epoch)
            .map(|(_, k)| k)
    }

    /// Opens a space's log and derived state, rebuilding the state from the log when it is
    /// missing, behind or damaged.
    fn load_space(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let spaces_dir = self.dir.join("spaces");
        fs::create_dir_all(&spaces_dir).map_err(io_at(&spaces_dir))?;
        let path = self.log_path(space);
        let (log, entries) = match OpLog::open(&path) {
            Ok((log, entries, _recovery)) => (Ok(log), entries),
            Err(damage @ OpLogError::Damaged { .. }) => {
                // Show what is intact, refuse writes: an administrator decides about the file.
                let reason = damage.to_string();
                let detail = [("space", space.to_string()), ("reason", reason.clone())];
                self.audit(AuditEvent::StateRebuilt, &detail)?;
                (Err(reason), OpLog::read_intact_prefix(&path)?)
            }
            Err(e) => return Err(e.into()),
        };
        let tree = match &self.db {
            Some(db) => Some(
                db.open_tree(format!("space/{space}"))
                    .map_err(|e| self.store_err(e))?,
            ),
            None => None,
        };
        let founder = self.entry(space)?.founder;
        let derived = tree
            .as_ref()
            .and_then(|t| self.load_derived(space, t, &entries));
        let mut member_ops = BTreeSet::new();
        let (replica, clock, dirty) = match derived {
            Some((mut replica, mut clock, covered, checkpointed_members)) => {
                member_ops = checkpointed_members;
                // Operations held back for a missing predecessor are not part of a checkpoint:
                // give the covered ones to the replica again, then replay what was logged after
                // the checkpoint (a crash before the next one).
                let applied = replica.version_vector().clone();
                let held: Vec<Vec<u8>> = entries[..covered]
                    .iter()
                    .filter(|e| Envelope::decode(e).is_ok_and(|env| !applied.contains(&env.id)))
                    .cloned()
                    .collect();
                let mut touched = self.replay(
                    space,
                    founder,
                    &mut replica,
                    &mut clock,
                    &held,
                    &mut member_ops,
                )?;
                touched.extend(self.replay(
                    space,
                    founder,
                    &mut replica,
                    &mut clock,
                    &entries[covered..],
                    &mut member_ops,
                )?);
                (replica, clock, touched)
            }
            None => {
                let mut replica = Replica::new(space);
                let mut clock = Hlc::default();
                let touched = self.replay(
                    space,
                    founder,
                    &mut replica,
                    &mut clock,
                    &entries,
                    &mut member_ops,
                )?;
                if let Some(t) = &tree {
                    t.clear().map_err(|e| self.store_err(e))?;
                }
                let detail = [
                    ("space", space.to_string()),
                    ("operations", entries.len().to_string()),
                ];
                if let Err(e) = self.audit(AuditEvent::StateRebuilt, &detail) {
                    self.warnings
                        .push(format!("the rebuild could not be audited: {e}"));
                }
                (replica, clock, touched)
            }
        };
        let log_digest = entries.iter().fold([0u8; 32], |d, e| chain(&d, e));
        let clock = HlcClock::resume(clock, HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS);
        let log_entries = entries.len() as u64;
        let mut store = EnvelopeStore::default();
        for bytes in entries {
            if let Ok(env) = Envelope::decode(&bytes) {
                if !store.contains(&env.id) {
                    store.push(env.id, bytes);
                }
            }
        }
        let members = member_roles(&replica);
        self.spaces.insert(
            space,
            SpaceState {
                log,
                log_entries,
                log_digest,
                since_checkpoint: 0,
                dirty,
                replica,
                clock,
                tree,
                store,
                founder,
                members,
                member_ops,
                pending: BTreeMap::new(),
                pending_bytes: 0,
            },
        );
        if let Err(e) = self.checkpoint(space) {
            // Derived state only: the next open replays the log again.
            self.warnings.push(format!("derived state not saved: {e}"));
        }
        Ok(())
    }

    /// Writes the records changed since the last checkpoint and the metadata that says which
    /// log prefix they cover, in one atomic sled batch.
    fn checkpoint(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let Some(st) = self.spaces.get_mut(&space) else {
            return Ok(());
        };
        if st.log.is_err() {
            return Ok(()); // a damaged log's salvage is never checkpointed
        }
        st.since_checkpoint = 0;
        let mut batch = sled::Batch::default();
        for key in std::mem::take(&mut st.dirty) {
            let slot = slot_key(&key);
            match st.replica.slot(&key) {
                Some(state) => {
                    batch.insert(slot.clone(), self.cipher.seal(&slot, &encode(state)?)?)
                }
                None => batch.remove(slot),
            }
        }
        let meta = SpaceMeta {
            log_entries: st.log_entries,
            log_len: st.log.as_ref().map_or(0, OpLog::len),
            log_digest: st.log_digest,
            applied: st.replica.version_vector().clone(),
            clock: st.clock.last(),
            member_ops: st.member_ops.clone(),
        };
        batch.insert(META_KEY, self.cipher.seal(META_KEY, &encode(&meta)?)?);
        let Some(tree) = &st.tree else {
            return Ok(());
        };
        tree.apply_batch(batch).map_err(|e| NodeError::Store {
            path: self.dir.join("state"),
            reason: e.to_string(),
        })
    }

    fn store_err(&self, e: sled::Error) -> NodeError {
        NodeError::Store {
            path: self.dir.join("state"),
            reason: e.to_string(),
        }
    }

    /// The checkpointed state and how many log entries it covers, if it is intact and the log
    /// still starts with exactly the entries it was made from.
    fn load_derived(
        &self,
        space: SpaceId,
        tree: &sled::Tree,
        entries: &[Vec<u8>],
    ) -> Option<(Replica, Hlc, usize, BTreeSet<OpId>)> {
        let meta = tree.get(META_KEY).ok()??;
        let meta: SpaceMeta = postcard::from_bytes(&self.cipher.open(META_KEY, &meta)?).ok()?;
        let covered = usize::try_from(meta.log_entries).ok()?;
        let prefix = entries.get(..covered)?;
        let digest = prefix.iter().fold([0u8; 32], |d, e| chain(&d, e));
        let prefix_len: u64 = prefix.iter().map(|e| e.len() as u64 + 8).sum();
        if digest != meta.log_digest || prefix_len != meta.log_len {
            return None;
        }
        let mut records = BTreeMap::new();
        for item in tree.scan_prefix(b"r") {
            let (k, v) = item.ok()?;
            let state: RecordState = postcard::from_bytes(&self.cipher.open(&k, &v)?).ok()?;
            let kind = *RecordKind::ALL.get(usize::from(*k.get(1)?))?;
            let id = RecordId(k.get(2..18)?.try_into().ok()?);
            records.insert(RecordKey { kind, id }, state);
        }
        Some((
            Replica::from_parts(space, meta.applied, records),
            meta.clock,
            covered,
            meta.member_ops,
        ))
    }

    /// Verifies, decrypts and applies logged envelopes; a rejected one is audited and skipped.
    /// Returns the records touched; operations on member records are added to `member_ops`.
    fn replay(
        &mut self,
        space: SpaceId,
        founder: DeviceId,
        replica: &mut Replica,
        clock: &mut Hlc,
        entries: &[Vec<u8>],
        member_ops: &mut BTreeSet<OpId>,
    ) -> Result<BTreeSet<RecordKey>, NodeError> {
        let mut touched = BTreeSet::new();
        let mut members = member_roles(replica);
        let own = (self.keys.device_id(), self.entry(space)?.role.staff());
        for bytes in entries {
            let applied = self.open_envelope(space, bytes).and_then(|op| {
                if op.kind == RecordKind::Member {
                    member_ops.insert(op.id);
                }
                admit(founder, &members, own, &op).map_err(NodeError::Refused)?;
                let (hlc, key) = (
                    op.hlc,
                    RecordKey {
                        kind: op.kind,
                        id: op.record,
                    },
                );
                replica
                    .apply(op)
                    .map(|_| (hlc, key))
                    .map_err(NodeError::from)
            });
            match applied {
                Ok((hlc, key)) => {
                    *clock = (*clock).max(hlc);
                    if key.kind == RecordKind::Member {
                        members = member_roles(replica);
                    }
                    touched.insert(key);
                }
                Err(reason) => {
                    let detail = [("space", space.to_string()), ("reason", reason.to_string())];
                    self.audit(AuditEvent::OperationRejected, &detail)?;
                }
            }
        }
        Ok(touched)
    }

    fn open_envelope(&self, space: SpaceId, bytes: &[u8]) -> Result<Operation, NodeError> {
        let envelope = Envelope::decode(bytes)?;
        envelope.verify()?;
        if envelope.space != space {
            return Err(NodeError::Apply(ApplyError::WrongSpace));
        }
        let key = self
            .space_key(space, envelope.epoch)
            .ok_or(EnvelopeError::UnknownEpoch)?;
        Ok(envelope.open(key)?)
    }

    /// Creates a space with a fresh 256-bit key (epoch 0); this device is its chair.
    pub fn create_space(&mut self, name: &str) -> Result<SpaceId, NodeError> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_SPACE_NAME || name.chars().any(char::is_control) {
            return Err(NodeError::BadSpaceName);
        }
        let mut id = [0u8; 16];
        SystemRandom::new()
            .fill(&mut id)
            .map_err(|_| NodeError::Random)?;
        let space = SpaceId(id);
        let key = SpaceKey::generate().map_err(|_| NodeError::Random)?;
        let founder = self.keys.device_id();
        self.keystore.contents_mut().spaces.push(SpaceEntry {
            space,
            name: name.to_owned(),
            role: Role::Chair,
            founder,
            keys: vec![(0, key)],
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        self.load_space(space)?;
        let own_name = self.name().to_owned();
        self.admit_member(space, founder, &own_name, Role::Chair)?;
        self.audit(AuditEvent::SpaceCreated, &[("space", space.to_string())])?;
        Ok(space)
    }

    /// Problems met while opening that did not stop the node, as sentences.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Spaces whose op log is damaged, with the reason: they are shown read-only.
    pub fn damaged_spaces(&self) -> Vec<(SpaceId, String)> {
        self.spaces
            .iter()
            .filter_map(|(id, st)| st.log.as_ref().err().map(|r| (*id, r.clone())))
            .collect()
    }

    /// The spaces this device holds.
    pub fn spaces(&self) -> Vec<SpaceSummary> {
        self.keystore
            .contents()
            .spaces
            .iter()
            .map(|e| {
                let st = self.spaces.get(&e.space);
                SpaceSummary {
                    id: e.space,
                    name: e.name.clone(),
                    role: e.role,
                    records: st.map_or(0, |s| s.replica.record_count()),
                    operations: st.map_or(0, |s| s.replica.version_vector().total()),
                }
            })
            .collect()
    }

    /// The merged state of a space.
    pub fn replica(&self, space: SpaceId) -> Result<&Replica, NodeError> {
        self.spaces
            .get(&space)
            .map(|s| &s.replica)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))
    }

    /// Writes a new record; returns its id once the operation is durable on disk.
    pub fn create_record(
        &mut self,
        space: SpaceId,
        kind: RecordKind,
        changes: Vec<Change>,
    ) -> Result<RecordId, NodeError> {
        let op = self.write(space, |id, hlc| {
            Operation::new_record(id, hlc, space, kind, changes)
        })?;
        Ok(op.record)
    }

    /// Changes an existing record; returns the operation id once durable.
    pub fn edit_record(
        &mut self,
        space: SpaceId,
        record: RecordId,
        kind: RecordKind,
        changes: Vec<Change>,
    ) -> Result<OpId, NodeError> {
        self.replica(space)?
            .record(kind, record)
            .ok_or_else(|| NodeError::UnknownRecord {
                kind,
                id: record.to_string(),
            })?;
        let op = self.write(space, |id, hlc| {
            Operation::edit(id, hlc, space, record, kind, changes)
        })?;
        Ok(op.id)
    }

    /// Moves a task's or request's status from what this device shows now.
    pub fn move_status(
        &mut self,
        space: SpaceId,
        record: RecordId,
        kind: RecordKind,
        to: Status,
        note: String,
    ) -> Result<OpId, NodeError> {
        let state =
            self.replica(space)?
                .record(kind, record)
                .ok_or_else(|| NodeError::UnknownRecord {
                    kind,
                    id: record.to_string(),
                })?;
        let from = state
            .status(kind)
            .ok_or(NodeError::Invalid(InvalidOp::NoStatus { kind }))?;
        let bases = state.status_register().heads();
        let bases = bases
            .try_into()
            .map_err(|_| NodeError::Invalid(InvalidOp::TooManyChanges { max: 16 }))?;
        self.edit_record(
            space,
            record,
            kind,
            vec![Change::Transition {
                from,
                to,
                note,
                bases,
            }],
        )
    }

    /// Seals, logs durably, applies and records derived state for one local operation.
    fn write(
        &mut self,
        space: SpaceId,
        build: impl FnOnce(OpId, Hlc) -> Result<Operation, InvalidOp>,
    ) -> Result<Operation, NodeError> {
        let device = self.keys.device_id();
        let session = match self.session {
            Some(s) => s,
            None => {
                let s = next_session(&self.dir)?;
                self.session = Some(s);
                s
            }
        };
        let (epoch, key, own_role) = {
            let entry = self.entry(space)?;
            let (epoch, key) = entry
                .keys
                .last()
                .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
            (*epoch, key.clone(), entry.role.staff())
        };
        let st = self
            .spaces
            .get_mut(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let seq = st.replica.version_vector().get(&device) + 1;
        let hlc = st.clock.tick(now_ms())?;
        let op = build(OpId { device, seq }, hlc)?;
        admit(st.founder, &st.members, (device, own_role), &op).map_err(NodeError::Refused)?;
        let envelope = Envelope::seal(&op, epoch, session, &key, &self.keys)?;
        let bytes = envelope.encode()?;
        st.log
            .as_mut()
            .map_err(|reason| NodeError::Damaged(reason.clone()))?
            .append(&bytes)?;
        st.log_digest = chain(&st.log_digest, &bytes);
        st.log_entries += 1;
        st.since_checkpoint += 1;
        st.replica.apply(op.clone())?;
        st.store.push(op.id, bytes);
        st.dirty.insert(RecordKey {
            kind: op.kind,
            id: op.record,
        });
        if op.kind == RecordKind::Member {
            st.member_ops.insert(op.id);
            st.members = member_roles(&st.replica);
        }
        if st.since_checkpoint >= CHECKPOINT_OPS {
            // The change is durable already: a failed checkpoint must not report it as lost.
            if let Err(e) = self.checkpoint(space) {
                self.warnings.push(format!("derived state not saved: {e}"));
            }
        }
        Ok(op)
    }

    /// Writes the member record that admits `device` with `role` (or updates its role).
    fn admit_member(
        &mut self,
        space: SpaceId,
        device: DeviceId,
        name: &str,
        role: Role,
    ) -> Result<(), NodeError> {
        let name: String = name.trim().chars().take(200).collect();
        let name = if name.is_empty() {
            device.to_string()[..16].to_owned()
        } else {
            name
        };
        let set = |value| Change::Set {
            value,
            bases: Default::default(),
        };
        let replica = self.replica(space)?;
        let existing = replica
            .members()
            .into_iter()
            .find(|m| m.device == device)
            .and_then(|m| {
                let state = replica.record(RecordKind::Member, m.meta.id)?;
                let heads = |key| state.register(key).map(|r| r.heads()).unwrap_or_default();
                Some((
                    m.meta.id,
                    heads(crate::record::FieldKey::MemberRole),
                    heads(crate::record::FieldKey::Name),
                ))
            });
        match existing {
            None => {
                self.write(space, |id, hlc| {
                    Operation::new_record(
                        id,
                        hlc,
                        space,
                        RecordKind::Member,
                        vec![
                            set(FieldValue::MemberDevice(device)),
                            set(FieldValue::MemberRole(role.staff())),
                            set(FieldValue::Name(name)),
                        ],
                    )
                })?;
            }
            Some((record, role_heads, name_heads)) => {
                let changes = vec![
                    Change::Set {
                        value: FieldValue::MemberRole(role.staff()),
                        bases: role_heads
                            .try_into()
                            .map_err(|_| InvalidOp::TooManyChanges { max: 16 })?,
                    },
                    Change::Set {
                        value: FieldValue::Name(name),
                        bases: name_heads
                            .try_into()
                            .map_err(|_| InvalidOp::TooManyChanges { max: 16 })?,
                    },
                ];
                self.write(space, |id, hlc| {
                    Operation::edit(id, hlc, space, record, RecordKind::Member, changes)
                })?;
            }
        }
        Ok(())
    }

    /// Creates a one-use invite to `space` for `role`, valid for `valid_minutes`; returns the
    /// code to hand over out of band. Only the chair or the secretary may invite.
    pub fn create_invite(
        &mut self,
        space: SpaceId,
        role: Role,
        valid_minutes: u64,
    ) -> Result<String, NodeError> {
        if !self.entry(space)?.role.staff().may_admit() {
            return Err(NodeError::MayNotInvite);
        }
        if !(1..=30 * 24 * 60).contains(&valid_minutes) {
            return Err(NodeError::BadValidity);
        }
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| NodeError::Random)?;
        let code = InviteCode::from_bytes(bytes);
        let expires_ms = now_ms().saturating_add(valid_minutes * 60_000);
        self.keystore.contents_mut().invites.push(StoredInvite {
            id: code.id(),
            space,
            role,
            expires_ms,
            secret: Secret32::from_bytes(code.secret()),
            used: false,
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        let detail = [
            ("space", space.to_string()),
            ("role", role.code().to_owned()),
            ("invite", hex16(&code.id())),
            ("expires", rfc3339_ms(expires_ms)),
        ];
        self.audit(AuditEvent::InviteCreated, &detail)?;
        Ok(code.to_text())
    }

    /// The first offline step of joining: turns an invite code into a request code for the
    /// inviting device, and remembers the invite so the welcome can be checked.
    pub fn request_join(&mut self, code: &str) -> Result<String, NodeError> {
        let code = InviteCode::parse(code)?;
        let request = JoinRequest::new(&code, &self.keys, self.name());
        let pending = &mut self.keystore.contents_mut().pending_joins;
        pending.retain(|p| p.invite != code.id());
        pending.push(PendingJoin {
            invite: code.id(),
            secret: Secret32::from_bytes(code.secret()),
            created_ms: now_ms(),
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        Ok(request.to_text())
    }

    /// On the inviting device: admits the requesting device if the request proves the invite,
    /// and returns the welcome code with the space keys wrapped to that device.
    pub fn accept_join(&mut self, request: &str) -> Result<String, NodeError> {
        let request = JoinRequest::parse(request)?;
        let now = now_ms();
        let verdict = match self
            .keystore
            .contents()
            .invites
            .iter()
            .find(|i| i.id == request.invite)
        {
            None => Err(InviteError::UnknownInvite),
            Some(i) if i.used => Err(InviteError::Used),
            Some(i) if now > i.expires_ms => Err(InviteError::Expired(rfc3339_ms(i.expires_ms))),
            Some(i) => request
                .verify(i.secret.as_bytes())
                .map(|()| (i.space, i.role, *i.secret.as_bytes())),
        };
        let (space, role, secret) = match verdict {
            Ok(v) => v,
            Err(reason) => {
                let detail = [
                    ("invite", hex16(&request.invite)),
                    ("device", request.device.to_string()),
                    ("reason", reason.to_string()),
                ];
                self.audit(AuditEvent::InviteRefused, &detail)?;
                return Err(reason.into());
            }
        };
        // The admission is an operation like any other: every replica checks it on apply, and
        // the new device's operations count only once it has arrived.
        self.admit_member(space, request.device, &request.name, role)?;
        let entry = self.entry(space)?;
        let context = Welcome::wrap_context(&request.invite, &request.device, &space);
        let mut wrapped = Vec::with_capacity(entry.keys.len());
        for (epoch, key) in &entry.keys {
            let w = wrap_space_key(&request.x25519, key, &context)
                .map_err(|_| NodeError::Invite(InviteError::Unwrap))?;
            wrapped.push((*epoch, w));
        }
        let welcome = Welcome {
            invite: request.invite,
            space,
            space_name: entry.name.clone(),
            role,
            keys: wrapped
                .try_into()
                .map_err(|_| NodeError::Invite(InviteError::Malformed("welcome code")))?,
            founder: entry.founder,
            inviter: self.keys.device_id(),
            mac: [0; 32],
            signature: crate::engine::envelope::Signature([0; 64]),
        }
        .seal(&secret, &self.keys);
        if let Some(i) = self
            .keystore
            .contents_mut()
            .invites
            .iter_mut()
            .find(|i| i.id == request.invite)
        {
            i.used = true;
        }
        self.keystore.save().map_err(NodeError::Keystore)?;
        let used = [
            ("invite", hex16(&request.invite)),
            ("space", space.to_string()),
        ];
        self.audit
            .record(AuditEvent::InviteUsed, &used, Some(&self.keys), Utc::now())?;
        let joined = [
            ("space", space.to_string()),
            ("device", request.device.to_string()),
            ("role", role.code().to_owned()),
        ];
        self.audit(AuditEvent::MemberJoined, &joined)?;
        Ok(welcome.to_text())
    }

    /// The last offline step on the joining device: checks the welcome, unwraps the space keys
    /// and adds the space.
    pub fn finish_join(&mut self, welcome: &str) -> Result<SpaceId, NodeError> {
        let welcome = Welcome::parse(welcome)?;
        let contents = self.keystore.contents();
        let pending = contents
            .pending_joins
            .iter()
            .find(|p| p.invite == welcome.invite)
            .ok_or(InviteError::NotPending)?;
        welcome.verify(pending.secret.as_bytes())?;
        if contents.space(welcome.space).is_some() {
            return Err(InviteError::AlreadyMember.into());
        }
        let context =
            Welcome::wrap_context(&welcome.invite, &self.keys.device_id(), &welcome.space);
        let mut keys = Vec::with_capacity(welcome.keys.len());
        for (epoch, wrapped) in welcome.keys.iter() {
            keys.push((
                *epoch,
                unwrap_space_key(&self.keys, wrapped, &context).map_err(|_| InviteError::Unwrap)?,
            ));
        }
        let contents = self.keystore.contents_mut();
        contents
            .pending_joins
            .retain(|p| p.invite != welcome.invite);
        contents.spaces.push(SpaceEntry {
            space: welcome.space,
            name: welcome.space_name.clone(),
            role: welcome.role,
            founder: welcome.founder,
            keys,
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        self.load_space(welcome.space)?;
        let detail = [
            ("space", welcome.space.to_string()),
            ("role", welcome.role.code().to_owned()),
            ("inviter", welcome.inviter.to_string()),
        ];
        self.audit(AuditEvent::MemberJoined, &detail)?;
        Ok(welcome.space)
    }

    /// Re-seals the keystore under a new passphrase (fresh salt, production KDF parameters).
    pub fn change_passphrase(&mut self, new_passphrase: &str) -> Result<(), NodeError> {
        self.keystore
            .change_passphrase(new_passphrase, KdfParams::default())
            .map_err(NodeError::Keystore)?;
        let detail = [("key", "keystore passphrase".to_owned())];
        self.audit(AuditEvent::KeyChanged, &detail)?;
        Ok(())
    }

    /// Checks the audit log.
    pub fn audit_verify(&self) -> Result<AuditReport, NodeError> {
        Ok(audit::verify(&self.dir.join("audit.log"))?)
    }

    /// Renders the audit log for a SIEM and records that it was exported.
    pub fn audit_export(
        &mut self,
        format: ExportFormat,
        hostname: &str,
    ) -> Result<Vec<String>, NodeError> {
        let lines = audit::export(&self.dir.join("audit.log"), format, hostname)?;
        let fmt = match format {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Syslog => "syslog",
            ExportFormat::Cef => "cef",
        };
        self.audit(AuditEvent::AuditExported, &[("format", fmt.into())])?;
        Ok(lines)
    }

    /// Checkpoints derived state and flushes it (the op logs are already durable).
    pub fn close(mut self) -> Result<(), NodeError> {
        let spaces: Vec<SpaceId> = self.spaces.keys().copied().collect();
        for space in spaces {
            self.checkpoint(space)?;
        }
        if let Some(db) = &self.db {
            db.flush().map_err(|e| NodeError::Store {
                path: self.dir.join("state"),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

fn hex16(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3339_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, NodeError> {
    postcard::to_allocvec(value).map_err(|e| NodeError::Store {
        path: PathBuf::new(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("krizlink-node-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_expired_invite_is_refused_and_audited() {
        let dir = scratch("expired-invite");
        let mut chair = Node::init(
            &dir.join("chair"),
            "Jana",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let space = chair.create_space("Povodňová komise ORP Vsetín").unwrap();
        let code = chair.create_invite(space, Role::Member, 60).unwrap();
        for invite in &mut chair.keystore.contents_mut().invites {
            invite.expires_ms = 1_000; // long past
        }
        let mut joiner = Node::init(
            &dir.join("joiner"),
            "Petr",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let request = joiner.request_join(&code).unwrap();
        match chair.accept_join(&request) {
            Err(NodeError::Invite(InviteError::Expired(at))) => {
                assert_eq!(at, "1970-01-01T00:00:01Z")
            }
            Err(other) => panic!("expected expiry, got {other}"),
            Ok(_) => panic!("an expired invite was accepted"),
        }
        assert!(
            !chair.keystore.contents().invites[0].used,
            "a refused invite is not used up"
        );
        let audit = fs::read_to_string(dir.join("chair").join("audit.log")).unwrap();
        assert!(audit.contains("invite_refused") && audit.contains("expired"));
        let _ = fs::remove_dir_all(&dir);
    }

    /// The first envelopes a new peer gets: admissions first, whether the space was opened
    /// from its checkpoint or rebuilt from the log.
    #[test]
    fn admissions_go_first_after_a_reopen_from_the_checkpoint_and_from_the_log() {
        let dir = scratch("admissions-first");
        let chair_dir = dir.join("chair");
        let mut chair =
            Node::init(&chair_dir, "Jana", "heslo-pro-test", KdfParams::for_tests()).unwrap();
        let space = chair.create_space("Krizový štáb Zlínského kraje").unwrap();
        for n in 0..5 {
            chair
                .create_record(
                    space,
                    RecordKind::JournalEntry,
                    crate::api::JournalInput {
                        text: format!("Záznam {n}"),
                        ..Default::default()
                    }
                    .to_changes()
                    .unwrap(),
                )
                .unwrap();
        }
        let code = chair.create_invite(space, Role::Member, 60).unwrap();
        let mut joiner = Node::init(
            &dir.join("joiner"),
            "Petr",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let request = joiner.request_join(&code).unwrap();
        chair.accept_join(&request).unwrap();
        let first_two = |node: &Node| -> Vec<RecordKind> {
            let (batch, _) = node
                .envelopes_missing_from(space, &VersionVector::new(), 2, 1 << 20)
                .unwrap();
            batch
                .iter()
                .map(|b| node.open_envelope(space, b).unwrap().kind)
                .collect()
        };
        let expected = vec![RecordKind::Member, RecordKind::Member];
        assert_eq!(first_two(&chair), expected, "founder and admission first");
        chair.close().unwrap();
        let chair = Node::open(&chair_dir, "heslo-pro-test").unwrap();
        assert_eq!(
            first_two(&chair),
            expected,
            "after a reopen from the checkpoint"
        );
        chair.close().unwrap();
        fs::remove_dir_all(chair_dir.join("state")).unwrap();
        let chair = Node::open(&chair_dir, "heslo-pro-test").unwrap();
        assert_eq!(first_two(&chair), expected, "after a rebuild from the log");
        chair.close().unwrap();
        let _ = fs::remove_dir_all(&dir);
    }
}
