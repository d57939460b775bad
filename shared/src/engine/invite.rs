//! Invites, carried out of band: a short invite code (read over the phone, pasted from a
//! message), a join request the new device sends back, and a welcome the inviting device
//! answers with. The space key never travels in the code: the welcome carries it wrapped to the
//! new device's X25519 key, which the device bound to its Ed25519 identity by a signature.
//!
//! The code is 128 random bits. From it both sides derive the invite id and a 32-byte proof
//! secret: the request and the welcome each carry an HMAC under that secret, so only someone
//! who holds the code can ask to join, and the new device knows the welcome answers its own
//! request. The welcome is also signed by the inviting device.

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use ring::hmac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bounded::BoundedVec;
use crate::engine::envelope::Signature;
use crate::engine::keys::{self, DeviceKeys};
use crate::engine::wrap::WrappedSecret;
use crate::ids::{DeviceId, SpaceId};
use crate::record::StaffRole;

const CODE_PREFIX: &str = "KRZ";
const REQUEST_PREFIX: &str = "KRZREQ1.";
const WELCOME_PREFIX: &str = "KRZWEL1.";
/// Longest request or welcome text accepted.
pub const MAX_CODE_TEXT: usize = 8 * 1024;
/// Most key epochs a welcome carries.
pub const MAX_WELCOME_KEYS: usize = 64;

/// Why an invite, request or welcome was refused. Messages are for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error("this is not a KrizLink {0} (check that it was copied whole)")]
    Malformed(&'static str),
    #[error("this device created no such invite")]
    UnknownInvite,
    #[error("this invite was already used; ask for a new one")]
    Used,
    #[error("this invite expired at {0}; ask for a new one")]
    Expired(String),
    #[error("the request does not prove it holds the invite code")]
    BadProof,
    #[error("the signature does not match")]
    BadSignature,
    #[error(
        "this device has not asked to join with that invite (run `join CODE --offline` first)"
    )]
    NotPending,
    #[error("this device is already a member of that space")]
    AlreadyMember,
    #[error("the space key could not be unwrapped")]
    Unwrap,
}

/// The invite code: 128 random bits, written as `KRZ-XXXX-XXXX-...` in base32.
#[derive(Clone)]
pub struct InviteCode([u8; 16]);

impl InviteCode {
    pub fn from_bytes(bytes: [u8; 16]) -> InviteCode {
        InviteCode(bytes)
    }

    pub fn to_text(&self) -> String {
        let b32 = BASE32_NOPAD.encode(&self.0);
        let groups: Vec<&str> = b32
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        format!("{CODE_PREFIX}-{}", groups.join("-"))
    }

    /// Parses a code, forgiving case, spaces and dashes (it may have been typed).
    pub fn parse(text: &str) -> Result<InviteCode, InviteError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let body = cleaned
            .strip_prefix(CODE_PREFIX)
            .ok_or(InviteError::Malformed("invite code"))?;
        let bytes = BASE32_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| InviteError::Malformed("invite code"))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| InviteError::Malformed("invite code"))?;
        Ok(InviteCode(bytes))
    }

    /// The invite's id, as both sides know it.
    pub fn id(&self) -> [u8; 16] {
        let d = Sha256::new()
            .chain_update(b"krizlink/invite-id/v1")
            .chain_update(self.0)
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        id
    }

    /// The secret both sides prove possession of.
    pub fn secret(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"krizlink/invite-secret/v1")
            .chain_update(self.0)
            .finalize()
            .into()
    }
}

fn mac(secret: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, body);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn mac_ok(secret: &[u8; 32], body: &[u8], tag: &[u8; 32]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), body, tag).is_ok()
}

fn to_text<T: Serialize>(prefix: &str, value: &T) -> String {
    let bytes = postcard::to_allocvec(value).unwrap_or_default();
    format!("{prefix}{}", BASE64URL_NOPAD.encode(&bytes))
}

fn from_text<T: for<'de> Deserialize<'de>>(
    prefix: &str,
    what: &'static str,
    text: &str,
) -> Result<T, InviteError> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if text.len() > MAX_CODE_TEXT {
        return Err(InviteError::Malformed(what));
    }
    let body = text
        .strip_prefix(prefix)
        .ok_or(InviteError::Malformed(what))?;
    let bytes = BASE64URL_NOPAD
        .decode(body.as_bytes())
        .map_err(|_| InviteError::Malformed(what))?;
    let (value, rest) =
        postcard::take_from_bytes(&bytes).map_err(|_| InviteError::Malformed(what))?;
    if !rest.is_empty() {
        return Err(InviteError::Malformed(what));
    }
    Ok(value)
}

/// What a new device sends back to the inviting device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinRequest {
    pub invite: [u8; 16],
    pub device: DeviceId,
    pub x25519: [u8; 32],
    /// The device's Ed25519 signature over its X25519 key.
    pub binding: Signature,
    /// The person's display name.
    pub name: String,
    /// HMAC-SHA256 under the invite secret over everything above.
    pub mac: [u8; 32],
}

impl JoinRequest {
    pub fn new(code: &InviteCode, keys: &DeviceKeys, name: &str) -> JoinRequest {
        let mut r = JoinRequest {
            invite: code.id(),
            device: keys.device_id(),
            x25519: keys.x25519_public(),
            binding: Signature(keys.x25519_binding()),
            name: name.chars().take(200).collect(),
            mac: [0; 32],
        };
        r.mac = mac(&code.secret(), &r.body());
        r
    }

    fn body(&self) -> Vec<u8> {
        postcard::to_allocvec(&(
            b"krizlink/join-request/v1",
            &self.invite,
            &self.device,
            &self.x25519,
            &self.binding,
            &self.name,
        ))
        .unwrap_or_default()
    }

    /// Checks the proof of the invite code and the key binding.
    pub fn verify(&self, secret: &[u8; 32]) -> Result<(), InviteError> {
        if !mac_ok(secret, &self.body(), &self.mac) {
            return Err(InviteError::BadProof);
        }
        keys::verify_x25519_binding(&self.device, &self.x25519, &self.binding.0)
            .map_err(|_| InviteError::BadSignature)
    }

    pub fn to_text(&self) -> String {
        to_text(REQUEST_PREFIX, self)
    }

    pub fn parse(text: &str) -> Result<JoinRequest, InviteError> {
        let r: JoinRequest = from_text(REQUEST_PREFIX, "join request", text)?;
        if r.name.len() > 800 {
            return Err(InviteError::Malformed("join request"));
        }
        Ok(r)
    }
}

/// What the inviting device answers: the space, the role, and the keys wrapped to the device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    pub invite: [u8; 16],
    pub space: SpaceId,
    pub space_name: String,
    pub role: StaffRole,
    pub keys: BoundedVec<(u32, WrappedSecret), MAX_WELCOME_KEYS>,
    /// The device that created the space: the root of its membership.
    pub founder: DeviceId,
    pub inviter: DeviceId,
    pub mac: [u8; 32],
    pub signature: Signature,
}

impl Welcome {
    fn body(&self) -> Vec<u8> {
        postcard::to_allocvec(&(
            b"krizlink/welcome/v1",
            &self.invite,
            &self.space,
            &self.space_name,
            &self.role,
            &self.keys,
            &self.founder,
            &self.inviter,
        ))
        .unwrap_or_default()
    }

    /// Seals the welcome: MAC under the invite secret, then the inviter's signature.
    pub fn seal(mut self, secret: &[u8; 32], inviter: &DeviceKeys) -> Welcome {
        self.inviter = inviter.device_id();
        let body = self.body();
        self.mac = mac(secret, &body);
        let mut signed = body;
        signed.extend_from_slice(&self.mac);
        self.signature = Signature(inviter.sign(&signed));
        self
    }

    pub fn verify(&self, secret: &[u8; 32]) -> Result<(), InviteError> {
        let body = self.body();
        if !mac_ok(secret, &body, &self.mac) {
            return Err(InviteError::BadProof);
        }
        let mut signed = body;
        signed.extend_from_slice(&self.mac);
        keys::verify(&self.inviter, &signed, &self.signature.0)
            .map_err(|_| InviteError::BadSignature)
    }

    /// The context the space keys are wrapped under: binds them to this invite and device.
    pub fn wrap_context(invite: &[u8; 16], device: &DeviceId, space: &SpaceId) -> Vec<u8> {
        let mut c = b"krizlink/welcome-key/v1".to_vec();
        c.extend_from_slice(invite);
        c.extend_from_slice(&device.0);
        c.extend_from_slice(&space.0);
        c
    }

    pub fn to_text(&self) -> String {
        to_text(WELCOME_PREFIX, self)
    }

    pub fn parse(text: &str) -> Result<Welcome, InviteError> {
        let w: Welcome = from_text(WELCOME_PREFIX, "welcome code", text)?;
        if w.space_name.len() > 800 {
            return Err(InviteError::Malformed("welcome code"));
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_forgive_typing() {
        let code = InviteCode::from_bytes([0x5a; 16]);
        let text = code.to_text();
        assert!(text.starts_with("KRZ-"));
        assert!(text.len() <= 40, "{text}");
        let typed = text.to_lowercase().replace('-', " ");
        assert_eq!(InviteCode::parse(&typed).unwrap().id(), code.id());
        assert_eq!(
            InviteCode::parse("KRZ-ABCD").err(),
            Some(InviteError::Malformed("invite code"))
        );
        assert!(InviteCode::parse("hello").is_err());
    }

    #[test]
    fn a_request_proves_the_code_and_binds_the_key() {
        let code = InviteCode::from_bytes([1; 16]);
        let keys = DeviceKeys::from_seed(&[9; 32]);
        let req =
            JoinRequest::parse(&JoinRequest::new(&code, &keys, "Petr Svoboda").to_text()).unwrap();
        assert!(req.verify(&code.secret()).is_ok());
        assert_eq!(
            req.verify(&InviteCode::from_bytes([2; 16]).secret()),
            Err(InviteError::BadProof)
        );
        let mut forged = req.clone();
        forged.x25519 = [7; 32];
        assert!(forged.verify(&code.secret()).is_err());
        assert!(JoinRequest::parse("KRZREQ1.!!!").is_err());
        assert!(JoinRequest::parse(&"A".repeat(MAX_CODE_TEXT + 1)).is_err());
    }
}
