//! The per-kind record commands (`task`, `sitrep`, `journal`, `request`, `incident`,
//! `contact`). A new record is the same form input the desktop sends (`krizlink_core::api`),
//! built from the flags and written through the engine's one write path
//! (`Node::create_from`), so both write the same record; comments go through
//! `Node::add_comment`, status moves through `Node::move_status`.

use std::io::BufRead;

use anyhow::{bail, Context, Result};

use krizlink_core::api::{
    ContactInput, IncidentInput, JournalInput, RecordInput, RequestInput, SitrepInput, TaskInput,
};
use krizlink_core::engine::node::{Node, WriteError};
use krizlink_core::engine::pdf;
use krizlink_core::record::{
    IncidentKind, JournalKind, Level, ReportKind, RequestStatus, TaskStatus,
};
use krizlink_core::{RecordId, RecordKind, SpaceId, Status};

use crate::args::{AnswerArg, ContactCmd, IncidentCmd, JournalCmd, RequestCmd, SitrepCmd, TaskCmd};
use crate::json::{
    contact_json, incident_json, journal_json, print_list, request_json, sitrep_json, task_json,
    time_text, EXERCISE_LINE,
};
use crate::output::{errln, one_line, outln, Io};
use crate::parse::{codes, opt_time, parse_enum, parse_record, parse_space, parse_time, priority};

/// Writes a new record through the engine; returns its id once durable. A refused reference
/// to an earlier record is named by its flag.
fn create(node: &mut Node, space: SpaceId, input: RecordInput) -> Result<RecordId> {
    create_answering(
        node,
        space,
        input,
        &AnswerArg {
            answers: None,
            simulated: None,
        },
    )
}

/// [`create`], linked to the released inject it answers (`--answers N`) in a drill.
fn create_answering(
    node: &mut Node,
    space: SpaceId,
    input: RecordInput,
    answer: &AnswerArg,
) -> Result<RecordId> {
    let links = match answer.answers {
        Some(n) => vec![node.release_of(space, n)?],
        None => Vec::new(),
    };
    let flag = match input {
        RecordInput::SituationReport(_) => "--supersedes",
        RecordInput::JournalEntry(_) => "--corrects",
        _ => "reference",
    };
    node.create_linked(space, &input, &links, answer.simulated.as_deref())
        .map_err(|e| match e {
            WriteError::BadReference | WriteError::MissingReference { .. } => {
                anyhow::Error::new(e).context(flag)
            }
            e => e.into(),
        })
}

pub(crate) fn task(node: &mut Node, io: &mut Io, cmd: TaskCmd) -> Result<()> {
    match cmd {
        TaskCmd::Add {
            space,
            answer,
            title,
            description,
            assignee,
            due,
            priority: p,
            number,
            tag,
        } => {
            let space = parse_space(node, &space.space)?;
            let input = TaskInput {
                title,
                description: description.unwrap_or_default(),
                number: number.unwrap_or_default(),
                assignees: assignee,
                deadline: opt_time("--due", due)?,
                priority: priority(p)?,
                tags: tag,
                ..TaskInput::default()
            };
            outln!(
                io,
                "{}",
                create_answering(node, space, RecordInput::Task(input), &answer)?
            );
        }
        TaskCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let tasks = node.replica(space)?.tasks();
            print_list(
                io,
                node.is_exercise(space),
                args.json,
                &tasks,
                task_json,
                |t| {
                    format!(
                        "{}  {:<9} {:<8} {:<25} {}",
                        t.meta.id,
                        t.status.label_cs(),
                        t.priority.label_cs(),
                        t.deadline.map(time_text).unwrap_or_else(|| "-".into()),
                        t.title
                    )
                },
            );
        }
        TaskCmd::Import { space } => {
            let space = parse_space(node, &space.space)?;
            let mut failed = 0usize;
            let input = std::mem::replace(&mut io.input, Box::new(std::io::empty()));
            for (n, line) in input.lines().enumerate() {
                let line = line.context("cannot read standard input")?;
                if line.trim().is_empty() {
                    continue;
                }
                let exercise = node.is_exercise(space);
                match import_task(&line, exercise)
                    .and_then(|task| create(node, space, RecordInput::Task(task)))
                {
                    Ok(id) => outln!(io, "{id}"),
                    Err(e) => {
                        failed += 1;
                        errln!(io, "krizlink-node: line {}: {}", n + 1, one_line(&e));
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} line(s) were not imported");
            }
        }
        TaskCmd::Status {
            space,
            record,
            status,
            note,
        } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            let to = parse_enum(
                "task status",
                &status,
                TaskStatus::parse,
                &codes!(TaskStatus),
            )?;
            node.move_status(space, record, RecordKind::Task, Status::Task(to), note)?;
            outln!(io, "{record} {}", to.code());
        }
        TaskCmd::Comment {
            space,
            record,
            text,
        } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            node.add_comment(space, RecordKind::Task, record, &text)?;
            outln!(io, "{record}");
        }
    }
    Ok(())
}

/// One line of `task import`: a JSON object with the fields of `task add`, or a plain title.
fn import_task(line: &str, into_exercise: bool) -> Result<TaskInput> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return Ok(TaskInput {
            title: trimmed.to_owned(),
            ..TaskInput::default()
        });
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        title: String,
        description: Option<String>,
        #[serde(default)]
        assignees: Vec<String>,
        due: Option<String>,
        priority: Option<String>,
        number: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        /// Set by the listings of a drill: drill data never goes into a real space.
        #[serde(default)]
        exercise: bool,
    }
    let l: Line = serde_json::from_str(trimmed).context("not a task: expected {\"title\": ...}")?;
    if l.exercise && !into_exercise {
        bail!("this task comes from an exercise (cvičení): drill data is never imported into a real space");
    }
    Ok(TaskInput {
        title: l.title,
        description: l.description.unwrap_or_default(),
        number: l.number.unwrap_or_default(),
        assignees: l.assignees,
        deadline: opt_time("due", l.due)?,
        priority: priority(l.priority)?,
        tags: l.tags,
        ..TaskInput::default()
    })
}

pub(crate) fn sitrep(node: &mut Node, io: &mut Io, cmd: SitrepCmd) -> Result<()> {
    match cmd {
        SitrepCmd::Add {
            space,
            answer,
            kind,
            sender,
            as_of,
            number,
            recipient,
            period,
            situation,
            injured,
            dead,
            evacuated,
            missing,
            affected_buildings,
            supply_outages,
            measures,
            forces,
            expected,
            prepared_by,
            contact,
            supersedes,
        } => {
            let space = parse_space(node, &space.space)?;
            let kind = parse_enum("report kind", &kind, ReportKind::parse, &codes!(ReportKind))?;
            let input = SitrepInput {
                kind: Some(kind),
                number,
                sender,
                recipient: recipient.unwrap_or_default(),
                as_of: Some(parse_time("--as-of", &as_of)?),
                period: period.unwrap_or_default(),
                situation: situation.unwrap_or_default(),
                injured,
                dead,
                evacuated,
                missing,
                affected_buildings,
                supply_outages: supply_outages.unwrap_or_default(),
                measures: measures.unwrap_or_default(),
                forces_deployed: forces.unwrap_or_default(),
                expected_development: expected.unwrap_or_default(),
                prepared_by: prepared_by.unwrap_or_default(),
                contact: contact.unwrap_or_default(),
                supersedes,
            };
            let id = create_answering(node, space, RecordInput::SituationReport(input), &answer)?;
            outln!(io, "{id}");
        }
        SitrepCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let reports = node.replica(space)?.situation_reports();
            print_list(
                io,
                node.is_exercise(space),
                args.json,
                &reports,
                sitrep_json,
                |r| {
                    format!(
                        "{}  {} č. {}  stav k {}  {}{}",
                        r.meta.id,
                        r.kind.label_cs(),
                        r.number
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "-".into()),
                        time_text(r.as_of),
                        r.sender,
                        if r.superseded_by.is_empty() {
                            ""
                        } else {
                            "  (nahrazena opravou)"
                        }
                    )
                },
            );
        }
        SitrepCmd::Pdf { space, record, out } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            let exercise = node.is_exercise(space);
            let report = node
                .replica(space)?
                .situation_reports()
                .into_iter()
                .find(|r| r.meta.id == record)
                .with_context(|| format!("no situation report {record} in this space"))?;
            let doc = pdf::situation_report(&report, exercise, &chrono::Local);
            let bytes = pdf::render(&doc)?;
            std::fs::write(&out, bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            if exercise {
                outln!(io, "{EXERCISE_LINE}");
            }
            outln!(io, "{}", out.display());
        }
    }
    Ok(())
}

pub(crate) fn journal(node: &mut Node, io: &mut Io, cmd: JournalCmd) -> Result<()> {
    match cmd {
        JournalCmd::Add {
            space,
            answer,
            text,
            kind,
            event_time,
            author,
            source,
            corrects,
        } => {
            let space = parse_space(node, &space.space)?;
            let kind = parse_enum(
                "journal kind",
                &kind,
                JournalKind::parse,
                &codes!(JournalKind),
            )?;
            // The author defaults to the identity's name and the workstation is this device,
            // both filled by the engine as for the desktop.
            let input = JournalInput {
                kind: Some(kind),
                text,
                event_time: opt_time("--event-time", event_time)?,
                author: author.unwrap_or_default(),
                source: source.unwrap_or_default(),
                corrects,
                simulated_for: String::new(),
            };
            let id = create_answering(node, space, RecordInput::JournalEntry(input), &answer)?;
            outln!(io, "{id}");
        }
        JournalCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let entries = node.replica(space)?.journal();
            print_list(
                io,
                node.is_exercise(space),
                args.json,
                &entries,
                journal_json,
                |e| {
                    format!(
                        "{}  {}  {:<16} {}{}",
                        e.meta.id,
                        time_text(e.event_time),
                        e.kind.label_cs(),
                        e.meta
                            .simulated_label_cs()
                            .map(|s| format!("[{s}] "))
                            .unwrap_or_default(),
                        e.text
                    )
                },
            );
        }
    }
    Ok(())
}

pub(crate) fn request(node: &mut Node, io: &mut Io, cmd: RequestCmd) -> Result<()> {
    match cmd {
        RequestCmd::Add {
            space,
            answer,
            requester,
            item,
            quantity,
            unit,
            delivery_place,
            needed_by,
            priority: p,
            reason,
        } => {
            let space = parse_space(node, &space.space)?;
            let input = RequestInput {
                requester,
                item,
                quantity,
                unit: unit.unwrap_or_default(),
                delivery_place: delivery_place.unwrap_or_default(),
                needed_by: opt_time("--needed-by", needed_by)?,
                priority: priority(p)?,
                reason: reason.unwrap_or_default(),
            };
            let id = create_answering(node, space, RecordInput::ResourceRequest(input), &answer)?;
            outln!(io, "{id}");
        }
        RequestCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let requests = node.replica(space)?.resource_requests();
            print_list(
                io,
                node.is_exercise(space),
                args.json,
                &requests,
                request_json,
                |r| {
                    format!(
                        "{}  {:<17} {} {} {}  ({})",
                        r.meta.id,
                        r.status.label_cs(),
                        r.quantity.map(|q| q.to_string()).unwrap_or_default(),
                        r.unit.clone().unwrap_or_default(),
                        r.item,
                        r.requester
                    )
                },
            );
        }
        RequestCmd::Status {
            space,
            record,
            status,
            reason,
        } => {
            let space = parse_space(node, &space.space)?;
            let record = parse_record(&record)?;
            let to = parse_enum(
                "request status",
                &status,
                RequestStatus::parse,
                &codes!(RequestStatus),
            )?;
            node.move_status(
                space,
                record,
                RecordKind::ResourceRequest,
                Status::Request(to),
                reason,
            )?;
            outln!(io, "{record} {}", to.code());
        }
    }
    Ok(())
}

pub(crate) fn incident(node: &mut Node, io: &mut Io, cmd: IncidentCmd) -> Result<()> {
    match cmd {
        IncidentCmd::Add {
            space,
            answer,
            title,
            kind,
            place,
            level,
            start,
            description,
            municipality,
        } => {
            let space = parse_space(node, &space.space)?;
            let kind = parse_enum(
                "incident kind",
                &kind,
                IncidentKind::parse,
                &codes!(IncidentKind),
            )?;
            let level = level
                .map(|l| parse_enum("level", &l, Level::parse, &codes!(Level)))
                .transpose()?;
            let input = IncidentInput {
                title,
                kind: Some(kind),
                place: place.unwrap_or_default(),
                level,
                state: None,
                start: opt_time("--start", start)?,
                description: description.unwrap_or_default(),
                municipalities: municipality,
            };
            let id = create_answering(node, space, RecordInput::Incident(input), &answer)?;
            outln!(io, "{id}");
        }
        IncidentCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let incidents = node.replica(space)?.incidents();
            print_list(
                io,
                node.is_exercise(space),
                args.json,
                &incidents,
                incident_json,
                |i| {
                    format!(
                        "{}  {:<13} {:<26} {}",
                        i.meta.id,
                        i.state.label_cs(),
                        i.level.map(|l| l.label_cs()).unwrap_or("-"),
                        i.title
                    )
                },
            );
        }
    }
    Ok(())
}

pub(crate) fn contact(node: &mut Node, io: &mut Io, cmd: ContactCmd) -> Result<()> {
    match cmd {
        ContactCmd::Add {
            space,
            name,
            function,
            organization,
            phone,
            email,
            data_box,
            radio,
            note,
        } => {
            let space = parse_space(node, &space.space)?;
            let input = ContactInput {
                name,
                function: function.unwrap_or_default(),
                organization: organization.unwrap_or_default(),
                phone: phone.unwrap_or_default(),
                email: email.unwrap_or_default(),
                data_box: data_box.unwrap_or_default(),
                radio_call_sign: radio.unwrap_or_default(),
                note: note.unwrap_or_default(),
            };
            let id = create(node, space, RecordInput::Contact(input))?;
            outln!(io, "{id}");
        }
        ContactCmd::List(args) => {
            let space = parse_space(node, &args.space.space)?;
            let contacts = node.replica(space)?.contacts();
            print_list(
                io,
                node.is_exercise(space),
                args.json,
                &contacts,
                contact_json,
                |c| {
                    format!(
                        "{}  {}  {}  {}",
                        c.meta.id,
                        c.name,
                        c.function.clone().unwrap_or_default(),
                        c.phone.clone().unwrap_or_default()
                    )
                },
            );
        }
    }
    Ok(())
}
