//! Receipts: a device's own signed statement of what it holds of a space.
//!
//! One receipt says, for one device, how far it holds each author's operations of the space
//! (its contiguous version vector), the newest key epoch it holds, and when (its wall clock). It
//! is signed by that device, so "delivered" is shown only when the receiving device itself said
//! so; a relay or any peer forwards receipts but cannot forge or alter one. Receipts are
//! aggregated — one per device, renewed when what it holds changes, never one per record — and
//! travel with pulls and their answers (`sync::proto`), through blind relays too.

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::engine::envelope::Signature;
use crate::engine::keys::{self, DeviceKeys};
use crate::ids::{DeviceId, SpaceId};
use crate::vv::VersionVector;

/// Most authors one receipt names (devices of a space tracked by receipts).
pub const MAX_RECEIPT_DEVICES: usize = 256;
/// Most receipts one pull or answer carries.
pub const MAX_RECEIPTS_PER_MESSAGE: usize = 64;
/// Most bytes of receipts one pull carries (an answer carries up to four times as many).
pub const RECEIPT_BYTES_PER_PULL: usize = 48 * 1024;

const SIGNING_DOMAIN: &[u8] = b"krizlink/receipt/v1";

/// Why a receipt is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("the receipt's signature does not hold")]
    BadSignature,
    #[error("the receipt is not in its canonical form")]
    NotCanonical,
    #[error("the space has more than {MAX_RECEIPT_DEVICES} writing devices; receipts name at most that many")]
    TooManyDevices,
}

/// What one device holds of one space, signed by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub space: SpaceId,
    pub device: DeviceId,
    /// Per author (sorted, no repeats): the highest sequence number held without a gap.
    pub have: BoundedVec<(DeviceId, u64), MAX_RECEIPT_DEVICES>,
    /// The newest key epoch the device holds (a relay: 0).
    pub epoch: u32,
    /// The device's wall clock when it signed (ms since 1970).
    pub at_ms: u64,
    pub signature: Signature,
}

#[derive(Serialize)]
struct Signed<'a> {
    space: &'a SpaceId,
    device: &'a DeviceId,
    have: &'a [(DeviceId, u64)],
    epoch: u32,
    at_ms: u64,
}

impl Receipt {
    /// `keys`' receipt for `space`: it holds `have` and keys up to `epoch`, at `at_ms`.
    pub fn sign(
        keys: &DeviceKeys,
        space: SpaceId,
        have: &VersionVector,
        epoch: u32,
        at_ms: u64,
    ) -> Result<Receipt, ReceiptError> {
        let entries: Vec<(DeviceId, u64)> = have
            .devices()
            .filter(|(_, s)| **s > 0)
            .map(|(d, s)| (*d, *s))
            .collect();
        let have = BoundedVec::try_from(entries).map_err(|_| ReceiptError::TooManyDevices)?;
        let mut receipt = Receipt {
            space,
            device: keys.device_id(),
            have,
            epoch,
            at_ms,
            signature: Signature([0; keys::SIGNATURE_LEN]),
        };
        receipt.signature = Signature(keys.sign(&receipt.signed_bytes()));
        Ok(receipt)
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let signed = Signed {
            space: &self.space,
            device: &self.device,
            have: &self.have,
            epoch: self.epoch,
            at_ms: self.at_ms,
        };
        let mut out = SIGNING_DOMAIN.to_vec();
        // Encoding a struct of slices into a Vec cannot fail.
        out.extend(postcard::to_allocvec(&signed).unwrap_or_default());
        out
    }

    /// Checks the form and the device's own signature.
    pub fn verify(&self) -> Result<(), ReceiptError> {
        let sorted = self.have.windows(2).all(|w| w[0].0 < w[1].0);
        if !sorted || self.have.iter().any(|(_, s)| *s == 0) {
            return Err(ReceiptError::NotCanonical);
        }
        keys::verify(&self.device, &self.signed_bytes(), &self.signature.0)
            .map_err(|_| ReceiptError::BadSignature)
    }

    /// How far the device holds `author`'s operations.
    pub fn holds(&self, author: &DeviceId) -> u64 {
        self.have
            .binary_search_by(|(d, _)| d.cmp(author))
            .map(|i| self.have[i].1)
            .unwrap_or(0)
    }

    /// Its size on the wire, roughly (for the per-message byte cap).
    pub fn wire_size(&self) -> usize {
        16 + 32 + self.have.len() * 40 + 4 + 8 + 64 + 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_holds_only_as_its_device_signed_it() {
        let keys = DeviceKeys::generate().unwrap();
        let mut have = VersionVector::new();
        have.advance(DeviceId([1; 32]), 7);
        have.advance(DeviceId([2; 32]), 3);
        let r = Receipt::sign(&keys, SpaceId([5; 16]), &have, 1, 1_790_000_000_000).unwrap();
        assert_eq!(r.verify(), Ok(()));
        assert_eq!(r.holds(&DeviceId([1; 32])), 7);
        assert_eq!(r.holds(&DeviceId([9; 32])), 0);
        let mut inflated = r.clone();
        inflated.have = vec![(DeviceId([1; 32]), 99), (DeviceId([2; 32]), 3)]
            .try_into()
            .unwrap();
        assert_eq!(inflated.verify(), Err(ReceiptError::BadSignature));
        let mut moved = r.clone();
        moved.epoch = 2;
        assert_eq!(moved.verify(), Err(ReceiptError::BadSignature));
        let mut unsorted = r;
        unsorted.have = vec![(DeviceId([2; 32]), 3), (DeviceId([1; 32]), 7)]
            .try_into()
            .unwrap();
        assert_eq!(unsorted.verify(), Err(ReceiptError::NotCanonical));
    }
}
