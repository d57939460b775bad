//! Healing a fork: two validly signed envelopes of one device for one operation id (its data
//! dir was restored from an older copy and written on, see `forks`), so that every replica
//! ends with both writes and the same state.
//!
//! **The rule.** Of two validly signed envelopes for one id, every replica keeps the same one,
//! whatever arrived first: the one with the lower `session` (the author's start counter, in the
//! clear header), and between equal sessions the one whose encoded bytes have the lower
//! SHA-256. Both parts are in the envelope itself, so members and blind relays (which cannot
//! decrypt) decide alike. The lower session is nearly always the original write: the counter
//! never falls below the seconds since 2020, so a copy restored and started later writes under a
//! higher session than the run it was copied from — the version the staff mostly hold already
//! stays, and the rewrite stays with the device that caused it.
//!
//! **A replica holding the loser** (member or relay) replaces it by the winner in its op log,
//! in place, all or nothing (`OpLog::rewrite`), and rebuilds the space from the log, as
//! `clock` does for restamped writes. It reports the fork (once per device, audited
//! `device_forked`) and forwards the winner.
//!
//! **The forked device itself**, holding a loser of its own id, first issues the loser's
//! *content* again as a new operation: the next sequence number beyond the highest of its own
//! that it holds (its own writes that came back from its staff included, and the winners just
//! received), a fresh session (so no (key, nonce) pair is used twice), stamped now. What the
//! new operations refer to is mapped: a record created by a losing operation gets the record
//! id of its new operation (`RecordId::for_create`), and every later re-issued loser that
//! names it (its record, `Supersedes`, `Corrects`) or names a losing operation id (`bases`,
//! `observed`) names the new one. Then it takes the winner in, in the same rewrite of its log.
//! Audited (`fork_healed`) and told to the person ([`Healed::notice`], Czech first).
//!
//! **Both copies still running.** The rule does not care which copy is the "original": the
//! copy whose run started later (a higher session) loses wherever both wrote one number, and
//! issues its writes again; should the other restart and write under a yet higher session, it
//! is the one that loses next time. Each round moves the loser's writes beyond every number the
//! loser has seen, so once the two stop colliding (or one stops), every replica holds every
//! write once (`the_original_and_the_restored_copy_both_writing_on_end_alike`). Two runs
//! started within the same second share a session: the digest decides then (the start
//! counter's floor, seconds since 2020, cannot keep such a copy from reusing a nonce).
//!
//! **Finding every loser.** A pull's tips name only the envelope at each device's end. Where a
//! tip differs, the answer carries the answerer's last [`super::forks::FORK_WINDOW`] envelopes
//! of that device up to the puller's end; where the answerer knows the device forked, its
//! envelopes from a window below the lowest id it has seen forked (and the losers it replaced
//! itself), all bounded (`forks::MAX_FORKED_PER_PULL`, `forks::MAX_FORKED_BYTES`). The puller
//! compares them byte for byte (a duplicate costs a comparison) and the rule applies to each one
//! that differs. Each side learns lower forked ids from the other's windows, so the windows
//! move down pull by pull until they hold only envelopes both sides agree on.
//!
//! **Not healed, only reported.** Operations written *on top of* a losing one — by other
//! devices, or by the forked device under ids nobody else held — keep naming its record and op
//! id. After the heal those name whatever the winner left under that id (the same record id
//! when both created one, as record ids derive from op ids): every replica applies them alike,
//! so replicas agree, but such an edit lands on the winner's record, not on the re-issued one.
//! Each replica that replaces a loser counts its *own* operations logged after the loser that
//! name it (they were written while it held the loser, so they were built on it), tells its
//! person ([`Healed::on_top_notice`]) and audits the count (`on_top`). Operations of others
//! that name the id cannot be told apart from ones built on the winner (both have that id).
//! Three or more copies of one data dir can each re-issue the same loser (the content then
//! appears twice). An envelope waiting for its author's admission is not compared. What a node
//! knows of forks (`fork_low`, the losers it replaced) lives in memory: should every node that
//! knew of a fork deeper than one window restart before the windows reached its bottom, the
//! losers left below stay where they are (the state hashes then differ) until a fork shows at
//! a tip again.

use super::forks::MAX_REPLACED_KEPT;
use super::*;
use crate::record::FieldValue;

/// What [`Node::take_winners`] did in one space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Healed {
    /// Losing envelopes replaced by the winners.
    pub replaced: usize,
    /// This device's own losing writes issued again under fresh numbers.
    pub reissued: usize,
    /// This device's own writes made on top of a replaced loser (they name its record or its
    /// id), left as they are: they now refer to what the winner left there.
    pub on_top: usize,
}

impl Healed {
    /// One sentence for the person whose writes built on a replaced write (Czech first).
    pub fn on_top_notice(&self) -> String {
        format!(
            "{} zápisů tohoto počítače navazovalo na zápisy zařízení, jehož data byla obnovena \
             ze starší kopie; ty byly všude nahrazeny jinými se stejným číslem. Zápisy tohoto \
             počítače zůstávají, jak byly, ale vztahují se nyní k nahrazujícímu zápisu — \
             zkontrolujte je. / {} writes of this computer built on writes of a device whose \
             data was restored from an older copy; those were replaced everywhere by others \
             with the same number. This computer's writes stay as they were but now refer to \
             the replacing write: check them.",
            self.on_top, self.on_top
        )
    }

    /// One sentence for the person on the restored device (Czech first, as the app speaks).
    pub fn notice(&self) -> String {
        format!(
            "Data tohoto počítače byla obnovena ze starší kopie a psalo se do nich: {} zápisů \
             mělo čísla, pod kterými štáb už měl jiné zápisy tohoto zařízení. Byly zapsány znovu \
             pod novými čísly a odejdou při příští synchronizaci; zápisy štábu zůstávají také. / \
             This computer's data was restored from an older copy and written on: {} writes \
             had numbers under which its staff already held other writes of this device. They \
             were written again under new numbers and go out with the next sync; the staff's \
             writes stay as well.",
            self.reissued, self.reissued
        )
    }
}

/// Whether envelope `a` wins over `b`, two validly signed envelopes for one operation id (see
/// the module doc): the lower session, then the lower SHA-256 of the encoded bytes.
pub fn wins(a: &[u8], b: &[u8]) -> bool {
    match (Envelope::decode(a), Envelope::decode(b)) {
        (Ok(x), Ok(y)) => {
            (x.session, sha2::Sha256::digest(a).as_slice())
                < (y.session, sha2::Sha256::digest(b).as_slice())
        }
        (Ok(_), Err(_)) => true,
        _ => false,
    }
}

/// Whether `op` names `loser`'s id (bases, observed additions) or the record it created
/// (edits, `Supersedes`, `Corrects`).
fn refers_to(op: &Operation, loser: &Operation) -> bool {
    let created = loser.creates().then_some(loser.record);
    let names_record = |r: &RecordId| created == Some(*r);
    let names_op = |ids: &[OpId]| ids.contains(&loser.id);
    (!op.creates() && names_record(&op.record))
        || op.changes.iter().any(|c| match c {
            Change::Set { value, bases } => {
                names_op(bases)
                    || matches!(value, FieldValue::Supersedes(r) | FieldValue::Corrects(r) if names_record(r))
            }
            Change::Remove { observed, .. } => names_op(observed),
            Change::Transition { bases, .. } => names_op(bases),
            _ => false,
        })
}

/// Maps what a re-issued operation refers to: records created by losers, losing op ids.
#[derive(Default)]
struct Renames {
    ops: BTreeMap<OpId, OpId>,
    records: BTreeMap<RecordId, RecordId>,
}

impl Renames {
    fn op(&self, id: &OpId) -> OpId {
        self.ops.get(id).copied().unwrap_or(*id)
    }

    fn record(&self, id: &RecordId) -> RecordId {
        self.records.get(id).copied().unwrap_or(*id)
    }

    fn ops_in<const N: usize>(
        &self,
        ids: &crate::bounded::BoundedVec<OpId, N>,
    ) -> crate::bounded::BoundedVec<OpId, N> {
        let mut out = crate::bounded::BoundedVec::new();
        for id in ids.iter() {
            // As long as the original: it fits.
            let _ = out.push(self.op(id));
        }
        out
    }

    fn change(&self, change: &Change) -> Change {
        match change {
            Change::Set { value, bases } => Change::Set {
                value: match value {
                    FieldValue::Supersedes(r) => FieldValue::Supersedes(self.record(r)),
                    FieldValue::Corrects(r) => FieldValue::Corrects(self.record(r)),
                    other => other.clone(),
                },
                bases: self.ops_in(bases),
            },
            Change::Remove {
                set,
                element,
                observed,
            } => Change::Remove {
                set: *set,
                element: element.clone(),
                observed: self.ops_in(observed),
            },
            Change::Transition {
                from,
                to,
                note,
                bases,
            } => Change::Transition {
                from: *from,
                to: *to,
                note: note.clone(),
                bases: self.ops_in(bases),
            },
            other => other.clone(),
        }
    }
}

impl Node {
    /// Takes `winners` (validly signed envelopes that beat the envelope held for their id, see
    /// the module doc) into `space`: this device's own losers are issued again under fresh
    /// numbers, then every loser is replaced in the op log (all or nothing) and the space
    /// rebuilt from it. Returns the envelopes to pass on (winners and re-issued writes).
    pub(super) fn take_winners(
        &mut self,
        space: SpaceId,
        winners: Vec<Vec<u8>>,
    ) -> Result<(Healed, Vec<Vec<u8>>), NodeError> {
        let mut done = Healed::default();
        if winners.is_empty() {
            return Ok((done, Vec::new()));
        }
        if self.relays.contains_key(&space) {
            return self.relay_take_winners(space, winners);
        }
        let me = self.keys.device_id();
        let path = self.log_path(space);
        if let Some(Err(reason)) = self.spaces.get(&space).map(|st| st.log.as_ref()) {
            return Err(NodeError::Damaged(reason.clone()));
        }
        // Only a winner that is a valid operation here replaces anything.
        let mut by_id: BTreeMap<OpId, Vec<u8>> = BTreeMap::new();
        for bytes in winners {
            let Ok(env) = Envelope::decode(&bytes) else {
                continue;
            };
            let Some(key) = self.space_key(space, env.epoch) else {
                continue;
            };
            let better = by_id.get(&env.id).is_none_or(|other| wins(&bytes, other));
            if env.space == space && better && env.open(key).is_ok() {
                by_id.insert(env.id, bytes);
            }
        }
        let mut entries = OpLog::read_intact_prefix(&path)?;
        let mut losers: Vec<(usize, Operation)> = Vec::new();
        // Every loser that opens, with its place in the log: what may have been built on it.
        let mut opened: Vec<(usize, Operation)> = Vec::new();
        let mut replace: Vec<(usize, OpId)> = Vec::new();
        let mut highest_own = 0;
        for (i, bytes) in entries.iter().enumerate() {
            let Ok(env) = Envelope::decode(bytes) else {
                continue;
            };
            if env.id.device == me {
                highest_own = highest_own.max(env.id.seq);
            }
            let Some(winner) = by_id.get(&env.id) else {
                continue;
            };
            if winner == bytes
                || !wins(winner, bytes)
                || replace.iter().any(|(_, id)| *id == env.id)
            {
                continue;
            }
            replace.push((i, env.id));
            let key = self
                .space_key(space, env.epoch)
                .ok_or(EnvelopeError::UnknownEpoch)?;
            // A loser that does not open is not content to keep (it was refused as void).
            if let Ok(op) = env.open(key) {
                if env.id.device == me {
                    losers.push((i, op.clone()));
                }
                opened.push((i, op));
            }
        }
        if replace.is_empty() {
            return Ok((done, Vec::new()));
        }
        done.on_top = self.built_on(space, &entries, &opened, &replace);
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut reissued: Vec<Vec<u8>> = Vec::new();
        if !losers.is_empty() {
            reissued = self.reissue(space, &losers, highest_own.max(self.own_last_seq(space)))?;
        }
        let mut replaced = self.replaced.remove(&space).unwrap_or_default();
        for (i, id) in &replace {
            if let (Some(slot), Some(winner)) = (entries.get_mut(*i), by_id.get(id)) {
                if replaced.len() < MAX_REPLACED_KEPT {
                    replaced.push(slot.clone());
                }
                slot.clone_from(winner);
                out.push(winner.clone());
            }
        }
        self.replaced.insert(space, replaced);
        entries.extend(reissued.iter().cloned());
        // The log first (all or nothing), then everything derived from it — from whichever
        // log is on disk, should the rewrite have failed.
        drop(self.spaces.remove(&space));
        let rewrite = OpLog::rewrite(&path, &entries);
        self.load_space(space)?;
        rewrite?;
        done.replaced = replace.len();
        done.reissued = reissued.len();
        out.extend(reissued);
        self.audit(
            AuditEvent::ForkHealed,
            &[
                ("space", space.to_string()),
                ("replaced", done.replaced.to_string()),
                ("reissued", done.reissued.to_string()),
                ("on_top", done.on_top.to_string()),
            ],
        )?;
        if done.reissued > 0 {
            self.notices.push(done.notice());
        }
        if done.on_top > 0 {
            self.notices.push(done.on_top_notice());
        }
        Ok((done, out))
    }

    /// How many of this device's own operations, logged after a replaced loser and not
    /// replaced themselves, name the loser's record (when it created one) or its id: they were
    /// written while this device held the loser, so they were built on it.
    fn built_on(
        &self,
        space: SpaceId,
        entries: &[Vec<u8>],
        losers: &[(usize, Operation)],
        replace: &[(usize, OpId)],
    ) -> usize {
        let me = self.keys.device_id();
        let Some(first) = losers.iter().map(|(i, _)| *i).min() else {
            return 0;
        };
        entries
            .iter()
            .enumerate()
            .skip(first + 1)
            .filter(|(i, _)| !replace.iter().any(|(r, _)| r == i))
            .filter_map(|(i, bytes)| {
                let env = Envelope::decode(bytes).ok()?;
                if env.id.device != me {
                    return None;
                }
                let op = env.open(self.space_key(space, env.epoch)?).ok()?;
                Some((i, op))
            })
            .filter(|(i, op)| {
                losers
                    .iter()
                    .any(|(at, loser)| at < i && refers_to(op, loser))
            })
            .count()
    }

    /// Seals the content of this device's losing operations again under fresh sequence numbers
    /// after `after`, a fresh session and current stamps, with their references mapped.
    fn reissue(
        &mut self,
        space: SpaceId,
        losers: &[(usize, Operation)],
        after: u64,
    ) -> Result<Vec<Vec<u8>>, NodeError> {
        let me = self.keys.device_id();
        let session = next_session(&self.dir)?;
        self.session = Some(session);
        let (epoch, key, own_role) = self.write_key(space)?;
        let st = self
            .spaces
            .get_mut(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let mut ordered: Vec<&Operation> = losers.iter().map(|(_, op)| op).collect();
        ordered.sort_by_key(|op| op.id.seq);
        let mut renames = Renames::default();
        let mut seq = after;
        let mut sealed = Vec::new();
        for old in ordered {
            let id = OpId {
                device: me,
                seq: seq + 1,
            };
            let record = if old.creates() {
                let new = RecordId::for_create(&id);
                renames.records.insert(old.record, new);
                new
            } else {
                renames.record(&old.record)
            };
            let changes = old.changes.iter().map(|c| renames.change(c)).collect();
            let hlc = st.clock.tick(now_ms());
            let Ok(op) = Operation::edit(id, hlc, space, record, old.kind, changes) else {
                continue;
            };
            if judge(&st.authority, &st.replica, (me, own_role), &op).is_err() {
                continue;
            }
            sealed.push(Envelope::seal(&op, epoch, session, &key, &self.keys)?.encode()?);
            renames.ops.insert(old.id, id);
            seq += 1;
        }
        Ok(sealed)
    }

    /// A blind relay's share of the rule: the loser replaced by the winner in its log.
    fn relay_take_winners(
        &mut self,
        space: SpaceId,
        winners: Vec<Vec<u8>>,
    ) -> Result<(Healed, Vec<Vec<u8>>), NodeError> {
        let path = self.log_path(space);
        let mut entries = OpLog::read_intact_prefix(&path)?;
        let mut out = Vec::new();
        // Where each id is first logged (as the relay's store has it).
        let mut index: BTreeMap<OpId, usize> = BTreeMap::new();
        for (i, bytes) in entries.iter().enumerate() {
            if let Ok(env) = Envelope::decode(bytes) {
                index.entry(env.id).or_insert(i);
            }
        }
        for winner in winners {
            let Ok(env) = Envelope::decode(&winner) else {
                continue;
            };
            let at = index.get(&env.id).copied();
            if let Some(slot) = at.and_then(|i| entries.get_mut(i)) {
                if *slot != winner && wins(&winner, slot) {
                    let replaced = self.replaced.entry(space).or_default();
                    if replaced.len() < MAX_REPLACED_KEPT {
                        replaced.push(slot.clone());
                    }
                    slot.clone_from(&winner);
                    out.push(winner);
                }
            }
        }
        let done = Healed {
            replaced: out.len(),
            ..Healed::default()
        };
        if out.is_empty() {
            return Ok((done, out));
        }
        drop(self.relays.remove(&space));
        let rewrite = OpLog::rewrite(&path, &entries);
        self.load_relay(space)?;
        rewrite?;
        self.audit(
            AuditEvent::ForkHealed,
            &[
                ("relay_space", space.to_string()),
                ("replaced", done.replaced.to_string()),
            ],
        )?;
        Ok((done, out))
    }
}

#[cfg(test)]
mod tests;
