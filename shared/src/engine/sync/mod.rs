//! Peer-to-peer sync over libp2p: the wire protocol ([`proto`]) and the peer that runs it
//! ([`peer`]): TCP+Noise+Yamux and QUIC, mDNS, identify, ping, and one request-response
//! protocol for the proof of holding a space (nothing about a space goes to a peer before it),
//! version-vector anti-entropy, and pushes of new operations to the peers that proved their
//! space; relaying of every held space (blind relays with a grant included), and bounds on
//! everything a peer can send. Around it: peer
//! addresses and invite hints ([`address`]), the network status ([`status`]) and the loop's
//! bookkeeping, testable without a network (`state`).
//!
//! The node ([`crate::engine::node::Node`]) decides what is stored; this module only moves
//! sealed envelopes. See docs/ARCHITECTURE.md, "Sync protocol".

pub mod address;
pub mod muxer;
pub mod peer;
pub mod proto;
mod state;
pub mod status;

/// The libp2p this crate is built with, for tools and tests that speak to a peer directly.
pub use libp2p;

pub use address::{
    device_of_peer, dial_address, invite_hint, peer_of_device, split_invite, AddressError,
    InviteHint,
};
pub use peer::{serve, Job, NetAction, NetEvent, SyncConfig, SyncError};
pub use status::{save_last_state, state_path, NetStatus, PeerInfo};
