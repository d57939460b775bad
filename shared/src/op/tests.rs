//! Tests of operation validation and of the canonical encoding against untrusted bytes.

use proptest::prelude::*;

use super::*;
use crate::record::{Priority, TaskStatus, Timestamp};
use crate::testing::ops::*;
use crate::testing::peak_alloc;

fn sample_ops() -> Vec<Operation> {
    let task = Operation::new_record(
        id(1, 1),
        hlc(1_790_000_000_000),
        SPACE,
        RecordKind::Task,
        vec![
            set(
                FieldValue::Title("Zajistit protipovodňové pytle pro Vsetín".into()),
                &[],
            ),
            set(
                FieldValue::Description("Nejméně 2 000 ks, dodat do 18:00.".into()),
                &[],
            ),
            set(FieldValue::Priority(Priority::Critical), &[]),
            set(FieldValue::Deadline(Timestamp(1_790_003_600_000)), &[]),
            add(SetField::Assignees, "ORP Vsetín"),
            add(SetField::Tags, "povodeň"),
        ],
    )
    .unwrap();
    let status = edit(
        id(2, 7),
        1_790_000_100_000,
        task.record,
        RecordKind::Task,
        vec![
            transition(
                Status::Task(TaskStatus::Assigned),
                Status::Task(TaskStatus::Accepted),
                &[],
            ),
            Change::Comment {
                text: "Přijato, zajišťujeme.".into(),
            },
            remove(SetField::Tags, "povodeň", &[task.id]),
        ],
    );
    vec![task, status]
}

#[test]
fn encoding_round_trips_and_is_canonical() {
    for op in sample_ops() {
        let bytes = op.encode().unwrap();
        assert_eq!(bytes[0], OP_ENCODING_VERSION);
        assert_eq!(Operation::decode(&bytes).unwrap(), op);
        assert_eq!(Operation::decode(&bytes).unwrap().encode().unwrap(), bytes);
    }
}

#[test]
fn decoding_refuses_with_typed_reasons() {
    let bytes = sample_ops()[0].encode().unwrap();
    assert_eq!(Operation::decode(&[]), Err(DecodeError::Empty));
    let mut other_version = bytes.clone();
    other_version[0] = 9;
    assert_eq!(
        Operation::decode(&other_version),
        Err(DecodeError::UnknownVersion(9))
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        Operation::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
    let huge = vec![OP_ENCODING_VERSION; MAX_OP_BYTES + 1];
    assert_eq!(
        Operation::decode(&huge),
        Err(DecodeError::TooLarge {
            len: MAX_OP_BYTES + 1,
            max: MAX_OP_BYTES
        })
    );
    // A non-minimal varint for the sequence number (1 written as 0x81 0x00) is not canonical.
    let op = &sample_ops()[0];
    let body = postcard::to_allocvec(op).unwrap();
    let seq_at = 1 + 32; // after the version byte and the device id
    assert_eq!(bytes[seq_at], 1);
    let mut long_form = bytes[..seq_at].to_vec();
    long_form.extend_from_slice(&[0x81, 0x00]);
    long_form.extend_from_slice(&body[32 + 1..]);
    assert_eq!(
        Operation::decode(&long_form),
        Err(DecodeError::NotCanonical)
    );
}

#[test]
fn an_operation_too_large_to_encode_is_refused() {
    let long = "ř".repeat(LONG_TEXT / 2);
    let changes: Vec<Change> = (0..8)
        .map(|_| Change::Comment { text: long.clone() })
        .collect();
    let op = edit(id(1, 2), 5, RecordId([1; 16]), RecordKind::Task, changes);
    assert!(matches!(op.encode(), Err(EncodeError::TooLarge { .. })));
}

#[test]
fn truncations_and_bit_flips_of_valid_encodings_never_panic() {
    for op in sample_ops() {
        let bytes = op.encode().unwrap();
        for len in 0..bytes.len() {
            assert!(
                Operation::decode(&bytes[..len]).is_err(),
                "truncated to {len}"
            );
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                if let Ok(decoded) = Operation::decode(&flipped) {
                    // A flip may land in free text or an id and still be a valid operation,
                    // but then it is a different one with its own canonical bytes.
                    assert_ne!(decoded, op);
                    assert_eq!(decoded.encode().unwrap(), flipped);
                }
            }
        }
    }
}

#[test]
fn forged_lengths_allocate_little() {
    let bytes = sample_ops()[0].encode().unwrap();
    // Overwrite the change count (right after the kind) with a huge varint and give no data.
    let mut forged = bytes[..1 + 32 + 1 + 6 + 16 + 16 + 1].to_vec();
    forged.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let (result, peak) = peak_alloc(|| Operation::decode(&forged));
    assert!(result.is_err());
    assert!(peak < 16 * 1024, "peak {peak} bytes");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_stay_within_the_allocation_bound(
        bytes in proptest::collection::vec(any::<u8>(), 0..2_048),
        version_ok in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if version_ok && !bytes.is_empty() {
            bytes[0] = OP_ENCODING_VERSION;
        }
        let (result, peak) = peak_alloc(|| Operation::decode(&bytes));
        // Decoding holds at most the operation itself plus bounded lists: a small multiple
        // of the input, and never more than the hard limit.
        prop_assert!(peak <= MAX_OP_BYTES, "peak {} bytes for {} input bytes", peak, bytes.len());
        if let Ok(op) = result {
            prop_assert_eq!(op.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn valid_encodings_with_random_tails_or_cuts_are_refused(cut in 0usize..400, tail in proptest::collection::vec(any::<u8>(), 1..64)) {
        for op in sample_ops() {
            let bytes = op.encode().unwrap();
            let cut = cut % bytes.len();
            prop_assert!(Operation::decode(&bytes[..cut]).is_err());
            let mut longer = bytes.clone();
            longer.extend_from_slice(&tail);
            prop_assert!(Operation::decode(&longer).is_err());
        }
    }
}

#[test]
fn validation_names_what_is_wrong() {
    let rec = RecordId([3; 16]);
    let title = |t: &str| set(FieldValue::Title(t.into()), &[]);
    let cases: Vec<(Operation, InvalidOp)> = vec![
        (
            raw(id(1, 0), rec, RecordKind::Task, vec![title("x")]),
            InvalidOp::ZeroSequence,
        ),
        (
            raw(id(1, 1), rec, RecordKind::Task, vec![]),
            InvalidOp::NoChanges,
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::Task,
                vec![Change::Create, title("x")],
            ),
            InvalidOp::CreateIdMismatch,
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::Task,
                vec![title("x"), Change::Create],
            ),
            InvalidOp::MisplacedCreate,
        ),
        (
            raw(
                id(1, 1),
                RecordId::for_create(&id(1, 1)),
                RecordKind::Task,
                vec![Change::Create],
            ),
            InvalidOp::MissingRequired {
                kind: RecordKind::Task,
                field: FieldKey::Title,
            },
        ),
        (
            raw(id(1, 1), rec, RecordKind::Task, vec![title("  ")]),
            InvalidOp::EmptyRequired {
                field: FieldKey::Title,
            },
        ),
        (
            raw(id(1, 1), rec, RecordKind::Contact, vec![title("x")]),
            InvalidOp::FieldNotOnKind {
                field: FieldKey::Title,
                kind: RecordKind::Contact,
            },
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::Task,
                vec![title("x"), title("y")],
            ),
            InvalidOp::DuplicateField {
                field: FieldKey::Title,
            },
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::JournalEntry,
                vec![Change::Comment { text: "x".into() }],
            ),
            InvalidOp::ImmutableRecord {
                kind: RecordKind::JournalEntry,
            },
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::Contact,
                vec![Change::Comment { text: "x".into() }],
            ),
            InvalidOp::NoComments {
                kind: RecordKind::Contact,
            },
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::Task,
                vec![transition(
                    Status::Task(TaskStatus::Done),
                    Status::Task(TaskStatus::Assigned),
                    &[],
                )],
            ),
            InvalidOp::InvalidTransition {
                from: Status::Task(TaskStatus::Done),
                to: Status::Task(TaskStatus::Assigned),
            },
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::ResourceRequest,
                vec![transition(
                    Status::Request(RequestStatus::New),
                    Status::Request(RequestStatus::Rejected),
                    &[],
                )],
            ),
            InvalidOp::RejectionWithoutReason,
        ),
        (
            raw(
                id(1, 1),
                rec,
                RecordKind::Incident,
                vec![add(SetField::Assignees, "x")],
            ),
            InvalidOp::SetNotOnKind {
                set: SetField::Assignees,
                kind: RecordKind::Incident,
            },
        ),
    ];
    for (op, expected) in cases {
        assert_eq!(op.validate(), Err(expected));
    }
    assert!(matches!(
        Operation::edit(
            id(1, 1),
            hlc(1),
            SPACE,
            rec,
            RecordKind::Task,
            vec![
                Change::Comment {
                    text: String::new()
                };
                MAX_CHANGES + 1
            ]
        ),
        Err(InvalidOp::TooManyChanges { .. })
    ));
}
