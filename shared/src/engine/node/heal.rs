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
//! appears twice). An envelope waiting for its author's admission is not compared.

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
        let (epoch, key, own_role) = {
            let entry = self.entry(space)?;
            let (epoch, key) = entry
                .keys
                .last()
                .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
            (*epoch, key.clone(), entry.role)
        };
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
            if admit(st.founder, &st.members, (me, own_role), &op).is_err() {
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
mod tests {
    use super::*;
    use crate::engine::envelope::nonce_of;
    use crate::engine::node::testing::{
        backed_up_then_written, envelope_at, joined, new_node, pull, scratch, sync, task, titles,
        PASS,
    };
    use crate::record::FieldValue;

    const BEFORE: &str = "Zápis před obnovou";
    const AFTER: &str = "Zápis po obnovení";

    fn hash(node: &Node, space: SpaceId) -> String {
        format!("{:?}", node.replica(space).unwrap().state_hash())
    }

    #[test]
    fn a_restored_copy_written_on_ends_with_both_writes_on_every_replica() {
        let dir = scratch("heal-both");
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        let mut other = joined(&mut chair, space, &dir, "other");
        let mut restored = Node::open(&copy, PASS).unwrap();
        let me = restored.device_id();
        task(&mut restored, space, AFTER);
        let seq = restored.own_last_seq(space);
        let loser = envelope_at(&restored, space, me, seq);
        let winner = envelope_at(&chair, space, me, seq);
        assert!(
            wins(&winner, &loser),
            "the staff's write has the lower session"
        );
        // The restored copy pulls from its staff: its write loses, and is issued again.
        let got = pull(&chair, &mut restored, space);
        assert_eq!(got.forked, [OpId { device: me, seq }], "{got:?}");
        assert_eq!(titles(&restored, space), [AFTER, BEFORE]);
        assert_eq!(envelope_at(&restored, space, me, seq), winner);
        assert_eq!(restored.own_last_seq(space), seq + 1, "a fresh number");
        assert!(restored.forked_devices().iter().any(|f| f.this_device));
        assert!(
            restored
                .notices()
                .iter()
                .any(|n| n.contains("Byly zapsány znovu") && n.contains(" / ")),
            "{:?}",
            restored.notices()
        );
        // The staff pull from it: the write issued again comes, and the loser is reported.
        let got = pull(&restored, &mut chair, space);
        assert_eq!(got.stored.len(), 1, "{got:?}");
        assert_eq!(got.forked.len(), 1, "{got:?}");
        assert_eq!(
            envelope_at(&chair, space, me, seq),
            winner,
            "the winner stays"
        );
        pull(&chair, &mut other, space);
        for node in [&chair, &other, &restored] {
            assert_eq!(titles(node, space), [AFTER, BEFORE]);
            assert_eq!(hash(node, space), hash(&chair, space));
        }
        // Again and again: nothing changes, the fork is reported once.
        for _ in 0..2 {
            pull(&restored, &mut chair, space);
            pull(&chair, &mut restored, space);
            pull(&other, &mut chair, space);
        }
        assert_eq!(hash(&restored, space), hash(&chair, space));
        assert_eq!(chair.forked_devices().len(), 1);
        assert_eq!(restored.own_last_seq(space), seq + 1);
        // No (key, nonce) pair was used twice: the loser, and every envelope of the device.
        let mut nonces = BTreeSet::new();
        assert!(nonces.insert(nonce_of(&Envelope::decode(&loser).unwrap())));
        for s in 1..=seq + 1 {
            let env = Envelope::decode(&envelope_at(&chair, space, me, s)).unwrap();
            assert!(nonces.insert(nonce_of(&env)), "nonce of {s} reused");
        }
        chair.audit_flush().unwrap();
        restored.audit_flush().unwrap();
        let audit = std::fs::read_to_string(dir.join("chair").join("audit.log")).unwrap();
        assert_eq!(audit.matches("\"event\":\"device_forked\"").count(), 1);
        let audit = std::fs::read_to_string(copy.join("audit.log")).unwrap();
        assert_eq!(audit.matches("\"event\":\"fork_healed\"").count(), 1);
        // After a restart too.
        restored.close().unwrap();
        let restored = Node::open(&copy, PASS).unwrap();
        assert_eq!(hash(&restored, space), hash(&chair, space));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn peers_and_relays_that_took_the_losing_write_first_replace_it() {
        let dir = scratch("heal-peers");
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        let mut restored = Node::open(&copy, PASS).unwrap();
        let me = restored.device_id();
        // A member that never saw the staff's write, and a relay: both get the loser first.
        let mut other = joined(&mut chair, space, &dir, "other");
        let seq = restored.own_last_seq(space) + 1;
        task(&mut restored, space, AFTER);
        let mut relay = new_node(&dir, "relay");
        assert!(relay.hold_as_relay(space).unwrap());
        pull(&chair, &mut relay, space);
        let winner = envelope_at(&chair, space, me, seq);
        // The other member has the winner already (it joined after); make a third that has not.
        let (batch, _) = restored
            .envelopes_missing_from(space, &Default::default(), 10_000, usize::MAX)
            .unwrap();
        let mut third = new_node(&dir, "third");
        let code = chair.create_invite(space, StaffRole::Member, 60).unwrap();
        let request = third.request_join(&code).unwrap();
        let welcome = chair.accept_join(&request).unwrap();
        third.finish_join(&welcome).unwrap();
        let got = third.receive(space, batch.clone(), "obnovený").unwrap();
        assert!(got.forked.is_empty(), "nothing to compare yet: {got:?}");
        assert_eq!(titles(&third, space), [AFTER]);
        let got = relay.receive(space, batch, "obnovený").unwrap();
        assert_eq!(got.forked.len(), 1, "{got:?}");
        assert_eq!(
            envelope_at(&relay, space, me, seq),
            winner,
            "the relay keeps the winner"
        );
        // A blind relay holding the loser replaces it as well.
        let mut late_relay = new_node(&dir, "late-relay");
        assert!(late_relay.hold_as_relay(space).unwrap());
        let (loser_batch, _) = restored
            .envelopes_missing_from(space, &Default::default(), 10_000, usize::MAX)
            .unwrap();
        late_relay.receive(space, loser_batch, "obnovený").unwrap();
        let got = pull(&chair, &mut late_relay, space);
        assert_eq!(got.forked.len(), 1, "{got:?}");
        assert_eq!(envelope_at(&late_relay, space, me, seq), winner);
        late_relay.close().unwrap();
        let late_relay = Node::open(&dir.join("late-relay"), PASS).unwrap();
        assert_eq!(envelope_at(&late_relay, space, me, seq), winner, "on disk");
        // The member holding the loser writes on top of it: a comment on that task.
        let record = RecordId::for_create(&OpId { device: me, seq });
        third
            .edit_record(
                space,
                record,
                RecordKind::Task,
                vec![Change::Comment {
                    text: "Navazuji na zápis po obnovení".into(),
                }],
            )
            .unwrap();
        // The member holding the loser takes the winner from the chair: only the staff's
        // write is left there until the restored copy issues its own again, and the member is
        // told that its comment now hangs on another write.
        let got = pull(&chair, &mut third, space);
        assert_eq!(got.forked.len(), 1, "{got:?}");
        assert_eq!(titles(&third, space), [BEFORE]);
        assert!(
            third
                .notices()
                .iter()
                .any(|n| n.contains("1 zápisů tohoto počítače navazovalo")),
            "{:?}",
            third.notices()
        );
        assert!(third.forked_devices().iter().any(|f| !f.this_device));
        pull(&chair, &mut restored, space);
        pull(&restored, &mut third, space);
        pull(&third, &mut chair, space);
        pull(&chair, &mut other, space);
        pull(&chair, &mut restored, space);
        pull(&chair, &mut relay, space);
        for node in [&chair, &other, &restored, &third] {
            assert_eq!(titles(node, space), [AFTER, BEFORE]);
            assert_eq!(hash(node, space), hash(&chair, space));
        }
        assert_eq!(relay.have(space).unwrap(), chair.have(space).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn writes_issued_again_keep_referring_to_each_other() {
        let dir = scratch("heal-refs");
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        // The staff's member wrote a second task too (the laptop before its disk failed).
        let mut member = Node::open(&dir.join("member"), PASS).unwrap();
        task(&mut member, space, "Druhý zápis před obnovou");
        sync(&member, &mut chair, space);
        member.close().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut restored = Node::open(&copy, PASS).unwrap();
        // After the restore: a task, then its title changed — both under numbers the staff
        // hold with other content; the tips name only the last of them.
        let record = task(&mut restored, space, AFTER);
        let bases = restored
            .replica(space)
            .unwrap()
            .record(RecordKind::Task, record)
            .unwrap()
            .register(crate::record::FieldKey::Title)
            .unwrap()
            .heads();
        restored
            .edit_record(
                space,
                record,
                RecordKind::Task,
                vec![Change::Set {
                    value: FieldValue::Title("Zápis po obnovení, opravený".into()),
                    bases: bases.try_into().unwrap(),
                }],
            )
            .unwrap();
        let got = pull(&chair, &mut restored, space);
        assert_eq!(got.forked.len(), 2, "both found: {got:?}");
        pull(&restored, &mut chair, space);
        for node in [&chair, &restored] {
            assert_eq!(
                titles(node, space),
                [
                    "Druhý zápis před obnovou",
                    "Zápis po obnovení, opravený",
                    BEFORE
                ]
            );
            let replica = node.replica(space).unwrap();
            assert!(
                replica
                    .records_of(RecordKind::Task)
                    .all(|(_, r)| r.field_conflicts().is_empty()),
                "the edit replaces the title it saw (its base was mapped)"
            );
        }
        assert_eq!(hash(&restored, space), hash(&chair, space));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The staff hold `staff` writes of the member after its backup, the restored copy wrote
    /// `after` of its own: pulls both ways until the states agree; how many rounds it took.
    fn heal_deep(name: &str, staff: usize, after: usize) -> usize {
        let dir = scratch(name);
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        let mut member = Node::open(&dir.join("member"), PASS).unwrap();
        for i in 1..staff {
            task(&mut member, space, &format!("Štáb {i:02}"));
        }
        sync(&member, &mut chair, space);
        member.close().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut restored = Node::open(&copy, PASS).unwrap();
        for i in 0..after {
            task(&mut restored, space, &format!("Obnovený {i:02}"));
        }
        let mut rounds = 0;
        while hash(&restored, space) != hash(&chair, space) {
            rounds += 1;
            assert!(rounds <= 8, "no convergence after {rounds} rounds");
            pull(&chair, &mut restored, space);
            pull(&restored, &mut chair, space);
        }
        for node in [&chair, &restored] {
            assert_eq!(
                titles(node, space).len(),
                staff + after,
                "every write on both"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        rounds
    }

    #[test]
    fn losers_deeper_than_one_window_are_found_pull_by_pull() {
        assert!(heal_deep("heal-deep", 50, 45) > 1, "more than one window");
        // The restored copy wrote more than its staff hold: its last writes take no number
        // anyone else has, the ones below do.
        assert!(
            heal_deep("heal-deep-long", 40, 75) > 1,
            "more than one window"
        );
    }

    #[test]
    fn the_original_and_the_restored_copy_both_writing_on_end_alike() {
        let dir = scratch("heal-both-running");
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        let mut original = Node::open(&dir.join("member"), PASS).unwrap();
        task(&mut original, space, "Originál 0");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut restored = Node::open(&copy, PASS).unwrap();
        task(&mut restored, space, "Kopie 0");
        for i in 1..4 {
            pull(&original, &mut chair, space);
            pull(&restored, &mut chair, space);
            task(&mut original, space, &format!("Originál {i}"));
            pull(&chair, &mut restored, space);
            task(&mut restored, space, &format!("Kopie {i}"));
            pull(&chair, &mut original, space);
        }
        let mut rounds = 0;
        loop {
            pull(&original, &mut chair, space);
            pull(&restored, &mut chair, space);
            pull(&chair, &mut original, space);
            pull(&chair, &mut restored, space);
            let h = hash(&chair, space);
            if h == hash(&original, space) && h == hash(&restored, space) {
                break;
            }
            rounds += 1;
            assert!(rounds <= 8, "no convergence after {rounds} rounds");
        }
        for node in [&chair, &original, &restored] {
            let t = titles(node, space);
            assert_eq!(t.len(), 1 + 4 + 4, "{t:?}");
            let distinct: BTreeSet<&String> = t.iter().collect();
            assert_eq!(distinct.len(), t.len(), "no write twice: {t:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
