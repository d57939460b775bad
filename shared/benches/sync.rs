//! Sync benchmark: real peers (each its own thread, runtime and libp2p swarm) on 127.0.0.1,
//! every figure next to its floor measured in the same run.
//!
//! - propagation latency of a new task A→B (direct) and A→B→C (C only knows B), p50 and p99,
//!   next to the loopback TCP round trip;
//! - catch-up of 100,000 operations after a partition: wall time against merely verifying
//!   their signatures, and the bytes that crossed the wire (counted by a TCP proxy between the
//!   peers) against the sum of the envelopes' ciphertext sizes;
//! - a simulated region: 1 regional node and 13 ORP nodes in a star with three ORP–ORP links,
//!   all writing at once; time from the last acknowledged write until all 14 state hashes agree.
//!
//! - idle cost: CPU time and wake-ups over 30 s of two synced peers with 50 tasks and nothing
//!   to do, each in its own process, next to a lone serving peer (no one to sync with) and a
//!   process that only sleeps, measured over the same 30 s.
//!
//! `cargo bench -p krizlink-core --features engine --bench sync [latency|region|catchup|idle]`
//! (`KRIZLINK_BENCH_B_DIR=/dev/shm` puts the catching-up peer on tmpfs, to see the disk's share).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use krizlink_core::engine::envelope::Envelope;
use krizlink_core::engine::keystore::KdfParams;
use krizlink_core::engine::node::Node;
use krizlink_core::engine::sync::libp2p::Multiaddr;
use krizlink_core::engine::sync::{serve, Job, NetEvent, NetStatus, SyncConfig};
use krizlink_core::op::Change;
use krizlink_core::record::StaffRole;
use krizlink_core::{FieldValue, RecordKind, SpaceId};
use tokio::sync::{mpsc, oneshot};

fn scratch(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(format!("krizlink-bench-sync-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn title(text: &str) -> Vec<Change> {
    vec![Change::Set {
        value: FieldValue::Title(text.to_owned()),
        bases: Default::default(),
    }]
}

/// A peer running on its own thread.
struct Peer {
    jobs: mpsc::Sender<Job>,
    changed: std::sync::mpsc::Receiver<Instant>,
    addr: Multiaddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Node>>,
}

fn start(mut node: Node, listen: bool, peers: Vec<Multiaddr>) -> Peer {
    let name = format!("peer-{}", node.name());
    let (jobs_tx, mut jobs_rx) = mpsc::channel::<Job>(1024);
    let (changed_tx, changed_rx) = std::sync::mpsc::channel();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let cfg = SyncConfig {
        listen: if listen {
            vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")]
        } else {
            Vec::new()
        },
        peers,
        mdns: false,
        ..SyncConfig::default()
    };
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let (events_tx, mut events_rx) = mpsc::unbounded_channel();
                tokio::spawn(async move {
                    while let Some(event) = events_rx.recv().await {
                        match event {
                            NetEvent::Listening(addr) => {
                                let _ = addr_tx.send(addr);
                            }
                            NetEvent::Changed(_) => {
                                let _ = changed_tx.send(Instant::now());
                            }
                            _ => {}
                        }
                    }
                });
                let stop = async {
                    let _ = stop_rx.await;
                };
                serve(&mut node, cfg, &mut jobs_rx, Some(events_tx), stop)
                    .await
                    .expect("serve");
            });
            node
        })
        .expect("thread");
    let addr = if listen {
        addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("listening")
    } else {
        Multiaddr::empty()
    };
    Peer {
        jobs: jobs_tx,
        changed: changed_rx,
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

impl Peer {
    fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Node) -> T + Send + 'static) -> T {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |node: &mut Node, _: &NetStatus| {
            let _ = tx.send(f(node));
            None
        });
        self.jobs.blocking_send(job).expect("peer alive");
        rx.blocking_recv().expect("job ran")
    }

    fn stop(mut self) -> Node {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.thread
            .take()
            .expect("thread")
            .join()
            .expect("peer thread")
    }

    fn drain(&self) {
        while self.changed.try_recv().is_ok() {}
    }
}

fn node(dir: &Path, name: &str) -> Node {
    Node::init(
        &dir.join(name),
        name,
        "heslo-benchmark",
        KdfParams::for_tests(),
    )
    .expect("init")
}

/// A founder with a space and `n` more devices admitted offline (codes exchanged in-process).
fn staff(dir: &Path, n: usize) -> (SpaceId, Vec<Node>) {
    let mut chair = node(dir, "kraj");
    let space = chair
        .create_space("Krizový štáb kraje – benchmark")
        .expect("space");
    let mut nodes = Vec::new();
    for i in 0..n {
        let mut member = node(dir, &format!("orp-{i}"));
        let code = chair
            .create_invite(space, StaffRole::Member, 60)
            .expect("invite");
        let request = member.request_join(&code).expect("request");
        let welcome = chair.accept_join(&request).expect("accept");
        member.finish_join(&welcome).expect("join");
        nodes.push(member);
    }
    nodes.insert(0, chair);
    (space, nodes)
}

fn wait_converged(peers: &[&Peer], space: SpaceId, limit: Duration) -> Option<Instant> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let hashes: Vec<[u8; 32]> = peers
            .iter()
            .map(|p| {
                p.run(move |n| {
                    n.replica(space)
                        .map(|r| r.state_hash().0)
                        .unwrap_or([0; 32])
                })
            })
            .collect();
        if hashes.windows(2).all(|w| w[0] == w[1]) {
            return Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

fn loopback_rtt() -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_nodelay(true).expect("nodelay");
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).is_ok() {
            if s.write_all(&b).is_err() {
                break;
            }
        }
    });
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_nodelay(true).expect("nodelay");
    let mut samples = Vec::new();
    let mut b = [7u8; 1];
    for _ in 0..2_000 {
        let t = Instant::now();
        c.write_all(&b).expect("write");
        c.read_exact(&mut b).expect("read");
        samples.push(t.elapsed());
    }
    drop(c);
    let _ = echo.join();
    samples.sort();
    percentile(&samples, 0.5)
}

fn latency() {
    const SAMPLES: usize = 300;
    let dir = scratch(&std::env::temp_dir(), "latency");
    let (space, mut nodes) = staff(&dir, 2);
    let c_node = nodes.pop().expect("c");
    let b_node = nodes.pop().expect("b");
    let a_node = nodes.pop().expect("a");
    let a = start(a_node, true, Vec::new());
    let b = start(b_node, true, vec![a.addr.clone()]);
    let c = start(c_node, true, vec![b.addr.clone()]);
    wait_converged(&[&a, &b, &c], space, Duration::from_secs(30)).expect("initial sync");
    std::thread::sleep(Duration::from_secs(2)); // the peers prove their space to each other
    let mut direct = Vec::new();
    let mut relayed = Vec::new();
    for i in 0..SAMPLES {
        b.drain();
        c.drain();
        let written = a.run(move |n| {
            n.create_record(space, RecordKind::Task, title(&format!("Úkol {i}")))
                .expect("write");
            Instant::now()
        });
        let at_b = b
            .changed
            .recv_timeout(Duration::from_secs(10))
            .expect("reached B");
        let at_c = c
            .changed
            .recv_timeout(Duration::from_secs(10))
            .expect("reached C");
        direct.push(at_b.saturating_duration_since(written));
        relayed.push(at_c.saturating_duration_since(written));
        std::thread::sleep(Duration::from_millis(10));
    }
    let rtt = loopback_rtt();
    direct.sort();
    relayed.sort();
    println!("propagation of a new task ({SAMPLES} writes, from A's acknowledged write):");
    println!(
        "  A→B direct:        p50 {:.2} ms  p99 {:.2} ms   (target p99 ≤ 20 ms)",
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99))
    );
    println!(
        "  A→B→C one relay:   p50 {:.2} ms  p99 {:.2} ms   (target p99 ≤ 40 ms)",
        ms(percentile(&relayed, 0.5)),
        ms(percentile(&relayed, 0.99))
    );
    println!(
        "  loopback TCP round trip p50 {:.3} ms (same run); direct p50 = {:.0}× that",
        ms(rtt),
        percentile(&direct, 0.5).as_secs_f64() / rtt.as_secs_f64()
    );
    for p in [c, b, a] {
        drop(p.stop());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP proxy to `target` that counts the bytes it carries both ways.
fn counting_proxy(target: std::net::SocketAddr, count: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for inbound in listener.incoming().flatten() {
            let Ok(outbound) = TcpStream::connect(target) else {
                continue;
            };
            for (mut from, mut to) in [
                (
                    inbound.try_clone().expect("clone"),
                    outbound.try_clone().expect("clone"),
                ),
                (outbound, inbound),
            ] {
                let count = count.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        count.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    port
}

fn catch_up() {
    const OPS: usize = 100_000;
    // A writes its 100,000 operations on tmpfs when there is one (setup only: one fdatasync
    // each would take minutes); B, which catches up, is on the ordinary disk.
    let shm = Path::new("/dev/shm");
    let a_base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let a_dir = scratch(&a_base, "catchup-a");
    let b_base =
        std::env::var_os("KRIZLINK_BENCH_B_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let b_dir = scratch(&b_base, "catchup-b");
    let mut a_node = node(&a_dir, "kraj");
    let space = a_node
        .create_space("Krizový štáb – dohánění")
        .expect("space");
    let mut b_node = node(&b_dir, "orp");
    let code = a_node
        .create_invite(space, StaffRole::Member, 60)
        .expect("invite");
    let request = b_node.request_join(&code).expect("request");
    let welcome = a_node.accept_join(&request).expect("accept");
    b_node.finish_join(&welcome).expect("join");
    let setup = Instant::now();
    for i in 0..OPS {
        a_node
            .create_record(
                space,
                RecordKind::Task,
                title(&format!("Úkol č. {i}: zajistit pytle s pískem pro obec")),
            )
            .expect("write");
    }
    let setup = setup.elapsed();
    let logged = OpLog::read(
        &a_dir
            .join("kraj")
            .join("spaces")
            .join(format!("{space}.log")),
    );
    let ciphertext: u64 = logged
        .iter()
        .filter_map(|e| Envelope::decode(e).ok())
        .map(|e| e.ciphertext.len() as u64)
        .sum();
    let envelope_bytes: u64 = logged.iter().map(|e| e.len() as u64).sum();
    // The floor: decoding and verifying every signature, nothing else.
    let verify = Instant::now();
    for e in &logged {
        Envelope::decode(e)
            .expect("decodes")
            .verify()
            .expect("verifies");
    }
    let verify = verify.elapsed();

    let a = start(a_node, true, Vec::new());
    let a_port: u16 = a
        .addr
        .iter()
        .find_map(|p| match p {
            krizlink_core::engine::sync::libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("tcp port");
    let a_peer = a.addr.iter().last().expect("p2p");
    let wire = Arc::new(AtomicU64::new(0));
    let proxy = counting_proxy(
        format!("127.0.0.1:{a_port}").parse().expect("addr"),
        wire.clone(),
    );
    let via_proxy: Multiaddr = format!("/ip4/127.0.0.1/tcp/{proxy}")
        .parse::<Multiaddr>()
        .expect("addr")
        .with(a_peer);
    let want = a.run(move |n| n.have(space).map(|v| v.total()).unwrap_or(0));
    let started = Instant::now();
    let b = start(b_node, false, vec![via_proxy]);
    loop {
        let got = b.run(move |n| n.have(space).map(|v| v.total()).unwrap_or(0));
        if got >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let bytes = wire.load(Ordering::Relaxed);
    println!(
        "catch-up of {OPS} operations after a partition (A's setup took {:.1} s):",
        setup.as_secs_f64()
    );
    println!(
        "  wall time {:.2} s; verifying their signatures alone {:.2} s (same run) → {:.2}× (target ≤ 1.3×)",
        took.as_secs_f64(),
        verify.as_secs_f64(),
        took.as_secs_f64() / verify.as_secs_f64()
    );
    println!(
        "  bytes on the wire {:.1} MiB (both ways, TCP payload incl. Noise/Yamux), ciphertext {:.1} MiB → {:.2}× (target ≤ 1.10×); whole envelopes {:.1} MiB → wire/envelopes {:.2}×",
        bytes as f64 / 1048576.0,
        ciphertext as f64 / 1048576.0,
        bytes as f64 / ciphertext as f64,
        envelope_bytes as f64 / 1048576.0,
        bytes as f64 / envelope_bytes as f64
    );
    drop(b.stop());
    drop(a.stop());
    let _ = std::fs::remove_dir_all(&a_dir);
    let _ = std::fs::remove_dir_all(&b_dir);
}

/// Reads a space's op log (the bench's own copy of the format: length, check, bytes).
struct OpLog;
impl OpLog {
    fn read(path: &Path) -> Vec<Vec<u8>> {
        krizlink_core::engine::oplog::OpLog::read_intact_prefix(path).expect("log")
    }
}

fn region() {
    const ORPS: usize = 13;
    const WRITES: usize = 10;
    let dir = scratch(&std::env::temp_dir(), "region");
    let (space, mut nodes) = staff(&dir, ORPS);
    let regional = start(nodes.remove(0), true, Vec::new());
    let mut orps: Vec<Peer> = Vec::new();
    for (i, n) in nodes.into_iter().enumerate() {
        let mut peers = vec![regional.addr.clone()];
        // A few neighbouring ORPs also know each other.
        if matches!(i, 1 | 5 | 9) {
            peers.push(orps[i - 1].addr.clone());
        }
        orps.push(start(n, true, peers));
    }
    let all: Vec<&Peer> = std::iter::once(&regional).chain(orps.iter()).collect();
    wait_converged(&all, space, Duration::from_secs(60)).expect("initial sync");
    std::thread::sleep(Duration::from_secs(2));
    // Everyone writes at once: each peer's jobs are queued without waiting.
    let mut acks = Vec::new();
    for (i, p) in all.iter().enumerate() {
        for w in 0..WRITES {
            let (tx, rx) = oneshot::channel();
            let job: Job = Box::new(move |n: &mut Node, _: &NetStatus| {
                n.create_record(
                    space,
                    RecordKind::Task,
                    title(&format!("ORP {i} hlášení {w}")),
                )
                .expect("write");
                let _ = tx.send(Instant::now());
                None
            });
            p.jobs.blocking_send(job).expect("alive");
            acks.push(rx);
        }
    }
    let last = acks
        .into_iter()
        .map(|rx| rx.blocking_recv().expect("ack"))
        .max()
        .expect("writes");
    let converged = wait_converged(&all, space, Duration::from_secs(60)).expect("converges");
    println!(
        "region: 1 regional + {ORPS} ORP nodes (star + 3 ORP–ORP links), {} writes at once:",
        (ORPS + 1) * WRITES
    );
    println!(
        "  all 14 state hashes equal {:.0} ms after the last acknowledged write (target ≤ 2,000 ms)",
        ms(converged.saturating_duration_since(last))
    );
    for p in orps.into_iter().rev() {
        drop(p.stop());
    }
    drop(regional.stop());
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU time (user + system) and context switches (voluntary + not, all threads) of a process
/// so far.
fn cpu_and_wakeups(pid: u32) -> (Duration, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let ticks: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse().expect("a number"))
        .collect();
    let hz: u64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .expect("getconf")
            .stdout,
    )
    .expect("utf-8")
    .trim()
    .parse()
    .expect("CLK_TCK");
    // Per thread: the peer runs on a thread of its own.
    let switches = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("/proc tasks")
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum();
    (
        Duration::from_secs_f64((ticks[0] + ticks[1]) as f64 / hz as f64),
        switches,
    )
}

/// The child side of `idle`: serves the node in `dir` (dialling `peers`), prints its address,
/// then "ready" once it holds `expect` operations of its space; stops when stdin closes.
fn idle_peer(dir: &Path, expect: u64, peers: Vec<Multiaddr>) {
    let node = Node::open(dir, "heslo-benchmark").expect("open");
    let space = node.held_spaces()[0].0;
    let peer = start(node, true, peers);
    println!("{}", peer.addr);
    while peer.run(move |n| n.have(space).map(|v| v.total()).unwrap_or(0)) < expect {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop(peer.stop());
}

fn idle() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    const TASKS: usize = 50;
    const IDLE: Duration = Duration::from_secs(30);
    let dir = scratch(&std::env::temp_dir(), "idle");
    let (_, mut nodes) = staff(&dir, 1);
    let mut lone = node(&dir, "lone");
    let lone_space = lone.create_space("Sám sobě").expect("space");
    for (n, space) in [(&mut nodes[0], None), (&mut lone, Some(lone_space))] {
        let space = space.unwrap_or_else(|| n.held_spaces()[0].0);
        for i in 0..TASKS {
            n.create_record(space, RecordKind::Task, title(&format!("Úkol {i}")))
                .expect("write");
        }
    }
    let total = nodes[0]
        .have(nodes[0].held_spaces()[0].0)
        .expect("have")
        .total();
    let lone_total = lone.have(lone_space).expect("have").total();
    let names: Vec<PathBuf> = ["kraj", "orp-0", "lone"]
        .iter()
        .map(|n| dir.join(n))
        .collect();
    for n in nodes.into_iter().chain([lone]) {
        n.close().expect("close");
    }
    let exe = std::env::current_exe().expect("exe");
    let spawn = |dir: &Path, expect: u64, peer: Option<&str>| {
        let mut cmd = Command::new(&exe);
        cmd.arg("__idle-peer").arg(dir).arg(expect.to_string());
        cmd.args(peer);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("child");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut addr = String::new();
        out.read_line(&mut addr).expect("address");
        (child, out, addr.trim().to_owned())
    };
    let (a, a_out, a_addr) = spawn(&names[0], total, None);
    let (b, b_out, _) = spawn(&names[1], total, Some(&a_addr));
    let (lone, lone_out, _) = spawn(&names[2], lone_total, None);
    let mut children = vec![(a, a_out), (b, b_out), (lone, lone_out)];
    for (_, out) in &mut children {
        let mut line = String::new();
        out.read_line(&mut line).expect("ready");
        assert_eq!(line.trim(), "ready");
    }
    std::thread::sleep(Duration::from_secs(3)); // the first rounds after the sync settle
    let sleeper = Command::new("sleep")
        .arg((IDLE.as_secs() + 5).to_string())
        .spawn()
        .expect("sleep");
    let pids: Vec<u32> = children
        .iter()
        .map(|(c, _)| c.id())
        .chain([sleeper.id()])
        .collect();
    let before: Vec<_> = pids.iter().map(|p| cpu_and_wakeups(*p)).collect();
    std::thread::sleep(IDLE);
    let after: Vec<_> = pids.iter().map(|p| cpu_and_wakeups(*p)).collect();
    println!(
        "idle cost over {} s ({TASKS} tasks synced, nothing to do):",
        IDLE.as_secs()
    );
    let labels = [
        "synced peer A",
        "synced peer B",
        "floor: lone serving peer",
        "floor: a process that sleeps",
    ];
    for ((label, b), a) in labels.iter().zip(&before).zip(&after) {
        let cpu = a.0.saturating_sub(b.0);
        println!(
            "  {label:<30} CPU {:>8.3} s ({:.2} % of a core)   wake-ups {:>6} ({:.1}/s)",
            cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / IDLE.as_secs_f64(),
            a.1.saturating_sub(b.1),
            a.1.saturating_sub(b.1) as f64 / IDLE.as_secs_f64()
        );
    }
    for (mut child, out) in children {
        drop(child.stdin.take());
        drop(out);
        let _ = child.wait();
    }
    let mut sleeper = sleeper;
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__idle-peer") {
        let dir = PathBuf::from(&args[2]);
        let expect = args[3].parse().expect("count");
        let peers = args[4..]
            .iter()
            .map(|a| a.parse().expect("peer address"))
            .collect();
        return idle_peer(&dir, expect, peers);
    }
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    println!(
        "krizlink sync benchmark, {} ({} CPUs)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if run("latency") {
        latency();
    }
    if run("region") {
        region();
    }
    if run("catchup") {
        catch_up();
    }
    if run("idle") {
        idle();
    }
}
