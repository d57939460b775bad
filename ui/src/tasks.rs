//! Tasks (úkoly): the form to create one (assignee, deadline, priority), a list filtered as
//! you type, and the detail of the chosen task: status moves, comments, changes of assignees,
//! deadline and priority, and any concurrent conflict with the choice that resolves it.

use std::rc::Rc;

use krizlink_core::api::{FieldConflict, FieldEdit, RecordInput, TaskInput};
use krizlink_core::authority::Action;
use krizlink_core::calls::{
    self, AddComment, Command, EditRecord, MoveStatus, NewRecord, RecordRef,
};
use krizlink_core::record::{Priority, SetField, TaskStatus};
use krizlink_core::views::Task;
use krizlink_core::{FieldValue, RecordId, RecordKind, Status};
use yew::prelude::*;

use crate::i18n::{label, Lang, T};
use crate::permissions;
use crate::widgets::{
    add_errors, ctrl_enter_submits, field, initial, list_field, on_submit, required, select,
    submit_row, suggesting_field, time_field, use_form, Form, FormAction, Kind,
};
use crate::{time, use_ctx, Ctx};

/// Most rows drawn at once; the filter narrows the rest.
const MAX_ROWS: usize = 100;

/// The ORPs of the Zlín region (GLOSSARY.md), offered as assignees with everyone already
/// assigned in the space.
const ORPS: [&str; 13] = [
    "ORP Bystřice pod Hostýnem",
    "ORP Holešov",
    "ORP Kroměříž",
    "ORP Luhačovice",
    "ORP Otrokovice",
    "ORP Rožnov pod Radhoštěm",
    "ORP Uherské Hradiště",
    "ORP Uherský Brod",
    "ORP Valašské Klobouky",
    "ORP Valašské Meziříčí",
    "ORP Vizovice",
    "ORP Vsetín",
    "ORP Zlín",
];

/// The `<datalist>` of assignees to suggest.
fn assignee_suggestions(tasks: &[Rc<Task>]) -> Html {
    let mut names: std::collections::BTreeSet<String> =
        ORPS.iter().map(|s| (*s).to_owned()).collect();
    for t in tasks.iter().take(2000) {
        names.extend(t.assignees.iter().cloned());
    }
    html! {
        <datalist id="assignee-suggestions">
            { for names.into_iter().map(|n| html! { <option value={n} /> }) }
        </datalist>
    }
}

pub fn priority_options(lang: Lang) -> Vec<(String, String)> {
    Priority::ALL
        .iter()
        .map(|p| {
            (
                p.code().to_owned(),
                label(lang, p.label_cs(), p.label_en()).to_owned(),
            )
        })
        .collect()
}

fn task_defaults() -> std::collections::BTreeMap<String, String> {
    initial(&[("priority", "normal".into())])
}

/// A task's search text with a fingerprint of the fields it was made from, so it is made again
/// exactly when one of them changed (the fingerprint costs no allocation; a clone of the fields
/// would cost as much as the text itself).
struct Searched {
    /// The task the text was made from: the same shared task needs no fingerprint.
    task: Rc<Task>,
    fingerprint: u64,
    text: Rc<str>,
}

fn fingerprint(t: &Task) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        &t.title,
        &t.number,
        &t.description,
        &t.assignees,
        t.status.code(),
    )
        .hash(&mut h);
    h.finish()
}

impl Searched {
    fn of(t: &Rc<Task>) -> Searched {
        Searched {
            task: t.clone(),
            fingerprint: fingerprint(t),
            text: haystack(t).into(),
        }
    }

    fn fits(&self, t: &Rc<Task>) -> bool {
        Rc::ptr_eq(&self.task, t) || self.fingerprint == fingerprint(t)
    }
}

/// The lower-case text a task is found by.
pub fn haystack(t: &Task) -> String {
    let mut s = String::with_capacity(t.title.len() + 32);
    s.push_str(&t.title.to_lowercase());
    for part in [&t.number, &t.description].into_iter().flatten() {
        s.push(' ');
        s.push_str(&part.to_lowercase());
    }
    for a in &t.assignees {
        s.push(' ');
        s.push_str(&a.to_lowercase());
    }
    s.push(' ');
    s.push_str(t.status.label_cs());
    s
}

/// What a creating form does once the record is durable: back to its starting values, and
/// "Uloženo" in the top bar.
pub fn created(ctx: &Ctx) -> impl Fn(String, &UseReducerHandle<Form>) + 'static {
    let saved = ctx.saved.clone();
    move |_id, form| {
        form.dispatch(FormAction::Reset);
        saved.emit(());
    }
}

/// The arguments that create a record from `input` in the shown space.
pub fn new_record(ctx: &Ctx, input: RecordInput) -> NewRecord {
    NewRecord {
        space: ctx.space.id.clone(),
        input,
    }
}

#[function_component(Tasks)]
pub fn tasks() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form("task", task_defaults());
    let selected = use_state(|| None::<RecordId>);
    let tasks_ptr = Rc::as_ptr(&ctx.tasks) as usize;
    let suggestions = {
        let ctx = ctx.clone();
        use_memo(tasks_ptr, move |_| assignee_suggestions(ctx.tasks()))
    };

    let onsubmit = {
        let ctx2 = ctx.clone();
        on_submit::<calls::CreateRecord>(
            &form,
            move |form, errors| {
                let deadline = time_field(form, "deadline", errors, lang);
                let input = TaskInput {
                    title: form.get("title"),
                    description: form.get("description"),
                    number: form.get("number"),
                    assigned_by: form.get("assigned_by"),
                    assignees: list_field(form, "assignees"),
                    deadline,
                    priority: Priority::parse(&form.get("priority")),
                    tags: Vec::new(),
                };
                add_errors(errors, input.validate(), lang);
                Some(new_record(&ctx2, RecordInput::Task(input)))
            },
            created(&ctx),
        )
    };

    let on_select = {
        let selected = selected.clone();
        use_callback((), move |id, _| selected.set(Some(id)))
    };
    let chosen = selected
        .as_ref()
        .and_then(|id| ctx.tasks().iter().find(|t| &t.meta.id == id))
        .cloned();
    let me = ctx.me();
    let may_create = me.may_create(RecordKind::Task);

    html! {
        <div class="split">
            if !may_create {
                { permissions::locked(&me, RecordKind::Task, T::NewTask.get(lang), lang) }
            } else {
            <form class="card form" id="task-form" {onsubmit} novalidate=true onkeydown={ctrl_enter_submits()}>
                <h2>{ T::NewTask.get(lang) }</h2>
                { field(&form, "title", T::Title.get(lang), Kind::Text, "") }
                { field(&form, "description", T::Description.get(lang), Kind::Area, "") }
                { suggesting_field(&form, "assignees", T::Assignees.get(lang), T::AssigneesHint.get(lang), "assignee-suggestions") }
                { (*suggestions).clone() }
                { field(&form, "deadline", T::Deadline.get(lang), Kind::Text, &time::hint(lang)) }
                { select(&form, "priority", T::Priority.get(lang), priority_options(lang)) }
                { field(&form, "number", T::Number.get(lang), Kind::Text, "Ú-2026-014") }
                { submit_row(&form, T::CreateTask.get(lang), "task-submit", lang) }
            </form>
            }
            <div class="list-pane">
                { permissions::note_if(may_create, &me, RecordKind::Task, lang) }
                <TaskList selected={*selected}
                    on_select={on_select} />
                if let Some(t) = chosen {
                    <TaskDetail task={t} />
                }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ListProps {
    selected: Option<RecordId>,
    on_select: Callback<RecordId>,
}

/// The filtered list: its own component, so a keystroke in the filter re-renders only it.
#[function_component(TaskList)]
fn task_list(p: &ListProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let filter = use_state(String::new);
    let tasks_ptr = Rc::as_ptr(&ctx.tasks) as usize;
    // Each task's search text, kept between snapshots and made again only for a task that
    // changed (a write in a 10,000-task space lowercases one task, not all of them).
    let cache = use_mut_ref(std::collections::HashMap::<RecordId, Searched>::new);
    let index = {
        let ctx = ctx.clone();
        use_memo(tasks_ptr, move |_| {
            let mut cache = cache.borrow_mut();
            let index: Vec<Rc<str>> = ctx
                .tasks()
                .iter()
                .map(|t| match cache.get(&t.meta.id) {
                    Some(found) if found.fits(t) => found.text.clone(),
                    _ => {
                        let found = Searched::of(t);
                        let text = found.text.clone();
                        cache.insert(t.meta.id, found);
                        text
                    }
                })
                .collect();
            if cache.len() > index.len() * 2 {
                // Another space's tasks: start afresh.
                let keep: std::collections::HashSet<RecordId> =
                    ctx.tasks().iter().map(|t| t.meta.id).collect();
                cache.retain(|id, _| keep.contains(id));
            }
            index
        })
    };
    let needle = filter.to_lowercase();
    let matches: Vec<&Rc<Task>> = ctx
        .tasks()
        .iter()
        .zip(index.iter())
        .filter(|(_, h)| needle.is_empty() || h.contains(needle.as_str()))
        .map(|(t, _)| t)
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
    html! {
        <>
                <input id="filter" class="filter" type="search" placeholder={T::FilterHint.get(lang)}
                    value={(*filter).clone()} oninput={on_filter} aria-label={T::Filter.get(lang)} />
                <p class="muted" id="task-count">{ format!("{}: {} / {}", T::Shown.get(lang), matches.len(), ctx.tasks().len()) }</p>
                <table class="list" id="task-list">
                    <thead><tr>
                        <th>{ T::Title.get(lang) }</th><th>{ T::Status.get(lang) }</th>
                        <th>{ T::Deadline.get(lang) }</th><th>{ T::Priority.get(lang) }</th><th>{ T::Assignees.get(lang) }</th>
                    </tr></thead>
                    <tbody>
                    { for matches.iter().take(MAX_ROWS).map(|t| {
                        let id = t.meta.id;
                        let late = t.is_overdue(ctx.now);
                        let sel = p.on_select.clone();
                        let is_sel = p.selected == Some(id);
                        let conflict = !t.status_conflicts.is_empty() || !t.meta.conflicting_fields.is_empty();
                        html! {
                            <tr class={classes!("row", late.then_some("late"), is_sel.then_some("selected"))}
                                onclick={Callback::from(move |_| sel.emit(id))}>
                                <td class="task-title">
                                    { t.title.clone() }
                                    if conflict { <span class="badge conflict">{ T::Conflict.get(lang) }</span> }
                                </td>
                                <td>{ label(lang, t.status.label_cs(), t.status.label_en()) }</td>
                                <td>
                                    { t.deadline.map(time::format).unwrap_or_default() }
                                    if late { <span class="badge overdue">{ T::Overdue.get(lang) }</span> }
                                </td>
                                <td>{ label(lang, t.priority.label_cs(), t.priority.label_en()) }</td>
                                <td>{ t.assignees.join(", ") }</td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
                if matches.len() > MAX_ROWS {
                    <p class="muted">{ format!("{} {}", matches.len() - MAX_ROWS, T::MoreRows.get(lang)) }</p>
                }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct DetailProps {
    task: Rc<Task>,
}

/// A record of the shown space, as commands name it.
pub fn record_ref(ctx: &Ctx, kind: RecordKind, id: RecordId) -> RecordRef {
    RecordRef {
        space: ctx.space.id.clone(),
        kind,
        id: id.to_string(),
    }
}

/// Runs a write that a button starts (no form): "Uloženo", or its sentence in `error`.
pub fn write<C: Command<Answer = ()> + 'static>(
    ctx: &Ctx,
    args: C::Args,
    error: UseStateHandle<Option<String>>,
) {
    let saved = ctx.saved.clone();
    wasm_bindgen_futures::spawn_local(async move {
        match crate::bridge::call::<C>(&args).await {
            Ok(()) => {
                error.set(None);
                saved.emit(());
            }
            Err(m) => error.set(Some(m)),
        }
    });
}

/// Shows a field value as text.
pub fn value_text(v: &FieldValue, lang: Lang) -> String {
    use FieldValue as V;
    match v {
        V::Deadline(t) | V::AsOf(t) | V::EventTime(t) | V::NeededBy(t) | V::Start(t) => {
            time::format(*t)
        }
        V::Priority(p) => label(lang, p.label_cs(), p.label_en()).to_owned(),
        V::Level(l) => label(lang, l.label_cs(), l.label_en()).to_owned(),
        V::IncidentState(s) => label(lang, s.label_cs(), s.label_en()).to_owned(),
        V::Title(s) | V::Description(s) | V::Outcome(s) | V::Number(s) | V::AssignedBy(s) => {
            s.clone()
        }
        other => format!("{other:?}"),
    }
}

#[function_component(TaskDetail)]
fn task_detail(p: &DetailProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let t = &p.task;
    let me = record_ref(&ctx, RecordKind::Task, t.meta.id);
    let error = use_state(|| None::<String>);
    let form = use_reducer(Form::default);
    let conflicts = use_state(Vec::<FieldConflict>::new);
    {
        let conflicts = conflicts.clone();
        let me = me.clone();
        let fields = t.meta.conflicting_fields.clone();
        use_effect_with((me.id.clone(), fields), move |(_, fields)| {
            if fields.is_empty() {
                conflicts.set(Vec::new());
            } else {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(c) = crate::bridge::call::<calls::RecordConflicts>(&me).await {
                        conflicts.set(c);
                    }
                });
            }
        });
    }
    let moves: Vec<TaskStatus> = TaskStatus::ALL
        .iter()
        .copied()
        .filter(|s| t.status.can_move_to(*s))
        .collect();
    let status_button = |to: TaskStatus, resolve: bool| {
        let ctx = ctx.clone();
        let me = me.clone();
        let error = error.clone();
        let form = form.clone();
        let onclick = Callback::from(move |_| {
            let args = MoveStatus {
                record: me.clone(),
                to: Status::Task(to),
                note: form.get("note"),
            };
            write::<calls::MoveStatusCmd>(&ctx, args, error.clone());
        });
        html! {
            <button class={classes!(resolve.then_some("primary"))} id={format!("move-{}", to.code())} {onclick}>
                { label(lang, to.label_cs(), to.label_en()) }
            </button>
        }
    };
    let on_comment = {
        let me = me.clone();
        let saved = ctx.saved.clone();
        on_submit::<calls::AddCommentCmd>(
            &form,
            move |form, errors| {
                let text = required(form, "comment", errors, lang);
                Some(AddComment {
                    record: me.clone(),
                    text,
                })
            },
            move |(), form| {
                form.dispatch(FormAction::Set("comment".into(), String::new()));
                saved.emit(());
            },
        )
    };
    let on_edit = {
        let me = me.clone();
        let saved = ctx.saved.clone();
        on_submit::<calls::EditRecordCmd>(
            &form,
            move |form, errors| {
                let deadline = time_field(form, "new_deadline", errors, lang);
                let mut edit = FieldEdit::default();
                if let Some(d) = deadline {
                    edit.values.push(FieldValue::Deadline(d));
                }
                if let Some(p) = Priority::parse(&form.get("new_priority")) {
                    edit.values.push(FieldValue::Priority(p));
                }
                for a in list_field(form, "add_assignee") {
                    edit.add.push((SetField::Assignees, a));
                }
                let outcome = form.get("outcome");
                if !outcome.trim().is_empty() {
                    edit.values
                        .push(FieldValue::Outcome(outcome.trim().to_owned()));
                }
                // Nothing filled in: nothing to send.
                (!edit.values.is_empty() || !edit.add.is_empty()).then(|| EditRecord {
                    record: me.clone(),
                    edit,
                })
            },
            move |(), form| {
                for key in ["add_assignee", "new_deadline", "new_priority", "outcome"] {
                    form.dispatch(FormAction::Set(key.into(), String::new()));
                }
                saved.emit(());
            },
        )
    };
    let edit_now = |edit: FieldEdit| {
        let ctx = ctx.clone();
        let me = me.clone();
        let error = error.clone();
        Callback::from(move |_| {
            let args = EditRecord {
                record: me.clone(),
                edit: edit.clone(),
            };
            write::<calls::EditRecordCmd>(&ctx, args, error.clone());
        })
    };
    let remove_assignee = |a: String| {
        edit_now(FieldEdit {
            remove: vec![(SetField::Assignees, a)],
            ..Default::default()
        })
    };
    let resolve = |value: FieldValue| {
        edit_now(FieldEdit {
            values: vec![value],
            ..Default::default()
        })
    };
    let mut priority_choices = vec![(String::new(), "—".to_owned())];
    priority_choices.extend(priority_options(lang));
    let who = ctx.me();
    let may_status = who.may_on_task(Action::MoveStatus, &t.assignees);
    let may_edit = who.may_on_task(Action::Edit, &t.assignees);
    // An ORP coordinator changes only the outcome.
    let may_edit_all = may_edit && !who.task_outcome_only();
    let may_comment = who.may_on_task(Action::Comment, &t.assignees);
    let why = who.task_notice(&t.assignees, lang);
    html! {
        <section class="card detail" id="task-detail">
            <h2>{ t.title.clone() }</h2>
            <p class="muted">
                { format!("{} · {}", label(lang, t.status.label_cs(), t.status.label_en()), label(lang, t.priority.label_cs(), t.priority.label_en())) }
                if let Some(n) = &t.number { { format!(" · {n}") } }
                if let Some(d) = t.deadline { { format!(" · {} {}", T::Due.get(lang), time::format(d)) } }
            </p>
            if let Some(d) = &t.description { <p class="pre">{ d.clone() }</p> }
            if let Some(o) = &t.outcome { <p><strong>{ format!("{}: ", T::Outcome.get(lang)) }</strong>{ o.clone() }</p> }
            if !t.status_conflicts.is_empty() {
                <div class="conflict-box" id="status-conflict">
                    <strong>{ T::StatusConflict.get(lang) }</strong>
                    if may_status {
                        <p>{ T::ChooseResolution.get(lang) }</p>
                        { status_button(t.status, true) }
                        { for t.status_conflicts.iter().map(|s| status_button(*s, true)) }
                    }
                </div>
            }
            if !conflicts.is_empty() {
                <div class="conflict-box" id="field-conflict">
                    <strong>{ T::FieldConflict.get(lang) }</strong>
                    <p>{ T::ChooseResolution.get(lang) }</p>
                    { for conflicts.iter().map(|c| html! {
                        <div>
                            <span class="muted">{ format!("{}: ", krizlink_core::api::field_label_cs(c.field)) }</span>
                            if may_edit_all {
                                { for c.values.iter().map(|v| html! {
                                    <button onclick={resolve(v.clone())}>{ value_text(v, lang) }</button>
                                }) }
                            } else {
                                { c.values.iter().map(|v| value_text(v, lang)).collect::<Vec<_>>().join(" / ") }
                            }
                        </div>
                    }) }
                </div>
            }
            if let Some(why) = why {
                <p class="banner info permission-note" id="task-permission-note">{ why }</p>
            }
            if may_status {
                <div class="actions">
                    <span class="muted">{ format!("{}: ", T::MoveTo.get(lang)) }</span>
                    { for moves.into_iter().map(|s| status_button(s, false)) }
                </div>
                { field(&form, "note", T::StatusNote.get(lang), Kind::Text, "") }
            }
            <div class="assignees">
                <span class="muted">{ format!("{}: ", T::Assignees.get(lang)) }</span>
                { for t.assignees.iter().map(|a| html! {
                    <span class="chip">{ a.clone() }
                        if may_edit_all {
                            <button class="chip-x" title={T::Remove.get(lang)} onclick={remove_assignee(a.clone())}>{ "×" }</button>
                        }
                    </span>
                }) }
            </div>
            if may_edit {
                <form onsubmit={on_edit} class="inline-form" novalidate=true>
                    if may_edit_all {
                        { suggesting_field(&form, "add_assignee", T::AddAssignee.get(lang), T::AssigneesHint.get(lang), "assignee-suggestions") }
                        { field(&form, "new_deadline", T::NewDeadline.get(lang), Kind::Text, &time::hint(lang)) }
                        { select(&form, "new_priority", T::Priority.get(lang), priority_choices) }
                    }
                    { field(&form, "outcome", T::Outcome.get(lang), Kind::Text, "") }
                    <button type="submit" id="task-edit-submit">{ T::SaveChanges.get(lang) }</button>
                </form>
            }
            <crate::deliveries::Deliveries record={me.clone()} id="task-deliveries" />
            <h3>{ T::Comments.get(lang) }</h3>
            <ul class="comments">
                { for t.comments.iter().map(|c| html! {
                    <li><span class="muted">{ format!("{} · {}: ", time::format(krizlink_core::Timestamp(c.stamp.hlc.wall_ms as i64)), c.author.short()) }</span>{ c.text.clone() }</li>
                }) }
            </ul>
            if may_comment {
                <form onsubmit={on_comment} class="inline-form" novalidate=true onkeydown={ctrl_enter_submits()}>
                    { field(&form, "comment", T::NewComment.get(lang), Kind::Area, "") }
                    <button type="submit" id="comment-submit">{ T::AddComment.get(lang) }</button>
                </form>
            }
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </section>
    }
}
