//! Bounded memory under a hostile peer (issue 13, property 1): real libp2p peers in this test
//! binary attack one serving `krizlink-node` (A) while a member (B) keeps syncing with it.
//!
//! The attack, by more peer ids than A takes connections: every connection opens as many sync
//! streams as A serves and on each claims a request frame of the largest size A reads, sends
//! most of it fast and then nothing (holding the stream until A gives up on it); each peer
//! also pulls with a version vector of 10,000 devices at `u64::MAX`, pushes validly signed
//! envelopes from thousands of fresh keys, and answers A's challenges with made-up tags.
//!
//! Meanwhile A's resident memory is sampled from `/proc/<pid>/status` and must stay within
//! the bound documented in ARCHITECTURE.md ("Bounds") above its idle figure, a write on B must
//! reach A within a few seconds, and A's data dir must not grow by more than B's write.
//!
//! Not covered here (they need a member's key): answering every pull with full batches marked
//! "more" forever, and admitted-looking envelopes from fresh keys inside the space.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use krizlink_core::engine::envelope::Envelope;
use krizlink_core::engine::keys::{DeviceKeys, SpaceKey};
use krizlink_core::engine::sync::libp2p;
use krizlink_core::engine::sync::proto::{self, Request, Response};
use krizlink_core::{DeviceId, Hlc, OpId, Operation, RecordKind, SpaceId};
use krizlink_tests::TempDir;
use libp2p::futures::{AsyncRead, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol};

use crate::strangers::read_frame;
use crate::sync::{founder, has_task, joined, ok, serve, wait_until};

/// The network bound of ARCHITECTURE.md ("Bounds"), in MiB above the node's idle memory.
const BOUND_MIB: u64 = 540;
/// Peer ids attacking: more than the 48 incoming connections a node takes.
const ATTACKERS: usize = 64;
/// Threads the attackers run on.
const THREADS: usize = 4;
/// Sync streams each attacking connection opens (a node serves 8 at once per connection).
const STREAMS: usize = 8;
/// Bytes of each claimed frame actually sent before the sender goes quiet.
const SENT: usize = proto::MAX_REQUEST_FRAME - 4096;
/// Fresh keys whose signed envelopes each attacker pushes.
const FRESH_KEYS: usize = 2_000;

/// Attacking connections established, and bytes of slow frames the node took in.
static CONNECTED: AtomicUsize = AtomicUsize::new(0);
static SENT_BYTES: AtomicUsize = AtomicUsize::new(0);

/// What an attacker sends on one stream.
#[derive(Clone)]
enum Attack {
    /// Claims a frame of `claimed` bytes, sends `sent` of them, then holds the stream.
    Slow { claimed: u32, sent: usize },
    /// One whole, encoded request.
    Whole(Vec<u8>),
}

#[derive(Clone, Default)]
struct AttackCodec;

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
                    SENT_BYTES.fetch_add(n, Ordering::Relaxed);
                }
                io.flush().await?;
                // Then nothing: the stream stays open until the node gives up on it.
                tokio::time::sleep(Duration::from_secs(120)).await;
                Ok(())
            }
            Attack::Whole(bytes) => {
                io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
                io.write_all(&bytes).await?;
                io.close().await
            }
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
        io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
        io.write_all(&bytes).await?;
        io.close().await
    }
}

type AttackBehaviour = request_response::Behaviour<AttackCodec>;

/// The whole requests every attacker sends besides its slow frames: a pull with extreme
/// version vectors, and pushes of validly signed envelopes from `FRESH_KEYS` fresh keys.
fn whole_requests(space: SpaceId) -> Vec<Vec<u8>> {
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
        tips: vec![[0xaa; 8]; 10_000].try_into().expect("10,000 tips"),
        // And member lists newer than any (only a proven peer could make it send them).
        lists: (u64::MAX, [0xff; 8]),
        clock_ms: u64::MAX,
    })
    .expect("encoded")];
    let key = SpaceKey::generate().expect("key");
    let envelopes: Vec<Vec<u8>> = (0..FRESH_KEYS)
        .map(|i| {
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
                    value: krizlink_core::FieldValue::Title(format!("Cizí klíč {i}")),
                    bases: Default::default(),
                }],
            )
            .expect("op");
            Envelope::seal(&op, 0, 1, &key, &keys)
                .expect("sealed")
                .encode()
                .expect("encoded")
        })
        .collect();
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

/// One attacking peer id: dials `target`, attacks on connecting, answers challenges with
/// made-up tags. Runs until the runtime stops.
async fn attacker(target: Multiaddr, whole: Vec<Vec<u8>>) {
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
    let Ok(builder) = builder.with_behaviour(|_| {
        request_response::Behaviour::<AttackCodec>::with_codec(
            AttackCodec,
            [(proto::PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(Duration::from_secs(120)),
        )
    });
    let mut swarm = builder
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    if swarm.dial(target).is_err() {
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
    // The whole requests first; once all are answered (or failed), the slow frames, so that
    // these take every sync stream the node serves on the connection.
    let mut waiting = std::collections::HashSet::new();
    let mut node = None;
    while let Some(event) = swarm.next().await {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                CONNECTED.fetch_add(1, Ordering::Relaxed);
                if node.replace(peer_id).is_none() {
                    for bytes in &whole {
                        let sync: &mut AttackBehaviour = swarm.behaviour_mut();
                        waiting.insert(sync.send_request(&peer_id, Attack::Whole(bytes.clone())));
                    }
                }
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
                if waiting.remove(&request_id) && waiting.is_empty() {
                    for _ in 0..STREAMS {
                        swarm.behaviour_mut().send_request(
                            &peer,
                            Attack::Slow {
                                claimed: proto::MAX_REQUEST_FRAME as u32,
                                sent: SENT,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// Resident memory of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes of all files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[test]
fn a_hostile_peer_gets_bounded_memory_and_members_keep_syncing() {
    let root = TempDir::new("adversary");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    ok(
        &b,
        &["task", "add", "--space", &space, "--title", "Před útokem"],
    );
    wait_until("B's first write reaches A", Duration::from_secs(15), || {
        has_task(&a, &space, "Před útokem")
    });
    let pid = a_serving.pid().expect("A serves");
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kib(pid).expect("A's memory");
    let disk_before = dir_bytes(&a);

    let target: Multiaddr = a_serving.addr.parse().expect("address");
    let whole = whole_requests(space.parse().expect("space id"));
    // A few threads, so the attack is not limited by one core's encryption.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (target, whole, mut stop) = (target.clone(), whole.clone(), stop_rx.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    for _ in 0..ATTACKERS / THREADS {
                        tokio::spawn(attacker(target.clone(), whole.clone()));
                    }
                    let _ = stop.wait_for(|stopped| *stopped).await;
                });
            })
        })
        .collect();

    // Sample A's memory through the attack; B writes in the middle of it.
    let start = Instant::now();
    let mut peak = idle;
    let mut latency = None;
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(rss) = rss_kib(pid) {
            peak = peak.max(rss);
        }
        if latency.is_none() && start.elapsed() > Duration::from_secs(6) {
            let wrote = Instant::now();
            ok(
                &b,
                &["task", "add", "--space", &space, "--title", "Během útoku"],
            );
            wait_until(
                "B's write reaches A under attack",
                Duration::from_secs(5),
                || {
                    if let Some(rss) = rss_kib(pid) {
                        peak = peak.max(rss);
                    }
                    has_task(&a, &space, "Během útoku")
                },
            );
            latency = Some(wrote.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = stop_tx.send(true);
    for thread in threads {
        thread.join().expect("attack thread");
    }
    let grown = dir_bytes(&a).saturating_sub(disk_before);
    let connected = CONNECTED.load(Ordering::Relaxed);
    let sent = SENT_BYTES.load(Ordering::Relaxed);
    eprintln!(
        "adversary: {connected} connections, {} MiB of slow frames sent; A idle {} MiB, peak {} \
         MiB under attack; B's write arrived in {:?}; A's data dir grew {} KiB",
        sent >> 20,
        idle / 1024,
        peak / 1024,
        latency,
        grown / 1024
    );
    assert!(
        connected >= 48 && sent >= 64 << 20,
        "the attack happened: {connected} connections, {sent} bytes of slow frames"
    );
    assert!(
        peak.saturating_sub(idle) < BOUND_MIB * 1024,
        "A's memory rose {} MiB above idle ({} MiB), beyond the {BOUND_MIB} MiB bound",
        peak.saturating_sub(idle) / 1024,
        idle / 1024
    );
    assert!(
        grown < 1024 * 1024,
        "A's data dir grew {grown} bytes: more than B's one write"
    );
    a_serving.stop();
    b_serving.stop();
}
