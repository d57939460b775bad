//! Authority: who may do what in a space, decided the same way on every replica.
//!
//! - [`permitted`] is **the permission table**: roles of the glossary × record kinds × actions
//!   (docs/ARCHITECTURE.md shows it; a test checks the two agree).
//! - [`Authority`] is the fold of a space's member-record operations (the *control* operations)
//!   into each device's standing over its own sequence numbers: which role, ORP binding and name
//!   govern the device's operation number `n`. A change of role (or a removal) names how many of
//!   the device's operations its author had applied (`MemberSeen`, the *cut*): it governs the
//!   device's operations after the cut, so it takes effect for everything that causally follows
//!   it and also for what the device wrote concurrently (the changer could not see it); what the
//!   changer had seen stays judged as it was.
//! - [`judge`] decides one operation against the author's standing and the record it touches.
//!
//! Everything here is a pure function of the set of operations: the fold sorts the control
//! operations by stamp, so replicas that hold the same operations decide the same, whatever the
//! order they arrived in (property tests below).

use std::collections::{BTreeMap, BTreeSet};

use crate::hlc::Stamp;
use crate::ids::{DeviceId, OpId, RecordId};
use crate::merge::RecordState;
use crate::op::{Change, Operation};
use crate::record::{FieldKey, FieldValue, RecordKind, RequestStatus, SetField, StaffRole, Status};

/// What an operation does to a record, as the permission table knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// založit: create a record.
    Create,
    /// upravit: set fields, add or remove tags, assignees and links.
    Edit,
    /// změnit stav: move the status (other than deciding a request).
    MoveStatus,
    /// rozhodnout: approve, reject or escalate a resource request.
    Decide,
    /// komentovat: add a comment.
    Comment,
    /// spravovat členy: admit members, change their role or ORP, remove them.
    ManageMembers,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Create,
        Action::Edit,
        Action::MoveStatus,
        Action::Decide,
        Action::Comment,
        Action::ManageMembers,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Edit => "edit",
            Action::MoveStatus => "status",
            Action::Decide => "decide",
            Action::Comment => "comment",
            Action::ManageMembers => "manage-members",
        }
    }

    pub fn label_cs(self) -> &'static str {
        match self {
            Action::Create => "založit",
            Action::Edit => "upravit",
            Action::MoveStatus => "změnit stav",
            Action::Decide => "schválit nebo zamítnout",
            Action::Comment => "komentovat",
            Action::ManageMembers => "spravovat členy",
        }
    }
}

/// The record kinds people write (member records are the control records: [`Action::ManageMembers`]).
pub const WORK_KINDS: &[RecordKind] = &[
    RecordKind::Task,
    RecordKind::SituationReport,
    RecordKind::JournalEntry,
    RecordKind::ResourceRequest,
    RecordKind::Incident,
    RecordKind::Contact,
];

/// **The permission table.** Whether `role` may take `action` on records of `kind`, before the
/// scope rules of [`judge`] (an ORP coordinator's ORP and tasks; written-once records).
pub fn permitted(role: StaffRole, kind: RecordKind, action: Action) -> bool {
    permitted_in(false, role, kind, action)
}

/// The permission table of a real space (`exercise` false) or of an exercise space. In an
/// exercise space the exercise leader (řídící cvičení) owns the drill: everything a chair may,
/// members included, and alone the scenario, the clock and the released injects; the players'
/// rows are those of a real space. In a real space nobody writes an exercise record.
pub fn permitted_in(exercise: bool, role: StaffRole, kind: RecordKind, action: Action) -> bool {
    use Action::*;
    use RecordKind::*;
    use StaffRole as R;
    if kind.is_exercise_only() {
        return exercise
            && match kind {
                Observation => {
                    matches!(role, R::ExerciseLeader | R::Evaluator)
                        && matches!(action, Create | Edit | Comment)
                }
                Inject => role == R::ExerciseLeader && matches!(action, Create | Edit),
                _ => role == R::ExerciseLeader && action == Create,
            };
    }
    if exercise && role == R::ExerciseLeader {
        return permitted_in(false, R::Chair, kind, action);
    }
    if kind == Member || action == ManageMembers {
        return kind == Member
            && action == ManageMembers
            && matches!(role, R::Chair | R::Secretary);
    }
    // A journal entry and a situation report are written once; a correction is a new record.
    if matches!(kind, JournalEntry | SituationReport) && action != Create {
        return false;
    }
    // Only resource requests are decided; only tasks and requests have a status.
    if action == Decide && kind != ResourceRequest {
        return false;
    }
    if action == MoveStatus && !matches!(kind, Task | ResourceRequest) {
        return false;
    }
    match role {
        R::Chair => true,
        R::Secretary | R::Member => action != Decide,
        R::OrpCoordinator => match kind {
            SituationReport => action == Create,
            ResourceRequest => matches!(action, Create | Edit | MoveStatus | Comment),
            Task => matches!(action, Edit | MoveStatus | Comment),
            _ => false,
        },
        R::ExerciseLeader => {
            matches!(kind, JournalEntry | Task) && matches!(action, Create | Comment)
        }
        R::Observer | R::Evaluator => false,
    }
}

/// A device's standing in a space from one control operation on: its role, its ORP (for an ORP
/// coordinator) and the member's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub role: StaffRole,
    pub orp: Option<String>,
    pub name: String,
}

/// Whether two ORP names name the same ORP: case, surrounding space and an "ORP " prefix aside
/// ("ORP Vsetín" and "vsetín" are one).
pub fn same_orp(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        let s = s.trim().to_lowercase();
        let s = s.strip_prefix("orp ").map(str::trim).unwrap_or(&s);
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    let (a, b) = (norm(a), norm(b));
    !a.is_empty() && a == b
}

/// One entry of a device's timeline: from its operation `cut + 1` on, `grant` (none: removed).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    cut: u64,
    grant: Option<Grant>,
    by: OpId,
}

/// The standing a device's `timeline` gives its operation number `seq`: the last entry (in
/// stamp order) whose cut lies before it.
fn standing_in(timeline: &[Entry], seq: u64) -> Standing<'_> {
    match timeline.iter().rev().find(|e| e.cut < seq) {
        None => Standing::Unknown,
        Some(Entry { grant: Some(g), .. }) => Standing::Granted(g),
        Some(Entry {
            grant: None, by, ..
        }) => Standing::Removed { by: *by },
    }
}

/// What a member change needs of its author beyond managing members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Need {
    /// It makes, changes or removes a chair.
    chair: bool,
    /// It makes, changes or removes an exercise leader.
    leader: bool,
}

/// A member-record operation as the fold reads it.
#[derive(Clone, Debug)]
struct Control {
    id: OpId,
    stamp: Stamp,
    record: RecordId,
    creates: bool,
    device: Option<DeviceId>,
    role: Option<StaffRole>,
    orp: Option<String>,
    name: Option<String>,
    seen: u64,
    invite: Option<String>,
    removed: bool,
    /// The device's X25519 key and binding (`MemberKey`).
    key: Option<Vec<u8>>,
    /// A new space key wrapped to the remaining devices (`MemberRekey`).
    rekey: Option<Vec<u8>>,
    /// The space is an exercise (`SpaceExercise`; counts only on the space's first operation).
    exercise: bool,
    /// Changes a member record cannot take (comments, sets, status moves).
    foreign: bool,
}

impl Control {
    fn read(op: &Operation) -> Control {
        let mut c = Control {
            id: op.id,
            stamp: op.stamp(),
            record: op.record,
            creates: false,
            device: None,
            role: None,
            orp: None,
            name: None,
            seen: 0,
            invite: None,
            removed: false,
            key: None,
            rekey: None,
            exercise: false,
            foreign: op.kind != RecordKind::Member,
        };
        for change in op.changes.iter() {
            match change {
                Change::Create => c.creates = true,
                Change::Set { value, .. } => match value {
                    FieldValue::MemberDevice(d) => c.device = Some(*d),
                    FieldValue::MemberRole(r) => c.role = Some(*r),
                    FieldValue::MemberOrp(o) => c.orp = Some(o.trim().to_owned()),
                    FieldValue::Name(n) => c.name = Some(n.clone()),
                    FieldValue::MemberSeen(s) => c.seen = *s,
                    FieldValue::MemberInvite(i) => c.invite = Some(i.clone()),
                    FieldValue::MemberRemoved(r) => c.removed = *r,
                    FieldValue::MemberKey(k) => c.key = Some(k.0.clone()),
                    FieldValue::MemberRekey(k) => c.rekey = Some(k.0.clone()),
                    FieldValue::SpaceExercise(e) => c.exercise = *e,
                    _ => c.foreign = true,
                },
                _ => c.foreign = true,
            }
        }
        c
    }

    /// Whether it only publishes a device's own X25519 key (any member may, for itself).
    fn key_only(&self) -> bool {
        self.key.is_some()
            && !self.removed
            && self.role.is_none()
            && self.orp.is_none()
            && self.name.is_none()
            && self.invite.is_none()
            && self.rekey.is_none()
            && !self.exercise
    }
}

/// Where a device stands for one of its operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing<'a> {
    /// No admission of it is known (yet).
    Unknown,
    /// Removed by control operation `by` before this operation.
    Removed { by: OpId },
    /// Admitted with this grant.
    Granted(&'a Grant),
}

/// The fold of a space's control operations: every device's timeline, and the control
/// operations refused (with the reason).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    founder: DeviceId,
    timelines: BTreeMap<DeviceId, Vec<Entry>>,
    refused: BTreeMap<OpId, String>,
    /// Member record -> the device it admits.
    records: BTreeMap<RecordId, DeviceId>,
    /// The devices some member record admits (the values of `records`).
    recorded: BTreeSet<DeviceId>,
    /// The accepted control operation that last changed each device, and its stamp.
    changed: BTreeMap<DeviceId, (OpId, Stamp)>,
    /// Each device's X25519 public key and binding signature, as last published.
    keys: BTreeMap<DeviceId, Vec<u8>>,
    /// The key rotations of accepted control operations, in stamp order.
    rekeys: Vec<(OpId, Vec<u8>)>,
    /// Whether the space is an exercise: said by the founder's first operation, and only there.
    exercise: bool,
    /// The fold's own bookkeeping, kept so that a newer operation can be folded in without
    /// starting over ([`Authority::extend`]): the accepted control operations by author (with
    /// what each needed), the invites that admitted a device, and the newest (stamp, id) given.
    accepted: BTreeMap<DeviceId, Vec<(OpId, Need)>>,
    invites: BTreeSet<String>,
    newest: Option<(Stamp, OpId)>,
}

/// What [`Authority::extend`] did with a control operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extended {
    /// Folded in as the whole fold would have. `rejudges`: the operation was refused, or it
    /// changes the standing of some operation of its target numbered up to what the caller
    /// said it has applied (what was applied must then be decided again).
    Folded { rejudges: bool },
    /// Not newer than everything folded, or it cuts off a change already counted: the
    /// authority is left unusable and must be folded again from the whole set.
    FoldAgain,
}

impl Authority {
    /// The standing of a space with only its founder (a chair).
    pub fn founded(founder: DeviceId, founder_name: &str) -> Authority {
        Authority::fold(founder, founder_name, std::iter::empty())
    }

    /// Folds the space's control operations (operations on member records; any others given
    /// are refused) in stamp order. A change counts if its author, at that operation of theirs,
    /// may manage members (and is a chair when it concerns a chair); one found later to be cut
    /// off by a change of its author's own standing is refused and the fold starts over without
    /// it, so the result depends only on the set.
    pub fn fold<'a>(
        founder: DeviceId,
        founder_name: &str,
        ops: impl IntoIterator<Item = &'a Operation>,
    ) -> Authority {
        let mut controls: Vec<Control> = ops.into_iter().map(Control::read).collect();
        controls.sort_by_key(|c| (c.stamp, c.id));
        controls.dedup_by_key(|c| c.id);
        let mut refused: BTreeMap<OpId, String> = BTreeMap::new();
        loop {
            let mut a = Authority::start(founder, founder_name, refused);
            let mut restart = false;
            for c in &controls {
                if !a.refused.contains_key(&c.id) && a.step(c) {
                    restart = true;
                    break;
                }
            }
            if !restart {
                a.newest = controls.last().map(|c| (c.stamp, c.id));
                return a;
            }
            refused = std::mem::take(&mut a.refused);
        }
    }

    /// The standing before any control operation: the founder is the chair.
    fn start(founder: DeviceId, founder_name: &str, refused: BTreeMap<OpId, String>) -> Authority {
        Authority {
            founder,
            timelines: BTreeMap::from([(
                founder,
                vec![Entry {
                    cut: 0,
                    grant: Some(Grant {
                        role: StaffRole::Chair,
                        orp: None,
                        name: founder_name.to_owned(),
                    }),
                    by: OpId {
                        device: founder,
                        seq: 0,
                    },
                }],
            )]),
            refused,
            records: BTreeMap::new(),
            recorded: BTreeSet::new(),
            changed: BTreeMap::new(),
            keys: BTreeMap::new(),
            rekeys: Vec::new(),
            exercise: false,
            accepted: BTreeMap::new(),
            invites: BTreeSet::new(),
            newest: None,
        }
    }

    /// Folds one control operation, the next in stamp order. Returns true when it cut off a
    /// change already counted (now refused): the fold must start over.
    fn step(&mut self, c: &Control) -> bool {
        if c.key_only() {
            if let Err(reason) = self.publish_key(c) {
                self.refused.insert(c.id, reason);
            }
            return false;
        }
        let (target, entry, need) = match self.check(c) {
            Err(reason) => {
                self.refused.insert(c.id, reason);
                return false;
            }
            Ok(accepted) => accepted,
        };
        if let Some(i) = &c.invite {
            self.invites.insert(i.clone());
        }
        self.records.entry(c.record).or_insert(target);
        self.recorded.insert(target);
        if let Some(key) = &c.key {
            self.keys.insert(target, key.clone());
        }
        if let Some(rekey) = &c.rekey {
            self.rekeys.push((c.id, rekey.clone()));
        }
        let first = OpId {
            device: self.founder,
            seq: 1,
        };
        if c.exercise && c.id == first {
            self.exercise = true;
        }
        let cut = entry.cut;
        self.timelines.entry(target).or_default().push(entry);
        self.changed.insert(target, (c.id, c.stamp));
        self.accepted
            .entry(c.id.device)
            .or_default()
            .push((c.id, need));
        // A change of `target`'s standing may cut off changes it made after the cut and that
        // were counted already.
        let cut_off = self
            .accepted
            .get(&target)
            .into_iter()
            .flatten()
            .find(|(id, need)| id.seq > cut && !self.may_manage(id.device, id.seq, *need))
            .map(|(id, _)| *id);
        match cut_off {
            Some(id) => {
                let reason = format!(
                    "its author's standing was changed before it (by {:?})",
                    c.id
                );
                self.refused.insert(id, reason);
                true
            }
            None => false,
        }
    }

    /// Whether `op` is newer (by stamp, then id) than every control operation folded, so
    /// that [`Authority::extend`] can take it.
    pub fn takes_next(&self, op: &Operation) -> bool {
        self.newest.is_none_or(|n| (op.stamp(), op.id) > n)
    }

    /// Folds in `op`, newer than every control operation folded so far, exactly as
    /// [`Authority::fold`] of the whole set would (a test checks the two agree), at the cost
    /// of one step instead of the whole fold. `upto(d)`: how many of device `d`'s operations
    /// the caller has applied under the standing before `op`.
    pub fn extend(&mut self, op: &Operation, upto: impl Fn(DeviceId) -> u64) -> Extended {
        if !self.takes_next(op) {
            return Extended::FoldAgain;
        }
        let c = Control::read(op);
        self.newest = Some((c.stamp, c.id));
        let refused = self.refused.len();
        let target = if c.key_only() || c.creates {
            c.device.or(Some(c.id.device))
        } else {
            self.records.get(&c.record).copied()
        };
        let before: Option<(DeviceId, Vec<Entry>)> =
            target.map(|t| (t, self.timelines.get(&t).cloned().unwrap_or_default()));
        if self.step(&c) {
            return Extended::FoldAgain;
        }
        let rejudges = self.refused.len() != refused
            || before.is_some_and(|(t, old)| {
                let new = self
                    .timelines
                    .get(&t)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let last = upto(t);
                old.iter()
                    .chain(new)
                    .map(|e| e.cut + 1)
                    .chain([1])
                    .filter(|s| *s <= last)
                    .any(|s| standing_in(&old, s) != standing_in(new, s))
            });
        Extended::Folded { rejudges }
    }

    /// A device publishing its own X25519 key on its own member record (creating one when it
    /// has none, as a founder of an older space may).
    fn publish_key(&mut self, c: &Control) -> Result<(), String> {
        let author = c.id.device;
        if !matches!(self.standing(author, c.id.seq), Standing::Granted(_)) {
            return Err("its author is not a member".into());
        }
        let target = if c.creates {
            c.device.filter(|d| *d == author)
        } else {
            self.records.get(&c.record).copied()
        };
        if target != Some(author) {
            return Err(
                "only a member's own device publishes its key without managing members".into(),
            );
        }
        if c.creates && self.recorded.contains(&author) {
            return Err("the device has a member record already".into());
        }
        self.records.entry(c.record).or_insert(author);
        self.recorded.insert(author);
        if let Some(key) = &c.key {
            self.keys.insert(author, key.clone());
        }
        Ok(())
    }

    /// When `device` was removed, if it is removed now: the stamp of the removal.
    pub fn removed_at(&self, device: DeviceId) -> Option<Stamp> {
        match self.standing(device, u64::MAX) {
            Standing::Removed { .. } => self.changed.get(&device).map(|(_, stamp)| *stamp),
            _ => None,
        }
    }

    /// Whether the space is an exercise (cvičení): fixed by its founder's first operation.
    pub fn exercise(&self) -> bool {
        self.exercise
    }

    /// Whether `role` manages members in this space (chair and secretary; in an exercise also
    /// the exercise leader).
    pub fn may_admit(&self, role: StaffRole) -> bool {
        permitted_in(
            self.exercise,
            role,
            RecordKind::Member,
            Action::ManageMembers,
        )
    }

    /// The X25519 key (and binding) `device` published, if any.
    pub fn key_of(&self, device: DeviceId) -> Option<&[u8]> {
        self.keys.get(&device).map(Vec::as_slice)
    }

    /// The key rotations that count, in stamp order.
    pub fn rekeys(&self) -> impl Iterator<Item = (OpId, &[u8])> {
        self.rekeys.iter().map(|(id, r)| (*id, r.as_slice()))
    }

    fn may_manage(&self, device: DeviceId, seq: u64, need: Need) -> bool {
        match self.standing(device, seq) {
            Standing::Granted(g) => self.may_make(g.role, need).is_ok(),
            _ => false,
        }
    }

    /// Whether `role` may make a member change that needs `need`: in a real space only a chair
    /// touches a chair; in an exercise space the exercise leader touches chairs too, and only
    /// an exercise leader makes, changes or removes an exercise leader.
    fn may_make(&self, role: StaffRole, need: Need) -> Result<(), String> {
        if !permitted_in(
            self.exercise,
            role,
            RecordKind::Member,
            Action::ManageMembers,
        ) {
            return Err(format!(
                "its author is {}, who may not manage members",
                role.code()
            ));
        }
        let leader = self.exercise && role == StaffRole::ExerciseLeader;
        if need.chair && role != StaffRole::Chair && !leader {
            return Err(if self.exercise {
                "only a chair or the exercise leader makes, changes or removes a chair".into()
            } else {
                "only a chair makes, changes or removes a chair".into()
            });
        }
        if need.leader && self.exercise && !leader {
            return Err(
                "in an exercise only an exercise leader makes, changes or removes one".into(),
            );
        }
        Ok(())
    }

    /// Checks one control operation against the fold so far: the device it changes, the entry
    /// it adds, and whether it needed a chair.
    fn check(&self, c: &Control) -> Result<(DeviceId, Entry, Need), String> {
        if c.foreign {
            return Err("a member record takes only a device, role, ORP, name and removal".into());
        }
        let author = match self.standing(c.id.device, c.id.seq) {
            Standing::Granted(g) => g.clone(),
            Standing::Unknown => return Err("its author is not a member".into()),
            Standing::Removed { by } => {
                return Err(format!("its author was removed before it (by {by:?})"))
            }
        };
        self.may_make(author.role, Need::default())?;
        let target = if c.creates {
            let device = c.device.ok_or("an admission names no device")?;
            if self.recorded.contains(&device) {
                if let Standing::Granted(_) = self.standing(device, u64::MAX) {
                    return Err(format!(
                        "device {:?} is admitted already: a change of role edits its record",
                        device.short()
                    ));
                }
            }
            if let Some(i) = &c.invite {
                if self.invites.contains(i) {
                    return Err(format!("invite {i} admitted a device already"));
                }
            }
            device
        } else {
            *self
                .records
                .get(&c.record)
                .ok_or("it changes a member record that admits nobody")?
        };
        let before = match self.standing(target, u64::MAX) {
            Standing::Granted(g) => Some(g.clone()),
            Standing::Removed { by } if !c.creates => {
                // A change concurrent with (or after) a removal does not bring the device
                // back: only a new admission, made after the removal, does.
                return Err(format!(
                    "device {:?} was removed (by {by:?}); a change of its record does not bring it back",
                    target.short()
                ));
            }
            _ => None,
        };
        let was_chair = before.as_ref().is_some_and(|g| g.role == StaffRole::Chair);
        let grant = if c.removed {
            None
        } else {
            let role = c
                .role
                .or(before.as_ref().map(|g| g.role))
                .ok_or("an admission names no role")?;
            let orp = match &c.orp {
                Some(o) if o.is_empty() => None,
                Some(o) => Some(o.clone()),
                None => before.as_ref().and_then(|g| g.orp.clone()),
            };
            let name = c
                .name
                .clone()
                .or(before.as_ref().map(|g| g.name.clone()))
                .unwrap_or_else(|| target.short());
            Some(Grant { role, orp, name })
        };
        let makes = |role| grant.as_ref().is_some_and(|g| g.role == role);
        let was = |role| before.as_ref().is_some_and(|g| g.role == role);
        let need = Need {
            chair: was_chair || makes(StaffRole::Chair),
            leader: was(StaffRole::ExerciseLeader) || makes(StaffRole::ExerciseLeader),
        };
        self.may_make(author.role, need)?;
        Ok((
            target,
            Entry {
                cut: c.seen,
                grant,
                by: c.id,
            },
            need,
        ))
    }

    /// The standing that governs `device`'s operation number `seq`: the last change (in stamp
    /// order) whose cut lies before it.
    pub fn standing(&self, device: DeviceId, seq: u64) -> Standing<'_> {
        standing_in(
            self.timelines
                .get(&device)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            seq,
        )
    }

    /// The device's standing now (for its next operation).
    pub fn current(&self, device: DeviceId) -> Option<&Grant> {
        match self.standing(device, u64::MAX) {
            Standing::Granted(g) => Some(g),
            _ => None,
        }
    }

    /// Why control operation `id` was refused, if it was.
    pub fn refusal(&self, id: &OpId) -> Option<&str> {
        self.refused.get(id).map(String::as_str)
    }

    pub fn founder(&self) -> DeviceId {
        self.founder
    }

    /// Every device ever admitted, with its standing now (none: removed) and the control
    /// operation that last changed it (none for a founder never changed).
    pub fn devices(&self) -> impl Iterator<Item = (DeviceId, Option<&Grant>, Option<OpId>)> + '_ {
        self.timelines
            .keys()
            .map(|d| (*d, self.current(*d), self.changed.get(d).map(|(id, _)| *id)))
    }

    /// The member record that admits `device`, if any.
    pub fn record_of(&self, device: DeviceId) -> Option<RecordId> {
        self.records
            .iter()
            .find(|(_, d)| **d == device)
            .map(|(r, _)| *r)
    }

    /// Whether some operation numbered `1..=upto[device]` of some device, or some control
    /// operation, is judged differently under `other`: then what was applied under `self` must
    /// be decided again.
    pub fn differs_for(&self, other: &Authority, upto: impl Fn(DeviceId) -> u64) -> bool {
        if self.refused.keys().ne(other.refused.keys()) {
            return true;
        }
        let devices: BTreeSet<DeviceId> = self
            .timelines
            .keys()
            .chain(other.timelines.keys())
            .copied()
            .collect();
        devices.into_iter().any(|d| {
            let last = upto(d);
            let cuts: BTreeSet<u64> = [self.timelines.get(&d), other.timelines.get(&d)]
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.cut + 1)
                .chain([1])
                .filter(|s| *s <= last)
                .collect();
            cuts.into_iter()
                .any(|s| self.standing(d, s) != other.standing(d, s))
        })
    }
}

/// Why an operation does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("signed by device {0}, which is not a member of the space")]
    NotAMember(DeviceId),
    #[error("device {device} was removed from the space before this operation")]
    Removed { device: DeviceId },
    #[error("device {device} is {role}, which may not {action} a {kind}", role = .role.code(), action = .action.code(), kind = .kind.code())]
    NotAllowed {
        device: DeviceId,
        role: StaffRole,
        kind: RecordKind,
        action: Action,
    },
    #[error("device {device} is bound to ORP {orp:?} and may not write as {named:?}")]
    OtherOrp {
        device: DeviceId,
        orp: String,
        named: String,
    },
    #[error("device {device} works only on tasks given to ORP {orp:?} or to {name:?}")]
    NotTheirTask {
        device: DeviceId,
        orp: String,
        name: String,
    },
    #[error("device {device} is an ORP coordinator whose ORP has not arrived here yet: sync with the staff first")]
    OrpNotKnown { device: DeviceId },
    #[error("device {device} as an ORP coordinator may change only a task's outcome")]
    TaskFieldNotTheirs { device: DeviceId },
    #[error("device {device} may not write as a simulated originator: only exercise control does, in a drill")]
    NotSimulationCell { device: DeviceId },
    #[error("member change refused: {0}")]
    Control(String),
    #[error("the record it changes is not known here yet")]
    UnknownRecord,
}

impl Refusal {
    /// One Czech sentence for the person whose action this is (the app shows it).
    pub fn explain_cs(&self) -> String {
        match self {
            Refusal::NotAMember(_) => {
                "Toto zařízení zatím není členem prostoru; změna nebyla uložena.".into()
            }
            Refusal::Removed { .. } => {
                "Toto zařízení bylo z prostoru odebráno; změna nebyla uložena.".into()
            }
            Refusal::NotAllowed {
                role, kind, action, ..
            } => format!(
                "Role {} nemůže u záznamu „{}“ {}.",
                role.label_cs(),
                kind_label_cs(*kind),
                action.label_cs()
            ),
            Refusal::OtherOrp { orp, named, .. } => {
                format!("Jste koordinátor ORP {orp}; psát za „{named}“ nemůžete.")
            }
            Refusal::NotTheirTask { orp, .. } => {
                format!("Tento úkol není zadán ORP {orp} ani vám; měnit ho nemůžete.")
            }
            Refusal::OrpNotKnown { .. } => {
                "Vaše ORP sem zatím nedorazila; nejprve se spojte se štábem (synchronizace).".into()
            }
            Refusal::TaskFieldNotTheirs { .. } => {
                "Koordinátor ORP mění u úkolu jen stav, výsledek a komentáře.".into()
            }
            Refusal::NotSimulationCell { .. } => {
                "Za simulovaný subjekt píše jen řízení cvičení (simulační buňka), a jen ve cvičení."
                    .into()
            }
            Refusal::Control(reason) => format!("Změnu člena nelze provést: {reason}."),
            Refusal::UnknownRecord => "Záznam zde zatím není; změna nebyla uložena.".into(),
        }
    }

    /// Whether more operations could still make this one count (its author's admission, the
    /// record it changes, the assignment of a task): it is held, not refused for good.
    pub fn may_change(&self) -> bool {
        matches!(
            self,
            Refusal::NotAMember(_) | Refusal::UnknownRecord | Refusal::NotTheirTask { .. }
        )
    }
}

/// The actions an operation takes.
pub fn actions(op: &Operation) -> BTreeSet<Action> {
    if op.kind == RecordKind::Member {
        return BTreeSet::from([Action::ManageMembers]);
    }
    let mut out = BTreeSet::new();
    let creates = op.changes.iter().any(|c| matches!(c, Change::Create));
    for change in op.changes.iter() {
        out.insert(match change {
            Change::Create => Action::Create,
            Change::Set { .. } | Change::Add { .. } | Change::Remove { .. } if creates => {
                Action::Create
            }
            Change::Set { .. } | Change::Add { .. } | Change::Remove { .. } => Action::Edit,
            Change::Comment { .. } => Action::Comment,
            Change::Transition { to, .. } => match to {
                Status::Request(
                    RequestStatus::Approved | RequestStatus::Rejected | RequestStatus::Escalated,
                ) => Action::Decide,
                _ => Action::MoveStatus,
            },
        });
    }
    out
}

/// **The one check on apply** for an operation on a record other than a member record (those
/// are decided by the fold: [`Authority::refusal`]): `standing` is its author's for it, `record`
/// the state of the record it changes (none when it creates one or the record is not here).
pub fn judge(
    standing: Standing<'_>,
    op: &Operation,
    record: Option<&RecordState>,
) -> Result<(), Refusal> {
    judge_in(false, standing, op, record)
}

/// [`judge`] in a real space (`exercise` false) or in an exercise space.
pub fn judge_in(
    exercise: bool,
    standing: Standing<'_>,
    op: &Operation,
    record: Option<&RecordState>,
) -> Result<(), Refusal> {
    let device = op.id.device;
    let grant = match standing {
        Standing::Granted(g) => g,
        Standing::Unknown => return Err(Refusal::NotAMember(device)),
        Standing::Removed { .. } => return Err(Refusal::Removed { device }),
    };
    for action in actions(op) {
        if !permitted_in(exercise, grant.role, op.kind, action) {
            return Err(Refusal::NotAllowed {
                device,
                role: grant.role,
                kind: op.kind,
                action,
            });
        }
    }
    // The simulation cell: only exercise control writes as a simulated originator.
    let simulated = op
        .changes
        .iter()
        .any(|c| matches!(c, Change::Set { value, .. } if value.key() == FieldKey::SimulatedFor));
    if simulated && !(exercise && grant.role == StaffRole::ExerciseLeader) {
        return Err(Refusal::NotSimulationCell { device });
    }
    if grant.role == StaffRole::OrpCoordinator {
        orp_scope(grant, op, record)?;
    }
    Ok(())
}

/// An ORP coordinator writes reports and requests only as their ORP, and works on tasks only
/// when given to their ORP or to them.
fn orp_scope(grant: &Grant, op: &Operation, record: Option<&RecordState>) -> Result<(), Refusal> {
    let device = op.id.device;
    let Some(orp) = grant.orp.clone() else {
        return Err(Refusal::OrpNotKnown { device });
    };
    let creates = op.changes.iter().any(|c| matches!(c, Change::Create));
    let named_in_op = |key: FieldKey| {
        op.changes.iter().find_map(|c| match c {
            Change::Set { value, .. } if value.key() == key => match value {
                FieldValue::Sender(s) | FieldValue::Requester(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        })
    };
    let as_orp = |named: String| {
        if same_orp(&orp, &named) {
            Ok(())
        } else {
            Err(Refusal::OtherOrp {
                device,
                orp: orp.clone(),
                named,
            })
        }
    };
    match op.kind {
        RecordKind::SituationReport => as_orp(named_in_op(FieldKey::Sender).unwrap_or_default()),
        RecordKind::ResourceRequest => {
            if let Some(named) = named_in_op(FieldKey::Requester) {
                as_orp(named)?;
            }
            if creates {
                return Ok(());
            }
            let record = record.ok_or(Refusal::UnknownRecord)?;
            let named = match record.field(FieldKey::Requester) {
                Some(FieldValue::Requester(r)) => r.clone(),
                _ => String::new(),
            };
            as_orp(named)
        }
        RecordKind::Task => {
            let only_outcome = op.changes.iter().all(|c| match c {
                Change::Set { value, .. } => value.key() == FieldKey::Outcome,
                Change::Add { .. } | Change::Remove { .. } | Change::Create => false,
                Change::Comment { .. } | Change::Transition { .. } => true,
            });
            if !only_outcome {
                return Err(Refusal::TaskFieldNotTheirs { device });
            }
            let record = record.ok_or(Refusal::UnknownRecord)?;
            let given = record.set(SetField::Assignees).is_some_and(|s| {
                s.ever_contained()
                    .any(|a| same_orp(&orp, a) || same_name(&grant.name, a))
            });
            if given {
                Ok(())
            } else {
                Err(Refusal::NotTheirTask {
                    device,
                    orp,
                    name: grant.name.clone(),
                })
            }
        }
        _ => Ok(()),
    }
}

/// The Czech name of a record kind, as refusals say it.
pub fn kind_label_cs(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Task => "úkol",
        RecordKind::SituationReport => "situační zpráva",
        RecordKind::JournalEntry => "záznam v deníku",
        RecordKind::ResourceRequest => "požadavek",
        RecordKind::Incident => "mimořádná událost",
        RecordKind::Contact => "kontakt",
        RecordKind::Member => "člen prostoru",
        RecordKind::Inject => "vstup scénáře",
        RecordKind::ExerciseControl => "řízení cvičení",
        RecordKind::ReleasedInject => "vydaný vstup",
        RecordKind::Observation => "pozorování hodnotitele",
    }
}

fn same_name(a: &str, b: &str) -> bool {
    let a = a.trim().to_lowercase();
    !a.is_empty() && a == b.trim().to_lowercase()
}

#[cfg(test)]
mod tests;
