//! Members and invites (členové a pozvánky): the list of the space's member devices with their
//! standing (role, ORP, founder, removed; the space's key epoch and how many member devices
//! already hold its newest key) and, for a chair or secretary, a role change with a
//! confirmation step; invite a new device to this space with a role (a one-use code read over
//! the phone or shown as a QR code), admit it from its request code, and the offline exchange
//! explained. The live list of peers is the network panel (`network.rs`).

use krizlink_core::calls::{self, ChangeMember, Code, DeviceRef, NewInvite, SpaceRef};
use krizlink_core::record::StaffRole;
use krizlink_core::views::{KeyProgress, MemberStanding};
use yew::prelude::*;

use crate::deliveries::{key_progress_text, use_ticks, REFRESH_MS};

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
    let manage = ctx.me().manages_members();
    html! {
        <div class="two-col">
            <MemberList />
            if !manage {
                <section class="card locked-form">
                    <h2>{ T::InviteTitle.get(lang) }</h2>
                    <p class="banner info permission-note" id="permission-note">{ T::OnlyChairInvites.get(lang) }</p>
                </section>
            } else {
            <form class="card" id="invite-form" onsubmit={on_invite} novalidate=true>
                <h2>{ T::InviteTitle.get(lang) }</h2>
                <p class="muted">{ T::InviteHelp.get(lang) }</p>
                { select(&form, "role", T::Role.get(lang), roles(lang)) }
                if form.get("role") == "orp_coordinator" {
                    { field(&form, "orp", T::InviteOrp.get(lang), Kind::Text, "Vsetín") }
                }
                { field(&form, "valid_hours", T::ValidHours.get(lang), Kind::Text, "72") }
                { submit_row(&form, T::CreateInvite.get(lang), "invite-submit", lang) }
                if let Some(c) = &*code {
                    <pre class="code big-code" id="invite-code">{ c.clone() }</pre>
                    { crate::qr::svg(c, "invite-qr", T::InviteQr.get(lang)).unwrap_or_else(|| html! {
                        <p class="muted" id="invite-qr-missing">{ T::InviteTooLongForQr.get(lang) }</p>
                    }) }
                }
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
            }
            <p class="muted">{ T::InviteNetworkNote.get(lang) }</p>
        </div>
    }
}

/// A role's label in the UI language.
fn role_label(role: StaffRole, lang: Lang) -> String {
    crate::i18n::label(lang, role.label_cs(), role.label_en()).to_owned()
}

/// The confirmation question of a role change.
fn confirm_question(name: &str, role: StaffRole, orp: &str, lang: Lang) -> String {
    let mut to = role_label(role, lang);
    if role == StaffRole::OrpCoordinator && !orp.trim().is_empty() {
        to = format!("{to} {}", orp.trim());
    }
    match lang {
        Lang::Cs => format!("Opravdu změnit roli člena {name} na {to}?"),
        Lang::En => format!("Really change the role of {name} to {to}?"),
    }
}

/// Every member device of the space (`#member-list`), loaded with `list_members` and again
/// after each change of the space (and after a role change here).
#[function_component(MemberList)]
fn member_list() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let me = ctx.me();
    let members = use_state(|| None::<Vec<MemberStanding>>);
    let error = use_state(|| None::<String>);
    let version = use_state(|| 0u32);
    let progress = use_state_eq(|| None::<KeyProgress>);
    let ticks = use_ticks(REFRESH_MS);
    {
        let members = members.clone();
        let error = error.clone();
        let space = ctx.space.id.clone();
        let operations = ctx.info().operations;
        use_effect_with((space, operations, *version), move |(space, _, _)| {
            let args = SpaceRef {
                space: space.clone(),
            };
            wasm_bindgen_futures::spawn_local(async move {
                match crate::bridge::call::<calls::ListMembers>(&args).await {
                    Ok(list) => {
                        members.set(Some(list));
                        error.set(None);
                    }
                    Err(m) => error.set(Some(m)),
                }
            });
        });
    }
    {
        // Receipts (who holds the new key) come with sync but without a change event: ask
        // again every few seconds as well.
        let progress = progress.clone();
        let space = ctx.space.id.clone();
        let operations = ctx.info().operations;
        use_effect_with(
            (space, operations, *version, ticks),
            move |(space, _, _, _)| {
                let args = SpaceRef {
                    space: space.clone(),
                };
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(p) = crate::bridge::call::<calls::KeyProgressCmd>(&args).await {
                        progress.set(Some(p));
                    }
                });
            },
        );
    }
    let reload = {
        let version = version.clone();
        Callback::from(move |()| version.set(*version + 1))
    };
    let manage = me.manages_members();
    let epoch = members
        .as_ref()
        .and_then(|l| l.iter().map(|m| m.epoch).max());
    html! {
        <section class="card" id="members">
            <h2>{ T::MembersTitle.get(lang) }</h2>
            if let Some(p) = progress.as_ref().filter(|p| epoch.is_none_or(|e| e == p.epoch)) {
                <p class="muted" id="member-epoch"><span id="key-progress">{ key_progress_text(p, lang) }</span></p>
            } else if let Some(e) = epoch {
                <p class="muted" id="member-epoch">{ format!("{} {e}", T::KeyEpoch.get(lang)) }</p>
            }
            if !manage {
                <p class="muted" id="member-why">{ T::OnlyChairChangesRoles.get(lang) }</p>
            }
            <ul class="member-list" id="member-list">
                { for members.iter().flatten().map(|m| html! {
                    <MemberRow key={m.device.to_string()} member={m.clone()} {manage} reload={reload.clone()} />
                }) }
            </ul>
            if members.is_none() && error.is_none() { <p class="muted">{ T::NoMembers.get(lang) }</p> }
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct RowProps {
    member: MemberStanding,
    /// Whether the person may change roles (chair, secretary).
    manage: bool,
    reload: Callback<()>,
}

/// The role change of one row: closed, choosing the new role, or asking for confirmation.
#[derive(Clone, PartialEq)]
enum Step {
    Closed,
    Choosing,
    Confirming,
    /// Asking whether to revoke this device.
    Revoking,
}

/// The state a confirmed member change runs with: the step shown, its error, whether it is
/// under way, and what to tell once it is done.
#[derive(Clone)]
struct Running {
    step: UseStateHandle<Step>,
    error: UseStateHandle<Option<String>>,
    busy: UseStateHandle<bool>,
    reload: Callback<()>,
    saved: Callback<()>,
}

impl Running {
    /// A click that calls `C` with `args` once (not again while it runs): done, the row
    /// closes and the list reloads; refused, the row goes back to `on_error` with the reason.
    fn on_click<C>(self, args: calls::Args<C>, on_error: Step) -> Callback<MouseEvent>
    where
        C: calls::Command + 'static,
        calls::Args<C>: Clone + 'static,
    {
        Callback::from(move |_: MouseEvent| {
            if *self.busy {
                return;
            }
            self.busy.set(true);
            let (run, args, on_error) = (self.clone(), args.clone(), on_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let answer = crate::bridge::call::<C>(&args).await;
                run.busy.set(false);
                match answer {
                    Ok(_) => {
                        run.step.set(Step::Closed);
                        run.saved.emit(());
                        run.reload.emit(());
                    }
                    Err(e) => {
                        run.step.set(on_error);
                        run.error.set(Some(e));
                    }
                }
            });
        })
    }
}

/// One member device (`#member-{short id}`): name, role, ORP, marks, and the role change.
#[function_component(MemberRow)]
fn member_row(p: &RowProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let m = &p.member;
    let short = m.device.short();
    let step = use_state(|| Step::Closed);
    let role = use_state(|| m.role.unwrap_or(StaffRole::Member));
    let orp = use_state(|| m.orp.clone().unwrap_or_default());
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let is_me = m.device.to_string() == ctx.device;
    let set_step = |to: Step| {
        let step = step.clone();
        let error = error.clone();
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            step.set(to.clone());
        })
    };
    let on_role = {
        let role = role.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(r) = v.parse::<StaffRole>() {
                role.set(r);
            }
        })
    };
    let on_orp = {
        let orp = orp.clone();
        Callback::from(move |e: InputEvent| {
            orp.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let on_continue = {
        let step = step.clone();
        let error = error.clone();
        let role = role.clone();
        let orp = orp.clone();
        Callback::from(move |_: MouseEvent| {
            if *role == StaffRole::OrpCoordinator && orp.trim().is_empty() {
                error.set(Some(T::OrpRequired.get(lang).to_owned()));
                return;
            }
            error.set(None);
            step.set(Step::Confirming);
        })
    };
    let run = Running {
        step: step.clone(),
        error: error.clone(),
        busy: busy.clone(),
        reload: p.reload.clone(),
        saved: ctx.saved.clone(),
    };
    let on_confirm = run.clone().on_click::<calls::ChangeMemberCmd>(
        ChangeMember {
            space: ctx.space.id.clone(),
            device: m.device.to_string(),
            role: *role,
            orp: if *role == StaffRole::OrpCoordinator {
                orp.trim().to_owned()
            } else {
                String::new()
            },
        },
        Step::Choosing,
    );
    // Opening the change starts from the member's standing as listed now.
    let on_open = {
        let step = step.clone();
        let error = error.clone();
        let role = role.clone();
        let orp = orp.clone();
        let (now_role, now_orp) = (m.role.unwrap_or(StaffRole::Member), m.orp.clone());
        Callback::from(move |_: MouseEvent| {
            role.set(now_role);
            orp.set(now_orp.clone().unwrap_or_default());
            error.set(None);
            step.set(Step::Choosing);
        })
    };
    let on_revoke = run.on_click::<calls::RevokeDevice>(
        DeviceRef {
            space: ctx.space.id.clone(),
            device: m.device.to_string(),
        },
        Step::Closed,
    );
    let role_id = format!("member-role-{short}");
    let orp_id = format!("member-orp-{short}");
    let removed = m.role.is_none();
    html! {
        <li class={classes!("member-row", removed.then_some("removed"))} id={format!("member-{short}")}>
            <strong>{ m.name.clone() }</strong>
            if is_me { { format!(" ({})", T::You.get(lang)) } }
            { " · " }
            <span class="member-role">{ m.role.map(|r| role_label(r, lang)).unwrap_or_default() }</span>
            if let Some(o) = &m.orp { { format!(" · {o}") } }
            if m.founder { <span class="badge">{ T::Founder.get(lang) }</span> }
            if removed { <span class="badge conflict">{ T::RemovedMark.get(lang) }</span> }
            <span class="muted small">{ format!(" · {short}") }</span>
            if p.manage && !removed {
                if *step == Step::Closed {
                    { " " }
                    <button type="button" class="link" id={format!("member-change-{short}")} onclick={on_open}>{ T::ChangeRole.get(lang) }</button>
                    if !is_me {
                        { " " }
                        <button type="button" class="link" id={format!("member-revoke-{short}")} onclick={set_step(Step::Revoking)}>{ T::RevokeDeviceButton.get(lang) }</button>
                    }
                }
                if *step == Step::Revoking {
                    <div class="member-editor" role="alertdialog" id={format!("member-revoke-confirm-{short}")}>
                        <p>{ format!("{} {} ({short})?", T::RevokeQuestion.get(lang), m.name) }</p>
                        <p class="muted small">{ T::RevokeExplain.get(lang) }</p>
                        <button type="button" class="primary" id={format!("member-revoke-yes-{short}")} disabled={*busy} onclick={on_revoke}>{ T::ConfirmStep.get(lang) }</button>
                        <button type="button" id={format!("member-revoke-no-{short}")} onclick={set_step(Step::Closed)}>{ T::CancelStep.get(lang) }</button>
                    </div>
                }
                if *step == Step::Choosing {
                    <div class="member-editor">
                        <div class="field">
                            <label for={role_id.clone()}>{ T::NewRole.get(lang) }</label>
                            <select id={role_id} onchange={on_role}>
                                { for roles(lang).into_iter().map(|(code, text)| html! {
                                    <option value={code.clone()} selected={code == role.code()}>{ text }</option>
                                }) }
                            </select>
                        </div>
                        if *role == StaffRole::OrpCoordinator {
                            <div class="field">
                                <label for={orp_id.clone()}>{ T::InviteOrp.get(lang) }</label>
                                <input id={orp_id} type="text" value={(*orp).clone()} oninput={on_orp} placeholder="Vsetín" />
                            </div>
                        }
                        <button type="button" class="primary" id={format!("member-continue-{short}")} onclick={on_continue}>{ T::ContinueStep.get(lang) }</button>
                        <button type="button" class="link" onclick={set_step(Step::Closed)}>{ T::CancelStep.get(lang) }</button>
                    </div>
                }
                if *step == Step::Confirming {
                    <div class="member-editor" role="alertdialog" id={format!("member-confirm-{short}")}>
                        <p>{ confirm_question(&m.name, *role, &orp, lang) }</p>
                        <button type="button" class="primary" id={format!("member-confirm-yes-{short}")} disabled={*busy} onclick={on_confirm}>{ T::ConfirmStep.get(lang) }</button>
                        <button type="button" id={format!("member-confirm-no-{short}")} onclick={set_step(Step::Closed)}>{ T::CancelStep.get(lang) }</button>
                    </div>
                }
            }
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </li>
    }
}
