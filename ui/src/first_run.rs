//! The first-run and sign-in screens: create this device's identity (name and passphrase with a
//! strength hint) or unlock it, then create a space or join one by invite code (the offline
//! exchange of codes). States plainly that the app is not for classified information.

use krizlink_core::api::{
    passphrase_strength, AppStatus, Problem, SpaceInfo, MIN_PASSPHRASE_CHARS,
};
use serde::Serialize;
use yew::prelude::*;

use crate::bridge::invoke;
use crate::i18n::{Lang, T};
use crate::widgets::{field, focus_first_error, problem_text, submit_row, Form, FormAction, Kind};

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

#[derive(Serialize)]
struct InitArgs {
    name: String,
    passphrase: String,
}

#[function_component(CreateIdentity)]
fn create_identity(p: &StepProps) -> Html {
    let lang = p.lang;
    let form = use_reducer(Form::default);
    let strength = passphrase_strength(&form.get("passphrase"));
    let hint = match (form.get("passphrase").is_empty(), strength) {
        (true, _) => T::PassHint,
        (false, 0) => T::PassTooShort,
        (false, 1) => T::PassWeak,
        (false, 2) => T::PassFair,
        _ => T::PassStrong,
    };
    let onsubmit = {
        let form = form.clone();
        let done = p.done.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut errors = std::collections::BTreeMap::new();
            let name = form.get("name");
            let pass = form.get("passphrase");
            if name.trim().is_empty() {
                errors.insert("name".into(), problem_text(Problem::Required, lang));
            }
            if pass.chars().count() < MIN_PASSPHRASE_CHARS {
                errors.insert(
                    "passphrase".into(),
                    problem_text(Problem::PassphraseTooShort, lang),
                );
            } else if pass != form.get("again") {
                errors.insert(
                    "again".into(),
                    problem_text(Problem::PassphrasesDiffer, lang),
                );
            }
            if !errors.is_empty() {
                focus_first_error(&errors);
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let done = done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let args = InitArgs {
                    name,
                    passphrase: pass,
                };
                match invoke::<_, AppStatus>("init_identity", &args).await {
                    Ok(_) => done.emit(()),
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    html! {
        <form class="card" id="create-identity" {onsubmit} novalidate=true>
            <h2>{ T::CreateIdentity.get(lang) }</h2>
            <p class="muted">{ T::CreateIdentityHelp.get(lang) }</p>
            { field(&form, "name", T::YourName.get(lang), Kind::Text, "") }
            { field(&form, "passphrase", T::Passphrase.get(lang), Kind::Password, "") }
            <p id="strength" class={classes!("strength", (!form.get("passphrase").is_empty()).then(|| format!("s{strength}")))}>{ hint.get(lang) }</p>
            { field(&form, "again", T::PassphraseAgain.get(lang), Kind::Password, "") }
            { submit_row(&form, T::CreateIdentity.get(lang), "create-identity-submit") }
        </form>
    }
}

#[derive(Serialize)]
struct UnlockArgs {
    passphrase: String,
}

#[function_component(Unlock)]
fn unlock(p: &StepProps) -> Html {
    let lang = p.lang;
    let form = use_reducer(Form::default);
    use_effect_with((), |_| crate::widgets::focus_later("f-passphrase"));
    let onsubmit = {
        let form = form.clone();
        let done = p.done.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let pass = form.get("passphrase");
            if pass.is_empty() {
                let mut errors = std::collections::BTreeMap::new();
                errors.insert("passphrase".into(), problem_text(Problem::Required, lang));
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let done = done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<_, AppStatus>("unlock", &UnlockArgs { passphrase: pass }).await {
                    Ok(_) => done.emit(()),
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    html! {
        <form class="card narrow" id="unlock" {onsubmit} novalidate=true>
            <h2>{ T::Unlock.get(lang) }</h2>
            { field(&form, "passphrase", T::Passphrase.get(lang), Kind::Password, "") }
            { submit_row(&form, T::Unlock.get(lang), "unlock-submit") }
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct SpaceStepProps {
    lang: Lang,
    done: Callback<String>,
}

#[derive(Serialize)]
struct NameArgs {
    name: String,
}

#[function_component(CreateSpace)]
fn create_space(p: &SpaceStepProps) -> Html {
    let lang = p.lang;
    let form = use_reducer(Form::default);
    let onsubmit = {
        let form = form.clone();
        let done = p.done.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = form.get("space_name");
            if name.trim().is_empty() {
                let mut errors = std::collections::BTreeMap::new();
                errors.insert("space_name".into(), problem_text(Problem::Required, lang));
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let done = done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<_, SpaceInfo>("create_space", &NameArgs { name }).await {
                    Ok(s) => done.emit(s.id),
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    html! {
        <form class="card" id="create-space" {onsubmit} novalidate=true>
            <h2>{ T::CreateSpace.get(lang) }</h2>
            <p class="muted">{ T::CreateSpaceHelp.get(lang) }</p>
            { field(&form, "space_name", T::SpaceName.get(lang), Kind::Text, "") }
            { submit_row(&form, T::CreateSpace.get(lang), "create-space-submit") }
        </form>
    }
}

#[derive(Serialize)]
struct CodeArgs {
    code: String,
}

#[derive(Serialize)]
struct WelcomeArgs {
    welcome: String,
}

#[function_component(JoinSpace)]
fn join_space(p: &SpaceStepProps) -> Html {
    let lang = p.lang;
    let form = use_reducer(Form::default);
    let request = use_state(|| None::<String>);
    let on_code = {
        let form = form.clone();
        let request = request.clone();
        let done = p.done.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let code = form.get("invite_code");
            if code.trim().is_empty() {
                let mut errors = std::collections::BTreeMap::new();
                errors.insert("invite_code".into(), problem_text(Problem::Required, lang));
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let request = request.clone();
            let done = done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // A code with the inviter's address joins over the network in one step.
                if code.contains('@') {
                    match invoke::<_, SpaceInfo>("join_network", &CodeArgs { code }).await {
                        Ok(s) => done.emit(s.id),
                        Err(m) => form.dispatch(FormAction::Failed(m)),
                    }
                    return;
                }
                match invoke::<_, String>("request_join", &CodeArgs { code }).await {
                    Ok(r) => {
                        request.set(Some(r));
                        form.dispatch(FormAction::Errors(Default::default()));
                    }
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    let on_welcome = {
        let form = form.clone();
        let done = p.done.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let welcome = form.get("welcome_code");
            if welcome.trim().is_empty() {
                let mut errors = std::collections::BTreeMap::new();
                errors.insert("welcome_code".into(), problem_text(Problem::Required, lang));
                form.dispatch(FormAction::Errors(errors));
                return;
            }
            form.dispatch(FormAction::Busy);
            let form = form.clone();
            let done = done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<_, SpaceInfo>("finish_join", &WelcomeArgs { welcome }).await {
                    Ok(s) => done.emit(s.id),
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    html! {
        <div class="card" id="join-space">
            <h2>{ T::JoinSpace.get(lang) }</h2>
            <p class="muted">{ T::JoinHelp.get(lang) }</p>
            <form onsubmit={on_code} novalidate=true>
                { field(&form, "invite_code", T::InviteCode.get(lang), Kind::Text, "KRZ-XXXX-XXXX-…") }
                { submit_row(&form, T::JoinStep1.get(lang), "join-submit") }
                if form.busy { <p class="muted" id="joining">{ T::Joining.get(lang) }</p> }
            </form>
            if let Some(r) = (*request).clone() {
                <p class="muted">{ T::SendRequestBack.get(lang) }</p>
                <pre class="code" id="request-code">{ r }</pre>
                <form onsubmit={on_welcome} novalidate=true>
                    { field(&form, "welcome_code", T::WelcomeCode.get(lang), Kind::Area, "KRZWEL1…") }
                    { submit_row(&form, T::JoinStep2.get(lang), "welcome-submit") }
                </form>
            }
        </div>
    }
}
