//! The node runtime: one unlocked data dir. It owns the device keys, the sealed keystore, the
//! per-space op logs (ground truth, durable before a write returns), the sled store of derived
//! state (encrypted, rebuildable) and the audit log. `krizlink-node`, the desktop app and the
//! tests all work through [`Node`].
//!
//! This file holds the node itself and its write path (seal, log with `fdatasync`, apply);
//! the submodules hold the rest of it:
//! - `load`: unlocking, loading a space from its checkpoint and log tail (or rebuilding it),
//!   checkpointing derived state, and the cipher that seals it in sled;
//! - `membership`: who may write (admissions and roles) and the invite exchange;
//! - `replication`: what sync asks of a node (held spaces, envelopes a peer lacks, receive);
//! - `clock`: own operations stamped in the future by a clock that ran ahead, stamped again;
//! - `forks`: devices that signed two different envelopes for one id, and own lost writes;
//! - `heal`: which of two such envelopes every replica keeps, and this device's own losing
//!   writes issued again under fresh numbers, so that every replica ends with both writes;
//! - `proof`: proving to a peer which spaces both hold (challenge tags), and relay grants.
//!
//! Data dir layout:
//! ```text
//! DIR/lock              held (flock) while a process has the dir open
//! DIR/device.id         the device's public key in hex (not secret)
//! DIR/keystore.krz      sealed keystore: device seed, space keys, names, roles, invites
//! DIR/session           start counter; part of every nonce, so a seq reused after a crash
//!                       never reuses a (key, nonce) pair; never below the seconds since
//!                       2020, so neither does a data dir restored from an older copy
//! DIR/audit.log         hash-chained, signed security events (JSON lines, ids only)
//! DIR/spaces/<id>.log   op log per space: sealed envelopes, fdatasync'ed per write
//! DIR/state/            sled: derived state per space, each value AES-256-GCM sealed
//! ```
//! Directories 0700, files 0600 from creation, no link followed (`engine::private`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use chrono::Utc;
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use sha2::Digest;

use crate::engine::audit::{self, AuditError, AuditEvent, AuditLog, AuditReport, ExportFormat};
use crate::engine::envelope::{Envelope, EnvelopeError};
use crate::engine::invite::InviteError;
use crate::engine::keys::{DeviceKeys, SpaceKey};
use crate::engine::keystore::{KdfParams, Keystore, KeystoreError, SpaceEntry};
use crate::engine::oplog::{OpLog, OpLogError};
use crate::engine::private;
use crate::hlc::{ClockError, Hlc, HlcClock};
use crate::ids::{DeviceId, OpId, RecordId, SpaceId};
use crate::merge::{ApplyError, RecordKey, Replica};
use crate::op::{Change, InvalidOp, Operation};
use crate::record::{RecordKind, StaffRole, Status};
use crate::vv::VersionVector;

mod authority;
mod clock;
mod exercise;
mod forks;
mod heal;
mod load;
mod member_lists;
mod membership;
mod peer_clocks;
pub mod proof;
mod replication;
use self::authority::judge;
pub use crate::authority::Refusal;
use load::{chain, StateCipher, CHECKPOINT_OPS};
use replication::{EnvelopeStore, RelaySpace};
pub use replication::{Holding, Received, MAX_PENDING_BYTES, MAX_PENDING_OPS};
mod receipts;
mod records;
pub use clock::Restamped;
pub use exercise::{ExerciseError, ImportSummary, ObservationInput, RELEASE_STAGGER_MS};
pub use forks::Fork;
pub use heal::Healed;
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
    #[error("no member of the space is {0:?} (a device id, or a member's name)")]
    UnknownMember(String),
    #[error("{count} members are called {name:?}: name one by its device id (member list)")]
    AmbiguousMember { name: String, count: usize },
    #[error("the staff would be left without a chair: make another member chair first")]
    LastChair,
    #[error("the drill would be left without an exercise leader: make another member exercise leader first")]
    LastLeader,
    #[error("key rotation: {0}")]
    Rekey(crate::engine::rekey::RekeyError),
    #[error("only the chair or the secretary of a space can invite to it")]
    MayNotInvite,
    #[error(
        "an ORP coordinator's invite names their ORP (--orp \"Vsetín\"), at most 200 characters"
    )]
    OrpRequired,
    #[error(
        "only an ORP coordinator is bound to an ORP (drop --orp, or invite as orp_coordinator)"
    )]
    OrpOnlyForCoordinator,
    #[error("this is not a KrizLink relay grant (KRZRELAY2..., check that it was copied whole)")]
    BadRelayGrant,
    #[error(
        "this relay grant is from an earlier KrizLink (KRZRELAY1) and carries no member list: \
         ask the space's chair or secretary for a new one (`space grant-relay`)"
    )]
    OldRelayGrant,
    #[error("member list: {0}")]
    MemberList(crate::engine::member_list::MemberListError),
    #[error("this relay grant was issued for another device")]
    GrantForAnotherDevice,
}

/// A space as listed for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpaceSummary {
    pub id: SpaceId,
    pub name: String,
    /// Serialised as its code (`chair`, `orp_coordinator`, ...).
    #[serde(serialize_with = "role_code")]
    pub role: StaffRole,
    pub records: usize,
    pub operations: u64,
    /// An exercise space (cvičení).
    pub exercise: bool,
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
    /// The root of membership, and every device's standing (the fold of `control`).
    founder: DeviceId,
    authority: crate::authority::Authority,
    /// The member operations held (logged), for the fold.
    control: BTreeMap<OpId, Operation>,
    /// Operations of member records, sent first to peers (admissions before the admitted).
    member_ops: BTreeSet<OpId>,
    /// Verified operations from devices not (yet) admitted, waiting for their admission.
    pending: BTreeMap<OpId, (Operation, Vec<u8>)>,
    pending_bytes: usize,
}

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
    /// Things an administrator should know that did not stop the node (e.g. a full disk on
    /// open), in English.
    warnings: Vec<String>,
    /// What the person must be told (writes stamped again, a forked device), in one Czech
    /// sentence, then " / " and the English one.
    notices: Vec<String>,
    spaces: BTreeMap<SpaceId, SpaceState>,
    relays: BTreeMap<SpaceId, RelaySpace>,
    /// Devices seen to sign two different envelopes for one operation id, per space, with the
    /// first such id (see [`Node::forked_devices`]).
    forks: BTreeMap<(SpaceId, DeviceId), OpId>,
    /// How this device's clock differs from its peers' (see `node/peer_clocks.rs`).
    peer_clocks: peer_clocks::PeerClocks,
    /// The lowest operation id seen forked, per space and device: where the windows of
    /// envelopes offered for comparison start (`forks`).
    fork_low: BTreeMap<(SpaceId, DeviceId), u64>,
    /// Envelopes this node replaced by the winner for their id (`node/heal.rs`), at most
    /// `forks::MAX_REPLACED_KEPT` per space: offered in pull answers, so that the peers report
    /// the fork even when they never held the loser.
    replaced: BTreeMap<SpaceId, Vec<Vec<u8>>>,
    /// Devices' signed receipts of what they hold (`node/receipts.rs`).
    receipts: std::cell::RefCell<receipts::Receipts>,
    /// The control keys of the drills this device leads (`node/exercise.rs`), in memory only:
    /// taken again from the log on opening.
    control_keys: BTreeMap<SpaceId, SpaceKey>,
    /// Members' X25519 keys whose binding signature this device checked: device -> (the
    /// published bytes, the key). In memory; see `Node::member_public`.
    checked_keys: BTreeMap<DeviceId, (Vec<u8>, [u8; 32])>,
    /// What releasing last saw of each drill it controls (`node/exercise.rs`).
    release_watch: BTreeMap<SpaceId, exercise::ReleaseWatch>,
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
    let file = private::open(
        &path,
        private::options().create(true).truncate(false).write(true),
    )
    .map_err(io_at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(NodeError::InUse(dir.to_owned())),
        Err(fs::TryLockError::Error(e)) => Err(NodeError::Io { path, source: e }),
    }
}

/// Writes `bytes` to `path` atomically and durably (private temp file, fsync, rename, fsync
/// dir; see [`private::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    private::write_atomic(path, bytes).map_err(io_at(path))
}

/// Reads and durably increments the start counter.
fn next_session(dir: &Path) -> Result<u32, NodeError> {
    let path = dir.join("session");
    let last = match private::read_to_string(&path) {
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
    // Never below the seconds since 2020: a data dir restored from an older copy (a backup, a
    // VM snapshot) brings its old counter back, and would otherwise start a session it has
    // already used — the same nonces for other content. Time has moved on since the copy.
    let next = next.max(session_floor(now_ms()));
    write_atomic(&path, next.to_string().as_bytes())?;
    Ok(next)
}

/// Seconds from 2020-01-01 UTC to `now_ms` (a u32 lasts until 2156).
fn session_floor(now_ms: u64) -> u32 {
    const Y2020_S: u64 = 1_577_836_800;
    u32::try_from((now_ms / 1000).saturating_sub(Y2020_S)).unwrap_or(u32::MAX)
}

impl Node {
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

    /// What this device writes `space` with: the newest key epoch, its key, and its own role.
    fn write_key(&self, space: SpaceId) -> Result<(u32, SpaceKey, StaffRole), NodeError> {
        let entry = self.entry(space)?;
        let (epoch, key) = entry
            .keys
            .last()
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        Ok((*epoch, key.clone(), entry.role))
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

    /// Seals `op` as authored by `author` (another device's keys, e.g. keys a member made up)
    /// under this device's newest key of `space`, without logging or applying it: what any
    /// member can send its peers. The receiving side holds such operations back until their
    /// author is admitted (`MAX_PENDING_OPS`); the adversarial tests send them.
    pub fn seal_as(
        &self,
        space: SpaceId,
        op: &Operation,
        author: &DeviceKeys,
    ) -> Result<Envelope, NodeError> {
        let entry = self.entry(space)?;
        let (epoch, key) = entry
            .keys
            .last()
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        Ok(Envelope::seal(op, *epoch, 1, key, author)?)
    }

    /// What a modified client of this device could send: `changes` creating a record of
    /// `kind` as this device's next operation of `space`, sealed with its keys, but neither
    /// judged, logged nor applied. The adversarial tests plant these in a data dir to see every
    /// replica refuse them (`tests/tests/suite/authority.rs`).
    #[doc(hidden)]
    pub fn seal_unchecked(
        &self,
        space: SpaceId,
        kind: RecordKind,
        changes: Vec<Change>,
    ) -> Result<Vec<u8>, NodeError> {
        let device = self.keys.device_id();
        let st = self
            .spaces
            .get(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let id = OpId {
            device,
            seq: st.store.contiguous.get(&device) + 1,
        };
        let hlc = Hlc {
            wall_ms: now_ms(),
            counter: 0,
        };
        let op = Operation::new_record(id, hlc, space, kind, changes)?;
        Ok(self.seal_as(space, &op, &self.keys)?.encode()?)
    }

    /// Creates a space with a fresh 256-bit key (epoch 0); this device is its chair.
    pub fn create_space(&mut self, name: &str) -> Result<SpaceId, NodeError> {
        self.create_space_as(name, false)
    }

    /// Creates a space; `exercise`: an exercise space (cvičení), which its first operation says
    /// for good and every screen, listing and export marks.
    pub fn create_space_as(&mut self, name: &str, exercise: bool) -> Result<SpaceId, NodeError> {
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
        // The founder of a drill leads it (řídící cvičení); of a real space, chairs it.
        let role = if exercise {
            StaffRole::ExerciseLeader
        } else {
            StaffRole::Chair
        };
        self.keystore.contents_mut().spaces.push(SpaceEntry {
            space,
            name: name.to_owned(),
            role,
            founder,
            keys: vec![(0, key)],
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        self.load_space(space)?;
        let own_name = self.name().to_owned();
        let key = crate::engine::rekey::member_key(&self.keys);
        self.admit_member(
            space,
            founder,
            membership::Admission {
                name: &own_name,
                role,
                orp: None,
                invite: None,
                key: Some(key),
                exercise,
            },
        )?;
        if exercise {
            self.start_exercise_control(space)?;
        }
        self.audit(AuditEvent::SpaceCreated, &[("space", space.to_string())])?;
        Ok(space)
    }

    /// Problems met while opening that did not stop the node, as sentences.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What the person must be told, Czech first (see the field).
    pub fn notices(&self) -> &[String] {
        &self.notices
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
                    // As every replica decides it now (a demotion shows here).
                    role: self.own_role(e.space).unwrap_or(e.role),
                    records: st.map_or(0, |s| s.replica.record_count()),
                    operations: st.map_or(0, |s| s.replica.version_vector().total()),
                    exercise: st.is_some_and(|s| s.authority.exercise()),
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
        if self.stamps_ahead(space, now_ms()) {
            // The clock was put right since the last write: what was stamped in the future
            // goes out at the real time, and so does this write.
            self.restamp_future_writes(space, now_ms())?;
        }
        let session = match self.session {
            Some(s) => s,
            None => {
                let s = next_session(&self.dir)?;
                self.session = Some(s);
                s
            }
        };
        let (epoch, key, own_role) = self.write_key(space)?;
        let st = self
            .spaces
            .get_mut(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let seq = st.replica.version_vector().get(&device) + 1;
        let hlc = st.clock.tick(now_ms());
        let op = build(OpId { device, seq }, hlc)?;
        if op.kind == RecordKind::Member && st.control.insert(op.id, op.clone()).is_none() {
            let applied = st.replica.version_vector().clone();
            if st.fold_in(&mut [&op], &applied).is_none() {
                st.refold();
            }
        }
        if let Err(refusal) = judge(&st.authority, &st.replica, (device, own_role), &op) {
            if op.kind == RecordKind::Member {
                st.control.remove(&op.id);
                st.refold();
            }
            return Err(NodeError::Refused(refusal));
        }
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
        }
        if st.since_checkpoint >= CHECKPOINT_OPS {
            // The change is durable already: a failed checkpoint must not report it as lost.
            if let Err(e) = self.checkpoint(space) {
                self.warnings.push(format!("derived state not saved: {e}"));
            }
        }
        Ok(op)
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

    /// Records a refusal caused by a peer: counted and summarised, see [`AuditLog::refusal`].
    fn audit_refusal(
        &mut self,
        event: AuditEvent,
        source: &str,
        reason: &str,
        detail: &[(&str, String)],
    ) -> Result<(), NodeError> {
        self.audit
            .refusal(event, source, reason, detail, &self.keys, Utc::now())
            .map_err(NodeError::from)
    }

    /// Writes the summaries of refusals counted so far and syncs the audit log.
    pub fn audit_flush(&mut self) -> Result<(), NodeError> {
        Ok(self.audit.flush(&self.keys, Utc::now())?)
    }

    /// Writes the refusal summaries whose interval has ended.
    pub fn audit_flush_due(&mut self) -> Result<(), NodeError> {
        Ok(self.audit.flush_due(&self.keys, Utc::now())?)
    }

    /// The number of `fdatasync`s of the audit log in this run.
    pub fn audit_syncs(&self) -> u64 {
        self.audit.syncs()
    }

    /// Checks the audit log (after writing the refusal summaries due).
    pub fn audit_verify(&mut self) -> Result<AuditReport, NodeError> {
        self.audit_flush()?;
        Ok(audit::verify(
            &self.dir.join("audit.log"),
            &self.keys.device_id(),
        )?)
    }

    /// Renders the audit log for a SIEM and records that it was exported.
    pub fn audit_export(
        &mut self,
        format: ExportFormat,
        hostname: &str,
    ) -> Result<Vec<String>, NodeError> {
        self.audit_flush()?;
        let drills: BTreeSet<String> = self
            .spaces
            .iter()
            .filter(|(_, st)| st.authority.exercise())
            .map(|(id, _)| id.to_string())
            .collect();
        let lines = audit::export_marked(&self.dir.join("audit.log"), format, hostname, &drills)?;
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
        self.audit_flush()?;
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

impl Drop for Node {
    /// Refusals counted but not yet summarised are written on the way out too.
    fn drop(&mut self) {
        let _ = self.audit.flush(&self.keys, Utc::now());
    }
}

fn role_code<S: serde::Serializer>(role: &StaffRole, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.code())
}

fn hex16(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
pub(crate) use testing::scratch;
