//! The network status as a person sees it: the peers ([`PeerInfo`]), the listen addresses and
//! this device's operations not yet on any other peer ([`NetStatus`], handed to every job), and
//! the last state a stopped peer leaves in `DIR/sync-state.json` for `krizlink-node status`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::node::Node;

/// A connected (or recently synced) peer, for a person.
#[derive(Clone, Debug, Serialize)]
pub struct PeerInfo {
    pub peer_id: String,
    /// The device behind the peer id (the same Ed25519 key).
    pub device: Option<String>,
    pub connected: bool,
    pub addresses: Vec<String>,
    /// RFC 3339, UTC.
    pub last_sync: Option<String>,
}

/// What the network looks like from here, handed to every [`Job`](super::Job).
#[derive(Clone, Debug, Serialize)]
pub struct NetStatus {
    pub peer_id: String,
    pub listen: Vec<String>,
    pub peers: Vec<PeerInfo>,
    /// Per space: this device's operations not yet known to be on any other peer.
    pub unsent: BTreeMap<String, u64>,
}

/// Where a stopped peer leaves its last network state (`krizlink-node status` reads it).
pub fn state_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("sync-state.json")
}

/// Saves what `status` shows while nobody serves: the last network state and, per space, this
/// device's last operation at the stop (operations after it are unsent too).
pub fn save_last_state(node: &Node, status: &NetStatus) -> std::io::Result<()> {
    let own_at_stop: BTreeMap<String, u64> = node
        .held_spaces()
        .into_iter()
        .map(|(space, _)| (space.to_string(), node.own_last_seq(space)))
        .collect();
    let saved = serde_json::json!({
        "unsent": status.unsent,
        "peers": status.peers,
        "own_at_stop": own_at_stop,
    });
    let text = serde_json::to_string_pretty(&saved).map_err(std::io::Error::other)?;
    crate::engine::private::write_atomic(&state_path(node.data_dir()), text.as_bytes())
}

/// A time as the status shows it: RFC 3339, UTC, milliseconds.
pub(crate) fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
