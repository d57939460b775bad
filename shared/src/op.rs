//! Operations: every change to a space is one signed, encrypted [`Operation`] (the signing and
//! encryption come with the engine). This module owns the operation's shape, its stateless
//! validation and its one canonical, versioned binary encoding.
//!
//! Encoding: one version byte, then postcard. Decoding refuses anything over
//! [`MAX_OP_BYTES`] before reading it, never panics, bounds every list while reading, and accepts
//! only the canonical form (re-encoding must give back the same bytes), so an operation has
//! exactly one byte representation to sign and hash.

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::hlc::{Hlc, Stamp};
use crate::ids::{DeviceId, OpId, RecordId, SpaceId};
use crate::record::{
    check_text, FieldKey, FieldValue, RecordKind, RequestStatus, SetField, Status, ValueProblem,
    LONG_TEXT, SHORT_TEXT,
};

/// The encoding version this build writes and reads.
pub const OP_ENCODING_VERSION: u8 = 1;
/// Hard limit on one encoded operation.
pub const MAX_OP_BYTES: usize = 64 * 1024;
/// Most changes in one operation.
pub const MAX_CHANGES: usize = 128;
/// Most versions one edit may name as seen (and so replace).
pub const MAX_BASES: usize = 16;
/// Most earlier additions one removal from a set may name.
pub const MAX_OBSERVED: usize = 64;

/// Operation ids an edit names as the versions it saw and replaces.
pub type Bases = BoundedVec<OpId, MAX_BASES>;

/// One field-level change inside an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Creates the record. Must come first, at most once, and the operation's record id must be
    /// [`RecordId::for_create`] of the operation's id.
    Create,
    /// Sets a scalar field. `bases` are the versions of that field the author saw (empty when it
    /// saw none): they are replaced; versions not named stay as concurrent alternatives.
    Set { value: FieldValue, bases: Bases },
    /// Adds an element to an add-wins set.
    Add { set: SetField, element: String },
    /// Removes the additions of `element` that the author saw (`observed`); an addition it did
    /// not see survives (add wins).
    Remove {
        set: SetField,
        element: String,
        observed: BoundedVec<OpId, MAX_OBSERVED>,
    },
    /// Appends a comment (append-only).
    Comment { text: String },
    /// Moves the status. `from` is what the author saw, `bases` the status versions it saw.
    /// With two or more bases it resolves a conflict and may choose any status of the kind.
    /// `note` is the reason (required when a request is rejected).
    Transition {
        from: Status,
        to: Status,
        note: String,
        bases: Bases,
    },
}

/// One change to one record of one space, by one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Author device and its sequence number in this space.
    pub id: OpId,
    /// When it was made, on the author's hybrid logical clock.
    pub hlc: Hlc,
    pub space: SpaceId,
    pub record: RecordId,
    pub kind: RecordKind,
    pub changes: BoundedVec<Change, MAX_CHANGES>,
}

/// Why an operation is malformed, whatever the state it would be applied to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOp {
    #[error("sequence numbers start at 1")]
    ZeroSequence,
    #[error("operation changes nothing")]
    NoChanges,
    #[error("operation holds more than {max} changes")]
    TooManyChanges { max: usize },
    #[error("a record is created by the first change of an operation, once")]
    MisplacedCreate,
    #[error("the record id does not belong to the operation that creates it")]
    CreateIdMismatch,
    #[error("{kind:?} records are written once and never changed afterwards")]
    ImmutableRecord { kind: RecordKind },
    #[error("{field:?} is required when creating a {kind:?}")]
    MissingRequired { kind: RecordKind, field: FieldKey },
    #[error("{field:?} must not be empty")]
    EmptyRequired { field: FieldKey },
    #[error("{field:?} is not a field of {kind:?}")]
    FieldNotOnKind { field: FieldKey, kind: RecordKind },
    #[error("{field:?} is set twice in one operation")]
    DuplicateField { field: FieldKey },
    #[error("{field:?}: {problem}")]
    BadValue {
        field: FieldKey,
        problem: ValueProblem,
    },
    #[error("{set:?} is not a set of {kind:?}")]
    SetNotOnKind { set: SetField, kind: RecordKind },
    #[error("set element: {problem}")]
    BadElement { problem: ValueProblem },
    #[error("{kind:?} records take no comments")]
    NoComments { kind: RecordKind },
    #[error("comment: {problem}")]
    BadComment { problem: ValueProblem },
    #[error("{kind:?} records have no status")]
    NoStatus { kind: RecordKind },
    #[error("status {} does not belong to {kind:?}", status.code())]
    StatusNotOnKind { status: Status, kind: RecordKind },
    #[error("status cannot move from {} to {}", from.code(), to.code())]
    InvalidTransition { from: Status, to: Status },
    #[error("a rejected request needs a reason")]
    RejectionWithoutReason,
    #[error("status note: {problem}")]
    BadNote { problem: ValueProblem },
}

/// Why bytes were not accepted as an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("operation is {len} bytes; at most {max} are accepted")]
    TooLarge { len: usize, max: usize },
    #[error("empty input")]
    Empty,
    #[error("unknown encoding version {0}")]
    UnknownVersion(u8),
    #[error("malformed operation: {0}")]
    Malformed(postcard::Error),
    #[error("operation has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("operation is not in canonical form")]
    NotCanonical,
    #[error("invalid operation: {0}")]
    Invalid(#[from] InvalidOp),
}

/// Why an operation could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("operation encodes to {len} bytes; at most {max} are allowed")]
    TooLarge { len: usize, max: usize },
    #[error("encoding failed: {0}")]
    Postcard(postcard::Error),
}

impl Operation {
    pub fn author(&self) -> DeviceId {
        self.id.device
    }

    /// The operation's place in the total order.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            hlc: self.hlc,
            device: self.id.device,
        }
    }

    /// Whether this operation creates its record.
    pub fn creates(&self) -> bool {
        matches!(self.changes.first(), Some(Change::Create))
    }

    /// The canonical bytes: version byte, then postcard.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let bytes =
            postcard::to_extend(self, vec![OP_ENCODING_VERSION]).map_err(EncodeError::Postcard)?;
        if bytes.len() > MAX_OP_BYTES {
            return Err(EncodeError::TooLarge {
                len: bytes.len(),
                max: MAX_OP_BYTES,
            });
        }
        Ok(bytes)
    }

    /// A validated operation that creates a new record of `kind` with `changes` (field values,
    /// set additions); the record id is derived from `id`.
    pub fn new_record(
        id: OpId,
        hlc: Hlc,
        space: SpaceId,
        kind: RecordKind,
        changes: Vec<Change>,
    ) -> Result<Operation, InvalidOp> {
        let mut all = Vec::with_capacity(changes.len() + 1);
        all.push(Change::Create);
        all.extend(changes);
        Operation::edit(id, hlc, space, RecordId::for_create(&id), kind, all)
    }

    /// A validated operation that changes an existing record.
    pub fn edit(
        id: OpId,
        hlc: Hlc,
        space: SpaceId,
        record: RecordId,
        kind: RecordKind,
        changes: Vec<Change>,
    ) -> Result<Operation, InvalidOp> {
        let changes = BoundedVec::try_from(changes)
            .map_err(|_| InvalidOp::TooManyChanges { max: MAX_CHANGES })?;
        let op = Operation {
            id,
            hlc,
            space,
            record,
            kind,
            changes,
        };
        op.validate()?;
        Ok(op)
    }

    /// Decodes and validates untrusted bytes. Never panics; allocates at most a small multiple
    /// of the input (which is at most [`MAX_OP_BYTES`]).
    pub fn decode(bytes: &[u8]) -> Result<Operation, DecodeError> {
        if bytes.len() > MAX_OP_BYTES {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: MAX_OP_BYTES,
            });
        }
        let (&version, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if version != OP_ENCODING_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let (op, rest): (Operation, &[u8]) =
            postcard::take_from_bytes(body).map_err(DecodeError::Malformed)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes(rest.len()));
        }
        let canonical = postcard::to_allocvec(&op).map_err(DecodeError::Malformed)?;
        if canonical != body {
            return Err(DecodeError::NotCanonical);
        }
        op.validate()?;
        Ok(op)
    }

    /// Checks everything that can be checked without the space's state.
    pub fn validate(&self) -> Result<(), InvalidOp> {
        if self.id.seq == 0 {
            return Err(InvalidOp::ZeroSequence);
        }
        if self.changes.is_empty() {
            return Err(InvalidOp::NoChanges);
        }
        let creates = self.creates();
        if self
            .changes
            .iter()
            .skip(1)
            .any(|c| matches!(c, Change::Create))
        {
            return Err(InvalidOp::MisplacedCreate);
        }
        if creates && self.record != RecordId::for_create(&self.id) {
            return Err(InvalidOp::CreateIdMismatch);
        }
        let kind = self.kind;
        if kind.is_immutable() && !creates {
            return Err(InvalidOp::ImmutableRecord { kind });
        }
        let mut seen_fields: Vec<FieldKey> = Vec::new();
        for change in self.changes.iter() {
            match change {
                Change::Create => {}
                Change::Set { value, .. } => {
                    let field = value.key();
                    if !field.allowed_on(kind) {
                        return Err(InvalidOp::FieldNotOnKind { field, kind });
                    }
                    if seen_fields.contains(&field) {
                        return Err(InvalidOp::DuplicateField { field });
                    }
                    seen_fields.push(field);
                    value
                        .check()
                        .map_err(|problem| InvalidOp::BadValue { field, problem })?;
                    if kind.required_fields().contains(&field) && value.is_empty_text() {
                        return Err(InvalidOp::EmptyRequired { field });
                    }
                }
                Change::Add { set, element } | Change::Remove { set, element, .. } => {
                    if kind.is_immutable() && matches!(change, Change::Remove { .. }) {
                        return Err(InvalidOp::ImmutableRecord { kind });
                    }
                    if !set.allowed_on(kind) {
                        return Err(InvalidOp::SetNotOnKind { set: *set, kind });
                    }
                    check_text(element, SHORT_TEXT)
                        .and_then(|()| non_empty(element))
                        .map_err(|problem| InvalidOp::BadElement { problem })?;
                }
                Change::Comment { text } => {
                    if !kind.has_comments() {
                        return Err(InvalidOp::NoComments { kind });
                    }
                    check_text(text, LONG_TEXT)
                        .and_then(|()| non_empty(text))
                        .map_err(|problem| InvalidOp::BadComment { problem })?;
                }
                Change::Transition {
                    from,
                    to,
                    note,
                    bases,
                } => {
                    if !kind.has_status() {
                        return Err(InvalidOp::NoStatus { kind });
                    }
                    for status in [from, to] {
                        if !status.belongs_to(kind) {
                            return Err(InvalidOp::StatusNotOnKind {
                                status: *status,
                                kind,
                            });
                        }
                    }
                    let resolves_conflict = bases.len() >= 2;
                    if !resolves_conflict && !from.can_move_to(*to) {
                        return Err(InvalidOp::InvalidTransition {
                            from: *from,
                            to: *to,
                        });
                    }
                    check_text(note, LONG_TEXT)
                        .map_err(|problem| InvalidOp::BadNote { problem })?;
                    if *to == Status::Request(RequestStatus::Rejected) && note.trim().is_empty() {
                        return Err(InvalidOp::RejectionWithoutReason);
                    }
                }
            }
        }
        if creates {
            for &field in kind.required_fields() {
                if !seen_fields.contains(&field) {
                    return Err(InvalidOp::MissingRequired { kind, field });
                }
            }
        }
        Ok(())
    }
}

fn non_empty(text: &str) -> Result<(), ValueProblem> {
    if text.trim().is_empty() {
        Err(ValueProblem::Empty)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
