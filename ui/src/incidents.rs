//! Incidents (mimořádné události): the form, and the list with kind, place, level and state,
//! where the state and level can be changed.

use krizlink_core::api::{FieldEdit, IncidentInput, RecordInput};
use krizlink_core::authority::Action;
use krizlink_core::calls::{self, EditRecord};
use krizlink_core::record::{IncidentKind, IncidentState, Level};
use krizlink_core::views::Incident;
use krizlink_core::{FieldValue, RecordKind};
use yew::prelude::*;

use crate::i18n::{label, Lang, T};
use crate::permissions;
use crate::tasks::{created, new_record, record_ref, write};
use crate::widgets::{
    add_errors, field, initial, list_field, on_submit, select, submit_row, time_field, use_form,
    Kind, Values,
};
use crate::{time, use_ctx};

fn defaults() -> Values {
    initial(&[("start", time::now_text())])
}

fn level_options(lang: Lang) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "—".to_owned())];
    v.extend(Level::ALL.iter().map(|l| {
        (
            l.code().to_owned(),
            label(lang, l.label_cs(), l.label_en()).to_owned(),
        )
    }));
    v
}

#[function_component(Incidents)]
pub fn incidents() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form("incident", defaults());
    let onsubmit = {
        let ctx2 = ctx.clone();
        on_submit::<calls::CreateRecord>(
            &form,
            move |form, errors| {
                let input = IncidentInput {
                    title: form.get("title"),
                    kind: IncidentKind::parse(&form.get("kind")),
                    place: form.get("place"),
                    level: Level::parse(&form.get("level")),
                    state: Some(IncidentState::Active),
                    start: time_field(form, "start", errors, lang),
                    description: form.get("description"),
                    municipalities: list_field(form, "municipalities"),
                };
                add_errors(errors, input.validate(), lang);
                Some(new_record(&ctx2, RecordInput::Incident(input)))
            },
            created(&ctx),
        )
    };
    let mut kinds = vec![(String::new(), T::Choose.get(lang).to_owned())];
    kinds.extend(IncidentKind::ALL.iter().map(|k| {
        (
            k.code().to_owned(),
            label(lang, k.label_cs(), k.label_en()).to_owned(),
        )
    }));
    let me = ctx.me();
    let may_create = me.may_create(RecordKind::Incident);
    html! {
        <div class="split">
            if !may_create {
                { permissions::locked(&me, RecordKind::Incident, T::NewIncident.get(lang), lang) }
            } else {
            <form class="card form" id="incident-form" {onsubmit} novalidate=true>
                <h2>{ T::NewIncident.get(lang) }</h2>
                { field(&form, "title", T::Title.get(lang), Kind::Text, "") }
                { select(&form, "kind", T::IncidentKind.get(lang), kinds) }
                { field(&form, "place", T::Place.get(lang), Kind::Text, "") }
                { select(&form, "level", T::Level.get(lang), level_options(lang)) }
                { field(&form, "start", T::Start.get(lang), Kind::Text, &time::hint(lang)) }
                { field(&form, "municipalities", T::Municipalities.get(lang), Kind::Text, T::CommaHint.get(lang)) }
                { field(&form, "description", T::Description.get(lang), Kind::Area, "") }
                { submit_row(&form, T::CreateIncident.get(lang), "incident-submit", lang) }
            </form>
            }
            <div class="list-pane" id="incident-list">
                { permissions::note_if(may_create, &me, RecordKind::Incident, lang) }
                if ctx.incidents().is_empty() { <p class="muted">{ T::NoneActive.get(lang) }</p> }
                { for ctx.incidents().iter().map(|i| html! { <IncidentCard incident={i.clone()} /> }) }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct CardProps {
    incident: Incident,
}

#[function_component(IncidentCard)]
fn incident_card(p: &CardProps) -> Html {
    let ctx = use_ctx();
    let i = &p.incident;
    let lang = ctx.lang;
    let error = use_state(|| None::<String>);
    let may_edit = ctx.me().may(RecordKind::Incident, Action::Edit);
    let edit = |value: FieldValue| {
        let ctx = ctx.clone();
        let me = record_ref(&ctx, RecordKind::Incident, i.meta.id);
        let error = error.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let value = match &value {
                FieldValue::IncidentState(_) => {
                    IncidentState::parse(&v).map(FieldValue::IncidentState)
                }
                _ => Level::parse(&v).map(FieldValue::Level),
            };
            if let Some(value) = value {
                let args = EditRecord {
                    record: me.clone(),
                    edit: FieldEdit {
                        values: vec![value],
                        ..Default::default()
                    },
                };
                write::<calls::EditRecordCmd>(&ctx, args, error.clone());
            }
        })
    };
    html! {
        <section class={classes!("card", "incident", (i.state == IncidentState::Closed).then_some("done"))}>
            <div class="request-head">
                <strong>{ i.title.clone() }</strong>
                <span class="badge">{ label(lang, i.kind.label_cs(), i.kind.label_en()) }</span>
                if let Some(l) = i.level { <span class="badge level">{ label(lang, l.label_cs(), l.label_en()) }</span> }
            </div>
            <div class="muted">
                { i.place.clone().unwrap_or_default() }
                if let Some(s) = i.start { { format!(" · {} {}", T::Start.get(lang), time::format(s)) } }
                if !i.affected_municipalities.is_empty() { { format!(" · {}", i.affected_municipalities.join(", ")) } }
            </div>
            if let Some(d) = &i.description { <p class="pre">{ d.clone() }</p> }
            <div class="actions">
                <label>{ T::IncidentState.get(lang) }
                    <select onchange={edit(FieldValue::IncidentState(i.state))} disabled={!may_edit}>
                        { for IncidentState::ALL.iter().map(|s| html! { <option value={s.code()} selected={*s == i.state}>{ label(lang, s.label_cs(), s.label_en()) }</option> }) }
                    </select>
                </label>
                <label>{ T::Level.get(lang) }
                    <select onchange={edit(FieldValue::Level(Level::Spa1Alert))} disabled={!may_edit}>
                        { for level_options(lang).into_iter().map(|(c, l)| html! { <option value={c.clone()} selected={i.level.map(|x| x.code()) == Some(c.as_str()) || (c.is_empty() && i.level.is_none())}>{ l }</option> }) }
                    </select>
                </label>
            </div>
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </section>
    }
}
