//! The signed member list of a space: which devices are its members, and nothing else (no
//! names, roles or content). A blind relay stores and forwards an envelope only if its author
//! is on the newest list it holds (issue 13, property 3); it cannot read the member records
//! themselves.
//!
//! A list is issued (signed) by a device of the space's chair or secretary and names, besides
//! the member devices, the *issuers*: the devices whose later lists count. A holder keeps a
//! short chain of the newest lists ([`MemberLists`], at most [`MAX_LIST_CHAIN`]) and takes a
//! newer one only from a trusted issuer: one named by the newest list it holds, or one it
//! trusts from elsewhere (a relay: the chair or secretary that granted it; a member: the chair
//! and secretaries of its own replica). Peers hand each other the lists newer than the
//! puller's (see `sync::proto::Request::Pull`), oldest first, so a relay that missed a list
//! which named a new issuer still follows the chain.
//!
//! Lists are ordered by `(version, digest of the issuer and its signature)` — the signature
//! covers everything else, so the digest names the content without encoding it — so two lists issued
//! concurrently with one version are ordered the same everywhere; the issuer of the loser
//! issues a list with both sets of devices on top (issuers only ever add devices, see
//! `node::member_lists`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bounded::BoundedVec;
use crate::engine::envelope::Signature;
use crate::engine::keys::{self, DeviceKeys};
use crate::ids::{DeviceId, SpaceId};

/// Most member devices one list names (32 bytes each: 32 KiB).
pub const MAX_LISTED_DEVICES: usize = 1024;
/// Most issuers one list names.
pub const MAX_ISSUERS: usize = 64;
/// Most lists a holder keeps and a pull answer carries.
pub const MAX_LIST_CHAIN: usize = 4;

const SIGNING_DOMAIN: &[u8] = b"krizlink/member-list/v1";

/// Where a holder's chain stands: the newest list's version and digest (zeros: no list).
pub type ListMark = (u64, [u8; 8]);

/// Why a member list is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberListError {
    #[error("a member list names at most {MAX_LISTED_DEVICES} devices; this space has more")]
    TooManyDevices,
    #[error("a member list names at most {MAX_ISSUERS} issuers; this space has more")]
    TooManyIssuers,
    #[error("the member list is not signed by the device it names as its issuer")]
    BadSignature,
    #[error("the member list's devices are not sorted without repeats")]
    NotCanonical,
    #[error("the member list is for another space")]
    OtherSpace,
    #[error("the member list was issued by device {0}, which may not issue member lists here")]
    UntrustedIssuer(DeviceId),
}

/// One signed member list (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    pub space: SpaceId,
    pub version: u64,
    pub issuer: DeviceId,
    /// The member devices, sorted, without repeats.
    pub devices: BoundedVec<DeviceId, MAX_LISTED_DEVICES>,
    /// The devices whose later lists count, sorted, without repeats.
    pub issuers: BoundedVec<DeviceId, MAX_ISSUERS>,
    pub signature: Signature,
}

/// The signed part, in encoding order.
#[derive(Serialize)]
struct Signed<'a> {
    space: &'a SpaceId,
    version: u64,
    issuer: &'a DeviceId,
    devices: &'a [DeviceId],
    issuers: &'a [DeviceId],
}

fn sorted_unique(ids: &[DeviceId]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

impl MemberList {
    /// A list of `devices` and `issuers` for `space`, signed by `keys`.
    pub fn issue(
        keys: &DeviceKeys,
        space: SpaceId,
        version: u64,
        devices: &BTreeSet<DeviceId>,
        issuers: &BTreeSet<DeviceId>,
    ) -> Result<MemberList, MemberListError> {
        let devices: BoundedVec<DeviceId, MAX_LISTED_DEVICES> = devices
            .iter()
            .copied()
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| MemberListError::TooManyDevices)?;
        let issuers: BoundedVec<DeviceId, MAX_ISSUERS> = issuers
            .iter()
            .copied()
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| MemberListError::TooManyIssuers)?;
        let mut list = MemberList {
            space,
            version,
            issuer: keys.device_id(),
            devices,
            issuers,
            signature: Signature([0; keys::SIGNATURE_LEN]),
        };
        list.signature = Signature(keys.sign(&list.signed_bytes()));
        Ok(list)
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let signed = Signed {
            space: &self.space,
            version: self.version,
            issuer: &self.issuer,
            devices: &self.devices,
            issuers: &self.issuers,
        };
        let mut out = SIGNING_DOMAIN.to_vec();
        // Encoding a struct of slices into a Vec cannot fail.
        out.extend(postcard::to_allocvec(&signed).unwrap_or_default());
        out
    }

    /// Checks the form (sorted, no repeats) and the issuer's signature; not whether the issuer
    /// is trusted (that is [`MemberLists::accept`]).
    pub fn verify(&self) -> Result<(), MemberListError> {
        if !sorted_unique(&self.devices) || !sorted_unique(&self.issuers) {
            return Err(MemberListError::NotCanonical);
        }
        keys::verify(&self.issuer, &self.signed_bytes(), &self.signature.0)
            .map_err(|_| MemberListError::BadSignature)
    }

    /// Its place in the order of lists: version, then the first 8 bytes of SHA-256 of the
    /// issuer and the signature (which covers the rest; asked on every pull, so the list is
    /// not encoded for it).
    pub fn mark(&self) -> ListMark {
        let mut hasher = Sha256::new();
        hasher.update(self.issuer.as_bytes());
        hasher.update(self.signature.0);
        let digest = hasher.finalize();
        let mut short = [0u8; 8];
        short.copy_from_slice(&digest[..8]);
        (self.version, short)
    }

    /// Whether `device` is a member according to this list.
    pub fn lists(&self, device: &DeviceId) -> bool {
        self.devices.binary_search(device).is_ok()
    }

    pub fn devices(&self) -> BTreeSet<DeviceId> {
        self.devices.iter().copied().collect()
    }

    pub fn issuers(&self) -> BTreeSet<DeviceId> {
        self.issuers.iter().copied().collect()
    }
}

/// The newest member lists a device holds for one space, oldest first (at most
/// [`MAX_LIST_CHAIN`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLists {
    chain: Vec<MemberList>,
}

impl MemberLists {
    pub fn newest(&self) -> Option<&MemberList> {
        self.chain.last()
    }

    /// Whether an older list held names `device` and the newest does not: it was removed.
    pub fn dropped(&self, device: &DeviceId) -> bool {
        match self.chain.split_last() {
            Some((newest, older)) => !newest.lists(device) && older.iter().any(|l| l.lists(device)),
            None => false,
        }
    }

    /// The newest list's mark, or zeros.
    pub fn mark(&self) -> ListMark {
        self.newest().map_or((0, [0; 8]), MemberList::mark)
    }

    /// The lists newer than `mark`, oldest first.
    pub fn newer_than(&self, mark: ListMark) -> Vec<MemberList> {
        self.chain
            .iter()
            .filter(|l| l.mark() > mark)
            .cloned()
            .collect()
    }

    /// Whether `device` is on the newest list (false without one).
    pub fn lists(&self, device: &DeviceId) -> bool {
        self.newest().is_some_and(|l| l.lists(device))
    }

    /// Takes `list` for `space` if it is newer than the newest held, verifies, and its issuer
    /// is named by the newest list held or is `trusted`. `Ok(false)`: not newer (nothing to
    /// do, not an error: peers hand each other lists that may cross).
    pub fn accept(
        &mut self,
        space: SpaceId,
        list: MemberList,
        trusted: &BTreeSet<DeviceId>,
    ) -> Result<bool, MemberListError> {
        if list.space != space {
            return Err(MemberListError::OtherSpace);
        }
        if list.mark() <= self.mark() {
            return Ok(false);
        }
        list.verify()?;
        let by_chain = self
            .newest()
            .is_some_and(|newest| newest.issuers.binary_search(&list.issuer).is_ok());
        if !by_chain && !trusted.contains(&list.issuer) {
            return Err(MemberListError::UntrustedIssuer(list.issuer));
        }
        self.chain.push(list);
        if self.chain.len() > MAX_LIST_CHAIN {
            self.chain.remove(0);
        }
        Ok(true)
    }

    /// Takes every list of `lists` in order (see [`MemberLists::accept`]): how many were
    /// taken, and the first refusal.
    pub fn accept_all(
        &mut self,
        space: SpaceId,
        lists: Vec<MemberList>,
        trusted: &BTreeSet<DeviceId>,
    ) -> (usize, Option<MemberListError>) {
        let mut sorted = lists;
        sorted.sort_by_key(MemberList::mark);
        let mut taken = 0;
        let mut refused = None;
        for list in sorted.into_iter().take(MAX_LIST_CHAIN * 4) {
            match self.accept(space, list, trusted) {
                Ok(true) => taken += 1,
                Ok(false) => {}
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        (taken, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(seed: u8) -> DeviceKeys {
        DeviceKeys::from_seed(&[seed; 32])
    }

    fn set(ids: &[&DeviceKeys]) -> BTreeSet<DeviceId> {
        ids.iter().map(|k| k.device_id()).collect()
    }

    const SPACE: SpaceId = SpaceId([7; 16]);

    #[test]
    fn a_list_verifies_and_any_change_to_it_does_not() {
        let (chair, member) = (keys(1), keys(2));
        let list =
            MemberList::issue(&chair, SPACE, 1, &set(&[&chair, &member]), &set(&[&chair])).unwrap();
        list.verify().unwrap();
        assert!(list.lists(&member.device_id()) && !list.lists(&keys(3).device_id()));

        let mut added = list.clone();
        added.devices = vec![chair.device_id(), member.device_id(), keys(3).device_id()]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        assert_eq!(added.verify(), Err(MemberListError::BadSignature));
        let mut other_issuer = list.clone();
        other_issuer.issuer = member.device_id();
        assert_eq!(other_issuer.verify(), Err(MemberListError::BadSignature));
        let mut newer = list.clone();
        newer.version = 2;
        assert_eq!(newer.verify(), Err(MemberListError::BadSignature));
        let mut unsorted = list.clone();
        unsorted.devices = vec![member.device_id(), member.device_id()]
            .try_into()
            .unwrap();
        assert_eq!(unsorted.verify(), Err(MemberListError::NotCanonical));
    }

    #[test]
    fn only_a_trusted_issuer_or_one_the_chain_names_moves_the_list_on() {
        let (chair, secretary, member, stranger) = (keys(1), keys(2), keys(3), keys(4));
        let mut held = MemberLists::default();
        let trusted = set(&[&chair]);
        // A list from anyone but the trusted chair is refused, and changes nothing.
        let forged =
            MemberList::issue(&stranger, SPACE, 9, &set(&[&stranger]), &set(&[&stranger])).unwrap();
        assert_eq!(
            held.accept(SPACE, forged.clone(), &trusted),
            Err(MemberListError::UntrustedIssuer(stranger.device_id()))
        );
        assert_eq!(held.mark(), (0, [0; 8]));
        // The chair names the secretary an issuer; the secretary's next list counts, even
        // when it arrives before the chair's (a chain handed over oldest first).
        let v1 = MemberList::issue(
            &chair,
            SPACE,
            1,
            &set(&[&chair, &secretary]),
            &set(&[&chair, &secretary]),
        )
        .unwrap();
        let v2 = MemberList::issue(
            &secretary,
            SPACE,
            2,
            &set(&[&chair, &secretary, &member]),
            &set(&[&chair, &secretary]),
        )
        .unwrap();
        assert_eq!(
            held.accept_all(SPACE, vec![v2.clone(), v1.clone()], &trusted),
            (2, None)
        );
        assert!(held.lists(&member.device_id()));
        // An older list, the same one again, or one for another space changes nothing.
        assert_eq!(held.accept(SPACE, v1, &trusted), Ok(false));
        assert_eq!(held.accept(SPACE, v2.clone(), &trusted), Ok(false));
        assert_eq!(
            held.accept(SpaceId([8; 16]), forged, &trusted),
            Err(MemberListError::OtherSpace)
        );
        assert_eq!(held.newer_than((1, [0xff; 8])), vec![v2]);
        assert_eq!(held.newer_than(held.mark()), Vec::new());
    }

    #[test]
    fn the_chain_keeps_only_the_newest_lists() {
        let chair = keys(1);
        let mut held = MemberLists::default();
        for version in 1..=10 {
            let list = MemberList::issue(&chair, SPACE, version, &set(&[&chair]), &set(&[&chair]))
                .unwrap();
            assert_eq!(held.accept(SPACE, list, &set(&[&chair])), Ok(true));
        }
        assert_eq!(held.chain.len(), MAX_LIST_CHAIN);
        assert_eq!(held.newest().map(|l| l.version), Some(10));
        assert_eq!(held.newer_than((0, [0; 8])).len(), MAX_LIST_CHAIN);
    }

    #[test]
    fn a_list_decodes_only_within_its_bounds() {
        let chair = keys(1);
        let list = MemberList::issue(&chair, SPACE, 1, &set(&[&chair]), &set(&[&chair])).unwrap();
        let bytes = postcard::to_allocvec(&list).unwrap();
        assert_eq!(postcard::from_bytes::<MemberList>(&bytes).unwrap(), list);
        let too_many: BTreeSet<DeviceId> = (0..=MAX_LISTED_DEVICES as u32)
            .map(|i| {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&i.to_be_bytes());
                DeviceId(id)
            })
            .collect();
        assert_eq!(
            MemberList::issue(&chair, SPACE, 1, &too_many, &set(&[&chair])),
            Err(MemberListError::TooManyDevices)
        );
    }
}
