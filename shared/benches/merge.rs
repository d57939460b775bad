//! Merge benchmark: 100,000 operations from 10 devices over 5,000 records.
//!
//! Prints throughput of applying them in stamp order and in a shuffled order (which exercises
//! holding back operations whose predecessors are missing), the time to rebuild the state from
//! the encoded op log next to its floor (merely decoding that log, measured in the same run),
//! the time of a state hash, and the process's peak memory. A program, not a timed test:
//! `cargo bench -p krizlink-core --bench merge`.

use std::collections::HashMap;
use std::time::Instant;

use krizlink_core::op::Change;
use krizlink_core::record::{
    FieldKey, IncidentKind, JournalKind, Priority, ReportKind, TaskStatus,
};
use krizlink_core::{
    DeviceId, FieldValue, Hlc, OpId, Operation, RecordId, RecordKind, Replica, SetField, SpaceId,
    Status, Timestamp,
};

const DEVICES: usize = 10;
const RECORDS: usize = 5_000;
const OPS: usize = 100_000;
const SPACE: SpaceId = SpaceId([42; 16]);

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn set(value: FieldValue, bases: Vec<OpId>) -> Change {
    Change::Set {
        value,
        bases: bases.try_into().unwrap_or_default(),
    }
}

struct Generator {
    rng: Rng,
    seqs: [u64; DEVICES],
    clocks: [Hlc; DEVICES],
    records: Vec<(RecordId, RecordKind)>,
    heads: HashMap<(RecordId, FieldKey), OpId>,
    status: HashMap<RecordId, (TaskStatus, OpId)>,
}

impl Generator {
    fn next_id(&mut self) -> (OpId, Hlc) {
        let d = self.rng.below(DEVICES);
        self.seqs[d] += 1;
        // Clocks advance 0-2 ms per op, so devices often tie on the wall clock.
        let wall = self.clocks[d].wall_ms + self.rng.below(3) as u64;
        let c = &mut self.clocks[d];
        *c = if wall > c.wall_ms {
            Hlc {
                wall_ms: wall,
                counter: 0,
            }
        } else {
            Hlc {
                wall_ms: wall,
                counter: c.counter + 1,
            }
        };
        (
            OpId {
                device: DeviceId([d as u8 + 1; 32]),
                seq: self.seqs[d],
            },
            *c,
        )
    }

    fn create(&mut self, i: usize) -> Operation {
        let (id, hlc) = self.next_id();
        let t = |s: String| s;
        let (kind, changes) = match i % 20 {
            0..=11 => (
                RecordKind::Task,
                vec![
                    set(
                        FieldValue::Title(t(format!("Úkol č. {i}: zajistit pytle pro ORP"))),
                        vec![],
                    ),
                    set(FieldValue::Priority(Priority::High), vec![]),
                    Change::Add {
                        set: SetField::Assignees,
                        element: "ORP Vsetín".into(),
                    },
                ],
            ),
            12 | 13 => (
                RecordKind::Incident,
                vec![
                    set(FieldValue::Title(format!("Povodeň {i}")), vec![]),
                    set(FieldValue::IncidentKind(IncidentKind::Flood), vec![]),
                ],
            ),
            14 | 15 => (
                RecordKind::ResourceRequest,
                vec![
                    set(FieldValue::Requester("ORP Zlín".into()), vec![]),
                    set(FieldValue::Item("čerpadla".into()), vec![]),
                    set(FieldValue::Quantity(4), vec![]),
                ],
            ),
            16 | 17 => (
                RecordKind::JournalEntry,
                vec![
                    set(FieldValue::JournalKind(JournalKind::PhoneCall), vec![]),
                    set(
                        FieldValue::Text(format!("Telefonát s HZS, záznam {i}.")),
                        vec![],
                    ),
                ],
            ),
            18 => (
                RecordKind::SituationReport,
                vec![
                    set(FieldValue::ReportKind(ReportKind::Situation), vec![]),
                    set(FieldValue::AsOf(Timestamp(1_790_000_000_000)), vec![]),
                    set(FieldValue::Sender("ORP Vsetín".into()), vec![]),
                    set(
                        FieldValue::Situation("Hladina Bečvy stoupá, 3. SPA vyhlášen.".into()),
                        vec![],
                    ),
                ],
            ),
            _ => (
                RecordKind::Contact,
                vec![set(FieldValue::Name(format!("Kontakt {i}")), vec![])],
            ),
        };
        let op =
            Operation::new_record(id, hlc, SPACE, kind, changes).expect("generated ops are valid");
        self.records.push((op.record, kind));
        for f in [FieldKey::Title, FieldKey::Priority, FieldKey::Quantity] {
            self.heads.insert((op.record, f), id);
        }
        if kind == RecordKind::Task {
            self.status.insert(op.record, (TaskStatus::Assigned, id));
        }
        op
    }

    fn edit(&mut self) -> Operation {
        let (rec, kind) = loop {
            let r = self.records[self.rng.below(self.records.len())];
            if !r.1.is_immutable() {
                break r;
            }
        };
        let (id, hlc) = self.next_id();
        let roll = self.rng.below(10);
        let change = match (kind, roll) {
            (RecordKind::Task, 0..=2) => {
                let base = self
                    .heads
                    .insert((rec, FieldKey::Title), id)
                    .into_iter()
                    .collect();
                set(
                    FieldValue::Title(format!("Úkol upraven {}", self.rng.below(1000))),
                    base,
                )
            }
            (RecordKind::Task, 3) => {
                let (from, base) = self.status[&rec];
                let to = match from {
                    TaskStatus::Assigned => TaskStatus::Accepted,
                    TaskStatus::Accepted => TaskStatus::InProgress,
                    TaskStatus::InProgress => TaskStatus::Done,
                    _ => TaskStatus::InProgress,
                };
                self.status.insert(rec, (to, id));
                Change::Transition {
                    from: Status::Task(from),
                    to: Status::Task(to),
                    note: String::new(),
                    bases: vec![base].try_into().unwrap_or_default(),
                }
            }
            (RecordKind::Task | RecordKind::ResourceRequest, 4) => {
                let base = self
                    .heads
                    .insert((rec, FieldKey::Priority), id)
                    .into_iter()
                    .collect();
                set(FieldValue::Priority(Priority::Critical), base)
            }
            (RecordKind::Task | RecordKind::Incident, 5 | 6) => Change::Add {
                set: SetField::Tags,
                element: ["povodeň", "evakuace", "voda", "kritické"][self.rng.below(4)].into(),
            },
            (RecordKind::Contact, _) => set(
                FieldValue::Phone(format!("+420 577 {:06}", self.rng.below(999_999))),
                vec![],
            ),
            _ => Change::Comment {
                text: format!(
                    "Průběžná informace {}: situace se stabilizuje.",
                    self.rng.below(10_000)
                ),
            },
        };
        Operation::edit(id, hlc, SPACE, rec, kind, vec![change]).expect("generated ops are valid")
    }
}

/// Counts live heap bytes, so the replica's own footprint can be told apart from the
/// benchmark's input data.
struct CountingAllocator;
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn live_heap() -> usize {
    LIVE.load(std::sync::atomic::Ordering::Relaxed)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut g = Generator {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        seqs: [0; DEVICES],
        clocks: [Hlc {
            wall_ms: 1_790_000_000_000,
            counter: 0,
        }; DEVICES],
        records: Vec::new(),
        heads: HashMap::new(),
        status: HashMap::new(),
    };
    let mut ops: Vec<Operation> = Vec::with_capacity(OPS);
    for i in 0..RECORDS {
        ops.push(g.create(i));
        // Edits start as soon as there are records, interleaved with creations.
        for _ in 0..((OPS - RECORDS) / RECORDS) {
            ops.push(g.edit());
        }
    }
    while ops.len() < OPS {
        ops.push(g.edit());
    }
    let encoded: Vec<Vec<u8>> = ops.iter().map(|o| o.encode().expect("encodable")).collect();
    let log_bytes: usize = encoded.iter().map(Vec::len).sum();
    let mut shuffled = ops.clone();
    for i in (1..shuffled.len()).rev() {
        let j = g.rng.below(i + 1);
        shuffled.swap(i, j);
    }
    let rss_before = peak_rss_kib();

    println!("krizlink-core merge benchmark: {OPS} ops, {DEVICES} devices, {RECORDS} records");
    println!(
        "encoded op log: {log_bytes} bytes ({:.0} B/op)",
        log_bytes as f64 / OPS as f64
    );

    let mut in_order_hash = None;
    for (label, delivery) in [
        ("apply (author order)", &ops),
        ("apply (shuffled, held back)", &shuffled),
    ] {
        let batch = delivery.clone();
        let start = Instant::now();
        let mut r = Replica::new(SPACE);
        for op in batch {
            r.apply(op).expect("apply");
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label:<30} {:>10.0} ops/s  ({:.1} ms)",
            OPS as f64 / secs,
            secs * 1e3
        );
        let h = r.state_hash();
        assert_eq!(
            *in_order_hash.get_or_insert(h),
            h,
            "shuffled delivery must converge"
        );
    }

    let start = Instant::now();
    let mut decoded = Vec::with_capacity(OPS);
    for bytes in &encoded {
        decoded.push(Operation::decode(bytes).expect("decode"));
    }
    let decode_secs = start.elapsed().as_secs_f64();
    drop(decoded);

    let heap_before = live_heap();
    let start = Instant::now();
    let mut rebuilt = Replica::new(SPACE);
    for bytes in &encoded {
        rebuilt
            .apply(Operation::decode(bytes).expect("decode"))
            .expect("apply");
    }
    let rebuild_secs = start.elapsed().as_secs_f64();
    println!(
        "rebuild from encoded log        {:.1} ms; floor (decode + validate only) {:.1} ms; ratio {:.2}",
        rebuild_secs * 1e3,
        decode_secs * 1e3,
        rebuild_secs / decode_secs
    );

    let start = Instant::now();
    let hash = rebuilt.state_hash();
    println!(
        "state hash                      {:.1} ms  ({hash})",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(Some(hash), in_order_hash);
    println!(
        "replica heap (merged state)     {:.1} MiB for {} records ({:.2}x the encoded log)",
        live_heap().saturating_sub(heap_before) as f64 / (1024.0 * 1024.0),
        rebuilt.record_count(),
        live_heap().saturating_sub(heap_before) as f64 / log_bytes as f64
    );
    match (rss_before, peak_rss_kib()) {
        (Some(before), Some(peak)) => println!(
            "peak memory (VmHWM)             {:.1} MiB; before the first replica was built {:.1} MiB",
            peak as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        _ => println!("peak memory: /proc/self/status not readable on this system"),
    }
}
