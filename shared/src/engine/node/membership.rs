//! Membership: who may write in a space, and how a device joins one.
//!
//! - On apply, an operation counts only if its author is the founder or an admitted member whose
//!   role may write ([`admit`], against the strongest role of each member: [`member_roles`]);
//!   member records only from the chair or the secretary.
//! - Admissions are member records written by this device ([`Node::admit_member`]).
//! - The offline invite exchange: [`Node::create_invite`] (chair or secretary),
//!   [`Node::request_join`] on the joining device, [`Node::accept_join`] on the inviting one (it
//!   admits the device and wraps the space keys to it), [`Node::finish_join`] back on the
//!   joining device.

use super::*;
use crate::authority::Authority;
use crate::engine::invite::{InviteCode, JoinRequest, Welcome};
use crate::engine::keys::SpaceKey;
use crate::engine::keystore::{PendingJoin, Secret32, StoredInvite};
use crate::engine::wrap::{unwrap_space_key, wrap_space_key};
use crate::record::FieldValue;
use crate::views::MemberStanding;

/// What an admission writes on the new member's record.
pub(super) struct Admission<'a> {
    pub name: &'a str,
    pub role: StaffRole,
    /// An ORP coordinator's ORP.
    pub orp: Option<&'a str>,
    /// The invite it used (one invite admits one device once).
    pub invite: Option<[u8; 16]>,
    /// The device's X25519 key and binding (`engine::rekey::member_key`).
    pub key: Option<Vec<u8>>,
    /// On the founder's admission, the space's first operation: the space is an exercise.
    pub exercise: bool,
}

/// The ORP binding `role` takes: required (at most 200 characters) for an ORP coordinator,
/// refused for any other role.
fn orp_binding(role: StaffRole, orp: Option<&str>) -> Result<Option<&str>, NodeError> {
    let orp = orp.map(str::trim).filter(|o| !o.is_empty());
    match (role, orp) {
        (StaffRole::OrpCoordinator, Some(o)) if o.chars().count() <= 200 => Ok(Some(o)),
        (StaffRole::OrpCoordinator, _) => Err(NodeError::OrpRequired),
        (_, Some(_)) => Err(NodeError::OrpOnlyForCoordinator),
        (_, None) => Ok(None),
    }
}

impl Node {
    /// Writes the member record that admits `device` as `admission` says. Every change names
    /// how many of the device's operations this replica applied (`MemberSeen`): it governs the
    /// device's operations after those.
    pub(super) fn admit_member(
        &mut self,
        space: SpaceId,
        device: DeviceId,
        admission: Admission<'_>,
    ) -> Result<(), NodeError> {
        let Admission {
            name,
            role,
            orp,
            invite,
            key,
            exercise,
        } = admission;
        let name: String = name.trim().chars().take(200).collect();
        let name = if name.is_empty() {
            device.to_string()[..16].to_owned()
        } else {
            name
        };
        let mut values = vec![
            FieldValue::MemberRole(role),
            FieldValue::Name(name),
            FieldValue::MemberOrp(orp.unwrap_or_default().trim().to_owned()),
        ];
        if let Some(invite) = invite {
            values.push(FieldValue::MemberInvite(hex16(&invite)));
        }
        if let Some(key) = key {
            values.push(FieldValue::MemberKey(crate::record::Blob(key)));
        }
        if exercise {
            values.push(FieldValue::SpaceExercise(true));
        }
        self.write_member(space, device, values)?;
        // The admission is durable; a list relays will check authors against follows it.
        self.refresh_member_list(space)
    }

    /// Writes `values` on the member record of `device` (creating it, with the device, when
    /// there is none), with `MemberSeen`.
    pub(super) fn write_member(
        &mut self,
        space: SpaceId,
        device: DeviceId,
        values: Vec<FieldValue>,
    ) -> Result<(), NodeError> {
        let st = self
            .spaces
            .get(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let seen = st.replica.version_vector().get(&device);
        let removed = matches!(
            st.authority.standing(device, u64::MAX),
            crate::authority::Standing::Removed { .. }
        );
        let existing = st
            .authority
            .record_of(device)
            .filter(|_| !removed)
            .and_then(|id| Some((id, st.replica.record(RecordKind::Member, id)?)));
        let mut values = values;
        values.push(FieldValue::MemberSeen(seen));
        match existing {
            None => {
                let mut changes = vec![Change::Set {
                    value: FieldValue::MemberDevice(device),
                    bases: Default::default(),
                }];
                changes.extend(values.into_iter().map(|value| Change::Set {
                    value,
                    bases: Default::default(),
                }));
                self.write(space, |id, hlc| {
                    Operation::new_record(id, hlc, space, RecordKind::Member, changes)
                })?;
            }
            Some((record, state)) => {
                let mut changes = Vec::with_capacity(values.len());
                for value in values {
                    let heads = state
                        .register(value.key())
                        .map(|r| r.heads())
                        .unwrap_or_default();
                    changes.push(Change::Set {
                        value,
                        bases: heads
                            .try_into()
                            .map_err(|_| InvalidOp::TooManyChanges { max: 16 })?,
                    });
                }
                self.write(space, |id, hlc| {
                    Operation::edit(id, hlc, space, record, RecordKind::Member, changes)
                })?;
            }
        }
        Ok(())
    }

    /// Changes the role (and ORP binding) of member `device`: a promotion, a demotion, a
    /// handover of an ORP. The change governs the device's operations this replica has not
    /// seen yet (docs/ARCHITECTURE.md, "Authority").
    pub fn change_member(
        &mut self,
        space: SpaceId,
        device: DeviceId,
        role: StaffRole,
        orp: Option<&str>,
    ) -> Result<(), NodeError> {
        let orp = orp_binding(role, orp)?;
        let authority = self.authority(space)?;
        let Some(now) = authority.current(device).cloned() else {
            return Err(NodeError::UnknownMember(device.to_string()));
        };
        // A real space keeps a chair; a drill keeps its exercise leader.
        let (head, last) = if authority.exercise() {
            (StaffRole::ExerciseLeader, NodeError::LastLeader)
        } else {
            (StaffRole::Chair, NodeError::LastChair)
        };
        let heads = authority
            .devices()
            .filter(|(_, g, _)| g.is_some_and(|g| g.role == head))
            .count();
        if now.role == head && role != head && heads <= 1 {
            return Err(last);
        }
        self.write_member(
            space,
            device,
            vec![
                FieldValue::MemberRole(role),
                FieldValue::MemberOrp(orp.unwrap_or_default().to_owned()),
            ],
        )?;
        let detail = [
            ("space", space.to_string()),
            ("device", device.to_string()),
            ("role", role.code().to_owned()),
            ("was", now.role.code().to_owned()),
        ];
        self.audit(AuditEvent::MemberRoleChanged, &detail)?;
        self.exercise_keys_up_to_date(space)?;
        self.refresh_member_list(space)
    }

    /// Removes `devices` (a member's devices, or one revoked device) from `space`: each gets
    /// a removal on its member record that governs its operations this replica has not seen,
    /// and the last removal carries a fresh space key for the next epoch wrapped to every
    /// remaining device whose key is known (`engine::rekey`). This device writes with the new
    /// key from then on. Returns the new epoch and the remaining devices it could not reach
    /// (no published key).
    pub fn remove_devices(
        &mut self,
        space: SpaceId,
        devices: &[DeviceId],
    ) -> Result<(u32, Vec<DeviceId>), NodeError> {
        use crate::engine::rekey::Rekey;
        let role = self.own_role(space)?;
        if !self.may_manage_members(space)? {
            return Err(NodeError::Refused(crate::authority::Refusal::NotAllowed {
                device: self.keys.device_id(),
                role,
                kind: RecordKind::Member,
                action: crate::authority::Action::ManageMembers,
            }));
        }
        let authority = self.authority(space)?;
        if devices.is_empty() {
            return Err(NodeError::UnknownMember(String::new()));
        }
        for d in devices {
            if authority.current(*d).is_none() {
                return Err(NodeError::UnknownMember(d.to_string()));
            }
        }
        // A real space keeps a chair; a drill keeps its exercise leader.
        let (head, last) = if authority.exercise() {
            (StaffRole::ExerciseLeader, NodeError::LastLeader)
        } else {
            (StaffRole::Chair, NodeError::LastChair)
        };
        let mut chairs_left = 0;
        let mut published = Vec::new();
        for (device, grant, _) in authority.devices() {
            let Some(grant) = grant else { continue };
            if devices.contains(&device) {
                continue;
            }
            chairs_left += usize::from(grant.role == head);
            published.push((device, authority.key_of(device).map(<[u8]>::to_vec)));
        }
        if chairs_left == 0 {
            return Err(last);
        }
        let mut recipients = Vec::new();
        let mut unreachable = Vec::new();
        for (device, key) in published {
            match key.map(|k| self.member_public(device, &k)) {
                Some(Ok(public)) => recipients.push((device, public)),
                _ => unreachable.push(device),
            }
        }
        let epoch = self
            .entry(space)?
            .keys
            .iter()
            .map(|(e, _)| *e)
            .max()
            .unwrap_or(0)
            + 1;
        let key = SpaceKey::generate().map_err(|_| NodeError::Random)?;
        let rekey = Rekey::seal(space, epoch, &key, &recipients)
            .and_then(|r| r.encode())
            .map_err(NodeError::Rekey)?;
        for (i, device) in devices.iter().enumerate() {
            let mut values = vec![FieldValue::MemberRemoved(true)];
            if i + 1 == devices.len() {
                values.push(FieldValue::MemberRekey(crate::record::Blob(rekey.clone())));
            }
            self.write_member(space, *device, values)?;
        }
        // The removals are durable: from now on this device writes under the new key.
        self.install_key(space, epoch, key)?;
        for device in devices {
            let detail = [
                ("space", space.to_string()),
                ("device", device.to_string()),
                ("epoch", epoch.to_string()),
            ];
            self.audit(AuditEvent::MemberRemoved, &detail)?;
        }
        self.refresh_member_list(space)?;
        Ok((epoch, unreachable))
    }

    /// The X25519 key `device` published (`published`: the key and its binding signature),
    /// its binding checked once: a removal wraps the new key to every remaining device, and
    /// checking each binding again on every removal would cost a signature check per device.
    fn member_public(
        &mut self,
        device: DeviceId,
        published: &[u8],
    ) -> Result<[u8; 32], crate::engine::rekey::RekeyError> {
        if let Some((bytes, public)) = self.checked_keys.get(&device) {
            if bytes.as_slice() == published {
                return Ok(*public);
            }
        }
        let public = crate::engine::rekey::checked_member_key(&device, published)?;
        self.checked_keys
            .insert(device, (published.to_vec(), public));
        Ok(public)
    }

    /// On a device that manages members of `space`: checks the X25519 keys its members
    /// published that it has not checked yet (as they are admitted, and once after opening),
    /// so that a removal only wraps. A bad binding is left for the removal to report.
    pub(super) fn check_published_keys(&mut self, space: SpaceId) -> Result<(), NodeError> {
        // A device removed, or that does not manage members, wraps no keys.
        if !self.may_manage_members(space).unwrap_or(false) {
            return Ok(());
        }
        let authority = self.authority(space)?;
        let published: Vec<(DeviceId, Vec<u8>)> = authority
            .devices()
            .filter(|(_, grant, _)| grant.is_some())
            .filter_map(|(d, _, _)| authority.key_of(d).map(|k| (d, k.to_vec())))
            .collect();
        for (device, key) in published {
            // Checked ones are only looked up.
            let _ = self.member_public(device, &key);
        }
        Ok(())
    }

    /// Adds epoch `epoch`'s key of `space` to the keystore's contents (once), and audits it.
    /// Returns whether it was new.
    ///
    /// The keystore file is not saved for it: every rotation's key is wrapped to each device
    /// that stays (the remover too) in a logged member operation, so opening the node takes it
    /// from the log again ([`Node::take_logged_keys`]); the audit entry is written without its
    /// own `fdatasync` for the same reason. This keeps a removal's cost to each device near
    /// its cryptography (docs/BENCHMARKS.md, "Removal and key rotation").
    fn install_key(
        &mut self,
        space: SpaceId,
        epoch: u32,
        key: SpaceKey,
    ) -> Result<bool, NodeError> {
        if !self.hold_key(space, epoch, key)? {
            return Ok(false);
        }
        let detail = [("space", space.to_string()), ("epoch", epoch.to_string())];
        self.audit
            .note(AuditEvent::KeyRotated, &detail, &self.keys, Utc::now())?;
        Ok(true)
    }

    /// Adds the key to the keystore's contents in memory; whether it was new.
    fn hold_key(&mut self, space: SpaceId, epoch: u32, key: SpaceKey) -> Result<bool, NodeError> {
        let entry = self
            .keystore
            .contents_mut()
            .space_mut(space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        if entry.keys.iter().any(|(e, _)| *e == epoch) {
            return Ok(false);
        }
        entry.keys.push((epoch, key));
        entry.keys.sort_by_key(|(e, _)| *e);
        Ok(true)
    }

    /// This device's keys from the key rotations of `authority` that it lacks: (epoch, key).
    fn rotated_keys(
        &self,
        space: SpaceId,
        authority: &Authority,
    ) -> Result<Vec<(u32, SpaceKey)>, NodeError> {
        use crate::engine::rekey::Rekey;
        let held: BTreeSet<u32> = self.entry(space)?.keys.iter().map(|(e, _)| *e).collect();
        let mut found = Vec::new();
        for (_, bytes) in authority.rekeys() {
            let Ok(rekey) = Rekey::decode(bytes) else {
                continue;
            };
            if rekey.space != space || held.contains(&rekey.epoch) {
                continue;
            }
            if let Ok(key) = rekey.open(&self.keys) {
                found.push((rekey.epoch, key));
            }
        }
        Ok(found)
    }

    /// Takes this device's key from every key rotation that counts and that it lacks.
    /// Returns whether a new key was taken.
    pub(super) fn install_rekeys(&mut self, space: SpaceId) -> Result<bool, NodeError> {
        let found = self.rotated_keys(space, self.authority(space)?)?;
        let mut any = false;
        for (epoch, key) in found {
            any |= self.install_key(space, epoch, key)?;
        }
        Ok(any)
    }

    /// While a space is opened: takes into memory the keys of the rotations in `authority`
    /// (folded from the member operations readable so far) that the keystore file lacks.
    /// Returns the epochs taken; the caller reads the log again with them.
    pub(super) fn take_logged_keys(
        &mut self,
        space: SpaceId,
        authority: &Authority,
    ) -> Result<Vec<u32>, NodeError> {
        let mut taken = Vec::new();
        for (epoch, key) in self.rotated_keys(space, authority)? {
            if self.hold_key(space, epoch, key)? {
                taken.push(epoch);
            }
        }
        Ok(taken)
    }

    /// Publishes this device's X25519 key on its member record if the space's records lack it
    /// (a device admitted by an older version), so that key rotations can reach it.
    pub(super) fn publish_own_key(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let me = self.keys.device_id();
        let authority = self.authority(space)?;
        if authority.key_of(me).is_some() || authority.current(me).is_none() {
            return Ok(());
        }
        let record = authority.record_of(me);
        let value = FieldValue::MemberKey(crate::record::Blob(crate::engine::rekey::member_key(
            &self.keys,
        )));
        match record {
            Some(record) => {
                let heads = self
                    .replica(space)?
                    .record(RecordKind::Member, record)
                    .and_then(|r| r.register(value.key()))
                    .map(|r| r.heads())
                    .unwrap_or_default();
                let change = Change::Set {
                    value,
                    bases: heads
                        .try_into()
                        .map_err(|_| InvalidOp::TooManyChanges { max: 16 })?,
                };
                self.write(space, |id, hlc| {
                    Operation::edit(id, hlc, space, record, RecordKind::Member, vec![change])
                })?;
            }
            None => {
                let changes = vec![
                    Change::Set {
                        value: FieldValue::MemberDevice(me),
                        bases: Default::default(),
                    },
                    Change::Set {
                        value,
                        bases: Default::default(),
                    },
                ];
                self.write(space, |id, hlc| {
                    Operation::new_record(id, hlc, space, RecordKind::Member, changes)
                })?;
            }
        }
        Ok(())
    }

    /// The member `text` names: a device id (or its first 16 hex digits and more), or a
    /// member's name (case aside) that only one device has.
    pub fn find_member(&self, space: SpaceId, text: &str) -> Result<DeviceId, NodeError> {
        let text = text.trim();
        let members = self.member_standings(space)?;
        let lower = text.to_lowercase();
        if text.len() >= 16 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            let by_id: Vec<_> = members
                .iter()
                .filter(|m| m.device.to_string().starts_with(&lower))
                .collect();
            if let [one] = by_id.as_slice() {
                return Ok(one.device);
            }
        }
        let by_name: Vec<_> = members
            .iter()
            .filter(|m| m.name.trim().to_lowercase() == lower)
            .collect();
        match by_name.as_slice() {
            [one] => Ok(one.device),
            [] => Err(NodeError::UnknownMember(text.to_owned())),
            many => Err(NodeError::AmbiguousMember {
                name: text.to_owned(),
                count: many.len(),
            }),
        }
    }

    /// The devices `text` names: one device by its id, or every device (not removed) of the
    /// member with that name.
    pub fn devices_of_member(
        &self,
        space: SpaceId,
        text: &str,
    ) -> Result<Vec<DeviceId>, NodeError> {
        let lower = text.trim().to_lowercase();
        let by_name: Vec<DeviceId> = self
            .member_standings(space)?
            .into_iter()
            .filter(|m| m.role.is_some() && m.name.trim().to_lowercase() == lower)
            .map(|m| m.device)
            .collect();
        if by_name.is_empty() {
            return Ok(vec![self.find_member(space, text)?]);
        }
        Ok(by_name)
    }

    /// Every device ever admitted to `space`, with its standing now, by name.
    pub fn member_standings(&self, space: SpaceId) -> Result<Vec<MemberStanding>, NodeError> {
        let authority = self.authority(space)?;
        let epoch = self
            .entry(space)?
            .keys
            .iter()
            .map(|(e, _)| *e)
            .max()
            .unwrap_or(0);
        let founder = authority.founder();
        let replica = self.replica(space)?;
        let recorded: BTreeMap<DeviceId, String> = replica
            .members()
            .into_iter()
            .map(|m| (m.device, m.name))
            .collect();
        let mut out: Vec<MemberStanding> = authority
            .devices()
            .map(|(device, grant, _)| MemberStanding {
                device,
                name: grant
                    .map(|g| g.name.clone())
                    .filter(|n| !n.is_empty())
                    .or_else(|| recorded.get(&device).cloned())
                    .unwrap_or_else(|| device.to_string()[..16].to_owned()),
                role: grant.map(|g| g.role),
                orp: grant.and_then(|g| g.orp.clone()),
                founder: device == founder,
                epoch,
            })
            .collect();
        out.sort_by_cached_key(|m| (m.role.is_none(), m.name.to_lowercase()));
        Ok(out)
    }

    /// Creates a one-use invite to `space` for `role`, valid for `valid_minutes`; returns the
    /// code to hand over out of band. Only the chair or the secretary may invite.
    pub fn create_invite(
        &mut self,
        space: SpaceId,
        role: StaffRole,
        valid_minutes: u64,
    ) -> Result<String, NodeError> {
        self.create_invite_for(space, role, None, valid_minutes)
    }

    /// [`Node::create_invite`] with the ORP an ORP coordinator is bound to (required for that
    /// role, refused for any other).
    pub fn create_invite_for(
        &mut self,
        space: SpaceId,
        role: StaffRole,
        orp: Option<&str>,
        valid_minutes: u64,
    ) -> Result<String, NodeError> {
        if !self.may_manage_members(space)? {
            return Err(NodeError::MayNotInvite);
        }
        let orp = orp_binding(role, orp)?;
        if !(1..=30 * 24 * 60).contains(&valid_minutes) {
            return Err(NodeError::BadValidity);
        }
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| NodeError::Random)?;
        let code = InviteCode::from_bytes(bytes);
        let expires_ms = now_ms().saturating_add(valid_minutes * 60_000);
        self.keystore.contents_mut().invites.push(StoredInvite {
            id: code.id(),
            space,
            role,
            expires_ms,
            secret: Secret32::from_bytes(code.secret()),
            used: false,
            orp: orp.unwrap_or_default().to_owned(),
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        let detail = [
            ("space", space.to_string()),
            ("role", role.code().to_owned()),
            ("invite", hex16(&code.id())),
            ("expires", rfc3339_ms(expires_ms)),
        ];
        self.audit(AuditEvent::InviteCreated, &detail)?;
        Ok(code.to_text())
    }

    /// The first offline step of joining: turns an invite code into a request code for the
    /// inviting device, and remembers the invite so the welcome can be checked.
    pub fn request_join(&mut self, code: &str) -> Result<String, NodeError> {
        let code = InviteCode::parse(code)?;
        let request = JoinRequest::new(&code, &self.keys, self.name());
        let pending = &mut self.keystore.contents_mut().pending_joins;
        pending.retain(|p| p.invite != code.id());
        pending.push(PendingJoin {
            invite: code.id(),
            secret: Secret32::from_bytes(code.secret()),
            created_ms: now_ms(),
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        Ok(request.to_text())
    }

    /// On the inviting device: admits the requesting device if the request proves the invite,
    /// and returns the welcome code with the space keys wrapped to that device.
    pub fn accept_join(&mut self, request: &str) -> Result<String, NodeError> {
        let request = JoinRequest::parse(request)?;
        let now = now_ms();
        let verdict = match self
            .keystore
            .contents()
            .invites
            .iter()
            .find(|i| i.id == request.invite)
        {
            None => Err(InviteError::UnknownInvite),
            Some(i) if i.used => Err(InviteError::Used),
            Some(i) if now > i.expires_ms => Err(InviteError::Expired(rfc3339_ms(i.expires_ms))),
            Some(i) => request
                .verify(i.secret.as_bytes())
                .map(|()| (i.space, i.role, *i.secret.as_bytes(), i.orp.clone())),
        };
        let (space, role, secret, orp) = match verdict {
            Ok(v) => v,
            Err(reason) => {
                let (device, why) = (request.device.to_string(), reason.to_string());
                let detail = [
                    ("invite", hex16(&request.invite)),
                    ("device", device.clone()),
                    ("reason", why.clone()),
                ];
                // Caused by whoever sent the request: counted and summarised, not synced each.
                self.audit_refusal(AuditEvent::InviteRefused, &device, &why, &detail)?;
                return Err(reason.into());
            }
        };
        // The admission is an operation like any other: every replica checks it on apply, and
        // the new device's operations count only once it has arrived.
        if self.authority(space)?.current(request.device).is_some() {
            // A device admitted already is not admitted again by a request (the fold would
            // refuse it too): a change of role is `member role`.
            return Err(InviteError::AlreadyMember.into());
        }
        let orp = Some(orp.as_str()).filter(|o| !o.is_empty());
        // The device's X25519 key travels in its member record, so that a later key rotation
        // can reach it (checked against the device id before anything is wrapped to it).
        let mut key = request.x25519.to_vec();
        key.extend_from_slice(&request.binding.0);
        self.admit_member(
            space,
            request.device,
            Admission {
                name: &request.name,
                role,
                orp,
                invite: Some(request.invite),
                key: Some(key),
                exercise: false,
            },
        )?;
        // A new exercise leader gets the drill's control key at once.
        self.exercise_keys_up_to_date(space)?;
        let entry = self.entry(space)?;
        let context = Welcome::wrap_context(&request.invite, &request.device, &space);
        let mut wrapped = Vec::with_capacity(entry.keys.len());
        for (epoch, key) in &entry.keys {
            let w = wrap_space_key(&request.x25519, key, &context)
                .map_err(|_| NodeError::Invite(InviteError::Unwrap))?;
            wrapped.push((*epoch, w));
        }
        let welcome = Welcome {
            invite: request.invite,
            space,
            space_name: entry.name.clone(),
            role,
            keys: wrapped
                .try_into()
                .map_err(|_| NodeError::Invite(InviteError::Malformed("welcome code")))?,
            founder: entry.founder,
            inviter: self.keys.device_id(),
            mac: [0; 32],
            signature: crate::engine::envelope::Signature([0; 64]),
        }
        .seal(&secret, &self.keys);
        if let Some(i) = self
            .keystore
            .contents_mut()
            .invites
            .iter_mut()
            .find(|i| i.id == request.invite)
        {
            i.used = true;
        }
        self.keystore.save().map_err(NodeError::Keystore)?;
        let used = [
            ("invite", hex16(&request.invite)),
            ("space", space.to_string()),
        ];
        self.audit
            .record(AuditEvent::InviteUsed, &used, Some(&self.keys), Utc::now())?;
        let joined = [
            ("space", space.to_string()),
            ("device", request.device.to_string()),
            ("role", role.code().to_owned()),
        ];
        self.audit(AuditEvent::MemberJoined, &joined)?;
        Ok(welcome.to_text())
    }

    /// The last offline step on the joining device: checks the welcome, unwraps the space keys
    /// and adds the space.
    pub fn finish_join(&mut self, welcome: &str) -> Result<SpaceId, NodeError> {
        let welcome = Welcome::parse(welcome)?;
        let contents = self.keystore.contents();
        let pending = contents
            .pending_joins
            .iter()
            .find(|p| p.invite == welcome.invite)
            .ok_or(InviteError::NotPending)?;
        welcome.verify(pending.secret.as_bytes())?;
        if contents.space(welcome.space).is_some() {
            return Err(InviteError::AlreadyMember.into());
        }
        let context =
            Welcome::wrap_context(&welcome.invite, &self.keys.device_id(), &welcome.space);
        let mut keys = Vec::with_capacity(welcome.keys.len());
        for (epoch, wrapped) in welcome.keys.iter() {
            keys.push((
                *epoch,
                unwrap_space_key(&self.keys, wrapped, &context).map_err(|_| InviteError::Unwrap)?,
            ));
        }
        let contents = self.keystore.contents_mut();
        contents
            .pending_joins
            .retain(|p| p.invite != welcome.invite);
        contents.spaces.push(SpaceEntry {
            space: welcome.space,
            name: welcome.space_name.clone(),
            role: welcome.role,
            founder: welcome.founder,
            keys,
        });
        self.keystore.save().map_err(NodeError::Keystore)?;
        self.load_space(welcome.space)?;
        let detail = [
            ("space", welcome.space.to_string()),
            ("role", welcome.role.code().to_owned()),
            ("inviter", welcome.inviter.to_string()),
        ];
        self.audit(AuditEvent::MemberJoined, &detail)?;
        Ok(welcome.space)
    }
}

fn rfc3339_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::node::scratch;

    #[test]
    fn an_expired_invite_is_refused_and_audited() {
        let dir = scratch("expired-invite");
        let mut chair = Node::init(
            &dir.join("chair"),
            "Jana",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let space = chair.create_space("Povodňová komise ORP Vsetín").unwrap();
        let code = chair.create_invite(space, StaffRole::Member, 60).unwrap();
        for invite in &mut chair.keystore.contents_mut().invites {
            invite.expires_ms = 1_000; // long past
        }
        let mut joiner = Node::init(
            &dir.join("joiner"),
            "Petr",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let request = joiner.request_join(&code).unwrap();
        match chair.accept_join(&request) {
            Err(NodeError::Invite(InviteError::Expired(at))) => {
                assert_eq!(at, "1970-01-01T00:00:01Z")
            }
            Err(other) => panic!("expected expiry, got {other}"),
            Ok(_) => panic!("an expired invite was accepted"),
        }
        assert!(
            !chair.keystore.contents().invites[0].used,
            "a refused invite is not used up"
        );
        let audit = fs::read_to_string(dir.join("chair").join("audit.log")).unwrap();
        assert!(audit.contains("invite_refused") && audit.contains("expired"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_flood_of_join_requests_for_no_invite_is_counted_not_written_each() {
        let dir = scratch("join-flood");
        let mut chair = Node::init(
            &dir.join("chair"),
            "Jana",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let mut joiner = Node::init(
            &dir.join("joiner"),
            "Petr",
            "heslo-pro-test",
            KdfParams::for_tests(),
        )
        .unwrap();
        let never = InviteCode::from_bytes([9; 16]).to_text();
        let request = joiner.request_join(&never).unwrap();
        let path = dir.join("chair").join("audit.log");
        let (bytes, syncs) = (fs::metadata(&path).unwrap().len(), chair.audit_syncs());
        for _ in 0..500 {
            assert!(matches!(
                chair.accept_join(&request),
                Err(NodeError::Invite(InviteError::UnknownInvite))
            ));
        }
        assert_eq!(chair.audit_syncs(), syncs, "no fsync per refusal");
        chair.audit_flush().unwrap();
        let audit = fs::read_to_string(&path).unwrap();
        assert_eq!(audit.matches("\"event\":\"invite_refused\"").count(), 1);
        assert_eq!(
            audit.matches("\"event\":\"refusals_summarized\"").count(),
            1
        );
        assert!(audit.contains("[\"count\",\"499\"]"), "{audit}");
        let added = fs::metadata(&path).unwrap().len() - bytes;
        assert!(added < 3_000, "{added} bytes for the flood");
        eprintln!("500 refused join requests: 2 entries, {added} bytes, 1 fdatasync");
        assert_eq!(chair.audit_syncs(), syncs + 1);
        let report = chair.audit_verify().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let _ = fs::remove_dir_all(&dir);
    }
}
