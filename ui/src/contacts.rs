//! Contacts (kontakty): the form, and the list filtered as you type.

use std::collections::BTreeMap;

use krizlink_core::api::ContactInput;
use serde::Serialize;
use yew::prelude::*;

use crate::bridge::invoke;
use crate::i18n::T;
use crate::widgets::{add_errors, field, focus_first_error, submit_row, Form, FormAction, Kind};
use crate::Ctx;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub ctx: Ctx,
}

#[derive(Serialize)]
struct CreateArgs {
    space: String,
    input: ContactInput,
}

#[function_component(Contacts)]
pub fn contacts(p: &Props) -> Html {
    let ctx = p.ctx.clone();
    let lang = ctx.lang;
    let form = use_reducer(Form::default);
    let filter = use_state(String::new);
    let onsubmit = {
        let form = form.clone();
        let ctx = ctx.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut errors = BTreeMap::new();
            let input = ContactInput {
                name: form.get("name"),
                function: form.get("function"),
                organization: form.get("organization"),
                phone: form.get("phone"),
                email: form.get("email"),
                data_box: form.get("data_box"),
                radio_call_sign: form.get("radio_call_sign"),
                note: form.get("note"),
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
                match invoke::<_, String>("create_contact", &args).await {
                    Ok(_) => {
                        form.dispatch(FormAction::Reset(Default::default()));
                        ctx.saved.emit(());
                    }
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    let needle = filter.to_lowercase();
    let list: Vec<_> = ctx
        .data
        .contacts
        .iter()
        .filter(|c| {
            needle.is_empty()
                || [
                    Some(&c.name),
                    c.function.as_ref(),
                    c.organization.as_ref(),
                    c.phone.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|t| t.to_lowercase().contains(&needle))
        })
        .collect();
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| {
            filter.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    html! {
        <div class="split">
            <form class="card form" id="contact-form" {onsubmit} novalidate=true>
                <h2>{ T::NewContact.get(lang) }</h2>
                { field(&form, "name", T::Name.get(lang), Kind::Text, "") }
                { field(&form, "function", T::Function.get(lang), Kind::Text, "") }
                { field(&form, "organization", T::Organization.get(lang), Kind::Text, "") }
                <div class="row2">
                    { field(&form, "phone", T::Phone.get(lang), Kind::Text, "+420 …") }
                    { field(&form, "email", T::Email.get(lang), Kind::Text, "") }
                </div>
                <div class="row2">
                    { field(&form, "data_box", T::DataBox.get(lang), Kind::Text, "") }
                    { field(&form, "radio_call_sign", T::Radio.get(lang), Kind::Text, "") }
                </div>
                { field(&form, "note", T::Note.get(lang), Kind::Area, "") }
                { submit_row(&form, T::CreateContact.get(lang), "contact-submit") }
            </form>
            <div class="list-pane">
                <input id="filter" class="filter" type="search" placeholder={T::FilterHint.get(lang)}
                    value={(*filter).clone()} oninput={on_filter} aria-label={T::Filter.get(lang)} />
                <table class="list" id="contact-list">
                    <thead><tr><th>{ T::Name.get(lang) }</th><th>{ T::Function.get(lang) }</th><th>{ T::Organization.get(lang) }</th>
                        <th>{ T::Phone.get(lang) }</th><th>{ T::Email.get(lang) }</th><th>{ T::DataBox.get(lang) }</th><th>{ T::Radio.get(lang) }</th></tr></thead>
                    <tbody>
                    { for list.into_iter().map(|c| html! {
                        <tr><td><strong>{ c.name.clone() }</strong>
                            if let Some(n) = &c.note { <div class="muted small">{ n.clone() }</div> }</td>
                            <td>{ opt(&c.function) }</td><td>{ opt(&c.organization) }</td>
                            <td class="nowrap">{ opt(&c.phone) }</td><td>{ opt(&c.email) }</td><td>{ opt(&c.data_box) }</td><td>{ opt(&c.radio_call_sign) }</td></tr>
                    }) }
                    </tbody>
                </table>
            </div>
        </div>
    }
}
