//! The first-run and sign-in screens: create this device's identity (name and passphrase with a
//! strength hint) or unlock it, then create a space or join one by invite code (the offline
//! exchange of codes). States plainly that the app is not for classified information.

//!
//! These forms keep no drafts: nothing typed here (a passphrase least of all) outlives the
//! screen.

use krizlink_core::api::{passphrase_strength, AppStatus, Problem, MIN_PASSPHRASE_CHARS};
use krizlink_core::calls::{self, Code, NewIdentity, Passphrase, SpaceName};
use yew::prelude::*;

use crate::i18n::{Lang, T};
use crate::widgets::{
    field, on_submit, problem_text, required, submit_row, use_form, Kind, Values,
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub lang: Lang,
    pub status: AppStatus,
    pub has_spaces: bool,
    /// The identity was created or unlocked: ask the shell again.
    pub on_status: Callback<()>,
    /// A space was created or joined.
    pub on_space: Callback<String>,
    pub on_cancel: Callback<()>,
}

#[function_component(FirstRun)]
pub fn first_run(p: &Props) -> Html {
    let lang = p.lang;
    let body = if !p.status.initialised {
        html! { <CreateIdentity lang={lang} done={p.on_status.clone()} /> }
    } else if !p.status.unlocked {
        html! { <Unlock lang={lang} done={p.on_status.clone()} /> }
    } else {
        html! {
            <>
            <p class="lead">{ format!("{} {}", T::SignedInAs.get(lang), p.status.name.clone().unwrap_or_default()) }</p>
            <div class="two-col">
                <CreateSpace lang={lang} done={p.on_space.clone()} />
                <JoinSpace lang={lang} done={p.on_space.clone()} />
            </div>
            if p.has_spaces {
                <button id="setup-cancel" onclick={{ let c = p.on_cancel.clone(); Callback::from(move |_| c.emit(())) }}>{ T::Back.get(lang) }</button>
            }
            </>
        }
    };
    html! {
        <main class="first-run">
            <h1>{ "KrizLink" }</h1>
            <p class="lead">{ T::Tagline.get(lang) }</p>
            { body }
            <p class="notice" id="not-classified">{ T::NotClassified.get(lang) }</p>
            <footer class="muted">{ format!("KrizLink {} · {}", p.status.version, p.status.data_dir) }</footer>
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct StepProps {
    lang: Lang,
    done: Callback<()>,
}

#[function_component(CreateIdentity)]
fn create_identity(p: &StepProps) -> Html {
    let lang = p.lang;
    let form = use_form("identity", Values::new());
    let strength = passphrase_strength(&form.get("passphrase"));
    let hint = match (form.get("passphrase").is_empty(), strength) {
        (true, _) => T::PassHint,
        (false, 0) => T::PassTooShort,
        (false, 1) => T::PassWeak,
        (false, 2) => T::PassFair,
        _ => T::PassStrong,
    };
    let onsubmit = {
        let done = p.done.clone();
        on_submit::<calls::InitIdentity>(
            &form,
            move |form, errors| {
                let name = required(form, "name", errors, lang);
                let passphrase = form.get("passphrase");
                if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
                    errors.insert(
                        "passphrase".into(),
                        problem_text(Problem::PassphraseTooShort, lang),
                    );
                } else if passphrase != form.get("again") {
                    errors.insert(
                        "again".into(),
                        problem_text(Problem::PassphrasesDiffer, lang),
                    );
                }
                Some(NewIdentity { name, passphrase })
            },
            move |_: AppStatus, _| done.emit(()),
        )
    };
    html! {
        <form class="card" id="create-identity" {onsubmit} novalidate=true>
            <h2>{ T::CreateIdentity.get(lang) }</h2>
            <p class="muted">{ T::CreateIdentityHelp.get(lang) }</p>
            { field(&form, "name", T::YourName.get(lang), Kind::Text, "") }
            { field(&form, "passphrase", T::Passphrase.get(lang), Kind::Password, "") }
            <p id="strength" class={classes!("strength", (!form.get("passphrase").is_empty()).then(|| format!("s{strength}")))}>{ hint.get(lang) }</p>
            { field(&form, "again", T::PassphraseAgain.get(lang), Kind::Password, "") }
            { submit_row(&form, T::CreateIdentity.get(lang), "create-identity-submit", lang) }
        </form>
    }
}

#[function_component(Unlock)]
fn unlock(p: &StepProps) -> Html {
    let lang = p.lang;
    let form = use_form("unlock", Values::new());
    use_effect_with((), |_| crate::widgets::focus_later("f-passphrase"));
    let onsubmit = {
        let done = p.done.clone();
        on_submit::<calls::Unlock>(
            &form,
            move |form, errors| {
                let passphrase = required(form, "passphrase", errors, lang);
                Some(Passphrase { passphrase })
            },
            move |_, _| done.emit(()),
        )
    };
    html! {
        <form class="card narrow" id="unlock" {onsubmit} novalidate=true>
            <h2>{ T::Unlock.get(lang) }</h2>
            { field(&form, "passphrase", T::Passphrase.get(lang), Kind::Password, "") }
            { submit_row(&form, T::Unlock.get(lang), "unlock-submit", lang) }
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct SpaceStepProps {
    lang: Lang,
    done: Callback<String>,
}

#[function_component(CreateSpace)]
fn create_space(p: &SpaceStepProps) -> Html {
    let lang = p.lang;
    let form = use_form("space", Values::new());
    let onsubmit = {
        let done = p.done.clone();
        on_submit::<calls::CreateSpace>(
            &form,
            move |form, errors| {
                let name = required(form, "space_name", errors, lang);
                Some(SpaceName { name })
            },
            move |space, _| done.emit(space.id),
        )
    };
    html! {
        <form class="card" id="create-space" {onsubmit} novalidate=true>
            <h2>{ T::CreateSpace.get(lang) }</h2>
            <p class="muted">{ T::CreateSpaceHelp.get(lang) }</p>
            { field(&form, "space_name", T::SpaceName.get(lang), Kind::Text, "") }
            { submit_row(&form, T::CreateSpace.get(lang), "create-space-submit", lang) }
        </form>
    }
}

#[function_component(JoinSpace)]
fn join_space(p: &SpaceStepProps) -> Html {
    let lang = p.lang;
    let form = use_form("join", Values::new());
    let request = use_state(|| None::<String>);
    // A code with the inviter's address (after `@`) joins over the network in one step;
    // without it, the offline exchange: a request to hand over, then the welcome.
    let on_network = {
        let done = p.done.clone();
        on_submit::<calls::JoinNetwork>(
            &form,
            move |form, errors| {
                let code = required(form, "invite_code", errors, lang);
                Some(Code { code })
            },
            move |space, _| done.emit(space.id),
        )
    };
    let on_offline = {
        let request = request.clone();
        on_submit::<calls::RequestJoin>(
            &form,
            move |form, errors| {
                let code = required(form, "invite_code", errors, lang);
                Some(Code { code })
            },
            move |r, _| request.set(Some(r)),
        )
    };
    let on_code = {
        let form = form.clone();
        Callback::from(move |e: SubmitEvent| {
            if form.get("invite_code").contains('@') {
                on_network.emit(e);
            } else {
                on_offline.emit(e);
            }
        })
    };
    let on_welcome = {
        let done = p.done.clone();
        on_submit::<calls::FinishJoin>(
            &form,
            move |form, errors| {
                let code = required(form, "welcome_code", errors, lang);
                Some(Code { code })
            },
            move |space, _| done.emit(space.id),
        )
    };
    html! {
        <div class="card" id="join-space">
            <h2>{ T::JoinSpace.get(lang) }</h2>
            <p class="muted">{ T::JoinHelp.get(lang) }</p>
            <form onsubmit={on_code} novalidate=true>
                { field(&form, "invite_code", T::InviteCode.get(lang), Kind::Text, "KRZ-XXXX-XXXX-…") }
                { submit_row(&form, T::JoinStep1.get(lang), "join-submit", lang) }
                if form.busy { <p class="muted" id="joining">{ T::Joining.get(lang) }</p> }
            </form>
            if let Some(r) = (*request).clone() {
                <p class="muted">{ T::SendRequestBack.get(lang) }</p>
                <pre class="code" id="request-code">{ r }</pre>
                <form onsubmit={on_welcome} novalidate=true>
                    { field(&form, "welcome_code", T::WelcomeCode.get(lang), Kind::Area, "KRZWEL1…") }
                    { submit_row(&form, T::JoinStep2.get(lang), "welcome-submit", lang) }
                </form>
            }
        </div>
    }
}
