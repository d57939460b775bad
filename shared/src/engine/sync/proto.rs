//! The sync protocol's messages, their one canonical encoding, and the libp2p codec that frames
//! them. Everything read from the network is bounded before it is allocated: a frame length
//! above [`MAX_FRAME`] ends the stream, and every list inside has its own bound.
//!
//! Exchange (request-response, protocol [`PROTOCOL`]):
//! - `Challenge { nonce, again }` → `Proof { tags }`: sent by both sides on every new
//!   connection, before anything about a space; the tags prove which spaces the answerer holds
//!   (see `engine::node::proof`). `again`: the sender holds a new space, so the answerer
//!   should challenge it anew.
//! - `Pull { space, have, tips }` → `Ops { envelopes, more, have }`: the envelopes the puller lacks
//!   (bounded batch; `more` asks for another pull) and what the answering side holds.
//! - `Push { space, envelopes }` → `Stored { stored, rejected }`: new envelopes, sent to every
//!   peer that proved the space, and passed on by each peer that stored them.
//! - `Join { request }` → `Welcome { welcome }`: joining over the network with an invite.
//! - any → `Refused { reason }`: a space not held, or not proven by the asking peer (the same
//!   bytes for both).

use std::io;

use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::engine::envelope::MAX_ENVELOPE_BYTES;
use crate::ids::{DeviceId, SpaceId};
use crate::vv::VersionVector;

/// The request-response protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/krizlink/sync/2");
/// Version byte in front of every encoded message.
pub const WIRE_VERSION: u8 = 2;
/// Largest frame either side reads.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Envelopes per message, and the byte budget a sender fills a batch up to.
pub const MAX_BATCH_OPS: usize = 1_000;
pub const BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Devices in a version vector on the wire.
pub const MAX_DEVICES: usize = 10_000;
/// Longest join request / welcome / refusal text.
pub const MAX_TEXT: usize = 16 * 1024;
/// Proof tags in one answer to a challenge.
pub const MAX_TAGS: usize = 4096;

/// One sealed envelope as carried on the wire.
pub type WireEnvelope = BoundedVec<u8, MAX_ENVELOPE_BYTES>;
/// A version vector as carried on the wire.
pub type WireHave = BoundedVec<(DeviceId, u64), MAX_DEVICES>;
/// Short digests of the envelopes at a version vector's ends (see `Request::Pull`).
pub type WireTips = BoundedVec<[u8; 8], MAX_DEVICES>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Challenge {
        nonce: [u8; 32],
        again: bool,
    },
    Pull {
        space: SpaceId,
        have: WireHave,
        /// Per device of `have`, in its order: the first 8 bytes of SHA-256 of the envelope the
        /// puller holds at that sequence number (zeros: none). An answerer that holds another
        /// envelope there sends its own too, so the puller sees the fork (a data dir restored
        /// from an older copy and written on) even when both hold the same numbers.
        tips: WireTips,
    },
    Push {
        space: SpaceId,
        envelopes: BoundedVec<WireEnvelope, MAX_BATCH_OPS>,
    },
    Join {
        request: BoundedVec<u8, MAX_TEXT>,
    },
    /// Never on the wire: what the codec hands up when a peer's request is not a message, so
    /// the peer can be disconnected and logged (libp2p drops failed reads silently).
    #[serde(skip)]
    Malformed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Proof {
        tags: BoundedVec<[u8; 32], MAX_TAGS>,
    },
    Ops {
        envelopes: BoundedVec<WireEnvelope, MAX_BATCH_OPS>,
        more: bool,
        have: WireHave,
    },
    Stored {
        stored: u32,
        rejected: u32,
    },
    Welcome {
        welcome: BoundedVec<u8, MAX_TEXT>,
    },
    Refused {
        reason: BoundedVec<u8, MAX_TEXT>,
    },
}

/// Why bytes from a peer are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("unknown wire version {0}")]
    Version(u8),
    #[error("empty message")]
    Empty,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("message is not in its canonical encoding")]
    NotCanonical,
    #[error("a list in the message is too long")]
    TooLong,
}

/// Encodes a message: the version byte, then postcard.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let mut out = vec![WIRE_VERSION];
    out.extend(postcard::to_allocvec(message).map_err(|e| WireError::Malformed(e.to_string()))?);
    Ok(out)
}

/// Decodes a message, refusing anything but the exact canonical bytes of one message.
pub fn decode<T: Serialize + for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::Version(version));
    }
    let (value, rest): (T, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed("trailing bytes".into()));
    }
    if encode(&value)? != bytes {
        return Err(WireError::NotCanonical);
    }
    Ok(value)
}

pub fn have_to_wire(vv: &VersionVector) -> Result<WireHave, WireError> {
    vv.devices()
        .map(|(d, s)| (*d, *s))
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| WireError::TooLong)
}

pub fn have_from_wire(have: &WireHave) -> VersionVector {
    let mut vv = VersionVector::new();
    for (device, seq) in have.iter() {
        vv.advance(*device, *seq);
    }
    vv
}

pub fn envelopes_to_wire(
    envelopes: Vec<Vec<u8>>,
) -> Result<BoundedVec<WireEnvelope, MAX_BATCH_OPS>, WireError> {
    envelopes
        .into_iter()
        .map(|e| WireEnvelope::try_from(e).map_err(|_| WireError::TooLong))
        .collect::<Result<Vec<_>, _>>()?
        .try_into()
        .map_err(|_| WireError::TooLong)
}

pub fn envelopes_from_wire(envelopes: BoundedVec<WireEnvelope, MAX_BATCH_OPS>) -> Vec<Vec<u8>> {
    envelopes
        .into_inner()
        .into_iter()
        .map(BoundedVec::into_inner)
        .collect()
}

pub fn text_to_wire(text: &str) -> BoundedVec<u8, MAX_TEXT> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.truncate(MAX_TEXT);
    BoundedVec::try_from(bytes).unwrap_or_default()
}

pub fn text_from_wire(text: &BoundedVec<u8, MAX_TEXT>) -> String {
    String::from_utf8_lossy(text).into_owned()
}

/// Frames messages as a 4-byte little-endian length and the encoded message.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCodec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes (at most {MAX_FRAME})"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    if bytes.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "message larger than a frame",
        ));
    }
    io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(e: WireError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_frame(io).await {
            Ok(frame) => Ok(decode(&frame).unwrap_or_else(|e| Request::Malformed(e.to_string()))),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Ok(Request::Malformed(e.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io).await?).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&req).map_err(invalid)?).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&res).map_err(invalid)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<Request> {
        let mut have = WireHave::new();
        have.push((DeviceId([7; 32]), 42)).unwrap();
        vec![
            Request::Pull {
                space: SpaceId([1; 16]),
                have,
                tips: vec![[3; 8]].try_into().unwrap(),
            },
            Request::Challenge {
                nonce: [8; 32],
                again: true,
            },
            Request::Push {
                space: SpaceId([2; 16]),
                envelopes: envelopes_to_wire(vec![vec![1, 2, 3], vec![9; 300]]).unwrap(),
            },
            Request::Join {
                request: text_to_wire("KRZREQ1.abc"),
            },
        ]
    }

    #[test]
    fn messages_round_trip() {
        for m in sample() {
            assert_eq!(decode::<Request>(&encode(&m).unwrap()).unwrap(), m);
        }
        let r = Response::Ops {
            envelopes: envelopes_to_wire(vec![vec![5; 10]]).unwrap(),
            more: true,
            have: WireHave::new(),
        };
        assert_eq!(decode::<Response>(&encode(&r).unwrap()).unwrap(), r);
        let p = Response::Proof {
            tags: vec![[1; 32], [2; 32]].try_into().unwrap(),
        };
        assert_eq!(decode::<Response>(&encode(&p).unwrap()).unwrap(), p);
    }

    #[test]
    fn a_forged_length_allocates_nothing_large() {
        // A Push claiming u32::MAX envelopes in a 20-byte message.
        let mut bytes = vec![WIRE_VERSION, 2];
        bytes.extend_from_slice(&[3; 16]);
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(decode::<Request>(&bytes).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// The decoder takes any bytes without panicking, and whatever it accepts re-encodes
        /// to exactly those bytes.
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(m) = decode::<Request>(&bytes) {
                prop_assert_eq!(encode(&m).unwrap(), bytes.clone());
            }
            if let Ok(m) = decode::<Response>(&bytes) {
                prop_assert_eq!(encode(&m).unwrap(), bytes);
            }
        }

        /// Every cut and every single-byte change of a valid message is refused or decodes to a
        /// message that re-encodes to the changed bytes (never a panic, never a silent mix).
        #[test]
        fn mutations_of_valid_messages(which in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let bytes = encode(&sample()[which]).unwrap();
            let cut = at.index(bytes.len());
            prop_assert!(decode::<Request>(&bytes[..cut]).is_err());
            let mut changed = bytes.clone();
            changed[cut] = byte;
            if let Ok(m) = decode::<Request>(&changed) {
                prop_assert_eq!(encode(&m).unwrap(), changed);
            }
        }
    }
}
