//! Authority on apply: the one place the engine asks whether an operation counts
//! ([`judge`]), and the space's fold of member operations it asks against
//! ([`SpaceState::refold`]). The rules themselves are the model's (`crate::authority`).

use super::*;
use crate::authority::{self, Authority, Extended, Grant, Refusal, Standing};

impl SpaceState {
    /// Folds the member operations held into each device's standing again.
    pub(super) fn refold(&mut self) {
        self.authority = Authority::fold(self.founder, "", self.control.values());
    }

    /// Takes member operations just added to `control` into the fold, one after another, when
    /// each is newer than everything folded (the usual case: a local write, or changes made
    /// since the last sync), at the cost of one step each instead of the whole fold. Returns
    /// whether an operation applied so far (numbered up to `applied`) is judged differently
    /// now; `None` when they are not the newest and nothing was done: the caller folds again
    /// and compares with the fold before.
    pub(super) fn fold_in(
        &mut self,
        fresh: &mut [&Operation],
        applied: &VersionVector,
    ) -> Option<bool> {
        fresh.sort_by_key(|op| (op.stamp(), op.id));
        match fresh.first() {
            None => return Some(false),
            Some(op) if !self.authority.takes_next(op) => return None,
            Some(_) => {}
        }
        let mut rejudges = false;
        for op in fresh.iter() {
            match self.authority.extend(op, |d| applied.get(&d)) {
                Extended::Folded { rejudges: r } => rejudges |= r,
                // It cut off a change already counted (which is refused now).
                Extended::FoldAgain => {
                    self.refold();
                    return Some(true);
                }
            }
        }
        Some(rejudges)
    }
}

/// **Whether `op` counts**, on every path that applies one (a local write, a received batch, a
/// replay of the log, a heal). `own` is this device and its role from its keystore (the signed
/// welcome): its own operations count under it until its admission has arrived by sync.
///
/// A member operation is judged by the fold, which must already hold it.
pub(super) fn judge(
    authority: &Authority,
    replica: &Replica,
    own: (DeviceId, StaffRole),
    op: &Operation,
) -> Result<(), Refusal> {
    let fallback;
    let mut standing = authority.standing(op.id.device, op.id.seq);
    if standing == Standing::Unknown && op.id.device == own.0 {
        fallback = Grant {
            role: own.1,
            orp: None,
            name: String::new(),
        };
        standing = Standing::Granted(&fallback);
    }
    if op.kind == RecordKind::Member {
        return match (standing, authority.refusal(&op.id)) {
            (Standing::Unknown, _) => Err(Refusal::NotAMember(op.id.device)),
            (_, Some(reason)) => Err(Refusal::Control(reason.to_owned())),
            (_, None) => Ok(()),
        };
    }
    let record = if op.creates() {
        None
    } else {
        replica.record(op.kind, op.record)
    };
    authority::judge_in(authority.exercise(), standing, op, record)
}

impl Node {
    /// The role this device has in `space` now: from the fold once its admission is here, else
    /// from its keystore (the welcome it joined with).
    pub fn own_role(&self, space: SpaceId) -> Result<StaffRole, NodeError> {
        let me = self.keys.device_id();
        let st = self
            .spaces
            .get(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        match st.authority.standing(me, u64::MAX) {
            Standing::Granted(g) => Ok(g.role),
            Standing::Removed { .. } => Err(NodeError::Refused(Refusal::Removed { device: me })),
            Standing::Unknown => Ok(self.entry(space)?.role),
        }
    }

    /// When `device` was removed from `space`, if it is removed now (and not admitted again):
    /// it is served only what is stamped before that (so it learns of its removal), and
    /// nothing it pushes is taken.
    pub fn removed_at(&self, space: SpaceId, device: DeviceId) -> Option<Hlc> {
        self.spaces
            .get(&space)
            .and_then(|st| st.authority.removed_at(device))
            .map(|stamp| stamp.hlc)
    }

    /// At a blind relay: whether `device` was on an earlier member list of `space` and is not
    /// on the newest (a removed device): the relay serves it nothing and takes nothing from it.
    pub fn dropped_from_lists(&self, space: SpaceId, device: DeviceId) -> bool {
        self.relays.contains_key(&space)
            && self
                .keystore
                .contents()
                .member_lists(space)
                .is_some_and(|l| l.dropped(&device))
    }

    /// Whether this device manages members of `space` now (its role, in a real or an
    /// exercise space).
    pub(super) fn may_manage_members(&self, space: SpaceId) -> Result<bool, NodeError> {
        let role = self.own_role(space)?;
        Ok(self.authority(space)?.may_admit(role))
    }

    /// Whether `space` is an exercise (cvičení), as its first operation says.
    pub fn is_exercise(&self, space: SpaceId) -> bool {
        self.spaces
            .get(&space)
            .is_some_and(|st| st.authority.exercise())
    }

    /// The space's authority: every device's standing.
    pub fn authority(&self, space: SpaceId) -> Result<&Authority, NodeError> {
        self.spaces
            .get(&space)
            .map(|st| &st.authority)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))
    }
}

#[cfg(test)]
mod tests;
