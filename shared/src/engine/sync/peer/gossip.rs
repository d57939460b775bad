//! Sending new envelopes on: a gossip topic per member space (subscribing, checking each gossip
//! message with the node before it propagates), pushes to connected peers that hold a space but
//! are not on its topic (blind relays), and publishing this device's own operations written by
//! jobs.

use std::collections::BTreeSet;

use super::*;
use crate::engine::envelope::Envelope;
use crate::engine::sync::proto::{Request, BATCH_BYTES, MAX_BATCH_OPS, MAX_FRAME};
use crate::vv::VersionVector;

impl State {
    /// Subscribes to the gossip topic of every member space not subscribed yet.
    pub(super) fn subscribe_all(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
        for (space, holding) in node.held_spaces() {
            if holding != Holding::Member || self.space_topics.contains_key(&space) {
                continue;
            }
            let Some(name) = node.gossip_topic(space) else {
                continue;
            };
            let topic = gossipsub::IdentTopic::new(name);
            if let Err(e) = swarm.behaviour_mut().gossip.subscribe(&topic) {
                log(&format!(
                    "cannot subscribe to the topic of space {space}: {e}"
                ));
                continue;
            }
            self.topics.insert(topic.hash(), space);
            self.space_topics.insert(space, topic);
        }
    }

    pub(super) fn on_gossip(
        &mut self,
        node: &mut Node,
        swarm: &mut Swarm<Behaviour>,
        source: PeerId,
        id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) {
        let acceptance = match self.topics.get(&message.topic).copied() {
            None => gossipsub::MessageAcceptance::Ignore,
            Some(space) if message.data.len() > MAX_FRAME => {
                let _ = space;
                gossipsub::MessageAcceptance::Reject
            }
            Some(space) => match node.receive(space, vec![message.data], &Self::label(&source)) {
                Ok(received) if !received.rejected.is_empty() => {
                    gossipsub::MessageAcceptance::Reject
                }
                Ok(received) if received.stored.is_empty() => gossipsub::MessageAcceptance::Ignore,
                Ok(received) => {
                    // Gossip forwards it on the topic; relays off the topic get a push.
                    self.push_to_relays(node, swarm, space, received.stored, Some(source));
                    self.emit(NetEvent::Changed(space));
                    gossipsub::MessageAcceptance::Accept
                }
                Err(e) => {
                    self.cannot_store(space, &format!("an operation from peer {source}"), &e);
                    gossipsub::MessageAcceptance::Ignore
                }
            },
        };
        let _ = swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(&id, &source, acceptance);
    }

    /// Sends newly stored envelopes on: gossip for members, pushes for peers off the topic.
    pub(super) fn forward(
        &mut self,
        node: &Node,
        swarm: &mut Swarm<Behaviour>,
        space: SpaceId,
        stored: Vec<Vec<u8>>,
        from: Option<PeerId>,
    ) {
        if stored.is_empty() {
            return;
        }
        if let Some(topic) = self.space_topics.get(&space) {
            for envelope in &stored {
                // No peers on the topic yet is fine: anti-entropy carries it.
                let _ = swarm
                    .behaviour_mut()
                    .gossip
                    .publish(topic.clone(), envelope.clone());
            }
        }
        self.push_to_relays(node, swarm, space, stored, from);
        self.emit(match from {
            Some(_) => NetEvent::Changed(space),
            None => NetEvent::Published(space),
        });
    }

    pub(super) fn push_to_relays(
        &mut self,
        _node: &Node,
        swarm: &mut Swarm<Behaviour>,
        space: SpaceId,
        stored: Vec<Vec<u8>>,
        from: Option<PeerId>,
    ) {
        let on_topic: BTreeSet<PeerId> = match self.space_topics.get(&space) {
            Some(topic) => {
                let hash = topic.hash();
                swarm
                    .behaviour()
                    .gossip
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&hash))
                    .map(|(p, _)| *p)
                    .collect()
            }
            None => BTreeSet::new(),
        };
        let targets = self.sync.relay_targets(space, from, &on_topic);
        for chunk in stored.chunks(MAX_BATCH_OPS) {
            let Ok(envelopes) = proto::envelopes_to_wire(chunk.to_vec()) else {
                continue;
            };
            for peer in &targets {
                self.send(
                    swarm,
                    *peer,
                    Request::Push {
                        space,
                        envelopes: envelopes.clone(),
                    },
                    Pending::Push { space },
                );
            }
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
            self.forward(node, swarm, space, all, None);
        }
    }
}
