//! Test support: a counting allocator that reports the peak heap use of a closure on the
//! current thread, so tests can show that decoding untrusted bytes stays within its bounds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAllocator;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get().saturating_add(size);
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn on_dealloc(size: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(size)));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_dealloc(layout.size());
        on_alloc(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the peak number of heap bytes it had allocated at once
/// on this thread (beyond what was allocated before it started).
pub fn peak_alloc<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.with(|c| c.get());
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(|p| p.get());
    (r, peak.saturating_sub(base))
}

/// Builders for operations in tests.
pub mod ops {
    use crate::bounded::BoundedVec;
    use crate::hlc::Hlc;
    use crate::ids::{DeviceId, OpId, RecordId, SpaceId};
    use crate::op::{Change, Operation};
    use crate::record::{FieldValue, RecordKind, SetField, Status};

    pub const SPACE: SpaceId = SpaceId([7; 16]);

    pub fn dev(n: u8) -> DeviceId {
        DeviceId([n; 32])
    }

    pub fn id(device: u8, seq: u64) -> OpId {
        OpId {
            device: dev(device),
            seq,
        }
    }

    pub fn hlc(wall_ms: u64) -> Hlc {
        Hlc {
            wall_ms,
            counter: 0,
        }
    }

    pub fn set(value: FieldValue, bases: &[OpId]) -> Change {
        Change::Set {
            value,
            bases: bases.to_vec().try_into().unwrap(),
        }
    }

    pub fn add(set: SetField, element: &str) -> Change {
        Change::Add {
            set,
            element: element.into(),
        }
    }

    pub fn remove(set: SetField, element: &str, observed: &[OpId]) -> Change {
        Change::Remove {
            set,
            element: element.into(),
            observed: observed.to_vec().try_into().unwrap(),
        }
    }

    pub fn transition(from: Status, to: Status, bases: &[OpId]) -> Change {
        Change::Transition {
            from,
            to,
            note: String::new(),
            bases: bases.to_vec().try_into().unwrap(),
        }
    }

    pub fn create_task(op: OpId, wall: u64, title: &str) -> Operation {
        Operation::new_record(
            op,
            hlc(wall),
            SPACE,
            RecordKind::Task,
            vec![set(FieldValue::Title(title.into()), &[])],
        )
        .unwrap()
    }

    pub fn edit(
        op: OpId,
        wall: u64,
        record: RecordId,
        kind: RecordKind,
        changes: Vec<Change>,
    ) -> Operation {
        Operation::edit(op, hlc(wall), SPACE, record, kind, changes).unwrap()
    }

    /// An operation built without validation, for tests of what validation refuses.
    pub fn raw(op: OpId, record: RecordId, kind: RecordKind, changes: Vec<Change>) -> Operation {
        Operation {
            id: op,
            hlc: hlc(1),
            space: SPACE,
            record,
            kind,
            changes: BoundedVec::try_from(changes).unwrap(),
        }
    }
}
