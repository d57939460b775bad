//! Engine benchmark: each figure next to its floor, measured in the same run.
//!
//! - durable write latency of adding a task through the engine API (seal, op log append +
//!   fdatasync, apply, derived state) against a raw 600-byte append + fdatasync;
//! - verify + decrypt + apply throughput over 100,000 operations against ring's raw Ed25519
//!   verify rate, on one core and with verification spread over two;
//! - unlock time with the production KDF parameters.
//!
//! `cargo bench -p krizlink-core --features engine --bench engine`

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use krizlink_core::engine::envelope::Envelope;
use krizlink_core::engine::keys::{self, DeviceKeys, SpaceKey};
use krizlink_core::engine::keystore::{KdfParams, Keystore, KeystoreContents};
use krizlink_core::engine::node::Node;
use krizlink_core::op::Change;
use krizlink_core::{FieldValue, Hlc, OpId, Operation, RecordKind, Replica, SpaceId};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krizlink-bench-{name}-{}", std::process::id()));
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

fn durable_writes() {
    const N: usize = 2_000;
    let dir = scratch("writes");
    let mut node = Node::init(
        &dir.join("node"),
        "Benchmark",
        "heslo-benchmark",
        KdfParams::for_tests(),
    )
    .expect("init");
    let space = node
        .create_space("Krizový štáb – benchmark")
        .expect("space");
    let mut raw = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("raw.log"))
        .expect("raw log");
    let record = [0x5au8; 600];
    // One raw append + fdatasync, then one engine write, alternately: the disk's fast and slow
    // periods (this machine's floor is bimodal) then fall on both alike.
    let mut floor = Vec::with_capacity(N);
    let mut writes = Vec::with_capacity(N);
    for i in 0..N {
        let t = Instant::now();
        raw.write_all(&record)
            .and_then(|()| raw.sync_data())
            .expect("append + fdatasync");
        floor.push(t.elapsed());
        let changes = vec![
            Change::Set {
                value: FieldValue::Title(format!("Zajistit 2 000 pytlů pro ORP Vsetín, úkol {i}")),
                bases: Default::default(),
            },
            Change::Set {
                value: FieldValue::Description(
                    "Dodat na hráz u Bečvy do 18:00, kontakt HZS.".repeat(6),
                ),
                bases: Default::default(),
            },
        ];
        let t = Instant::now();
        node.create_record(space, RecordKind::Task, changes)
            .expect("durable write");
        writes.push(t.elapsed());
    }
    writes.sort();
    floor.sort();
    let (w50, f50) = (percentile(&writes, 0.5), percentile(&floor, 0.5));
    println!(
        "durable task write        p50 {:.3} ms  p99 {:.3} ms   | raw 600 B append+fdatasync p50 {:.3} ms  p99 {:.3} ms   | ratio p50 {:.2}",
        ms(w50),
        ms(percentile(&writes, 0.99)),
        ms(f50),
        ms(percentile(&floor, 0.99)),
        w50.as_secs_f64() / f50.as_secs_f64()
    );
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ingest() {
    const N: u64 = 100_000;
    let keys = DeviceKeys::from_seed(&[3; 32]);
    let space = SpaceId([8; 16]);
    let key = SpaceKey::from_bytes([4; 32]);
    let device = keys.device_id();
    let mut envelopes = Vec::with_capacity(N as usize);
    let mut records = Vec::new();
    for seq in 1..=N {
        let id = OpId { device, seq };
        let hlc = Hlc {
            wall_ms: 1_790_000_000_000 + seq,
            counter: 0,
        };
        let op = if seq % 20 == 1 || records.is_empty() {
            let op = Operation::new_record(
                id,
                hlc,
                space,
                RecordKind::Task,
                vec![Change::Set {
                    value: FieldValue::Title(format!("Úkol {seq}: evakuace ulice U Splavu")),
                    bases: Default::default(),
                }],
            )
            .expect("valid");
            records.push(op.record);
            op
        } else {
            let record = records[(seq as usize * 7919) % records.len()];
            Operation::edit(
                id,
                hlc,
                space,
                record,
                RecordKind::Task,
                vec![Change::Comment {
                    text: format!("Průběžné hlášení {seq}: bez změny."),
                }],
            )
            .expect("valid")
        };
        let env = Envelope::seal(&op, 0, 1, &key, &keys).expect("seal");
        envelopes.push(env.encode().expect("encode"));
    }

    // Floor: raw Ed25519 verification of as many signatures over messages of the same size.
    let msgs: Vec<(Vec<u8>, [u8; 64])> = envelopes
        .iter()
        .map(|e| {
            let m = e[..e.len() - 64].to_vec();
            let s = keys.sign(&m);
            (m, s)
        })
        .collect();
    let t = Instant::now();
    for (m, s) in &msgs {
        keys::verify(&device, m, s).expect("verify");
    }
    let raw = N as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut replica = Replica::new(space);
    for bytes in &envelopes {
        let env = Envelope::decode(bytes).expect("decode");
        let op = env.open(&key).expect("verify + decrypt");
        replica.apply(op).expect("apply");
    }
    let one_core = N as f64 / t.elapsed().as_secs_f64();
    let hash = replica.state_hash();

    // Verification and decryption spread over two threads, apply in order on this one.
    let t = Instant::now();
    let (first, second) = envelopes.split_at(envelopes.len() / 2);
    let opened: Vec<Vec<Operation>> = std::thread::scope(|s| {
        let handles: Vec<_> = [first, second]
            .into_iter()
            .map(|chunk| {
                let key = key.clone();
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|b| {
                            Envelope::decode(b)
                                .and_then(|e| e.open(&key))
                                .expect("open")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut parallel = Replica::new(space);
    for op in opened.into_iter().flatten() {
        parallel.apply(op).expect("apply");
    }
    let two_cores = N as f64 / t.elapsed().as_secs_f64();
    assert_eq!(parallel.state_hash(), hash);

    println!(
        "verify+decrypt+apply      {one_core:>8.0} ops/s (1 core)  {two_cores:>8.0} ops/s (verify on 2)  | raw Ed25519 verify {raw:>8.0}/s  | ratio {:.2} / {:.2}",
        one_core / raw,
        two_cores / raw
    );
}

fn unlock() {
    let dir = scratch("unlock");
    let path = dir.join("keystore.krz");
    let params = KdfParams::default();
    Keystore::create(
        &path,
        "heslo-benchmark",
        KeystoreContents::new(&[1; 32], "Benchmark"),
        params,
    )
    .expect("create");
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            Keystore::unlock(&path, "heslo-benchmark").expect("unlock");
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "unlock (Argon2id {} KiB, t={}, p={})  min {:.0} ms  median {:.0} ms  max {:.0} ms",
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        ms(times[0]),
        ms(times[2]),
        ms(times[4])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    println!("krizlink-core engine benchmark");
    durable_writes();
    ingest();
    unlock();
}
