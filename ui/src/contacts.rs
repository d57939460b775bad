//! Contacts (kontakty): the form, and the list filtered as you type.

use krizlink_core::api::{ContactInput, RecordInput};
use krizlink_core::calls;
use krizlink_core::RecordKind;
use yew::prelude::*;

use crate::i18n::T;
use crate::permissions;
use crate::tasks::{created, new_record};
use crate::use_ctx;
use crate::widgets::{add_errors, field, on_submit, submit_row, use_form, Kind, Values};

#[function_component(Contacts)]
pub fn contacts() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form("contact", Values::new());
    let filter = use_state(String::new);
    let onsubmit = {
        let ctx2 = ctx.clone();
        on_submit::<calls::CreateRecord>(
            &form,
            move |form, errors| {
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
                add_errors(errors, input.validate(), lang);
                Some(new_record(&ctx2, RecordInput::Contact(input)))
            },
            created(&ctx),
        )
    };
    let needle = filter.to_lowercase();
    let list: Vec<_> = ctx
        .contacts()
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
    let me = ctx.me();
    let may_create = me.may_create(RecordKind::Contact);
    html! {
        <div class="split">
            if !may_create {
                { permissions::locked(&me, RecordKind::Contact, T::NewContact.get(lang), lang) }
            } else {
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
                { submit_row(&form, T::CreateContact.get(lang), "contact-submit", lang) }
            </form>
            }
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
