//! Exercise control on a node: the control key that seals the scenario for controllers only,
//! the sealed scenario itself (import, read), the replicated clock's actions, releasing due and
//! triggered injects to the players, ad-hoc injects, and the status every view shows.
//!
//! Sealing: the founder of a drill draws a control key and wraps it to its own X25519 key in an
//! `ExerciseControl` record (`ControlWrap`, `rekey::Purpose::ExerciseControl`); a controller
//! wraps it to every exercise leader that lacks it as soon as that device's key is known, so
//! the drill goes on from any controller's laptop. The key lives in memory only (taken again
//! from the log on opening). Each scenario inject is one `Inject` record whose only field is
//! the inject sealed under the control key (AES-256-GCM, random nonce, bound to the space): a
//! player's replica and disk hold ciphertext only. A release writes the player's part of the
//! inject (from, to, channel, subject, message; never the expected action, objective or
//! evaluators' notes) as a `ReleasedInject` record under the space key.

use std::collections::{BTreeMap, BTreeSet};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use super::*;
use crate::engine::keys::fill_random;
use crate::engine::rekey::{checked_member_key, Purpose, Rekey};
use crate::exercise::{
    check_scenario, due, AdHocInject, Clock, ClockEvent, ExerciseStatus, ExerciseTime, Inject,
    Phase, Reach, Released, Target, Trigger, Upcoming,
};
use crate::merge::RecordState;
use crate::record::{ClockAction, FieldKey, FieldValue, SetField, Status, TaskStatus, Timestamp};

/// Controllers after the first wait this long each (by rank) before releasing what is due, so
/// that one release is the rule and the drill still goes on when the first one is away.
pub const RELEASE_STAGGER_MS: i64 = 3_000;

const INJECT_AAD: &[u8] = b"krizlink/inject/v1";

/// Why an exercise action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExerciseError {
    #[error("space {0} is not an exercise (cvičení)")]
    NotAnExercise(String),
    #[error("only exercise control (řídící cvičení) may do this; this device is {0}")]
    NotControl(&'static str),
    #[error("this device has not received the exercise's control key yet: sync with another controller's laptop first")]
    NoControlKey,
    #[error("{0}")]
    Import(#[from] crate::exercise::msel::ImportError),
    #[error("the scenario is not valid: inject {number}: {problem}")]
    Scenario {
        number: u32,
        problem: crate::exercise::InjectProblem,
    },
    #[error("the exercise clock is {phase}: it cannot {action}", phase = .phase.code(), action = .action.code())]
    Clock { phase: Phase, action: ClockAction },
    #[error("a jump needs the exercise time to jump to (T+hh:mm)")]
    JumpWithoutTime,
    #[error("no inject number {0} in the scenario")]
    NoSuchInject(u32),
    #[error("inject {0} has not been released: a response can answer only a released inject")]
    NotReleased(u32),
    #[error("the inject could not be sealed or opened")]
    Seal,
    #[error("the ad-hoc inject: {0}")]
    AdHoc(crate::exercise::InjectProblem),
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl ExerciseError {
    /// One Czech sentence for the app.
    pub fn explain_cs(&self) -> String {
        match self {
            ExerciseError::NotAnExercise(_) => "Tento prostor není cvičení.".into(),
            ExerciseError::NotControl(_) => {
                "Scénář a hodiny cvičení ovládá jen řízení cvičení (řídící cvičení).".into()
            }
            ExerciseError::NoControlKey => {
                "Klíč řízení cvičení sem zatím nedorazil; spojte se s jiným řídícím cvičení.".into()
            }
            ExerciseError::Import(e) => format!("Scénář nebyl načten: {e}"),
            ExerciseError::Scenario { number, problem } => {
                format!("Scénář není platný: vstup {number}: {problem}")
            }
            ExerciseError::Clock { phase, action } => format!(
                "Hodiny cvičení jsou ve stavu „{}“; akci „{}“ nelze provést.",
                phase.label_cs(),
                action.label_cs()
            ),
            ExerciseError::JumpWithoutTime => {
                "Uveďte čas cvičení, na který skočit (T+hh:mm).".into()
            }
            ExerciseError::NoSuchInject(n) => format!("Ve scénáři není vstup číslo {n}."),
            ExerciseError::NotReleased(n) => {
                format!("Vstup {n} zatím nebyl vydán; odpovědět lze jen na vydaný vstup.")
            }
            ExerciseError::Seal => "Vstup nelze zapečetit ani otevřít.".into(),
            ExerciseError::AdHoc(p) => format!("Mimořádný vstup: {p}"),
            ExerciseError::Node(e) => e.to_string(),
        }
    }
}

fn aad(space: SpaceId) -> Vec<u8> {
    let mut out = INJECT_AAD.to_vec();
    out.extend_from_slice(&space.0);
    out
}

/// Seals an inject under the control key: nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal_inject(
    key: &SpaceKey,
    space: SpaceId,
    inject: &Inject,
) -> Result<Vec<u8>, ExerciseError> {
    let mut plain =
        zeroize::Zeroizing::new(postcard::to_allocvec(inject).map_err(|_| ExerciseError::Seal)?);
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce).map_err(|_| ExerciseError::Seal)?;
    let sealer = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.as_bytes()).map_err(|_| ExerciseError::Seal)?,
    );
    let tag = sealer
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(space)),
            &mut plain[..],
        )
        .map_err(|_| ExerciseError::Seal)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&plain);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a sealed inject (none if the key or the bytes are wrong).
pub(crate) fn open_inject(key: &SpaceKey, space: SpaceId, sealed: &[u8]) -> Option<Inject> {
    if sealed.len() < NONCE_LEN + 16 {
        return None;
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[..NONCE_LEN]);
    let mut buf = zeroize::Zeroizing::new(sealed[NONCE_LEN..].to_vec());
    let opener = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.as_bytes()).ok()?);
    let plain = opener
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(space)),
            &mut buf[..],
        )
        .ok()?;
    let inject: Inject = postcard::from_bytes(plain).ok()?;
    inject.check().ok()?;
    Some(inject)
}

fn set(value: FieldValue) -> Change {
    Change::Set {
        value,
        bases: Default::default(),
    }
}

fn stamp_ms(stamp: &crate::hlc::Stamp) -> Timestamp {
    Timestamp(i64::try_from(stamp.hlc.wall_ms).unwrap_or(i64::MAX))
}

/// What `release_due` saw last of a space: the replica's change token and the next wall time
/// something falls due.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReleaseWatch {
    token: crate::merge::ChangeToken,
    wake_at: Option<i64>,
}

/// The next wall time (ms) at which something can fall due while nothing else changes: the
/// earliest not-`done` inject's time or awaited deadline, plus `delay`; none while the clock
/// is not running.
fn next_wake(clock: &Clock, delay: i64, scenario: &[Inject], done: &BTreeSet<u32>) -> Option<i64> {
    let mut times: Vec<ExerciseTime> = Vec::new();
    for inject in scenario.iter().filter(|i| !done.contains(&i.number)) {
        times.extend(inject.time);
        if let Some(Trigger::Overdue(n)) = &inject.trigger {
            times.extend(
                scenario
                    .iter()
                    .find(|i| i.number == *n)
                    .and_then(|i| i.deadline),
            );
        }
    }
    times
        .into_iter()
        .filter_map(|t| clock.wall_time_of(t))
        .map(|w| w.0 + delay)
        .min()
}

/// What an import changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
}

impl Node {
    /// Whether this device may run `space`'s exercise: it is a drill and this device leads it.
    fn controller_role(&self, space: SpaceId) -> Result<(), ExerciseError> {
        let role = self.drill_role(space)?;
        if role != StaffRole::ExerciseLeader {
            return Err(ExerciseError::NotControl(role.code()));
        }
        Ok(())
    }

    fn drill_role(&self, space: SpaceId) -> Result<StaffRole, ExerciseError> {
        if !self.is_exercise(space) {
            return Err(ExerciseError::NotAnExercise(space.to_string()));
        }
        Ok(self.own_role(space)?)
    }

    /// The control key, for exercise control (`run`) or also for evaluators (reading).
    fn scenario_key(&self, space: SpaceId, run: bool) -> Result<SpaceKey, ExerciseError> {
        let role = self.drill_role(space)?;
        let allowed = if run {
            role == StaffRole::ExerciseLeader
        } else {
            role.reads_scenario()
        };
        if !allowed {
            return Err(ExerciseError::NotControl(role.code()));
        }
        self.control_keys
            .get(&space)
            .map(|k| SpaceKey::from_bytes(*k.as_bytes()))
            .ok_or(ExerciseError::NoControlKey)
    }

    fn control_key(&self, space: SpaceId) -> Result<SpaceKey, ExerciseError> {
        self.scenario_key(space, true)
    }

    /// Whether this device holds the control key of `space` (it is a controller that has it).
    pub fn holds_control_key(&self, space: SpaceId) -> bool {
        self.control_keys.contains_key(&space)
    }

    /// The founder of a new drill: draws its control key and wraps it to itself.
    pub(super) fn start_exercise_control(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let key = SpaceKey::generate().map_err(|_| NodeError::Random)?;
        self.control_keys.insert(space, key);
        self.share_control_key(space)
    }

    /// Takes the control key from a wrap addressed to this device, if it lacks it.
    pub(super) fn take_control_key(&mut self, space: SpaceId) -> Result<bool, NodeError> {
        if self.control_keys.contains_key(&space) || !self.is_exercise(space) {
            return Ok(false);
        }
        let st = self
            .spaces
            .get(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let me = self.keys.device_id();
        let mut found = None;
        for (_, record) in st.replica.records_of(RecordKind::ExerciseControl) {
            let Some(FieldValue::ControlWrap(blob)) = record.field(FieldKey::ControlWrap) else {
                continue;
            };
            let Ok(wrap) = Rekey::decode(&blob.0) else {
                continue;
            };
            if wrap.space != space || !wrap.names(&me) {
                continue;
            }
            if let Ok(key) = wrap.open_for(Purpose::ExerciseControl, &self.keys) {
                found = Some(key);
                break;
            }
        }
        match found {
            Some(key) => {
                self.control_keys.insert(space, key);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A controller holding the control key wraps it to every current exercise leader and
    /// evaluator whose device key is known and that no wrap names yet (one record for all).
    pub(super) fn share_control_key(&mut self, space: SpaceId) -> Result<(), NodeError> {
        let Some(key) = self.control_keys.get(&space) else {
            return Ok(());
        };
        let key = SpaceKey::from_bytes(*key.as_bytes());
        let me = self.keys.device_id();
        if self.own_role(space)? != StaffRole::ExerciseLeader {
            return Ok(());
        }
        let st = self
            .spaces
            .get(&space)
            .ok_or_else(|| NodeError::UnknownSpace(space.to_string()))?;
        let mut named: BTreeSet<[u8; 8]> = BTreeSet::new();
        for (_, record) in st.replica.records_of(RecordKind::ExerciseControl) {
            if let Some(FieldValue::ControlWrap(blob)) = record.field(FieldKey::ControlWrap) {
                if let Ok(wrap) = Rekey::decode(&blob.0) {
                    named.extend(wrap.slots.iter().map(|s| s.device));
                }
            }
        }
        let mut recipients = Vec::new();
        for (device, grant, _) in st.authority.devices() {
            let Some(grant) = grant else { continue };
            if !grant.role.reads_scenario() {
                continue;
            }
            let mut prefix = [0u8; 8];
            prefix.copy_from_slice(&device.as_bytes()[..8]);
            if named.contains(&prefix) {
                continue;
            }
            let published = if device == me {
                Some(crate::engine::rekey::member_key(&self.keys))
            } else {
                st.authority.key_of(device).map(<[u8]>::to_vec)
            };
            let Some(published) = published else { continue };
            if let Ok(public) = checked_member_key(&device, &published) {
                recipients.push((device, public));
            }
        }
        if recipients.is_empty() {
            return Ok(());
        }
        let wrap = Rekey::seal_for(Purpose::ExerciseControl, space, 0, &key, &recipients)
            .and_then(|w| w.encode())
            .map_err(|_| NodeError::Random)?;
        self.create_record(
            space,
            RecordKind::ExerciseControl,
            vec![set(FieldValue::ControlWrap(crate::record::Blob(wrap)))],
        )?;
        Ok(())
    }

    /// After opening or receiving: take the control key if it arrived, hand it on if a new
    /// controller appeared.
    pub(super) fn exercise_keys_up_to_date(&mut self, space: SpaceId) -> Result<(), NodeError> {
        if !self.is_exercise(space) {
            return Ok(());
        }
        self.take_control_key(space)?;
        if self.control_keys.contains_key(&space) && self.read_only(space).is_none() {
            self.share_control_key(space)?;
        }
        Ok(())
    }

    /// The scenario as controllers and evaluators read it: each inject with its record, by
    /// number.
    pub fn scenario(&self, space: SpaceId) -> Result<Vec<(RecordId, Inject)>, ExerciseError> {
        let key = self.scenario_key(space, false)?;
        let replica = self.replica(space)?;
        let mut out: Vec<(RecordId, Inject)> = replica
            .records_of(RecordKind::Inject)
            .filter_map(|(id, r)| match r.field(FieldKey::InjectSealed) {
                Some(FieldValue::InjectSealed(blob)) => {
                    open_inject(&key, space, &blob.0).map(|i| (id, i))
                }
                _ => None,
            })
            .collect();
        out.sort_by_key(|(id, i)| (i.number, *id));
        Ok(out)
    }

    /// Imports a scenario (already parsed and checked): an inject whose number the scenario
    /// holds replaces it, a new number is added. All or nothing is checked before any write.
    pub fn import_scenario(
        &mut self,
        space: SpaceId,
        injects: &[Inject],
    ) -> Result<ImportSummary, ExerciseError> {
        let key = self.control_key(space)?;
        let existing = self.scenario(space)?;
        let mut merged: BTreeMap<u32, Inject> = existing
            .iter()
            .map(|(_, i)| (i.number, i.clone()))
            .collect();
        for i in injects {
            merged.insert(i.number, i.clone());
        }
        let all: Vec<Inject> = merged.into_values().collect();
        check_scenario(&all).map_err(|(i, problem)| ExerciseError::Scenario {
            number: all.get(i).map_or(0, |x| x.number),
            problem,
        })?;
        let by_number: BTreeMap<u32, (RecordId, Inject)> = existing
            .into_iter()
            .map(|(id, i)| (i.number, (id, i)))
            .collect();
        let mut summary = ImportSummary::default();
        for inject in injects {
            let sealed = crate::record::Blob(seal_inject(&key, space, inject)?);
            match by_number.get(&inject.number) {
                Some((_, old)) if old == inject => summary.unchanged += 1,
                Some((id, _)) => {
                    let heads = self
                        .replica(space)?
                        .record(RecordKind::Inject, *id)
                        .and_then(|r| r.register(FieldKey::InjectSealed))
                        .map(|r| r.heads())
                        .unwrap_or_default();
                    let bases = heads
                        .try_into()
                        .map_err(|_| NodeError::Invalid(InvalidOp::TooManyChanges { max: 16 }))?;
                    self.edit_record(
                        space,
                        *id,
                        RecordKind::Inject,
                        vec![Change::Set {
                            value: FieldValue::InjectSealed(sealed),
                            bases,
                        }],
                    )?;
                    summary.changed += 1;
                }
                None => {
                    self.create_record(
                        space,
                        RecordKind::Inject,
                        vec![set(FieldValue::InjectSealed(sealed))],
                    )?;
                    summary.added += 1;
                }
            }
        }
        Ok(summary)
    }

    /// The exercise clock: the fold of every clock action held.
    pub fn exercise_clock(&self, space: SpaceId) -> Result<Clock, ExerciseError> {
        if !self.is_exercise(space) {
            return Err(ExerciseError::NotAnExercise(space.to_string()));
        }
        let replica = self.replica(space)?;
        let events: Vec<ClockEvent<crate::hlc::Stamp>> = replica
            .records_of(RecordKind::ExerciseControl)
            .filter_map(|(_, r)| {
                let created = r.created()?;
                let Some(FieldValue::Clock(action)) = r.field(FieldKey::Clock) else {
                    return None;
                };
                let to = match r.field(FieldKey::ClockTo) {
                    Some(FieldValue::ClockTo(m)) => Some(ExerciseTime(*m)),
                    _ => None,
                };
                Some(ClockEvent {
                    order: created.stamp,
                    at: stamp_ms(&created.stamp),
                    action: *action,
                    to,
                })
            })
            .collect();
        Ok(Clock::fold(&events))
    }

    /// Starts, pauses, resumes, stops or jumps the exercise clock (any controller).
    pub fn clock_action(
        &mut self,
        space: SpaceId,
        action: ClockAction,
        to: Option<ExerciseTime>,
    ) -> Result<Clock, ExerciseError> {
        self.controller_role(space)?;
        let clock = self.exercise_clock(space)?;
        let fits = matches!(
            (clock.phase, action),
            (Phase::NotStarted, ClockAction::Start)
                | (Phase::Running, ClockAction::Pause)
                | (Phase::Paused, ClockAction::Resume)
                | (Phase::Running | Phase::Paused, ClockAction::Stop)
                | (Phase::Running | Phase::Paused, ClockAction::Jump)
        );
        if !fits {
            return Err(ExerciseError::Clock {
                phase: clock.phase,
                action,
            });
        }
        let mut changes = vec![set(FieldValue::Clock(action))];
        if action == ClockAction::Jump {
            let to = to.ok_or(ExerciseError::JumpWithoutTime)?;
            changes.push(set(FieldValue::ClockTo(to.0)));
        }
        self.create_record(space, RecordKind::ExerciseControl, changes)?;
        self.exercise_clock(space)
    }

    /// Jumps the clock to inject `number`'s time.
    pub fn jump_to_inject(&mut self, space: SpaceId, number: u32) -> Result<Clock, ExerciseError> {
        let scenario = self.scenario(space)?;
        let time = scenario
            .iter()
            .find(|(_, i)| i.number == number)
            .and_then(|(_, i)| i.time)
            .ok_or(ExerciseError::NoSuchInject(number))?;
        self.clock_action(space, ClockAction::Jump, Some(time))
    }

    /// Every released inject (the earliest release of each scenario number; every ad-hoc one).
    pub fn released_injects(&self, space: SpaceId) -> Result<Vec<Released>, ExerciseError> {
        if !self.is_exercise(space) {
            return Err(ExerciseError::NotAnExercise(space.to_string()));
        }
        let replica = self.replica(space)?;
        let text = |r: &RecordState, k: FieldKey| match r.field(k) {
            Some(
                FieldValue::InjectFrom(s)
                | FieldValue::InjectTo(s)
                | FieldValue::InjectSubject(s)
                | FieldValue::InjectText(s),
            ) => s.clone(),
            _ => String::new(),
        };
        let mut all: Vec<Released> = replica
            .records_of(RecordKind::ReleasedInject)
            .filter_map(|(id, r)| {
                let created = r.created()?;
                let number = match r.field(FieldKey::InjectNumber) {
                    Some(FieldValue::InjectNumber(n)) => *n,
                    _ => return None,
                };
                let released_at = match r.field(FieldKey::ReleasedAt) {
                    Some(FieldValue::ReleasedAt(t)) => *t,
                    _ => stamp_ms(&created.stamp),
                };
                Some(Released {
                    record: id,
                    number,
                    from: text(r, FieldKey::InjectFrom),
                    to: text(r, FieldKey::InjectTo),
                    channel: match r.field(FieldKey::InjectChannel) {
                        Some(FieldValue::InjectChannel(c)) => Some(*c),
                        _ => None,
                    },
                    subject: text(r, FieldKey::InjectSubject),
                    text: text(r, FieldKey::InjectText),
                    scheduled: match r.field(FieldKey::ScheduledAt) {
                        Some(FieldValue::ScheduledAt(m)) => Some(ExerciseTime(*m)),
                        _ => None,
                    },
                    released_at,
                    released_at_t: match r.field(FieldKey::ReleasedAtExerciseTime) {
                        Some(FieldValue::ReleasedAtExerciseTime(m)) => ExerciseTime(*m),
                        _ => ExerciseTime(0),
                    },
                    released_by: created.op.device,
                    stamp_order: (created.stamp.hlc.wall_ms, created.stamp.hlc.counter),
                    reached: Vec::new(),
                })
            })
            .collect();
        all.sort_by_key(|r| (r.stamp_order, r.record));
        let mut seen = BTreeSet::new();
        all.retain(|r| r.number == 0 || seen.insert(r.number));
        all.sort_by_key(|r| (r.released_at, r.number, r.record));
        Ok(all)
    }

    /// Adds to each released inject when it reached each addressed member device (from that
    /// device's own signed receipts).
    fn with_reach(&self, space: SpaceId, released: &mut [Released]) -> Result<(), NodeError> {
        let standings = self.member_standings(space)?;
        for r in released.iter_mut() {
            let target = Target::parse(&r.to);
            let deliveries = self.deliveries(space, RecordKind::ReleasedInject, r.record)?;
            r.reached = deliveries
                .into_iter()
                .filter(|d| d.role.is_some())
                .filter(|d| {
                    let Some(role) = d.role else { return false };
                    let orp = standings
                        .iter()
                        .find(|m| m.device == d.device)
                        .and_then(|m| m.orp.clone());
                    role != StaffRole::ExerciseLeader
                        && target
                            .as_ref()
                            .is_some_and(|t| t.addresses(role, orp.as_deref(), &d.name))
                })
                .map(|d| Reach {
                    device: d.device,
                    name: d.name,
                    at_ms: if d.holds { d.since_ms } else { None },
                })
                .collect();
        }
        Ok(())
    }

    /// Where the exercise stands: the clock, what was released (with when it reached its
    /// targets), and for controllers the injects still to come.
    pub fn exercise_status(
        &self,
        space: SpaceId,
        now: Timestamp,
    ) -> Result<ExerciseStatus, ExerciseError> {
        let clock = self.exercise_clock(space)?;
        let mut released = self.released_injects(space)?;
        self.with_reach(space, &mut released)?;
        let controller = self.control_key(space).is_ok();
        let (scenario_size, next) = if self.scenario_key(space, false).is_ok() {
            let scenario = self.scenario(space)?;
            let done: BTreeSet<u32> = released.iter().map(|r| r.number).collect();
            let mut next: Vec<Upcoming> = scenario
                .iter()
                .filter(|(_, i)| !done.contains(&i.number))
                .map(|(_, i)| Upcoming {
                    number: i.number,
                    time: i.time,
                    due_at: i.time.and_then(|t| clock.wall_time_of(t)),
                    to: i.to.to_string(),
                    subject: i.subject.clone(),
                    trigger: i.trigger.as_ref().map(ToString::to_string),
                })
                .collect();
            next.sort_by_key(|u| (u.time.is_none(), u.time, u.number));
            (Some(scenario.len()), next)
        } else {
            (None, Vec::new())
        };
        Ok(ExerciseStatus {
            phase: clock.phase,
            elapsed_ms: clock.elapsed_ms(now),
            started: clock.started,
            stopped: clock.stopped,
            controller,
            scenario_size,
            next,
            released,
        })
    }

    /// Releases what is due in every drill this device controls (the serve loop's timer).
    /// Returns how many injects were released.
    pub fn release_due_everywhere(&mut self, now: Timestamp) -> usize {
        let spaces: Vec<SpaceId> = self.control_keys.keys().copied().collect();
        let mut n = 0;
        for space in spaces {
            match self.release_due(space, now) {
                Ok(released) => n += released.len(),
                Err(e) => self
                    .warnings
                    .push(format!("injects of exercise {space} not released: {e}")),
            }
        }
        n
    }

    /// Releases the injects of `space` whose time the clock has reached or whose trigger has
    /// fired, and that no controller released yet; the numbers released.
    ///
    /// Cheap when nothing is due: after each look it notes the replica's change token and the
    /// next wall time something can fall due (an inject's time, an awaited deadline), and until
    /// either moves it does not open the scenario again.
    pub fn release_due(
        &mut self,
        space: SpaceId,
        now: Timestamp,
    ) -> Result<Vec<u32>, ExerciseError> {
        if self.control_key(space).is_err() || self.read_only(space).is_some() {
            return Ok(Vec::new());
        }
        let token = self.replica(space)?.change_token();
        if let Some(w) = self.release_watch.get(&space) {
            if w.token == token && w.wake_at.is_none_or(|t| now.0 < t) {
                return Ok(Vec::new());
            }
        }
        // One look: the clock, the scenario and what was released, read once.
        let clock = self.exercise_clock(space)?;
        let (released, wake_at) = if clock.phase == Phase::Running {
            let delay = self.release_stagger(space)?;
            let scenario: Vec<Inject> = self.scenario(space)?.into_iter().map(|(_, i)| i).collect();
            let before = self.released_injects(space)?;
            let released = self.release_now(space, now, &clock, delay, &scenario, &before)?;
            let done: BTreeSet<u32> = before
                .iter()
                .map(|r| r.number)
                .chain(released.iter().copied())
                .collect();
            let wake_at = next_wake(&clock, delay, &scenario, &done);
            (released, wake_at)
        } else {
            (Vec::new(), None)
        };
        let token = self.replica(space)?.change_token();
        self.release_watch
            .insert(space, ReleaseWatch { token, wake_at });
        Ok(released)
    }

    /// How long this controller waits after the others ranked before it (by device id).
    fn release_stagger(&self, space: SpaceId) -> Result<i64, ExerciseError> {
        let me = self.keys.device_id();
        let rank = self
            .authority(space)?
            .devices()
            .filter(|(_, g, _)| g.is_some_and(|g| g.role == StaffRole::ExerciseLeader))
            .position(|(d, _, _)| d == me)
            .unwrap_or(0);
        Ok(RELEASE_STAGGER_MS * i64::try_from(rank).unwrap_or(0))
    }

    /// Writes a release for each inject of `scenario` the running `clock` has reached (after
    /// this controller's `delay`) or whose trigger fired, and that `released` lacks.
    fn release_now(
        &mut self,
        space: SpaceId,
        now: Timestamp,
        clock: &Clock,
        delay: i64,
        scenario: &[Inject],
        released: &[Released],
    ) -> Result<Vec<u32>, ExerciseError> {
        let elapsed = clock.elapsed_ms(now);
        let done: BTreeSet<u32> = released.iter().map(|r| r.number).collect();
        let mut out: Vec<(Inject, Option<ExerciseTime>)> = due(scenario, &done, elapsed - delay)
            .into_iter()
            .map(|i| (i.clone(), i.time))
            .collect();
        for inject in scenario {
            if done.contains(&inject.number) || out.iter().any(|(i, _)| i.number == inject.number) {
                continue;
            }
            if let Some(trigger) = &inject.trigger {
                if self.fired(space, trigger, scenario, released, clock, elapsed - delay)? {
                    out.push((inject.clone(), None));
                }
            }
        }
        let at_t = ExerciseTime(u32::try_from(elapsed.max(0) / 60_000).unwrap_or(u32::MAX));
        let mut numbers = Vec::new();
        for (inject, scheduled) in out {
            self.write_release(space, &inject, scheduled, now, at_t)?;
            numbers.push(inject.number);
        }
        Ok(numbers)
    }

    /// Whether a trigger has fired: by the replica's records, at exercise time `elapsed`.
    fn fired(
        &self,
        space: SpaceId,
        trigger: &Trigger,
        scenario: &[Inject],
        released: &[Released],
        clock: &Clock,
        elapsed: i64,
    ) -> Result<bool, ExerciseError> {
        let replica = self.replica(space)?;
        let release_of = |n: u32| released.iter().find(|r| r.number == n);
        let linked_to = |record: RecordId| {
            let hex = record.to_string();
            replica
                .records()
                .filter(move |(_, r)| r.created().is_some())
                .filter(move |(_, r)| r.set_elements(SetField::Links).contains(&hex))
        };
        let since_start = |r: &RecordState| {
            r.created()
                .zip(clock.started)
                .is_some_and(|(c, s)| stamp_ms(&c.stamp) >= s)
        };
        Ok(match trigger {
            Trigger::Overdue(n) => {
                let Some(release) = release_of(*n) else {
                    return Ok(false);
                };
                let Some(deadline) = scenario
                    .iter()
                    .find(|i| i.number == *n)
                    .and_then(|i| i.deadline)
                else {
                    return Ok(false);
                };
                elapsed >= deadline.millis() && linked_to(release.record).next().is_none()
            }
            Trigger::TaskAccepted(n) => {
                let Some(release) = release_of(*n) else {
                    return Ok(false);
                };
                linked_to(release.record).any(|(key, r)| {
                    key.kind == RecordKind::Task
                        && matches!(
                            r.status(RecordKind::Task),
                            Some(Status::Task(
                                TaskStatus::Accepted | TaskStatus::InProgress | TaskStatus::Done
                            ))
                        )
                })
            }
            Trigger::ReportSent(sender) => {
                replica
                    .records_of(RecordKind::SituationReport)
                    .any(|(_, r)| {
                        since_start(r)
                            && matches!(r.field(FieldKey::Sender), Some(FieldValue::Sender(s))
                            if crate::authority::same_orp(s, sender)
                                || crate::authority::same_orp(s, sender.trim_start_matches("ORP ")))
                    })
            }
            Trigger::RequestTagged(tag) => {
                let tag = tag.trim().to_lowercase();
                replica
                    .records_of(RecordKind::ResourceRequest)
                    .any(|(_, r)| {
                        since_start(r)
                            && r.set_elements(SetField::Tags)
                                .iter()
                                .any(|t| t.trim().to_lowercase() == tag)
                    })
            }
        })
    }

    fn write_release(
        &mut self,
        space: SpaceId,
        inject: &Inject,
        scheduled: Option<ExerciseTime>,
        now: Timestamp,
        at_t: ExerciseTime,
    ) -> Result<RecordId, ExerciseError> {
        let mut changes = vec![
            set(FieldValue::InjectNumber(inject.number)),
            set(FieldValue::InjectFrom(inject.from.clone())),
            set(FieldValue::InjectTo(inject.to.to_string())),
            set(FieldValue::InjectChannel(inject.channel)),
            set(FieldValue::InjectText(inject.content.clone())),
            set(FieldValue::ReleasedAt(now)),
            set(FieldValue::ReleasedAtExerciseTime(at_t.0)),
        ];
        if !inject.subject.is_empty() {
            changes.push(set(FieldValue::InjectSubject(inject.subject.clone())));
        }
        if let Some(t) = scheduled {
            changes.push(set(FieldValue::ScheduledAt(t.0)));
        }
        Ok(self.create_record(space, RecordKind::ReleasedInject, changes)?)
    }

    /// An ad-hoc inject, released at once by a controller (number 0: not in the scenario).
    pub fn ad_hoc_inject(
        &mut self,
        space: SpaceId,
        ad_hoc: &AdHocInject,
        now: Timestamp,
    ) -> Result<RecordId, ExerciseError> {
        self.control_key(space)?;
        let clock = self.exercise_clock(space)?;
        let inject = Inject {
            number: u32::MAX,
            time: Some(ExerciseTime(0)),
            from: ad_hoc.from.trim().to_owned(),
            to: ad_hoc.to.clone(),
            channel: ad_hoc.channel,
            subject: ad_hoc.subject.trim().to_owned(),
            content: ad_hoc.text.trim().to_owned(),
            expected: String::new(),
            deadline: None,
            objective: String::new(),
            evaluator_notes: String::new(),
            trigger: None,
        };
        inject.check().map_err(ExerciseError::AdHoc)?;
        let at_t =
            ExerciseTime(u32::try_from(clock.elapsed_ms(now).max(0) / 60_000).unwrap_or(u32::MAX));
        let inject = Inject {
            number: 0,
            ..inject
        };
        self.write_release(space, &inject, None, now, at_t)
    }
}

/// What an evaluator notes on one inject (an observation), from a form or the CLI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservationInput {
    pub inject: u32,
    pub met: Option<bool>,
    pub text: String,
    pub corrective: Option<crate::exercise::evaluation::Corrective>,
}

impl Node {
    /// Records an evaluator's observation on inject `inject` (evaluators and exercise control).
    pub fn observe(
        &mut self,
        space: SpaceId,
        input: &ObservationInput,
    ) -> Result<RecordId, ExerciseError> {
        let scenario = self.scenario(space)?;
        if !scenario.iter().any(|(_, i)| i.number == input.inject) {
            return Err(ExerciseError::NoSuchInject(input.inject));
        }
        let mut changes = vec![set(FieldValue::ObservedInject(input.inject))];
        if let Some(met) = input.met {
            changes.push(set(FieldValue::ObservationMet(met)));
        }
        if !input.text.trim().is_empty() {
            changes.push(set(FieldValue::ObservationText(
                input.text.trim().to_owned(),
            )));
        }
        if let Some(c) = &input.corrective {
            changes.push(set(FieldValue::CorrectiveAction(
                c.action.trim().to_owned(),
            )));
            if !c.owner.trim().is_empty() {
                changes.push(set(FieldValue::CorrectiveOwner(c.owner.trim().to_owned())));
            }
            if let Some(due) = c.due {
                changes.push(set(FieldValue::CorrectiveDue(due)));
            }
        }
        Ok(self.create_record(space, RecordKind::Observation, changes)?)
    }

    /// The record id of the release of scenario inject `number` (the one a response links to).
    pub fn release_of(&self, space: SpaceId, number: u32) -> Result<RecordId, ExerciseError> {
        self.released_injects(space)?
            .into_iter()
            .find(|r| r.number == number && number != 0)
            .map(|r| r.record)
            .ok_or(ExerciseError::NotReleased(number))
    }

    /// The evaluation of the drill (exercise control and evaluators: it names the expected
    /// actions and objectives of the sealed scenario).
    pub fn evaluation(
        &self,
        space: SpaceId,
    ) -> Result<crate::exercise::evaluation::Evaluation, ExerciseError> {
        use crate::exercise::evaluation::{evaluate, Corrective, Input, Observation, Response};
        let scenario: Vec<Inject> = self.scenario(space)?.into_iter().map(|(_, i)| i).collect();
        let clock = self.exercise_clock(space)?;
        let released = self.released_injects(space)?;
        let by_record: BTreeMap<String, u32> = released
            .iter()
            .filter(|r| r.number != 0)
            .map(|r| (r.record.to_string(), r.number))
            .collect();
        let standings = self.member_standings(space)?;
        let who = |device: DeviceId| {
            standings
                .iter()
                .find(|m| m.device == device)
                .map(|m| (m.name.clone(), m.role, m.orp.clone()))
                .unwrap_or_else(|| (device.short(), None, None))
        };
        let replica = self.replica(space)?;
        let text = |r: &RecordState, keys: &[FieldKey]| {
            keys.iter()
                .find_map(|k| match r.field(*k) {
                    Some(
                        FieldValue::Title(s)
                        | FieldValue::Item(s)
                        | FieldValue::Text(s)
                        | FieldValue::Situation(s)
                        | FieldValue::Sender(s),
                    ) => Some(s.lines().next().unwrap_or_default().to_owned()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let mut responses = Vec::new();
        for kind in [
            RecordKind::Task,
            RecordKind::SituationReport,
            RecordKind::ResourceRequest,
            RecordKind::JournalEntry,
            RecordKind::Incident,
        ] {
            for (id, r) in replica.records_of(kind) {
                let Some(created) = r.created() else { continue };
                let answers: Vec<u32> = r
                    .set_elements(SetField::Links)
                    .iter()
                    .filter_map(|l| by_record.get(l).copied())
                    .collect();
                if answers.is_empty() || r.field(FieldKey::SimulatedFor).is_some() {
                    continue;
                }
                let (author, role, orp) = who(created.op.device);
                if role.is_some_and(StaffRole::reads_scenario) {
                    continue;
                }
                responses.push(Response {
                    record: id,
                    kind,
                    summary: text(
                        r,
                        &[
                            FieldKey::Title,
                            FieldKey::Item,
                            FieldKey::Situation,
                            FieldKey::Text,
                            FieldKey::Sender,
                        ],
                    ),
                    created_at: stamp_ms(&created.stamp),
                    author,
                    role,
                    orp,
                    answers,
                });
            }
        }
        let observations = replica
            .records_of(RecordKind::Observation)
            .filter_map(|(id, r)| {
                let created = r.created()?;
                let Some(FieldValue::ObservedInject(n)) = r.field(FieldKey::ObservedInject) else {
                    return None;
                };
                let string = |k: FieldKey| match r.field(k) {
                    Some(
                        FieldValue::ObservationText(s)
                        | FieldValue::CorrectiveAction(s)
                        | FieldValue::CorrectiveOwner(s),
                    ) => s.clone(),
                    _ => String::new(),
                };
                let action = string(FieldKey::CorrectiveAction);
                Some(Observation {
                    record: id,
                    inject: *n,
                    met: match r.field(FieldKey::ObservationMet) {
                        Some(FieldValue::ObservationMet(m)) => Some(*m),
                        _ => None,
                    },
                    text: string(FieldKey::ObservationText),
                    by: who(created.op.device).0,
                    at: stamp_ms(&r.last_change().unwrap_or(created.stamp)),
                    corrective: (!action.is_empty()).then(|| Corrective {
                        action,
                        owner: string(FieldKey::CorrectiveOwner),
                        due: match r.field(FieldKey::CorrectiveDue) {
                            Some(FieldValue::CorrectiveDue(t)) => Some(*t),
                            _ => None,
                        },
                    }),
                })
            })
            .collect();
        let name = self
            .spaces()
            .into_iter()
            .find(|s| s.id == space)
            .map(|s| s.name)
            .unwrap_or_default();
        Ok(evaluate(&Input {
            name,
            started: clock.started,
            stopped: clock.stopped,
            scenario,
            released,
            responses,
            observations,
        }))
    }
}

#[cfg(test)]
mod tests;
