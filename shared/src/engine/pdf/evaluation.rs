//! The evaluation of a drill (vyhodnocení cvičení) as a [`Document`], always marked CVIČENÍ:
//! the hot wash, the expected actions met or not, response times per ORP and per role,
//! injects left unanswered, results by objective, the after-action improvement plan and the
//! timeline.

use chrono::{DateTime, TimeZone};

use super::{Block, Document};
use crate::exercise::evaluation::{minutes_text, Evaluation, ResponseTimes};
use crate::record::Timestamp;

fn time_cs<Tz: TimeZone>(t: Timestamp, tz: &Tz) -> String {
    match t.to_datetime() {
        Some(utc) => {
            let local: DateTime<Tz> = utc.with_timezone(tz);
            local.naive_local().format("%-d. %-m. %Y %H:%M").to_string()
        }
        None => "neznámý čas".to_owned(),
    }
}

fn times_table(rows: &[ResponseTimes], group: &str) -> Block {
    Block::Table {
        headers: vec![
            group.to_owned(),
            "Odpovědí".into(),
            "Medián".into(),
            "Nejdelší".into(),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.group.clone(),
                    r.answered.to_string(),
                    minutes_text(r.median_ms),
                    minutes_text(r.max_ms),
                ]
            })
            .collect(),
        widths: vec![3.0, 1.0, 1.2, 1.2],
    }
}

/// The evaluation `e` as a document, its times in the time zone `tz`.
pub fn evaluation<Tz: TimeZone>(e: &Evaluation, tz: &Tz) -> Document {
    let mut blocks = Vec::new();
    let mut fields = Vec::new();
    if let Some(t) = e.started {
        fields.push(("Zahájeno".to_owned(), time_cs(t, tz)));
    }
    if let Some(t) = e.stopped {
        fields.push(("Ukončeno".to_owned(), time_cs(t, tz)));
    }
    fields.push((
        "Vydané vstupy".to_owned(),
        format!("{} (scénář: {})", e.released, e.scenario_size),
    ));
    blocks.push(Block::Fields(fields));
    blocks.push(Block::Heading("Bezprostřední rozbor (hot wash)".into()));
    blocks.push(Block::Paragraph(e.hot_wash.join("\n")));
    blocks.push(Block::Heading("Očekávané reakce".into()));
    blocks.push(Block::Table {
        headers: vec![
            "Vstup".into(),
            "Komu / cíl".into(),
            "Očekávaná reakce".into(),
            "Splněno".into(),
            "Kdo, kdy".into(),
            "Doba".into(),
            "Komentář hodnotitele".into(),
        ],
        rows: e
            .expected
            .iter()
            .map(|x| {
                vec![
                    format!("#{} {}", x.number, x.subject),
                    format!("{}\n{}", x.to, x.objective),
                    x.expected.clone(),
                    format!(
                        "{}{}{}",
                        if x.met { "ano" } else { "ne" },
                        if x.late { ", pozdě" } else { "" },
                        if x.judged { " (hodnotitel)" } else { "" }
                    ),
                    match (&x.first_response_by, x.first_response_at) {
                        (Some(by), Some(at)) => format!("{by}\n{}", time_cs(at, tz)),
                        _ => "bez odezvy".into(),
                    },
                    x.response_ms
                        .map(minutes_text)
                        .unwrap_or_else(|| "—".into()),
                    x.comment.clone(),
                ]
            })
            .collect(),
        widths: vec![2.2, 1.8, 2.4, 1.0, 1.8, 0.9, 2.2],
    });
    blocks.push(Block::Heading("Doby reakce podle ORP".into()));
    blocks.push(times_table(&e.by_orp, "ORP / štáb"));
    blocks.push(Block::Heading("Doby reakce podle role".into()));
    blocks.push(times_table(&e.by_role, "Role"));
    blocks.push(Block::Heading("Vstupy bez odezvy".into()));
    blocks.push(Block::Paragraph(if e.unanswered.is_empty() {
        "Žádné.".into()
    } else {
        e.unanswered
            .iter()
            .map(|x| format!("#{} {} ({})", x.number, x.subject, x.to))
            .collect::<Vec<_>>()
            .join("\n")
    }));
    blocks.push(Block::Heading("Pozorování podle cílů".into()));
    blocks.push(Block::Table {
        headers: vec!["Cíl".into(), "Splněno".into(), "Pozorování".into()],
        rows: e
            .by_objective
            .iter()
            .map(|o| {
                vec![
                    o.objective.clone(),
                    format!(
                        "{} {} {}",
                        o.met,
                        crate::views::z_ze(o.expected),
                        o.expected
                    ),
                    o.observations.join("\n"),
                ]
            })
            .collect(),
        widths: vec![2.0, 1.0, 4.0],
    });
    blocks.push(Block::Heading(
        "Závěrečná zpráva: plán nápravných opatření".into(),
    ));
    blocks.push(if e.plan.is_empty() {
        Block::Paragraph("Hodnotitelé nenavrhli žádné nápravné opatření.".into())
    } else {
        Block::Table {
            headers: vec![
                "Vstup, cíl".into(),
                "Zjištění".into(),
                "Nápravné opatření".into(),
                "Odpovídá".into(),
                "Termín".into(),
            ],
            rows: e
                .plan
                .iter()
                .map(|p| {
                    vec![
                        format!("#{} {}", p.inject, p.objective),
                        p.finding.clone(),
                        p.action.clone(),
                        p.owner.clone(),
                        p.due.map(|t| time_cs(t, tz)).unwrap_or_default(),
                    ]
                })
                .collect(),
            widths: vec![1.6, 2.4, 2.4, 1.4, 1.2],
        }
    });
    blocks.push(Block::Heading("Časová osa".into()));
    blocks.push(Block::Table {
        headers: vec!["Čas".into(), "Co".into(), "Text".into(), "Kdo".into()],
        rows: e
            .timeline
            .iter()
            .map(|t| {
                let what = match t.what.as_str() {
                    "inject" => format!(
                        "vstup {}",
                        t.injects
                            .iter()
                            .map(|n| if *n == 0 {
                                "mimořádný".to_owned()
                            } else {
                                format!("#{n}")
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    kind => format!(
                        "{} → {}",
                        kind_cs(kind),
                        t.injects
                            .iter()
                            .map(|n| format!("#{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                vec![time_cs(t.at, tz), what, t.text.clone(), t.who.clone()]
            })
            .collect(),
        widths: vec![1.4, 1.4, 4.0, 1.6],
    });
    Document {
        title: format!("Vyhodnocení cvičení: {}", e.name),
        subtitle: Some(
            "Bezprostřední rozbor a závěrečná zpráva s plánem nápravných opatření".into(),
        ),
        exercise: true,
        blocks,
    }
}

fn kind_cs(code: &str) -> &'static str {
    match code {
        "task" => "úkol",
        "sitrep" => "situační zpráva",
        "journal" => "záznam v deníku",
        "request" => "požadavek",
        "incident" => "událost",
        _ => "záznam",
    }
}
