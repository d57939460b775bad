//! The `exercise` commands: import and export the sealed scenario, run the replicated clock,
//! release an ad-hoc inject, and the status (clock, released injects with their three times,
//! and for controllers what is to come). Every output is marked CVIČENÍ.

use std::path::Path;

use std::io::Read;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use krizlink_core::engine::node::{Node, ObservationInput};
use krizlink_core::exercise::evaluation::Corrective;
use krizlink_core::exercise::msel::{self, Format, MAX_FILE_BYTES};
use krizlink_core::exercise::{
    parse_channel, AdHocInject, Clock, ExerciseStatus, ExerciseTime, Released, Target,
    SAMPLE_SCENARIO_CSV,
};
use krizlink_core::record::{Channel, ClockAction, Timestamp};

use crate::args::ExerciseCmd;
use crate::json::{ms_text, time_text, EXERCISE_LINE};
use crate::output::{outln, Io};
use crate::parse::{opt_time, parse_space};

fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

/// Reads a scenario file, bounded.
pub(crate) fn read_scenario_file(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the scenario file {}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        bail!(
            "the scenario file {} is {} bytes; at most {MAX_FILE_BYTES} are read",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read the scenario file {}", path.display()))
}

pub(crate) fn run(node: &mut Node, io: &mut Io, command: ExerciseCmd) -> Result<()> {
    match command {
        ExerciseCmd::Import {
            space,
            file,
            sample,
        } => {
            let space = parse_space(node, &space.space)?;
            let (name, bytes) = if sample {
                (
                    "sample.csv".to_owned(),
                    SAMPLE_SCENARIO_CSV.as_bytes().to_vec(),
                )
            } else {
                let path = file.ok_or_else(|| anyhow!("name the scenario file or --sample"))?;
                let name = path.display().to_string();
                // A forwarded import sent the file's bytes along (the serving peer may run
                // in another directory).
                if io.is_collected() {
                    let mut sent = Vec::new();
                    io.input
                        .read_to_end(&mut sent)
                        .context("cannot read the forwarded scenario")?;
                    (name, sent)
                } else {
                    (name, read_scenario_file(&path)?)
                }
            };
            let injects = msel::import(Format::guess(&name, &bytes), &bytes)?;
            let summary = node.import_scenario(space, &injects)?;
            outln!(io, "{EXERCISE_LINE}");
            outln!(
                io,
                "Scénář načten: {} vstupů ({} nových, {} změněných, {} beze změny) / scenario imported: {} injects ({} new, {} changed, {} unchanged)",
                injects.len(),
                summary.added,
                summary.changed,
                summary.unchanged,
                injects.len(),
                summary.added,
                summary.changed,
                summary.unchanged
            );
        }
        ExerciseCmd::Export { space, format, out } => {
            let space = parse_space(node, &space.space)?;
            let format = Format::parse(&format)
                .ok_or_else(|| anyhow!("unknown format {format:?}; expected csv or json"))?;
            let injects: Vec<_> = node.scenario(space)?.into_iter().map(|(_, i)| i).collect();
            let bytes = match format {
                Format::Csv => msel::export_csv(&injects)?,
                Format::Json => msel::export_json(&injects)?,
            };
            write_or_print(io, out.as_deref(), &bytes)?;
        }
        ExerciseCmd::Start { space } => clock(node, io, &space.space, ClockAction::Start, None)?,
        ExerciseCmd::Pause { space } => clock(node, io, &space.space, ClockAction::Pause, None)?,
        ExerciseCmd::Resume { space } => clock(node, io, &space.space, ClockAction::Resume, None)?,
        ExerciseCmd::Stop { space } => clock(node, io, &space.space, ClockAction::Stop, None)?,
        ExerciseCmd::Jump { space, to, inject } => {
            let id = parse_space(node, &space.space)?;
            let clock = match (to, inject) {
                (_, Some(n)) => node.jump_to_inject(id, n)?,
                (Some(t), None) => {
                    node.clock_action(id, ClockAction::Jump, Some(ExerciseTime::parse(&t)?))?
                }
                (None, None) => bail!("name the exercise time (T+hh:mm) or --inject N"),
            };
            print_clock(io, &clock);
        }
        ExerciseCmd::Status { space, json } => {
            let space = parse_space(node, &space.space)?;
            let status = node.exercise_status(space, now())?;
            if json {
                outln!(io, "{}", status_json(&status));
            } else {
                print_status(io, &status);
            }
        }
        ExerciseCmd::Evaluate { space, format, out } => {
            let space = parse_space(node, &space.space)?;
            let evaluation = node.evaluation(space)?;
            let bytes = match format.trim().to_lowercase().as_str() {
                "csv" => msel::evaluation_csv(&evaluation)?,
                "json" => {
                    let mut b = serde_json::to_vec_pretty(&evaluation)?;
                    b.push(b'\n');
                    b
                }
                "pdf" => {
                    let doc = krizlink_core::engine::pdf::evaluation(&evaluation, &chrono::Local);
                    let bytes = krizlink_core::engine::pdf::render(&doc)?;
                    let out =
                        out.ok_or_else(|| anyhow!("a PDF is written to a file: add --out FILE"))?;
                    write_or_print(io, Some(&out), &bytes)?;
                    return Ok(());
                }
                other => bail!("unknown format {other:?}; expected csv, json or pdf"),
            };
            write_or_print(io, out.as_deref(), &bytes)?;
        }
        ExerciseCmd::Observe {
            space,
            inject,
            met,
            text,
            corrective,
            owner,
            due,
        } => {
            let space = parse_space(node, &space.space)?;
            let met = match met.as_deref().map(|m| m.trim().to_lowercase()) {
                None => None,
                Some(m) if matches!(m.as_str(), "yes" | "ano" | "true") => Some(true),
                Some(m) if matches!(m.as_str(), "no" | "ne" | "false") => Some(false),
                Some(m) => bail!("--met {m:?}: write yes or no (ano or ne)"),
            };
            let corrective = match corrective {
                Some(action) => Some(Corrective {
                    action,
                    owner: owner.unwrap_or_default(),
                    due: opt_time("--due", due)?,
                }),
                None => None,
            };
            let id = node.observe(
                space,
                &ObservationInput {
                    inject,
                    met,
                    text,
                    corrective,
                },
            )?;
            outln!(io, "{EXERCISE_LINE}");
            outln!(io, "{id}");
        }
        ExerciseCmd::Inject {
            space,
            to,
            text,
            from,
            channel,
            subject,
        } => {
            let space = parse_space(node, &space.space)?;
            let to = Target::parse(&to).ok_or_else(|| {
                anyhow!("--to {to:?} names no recipient; write všichni, \"ORP <name>\", a role or a member's name")
            })?;
            let channel = match channel {
                None => Channel::Phone,
                Some(c) => parse_channel(&c).ok_or_else(|| {
                    anyhow!("--channel {c:?} is not a channel; write telefonát, e-mail, datová zpráva, osobně or rádio")
                })?,
            };
            let ad_hoc = AdHocInject {
                to,
                from: from.unwrap_or_else(|| "řízení cvičení".into()),
                channel,
                subject: subject.unwrap_or_default(),
                text,
            };
            let id = node.ad_hoc_inject(space, &ad_hoc, now())?;
            outln!(io, "{EXERCISE_LINE}");
            outln!(io, "{id}");
        }
    }
    Ok(())
}

/// Writes `bytes` to `out` (and says where), or prints them.
pub(crate) fn write_or_print(io: &mut Io, out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            outln!(io, "{EXERCISE_LINE}");
            outln!(io, "{}", path.display());
        }
        None => {
            let text = String::from_utf8_lossy(bytes);
            io.write_out(format_args!("{text}"));
        }
    }
    Ok(())
}

fn clock(
    node: &mut Node,
    io: &mut Io,
    space: &str,
    action: ClockAction,
    to: Option<ExerciseTime>,
) -> Result<()> {
    let space = parse_space(node, space)?;
    let clock = node.clock_action(space, action, to)?;
    print_clock(io, &clock);
    Ok(())
}

fn elapsed(clock_ms: i64) -> ExerciseTime {
    ExerciseTime(u32::try_from(clock_ms.max(0) / 60_000).unwrap_or(u32::MAX))
}

fn print_clock(io: &mut Io, clock: &Clock) {
    outln!(io, "{EXERCISE_LINE}");
    outln!(
        io,
        "Hodiny cvičení: {} {} / exercise clock: {}",
        clock.phase.label_cs(),
        elapsed(clock.elapsed_ms(now())),
        clock.phase.code()
    );
}

fn reached_text(r: &Released) -> String {
    if r.reached.is_empty() {
        return "—".into();
    }
    r.reached
        .iter()
        .map(|x| match x.at_ms {
            Some(ms) => format!("{} {}", x.name, ms_text(ms)),
            None => format!("{} (zatím ne / not yet)", x.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_status(io: &mut Io, s: &ExerciseStatus) {
    outln!(io, "{EXERCISE_LINE}");
    outln!(
        io,
        "Hodiny cvičení: {} {} / exercise clock: {}{}",
        s.phase.label_cs(),
        s.elapsed(),
        s.phase.code(),
        s.started
            .map(|t| format!(", zahájeno / started {}", time_text(t)))
            .unwrap_or_default()
    );
    outln!(io, "Vydané vstupy / released injects: {}", s.released.len());
    for r in &s.released {
        let number = if r.number == 0 {
            "mimořádný / ad hoc".to_owned()
        } else {
            format!("#{}", r.number)
        };
        outln!(
            io,
            "{number}  plán / scheduled {}  vydáno / released {} ({})  {} → {}  [{}] {}",
            r.scheduled.map_or("—".into(), |t| t.to_string()),
            time_text(r.released_at),
            r.released_at_t,
            r.from,
            r.to,
            r.channel.map_or("—", |c| c.label_cs()),
            if r.subject.is_empty() {
                &r.text
            } else {
                &r.subject
            },
        );
        outln!(io, "    dorazilo / reached: {}", reached_text(r));
    }
    if s.controller {
        outln!(
            io,
            "Následují (jen řízení cvičení) / to come (exercise control only): {} ze scénáře o {} vstupech / of {}",
            s.next.len(),
            s.scenario_size.unwrap_or(0),
            s.scenario_size.unwrap_or(0)
        );
        for u in &s.next {
            outln!(
                io,
                "#{}  {}  → {}  {}{}",
                u.number,
                u.time.map_or("—".into(), |t| t.to_string()),
                u.to,
                u.subject,
                u.trigger
                    .as_ref()
                    .map(|t| format!("  (spouštěč / trigger {t})"))
                    .unwrap_or_default()
            );
        }
    }
}

fn released_json(r: &Released) -> Value {
    json!({
        "exercise": true,
        "record": r.record.to_string(),
        "number": r.number,
        "ad_hoc": r.number == 0,
        "from": r.from,
        "to": r.to,
        "channel": r.channel.map(|c| c.code()),
        "subject": r.subject,
        "text": r.text,
        "scheduled": r.scheduled.map(|t| t.to_string()),
        "released_at": time_text(r.released_at),
        "released_at_exercise_time": r.released_at_t.to_string(),
        "released_by": r.released_by.to_string(),
        "reached": r.reached.iter().map(|x| json!({
            "device": x.device.to_string(),
            "name": x.name,
            "at": x.at_ms.map(ms_text),
        })).collect::<Vec<_>>(),
    })
}

fn status_json(s: &ExerciseStatus) -> Value {
    json!({
        "exercise": true,
        "phase": s.phase.code(),
        "elapsed": s.elapsed().to_string(),
        "elapsed_ms": s.elapsed_ms,
        "started": s.started.map(time_text),
        "stopped": s.stopped.map(time_text),
        "controller": s.controller,
        "scenario_size": s.scenario_size,
        "released": s.released.iter().map(released_json).collect::<Vec<_>>(),
        "next": s.next.iter().map(|u| json!({
            "number": u.number,
            "time": u.time.map(|t| t.to_string()),
            "due_at": u.due_at.map(time_text),
            "to": u.to,
            "subject": u.subject,
            "trigger": u.trigger,
        })).collect::<Vec<_>>(),
    })
}
