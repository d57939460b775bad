//! Members and invites (členové a pozvánky): invite a new device to this space with a role
//! (a one-use code read over the phone), admit it from its request code, and the offline
//! exchange explained. The live list of peers is the network panel (`network.rs`).

use krizlink_core::calls::{self, Code, NewInvite};
use krizlink_core::record::StaffRole;
use yew::prelude::*;

use crate::i18n::{Lang, T};
use crate::use_ctx;
use crate::widgets::{
    count_field, field, initial, on_submit, required, select, submit_row, use_form, FormAction,
    Kind, Values,
};

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
pub fn members() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form(
        "invite",
        initial(&[("role", "member".into()), ("valid_hours", "72".into())]),
    );
    let code = use_state(|| None::<String>);
    let welcome = use_state(|| None::<String>);
    let on_invite = {
        let space = ctx.space.id.clone();
        let code = code.clone();
        on_submit::<calls::CreateInvite>(
            &form,
            move |form, errors| {
                let hours = count_field(form, "valid_hours", errors, lang).unwrap_or(72);
                if !(1..=720).contains(&hours) {
                    errors.insert("valid_hours".into(), T::HoursRange.get(lang).to_owned());
                }
                let role = StaffRole::parse(&form.get("role")).unwrap_or(StaffRole::Member);
                let orp = if role == StaffRole::OrpCoordinator {
                    let orp = form.get("orp").trim().to_owned();
                    if orp.is_empty() {
                        errors.insert("orp".into(), T::OrpRequired.get(lang).to_owned());
                    }
                    orp
                } else {
                    String::new()
                };
                Some(NewInvite {
                    space: space.clone(),
                    role,
                    valid_hours: u64::from(hours),
                    orp,
                })
            },
            move |c, _| code.set(Some(c)),
        )
    };
    let accept = use_form("accept", Values::new());
    let on_accept = {
        let welcome = welcome.clone();
        on_submit::<calls::AcceptJoin>(
            &accept,
            move |form, errors| {
                let code = required(form, "request_code", errors, lang);
                Some(Code { code })
            },
            move |w, form| {
                welcome.set(Some(w));
                form.dispatch(FormAction::Reset);
            },
        )
    };
    html! {
        <div class="two-col">
            <form class="card" id="invite-form" onsubmit={on_invite} novalidate=true>
                <h2>{ T::InviteTitle.get(lang) }</h2>
                <p class="muted">{ T::InviteHelp.get(lang) }</p>
                { select(&form, "role", T::Role.get(lang), roles(lang)) }
                if form.get("role") == "orp_coordinator" {
                    { field(&form, "orp", T::InviteOrp.get(lang), Kind::Text, "Vsetín") }
                }
                { field(&form, "valid_hours", T::ValidHours.get(lang), Kind::Text, "72") }
                { submit_row(&form, T::CreateInvite.get(lang), "invite-submit", lang) }
                if let Some(c) = &*code { <pre class="code big-code" id="invite-code">{ c.clone() }</pre> }
            </form>
            <form class="card" id="accept-form" onsubmit={on_accept} novalidate=true>
                <h2>{ T::AcceptTitle.get(lang) }</h2>
                <p class="muted">{ T::AcceptHelp.get(lang) }</p>
                { field(&accept, "request_code", T::RequestCode.get(lang), Kind::Area, "KRZREQ1…") }
                { submit_row(&accept, T::Admit.get(lang), "accept-submit", lang) }
                if let Some(w) = &*welcome {
                    <p class="muted">{ T::SendWelcome.get(lang) }</p>
                    <pre class="code" id="welcome-code">{ w.clone() }</pre>
                }
            </form>
            <p class="muted">{ T::InviteNetworkNote.get(lang) }</p>
        </div>
    }
}
