//! The staff journal (deník): chronological and append-only, a quick entry from the keyboard
//! (Alt+J, type, Enter), a filter by kind, and corrections as new entries that refer to the
//! old one.

use krizlink_core::api::{JournalInput, RecordInput};
use krizlink_core::calls;
use krizlink_core::record::JournalKind;
use krizlink_core::RecordKind;
use yew::prelude::*;

use crate::i18n::{label, T};
use crate::permissions;
use crate::tasks::new_record;
use crate::widgets::{
    add_errors, field, focus_later, initial, on_submit, select, submit_row, time_field, use_form,
    FormAction, Kind,
};
use crate::{time, use_ctx};

#[function_component(Journal)]
pub fn journal() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form("journal", initial(&[("kind", "information".into())]));
    let kind_filter = use_state(String::new);
    let onsubmit = {
        let ctx2 = ctx.clone();
        let saved = ctx.saved.clone();
        on_submit::<calls::CreateRecord>(
            &form,
            move |form, errors| {
                let event_time = time_field(form, "event_time", errors, lang);
                let input = JournalInput {
                    kind: JournalKind::parse(&form.get("kind")),
                    text: form.get("text"),
                    event_time,
                    author: form.get("author"),
                    source: form.get("source"),
                    corrects: Some(form.get("corrects")).filter(|s| !s.is_empty()),
                    simulated_for: form.get("simulated_for"),
                };
                add_errors(errors, input.validate(), lang);
                Some(new_record(&ctx2, RecordInput::JournalEntry(input)))
            },
            move |_id, form| {
                // Keep the kind for the next entry; back to the text for typing on.
                let kind = form.get("kind");
                form.dispatch(FormAction::Reset);
                form.dispatch(FormAction::Set("kind".into(), kind));
                saved.emit(());
                focus_later("f-text");
            },
        )
    };
    let kinds: Vec<(String, String)> = JournalKind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_owned(),
                label(lang, k.label_cs(), k.label_en()).to_owned(),
            )
        })
        .collect();
    let on_filter = {
        let kind_filter = kind_filter.clone();
        Callback::from(move |e: Event| {
            kind_filter.set(
                e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value(),
            )
        })
    };
    let wanted = JournalKind::parse(&kind_filter);
    let entries: Vec<_> = ctx
        .journal()
        .iter()
        .filter(|e| wanted.is_none_or(|k| e.kind == k))
        .collect();
    let corrects = form.get("corrects");
    let me = ctx.me();
    let may_create = me.may_create(RecordKind::JournalEntry);
    html! {
        <div class="stack">
            if !may_create {
                { permissions::locked(&me, RecordKind::JournalEntry, T::AddEntry.get(lang), lang) }
            } else {
            { permissions::note(&me, RecordKind::JournalEntry, lang) }
            <form class="card quick" id="journal-form" {onsubmit} novalidate=true>
                <div class="quick-row">
                    { select(&form, "kind", T::EntryKind.get(lang), kinds.clone()) }
                    <div class="grow">{ field(&form, "text", T::EntryText.get(lang), Kind::Text, T::QuickEntryHint.get(lang)) }</div>
                    { field(&form, "event_time", T::EventTime.get(lang), Kind::Text, T::Now.get(lang)) }
                    { field(&form, "source", T::Source.get(lang), Kind::Text, "") }
                    // The simulation cell: exercise control writes as a simulated body.
                    if me.exercise && me.role == Some(krizlink_core::record::StaffRole::ExerciseLeader) {
                        { field(&form, "simulated_for", T::SimulatedFor.get(lang), Kind::Text, T::SimulatedForHint.get(lang)) }
                    }
                </div>
                if !corrects.is_empty() {
                    <p class="banner warn">{ format!("{} {}", T::CorrectsEntry.get(lang), &corrects[..8.min(corrects.len())]) }</p>
                }
                { submit_row(&form, T::AddEntry.get(lang), "journal-submit", lang) }
            </form>
            }
            <div class="filter-row">
                <label for="journal-kind">{ T::FilterByKind.get(lang) }</label>
                <select id="journal-kind" onchange={on_filter}>
                    <option value="" selected={kind_filter.is_empty()}>{ T::All.get(lang) }</option>
                    { for kinds.into_iter().map(|(c, l)| html! { <option value={c.clone()} selected={*kind_filter == c}>{ l }</option> }) }
                </select>
                <span class="muted">{ format!("{}: {}", T::Shown.get(lang), entries.len()) }</span>
            </div>
            <table class="list" id="journal-list">
                <thead><tr><th>{ T::EventTime.get(lang) }</th><th>{ T::EntryKind.get(lang) }</th><th>{ T::EntryText.get(lang) }</th><th>{ T::Author.get(lang) }</th><th></th></tr></thead>
                <tbody>
                { for entries.into_iter().map(|e| {
                    let form = form.clone();
                    let id = e.meta.id.to_string();
                    let kind = e.kind.code().to_owned();
                    html! {
                        <tr>
                            <td class="nowrap">{ time::format(e.event_time) }
                                if e.event_time != e.written_at { <div class="muted small">{ format!("{} {}", T::Written.get(lang), time::format(e.written_at)) }</div> }
                            </td>
                            <td>{ label(lang, e.kind.label_cs(), e.kind.label_en()) }</td>
                            <td class="pre">
                                if e.corrects.is_some() { <span class="badge">{ T::Correction.get(lang) }</span>{ " " } }
                                { e.text.clone() }
                                if let Some(s) = &e.source { <div class="muted small">{ format!("{}: {s}", T::Source.get(lang)) }</div> }
                            </td>
                            <td>
                                // The simulation cell writes as a simulated body: say so.
                                if let Some(sim) = e.meta.simulated_label_cs() {
                                    <span class="badge simulated">{ sim }</span>
                                } else {
                                    { e.author.clone().unwrap_or_default() }
                                }
                            </td>
                            <td>if may_create { <button title={T::Correct.get(lang)} onclick={Callback::from(move |_| {
                                form.dispatch(FormAction::Set("corrects".into(), id.clone()));
                                form.dispatch(FormAction::Set("kind".into(), kind.clone()));
                                focus_later("f-text");
                            })}>{ T::Correct.get(lang) }</button> }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </div>
    }
}
