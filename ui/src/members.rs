//! Members and invites (členové a pozvánky): invite a new device to this space with a role
//! (a one-use code read over the phone), admit it from its request code, and the offline
//! exchange explained. The live list of peers is the network panel (`network.rs`).

use std::collections::BTreeMap;

use krizlink_core::api::Problem;
use serde::Serialize;
use yew::prelude::*;

use crate::bridge::invoke;
use crate::i18n::{Lang, T};
use crate::widgets::{
    count_field, field, initial, problem_text, select, submit_row, Form, FormAction, Kind,
};
use crate::Ctx;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub ctx: Ctx,
}

#[derive(Serialize)]
struct InviteArgs {
    space: String,
    role: String,
    valid_hours: u64,
}

#[derive(Serialize)]
struct AcceptArgs {
    request: String,
}

fn roles(lang: Lang) -> Vec<(String, String)> {
    [
        ("member", "člen štábu", "staff member"),
        ("orp_coordinator", "koordinátor ORP", "ORP coordinator"),
        ("secretary", "tajemník štábu", "staff secretary"),
        ("chair", "předseda štábu", "chair"),
        ("exercise_leader", "řídící cvičení", "exercise leader"),
        ("observer", "pozorovatel", "observer"),
    ]
    .into_iter()
    .map(|(c, cs, en)| (c.to_owned(), crate::i18n::label(lang, cs, en).to_owned()))
    .collect()
}

#[function_component(Members)]
pub fn members(p: &Props) -> Html {
    let ctx = p.ctx.clone();
    let lang = ctx.lang;
    let form = use_reducer(|| Form {
        values: initial(&[("role", "member".into()), ("valid_hours", "72".into())]),
        ..Form::default()
    });
    let code = use_state(|| None::<String>);
    let welcome = use_state(|| None::<String>);
    let on_invite = {
        let form = form.clone();
        let ctx = ctx.clone();
        let code = code.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut errors = BTreeMap::new();
            let hours = count_field(&form, "valid_hours", &mut errors, lang).unwrap_or(72);
            if !(1..=720).contains(&hours) {
                errors.insert("valid_hours".into(), T::HoursRange.get(lang).to_owned());
            }
            if !errors.is_empty() {
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let code = code.clone();
            let args = InviteArgs {
                space: ctx.space.id.clone(),
                role: form.get("role"),
                valid_hours: u64::from(hours),
            };
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<_, String>("create_invite", &args).await {
                    Ok(c) => {
                        code.set(Some(c));
                        form.dispatch(FormAction::Errors(BTreeMap::new()));
                    }
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    let accept = use_reducer(Form::default);
    let on_accept = {
        let accept = accept.clone();
        let welcome = welcome.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let request = accept.get("request_code");
            if request.trim().is_empty() {
                let mut errors = BTreeMap::new();
                errors.insert("request_code".into(), problem_text(Problem::Required, lang));
                accept.dispatch(FormAction::Errors(errors));
                return;
            }
            accept.dispatch(FormAction::Busy);
            let accept = accept.clone();
            let welcome = welcome.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<_, String>("accept_join", &AcceptArgs { request }).await {
                    Ok(w) => {
                        welcome.set(Some(w));
                        accept.dispatch(FormAction::Reset(BTreeMap::new()));
                    }
                    Err(m) => accept.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    html! {
        <div class="two-col">
            <form class="card" id="invite-form" onsubmit={on_invite} novalidate=true>
                <h2>{ T::InviteTitle.get(lang) }</h2>
                <p class="muted">{ T::InviteHelp.get(lang) }</p>
                { select(&form, "role", T::Role.get(lang), roles(lang)) }
                { field(&form, "valid_hours", T::ValidHours.get(lang), Kind::Text, "72") }
                { submit_row(&form, T::CreateInvite.get(lang), "invite-submit") }
                if let Some(c) = &*code { <pre class="code big-code" id="invite-code">{ c.clone() }</pre> }
            </form>
            <form class="card" id="accept-form" onsubmit={on_accept} novalidate=true>
                <h2>{ T::AcceptTitle.get(lang) }</h2>
                <p class="muted">{ T::AcceptHelp.get(lang) }</p>
                { field(&accept, "request_code", T::RequestCode.get(lang), Kind::Area, "KRZREQ1…") }
                { submit_row(&accept, T::Admit.get(lang), "accept-submit") }
                if let Some(w) = &*welcome {
                    <p class="muted">{ T::SendWelcome.get(lang) }</p>
                    <pre class="code" id="welcome-code">{ w.clone() }</pre>
                }
            </form>
            <p class="muted">{ T::InviteNetworkNote.get(lang) }</p>
        </div>
    }
}
