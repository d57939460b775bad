//! What the signed-in person may do in the shown space, and the one sentence that says why a
//! control is not there. It owns the UI's reading of the permission table
//! (`krizlink_core::authority::permitted`) and of an ORP coordinator's scope (reports and
//! requests only as its ORP; on tasks only status, outcome and comments, and only on tasks given
//! to its ORP or to its member name). The screens hide what the role may not use; the engine
//! judges every operation anyway, so this only spares people a refusal.
//!
//! Pure functions of [`Me`] (built from `SpaceInfo`), so they are easy to check.

use krizlink_core::api::SpaceInfo;
use krizlink_core::authority::{permitted_in, same_orp, Action};
use krizlink_core::record::StaffRole;
use krizlink_core::RecordKind;
use yew::prelude::*;

use crate::i18n::Lang;

/// The person's standing in the shown space, as the shell reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    /// None when the role code is not one this UI knows: then nothing is hidden and the engine
    /// decides.
    pub role: Option<StaffRole>,
    /// The ORP an ORP coordinator is bound to.
    pub orp: Option<String>,
    /// The member's name in the space.
    pub name: Option<String>,
    /// The space is an exercise (its leader leads it like a chair).
    pub exercise: bool,
}

impl Me {
    pub fn of(space: &SpaceInfo) -> Me {
        Me {
            role: space.role.parse().ok(),
            orp: space.orp.clone().filter(|o| !o.trim().is_empty()),
            name: space.member_name.clone(),
            exercise: space.exercise,
        }
    }

    fn coordinator(&self) -> bool {
        self.role == Some(StaffRole::OrpCoordinator)
    }

    /// Whether the role may take `action` on records of `kind` at all (the table, no scope).
    pub fn may(&self, kind: RecordKind, action: Action) -> bool {
        self.role
            .is_none_or(|r| permitted_in(self.exercise, r, kind, action))
    }

    /// The ORP an ORP coordinator writes reports and requests as (its sender or requester
    /// field is fixed to it); None for the other roles.
    pub fn fixed_orp(&self) -> Option<&str> {
        if self.coordinator() {
            self.orp.as_deref()
        } else {
            None
        }
    }

    /// Whether the person may create a record of `kind` now (an ORP coordinator whose ORP has
    /// not arrived yet may not: the engine would hold it).
    pub fn may_create(&self, kind: RecordKind) -> bool {
        self.may(kind, Action::Create) && (!self.coordinator() || self.orp.is_some())
    }

    /// Whether the person may take `action` on a task given to `assignees`.
    pub fn may_on_task(&self, action: Action, assignees: &[String]) -> bool {
        if !self.may(RecordKind::Task, action) {
            return false;
        }
        if !self.coordinator() {
            return true;
        }
        let Some(orp) = &self.orp else { return false };
        let name = self
            .name
            .as_deref()
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty());
        assignees
            .iter()
            .any(|a| same_orp(orp, a) || name.as_deref() == Some(a.trim().to_lowercase().as_str()))
    }

    /// Whether an ORP coordinator may change only a task's outcome (not its deadline, priority
    /// or assignees).
    pub fn task_outcome_only(&self) -> bool {
        self.coordinator()
    }

    /// Whether the person may take `action` on a resource request of `requester`.
    pub fn may_on_request(&self, action: Action, requester: &str) -> bool {
        if !self.may(RecordKind::ResourceRequest, action) {
            return false;
        }
        !self.coordinator() || self.orp.as_deref().is_some_and(|o| same_orp(o, requester))
    }

    /// Whether the person may write a report as `sender` (a correction of an existing one).
    pub fn may_report_as(&self, sender: &str) -> bool {
        self.may_create(RecordKind::SituationReport)
            && (!self.coordinator() || self.orp.as_deref().is_some_and(|o| same_orp(o, sender)))
    }

    /// Whether the person changes members' roles (chair, secretary).
    pub fn manages_members(&self) -> bool {
        self.role.is_some_and(|r| {
            permitted_in(self.exercise, r, RecordKind::Member, Action::ManageMembers)
        })
    }

    /// The one sentence a screen of records of `kind` shows when the role may not use all of
    /// its controls; None when it may.
    pub fn notice(&self, kind: RecordKind, lang: Lang) -> Option<String> {
        use RecordKind as K;
        use StaffRole as R;
        let cs = matches!(lang, Lang::Cs);
        let pick = |c: String, e: String| Some(if cs { c } else { e });
        match self.role? {
            R::Chair => None,
            R::ExerciseLeader if self.exercise => None,
            R::Observer => pick(
                "Jako pozorovatel můžete záznamy jen číst.".into(),
                "As an observer you can only read records.".into(),
            ),
            R::Evaluator => pick(
                "Jako hodnotitel záznamy štábu jen čtete; zapisujete pozorování ke vstupům cvičení."
                    .into(),
                "As an evaluator you only read the staff's records; you write observations on the exercise's injects."
                    .into(),
            ),
            R::Secretary | R::Member => match kind {
                K::ResourceRequest => pick(
                    "Schválit, zamítnout nebo postoupit požadavek může jen předseda štábu.".into(),
                    "Only the chair approves, rejects or escalates a request.".into(),
                ),
                _ => None,
            },
            R::OrpCoordinator => {
                let Some(orp) = self.orp.as_deref().map(bare) else {
                    return pick(
                        "Vaše ORP sem zatím nedorazila; nejprve se spojte se štábem (synchronizace).".into(),
                        "Your ORP has not arrived here yet; sync with the staff first.".into(),
                    );
                };
                match kind {
                    K::Task => pick(
                        format!("Jako koordinátor ORP {orp} měníte jen stav, výsledek a komentáře úkolů zadaných ORP {orp} nebo vám; úkoly nezakládáte."),
                        format!("As ORP coordinator for ORP {orp} you change only the status, outcome and comments of tasks given to ORP {orp} or to you; you do not create tasks."),
                    ),
                    K::SituationReport => pick(
                        format!("Jako koordinátor ORP posíláte situační zprávy jen za ORP {orp}."),
                        format!("As ORP coordinator you send situation reports only for ORP {orp}."),
                    ),
                    K::ResourceRequest => pick(
                        format!("Jako koordinátor ORP zakládáte a měníte jen požadavky ORP {orp}; schvaluje je předseda štábu."),
                        format!("As ORP coordinator you create and change only the requests of ORP {orp}; the chair decides them."),
                    ),
                    other => pick(
                        format!("Jako koordinátor ORP můžete {} jen číst.", plural_cs(other)),
                        format!("As ORP coordinator you can only read {}.", plural_en(other)),
                    ),
                }
            }
            R::ExerciseLeader => match kind {
                K::JournalEntry => None,
                K::Task => pick(
                    "Jako řídící cvičení úkoly zakládáte a komentujete; jejich stav a údaje mění štáb.".into(),
                    "As exercise leader you create and comment on tasks; the staff changes their status and details.".into(),
                ),
                other => pick(
                    format!("Jako řídící cvičení zapisujete jen úkoly a záznamy do deníku; {} můžete jen číst.", plural_cs(other)),
                    format!("As exercise leader you write only tasks and journal entries; you can only read {}.", plural_en(other)),
                ),
            },
        }
    }
}

impl Me {
    /// The sentence a task's detail shows when the person may not work on it (an ORP
    /// coordinator's task given to another ORP; a role that only reads or comments).
    pub fn task_notice(&self, assignees: &[String], lang: Lang) -> Option<String> {
        if let (true, Some(orp)) = (self.coordinator(), self.orp.as_deref()) {
            let orp = bare(orp);
            if !self.may_on_task(Action::MoveStatus, assignees) {
                return Some(match lang {
                    Lang::Cs => {
                        format!("Tento úkol není zadán ORP {orp} ani vám; měnit ho nemůžete.")
                    }
                    Lang::En => format!(
                        "This task is not given to ORP {orp} or to you; you cannot change it."
                    ),
                });
            }
            return None;
        }
        self.notice(RecordKind::Task, lang)
    }
}

/// An ORP's name without an "ORP " prefix, for sentences that say "ORP" themselves.
fn bare(orp: &str) -> &str {
    let orp = orp.trim();
    orp.strip_prefix("ORP ")
        .or_else(|| orp.strip_prefix("orp "))
        .map(str::trim)
        .unwrap_or(orp)
}

fn plural_cs(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Task => "úkoly",
        RecordKind::SituationReport => "situační zprávy",
        RecordKind::JournalEntry => "záznamy deníku",
        RecordKind::ResourceRequest => "požadavky",
        RecordKind::Incident => "mimořádné události",
        RecordKind::Contact => "kontakty",
        RecordKind::Member => "členy",
        RecordKind::Inject => "vstupy scénáře",
        RecordKind::ExerciseControl => "řízení cvičení",
        RecordKind::ReleasedInject => "vydané vstupy",
        RecordKind::Observation => "pozorování hodnotitelů",
    }
}

fn plural_en(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Task => "tasks",
        RecordKind::SituationReport => "situation reports",
        RecordKind::JournalEntry => "journal entries",
        RecordKind::ResourceRequest => "requests",
        RecordKind::Incident => "incidents",
        RecordKind::Contact => "contacts",
        RecordKind::Member => "members",
        RecordKind::Inject => "scenario injects",
        RecordKind::ExerciseControl => "exercise control",
        RecordKind::ReleasedInject => "released injects",
        RecordKind::Observation => "evaluators' observations",
    }
}

/// The screen's sentence about what the role may not do (`#permission-note`), or nothing.
pub fn note(me: &Me, kind: RecordKind, lang: Lang) -> Html {
    match me.notice(kind, lang) {
        Some(text) => {
            html! { <p class="banner info permission-note" id="permission-note">{ text }</p> }
        }
        None => html! {},
    }
}

/// In place of a create form the role may not use: its heading and the sentence why
/// (`#permission-note`).
pub fn locked(me: &Me, kind: RecordKind, title: &str, lang: Lang) -> Html {
    html! {
        <section class="card form locked-form">
            <h2>{ title.to_owned() }</h2>
            { note(me, kind, lang) }
        </section>
    }
}

/// The sentence next to a form the role may use, when it may not use everything else on the
/// screen (`#permission-note`).
pub fn note_if(show: bool, me: &Me, kind: RecordKind, lang: Lang) -> Html {
    if show {
        note(me, kind, lang)
    } else {
        html! {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(role: StaffRole, orp: Option<&str>, name: &str) -> Me {
        Me {
            role: Some(role),
            orp: orp.map(str::to_owned),
            name: Some(name.to_owned()),
            exercise: false,
        }
    }

    #[test]
    fn an_exercise_leader_leads_a_drill_like_a_chair_and_not_a_real_space() {
        let mut leader = me(StaffRole::ExerciseLeader, None, "Řídící");
        assert!(!leader.manages_members());
        assert!(!leader.may_create(RecordKind::SituationReport));
        leader.exercise = true;
        assert!(leader.manages_members());
        assert!(leader.may_create(RecordKind::SituationReport));
        assert_eq!(leader.notice(RecordKind::Task, Lang::Cs), None);
    }

    #[test]
    fn chair_and_member_keep_every_control_they_use() {
        let chair = me(StaffRole::Chair, None, "Jana");
        let member = me(StaffRole::Member, None, "Petr");
        for kind in krizlink_core::authority::WORK_KINDS {
            assert!(chair.may_create(*kind));
            assert!(member.may_create(*kind));
            assert!(chair.notice(*kind, Lang::Cs).is_none());
        }
        assert!(member.may_on_task(Action::MoveStatus, &[]));
        assert!(member.may_on_task(Action::Edit, &[]));
        assert!(chair.may_on_request(Action::Decide, "ORP Zlín"));
        assert!(!member.may_on_request(Action::Decide, "ORP Zlín"));
        assert!(chair.manages_members());
        assert!(!member.manages_members());
    }

    #[test]
    fn observer_only_reads() {
        let o = me(StaffRole::Observer, None, "Eva");
        for kind in krizlink_core::authority::WORK_KINDS {
            assert!(!o.may_create(*kind));
            assert_eq!(
                o.notice(*kind, Lang::Cs).as_deref(),
                Some("Jako pozorovatel můžete záznamy jen číst.")
            );
        }
        assert!(!o.may_on_task(Action::Comment, &["Eva".into()]));
    }

    #[test]
    fn orp_coordinator_scope() {
        let c = me(StaffRole::OrpCoordinator, Some("Vsetín"), "Karel Novák");
        assert_eq!(c.fixed_orp(), Some("Vsetín"));
        assert!(!c.may_create(RecordKind::Task));
        assert!(c.may_create(RecordKind::SituationReport));
        assert!(c.may_report_as("ORP Vsetín"));
        assert!(!c.may_report_as("ORP Zlín"));
        assert!(c.may_on_task(Action::MoveStatus, &["ORP Vsetín".into()]));
        assert!(c.may_on_task(Action::Comment, &["karel novák".into()]));
        assert!(!c.may_on_task(Action::MoveStatus, &["ORP Zlín".into()]));
        assert!(c.may_on_request(Action::MoveStatus, "orp vsetín"));
        assert!(!c.may_on_request(Action::Edit, "ORP Zlín"));
        assert!(!c.may_on_request(Action::Decide, "ORP Vsetín"));
        assert!(!c.may_create(RecordKind::Contact));
        let waiting = me(StaffRole::OrpCoordinator, None, "Karel");
        assert!(!waiting.may_create(RecordKind::SituationReport));
        assert!(waiting
            .notice(RecordKind::Task, Lang::Cs)
            .is_some_and(|n| n.contains("synchronizace")));
    }

    #[test]
    fn a_task_of_another_orp_says_so() {
        let c = me(StaffRole::OrpCoordinator, Some("ORP Vsetín"), "Karel");
        assert_eq!(
            c.task_notice(&["ORP Zlín".into()], Lang::Cs).as_deref(),
            Some("Tento úkol není zadán ORP Vsetín ani vám; měnit ho nemůžete.")
        );
        assert!(c.task_notice(&["Vsetín".into()], Lang::Cs).is_none());
        let leader = me(StaffRole::ExerciseLeader, None, "Jiří");
        assert!(leader.may_on_task(Action::Comment, &[]));
        assert!(!leader.may_on_task(Action::MoveStatus, &[]));
        assert!(leader.task_notice(&[], Lang::Cs).is_some());
    }

    #[test]
    fn unknown_role_hides_nothing() {
        let m = Me {
            role: None,
            orp: None,
            name: None,
            exercise: false,
        };
        assert!(m.may_create(RecordKind::Task));
        assert!(m.may_on_request(Action::Decide, "x"));
        assert!(m.notice(RecordKind::Task, Lang::Cs).is_none());
    }
}
