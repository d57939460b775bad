//! Opening a data dir and loading its spaces: unlocking the keystore (a wrong passphrase is
//! audited), opening the sled store of derived state (a damaged one is set aside and rebuilt),
//! loading each space from its sealed checkpoint plus the log tail past it, or rebuilding it
//! from the whole log (every signature verified), and writing checkpoints. Also the cipher that
//! seals every sled value, and the chained digest that ties a checkpoint to its log prefix.
//!
//! See docs/ARCHITECTURE.md, "Load path".

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use serde::Deserialize;

use super::*;
use crate::engine::keystore::KeystoreContents;
use crate::merge::RecordState;

/// Derived-state metadata per space, sealed in sled under key `m`.
#[derive(Serialize, Deserialize)]
struct SpaceMeta {
    /// Log entries (and bytes) the derived state covers: the checkpoint.
    log_entries: u64,
    log_len: u64,
    /// Chained SHA-256 over the covered log entries: any change to them since the checkpoint
    /// (an edited or swapped envelope) forces a rebuild, which verifies every signature.
    log_digest: [u8; 32],
    applied: VersionVector,
    clock: Hlc,
    /// Operations on member records among the covered ones (sent first when syncing): kept
    /// here so opening a space does not have to decrypt every envelope to find them.
    member_ops: BTreeSet<OpId>,
}

/// Seals derived state in sled with a key derived from the device seed (random nonce each).
pub(super) struct StateCipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl StateCipher {
    pub(super) fn new(seed: &[u8; 32]) -> Result<StateCipher, NodeError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"krizlink/derived-state/v1").extract(seed);
        let mut key = [0u8; 32];
        prk.expand(&[b"state-key"], Len32)
            .and_then(|okm| okm.fill(&mut key))
            .map_err(|_| NodeError::Random)?;
        let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| NodeError::Random)?;
        key.fill(0);
        Ok(StateCipher {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    fn seal(&self, slot: &[u8], plain: &[u8]) -> Result<Vec<u8>, NodeError> {
        let mut nonce = [0u8; 12];
        self.rng.fill(&mut nonce).map_err(|_| NodeError::Random)?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot),
                &mut buf,
            )
            .map_err(|_| NodeError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, slot: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(12)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(slot), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Extends the chained digest of a space's log by one entry.
pub(super) fn chain(digest: &[u8; 32], entry: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(digest);
    h.update(entry);
    h.finalize().into()
}

fn slot_key(key: &RecordKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.push(b'r');
    k.push(key.kind as u8);
    k.extend_from_slice(&key.id.0);
    k
}

const META_KEY: &[u8] = b"m";

/// Derived state is checkpointed to sled every this many local writes (and on close). Writing it
/// on every change would make each acknowledged write pay for sled's dirty pages too (ext4's
/// journal commit on our fdatasync writes them out); after a crash the load path replays the
/// log tail past the checkpoint instead.
pub(super) const CHECKPOINT_OPS: usize = 512;

enum SledOpen {
    /// The store could not be opened for a reason that rebuilding does not cure.
    Failed(String),
    /// The store's files are damaged.
    Damaged(String),
}

/// Opens the sled store; damage (including a panic inside sled on garbled files) is reported
/// as such, so the caller can set the files aside and rebuild from the op logs.
fn open_sled(path: &Path) -> Result<sled::Db, SledOpen> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| sled::Config::new().path(path).open());
    std::panic::set_hook(quiet);
    match result {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(sled::Error::Io(e)))
            if !matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(SledOpen::Failed(e.to_string()))
        }
        Ok(Err(e)) => Err(SledOpen::Damaged(e.to_string())),
        Err(_) => Err(SledOpen::Damaged("the store's files are unreadable".into())),
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, NodeError> {
    postcard::to_allocvec(value).map_err(|e| NodeError::Store {
        path: PathBuf::new(),
        reason: e.to_string(),
    })
}

impl Node {
    /// Creates a new identity in `dir` (which must not hold one) and opens it.
    pub fn init(
        dir: &Path,
        name: &str,
        passphrase: &str,
        kdf: KdfParams,
    ) -> Result<Node, NodeError> {
        // A new identity makes the dir private (0700) whatever it was: nothing to tell.
        private::data_dir(dir).map_err(io_at(dir))?;
        let lock = lock_dir(dir)?;
        if fs::symlink_metadata(dir.join("keystore.krz")).is_ok() {
            return Err(NodeError::AlreadyInitialized(dir.to_owned()));
        }
        let keys = DeviceKeys::generate().map_err(|_| NodeError::Random)?;
        let contents = KeystoreContents::new(keys.seed(), name.trim());
        Keystore::create(&dir.join("keystore.krz"), passphrase, contents, kdf)
            .map_err(NodeError::Keystore)?;
        write_atomic(
            &dir.join("device.id"),
            keys.device_id().to_string().as_bytes(),
        )?;
        let mut audit = AuditLog::open(&dir.join("audit.log"), keys.device_id())?;
        audit.record(AuditEvent::DeviceCreated, &[], Some(&keys), Utc::now())?;
        drop(lock);
        Node::open(dir, passphrase)
    }

    /// Unlocks the identity in `dir`. A wrong passphrase is audited.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Node, NodeError> {
        let keystore_path = dir.join("keystore.krz");
        if fs::symlink_metadata(&keystore_path).is_err() {
            return Err(NodeError::NotInitialized(dir.to_owned()));
        }
        // Refuses a linked or foreign data dir; tightens one of ours that others could read
        // (only a dir that holds an identity: a mistyped --data-dir is left as it is).
        let tightened = private::data_dir(dir).map_err(io_at(dir))?;
        let lock = lock_dir(dir)?;
        let id_path = dir.join("device.id");
        let device: DeviceId = private::read_to_string(&id_path)
            .map_err(io_at(&id_path))?
            .parse()
            .map_err(|e| NodeError::Io {
                path: id_path.clone(),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })?;
        let mut audit = AuditLog::open(&dir.join("audit.log"), device)?;
        let keystore = match Keystore::unlock(&keystore_path, passphrase) {
            Ok(k) => k,
            Err(KeystoreError::WrongPassphrase) => {
                audit.record(
                    AuditEvent::UnlockFailed,
                    &[("reason", "wrong passphrase".into())],
                    None,
                    Utc::now(),
                )?;
                return Err(NodeError::WrongPassphrase);
            }
            Err(e) => return Err(NodeError::Keystore(e)),
        };
        let keys = DeviceKeys::from_seed(keystore.contents().device_seed());
        let mut warnings: Vec<String> = tightened.into_iter().collect();
        // A damaged audit log never locks the person out: it is kept aside, a new chain begins.
        match audit.recover(&keys, Utc::now()) {
            Ok(Some(said)) => warnings.push(said),
            Ok(None) => {}
            Err(e) => warnings.push(format!(
                "the audit log is damaged ({}) and could not be set aside: {e}",
                audit.damage().unwrap_or("unknown")
            )),
        }
        // On a full disk the staff must still be able to read: say so instead of refusing.
        if let Err(e) = audit.record(AuditEvent::UnlockOk, &[], Some(&keys), Utc::now()) {
            warnings.push(format!(
                "the unlock could not be recorded in the audit log: {e}"
            ));
        }
        let state_path = dir.join("state");
        // sled creates its files itself: its dir is made 0700 first (a planted link refused), so
        // they are out of others' reach whatever their mode (see `private`); sled would follow
        // a link planted among its files, so none may be there.
        private::dir(&state_path).map_err(io_at(&state_path))?;
        private::check_tree(&state_path).map_err(io_at(&state_path))?;
        let db = match open_sled(&state_path) {
            Ok(db) => Some(db),
            Err(SledOpen::Failed(reason)) => {
                warnings.push(format!(
                    "the derived-state store {} cannot be opened ({reason}); working from the op logs alone",
                    state_path.display()
                ));
                None
            }
            Err(SledOpen::Damaged(reason)) => {
                // Derived state only: keep the damaged copy for an administrator, start afresh
                // and rebuild everything from the op logs below.
                let aside = dir.join(format!("state.damaged-{}", Utc::now().timestamp_millis()));
                fs::rename(&state_path, &aside).map_err(io_at(&state_path))?;
                private::dir(&state_path).map_err(io_at(&state_path))?;
                let detail = [("reason", reason), ("kept_at", aside.display().to_string())];
                if let Err(e) =
                    audit.record(AuditEvent::StateRebuilt, &detail, Some(&keys), Utc::now())
                {
                    warnings.push(format!("the rebuild could not be audited: {e}"));
                }
                match open_sled(&state_path) {
                    Ok(db) => Some(db),
                    Err(SledOpen::Failed(r) | SledOpen::Damaged(r)) => {
                        warnings.push(format!(
                            "the derived-state store {} cannot be opened ({r}); working from the op logs alone",
                            state_path.display()
                        ));
                        None
                    }
                }
            }
        };
        let cipher = StateCipher::new(keys.seed())?;
        let mut node = Node {
            dir: dir.to_owned(),
            _lock: lock,
            keystore,
            keys,
            db,
            cipher,
            audit,
            session: None,
            warnings,
            notices: Vec::new(),
            spaces: BTreeMap::new(),
            relays: BTreeMap::new(),
            forks: BTreeMap::new(),
            peer_clocks: Default::default(),
            fork_low: BTreeMap::new(),
            replaced: BTreeMap::new(),
            receipts: Default::default(),
            control_keys: BTreeMap::new(),
            checked_keys: BTreeMap::new(),
            release_watch: BTreeMap::new(),
        };
        let ids: Vec<SpaceId> = node
            .keystore
            .contents()
            .spaces
            .iter()
            .map(|s| s.space)
            .collect();
        for space in ids {
            node.load_space(space)?;
            // A clock put right since the last run: writes stamped in the future go out now.
            if let Err(e) = node.restamp_future_writes(space, now_ms()) {
                node.warnings.push(format!(
                    "writes stamped in the future in space {space} could not be stamped again: {e}"
                ));
            }
            // (The keys of logged rotations were taken while the space was loaded.) This
            // device's own X25519 key where an older version did not publish it, and a drill's
            // control key.
            let keys = node
                .publish_own_key(space)
                .and_then(|()| node.exercise_keys_up_to_date(space));
            if let Err(e) = keys {
                node.warnings.push(format!(
                    "the keys of space {space} could not be brought up to date: {e}"
                ));
            }
            // Relays learn of members this chair's or secretary's device admitted before
            // member lists existed (or while a list could not be saved).
            if let Err(e) = node.refresh_member_list(space) {
                node.warnings
                    .push(format!("no member list issued for space {space}: {e}"));
            }
        }
        let relays = node.keystore.contents().relay_spaces.clone();
        for space in relays {
            node.load_relay(space)?;
            node.check_relay_grant(space);
        }
        Ok(node)
    }

    /// Opens a space's log and derived state, rebuilding the state from the log when it is
    /// missing, behind or damaged.
    pub(super) fn load_space(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let spaces_dir = self.dir.join("spaces");
        private::dir(&spaces_dir).map_err(io_at(&spaces_dir))?;
        let path = self.log_path(space);
        let (log, entries) = match OpLog::open(&path) {
            Ok((log, entries, _recovery)) => (Ok(log), entries),
            Err(damage @ OpLogError::Damaged { .. }) => {
                // Show what is intact, refuse writes: an administrator decides about the file.
                let reason = damage.to_string();
                let detail = [("space", space.to_string()), ("reason", reason.clone())];
                self.audit(AuditEvent::StateRebuilt, &detail)?;
                (Err(reason), OpLog::read_intact_prefix(&path)?)
            }
            Err(e) => return Err(e.into()),
        };
        let tree = match &self.db {
            Some(db) => Some(
                db.open_tree(format!("space/{space}"))
                    .map_err(|e| self.store_err(e))?,
            ),
            None => None,
        };
        let founder = self.entry(space)?.founder;
        let derived = tree
            .as_ref()
            .and_then(|t| self.load_derived(space, t, &entries));
        // The member operations, for the fold every operation is judged against: those the
        // checkpoint names and those logged after it. A member operation logged after the
        // checkpoint may judge what it covers differently: then the state is rebuilt.
        // Key rotations are read as they come: a rotation's key opens the member operations
        // sealed under it, which may hold the next rotation (each round takes a new epoch).
        let mut taken = Vec::new();
        let (control, authority, keep) = loop {
            let (control, keep) = match &derived {
                Some(d) => {
                    let (covered, named) = (d.2, &d.3);
                    if self
                        .control_ops(space, &entries[covered..], None)
                        .is_empty()
                    {
                        let named = self.control_ops(space, &entries[..covered], Some(named));
                        (named, true)
                    } else {
                        (self.control_ops(space, &entries, None), false)
                    }
                }
                None => (self.control_ops(space, &entries, None), false),
            };
            let authority = crate::authority::Authority::fold(founder, "", control.values());
            let new = self.take_logged_keys(space, &authority)?;
            if new.is_empty() {
                break (control, authority, keep);
            }
            taken.extend(new);
        };
        let derived = derived.filter(|_| keep);
        if !taken.is_empty() {
            // Saved once here, so that later openings need not take them again.
            self.keystore.save().map_err(NodeError::Keystore)?;
            for epoch in taken {
                let detail = [
                    ("space", space.to_string()),
                    ("epoch", epoch.to_string()),
                    ("source", "op log".to_owned()),
                ];
                self.audit(AuditEvent::KeyRotated, &detail)?;
            }
        }
        let mut member_ops = BTreeSet::new();
        let (replica, clock, dirty) = match derived {
            Some((mut replica, mut clock, covered, checkpointed_members)) => {
                member_ops = checkpointed_members;
                // Operations held back for a missing predecessor are not part of a checkpoint:
                // give the covered ones to the replica again, then replay what was logged after
                // the checkpoint (a crash before the next one).
                let applied = replica.version_vector().clone();
                let held: Vec<Vec<u8>> = entries[..covered]
                    .iter()
                    .filter(|e| Envelope::decode(e).is_ok_and(|env| !applied.contains(&env.id)))
                    .cloned()
                    .collect();
                let mut touched = self.replay(
                    space,
                    &authority,
                    &mut replica,
                    &mut clock,
                    &held,
                    &mut member_ops,
                )?;
                touched.extend(self.replay(
                    space,
                    &authority,
                    &mut replica,
                    &mut clock,
                    &entries[covered..],
                    &mut member_ops,
                )?);
                (replica, clock, touched)
            }
            None => {
                let mut replica = Replica::new(space);
                let mut clock = Hlc::default();
                let touched = self.replay(
                    space,
                    &authority,
                    &mut replica,
                    &mut clock,
                    &entries,
                    &mut member_ops,
                )?;
                if let Some(t) = &tree {
                    t.clear().map_err(|e| self.store_err(e))?;
                }
                let detail = [
                    ("space", space.to_string()),
                    ("operations", entries.len().to_string()),
                ];
                if let Err(e) = self.audit(AuditEvent::StateRebuilt, &detail) {
                    self.warnings
                        .push(format!("the rebuild could not be audited: {e}"));
                }
                (replica, clock, touched)
            }
        };
        let log_digest = entries.iter().fold([0u8; 32], |d, e| chain(&d, e));
        let clock = HlcClock::resume(clock, HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS);
        let log_entries = entries.len() as u64;
        let mut store = EnvelopeStore::default();
        for bytes in entries {
            if let Ok(env) = Envelope::decode(&bytes) {
                if !store.contains(&env.id) {
                    store.push(env.id, bytes);
                }
            }
        }
        self.spaces.insert(
            space,
            SpaceState {
                log,
                log_entries,
                log_digest,
                since_checkpoint: 0,
                dirty,
                replica,
                clock,
                tree,
                store,
                founder,
                authority,
                control,
                member_ops,
                pending: BTreeMap::new(),
                pending_bytes: 0,
            },
        );
        if let Err(e) = self.checkpoint(space) {
            // Derived state only: the next open replays the log again.
            self.warnings.push(format!("derived state not saved: {e}"));
        }
        Ok(())
    }

    /// Writes the records changed since the last checkpoint and the metadata that says which
    /// log prefix they cover, in one atomic sled batch.
    pub(super) fn checkpoint(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let Some(st) = self.spaces.get_mut(&space) else {
            return Ok(());
        };
        if st.log.is_err() {
            return Ok(()); // a damaged log's salvage is never checkpointed
        }
        st.since_checkpoint = 0;
        let mut batch = sled::Batch::default();
        for key in std::mem::take(&mut st.dirty) {
            let slot = slot_key(&key);
            match st.replica.slot(&key) {
                Some(state) => {
                    batch.insert(slot.clone(), self.cipher.seal(&slot, &encode(state)?)?)
                }
                None => batch.remove(slot),
            }
        }
        let meta = SpaceMeta {
            log_entries: st.log_entries,
            log_len: st.log.as_ref().map_or(0, OpLog::len),
            log_digest: st.log_digest,
            applied: st.replica.version_vector().clone(),
            clock: st.clock.last(),
            member_ops: st.member_ops.clone(),
        };
        batch.insert(META_KEY, self.cipher.seal(META_KEY, &encode(&meta)?)?);
        let Some(tree) = &st.tree else {
            return Ok(());
        };
        tree.apply_batch(batch).map_err(|e| NodeError::Store {
            path: self.dir.join("state"),
            reason: e.to_string(),
        })
    }

    fn store_err(&self, e: sled::Error) -> NodeError {
        NodeError::Store {
            path: self.dir.join("state"),
            reason: e.to_string(),
        }
    }

    /// The checkpointed state and how many log entries it covers, if it is intact and the log
    /// still starts with exactly the entries it was made from.
    fn load_derived(
        &self,
        space: SpaceId,
        tree: &sled::Tree,
        entries: &[Vec<u8>],
    ) -> Option<(Replica, Hlc, usize, BTreeSet<OpId>)> {
        let meta = tree.get(META_KEY).ok()??;
        let meta: SpaceMeta = postcard::from_bytes(&self.cipher.open(META_KEY, &meta)?).ok()?;
        let covered = usize::try_from(meta.log_entries).ok()?;
        let prefix = entries.get(..covered)?;
        let digest = prefix.iter().fold([0u8; 32], |d, e| chain(&d, e));
        let prefix_len: u64 = prefix.iter().map(|e| e.len() as u64 + 8).sum();
        if digest != meta.log_digest || prefix_len != meta.log_len {
            return None;
        }
        let mut records = BTreeMap::new();
        for item in tree.scan_prefix(b"r") {
            let (k, v) = item.ok()?;
            let state: RecordState = postcard::from_bytes(&self.cipher.open(&k, &v)?).ok()?;
            let kind = *RecordKind::ALL.get(usize::from(*k.get(1)?))?;
            let id = RecordId(k.get(2..18)?.try_into().ok()?);
            records.insert(RecordKey { kind, id }, state);
        }
        Some((
            Replica::from_parts(space, meta.applied, records),
            meta.clock,
            covered,
            meta.member_ops,
        ))
    }

    /// Verifies, decrypts and applies logged envelopes, each judged against `authority`
    /// (`judge`); one refused for good is audited and takes its place as a void, one that
    /// waits (its author's admission, its record, a task's assignment) is tried again after
    /// the others. Returns the records touched; operations on member records are added to
    /// `member_ops`.
    fn replay(
        &mut self,
        space: SpaceId,
        authority: &crate::authority::Authority,
        replica: &mut Replica,
        clock: &mut Hlc,
        entries: &[Vec<u8>],
        member_ops: &mut BTreeSet<OpId>,
    ) -> Result<BTreeSet<RecordKey>, NodeError> {
        let mut touched = BTreeSet::new();
        let own = (self.keys.device_id(), self.entry(space)?.role);
        let mut refusals: Vec<String> = Vec::new();
        let mut waiting: Vec<Operation> = Vec::new();
        let mut settle = |op: Operation,
                          replica: &mut Replica,
                          waiting: &mut Vec<Operation>,
                          refusals: &mut Vec<String>|
         -> Result<bool, NodeError> {
            if op.kind == RecordKind::Member {
                member_ops.insert(op.id);
            }
            match judge(authority, replica, own, &op) {
                Ok(()) => {
                    let (hlc, key) = (
                        op.hlc,
                        RecordKey {
                            kind: op.kind,
                            id: op.record,
                        },
                    );
                    match replica.apply(op) {
                        Ok(_) => {
                            *clock = (*clock).max(hlc);
                            touched.insert(key);
                            Ok(true)
                        }
                        Err(e) => {
                            refusals.push(e.to_string());
                            Ok(false)
                        }
                    }
                }
                Err(e) if e.may_change() => {
                    waiting.push(op);
                    Ok(false)
                }
                Err(e) => {
                    replica.void(op.id)?;
                    refusals.push(e.to_string());
                    Ok(true)
                }
            }
        };
        for bytes in entries {
            match self.open_envelope(space, bytes) {
                Ok(op) => {
                    settle(op, replica, &mut waiting, &mut refusals)?;
                }
                Err(e) => {
                    // Kept as a void when it was received: its place is taken again, so its
                    // author's later operations apply (see `receive`).
                    if super::replication::signed_but_invalid(&e) {
                        if let Ok(env) = Envelope::decode(bytes) {
                            let known = authority.standing(env.id.device, env.id.seq)
                                != crate::authority::Standing::Unknown;
                            if known {
                                replica.void(env.id)?;
                            }
                        }
                    }
                    refusals.push(e.to_string());
                }
            }
        }
        loop {
            let mut progress = false;
            for op in std::mem::take(&mut waiting) {
                progress |= settle(op, replica, &mut waiting, &mut refusals)?;
            }
            if !progress || waiting.is_empty() {
                break;
            }
        }
        for op in waiting {
            refusals.push(format!(
                "{} (still waiting)",
                judge(authority, replica, own, &op)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            ));
        }
        for reason in refusals {
            let detail = [("space", space.to_string()), ("reason", reason.clone())];
            let source = format!("op log of {space}");
            self.audit_refusal(AuditEvent::OperationRejected, &source, &reason, &detail)?;
        }
        Ok(touched)
    }

    /// The member operations among `entries` (only those named in `only`, if given), decrypted
    /// and verified; anything unreadable is left to the replay, which audits it.
    fn control_ops(
        &self,
        space: SpaceId,
        entries: &[Vec<u8>],
        only: Option<&BTreeSet<OpId>>,
    ) -> BTreeMap<OpId, Operation> {
        let mut out = BTreeMap::new();
        for bytes in entries {
            let Ok(envelope) = Envelope::decode(bytes) else {
                continue;
            };
            if only.is_some_and(|ids| !ids.contains(&envelope.id)) || envelope.space != space {
                continue;
            }
            let Some(key) = self.space_key(space, envelope.epoch) else {
                continue;
            };
            let Ok(op) = envelope.open_verified(key) else {
                continue;
            };
            if op.kind == RecordKind::Member && envelope.verify().is_ok() {
                out.insert(op.id, op);
            }
        }
        out
    }

    /// Decides the space again from its op log (a member operation arrived that judges what
    /// was applied differently): the checkpoint is dropped and the state rebuilt.
    pub(super) fn rebuild_space(&mut self, space: SpaceId) -> Result<(), NodeError> {
        if let Some(st) = self.spaces.remove(&space) {
            if let Some(tree) = &st.tree {
                tree.remove(META_KEY).map_err(|e| self.store_err(e))?;
            }
        }
        self.load_space(space)
    }

    fn open_envelope(&self, space: SpaceId, bytes: &[u8]) -> Result<Operation, NodeError> {
        let envelope = Envelope::decode(bytes)?;
        envelope.verify()?;
        if envelope.space != space {
            return Err(NodeError::Apply(ApplyError::WrongSpace));
        }
        let key = self
            .space_key(space, envelope.epoch)
            .ok_or(EnvelopeError::UnknownEpoch)?;
        Ok(envelope.open(key)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::node::scratch;

    /// The first envelopes a new peer gets: admissions first, whether the space was opened
    /// from its checkpoint or rebuilt from the log.
    #[test]
    fn admissions_go_first_after_a_reopen_from_the_checkpoint_and_from_the_log() {
        let dir = scratch("admissions-first");
        let chair_dir = dir.join("chair");
        let mut chair =
            Node::init(&chair_dir, "Jana", "heslo-pro-test", KdfParams::for_tests()).unwrap();
        let space = chair.create_space("Krizový štáb Zlínského kraje").unwrap();
        for n in 0..5 {
            chair
                .create_record(
                    space,
                    RecordKind::JournalEntry,
                    crate::api::JournalInput {
                        text: format!("Záznam {n}"),
                        ..Default::default()
                    }
                    .to_changes()
                    .unwrap(),
                )
                .unwrap();
        }
        let code = chair.create_invite(space, StaffRole::Member, 60).unwrap();
        let mut joiner = Node::init(
            &dir.join("joiner"),
            "Petr",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let request = joiner.request_join(&code).unwrap();
        chair.accept_join(&request).unwrap();
        let first_two = |node: &Node| -> Vec<RecordKind> {
            let (batch, _) = node
                .envelopes_missing_from(space, &VersionVector::new(), 2, 1 << 20)
                .unwrap();
            batch
                .iter()
                .map(|b| node.open_envelope(space, b).unwrap().kind)
                .collect()
        };
        let expected = vec![RecordKind::Member, RecordKind::Member];
        assert_eq!(first_two(&chair), expected, "founder and admission first");
        chair.close().unwrap();
        let chair = Node::open(&chair_dir, "heslo-pro-test").unwrap();
        assert_eq!(
            first_two(&chair),
            expected,
            "after a reopen from the checkpoint"
        );
        chair.close().unwrap();
        fs::remove_dir_all(chair_dir.join("state")).unwrap();
        let chair = Node::open(&chair_dir, "heslo-pro-test").unwrap();
        assert_eq!(first_two(&chair), expected, "after a rebuild from the log");
        chair.close().unwrap();
        let _ = fs::remove_dir_all(&dir);
    }
}
