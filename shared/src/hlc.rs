//! The hybrid logical clock that orders operations across devices.
//!
//! An [`Hlc`] is wall-clock milliseconds plus a logical counter; it never goes backwards on one
//! device, and after observing a remote stamp it is ahead of it, so a change made after seeing
//! another always sorts after it. A [`Stamp`] adds the device id, which makes the order total
//! (ties in the clock are broken by device id). Physical time is passed in, never read here,
//! so the clock is deterministic in tests and works on wasm.

use serde::{Deserialize, Serialize};

use crate::ids::DeviceId;

/// A hybrid logical clock reading. Ordered by wall time, then counter.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (UTC), never less than the last reading.
    pub wall_ms: u64,
    /// Logical counter for events within the same millisecond.
    pub counter: u32,
}

impl Hlc {
    /// The next reading after this one: the counter moves on, and when it is exhausted (a peer
    /// may send any counter within the accepted skew) the wall time moves on by a millisecond,
    /// so a clock never stops.
    pub fn successor(self) -> Hlc {
        match self.counter.checked_add(1) {
            Some(counter) => Hlc {
                wall_ms: self.wall_ms,
                counter,
            },
            None => Hlc {
                wall_ms: self.wall_ms.saturating_add(1),
                counter: 0,
            },
        }
    }
}

/// A totally ordered position of an operation: its clock reading, ties broken by device id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub hlc: Hlc,
    pub device: DeviceId,
}

/// Why a clock reading was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// A remote stamp lies further in the future than the accepted skew. It is refused now and
    /// accepted once local time has caught up (sync offers it again), so one device with a wrong
    /// clock cannot drag every replica's clock into the future.
    #[error("operation is stamped {ahead_ms} ms in the future; at most {max_ms} ms is accepted")]
    TooFarInFuture { ahead_ms: u64, max_ms: u64 },
}

/// A device's clock. Keep one per device (per space or globally) and persist its last reading.
#[derive(Clone, Debug)]
pub struct HlcClock {
    last: Hlc,
    max_future_skew_ms: u64,
}

impl HlcClock {
    /// Five minutes: generous for unsynchronised office PCs, small enough to matter.
    pub const DEFAULT_MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;

    /// A fresh clock that accepts remote stamps up to `max_future_skew_ms` ahead of local time.
    pub fn new(max_future_skew_ms: u64) -> Self {
        Self::resume(Hlc::default(), max_future_skew_ms)
    }

    /// A clock that continues after a persisted reading (so a restart never goes backwards).
    pub fn resume(last: Hlc, max_future_skew_ms: u64) -> Self {
        Self {
            last,
            max_future_skew_ms,
        }
    }

    /// The last reading handed out or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A new reading for a local event at physical time `now_ms`; strictly greater than every
    /// earlier reading of this clock. It never fails: no remote stamp can stop local writes.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let next = if now_ms > self.last.wall_ms {
            Hlc {
                wall_ms: now_ms,
                counter: 0,
            }
        } else {
            self.last.successor()
        };
        self.last = next;
        next
    }

    /// Refuses `remote` if it is too far ahead of `now_ms`, without changing the clock.
    pub fn check(&self, remote: Hlc, now_ms: u64) -> Result<(), ClockError> {
        let limit = now_ms.saturating_add(self.max_future_skew_ms);
        if remote.wall_ms > limit {
            return Err(ClockError::TooFarInFuture {
                ahead_ms: remote.wall_ms - now_ms,
                max_ms: self.max_future_skew_ms,
            });
        }
        Ok(())
    }

    /// Takes in a remote reading: afterwards every local tick sorts after `remote`. A reading
    /// too far ahead of `now_ms` is refused and changes nothing (no peer drags this clock into
    /// the future).
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Result<(), ClockError> {
        self.check(remote, now_ms)?;
        let now = Hlc {
            wall_ms: now_ms,
            counter: 0,
        };
        self.last = self.last.max(remote.successor()).max(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SKEW: u64 = HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS;

    #[test]
    fn ticks_are_monotonic_even_when_physical_time_goes_back() {
        let mut c = HlcClock::new(SKEW);
        let a = c.tick(1_000);
        let b = c.tick(1_000);
        let d = c.tick(500); // the wall clock was set back
        let e = c.tick(2_000);
        assert!(a < b && b < d && d < e);
        assert_eq!(d.wall_ms, 1_000);
        assert_eq!(
            e,
            Hlc {
                wall_ms: 2_000,
                counter: 0
            }
        );
    }

    #[test]
    fn observing_a_remote_stamp_moves_past_it() {
        let mut c = HlcClock::new(SKEW);
        c.tick(1_000);
        let remote = Hlc {
            wall_ms: 5_000,
            counter: 7,
        };
        c.observe(remote, 1_001).unwrap();
        let next = c.tick(1_002);
        assert!(next > remote);
        assert_eq!(
            next,
            Hlc {
                wall_ms: 5_000,
                counter: 9
            }
        );
    }

    #[test]
    fn far_future_stamp_is_refused_with_a_reason_and_leaves_the_clock_alone() {
        let mut c = HlcClock::new(60_000);
        c.tick(1_000);
        let before = c.last();
        let err = c
            .observe(
                Hlc {
                    wall_ms: 1_000 + 60_001,
                    counter: 0,
                },
                1_000,
            )
            .unwrap_err();
        assert_eq!(
            err,
            ClockError::TooFarInFuture {
                ahead_ms: 60_001,
                max_ms: 60_000
            }
        );
        assert_eq!(c.last(), before);
        // Exactly at the bound is accepted.
        c.observe(
            Hlc {
                wall_ms: 61_000,
                counter: 0,
            },
            1_000,
        )
        .unwrap();
    }

    #[test]
    fn a_peer_cannot_stop_local_writes_by_exhausting_the_counter() {
        // A remote stamp within the accepted skew, with the counter at its end.
        let mut c = HlcClock::new(SKEW);
        let remote = Hlc {
            wall_ms: 1_000 + SKEW,
            counter: u32::MAX,
        };
        c.observe(remote, 1_000).unwrap();
        let next = c.tick(1_000);
        assert!(next > remote, "{next:?} after {remote:?}");
        assert_eq!(
            next,
            Hlc {
                wall_ms: 1_001 + SKEW,
                counter: 1
            }
        );
        let again = c.tick(1_000);
        assert!(again > next);
        // Observing it once more, or one just below, moves nothing backwards.
        c.observe(remote, 1_000).unwrap();
        assert!(c.tick(1_000) > again);
        // Time moving on takes over again.
        assert_eq!(
            c.tick(2_000 + SKEW),
            Hlc {
                wall_ms: 2_000 + SKEW,
                counter: 0
            }
        );
    }

    #[test]
    fn stamps_order_totally_with_ties_broken_by_device() {
        let hlc = Hlc {
            wall_ms: 7,
            counter: 1,
        };
        let low = Stamp {
            hlc,
            device: DeviceId([1; 32]),
        };
        let high = Stamp {
            hlc,
            device: DeviceId([2; 32]),
        };
        assert!(low < high);
        let later = Stamp {
            hlc: Hlc {
                wall_ms: 7,
                counter: 2,
            },
            device: DeviceId([0; 32]),
        };
        assert!(high < later);
    }

    proptest! {
        #[test]
        fn any_interleaving_of_ticks_and_observations_is_strictly_increasing(
            events in proptest::collection::vec((any::<bool>(), 0u64..10_000, 0u64..10_000, 0u32..5), 1..200)
        ) {
            let mut c = HlcClock::new(SKEW);
            let mut prev = c.last();
            for (is_tick, now, remote_wall, remote_counter) in events {
                if is_tick {
                    let t = c.tick(now);
                    prop_assert!(t > prev);
                    prev = t;
                } else {
                    let remote = Hlc { wall_ms: remote_wall, counter: remote_counter };
                    c.observe(remote, now).unwrap();
                    prop_assert!(c.last() > remote);
                    prop_assert!(c.last() > prev || c.last() == prev);
                    prev = c.last();
                    let t = c.tick(now);
                    prop_assert!(t > remote && t > prev);
                    prev = t;
                }
            }
        }
    }
}
