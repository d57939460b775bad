//! Device and space keys.
//!
//! This module owns the device identity ([`DeviceKeys`]): one 32-byte seed from which both the
//! Ed25519 signing key (the public half is the [`DeviceId`]) and, through HKDF-SHA256 with its
//! own info string, the static X25519 key that space keys are wrapped to are derived. It also
//! owns the 256-bit [`SpaceKey`] and the free [`verify`] function that checks a device's
//! signature without any secret.
//!
//! Secret bytes are zeroized on drop and never appear in `Debug` output. The one exception is
//! ring's `Ed25519KeyPair`, which holds the expanded signing scalar and does not zeroize it;
//! the seed it comes from is zeroized here.

use core::fmt;

use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use x25519_dalek::{PublicKey, SharedSecret, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::ids::DeviceId;

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// HKDF salt and info that turn the device seed into its X25519 secret. Changing either changes
/// every device's X25519 key, so they are versioned.
const X25519_SALT: &[u8] = b"krizlink/device-seed/v1";
const X25519_INFO: &[u8] = b"krizlink/x25519/v1";
/// Domain tag of the signature that ties a device's X25519 public key to its device id.
const X25519_BINDING_TAG: &[u8] = b"krizlink/x25519-binding/v1\0";

/// The operating system gave no random numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system gave no random numbers")]
pub struct RandomError;

/// A signature did not verify: it was not made by that device's key over exactly that message,
/// or the device id is not a valid Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not match the device and the message")]
pub struct SignatureError;

/// Fills `out` with random bytes from the operating system.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), RandomError> {
    SystemRandom::new().fill(out).map_err(|_| RandomError)
}

/// A 32-byte output length for HKDF.
struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA256 to 32 bytes. Cannot fail: ring refuses only outputs longer than 255 × 32 bytes.
pub(crate) fn hkdf32(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    let filled = prk
        .expand(info, Len32)
        .and_then(|okm| okm.fill(&mut out[..]));
    debug_assert!(filled.is_ok(), "HKDF-SHA256 can always produce 32 bytes");
    out
}

/// A device's keys, all derived from one 32-byte seed (kept in the sealed keystore).
pub struct DeviceKeys {
    seed: Zeroizing<[u8; 32]>,
    signing: Ed25519KeyPair,
    device: DeviceId,
    x25519: StaticSecret,
    x25519_public: [u8; 32],
}

impl DeviceKeys {
    /// A new device identity from a fresh random seed.
    pub fn generate() -> Result<DeviceKeys, RandomError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        fill_random(&mut seed[..])?;
        Ok(DeviceKeys::from_seed(&seed))
    }

    /// The keys belonging to `seed`. The same seed always gives the same keys.
    pub fn from_seed(seed: &[u8; 32]) -> DeviceKeys {
        // ring checks only the seed's length, which the type fixes: this cannot fail.
        #[allow(clippy::expect_used)]
        let signing =
            Ed25519KeyPair::from_seed_unchecked(seed).expect("an Ed25519 seed of 32 bytes");
        let mut device = [0u8; 32];
        device.copy_from_slice(signing.public_key().as_ref());
        let x_bytes = hkdf32(X25519_SALT, seed, &[X25519_INFO]);
        let x25519 = StaticSecret::from(*x_bytes);
        let x25519_public = PublicKey::from(&x25519).to_bytes();
        DeviceKeys {
            seed: Zeroizing::new(*seed),
            signing,
            device: DeviceId(device),
            x25519,
            x25519_public,
        }
    }

    /// The seed, for the keystore to seal. Handle with care: it is the whole identity.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The device id: the Ed25519 public key.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// Signs `msg` with the device key.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let sig = self.signing.sign(msg);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(sig.as_ref());
        out
    }

    /// The public half of the device's X25519 key, which others wrap space keys to. It is not
    /// derivable from the device id, so it travels with it (signed by the device key).
    pub fn x25519_public(&self) -> [u8; 32] {
        self.x25519_public
    }

    /// This device's signature over its X25519 public key, so that whoever wraps a space key to
    /// it can check (with [`verify_x25519_binding`]) that the key belongs to the device id.
    pub fn x25519_binding(&self) -> [u8; SIGNATURE_LEN] {
        self.sign(&x25519_binding_message(&self.device, &self.x25519_public))
    }

    /// X25519 agreement between this device's static secret and `their_public`.
    pub(crate) fn x25519_agree(&self, their_public: &[u8; 32]) -> SharedSecret {
        self.x25519.diffie_hellman(&PublicKey::from(*their_public))
    }
}

impl fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKeys")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// Checks that `sig` is `device`'s Ed25519 signature over `msg`.
pub fn verify(
    device: &DeviceId,
    msg: &[u8],
    sig: &[u8; SIGNATURE_LEN],
) -> Result<(), SignatureError> {
    UnparsedPublicKey::new(&signature::ED25519, device.as_bytes())
        .verify(msg, sig)
        .map_err(|_| SignatureError)
}

fn x25519_binding_message(device: &DeviceId, x25519_public: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(X25519_BINDING_TAG.len() + 64);
    msg.extend_from_slice(X25519_BINDING_TAG);
    msg.extend_from_slice(device.as_bytes());
    msg.extend_from_slice(x25519_public);
    msg
}

/// Checks that `x25519_public` was published by `device` ([`DeviceKeys::x25519_binding`]).
pub fn verify_x25519_binding(
    device: &DeviceId,
    x25519_public: &[u8; 32],
    sig: &[u8; SIGNATURE_LEN],
) -> Result<(), SignatureError> {
    verify(device, &x25519_binding_message(device, x25519_public), sig)
}

/// A space's 256-bit symmetric key for one epoch. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SpaceKey([u8; 32]);

impl SpaceKey {
    /// A fresh random key.
    pub fn generate() -> Result<SpaceKey, RandomError> {
        let mut key = SpaceKey([0u8; 32]);
        fill_random(&mut key.0)?;
        Ok(key)
    }

    /// A key from its bytes (read from the keystore or unwrapped from an invitation).
    pub fn from_bytes(bytes: [u8; 32]) -> SpaceKey {
        SpaceKey(bytes)
    }

    /// The key bytes, for wrapping it to a new member.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SpaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpaceKey(..)")
    }
}

impl Serialize for SpaceKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SpaceKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut bytes = <[u8; 32]>::deserialize(deserializer)?;
        let key = SpaceKey(bytes);
        bytes.zeroize();
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_rejections() {
        let keys = DeviceKeys::from_seed(&[9; 32]);
        let msg = b"situacni zprava c. 3";
        let sig = keys.sign(msg);
        assert_eq!(verify(&keys.device_id(), msg, &sig), Ok(()));
        assert_eq!(
            verify(&keys.device_id(), b"situacni zprava c. 4", &sig),
            Err(SignatureError)
        );
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(verify(&keys.device_id(), msg, &bad), Err(SignatureError));
        let other = DeviceKeys::from_seed(&[8; 32]);
        assert_eq!(verify(&other.device_id(), msg, &sig), Err(SignatureError));
        // A device id that is not a curve point is a failed check, not a panic.
        assert_eq!(
            verify(&DeviceId([0xff; 32]), msg, &sig),
            Err(SignatureError)
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_keys_and_different_seeds_differ() {
        let a = DeviceKeys::from_seed(&[1; 32]);
        let b = DeviceKeys::from_seed(&[1; 32]);
        let c = DeviceKeys::generate().unwrap();
        assert_eq!(a.device_id(), b.device_id());
        assert_eq!(a.x25519_public(), b.x25519_public());
        assert_eq!(a.seed(), &[1; 32]);
        assert_ne!(a.device_id(), c.device_id());
        assert_ne!(a.x25519_public(), c.x25519_public());
        // The X25519 key is domain-separated from the Ed25519 one.
        assert_ne!(a.x25519_public(), a.device_id().0);
    }

    #[test]
    fn x25519_agreement_is_symmetric() {
        let a = DeviceKeys::from_seed(&[1; 32]);
        let b = DeviceKeys::from_seed(&[2; 32]);
        let ab = a.x25519_agree(&b.x25519_public());
        let ba = b.x25519_agree(&a.x25519_public());
        assert_eq!(ab.as_bytes(), ba.as_bytes());
    }

    #[test]
    fn x25519_binding_ties_the_key_to_the_device() {
        let a = DeviceKeys::from_seed(&[1; 32]);
        let b = DeviceKeys::from_seed(&[2; 32]);
        let sig = a.x25519_binding();
        assert_eq!(
            verify_x25519_binding(&a.device_id(), &a.x25519_public(), &sig),
            Ok(())
        );
        assert_eq!(
            verify_x25519_binding(&a.device_id(), &b.x25519_public(), &sig),
            Err(SignatureError)
        );
        assert_eq!(
            verify_x25519_binding(&b.device_id(), &a.x25519_public(), &sig),
            Err(SignatureError)
        );
        // Not interchangeable with a plain signature over the key bytes.
        let plain = a.sign(&a.x25519_public());
        assert_eq!(
            verify_x25519_binding(&a.device_id(), &a.x25519_public(), &plain),
            Err(SignatureError)
        );
    }

    #[test]
    fn debug_output_shows_no_secret_bytes() {
        let keys = DeviceKeys::from_seed(&[0xab; 32]);
        let text = format!("{keys:?}");
        assert!(!text.contains("abab"), "{text}");
        let key = SpaceKey::from_bytes([0xcd; 32]);
        let text = format!("{key:?}");
        assert_eq!(text, "SpaceKey(..)");
    }

    #[test]
    fn space_keys_are_random_and_serialize_as_32_bytes() {
        let a = SpaceKey::generate().unwrap();
        let b = SpaceKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        let bytes = postcard::to_allocvec(&a).unwrap();
        assert_eq!(bytes.len(), 32);
        let back: SpaceKey = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.as_bytes(), a.as_bytes());
    }
}
