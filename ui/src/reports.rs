//! Situation reports (situační zprávy): the form with the glossary's fields (sending makes the
//! report immutable; a correction is a new report that supersedes the old one), the list per
//! sender (ORP), and the print view (the webview's print to PDF) with header, number and the
//! "stav k" time; "Uložit PDF" saves the report alone as the engine's PDF (CVIČENÍ in a drill)
//! in the person's documents folder.

use std::collections::BTreeMap;

use krizlink_core::api::{RecordInput, SitrepInput};
use krizlink_core::calls::{self, ReportRef};
use krizlink_core::record::ReportKind;
use krizlink_core::views::SituationReport;
use krizlink_core::RecordKind;
use yew::prelude::*;

use crate::i18n::{label, Lang, T};
use crate::permissions;
use crate::tasks::{created, new_record};
use crate::widgets::{
    add_errors, count_field, ctrl_enter_submits, field, initial, on_submit, select, submit_row,
    time_field, use_form, FormAction, Kind, Values,
};
use crate::{time, use_ctx, Ctx};

/// Who sends a new report unless the person changes it: the sender of this device's latest
/// report in the space (an ORP coordinator reports for the same ORP every time), else the
/// space itself (the staff). An ORP coordinator always sends as its ORP.
pub fn default_sender(ctx: &Ctx) -> String {
    if let Some(orp) = ctx.me().fixed_orp() {
        return orp.to_owned();
    }
    ctx.reports()
        .iter()
        .filter(|r| r.meta.created_by.to_string() == ctx.device)
        .max_by_key(|r| r.meta.created_at)
        .map(|r| r.sender.clone())
        .unwrap_or_else(|| ctx.space.name.clone())
}

fn defaults(ctx: &Ctx) -> Values {
    initial(&[
        ("kind", "situation".into()),
        ("sender", default_sender(ctx)),
        ("as_of", time::now_text()),
    ])
}

fn opt(n: Option<u32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// The form's values for a correction of `r`.
fn correction_of(r: &SituationReport) -> Values {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    initial(&[
        ("kind", r.kind.code().into()),
        ("sender", r.sender.clone()),
        ("recipient", s(&r.recipient)),
        ("as_of", time::format(r.as_of)),
        ("period", s(&r.period)),
        ("situation", s(&r.situation)),
        ("injured", opt(r.injured)),
        ("dead", opt(r.dead)),
        ("evacuated", opt(r.evacuated)),
        ("missing", opt(r.missing)),
        ("affected_buildings", opt(r.affected_buildings)),
        ("supply_outages", s(&r.supply_outages)),
        ("measures", s(&r.measures)),
        ("forces_deployed", s(&r.forces_deployed)),
        ("expected_development", s(&r.expected_development)),
        ("prepared_by", s(&r.prepared_by)),
        ("contact", s(&r.contact)),
        ("supersedes", r.meta.id.to_string()),
    ])
}

#[function_component(Reports)]
pub fn reports() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form("report", defaults(&ctx));
    let shown = use_state(|| None::<String>);

    let onsubmit = {
        let ctx2 = ctx.clone();
        on_submit::<calls::CreateRecord>(
            &form,
            move |form, errors| {
                let as_of = time_field(form, "as_of", errors, lang);
                let mut number = count_field(form, "number", errors, lang);
                let sender = match ctx2.me().fixed_orp() {
                    Some(orp) => orp.to_owned(),
                    None => form.get("sender"),
                };
                if number.is_none() && !sender.trim().is_empty() {
                    // Numbers run per sender: the next one after the highest seen.
                    let last = ctx2
                        .reports()
                        .iter()
                        .filter(|r| r.sender.trim().eq_ignore_ascii_case(sender.trim()))
                        .filter_map(|r| r.number)
                        .max()
                        .unwrap_or(0);
                    number = Some(last + 1);
                }
                let input = SitrepInput {
                    kind: ReportKind::parse(&form.get("kind")),
                    number,
                    sender,
                    recipient: form.get("recipient"),
                    as_of,
                    period: form.get("period"),
                    situation: form.get("situation"),
                    injured: count_field(form, "injured", errors, lang),
                    dead: count_field(form, "dead", errors, lang),
                    evacuated: count_field(form, "evacuated", errors, lang),
                    missing: count_field(form, "missing", errors, lang),
                    affected_buildings: count_field(form, "affected_buildings", errors, lang),
                    supply_outages: form.get("supply_outages"),
                    measures: form.get("measures"),
                    forces_deployed: form.get("forces_deployed"),
                    expected_development: form.get("expected_development"),
                    prepared_by: form.get("prepared_by"),
                    contact: form.get("contact"),
                    supersedes: Some(form.get("supersedes")).filter(|s| !s.is_empty()),
                };
                add_errors(errors, input.validate(), lang);
                Some(new_record(&ctx2, RecordInput::SituationReport(input)))
            },
            created(&ctx),
        )
    };

    let mut by_sender: BTreeMap<String, Vec<&SituationReport>> = BTreeMap::new();
    for r in ctx.reports() {
        by_sender.entry(r.sender.clone()).or_default().push(r);
    }
    let kinds: Vec<(String, String)> = ReportKind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_owned(),
                label(lang, k.label_cs(), k.label_en()).to_owned(),
            )
        })
        .collect();
    let chosen = shown
        .as_ref()
        .and_then(|id| ctx.reports().iter().find(|r| &r.meta.id.to_string() == id))
        .cloned();
    let supersedes = form.get("supersedes");
    let me = ctx.me();
    let may_create = me.may_create(RecordKind::SituationReport);
    let fixed = me.fixed_orp().map(str::to_owned);
    html! {
        <div class="split">
            if !may_create {
                { permissions::locked(&me, RecordKind::SituationReport, T::NewReport.get(lang), lang) }
            } else {
            <form class="card form" id="report-form" {onsubmit} novalidate=true onkeydown={ctrl_enter_submits()}>
                <h2>{ T::NewReport.get(lang) }</h2>
                if !supersedes.is_empty() {
                    <p class="banner warn">{ format!("{} {}", T::CorrectionOf.get(lang), &supersedes[..8.min(supersedes.len())]) }</p>
                }
                { select(&form, "kind", T::ReportKind.get(lang), kinds) }
                <div class="row2">
                    if let Some(orp) = &fixed {
                        <div class="field">
                            <label for="f-sender">{ T::Sender.get(lang) }</label>
                            <input id="f-sender" type="text" value={orp.clone()} readonly=true />
                        </div>
                    } else {
                        { field(&form, "sender", T::Sender.get(lang), Kind::Text, "") }
                    }
                    { field(&form, "number", T::ReportNumber.get(lang), Kind::Text, T::AutoNumber.get(lang)) }
                </div>
                <div class="row2">
                    { field(&form, "as_of", T::AsOf.get(lang), Kind::Text, &time::hint(lang)) }
                    { field(&form, "recipient", T::Recipient.get(lang), Kind::Text, "") }
                </div>
                { field(&form, "period", T::Period.get(lang), Kind::Text, "") }
                { field(&form, "situation", T::Situation.get(lang), Kind::Area, "") }
                <fieldset class="impact"><legend>{ T::Impact.get(lang) }</legend>
                    { field(&form, "injured", T::Injured.get(lang), Kind::Text, "") }
                    { field(&form, "dead", T::Dead.get(lang), Kind::Text, "") }
                    { field(&form, "evacuated", T::Evacuated.get(lang), Kind::Text, "") }
                    { field(&form, "missing", T::Missing.get(lang), Kind::Text, "") }
                    { field(&form, "affected_buildings", T::AffectedBuildings.get(lang), Kind::Text, "") }
                </fieldset>
                { field(&form, "supply_outages", T::SupplyOutages.get(lang), Kind::Area, "") }
                { field(&form, "measures", T::Measures.get(lang), Kind::Area, "") }
                { field(&form, "forces_deployed", T::Forces.get(lang), Kind::Area, "") }
                { field(&form, "expected_development", T::Expected.get(lang), Kind::Area, "") }
                <div class="row2">
                    { field(&form, "prepared_by", T::PreparedBy.get(lang), Kind::Text, "") }
                    { field(&form, "contact", T::ContactInfo.get(lang), Kind::Text, "") }
                </div>
                <p class="muted">{ T::SendImmutable.get(lang) }</p>
                { submit_row(&form, T::SendReport.get(lang), "report-submit", lang) }
            </form>
            }
            <div class="list-pane">
                { permissions::note_if(may_create, &me, RecordKind::SituationReport, lang) }
                if ctx.reports().is_empty() { <p class="muted">{ T::NoReports.get(lang) }</p> }
                { for by_sender.into_iter().map(|(sender, mut list)| {
                    list.sort_by_key(|r| std::cmp::Reverse(r.as_of));
                    html! {
                        <section class="card">
                            <h3>{ sender }</h3>
                            <ul class="plain">
                            { for list.into_iter().map(|r| {
                                let id = r.meta.id.to_string();
                                let shown = shown.clone();
                                let form = form.clone();
                                let fix = correction_of(r);
                                let may_correct = me.may_report_as(&r.sender);
                                html! {
                                    <li class="report-row">
                                        <span>{ format!("{} č. {} · {} {}", label(lang, r.kind.label_cs(), r.kind.label_en()), opt(r.number), T::AsOf.get(lang), time::format(r.as_of)) }</span>
                                        if !r.superseded_by.is_empty() { <span class="badge">{ T::Superseded.get(lang) }</span> }
                                        <button onclick={Callback::from(move |_| shown.set(Some(id.clone())))}>{ T::Open.get(lang) }</button>
                                        if may_correct {
                                            <button onclick={Callback::from(move |_| form.dispatch(FormAction::Load(fix.clone())))}>{ T::Correct.get(lang) }</button>
                                        }
                                    </li>
                                }
                            }) }
                            </ul>
                        </section>
                    }
                }) }
                if let Some(r) = chosen { { print_view(&ctx, &r, lang) } }
            </div>
        </div>
    }
}

fn print_view(ctx: &Ctx, r: &SituationReport, lang: Lang) -> Html {
    let print = Callback::from(|_: MouseEvent| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    });
    let text = |t: T, v: &Option<String>| -> Html {
        match v {
            Some(v) => html! { <><h4>{ t.get(lang) }</h4><p class="pre">{ v.clone() }</p></> },
            None => html! {},
        }
    };
    let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
    html! {
        <article class="print-view card" id="print-view">
            <div class="no-print actions">
                <button class="primary" onclick={print} id="print">{ T::Print.get(lang) }</button>
                <SavePdf record={r.meta.id.to_string()} />
            </div>
            <header class="print-head">
                <div>{ ctx.space.name.clone() }</div>
                <h2>{ format!("{} č. {}", label(lang, r.kind.label_cs(), r.kind.label_en()), opt(r.number)) }</h2>
                <div><strong>{ format!("{}: ", T::AsOf.get(lang)) }</strong>{ time::format(r.as_of) }</div>
                <div>{ format!("{}: {}", T::Sender.get(lang), r.sender) }
                    if let Some(to) = &r.recipient { { format!(" · {}: {to}", T::Recipient.get(lang)) } }</div>
                if let Some(p) = &r.period { <div>{ format!("{}: {p}", T::Period.get(lang)) }</div> }
            </header>
            { text(T::Situation, &r.situation) }
            <h4>{ T::Impact.get(lang) }</h4>
            <table class="impact-table"><tr>
                <td>{ format!("{}: {}", T::Injured.get(lang), n(r.injured)) }</td>
                <td>{ format!("{}: {}", T::Dead.get(lang), n(r.dead)) }</td>
                <td>{ format!("{}: {}", T::Evacuated.get(lang), n(r.evacuated)) }</td>
                <td>{ format!("{}: {}", T::Missing.get(lang), n(r.missing)) }</td>
                <td>{ format!("{}: {}", T::AffectedBuildings.get(lang), n(r.affected_buildings)) }</td>
            </tr></table>
            { text(T::SupplyOutages, &r.supply_outages) }
            { text(T::Measures, &r.measures) }
            { text(T::Forces, &r.forces_deployed) }
            { text(T::Expected, &r.expected_development) }
            <footer class="print-foot">
                { format!("{}: {}", T::PreparedBy.get(lang), r.prepared_by.clone().unwrap_or_else(|| "—".into())) }
                if let Some(c) = &r.contact { { format!(" · {}: {c}", T::ContactInfo.get(lang)) } }
                <div class="muted">{ T::NotClassified.get(lang) }</div>
            </footer>
            <crate::deliveries::Deliveries record={crate::tasks::record_ref(ctx, RecordKind::SituationReport, r.meta.id)} id="report-deliveries" />
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct SavePdfProps {
    /// The report's record id in hex.
    record: String,
}

/// "Uložit PDF": the engine's PDF of one report in the documents folder, and where it went.
#[function_component(SavePdf)]
fn save_pdf(p: &SavePdfProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let busy = use_state(|| false);
    // The answer for which report: a path or the refusal.
    let answer = use_state(|| None::<(String, Result<String, String>)>);
    let onclick = {
        let (busy, answer) = (busy.clone(), answer.clone());
        let args = ReportRef {
            space: ctx.space.id.clone(),
            id: p.record.clone(),
        };
        Callback::from(move |_: MouseEvent| {
            if *busy {
                return;
            }
            busy.set(true);
            let (busy, answer, args) = (busy.clone(), answer.clone(), args.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = crate::bridge::call::<calls::SaveReportPdf>(&args).await;
                answer.set(Some((args.id.clone(), result)));
                busy.set(false);
            });
        })
    };
    let shown = answer.as_ref().filter(|(id, _)| *id == p.record);
    html! {
        <>
            <button type="button" id="save-pdf" disabled={*busy} {onclick}>{ T::SavePdf.get(lang) }</button>
            { match shown {
                Some((_, Ok(path))) => html! { <span class="saved-path" id="saved-path">{ format!("{} {path}", T::SavedTo.get(lang)) }</span> },
                Some((_, Err(m))) => html! { <span class="form-error" role="alert">{ m.clone() }</span> },
                None => html! {},
            } }
        </>
    }
}
