//! The deterministic merge: a [`Replica`] turns a set of operations into the state of a space,
//! the same state whatever order or duplication they arrive in.
//!
//! Rules per field:
//! - scalar fields are multi-value registers shown last-writer-wins: an edit replaces the
//!   versions it names as seen; versions nobody has replaced yet are the *heads*; the head with
//!   the greatest (HLC, device) stamp is shown, and differing other heads are a visible conflict
//!   until someone resolves it with an edit that names them all;
//! - tags, assignees, links and affected municipalities are add-wins sets;
//! - comments are an append-only list ordered by stamp; journal entries and situation reports
//!   are written once (a correction is a new record that refers to the old one);
//! - statuses are the same register over state-machine moves: concurrent conflicting moves are
//!   all kept and surfaced as a conflict, never dropped.
//!
//! Missing predecessors: an operation whose same-device predecessors have not arrived is *held
//! back* (bounded) and applied, in order, as soon as they do. So the applied set per device is
//! always a gap-free prefix, which is exactly what the version vector describes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hlc::Stamp;
use crate::ids::{DeviceId, OpId, RecordId, SpaceId};
use crate::op::{Change, InvalidOp, Operation};
use crate::record::{FieldKey, FieldValue, RecordKind, SetField, Status};
use crate::vv::VersionVector;

/// Most operations held back waiting for their predecessors, per replica, and most bytes
/// they may take (their canonical encoding): memory a peer can make a replica hold is bounded
/// whatever it sends.
pub const MAX_HELD: usize = 100_000;
pub const MAX_HELD_BYTES: usize = 64 * 1024 * 1024;

/// Where a record lives in a replica: its kind and id. Keying by kind too means an operation
/// that names the wrong kind for a record lands in a slot nobody created and is never shown,
/// whatever order things arrive in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    pub kind: RecordKind,
    pub id: RecordId,
}

/// A concurrent alternative of a register: the operation that wrote it, its stamp, its value.
pub type Alternative<'a, V> = (OpId, Stamp, &'a V);

/// A multi-value register: every version not yet replaced by a later edit, shown by the
/// greatest stamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register<V> {
    heads: BTreeMap<OpId, (Stamp, V)>,
    replaced: BTreeSet<OpId>,
}

impl<V> Default for Register<V> {
    fn default() -> Self {
        Self {
            heads: BTreeMap::new(),
            replaced: BTreeSet::new(),
        }
    }
}

impl<V: PartialEq> Register<V> {
    fn apply(&mut self, op: OpId, stamp: Stamp, value: V, bases: &[OpId]) {
        for base in bases {
            self.replaced.insert(*base);
            self.heads.remove(base);
        }
        if !self.replaced.contains(&op) {
            self.heads.insert(op, (stamp, value));
        }
    }

    /// The shown value: the head with the greatest (HLC, device) stamp.
    pub fn value(&self) -> Option<&V> {
        self.winner().map(|(_, (_, v))| v)
    }

    fn winner(&self) -> Option<(&OpId, &(Stamp, V))> {
        // Stamps are unique per honest device; the op id settles a forged duplicate stamp.
        self.heads
            .iter()
            .max_by_key(|(id, (stamp, _))| (*stamp, **id))
    }

    /// The stamp of the shown value.
    pub fn stamp(&self) -> Option<Stamp> {
        self.winner().map(|(_, (s, _))| *s)
    }

    /// The ids of all current heads: what an edit made now must name as its bases.
    pub fn heads(&self) -> Vec<OpId> {
        self.heads.keys().copied().collect()
    }

    /// The concurrent alternatives to the shown value that differ from it (empty: no conflict).
    pub fn conflicts(&self) -> Vec<Alternative<'_, V>> {
        let Some((winner_id, (_, shown))) = self.winner() else {
            return Vec::new();
        };
        self.heads
            .iter()
            .filter(|(id, (_, v))| *id != winner_id && v != shown)
            .map(|(id, (s, v))| (*id, *s, v))
            .collect()
    }
}

/// An add-wins set of short texts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddWinsSet {
    /// Element -> the additions of it that no removal has named.
    adds: BTreeMap<String, BTreeSet<OpId>>,
    /// (element, addition) pairs named by removals.
    removed: BTreeSet<(String, OpId)>,
}

impl AddWinsSet {
    fn add(&mut self, element: &str, op: OpId) {
        if !self.removed.contains(&(element.to_owned(), op)) {
            self.adds.entry(element.to_owned()).or_default().insert(op);
        }
    }

    fn remove(&mut self, element: &str, observed: &[OpId]) {
        for op in observed {
            self.removed.insert((element.to_owned(), *op));
        }
        if let Some(live) = self.adds.get_mut(element) {
            for op in observed {
                live.remove(op);
            }
            if live.is_empty() {
                self.adds.remove(element);
            }
        }
    }

    pub fn contains(&self, element: &str) -> bool {
        self.adds.contains_key(element)
    }

    pub fn elements(&self) -> impl Iterator<Item = &str> {
        self.adds.keys().map(String::as_str)
    }

    /// Every element ever added, removed ones included (what a task was ever given to).
    pub fn ever_contained(&self) -> impl Iterator<Item = &str> {
        self.adds
            .keys()
            .map(String::as_str)
            .chain(self.removed.iter().map(|(e, _)| e.as_str()))
    }

    /// The additions of `element` a removal made now must name.
    pub fn additions_of(&self, element: &str) -> Vec<OpId> {
        self.adds
            .get(element)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// A comment on a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub author: DeviceId,
    pub stamp: Stamp,
    pub text: String,
}

/// One status move as stored in the status register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMove {
    pub from: Status,
    pub to: Status,
    pub note: String,
    pub by: DeviceId,
}

/// Creation facts of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub op: OpId,
    pub stamp: Stamp,
}

/// The merged state of one record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordState {
    created: Option<Created>,
    fields: BTreeMap<FieldKey, Register<FieldValue>>,
    sets: BTreeMap<SetField, AddWinsSet>,
    status: Register<StatusMove>,
    /// Keyed by (stamp, sequence number, index of the change in its operation): append-only,
    /// ordered, and unique even if a device reused a clock reading.
    comments: BTreeMap<(Stamp, u64, u16), Comment>,
    /// The greatest stamp of any operation applied to the record.
    last_change: Option<Stamp>,
}

impl RecordState {
    /// When and by which operation the record was created; `None` while only edits of it have
    /// arrived (such a record is not shown).
    pub fn created(&self) -> Option<Created> {
        self.created
    }

    pub fn last_change(&self) -> Option<Stamp> {
        self.last_change
    }

    pub fn field(&self, key: FieldKey) -> Option<&FieldValue> {
        self.fields.get(&key).and_then(Register::value)
    }

    pub fn register(&self, key: FieldKey) -> Option<&Register<FieldValue>> {
        self.fields.get(&key)
    }

    /// Every field that currently has concurrent differing values.
    pub fn field_conflicts(&self) -> Vec<(FieldKey, Vec<Alternative<'_, FieldValue>>)> {
        self.fields
            .iter()
            .filter_map(|(k, r)| {
                let c = r.conflicts();
                (!c.is_empty()).then_some((*k, c))
            })
            .collect()
    }

    pub fn set(&self, set: SetField) -> Option<&AddWinsSet> {
        self.sets.get(&set)
    }

    /// The set's elements in order (empty if never touched).
    pub fn set_elements(&self, set: SetField) -> Vec<String> {
        self.sets
            .get(&set)
            .map(|s| s.elements().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub fn comments(&self) -> impl Iterator<Item = &Comment> {
        self.comments.values()
    }

    pub fn status_register(&self) -> &Register<StatusMove> {
        &self.status
    }

    /// The shown status (the kind's initial status if never moved).
    pub fn status(&self, kind: RecordKind) -> Option<Status> {
        self.status
            .value()
            .map(|m| m.to)
            .or_else(|| Status::initial(kind))
    }

    fn apply(&mut self, op: &Operation) {
        let stamp = op.stamp();
        self.last_change = self.last_change.max(Some(stamp));
        for (index, change) in op.changes.iter().enumerate() {
            match change {
                Change::Create => self.created = Some(Created { op: op.id, stamp }),
                Change::Set { value, bases } => {
                    self.fields.entry(value.key()).or_default().apply(
                        op.id,
                        stamp,
                        value.clone(),
                        bases,
                    );
                }
                Change::Add { set, element } => {
                    self.sets.entry(*set).or_default().add(element, op.id);
                }
                Change::Remove {
                    set,
                    element,
                    observed,
                } => {
                    self.sets.entry(*set).or_default().remove(element, observed);
                }
                Change::Comment { text } => {
                    let index = u16::try_from(index).unwrap_or(u16::MAX);
                    self.comments.insert(
                        (stamp, op.id.seq, index),
                        Comment {
                            author: op.id.device,
                            stamp,
                            text: text.clone(),
                        },
                    );
                }
                Change::Transition {
                    from,
                    to,
                    note,
                    bases,
                } => {
                    let m = StatusMove {
                        from: *from,
                        to: *to,
                        note: note.clone(),
                        by: op.id.device,
                    };
                    self.status.apply(op.id, stamp, m, bases);
                }
            }
        }
    }
}

/// What applying an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied, together with this many held-back successors it released.
    Applied { released: usize },
    /// Already applied or already held: nothing changed.
    Duplicate,
    /// Held back until its same-device predecessors arrive.
    HeldBack,
}

/// Why an operation was refused by a replica.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("operation belongs to another space")]
    WrongSpace,
    #[error("invalid operation: {0}")]
    Invalid(#[from] InvalidOp),
    #[error(
        "too many operations are waiting for their predecessors (at most {max} or {max_bytes} \
         bytes); try again after sync"
    )]
    TooManyHeld { max: usize, max_bytes: usize },
}

/// A 32-byte digest of a replica's whole state, equal on replicas that saw the same operations.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateHash(pub [u8; 32]);

impl core::fmt::Display for StateHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl core::fmt::Debug for StateHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StateHash({self})")
    }
}

/// Which replica in this process, so a [`ChangeToken`] from one never reads another's changes.
static REPLICA_INSTANCES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

fn next_instance() -> u64 {
    REPLICA_INSTANCES.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// A point in one replica's local history of changes (not replicated, not part of the state):
/// what a reader has seen, so it can later ask only for the records changed since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeToken {
    pub instance: u64,
    pub seq: u64,
}

/// What waits for its author's earlier operations: an operation, or the place of one that
/// was refused for good ([`Replica::void`]).
#[derive(Clone, Debug)]
enum Held {
    Op(Operation),
    Void,
}

impl Held {
    /// What it counts against [`MAX_HELD_BYTES`]: its canonical encoding.
    fn size(&self) -> usize {
        match self {
            Held::Op(op) => op.encode().map_or(crate::op::MAX_OP_BYTES, |b| b.len()),
            Held::Void => 0,
        }
    }
}

/// The merged state of one space as one device sees it.
#[derive(Debug)]
pub struct Replica {
    space: SpaceId,
    applied: VersionVector,
    held: BTreeMap<OpId, Held>,
    held_bytes: usize,
    records: BTreeMap<RecordKey, RecordState>,
    /// Local bookkeeping for readers, outside the state (never hashed, persisted or synced):
    /// this replica's identity in the process, a counter of applied operations, and the value
    /// of that counter when each record last changed.
    instance: u64,
    changes: u64,
    touched: BTreeMap<RecordKey, u64>,
}

impl Clone for Replica {
    /// A clone is a new replica for readers: its change tokens are its own.
    fn clone(&self) -> Self {
        Self {
            space: self.space,
            applied: self.applied.clone(),
            held: self.held.clone(),
            held_bytes: self.held_bytes,
            records: self.records.clone(),
            instance: next_instance(),
            changes: 0,
            touched: BTreeMap::new(),
        }
    }
}

impl Replica {
    pub fn new(space: SpaceId) -> Self {
        Self {
            space,
            applied: VersionVector::new(),
            held: BTreeMap::new(),
            held_bytes: 0,
            records: BTreeMap::new(),
            instance: next_instance(),
            changes: 0,
            touched: BTreeMap::new(),
        }
    }

    /// Where this replica's local history of changes stands now.
    pub fn change_token(&self) -> ChangeToken {
        ChangeToken {
            instance: self.instance,
            seq: self.changes,
        }
    }

    /// The records changed since `token`, or `None` when the token is not this replica's (a
    /// reader must then take everything).
    pub fn changed_since(&self, token: ChangeToken) -> Option<Vec<RecordKey>> {
        (token.instance == self.instance && token.seq <= self.changes).then(|| {
            self.touched
                .iter()
                .filter(|(_, at)| **at > token.seq)
                .map(|(k, _)| *k)
                .collect()
        })
    }

    pub fn space(&self) -> SpaceId {
        self.space
    }

    /// What this replica has applied: per device, a gap-free prefix.
    pub fn version_vector(&self) -> &VersionVector {
        &self.applied
    }

    /// How many operations wait for their predecessors.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// The bytes they take (their canonical encodings), at most [`MAX_HELD_BYTES`].
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// A replica restored from persisted derived state (see [`Replica::records`]).
    pub fn from_parts(
        space: SpaceId,
        applied: VersionVector,
        records: BTreeMap<RecordKey, RecordState>,
    ) -> Self {
        Self {
            space,
            applied,
            held: BTreeMap::new(),
            held_bytes: 0,
            records,
            instance: next_instance(),
            changes: 0,
            touched: BTreeMap::new(),
        }
    }

    /// Every record slot with its merged state, for persisting derived state.
    pub fn records(&self) -> impl Iterator<Item = (&RecordKey, &RecordState)> {
        self.records.iter()
    }

    /// The merged state of the record an operation touched, for persisting after an apply.
    pub fn slot(&self, key: &RecordKey) -> Option<&RecordState> {
        self.records.get(key)
    }

    /// Applies one operation (validated here again: it may come from anywhere).
    pub fn apply(&mut self, op: Operation) -> Result<ApplyOutcome, ApplyError> {
        if op.space != self.space {
            return Err(ApplyError::WrongSpace);
        }
        op.validate()?;
        self.take(op.id, Held::Op(op))
    }

    /// Takes operation `id` as refused for good by every replica (it is invalid, or its
    /// author may not do what it does): it uses up its author's sequence number and changes no
    /// record, so the author's later operations are not held back behind it forever. The
    /// caller keeps and forwards its envelope, so every replica refuses it and moves on alike.
    pub fn void(&mut self, id: OpId) -> Result<ApplyOutcome, ApplyError> {
        if id.seq == 0 {
            return Err(ApplyError::Invalid(InvalidOp::ZeroSequence));
        }
        self.take(id, Held::Void)
    }

    /// Applies `item` as operation `id` if it is its author's next one (with every successor
    /// waiting for it), or holds it back until its predecessors arrive.
    fn take(&mut self, id: OpId, item: Held) -> Result<ApplyOutcome, ApplyError> {
        let device = id.device;
        let next = self.applied.get(&device) + 1;
        if id.seq < next || self.held.contains_key(&id) {
            return Ok(ApplyOutcome::Duplicate);
        }
        if id.seq > next {
            let size = item.size();
            if self.held.len() >= MAX_HELD || self.held_bytes + size > MAX_HELD_BYTES {
                return Err(ApplyError::TooManyHeld {
                    max: MAX_HELD,
                    max_bytes: MAX_HELD_BYTES,
                });
            }
            self.held_bytes += size;
            self.held.insert(id, item);
            return Ok(ApplyOutcome::HeldBack);
        }
        self.settle(id, &item);
        let mut released = 0;
        let mut seq = id.seq;
        while let Some(successor) = self.held.remove(&OpId {
            device,
            seq: seq + 1,
        }) {
            self.held_bytes = self.held_bytes.saturating_sub(successor.size());
            seq += 1;
            self.settle(OpId { device, seq }, &successor);
            released += 1;
        }
        Ok(ApplyOutcome::Applied { released })
    }

    fn settle(&mut self, id: OpId, item: &Held) {
        match item {
            Held::Op(op) => self.apply_in_order(op),
            Held::Void => self.applied.advance(id.device, id.seq),
        }
    }

    fn apply_in_order(&mut self, op: &Operation) {
        let key = RecordKey {
            kind: op.kind,
            id: op.record,
        };
        self.records.entry(key).or_default().apply(op);
        self.applied.advance(op.id.device, op.id.seq);
        self.changes += 1;
        self.touched.insert(key, self.changes);
    }

    /// The state of one record, if it has been created here.
    pub fn record(&self, kind: RecordKind, id: RecordId) -> Option<&RecordState> {
        self.records
            .get(&RecordKey { kind, id })
            .filter(|r| r.created.is_some())
    }

    /// All created records of `kind`, by id.
    pub fn records_of(&self, kind: RecordKind) -> impl Iterator<Item = (RecordId, &RecordState)> {
        self.records
            .range(
                RecordKey {
                    kind,
                    id: RecordId([0; 16]),
                }..=RecordKey {
                    kind,
                    id: RecordId([0xff; 16]),
                },
            )
            .filter(|(_, r)| r.created.is_some())
            .map(|(k, r)| (k.id, r))
    }

    /// Number of created records.
    pub fn record_count(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.created.is_some())
            .count()
    }

    /// The canonical digest of the applied state (version vector and every record's merged
    /// state, in key order). Held-back operations are not part of the state.
    pub fn state_hash(&self) -> StateHash {
        let mut hasher = HashFlavor(Sha256::new());
        hasher.0.update(b"krizlink/state/v1");
        hasher.0.update(self.space.0);
        #[allow(clippy::expect_used)]
        let hasher = postcard::serialize_with_flavor(&(&self.applied, &self.records), hasher)
            .expect("serialising in-memory state into a hasher never fails: no byte is refused");
        StateHash(hasher.0.finalize().into())
    }
}

/// Feeds postcard's output straight into SHA-256, so hashing a large state allocates nothing.
struct HashFlavor(Sha256);

impl postcard::ser_flavors::Flavor for HashFlavor {
    type Output = HashFlavor;

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.update([data]);
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.update(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Self::Output> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
