//! `status`: whether this data dir is served, the peers and the last sync with each, and per
//! space this device's operations not yet known to be on any other peer. While serving it is
//! the live network state; otherwise the state saved at the last clean stop.

use anyhow::Result;
use serde_json::{json, Value};

use krizlink_core::engine::node::{Holding, Node};
use krizlink_core::engine::private;
use krizlink_core::engine::sync::{self, peer_of_device, NetStatus};
use krizlink_core::SpaceId;

use crate::output::{outln, Io};

/// `status`: the peers, the last sync with each, and my changes not yet on any other peer.
pub(crate) fn status(
    node: &Node,
    io: &mut Io,
    net: Option<&NetStatus>,
    json_out: bool,
) -> Result<()> {
    let serving = net.is_some();
    let saved: Option<Value> = if serving {
        None
    } else {
        private::read_to_string(&sync::state_path(node.data_dir()))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    };
    let unsent_of = |space: &SpaceId| -> Option<u64> {
        match net {
            Some(n) => n.unsent.get(&space.to_string()).copied(),
            None => saved
                .as_ref()
                .and_then(|s| s["unsent"][space.to_string()].as_u64())
                .map(|u| {
                    // Written since the peer stopped: not on anyone else either.
                    let at_stop = saved
                        .as_ref()
                        .and_then(|s| s["own_at_stop"][space.to_string()].as_u64());
                    u + at_stop.map_or(0, |a| node.own_last_seq(*space).saturating_sub(a))
                }),
        }
    };
    let spaces: Vec<Value> = node
        .held_spaces()
        .into_iter()
        .map(|(space, holding)| {
            let ops = node.have(space).map(|v| v.total()).unwrap_or(0);
            let unsent = match holding {
                Holding::Member => unsent_of(&space).unwrap_or(node.own_last_seq(space)),
                Holding::BlindRelay => 0,
            };
            json!({
                "id": space.to_string(),
                "holding": holding,
                "operations": ops,
                "unsent": unsent,
            })
        })
        .collect();
    let peers: Value = match net {
        Some(n) => serde_json::to_value(&n.peers)?,
        None => saved
            .as_ref()
            .map(|s| s["peers"].clone())
            .unwrap_or(Value::Array(Vec::new())),
    };
    let peers = match peers {
        Value::Array(list) => Value::Array(
            list.into_iter()
                .map(|mut p| {
                    if !serving {
                        p["connected"] = Value::Bool(false);
                    }
                    p
                })
                .collect(),
        ),
        other => other,
    };
    let value = json!({
        "serving": serving,
        "device": node.device_id().to_string(),
        "peer_id": peer_of_device(&node.device_id()).map(|p| p.to_string()),
        "listen": net.map(|n| n.listen.clone()).unwrap_or_default(),
        "peers": peers,
        "spaces": spaces,
        "forked_devices": node.forked_devices(),
        // What the person must be told (Czech first), as the app shows it.
        "notices": node.notices(),
    });
    if json_out {
        outln!(io, "{value}");
        return Ok(());
    }
    outln!(
        io,
        "{}",
        if serving {
            "serving: yes"
        } else {
            "serving: no (last known state)"
        }
    );
    for p in value["peers"].as_array().into_iter().flatten() {
        outln!(
            io,
            "peer {}  {}  last sync {}",
            p["peer_id"].as_str().unwrap_or("?"),
            if p["connected"].as_bool() == Some(true) {
                "connected"
            } else {
                "not connected"
            },
            p["last_sync"].as_str().unwrap_or("never")
        );
    }
    for s in &spaces {
        outln!(
            io,
            "space {}  {}  {} operations, not yet on another peer: {}",
            s["id"].as_str().unwrap_or("?"),
            s["holding"].as_str().unwrap_or("?"),
            s["operations"],
            s["unsent"]
        );
    }
    for f in node.forked_devices() {
        outln!(
            io,
            "forked device {} in space {}: two different writes numbered {}{}",
            f.device,
            f.space,
            f.seq,
            if f.this_device {
                " (this device: its data dir was restored from an older copy)"
            } else {
                ""
            }
        );
    }
    for notice in node.notices() {
        outln!(io, "notice: {notice}");
    }
    Ok(())
}
