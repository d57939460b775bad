//! The native engine every peer runs (feature `engine`, never on wasm, never touching Tauri):
//! device keys and envelopes, the sealed keystore, the encrypted sled store, the audit log and
//! the node runtime that `krizlink-node` and the desktop app drive.

pub mod audit;
mod data_dir;
pub mod documents;
pub mod envelope;
pub mod invite;
pub mod keys;
pub mod keystore;
pub mod member_list;
pub mod node;
pub mod oplog;
pub mod pdf;
pub mod private;
pub mod receipt;
pub mod rekey;
pub mod sync;
pub mod wrap;

pub use data_dir::{default_data_dir, NoDataDir};
