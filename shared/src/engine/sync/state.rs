//! The sync loop's bookkeeping, kept apart from the swarm so it can be tested without a
//! network: per connected peer, which spaces it proved holding on this connection (nothing
//! about a space is sent to or answered for a peer before that), whether its proof is still
//! awaited, the envelopes waiting to be pushed to it, which spaces it holds and whether a pull
//! or how many requests are under way; what each peer was last seen to hold (for "unsent"); the pulled batches
//! waiting to be stored and what a peer is assumed to hold once they are (so the next pull goes
//! out before the previous batch is stored); and how far this device's own operations were
//! published. The loop in [`super::peer`] drives it and does the I/O; times are passed in.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use libp2p::{Multiaddr, PeerId};

use super::address::device_of_peer;
use super::peer::MAX_INFLIGHT_PER_PEER;
use super::status::{rfc3339, PeerInfo};
use crate::ids::{DeviceId, OpId, SpaceId};
use crate::vv::VersionVector;

/// A peer that refused a space is asked again (without a reason to) after this long.
pub(super) const REPROBE: Duration = Duration::from_secs(30);
/// While nothing changes, the pull rounds back off (doubling from the configured interval) up
/// to this long apart; anything stored, written or connected brings them back to the interval.
pub(super) const MAX_IDLE_INTERVAL: Duration = Duration::from_secs(30);

/// A pulled batch waiting to be stored: from whom, for which space, the envelopes.
pub(super) type Pulled = (PeerId, SpaceId, Vec<Vec<u8>>);
/// Envelopes waiting to be pushed to one peer; beyond, they are dropped (the peer's next pull
/// or its gap repair fetches them).
pub(super) const MAX_OUTBOX_OPS: usize = 2_000;
/// And at most this many bytes of them per peer.
pub(super) const MAX_OUTBOX_BYTES: usize = 8 * 1024 * 1024;
/// And of all peers' outboxes together: a member that connects under many device ids and
/// never answers a push would otherwise make this node hold 8 MiB for each ("Bounds" in
/// ARCHITECTURE.md).
pub(super) const MAX_OUTBOX_TOTAL_BYTES: usize = 32 * 1024 * 1024;
/// Pulls under way and pulled batches waiting to be stored, of all peers together (each answer
/// at most a 4 MiB frame): beyond, no pull is sent until some are stored (a member answering
/// every pull with full batches marked "more" from many device ids would otherwise make this
/// node hold 4 MiB per id and space).
pub(super) const MAX_BACKLOG: usize = 8;
/// Peers no longer connected whose last seen holdings (a version vector per space, for
/// "unsent") and last sync time are kept; beyond, the least recently seen is forgotten. A
/// member can prove as any device id and connect under as many: without a bound each left
/// up to 400 KB (a vector of 10,000 devices) per space behind. Connected peers are bounded by
/// the connection limits.
pub(super) const MAX_REMEMBERED_PEERS: usize = 64;

/// What is known of one connected peer.
#[derive(Default)]
struct PeerSync {
    addresses: BTreeSet<Multiaddr>,
    /// Per space: whether the peer holds it (None: not asked yet) and when we last asked.
    holds: BTreeMap<SpaceId, (Option<bool>, Instant)>,
    pulling: BTreeSet<SpaceId>,
    inflight: usize,
    /// Challenges of this device the peer has not answered yet (its requests wait meanwhile).
    proving: u32,
    /// The spaces the peer proved holding on this connection.
    proven: BTreeSet<SpaceId>,
    /// Envelopes waiting to be pushed to the peer, per space, and how many in all.
    outbox: BTreeMap<SpaceId, Vec<Vec<u8>>>,
    outbox_ops: usize,
    outbox_bytes: usize,
    /// A push to the peer is under way: what comes meanwhile waits and goes in one push after
    /// it (one fdatasync on the peer instead of one per operation when many arrive at once).
    pushing: bool,
    /// Bytes of the push under way (counted in the total until it is answered or fails).
    pushing_bytes: usize,
    /// Spaces whose last batch pulled from the peer stored nothing (all held back, refused
    /// or known): its "more" waits for the next round instead of being pulled at once.
    fruitless: BTreeSet<SpaceId>,
}

/// The bookkeeping of one sync loop.
#[derive(Default)]
pub(super) struct SyncState {
    /// Connected peers (and a peer being joined through).
    peers: BTreeMap<PeerId, PeerSync>,
    /// This device's own operations already published, per space.
    published: BTreeMap<SpaceId, u64>,
    /// What each peer was last seen to hold, per space (kept after disconnects for "unsent").
    peer_have: BTreeMap<PeerId, BTreeMap<SpaceId, VersionVector>>,
    last_sync: BTreeMap<PeerId, DateTime<Utc>>,
    /// Pulled batches waiting to be stored, in arrival order: the next pull is already on its
    /// way while one is checked and stored.
    backlog: VecDeque<Pulled>,
    /// Per peer and space: what this peer will hold once the backlog is stored.
    assumed: BTreeMap<(PeerId, SpaceId), VersionVector>,
    /// Answers that said "more" while the backlog was full: pulled again (from what was
    /// assumed) as soon as a stored batch makes room, not at the next round.
    deferred: BTreeSet<(PeerId, SpaceId)>,
    /// Pull rounds since anything was stored, written or connected (the idle back-off).
    quiet_rounds: u32,
    /// Bytes in all peers' outboxes.
    outbox_total: usize,
}

impl SyncState {
    /// A connection to `peer` at `addr` was established.
    pub(super) fn connected(&mut self, peer: PeerId, addr: Multiaddr) {
        self.peers.entry(peer).or_default().addresses.insert(addr);
    }

    /// The last connection to `peer` closed: what it was seen to hold is kept, for the
    /// [`MAX_REMEMBERED_PEERS`] most recently seen of the peers gone.
    pub(super) fn disconnected(&mut self, peer: &PeerId) {
        if let Some(st) = self.peers.remove(peer) {
            self.outbox_total = self
                .outbox_total
                .saturating_sub(st.outbox_bytes + st.pushing_bytes);
        }
        self.forget_beyond_remembered();
    }

    /// Forgets the least recently seen peers gone beyond [`MAX_REMEMBERED_PEERS`].
    fn forget_beyond_remembered(&mut self) {
        let gone: BTreeSet<PeerId> = self
            .peer_have
            .keys()
            .chain(self.last_sync.keys())
            .filter(|p| !self.peers.contains_key(p))
            .copied()
            .collect();
        if gone.len() <= MAX_REMEMBERED_PEERS {
            return;
        }
        let mut by_age: Vec<(Option<DateTime<Utc>>, PeerId)> = gone
            .into_iter()
            .map(|p| (self.last_sync.get(&p).copied(), p))
            .collect();
        by_age.sort_unstable(); // never synced first, then the oldest
        let excess = by_age.len() - MAX_REMEMBERED_PEERS;
        for (_, peer) in by_age.into_iter().take(excess) {
            self.peer_have.remove(&peer);
            self.last_sync.remove(&peer);
        }
    }

    /// Starts tracking a peer before it is connected (the inviter of a network join).
    pub(super) fn expect(&mut self, peer: PeerId) {
        self.peers.entry(peer).or_default();
    }

    /// The peers tracked now.
    pub(super) fn peers(&self) -> Vec<PeerId> {
        self.peers.keys().copied().collect()
    }

    pub(super) fn is_tracked(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// A request to `peer` went out.
    pub(super) fn request_sent(&mut self, peer: PeerId) {
        self.peers.entry(peer).or_default().inflight += 1;
    }

    /// A request to `peer` was answered or failed.
    pub(super) fn request_done(&mut self, peer: &PeerId) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.inflight = st.inflight.saturating_sub(1);
        }
    }

    /// A challenge was sent to `peer`: until it is answered, its requests wait.
    pub(super) fn challenge_sent(&mut self, peer: PeerId) {
        self.peers.entry(peer).or_default().proving += 1;
    }

    /// `peer` answered a challenge, proving `spaces` (proofs only add up on a connection).
    pub(super) fn challenge_answered(&mut self, peer: &PeerId, spaces: BTreeSet<SpaceId>) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.proving = st.proving.saturating_sub(1);
            st.proven.extend(spaces);
        }
    }

    /// A challenge to `peer` failed (no answer, or a wrong one): nothing proven by it.
    pub(super) fn challenge_failed(&mut self, peer: &PeerId) {
        self.challenge_answered(peer, BTreeSet::new());
    }

    /// Whether a challenge to `peer` is still unanswered.
    pub(super) fn is_proving(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|st| st.proving > 0)
    }

    /// Whether `peer` proved holding `space` on this connection.
    pub(super) fn proved(&self, peer: &PeerId, space: SpaceId) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|st| st.proven.contains(&space))
    }

    /// Queues envelopes to push to `peer`; returns how many did not fit (dropped).
    pub(super) fn queue_push(
        &mut self,
        peer: PeerId,
        space: SpaceId,
        envelopes: &[Vec<u8>],
    ) -> usize {
        let Some(st) = self.peers.get_mut(&peer) else {
            return envelopes.len();
        };
        let mut taken = 0;
        for envelope in envelopes {
            if st.outbox_ops >= MAX_OUTBOX_OPS
                || st.outbox_bytes + envelope.len() > MAX_OUTBOX_BYTES
                || self.outbox_total + envelope.len() > MAX_OUTBOX_TOTAL_BYTES
            {
                break;
            }
            st.outbox.entry(space).or_default().push(envelope.clone());
            st.outbox_ops += 1;
            st.outbox_bytes += envelope.len();
            self.outbox_total += envelope.len();
            taken += 1;
        }
        envelopes.len() - taken
    }

    /// The next push to send to `peer` (at most `max` envelopes of one space and about
    /// `max_bytes`, at least one), if no push to it is under way and it has room for another
    /// request.
    pub(super) fn next_push(
        &mut self,
        peer: &PeerId,
        max: usize,
        max_bytes: usize,
    ) -> Option<(SpaceId, Vec<Vec<u8>>)> {
        let st = self.peers.get_mut(peer)?;
        if st.pushing || st.inflight >= MAX_INFLIGHT_PER_PEER {
            return None;
        }
        let mut entry = st.outbox.first_entry()?;
        let queued = entry.get_mut();
        let mut count = 0;
        let mut bytes = 0;
        for envelope in queued.iter() {
            if count >= max || (count > 0 && bytes + envelope.len() > max_bytes) {
                break;
            }
            count += 1;
            bytes += envelope.len();
        }
        let rest = queued.split_off(count);
        let batch = std::mem::replace(queued, rest);
        let space = *entry.key();
        if entry.get().is_empty() {
            entry.remove();
        }
        st.outbox_ops = st.outbox_ops.saturating_sub(batch.len());
        st.outbox_bytes = st.outbox_bytes.saturating_sub(bytes);
        st.pushing = true;
        st.pushing_bytes = bytes;
        Some((space, batch))
    }

    /// The push under way to `peer` was answered or failed.
    pub(super) fn push_done(&mut self, peer: &PeerId) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.pushing = false;
            self.outbox_total = self.outbox_total.saturating_sub(st.pushing_bytes);
            st.pushing_bytes = 0;
        }
    }

    /// The peers with pushes waiting.
    pub(super) fn peers_with_pushes(&self) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(_, st)| st.outbox_ops > 0)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Whether to pull `space` from `peer` now: only if the peer proved holding it; not while
    /// a pull of it is under way or its batch is not stored yet, nor with the peer's requests
    /// at their bound; and, unless `again` (there is a reason to), not within [`REPROBE`] of
    /// the peer refusing the space.
    pub(super) fn should_pull(
        &self,
        peer: &PeerId,
        space: SpaceId,
        again: bool,
        now: Instant,
    ) -> bool {
        let Some(st) = self.peers.get(peer) else {
            return false;
        };
        if !st.proven.contains(&space) {
            return false; // it proved nothing of it: not a word about the space
        }
        if st.pulling.contains(&space)
            || st.inflight >= MAX_INFLIGHT_PER_PEER
            || self.backlog.len() + self.peers.values().map(|p| p.pulling.len()).sum::<usize>()
                >= MAX_BACKLOG
            || self
                .backlog
                .iter()
                .any(|(p, s, _)| p == peer && *s == space)
        {
            return false; // a pull is under way, or its batch is not stored yet
        }
        if !again {
            if let Some((Some(false), asked)) = st.holds.get(&space) {
                if now.saturating_duration_since(*asked) < REPROBE {
                    return false;
                }
            }
        }
        true
    }

    /// A pull of `space` is being sent to `peer`.
    pub(super) fn pull_started(&mut self, peer: &PeerId, space: SpaceId) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.pulling.insert(space);
        }
    }

    /// A pull of `space` from `peer` ended without an answer to take in.
    pub(super) fn pull_ended(&mut self, peer: &PeerId, space: SpaceId) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.pulling.remove(&space);
        }
    }

    /// `peer` refused a pull or push of `space`: it does not hold it.
    pub(super) fn refused(&mut self, peer: &PeerId, space: SpaceId, now: Instant) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.pulling.remove(&space);
            st.holds.insert(space, (Some(false), now));
        }
    }

    /// `peer` took a push of `space`: it holds it.
    pub(super) fn holds(&mut self, peer: &PeerId, space: SpaceId, now: Instant) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.holds.insert(space, (Some(true), now));
        }
    }

    /// `peer` said it holds `have` of `space` (in a pull, or in the answer to ours).
    pub(super) fn saw_holding(
        &mut self,
        peer: PeerId,
        space: SpaceId,
        have: &VersionVector,
        now: Instant,
        at: DateTime<Utc>,
    ) {
        self.holds(&peer, space, now);
        self.peer_have
            .entry(peer)
            .or_default()
            .entry(space)
            .or_default()
            .merge(have);
        self.last_sync.insert(peer, at);
    }

    /// What to tell `peer` this device holds of `space` in the next pull, sent before the batch
    /// with the operations `batch` is stored: what it holds now (`here`, if known) and what it
    /// was assumed to hold, advanced by the batch where it continues each device's sequence.
    pub(super) fn assume_stored(
        &mut self,
        peer: PeerId,
        space: SpaceId,
        here: Option<&VersionVector>,
        batch: impl IntoIterator<Item = OpId>,
    ) -> VersionVector {
        let assumed = self.assumed.entry((peer, space)).or_default();
        if let Some(here) = here {
            assumed.merge(here);
        }
        for id in batch {
            if id.seq == assumed.get(&id.device) + 1 {
                assumed.advance(id.device, id.seq);
            }
        }
        assumed.clone()
    }

    /// Whether to pull `space` from `peer` again at once because its answer said "more": not
    /// if its last stored batch stored nothing (a member answering every pull with batches
    /// of envelopes this node cannot take, marked "more" forever, would keep it verifying
    /// them without pause), nor with the pulls and batches of all peers at [`MAX_BACKLOG`]
    /// (then the next round pulls it).
    pub(super) fn may_pull_more(&self, peer: &PeerId, space: SpaceId) -> bool {
        let Some(st) = self.peers.get(peer) else {
            return false;
        };
        !st.fruitless.contains(&space)
            && self.backlog.len() + self.peers.values().map(|p| p.pulling.len()).sum::<usize>()
                < MAX_BACKLOG
    }

    /// A batch of `space` pulled from `peer` was stored; `stored_any`: something of it was new.
    pub(super) fn batch_stored(&mut self, peer: &PeerId, space: SpaceId, stored_any: bool) {
        if let Some(st) = self.peers.get_mut(peer) {
            if stored_any {
                st.fruitless.remove(&space);
            } else {
                st.fruitless.insert(space);
            }
        }
    }

    /// `peer` has nothing more of `space` for this device: the next pull says what is stored.
    pub(super) fn caught_up(&mut self, peer: PeerId, space: SpaceId) {
        self.assumed.remove(&(peer, space));
    }

    /// Queues a pulled batch to be stored (an empty one is dropped).
    pub(super) fn queue(&mut self, peer: PeerId, space: SpaceId, batch: Vec<Vec<u8>>) {
        if !batch.is_empty() {
            self.backlog.push_back((peer, space, batch));
        }
    }

    pub(super) fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// The oldest pulled batch, to be stored now.
    pub(super) fn next_batch(&mut self) -> Option<Pulled> {
        self.backlog.pop_front()
    }

    /// Storing a batch of `space` from `peer` failed: forget what was assumed and the batches
    /// queued after it, so the next pull starts again from what is stored.
    /// An answer of `peer` said "more" while [`SyncState::may_pull_more`] said not now
    /// because the backlog is full: it is pulled again once a stored batch makes room
    /// ([`SyncState::resumable`]). A peer whose batches store nothing is not deferred.
    pub(super) fn defer_more(&mut self, peer: PeerId, space: SpaceId) -> bool {
        let fruitless = self
            .peers
            .get(&peer)
            .is_none_or(|st| st.fruitless.contains(&space));
        if !fruitless {
            self.deferred.insert((peer, space));
        }
        !fruitless
    }

    /// The next deferred "more" that may be pulled now, with what the peer will hold once
    /// the backlog is stored (deferrals of peers gone are dropped).
    pub(super) fn resumable(&mut self) -> Option<(PeerId, SpaceId, VersionVector)> {
        self.deferred.retain(|(p, _)| self.peers.contains_key(p));
        let next = self
            .deferred
            .iter()
            .find(|(p, s)| self.may_pull_more(p, *s))
            .copied()?;
        self.deferred.remove(&next);
        let assumed = self.assumed.get(&next).cloned().unwrap_or_default();
        Some((next.0, next.1, assumed))
    }

    pub(super) fn store_failed(&mut self, peer: PeerId, space: SpaceId) {
        self.deferred.remove(&(peer, space));
        self.assumed.remove(&(peer, space));
        self.backlog
            .retain(|(p, s, _)| !(*p == peer && *s == space));
    }

    /// The peers to push newly stored envelopes of `space` to: connected, proved holding the
    /// space, and not where they came `from`.
    pub(super) fn push_targets(&self, space: SpaceId, from: Option<PeerId>) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(p, st)| Some(**p) != from && st.proven.contains(&space))
            .map(|(p, _)| *p)
            .collect()
    }

    /// Something was stored, written or connected: pull rounds go back to `interval` apart.
    pub(super) fn stirred(&mut self) {
        self.quiet_rounds = 0;
    }

    /// A pull round went out.
    pub(super) fn round_done(&mut self) {
        self.quiet_rounds = self.quiet_rounds.saturating_add(1);
    }

    /// How long after the last pull round the next one is due: `interval` after a change,
    /// doubling with each quiet round up to [`MAX_IDLE_INTERVAL`] (never below `interval`).
    pub(super) fn round_interval(&self, interval: Duration) -> Duration {
        let quiet = self.quiet_rounds.saturating_sub(1).min(16);
        interval
            .saturating_mul(1 << quiet)
            .min(MAX_IDLE_INTERVAL)
            .max(interval)
    }

    /// Whether `peer` pulling with `theirs` tells news this device should pull back: it holds
    /// something this device lacks (`mine`) that it was not already seen to hold (what was seen
    /// is pulled by the rounds; pulling back on every pull made two peers pull each other in
    /// an endless loop).
    pub(super) fn pull_back(
        &self,
        peer: &PeerId,
        space: SpaceId,
        theirs: &VersionVector,
        mine: &VersionVector,
    ) -> bool {
        let seen = self
            .peer_have
            .get(peer)
            .and_then(|spaces| spaces.get(&space));
        theirs.devices().any(|(device, &seq)| {
            seq > mine.get(device) && seen.is_none_or(|seen| seq > seen.get(device))
        })
    }

    /// This device's last own operation in `space` published so far.
    pub(super) fn published(&self, space: SpaceId) -> u64 {
        self.published.get(&space).copied().unwrap_or(0)
    }

    pub(super) fn set_published(&mut self, space: SpaceId, seq: u64) {
        self.published.insert(space, seq);
    }

    /// Of `mine` operations of device `me` in `space`, how many no peer was seen to hold.
    pub(super) fn unsent(&self, space: SpaceId, me: &DeviceId, mine: u64) -> u64 {
        let confirmed = self
            .peer_have
            .values()
            .filter_map(|spaces| spaces.get(&space))
            .map(|vv| vv.get(me))
            .max()
            .unwrap_or(0);
        mine.saturating_sub(confirmed)
    }

    /// The peers for a person: the tracked ones, then those synced with earlier in this run.
    pub(super) fn peer_infos(&self, connected: impl Fn(&PeerId) -> bool) -> Vec<PeerInfo> {
        let mut peers: Vec<PeerInfo> = self
            .peers
            .iter()
            .map(|(peer, st)| PeerInfo {
                peer_id: peer.to_string(),
                device: device_of_peer(peer).map(|d| d.to_string()),
                connected: connected(peer),
                addresses: st.addresses.iter().map(|a| a.to_string()).collect(),
                last_sync: self.last_sync.get(peer).map(rfc3339),
            })
            .collect();
        for (peer, at) in &self.last_sync {
            if !self.peers.contains_key(peer) {
                peers.push(PeerInfo {
                    peer_id: peer.to_string(),
                    device: device_of_peer(peer).map(|d| d.to_string()),
                    connected: false,
                    addresses: Vec::new(),
                    last_sync: Some(rfc3339(at)),
                });
            }
        }
        peers
    }
}

#[cfg(test)]
mod tests;
