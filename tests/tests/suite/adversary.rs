//! Bounded memory under a hostile peer (issue 13, property 1): real libp2p peers in this test
//! binary (`krizlink_tests::adversary`) attack one serving `krizlink-node` (A) while a member
//! (B) keeps syncing with it.
//!
//! Outsiders, by more peer ids than A takes connections: every connection opens as many sync
//! streams as A serves and on each claims a request frame of the largest size A reads, sends
//! most of it fast and then nothing (holding the stream until A gives up on it); each peer
//! also pulls with a version vector of 10,000 devices at `u64::MAX`, pushes validly signed
//! envelopes from thousands of fresh keys, and answers A's challenges with made-up tags.
//!
//! Meanwhile A's resident memory is sampled from `/proc/<pid>/status` and must stay within
//! the bound documented in ARCHITECTURE.md ("Bounds") above its idle figure, a write on B must
//! reach A within a few seconds, and A's data dir must not grow by more than B's write.
//!
//! The soak benchmark (`tests/benches/soak.rs`) runs the same attack for minutes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use krizlink_core::engine::sync::libp2p::Multiaddr;
use krizlink_tests::adversary::{Insider, Outsiders, Plan};
use krizlink_tests::staff::{
    cpu_time, dir_bytes, founder, has_task, joined, ok, rss_kib, serve, wait_until, Serving, PASS,
};
use krizlink_tests::TempDir;

/// Fresh keys the insider signs with: more than a node holds back per space (10,000).
const INSIDER_KEYS: usize = 12_000;
/// The network bound of ARCHITECTURE.md ("Bounds"), in MiB above the node's idle memory.
const BOUND_MIB: u64 = 466;

/// The node under attack (A, serving), a member B syncing with it, and A's figures before
/// the attack.
struct Staff {
    a: PathBuf,
    space: String,
    a_serving: Serving,
    b: PathBuf,
    b_serving: Serving,
    /// A's process.
    pid: u32,
    /// A's resident memory, KiB.
    idle: u64,
    /// Bytes in A's data dir.
    disk_before: u64,
}

/// A founds a space and serves; B joins, serves with A as its peer and writes a task that
/// reaches A; `others` join as members (not serving). Then A's idle memory and disk.
fn staff_before_the_attack(root: &TempDir, others: &[&str]) -> Staff {
    let (a, space, a_serving) = founder(root, "Alena");
    let b = joined(root, "Bedřich", &a, &space, "member");
    for name in others {
        joined(root, name, &a, &space, "member");
    }
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
    Staff {
        idle: rss_kib(pid).expect("A's memory"),
        disk_before: dir_bytes(&a),
        a,
        space,
        a_serving,
        b,
        b_serving,
        pid,
    }
}

#[test]
fn a_hostile_peer_gets_bounded_memory_and_members_keep_syncing() {
    let root = TempDir::new("adversary");
    let Staff {
        a,
        space,
        a_serving,
        b,
        b_serving,
        pid,
        idle,
        disk_before,
    } = staff_before_the_attack(&root, &[]);

    let target: Multiaddr = a_serving.addr.parse().expect("address");
    let attack = Outsiders::start(&target, space.parse().expect("space id"), Plan::ONCE);

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
    let (connected, sent) = (attack.connected(), attack.sent_bytes());
    attack.stop();
    let grown = dir_bytes(&a).saturating_sub(disk_before);
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

/// A member gone bad (`krizlink_tests::adversary::Insider`, with the keys of a member M that
/// joined the space through the CLI): it proves the space, answers every pull of A's with a
/// full batch marked "more" forever, and pushes a full batch every second, every envelope
/// validly signed and sealed under the space's key by one of 12,000 fresh keys never
/// admitted. A must hold them back in memory only (bounded per space), store none of them,
/// keep taking B's writes within seconds, and not pull the insider hot: its CPU time during
/// the attack is measured from /proc.
#[test]
fn a_member_answering_every_pull_with_more_forever_gets_bounded_memory_and_no_hot_loop() {
    let began = Instant::now();
    let root = TempDir::new("insider");
    let m = root.path().join("Marek");
    let Staff {
        a,
        space,
        a_serving,
        b,
        b_serving,
        pid,
        idle,
        disk_before,
    } = staff_before_the_attack(&root, &["Marek"]);

    let target: Multiaddr = a_serving.addr.parse().expect("address");
    let insider = Insider::start(m, PASS, &target, space.parse().expect("space id"), 12_000);
    let cpu_before = cpu_time(pid).expect("A's CPU time");
    let start = Instant::now();
    eprintln!("insider: attacking after {:?} of set-up", began.elapsed());
    let mut peak = idle;
    let mut latency = None;
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(rss) = rss_kib(pid) {
            peak = peak.max(rss);
        }
        if latency.is_none() && start.elapsed() > Duration::from_secs(8) {
            let wrote = Instant::now();
            ok(
                &b,
                &["task", "add", "--space", &space, "--title", "Během útoku"],
            );
            wait_until(
                "B's write reaches A under the insider's attack",
                Duration::from_secs(5),
                || has_task(&a, &space, "Během útoku"),
            );
            latency = Some(wrote.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = start.elapsed();
    let cpu = cpu_time(pid)
        .expect("A's CPU time")
        .saturating_sub(cpu_before);
    let (pulls, pushes, sent) = (
        insider.pulls_answered(),
        insider.pushes_answered(),
        insider.envelopes_sent(),
    );
    insider.stop();
    let grown = dir_bytes(&a).saturating_sub(disk_before);
    eprintln!(
        "insider: {pulls} pulls answered with \"more\", {pushes} pushes, {sent} envelopes from \
         fresh keys; A idle {} MiB, peak {} MiB; B's write arrived in {latency:?}; A's data dir \
         grew {} KiB; A used {:.1} s of CPU in {:.1} s",
        idle / 1024,
        peak / 1024,
        grown / 1024,
        cpu.as_secs_f64(),
        wall.as_secs_f64()
    );
    assert!(
        pulls >= 2 && sent >= INSIDER_KEYS,
        "the attack happened: {pulls} pulls answered, {sent} envelopes sent"
    );
    assert!(
        !has_task(&a, &space, "Podvržený 0"),
        "an envelope of a key never admitted was applied"
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
