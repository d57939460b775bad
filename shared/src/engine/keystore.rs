//! The sealed keystore: the one file that holds a device's secrets, encrypted under a key
//! derived from the user's passphrase.
//!
//! This module owns the keystore's contents ([`KeystoreContents`]: the device seed, the
//! person's display name, each space's id, name, role ([`StaffRole`]) and keys per epoch, and the invites
//! this device issued), its file format, the passphrase KDF and the atomic, durable save.
//!
//! File format (all integers big-endian):
//! ```text
//! "KRZLKS"         6 bytes magic
//! version          1 byte  (3; versions 1 and 2, without relay grants or member lists, are
//!                          read and migrated)
//! kdf              1 byte  (1 = Argon2id v1.3)
//! m_cost           4 bytes memory in KiB
//! t_cost           4 bytes passes
//! p_cost           4 bytes lanes
//! salt            16 bytes random, new for every passphrase
//! nonce           12 bytes random, new for every save
//! ciphertext       rest    AES-256-GCM(postcard(contents)), tag appended; AAD = the 48 bytes above
//! ```
//!
//! The KDF parameters are read from the file, so a keystore created with
//! [`KdfParams::for_tests`] unlocks fast. Unlocking accepts any parameters within
//! [`KdfParams::check`]'s bounds (the upper bounds keep a damaged or hostile file from asking
//! for unbounded memory or time); it is the creating code's job to use [`KdfParams::default`]
//! (64 MiB, 10 passes) in production. [`KdfParams::is_production_strength`] and
//! [`Keystore::change_passphrase`] let the app notice and upgrade weak parameters.
//!
//! The derived key stays in memory (zeroized on drop) while the keystore is open, so saving
//! needs neither the passphrase nor another KDF run. The postcard layout of the contents is
//! fixed by the format version: adding a field means a new version with a migration.

use core::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::engine::keys::{fill_random, SpaceKey};
use crate::engine::member_list::MemberLists;
use crate::engine::private;
use crate::ids::{DeviceId, SpaceId};
use crate::record::StaffRole;

/// The first bytes of every keystore file.
pub const MAGIC: &[u8; 6] = b"KRZLKS";
/// The file format this build writes and reads.
pub const FORMAT_VERSION: u8 = 4;
/// Format 3: invites without an ORP binding; read, and written as 4.
const FORMAT_VERSION_3: u8 = 3;
/// Format 2: relay grants without their granter, no member lists; read, and written as 4.
const FORMAT_VERSION_2: u8 = 2;
/// Format 1: no relay grants either; read, and written as 4.
const FORMAT_VERSION_1: u8 = 1;
/// KDF id for Argon2id, version 0x13.
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Length of the clear header (the AAD).
pub const HEADER_LEN: usize = 6 + 1 + 1 + 4 + 4 + 4 + SALT_LEN + NONCE_LEN;
/// Largest keystore file read or written.
pub const MAX_KEYSTORE_BYTES: usize = 4 * 1024 * 1024;

/// Argon2id cost parameters, stored in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Lanes (parallelism).
    pub p_cost: u32,
}

impl KdfParams {
    /// Production strength: 64 MiB, 10 passes, 1 lane. Unlocking takes about 0.4 s in a
    /// release build on the build machine (Xeon, 2 vCPU; 3 passes took only 0.16 s).
    pub const PRODUCTION: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 10,
        p_cost: 1,
    };
    /// Most memory a keystore may ask for (1 GiB).
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    /// Most passes a keystore may ask for.
    pub const MAX_T_COST: u32 = 64;
    /// Most lanes a keystore may ask for.
    pub const MAX_P_COST: u32 = 16;

    /// Tiny parameters (64 KiB, 1 pass) for tests only: they protect nothing.
    pub const fn for_tests() -> KdfParams {
        KdfParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Whether these are at least [`KdfParams::PRODUCTION`] in memory and passes.
    pub fn is_production_strength(&self) -> bool {
        self.m_cost_kib >= Self::PRODUCTION.m_cost_kib && self.t_cost >= Self::PRODUCTION.t_cost
    }

    /// Checks the bounds every keystore's parameters must be within.
    pub fn check(&self) -> Result<(), String> {
        if self.p_cost == 0 || self.p_cost > Self::MAX_P_COST {
            return Err(format!("lanes must be 1 to {}", Self::MAX_P_COST));
        }
        if self.t_cost == 0 || self.t_cost > Self::MAX_T_COST {
            return Err(format!("passes must be 1 to {}", Self::MAX_T_COST));
        }
        let min_m = 8 * self.p_cost;
        if self.m_cost_kib < min_m || self.m_cost_kib > Self::MAX_M_COST_KIB {
            return Err(format!(
                "memory must be {min_m} to {} KiB",
                Self::MAX_M_COST_KIB
            ));
        }
        Ok(())
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::PRODUCTION
    }
}

/// Why the keystore could not be created, unlocked or saved. Messages are for a person.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("no keystore at {0}")]
    NotFound(PathBuf),
    #[error("a keystore already exists at {0}")]
    AlreadyExists(PathBuf),
    #[error("wrong passphrase (or the keystore file was altered)")]
    WrongPassphrase,
    #[error("the passphrase must not be empty")]
    EmptyPassphrase,
    #[error("the keystore file is damaged: {0}")]
    Corrupt(String),
    #[error("unusable passphrase KDF parameters: {0}")]
    BadKdfParams(String),
    #[error("not enough memory for the passphrase KDF ({kib} KiB)")]
    OutOfMemory { kib: u32 },
    #[error("the keystore contents are {len} bytes; at most {max} are allowed")]
    TooLarge { len: usize, max: usize },
    #[error("the operating system gave no random numbers, or the crypto library refused a key")]
    Crypto,
    #[error("cannot access the keystore {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// 32 secret bytes: zeroized on drop, never shown by `Debug`, serialized as 32 bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret32([u8; 32]);

impl Secret32 {
    /// 32 fresh random bytes.
    pub fn generate() -> Result<Secret32, KeystoreError> {
        let mut s = Secret32([0; 32]);
        fill_random(&mut s.0).map_err(|_| KeystoreError::Crypto)?;
        Ok(s)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Secret32 {
        Secret32(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares with `other` in constant time.
    pub fn matches(&self, other: &[u8; 32]) -> bool {
        let diff = self
            .0
            .iter()
            .zip(other)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        core::hint::black_box(diff) == 0
    }
}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret32(..)")
    }
}

impl Serialize for Secret32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Secret32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut bytes = <[u8; 32]>::deserialize(deserializer)?;
        let secret = Secret32(bytes);
        bytes.zeroize();
        Ok(secret)
    }
}

/// One space this device belongs to.
#[derive(Debug, Serialize, Deserialize)]
pub struct SpaceEntry {
    pub space: SpaceId,
    pub name: String,
    /// This device's role in it.
    pub role: StaffRole,
    /// The device that created the space: the root of its membership (always a chair).
    pub founder: DeviceId,
    /// The space keys this device holds, by epoch, in increasing epoch order.
    pub keys: Vec<(u32, SpaceKey)>,
}

impl SpaceEntry {
    /// The key of `epoch`, if this device holds it.
    pub fn key_for_epoch(&self, epoch: u32) -> Option<&SpaceKey> {
        self.keys.iter().find(|(e, _)| *e == epoch).map(|(_, k)| k)
    }

    /// The newest epoch and its key (the one new operations are sealed with).
    pub fn current_key(&self) -> Option<(u32, &SpaceKey)> {
        self.keys
            .iter()
            .max_by_key(|(e, _)| *e)
            .map(|(e, k)| (*e, k))
    }
}

impl Drop for SpaceEntry {
    fn drop(&mut self) {
        self.name.zeroize();
    }
}

/// An invitation this device issued: the one-time secret the invitee must present.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredInvite {
    pub id: [u8; 16],
    pub space: SpaceId,
    /// The role the invitee gets.
    pub role: StaffRole,
    /// Expiry, in milliseconds since the Unix epoch (UTC).
    pub expires_ms: u64,
    pub secret: Secret32,
    pub used: bool,
    /// The ORP an ORP coordinator's invite binds them to (format 4; empty: none).
    pub orp: String,
}

/// An invite as formats 1 to 3 wrote it (no ORP).
#[derive(Serialize, Deserialize)]
struct StoredInviteV3 {
    id: [u8; 16],
    space: SpaceId,
    role: StaffRole,
    expires_ms: u64,
    secret: Secret32,
    used: bool,
}

impl From<StoredInviteV3> for StoredInvite {
    fn from(v3: StoredInviteV3) -> StoredInvite {
        StoredInvite {
            id: v3.id,
            space: v3.space,
            role: v3.role,
            expires_ms: v3.expires_ms,
            secret: v3.secret,
            used: v3.used,
            orp: String::new(),
        }
    }
}

fn invites_v3(old: Vec<StoredInviteV3>) -> Vec<StoredInvite> {
    old.into_iter().map(StoredInvite::from).collect()
}

/// A join this device asked for with an invite code and has not finished yet.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingJoin {
    pub invite: [u8; 16],
    /// The proof secret derived from the invite code, to check the welcome.
    pub secret: Secret32,
    pub created_ms: u64,
}

/// A chair's or secretary's grant for this device to relay a space: the secret it proves that
/// to the space's members with (see `engine::node::proof`).
#[derive(Debug, Serialize, Deserialize)]
pub struct RelayGrantEntry {
    pub space: SpaceId,
    pub secret: Secret32,
    /// The chair's or secretary's device that granted it: the first issuer of member lists
    /// this relay trusts (format 3; [`UNKNOWN_GRANTER`] for a grant migrated from format 2).
    pub granter: DeviceId,
}

/// The granter of a relay grant kept from format 2, which did not record it: such a relay
/// trusts no member list, so it stores nothing until it is granted anew.
pub const UNKNOWN_GRANTER: DeviceId = DeviceId([0; 32]);

/// A relay grant as format 2 wrote it.
#[derive(Deserialize)]
struct RelayGrantEntryV2 {
    space: SpaceId,
    secret: Secret32,
}

/// The signed member lists held for one space (format 3; see `engine::member_list`).
#[derive(Debug, Serialize, Deserialize)]
pub struct SpaceMemberLists {
    pub space: SpaceId,
    pub lists: MemberLists,
}

/// Everything the keystore seals. Zeroized on drop.
#[derive(Serialize, Deserialize)]
pub struct KeystoreContents {
    device_seed: Secret32,
    name: String,
    pub spaces: Vec<SpaceEntry>,
    pub invites: Vec<StoredInvite>,
    pub pending_joins: Vec<PendingJoin>,
    /// Spaces this device stores and forwards as a blind relay: ciphertext only, no keys.
    pub relay_spaces: Vec<SpaceId>,
    /// The grants of the relayed spaces (format 2): without one, a relay proves nothing and
    /// members do not sync the space with it.
    pub relay_grants: Vec<RelayGrantEntry>,
    /// The newest signed member lists of member and relayed spaces (format 3).
    pub member_lists: Vec<SpaceMemberLists>,
}

/// The contents as format 3 wrote them.
#[derive(Deserialize)]
struct KeystoreContentsV3 {
    device_seed: Secret32,
    name: String,
    spaces: Vec<SpaceEntry>,
    invites: Vec<StoredInviteV3>,
    pending_joins: Vec<PendingJoin>,
    relay_spaces: Vec<SpaceId>,
    relay_grants: Vec<RelayGrantEntry>,
    member_lists: Vec<SpaceMemberLists>,
}

impl From<KeystoreContentsV3> for KeystoreContents {
    fn from(v3: KeystoreContentsV3) -> KeystoreContents {
        KeystoreContents {
            device_seed: v3.device_seed,
            name: v3.name,
            spaces: v3.spaces,
            invites: invites_v3(v3.invites),
            pending_joins: v3.pending_joins,
            relay_spaces: v3.relay_spaces,
            relay_grants: v3.relay_grants,
            member_lists: v3.member_lists,
        }
    }
}

/// The contents as format 2 wrote them.
#[derive(Deserialize)]
struct KeystoreContentsV2 {
    device_seed: Secret32,
    name: String,
    spaces: Vec<SpaceEntry>,
    invites: Vec<StoredInviteV3>,
    pending_joins: Vec<PendingJoin>,
    relay_spaces: Vec<SpaceId>,
    relay_grants: Vec<RelayGrantEntryV2>,
}

impl From<KeystoreContentsV2> for KeystoreContents {
    fn from(v2: KeystoreContentsV2) -> KeystoreContents {
        KeystoreContents {
            device_seed: v2.device_seed,
            name: v2.name,
            spaces: v2.spaces,
            invites: invites_v3(v2.invites),
            pending_joins: v2.pending_joins,
            relay_spaces: v2.relay_spaces,
            relay_grants: v2
                .relay_grants
                .into_iter()
                .map(|g| RelayGrantEntry {
                    space: g.space,
                    secret: g.secret,
                    granter: UNKNOWN_GRANTER,
                })
                .collect(),
            member_lists: Vec::new(),
        }
    }
}

/// The contents as format 1 wrote them.
#[derive(Deserialize)]
struct KeystoreContentsV1 {
    device_seed: Secret32,
    name: String,
    spaces: Vec<SpaceEntry>,
    invites: Vec<StoredInviteV3>,
    pending_joins: Vec<PendingJoin>,
    relay_spaces: Vec<SpaceId>,
}

impl From<KeystoreContentsV1> for KeystoreContents {
    fn from(v1: KeystoreContentsV1) -> KeystoreContents {
        KeystoreContents {
            device_seed: v1.device_seed,
            name: v1.name,
            spaces: v1.spaces,
            invites: invites_v3(v1.invites),
            pending_joins: v1.pending_joins,
            relay_spaces: v1.relay_spaces,
            relay_grants: Vec::new(),
            member_lists: Vec::new(),
        }
    }
}

impl KeystoreContents {
    /// Contents for a new device with no spaces yet.
    pub fn new(device_seed: &[u8; 32], name: &str) -> KeystoreContents {
        KeystoreContents {
            device_seed: Secret32(*device_seed),
            name: name.to_owned(),
            spaces: Vec::new(),
            invites: Vec::new(),
            pending_joins: Vec::new(),
            relay_spaces: Vec::new(),
            relay_grants: Vec::new(),
            member_lists: Vec::new(),
        }
    }

    /// The device seed ([`crate::engine::keys::DeviceKeys::from_seed`]).
    pub fn device_seed(&self) -> &[u8; 32] {
        self.device_seed.as_bytes()
    }

    /// The person's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set_name(&mut self, name: &str) {
        self.name.zeroize();
        self.name = name.to_owned();
    }

    /// The entry of `space`, if this device belongs to it.
    pub fn space(&self, space: SpaceId) -> Option<&SpaceEntry> {
        self.spaces.iter().find(|s| s.space == space)
    }

    pub fn space_mut(&mut self, space: SpaceId) -> Option<&mut SpaceEntry> {
        self.spaces.iter_mut().find(|s| s.space == space)
    }

    /// The relay grant secret of `space`, if this device was granted to relay it.
    pub fn relay_grant(&self, space: SpaceId) -> Option<&Secret32> {
        self.relay_grants
            .iter()
            .find(|g| g.space == space)
            .map(|g| &g.secret)
    }

    /// The member lists held for `space`, if any.
    pub fn member_lists(&self, space: SpaceId) -> Option<&MemberLists> {
        self.member_lists
            .iter()
            .find(|m| m.space == space)
            .map(|m| &m.lists)
    }

    /// The member lists held for `space`, empty ones made if there were none.
    pub fn member_lists_mut(&mut self, space: SpaceId) -> &mut MemberLists {
        let at = match self.member_lists.iter().position(|m| m.space == space) {
            Some(at) => at,
            None => {
                self.member_lists.push(SpaceMemberLists {
                    space,
                    lists: MemberLists::default(),
                });
                self.member_lists.len() - 1
            }
        };
        &mut self.member_lists[at].lists
    }
}

impl Drop for KeystoreContents {
    fn drop(&mut self) {
        self.name.zeroize();
    }
}

impl fmt::Debug for KeystoreContents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoreContents")
            .field("spaces", &self.spaces.len())
            .field("invites", &self.invites.len())
            .finish_non_exhaustive()
    }
}

/// An unlocked keystore.
pub struct Keystore {
    path: PathBuf,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    key: Zeroizing<[u8; 32]>,
    contents: KeystoreContents,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Argon2id of the passphrase into a 32-byte key; its working memory is allocated fallibly and
/// zeroized afterwards.
fn derive_key(
    passphrase: &str,
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    params.check().map_err(KeystoreError::BadKdfParams)?;
    let argon_params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
        .map_err(|e| KeystoreError::BadKdfParams(e.to_string()))?;
    let blocks_needed = argon_params.block_count();
    let mut blocks: Zeroizing<Vec<Block>> = Zeroizing::new(Vec::new());
    blocks
        .try_reserve_exact(blocks_needed)
        .map_err(|_| KeystoreError::OutOfMemory {
            kib: params.m_cost_kib,
        })?;
    blocks.resize(blocks_needed, Block::default());
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into_with_memory(passphrase.as_bytes(), salt, &mut key[..], &mut blocks[..])
        .map_err(|e| KeystoreError::BadKdfParams(e.to_string()))?;
    Ok(key)
}

fn header(params: KdfParams, salt: &[u8; SALT_LEN], nonce: &[u8; NONCE_LEN]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..6].copy_from_slice(MAGIC);
    h[6] = FORMAT_VERSION;
    h[7] = KDF_ARGON2ID;
    h[8..12].copy_from_slice(&params.m_cost_kib.to_be_bytes());
    h[12..16].copy_from_slice(&params.t_cost.to_be_bytes());
    h[16..20].copy_from_slice(&params.p_cost.to_be_bytes());
    h[20..36].copy_from_slice(salt);
    h[36..48].copy_from_slice(nonce);
    h
}

/// The parsed clear header of a keystore file.
struct ParsedHeader {
    version: u8,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
}

fn parse_header(h: &[u8; HEADER_LEN]) -> Result<ParsedHeader, KeystoreError> {
    let corrupt = |reason: &str| KeystoreError::Corrupt(reason.to_owned());
    if &h[..6] != MAGIC {
        return Err(corrupt("it is not a KrizLink keystore"));
    }
    if ![
        FORMAT_VERSION,
        FORMAT_VERSION_3,
        FORMAT_VERSION_2,
        FORMAT_VERSION_1,
    ]
    .contains(&h[6])
    {
        return Err(KeystoreError::Corrupt(format!(
            "unknown format version {} (this build reads version {FORMAT_VERSION})",
            h[6]
        )));
    }
    if h[7] != KDF_ARGON2ID {
        return Err(KeystoreError::Corrupt(format!(
            "unknown passphrase KDF {}",
            h[7]
        )));
    }
    let be32 = |at: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&h[at..at + 4]);
        u32::from_be_bytes(b)
    };
    let params = KdfParams {
        m_cost_kib: be32(8),
        t_cost: be32(12),
        p_cost: be32(16),
    };
    params.check().map_err(|reason| {
        KeystoreError::Corrupt(format!("KDF parameters out of range: {reason}"))
    })?;
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&h[20..36]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&h[36..48]);
    Ok(ParsedHeader {
        version: h[6],
        params,
        salt,
        nonce,
    })
}

fn aead_key(key: &[u8; 32]) -> Result<LessSafeKey, KeystoreError> {
    let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| KeystoreError::Crypto)?;
    Ok(LessSafeKey::new(unbound))
}

/// Writes `bytes` to `path` atomically and durably: a private temp file (0600, `O_EXCL |
/// O_NOFOLLOW`) in the same directory, written and `sync_all`ed, renamed over `path`, then the
/// directory synced.
fn write_atomic_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    private::write_atomic(path, bytes)
}

impl Keystore {
    /// Creates a new keystore file at `path` (which must not exist) sealed with `passphrase`.
    /// Production code passes [`KdfParams::default`].
    pub fn create(
        path: &Path,
        passphrase: &str,
        contents: KeystoreContents,
        params: KdfParams,
    ) -> Result<Keystore, KeystoreError> {
        if passphrase.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        params.check().map_err(KeystoreError::BadKdfParams)?;
        match fs::symlink_metadata(path) {
            Ok(_) => return Err(KeystoreError::AlreadyExists(path.to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(KeystoreError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        }
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt).map_err(|_| KeystoreError::Crypto)?;
        let key = derive_key(passphrase, &salt, params)?;
        let keystore = Keystore {
            path: path.to_owned(),
            params,
            salt,
            key,
            contents,
        };
        keystore.save()?;
        Ok(keystore)
    }

    /// Opens the keystore at `path` with `passphrase`.
    pub fn unlock(path: &Path, passphrase: &str) -> Result<Keystore, KeystoreError> {
        let io_err = |source: io::Error| {
            if source.kind() == io::ErrorKind::NotFound {
                KeystoreError::NotFound(path.to_owned())
            } else {
                KeystoreError::Io {
                    path: path.to_owned(),
                    source,
                }
            }
        };
        let file = private::open(path, private::options().read(true)).map_err(io_err)?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_KEYSTORE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        if bytes.len() > MAX_KEYSTORE_BYTES {
            return Err(KeystoreError::Corrupt(format!(
                "the file is larger than {MAX_KEYSTORE_BYTES} bytes"
            )));
        }
        let (head, body) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or_else(|| KeystoreError::Corrupt("the file is truncated".to_owned()))?;
        let parsed = parse_header(head)?;
        if body.len() < TAG_LEN {
            return Err(KeystoreError::Corrupt("the file is truncated".to_owned()));
        }
        let key = derive_key(passphrase, &parsed.salt, parsed.params)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let plain = aead_key(&key)?
            .open_in_place(
                Nonce::assume_unique_for_key(parsed.nonce),
                Aad::from(&head[..]),
                &mut buf[..],
            )
            .map_err(|_| KeystoreError::WrongPassphrase)?;
        let unreadable =
            |e: postcard::Error| KeystoreError::Corrupt(format!("unreadable contents: {e}"));
        let (contents, rest): (KeystoreContents, &[u8]) = if parsed.version == FORMAT_VERSION_1 {
            postcard::take_from_bytes::<KeystoreContentsV1>(plain)
                .map(|(v1, rest)| (v1.into(), rest))
                .map_err(unreadable)?
        } else if parsed.version == FORMAT_VERSION_2 {
            postcard::take_from_bytes::<KeystoreContentsV2>(plain)
                .map(|(v2, rest)| (v2.into(), rest))
                .map_err(unreadable)?
        } else if parsed.version == FORMAT_VERSION_3 {
            postcard::take_from_bytes::<KeystoreContentsV3>(plain)
                .map(|(v3, rest)| (v3.into(), rest))
                .map_err(unreadable)?
        } else {
            postcard::take_from_bytes(plain).map_err(unreadable)?
        };
        if !rest.is_empty() {
            return Err(KeystoreError::Corrupt(format!(
                "{} bytes after the contents",
                rest.len()
            )));
        }
        Ok(Keystore {
            path: path.to_owned(),
            params: parsed.params,
            salt: parsed.salt,
            key,
            contents,
        })
    }

    /// Seals the current contents (with a fresh random nonce) and replaces the file atomically
    /// and durably.
    pub fn save(&self) -> Result<(), KeystoreError> {
        let len = postcard::experimental::serialized_size(&self.contents)
            .map_err(|e| KeystoreError::Corrupt(format!("cannot encode the contents: {e}")))?;
        let max = MAX_KEYSTORE_BYTES - HEADER_LEN - TAG_LEN;
        if len > max {
            return Err(KeystoreError::TooLarge { len, max });
        }
        let mut buf = Zeroizing::new(Vec::with_capacity(HEADER_LEN + len + TAG_LEN));
        buf.resize(HEADER_LEN + len, 0);
        postcard::to_slice(&self.contents, &mut buf[HEADER_LEN..])
            .map_err(|e| KeystoreError::Corrupt(format!("cannot encode the contents: {e}")))?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce).map_err(|_| KeystoreError::Crypto)?;
        let head = header(self.params, &self.salt, &nonce);
        buf[..HEADER_LEN].copy_from_slice(&head);
        let tag = aead_key(&self.key)?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&head[..]),
                &mut buf[HEADER_LEN..],
            )
            .map_err(|_| KeystoreError::Crypto)?;
        buf.extend_from_slice(tag.as_ref());
        write_atomic_private(&self.path, &buf).map_err(|source| KeystoreError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Re-seals the keystore under a new passphrase (new salt) and `params`, and saves it.
    /// On failure the keystore and its file keep the old passphrase.
    pub fn change_passphrase(
        &mut self,
        new_passphrase: &str,
        params: KdfParams,
    ) -> Result<(), KeystoreError> {
        if new_passphrase.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt).map_err(|_| KeystoreError::Crypto)?;
        let key = derive_key(new_passphrase, &salt, params)?;
        let old = (
            self.params,
            self.salt,
            core::mem::replace(&mut self.key, key),
        );
        self.params = params;
        self.salt = salt;
        if let Err(e) = self.save() {
            (self.params, self.salt, self.key) = old;
            return Err(e);
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The KDF parameters the file is sealed with.
    pub fn params(&self) -> KdfParams {
        self.params
    }

    pub fn contents(&self) -> &KeystoreContents {
        &self.contents
    }

    /// The contents, to change; call [`Keystore::save`] afterwards.
    pub fn contents_mut(&mut self) -> &mut KeystoreContents {
        &mut self.contents
    }
}

#[cfg(test)]
mod tests;
