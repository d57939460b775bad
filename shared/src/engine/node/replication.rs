//! Replication: what the sync layer asks of a node. Which spaces it holds (as a member or as a
//! blind relay), its version vector per space, the envelopes a peer lacks (bounded batches), and
//! the receive path for envelopes from the network: decode, signature, space, readability,
//! membership on apply, then one durable log append per batch.
//!
//! Nothing here knows about libp2p; `engine::sync` moves these bytes between peers.

use super::*;
use crate::authority::{Authority, Standing};

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

    /// The envelope logged for `id`.
    pub(crate) fn get(&self, id: &OpId) -> Option<&[u8]> {
        let at = *self.index.get(&id.device)?.get(&id.seq)?;
        self.envelopes.get(at).map(Vec::as_slice)
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

/// Verified operations from devices not admitted (yet) are kept in memory up to these bounds,
/// so that an admission arriving later in the same sync releases them. Beyond, they are
/// dropped (and fetched again by a later sync once the admission is here).
pub const MAX_PENDING_OPS: usize = 10_000;
pub const MAX_PENDING_BYTES: usize = 16 * 1024 * 1024;

/// How this device holds a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holding {
    /// With its keys: reads, writes, checks membership.
    Member,
    /// Ciphertext only: stores and forwards envelopes with a valid signature.
    BlindRelay,
}

/// What came of a batch of envelopes from a peer.
#[derive(Debug, Default)]
pub struct Received {
    /// Newly stored envelopes, in log order: to be forwarded to other peers.
    pub stored: Vec<Vec<u8>>,
    /// Already held.
    pub duplicates: usize,
    /// Refused for good, with the reason (bad signature, unreadable, invalid, not allowed).
    pub rejected: Vec<String>,
    /// Verified but waiting for their author's admission.
    pub pending: usize,
    /// Ids whose author signed another envelope than the one held: a forked device.
    pub forked: Vec<OpId>,
    /// Refused by a blind relay because their author is not on its newest member list (the
    /// sender may hold a newer list: pull it).
    pub unlisted: usize,
}

/// Why an envelope of a batch from a peer was not stored now.
#[derive(Debug, thiserror::Error)]
enum NotStored {
    /// Refused for good (malformed, bad signature, unreadable, invalid, not allowed): the
    /// reason, as audited and told to the peer.
    #[error("{0}")]
    Refused(String),
    /// Verified, but its author is not admitted (yet): kept in memory for the admission, so it
    /// is audited but not counted as refused.
    #[error("{0} (held until what it needs arrives)")]
    Held(Refusal),
}

impl NotStored {
    /// Whether this is a refusal for good (a held operation is not).
    fn is_refusal(&self) -> bool {
        matches!(self, NotStored::Refused(_))
    }
}

/// One candidate from a batch, after the checks that need no membership.
struct Candidate {
    op: Operation,
    bytes: Vec<u8>,
}

/// The contiguous prefix per device of the operations in `store` (and `extra`).
fn contiguous<'a>(store: &EnvelopeStore, extra: impl Iterator<Item = &'a OpId>) -> VersionVector {
    let mut extra_by_device: BTreeMap<DeviceId, BTreeSet<u64>> = BTreeMap::new();
    for id in extra {
        extra_by_device.entry(id.device).or_default().insert(id.seq);
    }
    let mut vv = store.contiguous.clone();
    for (device, more) in extra_by_device {
        let held = store.index.get(&device);
        let mut seq = vv.get(&device);
        while held.is_some_and(|m| m.contains_key(&(seq + 1))) || more.contains(&(seq + 1)) {
            seq += 1;
        }
        if seq > vv.get(&device) {
            vv.advance(device, seq);
        }
    }
    vv
}

/// Up to `max_ops` / `max_bytes` of the envelopes in `store` that `theirs` lacks: `first`
/// (admissions) before the rest, then by device and sequence. True when more remain.
fn missing(
    store: &EnvelopeStore,
    first: &BTreeSet<OpId>,
    theirs: &VersionVector,
    max_ops: usize,
    max_bytes: usize,
) -> (Vec<Vec<u8>>, bool) {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut taken = BTreeSet::new();
    let lacks = |id: &OpId| id.seq > theirs.get(&id.device);
    let wanted = first.iter().filter(|id| lacks(id)).copied().chain(
        store
            .index
            .iter()
            .flat_map(|(device, seqs)| {
                seqs.range(theirs.get(device) + 1..).map(|(seq, _)| OpId {
                    device: *device,
                    seq: *seq,
                })
            })
            .filter(|id| !first.contains(id)),
    );
    for id in wanted {
        let Some(&at) = store.index.get(&id.device).and_then(|m| m.get(&id.seq)) else {
            continue;
        };
        let Some(envelope) = store.envelopes.get(at) else {
            continue;
        };
        if out.len() >= max_ops || (!out.is_empty() && bytes + envelope.len() > max_bytes) {
            return (out, true);
        }
        if taken.insert(id) {
            bytes += envelope.len();
            out.push(envelope.clone());
        }
    }
    (out, false)
}

impl Node {
    /// The spaces this device holds, and how.
    pub fn held_spaces(&self) -> Vec<(SpaceId, Holding)> {
        self.spaces
            .keys()
            .map(|s| (*s, Holding::Member))
            .chain(self.relays.keys().map(|s| (*s, Holding::BlindRelay)))
            .collect()
    }

    /// Why `space` cannot take operations now (its op log is damaged), if it cannot: the sync
    /// layer does not pull it, and says so once.
    pub fn read_only(&self, space: SpaceId) -> Option<&str> {
        self.spaces
            .get(&space)
            .and_then(|st| st.log.as_ref().err())
            .map(String::as_str)
    }

    pub fn holding(&self, space: SpaceId) -> Option<Holding> {
        if self.spaces.contains_key(&space) {
            Some(Holding::Member)
        } else if self.relays.contains_key(&space) {
            Some(Holding::BlindRelay)
        } else {
            None
        }
    }

    /// What this device holds of a space, as a version vector (contiguous per device),
    /// counting operations that wait for their author's admission.
    pub fn have(&self, space: SpaceId) -> Result<VersionVector, NodeError> {
        if let Some(st) = self.spaces.get(&space) {
            return Ok(contiguous(&st.store, st.pending.keys()));
        }
        if let Some(relay) = self.relays.get(&space) {
            return Ok(contiguous(&relay.store, std::iter::empty()));
        }
        Err(NodeError::UnknownSpace(space.to_string()))
    }

    /// The envelopes a peer whose version vector is `theirs` lacks, at most `max_ops` of them
    /// and about `max_bytes` (one envelope more if the first alone is larger); true when more
    /// remain. Admissions go first, so the admitted device's operations can be applied.
    pub fn envelopes_missing_from(
        &self,
        space: SpaceId,
        theirs: &VersionVector,
        max_ops: usize,
        max_bytes: usize,
    ) -> Result<(Vec<Vec<u8>>, bool), NodeError> {
        if let Some(st) = self.spaces.get(&space) {
            return Ok(missing(
                &st.store,
                &st.member_ops,
                theirs,
                max_ops,
                max_bytes,
            ));
        }
        if let Some(relay) = self.relays.get(&space) {
            return Ok(missing(
                &relay.store,
                &BTreeSet::new(),
                theirs,
                max_ops,
                max_bytes,
            ));
        }
        Err(NodeError::UnknownSpace(space.to_string()))
    }

    /// How many of this device's own operations in `space` exist (its last sequence number).
    pub fn own_last_seq(&self, space: SpaceId) -> u64 {
        let me = self.keys.device_id();
        self.spaces
            .get(&space)
            .map_or(0, |st| st.replica.version_vector().get(&me))
    }

    /// Starts holding `space` as a blind relay. False if it is held already.
    pub fn hold_as_relay(&mut self, space: SpaceId) -> Result<bool, NodeError> {
        if self.holding(space).is_some() {
            return Ok(false);
        }
        self.keystore.contents_mut().relay_spaces.push(space);
        self.keystore.save().map_err(NodeError::Keystore)?;
        self.load_relay(space)?;
        self.audit(
            AuditEvent::SpaceCreated,
            &[("relay_space", space.to_string())],
        )?;
        Ok(true)
    }

    pub(super) fn load_relay(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let spaces_dir = self.dir.join("spaces");
        private::dir(&spaces_dir).map_err(io_at(&spaces_dir))?;
        let path = self.log_path(space);
        let (log, entries) = match OpLog::open(&path) {
            Ok((log, entries, _)) => (log, entries),
            Err(damage @ OpLogError::Damaged { .. }) => {
                self.warnings.push(format!(
                    "relayed space {space} is not served until its op log is repaired: {damage}"
                ));
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let mut store = EnvelopeStore::default();
        for bytes in entries {
            if let Ok(env) = Envelope::decode(&bytes) {
                if env.space == space && !store.contains(&env.id) {
                    store.push(env.id, bytes);
                }
            }
        }
        self.relays.insert(space, RelaySpace { log, store });
        Ok(())
    }

    /// Takes a batch of envelopes from a peer (`peer` names it in the audit log). Each one is
    /// decoded and its signature checked; in a space this device is a member of it must also
    /// decrypt, be a valid operation within the clock bound, and pass membership on apply.
    /// Accepted envelopes are appended to the log with one `fdatasync` before this returns.
    /// A bad envelope is refused (and audited once per author and reason) without affecting
    /// the rest; an error is returned only when this device cannot store (e.g. a full disk),
    /// and then nothing of the batch is kept.
    pub fn receive(
        &mut self,
        space: SpaceId,
        batch: Vec<Vec<u8>>,
        peer: &str,
    ) -> Result<Received, NodeError> {
        if self.relays.contains_key(&space) {
            return self.receive_blind(space, batch, peer);
        }
        match self.spaces.get(&space).map(|st| st.log.as_ref()) {
            None => return Err(NodeError::UnknownSpace(space.to_string())),
            // Read-only until repaired: refused before any work (applying the batch and then
            // failing to log it rebuilt the space from its log on every batch).
            Some(Err(reason)) => return Err(NodeError::Damaged(reason.clone())),
            Some(Ok(_)) => {}
        }
        let mut received = Received::default();
        let mut refusals: Vec<(DeviceId, NotStored)> = Vec::new();
        let mut candidates = Vec::new();
        let now = now_ms();
        let st = self.spaces.get(&space).ok_or(NodeError::Random)?;
        let mut seen = BTreeSet::new();
        let mut decoded = Vec::with_capacity(batch.len());
        // Envelopes that beat the one held for their id (`heal::wins`), and envelopes for an
        // id this batch brings twice (compared once one of them is stored).
        let mut winners: Vec<Vec<u8>> = Vec::new();
        let mut contested: Vec<Vec<u8>> = Vec::new();
        for bytes in batch {
            match Envelope::decode(&bytes) {
                Err(e) => refusals.push((
                    DeviceId([0; 32]),
                    NotStored::Refused(format!("malformed envelope: {e}")),
                )),
                Ok(env) if env.space != space => refusals.push((
                    env.id.device,
                    NotStored::Refused("envelope of another space".into()),
                )),
                Ok(env)
                    if st
                        .store
                        .get(&env.id)
                        .is_some_and(|held| held != bytes.as_slice())
                        && env.verify().is_ok() =>
                {
                    received.forked.push(env.id);
                    if st
                        .store
                        .get(&env.id)
                        .is_some_and(|held| heal::wins(&bytes, held))
                    {
                        winners.push(bytes);
                    }
                }
                Ok(env)
                    if st.store.contains(&env.id)
                        || st.pending.contains_key(&env.id)
                        || !seen.insert(env.id) =>
                {
                    if !st.store.contains(&env.id) && !st.pending.contains_key(&env.id) {
                        contested.push(bytes);
                    }
                    received.duplicates += 1
                }
                Ok(env) => decoded.push((env, bytes)),
            }
        }
        // Signatures dominate the cost of a catch-up: check them on every core.
        let verdicts = verify_all(&decoded);
        // Signed by their author and readable with the space key, but not a valid operation.
        let mut unreadable: Vec<(OpId, Vec<u8>)> = Vec::new();
        let mut later_epoch: Vec<Vec<u8>> = Vec::new();
        for ((envelope, bytes), verdict) in decoded.into_iter().zip(verdicts) {
            let device = envelope.id.device;
            let opened = verdict.map_err(NodeError::from).and_then(|()| {
                let key = self
                    .space_key(space, envelope.epoch)
                    .ok_or(EnvelopeError::UnknownEpoch)?;
                Ok(envelope.open_verified(key)?)
            });
            let op = match opened {
                Ok(op) => op,
                // Sealed under a key this batch may bring (a rotation): tried again after it.
                Err(NodeError::Envelope(EnvelopeError::UnknownEpoch))
                    if later_epoch.len() < MAX_PENDING_OPS =>
                {
                    later_epoch.push(bytes);
                    continue;
                }
                Err(e) => {
                    if signed_but_invalid(&e) {
                        unreadable.push((envelope.id, bytes));
                    }
                    refusals.push((device, NotStored::Refused(e.to_string())));
                    continue;
                }
            };
            if let Err(e) = st.clock.check(op.hlc, now) {
                refusals.push((device, NotStored::Refused(e.to_string())));
                continue;
            }
            candidates.push(Candidate { op, bytes });
        }
        let st = self.spaces.get_mut(&space).ok_or(NodeError::Random)?;
        // Waiting operations get another chance with this batch (it may admit their author).
        let waiting = std::mem::take(&mut st.pending);
        st.pending_bytes = 0;
        candidates.extend(
            waiting
                .into_values()
                .map(|(op, bytes)| Candidate { op, bytes }),
        );
        let own = (self.keys.device_id(), self.entry(space)?.role);
        let st = self.spaces.get_mut(&space).ok_or(NodeError::Random)?;
        // What this replica applied under the standing it knew before this batch.
        let applied = st.replica.version_vector().clone();
        // The batch's member operations join the fold before anything is judged.
        let mut fresh: Vec<&Operation> = Vec::new();
        for c in candidates
            .iter()
            .filter(|c| c.op.kind == RecordKind::Member)
        {
            if st.control.insert(c.op.id, c.op.clone()).is_none() {
                fresh.push(&c.op);
            }
        }
        let new_control = !fresh.is_empty();
        let fresh_ids: BTreeSet<OpId> = fresh.iter().map(|op| op.id).collect();
        // Whether what was applied must be decided again, when the batch's member operations
        // were folded in one by one; otherwise the fold before the batch, to compare with.
        let (mut rejudges, mut before) = match st.fold_in(&mut fresh, &applied) {
            Some(rejudges) => (rejudges, None),
            None => {
                let before = st.authority.clone();
                st.refold();
                (false, Some(before))
            }
        };
        // Admissions first, then each device's operations in order.
        candidates.sort_by_key(|c| (c.op.kind != RecordKind::Member, c.op.id.device, c.op.id.seq));
        let log_start = st.log_entries;
        let mut accepted: Vec<Candidate> = Vec::new();
        // Refused for good by the permission table or the fold: logged and passed on as voids.
        let mut not_allowed: Vec<(OpId, Vec<u8>)> = Vec::new();
        let mut undecided = candidates;
        loop {
            let mut progress = false;
            let mut still = Vec::new();
            for c in undecided {
                match judge(&st.authority, &st.replica, own, &c.op) {
                    Ok(()) => match st.replica.apply(c.op.clone()) {
                        Ok(_) => {
                            if c.op.kind == RecordKind::Member {
                                st.member_ops.insert(c.op.id);
                            }
                            progress = true;
                            accepted.push(c);
                        }
                        Err(e) => {
                            refusals.push((c.op.id.device, NotStored::Refused(e.to_string())))
                        }
                    },
                    // Its author's admission, the record or the task's assignment may come.
                    Err(e) if e.may_change() => still.push(c),
                    Err(e) => {
                        if st.replica.void(c.op.id).is_ok() {
                            if c.op.kind == RecordKind::Member {
                                st.member_ops.insert(c.op.id);
                            }
                            progress = true;
                            not_allowed.push((c.op.id, c.bytes));
                        }
                        refusals.push((c.op.id.device, NotStored::Refused(e.to_string())));
                    }
                }
            }
            undecided = still;
            if !progress || undecided.is_empty() {
                break;
            }
        }
        // An invalid operation of an admitted author is refused for good, the same way on
        // every replica: its place is taken (`Replica::void`) and its envelope kept and passed
        // on, so the author's later operations are not held back behind it forever.
        let mut voided: Vec<(OpId, Vec<u8>)> = not_allowed;
        for (id, bytes) in unreadable {
            let admitted = st.authority.standing(id.device, id.seq) != Standing::Unknown;
            if admitted && st.replica.void(id).is_ok() {
                voided.push((id, bytes));
            }
        }
        // Member operations still waiting do not count in the fold until they are logged.
        let mut held_control = false;
        for c in undecided.iter().filter(|c| c.op.kind == RecordKind::Member) {
            held_control |= st.control.remove(&c.op.id).is_some();
        }
        if held_control {
            // Compared with the fold before the batch: the set without the batch's operations.
            before = before.or_else(|| {
                let earlier = st.control.values().filter(|op| !fresh_ids.contains(&op.id));
                Some(Authority::fold(st.founder, "", earlier))
            });
            st.refold();
        }
        if let Some(before) = before {
            rejudges = before.differs_for(&st.authority, |d| applied.get(&d));
        }
        // A member operation that judges what was applied before differently (a demotion
        // whose cut lies below what is held of the device): the space is decided again from
        // its log once this batch is logged.
        let decide_again = (new_control || held_control) && rejudges;
        for c in undecided {
            if st.pending.len() >= MAX_PENDING_OPS
                || st.pending_bytes + c.bytes.len() > MAX_PENDING_BYTES
            {
                break;
            }
            let why = judge(&st.authority, &st.replica, own, &c.op)
                .err()
                .unwrap_or(Refusal::NotAMember(c.op.id.device));
            refusals.push((c.op.id.device, NotStored::Held(why)));
            st.pending_bytes += c.bytes.len();
            st.pending.insert(c.op.id, (c.op, c.bytes));
            received.pending += 1;
        }
        let mut own_returned = 0;
        let mut members_changed = false;
        if !accepted.is_empty() || !voided.is_empty() {
            let bytes: Vec<&[u8]> = accepted
                .iter()
                .map(|c| c.bytes.as_slice())
                .chain(voided.iter().map(|(_, b)| b.as_slice()))
                .collect();
            let appended = match st.log.as_mut() {
                Ok(log) => log.append_batch(&bytes).map_err(NodeError::from),
                Err(reason) => Err(NodeError::Damaged(reason.clone())),
            };
            if let Err(e) = appended {
                // The replica already holds them: rebuild it from what is on disk, so nothing
                // is shown (or served) that is not stored.
                self.spaces.remove(&space);
                self.load_space(space)?;
                return Err(e);
            }
            let me = self.keys.device_id();
            own_returned = accepted.iter().filter(|c| c.op.id.device == me).count();
            members_changed = accepted.iter().any(|c| c.op.kind == RecordKind::Member);
            for c in accepted {
                st.log_digest = chain(&st.log_digest, &c.bytes);
                st.log_entries += 1;
                st.since_checkpoint += 1;
                let _ = st.clock.observe(c.op.hlc, now);
                st.dirty.insert(RecordKey {
                    kind: c.op.kind,
                    id: c.op.record,
                });
                st.store.push(c.op.id, c.bytes.clone());
                received.stored.push(c.bytes);
            }
            for (id, bytes) in voided {
                st.log_digest = chain(&st.log_digest, &bytes);
                st.log_entries += 1;
                st.since_checkpoint += 1;
                st.store.push(id, bytes.clone());
                received.stored.push(bytes);
            }
        }
        for bytes in contested {
            let Ok(env) = Envelope::decode(&bytes) else {
                continue;
            };
            if let Some(held) = st.store.get(&env.id) {
                if held != bytes.as_slice() && env.verify().is_ok() {
                    received.forked.push(env.id);
                    if heal::wins(&bytes, held) {
                        winners.push(bytes);
                    }
                }
            }
        }
        debug_assert_eq!(
            st.log_entries - log_start,
            received.stored.len() as u64,
            "every stored envelope is logged once"
        );
        // Bulk catch-up checkpoints less often: each checkpoint's sled pages would otherwise
        // ride on the next batch's fdatasync. A crash replays at most this tail.
        let checkpoint_due = st.since_checkpoint >= CHECKPOINT_OPS * 16;
        for (device, why) in refusals {
            let reason = why.to_string();
            if why.is_refusal() {
                received.rejected.push(reason.clone());
            }
            self.audit_rejection(space, device, peer, &reason)?;
        }
        if checkpoint_due {
            if let Err(e) = self.checkpoint(space) {
                self.warnings.push(format!("derived state not saved: {e}"));
            }
        }
        if decide_again {
            self.rebuild_space(space)?;
        }
        self.note_forks(space, &received.forked, peer)?;
        // The winners replace the losers held here (this device's own losers are issued again
        // first), and go on to other peers with whatever was issued again.
        let (_, passed_on) = self.take_winners(space, winners)?;
        received.stored.extend(passed_on);
        self.note_own_returned(space, own_returned, peer)?;
        if self.is_exercise(space) && (members_changed || !self.holds_control_key(space)) {
            // The control key may have arrived for this device, or a new leader or evaluator
            // (a member change) may lack it; other batches leave both as they were.
            self.exercise_keys_up_to_date(space)?;
        }
        if members_changed {
            // A removal elsewhere may have handed this device the next epoch's key.
            let rotated = self.install_rekeys(space)?;
            self.refresh_member_list(space)?;
            if rotated && !later_epoch.is_empty() {
                let again = self.receive(space, std::mem::take(&mut later_epoch), peer)?;
                received.stored.extend(again.stored);
                received.duplicates += again.duplicates;
                received.rejected.extend(again.rejected);
                received.pending += again.pending;
                received.forked.extend(again.forked);
            }
        }
        for bytes in later_epoch {
            let device = Envelope::decode(&bytes).map_or(DeviceId([0; 32]), |e| e.id.device);
            let reason = EnvelopeError::UnknownEpoch.to_string();
            received.rejected.push(reason.clone());
            self.audit_rejection(space, device, peer, &reason)?;
        }
        Ok(received)
    }

    /// The receive path of a blind relay: only what can be checked without the keys.
    fn receive_blind(
        &mut self,
        space: SpaceId,
        batch: Vec<Vec<u8>>,
        peer: &str,
    ) -> Result<Received, NodeError> {
        let mut received = Received::default();
        let mut refusals = Vec::new();
        let lists = self.keystore.contents().member_lists(space);
        let relay = self.relays.get_mut(&space).ok_or(NodeError::Random)?;
        let mut accepted: Vec<(OpId, Vec<u8>)> = Vec::new();
        let mut winners: Vec<Vec<u8>> = Vec::new();
        let (future_bound, now) = (
            HlcClock::new(HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS),
            now_ms(),
        );
        for bytes in batch {
            let checked = Envelope::decode(&bytes).and_then(|env| env.verify().map(|()| env));
            match checked {
                Err(e) => refusals.push((DeviceId([0; 32]), e.to_string())),
                Ok(env) if env.space != space => {
                    refusals.push((env.id.device, "envelope of another space".into()))
                }
                // The stamp is in the clear: a relay refuses one from the future as members do,
                // so the author can stamp it again once its clock is right (`node/clock.rs`).
                Ok(env) if future_bound.check(env.hlc, now).is_err() => {
                    let reason = future_bound
                        .check(env.hlc, now)
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    refusals.push((env.id.device, reason))
                }
                Ok(env)
                    if relay
                        .store
                        .get(&env.id)
                        .is_some_and(|held| held != bytes.as_slice())
                        && env.verify().is_ok() =>
                {
                    received.forked.push(env.id);
                    if relay
                        .store
                        .get(&env.id)
                        .is_some_and(|held| heal::wins(&bytes, held))
                    {
                        winners.push(bytes);
                    }
                }
                Ok(env)
                    if relay.store.contains(&env.id)
                        || accepted.iter().any(|(id, _)| *id == env.id) =>
                {
                    received.duplicates += 1
                }
                // Only what members wrote, by the newest signed member list (`member_lists`).
                Ok(env) if !lists.is_some_and(|l| l.lists(&env.id.device)) => {
                    received.unlisted += 1;
                    refusals.push((
                        env.id.device,
                        "its author is not on the space's signed member list".into(),
                    ))
                }
                Ok(env) => accepted.push((env.id, bytes)),
            }
        }
        if !accepted.is_empty() {
            let bytes: Vec<&[u8]> = accepted.iter().map(|(_, b)| b.as_slice()).collect();
            relay.log.append_batch(&bytes)?;
            for (id, bytes) in accepted {
                relay.store.push(id, bytes.clone());
                received.stored.push(bytes);
            }
        }
        for (device, reason) in refusals {
            received.rejected.push(reason.clone());
            self.audit_rejection(space, device, peer, &reason)?;
        }
        self.note_forks(space, &received.forked, peer)?;
        // The relay keeps what every member keeps (the rule needs only the clear header).
        let (_, passed_on) = self.take_winners(space, winners)?;
        received.stored.extend(passed_on);
        Ok(received)
    }

    /// Audits a refused operation: the first of each (space, author, peer, reason) per interval
    /// in full, the rest counted and summarised (see [`AuditLog::refusal`]).
    fn audit_rejection(
        &mut self,
        space: SpaceId,
        device: DeviceId,
        peer: &str,
        reason: &str,
    ) -> Result<(), NodeError> {
        let source = format!("{space}/{device}/{peer}");
        self.audit_refusal(
            AuditEvent::OperationRejected,
            &source,
            reason,
            &[
                ("space", space.to_string()),
                ("device", device.to_string()),
                ("peer", peer.to_owned()),
                ("reason", reason.to_owned()),
            ],
        )
    }
}

/// Verifies the envelopes' signatures, on up to four threads for large batches.
fn verify_all(batch: &[(Envelope, Vec<u8>)]) -> Vec<Result<(), EnvelopeError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if batch.len() < 64 || threads < 2 {
        return batch.iter().map(|(e, _)| e.verify()).collect();
    }
    let chunk = batch.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|(e, _)| e.verify()).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err(EnvelopeError::BadSignature); chunk])
            })
            .collect()
    })
}

/// Whether an envelope failed after its signature and decryption held: its author signed
/// content that is not a valid operation, which every replica refuses alike.
pub(super) fn signed_but_invalid(e: &NodeError) -> bool {
    matches!(
        e,
        NodeError::Envelope(
            EnvelopeError::InvalidPayload(_)
                | EnvelopeError::MalformedPayload(_)
                | EnvelopeError::PayloadNotCanonical
        )
    )
}

#[cfg(test)]
mod tests;
