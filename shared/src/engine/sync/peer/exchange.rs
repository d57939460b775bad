//! The request-response exchange (`/krizlink/sync/4`): the proof of holding a space that starts
//! every connection (challenges sent and answered, the peer's requests waiting for its proof),
//! anti-entropy (sending pulls and taking in their answers: a pulled batch is queued and stored
//! between events, the next pull already on its way), answering a peer's pulls, pushes and join
//! requests, and request failures. The bookkeeping it drives is in `sync::state`.

use ring::rand::{SecureRandom, SystemRandom};

use super::*;
use crate::bounded::BoundedVec;
use crate::engine::envelope::Envelope;
use crate::engine::member_list::{ListMark, MemberList, MAX_LIST_CHAIN};
use crate::engine::receipt::{Receipt, RECEIPT_BYTES_PER_PULL};
use crate::engine::sync::address::device_of_peer;
use crate::engine::sync::proto::{Framed, BATCH_BYTES, MAX_BATCH_OPS};
use crate::vv::VersionVector;

/// The one answer to a request about a space the peer may not hear of: not held here, or not
/// proven by the peer (the same bytes for both).
const NOT_HELD: &str = "space not held here";
/// What a pull says besides the version vector.
struct Asking {
    /// The puller's tips (see `Request::Pull`); none after the first pull of a catch-up.
    tips: Vec<[u8; 8]>,
    lists: ListMark,
    receipts: Vec<Receipt>,
}

impl Asking {
    fn lists(lists: ListMark) -> Asking {
        Asking {
            tips: Vec::new(),
            lists,
            receipts: Vec::new(),
        }
    }
}

/// The answer to a proven device that was removed from the space.
const REMOVED: &str = "this device was removed from the space";

impl State {
    pub(super) fn send(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        req: Request,
        what: Pending,
    ) {
        self.sync.request_sent(peer);
        let id = swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, Framed::new(req));
        self.pending.insert(id, (peer, what));
    }

    /// Challenges `peer` to prove which spaces it holds (with a fresh nonce); `again` asks it
    /// to challenge this device anew (this device holds a new space).
    pub(super) fn challenge(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId, again: bool) {
        let mut nonce = [0u8; 32];
        if SystemRandom::new().fill(&mut nonce).is_err() {
            log("no random numbers for a challenge: the peer is not synced");
            return;
        }
        self.sync.challenge_sent(peer);
        self.send(
            swarm,
            peer,
            Request::Challenge { nonce, again },
            Pending::Challenge { nonce },
        );
    }

    /// After a job or a join: if this device holds a space it did not hold before, every
    /// connected peer is challenged again and asked to challenge back, so both sides prove it.
    pub(super) fn held_changed(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
        let held: BTreeSet<SpaceId> = node.held_spaces().into_iter().map(|(s, _)| s).collect();
        if held.is_subset(&self.held) {
            return;
        }
        for (space, _) in node.held_spaces() {
            if !self.held.contains(&space) {
                self.sync.set_published(space, node.own_last_seq(space));
            }
        }
        self.held = held;
        for peer in self.sync.peers() {
            if swarm.is_connected(&peer) {
                self.challenge(swarm, peer, true);
            }
        }
    }

    /// Answers the requests that waited for `peer`'s proof, once none is awaited.
    fn release_parked(&mut self, node: &mut Node, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        if self.sync.is_proving(&peer) {
            return;
        }
        for (request, held, channel) in self.parked.remove(&peer).unwrap_or_default() {
            self.on_request(node, swarm, peer, request, held, channel);
        }
    }

    /// Pulls every held space the peer proved (unless refused lately, see `should_pull`).
    pub(super) fn pull_all(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        for (space, _) in node.held_spaces() {
            self.pull(node, swarm, peer, space, false);
        }
    }

    /// Pulls `space` from `peer` unless one is under way (see `SyncState::should_pull`);
    /// `again`: there is a reason to ask even if the peer refused the space lately.
    pub(super) fn pull(
        &mut self,
        node: &Node,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        space: SpaceId,
        again: bool,
    ) {
        if !self.sync.should_pull(&peer, space, again, Instant::now()) {
            return;
        }
        if let Some(reason) = node.read_only(space) {
            // It could not store the answer: say so once instead of on every round.
            if self.read_only_told.insert(space) {
                log(&format!("space {space} is not synced: {reason}"));
            }
            return;
        }
        let Ok(have) = node.have(space) else {
            return;
        };
        let tips = node.tips(space, &have);
        let lists = node.member_list_mark(space);
        let receipts = node.receipts_for_peer(space, &Self::label(&peer), RECEIPT_BYTES_PER_PULL);
        let asking = Asking {
            tips,
            lists,
            receipts,
        };
        self.pull_with(swarm, peer, space, &have, asking);
    }

    /// Sends a pull saying this peer holds `have`; false if it could not (the peer is gone,
    /// or `have` names more devices than a message carries).
    fn pull_with(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        space: SpaceId,
        have: &VersionVector,
        asking: Asking,
    ) -> bool {
        let Asking {
            tips,
            lists,
            receipts,
        } = asking;
        if !self.sync.is_tracked(&peer) {
            return false;
        }
        let receipts = receipts.try_into().unwrap_or_default();
        let (Ok(have), Ok(tips)) = (proto::have_to_wire(have), tips.try_into()) else {
            return false;
        };
        self.sync.pull_started(&peer, space);
        self.send(
            swarm,
            peer,
            Request::Pull {
                space,
                have,
                tips,
                lists,
                clock_ms: Utc::now().timestamp_millis().max(0) as u64,
                receipts,
            },
            Pending::Pull { space },
        );
        true
    }

    pub(super) fn on_sync_event(
        &mut self,
        node: &mut Node,
        swarm: &mut Swarm<Behaviour>,
        event: request_response::Event<Framed<Request>, Framed<Response>>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let (request, held) = request.into_parts();
                    self.on_request(node, swarm, peer, request, held, channel)
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    self.sync.request_done(&peer);
                    if let Some((_, what)) = self.pending.remove(&request_id) {
                        if matches!(what, Pending::Push { .. }) {
                            self.sync.push_done(&peer);
                        }
                        self.on_response(node, swarm, peer, what, response.message);
                    }
                    self.flush_pushes(swarm, peer);
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.sync.request_done(&peer);
                if let Some((_, what)) = self.pending.remove(&request_id) {
                    match what {
                        Pending::Challenge { .. } => {
                            if matches!(
                                error,
                                request_response::OutboundFailure::UnsupportedProtocols
                            ) {
                                // Say why two KrizLink peers do not sync, instead of silence.
                                log(&format!(
                                    "peer {peer} does not speak {} (another program, or a \
                                     KrizLink of another protocol version): not synced",
                                    proto::PROTOCOL
                                ));
                            }
                            self.sync.challenge_failed(&peer);
                            self.release_parked(node, swarm, peer);
                        }
                        Pending::Pull { space } => self.sync.pull_ended(&peer, space),
                        Pending::Push { space } => {
                            self.sync.push_done(&peer);
                            self.sync.pull_ended(&peer, space);
                        }
                        Pending::Join { done } => {
                            let _ = done
                                .send(Err(format!("the inviting device did not answer: {error}")));
                        }
                    }
                }
                if let request_response::OutboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.violation(swarm, peer, &format!("malformed answer: {e}"));
                    }
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if let request_response::InboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.violation(swarm, peer, &format!("malformed request: {e}"));
                    }
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn respond(
        swarm: &mut Swarm<Behaviour>,
        channel: ResponseChannel<Framed<Response>>,
        r: Response,
    ) {
        let _ = swarm
            .behaviour_mut()
            .sync
            .send_response(channel, Framed::new(r));
    }

    fn refused(reason: &str) -> Response {
        Response::Refused {
            reason: proto::text_to_wire(reason),
        }
    }

    fn on_request(
        &mut self,
        node: &mut Node,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        request: Request,
        held: Option<Held>,
        channel: ResponseChannel<Framed<Response>>,
    ) {
        let about = match &request {
            Request::Pull { space, .. } | Request::Push { space, .. } => Some(*space),
            _ => None,
        };
        if let Some(space) = about {
            if !self.sync.proved(&peer, space) {
                let parked = self.parked.entry(peer).or_default();
                if self.sync.is_proving(&peer) && parked.len() < MAX_PARKED_PER_PEER {
                    // Its proof may be on its way: answer once it is in (or failed).
                    // It keeps its frame's share of the budget while it waits.
                    parked.push((request, held, channel));
                    return;
                }
                return Self::respond(swarm, channel, Self::refused(NOT_HELD));
            }
            // A device removed from the space pushes nothing into it.
            let removed = device_of_peer(&peer).and_then(|d| node.removed_at(space, d));
            if removed.is_some() && matches!(request, Request::Push { .. }) {
                return Self::respond(swarm, channel, Self::refused(REMOVED));
            }
            // A relay cannot tell when a device was removed, only that the member lists
            // dropped it: it serves such a device nothing (its members told it of the removal).
            if device_of_peer(&peer).is_some_and(|d| node.dropped_from_lists(space, d)) {
                return Self::respond(swarm, channel, Self::refused(REMOVED));
            }
        }
        match request {
            Request::Challenge { nonce, again } => {
                let tags = node.proof_tags(&nonce, device_of_peer(&peer).as_ref());
                let response = match tags.try_into() {
                    Ok(tags) => Response::Proof { tags },
                    Err(_) => Self::refused("too many spaces to prove"),
                };
                Self::respond(swarm, channel, response);
                if again && !self.sync.is_proving(&peer) {
                    self.challenge(swarm, peer, false);
                }
            }
            Request::Pull {
                space,
                have,
                tips,
                lists,
                clock_ms,
                receipts,
            } => {
                self.peer_clock(node, peer, clock_ms);
                if node.holding(space).is_none() {
                    return Self::respond(swarm, channel, Self::refused(NOT_HELD));
                }
                if !receipts.is_empty() {
                    if let Err(e) =
                        node.accept_receipts(space, receipts.into_inner(), &Self::label(&peer))
                    {
                        self.cannot_store(space, &format!("receipts from peer {peer}"), &e);
                    }
                }
                let theirs = proto::have_from_wire(&have);
                // Where the puller may hold another envelope than this node for the same id
                // (tips differ, or the device is known to have forked), this node's envelopes
                // of that device go first: the puller's receive path reports the fork and
                // keeps the winner (`node/heal.rs`).
                let forked = node.envelopes_at_other_tips(space, &have, &tips);
                let answer = node
                    .envelopes_missing_from(
                        space,
                        &theirs,
                        MAX_BATCH_OPS - forked.len(),
                        BATCH_BYTES,
                    )
                    .and_then(|(envelopes, more)| {
                        let all = forked.into_iter().chain(envelopes).collect::<Vec<_>>();
                        Ok((all, more, node.have(space)?))
                    })
                    .map(|(all, more, mine)| {
                        // A removed device gets only what was stamped before its removal (the
                        // removal included, so it learns of it): nothing its staff wrote
                        // after, even under the old key by a member the rotation has not
                        // reached yet.
                        let cutoff = device_of_peer(&peer).and_then(|d| node.removed_at(space, d));
                        match cutoff {
                            Some(at) => {
                                let before: Vec<Vec<u8>> = all
                                    .into_iter()
                                    .filter(|bytes| {
                                        Envelope::decode(bytes).is_ok_and(|e| e.hlc <= at)
                                    })
                                    .collect();
                                (before, false, mine)
                            }
                            None => (all, more, mine),
                        }
                    });
                // A peer that pulls may be ahead of us: pull back when it holds something new
                // (not on every pull: two idle peers would pull each other without end).
                let pull_back = match &answer {
                    Ok((_, _, mine)) => self.sync.pull_back(&peer, space, &theirs, mine),
                    Err(_) => false,
                } || lists > node.member_list_mark(space);
                // The puller's member lists are older: the newer ones go with the answer.
                // (A holder keeps at most `MAX_LIST_CHAIN`, so they always fit.)
                let newer: BoundedVec<MemberList, MAX_LIST_CHAIN> = node
                    .member_lists_newer_than(space, lists)
                    .try_into()
                    .unwrap_or_default();
                let response = match answer {
                    Ok((envelopes, more, mine)) => {
                        // Held until written: charged to the answers of all peers together.
                        let (envelopes, more, share) =
                            proto::charge_answer(&self.answers, envelopes, more);
                        match (
                            proto::envelopes_to_wire(envelopes),
                            proto::have_to_wire(&mine),
                        ) {
                            (Ok(envelopes), Ok(have)) => {
                                let receipts = node
                                    .receipts_for_peer(
                                        space,
                                        &Self::label(&peer),
                                        4 * RECEIPT_BYTES_PER_PULL,
                                    )
                                    .try_into()
                                    .unwrap_or_default();
                                let ops = Response::Ops {
                                    envelopes,
                                    more,
                                    have,
                                    lists: newer,
                                    clock_ms: Utc::now().timestamp_millis().max(0) as u64,
                                    receipts,
                                };
                                match share {
                                    Some(share) => Framed::charged(ops, share),
                                    None => Framed::new(ops),
                                }
                            }
                            _ => Framed::new(Self::refused("batch too large")),
                        }
                    }
                    Err(e) => Framed::new(Self::refused(&e.to_string())),
                };
                let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                self.saw_peer_holding(peer, space, &theirs);
                if pull_back {
                    self.pull(node, swarm, peer, space, true);
                }
            }
            Request::Push { space, envelopes } => {
                if node.holding(space).is_none() {
                    return Self::respond(swarm, channel, Self::refused(NOT_HELD));
                }
                let count = envelopes.len();
                match node.receive(
                    space,
                    proto::envelopes_from_wire(envelopes),
                    &Self::label(&peer),
                ) {
                    Ok(received) => {
                        let stored = received.stored.len();
                        Self::respond(
                            swarm,
                            channel,
                            Response::Stored {
                                stored: stored as u32,
                                rejected: received.rejected.len() as u32,
                            },
                        );
                        self.sync.holds(&peer, space, Instant::now());
                        // A relay refused authors missing from its member list: the pusher may
                        // hold a newer one, which comes with the answer to a pull.
                        let gap = Self::leaves_a_gap(node, space, &received.stored)
                            || received.unlisted > 0;
                        self.forward(swarm, space, received.stored, Some(peer));
                        if gap {
                            // Their predecessors are missing here: fetch them now, not in the
                            // next (maybe backed-off) round.
                            self.pull(node, swarm, peer, space, true);
                        }
                        if !received.rejected.is_empty() {
                            log(&format!(
                                "peer {peer} pushed {count} operation(s) to space {space}: {stored} new, {} refused",
                                received.rejected.len()
                            ));
                        }
                    }
                    Err(e) => {
                        self.cannot_store(space, &format!("operations from peer {peer}"), &e);
                        Self::respond(swarm, channel, Self::refused(&e.to_string()));
                    }
                }
            }
            Request::Malformed(reason) => {
                drop(channel);
                self.violation(swarm, peer, &format!("malformed request: {reason}"));
            }
            Request::Join { request } => {
                let text = proto::text_from_wire(&request);
                let response = match node.accept_join(&text) {
                    Ok(welcome) => Response::Welcome {
                        welcome: proto::text_to_wire(&welcome),
                    },
                    Err(e) => Self::refused(&e.to_string()),
                };
                Self::respond(swarm, channel, response);
                self.publish_own(node, swarm);
            }
        }
    }

    /// Whether some of `stored` lie beyond what this device holds without a hole (their
    /// same-device predecessors are missing).
    fn leaves_a_gap(node: &Node, space: SpaceId, stored: &[Vec<u8>]) -> bool {
        let Ok(have) = node.have(space) else {
            return false;
        };
        stored
            .iter()
            .any(|e| Envelope::decode(e).is_ok_and(|env| env.id.seq > have.get(&env.id.device)))
    }

    /// Takes a proven peer's wall clock; says so in the log when this device's clock starts or
    /// stops disagreeing with its staff's.
    fn peer_clock(&mut self, node: &mut Node, peer: PeerId, clock_ms: u64) {
        let Some(device) = device_of_peer(&peer) else {
            return;
        };
        let before = node.clock_notice().map(str::to_owned);
        node.observe_peer_clock(device, clock_ms);
        if node.clock_notice() != before.as_deref() {
            match node.clock_notice() {
                Some(notice) => log(&format!("warning: {notice}")),
                None => log("this device's clock agrees with its staff's again"),
            }
        }
    }

    fn saw_peer_holding(&mut self, peer: PeerId, space: SpaceId, have: &VersionVector) {
        self.sync
            .saw_holding(peer, space, have, Instant::now(), Utc::now());
        self.emit(NetEvent::Synced(peer));
    }

    fn on_response(
        &mut self,
        node: &mut Node,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        what: Pending,
        response: Response,
    ) {
        match (what, response) {
            (Pending::Challenge { nonce }, Response::Proof { tags }) => {
                let proven = device_of_peer(&peer)
                    .map(|device| node.proven_spaces(&nonce, &device, &tags))
                    .unwrap_or_default();
                self.sync.challenge_answered(&peer, proven);
                // A new proof is a new connection: it is given every receipt again.
                node.forget_receipts_given(&Self::label(&peer));
                self.pull_all(node, swarm, peer);
                self.release_parked(node, swarm, peer);
            }
            (Pending::Challenge { .. }, _) => {
                self.sync.challenge_failed(&peer);
                self.release_parked(node, swarm, peer);
                self.violation(swarm, peer, "an answer that does not fit the request");
            }
            (
                Pending::Pull { space },
                Response::Ops {
                    envelopes,
                    more,
                    have,
                    lists,
                    clock_ms,
                    receipts,
                },
            ) => {
                self.sync.pull_ended(&peer, space);
                self.peer_clock(node, peer, clock_ms);
                if !receipts.is_empty() {
                    if let Err(e) =
                        node.accept_receipts(space, receipts.into_inner(), &Self::label(&peer))
                    {
                        self.cannot_store(space, &format!("receipts from peer {peer}"), &e);
                    }
                }
                // Newer member lists first: a relay then stores what their devices wrote.
                let took_lists = !lists.is_empty();
                if took_lists {
                    if let Err(e) =
                        node.accept_member_lists(space, lists.into_inner(), &Self::label(&peer))
                    {
                        self.cannot_store(space, &format!("member lists from peer {peer}"), &e);
                    }
                }
                let theirs = proto::have_from_wire(&have);
                let batch = proto::envelopes_from_wire(envelopes);
                self.saw_peer_holding(peer, space, &theirs);
                // What the peer lacks it pulls itself: it does so on connecting, every
                // interval, and whenever it is pulled (pushing it here as well would send the
                // same batch twice while it catches up).
                let mut pulled_more = false;
                if more && !self.sync.may_pull_more(&peer, space) {
                    // The backlog is full: the next batch is asked for as soon as a stored
                    // one makes room (`resume_more`), from what this one brings.
                    let here = node.have(space).ok();
                    let ids = batch
                        .iter()
                        .filter_map(|e| Envelope::decode(e).ok().map(|env| env.id));
                    self.sync.assume_stored(peer, space, here.as_ref(), ids);
                    pulled_more = self.sync.defer_more(peer, space);
                } else if more {
                    // Ask for the next batch now, as if this one were stored already, so the
                    // peer prepares it while this one is checked and stored.
                    let here = node.have(space).ok();
                    let ids = batch
                        .iter()
                        .filter_map(|e| Envelope::decode(e).ok().map(|env| env.id));
                    let assumed = self.sync.assume_stored(peer, space, here.as_ref(), ids);
                    // The ends were compared on the first pull; the rest need no tips.
                    let lists = node.member_list_mark(space);
                    pulled_more =
                        self.pull_with(swarm, peer, space, &assumed, Asking::lists(lists));
                }
                if !pulled_more {
                    // Caught up, or "more" waits for the next round, which pulls from what is
                    // stored (also when what was assumed grew too long to send).
                    self.sync.caught_up(peer, space);
                }
                self.sync.queue(peer, space, batch);
                if took_lists {
                    // After the next pull of this peer is on its way, so that telling the
                    // others does not send this one a second pull of the same space.
                    self.announce_lists(node, swarm);
                }
            }
            (Pending::Push { space }, Response::Stored { .. }) => {
                // Learn what the peer holds now, and continue if it still lacks something.
                self.pull(node, swarm, peer, space, true);
            }
            (Pending::Pull { space } | Pending::Push { space }, Response::Refused { .. }) => {
                self.sync.refused(&peer, space, Instant::now());
            }
            (Pending::Join { done }, Response::Welcome { welcome }) => {
                let text = proto::text_from_wire(&welcome);
                let result = node.finish_join(&text).map_err(|e| e.to_string());
                if let Ok(space) = result {
                    // Both sides prove the new space to each other, then pull it.
                    self.held_changed(node, swarm);
                    self.emit(NetEvent::Changed(space));
                }
                let _ = done.send(result);
            }
            (Pending::Join { done }, Response::Refused { reason }) => {
                let _ = done.send(Err(proto::text_from_wire(&reason)));
            }
            (Pending::Join { done }, _) => {
                let _ = done.send(Err("the inviting device answered out of turn".into()));
                self.violation(swarm, peer, "an answer that does not fit the request");
            }
            (Pending::Pull { space } | Pending::Push { space }, _) => {
                self.sync.pull_ended(&peer, space);
                self.violation(swarm, peer, "an answer that does not fit the request");
            }
        }
    }

    /// Stores the oldest pulled batch waiting in the backlog.
    /// Pulls again, from what was assumed, the answers that said "more" while the backlog was
    /// full, as far as there is room now.
    fn resume_more(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
        while let Some((peer, space, assumed)) = self.sync.resumable() {
            let lists = node.member_list_mark(space);
            if !self.pull_with(swarm, peer, space, &assumed, Asking::lists(lists)) {
                self.sync.caught_up(peer, space);
            }
        }
    }

    pub(super) fn store_backlog(&mut self, node: &mut Node, swarm: &mut Swarm<Behaviour>) {
        let Some((peer, space, batch)) = self.sync.next_batch() else {
            return;
        };
        match node.receive(space, batch, &Self::label(&peer)) {
            Ok(received) => {
                self.sync
                    .batch_stored(&peer, space, !received.stored.is_empty());
                // Pulled catch-up is not pushed on: the other peers pull it themselves (this
                // device's next round, 2 s after a change, shows them it holds news).
                if !received.stored.is_empty() {
                    self.emit(NetEvent::Changed(space));
                }
                self.resume_more(node, swarm);
            }
            Err(e) => {
                self.cannot_store(space, &format!("operations from peer {peer}"), &e);
                // Start again from what is stored.
                self.sync.store_failed(peer, space);
            }
        }
    }
}
