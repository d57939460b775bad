//! The sync peer: one libp2p swarm driven by one task that owns the [`Node`].
//!
//! - Connections: TCP with Noise and Yamux, and QUIC; at most [`MAX_CONNECTIONS_PER_PEER`] per
//!   peer; mDNS discovery (optional); bootstrap peers redialled with exponential backoff.
//! - Anti-entropy: on connecting, every `sync_interval`, and whenever it is pulled, each side
//!   pulls each space the other holds with its version vector; the answer carries a bounded
//!   batch of what the puller lacks and the answerer's version vector. A cut connection loses
//!   nothing: the next pull starts from what was stored.
//! - Push: every envelope newly stored (written here or received) is published on the space's
//!   gossip topic (members only: the topic is derived from the space key) and pushed by
//!   request-response to connected peers that hold the space but are not on the topic (blind
//!   relays).
//! - Bad input: a peer whose stream fails to decode is disconnected and the reason logged; a
//!   gossip message that fails the node's checks is rejected (not propagated, peer penalised).
//!
//! Work from outside (the control socket, the desktop app) arrives as [`Job`]s run between
//! events, so the node is never shared across threads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use libp2p::futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    connection_limits, gossipsub, identify, identity, mdns, noise, ping, tcp, yamux, Multiaddr,
    PeerId, Swarm,
};
use sha2::Digest;
use tokio::sync::{mpsc, oneshot};

use crate::engine::node::{Holding, Node, NodeError};
use crate::engine::sync::address::device_of_peer;
use crate::engine::sync::proto::{
    self, Request, Response, SyncCodec, BATCH_BYTES, MAX_BATCH_OPS, MAX_FRAME,
};
use crate::engine::sync::status::{rfc3339, NetStatus, PeerInfo};
use crate::ids::SpaceId;
use crate::vv::VersionVector;

pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
pub const MAX_INCOMING_CONNECTIONS: u32 = 256;
/// Concurrent sync streams per connection: with frames of at most 4 MiB this bounds what one
/// connection can make this peer hold in buffers to 32 MiB (two connections per peer).
pub const MAX_STREAMS_PER_CONNECTION: usize = 8;
/// Requests in flight to one peer; more work waits for the next tick.
pub const MAX_INFLIGHT_PER_PEER: usize = 8;
/// Protocol violations after which a peer is no longer dialled back by mDNS in this run.
pub const MAX_VIOLATIONS: u32 = 3;
const TICK: Duration = Duration::from_millis(250);
const REPROBE: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("network: {0}")]
    Transport(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error("{0}")]
    Node(#[from] NodeError),
}

/// How to run the peer.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers, dialled on start and redialled with backoff while unreachable.
    pub peers: Vec<Multiaddr>,
    pub mdns: bool,
    /// How often each connected peer is pulled, besides on connecting and on pushes.
    pub sync_interval: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            listen: Vec::new(),
            peers: Vec::new(),
            mdns: true,
            sync_interval: Duration::from_secs(2),
        }
    }
}

/// Something the peer tells its owner.
#[derive(Clone, Debug)]
pub enum NetEvent {
    Listening(Multiaddr),
    /// New operations were stored in a space (from the network or a job).
    Changed(SpaceId),
    PeerConnected(PeerId),
    PeerDisconnected(PeerId),
    /// A pull with this peer completed (its last sync time and what it holds changed).
    Synced(PeerId),
}

/// Network work a job asks for after it ran.
pub enum NetAction {
    /// Send a join request (text from `Node::request_join`) to the inviting device, finish the
    /// join with its welcome, then sync the new space. `done` gets the space or a sentence.
    Join {
        request: String,
        inviter: PeerId,
        addresses: Vec<Multiaddr>,
        done: oneshot::Sender<Result<SpaceId, String>>,
    },
    /// Add a peer address to the ones dialled and redialled with backoff (a person typed it).
    Dial(Multiaddr),
    /// Stop redialling an address (a connection already open stays until it closes).
    Forget(Multiaddr),
}

/// Work run on the node between network events.
pub type Job = Box<dyn FnOnce(&mut Node, &NetStatus) -> Option<NetAction> + Send>;

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    gossip: gossipsub::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

#[derive(Default)]
struct PeerState {
    addresses: BTreeSet<Multiaddr>,
    /// Per space: whether the peer holds it (None: not asked yet) and when we last asked.
    holds: BTreeMap<SpaceId, (Option<bool>, Instant)>,
    pulling: BTreeSet<SpaceId>,
    inflight: usize,
}

enum Pending {
    Pull {
        space: SpaceId,
    },
    Push {
        space: SpaceId,
    },
    Join {
        done: oneshot::Sender<Result<SpaceId, String>>,
    },
}

struct Bootstrap {
    addr: Multiaddr,
    connected: Option<PeerId>,
    next_attempt: Instant,
    backoff: Duration,
}

struct State {
    local: PeerId,
    cfg: SyncConfig,
    listen: Vec<Multiaddr>,
    peers: BTreeMap<PeerId, PeerState>,
    pending: HashMap<OutboundRequestId, (PeerId, Pending)>,
    bootstrap: Vec<Bootstrap>,
    topics: BTreeMap<gossipsub::TopicHash, SpaceId>,
    space_topics: BTreeMap<SpaceId, gossipsub::IdentTopic>,
    /// This device's own operations already published, per space.
    published: BTreeMap<SpaceId, u64>,
    /// What each peer was last seen to hold, per space (kept after disconnects for `unsent`).
    peer_have: BTreeMap<PeerId, BTreeMap<SpaceId, VersionVector>>,
    last_sync: BTreeMap<PeerId, DateTime<Utc>>,
    violations: BTreeMap<PeerId, u32>,
    events: Option<mpsc::UnboundedSender<NetEvent>>,
    /// Pulled batches waiting to be stored, in arrival order: the next pull is already on its
    /// way while one is checked and stored (see `on_response`).
    backlog: std::collections::VecDeque<(PeerId, SpaceId, Vec<Vec<u8>>)>,
    /// Per peer and space: what this peer will hold once the backlog is stored.
    assumed: BTreeMap<(PeerId, SpaceId), VersionVector>,
}

fn log(line: &str) {
    eprintln!("krizlink-node: {line}");
}

fn build_swarm(node: &Node, cfg: &SyncConfig) -> Result<Swarm<Behaviour>, SyncError> {
    let keypair = identity::Keypair::ed25519_from_bytes(node.network_seed())
        .map_err(|e| SyncError::Transport(e.to_string()))?;
    let local = keypair.public().to_peer_id();
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(crate::engine::envelope::MAX_ENVELOPE_BYTES + 1024)
        .heartbeat_interval(Duration::from_millis(700))
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(sha2::Sha256::digest(&m.data).to_vec())
        })
        .build()
        .map_err(|e| SyncError::Transport(e.to_string()))?;
    let mdns_enabled = cfg.mdns;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| SyncError::Transport(e.to_string()))?
        .with_quic()
        .with_behaviour(|key| {
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                .with_max_established_incoming(Some(MAX_INCOMING_CONNECTIONS))
                .with_max_pending_incoming(Some(64));
            let mdns = if mdns_enabled {
                Some(mdns::tokio::Behaviour::new(mdns::Config::default(), local)?)
            } else {
                None
            };
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(limits),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/krizlink/1".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::new(ping::Config::new()),
                sync: request_response::Behaviour::with_codec(
                    SyncCodec,
                    [(proto::PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(MAX_STREAMS_PER_CONNECTION),
                ),
                gossip: gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gossip_config,
                )?,
                mdns: Toggle::from(mdns),
            })
        })
        .map_err(|e| SyncError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

/// Runs the peer until `shutdown` completes: listens, dials, syncs, runs `jobs`. Events go to
/// `events` (listen addresses, changes, peers) if given. Returns the last network status.
pub async fn serve(
    node: &mut Node,
    cfg: SyncConfig,
    jobs: &mut mpsc::Receiver<Job>,
    events: Option<mpsc::UnboundedSender<NetEvent>>,
    shutdown: impl Future<Output = ()>,
) -> Result<NetStatus, SyncError> {
    let mut swarm = build_swarm(node, &cfg)?;
    for addr in &cfg.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| SyncError::Listen {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?;
    }
    let now = Instant::now();
    let mut state = State {
        local: *swarm.local_peer_id(),
        bootstrap: cfg
            .peers
            .iter()
            .map(|addr| Bootstrap {
                addr: addr.clone(),
                connected: None,
                next_attempt: now,
                backoff: Duration::from_secs(1),
            })
            .collect(),
        cfg,
        listen: Vec::new(),
        peers: BTreeMap::new(),
        pending: HashMap::new(),
        topics: BTreeMap::new(),
        space_topics: BTreeMap::new(),
        published: BTreeMap::new(),
        peer_have: BTreeMap::new(),
        last_sync: BTreeMap::new(),
        violations: BTreeMap::new(),
        events,
        backlog: std::collections::VecDeque::new(),
        assumed: BTreeMap::new(),
    };
    state.subscribe_all(node, &mut swarm);
    for (space, _) in node.held_spaces() {
        state.published.insert(space, node.own_last_seq(space));
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_pull_round = Instant::now();
    tokio::pin!(shutdown);
    loop {
        // Biased: the swarm, jobs (a person's command) and the timer come before storing a
        // pulled batch, and the backlog branch yields once first, so a queued pull is written
        // by its connection task before this task is busy storing the previous batch.
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            event = swarm.select_next_some() => state.on_swarm_event(node, &mut swarm, event),
            Some(job) = jobs.recv() => {
                let status = state.status(node, &swarm);
                let action = job(node, &status);
                state.subscribe_all(node, &mut swarm);
                state.publish_own(node, &mut swarm);
                if let Some(action) = action {
                    state.start_action(&mut swarm, action);
                }
            }
            _ = tick.tick() => {
                state.redial(&mut swarm);
                if last_pull_round.elapsed() >= state.cfg.sync_interval {
                    last_pull_round = Instant::now();
                    let peers: Vec<PeerId> = state.peers.keys().copied().collect();
                    for peer in peers {
                        state.pull_all(node, &mut swarm, peer);
                    }
                }
            }
            () = tokio::task::yield_now(), if !state.backlog.is_empty() => {
                state.store_backlog(node, &mut swarm);
            }
        }
    }
    Ok(state.status(node, &swarm))
}

impl State {
    fn emit(&self, event: NetEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    fn label(peer: &PeerId) -> String {
        format!("peer {peer}")
    }

    fn subscribe_all(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
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

    fn status(&self, node: &Node, swarm: &Swarm<Behaviour>) -> NetStatus {
        let me = node.device_id();
        let mut peers: Vec<PeerInfo> = self
            .peers
            .iter()
            .map(|(peer, st)| PeerInfo {
                peer_id: peer.to_string(),
                device: device_of_peer(peer).map(|d| d.to_string()),
                connected: swarm.is_connected(peer),
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
        let unsent = node
            .held_spaces()
            .into_iter()
            .filter(|(_, h)| *h == Holding::Member)
            .map(|(space, _)| {
                let mine = node.own_last_seq(space);
                let confirmed = self
                    .peer_have
                    .values()
                    .filter_map(|spaces| spaces.get(&space))
                    .map(|vv| vv.get(&me))
                    .max()
                    .unwrap_or(0);
                (space.to_string(), mine.saturating_sub(confirmed))
            })
            .collect();
        NetStatus {
            peer_id: self.local.to_string(),
            listen: self.listen.iter().map(|a| a.to_string()).collect(),
            peers,
            unsent,
        }
    }

    fn redial(&mut self, swarm: &mut Swarm<Behaviour>) {
        let now = Instant::now();
        for b in &mut self.bootstrap {
            if b.connected.is_some_and(|p| swarm.is_connected(&p)) || b.next_attempt > now {
                continue;
            }
            b.connected = None;
            if let Err(e) = swarm.dial(b.addr.clone()) {
                log(&format!("cannot dial {}: {e}", b.addr));
            }
            b.next_attempt = now + b.backoff;
            b.backoff = (b.backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn on_swarm_event(
        &mut self,
        node: &mut Node,
        swarm: &mut Swarm<Behaviour>,
        event: SwarmEvent<BehaviourEvent>,
    ) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.clone().with_p2p(self.local).unwrap_or(address);
                self.listen.push(full.clone());
                self.emit(NetEvent::Listening(full));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let addr = endpoint.get_remote_address().clone();
                if endpoint.is_dialer() {
                    for b in &mut self.bootstrap {
                        let plain: Multiaddr = b
                            .addr
                            .iter()
                            .filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
                            .collect();
                        if plain == addr || b.addr == addr {
                            b.connected = Some(peer_id);
                            b.backoff = Duration::from_secs(1);
                        }
                    }
                }
                let st = self.peers.entry(peer_id).or_default();
                st.addresses.insert(addr);
                if num_established.get() == 1 {
                    self.emit(NetEvent::PeerConnected(peer_id));
                    self.pull_all(node, swarm, peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.peers.remove(&peer_id);
                self.pending.retain(|_, (p, _)| *p != peer_id);
                self.emit(NetEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => {
                self.on_sync_event(node, swarm, event)
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(node, swarm, propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, addr) in found {
                    if swarm.is_connected(&peer)
                        || self.violations.get(&peer).copied().unwrap_or(0) >= MAX_VIOLATIONS
                    {
                        continue;
                    }
                    let _ = swarm.dial(DialOpts::peer_id(peer).addresses(vec![addr]).build());
                }
            }
            _ => {}
        }
    }

    fn violation(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId, what: &str) {
        *self.violations.entry(peer).or_default() += 1;
        log(&format!("disconnecting peer {peer}: {what}"));
        let _ = swarm.disconnect_peer_id(peer);
    }

    fn send(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId, req: Request, what: Pending) {
        let st = self.peers.entry(peer).or_default();
        st.inflight += 1;
        let id = swarm.behaviour_mut().sync.send_request(&peer, req);
        self.pending.insert(id, (peer, what));
    }

    fn done(&mut self, peer: &PeerId) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.inflight = st.inflight.saturating_sub(1);
        }
    }

    /// Pulls every held space the peer holds (or may hold: not asked yet, or long ago).
    fn pull_all(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        for (space, _) in node.held_spaces() {
            self.pull(node, swarm, peer, space, false);
        }
    }

    fn pull(
        &mut self,
        node: &Node,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        space: SpaceId,
        again: bool,
    ) {
        let Some(st) = self.peers.get_mut(&peer) else {
            return;
        };
        if st.pulling.contains(&space)
            || st.inflight >= MAX_INFLIGHT_PER_PEER
            || self
                .backlog
                .iter()
                .any(|(p, s, _)| *p == peer && *s == space)
        {
            return; // a pull is under way, or its batch is not stored yet
        }
        if !again {
            if let Some((Some(false), asked)) = st.holds.get(&space) {
                if asked.elapsed() < REPROBE {
                    return;
                }
            }
        }
        let Ok(have) = node.have(space) else {
            return;
        };
        self.pull_with(swarm, peer, space, &have);
    }

    /// Sends a pull saying this peer holds `have`.
    fn pull_with(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        space: SpaceId,
        have: &VersionVector,
    ) {
        let Some(st) = self.peers.get_mut(&peer) else {
            return;
        };
        let Ok(have) = proto::have_to_wire(have) else {
            return;
        };
        st.pulling.insert(space);
        self.send(
            swarm,
            peer,
            Request::Pull { space, have },
            Pending::Pull { space },
        );
    }

    fn on_sync_event(
        &mut self,
        node: &mut Node,
        swarm: &mut Swarm<Behaviour>,
        event: request_response::Event<Request, Response>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_request(node, swarm, peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    self.done(&peer);
                    if let Some((_, what)) = self.pending.remove(&request_id) {
                        self.on_response(node, swarm, peer, what, response);
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.done(&peer);
                if let Some((_, what)) = self.pending.remove(&request_id) {
                    match what {
                        Pending::Pull { space } | Pending::Push { space } => {
                            if let Some(st) = self.peers.get_mut(&peer) {
                                st.pulling.remove(&space);
                            }
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

    fn respond(swarm: &mut Swarm<Behaviour>, channel: ResponseChannel<Response>, r: Response) {
        let _ = swarm.behaviour_mut().sync.send_response(channel, r);
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
        channel: ResponseChannel<Response>,
    ) {
        match request {
            Request::Pull { space, have } => {
                if node.holding(space).is_none() {
                    return Self::respond(swarm, channel, Self::refused("space not held here"));
                }
                let theirs = proto::have_from_wire(&have);
                let answer = node
                    .envelopes_missing_from(space, &theirs, MAX_BATCH_OPS, BATCH_BYTES)
                    .and_then(|(envelopes, more)| Ok((envelopes, more, node.have(space)?)));
                let response = match answer {
                    Ok((envelopes, more, mine)) => {
                        match (
                            proto::envelopes_to_wire(envelopes),
                            proto::have_to_wire(&mine),
                        ) {
                            (Ok(envelopes), Ok(have)) => Response::Ops {
                                envelopes,
                                more,
                                have,
                            },
                            _ => Self::refused("batch too large"),
                        }
                    }
                    Err(e) => Self::refused(&e.to_string()),
                };
                Self::respond(swarm, channel, response);
                self.saw_peer_holding(peer, space, theirs);
                // A peer that pulls may be ahead of us: pull back unless already doing so.
                self.pull(node, swarm, peer, space, true);
            }
            Request::Push { space, envelopes } => {
                if node.holding(space).is_none() {
                    return Self::respond(swarm, channel, Self::refused("space not held here"));
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
                        if let Some(st) = self.peers.get_mut(&peer) {
                            st.holds.insert(space, (Some(true), Instant::now()));
                        }
                        self.forward(node, swarm, space, received.stored, Some(peer));
                        if !received.rejected.is_empty() {
                            log(&format!(
                                "peer {peer} pushed {count} operation(s) to space {space}: {stored} new, {} refused",
                                received.rejected.len()
                            ));
                        }
                    }
                    Err(e) => {
                        log(&format!("cannot store operations from peer {peer}: {e}"));
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

    fn saw_peer_holding(&mut self, peer: PeerId, space: SpaceId, have: VersionVector) {
        if let Some(st) = self.peers.get_mut(&peer) {
            st.holds.insert(space, (Some(true), Instant::now()));
        }
        let entry = self
            .peer_have
            .entry(peer)
            .or_default()
            .entry(space)
            .or_default();
        entry.merge(&have);
        self.last_sync.insert(peer, Utc::now());
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
            (
                Pending::Pull { space },
                Response::Ops {
                    envelopes,
                    more,
                    have,
                },
            ) => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.pulling.remove(&space);
                }
                let theirs = proto::have_from_wire(&have);
                let batch = proto::envelopes_from_wire(envelopes);
                self.saw_peer_holding(peer, space, theirs);
                // What the peer lacks it pulls itself: it does so on connecting, every
                // interval, and whenever it is pulled (pushing it here as well would send the
                // same batch twice while it catches up).
                if more {
                    // Ask for the next batch now, as if this one were stored already, so the
                    // peer prepares it while this one is checked and stored.
                    let assumed = self.assumed.entry((peer, space)).or_default();
                    if let Ok(have) = node.have(space) {
                        assumed.merge(&have);
                    }
                    for e in &batch {
                        if let Ok(env) = crate::engine::envelope::Envelope::decode(e) {
                            if env.id.seq == assumed.get(&env.id.device) + 1 {
                                assumed.advance(env.id.device, env.id.seq);
                            }
                        }
                    }
                    let assumed = assumed.clone();
                    self.pull_with(swarm, peer, space, &assumed);
                } else {
                    self.assumed.remove(&(peer, space));
                }
                if !batch.is_empty() {
                    self.backlog.push_back((peer, space, batch));
                }
            }
            (Pending::Push { space }, Response::Stored { .. }) => {
                // Learn what the peer holds now, and continue if it still lacks something.
                self.pull(node, swarm, peer, space, true);
            }
            (Pending::Pull { space } | Pending::Push { space }, Response::Refused { .. }) => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.pulling.remove(&space);
                    st.holds.insert(space, (Some(false), Instant::now()));
                }
            }
            (Pending::Join { done }, Response::Welcome { welcome }) => {
                let text = proto::text_from_wire(&welcome);
                let result = node.finish_join(&text).map_err(|e| e.to_string());
                if let Ok(space) = result {
                    self.subscribe_all(node, swarm);
                    self.published.insert(space, node.own_last_seq(space));
                    self.pull(node, swarm, peer, space, true);
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
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.pulling.remove(&space);
                }
                self.violation(swarm, peer, "an answer that does not fit the request");
            }
        }
    }

    /// Stores the oldest pulled batch waiting in the backlog.
    fn store_backlog(&mut self, node: &mut Node, swarm: &mut Swarm<Behaviour>) {
        let Some((peer, space, batch)) = self.backlog.pop_front() else {
            return;
        };
        match node.receive(space, batch, &Self::label(&peer)) {
            Ok(received) => {
                // Bulk catch-up is not re-published on gossip: peers on the topic get it by
                // their own pulls; relays off the topic get a push.
                if !received.stored.is_empty() {
                    self.push_to_relays(node, swarm, space, received.stored, Some(peer));
                    self.emit(NetEvent::Changed(space));
                }
            }
            Err(e) => {
                log(&format!("cannot store operations from peer {peer}: {e}"));
                // Start again from what is stored.
                self.assumed.remove(&(peer, space));
                self.backlog
                    .retain(|(p, s, _)| !(*p == peer && *s == space));
            }
        }
    }

    fn on_gossip(
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
                    log(&format!(
                        "cannot store an operation from peer {source}: {e}"
                    ));
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
    fn forward(
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
        self.emit(NetEvent::Changed(space));
    }

    fn push_to_relays(
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
        let targets: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(p, st)| {
                Some(**p) != from
                    && !on_topic.contains(p)
                    && matches!(st.holds.get(&space), Some((Some(true), _)))
                    && st.inflight < MAX_INFLIGHT_PER_PEER
            })
            .map(|(p, _)| *p)
            .collect();
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
    fn publish_own(&mut self, node: &Node, swarm: &mut Swarm<Behaviour>) {
        let me = node.device_id();
        for (space, holding) in node.held_spaces() {
            if holding != Holding::Member {
                continue;
            }
            let last = node.own_last_seq(space);
            let published = self.published.get(&space).copied().unwrap_or(0);
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
                    if let Ok(env) = crate::engine::envelope::Envelope::decode(e) {
                        theirs.advance(env.id.device, env.id.seq);
                    }
                }
                all.extend(batch);
                if !more {
                    break;
                }
            }
            self.published.insert(space, last);
            self.forward(node, swarm, space, all, None);
        }
    }

    fn start_action(&mut self, swarm: &mut Swarm<Behaviour>, action: NetAction) {
        match action {
            NetAction::Dial(addr) => {
                if !self.bootstrap.iter().any(|b| b.addr == addr) {
                    self.bootstrap.push(Bootstrap {
                        addr,
                        connected: None,
                        next_attempt: Instant::now(),
                        backoff: Duration::from_secs(1),
                    });
                    self.redial(swarm);
                }
            }
            NetAction::Forget(addr) => self.bootstrap.retain(|b| b.addr != addr),
            NetAction::Join {
                request,
                inviter,
                addresses,
                done,
            } => {
                for addr in &addresses {
                    swarm.add_peer_address(inviter, addr.clone());
                }
                let _ = swarm.dial(DialOpts::peer_id(inviter).addresses(addresses).build());
                self.peers.entry(inviter).or_default();
                self.send(
                    swarm,
                    inviter,
                    Request::Join {
                        request: proto::text_to_wire(&request),
                    },
                    Pending::Join { done },
                );
            }
        }
    }
}
