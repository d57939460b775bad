//! The stream multiplexer of TCP connections: yamux, with the receive window of a whole
//! connection capped at what its streams may hold at yamux's initial window (see "Bounds" in
//! ARCHITECTURE.md).
//!
//! yamux auto-tunes a stream's receive window: while this node reads a stream fast, the window
//! grows towards twice the bandwidth-delay product, by default up to 1 GiB per connection. A
//! peer that makes the round trip look long (answering yamux's pings late) and is read fast for
//! a while could so make a stream's window grow, then stop this node reading (fill the frame
//! budget on other streams) and fill the grown window: memory beyond the documented bound.
//! libp2p-yamux 0.48 does not let the window be set, so this module is the upgrade that builds
//! the yamux connection itself with [`CONNECTION_RECEIVE_WINDOW`] = streams × 256 KiB: the
//! windows of all streams together never exceed what the Bounds table counts.
//!
//! The rest is yamux's `Connection` behind libp2p's `StreamMuxer`: inbound streams that come
//! while libp2p polls the connection for other work wait in a short queue (beyond it they are
//! reset; a peer keeps to the stream limit anyway).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade, UpgradeInfo};
use libp2p::futures::future;
use libp2p::futures::{AsyncRead, AsyncWrite};

/// yamux's initial (and, here, largest) receive window of one stream.
pub const STREAM_WINDOW: usize = yamux::DEFAULT_CREDIT as usize;

/// Inbound streams kept while nobody asked for one.
const MAX_QUEUED_INBOUND: usize = 32;

/// The yamux upgrade of a connection with `streams` streams at most and their windows capped.
#[derive(Clone, Debug)]
pub struct CappedYamux {
    config: yamux::Config,
}

/// The receive window of a whole connection with `streams` streams: what they may hold at
/// yamux's initial window, no more.
pub const fn connection_receive_window(streams: usize) -> usize {
    streams * STREAM_WINDOW
}

impl CappedYamux {
    pub fn new(streams: usize) -> CappedYamux {
        let mut config = yamux::Config::default();
        // The stream count first: yamux checks the window against it on each call.
        config.set_max_num_streams(streams);
        config.set_max_connection_receive_window(Some(connection_receive_window(streams)));
        CappedYamux { config }
    }

    fn connect<C>(self, io: C, mode: yamux::Mode) -> future::Ready<Result<Muxer<C>, io::Error>>
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        future::ready(Ok(Muxer {
            connection: yamux::Connection::new(io, self.config, mode),
            queued: VecDeque::new(),
            waiting: None,
        }))
    }
}

impl UpgradeInfo for CappedYamux {
    type Info = &'static str;
    type InfoIter = std::iter::Once<Self::Info>;

    fn protocol_info(&self) -> Self::InfoIter {
        std::iter::once("/yamux/1.0.0")
    }
}

impl<C> InboundConnectionUpgrade<C> for CappedYamux
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = Muxer<C>;
    type Error = io::Error;
    type Future = future::Ready<Result<Muxer<C>, io::Error>>;

    fn upgrade_inbound(self, io: C, _: Self::Info) -> Self::Future {
        self.connect(io, yamux::Mode::Server)
    }
}

impl<C> OutboundConnectionUpgrade<C> for CappedYamux
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = Muxer<C>;
    type Error = io::Error;
    type Future = future::Ready<Result<Muxer<C>, io::Error>>;

    fn upgrade_outbound(self, io: C, _: Self::Info) -> Self::Future {
        self.connect(io, yamux::Mode::Client)
    }
}

/// One multiplexed connection.
pub struct Muxer<C> {
    connection: yamux::Connection<C>,
    /// Inbound streams that came while libp2p polled for other work.
    queued: VecDeque<yamux::Stream>,
    /// Who asked for an inbound stream when none was there.
    waiting: Option<Waker>,
}

impl<C> Muxer<C>
where
    C: AsyncRead + AsyncWrite + Unpin + 'static,
{
    /// The next inbound stream from the connection (this also drives the connection).
    fn next_inbound(&mut self, cx: &mut Context<'_>) -> Poll<Result<yamux::Stream, MuxerError>> {
        match self.connection.poll_next_inbound(cx) {
            Poll::Ready(Some(Ok(stream))) => Poll::Ready(Ok(stream)),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(MuxerError(e))),
            Poll::Ready(None) => Poll::Ready(Err(MuxerError(yamux::ConnectionError::Closed))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<C> StreamMuxer for Muxer<C>
where
    C: AsyncRead + AsyncWrite + Unpin + 'static,
{
    type Substream = yamux::Stream;
    type Error = MuxerError;

    fn poll_inbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let this = self.get_mut();
        if let Some(stream) = this.queued.pop_front() {
            return Poll::Ready(Ok(stream));
        }
        match this.next_inbound(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => {
                this.waiting = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn poll_outbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        self.get_mut()
            .connection
            .poll_new_outbound(cx)
            .map_err(MuxerError)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().connection.poll_close(cx).map_err(MuxerError)
    }

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        let this = self.get_mut();
        let stream = match this.next_inbound(cx) {
            Poll::Ready(Ok(stream)) => stream,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // Kept for `poll_inbound`; beyond the queue the stream is dropped (reset).
        if this.queued.len() < MAX_QUEUED_INBOUND {
            this.queued.push_back(stream);
            if let Some(waker) = this.waiting.take() {
                waker.wake();
            }
        }
        // Come back at once: the connection may have more to do.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A yamux connection failed.
#[derive(Debug, thiserror::Error)]
#[error("yamux: {0}")]
pub struct MuxerError(yamux::ConnectionError);
