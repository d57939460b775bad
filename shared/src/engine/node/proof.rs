//! Proof of holding a space, before sync says anything about it: the tags a peer answers a
//! challenge with, checking a peer's tags, and relay grants.
//!
//! Every (space, device) pair has a proof key, `HKDF-SHA256(space key of epoch 0, salt
//! "krizlink/space-proof/v1", info "device" ‖ space id ‖ device id)`. A member knows every
//! device's proof key of its spaces; a blind relay knows only its own, from the grant a chair or
//! secretary issued for it ([`Node::grant_relay`], [`RelayGrant`]).
//!
//! A challenger sends a fresh 32-byte nonce; the answerer sends tags
//! `HMAC-SHA256(proof key, "krizlink/space-proof-tag/v1" ‖ kind ‖ nonce ‖ answerer device ‖
//! challenger device)`, for each space it holds:
//! - kind [`HOLDER`], keyed by the answerer's own proof key (members and granted relays);
//! - kind [`FOR_YOU`], keyed by the challenger's proof key (members only: a relay can check
//!   nothing else).
//!
//! The list is padded with random tags to a multiple of [`TAG_PAD`] and sorted, so its length
//! and order say little. The challenger computes the tags it expects for each space it holds and
//! learns exactly the spaces both hold; a stranger learns nothing (tags are keyed, bound to the
//! nonce and to both devices, so they can be neither linked across connections nor replayed or
//! passed on to a third peer). Two relays of one space prove nothing to each other.

use ring::hmac;

use super::*;
use crate::engine::keystore::{RelayGrantEntry, Secret32};
use crate::engine::member_list::MemberList;

/// One proof tag.
pub type Tag = [u8; 32];
/// Kind of a tag keyed by the answerer's own proof key.
pub const HOLDER: u8 = 1;
/// Kind of a tag keyed by the challenger's proof key.
pub const FOR_YOU: u8 = 2;
/// Answers are padded with random tags to a multiple of this many (and at least this many).
pub const TAG_PAD: usize = 16;

const PROOF_SALT: &[u8] = b"krizlink/space-proof/v1";
const TAG_DOMAIN: &[u8] = b"krizlink/space-proof-tag/v1";
const GRANT_PREFIX: &str = "KRZRELAY2.";
/// The prefix of grants before member lists (refused with a message that says so).
const OLD_GRANT_PREFIX: &str = "KRZRELAY1.";
/// Longest relay grant text accepted (a member list of 1,024 devices, in base64).
pub const MAX_GRANT_TEXT: usize = 64 * 1024;

/// The proof key of `device` in `space`.
fn proof_key(key: &SpaceKey, space: SpaceId, device: &DeviceId) -> Option<Secret32> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, PROOF_SALT).extract(key.as_bytes());
    let mut out = [0u8; 32];
    prk.expand(&[b"device", &space.0, &device.0], Len32)
        .and_then(|okm| okm.fill(&mut out))
        .ok()?;
    Some(Secret32::from_bytes(out))
}

/// One tag (see the module documentation).
pub fn tag(
    key: &Secret32,
    kind: u8,
    nonce: &[u8; 32],
    answerer: &DeviceId,
    challenger: &DeviceId,
) -> Tag {
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()));
    ctx.update(TAG_DOMAIN);
    ctx.update(&[kind]);
    ctx.update(nonce);
    ctx.update(&answerer.0);
    ctx.update(&challenger.0);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Whether `expected` is among `tags`, comparing each in constant time.
fn among(expected: &Tag, tags: &[Tag]) -> bool {
    tags.iter().fold(false, |found, t| {
        let diff = t
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        found | (core::hint::black_box(diff) == 0)
    })
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// A grant for one device to relay one space, handed to the relay's operator as text. It
/// carries the granter's member list: the relay stores only what the devices on it wrote, and
/// takes later lists only from the issuers that list (and its successors) name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RelayGrant {
    pub space: SpaceId,
    pub relay: DeviceId,
    pub secret: [u8; 32],
    pub granter: DeviceId,
    pub members: MemberList,
}

impl RelayGrant {
    pub fn to_text(&self) -> String {
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        format!(
            "{GRANT_PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&bytes)
        )
    }

    /// Parses a grant (whitespace is ignored); bounded.
    pub fn parse(text: &str) -> Result<RelayGrant, NodeError> {
        let bad = || NodeError::BadRelayGrant;
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if text.len() > MAX_GRANT_TEXT {
            return Err(bad());
        }
        if text.starts_with(OLD_GRANT_PREFIX) {
            return Err(NodeError::OldRelayGrant);
        }
        let body = text.strip_prefix(GRANT_PREFIX).ok_or_else(bad)?;
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| bad())?;
        let (grant, rest): (RelayGrant, _) =
            postcard::take_from_bytes(&bytes).map_err(|_| bad())?;
        if !rest.is_empty() {
            return Err(bad());
        }
        // The list must be the granter's own, for this space.
        if grant.members.space != grant.space || grant.members.issuer != grant.granter {
            return Err(bad());
        }
        grant.members.verify().map_err(NodeError::MemberList)?;
        Ok(grant)
    }
}

impl Node {
    /// The proof key of `device` in a member space (epoch 0, so grants outlive rotations).
    fn member_proof_key(&self, space: SpaceId, device: &DeviceId) -> Option<Secret32> {
        proof_key(self.space_key(space, 0)?, space, device)
    }

    /// The tags answering a challenge with `nonce` from `challenger` (None: a peer that is no
    /// device, which gets only random tags, as many as anyone else).
    pub fn proof_tags(&self, nonce: &[u8; 32], challenger: Option<&DeviceId>) -> Vec<Tag> {
        let me = self.keys.device_id();
        let mut tags = Vec::new();
        for space in self.spaces.keys() {
            if let Some(mine) = self.member_proof_key(*space, &me) {
                tags.push((mine, HOLDER));
            }
            // A stand-in for the stranger keeps the count the same.
            let theirs = challenger.copied().unwrap_or(DeviceId([0; 32]));
            if let Some(key) = self.member_proof_key(*space, &theirs) {
                tags.push((key, FOR_YOU));
            }
        }
        for space in self.relays.keys() {
            if let Some(secret) = self.keystore.contents().relay_grant(*space) {
                tags.push((secret.clone(), HOLDER));
            }
        }
        let real = tags.len();
        let padded = real.div_ceil(TAG_PAD).max(1) * TAG_PAD;
        let mut out: Vec<Tag> = match challenger {
            Some(challenger) => tags
                .iter()
                .map(|(key, kind)| tag(key, *kind, nonce, &me, challenger))
                .collect(),
            None => Vec::new(),
        };
        let rng = SystemRandom::new();
        while out.len() < padded {
            let mut t = [0u8; 32];
            if rng.fill(&mut t).is_err() {
                break;
            }
            out.push(t);
        }
        out.sort_unstable();
        out
    }

    /// The spaces `answerer` proved holding with `tags`, answering this device's challenge
    /// with `nonce`: member spaces by its own proof key, relayed spaces by this relay's.
    pub fn proven_spaces(
        &self,
        nonce: &[u8; 32],
        answerer: &DeviceId,
        tags: &[Tag],
    ) -> BTreeSet<SpaceId> {
        let me = self.keys.device_id();
        let mut proven = BTreeSet::new();
        for space in self.spaces.keys() {
            if let Some(key) = self.member_proof_key(*space, answerer) {
                if among(&tag(&key, HOLDER, nonce, answerer, &me), tags) {
                    proven.insert(*space);
                }
            }
        }
        for space in self.relays.keys() {
            if let Some(secret) = self.keystore.contents().relay_grant(*space) {
                if among(&tag(secret, FOR_YOU, nonce, answerer, &me), tags) {
                    proven.insert(*space);
                }
            }
        }
        proven
    }

    /// A grant for device `relay` to relay `space` (chair or secretary only): the text its
    /// operator passes to `serve --blind-relay`. Audited as an invite of the relay.
    pub fn grant_relay(&mut self, space: SpaceId, relay: DeviceId) -> Result<String, NodeError> {
        if !self.may_manage_members(space)? {
            return Err(NodeError::MayNotInvite);
        }
        let secret = self
            .member_proof_key(space, &relay)
            .ok_or(NodeError::Random)?;
        let members = self
            .issue_member_list(space, true)?
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let grant = RelayGrant {
            space,
            relay,
            secret: *secret.as_bytes(),
            granter: self.keys.device_id(),
            members,
        };
        self.audit(
            AuditEvent::InviteCreated,
            &[("space", space.to_string()), ("relay", relay.to_string())],
        )?;
        Ok(grant.to_text())
    }

    /// Starts (or keeps) holding a space as a blind relay with a grant for this device.
    /// Returns the space and whether it was newly held.
    pub fn accept_relay_grant(&mut self, text: &str) -> Result<(SpaceId, bool), NodeError> {
        let grant = RelayGrant::parse(text)?;
        if grant.relay != self.keys.device_id() {
            return Err(NodeError::GrantForAnotherDevice);
        }
        if self.spaces.contains_key(&grant.space) {
            return Err(NodeError::Invite(
                crate::engine::invite::InviteError::AlreadyMember,
            ));
        }
        let contents = self.keystore.contents_mut();
        contents.relay_grants.retain(|g| g.space != grant.space);
        contents.relay_grants.push(RelayGrantEntry {
            space: grant.space,
            secret: Secret32::from_bytes(grant.secret),
            granter: grant.granter,
        });
        // A relay granted anew may hold a newer list already: then this one is simply older.
        contents
            .member_lists_mut(grant.space)
            .accept(grant.space, grant.members, &BTreeSet::from([grant.granter]))
            .map_err(NodeError::MemberList)?;
        let new = self.hold_as_relay(grant.space)?;
        if !new {
            self.keystore.save().map_err(NodeError::Keystore)?;
        }
        Ok((grant.space, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::scratch;

    fn node(dir: &Path, name: &str) -> Node {
        Node::init(
            &dir.join(name),
            name,
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap()
    }

    /// What `answerer` proves to `challenger` answering a fresh challenge.
    fn proves(answerer: &Node, challenger: &Node) -> BTreeSet<SpaceId> {
        let nonce = [0x42; 32];
        let tags = answerer.proof_tags(&nonce, Some(&challenger.device_id()));
        assert_eq!(tags.len() % TAG_PAD, 0, "padded");
        challenger.proven_spaces(&nonce, &answerer.device_id(), &tags)
    }

    #[test]
    fn members_and_a_granted_relay_prove_the_space_and_nobody_else_does() {
        let dir = scratch("proof");
        let mut chair = node(&dir, "chair");
        let space = chair.create_space("Krizový štáb").unwrap();
        let other_space = chair.create_space("Jiný štáb").unwrap();
        let mut member = node(&dir, "member");
        let code = chair.create_invite(space, StaffRole::Member, 60).unwrap();
        let welcome = chair
            .accept_join(&member.request_join(&code).unwrap())
            .unwrap();
        member.finish_join(&welcome).unwrap();
        let mut relay = node(&dir, "relay");
        let mut thief = node(&dir, "thief");
        let stranger = node(&dir, "stranger");

        // Members: exactly the spaces both hold, both ways.
        assert_eq!(proves(&member, &chair), BTreeSet::from([space]));
        assert_eq!(proves(&chair, &member), BTreeSet::from([space]));
        // A stranger proves nothing and learns nothing; its tags are as many as a member's.
        assert!(proves(&stranger, &chair).is_empty());
        assert!(proves(&chair, &stranger).is_empty());
        assert_eq!(
            chair
                .proof_tags(&[1; 32], Some(&stranger.device_id()))
                .len(),
            stranger
                .proof_tags(&[1; 32], Some(&chair.device_id()))
                .len()
        );
        // A member may not grant; the chair grants the relay, which then proves to members
        // and they to it.
        assert!(matches!(
            member.grant_relay(space, relay.device_id()),
            Err(NodeError::MayNotInvite)
        ));
        let grant = chair.grant_relay(space, relay.device_id()).unwrap();
        assert!(matches!(
            thief.accept_relay_grant(&grant),
            Err(NodeError::GrantForAnotherDevice)
        ));
        assert_eq!(relay.accept_relay_grant(&grant).unwrap(), (space, true));
        assert_eq!(proves(&relay, &member), BTreeSet::from([space]));
        assert_eq!(proves(&chair, &relay), BTreeSet::from([space]));
        assert!(!proves(&chair, &relay).contains(&other_space));
        // A grant copied into another device's keystore proves nothing: members derive the
        // key from the device they talk to.
        thief
            .keystore
            .contents_mut()
            .relay_grants
            .push(RelayGrantEntry {
                space,
                secret: Secret32::from_bytes(RelayGrant::parse(&grant).unwrap().secret),
                granter: chair.device_id(),
            });
        thief.hold_as_relay(space).unwrap();
        assert!(proves(&thief, &member).is_empty());
        // Two relays prove nothing to each other.
        let mut relay2 = node(&dir, "relay2");
        let grant2 = chair.grant_relay(space, relay2.device_id()).unwrap();
        relay2.accept_relay_grant(&grant2).unwrap();
        assert!(proves(&relay, &relay2).is_empty());
        // Tags answer one nonce only.
        let tags = member.proof_tags(&[1; 32], Some(&chair.device_id()));
        assert!(chair
            .proven_spaces(&[2; 32], &member.device_id(), &tags)
            .is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_tag_is_bound_to_its_key_kind_nonce_and_both_devices() {
        let key = Secret32::from_bytes([1; 32]);
        let (a, b) = (DeviceId([2; 32]), DeviceId([3; 32]));
        let t = tag(&key, HOLDER, &[4; 32], &a, &b);
        assert_eq!(t, tag(&key, HOLDER, &[4; 32], &a, &b));
        for other in [
            tag(&Secret32::from_bytes([9; 32]), HOLDER, &[4; 32], &a, &b),
            tag(&key, FOR_YOU, &[4; 32], &a, &b),
            tag(&key, HOLDER, &[5; 32], &a, &b),
            tag(&key, HOLDER, &[4; 32], &b, &a),
        ] {
            assert_ne!(t, other);
        }
        assert!(among(&t, &[[0; 32], t]));
        assert!(!among(&t, &[[0; 32]]));
    }

    #[test]
    fn proof_keys_differ_per_device_and_space() {
        let key = SpaceKey::from_bytes([7; 32]);
        let k = |space: u8, device: u8| {
            *proof_key(&key, SpaceId([space; 16]), &DeviceId([device; 32]))
                .unwrap()
                .as_bytes()
        };
        assert_ne!(k(1, 1), k(1, 2));
        assert_ne!(k(1, 1), k(2, 1));
        assert_ne!(k(1, 1), *key.as_bytes());
    }

    #[test]
    fn a_grant_round_trips_and_junk_is_refused() {
        let chair = DeviceKeys::from_seed(&[4; 32]);
        let space = SpaceId([1; 16]);
        let only_chair = BTreeSet::from([chair.device_id()]);
        let members = MemberList::issue(&chair, space, 1, &only_chair, &only_chair).unwrap();
        let grant = RelayGrant {
            space,
            relay: DeviceId([2; 32]),
            secret: [3; 32],
            granter: chair.device_id(),
            members: members.clone(),
        };
        let text = grant.to_text();
        assert!(text.starts_with(GRANT_PREFIX));
        assert_eq!(RelayGrant::parse(&format!(" {text}\n")).unwrap(), grant);
        // A list another device signed, or one for another space, makes no grant.
        let stranger = DeviceKeys::from_seed(&[5; 32]);
        for forged in [
            RelayGrant {
                granter: stranger.device_id(),
                ..grant.clone()
            },
            RelayGrant {
                members: MemberList::issue(&chair, SpaceId([9; 16]), 1, &only_chair, &only_chair)
                    .unwrap(),
                ..grant.clone()
            },
        ] {
            assert!(matches!(
                RelayGrant::parse(&forged.to_text()),
                Err(NodeError::BadRelayGrant)
            ));
        }
        let mut tampered = grant.clone();
        tampered.members.version = 2;
        assert!(matches!(
            RelayGrant::parse(&tampered.to_text()),
            Err(NodeError::MemberList(_))
        ));
        assert!(matches!(
            RelayGrant::parse("KRZRELAY1.AAAA"),
            Err(NodeError::OldRelayGrant)
        ));
        for junk in [
            "",
            "KRZRELAY2.",
            "KRZRELAY2.!!!",
            &text[..text.len() - 3],
            &format!("{text}AAAA"),
            &"A".repeat(5000),
        ] {
            assert!(RelayGrant::parse(junk).is_err(), "{junk:?}");
        }
    }
}
