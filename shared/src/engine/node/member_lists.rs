//! The signed member lists of this device's spaces (see `engine::member_list`): issuing them
//! on a chair's or secretary's device, taking newer ones from peers, and what a blind relay
//! trusts.
//!
//! - A device of the chair or a secretary issues a list whenever its replica knows a member
//!   device or an issuer the newest list lacks (after an admission, after a sync that brought a
//!   member record, on opening). Lists only ever add devices: the new list is the union of the
//!   newest one and the replica's members, so two admins' concurrent lists end in one that
//!   names everyone either knew, not in a tug of war — except removed devices: every issuer's
//!   replica folds the same removals, so the union minus the removed is the same list.
//! - A member takes a newer list from a peer if its issuer is named by the newest list it holds
//!   or is the founder or a chair or secretary in its replica; a relay, if the issuer is named
//!   by its newest list or granted it (the grant carries the granter's list).
//! - Refused lists are audited (counted and summarised) and change nothing.

use std::collections::BTreeSet;

use super::*;
use crate::engine::keystore::UNKNOWN_GRANTER;
use crate::engine::member_list::{ListMark, MemberList, MemberListError};

impl Node {
    /// Where this device's chain of member lists of `space` stands (zeros: none).
    pub fn member_list_mark(&self, space: SpaceId) -> ListMark {
        self.keystore
            .contents()
            .member_lists(space)
            .map_or((0, [0; 8]), |l| l.mark())
    }

    /// The newest member list held for `space`.
    pub fn member_list(&self, space: SpaceId) -> Option<&MemberList> {
        self.keystore.contents().member_lists(space)?.newest()
    }

    /// The member lists of `space` newer than a peer's `mark`, oldest first.
    pub fn member_lists_newer_than(&self, space: SpaceId, mark: ListMark) -> Vec<MemberList> {
        self.keystore
            .contents()
            .member_lists(space)
            .map(|l| l.newer_than(mark))
            .unwrap_or_default()
    }

    /// The devices whose lists of `space` this device takes besides those its chain names.
    fn trusted_issuers(&self, space: SpaceId) -> BTreeSet<DeviceId> {
        if let Some(st) = self.spaces.get(&space) {
            let (_, issuers) = replica_members(st);
            return issuers;
        }
        self.keystore
            .contents()
            .relay_grants
            .iter()
            .filter(|g| g.space == space && g.granter != UNKNOWN_GRANTER)
            .map(|g| g.granter)
            .collect()
    }

    /// Takes the newer of `lists` (a peer's, named `peer` in the audit log) for `space`.
    /// Returns how many were taken.
    pub fn accept_member_lists(
        &mut self,
        space: SpaceId,
        lists: Vec<MemberList>,
        peer: &str,
    ) -> Result<usize, NodeError> {
        if lists.is_empty() || self.holding(space).is_none() {
            return Ok(0);
        }
        let trusted = self.trusted_issuers(space);
        let (taken, refused) = self
            .keystore
            .contents_mut()
            .member_lists_mut(space)
            .accept_all(space, lists, &trusted);
        if taken > 0 {
            self.keystore.save().map_err(NodeError::Keystore)?;
        }
        if let Some(why) = refused {
            let reason = format!("member list refused: {why}");
            let source = format!("{space}/member-list/{peer}");
            self.audit_refusal(
                AuditEvent::OperationRejected,
                &source,
                &reason,
                &[
                    ("space", space.to_string()),
                    ("peer", peer.to_owned()),
                    ("reason", reason.clone()),
                ],
            )?;
        }
        // A member that is an issuer may know members the taken list lacks.
        if taken > 0 {
            self.refresh_member_list(space)?;
        }
        Ok(taken)
    }

    /// On a chair's or secretary's device: issues a new member list of `space` if the replica
    /// knows a member device or an issuer the newest list lacks (see the module doc).
    pub(super) fn refresh_member_list(&mut self, space: SpaceId) -> Result<(), NodeError> {
        // Members changed (or the node opened): a manager checks the keys published since.
        self.check_published_keys(space)?;
        match self.issue_member_list(space, false) {
            Ok(_) => Ok(()),
            // Too many devices for a list: relays cannot take this space's new members.
            Err(NodeError::MemberList(e)) => {
                self.warnings
                    .push(format!("no member list issued for space {space}: {e}"));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Issues a list as [`Node::refresh_member_list`] does; `own`: also when the newest list
    /// is another issuer's (a grant carries a list its granter signed). Returns the newest list.
    pub(super) fn issue_member_list(
        &mut self,
        space: SpaceId,
        own: bool,
    ) -> Result<Option<MemberList>, NodeError> {
        let me = self.keys.device_id();
        let Some(st) = self.spaces.get(&space) else {
            return Ok(None);
        };
        // A device removed, or demoted below managing members, issues no more lists.
        if !self.may_manage_members(space).unwrap_or(false) {
            return Ok(self.member_list(space).cloned());
        }
        let (mut devices, mut issuers) = replica_members(st);
        // Removed devices leave the list (and its issuers) with the removal's key epoch.
        let removed: BTreeSet<DeviceId> = st
            .authority
            .devices()
            .filter(|(_, grant, _)| grant.is_none())
            .map(|(d, _, _)| d)
            .collect();
        let newest = self.member_list(space);
        let current = newest.is_some_and(|l| {
            devices.is_subset(&l.devices())
                && issuers.is_subset(&l.issuers())
                && l.devices().is_disjoint(&removed)
                && (!own || l.issuer == me)
        });
        if current {
            return Ok(newest.cloned());
        }
        let version = newest.map_or(1, |l| l.version.saturating_add(1));
        if let Some(l) = newest {
            devices.extend(l.devices());
            issuers.extend(l.issuers());
        }
        devices.retain(|d| !removed.contains(d));
        issuers.retain(|d| !removed.contains(d));
        let list = MemberList::issue(&self.keys, space, version, &devices, &issuers)
            .map_err(NodeError::MemberList)?;
        let taken = self
            .keystore
            .contents_mut()
            .member_lists_mut(space)
            .accept(space, list.clone(), &BTreeSet::from([me]))
            .map_err(NodeError::MemberList)?;
        if taken {
            self.keystore.save().map_err(NodeError::Keystore)?;
            self.audit(
                AuditEvent::MemberListIssued,
                &[
                    ("space", space.to_string()),
                    ("version", version.to_string()),
                    ("devices", devices.len().to_string()),
                ],
            )?;
        }
        Ok(Some(list))
    }

    /// Warnings for relayed spaces whose grant predates member lists.
    pub(super) fn check_relay_grant(&mut self, space: SpaceId) {
        let unknown = self
            .keystore
            .contents()
            .relay_grants
            .iter()
            .any(|g| g.space == space && g.granter == UNKNOWN_GRANTER);
        if unknown {
            self.warnings.push(format!(
                "the relay grant for space {space} predates signed member lists: this relay \
                 stores nothing new for it until its chair or secretary grants it anew \
                 (`space grant-relay`) and it is served with that grant"
            ));
        }
    }
}

/// The member devices of a space (founder and admitted devices) and those that may issue its
/// member lists (the founder, chairs and secretaries), from the replica.
fn replica_members(st: &SpaceState) -> (BTreeSet<DeviceId>, BTreeSet<DeviceId>) {
    let mut devices = BTreeSet::from([st.founder]);
    let mut issuers = BTreeSet::from([st.founder]);
    for (device, grant, _) in st.authority.devices() {
        let Some(grant) = grant else { continue };
        devices.insert(device);
        if st.authority.may_admit(grant.role) {
            issuers.insert(device);
        }
    }
    (devices, issuers)
}

impl From<MemberListError> for NodeError {
    fn from(e: MemberListError) -> NodeError {
        NodeError::MemberList(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::testing::{
        granted_relay, joined, new_node, pull, scratch, staff, sync, task, PASS,
    };
    use crate::record::FieldValue;

    /// An envelope of `space` validly signed by `author`, a device that is no member, sealed
    /// with the space key (as an insider who gave it to a stranger would).
    fn outsider_envelope(chair: &Node, space: SpaceId, author: &DeviceKeys) -> Vec<u8> {
        let op = Operation::new_record(
            OpId {
                device: author.device_id(),
                seq: 1,
            },
            Hlc {
                wall_ms: now_ms(),
                counter: 0,
            },
            space,
            RecordKind::Task,
            vec![Change::Set {
                value: FieldValue::Title("Cizí zápis".into()),
                bases: Default::default(),
            }],
        )
        .unwrap();
        let key = chair.space_key(space, 0).unwrap();
        Envelope::seal(&op, 0, 1, key, author)
            .unwrap()
            .encode()
            .unwrap()
    }

    #[test]
    fn a_relay_stores_only_what_listed_members_wrote_and_follows_the_new_lists() {
        let dir = scratch("member-lists-relay");
        let (mut chair, mut member, space) = staff(&dir);
        // The chair listed itself on creating the space and the member on admitting it.
        let list = chair.member_list(space).unwrap().clone();
        assert!(list.lists(&chair.device_id()) && list.lists(&member.device_id()));
        assert_eq!(list.issuers(), BTreeSet::from([chair.device_id()]));

        let mut relay = granted_relay(&mut chair, space, &dir, "relay");
        task(&mut member, space, "Od člena");
        sync(&member, &mut chair, space);
        let got = pull(&chair, &mut relay, space);
        assert_eq!((got.unlisted, got.rejected.len()), (0, 0));
        let held = relay.have(space).unwrap().total();
        assert_eq!(held, chair.have(space).unwrap().total());

        // Validly signed envelopes of devices that are no members cost the relay nothing.
        let strangers: Vec<Vec<u8>> = (0..50)
            .map(|_| outsider_envelope(&chair, space, &DeviceKeys::generate().unwrap()))
            .collect();
        let log = relay.log_path(space);
        let log_bytes = fs::metadata(&log).unwrap().len();
        let got = relay.receive(space, strangers, "insider").unwrap();
        assert_eq!((got.stored.len(), got.unlisted), (0, 50));
        assert_eq!(fs::metadata(&log).unwrap().len(), log_bytes);
        assert_eq!(relay.have(space).unwrap().total(), held);

        // A list a member signed is no list: refused, nothing changes.
        let forged = MemberList::issue(
            &member.keys,
            space,
            99,
            &BTreeSet::from([member.device_id(), DeviceId([9; 32])]),
            &BTreeSet::from([member.device_id()]),
        )
        .unwrap();
        let mark = relay.member_list_mark(space);
        assert_eq!(
            relay
                .accept_member_lists(space, vec![forged], "member")
                .unwrap(),
            0
        );
        assert_eq!(relay.member_list_mark(space), mark);

        // A device admitted after the grant: refused until the chair's newer list arrives
        // (with a pull's answer), then stored. The list survives a restart of the relay.
        let mut late = joined(&mut chair, space, &dir, "late");
        task(&mut late, space, "Pozdě přijatý");
        let (batch, _) = late
            .envelopes_missing_from(space, &relay.have(space).unwrap(), 10_000, usize::MAX)
            .unwrap();
        let got = relay.receive(space, batch.clone(), "late").unwrap();
        assert!(got.unlisted >= 1, "{got:?}");
        let relay_dir = dir.join("relay");
        drop(relay);
        let mut relay = Node::open(&relay_dir, PASS).unwrap();
        assert_eq!(relay.member_list_mark(space), mark);
        let got = pull(&chair, &mut relay, space);
        assert_eq!(got.unlisted, 0);
        assert!(relay.member_list(space).unwrap().lists(&late.device_id()));
        let got = relay.receive(space, batch, "late").unwrap();
        assert_eq!(got.unlisted, 0);
        assert_eq!(
            relay.have(space).unwrap().get(&late.device_id()),
            late.have(space).unwrap().get(&late.device_id())
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn two_admins_admitting_at_once_end_with_one_list_of_everyone() {
        let dir = scratch("member-lists-admins");
        let mut chair = new_node(&dir, "chair");
        let space = chair.create_space("Povodňová komise").unwrap();
        let code = chair
            .create_invite(space, StaffRole::Secretary, 60)
            .unwrap();
        let mut secretary = new_node(&dir, "secretary");
        let request = secretary.request_join(&code).unwrap();
        let welcome = chair.accept_join(&request).unwrap();
        secretary.finish_join(&welcome).unwrap();
        sync(&chair, &mut secretary, space);
        let lists = chair.member_lists_newer_than(space, secretary.member_list_mark(space));
        secretary
            .accept_member_lists(space, lists, "chair")
            .unwrap();
        assert_eq!(
            chair.member_list_mark(space),
            secretary.member_list_mark(space)
        );
        // Each admits a device while they are apart.
        let x = joined(&mut chair, space, &dir, "x");
        let y = joined(&mut secretary, space, &dir, "y");
        let (cx, sy) = (
            chair.member_list(space).unwrap().clone(),
            secretary.member_list(space).unwrap().clone(),
        );
        assert_eq!(cx.version, sy.version);
        assert!(!cx.lists(&y.device_id()) && !sy.lists(&x.device_id()));
        // They meet: lists, then the member records; whoever holds the losing list issues one
        // with both on top.
        for _ in 0..3 {
            let to_s = chair.member_lists_newer_than(space, secretary.member_list_mark(space));
            secretary.accept_member_lists(space, to_s, "chair").unwrap();
            let to_c = secretary.member_lists_newer_than(space, chair.member_list_mark(space));
            chair.accept_member_lists(space, to_c, "secretary").unwrap();
            sync(&chair, &mut secretary, space);
            sync(&secretary, &mut chair, space);
        }
        assert_eq!(
            chair.member_list_mark(space),
            secretary.member_list_mark(space)
        );
        let last = chair.member_list(space).unwrap();
        for device in [
            chair.device_id(),
            secretary.device_id(),
            x.device_id(),
            y.device_id(),
        ] {
            assert!(last.lists(&device));
        }
        assert_eq!(
            last.issuers(),
            BTreeSet::from([chair.device_id(), secretary.device_id()])
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
