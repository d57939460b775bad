//! Receipts held by this node (see `engine::receipt`): this device's own, renewed when what it
//! stores changes (at most every [`OWN_RECEIPT_EVERY_MS`]); every other device's newest few,
//! taken from peers after checking the signature and that the device belongs to the space;
//! which ones each peer was given already (so each travels once per peer); and what they say:
//! who holds a record's latest version and since when ([`Node::deliveries`]), and how far a key
//! rotation has reached ([`Node::key_progress`]).
//!
//! Held in memory only: after a restart peers hand them again (a peer's record of what it gave
//! this node is dropped when the connection is made again).

use std::collections::VecDeque;

use super::*;
use crate::authority::Standing;
use crate::engine::receipt::{
    Receipt, ReceiptError, MAX_RECEIPTS_PER_MESSAGE, MAX_RECEIPT_DEVICES,
};
use crate::views::{Delivery, KeyProgress};

/// Receipts kept per device (the newest): enough to tell since when it holds a recent version.
pub const RECEIPT_HISTORY: usize = 8;
/// This device signs a new receipt at most this often.
pub const OWN_RECEIPT_EVERY_MS: u64 = 1_000;
/// Peers whose given receipts are remembered (the most recently seen).
const REMEMBERED_PEERS: usize = 64;

/// The receipts held for one space.
#[derive(Default)]
pub(crate) struct SpaceReceipts {
    /// Per device, its newest receipts, oldest first.
    by_device: BTreeMap<DeviceId, VecDeque<Receipt>>,
}

/// Receipts of all spaces, and what each peer was given.
#[derive(Default)]
pub(crate) struct Receipts {
    spaces: BTreeMap<SpaceId, SpaceReceipts>,
    /// Per peer (as the sync layer names it) and space: the newest receipt time given, per
    /// device; the order peers were last seen in.
    given: BTreeMap<(String, SpaceId), BTreeMap<DeviceId, u64>>,
    seen: VecDeque<String>,
}

impl Receipts {
    fn latest(&self, space: SpaceId, device: &DeviceId) -> Option<&Receipt> {
        self.spaces.get(&space)?.by_device.get(device)?.back()
    }

    /// Keeps `r` if it is newer than the device's newest; true if kept.
    fn keep(&mut self, r: Receipt) -> bool {
        let held = self
            .spaces
            .entry(r.space)
            .or_default()
            .by_device
            .entry(r.device)
            .or_default();
        if held.back().is_some_and(|last| last.at_ms >= r.at_ms) {
            return false;
        }
        if held.len() >= RECEIPT_HISTORY {
            held.pop_front();
        }
        held.push_back(r);
        true
    }

    fn note_peer(&mut self, peer: &str) {
        self.seen.retain(|p| p != peer);
        self.seen.push_back(peer.to_owned());
        while self.seen.len() > REMEMBERED_PEERS {
            if let Some(old) = self.seen.pop_front() {
                self.given.retain(|(p, _), _| *p != old);
            }
        }
    }
}

impl Node {
    /// This device's receipt for `space`, signed anew when what it stores (or the key epoch it
    /// holds) changed since the last one, at most every [`OWN_RECEIPT_EVERY_MS`].
    fn own_receipt(&self, space: SpaceId) -> Result<(), NodeError> {
        let have = if let Some(st) = self.spaces.get(&space) {
            st.store.contiguous.clone()
        } else if let Some(relay) = self.relays.get(&space) {
            relay.store.contiguous.clone()
        } else {
            return Err(NodeError::UnknownSpace(space.to_string()));
        };
        let epoch = self
            .keystore
            .contents()
            .space(space)
            .and_then(|e| e.keys.iter().map(|(e, _)| *e).max())
            .unwrap_or(0);
        let me = self.keys.device_id();
        let now = now_ms();
        if let Some(last) = self.receipts.borrow().latest(space, &me) {
            let same = last.epoch == epoch
                && last.have.len() == have.devices().filter(|(_, s)| **s > 0).count()
                && last.have.iter().all(|(d, s)| have.get(d) == *s);
            if same || now < last.at_ms.saturating_add(OWN_RECEIPT_EVERY_MS) {
                return Ok(());
            }
        }
        match Receipt::sign(&self.keys, space, &have, epoch, now) {
            Ok(r) => {
                self.receipts.borrow_mut().keep(r);
                Ok(())
            }
            // A space of more writing devices than receipts name: none are issued.
            Err(ReceiptError::TooManyDevices) => Ok(()),
            Err(_) => Err(NodeError::Random),
        }
    }

    /// The receipts of `space` to hand `peer` with a pull or an answer: the newest of each
    /// device not given to it yet, this device's own first, within `max_bytes`.
    pub fn receipts_for_peer(&self, space: SpaceId, peer: &str, max_bytes: usize) -> Vec<Receipt> {
        if self.own_receipt(space).is_err() {
            return Vec::new();
        }
        let me = self.keys.device_id();
        let mut held = self.receipts.borrow_mut();
        held.note_peer(peer);
        let given = held
            .given
            .get(&(peer.to_owned(), space))
            .cloned()
            .unwrap_or_default();
        let mut fresh: Vec<&Receipt> = held
            .spaces
            .get(&space)
            .map(|s| s.by_device.values().filter_map(VecDeque::back).collect())
            .unwrap_or_default();
        fresh.retain(|r| given.get(&r.device).is_none_or(|at| *at < r.at_ms));
        fresh.sort_by_key(|r| (r.device != me, std::cmp::Reverse(r.at_ms)));
        let mut out = Vec::new();
        let mut bytes = 0;
        for r in fresh {
            if out.len() >= MAX_RECEIPTS_PER_MESSAGE || bytes + r.wire_size() > max_bytes {
                break;
            }
            bytes += r.wire_size();
            out.push(r.clone());
        }
        let mark = held.given.entry((peer.to_owned(), space)).or_default();
        for r in &out {
            mark.insert(r.device, r.at_ms);
        }
        out
    }

    /// A (new) connection to `peer`: it is given every receipt again.
    pub fn forget_receipts_given(&self, peer: &str) {
        self.receipts
            .borrow_mut()
            .given
            .retain(|(p, _), _| p != peer);
    }

    /// Takes `receipts` of `space` from `peer`: each must be signed by its device, and that
    /// device a member (for a relay: on its newest member list); one stamped more than five
    /// minutes ahead is refused. Returns how many were new.
    pub fn accept_receipts(
        &mut self,
        space: SpaceId,
        receipts: Vec<Receipt>,
        peer: &str,
    ) -> Result<usize, NodeError> {
        let limit = now_ms().saturating_add(5 * 60_000);
        let mut taken = 0;
        let mut refused: Option<String> = None;
        for r in receipts {
            if r.space != space || r.device == self.keys.device_id() {
                continue;
            }
            let belongs = match self.spaces.get(&space) {
                Some(st) => st.authority.standing(r.device, u64::MAX) != Standing::Unknown,
                None => self.member_list(space).is_some_and(|l| l.lists(&r.device)),
            };
            let verdict = if !belongs {
                Err("receipt of a device that is not a member".to_owned())
            } else if r.at_ms > limit {
                Err("receipt stamped more than 5 minutes ahead".to_owned())
            } else if r.have.len() > MAX_RECEIPT_DEVICES {
                Err("receipt too long".to_owned())
            } else {
                r.verify().map_err(|e| e.to_string())
            };
            match verdict {
                Ok(()) => taken += usize::from(self.receipts.borrow_mut().keep(r)),
                Err(why) => refused = Some(why),
            }
        }
        if let Some(reason) = refused {
            let source = format!("{space}/receipts/{peer}");
            let detail = [
                ("space", space.to_string()),
                ("peer", peer.to_owned()),
                ("reason", reason.clone()),
            ];
            self.audit_refusal(AuditEvent::OperationRejected, &source, &reason, &detail)?;
        }
        Ok(taken)
    }

    /// Who holds the latest version of record `id` of `kind`: every member device, whether
    /// it signed that it holds it, since when (the time of the first of its receipts held here
    /// that covers it; `since_exact` false when even the oldest held covers it, so it may have
    /// held it earlier), and when it last said what it holds.
    pub fn deliveries(
        &self,
        space: SpaceId,
        kind: RecordKind,
        id: RecordId,
    ) -> Result<Vec<Delivery>, NodeError> {
        self.own_receipt(space)?;
        let latest = self.latest_version(space, kind, id)?;
        let standings = self.member_standings(space)?;
        let me = self.keys.device_id();
        let mut out = Vec::new();
        let receipts = self.receipts.borrow();
        for m in standings.into_iter().filter(|m| m.role.is_some()) {
            let held = receipts
                .spaces
                .get(&space)
                .and_then(|s| s.by_device.get(&m.device));
            let covering = held.and_then(|h| {
                h.iter()
                    .position(|r| r.holds(&latest.0.device) >= latest.0.seq)
                    .map(|i| (i, &h[i]))
            });
            let (holds, since_ms, since_exact) = if m.device == latest.0.device {
                (true, Some(latest.1), true)
            } else {
                match covering {
                    Some((i, r)) => (true, Some(r.at_ms), i > 0),
                    None => (false, None, false),
                }
            };
            out.push(Delivery {
                device: m.device,
                name: m.name,
                role: m.role,
                this_device: m.device == me,
                holds,
                since_ms,
                since_exact,
                last_heard_ms: held.and_then(|h| h.back()).map(|r| r.at_ms),
            });
        }
        Ok(out)
    }

    /// The operation that made the latest version of a record (the one with the greatest
    /// stamp) and its wall time.
    fn latest_version(
        &self,
        space: SpaceId,
        kind: RecordKind,
        id: RecordId,
    ) -> Result<(OpId, u64), NodeError> {
        let st = self
            .spaces
            .get(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let unknown = || NodeError::UnknownRecord {
            kind,
            id: id.to_string(),
        };
        let stamp = st
            .replica
            .record(kind, id)
            .and_then(|r| r.last_change())
            .ok_or_else(unknown)?;
        let seqs = st.store.index.get(&stamp.device).ok_or_else(unknown)?;
        for (seq, _) in seqs.iter().rev() {
            let op = OpId {
                device: stamp.device,
                seq: *seq,
            };
            let hlc = st
                .store
                .get(&op)
                .and_then(|b| Envelope::decode(b).ok())
                .map(|e| e.hlc);
            if hlc == Some(stamp.hlc) {
                return Ok((op, stamp.hlc.wall_ms));
            }
        }
        Err(unknown())
    }

    /// How far the newest key rotation of `space` has reached: the member devices that said
    /// they hold the current epoch (this device counts by its keystore) of all member devices.
    pub fn key_progress(&self, space: SpaceId) -> Result<KeyProgress, NodeError> {
        self.own_receipt(space)?;
        let standings = self.member_standings(space)?;
        let epoch = standings.first().map_or(0, |m| m.epoch);
        let mut holding = 0;
        let mut total = 0;
        for m in standings.iter().filter(|m| m.role.is_some()) {
            total += 1;
            if self
                .receipts
                .borrow()
                .latest(space, &m.device)
                .is_some_and(|r| r.epoch >= epoch)
            {
                holding += 1;
            }
        }
        Ok(KeyProgress {
            epoch,
            holding,
            total,
        })
    }

    /// The newest key epoch `device` said it holds in `space`, if it said.
    pub fn epoch_held_by(&self, space: SpaceId, device: DeviceId) -> Option<u32> {
        self.receipts
            .borrow()
            .latest(space, &device)
            .map(|r| r.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::testing::{granted_relay, scratch, staff, sync, task};

    fn delivered(node: &Node, space: SpaceId, record: RecordId, device: DeviceId) -> bool {
        node.deliveries(space, RecordKind::Task, record)
            .unwrap()
            .iter()
            .any(|d| d.device == device && d.holds)
    }

    #[test]
    fn delivered_shows_only_once_the_device_itself_signed_it_holds_it_also_through_a_relay() {
        let dir = scratch("receipts");
        let (mut chair, mut member, space) = staff(&dir);
        let mut relay = granted_relay(&mut chair, space, &dir, "relay");
        let record = task(&mut chair, space, "Evakuace Jablůnka");
        let who = member.device_id();
        // The member's receipt from before the task reaches the chair: not delivered.
        let early = member.receipts_for_peer(space, "relay", usize::MAX);
        assert_eq!(early.len(), 1, "its own receipt");
        relay.accept_receipts(space, early, "member").unwrap();
        let passed = relay.receipts_for_peer(space, "chair", usize::MAX);
        chair.accept_receipts(space, passed, "relay").unwrap();
        assert!(!delivered(&chair, space, record, who));
        // The member gets the task; its next receipt, through the relay, says so.
        sync(&chair, &mut member, space);
        std::thread::sleep(std::time::Duration::from_millis(OWN_RECEIPT_EVERY_MS + 10));
        let now = member.receipts_for_peer(space, "relay", usize::MAX);
        assert_eq!(relay.accept_receipts(space, now, "member").unwrap(), 1);
        let passed = relay.receipts_for_peer(space, "chair", usize::MAX);
        assert!(passed.iter().any(|r| r.device == who));
        chair.accept_receipts(space, passed, "relay").unwrap();
        assert!(delivered(&chair, space, record, who));
        let d = chair.deliveries(space, RecordKind::Task, record).unwrap();
        let mine = d.iter().find(|d| d.this_device).unwrap();
        assert!(mine.holds, "the writer holds what it wrote");
        // Each receipt travels once per peer.
        assert!(relay
            .receipts_for_peer(space, "chair", usize::MAX)
            .is_empty());
        // A receipt altered on the way (a relay claiming more) is refused and audited.
        let mut forged = member.receipts_for_peer(space, "someone", usize::MAX);
        if let Some(r) = forged.first_mut() {
            r.at_ms += 1;
        }
        assert_eq!(chair.accept_receipts(space, forged, "relay").unwrap(), 0);
        // The key rotation's progress counts the same receipts.
        let p = chair.key_progress(space).unwrap();
        assert_eq!((p.epoch, p.holding, p.total), (0, 2, 2));
        let _ = fs::remove_dir_all(&dir);
    }
}
