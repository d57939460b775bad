//! Soak benchmark of the adversary (issue 13, property 1): the suite's hostile outsiders
//! (`krizlink_tests::adversary`, sustained: every stream the node ends is replaced, every
//! closed connection redialled) attack one serving `krizlink-node` (A) for minutes, and so
//! does a member gone bad (`Insider`, with the keys of member M: every pull answered with a
//! full batch marked "more", a full push every second, all from fresh keys inside the space),
//! while an honest member (B) keeps writing. Prints, each next to its floor measured in the
//! same run before the attack:
//!
//! - A's resident memory over time (sampled every second from `/proc/PID/status`), against its
//!   idle memory;
//! - B's write latency (from starting `task add` on B to the task listed on A, polled every
//!   20 ms), against the same measure before the attack;
//! - A's data-dir growth, against B's (what the member wrote);
//! - A's CPU time during the attack (from `/proc/PID/stat`), against the wall time.
//!
//! Run: `cargo build --release -p krizlink-core --features cli --bins`, then
//! `cargo bench -p krizlink-tests --bench soak` (`KRIZLINK_SOAK_SECS`, default 180, sets the
//! attack's length; `KRIZLINK_SOAK_INSIDER=0` leaves the member adversary out). Not part of
//! `scripts/test.sh`.

use std::time::{Duration, Instant};

use krizlink_core::engine::sync::libp2p::Multiaddr;
use krizlink_tests::adversary::{Insider, Outsiders, Plan};
use krizlink_tests::staff::{
    cpu_time, dir_bytes, founder, has_task, joined, ok, rss_kib, serve, Serving, PASS,
};
use krizlink_tests::TempDir;

/// Writes of the floor, before the attack.
const FLOOR_WRITES: usize = 10;
/// One write by B every this long during the attack.
const WRITE_EVERY: Duration = Duration::from_secs(10);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Writes a task titled `title` on B and returns how long until A lists it (None: not within
/// 30 s), sampling A's memory into `peak` meanwhile.
fn write_and_wait(
    b: &std::path::Path,
    a: &std::path::Path,
    space: &str,
    title: &str,
    pid: u32,
    peak: &mut u64,
) -> Option<Duration> {
    let start = Instant::now();
    ok(b, &["task", "add", "--space", space, "--title", title]);
    while start.elapsed() < Duration::from_secs(30) {
        if has_task(a, space, title) {
            return Some(start.elapsed());
        }
        if let Some(rss) = rss_kib(pid) {
            *peak = (*peak).max(rss);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn main() {
    let secs: u64 = std::env::var("KRIZLINK_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let root = TempDir::new("soak");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let m = joined(&root, "Marek", &a, &space, "member");
    let b_serving: Serving = serve(&b, &["--peer", &a_serving.addr]);
    let pid = a_serving.pid().expect("A serves");
    let mut ignored = 0;
    write_and_wait(&b, &a, &space, "Zahřátí", pid, &mut ignored)
        .expect("B's first write reaches A");

    // Floors: A's idle memory (the highest of 5 s of samples) and B's unattacked latency.
    let mut idle = 0;
    for _ in 0..10 {
        idle = idle.max(rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(500));
    }
    let floor: Vec<f64> = (0..FLOOR_WRITES)
        .map(|i| {
            let title = format!("Před útokem {i}");
            ms(write_and_wait(&b, &a, &space, &title, pid, &mut ignored).expect("floor write"))
        })
        .collect();
    let floor_p50 = median(floor.clone());
    let floor_max = floor.iter().copied().fold(0.0, f64::max);
    println!(
        "soak: {secs} s of attack; A idle {:.1} MiB; B's write to A before the attack: p50 \
         {floor_p50:.0} ms, max {floor_max:.0} ms ({FLOOR_WRITES} writes)",
        mib(idle)
    );

    let (a_disk, b_disk) = (dir_bytes(&a), dir_bytes(&b));
    let target: Multiaddr = a_serving.addr.parse().expect("address");
    let plan = Plan {
        sustain: true,
        ..Plan::ONCE
    };
    // The member adversary first, so that it holds a connection before the outsiders take
    // every one A accepts (they redial whatever closes).
    let insider = (std::env::var("KRIZLINK_SOAK_INSIDER").as_deref() != Ok("0")).then(|| {
        let insider = Insider::start(m, PASS, &target, space.parse().expect("space id"), 12_000);
        let began = Instant::now();
        while insider.pulls_answered() == 0 && began.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        println!(
            "the member adversary was first pulled after {:.1} s",
            began.elapsed().as_secs_f64()
        );
        insider
    });
    let attack = Outsiders::start(&target, space.parse().expect("space id"), plan);
    let cpu_before = cpu_time(pid).expect("A's CPU time");
    let start = Instant::now();
    let mut peak = idle;
    let mut sum = 0u64;
    let mut samples = 0u64;
    let mut latencies = Vec::new();
    let mut lost = 0;
    let mut next_write = start + Duration::from_secs(5);
    let mut next_print = start;
    println!("  t (s)   RSS (MiB)  × idle   connections  slow frames sent (MiB)  last write (ms)");
    while start.elapsed() < Duration::from_secs(secs) {
        let rss = rss_kib(pid).unwrap_or(0);
        peak = peak.max(rss);
        sum += rss;
        samples += 1;
        if Instant::now() >= next_write {
            next_write += WRITE_EVERY;
            let title = format!("Během útoku {}", latencies.len() + lost);
            match write_and_wait(&b, &a, &space, &title, pid, &mut peak) {
                Some(d) => latencies.push(ms(d)),
                None => lost += 1,
            }
        }
        if Instant::now() >= next_print {
            next_print += Duration::from_secs(10);
            println!(
                "  {:>5}   {:>9.1}  {:>6.2}   {:>11}  {:>22}  {:>15}",
                start.elapsed().as_secs(),
                mib(rss),
                rss as f64 / idle as f64,
                attack.connected(),
                attack.sent_bytes() >> 20,
                latencies
                    .last()
                    .map(|l| format!("{l:.0}"))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let wall = start.elapsed();
    let cpu = cpu_time(pid)
        .expect("A's CPU time")
        .saturating_sub(cpu_before);
    let (connected, sent) = (attack.connected(), attack.sent_bytes());
    attack.stop();
    let insider_line = insider.map(|insider| {
        let line = format!(
            "  the member adversary: {} pulls answered with a full batch marked \"more\", {} \
             pushes answered, {} envelopes from fresh keys taken by A",
            insider.pulls_answered(),
            insider.pushes_answered(),
            insider.envelopes_sent()
        );
        insider.stop();
        line
    });
    let a_grown = dir_bytes(&a).saturating_sub(a_disk);
    let b_grown = dir_bytes(&b).saturating_sub(b_disk);
    let p50 = median(latencies.clone());
    let max = latencies.iter().copied().fold(0.0, f64::max);
    let mean = sum.checked_div(samples).unwrap_or(0);
    println!(
        "soak results ({} s, {connected} attacking connections, {} MiB of slow frames):",
        wall.as_secs(),
        sent >> 20
    );
    println!(
        "  A's RSS: peak {:.1} MiB ({:.2}× idle {:.1} MiB, +{:.1} MiB), mean {:.1} MiB ({:.2}×)",
        mib(peak),
        peak as f64 / idle as f64,
        mib(idle),
        mib(peak.saturating_sub(idle)),
        mib(mean),
        mean as f64 / idle as f64
    );
    println!(
        "  B's write to A under attack: p50 {p50:.0} ms ({:.2}× the floor's {floor_p50:.0} ms), \
         max {max:.0} ms ({:.2}× the floor's {floor_max:.0} ms), {} writes, {lost} not arrived \
         within 30 s",
        p50 / floor_p50,
        max / floor_max,
        latencies.len()
    );
    println!(
        "  data dirs during the attack: A grew {:.1} KiB, B (the writer) {:.1} KiB ({:.2}×)",
        a_grown as f64 / 1024.0,
        b_grown as f64 / 1024.0,
        a_grown as f64 / b_grown.max(1) as f64
    );
    println!(
        "  A's CPU time: {:.1} s in {:.0} s ({:.2} of one core)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        cpu.as_secs_f64() / wall.as_secs_f64()
    );
    if let Some(line) = insider_line {
        println!("{line}");
    }
    a_serving.stop();
    b_serving.stop();
}
