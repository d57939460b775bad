//! Hostile peers for the adversarial tests and the soak benchmark (issue 13, property 1):
//! real libp2p peers in the calling process that attack one serving `krizlink-node`.
//!
//! [`Outsiders`]: more peer ids than a node takes connections. Every connection opens as many
//! sync streams as the node serves and on each claims a request frame of the largest size the
//! node reads, sends most of it fast and then nothing (holding the stream until the node gives
//! up on it); each peer also pulls with a version vector of 10,000 devices at `u64::MAX` (and a
//! tip for each that matches nothing), pushes validly signed envelopes from thousands of fresh
//! keys, and answers the node's challenges with made-up tags. With [`Plan::sustain`] every
//! stream the node ends is replaced and every closed connection redialled, for as long as the
//! attack runs (the soak); otherwise each peer attacks once (the test).
//!
//! [`Insider`]: a member gone bad, speaking with a real member's keys (its data dir, opened
//! with [`Node::open`]): it proves the space like any member, answers every pull with a full
//! batch marked "more" forever, and every second pushes a full batch too; every envelope is
//! validly signed and sealed under the space's key, each by a fresh key that was never
//! admitted ([`Node::seal_as`]).

use std::collections::HashSet;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use krizlink_core::engine::envelope::Envelope;
use krizlink_core::engine::keys::{DeviceKeys, SpaceKey};
use krizlink_core::engine::node::Node;
use krizlink_core::engine::sync::address::device_of_peer;
use krizlink_core::engine::sync::libp2p;
use krizlink_core::engine::sync::proto::{self, Request, Response};
use krizlink_core::{DeviceId, Hlc, OpId, Operation, RecordKind, SpaceId};
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol};
use tokio::sync::watch;

/// Reads one length-prefixed frame (at most [`proto::MAX_FRAME`] bytes).
pub async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > proto::MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too long"));
    }
    let mut body = vec![0u8; len];
    io.read_exact(&mut body).await?;
    Ok(body)
}

/// Writes one length-prefixed frame and closes the stream.
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, body: &[u8]) -> io::Result<()> {
    io.write_all(&(body.len() as u32).to_le_bytes()).await?;
    io.write_all(body).await?;
    io.close().await
}

/// How the outsiders attack.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Peer ids attacking (more than the 48 incoming connections a node takes).
    pub attackers: usize,
    /// Threads the attackers run on, so the attack is not limited by one core's encryption.
    pub threads: usize,
    /// Sync streams each attacking connection opens (a node serves 6 at once per connection:
    /// the rest are dropped).
    pub streams: usize,
    /// Bytes of each claimed frame actually sent before the sender goes quiet.
    pub sent: usize,
    /// Fresh keys whose signed envelopes each attacker pushes.
    pub fresh_keys: usize,
    /// Replace every slow stream that ends and redial every closed connection.
    pub sustain: bool,
}

impl Plan {
    /// The suite's attack: every peer attacks once.
    pub const ONCE: Plan = Plan {
        attackers: 64,
        threads: 4,
        streams: 8,
        sent: proto::MAX_REQUEST_FRAME - 4096,
        fresh_keys: 2_000,
        sustain: false,
    };
}

/// What the attack achieved so far.
#[derive(Default)]
struct Counters {
    /// Attacking connections established.
    connected: AtomicUsize,
    /// Bytes of slow frames sent to the node.
    sent: AtomicUsize,
}

/// What an attacker sends on one stream.
#[derive(Clone)]
enum Attack {
    /// Claims a frame of `claimed` bytes, sends `sent` of them, then holds the stream.
    Slow { claimed: u32, sent: usize },
    /// One whole, encoded request.
    Whole(Vec<u8>),
}

#[derive(Clone)]
struct AttackCodec(Arc<Counters>);

impl request_response::Codec for AttackCodec {
    type Protocol = StreamProtocol;
    type Request = Attack;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Attack>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io).await.map(Attack::Whole)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        attack: Attack,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match attack {
            Attack::Slow { claimed, sent } => {
                io.write_all(&claimed.to_le_bytes()).await?;
                let chunk = vec![0x5a; 64 * 1024];
                let mut done = 0;
                while done < sent {
                    let n = chunk.len().min(sent - done);
                    io.write_all(&chunk[..n]).await?;
                    done += n;
                    self.0.sent.fetch_add(n, Ordering::Relaxed);
                }
                io.flush().await?;
                // Then nothing: the stream stays open until the node gives up on it.
                tokio::time::sleep(Duration::from_secs(120)).await;
                Ok(())
            }
            Attack::Whole(bytes) => write_frame(io, &bytes).await,
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        bytes: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &bytes).await
    }
}

type AttackBehaviour = request_response::Behaviour<AttackCodec>;

/// The whole requests every attacker sends besides its slow frames: a pull with extreme
/// version vectors, and pushes of validly signed envelopes from `fresh_keys` fresh keys.
fn whole_requests(space: SpaceId, fresh_keys: usize) -> Vec<Vec<u8>> {
    let have: Vec<(DeviceId, u64)> = (0..proto::MAX_DEVICES)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_le_bytes());
            (DeviceId(id), u64::MAX)
        })
        .collect();
    let mut requests = vec![proto::encode(&Request::Pull {
        space,
        have: have.try_into().expect("10,000 devices"),
        // And a tip for each that matches nothing (a fork claimed everywhere).
        tips: vec![[0xaa; 8]; proto::MAX_DEVICES]
            .try_into()
            .expect("10,000 tips"),
        // And member lists newer than any, and a clock at the end of time (only a proven
        // peer could make either count).
        lists: (u64::MAX, [0xff; 8]),
        clock_ms: u64::MAX,
        receipts: Default::default(),
    })
    .expect("encoded")];
    let key = SpaceKey::generate().expect("key");
    let envelopes = fresh_key_envelopes(space, &key, fresh_keys, 0);
    for batch in envelopes.chunks(proto::MAX_BATCH_OPS) {
        requests.push(
            proto::encode(&Request::Push {
                space,
                envelopes: proto::envelopes_to_wire(batch.to_vec()).expect("wire"),
            })
            .expect("encoded"),
        );
    }
    requests
}

/// A freshly generated device and its first operation: a new task titled `title` in `space`,
/// stamped `i` ms after a fixed time in the past.
fn fresh_key_task(space: SpaceId, i: usize, title: &str) -> (DeviceKeys, Operation) {
    let keys = DeviceKeys::generate().expect("keys");
    let op = Operation::new_record(
        OpId {
            device: keys.device_id(),
            seq: 1,
        },
        Hlc {
            wall_ms: 1_700_000_000_000 + i as u64,
            counter: 0,
        },
        space,
        RecordKind::Task,
        vec![krizlink_core::Change::Set {
            value: krizlink_core::FieldValue::Title(title.to_owned()),
            bases: Default::default(),
        }],
    )
    .expect("op");
    (keys, op)
}

/// `count` encoded envelopes of `space` sealed under `key`, each the first operation (a new
/// task) of its own freshly generated device; `from` makes titles and stamps distinct.
pub fn fresh_key_envelopes(
    space: SpaceId,
    key: &SpaceKey,
    count: usize,
    from: usize,
) -> Vec<Vec<u8>> {
    (from..from + count)
        .map(|i| {
            let (keys, op) = fresh_key_task(space, i, &format!("Cizí klíč {i}"));
            Envelope::seal(&op, 0, 1, key, &keys)
                .expect("sealed")
                .encode()
                .expect("encoded")
        })
        .collect()
}

/// One attacking peer id: dials `target`, attacks on connecting, answers challenges with
/// made-up tags. Runs until the runtime stops.
async fn attacker(
    target: Multiaddr,
    whole: Arc<Vec<Vec<u8>>>,
    plan: Plan,
    counters: Arc<Counters>,
) {
    let Ok(builder) = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
    else {
        return;
    };
    let codec = AttackCodec(counters.clone());
    let Ok(builder) = builder.with_behaviour(|_| {
        request_response::Behaviour::<AttackCodec>::with_codec(
            codec,
            [(proto::PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(Duration::from_secs(120)),
        )
    });
    let mut swarm = builder
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    if swarm.dial(target.clone()).is_err() {
        return;
    }
    let proof = proto::encode(&Response::Proof {
        tags: (0..16u8)
            .map(|i| [i; 32])
            .collect::<Vec<_>>()
            .try_into()
            .expect("16 tags"),
    })
    .expect("encoded");
    let slow = Attack::Slow {
        claimed: proto::MAX_REQUEST_FRAME as u32,
        sent: plan.sent,
    };
    // The whole requests first; once all are answered (or failed), the slow frames, so that
    // these take every sync stream the node serves on the connection.
    let mut waiting = HashSet::new();
    let mut slow_started = false;
    let mut node = None;
    let mut redial = Box::pin(tokio::time::sleep(Duration::MAX / 4));
    loop {
        let event = tokio::select! {
            event = swarm.next() => match event { Some(e) => e, None => return },
            () = &mut redial => {
                redial.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
                let _ = swarm.dial(target.clone());
                continue;
            }
        };
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                counters.connected.fetch_add(1, Ordering::Relaxed);
                if node.replace(peer_id).is_none() || plan.sustain {
                    slow_started = false;
                    for bytes in whole.iter() {
                        let sync: &mut AttackBehaviour = swarm.behaviour_mut();
                        waiting.insert(sync.send_request(&peer_id, Attack::Whole(bytes.clone())));
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            }
            | SwarmEvent::OutgoingConnectionError { .. }
                if plan.sustain =>
            {
                redial
                    .as_mut()
                    .reset(tokio::time::Instant::now() + Duration::from_secs(1));
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Request { channel, .. },
                ..
            }) => {
                let _ = swarm.behaviour_mut().send_response(channel, proof.clone());
            }
            SwarmEvent::Behaviour(
                request_response::Event::Message {
                    message: request_response::Message::Response { request_id, .. },
                    ..
                }
                | request_response::Event::OutboundFailure { request_id, .. },
            ) => {
                let Some(peer) = node else { continue };
                let was_whole = waiting.remove(&request_id);
                if was_whole && waiting.is_empty() && !slow_started {
                    slow_started = true;
                    for _ in 0..plan.streams {
                        swarm.behaviour_mut().send_request(&peer, slow.clone());
                    }
                } else if !was_whole && plan.sustain && swarm.is_connected(&peer) {
                    // A slow stream ended (the node gave up on it): open another.
                    swarm.behaviour_mut().send_request(&peer, slow.clone());
                }
            }
            _ => {}
        }
    }
}

/// A running attack by outsiders; stopped by [`Outsiders::stop`].
pub struct Outsiders {
    stop: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Outsiders {
    /// Starts `plan.attackers` peers against the node at `target`, naming `space` (which the
    /// node holds) in their pulls and pushes.
    pub fn start(target: &Multiaddr, space: SpaceId, plan: Plan) -> Outsiders {
        let whole = Arc::new(whole_requests(space, plan.fresh_keys));
        let counters = Arc::new(Counters::default());
        let (stop, stop_rx) = watch::channel(false);
        let threads = (0..plan.threads)
            .map(|_| {
                let (target, whole, counters) = (target.clone(), whole.clone(), counters.clone());
                let mut stop = stop_rx.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async move {
                        for _ in 0..plan.attackers / plan.threads {
                            tokio::spawn(attacker(
                                target.clone(),
                                whole.clone(),
                                plan,
                                counters.clone(),
                            ));
                        }
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    });
                })
            })
            .collect();
        Outsiders {
            stop,
            threads,
            counters,
        }
    }

    /// Attacking connections established so far.
    pub fn connected(&self) -> usize {
        self.counters.connected.load(Ordering::Relaxed)
    }

    /// Bytes of slow frames sent so far.
    pub fn sent_bytes(&self) -> usize {
        self.counters.sent.load(Ordering::Relaxed)
    }

    /// Stops every attacker (their connections close with their runtimes).
    pub fn stop(self) {
        let _ = self.stop.send(true);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// What the insider did so far.
#[derive(Default)]
struct InsiderCounters {
    /// Pulls of the attacked node answered with a full batch marked "more".
    pulls: AtomicUsize,
    /// Pushes of a full batch the node answered.
    pushes: AtomicUsize,
    /// Envelopes from fresh keys the node took (in answers to its pulls and answered pushes).
    envelopes: AtomicUsize,
}

/// A running member adversary; stopped by [`Insider::stop`].
pub struct Insider {
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
    counters: Arc<InsiderCounters>,
}

impl Insider {
    /// Starts the member adversary with the keys of the member data dir `member` (not in use
    /// by another process; unlocked with `passphrase`) against the node at `target`, in
    /// `space`. `pool` envelopes from as many fresh keys are made first and sent in turn.
    pub fn start(
        member: PathBuf,
        passphrase: &str,
        target: &Multiaddr,
        space: SpaceId,
        pool: usize,
    ) -> Insider {
        let node = Node::open(&member, passphrase).expect("the member's data dir opens");
        let pool = Arc::new(
            (0..pool)
                .map(|i| {
                    let (keys, op) = fresh_key_task(space, i, &format!("Podvržený {i}"));
                    node.seal_as(space, &op, &keys)
                        .expect("sealed")
                        .encode()
                        .expect("encoded")
                })
                .collect::<Vec<_>>(),
        );
        let counters = Arc::new(InsiderCounters::default());
        let (stop, mut stop_rx) = watch::channel(false);
        let (target, shared) = (target.clone(), counters.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                tokio::select! {
                    () = insider(node, target, space, pool, shared) => {}
                    _ = stop_rx.wait_for(|stopped| *stopped) => {}
                }
            });
        });
        Insider {
            stop,
            thread,
            counters,
        }
    }

    /// Pulls of the node answered with a full batch marked "more".
    pub fn pulls_answered(&self) -> usize {
        self.counters.pulls.load(Ordering::Relaxed)
    }

    /// Pushes the node answered.
    pub fn pushes_answered(&self) -> usize {
        self.counters.pushes.load(Ordering::Relaxed)
    }

    /// Envelopes from fresh keys the node took (answers to its pulls, pushes it answered).
    pub fn envelopes_sent(&self) -> usize {
        self.counters.envelopes.load(Ordering::Relaxed)
    }

    pub fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
    }
}

/// The next full batch of `pool` from `*next` on (cycling), encoded for the wire.
fn next_batch(
    pool: &[Vec<u8>],
    next: &mut usize,
) -> krizlink_core::bounded::BoundedVec<proto::WireEnvelope, { proto::MAX_BATCH_OPS }> {
    let batch: Vec<Vec<u8>> = (0..proto::MAX_BATCH_OPS)
        .map(|i| pool[(*next + i) % pool.len()].clone())
        .collect();
    *next = (*next + proto::MAX_BATCH_OPS) % pool.len();
    proto::envelopes_to_wire(batch).expect("a full batch fits")
}

/// The member adversary's swarm: dials `target` with the member's identity and attacks until
/// the runtime stops.
async fn insider(
    node: Node,
    target: Multiaddr,
    space: SpaceId,
    pool: Arc<Vec<Vec<u8>>>,
    counters: Arc<InsiderCounters>,
) {
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(node.network_seed())
        .expect("the member's key");
    let Ok(builder) = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
    else {
        return;
    };
    let codec = AttackCodec(Arc::new(Counters::default()));
    let Ok(builder) = builder.with_behaviour(|_| {
        request_response::Behaviour::<AttackCodec>::with_codec(
            codec,
            [(proto::PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(Duration::from_secs(60)),
        )
    });
    let mut swarm = builder
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    if swarm.dial(target.clone()).is_err() {
        return;
    }
    let mut next = 0;
    let mut node_peer = None;
    let mut pushing = false;
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    loop {
        let event = tokio::select! {
            event = swarm.next() => match event { Some(e) => e, None => return },
            _ = every_second.tick() => {
                if let (Some(peer), false) = (node_peer, pushing) {
                    let push = proto::encode(&Request::Push {
                        space,
                        envelopes: next_batch(&pool, &mut next),
                    })
                    .expect("encoded");
                    swarm.behaviour_mut().send_request(&peer, Attack::Whole(push));
                    pushing = true;
                }
                continue;
            }
        };
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => node_peer = Some(peer_id),
            SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } => {
                node_peer = None;
                pushing = false;
                let _ = swarm.dial(target.clone());
            }
            SwarmEvent::OutgoingConnectionError { .. } => {
                // Its connections may be taken (by outsiders): try again in a second.
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = swarm.dial(target.clone());
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            }) => {
                let Attack::Whole(bytes) = request else {
                    continue;
                };
                let answer = match proto::decode::<Request>(&bytes) {
                    Ok(Request::Challenge { nonce, .. }) => Response::Proof {
                        tags: node
                            .proof_tags(&nonce, device_of_peer(&peer).as_ref())
                            .try_into()
                            .expect("a member's tags fit"),
                    },
                    Ok(Request::Pull { have, .. }) => {
                        counters.pulls.fetch_add(1, Ordering::Relaxed);
                        counters
                            .envelopes
                            .fetch_add(proto::MAX_BATCH_OPS, Ordering::Relaxed);
                        Response::Ops {
                            envelopes: next_batch(&pool, &mut next),
                            more: true,
                            have,
                            lists: Default::default(),
                            clock_ms: std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_millis() as u64),
                            receipts: Default::default(),
                        }
                    }
                    Ok(Request::Push { envelopes, .. }) => Response::Stored {
                        stored: envelopes.len() as u32,
                        rejected: 0,
                    },
                    _ => Response::Refused {
                        reason: proto::text_to_wire("no"),
                    },
                };
                let bytes = proto::encode(&answer).expect("encoded");
                let _ = swarm.behaviour_mut().send_response(channel, bytes);
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { .. },
                ..
            }) => {
                counters.pushes.fetch_add(1, Ordering::Relaxed);
                counters
                    .envelopes
                    .fetch_add(proto::MAX_BATCH_OPS, Ordering::Relaxed);
                pushing = false;
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => {
                pushing = false;
            }
            _ => {}
        }
    }
}
