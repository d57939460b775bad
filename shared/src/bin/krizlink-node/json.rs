//! The output of the `list` commands: one line per record, or with `--json` one JSON array of
//! the records (the fields are listed in docs/CLI.md), and the time format they share.

use serde_json::{json, Value};

use krizlink_core::merge::Comment;
use krizlink_core::views::{
    Contact, Delivery, Incident, JournalEntry, MemberStanding, Meta, ResourceRequest,
    SituationReport, Task,
};
use krizlink_core::{Stamp, Timestamp};

use crate::output::{outln, Io};

/// Prints `items` one per line, or with `json` as one JSON array. In an exercise space
/// (`exercise`) the lines start with a "CVIČENÍ / EXERCISE" line and every JSON element says
/// `"exercise": true`, so drill data is never taken for a real event.
pub(crate) fn print_list<T>(
    io: &mut Io,
    exercise: bool,
    json: bool,
    items: &[T],
    to_json: fn(&T) -> Value,
    to_line: impl Fn(&T) -> String,
) {
    if json {
        let marked = items.iter().map(|item| {
            let mut value = to_json(item);
            if let (true, Some(map)) = (exercise, value.as_object_mut()) {
                map.insert("exercise".into(), Value::Bool(true));
            }
            value
        });
        outln!(io, "{}", Value::Array(marked.collect()));
    } else {
        if exercise {
            outln!(io, "{EXERCISE_LINE}");
        }
        for item in items {
            outln!(io, "{}", to_line(item));
        }
    }
}

/// The first line of every listing of an exercise space.
pub(crate) const EXERCISE_LINE: &str =
    "=== CVIČENÍ / EXERCISE — nejde o skutečnou událost / not a real event ===";

pub(crate) fn time_text(t: Timestamp) -> String {
    t.to_datetime()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into())
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map(|t| Value::String(time_text(t)))
        .unwrap_or(Value::Null)
}

fn stamp_time(s: Stamp) -> String {
    time_text(Timestamp(i64::try_from(s.hlc.wall_ms).unwrap_or(i64::MAX)))
}

fn meta_json(m: &Meta, fields: &mut serde_json::Map<String, Value>) {
    fields.insert("id".into(), json!(m.id.to_string()));
    fields.insert("created_by".into(), json!(m.created_by.to_string()));
    fields.insert("created_at".into(), json!(stamp_time(m.created_at)));
    fields.insert("updated_at".into(), json!(stamp_time(m.updated_at)));
    if let Some(label) = m.simulated_label_cs() {
        fields.insert("simulated_for".into(), json!(label));
    }
    fields.insert(
        "conflicting_fields".into(),
        json!(m
            .conflicting_fields
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()),
    );
}

fn with_meta(m: &Meta, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    meta_json(m, &mut map);
    if let Value::Object(rest) = value {
        map.extend(rest);
    }
    Value::Object(map)
}

fn comments_json(comments: &[Comment]) -> Value {
    Value::Array(
        comments
            .iter()
            .map(|c| json!({"author": c.author.to_string(), "time": stamp_time(c.stamp), "text": c.text}))
            .collect(),
    )
}

pub(crate) fn task_json(t: &Task) -> Value {
    with_meta(
        &t.meta,
        json!({
            "number": t.number, "title": t.title, "description": t.description, "assigned_by": t.assigned_by,
            "assignees": t.assignees, "deadline": opt_time(t.deadline), "priority": t.priority.code(),
            "status": t.status.code(), "status_conflicts": t.status_conflicts.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "outcome": t.outcome, "tags": t.tags, "links": t.links, "comments": comments_json(&t.comments),
        }),
    )
}

pub(crate) fn sitrep_json(r: &SituationReport) -> Value {
    with_meta(
        &r.meta,
        json!({
            "kind": r.kind.code(), "number": r.number, "sender": r.sender, "recipient": r.recipient,
            "as_of": time_text(r.as_of), "period": r.period, "situation": r.situation,
            "impact": {"injured": r.injured, "dead": r.dead, "evacuated": r.evacuated, "missing": r.missing,
                       "affected_buildings": r.affected_buildings, "supply_outages": r.supply_outages},
            "measures": r.measures, "forces_deployed": r.forces_deployed, "expected_development": r.expected_development,
            "prepared_by": r.prepared_by, "contact": r.contact, "linked_requests": r.linked_requests,
            "supersedes": r.supersedes.map(|i| i.to_string()),
            "superseded_by": r.superseded_by.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        }),
    )
}

pub(crate) fn journal_json(e: &JournalEntry) -> Value {
    with_meta(
        &e.meta,
        json!({
            "event_time": time_text(e.event_time), "written_at": time_text(e.written_at), "kind": e.kind.code(),
            "text": e.text, "author": e.author, "author_role": e.author_role, "workstation": e.workstation,
            "source": e.source, "corrects": e.corrects.map(|i| i.to_string()), "tags": e.tags,
        }),
    )
}

pub(crate) fn request_json(r: &ResourceRequest) -> Value {
    with_meta(
        &r.meta,
        json!({
            "requester": r.requester, "item": r.item, "quantity": r.quantity, "unit": r.unit,
            "delivery_place": r.delivery_place, "needed_by": opt_time(r.needed_by), "priority": r.priority.code(),
            "reason": r.reason, "status": r.status.code(), "status_note": r.status_note,
            "status_conflicts": r.status_conflicts.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "handled_by": r.handled_by, "tags": r.tags, "comments": comments_json(&r.comments),
        }),
    )
}

pub(crate) fn incident_json(i: &Incident) -> Value {
    with_meta(
        &i.meta,
        json!({
            "title": i.title, "kind": i.kind.code(), "description": i.description, "place": i.place,
            "location": i.location.map(|g| json!({"lat": g.lat_e6 as f64 / 1e6, "lon": g.lon_e6 as f64 / 1e6})),
            "start": opt_time(i.start), "state": i.state.code(),
            "level": i.level.map(|l| l.code()), "affected_municipalities": i.affected_municipalities,
            "tags": i.tags, "comments": comments_json(&i.comments),
        }),
    )
}

pub(crate) fn contact_json(c: &Contact) -> Value {
    with_meta(
        &c.meta,
        json!({
            "name": c.name, "function": c.function, "organization": c.organization, "phone": c.phone,
            "email": c.email, "data_box": c.data_box, "radio_call_sign": c.radio_call_sign, "note": c.note,
        }),
    )
}

/// A member's standing: `device`, `name`, `role` (null: removed), `orp`, `founder`, `epoch`.
pub(crate) fn member(m: &MemberStanding) -> Value {
    json!({
        "device": m.device.to_string(),
        "name": m.name,
        "role": m.role.map(|r| r.code()),
        "orp": m.orp,
        "founder": m.founder,
        "epoch": m.epoch,
    })
}

/// A time in ms since 1970 as RFC 3339 UTC (seconds).
pub(crate) fn ms_text(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Whether a member device holds a record's latest version: `device`, `name`, `role`,
/// `holds`, `since` (RFC 3339 or null), `since_exact`, `last_heard` (RFC 3339 or null).
pub(crate) fn delivery(d: &Delivery) -> Value {
    json!({
        "device": d.device.to_string(),
        "name": d.name,
        "role": d.role.map(|r| r.code()),
        "this_device": d.this_device,
        "holds": d.holds,
        "since": d.since_ms.map(ms_text),
        "since_exact": d.since_exact,
        "last_heard": d.last_heard_ms.map(ms_text),
    })
}
