//! Blind relays keep only what members wrote (issue 13, property 3): a relay granted by the
//! chair stores and forwards an envelope only if its author is on the space's signed member
//! list, and follows the list as the staff admits new members.
//!
//! The adversary is an insider's machine, a real libp2p peer in this test binary speaking the
//! crate's own codec: it holds the relay's proof key (from the grant, or derived from the
//! space key as any member can), so it passes the proof, and pushes validly signed envelopes of
//! a thousand devices that are no members. The relay must refuse every one, its op log must
//! not grow by a byte, and a member admitted after the grant must still sync through it.

use std::path::Path;
use std::time::Duration;

use krizlink_core::engine::keys::SpaceKey;
use krizlink_core::engine::keystore::Secret32;
use krizlink_core::engine::node::proof::{self, RelayGrant};
use krizlink_core::engine::sync::address::device_of_peer;
use krizlink_core::engine::sync::libp2p;
use krizlink_core::engine::sync::proto::{self, Framed, Request, Response, SyncCodec};
use krizlink_core::SpaceId;
use krizlink_tests::adversary::fresh_key_envelopes;
use krizlink_tests::TempDir;
use libp2p::futures::StreamExt;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::Multiaddr;

use krizlink_tests::staff::{founder, has_task, joined, json, ok, relay_grant, serve, wait_until};

/// Devices that are no members, each signing one envelope.
const OUTSIDERS: usize = 1_000;

/// Validly signed envelopes of `space` from `OUTSIDERS` fresh keys, in pushes.
fn outsider_pushes(space: SpaceId) -> Vec<Request> {
    let key = SpaceKey::generate().expect("key");
    fresh_key_envelopes(space, &key, OUTSIDERS, 0)
        .chunks(250)
        .map(|batch| Request::Push {
            space,
            envelopes: proto::envelopes_to_wire(batch.to_vec()).expect("wire"),
        })
        .collect()
}

/// The insider: dials the relay, proves `space` with the relay's proof key `secret`, sends
/// `pushes` and returns the envelopes the relay said it stored and refused.
async fn insider(
    target: Multiaddr,
    relay: krizlink_core::DeviceId,
    secret: Secret32,
    pushes: Vec<Request>,
) -> (u32, u32) {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .expect("transport")
        .with_behaviour(|_| {
            request_response::Behaviour::<SyncCodec>::with_codec(
                SyncCodec::default(),
                [(proto::PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            )
        })
        .expect("behaviour")
        .build();
    let me = device_of_peer(swarm.local_peer_id()).expect("an Ed25519 identity");
    swarm.dial(target).expect("dial");
    let (mut stored, mut refused, mut answered) = (0, 0, 0);
    let mut sent = false;
    while let Some(event) = swarm.next().await {
        match event {
            // The relay challenges every connection: answer as a member would.
            SwarmEvent::Behaviour(request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            }) => {
                let (request, _) = request.into_parts();
                let Request::Challenge { nonce, .. } = request else {
                    continue;
                };
                let mut tags = vec![proof::tag(&secret, proof::FOR_YOU, &nonce, &me, &relay)];
                tags.resize(proof::TAG_PAD, [0x11; 32]);
                let _ = swarm.behaviour_mut().send_response(
                    channel,
                    Framed::new(Response::Proof {
                        tags: tags.try_into().expect("16 tags"),
                    }),
                );
                if !sent {
                    sent = true;
                    for push in &pushes {
                        swarm
                            .behaviour_mut()
                            .send_request(&peer, Framed::new(push.clone()));
                    }
                }
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            }) => {
                if let Response::Stored {
                    stored: s,
                    rejected: r,
                } = response.into_parts().0
                {
                    stored += s;
                    refused += r;
                }
                answered += 1;
                if answered == pushes.len() {
                    return (stored, refused);
                }
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { error, .. }) => {
                panic!("a push to the relay failed: {error}")
            }
            _ => {}
        }
    }
    (stored, refused)
}

/// Bytes of the relay's op logs.
fn logs_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("spaces"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_relay_keeps_only_what_members_wrote_and_follows_new_members() {
    let root = TempDir::new("relays");
    let (a, space, a_serving) = founder(&root, "Alena");
    let r = root.path().join("relay");
    ok(&r, &["init", "--name", "Krajský server"]);
    let grant = relay_grant(&a, &space, &r);
    let r_serving = serve(&r, &["--peer", &a_serving.addr, "--blind-relay", &grant]);
    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "Před útokem"],
    );
    wait_until(
        "the relay stores the chair's writes",
        Duration::from_secs(15),
        || json_ops(&r) >= 2,
    );
    let before = logs_bytes(&r);
    assert!(before > 0, "the relay logged the chair's writes");

    // The insider pushes envelopes of devices that are no members.
    let parsed = RelayGrant::parse(&grant).expect("grant");
    let space_id: SpaceId = space.parse().expect("space id");
    let target: Multiaddr = r_serving.addr.parse().expect("address");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pushes = outsider_pushes(space_id);
    let secret = Secret32::from_bytes(parsed.secret);
    let (stored, refused) = runtime
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                insider(target, parsed.relay, secret, pushes),
            )
            .await
        })
        .expect("the relay answered every push");
    assert_eq!(
        (stored, refused),
        (0, OUTSIDERS as u32),
        "the relay refused every envelope of a device that is no member"
    );
    assert_eq!(
        logs_bytes(&r),
        before,
        "the relay's op log did not grow by a byte"
    );

    // A member admitted after the grant talks only to the relay: the relay takes the chair's
    // newer list and carries the new member's writes both ways.
    let c = joined(&root, "Cyril", &a, &space, "member");
    let c_serving = serve(&c, &["--peer", &r_serving.addr]);
    ok(
        &c,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Hlášení z ORP přes relé",
        ],
    );
    wait_until(
        "the new member's write reaches the chair through the relay",
        Duration::from_secs(20),
        || has_task(&a, &space, "Hlášení z ORP přes relé"),
    );
    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "Odpověď kraje"],
    );
    wait_until(
        "and the chair's answer reaches the new member",
        Duration::from_secs(20),
        || has_task(&c, &space, "Odpověď kraje"),
    );
    c_serving.stop();
    r_serving.stop();
    a_serving.stop();
}

/// Operations the relay holds of its one space.
fn json_ops(dir: &Path) -> u64 {
    json(dir, &["status", "--json"])["spaces"][0]["operations"]
        .as_u64()
        .unwrap_or(0)
}
