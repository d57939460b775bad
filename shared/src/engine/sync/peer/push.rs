//! Sending new envelopes on without waiting for a pull: this device's own operations written by
//! jobs, and envelopes newly stored from a peer's push, are pushed to every connected peer that
//! proved holding the space, except the one they came from. A peer passes on only what it
//! newly stored, so the flood stops where everyone holds it. Pushes wait in a bounded outbox per
//! peer (2,000 envelopes, 8 MiB) and go out one push under way at a time, so what comes while
//! one is under way goes in the next (one fdatasync on the peer for many operations).
//!
//! A new member list (issued here after an admission, or taken from a peer) is announced the
//! same way: every peer that proved the space is pulled, the pull carrying the new mark, and
//! pulls back to take the list at once instead of at its next round.
//!
//! This replaces a gossipsub topic per space: gossipsub announces its subscriptions to every
//! connected peer and lets any of them subscribe, so a stranger could see which topics a node
//! is on and receive their envelopes. A push goes only to a peer that proved the space.

use super::*;
use crate::engine::envelope::Envelope;
use crate::engine::sync::proto::{BATCH_BYTES, MAX_BATCH_OPS};
use crate::vv::VersionVector;

impl State {
    /// Sends newly stored envelopes of `space` on to the peers that proved it (not back `from`).
    pub(super) fn forward(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        space: SpaceId,
        stored: Vec<Vec<u8>>,
        from: Option<PeerId>,
    ) {
        if stored.is_empty() {
            return;
        }
        for peer in self.sync.push_targets(space, from) {
            // What does not fit the outbox the peer fetches by its own pulls.
            let _ = self.sync.queue_push(peer, space, &stored);
            self.flush_pushes(swarm, peer);
        }
        self.emit(match from {
            Some(_) => NetEvent::Changed(space),
            None => NetEvent::Published(space),
        });
    }

    /// Sends what waits in `peer`'s outbox, as far as it has room for requests.
    pub(super) fn flush_pushes(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        while let Some((space, batch)) = self.sync.next_push(&peer, MAX_BATCH_OPS, BATCH_BYTES) {
            let Ok(envelopes) = proto::envelopes_to_wire(batch) else {
                continue;
            };
            self.send(
                swarm,
                peer,
                Request::Push { space, envelopes },
                Pending::Push { space },
            );
        }
    }

    /// Publishes this device's own operations written since the last call (by jobs).
    pub(super) fn publish_own(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
        let me = node.device_id();
        for (space, holding) in node.held_spaces() {
            if holding != Holding::Member {
                continue;
            }
            let last = node.own_last_seq(space);
            let published = self.sync.published(space);
            if last <= published {
                continue;
            }
            let mut theirs = node.have(space).unwrap_or_default();
            // Everything but my operations after `published`.
            let mut only_mine = VersionVector::new();
            for (device, seq) in theirs.devices() {
                only_mine.advance(*device, if *device == me { published } else { *seq });
            }
            theirs = only_mine;
            let mut all = Vec::new();
            while let Ok((batch, more)) =
                node.envelopes_missing_from(space, &theirs, MAX_BATCH_OPS, BATCH_BYTES)
            {
                for e in &batch {
                    if let Ok(env) = Envelope::decode(e) {
                        theirs.advance(env.id.device, env.id.seq);
                    }
                }
                all.extend(batch);
                if !more {
                    break;
                }
            }
            self.sync.set_published(space, last);
            self.forward(swarm, space, all, None);
        }
        self.announce_lists(node, swarm);
    }

    /// Pulls every connected peer that proved a space whose member lists changed here since
    /// peers were last told (see the module doc).
    pub(super) fn announce_lists(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
        for (space, _) in node.held_spaces() {
            let mark = node.member_list_mark(space);
            if self.lists_told.insert(space, mark) == Some(mark) {
                continue;
            }
            for peer in self.sync.peers() {
                if swarm.is_connected(&peer) && self.sync.proved(&peer, space) {
                    self.pull(node, swarm, peer, space, true);
                }
            }
        }
    }
}
