//! Key rotation: one message that hands a new space key to every remaining device.
//!
//! When a member is removed or a device revoked, the remover draws a fresh space key for the
//! next epoch and wraps it to each remaining device in one message carried by the removal's
//! member-record operation (`MemberRekey`). One ephemeral X25519 secret serves the whole
//! message; for each recipient, X25519(ephemeral, recipient) → HKDF-SHA256 (salt
//! `"krizlink/rekey/v1"`, info = space ‖ epoch ‖ recipient device id ‖ ephemeral public) gives
//! a one-time AES-256-GCM key (all-zero nonce: each key seals once). A slot is the first 8 bytes
//! of the recipient's device id and the sealed key with its tag: 56 bytes per device, plus 32
//! for the ephemeral key and a few for the header.
//!
//! A recipient's X25519 key is the one its member record publishes (`MemberKey`), checked
//! against the device id by its binding signature before anything is wrapped to it.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::engine::keys::{fill_random, verify_x25519_binding, DeviceKeys, SpaceKey};
use crate::ids::{DeviceId, SpaceId};
use crate::record::MEMBER_KEY_BYTES;

const REKEY_SALT: &[u8] = b"krizlink/rekey/v1";
/// The control key of an exercise handed to its controllers: the same message, another salt,
/// so neither can be taken for the other.
const CONTROL_SALT: &[u8] = b"krizlink/exercise-control/v1";

/// What a wrapped key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The space key of a new epoch (`MemberRekey`).
    SpaceKey,
    /// An exercise's control key, which seals its scenario (`ControlWrap`).
    ExerciseControl,
}

impl Purpose {
    fn salt(self) -> &'static [u8] {
        match self {
            Purpose::SpaceKey => REKEY_SALT,
            Purpose::ExerciseControl => CONTROL_SALT,
        }
    }
}
const SEALED_LEN: usize = 32 + 16;
/// Most recipients of one rotation (it must fit in one member-record operation).
pub const MAX_RECIPIENTS: usize = 1_100;

/// Why a rotation could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RekeyError {
    #[error("{0} devices remain; one key rotation reaches at most {MAX_RECIPIENTS}")]
    TooManyDevices(usize),
    #[error("the published key of device {0} is not bound to it by its signature")]
    BadBinding(String),
    #[error("the key rotation is malformed")]
    Malformed,
    #[error("the key rotation holds no key for this device")]
    NotARecipient,
    #[error("the crypto library refused a key, or no random numbers")]
    Crypto,
}

/// One recipient's share: the first 8 bytes of its device id and its sealed key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub device: [u8; 8],
    pub sealed: [u8; 32],
    pub tag: [u8; 16],
}

/// The rotation message: the new epoch's key for each remaining device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rekey {
    pub space: SpaceId,
    pub epoch: u32,
    pub ephemeral: [u8; 32],
    pub slots: Vec<Slot>,
}

/// A device's published X25519 key: the public key and its binding signature, as a member
/// record carries it.
pub fn member_key(keys: &DeviceKeys) -> Vec<u8> {
    let mut out = Vec::with_capacity(MEMBER_KEY_BYTES);
    out.extend_from_slice(&keys.x25519_public());
    out.extend_from_slice(&keys.x25519_binding());
    out
}

/// The X25519 public key `published` names for `device`, if its binding signature holds.
pub fn checked_member_key(device: &DeviceId, published: &[u8]) -> Result<[u8; 32], RekeyError> {
    let bad = || RekeyError::BadBinding(device.short());
    if published.len() != MEMBER_KEY_BYTES {
        return Err(bad());
    }
    let mut public = [0u8; 32];
    public.copy_from_slice(&published[..32]);
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&published[32..]);
    verify_x25519_binding(device, &public, &sig).map_err(|_| bad())?;
    Ok(public)
}

fn slot_key(
    purpose: Purpose,
    shared: &[u8; 32],
    space: SpaceId,
    epoch: u32,
    device: &DeviceId,
    ephemeral: &[u8; 32],
) -> Result<LessSafeKey, RekeyError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, purpose.salt()).extract(shared);
    let epoch = epoch.to_be_bytes();
    let info: [&[u8]; 4] = [&space.0, &epoch, device.as_bytes(), ephemeral];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .map_err(|_| RekeyError::Crypto)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

impl Rekey {
    /// Wraps `key` (epoch `epoch` of `space`) to each of `recipients` (device id and its
    /// checked X25519 public key).
    pub fn seal(
        space: SpaceId,
        epoch: u32,
        key: &SpaceKey,
        recipients: &[(DeviceId, [u8; 32])],
    ) -> Result<Rekey, RekeyError> {
        Rekey::seal_for(Purpose::SpaceKey, space, epoch, key, recipients)
    }

    /// [`Rekey::seal`] for a purpose.
    pub fn seal_for(
        purpose: Purpose,
        space: SpaceId,
        epoch: u32,
        key: &SpaceKey,
        recipients: &[(DeviceId, [u8; 32])],
    ) -> Result<Rekey, RekeyError> {
        if recipients.len() > MAX_RECIPIENTS {
            return Err(RekeyError::TooManyDevices(recipients.len()));
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        fill_random(&mut secret[..]).map_err(|_| RekeyError::Crypto)?;
        let ephemeral = StaticSecret::from(*secret);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let mut slots = Vec::with_capacity(recipients.len());
        for (device, public) in recipients {
            let shared = ephemeral.diffie_hellman(&PublicKey::from(*public));
            if !shared.was_contributory() {
                return Err(RekeyError::BadBinding(device.short()));
            }
            let sealer = slot_key(
                purpose,
                shared.as_bytes(),
                space,
                epoch,
                device,
                &ephemeral_public,
            )?;
            let mut sealed = *key.as_bytes();
            let tag = sealer
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([0; NONCE_LEN]),
                    Aad::empty(),
                    &mut sealed,
                )
                .map_err(|_| RekeyError::Crypto)?;
            let mut prefix = [0u8; 8];
            prefix.copy_from_slice(&device.as_bytes()[..8]);
            let mut tag_bytes = [0u8; 16];
            tag_bytes.copy_from_slice(tag.as_ref());
            slots.push(Slot {
                device: prefix,
                sealed,
                tag: tag_bytes,
            });
        }
        Ok(Rekey {
            space,
            epoch,
            ephemeral: ephemeral_public,
            slots,
        })
    }

    /// This device's key from the rotation.
    pub fn open(&self, keys: &DeviceKeys) -> Result<SpaceKey, RekeyError> {
        self.open_for(Purpose::SpaceKey, keys)
    }

    /// Whether the message holds a slot for `device` (by its id's first 8 bytes).
    pub fn names(&self, device: &DeviceId) -> bool {
        self.slots
            .iter()
            .any(|s| s.device == device.as_bytes()[..8])
    }

    /// [`Rekey::open`] for a purpose.
    pub fn open_for(&self, purpose: Purpose, keys: &DeviceKeys) -> Result<SpaceKey, RekeyError> {
        let device = keys.device_id();
        let shared = keys.x25519_agree(&self.ephemeral);
        let opener = slot_key(
            purpose,
            shared.as_bytes(),
            self.space,
            self.epoch,
            &device,
            &self.ephemeral,
        )?;
        for slot in self
            .slots
            .iter()
            .filter(|s| s.device == device.as_bytes()[..8])
        {
            let mut buf = Zeroizing::new([0u8; SEALED_LEN]);
            buf[..32].copy_from_slice(&slot.sealed);
            buf[32..].copy_from_slice(&slot.tag);
            if let Ok(plain) = opener.open_in_place(
                Nonce::assume_unique_for_key([0; NONCE_LEN]),
                Aad::empty(),
                &mut buf[..],
            ) {
                let mut key = [0u8; 32];
                key.copy_from_slice(plain);
                return Ok(SpaceKey::from_bytes(key));
            }
        }
        Err(RekeyError::NotARecipient)
    }

    /// The canonical bytes a member record carries.
    pub fn encode(&self) -> Result<Vec<u8>, RekeyError> {
        postcard::to_allocvec(self).map_err(|_| RekeyError::Malformed)
    }

    /// Reads a rotation (bounded by the field's limit, checked when the operation was).
    pub fn decode(bytes: &[u8]) -> Result<Rekey, RekeyError> {
        let (rekey, rest): (Rekey, _) =
            postcard::take_from_bytes(bytes).map_err(|_| RekeyError::Malformed)?;
        if !rest.is_empty() || rekey.slots.len() > MAX_RECIPIENTS {
            return Err(RekeyError::Malformed);
        }
        Ok(rekey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_remaining_device_opens_the_new_key_and_the_removed_one_cannot() {
        let devices: Vec<DeviceKeys> = (0..5).map(|_| DeviceKeys::generate().unwrap()).collect();
        let removed = DeviceKeys::generate().unwrap();
        let recipients: Vec<(DeviceId, [u8; 32])> = devices
            .iter()
            .map(|k| {
                let published = member_key(k);
                (
                    k.device_id(),
                    checked_member_key(&k.device_id(), &published).unwrap(),
                )
            })
            .collect();
        let key = SpaceKey::generate().unwrap();
        let space = SpaceId([4; 16]);
        let rekey = Rekey::seal(space, 1, &key, &recipients).unwrap();
        let bytes = rekey.encode().unwrap();
        let per_device = (bytes.len() - 32) as f64 / 5.0;
        assert!(per_device <= 64.0, "{per_device} bytes per device");
        let back = Rekey::decode(&bytes).unwrap();
        for k in &devices {
            assert_eq!(back.open(k).unwrap().as_bytes(), key.as_bytes());
        }
        assert_eq!(back.open(&removed).err(), Some(RekeyError::NotARecipient));
        // Bound to its space and epoch, and to its purpose.
        let mut moved = back.clone();
        moved.epoch = 2;
        assert!(moved.open(&devices[0]).is_err());
        assert!(back
            .open_for(Purpose::ExerciseControl, &devices[0])
            .is_err());
        let control =
            Rekey::seal_for(Purpose::ExerciseControl, space, 0, &key, &recipients).unwrap();
        assert!(control.open(&devices[0]).is_err());
        assert!(control.names(&devices[0].device_id()));
        assert_eq!(
            control
                .open_for(Purpose::ExerciseControl, &devices[0])
                .unwrap()
                .as_bytes(),
            key.as_bytes()
        );
    }

    #[test]
    fn a_key_published_for_another_device_is_refused() {
        let a = DeviceKeys::generate().unwrap();
        let b = DeviceKeys::generate().unwrap();
        assert!(checked_member_key(&b.device_id(), &member_key(&a)).is_err());
        assert!(checked_member_key(&a.device_id(), &[0; 10]).is_err());
    }
}
