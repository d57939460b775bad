//! A device that forked: two different envelopes, both signed by it, for one operation id.
//! That happens when a data dir is copied or restored from an older copy (a backup, a VM
//! snapshot) and written on: the copy hands out again the sequence numbers the original used.
//! Receipt records the fork once per device and space in the audit log and tells the person;
//! which of the two envelopes every replica keeps, and how the forked device issues its losing
//! writes again under fresh numbers so that every replica ends with both, is `heal`'s (its
//! module doc has the rule). This device's own writes coming back from a peer mean the same
//! from the other side: its data dir lost them (it was restored); they are taken back, so its
//! next write uses a fresh number.
//!
//! A pull's tips name the envelope at each device's end; where one differs, the answer offers
//! the answerer's last [`FORK_WINDOW`] envelopes of that device up to there, and where the
//! answerer knows the device forked, a window from below the lowest id it has seen forked, so
//! that losers below the end are found too ([`Node::envelopes_at_other_tips`]).

use super::*;

/// A device seen to sign two different envelopes for one operation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Fork {
    pub space: SpaceId,
    pub device: DeviceId,
    /// The first operation id seen twice.
    pub seq: u64,
    /// This device itself (its data dir was copied or restored and written on).
    pub this_device: bool,
}

/// At most this many envelopes offered for comparison go in one answer to a pull.
pub const MAX_FORKED_PER_PULL: usize = 128;
/// And at most about this many bytes of them: with a batch of `sync::proto::BATCH_BYTES`, an
/// answer stays within the largest frame.
pub const MAX_FORKED_BYTES: usize = 1024 * 1024;
/// How many envelopes of a forked device one window offers for comparison.
pub const FORK_WINDOW: u64 = 32;
/// At most this many replaced losers per space are kept to be offered.
pub const MAX_REPLACED_KEPT: usize = 16;

/// The short digest of an envelope that pulls compare (see `sync::proto::Request::Pull`).
pub fn tip_of(envelope: &[u8]) -> [u8; 8] {
    let digest = sha2::Sha256::digest(envelope);
    let mut tip = [0u8; 8];
    tip.copy_from_slice(&digest[..8]);
    tip
}

impl Node {
    /// Per device of `have` (in its order), the digest of the envelope held at that sequence
    /// number, or zeros where none is logged (an operation still waiting for its admission).
    pub fn tips(&self, space: SpaceId, have: &VersionVector) -> Vec<[u8; 8]> {
        let store = match (self.spaces.get(&space), self.relays.get(&space)) {
            (Some(st), _) => &st.store,
            (None, Some(relay)) => &relay.store,
            (None, None) => return Vec::new(),
        };
        have.devices()
            .map(|(device, seq)| {
                store
                    .get(&OpId {
                        device: *device,
                        seq: *seq,
                    })
                    .map_or([0; 8], tip_of)
            })
            .collect()
    }

    /// The envelopes this node holds where a puller may hold others for the same ids, for the
    /// puller to compare byte for byte (it keeps, of two that differ, the one every replica
    /// keeps: `node/heal.rs`):
    /// - the losers this node replaced, where the puller holds something under their ids (so
    ///   that it reports the fork even if it only ever held the winner);
    /// - where the puller's `tips` (aligned with its `have`) name another envelope than this
    ///   node's at the puller's end: this node's last [`FORK_WINDOW`] envelopes of that device
    ///   up to there;
    /// - where this node knows the device forked: its envelopes of that device from
    ///   [`FORK_WINDOW`] below the lowest id seen forked, up to twice that many (so that the
    ///   windows move down, pull by pull, as long as forks are found in them).
    ///
    /// At most [`MAX_FORKED_PER_PULL`] envelopes and [`MAX_FORKED_BYTES`] (one more if the
    /// first alone is larger).
    pub fn envelopes_at_other_tips(
        &self,
        space: SpaceId,
        have: &[(DeviceId, u64)],
        tips: &[[u8; 8]],
    ) -> Vec<Vec<u8>> {
        let store = match (self.spaces.get(&space), self.relays.get(&space)) {
            (Some(st), _) => &st.store,
            (None, Some(relay)) => &relay.store,
            (None, None) => return Vec::new(),
        };
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut bytes = 0;
        let mut room = |out: &mut Vec<Vec<u8>>, envelope: &[u8]| {
            if out.len() >= MAX_FORKED_PER_PULL
                || (!out.is_empty() && bytes + envelope.len() > MAX_FORKED_BYTES)
            {
                return false;
            }
            bytes += envelope.len();
            out.push(envelope.to_vec());
            true
        };
        let holds = |id: &OpId| have.iter().any(|(d, s)| *d == id.device && *s >= id.seq);
        for loser in self.replaced.get(&space).into_iter().flatten() {
            if Envelope::decode(loser).is_ok_and(|env| holds(&env.id)) && !room(&mut out, loser) {
                return out;
            }
        }
        for (i, (device, end)) in have.iter().enumerate() {
            let tip = tips.get(i).copied().unwrap_or([0; 8]);
            let at = |seq: u64| {
                store.get(&OpId {
                    device: *device,
                    seq,
                })
            };
            let mut seqs = BTreeSet::new();
            if tip != [0; 8] && at(*end).is_some_and(|held| tip_of(held) != tip) {
                seqs.extend(end.saturating_sub(FORK_WINDOW - 1).max(1)..=*end);
            }
            if let Some(low) = self.fork_low.get(&(space, *device)) {
                let from = low.saturating_sub(FORK_WINDOW).max(1);
                seqs.extend(from..=(*end).min(from + 2 * FORK_WINDOW - 1));
            }
            for envelope in seqs.into_iter().filter_map(at) {
                if !room(&mut out, envelope) {
                    return out;
                }
            }
        }
        out
    }

    /// Every fork seen since the node was opened.
    pub fn forked_devices(&self) -> Vec<Fork> {
        let me = self.keys.device_id();
        self.forks
            .iter()
            .map(|((space, device), id)| Fork {
                space: *space,
                device: *device,
                seq: id.seq,
                this_device: *device == me,
            })
            .collect()
    }

    /// Records forks seen in a batch from `peer`: audited and told once per device and space.
    pub(super) fn note_forks(
        &mut self,
        space: SpaceId,
        ids: &[OpId],
        peer: &str,
    ) -> Result<(), NodeError> {
        for id in ids {
            let low = self.fork_low.entry((space, id.device)).or_insert(id.seq);
            *low = (*low).min(id.seq);
            if self.forks.contains_key(&(space, id.device)) {
                continue;
            }
            self.forks.insert((space, id.device), *id);
            self.audit(
                AuditEvent::DeviceForked,
                &[
                    ("space", space.to_string()),
                    ("device", id.device.to_string()),
                    ("seq", id.seq.to_string()),
                    ("peer", peer.to_owned()),
                ],
            )?;
            let short = &id.device.to_string()[..16];
            self.notices.push(if id.device == self.keys.device_id() {
                format!(
                    "Data tohoto počítače byla obnovena ze starší kopie (nebo zkopírována) a \
                     psalo se do nich: štáb má pod stejným číslem ({}) jiný zápis tohoto \
                     zařízení. Všude zůstane tentýž z nich a druhý se zapíše znovu pod novým \
                     číslem. / This computer's data was restored from an older copy (or copied) \
                     and written on: its staff hold another write of this device under the same \
                     number ({}). Everyone keeps the same one of them, and the other is written \
                     again under a new number.",
                    id.seq, id.seq
                )
            } else {
                format!(
                    "Zařízení {short} podepsalo dva různé zápisy se stejným číslem ({}): jeho \
                     data byla zřejmě zkopírována nebo obnovena ze zálohy. Všude zůstane \
                     tentýž z nich; druhý zapíše zařízení znovu pod novým číslem. / Device \
                     {short} signed two different writes with one number ({}): its data was \
                     copied or restored from a backup. Everyone keeps the same one of them; the \
                     device writes the other again under a new number.",
                    id.seq, id.seq
                )
            });
        }
        Ok(())
    }

    /// Records that `count` of this device's own operations came back from `peer`: its data
    /// dir had lost them (restored from an older copy). Audited and told once per space.
    pub(super) fn note_own_returned(
        &mut self,
        space: SpaceId,
        count: usize,
        peer: &str,
    ) -> Result<(), NodeError> {
        let me = self.keys.device_id();
        if count == 0 || self.forks.contains_key(&(space, me)) {
            return Ok(());
        }
        let seq = self
            .replica(space)
            .map(|r| r.version_vector().get(&me))
            .unwrap_or(0);
        self.forks.insert((space, me), OpId { device: me, seq });
        self.audit(
            AuditEvent::DeviceForked,
            &[
                ("space", space.to_string()),
                ("device", me.to_string()),
                ("returned", count.to_string()),
                ("peer", peer.to_owned()),
            ],
        )?;
        self.notices.push(format!(
            "Data tohoto počítače byla obnovena ze starší kopie: {count} vlastních zápisů se \
             vrátilo od štábu a jsou opět zde. / This computer's data was restored from an \
             older copy: {count} of its own writes came back from its staff."
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::testing::{backed_up_then_written, scratch, sync, task, titles, PASS};

    #[test]
    fn a_restored_copy_written_on_is_reported_as_a_fork_and_the_staffs_write_stays() {
        let dir = scratch("forks");
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        // The copy comes back and is written on: the same operation id, other content.
        let mut restored = Node::open(&copy, PASS).unwrap();
        task(&mut restored, space, "Zápis po obnovení");
        let written_after_restore = {
            let st = restored.spaces.get(&space).unwrap();
            let me = restored.device_id();
            let seq = st.replica.version_vector().get(&me);
            st.store.get(&OpId { device: me, seq }).unwrap().to_vec()
        };
        let got = chair
            .receive(
                space,
                vec![written_after_restore.clone()],
                "obnovený notebook",
            )
            .unwrap();
        assert_eq!(got.forked.len(), 1, "{got:?}");
        assert!(got.stored.is_empty());
        assert_eq!(
            titles(&chair, space),
            ["Zápis před obnovou"],
            "the first write stays"
        );
        let forks = chair.forked_devices();
        assert_eq!(forks.len(), 1);
        assert!(!forks[0].this_device);
        assert!(chair
            .notices()
            .iter()
            .any(|w| w.contains("podepsalo dva různé zápisy")));
        // Reported once, however often it comes.
        chair
            .receive(space, vec![written_after_restore], "obnovený notebook")
            .unwrap();
        assert_eq!(chair.forked_devices().len(), 1);
        chair.audit_flush().unwrap();
        let audit = std::fs::read_to_string(dir.join("chair").join("audit.log")).unwrap();
        assert_eq!(audit.matches("\"event\":\"device_forked\"").count(), 1);
        // The restored copy hears of the chair's version: a fork of its own.
        let got = sync(&chair, &mut restored, space);
        assert!(got.stored.is_empty());
        let theirs = chair.replica(space).unwrap().version_vector().clone();
        let mine = restored.replica(space).unwrap().version_vector().clone();
        assert_eq!(
            theirs, mine,
            "the same numbers, different writes: only the report tells"
        );
        let ours = {
            let me = restored.device_id();
            let seq = mine.get(&me);
            chair
                .spaces
                .get(&space)
                .unwrap()
                .store
                .get(&OpId { device: me, seq })
                .unwrap()
                .to_vec()
        };
        restored.receive(space, vec![ours], "štáb").unwrap();
        assert!(restored.forked_devices().iter().any(|f| f.this_device));
        assert!(restored
            .notices()
            .iter()
            .any(|w| w.contains("obnovena ze starší kopie (nebo zkopírována) a psalo se")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn own_writes_coming_back_tell_that_the_data_dir_was_restored() {
        let dir = scratch("own-returned");
        let (mut chair, space, copy) = backed_up_then_written(&dir);
        let mut restored = Node::open(&copy, PASS).unwrap();
        let got = sync(&chair, &mut restored, space);
        assert_eq!(got.stored.len(), 1, "the lost write comes back");
        assert_eq!(titles(&restored, space), ["Zápis před obnovou"]);
        assert!(restored.forked_devices().iter().any(|f| f.this_device));
        assert!(restored
            .notices()
            .iter()
            .any(|w| w.contains("1 vlastních zápisů se vrátilo")));
        // Its next write takes a fresh number.
        task(&mut restored, space, "Zápis po obnovení");
        let got = sync(&restored, &mut chair, space);
        assert!(got.forked.is_empty() && got.stored.len() == 1, "{got:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
