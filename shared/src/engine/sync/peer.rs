//! The sync peer: one libp2p swarm driven by one task that owns the [`Node`].
//!
//! - Connections: TCP with Noise and Yamux, and QUIC; at most [`MAX_CONNECTIONS_PER_PEER`] per
//!   peer; mDNS discovery (optional); bootstrap peers redialled with exponential backoff.
//! - Proof first (`exchange`): on every new connection both sides challenge each other and
//!   learn which spaces both hold (`engine::node::proof`); nothing about a space is sent to, or
//!   answered for, a peer that did not prove it on this connection. Its requests that arrive
//!   while the proof is awaited wait for it; then a space it did not prove gets the same answer
//!   as a space this device does not hold.
//! - Anti-entropy (`exchange`): after the proof, every `sync_interval` (backing off to 30 s
//!   apart while nothing is stored, written or connected), and when a peer shows news (its pull
//!   holds something new, or a push leaves a gap), each side pulls each space the other proved
//!   with its version vector; the answer carries a bounded batch of what the puller lacks and
//!   the answerer's version vector. A cut connection loses nothing: the next pull starts from
//!   what was stored.
//! - Push (`push`): every envelope newly written here or received by a push is pushed by
//!   request-response to every connected peer that proved the space, except the one it came
//!   from (flooding; a peer passes on only what it newly stored, so it stops).
//! - Bad input: a peer whose stream fails to decode is disconnected and the reason logged.
//!
//! What was pulled from whom, what a peer holds and what was published is kept in
//! `sync::state` (no I/O there); this file and its submodules do the network side. Work from
//! outside (the control socket, the desktop app) arrives as [`Job`]s run between events, so the
//! node is never shared across threads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use libp2p::futures::StreamExt;
use libp2p::request_response::ResponseChannel;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    connection_limits, identify, identity, mdns, noise, ping, tcp, Multiaddr, PeerId, Swarm,
};
use tokio::sync::{mpsc, oneshot};

use crate::engine::member_list::ListMark;
use crate::engine::node::{Holding, Node, NodeError};
use crate::engine::sync::muxer::CappedYamux;
use crate::engine::sync::proto::{self, FrameBudget, Framed, Held, Request, Response, SyncCodec};
use crate::engine::sync::state::SyncState;
use crate::engine::sync::status::NetStatus;
use crate::ids::SpaceId;

mod exchange;
mod push;

pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Connections in all: each can make this node buffer up to [`MAX_MUXED_STREAMS`] × 256 KiB
/// (a yamux stream's initial receive window; QUIC: [`QUIC_CONNECTION_WINDOW`]) that nothing
/// has read yet, so their number is part of the memory bound ("Bounds" in ARCHITECTURE.md).
/// Was 256 incoming and unlimited outgoing (mDNS dials whoever answers): 48 + 16 keep these
/// buffers to 288 MiB at worst; a regional node still takes 48 peers (its 14 ORPs and their
/// laptops) on one connection each, or 24 on two, and dials 16 more.
pub const MAX_INCOMING_CONNECTIONS: u32 = 48;
pub const MAX_OUTGOING_CONNECTIONS: u32 = 16;
/// Concurrent sync streams per connection, both ways together (libp2p's request-response
/// drops an inbound stream beyond it and fails an outbound one). What they hold while
/// reading frames is bounded by the codec's budget (`proto::FrameBudget`), not by their
/// number. Was 8; 6 keep a pull per space, its pipelined next pull, a push and a challenge
/// under way, and take 2 × 2 × 256 KiB of muxer buffers off every connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 6;
/// Streams of any protocol on one connection; yamux's default was 512, each with a 256 KiB
/// window it buffers before anything reads it. A peer that opens more has its connection
/// closed by yamux, so this is an honest peer's busiest moment: the sync streams of both
/// sides (each side's own bound, [`MAX_STREAMS_PER_CONNECTION`], may all be its own
/// requests), identify both ways and its push both ways (at most 4 at once in practice),
/// ping both ways. A stream dropped on this side leaves yamux's count at once (yamux 0.14
/// `on_drop_stream`), so no room is kept for closing ones (was 24, with 8 sync streams).
pub const MAX_MUXED_STREAMS: usize = 2 * MAX_STREAMS_PER_CONNECTION + 4 + 2;
/// Inbound streams still choosing their protocol, per connection (libp2p's default: 128).
pub const MAX_NEGOTIATING_STREAMS: usize = 4;
/// QUIC receive windows (quinn's defaults were 15 MB per connection, 10 MB per stream).
pub const QUIC_CONNECTION_WINDOW: u32 = 3 * 1024 * 1024;
pub const QUIC_STREAM_WINDOW: u32 = 1024 * 1024;
/// Requests in flight to one peer; more work waits for the next tick (at most the sync
/// streams of one connection: beyond, request-response fails the request).
pub const MAX_INFLIGHT_PER_PEER: usize = MAX_STREAMS_PER_CONNECTION;
/// Requests of one peer kept waiting for its proof; more are answered at once (as not held).
pub const MAX_PARKED_PER_PEER: usize = 2 * MAX_STREAMS_PER_CONNECTION;
/// Protocol violations after which a peer is no longer dialled back by mDNS in this run.
pub const MAX_VIOLATIONS: u32 = 3;
/// A request waiting for its sender's proof, with its frame's share of the budget.
type Parked = (Request, Option<Held>, ResponseChannel<Framed<Response>>);
const TICK: Duration = Duration::from_millis(250);
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
    /// New operations from other devices were stored in a space.
    Changed(SpaceId),
    /// This device's own new operations (written by a job) were sent out. Whoever wrote them
    /// already knows the space changed; this only moves the unsent count.
    Published(SpaceId),
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
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// What a request sent to a peer was for.
enum Pending {
    Challenge {
        nonce: [u8; 32],
    },
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
    /// The bookkeeping: peers, pulls under way, the backlog, what peers hold, what was published.
    sync: SyncState,
    pending: HashMap<OutboundRequestId, (PeerId, Pending)>,
    /// Requests waiting for their peer's proof.
    parked: HashMap<PeerId, Vec<Parked>>,
    /// The spaces held when peers were last challenged: a new one means challenging again.
    held: BTreeSet<SpaceId>,
    bootstrap: Vec<Bootstrap>,
    violations: BTreeMap<PeerId, u32>,
    /// Answers to pulls not yet written to their pullers ([`proto::ANSWER_BUDGET`]).
    answers: FrameBudget,
    /// Read-only spaces (a damaged op log) already reported in the log: reported once.
    read_only_told: BTreeSet<SpaceId>,
    /// Where each space's member lists stood when peers were last told (see `announce_lists`).
    lists_told: BTreeMap<SpaceId, ListMark>,
    events: Option<mpsc::UnboundedSender<NetEvent>>,
}

fn log(line: &str) {
    eprintln!("krizlink-node: {line}");
}

fn build_swarm(node: &Node, cfg: &SyncConfig) -> Result<Swarm<Behaviour>, SyncError> {
    let keypair = identity::Keypair::ed25519_from_bytes(node.network_seed())
        .map_err(|e| SyncError::Transport(e.to_string()))?;
    let local = keypair.public().to_peer_id();
    let mdns_enabled = cfg.mdns;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            // yamux with every connection's receive window capped (sync/muxer.rs).
            || CappedYamux::new(MAX_MUXED_STREAMS),
        )
        .map_err(|e| SyncError::Transport(e.to_string()))?
        .with_quic_config(|mut cfg| {
            cfg.max_concurrent_stream_limit = MAX_MUXED_STREAMS as u32;
            cfg.max_connection_data = QUIC_CONNECTION_WINDOW;
            cfg.max_stream_data = QUIC_STREAM_WINDOW;
            cfg
        })
        .with_behaviour(|key| {
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                .with_max_established_incoming(Some(MAX_INCOMING_CONNECTIONS))
                .with_max_established_outgoing(Some(MAX_OUTGOING_CONNECTIONS))
                .with_max_pending_outgoing(Some(MAX_OUTGOING_CONNECTIONS))
                .with_max_pending_incoming(Some(64));
            let mdns = if mdns_enabled {
                Some(mdns::tokio::Behaviour::new(mdns::Config::default(), local)?)
            } else {
                None
            };
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(limits),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/krizlink/4".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::new(ping::Config::new()),
                sync: request_response::Behaviour::with_codec(
                    SyncCodec::default(),
                    [(proto::PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(MAX_STREAMS_PER_CONNECTION),
                ),
                mdns: Toggle::from(mdns),
            })
        })
        .map_err(|e| SyncError::Transport(e.to_string()))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_secs(300))
                .with_max_negotiating_inbound_streams(MAX_NEGOTIATING_STREAMS)
        })
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
        sync: SyncState::default(),
        pending: HashMap::new(),
        parked: HashMap::new(),
        held: node.held_spaces().into_iter().map(|(s, _)| s).collect(),
        violations: BTreeMap::new(),
        answers: FrameBudget::with_limit(proto::ANSWER_BUDGET),
        read_only_told: BTreeSet::new(),
        lists_told: BTreeMap::new(),
        events,
    };
    for (space, _) in node.held_spaces() {
        state.sync.set_published(space, node.own_last_seq(space));
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
                state.held_changed(node, &mut swarm);
                state.publish_own(node, &mut swarm);
                if let Some(action) = action {
                    state.start_action(&mut swarm, action);
                }
            }
            _ = tick.tick() => {
                state.redial(&mut swarm);
                // Injects a drill this device controls has reached on its clock (nothing to do,
                // and no work, unless this device holds a drill's control key).
                let now = crate::record::Timestamp(chrono::Utc::now().timestamp_millis());
                if node.release_due_everywhere(now) > 0 {
                    state.held_changed(node, &mut swarm);
                    state.publish_own(node, &mut swarm);
                }
                if let Err(e) = node.audit_flush_due() {
                    log(&format!("cannot write the refusal summaries to the audit log: {e}"));
                }
                // Every `sync_interval` while things change, backing off while nothing does.
                if last_pull_round.elapsed() >= state.sync.round_interval(state.cfg.sync_interval) {
                    last_pull_round = Instant::now();
                    for peer in state.sync.peers() {
                        state.pull_all(node, &mut swarm, peer);
                    }
                    state.sync.round_done();
                }
                for peer in state.sync.peers_with_pushes() {
                    state.flush_pushes(&mut swarm, peer);
                }
            }
            () = tokio::task::yield_now(), if state.sync.has_backlog() => {
                state.store_backlog(node, &mut swarm);
            }
        }
    }
    Ok(state.status(node, &swarm))
}

impl State {
    fn emit(&mut self, event: NetEvent) {
        if matches!(
            event,
            NetEvent::Changed(_) | NetEvent::Published(_) | NetEvent::PeerConnected(_)
        ) {
            // Something moved: the pull rounds come back to `sync_interval`.
            self.sync.stirred();
        }
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    fn label(peer: &PeerId) -> String {
        format!("peer {peer}")
    }

    fn status(&self, node: &Node, swarm: &Swarm<Behaviour>) -> NetStatus {
        let me = node.device_id();
        let unsent = node
            .held_spaces()
            .into_iter()
            .filter(|(_, h)| *h == Holding::Member)
            .map(|(space, _)| {
                let mine = node.own_last_seq(space);
                (space.to_string(), self.sync.unsent(space, &me, mine))
            })
            .collect();
        NetStatus {
            peer_id: self.local.to_string(),
            listen: self.listen.iter().map(|a| a.to_string()).collect(),
            peers: self.sync.peer_infos(|peer| swarm.is_connected(peer)),
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
                self.sync.connected(peer_id, addr);
                if num_established.get() == 1 {
                    self.emit(NetEvent::PeerConnected(peer_id));
                    // Nothing about a space before the peer proved it: the pulls follow its proof.
                    self.challenge(swarm, peer_id, false);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.sync.disconnected(&peer_id);
                self.pending.retain(|_, (p, _)| *p != peer_id);
                self.parked.remove(&peer_id);
                self.emit(NetEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => {
                self.on_sync_event(node, swarm, event)
            }
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

    /// Logs why something received could not be stored; a read-only space only once.
    fn cannot_store(&mut self, space: SpaceId, what: &str, e: &NodeError) {
        if matches!(e, NodeError::Damaged(_)) && !self.read_only_told.insert(space) {
            return;
        }
        log(&format!("cannot store {what}: {e}"));
    }

    fn violation(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId, what: &str) {
        *self.violations.entry(peer).or_default() += 1;
        log(&format!("disconnecting peer {peer}: {what}"));
        let _ = swarm.disconnect_peer_id(peer);
    }

    /// Work a job asked for: dial or forget an address, or join a space through its inviter.
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
                self.sync.expect(inviter);
                self.send(
                    swarm,
                    inviter,
                    proto::Request::Join {
                        request: proto::text_to_wire(&request),
                    },
                    Pending::Join { done },
                );
            }
        }
    }
}
