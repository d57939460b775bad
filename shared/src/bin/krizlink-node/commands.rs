//! Running one parsed command on an open node: [`dispatch`] for every command but `init`,
//! `serve` and a network `join` (which `main` and `serve` start themselves); the record
//! commands are in `records`, `status` in `status`.

use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};

use krizlink_core::engine::audit::ExportFormat;
use krizlink_core::engine::node::Node;
use krizlink_core::engine::sync::{self, NetStatus};
use krizlink_core::record::StaffRole;

use crate::args::{AuditCmd, Command, DeviceCmd, InviteCmd, MemberCmd, PassphraseCmd, SpaceCmd};
use crate::exercise;
use crate::output::{errln, outln, Io};
use crate::parse::parse_space;
use crate::{records, status};

/// Runs `command` on `node`, its output in `io`; `net` is the network while serving.
pub(crate) fn dispatch(
    node: &mut Node,
    io: &mut Io,
    net: Option<&NetStatus>,
    command: Command,
) -> Result<()> {
    match command {
        Command::Init { .. } => bail!("this data dir already holds an identity"),
        Command::Exercise(cmd) => exercise::run(node, io, cmd)?,
        Command::Space(SpaceCmd::Create { name, exercise }) => {
            outln!(io, "{}", node.create_space_as(&name, exercise)?);
        }
        Command::Space(SpaceCmd::GrantRelay { space, relay }) => {
            let space = parse_space(node, &space.space)?;
            let device = parse_relay(&relay)?;
            outln!(io, "{}", node.grant_relay(space, device)?);
        }
        Command::Space(SpaceCmd::List { json }) => {
            let spaces = node.spaces();
            if json {
                let list: Vec<Value> = spaces
                    .iter()
                    .map(|s| {
                        let hash: String = node
                            .replica(s.id)
                            .map(|r| r.state_hash().0.iter().map(|b| format!("{b:02x}")).collect())
                            .unwrap_or_default();
                        json!({"id": s.id.to_string(), "name": s.name, "role": s.role.code(), "records": s.records, "operations": s.operations, "state_hash": hash, "exercise": s.exercise})
                    })
                    .collect();
                outln!(io, "{}", Value::Array(list));
            } else {
                for s in spaces {
                    let mark = if s.exercise { "CVIČENÍ  " } else { "" };
                    outln!(
                        io,
                        "{}  {mark}{}  ({}, {} records)",
                        s.id,
                        s.name,
                        s.role.label_cs(),
                        s.records
                    );
                }
            }
        }
        Command::Task(cmd) => records::task(node, io, cmd)?,
        Command::Sitrep(cmd) => records::sitrep(node, io, cmd)?,
        Command::Journal(cmd) => records::journal(node, io, cmd)?,
        Command::Request(cmd) => records::request(node, io, cmd)?,
        Command::Incident(cmd) => records::incident(node, io, cmd)?,
        Command::Contact(cmd) => records::contact(node, io, cmd)?,
        Command::Invite(InviteCmd::Create {
            space,
            role,
            orp,
            valid_hours,
        }) => {
            let space = parse_space(node, &space.space)?;
            let role = parse_role(&role)?;
            if !(1..=720).contains(&valid_hours) {
                bail!("--valid-hours must be 1 to 720");
            }
            let code = node.create_invite_for(space, role, orp.as_deref(), valid_hours * 60)?;
            // A serving peer adds where it can be reached, for a one-step network join.
            match net.map(sync::invite_hint).filter(|h| !h.is_empty()) {
                Some(hint) => outln!(io, "{code}@{hint}"),
                None => outln!(io, "{code}"),
            }
        }
        Command::Member(MemberCmd::List { space, json }) => {
            let space = parse_space(node, &space.space)?;
            let members = node.member_standings(space)?;
            let exercise = node.is_exercise(space);
            if !json {
                if exercise {
                    outln!(io, "{}", crate::json::EXERCISE_LINE);
                }
                let p = node.key_progress(space)?;
                outln!(
                    io,
                    "Nový klíč (epocha {}) má {} {} {} zařízení / new key held by {} of {} devices",
                    p.epoch,
                    p.holding,
                    krizlink_core::views::z_ze(p.total),
                    p.total,
                    p.holding,
                    p.total
                );
            }
            crate::json::print_list(
                io,
                exercise && json,
                json,
                &members,
                crate::json::member,
                |m| {
                    let role = m.role.map_or("odebrán / removed", |r| r.code());
                    let orp = m
                        .orp
                        .as_deref()
                        .map(|o| format!(" ORP {o}"))
                        .unwrap_or_default();
                    let founder = if m.founder { " (zakladatel)" } else { "" };
                    format!(
                        "{}  {:<16} {}{orp}{founder}  epocha {}  {}",
                        &m.device.to_string()[..16],
                        role,
                        m.name,
                        m.epoch,
                        m.device
                    )
                },
            );
        }
        Command::Member(MemberCmd::Role {
            space,
            member,
            role,
            orp,
        }) => {
            let space = parse_space(node, &space.space)?;
            let device = node.find_member(space, &member)?;
            let role = parse_role(&role)?;
            node.change_member(space, device, role, orp.as_deref())?;
            outln!(io, "{device}");
        }
        Command::Receipts {
            space,
            record,
            json,
        } => {
            let space = parse_space(node, &space.space)?;
            let id = crate::parse::parse_record(&record)?;
            let kind = krizlink_core::RecordKind::ALL
                .iter()
                .copied()
                .find(|k| {
                    node.replica(space)
                        .is_ok_and(|r| r.record(*k, id).is_some())
                })
                .ok_or_else(|| anyhow!("no record {record} in this space"))?;
            let deliveries = node.deliveries(space, kind, id)?;
            let held = deliveries.iter().filter(|d| d.holds).count();
            let exercise = node.is_exercise(space);
            if json {
                let marked = deliveries.iter().map(|d| {
                    let mut value = crate::json::delivery(d);
                    if let (true, Some(map)) = (exercise, value.as_object_mut()) {
                        map.insert("exercise".into(), Value::Bool(true));
                    }
                    value
                });
                outln!(io, "{}", Value::Array(marked.collect()));
            } else {
                if exercise {
                    outln!(io, "{}", crate::json::EXERCISE_LINE);
                }
                outln!(
                    io,
                    "Doručeno: {held} {} {} zařízení / delivered to {held} of {}",
                    krizlink_core::views::z_ze(deliveries.len()),
                    deliveries.len(),
                    deliveries.len()
                );
                for d in &deliveries {
                    let when = d
                        .since_ms
                        .map(|ms| {
                            let at = crate::json::ms_text(ms);
                            if d.since_exact {
                                format!("od {at}")
                            } else {
                                format!("nejpozději od {at}")
                            }
                        })
                        .unwrap_or_else(|| match d.last_heard_ms {
                            Some(ms) => format!(
                                "zatím ne (naposledy ohlášeno {})",
                                crate::json::ms_text(ms)
                            ),
                            None => "zatím ne (žádné potvrzení)".to_owned(),
                        });
                    let mark = if d.holds { "doručeno" } else { "nedoručeno" };
                    outln!(
                        io,
                        "{}  {:<10} {}  {}",
                        &d.device.to_string()[..16],
                        mark,
                        d.name,
                        when
                    );
                }
            }
        }
        Command::Member(MemberCmd::Remove { space, member }) => {
            let space = parse_space(node, &space.space)?;
            let devices = node.devices_of_member(space, &member)?;
            removed(io, node.remove_devices(space, &devices)?, &devices);
        }
        Command::Device(DeviceCmd::Revoke { space, device }) => {
            let space = parse_space(node, &space.space)?;
            let text = device.trim();
            if text.len() < 16 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
                bail!("name the device by its id (16 hex digits or more, as `member list` shows)");
            }
            let device = node.find_member(space, text)?;
            removed(io, node.remove_devices(space, &[device])?, &[device]);
        }
        Command::Invite(InviteCmd::Accept { request }) => {
            outln!(io, "{}", node.accept_join(&request)?);
        }
        Command::Join {
            code,
            offline,
            welcome,
            ..
        } => match (code, welcome) {
            (Some(_), Some(_)) => bail!("give either an invite code or --welcome, not both"),
            (None, Some(welcome)) => outln!(io, "{}", node.finish_join(&welcome)?),
            (Some(code), None) if offline => {
                let secret = code.split('@').next().unwrap_or_default();
                outln!(io, "{}", node.request_join(secret)?)
            }
            (Some(_), None) => {
                bail!("joining over the network is done by the peer itself; this should not happen")
            }
            (None, None) => bail!("give an invite code (join CODE --offline) or --welcome CODE"),
        },
        Command::Passphrase(PassphraseCmd::Change { .. }) => {
            // Asked where the person is (`secret`), before: never read or prompted for here,
            // where a serving peer may run this command for a client.
            let Some(new) = io.new_passphrase.take() else {
                bail!("no new passphrase came with the command: set KRIZLINK_NEW_PASSPHRASE, use --new-passphrase-file, or run in a terminal");
            };
            if new.chars().count() < 8 {
                bail!("the passphrase must have at least 8 characters");
            }
            node.change_passphrase(&new)?;
            outln!(io, "passphrase changed");
        }
        Command::Audit(AuditCmd::Verify) => {
            let report = node.audit_verify()?;
            if report.problems.is_empty() {
                let head = report
                    .head
                    .map_or(String::new(), |seq| format!(", signed head at entry {seq}"));
                outln!(
                    io,
                    "audit log OK: {} entries, {} signed{head}",
                    report.entries,
                    report.signed
                );
                if report.unsealed_tail > 0 {
                    outln!(
                        io,
                        "{} newest entries are not yet covered by a signature",
                        report.unsealed_tail
                    );
                }
            } else {
                for p in &report.problems {
                    outln!(io, "{p}");
                }
                bail!(
                    "the audit log is not intact: {} problem(s)",
                    report.problems.len()
                );
            }
        }
        Command::Serve { .. } => bail!("this data dir is served already"),
        Command::Status { json } => status::status(node, io, net, json)?,
        Command::Audit(AuditCmd::Export { format }) => {
            let format = match format.as_str() {
                "jsonl" => ExportFormat::Jsonl,
                "syslog" => ExportFormat::Syslog,
                "cef" => ExportFormat::Cef,
                other => bail!("unknown format {other:?}; use jsonl, syslog or cef"),
            };
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            for line in node.audit_export(format, host.trim())? {
                outln!(io, "{line}");
            }
        }
    }
    Ok(())
}

/// What a removal did: the devices removed, the new epoch, and who could not get the key.
fn removed(
    io: &mut Io,
    (epoch, unreachable): (u32, Vec<krizlink_core::DeviceId>),
    devices: &[krizlink_core::DeviceId],
) {
    for d in devices {
        outln!(io, "{d}");
    }
    outln!(io, "epoch {epoch}");
    for d in unreachable {
        errln!(
            io,
            "krizlink-node: device {d} has not published its key, so the new key could not \
             be wrapped to it: invite it again"
        );
    }
}

/// A role by its code, or a message listing the codes.
fn parse_role(role: &str) -> Result<StaffRole> {
    role.parse().map_err(|_| {
        anyhow!(
            "unknown role {role:?}; use one of: {}",
            StaffRole::ALL
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// A relay named by its peer id (as `serve` prints it) or its device id (hex).
fn parse_relay(text: &str) -> Result<krizlink_core::DeviceId> {
    let text = text.trim();
    if let Ok(peer) = text.parse::<krizlink_core::engine::sync::libp2p::PeerId>() {
        if let Some(device) = krizlink_core::engine::sync::device_of_peer(&peer) {
            return Ok(device);
        }
    }
    text.parse()
        .map_err(|_| anyhow::anyhow!("--relay {text:?} is neither a peer id nor a device id"))
}
