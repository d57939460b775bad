//! Where a peer is and who it is: peer addresses typed by a person or read from a file
//! ([`dial_address`]), the inviter's address carried in an invite code after `@`
//! ([`InviteHint`], [`invite_hint`], [`split_invite`]), and the mapping between libp2p peer ids
//! and device ids (the same Ed25519 key). Nothing here touches the network.

use libp2p::{identity, Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

use crate::engine::sync::status::NetStatus;
use crate::ids::DeviceId;

/// The inviter's network address as carried in an invite code after `@`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteHint {
    pub peer: Vec<u8>,
    pub addresses: Vec<String>,
}

impl InviteHint {
    pub fn new(peer: &PeerId, addresses: &[Multiaddr]) -> InviteHint {
        InviteHint {
            peer: peer.to_bytes(),
            addresses: addresses.iter().take(8).map(|a| a.to_string()).collect(),
        }
    }

    pub fn to_text(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&postcard::to_allocvec(self).unwrap_or_default())
    }

    /// Parses the part after `@`; bounded (at most 8 addresses of 200 characters).
    pub fn parse(text: &str) -> Option<(PeerId, Vec<Multiaddr>)> {
        if text.len() > 4096 {
            return None;
        }
        let bytes = data_encoding::BASE32_NOPAD
            .decode(text.trim().to_ascii_uppercase().as_bytes())
            .ok()?;
        let hint: InviteHint = postcard::from_bytes(&bytes).ok()?;
        let peer = PeerId::from_bytes(&hint.peer).ok()?;
        let addresses = hint
            .addresses
            .iter()
            .take(8)
            .filter(|a| a.len() <= 200)
            .filter_map(|a| a.parse().ok())
            .collect();
        Some((peer, addresses))
    }
}

/// Longest peer address accepted from a person or a file.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// Why a typed peer address cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("no address given")]
    Empty,
    #[error("the address is longer than {0} characters")]
    TooLong(usize),
    #[error("{0:?} is not a multiaddr (like /ip4/192.168.1.10/tcp/7470)")]
    NotAnAddress(String),
    #[error("{0:?} names neither a TCP port nor QUIC")]
    NoTransport(String),
}

/// A peer address typed by a person (or read from a file): a multiaddr with a TCP port or QUIC.
pub fn dial_address(text: &str) -> Result<Multiaddr, AddressError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AddressError::Empty);
    }
    if text.chars().count() > MAX_ADDRESS_CHARS {
        return Err(AddressError::TooLong(MAX_ADDRESS_CHARS));
    }
    let addr: Multiaddr = text
        .parse()
        .map_err(|_| AddressError::NotAnAddress(text.to_owned()))?;
    let transport = addr.iter().any(|p| {
        matches!(
            p,
            libp2p::multiaddr::Protocol::Tcp(_) | libp2p::multiaddr::Protocol::QuicV1
        )
    });
    if !transport {
        return Err(AddressError::NoTransport(text.to_owned()));
    }
    Ok(addr)
}

/// The part of an invite code after `@`: where this serving peer can be reached (empty when it
/// listens nowhere yet).
pub fn invite_hint(net: &NetStatus) -> String {
    let Ok(peer) = net.peer_id.parse::<PeerId>() else {
        return String::new();
    };
    let addrs: Vec<Multiaddr> = net.listen.iter().filter_map(|a| a.parse().ok()).collect();
    if addrs.is_empty() {
        return String::new();
    }
    InviteHint::new(&peer, &addrs).to_text()
}

/// Where the inviting device can be reached: its peer id and addresses.
pub type Inviter = (PeerId, Vec<Multiaddr>);

/// The part of an invite code after `@` cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the address part of the invite code (after @) is damaged")]
pub struct DamagedInviteAddress;

/// Splits an invite code into its secret part and, after `@`, the inviter's peer id and
/// addresses. `None` for a code without `@` (offline exchange).
pub fn split_invite(code: &str) -> Result<(&str, Option<Inviter>), DamagedInviteAddress> {
    match code.trim().split_once('@') {
        Some((secret, hint)) => match InviteHint::parse(hint) {
            Some(found) => Ok((secret, Some(found))),
            None => Err(DamagedInviteAddress),
        },
        None => Ok((code.trim(), None)),
    }
}

/// The libp2p peer id of a device (its Ed25519 key is the network identity too).
pub fn peer_of_device(device: &DeviceId) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&device.0).ok()?;
    Some(identity::PublicKey::from(key).to_peer_id())
}

/// The device behind a peer id, if the peer id carries an Ed25519 key.
pub fn device_of_peer(peer: &PeerId) -> Option<DeviceId> {
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None; // not an identity multihash: the key is not inside
    }
    let key = identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let key = key.try_into_ed25519().ok()?;
    Some(DeviceId(key.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_and_device_ids_are_the_same_key() {
        let keys = crate::engine::keys::DeviceKeys::from_seed(&[9; 32]);
        let device = keys.device_id();
        let peer = peer_of_device(&device).unwrap();
        assert_eq!(device_of_peer(&peer), Some(device));
        let from_seed = identity::Keypair::ed25519_from_bytes([9u8; 32])
            .unwrap()
            .public()
            .to_peer_id();
        assert_eq!(peer, from_seed, "the network identity is the device key");
    }

    #[test]
    fn typed_addresses_are_checked() {
        assert!(dial_address(" /ip4/192.168.1.10/tcp/7470 ").is_ok());
        assert!(dial_address("/ip4/10.0.0.2/udp/7470/quic-v1").is_ok());
        assert_eq!(dial_address("  "), Err(AddressError::Empty));
        assert!(matches!(
            dial_address("192.168.1.10:7470"),
            Err(AddressError::NotAnAddress(_))
        ));
        assert!(matches!(
            dial_address("/ip4/10.0.0.2"),
            Err(AddressError::NoTransport(_))
        ));
        assert_eq!(
            dial_address(&"/ip4/1.1.1.1/tcp/1".repeat(40)),
            Err(AddressError::TooLong(MAX_ADDRESS_CHARS))
        );
    }

    #[test]
    fn invite_hints_round_trip_and_refuse_junk() {
        let peer = PeerId::random();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/7470".parse().unwrap();
        let text = InviteHint::new(&peer, std::slice::from_ref(&addr)).to_text();
        assert_eq!(InviteHint::parse(&text), Some((peer, vec![addr])));
        assert_eq!(InviteHint::parse("NOT-BASE32!"), None);
        assert_eq!(InviteHint::parse(&"A".repeat(5000)), None);
    }
}
