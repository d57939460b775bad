//! The sync protocol's messages, their one canonical encoding, and the libp2p codec that frames
//! them. Everything read from the network is bounded before it is allocated: a frame length
//! above [`MAX_FRAME`] ends the stream (above [`MAX_REQUEST_FRAME`] for a request), and every
//! list inside has its own bound.
//!
//! Memory (see "Bounds" in ARCHITECTURE.md): a claimed length is not allocated up front; the
//! frame grows as its bytes arrive, in [`READ_CHUNK`]s. The first [`FREE_FRAME_BYTES`] of a
//! frame are free (a member's one-write push always fits); every byte beyond comes out of a
//! [`FrameBudget`] shared by all streams of one swarm ([`FRAME_BUDGET`] in all), and a read
//! that finds it spent fails at once (the stream ends; not a protocol violation: the sender
//! retries or pulls). A request keeps its share while it is kept (waiting for its sender's
//! proof, queued between the connection and the loop) and gives it back when dropped. Without
//! it, 48 incoming connections × 8 streams (6 now) × a 4 MiB frame claimed and sent slowly
//! would hold 1.5 GiB for the 30 s request timeout (256 connections before: 8 GiB); with it, at
//! most the budget and 16 KiB per stream.
//!
//! Exchange (request-response, protocol [`PROTOCOL`]):
//! - `Challenge { nonce, again }` → `Proof { tags }`: sent by both sides on every new
//!   connection, before anything about a space; the tags prove which spaces the answerer holds
//!   (see `engine::node::proof`). `again`: the sender holds a new space, so the answerer
//!   should challenge it anew.
//! - `Pull { space, have, tips, lists }` → `Ops { envelopes, more, have, lists }`: the envelopes
//!   the puller lacks (bounded batch; `more` asks for another pull), what the answering side
//!   holds, and the signed member lists newer than the puller's (`engine::member_list`; a blind
//!   relay stores only what the devices on the newest one wrote); both carry the sender's wall
//!   clock (`clock_ms`), so a clock its staff disagrees with is told at once.
//! - `Push { space, envelopes }` → `Stored { stored, rejected }`: new envelopes, sent to every
//!   peer that proved the space, and passed on by each peer that stored them.
//! - `Join { request }` → `Welcome { welcome }`: joining over the network with an invite.
//! - any → `Refused { reason }`: a space not held, or not proven by the asking peer (the same
//!   bytes for both).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::engine::envelope::MAX_ENVELOPE_BYTES;
use crate::engine::member_list::{ListMark, MemberList, MAX_LIST_CHAIN};
use crate::engine::receipt::{Receipt, MAX_RECEIPTS_PER_MESSAGE};
use crate::ids::{DeviceId, SpaceId};
use crate::vv::VersionVector;

/// The request-response protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/krizlink/sync/4");
/// Version byte in front of every encoded message.
pub const WIRE_VERSION: u8 = 3;
/// Largest frame either side reads.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Envelopes per message, and the byte budget a sender fills a batch up to.
pub const MAX_BATCH_OPS: usize = 1_000;
pub const BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Largest request frame: a push of [`BATCH_BYTES`] (or one envelope) with its framing, or a
/// pull naming [`MAX_DEVICES`] devices.
pub const MAX_REQUEST_FRAME: usize = BATCH_BYTES + MAX_ENVELOPE_BYTES + 64 * 1024;
/// Bytes of every frame read without drawing on the [`FrameBudget`].
pub const FREE_FRAME_BYTES: usize = 16 * 1024;
/// Bytes of frames (beyond the free part of each) that all streams of one swarm may hold.
pub const FRAME_BUDGET: usize = 64 * 1024 * 1024;
/// Bytes of answers to pulls that one swarm holds until they are written to their pullers, all
/// peers together (each is charged twice its envelopes: the message and its encoding while a
/// slow reader takes it). Without it, a member that proves as many device ids and reads
/// slowly would make a node hold 16 answers of ~2 MiB per connection. Beyond, a pull is
/// answered "nothing now" (an empty batch, not "more"): the puller's next round asks again.
pub const ANSWER_BUDGET: usize = 32 * 1024 * 1024;
/// A frame grows by at most this much per read.
pub const READ_CHUNK: usize = 64 * 1024;
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
        /// Where the puller's chain of signed member lists stands: the answerer sends the
        /// newer ones it holds.
        lists: ListMark,
        /// The puller's wall clock (ms since 1970) as it sent the pull: a clock that disagrees
        /// with its staff's is told at once (`node/peer_clocks.rs`).
        clock_ms: u64,
        /// Signed receipts of what devices hold (the puller's own first) that the answerer
        /// was not given yet (`engine::receipt`).
        receipts: BoundedVec<Receipt, MAX_RECEIPTS_PER_MESSAGE>,
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
        /// The answerer's member lists newer than the puller's mark, oldest first.
        lists: BoundedVec<MemberList, MAX_LIST_CHAIN>,
        /// The answerer's wall clock as it answered.
        clock_ms: u64,
        /// Signed receipts the puller was not given yet (the answerer's own first).
        receipts: BoundedVec<Receipt, MAX_RECEIPTS_PER_MESSAGE>,
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

/// The bytes of frames that all streams of one swarm hold beyond their free part (or, with
/// another limit, of answers waiting to be written: [`ANSWER_BUDGET`]).
#[derive(Clone, Debug)]
pub struct FrameBudget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl Default for FrameBudget {
    fn default() -> Self {
        FrameBudget::with_limit(FRAME_BUDGET)
    }
}

impl FrameBudget {
    /// A budget of `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        FrameBudget {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// A share of `n` bytes, given back when dropped; None if the budget is spent.
    pub fn charge(&self, n: usize) -> Option<Held> {
        let mut held = Held {
            budget: self.clone(),
            bytes: 0,
        };
        self.take(&mut held, n).ok()?;
        Some(held)
    }

    /// Bytes in use now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `n` more bytes into `held`, or fails if the budget is spent.
    fn take(&self, held: &mut Held, n: usize) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            })
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "frame budget spent: too much is being received at once",
                )
            })?;
        held.bytes += n;
        Ok(())
    }
}

/// The batch of an answer to a pull within `answers` (the [`ANSWER_BUDGET`]): the envelopes,
/// whether there is more, and their share, kept until the answer is written. When the budget
/// is spent: no envelopes and not "more" (busy; the puller's next round asks again).
pub fn charge_answer(
    answers: &FrameBudget,
    envelopes: Vec<Vec<u8>>,
    more: bool,
) -> (Vec<Vec<u8>>, bool, Option<Held>) {
    let bytes = 2 * envelopes.iter().map(Vec::len).sum::<usize>();
    match answers.charge(bytes) {
        Some(share) => (envelopes, more, Some(share)),
        None => (Vec::new(), false, None),
    }
}

/// A share of a [`FrameBudget`], given back when dropped.
#[derive(Debug)]
pub struct Held {
    budget: FrameBudget,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A message as it passes through the codec: one read from the network keeps its frame's share
/// of the budget until it is dropped; one to be sent holds none.
#[derive(Debug)]
pub struct Framed<T> {
    pub message: T,
    held: Option<Held>,
}

impl<T> Framed<T> {
    /// A message to send.
    pub fn new(message: T) -> Self {
        Framed {
            message,
            held: None,
        }
    }

    /// A message to send that keeps `held` until it is written (or dropped unwritten).
    pub fn charged(message: T, held: Held) -> Self {
        Framed {
            message,
            held: Some(held),
        }
    }

    /// The message, and the budget share to keep while it is kept.
    pub fn into_parts(self) -> (T, Option<Held>) {
        (self.message, self.held)
    }
}

/// Frames messages as a 4-byte little-endian length and the encoded message; reads draw on
/// the swarm's [`FrameBudget`] (clones share it).
#[derive(Clone, Debug, Default)]
pub struct SyncCodec {
    budget: FrameBudget,
}

impl SyncCodec {
    /// The budget its reads draw on.
    pub fn budget(&self) -> FrameBudget {
        self.budget.clone()
    }
}

/// Reads one frame of at most `max` bytes, growing it as bytes arrive; the bytes beyond
/// [`FREE_FRAME_BYTES`] are taken from `budget` and stay in the returned [`Held`].
async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
    budget: &FrameBudget,
) -> io::Result<(Vec<u8>, Held)> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes (at most {max})"),
        ));
    }
    let mut held = Held {
        budget: budget.clone(),
        bytes: 0,
    };
    let mut buf = Vec::new();
    while buf.len() < len {
        let start = buf.len();
        let end = (start + READ_CHUNK).min(len);
        budget.take(&mut held, end.saturating_sub(FREE_FRAME_BYTES.max(start)))?;
        buf.reserve_exact(end - start);
        buf.resize(end, 0);
        io.read_exact(&mut buf[start..end]).await?;
    }
    Ok((buf, held))
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
    type Request = Framed<Request>;
    type Response = Framed<Response>;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Framed<Request>>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_frame(io, MAX_REQUEST_FRAME, &self.budget).await {
            Ok((frame, held)) => Ok(Framed {
                message: decode(&frame).unwrap_or_else(|e| Request::Malformed(e.to_string())),
                held: Some(held),
            }),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Ok(Framed::new(Request::Malformed(e.to_string())))
            }
            Err(e) => Err(e),
        }
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Framed<Response>>
    where
        T: AsyncRead + Unpin + Send,
    {
        // The answer is decoded at once; its frame's share goes back when the bytes do.
        let (frame, _held) = read_frame(io, MAX_FRAME, &self.budget).await?;
        decode(&frame).map(Framed::new).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Framed<Request>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&req.message).map_err(invalid)?).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Framed<Response>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // An answer's share of the answer budget goes back once it is written (`res` drops).
        write_frame(io, &encode(&res.message).map_err(invalid)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn receipt() -> Receipt {
        let keys = crate::engine::keys::DeviceKeys::from_seed(&[4; 32]);
        let mut have = crate::vv::VersionVector::new();
        have.advance(DeviceId([7; 32]), 42);
        Receipt::sign(&keys, SpaceId([1; 16]), &have, 2, 1_764_000_000_000).unwrap()
    }

    fn sample() -> Vec<Request> {
        let mut have = WireHave::new();
        have.push((DeviceId([7; 32]), 42)).unwrap();
        vec![
            Request::Pull {
                space: SpaceId([1; 16]),
                have,
                tips: vec![[3; 8]].try_into().unwrap(),
                lists: (4, [5; 8]),
                clock_ms: 1_764_000_000_000,
                receipts: vec![receipt()].try_into().unwrap(),
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
            lists: BoundedVec::new(),
            clock_ms: u64::MAX,
            receipts: vec![receipt()].try_into().unwrap(),
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

    fn framed(len: u32, body: usize) -> libp2p::futures::io::Cursor<Vec<u8>> {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend(vec![7u8; body]);
        libp2p::futures::io::Cursor::new(bytes)
    }

    #[test]
    fn answers_waiting_to_be_written_are_bounded_for_all_peers_together() {
        let answers = FrameBudget::with_limit(ANSWER_BUDGET);
        let batch = || vec![vec![7u8; 2_000]; 1_000]; // a full 2 MB batch
        let mut written_later = Vec::new();
        let mut busy = 0;
        for _ in 0..64 {
            // As many slow readers' answers as a member proving under many ids could ask for.
            match charge_answer(&answers, batch(), true) {
                (envelopes, true, Some(share)) => {
                    assert_eq!(envelopes.len(), 1_000);
                    written_later.push(Framed::charged(envelopes, share));
                }
                (envelopes, more, None) => {
                    assert!(envelopes.is_empty() && !more, "busy: nothing now, not more");
                    busy += 1;
                }
                other => panic!("unexpected {:?}", (other.0.len(), other.1)),
            }
        }
        assert!(answers.used() <= ANSWER_BUDGET, "{} held", answers.used());
        assert_eq!(written_later.len(), ANSWER_BUDGET / 4_000_000);
        assert_eq!(busy, 64 - written_later.len());
        // Written (dropped): their share goes back and the next pull gets its batch.
        written_later.clear();
        assert_eq!(answers.used(), 0);
        assert!(charge_answer(&answers, batch(), true).2.is_some());
    }

    #[test]
    fn frames_grow_as_bytes_arrive_within_a_budget_given_back_on_drop() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let budget = FrameBudget::default();
            // The largest request claimed, 100 KiB sent: nothing held once the stream ends.
            let claimed = MAX_REQUEST_FRAME as u32;
            let cut = read_frame(&mut framed(claimed, 100 << 10), MAX_REQUEST_FRAME, &budget).await;
            assert!(cut.is_err());
            assert_eq!(budget.used(), 0);
            let too_long =
                read_frame(&mut framed(claimed + 1, 0), MAX_REQUEST_FRAME, &budget).await;
            assert_eq!(too_long.unwrap_err().kind(), io::ErrorKind::InvalidData);
            // A whole frame keeps its share beyond the free part until it is dropped.
            let (frame, held) = read_frame(&mut framed(1 << 20, 1 << 20), MAX_FRAME, &budget)
                .await
                .unwrap();
            assert_eq!(frame.len(), 1 << 20);
            assert_eq!(budget.used(), (1 << 20) - FREE_FRAME_BYTES);
            drop(held);
            assert_eq!(budget.used(), 0);
            // Spent: a read that needs more ends at once (not a protocol violation); a small
            // frame (a member's one write) still fits in its free part.
            let mut kept = Vec::new();
            while budget.used() + MAX_FRAME <= FRAME_BUDGET {
                let whole = MAX_FRAME as u32;
                kept.push(read_frame(&mut framed(whole, MAX_FRAME), MAX_FRAME, &budget).await);
            }
            let spent = read_frame(&mut framed(1 << 20, 1 << 20), MAX_FRAME, &budget).await;
            assert_eq!(spent.unwrap_err().kind(), io::ErrorKind::OutOfMemory);
            let small = read_frame(&mut framed(4096, 4096), MAX_FRAME, &budget).await;
            assert!(small.is_ok());
            drop(kept);
            assert_eq!(budget.used(), 0);
        });
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
