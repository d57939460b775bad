//! Incidents (mimořádné události): the form, and the list with kind, place, level and state,
//! where the state and level can be changed.

use std::collections::BTreeMap;

use krizlink_core::api::{FieldEdit, IncidentInput};
use krizlink_core::record::{IncidentKind, IncidentState, Level};
use krizlink_core::views::Incident;
use krizlink_core::{FieldValue, RecordKind};
use serde::Serialize;
use yew::prelude::*;

use crate::bridge::invoke;
use crate::i18n::{label, Lang, T};
use crate::tasks::{write, EditArgs};
use crate::widgets::{
    add_errors, field, focus_first_error, initial, list_field, select, submit_row, time_field,
    Form, FormAction, Kind,
};
use crate::{time, Ctx};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub ctx: Ctx,
}

#[derive(Serialize)]
struct CreateArgs {
    space: String,
    input: IncidentInput,
}

fn defaults() -> BTreeMap<String, String> {
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
pub fn incidents(p: &Props) -> Html {
    let ctx = p.ctx.clone();
    let lang = ctx.lang;
    let form = use_reducer(|| Form {
        values: defaults(),
        ..Form::default()
    });
    let onsubmit = {
        let form = form.clone();
        let ctx = ctx.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut errors = BTreeMap::new();
            let input = IncidentInput {
                title: form.get("title"),
                kind: IncidentKind::parse(&form.get("kind")),
                place: form.get("place"),
                level: Level::parse(&form.get("level")),
                state: Some(IncidentState::Active),
                start: time_field(&form, "start", &mut errors, lang),
                description: form.get("description"),
                municipalities: list_field(&form, "municipalities"),
            };
            add_errors(&mut errors, input.validate(), lang);
            if !errors.is_empty() {
                focus_first_error(&errors);
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let ctx = ctx.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let args = CreateArgs {
                    space: ctx.space.id.clone(),
                    input,
                };
                match invoke::<_, String>("create_incident", &args).await {
                    Ok(_) => {
                        form.dispatch(FormAction::Reset(defaults()));
                        ctx.saved.emit(());
                    }
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    let mut kinds = vec![(String::new(), T::Choose.get(lang).to_owned())];
    kinds.extend(IncidentKind::ALL.iter().map(|k| {
        (
            k.code().to_owned(),
            label(lang, k.label_cs(), k.label_en()).to_owned(),
        )
    }));
    html! {
        <div class="split">
            <form class="card form" id="incident-form" {onsubmit} novalidate=true>
                <h2>{ T::NewIncident.get(lang) }</h2>
                { field(&form, "title", T::Title.get(lang), Kind::Text, "") }
                { select(&form, "kind", T::IncidentKind.get(lang), kinds) }
                { field(&form, "place", T::Place.get(lang), Kind::Text, "") }
                { select(&form, "level", T::Level.get(lang), level_options(lang)) }
                { field(&form, "start", T::Start.get(lang), Kind::Text, "23. 11. 2026 18:00") }
                { field(&form, "municipalities", T::Municipalities.get(lang), Kind::Text, T::CommaHint.get(lang)) }
                { field(&form, "description", T::Description.get(lang), Kind::Area, "") }
                { submit_row(&form, T::CreateIncident.get(lang), "incident-submit") }
            </form>
            <div class="list-pane" id="incident-list">
                if ctx.data.incidents.is_empty() { <p class="muted">{ T::NoneActive.get(lang) }</p> }
                { for ctx.data.incidents.iter().map(|i| html! { <IncidentCard ctx={ctx.clone()} incident={i.clone()} /> }) }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct CardProps {
    ctx: Ctx,
    incident: Incident,
}

#[function_component(IncidentCard)]
fn incident_card(p: &CardProps) -> Html {
    let ctx = &p.ctx;
    let i = &p.incident;
    let lang = ctx.lang;
    let error = use_state(|| None::<String>);
    let edit = |value: FieldValue| {
        let ctx = ctx.clone();
        let id = i.meta.id.to_string();
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
                let args = EditArgs {
                    space: ctx.space.id.clone(),
                    kind: RecordKind::Incident,
                    id: id.clone(),
                    edit: FieldEdit {
                        values: vec![value],
                        ..Default::default()
                    },
                };
                write(&ctx, "edit_record", args, error.clone());
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
                    <select onchange={edit(FieldValue::IncidentState(i.state))}>
                        { for IncidentState::ALL.iter().map(|s| html! { <option value={s.code()} selected={*s == i.state}>{ label(lang, s.label_cs(), s.label_en()) }</option> }) }
                    </select>
                </label>
                <label>{ T::Level.get(lang) }
                    <select onchange={edit(FieldValue::Level(Level::Spa1Alert))}>
                        { for level_options(lang).into_iter().map(|(c, l)| html! { <option value={c.clone()} selected={i.level.map(|x| x.code()) == Some(c.as_str()) || (c.is_empty() && i.level.is_none())}>{ l }</option> }) }
                    </select>
                </label>
            </div>
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </section>
    }
}
