//! Envelopes: the signed, encrypted form in which an [`Operation`] is stored and sent.
//!
//! This module owns sealing an operation into an [`Envelope`], checking its signature (which a
//! relay without keys can do), opening it with the space key of its epoch, and the envelope's
//! one canonical, versioned binary encoding.
//!
//! What stays in clear: the header (format version, space, key epoch, the author's session,
//! the operation id and its clock reading), because sync orders and deduplicates by it. What is
//! encrypted: the record id, the record kind and the changes.
//!
//! - AEAD: AES-256-GCM under a subkey per (space, epoch, author device):
//!   `HKDF-SHA256(salt = "krizlink/envelope-key/v1", ikm = space key, info = space id ‖ epoch
//!   (u32 BE) ‖ device id)`. Nonce: `session (u32 BE) ‖ seq (u64 BE)`. The session is a start
//!   counter the node increments durably every time it opens, so even a sequence number reused
//!   after a crash never repeats a (key, nonce) pair. AAD: the encoded header.
//! - Signature: Ed25519 by the author device over
//!   `"krizlink/envelope/v1\0" ‖ encoded header ‖ ciphertext`.
//! - Encoding: postcard of the envelope, whose first byte is the version (1). Decoding refuses
//!   more than [`MAX_ENVELOPE_BYTES`] before reading, bounds every list, never panics and accepts
//!   only the canonical form (re-encoding gives back the same bytes).

use core::fmt;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::bounded::BoundedVec;
use crate::engine::keys::{self, DeviceKeys, SpaceKey, SIGNATURE_LEN};
use crate::hlc::Hlc;
use crate::ids::{DeviceId, OpId, RecordId, SpaceId};
use crate::op::{Change, InvalidOp, Operation, MAX_CHANGES, MAX_OP_BYTES};
use crate::record::RecordKind;

/// The envelope format this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;
/// AES-256-GCM tag length.
const TAG_LEN: usize = 16;
/// Longest encrypted payload. The operation's clear fields take at most 74 bytes of its
/// encoding, so any payload this long still gives an operation within [`MAX_OP_BYTES`].
pub const MAX_PAYLOAD_BYTES: usize = MAX_OP_BYTES - 128;
/// Longest ciphertext (payload plus tag).
pub const MAX_CIPHERTEXT_BYTES: usize = MAX_PAYLOAD_BYTES + TAG_LEN;
/// Hard limit on one encoded envelope (header, ciphertext and signature).
pub const MAX_ENVELOPE_BYTES: usize = MAX_CIPHERTEXT_BYTES + 256;

const KEY_SALT: &[u8] = b"krizlink/envelope-key/v1";
const SIGNATURE_TAG: &[u8] = b"krizlink/envelope/v1\0";

/// Why an operation could not be sealed, or bytes were not accepted as an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope is {len} bytes; at most {max} are accepted")]
    TooLarge { len: usize, max: usize },
    #[error("the operation's content is {len} bytes; at most {max} fit in an envelope")]
    PayloadTooLarge { len: usize, max: usize },
    #[error("empty envelope")]
    Empty,
    #[error("unknown envelope version {0}")]
    UnknownVersion(u8),
    #[error("malformed envelope: {0}")]
    Malformed(postcard::Error),
    #[error("envelope has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("envelope is not in canonical form")]
    NotCanonical,
    #[error("the envelope's signature does not match its author and content")]
    BadSignature,
    #[error("an operation can only be sealed by its author's device")]
    WrongAuthor,
    #[error("this device holds no key for the envelope's key epoch")]
    UnknownEpoch,
    #[error("the envelope cannot be decrypted with this space key")]
    DecryptFailed,
    #[error("the decrypted operation is malformed: {0}")]
    MalformedPayload(postcard::Error),
    #[error("the decrypted operation is not in canonical form")]
    PayloadNotCanonical,
    #[error("invalid operation: {0}")]
    InvalidPayload(#[from] InvalidOp),
    #[error("the operating system gave no random numbers, or the crypto library refused a key")]
    Crypto,
}

/// An Ed25519 signature (64 bytes, encoded as exactly 64 bytes with no length prefix).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(SIGNATURE_LEN)?;
        for b in &self.0 {
            tuple.serialize_element(b)?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SigVisitor;

        impl<'de> Visitor<'de> for SigVisitor {
            type Value = Signature;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{SIGNATURE_LEN} signature bytes")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Signature, A::Error> {
                let mut out = [0u8; SIGNATURE_LEN];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
                }
                Ok(Signature(out))
            }
        }

        deserializer.deserialize_tuple(SIGNATURE_LEN, SigVisitor)
    }
}

/// A sealed operation: clear header, encrypted content, the author's signature over both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version, always [`ENVELOPE_VERSION`]; the first encoded byte.
    pub version: u8,
    pub space: SpaceId,
    /// The space key epoch it is encrypted under.
    pub epoch: u32,
    /// The author node's start counter; part of the nonce.
    pub session: u32,
    /// Author device and its sequence number.
    pub id: OpId,
    pub hlc: Hlc,
    /// AES-256-GCM of the payload (record, kind, changes), tag appended.
    #[serde(with = "crate::bounded::bytes")]
    pub ciphertext: BoundedVec<u8, MAX_CIPHERTEXT_BYTES>,
    pub signature: Signature,
}

/// The clear header, in encoding order: used as AAD and signed.
#[derive(Serialize)]
struct Header<'a> {
    version: u8,
    space: &'a SpaceId,
    epoch: u32,
    session: u32,
    id: &'a OpId,
    hlc: &'a Hlc,
}

/// The secret part of an operation, as encrypted (borrowing, for sealing).
#[derive(Serialize)]
struct PayloadRef<'a> {
    record: &'a RecordId,
    kind: &'a RecordKind,
    changes: &'a BoundedVec<Change, MAX_CHANGES>,
}

/// The secret part of an operation, as decrypted.
#[derive(Deserialize)]
struct Payload {
    record: RecordId,
    kind: RecordKind,
    changes: BoundedVec<Change, MAX_CHANGES>,
}

/// One use of an AEAD key with a nonce: no two envelopes may share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonceUse {
    pub space: SpaceId,
    pub epoch: u32,
    /// The author, whose subkey of the space key this is.
    pub device: DeviceId,
    pub nonce: [u8; NONCE_LEN],
}

/// The (key, nonce) pair an envelope was encrypted with, to check that none repeats.
pub fn nonce_of(envelope: &Envelope) -> NonceUse {
    NonceUse {
        space: envelope.space,
        epoch: envelope.epoch,
        device: envelope.id.device,
        nonce: nonce_bytes(envelope.session, envelope.id.seq),
    }
}

fn nonce_bytes(session: u32, seq: u64) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..4].copy_from_slice(&session.to_be_bytes());
    nonce[4..].copy_from_slice(&seq.to_be_bytes());
    nonce
}

/// The AEAD key for one author in one space epoch.
fn subkey(
    space_key: &SpaceKey,
    space: &SpaceId,
    epoch: u32,
    device: &DeviceId,
) -> Result<LessSafeKey, EnvelopeError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, KEY_SALT).extract(space_key.as_bytes());
    let epoch = epoch.to_be_bytes();
    let info: [&[u8]; 3] = [space.as_bytes(), &epoch, device.as_bytes()];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .map_err(|_| EnvelopeError::Crypto)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// Serializes `value` into a buffer that is zeroized when dropped, allocated once at its final
/// size plus `spare` (so no reallocation leaves copies of secret bytes behind).
fn to_secret_vec<T: Serialize>(
    value: &T,
    spare: usize,
) -> Result<Zeroizing<Vec<u8>>, postcard::Error> {
    let len = postcard::experimental::serialized_size(value)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(len.saturating_add(spare)));
    buf.resize(len, 0);
    postcard::to_slice(value, &mut buf[..])?;
    Ok(buf)
}

impl Envelope {
    fn header(&self) -> Header<'_> {
        Header {
            version: self.version,
            space: &self.space,
            epoch: self.epoch,
            session: self.session,
            id: &self.id,
            hlc: &self.hlc,
        }
    }

    fn header_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        postcard::to_allocvec(&self.header()).map_err(EnvelopeError::Malformed)
    }

    fn signed_message(header: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let mut msg = Vec::with_capacity(SIGNATURE_TAG.len() + header.len() + ciphertext.len());
        msg.extend_from_slice(SIGNATURE_TAG);
        msg.extend_from_slice(header);
        msg.extend_from_slice(ciphertext);
        msg
    }

    /// Encrypts and signs `op` under `space_key` (the key of `epoch`). `session` is the node's
    /// durable start counter; the caller must never reuse a sequence number within a session.
    pub fn seal(
        op: &Operation,
        epoch: u32,
        session: u32,
        space_key: &SpaceKey,
        keys: &DeviceKeys,
    ) -> Result<Envelope, EnvelopeError> {
        op.validate()?;
        Envelope::seal_content(op, epoch, session, space_key, keys)
    }

    /// [`Envelope::seal`] without validating the operation: what a faulty or modified client
    /// could send, for tests of the receiving side.
    pub(crate) fn seal_content(
        op: &Operation,
        epoch: u32,
        session: u32,
        space_key: &SpaceKey,
        keys: &DeviceKeys,
    ) -> Result<Envelope, EnvelopeError> {
        if op.id.device != keys.device_id() {
            return Err(EnvelopeError::WrongAuthor);
        }
        let payload = PayloadRef {
            record: &op.record,
            kind: &op.kind,
            changes: &op.changes,
        };
        let mut buf = to_secret_vec(&payload, TAG_LEN).map_err(EnvelopeError::Malformed)?;
        if buf.len() > MAX_PAYLOAD_BYTES {
            return Err(EnvelopeError::PayloadTooLarge {
                len: buf.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        let mut envelope = Envelope {
            version: ENVELOPE_VERSION,
            space: op.space,
            epoch,
            session,
            id: op.id,
            hlc: op.hlc,
            ciphertext: BoundedVec::new(),
            signature: Signature([0; SIGNATURE_LEN]),
        };
        let header = envelope.header_bytes()?;
        let key = subkey(space_key, &op.space, epoch, &op.id.device)?;
        let nonce = Nonce::assume_unique_for_key(nonce_bytes(session, op.id.seq));
        key.seal_in_place_append_tag(nonce, Aad::from(&header), &mut *buf)
            .map_err(|_| EnvelopeError::Crypto)?;
        envelope.ciphertext =
            BoundedVec::try_from(buf.to_vec()).map_err(|_| EnvelopeError::PayloadTooLarge {
                len: buf.len(),
                max: MAX_CIPHERTEXT_BYTES,
            })?;
        let msg = Envelope::signed_message(&header, &envelope.ciphertext);
        envelope.signature = Signature(keys.sign(&msg));
        Ok(envelope)
    }

    /// Checks the author's signature over header and ciphertext. Needs no key: a relay can
    /// refuse forged or altered envelopes without being able to read them.
    pub fn verify(&self) -> Result<(), EnvelopeError> {
        if self.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnknownVersion(self.version));
        }
        let header = self.header_bytes()?;
        let msg = Envelope::signed_message(&header, &self.ciphertext);
        keys::verify(&self.id.device, &msg, &self.signature.0)
            .map_err(|_| EnvelopeError::BadSignature)
    }

    /// Verifies the signature, then decrypts with the space key of this envelope's epoch and
    /// returns the validated operation.
    pub fn open(&self, space_key: &SpaceKey) -> Result<Operation, EnvelopeError> {
        self.verify()?;
        self.open_verified(space_key)
    }

    /// Decrypts an envelope whose signature [`Envelope::verify`] has already accepted (the
    /// receive path verifies a batch on several threads first).
    pub(crate) fn open_verified(&self, space_key: &SpaceKey) -> Result<Operation, EnvelopeError> {
        let header = self.header_bytes()?;
        let key = subkey(space_key, &self.space, self.epoch, &self.id.device)?;
        let nonce = Nonce::assume_unique_for_key(nonce_bytes(self.session, self.id.seq));
        let mut buf = Zeroizing::new(self.ciphertext.to_vec());
        let plain = key
            .open_in_place(nonce, Aad::from(&header), &mut buf[..])
            .map_err(|_| EnvelopeError::DecryptFailed)?;
        let (payload, rest): (Payload, &[u8]) =
            postcard::take_from_bytes(plain).map_err(EnvelopeError::MalformedPayload)?;
        if !rest.is_empty() {
            return Err(EnvelopeError::PayloadNotCanonical);
        }
        let op = Operation {
            id: self.id,
            hlc: self.hlc,
            space: self.space,
            record: payload.record,
            kind: payload.kind,
            changes: payload.changes,
        };
        let canonical = to_secret_vec(
            &PayloadRef {
                record: &op.record,
                kind: &op.kind,
                changes: &op.changes,
            },
            0,
        )
        .map_err(EnvelopeError::MalformedPayload)?;
        if canonical[..] != *plain {
            return Err(EnvelopeError::PayloadNotCanonical);
        }
        op.validate()?;
        Ok(op)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EnvelopeError> {
        if self.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnknownVersion(self.version));
        }
        let bytes = postcard::to_allocvec(self).map_err(EnvelopeError::Malformed)?;
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                len: bytes.len(),
                max: MAX_ENVELOPE_BYTES,
            });
        }
        Ok(bytes)
    }

    /// Parses untrusted bytes. Checks only the form, not the signature ([`Envelope::verify`]).
    /// Never panics; allocates at most about twice [`MAX_ENVELOPE_BYTES`].
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                len: bytes.len(),
                max: MAX_ENVELOPE_BYTES,
            });
        }
        let &version = bytes.first().ok_or(EnvelopeError::Empty)?;
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnknownVersion(version));
        }
        let (envelope, rest): (Envelope, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(EnvelopeError::Malformed)?;
        if !rest.is_empty() {
            return Err(EnvelopeError::TrailingBytes(rest.len()));
        }
        let canonical = postcard::to_allocvec(&envelope).map_err(EnvelopeError::Malformed)?;
        if canonical != bytes {
            return Err(EnvelopeError::NotCanonical);
        }
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FieldValue;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const SPACE: SpaceId = SpaceId([7; 16]);

    fn keys() -> DeviceKeys {
        DeviceKeys::from_seed(&[3; 32])
    }

    fn task(keys: &DeviceKeys, seq: u64, title: &str) -> Operation {
        Operation::new_record(
            OpId {
                device: keys.device_id(),
                seq,
            },
            Hlc {
                wall_ms: 1_700_000_000_000 + seq,
                counter: 0,
            },
            SPACE,
            RecordKind::Task,
            vec![Change::Set {
                value: FieldValue::Title(title.into()),
                bases: BoundedVec::new(),
            }],
        )
        .unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let keys = keys();
        let key = SpaceKey::from_bytes([1; 32]);
        let op = task(&keys, 1, "Evakuace ZŠ Komenského");
        let env = Envelope::seal(&op, 0, 1, &key, &keys).unwrap();
        assert_eq!(env.verify(), Ok(()));
        assert_eq!(env.open(&key).unwrap(), op);
        let bytes = env.encode().unwrap();
        assert!(bytes.len() <= MAX_ENVELOPE_BYTES);
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.open(&key).unwrap(), op);
    }

    #[test]
    fn content_is_not_in_clear() {
        let keys = keys();
        let key = SpaceKey::from_bytes([1; 32]);
        let marker = "MARKER-zaplava-Olomouc-4711";
        let op = task(&keys, 1, marker);
        let bytes = Envelope::seal(&op, 0, 1, &key, &keys)
            .unwrap()
            .encode()
            .unwrap();
        assert!(!bytes.windows(marker.len()).any(|w| w == marker.as_bytes()));
        assert!(!bytes.windows(16).any(|w| w == op.record.0));
    }

    #[test]
    fn every_flipped_bit_is_refused_with_a_typed_error() {
        let keys = keys();
        let key = SpaceKey::from_bytes([1; 32]);
        let op = task(&keys, 5, "Zajistit pytle s pískem");
        let bytes = Envelope::seal(&op, 2, 9, &key, &keys)
            .unwrap()
            .encode()
            .unwrap();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                let result = Envelope::decode(&bad).and_then(|env| env.open(&key));
                match result {
                    Err(
                        EnvelopeError::BadSignature
                        | EnvelopeError::Malformed(_)
                        | EnvelopeError::NotCanonical
                        | EnvelopeError::UnknownVersion(_)
                        | EnvelopeError::TrailingBytes(_),
                    ) => {}
                    other => panic!("byte {i} bit {bit}: {other:?}"),
                }
            }
        }
        // The signature bytes (the last 64) and the ciphertext fail the signature check.
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert_eq!(
            Envelope::decode(&bad).unwrap().verify(),
            Err(EnvelopeError::BadSignature)
        );
        let mut bad = bytes.clone();
        bad[last - 64] ^= 1; // last ciphertext byte
        assert_eq!(
            Envelope::decode(&bad).unwrap().verify(),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn wrong_epoch_key_and_wrong_author_are_refused() {
        let keys = keys();
        let epoch0 = SpaceKey::from_bytes([1; 32]);
        let epoch1 = SpaceKey::from_bytes([2; 32]);
        let op = task(&keys, 1, "Hlášení o stavu hladiny");
        let env = Envelope::seal(&op, 1, 1, &epoch1, &keys).unwrap();
        assert_eq!(env.open(&epoch0), Err(EnvelopeError::DecryptFailed));
        assert_eq!(env.open(&epoch1).unwrap(), op);

        let other = DeviceKeys::from_seed(&[4; 32]);
        assert_eq!(
            Envelope::seal(&op, 1, 1, &epoch1, &other),
            Err(EnvelopeError::WrongAuthor)
        );
    }

    #[test]
    fn a_resigned_envelope_with_a_changed_header_does_not_decrypt() {
        // Even an author re-signing after changing the clear header cannot move the
        // ciphertext to another space, epoch or sequence: the header is the AAD.
        let keys = keys();
        let key = SpaceKey::from_bytes([1; 32]);
        let op = task(&keys, 1, "Přesun techniky");
        let mut env = Envelope::seal(&op, 0, 1, &key, &keys).unwrap();
        env.hlc.counter += 1;
        let header = env.header_bytes().unwrap();
        env.signature = Signature(keys.sign(&Envelope::signed_message(&header, &env.ciphertext)));
        assert_eq!(env.verify(), Ok(()));
        assert_eq!(env.open(&key), Err(EnvelopeError::DecryptFailed));
    }

    #[test]
    fn nonces_never_repeat_across_seqs_sessions_and_authors() {
        let a = keys();
        let b = DeviceKeys::from_seed(&[4; 32]);
        let key = SpaceKey::from_bytes([1; 32]);
        let mut seen = HashSet::new();
        for session in 1..=3 {
            for seq in 1..=20 {
                for k in [&a, &b] {
                    let env = Envelope::seal(&task(k, seq, "Úkol"), 0, session, &key, k).unwrap();
                    assert!(seen.insert(nonce_of(&env)), "nonce reused");
                }
            }
        }
        // The same seq in a new session (e.g. reused after a crash) gets a new nonce.
        let one = Envelope::seal(&task(&a, 1, "x"), 0, 1, &key, &a).unwrap();
        let two = Envelope::seal(&task(&a, 1, "x"), 0, 2, &key, &a).unwrap();
        assert_ne!(nonce_of(&one), nonce_of(&two));
        assert_ne!(one.ciphertext, two.ciphertext);
    }

    #[test]
    fn oversized_and_foreign_inputs_are_refused_before_parsing() {
        assert_eq!(Envelope::decode(&[]), Err(EnvelopeError::Empty));
        assert_eq!(
            Envelope::decode(&[2, 0, 0]),
            Err(EnvelopeError::UnknownVersion(2))
        );
        let huge = vec![1u8; MAX_ENVELOPE_BYTES + 1];
        assert!(matches!(
            Envelope::decode(&huge),
            Err(EnvelopeError::TooLarge { .. })
        ));
        // A forged ciphertext length costs no more than the bound.
        let keys = keys();
        let key = SpaceKey::from_bytes([1; 32]);
        let bytes = Envelope::seal(&task(&keys, 1, "a"), 0, 1, &key, &keys)
            .unwrap()
            .encode()
            .unwrap();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            Envelope::decode(&trailing),
            Err(EnvelopeError::TrailingBytes(1))
        );
    }

    #[test]
    fn an_oversized_operation_is_refused_when_sealing() {
        let keys = keys();
        let key = SpaceKey::from_bytes([1; 32]);
        let id = OpId {
            device: keys.device_id(),
            seq: 1,
        };
        let comments: Vec<Change> = (0..8)
            .map(|_| Change::Comment {
                text: "x".repeat(16 * 1024),
            })
            .collect();
        let rec = RecordId::for_create(&OpId {
            device: DeviceId([1; 32]),
            seq: 1,
        });
        let op =
            Operation::edit(id, Hlc::default(), SPACE, rec, RecordKind::Task, comments).unwrap();
        assert!(matches!(
            Envelope::seal(&op, 0, 1, &key, &keys),
            Err(EnvelopeError::PayloadTooLarge { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Envelope::decode(&bytes);
            let mut versioned = bytes.clone();
            versioned.insert(0, ENVELOPE_VERSION);
            if let Ok(env) = Envelope::decode(&versioned) {
                let _ = env.verify();
                let _ = env.open(&SpaceKey::from_bytes([1; 32]));
            }
        }

        #[test]
        fn random_edits_of_a_real_envelope_never_panic_or_open(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
        ) {
            let keys = keys();
            let key = SpaceKey::from_bytes([1; 32]);
            let mut bytes = Envelope::seal(&task(&keys, 3, "Stav silnic"), 0, 1, &key, &keys)
                .unwrap().encode().unwrap();
            let original = bytes.clone();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            let opened = Envelope::decode(&bytes).and_then(|env| env.open(&key));
            if bytes != original {
                prop_assert!(opened.is_err());
            }
        }
    }
}
