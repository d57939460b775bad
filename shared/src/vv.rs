//! Version vectors: for each device, the highest sequence number a replica holds with no gaps
//! before it. Comparing two vectors tells each side exactly which operations the other lacks,
//! which is the whole of anti-entropy sync.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, OpId};

/// Per device, the contiguous prefix of its operations that a replica has applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<DeviceId, u64>);

/// A run of one device's operations, by sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRange {
    pub device: DeviceId,
    pub seqs: RangeInclusive<u64>,
}

impl OpRange {
    pub fn len(&self) -> u64 {
        self.seqs.end() - self.seqs.start() + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn ids(&self) -> impl Iterator<Item = OpId> + '_ {
        let device = self.device;
        self.seqs.clone().map(move |seq| OpId { device, seq })
    }
}

impl VersionVector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest contiguous sequence number held for `device` (0: none).
    pub fn get(&self, device: &DeviceId) -> u64 {
        self.0.get(device).copied().unwrap_or(0)
    }

    /// Whether the operation `id` is covered.
    pub fn contains(&self, id: &OpId) -> bool {
        id.seq != 0 && id.seq <= self.get(&id.device)
    }

    /// Records that `device`'s operations up to `seq` are held (never moves backwards).
    pub fn advance(&mut self, device: DeviceId, seq: u64) {
        if seq == 0 {
            return;
        }
        let entry = self.0.entry(device).or_insert(0);
        *entry = (*entry).max(seq);
    }

    pub fn devices(&self) -> impl Iterator<Item = (&DeviceId, &u64)> {
        self.0.iter()
    }

    /// Number of operations covered.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The operations `other` holds that `self` lacks, one range per device.
    pub fn missing_from(&self, other: &VersionVector) -> Vec<OpRange> {
        other
            .0
            .iter()
            .filter_map(|(device, &theirs)| {
                let mine = self.get(device);
                (theirs > mine).then(|| OpRange {
                    device: *device,
                    seqs: mine + 1..=theirs,
                })
            })
            .collect()
    }

    /// Whether `self` covers everything `other` covers.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        self.missing_from(other).is_empty()
    }

    /// The vector covering both.
    pub fn merge(&mut self, other: &VersionVector) {
        for (device, &seq) in &other.0 {
            self.advance(*device, seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(n: u8) -> DeviceId {
        DeviceId([n; 32])
    }

    #[test]
    fn each_side_learns_what_the_other_lacks() {
        let mut a = VersionVector::new();
        a.advance(d(1), 5);
        a.advance(d(2), 2);
        let mut b = VersionVector::new();
        b.advance(d(1), 3);
        b.advance(d(3), 4);
        assert_eq!(
            b.missing_from(&a),
            vec![
                OpRange {
                    device: d(1),
                    seqs: 4..=5
                },
                OpRange {
                    device: d(2),
                    seqs: 1..=2
                }
            ]
        );
        assert_eq!(
            a.missing_from(&b),
            vec![OpRange {
                device: d(3),
                seqs: 1..=4
            }]
        );
        assert!(!a.dominates(&b));
        a.merge(&b);
        assert!(a.dominates(&b));
        assert_eq!(a.total(), 5 + 2 + 4);
        assert!(a.contains(&OpId {
            device: d(3),
            seq: 4
        }));
        assert!(!a.contains(&OpId {
            device: d(3),
            seq: 5
        }));
    }

    proptest! {
        #[test]
        fn sending_the_missing_ranges_makes_both_equal(
            xs in proptest::collection::vec((0u8..5, 0u64..20), 0..10),
            ys in proptest::collection::vec((0u8..5, 0u64..20), 0..10),
        ) {
            let mut a = VersionVector::new();
            for (dev, seq) in xs { a.advance(d(dev), seq); }
            let mut b = VersionVector::new();
            for (dev, seq) in ys { b.advance(d(dev), seq); }
            let (a0, b0) = (a.clone(), b.clone());
            for r in a0.missing_from(&b0) { a.advance(r.device, *r.seqs.end()); }
            for r in b0.missing_from(&a0) { b.advance(r.device, *r.seqs.end()); }
            prop_assert!(a.dominates(&b) && b.dominates(&a));
            prop_assert_eq!(a.total(), b.total());
        }
    }
}
