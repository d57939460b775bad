//! Form building blocks: a form's typed text and its per-field messages (a reducer, so no
//! keystroke is lost and nothing typed is cleared by a validation error), labelled fields with
//! the message next to them, and the shared submit helpers.

use std::collections::BTreeMap;
use std::rc::Rc;

use krizlink_core::api::{FieldError, Problem};
use krizlink_core::Timestamp;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::i18n::Lang;

/// The text of a form as typed, and what is wrong with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, String>,
    /// A sentence for the whole form (an engine refusal), or `None`.
    pub message: Option<String>,
    pub busy: bool,
}

pub enum FormAction {
    Set(String, String),
    Errors(BTreeMap<String, String>),
    Failed(String),
    Busy,
    /// Saved: back to these starting values.
    Reset(BTreeMap<String, String>),
}

impl Reducible for Form {
    type Action = FormAction;
    fn reduce(self: Rc<Self>, action: FormAction) -> Rc<Self> {
        let mut f = (*self).clone();
        match action {
            FormAction::Set(k, v) => {
                f.errors.remove(&k);
                f.values.insert(k, v);
            }
            FormAction::Errors(e) => {
                f.errors = e;
                f.message = None;
                f.busy = false;
            }
            FormAction::Failed(m) => {
                f.message = Some(m);
                f.busy = false;
            }
            FormAction::Busy => {
                f.busy = true;
                f.message = None;
            }
            FormAction::Reset(values) => {
                f = Form {
                    values,
                    ..Form::default()
                };
            }
        }
        Rc::new(f)
    }
}

impl Form {
    pub fn get(&self, key: &str) -> String {
        self.values.get(key).cloned().unwrap_or_default()
    }
}

/// Starting values of a form.
pub fn initial(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The message of a problem in the UI language.
pub fn problem_text(p: Problem, lang: Lang) -> String {
    match lang {
        Lang::Cs => p.cs(),
        Lang::En => p.en(),
    }
}

/// Collects field problems into per-field messages (the first problem of each field wins).
pub fn add_errors(errors: &mut BTreeMap<String, String>, found: Vec<FieldError>, lang: Lang) {
    for e in found {
        errors
            .entry(e.field)
            .or_insert_with(|| problem_text(e.problem, lang));
    }
}

/// Parses a time field, recording its message on failure.
pub fn time_field(
    form: &Form,
    key: &str,
    errors: &mut BTreeMap<String, String>,
    lang: Lang,
) -> Option<Timestamp> {
    match crate::time::parse(&form.get(key)) {
        Ok(t) => t,
        Err(p) => {
            errors.insert(key.to_owned(), problem_text(p, lang));
            None
        }
    }
}

/// Parses a whole-number field, recording its message on failure.
pub fn count_field(
    form: &Form,
    key: &str,
    errors: &mut BTreeMap<String, String>,
    lang: Lang,
) -> Option<u32> {
    match krizlink_core::api::parse_count(&form.get(key)) {
        Ok(n) => n,
        Err(p) => {
            errors.insert(key.to_owned(), problem_text(p, lang));
            None
        }
    }
}

/// Comma-separated text as a list.
pub fn list_field(form: &Form, key: &str) -> Vec<String> {
    form.get(key)
        .split([',', ';'])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// How a field looks.
#[derive(Clone, Copy, PartialEq, Default)]
pub enum Kind {
    #[default]
    Text,
    Password,
    Area,
}

/// A labelled input bound to `form[id]`, with its message beside it; its element id is
/// `f-{id}` (and `f-{id}-error` for the message).
pub fn field(
    form: &UseReducerHandle<Form>,
    id: &'static str,
    label: &str,
    kind: Kind,
    placeholder: &str,
) -> Html {
    scoped_field(form, "", id, label, kind, placeholder)
}

/// [`field`] for forms shown several times on one screen: element ids `f-{scope}-{id}`.
pub fn scoped_field(
    form: &UseReducerHandle<Form>,
    scope: &str,
    id: &'static str,
    label: &str,
    kind: Kind,
    placeholder: &str,
) -> Html {
    input_field(form, scope, id, label, kind, placeholder, None)
}

/// [`field`] offering the suggestions of the `<datalist>` with id `list`.
pub fn suggesting_field(
    form: &UseReducerHandle<Form>,
    id: &'static str,
    label: &str,
    placeholder: &str,
    list: &str,
) -> Html {
    input_field(form, "", id, label, Kind::Text, placeholder, Some(list))
}

fn input_field(
    form: &UseReducerHandle<Form>,
    scope: &str,
    id: &'static str,
    label: &str,
    kind: Kind,
    placeholder: &str,
    list: Option<&str>,
) -> Html {
    let value = form.get(id);
    let error = form.errors.get(id).cloned();
    let dom_id = if scope.is_empty() {
        format!("f-{id}")
    } else {
        format!("f-{scope}-{id}")
    };
    let error_id = format!("{dom_id}-error");
    let invalid = if error.is_some() { "true" } else { "false" };
    let d = form.dispatcher();
    let input = match kind {
        Kind::Area => {
            let oninput = Callback::from(move |e: InputEvent| {
                let v = e.target_unchecked_into::<HtmlTextAreaElement>().value();
                d.dispatch(FormAction::Set(id.to_owned(), v));
            });
            html! { <textarea id={dom_id.clone()} value={value} {oninput} rows="3"
            placeholder={placeholder.to_owned()} aria-invalid={invalid}
            aria-describedby={error_id.clone()} /> }
        }
        Kind::Text | Kind::Password => {
            let oninput = Callback::from(move |e: InputEvent| {
                let v = e.target_unchecked_into::<HtmlInputElement>().value();
                d.dispatch(FormAction::Set(id.to_owned(), v));
            });
            let ty = if kind == Kind::Password {
                "password"
            } else {
                "text"
            };
            let list = list.map(str::to_owned);
            html! { <input id={dom_id.clone()} type={ty} value={value} {oninput} list={list}
            placeholder={placeholder.to_owned()} aria-invalid={invalid}
            aria-describedby={error_id.clone()} autocomplete="off" /> }
        }
    };
    html! {
        <div class={classes!("field", error.is_some().then_some("has-error"))}>
            <label for={dom_id}>{ label.to_owned() }</label>
            { input }
            if let Some(e) = error {
                <p class="field-error" id={error_id} role="alert">{ e }</p>
            }
        </div>
    }
}

/// A labelled choice bound to `form[id]` (values are codes).
pub fn select(
    form: &UseReducerHandle<Form>,
    id: &'static str,
    label: &str,
    options: Vec<(String, String)>,
) -> Html {
    let value = form.get(id);
    let error = form.errors.get(id).cloned();
    let dom_id = format!("f-{id}");
    let d = form.dispatcher();
    let onchange = Callback::from(move |e: Event| {
        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
        d.dispatch(FormAction::Set(id.to_owned(), v));
    });
    html! {
        <div class={classes!("field", error.is_some().then_some("has-error"))}>
            <label for={dom_id.clone()}>{ label.to_owned() }</label>
            <select id={dom_id.clone()} {onchange}>
                { for options.into_iter().map(|(code, text)| html! {
                    <option value={code.clone()} selected={code == value}>{ text }</option>
                }) }
            </select>
            if let Some(e) = error {
                <p class="field-error" id={format!("{dom_id}-error")} role="alert">{ e }</p>
            }
        </div>
    }
}

/// The form-level sentence and the submit button.
pub fn submit_row(form: &Form, label: &str, id: &'static str) -> Html {
    html! {
        <div class="submit-row">
            <button type="submit" id={id} class="primary" disabled={form.busy}>{ label.to_owned() }</button>
            if let Some(m) = &form.message {
                <p class="form-error" role="alert">{ m.clone() }</p>
            }
        </div>
    }
}

/// Submits the enclosing form on Ctrl+Enter (from a multi-line field).
pub fn ctrl_enter_submits() -> Callback<KeyboardEvent> {
    Callback::from(|e: KeyboardEvent| {
        if e.ctrl_key() && e.key() == "Enter" {
            e.prevent_default();
            if let Some(form) = e
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                .and_then(|el| el.closest("form").ok().flatten())
            {
                if let Some(button) = form.query_selector("button[type=submit]").ok().flatten() {
                    if let Ok(b) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(button) {
                        b.click();
                    }
                }
            }
        }
    })
}

/// Moves the keyboard focus to the element with `id` once the screen has rendered.
pub fn focus_later(id: impl Into<String>) {
    let id = id.into();
    gloo::timers::callback::Timeout::new(60, move || {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
        {
            if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
                let _ = el.focus();
            }
        }
    })
    .forget();
}

/// Focuses the first field with a message, in the order of the page, once it is rendered.
pub fn focus_first_error(errors: &BTreeMap<String, String>) {
    if errors.is_empty() {
        return;
    }
    gloo::timers::callback::Timeout::new(60, || {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("[aria-invalid='true']").ok().flatten())
        {
            if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
                let _ = el.focus();
            }
        }
    })
    .forget();
}
