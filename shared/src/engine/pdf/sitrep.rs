//! The situation report (situační zpráva) as a [`Document`]: the report alone, with the
//! glossary's Czech labels (druh, číslo zprávy, odesílatel, adresát, stav k, období, popis
//! situace, dopady with their numbers, přijatá opatření, nasazené síly a prostředky,
//! předpokládaný vývoj, zpracoval, kontakt). No app banner, no sync state: what is printed is
//! what was sent. An empty part is left out, except the impact table, whose every row says
//! "neuvedeno" when no number was given.

use chrono::{DateTime, TimeZone};

use super::{Block, Document};
use crate::record::Timestamp;
use crate::views::SituationReport;

/// "1. 12. 2026 10:00" in the time zone `tz` (the reader's: the machine's local time).
fn time_cs<Tz: TimeZone>(t: Timestamp, tz: &Tz) -> String {
    match t.to_datetime() {
        Some(utc) => {
            let local: DateTime<Tz> = utc.with_timezone(tz);
            local.naive_local().format("%-d. %-m. %Y %H:%M").to_string()
        }
        None => "neznámý čas".to_owned(),
    }
}

/// The label with its first letter in capitals ("situační zpráva" → "Situační zpráva").
fn capitalised(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The report `r` as a document; `exercise` marks a drill's report, `tz` is the time zone its
/// times are printed in.
pub fn situation_report<Tz: TimeZone>(r: &SituationReport, exercise: bool, tz: &Tz) -> Document {
    let kind = capitalised(r.kind.label_cs());
    let title = match r.number {
        Some(n) => format!("{kind} č. {n}"),
        None => kind.clone(),
    };
    let mut head = vec![("Druh zprávy".to_owned(), kind)];
    if let Some(n) = r.number {
        head.push(("Číslo zprávy".to_owned(), n.to_string()));
    }
    head.push(("Odesílatel".to_owned(), r.sender.clone()));
    if let Some(to) = &r.recipient {
        head.push(("Adresát".to_owned(), to.clone()));
    }
    head.push(("Stav k".to_owned(), time_cs(r.as_of, tz)));
    if let Some(period) = &r.period {
        head.push(("Období".to_owned(), period.clone()));
    }
    let mut blocks = vec![Block::Fields(head)];
    if let Some(old) = r.supersedes {
        blocks.push(Block::Paragraph(format!(
            "Tato zpráva opravuje zprávu {old}."
        )));
    }
    if !r.superseded_by.is_empty() {
        let ids: Vec<String> = r.superseded_by.iter().map(ToString::to_string).collect();
        blocks.push(Block::Paragraph(format!(
            "Tato zpráva byla nahrazena opravou: {}.",
            ids.join(", ")
        )));
    }
    let mut section = |heading: &str, text: &Option<String>| {
        if let Some(text) = text {
            blocks.push(Block::Heading(heading.to_owned()));
            blocks.push(Block::Paragraph(text.clone()));
        }
    };
    section("Popis situace", &r.situation);

    let number = |n: Option<u32>| n.map_or_else(|| "neuvedeno".to_owned(), |n| n.to_string());
    let impact = [
        ("Zraněné osoby", r.injured),
        ("Oběti", r.dead),
        ("Evakuované osoby", r.evacuated),
        ("Nezvěstné osoby", r.missing),
        ("Zasažené objekty", r.affected_buildings),
    ];
    blocks.push(Block::Heading("Dopady".to_owned()));
    blocks.push(Block::Table {
        headers: vec!["Dopad".to_owned(), "Počet".to_owned()],
        rows: impact
            .iter()
            .map(|(label, n)| vec![(*label).to_owned(), number(*n)])
            .collect(),
        widths: vec![3.0, 1.0],
    });
    if let Some(outages) = &r.supply_outages {
        blocks.push(Block::Fields(vec![(
            "Přerušené dodávky".to_owned(),
            outages.clone(),
        )]));
    }

    let mut section = |heading: &str, text: &Option<String>| {
        if let Some(text) = text {
            blocks.push(Block::Heading(heading.to_owned()));
            blocks.push(Block::Paragraph(text.clone()));
        }
    };
    section("Přijatá opatření", &r.measures);
    section("Nasazené síly a prostředky", &r.forces_deployed);
    if !r.linked_requests.is_empty() {
        section("Požadavky", &Some(r.linked_requests.join("\n")));
    }
    section("Předpokládaný vývoj", &r.expected_development);

    let mut tail = Vec::new();
    if let Some(by) = &r.prepared_by {
        tail.push(("Zpracoval".to_owned(), by.clone()));
    }
    if let Some(contact) = &r.contact {
        tail.push(("Kontakt".to_owned(), contact.clone()));
    }
    if !tail.is_empty() {
        blocks.push(Block::Heading("Zpracování".to_owned()));
        blocks.push(Block::Fields(tail));
    }

    Document {
        title,
        subtitle: Some(format!("{} – stav k {}", r.sender, time_cs(r.as_of, tz))),
        exercise,
        blocks,
    }
}
