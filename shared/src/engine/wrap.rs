//! Wrapping a small secret (a space key) to one device's X25519 public key.
//!
//! This module owns the sealed-box construction used to hand space keys to new members:
//! a fresh ephemeral X25519 secret agrees with the recipient's static key; HKDF-SHA256
//! (salt `"krizlink/wrap/v1"`, info = ephemeral public ‖ recipient public ‖ caller's context)
//! turns the shared secret into a one-time AES-256-GCM key, used with the all-zero nonce (safe:
//! the key is never used twice, since the ephemeral secret is new every time). The context
//! (for example the invite id and both devices' keys) binds the wrapped secret to its purpose:
//! unwrapping with any other context fails.
//!
//! Low-order public keys (which would make the shared secret predictable) are refused on both
//! sides. Unwrapped bytes are returned in a buffer that is zeroized on drop.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, SharedSecret, StaticSecret};
use zeroize::Zeroizing;

use crate::bounded::BoundedVec;
use crate::engine::keys::{fill_random, DeviceKeys, SpaceKey};

/// Longest secret that can be wrapped.
pub const MAX_WRAPPED_SECRET: usize = 1024;
const TAG_LEN: usize = 16;
const WRAP_SALT: &[u8] = b"krizlink/wrap/v1";

/// Why a secret could not be wrapped or unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapError {
    #[error("the secret is {len} bytes; at most {max} can be wrapped")]
    TooLarge { len: usize, max: usize },
    #[error("the public key is of low order and cannot receive secrets")]
    WeakPublicKey,
    #[error("the wrapped secret is not for this device or this purpose, or it was altered")]
    DecryptFailed,
    #[error("the unwrapped secret has {got} bytes, {expected} were expected")]
    WrongLength { expected: usize, got: usize },
    #[error("the operating system gave no random numbers, or the crypto library refused a key")]
    Crypto,
}

/// A secret encrypted to one device's X25519 key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedSecret {
    /// The sender's one-time X25519 public key.
    pub ephemeral_public: [u8; 32],
    /// AES-256-GCM of the secret, tag appended.
    pub ciphertext: BoundedVec<u8, { MAX_WRAPPED_SECRET + TAG_LEN }>,
}

/// The one-time AEAD key from a shared secret.
fn wrap_key(
    shared: &SharedSecret,
    ephemeral_public: &[u8; 32],
    recipient_public: &[u8; 32],
    context: &[u8],
) -> Result<LessSafeKey, WrapError> {
    if !shared.was_contributory() {
        return Err(WrapError::WeakPublicKey);
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, WRAP_SALT).extract(shared.as_bytes());
    let info: [&[u8]; 3] = [ephemeral_public, recipient_public, context];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .map_err(|_| WrapError::Crypto)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// Encrypts `secret` (at most [`MAX_WRAPPED_SECRET`] bytes) so that only the device whose
/// X25519 public key is `recipient` can read it, and only with the same `context`.
pub fn wrap_secret(
    recipient: &[u8; 32],
    secret: &[u8],
    context: &[u8],
) -> Result<WrappedSecret, WrapError> {
    if secret.len() > MAX_WRAPPED_SECRET {
        return Err(WrapError::TooLarge {
            len: secret.len(),
            max: MAX_WRAPPED_SECRET,
        });
    }
    let mut ephemeral_bytes = Zeroizing::new([0u8; 32]);
    fill_random(&mut ephemeral_bytes[..]).map_err(|_| WrapError::Crypto)?;
    let ephemeral = StaticSecret::from(*ephemeral_bytes);
    let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&PublicKey::from(*recipient));
    let key = wrap_key(&shared, &ephemeral_public, recipient, context)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(secret.len() + TAG_LEN));
    buf.extend_from_slice(secret);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0; NONCE_LEN]),
        Aad::empty(),
        &mut *buf,
    )
    .map_err(|_| WrapError::Crypto)?;
    let ciphertext = BoundedVec::try_from(buf.to_vec()).map_err(|_| WrapError::TooLarge {
        len: secret.len(),
        max: MAX_WRAPPED_SECRET,
    })?;
    Ok(WrappedSecret {
        ephemeral_public,
        ciphertext,
    })
}

/// Decrypts a secret wrapped to this device with `context`.
pub fn unwrap_secret(
    keys: &DeviceKeys,
    wrapped: &WrappedSecret,
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>, WrapError> {
    let shared = keys.x25519_agree(&wrapped.ephemeral_public);
    let key = wrap_key(
        &shared,
        &wrapped.ephemeral_public,
        &keys.x25519_public(),
        context,
    )?;
    let mut buf = Zeroizing::new(wrapped.ciphertext.to_vec());
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key([0; NONCE_LEN]),
            Aad::empty(),
            &mut buf[..],
        )
        .map_err(|_| WrapError::DecryptFailed)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// Wraps a space key to `recipient` (see [`wrap_secret`]).
pub fn wrap_space_key(
    recipient: &[u8; 32],
    key: &SpaceKey,
    context: &[u8],
) -> Result<WrappedSecret, WrapError> {
    wrap_secret(recipient, key.as_bytes(), context)
}

/// Unwraps a space key wrapped to this device (see [`unwrap_secret`]).
pub fn unwrap_space_key(
    keys: &DeviceKeys,
    wrapped: &WrappedSecret,
    context: &[u8],
) -> Result<SpaceKey, WrapError> {
    let bytes = unwrap_secret(keys, wrapped, context)?;
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(WrapError::WrongLength {
            expected: key.len(),
            got: bytes.len(),
        });
    }
    key.copy_from_slice(&bytes);
    Ok(SpaceKey::from_bytes(*key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> DeviceKeys {
        DeviceKeys::from_seed(&[21; 32])
    }

    #[test]
    fn wrap_unwrap_round_trip() {
        let bob = recipient();
        let secret = b"space key bytes, 32 of them ....";
        let wrapped = wrap_secret(&bob.x25519_public(), secret, b"invite-1").unwrap();
        assert_eq!(
            &unwrap_secret(&bob, &wrapped, b"invite-1").unwrap()[..],
            secret
        );
        // The secret does not appear in the wrapped form, and every wrap is different.
        let again = wrap_secret(&bob.x25519_public(), secret, b"invite-1").unwrap();
        assert_ne!(wrapped, again);
        let bytes = postcard::to_allocvec(&wrapped).unwrap();
        assert!(!bytes.windows(8).any(|w| w == &secret[..8]));
        let back: WrappedSecret = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, wrapped);
    }

    #[test]
    fn space_key_round_trip() {
        let bob = recipient();
        let key = SpaceKey::generate().unwrap();
        let wrapped = wrap_space_key(&bob.x25519_public(), &key, b"ctx").unwrap();
        let back = unwrap_space_key(&bob, &wrapped, b"ctx").unwrap();
        assert_eq!(back.as_bytes(), key.as_bytes());
        let short = wrap_secret(&bob.x25519_public(), b"short", b"ctx").unwrap();
        assert_eq!(
            unwrap_space_key(&bob, &short, b"ctx").map(|_| ()),
            Err(WrapError::WrongLength {
                expected: 32,
                got: 5
            })
        );
    }

    #[test]
    fn wrong_recipient_context_or_altered_bytes_fail() {
        let bob = recipient();
        let eve = DeviceKeys::from_seed(&[22; 32]);
        let wrapped = wrap_secret(&bob.x25519_public(), b"tajne", b"invite-1").unwrap();
        assert_eq!(
            unwrap_secret(&eve, &wrapped, b"invite-1").map(|_| ()),
            Err(WrapError::DecryptFailed)
        );
        assert_eq!(
            unwrap_secret(&bob, &wrapped, b"invite-2").map(|_| ()),
            Err(WrapError::DecryptFailed)
        );
        let mut altered = wrapped.clone();
        altered.ephemeral_public[0] ^= 1;
        assert!(unwrap_secret(&bob, &altered, b"invite-1").is_err());
        let mut ct = wrapped.ciphertext.to_vec();
        ct[0] ^= 1;
        let altered = WrappedSecret {
            ephemeral_public: wrapped.ephemeral_public,
            ciphertext: ct.try_into().unwrap(),
        };
        assert_eq!(
            unwrap_secret(&bob, &altered, b"invite-1").map(|_| ()),
            Err(WrapError::DecryptFailed)
        );
    }

    #[test]
    fn low_order_keys_and_oversized_secrets_are_refused() {
        let bob = recipient();
        // The identity point: every shared secret with it is zero.
        let zero = [0u8; 32];
        assert_eq!(
            wrap_secret(&zero, b"x", b"c"),
            Err(WrapError::WeakPublicKey)
        );
        let forged = WrappedSecret {
            ephemeral_public: zero,
            ciphertext: vec![0u8; 20].try_into().unwrap(),
        };
        assert_eq!(
            unwrap_secret(&bob, &forged, b"c").map(|_| ()),
            Err(WrapError::WeakPublicKey)
        );
        assert_eq!(
            wrap_secret(&bob.x25519_public(), &[0; MAX_WRAPPED_SECRET + 1], b"c"),
            Err(WrapError::TooLarge {
                len: MAX_WRAPPED_SECRET + 1,
                max: MAX_WRAPPED_SECRET
            })
        );
        // Too short to hold a tag: a decrypt failure, not a panic.
        let empty = WrappedSecret {
            ephemeral_public: wrap_secret(&bob.x25519_public(), b"", b"c")
                .unwrap()
                .ephemeral_public,
            ciphertext: BoundedVec::new(),
        };
        assert_eq!(
            unwrap_secret(&bob, &empty, b"c").map(|_| ()),
            Err(WrapError::DecryptFailed)
        );
    }
}
