//! One consistent picture of a space for the UI: [`SpaceSnapshot`] holds exactly the lists the
//! shown screen asks for ([`Wants`]), all taken from one state of the replica, and the
//! situation board as [`BoardView`] — the counts and the few records the board draws, never
//! every record (a space can hold 10,000 tasks). Pure: the engine builds it from a
//! [`Replica`], the UI only reads it.

use serde::{Deserialize, Serialize};

use crate::api::SpaceInfo;
use crate::merge::{ChangeToken, Replica};
use crate::record::{IncidentState, TaskStatus, Timestamp};
use crate::views::{Contact, Incident, JournalEntry, ResourceRequest, SituationReport, Task};

/// Tasks drawn per board column; the rest is counted.
pub const BOARD_TASKS_PER_COLUMN: usize = 12;

/// The task statuses the board shows as columns, in order.
pub const BOARD_COLUMNS: [TaskStatus; 3] = [
    TaskStatus::Assigned,
    TaskStatus::Accepted,
    TaskStatus::InProgress,
];

/// Which lists a screen needs besides the board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wants {
    pub board: bool,
    pub tasks: bool,
    pub reports: bool,
    pub journal: bool,
    pub requests: bool,
    pub incidents: bool,
    pub contacts: bool,
}

impl Wants {
    /// Everything (a screen that shows every kind, or a test).
    pub const ALL: Wants = Wants {
        board: true,
        tasks: true,
        reports: true,
        journal: true,
        requests: true,
        incidents: true,
        contacts: true,
    };
}

/// A space as one engine job saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceSnapshot {
    pub info: SpaceInfo,
    /// What was asked for; a list not asked for is `None`, never an empty stand-in.
    pub wants: Wants,
    pub board: Option<BoardView>,
    /// Every task, or with `tasks_since` only the tasks changed since then.
    pub tasks: Option<Vec<Task>>,
    /// Where the replica's changes stood when `tasks` was taken: a reader that keeps the list
    /// asks with it next time and gets only what changed.
    pub tasks_token: Option<ChangeToken>,
    /// `tasks` holds only the tasks changed since this token (merge them into the list taken
    /// then); `None`: `tasks` is the whole list.
    pub tasks_since: Option<ChangeToken>,
    pub reports: Option<Vec<SituationReport>>,
    pub journal: Option<Vec<JournalEntry>>,
    pub requests: Option<Vec<ResourceRequest>>,
    pub incidents: Option<Vec<Incident>>,
    pub contacts: Option<Vec<Contact>>,
}

impl SpaceSnapshot {
    /// A snapshot that holds no list (before the first one arrives).
    pub fn of_nothing(info: SpaceInfo) -> SpaceSnapshot {
        SpaceSnapshot {
            info,
            wants: Wants::default(),
            board: None,
            tasks: None,
            tasks_token: None,
            tasks_since: None,
            reports: None,
            journal: None,
            requests: None,
            incidents: None,
            contacts: None,
        }
    }

    /// The lists `wants` names, from `replica`. With `since` (a token of an earlier snapshot of
    /// the same replica) the tasks are only those changed since then; a token of another
    /// replica (the space was reloaded or rebuilt) gives every task.
    pub fn of(
        info: SpaceInfo,
        replica: &Replica,
        wants: Wants,
        since: Option<ChangeToken>,
    ) -> SpaceSnapshot {
        let token = replica.change_token();
        let changed = match since {
            Some(t) if wants.tasks && !wants.board => {
                replica.tasks_changed_since(t).map(|tasks| (t, tasks))
            }
            _ => None,
        };
        let (tasks, tasks_since) = match changed {
            Some((t, tasks)) => (Some(tasks), Some(t)),
            None => ((wants.tasks || wants.board).then(|| replica.tasks()), None),
        };
        let reports = (wants.reports || wants.board).then(|| replica.situation_reports());
        let requests = (wants.requests || wants.board).then(|| replica.resource_requests());
        let incidents = (wants.incidents || wants.board).then(|| replica.incidents());
        let board = wants.board.then(|| {
            BoardView::of(
                tasks.as_deref().unwrap_or_default(),
                reports.as_deref().unwrap_or_default(),
                incidents.as_deref().unwrap_or_default(),
                requests.as_deref().unwrap_or_default(),
            )
        });
        SpaceSnapshot {
            info,
            wants,
            board,
            tasks: tasks.filter(|_| wants.tasks),
            tasks_token: wants.tasks.then_some(token),
            tasks_since,
            reports: reports.filter(|_| wants.reports),
            journal: wants.journal.then(|| replica.journal()),
            requests: requests.filter(|_| wants.requests),
            incidents: incidents.filter(|_| wants.incidents),
            contacts: wants.contacts.then(|| replica.contacts()),
        }
    }

    /// This snapshot with its changed tasks merged into `earlier`'s list (the list it was asked
    /// against), so the result is the whole picture at this snapshot's token. `None` when the
    /// two do not fit together (then ask again without a token).
    pub fn merged_into(mut self, earlier: &SpaceSnapshot) -> Option<SpaceSnapshot> {
        let Some(since) = self.tasks_since else {
            return Some(self);
        };
        if earlier.tasks_token != Some(since) || earlier.info.id != self.info.id {
            return None;
        }
        let mut all = earlier.tasks.clone()?;
        merge_changed_tasks(&mut all, self.tasks.take().unwrap_or_default());
        self.tasks = Some(all);
        self.tasks_since = None;
        Some(self)
    }
}

/// Merges `changed` tasks into `all` (a whole list in creation order, as a snapshot brings it):
/// a task already there is replaced where it stands, a new one joins in creation order. Generic
/// over how a task is held, so a reader that shares its tasks (`Rc<Task>`) merges a change
/// into 10,000 tasks by copying pointers, not tasks.
pub fn merge_changed_tasks<T: AsRef<Task>>(all: &mut Vec<T>, changed: Vec<T>) {
    if changed.is_empty() {
        return;
    }
    // The changes are few: index them, and walk the list once.
    let mut changed: Vec<Option<T>> = changed.into_iter().map(Some).collect();
    let slots: std::collections::HashMap<crate::ids::RecordId, usize> = changed
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some((t.as_ref()?.as_ref().meta.id, i)))
        .collect();
    for held in all.iter_mut() {
        if let Some(i) = slots.get(&held.as_ref().meta.id) {
            if let Some(task) = changed[*i].take() {
                *held = task;
            }
        }
    }
    // New tasks, in the order they came (a stable sort keeps it among equal times).
    let mut added: Vec<T> = changed.into_iter().flatten().collect();
    if added.is_empty() {
        return;
    }
    added.sort_by_key(|t| t.as_ref().meta.created_at);
    let in_order = match (all.last(), added.first()) {
        (Some(last), Some(first)) => {
            last.as_ref().meta.created_at <= first.as_ref().meta.created_at
        }
        _ => true,
    };
    all.extend(added);
    if !in_order {
        // Creation order, as a whole list comes (a stable sort: runs already in order are
        // merged, not sorted again).
        all.sort_by_key(|t| t.as_ref().meta.created_at);
    }
}

/// One column of open tasks on the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardColumn {
    pub status: TaskStatus,
    /// How many tasks have this status.
    pub count: usize,
    /// The first [`BOARD_TASKS_PER_COLUMN`], by deadline (none last), then priority.
    pub tasks: Vec<Task>,
}

/// What the situation board draws.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardView {
    /// Incidents not closed, in creation order.
    pub incidents: Vec<Incident>,
    /// Requests not yet settled, in creation order.
    pub open_requests: Vec<ResourceRequest>,
    pub columns: Vec<BoardColumn>,
    /// Deadlines of every open task, ascending, so the UI counts the overdue ones at any
    /// moment without the tasks themselves.
    pub open_deadlines: Vec<Timestamp>,
    /// The newest report (by "stav k") of each sender, newest first.
    pub latest_reports: Vec<SituationReport>,
    /// Whether the space has any report at all.
    pub any_reports: bool,
}

impl BoardView {
    pub fn of(
        tasks: &[Task],
        reports: &[SituationReport],
        incidents: &[Incident],
        requests: &[ResourceRequest],
    ) -> BoardView {
        let columns = BOARD_COLUMNS
            .iter()
            .map(|status| {
                let mut of: Vec<&Task> = tasks.iter().filter(|t| t.status == *status).collect();
                of.sort_by_key(|t| {
                    (
                        t.deadline.is_none(),
                        t.deadline,
                        std::cmp::Reverse(t.priority),
                    )
                });
                BoardColumn {
                    status: *status,
                    count: of.len(),
                    tasks: of
                        .into_iter()
                        .take(BOARD_TASKS_PER_COLUMN)
                        .cloned()
                        .collect(),
                }
            })
            .collect();
        let mut open_deadlines: Vec<Timestamp> = tasks
            .iter()
            .filter(|t| !t.status.is_terminal())
            .filter_map(|t| t.deadline)
            .collect();
        open_deadlines.sort();
        BoardView {
            incidents: incidents
                .iter()
                .filter(|i| i.state != IncidentState::Closed)
                .cloned()
                .collect(),
            open_requests: requests
                .iter()
                .filter(|r| !r.status.is_terminal())
                .cloned()
                .collect(),
            columns,
            open_deadlines,
            latest_reports: latest_per_sender(reports).into_iter().cloned().collect(),
            any_reports: !reports.is_empty(),
        }
    }

    /// Open tasks past their deadline at `now`.
    pub fn overdue(&self, now: Timestamp) -> usize {
        self.open_deadlines.partition_point(|d| *d < now)
    }
}

/// The newest report (by "stav k") of each sender, newest first; superseded reports never
/// count.
pub fn latest_per_sender(reports: &[SituationReport]) -> Vec<&SituationReport> {
    let mut latest: std::collections::BTreeMap<String, &SituationReport> = Default::default();
    for r in reports.iter().filter(|r| r.superseded_by.is_empty()) {
        let key = r.sender.to_lowercase();
        if latest
            .get(&key)
            .is_none_or(|old| (old.as_of, &old.meta.created_at) < (r.as_of, &r.meta.created_at))
        {
            latest.insert(key, r);
        }
    }
    let mut out: Vec<_> = latest.into_values().collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.as_of));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FieldValue, RecordKind, Status};
    use crate::testing::ops::{create_task, edit, id, set, transition, SPACE};
    use crate::RecordId;

    fn info() -> SpaceInfo {
        SpaceInfo {
            id: SPACE.to_string(),
            name: "Krizový štáb ORP Vsetín".into(),
            role: "chair".into(),
            role_cs: "předseda štábu".into(),
            records: 0,
            operations: 0,
            read_only: None,
            orp: None,
            member_name: None,
            exercise: false,
        }
    }

    /// `n` tasks, task i due at minute i; the first `done` of them done.
    fn replica(n: u64, done: u64) -> Replica {
        let mut r = Replica::new(SPACE);
        let mut seq = 0;
        for i in 0..n {
            seq += 1;
            let op = id(1, seq);
            r.apply(create_task(op, seq, &format!("Úkol {i}"))).unwrap();
            let record = RecordId::for_create(&op);
            seq += 1;
            let due = Timestamp((i as i64 + 1) * 60_000);
            r.apply(edit(
                id(1, seq),
                seq,
                record,
                RecordKind::Task,
                vec![set(FieldValue::Deadline(due), &[])],
            ))
            .unwrap();
            if i < done {
                seq += 1;
                r.apply(edit(
                    id(1, seq),
                    seq,
                    record,
                    RecordKind::Task,
                    vec![transition(
                        Status::Task(TaskStatus::Assigned),
                        Status::Task(TaskStatus::Done),
                        &[],
                    )],
                ))
                .unwrap();
            }
        }
        r
    }

    #[test]
    fn the_board_counts_everything_and_draws_a_few() {
        let r = replica(30, 5);
        let s = SpaceSnapshot::of(
            info(),
            &r,
            Wants {
                board: true,
                ..Wants::default()
            },
            None,
        );
        // Only the board was asked for: no list comes along.
        assert!(s.tasks.is_none() && s.reports.is_none() && s.journal.is_none());
        assert!(s.requests.is_none() && s.incidents.is_none() && s.contacts.is_none());
        let board = s.board.unwrap();
        let assigned = &board.columns[0];
        assert_eq!(assigned.status, TaskStatus::Assigned);
        assert_eq!(assigned.count, 25);
        assert_eq!(assigned.tasks.len(), BOARD_TASKS_PER_COLUMN);
        // Earliest deadline first: the five done tasks had the five earliest.
        assert_eq!(assigned.tasks[0].title, "Úkol 5");
        // Done tasks are never overdue; minute 10 has passed for tasks 5..9 of the open ones.
        assert_eq!(board.overdue(Timestamp(10 * 60_000 + 1)), 5);
        assert_eq!(board.overdue(Timestamp(0)), 0);
        assert_eq!(board.overdue(Timestamp(i64::MAX)), 25);
    }

    #[test]
    fn a_screen_gets_the_lists_it_asks_for_from_one_state() {
        let r = replica(3, 1);
        let s = SpaceSnapshot::of(
            info(),
            &r,
            Wants {
                tasks: true,
                ..Wants::default()
            },
            None,
        );
        assert!(s.board.is_none());
        assert_eq!(s.tasks.as_ref().map(Vec::len), Some(3));
        assert!(s.reports.is_none());
        let all = SpaceSnapshot::of(info(), &r, Wants::ALL, None);
        assert_eq!(all.tasks, s.tasks);
        assert_eq!(all.journal, Some(Vec::new()));
        assert_eq!(all.board.map(|b| b.columns[0].count), Some(2));
    }

    #[test]
    fn a_reader_with_a_token_gets_only_what_changed_and_merges_to_the_whole() {
        let mut r = replica(5, 0);
        let wants = Wants {
            tasks: true,
            ..Wants::default()
        };
        let first = SpaceSnapshot::of(info(), &r, wants, None);
        assert_eq!(first.tasks.as_ref().map(Vec::len), Some(5));
        // One new task and one changed one.
        let seq = 100;
        r.apply(create_task(id(2, 1), seq, "Nový úkol")).unwrap();
        let changed = first.tasks.as_ref().unwrap()[2].meta.id;
        r.apply(edit(
            id(1, 11),
            seq + 1,
            changed,
            RecordKind::Task,
            vec![set(FieldValue::Title("Přejmenovaný".into()), &[])],
        ))
        .unwrap();
        let delta = SpaceSnapshot::of(info(), &r, wants, first.tasks_token);
        assert_eq!(
            delta.tasks.as_ref().map(Vec::len),
            Some(2),
            "only what changed"
        );
        let merged = delta.merged_into(&first).expect("fits the earlier list");
        let whole = SpaceSnapshot::of(info(), &r, wants, None);
        assert_eq!(merged.tasks, whole.tasks);
        assert_eq!(merged.tasks_token, whole.tasks_token);
        // A token of another replica (a reload) gives everything; a delta never fits a list
        // it was not asked against.
        let other = replica(5, 0);
        let from_other = SpaceSnapshot::of(info(), &other, wants, first.tasks_token);
        assert_eq!(from_other.tasks_since, None);
        assert_eq!(from_other.tasks.as_ref().map(Vec::len), Some(5));
        let again = SpaceSnapshot::of(info(), &r, wants, first.tasks_token);
        assert!(again.merged_into(&whole).is_none());
    }

    #[test]
    fn shared_tasks_merge_to_the_whole_list_and_keep_every_unchanged_task() {
        use std::rc::Rc;
        let mut r = replica(6, 0);
        let wants = Wants {
            tasks: true,
            ..Wants::default()
        };
        let first = SpaceSnapshot::of(info(), &r, wants, None);
        let mut shown: Vec<Rc<Task>> = first
            .tasks
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(Rc::new)
            .collect();
        let before = shown.clone();
        // Two new tasks and an edit of the fourth.
        r.apply(create_task(id(2, 1), 200, "První nový")).unwrap();
        r.apply(create_task(id(3, 1), 201, "Druhý nový")).unwrap();
        let edited = shown[3].meta.id;
        r.apply(edit(
            id(1, 13),
            202,
            edited,
            RecordKind::Task,
            vec![set(FieldValue::Title("Přejmenovaný".into()), &[])],
        ))
        .unwrap();
        let delta = SpaceSnapshot::of(info(), &r, wants, first.tasks_token);
        let changed: Vec<Rc<Task>> = delta
            .tasks
            .unwrap_or_default()
            .into_iter()
            .map(Rc::new)
            .collect();
        merge_changed_tasks(&mut shown, changed);
        let whole = SpaceSnapshot::of(info(), &r, wants, None)
            .tasks
            .unwrap_or_default();
        let merged: Vec<Task> = shown.iter().map(|t| (**t).clone()).collect();
        assert_eq!(merged, whole);
        for (i, t) in before.iter().enumerate() {
            let now = &shown[i];
            assert_eq!(
                Rc::ptr_eq(t, now),
                t.meta.id != edited,
                "task {i}: only the edited one is new"
            );
        }
    }
}
