//! krizlink-core: the heart every KrizLink replica shares.
//!
//! With default features off this crate is pure Rust that compiles to `wasm32-unknown-unknown`:
//! identifiers ([`ids`]), the hybrid logical clock ([`hlc`]), the record vocabulary of the
//! glossary ([`record`]), operations and their canonical encoding ([`op`]), version vectors
//! ([`vv`]), the deterministic merge ([`merge`]) and the typed record views the UI shows
//! ([`views`]). It knows nothing about sled, libp2p, keys or Tauri.

pub mod api;
pub mod authority;
pub mod bounded;
pub mod calls;
#[cfg(feature = "engine")]
pub mod engine;
pub mod exercise;
pub mod forms;
pub mod hlc;
pub mod ids;
pub mod merge;
pub mod op;
pub mod record;
pub mod snapshot;
pub mod views;
pub mod vv;
pub mod when;

#[cfg(test)]
mod testing;

/// The version of KrizLink's core, shown in the UI's about line and in `krizlink-node --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use hlc::{ClockError, Hlc, HlcClock, Stamp};
pub use ids::{DeviceId, IdParseError, OpId, RecordId, SpaceId};
pub use merge::{
    ApplyError, ApplyOutcome, ChangeToken, RecordKey, RecordState, Replica, StateHash,
};
pub use op::{Change, DecodeError, EncodeError, InvalidOp, Operation};
pub use record::{FieldKey, FieldValue, RecordKind, SetField, Status, Timestamp};
pub use vv::VersionVector;
