//! The one write path for records, used by the desktop app and `krizlink-node` alike: a new
//! record from its form input ([`RecordInput`]), a change of fields ([`FieldEdit`]), a comment,
//! and the concurrent values of a record's conflicting fields.
//!
//! Everything a write needs beyond the form is decided here, so every path writes the same
//! record: references to earlier records (`supersedes`, `corrects`) must name an existing record
//! of that kind, a journal entry's author defaults to the identity's name and its workstation is
//! always this device, and an edit names the versions this device shows (register heads, the
//! additions of a removed element) so choosing a value resolves a conflict.

use crate::api::{FieldConflict, FieldEdit, FormErrors, Problem, RecordInput};
use crate::ids::{RecordId, SpaceId};
use crate::op::Change;
use crate::record::{FieldValue, RecordKind};

use super::{Node, NodeError};

/// Why a record write was refused. Messages are English sentences for the CLI; the desktop
/// turns each variant into a Czech one.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The form is not filled in correctly (each field with its problem).
    #[error("{}", form_en(.0))]
    Form(FormErrors),
    /// A reference to an earlier record is not a record id.
    #[error("the referenced record id is not a valid record id")]
    BadReference,
    /// A reference names no record of `kind` in the space.
    #[error("the referenced {} is not in this space", .kind.code())]
    MissingReference { kind: RecordKind },
    /// The record to change does not exist in the space.
    #[error("no {kind:?} with this id in this space")]
    NoSuchRecord { kind: RecordKind },
    /// A field has more concurrent versions than one operation can name.
    #[error("the record has too many concurrent versions of a field; ask an administrator")]
    TooManyVersions,
    /// The edit changes nothing.
    #[error("nothing to change")]
    NothingChanged,
    /// A comment without text.
    #[error("a comment must not be empty")]
    EmptyComment,
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// The form problems as one English line, each naming its field.
fn form_en(errors: &FormErrors) -> String {
    if errors.is_empty() {
        return "the form is not filled in correctly".into();
    }
    errors
        .iter()
        .map(|e| {
            let f = &e.field;
            match e.problem {
                Problem::Required => format!("{f} must not be empty"),
                Problem::TooLong { max } => format!("{f} is too long (at most {max} bytes)"),
                Problem::ControlCharacter => format!("{f} contains a control character"),
                Problem::NotATime => format!("{f} is not a date and time"),
                Problem::TimeOutOfRange => format!("{f} is outside the years 1970 to 9999"),
                Problem::NotANumber => format!("{f} is not a whole number of zero or more"),
                other => format!("{f}: {}", other.en()),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn set(value: FieldValue) -> Change {
    Change::Set {
        value,
        bases: Default::default(),
    }
}

impl Node {
    /// Writes a new record from its form input; returns its id once the operation is durable.
    ///
    /// The input is validated; a report's `supersedes` and an entry's `corrects` must name an
    /// existing record of the same kind; a journal entry gets the identity's name as its author
    /// when none is given, and always this device's short id as its workstation.
    pub fn create_from(
        &mut self,
        space: SpaceId,
        input: &RecordInput,
    ) -> Result<RecordId, WriteError> {
        self.create_linked(space, input, &[], None)
    }

    /// [`Node::create_from`], the new record linked to `links` (vazba): e.g. a response to
    /// the released inject it answers in a drill; and in a drill, written by exercise control
    /// as `simulated_for` (the simulation cell: "ČHMÚ — simulováno").
    pub fn create_linked(
        &mut self,
        space: SpaceId,
        input: &RecordInput,
        links: &[RecordId],
        simulated_for: Option<&str>,
    ) -> Result<RecordId, WriteError> {
        let mut changes = input.to_changes().map_err(WriteError::Form)?;
        if let Some(name) = simulated_for.map(str::trim).filter(|n| !n.is_empty()) {
            changes.push(set(FieldValue::SimulatedFor(name.to_owned())));
        }
        for link in links {
            changes.push(Change::Add {
                set: crate::record::SetField::Links,
                element: link.to_string(),
            });
        }
        match input {
            RecordInput::SituationReport(report) => {
                let old = self.reference(
                    space,
                    RecordKind::SituationReport,
                    report.supersedes.as_deref(),
                )?;
                if let Some(old) = old {
                    changes.push(set(FieldValue::Supersedes(old)));
                }
            }
            RecordInput::JournalEntry(entry) => {
                let old =
                    self.reference(space, RecordKind::JournalEntry, entry.corrects.as_deref())?;
                if let Some(old) = old {
                    changes.push(set(FieldValue::Corrects(old)));
                }
                if entry.author.trim().is_empty() {
                    changes.push(set(FieldValue::Author(self.name().to_owned())));
                }
                changes.push(set(FieldValue::Workstation(self.device_id().short())));
            }
            RecordInput::Task(_)
            | RecordInput::ResourceRequest(_)
            | RecordInput::Incident(_)
            | RecordInput::Contact(_) => {}
        }
        Ok(self.create_record(space, input.kind(), changes)?)
    }

    /// The id of an existing record of `kind` named by a form (`None` when the form names none).
    fn reference(
        &self,
        space: SpaceId,
        kind: RecordKind,
        text: Option<&str>,
    ) -> Result<Option<RecordId>, WriteError> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let id: RecordId = text.parse().map_err(|_| WriteError::BadReference)?;
        if self.replica(space)?.record(kind, id).is_none() {
            return Err(WriteError::MissingReference { kind });
        }
        Ok(Some(id))
    }

    /// Changes scalar fields and sets of a record. Each value replaces every version of its
    /// field this device shows (so choosing a value of a conflicting field resolves the
    /// conflict); a removal removes every addition of the element this device has seen.
    pub fn edit_fields(
        &mut self,
        space: SpaceId,
        kind: RecordKind,
        record: RecordId,
        edit: &FieldEdit,
    ) -> Result<(), WriteError> {
        let state = self
            .replica(space)?
            .record(kind, record)
            .ok_or(WriteError::NoSuchRecord { kind })?;
        let mut changes = Vec::new();
        for value in &edit.values {
            let bases = state
                .register(value.key())
                .map(|r| r.heads())
                .unwrap_or_default();
            changes.push(Change::Set {
                value: value.clone(),
                bases: bases.try_into().map_err(|_| WriteError::TooManyVersions)?,
            });
        }
        for (set, element) in &edit.add {
            changes.push(Change::Add {
                set: *set,
                element: element.trim().to_owned(),
            });
        }
        for (set, element) in &edit.remove {
            let observed = state
                .set(*set)
                .map(|s| s.additions_of(element))
                .unwrap_or_default();
            changes.push(Change::Remove {
                set: *set,
                element: element.clone(),
                observed: observed
                    .try_into()
                    .map_err(|_| WriteError::TooManyVersions)?,
            });
        }
        if changes.is_empty() {
            return Err(WriteError::NothingChanged);
        }
        self.edit_record(space, record, kind, changes)?;
        Ok(())
    }

    /// Adds a comment (trimmed, not empty) to a record that takes comments.
    pub fn add_comment(
        &mut self,
        space: SpaceId,
        kind: RecordKind,
        record: RecordId,
        text: &str,
    ) -> Result<(), WriteError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(WriteError::EmptyComment);
        }
        if self.replica(space)?.record(kind, record).is_none() {
            return Err(WriteError::NoSuchRecord { kind });
        }
        self.edit_record(
            space,
            record,
            kind,
            vec![Change::Comment {
                text: text.to_owned(),
            }],
        )?;
        Ok(())
    }

    /// The concurrent values of each conflicting field of a record, the shown one first.
    pub fn field_conflicts(
        &self,
        space: SpaceId,
        kind: RecordKind,
        record: RecordId,
    ) -> Result<Vec<FieldConflict>, WriteError> {
        let state = self
            .replica(space)?
            .record(kind, record)
            .ok_or(WriteError::NoSuchRecord { kind })?;
        Ok(state
            .field_conflicts()
            .into_iter()
            .map(|(field, alternatives)| {
                let mut values: Vec<FieldValue> = state.field(field).into_iter().cloned().collect();
                values.extend(alternatives.into_iter().map(|(_, _, v)| v.clone()));
                FieldConflict { field, values }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::api::{JournalInput, SitrepInput, TaskInput};
    use crate::engine::keystore::KdfParams;
    use crate::record::FieldKey;
    use crate::record::StaffRole;
    use crate::views::JournalEntry;
    use crate::vv::VersionVector;

    const PASS: &str = "heslo-pro-test";

    /// A fresh scratch dir for one test (removed by [`Scratch`]'s drop).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("krizlink-records-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn node(dir: &Scratch, who: &str) -> Node {
        Node::init(&dir.0.join(who), who, PASS, KdfParams::for_tests()).unwrap()
    }

    fn entry(node: &Node, space: SpaceId, id: RecordId) -> JournalEntry {
        node.replica(space)
            .unwrap()
            .journal()
            .into_iter()
            .find(|e| e.meta.id == id)
            .unwrap()
    }

    #[test]
    fn a_journal_entry_gets_its_author_and_workstation_from_the_device() {
        let dir = Scratch::new("journal-defaults");
        let mut jana = node(&dir, "Jana Nováková");
        let space = jana.create_space("Krizový štáb").unwrap();
        let input = |author: &str, corrects: Option<String>| {
            RecordInput::JournalEntry(JournalInput {
                text: "Hladina Bečvy stoupá.".into(),
                author: author.into(),
                corrects,
                ..Default::default()
            })
        };
        let first = jana.create_from(space, &input("  ", None)).unwrap();
        let shown = entry(&jana, space, first);
        assert_eq!(shown.author.as_deref(), Some("Jana Nováková"));
        let short = jana.device_id().short();
        assert_eq!(shown.workstation.as_deref(), Some(short.as_str()));

        let second = jana
            .create_from(space, &input("Petr", Some(first.to_string())))
            .unwrap();
        let shown = entry(&jana, space, second);
        assert_eq!(
            shown.author.as_deref(),
            Some("Petr"),
            "a given author stays"
        );
        assert_eq!(shown.workstation.as_deref(), Some(short.as_str()));
        assert_eq!(shown.corrects, Some(first));
        jana.close().unwrap();
    }

    #[test]
    fn bad_references_and_bad_forms_are_refused_before_anything_is_written() {
        let dir = Scratch::new("bad-reference");
        let mut jana = node(&dir, "Jana");
        let space = jana.create_space("Krizový štáb").unwrap();
        let task = jana
            .create_from(
                space,
                &RecordInput::Task(TaskInput {
                    title: "Zajistit pytle".into(),
                    ..Default::default()
                }),
            )
            .unwrap();
        let before = jana.have(space).unwrap().total();
        let report = |supersedes: &str| {
            RecordInput::SituationReport(SitrepInput {
                sender: "ORP Vsetín".into(),
                as_of: Some(crate::record::Timestamp(1_800_000_000_000)),
                supersedes: Some(supersedes.into()),
                ..Default::default()
            })
        };
        assert!(matches!(
            jana.create_from(space, &report("nonsense")),
            Err(WriteError::BadReference)
        ));
        // A task's id is no report: the reference must be of the report's own kind.
        match jana.create_from(space, &report(&task.to_string())) {
            Err(e @ WriteError::MissingReference { kind }) => {
                assert_eq!(kind, RecordKind::SituationReport);
                assert!(e.to_string().contains("sitrep"), "{e}");
            }
            other => panic!("expected a missing reference, got {other:?}"),
        }
        match jana.create_from(space, &RecordInput::Task(TaskInput::default())) {
            Err(e @ WriteError::Form(_)) => {
                assert_eq!(e.to_string(), "title must not be empty")
            }
            other => panic!("expected a form error, got {other:?}"),
        }
        assert_eq!(jana.have(space).unwrap().total(), before, "nothing written");
        jana.close().unwrap();
    }

    #[test]
    fn an_empty_edit_or_comment_is_refused() {
        let dir = Scratch::new("nothing-changed");
        let mut jana = node(&dir, "Jana");
        let space = jana.create_space("Krizový štáb").unwrap();
        let task = jana
            .create_from(
                space,
                &RecordInput::Task(TaskInput {
                    title: "Zajistit pytle".into(),
                    ..Default::default()
                }),
            )
            .unwrap();
        assert!(matches!(
            jana.edit_fields(space, RecordKind::Task, task, &FieldEdit::default()),
            Err(WriteError::NothingChanged)
        ));
        assert!(matches!(
            jana.add_comment(space, RecordKind::Task, task, " \n "),
            Err(WriteError::EmptyComment)
        ));
        assert!(matches!(
            jana.add_comment(space, RecordKind::Incident, task, "Pytle jsou na cestě."),
            Err(WriteError::NoSuchRecord {
                kind: RecordKind::Incident
            })
        ));
        jana.add_comment(space, RecordKind::Task, task, "  Pytle jsou na cestě. ")
            .unwrap();
        let shown = jana.replica(space).unwrap().tasks();
        assert_eq!(shown[0].comments[0].text, "Pytle jsou na cestě.");
        jana.close().unwrap();
    }

    /// Sends everything `from` has and `to` lacks.
    fn sync(from: &Node, to: &mut Node, space: SpaceId) {
        let theirs = to.have(space).unwrap_or_else(|_| VersionVector::new());
        let (batch, more) = from
            .envelopes_missing_from(space, &theirs, 10_000, 1 << 24)
            .unwrap();
        assert!(!more);
        to.receive(space, batch, "test").unwrap();
    }

    #[test]
    fn an_edit_naming_the_heads_resolves_a_conflict() {
        let dir = Scratch::new("conflict");
        let mut jana = node(&dir, "Jana");
        let space = jana.create_space("Krizový štáb").unwrap();
        let code = jana.create_invite(space, StaffRole::Member, 60).unwrap();
        let mut petr = node(&dir, "Petr");
        let request = petr.request_join(&code).unwrap();
        let welcome = jana.accept_join(&request).unwrap();
        assert_eq!(petr.finish_join(&welcome).unwrap(), space);
        let task = jana
            .create_from(
                space,
                &RecordInput::Task(TaskInput {
                    title: "Zajistit pytle".into(),
                    ..Default::default()
                }),
            )
            .unwrap();
        sync(&jana, &mut petr, space);

        // Both change the title at once: a visible conflict on both devices.
        let title = |t: &str| FieldEdit {
            values: vec![FieldValue::Title(t.into())],
            ..Default::default()
        };
        jana.edit_fields(space, RecordKind::Task, task, &title("Pytle pro Vsetín"))
            .unwrap();
        petr.edit_fields(space, RecordKind::Task, task, &title("Pytle pro Zubří"))
            .unwrap();
        sync(&jana, &mut petr, space);
        sync(&petr, &mut jana, space);
        for node in [&jana, &petr] {
            let conflicts = node.field_conflicts(space, RecordKind::Task, task).unwrap();
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert_eq!(conflicts[0].field, FieldKey::Title);
            assert_eq!(conflicts[0].values.len(), 2);
        }

        // Jana chooses: the edit names both heads, so the conflict is gone everywhere.
        jana.edit_fields(space, RecordKind::Task, task, &title("Pytle pro Zubří"))
            .unwrap();
        sync(&jana, &mut petr, space);
        for node in [&jana, &petr] {
            assert_eq!(
                node.field_conflicts(space, RecordKind::Task, task).unwrap(),
                Vec::new()
            );
            assert_eq!(
                node.replica(space).unwrap().tasks()[0].title,
                "Pytle pro Zubří"
            );
        }
        assert!(matches!(
            jana.field_conflicts(space, RecordKind::Contact, task),
            Err(WriteError::NoSuchRecord { .. })
        ));
        jana.close().unwrap();
        petr.close().unwrap();
    }
}
