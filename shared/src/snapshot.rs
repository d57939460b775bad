//! One consistent picture of a space for the UI: [`SpaceSnapshot`] holds exactly the lists the
//! shown screen asks for ([`Wants`]), all taken from one state of the replica, and the
//! situation board as [`BoardView`] — the counts and the few records the board draws, never
//! every record (a space can hold 10,000 tasks). Pure: the engine builds it from a
//! [`Replica`], the UI only reads it.

use serde::{Deserialize, Serialize};

use crate::api::SpaceInfo;
use crate::merge::Replica;
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
    pub tasks: Option<Vec<Task>>,
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
            reports: None,
            journal: None,
            requests: None,
            incidents: None,
            contacts: None,
        }
    }

    /// The lists `wants` names, from `replica`.
    pub fn of(info: SpaceInfo, replica: &Replica, wants: Wants) -> SpaceSnapshot {
        let tasks = (wants.tasks || wants.board).then(|| replica.tasks());
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
            reports: reports.filter(|_| wants.reports),
            journal: wants.journal.then(|| replica.journal()),
            requests: requests.filter(|_| wants.requests),
            incidents: incidents.filter(|_| wants.incidents),
            contacts: wants.contacts.then(|| replica.contacts()),
        }
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
        );
        assert!(s.board.is_none());
        assert_eq!(s.tasks.as_ref().map(Vec::len), Some(3));
        assert!(s.reports.is_none());
        let all = SpaceSnapshot::of(info(), &r, Wants::ALL);
        assert_eq!(all.tasks, s.tasks);
        assert_eq!(all.journal, Some(Vec::new()));
        assert_eq!(all.board.map(|b| b.columns[0].count), Some(2));
    }
}
