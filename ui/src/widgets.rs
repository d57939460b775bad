//! Form building blocks: a form's typed text and its per-field messages (a reducer, so no
//! keystroke is lost and nothing typed is cleared by a validation error), drafts that survive
//! switching screens until they are sent or discarded ([`use_form`]), the one submit path every
//! form takes ([`on_submit`]: check → busy → typed command → reset or the refusal), and labelled
//! fields with the message next to them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use krizlink_core::api::{FieldError, Problem};
use krizlink_core::calls::{Args, Command, Reply};
use krizlink_core::Timestamp;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::i18n::{Lang, T};

/// Field id → its text.
pub type Values = BTreeMap<String, String>;
/// Field id → its message.
pub type Errors = BTreeMap<String, String>;

/// The text of a form as typed, and what is wrong with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    pub values: Values,
    /// What the form starts with (and returns to when sent or discarded).
    pub defaults: Values,
    pub errors: Errors,
    /// A sentence for the whole form (an engine refusal), or `None`.
    pub message: Option<String>,
    pub busy: bool,
    /// Kept as a draft across screens (see [`use_form`]).
    pub keeps_drafts: bool,
}

pub enum FormAction {
    Set(String, String),
    Errors(Errors),
    Failed(String),
    Busy,
    /// Sent, or thrown away: back to the starting values.
    Reset,
    /// The command answered and the form stays as it is (a step of a longer exchange).
    Done,
    /// Fills the form with these values (a correction starts from the record it corrects).
    Load(Values),
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
            FormAction::Reset => {
                f = Form {
                    values: f.defaults.clone(),
                    defaults: f.defaults,
                    keeps_drafts: f.keeps_drafts,
                    ..Form::default()
                };
            }
            FormAction::Done => {
                f.busy = false;
                f.errors.clear();
                f.message = None;
            }
            FormAction::Load(values) => {
                f.values = values;
                f.errors.clear();
                f.message = None;
            }
        }
        Rc::new(f)
    }
}

impl Form {
    pub fn get(&self, key: &str) -> String {
        self.values.get(key).cloned().unwrap_or_default()
    }

    /// Something was typed that is not sent yet.
    pub fn is_draft(&self) -> bool {
        self.values
            .iter()
            .any(|(k, v)| !v.trim().is_empty() && self.defaults.get(k) != Some(v))
    }
}

/// Drafts of the forms of the shown space, kept while the app runs (in memory only: record
/// text never goes to the webview's storage). Provided by the root as a context.
#[derive(Clone, Default)]
pub struct Drafts {
    space: String,
    store: Rc<RefCell<BTreeMap<(String, String), Values>>>,
}

impl PartialEq for Drafts {
    fn eq(&self, other: &Drafts) -> bool {
        self.space == other.space && Rc::ptr_eq(&self.store, &other.store)
    }
}

impl Drafts {
    /// The same store, for the forms of `space`.
    pub fn for_space(&self, space: &str) -> Drafts {
        Drafts {
            space: space.to_owned(),
            store: self.store.clone(),
        }
    }

    fn get(&self, form: &str) -> Option<Values> {
        self.store
            .borrow()
            .get(&(self.space.clone(), form.to_owned()))
            .cloned()
    }

    fn put(&self, form: &str, values: Option<Values>) {
        let key = (self.space.clone(), form.to_owned());
        let mut store = self.store.borrow_mut();
        match values {
            Some(values) => store.insert(key, values),
            None => store.remove(&key),
        };
    }
}

/// A form called `name` (unique per screen, e.g. `"task"`), starting from its draft if the
/// person left one, else from `defaults`. Every change is kept as the draft.
#[hook]
pub fn use_form(name: &'static str, defaults: Values) -> UseReducerHandle<Form> {
    let drafts = use_context::<Drafts>();
    let form = {
        let drafts = drafts.clone();
        use_reducer(move || Form {
            values: drafts
                .as_ref()
                .and_then(|d| d.get(name))
                .unwrap_or_else(|| defaults.clone()),
            defaults,
            keeps_drafts: drafts.is_some(),
            ..Form::default()
        })
    };
    use_effect_with(form.values.clone(), {
        let form = form.clone();
        move |_| {
            if let Some(d) = drafts {
                // Only what the person typed is kept: an untouched form starts afresh (a
                // time field's "now" is then now again).
                d.put(name, form.is_draft().then(|| form.values.clone()));
            }
        }
    });
    form
}

/// The one submit path of every form: `check` turns the typed text into the command's
/// arguments (recording each field's message in the errors); with any message the first bad
/// field gets the focus and nothing is sent. Otherwise the form is busy until the command
/// answers: `done` gets the answer (and usually resets the form), a refusal is shown as the
/// form's sentence and everything typed stays.
pub fn on_submit<C: Command + 'static>(
    form: &UseReducerHandle<Form>,
    check: impl Fn(&Form, &mut Errors) -> Option<Args<C>> + 'static,
    done: impl Fn(Reply<C>, &UseReducerHandle<Form>) + 'static,
) -> Callback<SubmitEvent> {
    on_submit_with::<C>(form, None, check, done)
}

/// [`on_submit`], with the refusal shown next to `refusal_field` instead of under the form
/// (where the shell's sentence is about that one field, e.g. an address it cannot dial).
pub fn on_submit_with<C: Command + 'static>(
    form: &UseReducerHandle<Form>,
    refusal_field: Option<&'static str>,
    check: impl Fn(&Form, &mut Errors) -> Option<Args<C>> + 'static,
    done: impl Fn(Reply<C>, &UseReducerHandle<Form>) + 'static,
) -> Callback<SubmitEvent> {
    let form = form.clone();
    let done = Rc::new(done);
    Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        if form.busy {
            return;
        }
        let mut errors = Errors::new();
        let args = check(&form, &mut errors);
        let Some(args) = args.filter(|_| errors.is_empty()) else {
            focus_first_error(&errors);
            form.dispatch(FormAction::Errors(errors));
            return;
        };
        form.dispatch(FormAction::Busy);
        let form = form.clone();
        let done = done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match crate::bridge::call::<C>(&args).await {
                Ok(answer) => {
                    form.dispatch(FormAction::Done);
                    done(answer, &form);
                }
                Err(m) => match refusal_field {
                    Some(field) => {
                        form.dispatch(FormAction::Errors(Errors::from([(field.to_owned(), m)])))
                    }
                    None => form.dispatch(FormAction::Failed(m)),
                },
            }
        });
    })
}

/// Marks `key` as required when it is empty; the text otherwise.
pub fn required(form: &Form, key: &str, errors: &mut Errors, lang: Lang) -> String {
    let v = form.get(key);
    if v.trim().is_empty() {
        errors.insert(key.to_owned(), problem_text(Problem::Required, lang));
    }
    v
}

/// Starting values of a form.
pub fn initial(pairs: &[(&str, String)]) -> Values {
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
pub fn add_errors(errors: &mut Errors, found: Vec<FieldError>, lang: Lang) {
    for e in found {
        errors
            .entry(e.field)
            .or_insert_with(|| problem_text(e.problem, lang));
    }
}

/// Parses a time field, recording its message on failure.
pub fn time_field(form: &Form, key: &str, errors: &mut Errors, lang: Lang) -> Option<Timestamp> {
    match crate::time::parse(&form.get(key)) {
        Ok(t) => t,
        Err(p) => {
            errors.insert(key.to_owned(), crate::time::problem(p, lang));
            None
        }
    }
}

/// Parses a whole-number field, recording its message on failure.
pub fn count_field(form: &Form, key: &str, errors: &mut Errors, lang: Lang) -> Option<u32> {
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

/// The form-level sentence, the submit button (`id`), and while a draft is there a button that
/// throws it away (`{id}-discard`).
pub fn submit_row(
    form: &UseReducerHandle<Form>,
    label: &str,
    id: &'static str,
    lang: Lang,
) -> Html {
    let discard = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| form.dispatch(FormAction::Reset))
    };
    html! {
        <div class="submit-row">
            <button type="submit" id={id} class="primary" disabled={form.busy}>{ label.to_owned() }</button>
            if form.keeps_drafts && form.is_draft() && !form.busy {
                <button type="button" id={format!("{id}-discard")} class="link" onclick={discard}>{ T::Discard.get(lang) }</button>
            }
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

/// Moves the keyboard focus to the element with `id` once the screen has rendered it: a screen
/// shows "Načítání…" until its snapshot arrives, which on a busy laptop takes longer than one
/// render, so this looks again every 50 ms for up to 3 s.
pub fn focus_later(id: impl Into<String>) {
    focus_when_there(id.into(), 60);
}

fn focus_when_there(id: String, tries_left: u32) {
    gloo::timers::callback::Timeout::new(50, move || {
        let found = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
            .and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el).ok());
        match found {
            Some(el) => {
                let _ = el.focus();
            }
            None if tries_left > 0 => focus_when_there(id, tries_left - 1),
            None => {}
        }
    })
    .forget();
}

/// Focuses the first field with a message, in the order of the page, once it is rendered.
pub fn focus_first_error(errors: &Errors) {
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
