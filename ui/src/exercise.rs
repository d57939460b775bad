//! The drill screen (Cvičení), shown in an exercise space only. Exercise control (a leader
//! holding the control key) runs the replicated clock (Zahájit / Přerušit / Pokračovat /
//! Ukončit with a confirmation, "Skok na vstup"), sees the injects still to come, every
//! released one with its three times (plán, vydáno, dorazilo to each target) and writes an
//! ad-hoc inject (mimořádný vstup); an empty scenario offers the sample one. Players see only
//! the released injects, newest first, never what comes next, and answer each one with a
//! record linked to it (a journal entry or a task; an ORP coordinator a situation report of
//! its ORP), which the evaluation counts as the response. Exercise leaders and evaluators
//! switch to the evaluation (`evaluation.rs`), where evaluators write their observations.
//!
//! Releases happen in the engine's thread on its timer (no `space-changed` event announces
//! them), so while the clock runs the status is asked again every few seconds and the clock's
//! face moves every second; with the clock not running there is no timer at all.

use std::rc::Rc;

use krizlink_core::api::{JournalInput, RecordInput, SitrepInput, TaskInput};
use krizlink_core::calls::{
    self, Command, ExerciseClock, NewAdHocInject, NewAnswer, Reply, SpaceRef,
};
use krizlink_core::exercise::{ExerciseStatus, ExerciseTime, Phase, Reach, Released, Upcoming};
use krizlink_core::record::{Channel, ClockAction, JournalKind, Priority, ReportKind};
use krizlink_core::{RecordKind, Timestamp};
use yew::prelude::*;

use crate::deliveries::use_ticks_while;
use crate::evaluation::EvaluationView;
use crate::i18n::{label, Lang, T};
use crate::permissions::{self, Me};
use crate::tasks::priority_options;
use crate::widgets::{
    count_field, field, initial, list_field, on_submit, required, select, submit_row, time_field,
    use_form, FormAction, Kind, Values,
};
use crate::{time, use_ctx};

/// How often the status is asked again while the clock runs.
pub const REFRESH_MS: u32 = 4_000;
/// How often the running clock's face is redrawn.
const FACE_MS: u32 = 1_000;
/// Next injects shown before "show all".
const NEXT_SHOWN: usize = 5;
/// Rows any list draws at most.
const MAX_ROWS: usize = 100;

/// Exercise time as `T+hh:mm` (whole minutes, never negative).
pub fn t_plus(ms: i64) -> String {
    ExerciseTime(u32::try_from(ms.max(0) / 60_000).unwrap_or(u32::MAX)).to_string()
}

/// The clock's phase in the UI language.
pub fn phase_label(phase: Phase, lang: Lang) -> &'static str {
    match phase {
        Phase::NotStarted => T::ExPhaseNotStarted,
        Phase::Running => T::ExPhaseRunning,
        Phase::Paused => T::ExPhasePaused,
        Phase::Stopped => T::ExPhaseStopped,
    }
    .get(lang)
}

/// A wall time in ms since 1970 as the UI shows it.
fn at_ms(ms: u64) -> String {
    time::short(Timestamp(i64::try_from(ms).unwrap_or(i64::MAX)))
}

/// Whether one target has the inject: "Jana Nováková 14:32" or "Jana Nováková zatím ne".
pub fn reach_text(r: &Reach, lang: Lang, at: impl Fn(u64) -> String) -> String {
    let name = if r.name.trim().is_empty() {
        r.device.short()
    } else {
        r.name.clone()
    };
    match r.at_ms {
        Some(ms) => format!("{name} {}", at(ms)),
        None => format!("{name} {}", T::ExNotYet.get(lang)),
    }
}

/// An inject's number as shown: `#8`, or "mimořádný" for an ad-hoc one.
fn number_text(n: u32, lang: Lang) -> String {
    if n == 0 {
        T::ExAdHocMark.get(lang).to_owned()
    } else {
        format!("#{n}")
    }
}

fn channel_text(c: Option<Channel>, lang: Lang) -> &'static str {
    c.map_or("—", |c| label(lang, c.label_cs(), c.label_en()))
}

/// The status shown, of which space, and when (UI time) it arrived: a running clock's face
/// moves on from there.
#[derive(Clone, PartialEq)]
struct Shown {
    space: String,
    status: Rc<ExerciseStatus>,
    at: Timestamp,
}

/// Sends one exercise action whose answer is the new status.
fn send<C>(
    args: C::Args,
    busy: UseStateHandle<bool>,
    error: UseStateHandle<Option<String>>,
    done: Callback<ExerciseStatus>,
) where
    C: Command<Answer = ExerciseStatus> + 'static,
{
    if *busy {
        return;
    }
    busy.set(true);
    wasm_bindgen_futures::spawn_local(async move {
        match crate::bridge::call::<C>(&args).await {
            Ok(status) => {
                error.set(None);
                done.emit(status);
            }
            Err(m) => error.set(Some(m)),
        }
        busy.set(false);
    });
}

#[function_component(Exercise)]
pub fn exercise() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let shown = use_state(|| None::<Shown>);
    let error = use_state(|| None::<String>);
    // The view chosen, and in which space (another drill opens on its main view).
    let view = use_state(|| (String::new(), View::Main));
    let space = ctx.space.id.clone();
    let current = shown.as_ref().filter(|s| s.space == space).cloned();
    let running = current
        .as_ref()
        .is_some_and(|s| s.status.phase == Phase::Running);
    let polls = use_ticks_while(REFRESH_MS, running);
    // Shows a status that arrived (unchanged ones are dropped, so nothing re-renders).
    let show = {
        let shown = shown.clone();
        let space = space.clone();
        Callback::from(move |status: ExerciseStatus| {
            if shown
                .as_ref()
                .is_some_and(|s| s.space == space && *s.status == status)
            {
                return;
            }
            shown.set(Some(Shown {
                space: space.clone(),
                status: Rc::new(status),
                at: time::now(),
            }));
        })
    };
    {
        let show = show.clone();
        let error = error.clone();
        let operations = ctx.info().operations;
        use_effect_with((space.clone(), operations, polls), move |(space, _, _)| {
            let args = SpaceRef {
                space: space.clone(),
            };
            wasm_bindgen_futures::spawn_local(async move {
                match crate::bridge::call::<calls::ExerciseStatusCmd>(&args).await {
                    Ok(status) => {
                        show.emit(status);
                        error.set(None);
                    }
                    Err(m) => error.set(Some(m)),
                }
            });
        });
    }
    let Some(current) = current else {
        return html! {
            <div id="exercise">
                if let Some(e) = &*error {
                    <p class="form-error" role="alert">{ e.clone() }</p>
                } else {
                    <p class="muted">{ T::Loading.get(lang) }</p>
                }
            </div>
        };
    };
    let role = ctx.info().role.clone();
    let evaluator = role == "evaluator";
    // Exercise leaders and evaluators read the scenario: they see the evaluation.
    let reads_scenario =
        current.status.controller || (evaluator && current.status.scenario_size.is_some());
    let evaluating = reads_scenario && view.0 == space && view.1 == View::Evaluation;
    let switch = |to: View| {
        let (view, space) = (view.clone(), space.clone());
        Callback::from(move |_: MouseEvent| view.set((space.clone(), to)))
    };
    let main_label = if current.status.controller {
        T::ExControl
    } else {
        T::ExReleased
    };
    let body = if evaluating {
        html! { <EvaluationView released={Rc::new(current.status.released.clone())} polls={polls} /> }
    } else if current.status.controller {
        html! { <Control shown={current} show={show} error={(*error).clone()} /> }
    } else {
        let leader_without_key = role == "exercise_leader";
        html! {
            <div id="exercise" class="exercise-player">
                if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
                if leader_without_key {
                    <p class="banner warn">{ T::ExNoControlKey.get(lang) }</p>
                }
                <section class="card" id="exercise-released">
                    <h2>{ T::ExReleased.get(lang) }</h2>
                    <p class="muted">{ T::ExPlayerNote.get(lang) }</p>
                    { player_list(&current.status.released, lang, !evaluator) }
                </section>
            </div>
        }
    };
    html! {
        <>
            if reads_scenario {
                <div class="actions view-switch" role="tablist">
                    <button type="button" id="exercise-view-main" role="tab" class={classes!((!evaluating).then_some("primary"))} onclick={switch(View::Main)}>{ main_label.get(lang) }</button>
                    <button type="button" id="exercise-view-evaluation" role="tab" class={classes!(evaluating.then_some("primary"))} onclick={switch(View::Evaluation)}>{ T::EvTitle.get(lang) }</button>
                </div>
            }
            { body }
        </>
    }
}

/// Which part of the drill screen exercise leaders and evaluators see.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Main,
    Evaluation,
}

/// The released injects, newest first.
fn newest_first(released: &[Released]) -> Vec<&Released> {
    let mut list: Vec<&Released> = released.iter().collect();
    list.sort_by_key(|r| std::cmp::Reverse(r.stamp_order));
    list
}

/// "plán T+00:45 · vydáno 14:32 (T+00:45) · dorazilo: …" of one released inject.
fn three_times(r: &Released, lang: Lang) -> Html {
    html! {
        <p class="inject-times">
            <span class="time-planned">{ format!("{} {}", T::ExPlanned.get(lang), r.scheduled.map_or("—".to_owned(), |t| t.to_string())) }</span>
            { " · " }
            <span class="time-released">{ format!("{} {} ({})", T::ExReleasedAt.get(lang), time::short(r.released_at), r.released_at_t) }</span>
            { " · " }
            <span class="time-reached">{ format!("{}: ", T::ExReached.get(lang)) }
                if r.reached.is_empty() { { "—" } }
                { for r.reached.iter().enumerate().map(|(i, x)| html! {
                    <>
                        if i > 0 { { ", " } }
                        <span class={classes!("reach", if x.at_ms.is_some() { "delivered" } else { "pending" })}>{ reach_text(x, lang, at_ms) }</span>
                    </>
                }) }
            </span>
        </p>
    }
}

/// A player's view of the released injects: each one whole, newest first; with `answers`,
/// each scenario inject offers the records the role may answer it with.
fn player_list(released: &[Released], lang: Lang, answers: bool) -> Html {
    if released.is_empty() {
        return html! { <p class="muted">{ T::ExNoReleased.get(lang) }</p> };
    }
    html! {
        <ul class="plain inject-list">
            { for newest_first(released).into_iter().take(MAX_ROWS).map(|r| html! {
                <li key={r.record.to_string()} class="inject">
                    <div class="inject-head">
                        <span class="badge">{ number_text(r.number, lang) }</span>
                        <strong>{ if r.subject.is_empty() { r.text.clone() } else { r.subject.clone() } }</strong>
                    </div>
                    <p class="muted inject-route">{ format!("{}: {} · {}: {} · {}", T::ExFrom.get(lang), r.from, T::ExTo.get(lang), r.to, channel_text(r.channel, lang)) }</p>
                    <p class="pre inject-text">{ r.text.clone() }</p>
                    { three_times(r, lang) }
                    if answers && r.number != 0 { <Answer number={r.number} /> }
                </li>
            }) }
        </ul>
    }
}

/// The record a player answers an inject with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AnswerKind {
    Journal,
    Task,
    Report,
}

impl AnswerKind {
    fn record_kind(self) -> RecordKind {
        match self {
            AnswerKind::Journal => RecordKind::JournalEntry,
            AnswerKind::Task => RecordKind::Task,
            AnswerKind::Report => RecordKind::SituationReport,
        }
    }

    fn code(self) -> &'static str {
        match self {
            AnswerKind::Journal => "journal",
            AnswerKind::Task => "task",
            AnswerKind::Report => "report",
        }
    }

    fn button(self) -> T {
        match self {
            AnswerKind::Journal => T::AnswerJournal,
            AnswerKind::Task => T::AnswerTask,
            AnswerKind::Report => T::AnswerReport,
        }
    }
}

/// What the role may answer an inject with: a journal entry and a task, else (an ORP
/// coordinator) a situation report of its ORP; nothing for a role that only reads.
fn answer_kinds(me: &Me) -> Vec<AnswerKind> {
    let mut kinds: Vec<AnswerKind> = [AnswerKind::Journal, AnswerKind::Task]
        .into_iter()
        .filter(|k| me.may_create(k.record_kind()))
        .collect();
    if kinds.is_empty() && me.may_create(RecordKind::SituationReport) {
        kinds.push(AnswerKind::Report);
    }
    kinds
}

#[derive(Properties, PartialEq)]
struct AnswerProps {
    number: u32,
}

/// The buttons that answer one released inject, and the open answer form (pre-linked to it).
#[function_component(Answer)]
fn answer(p: &AnswerProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let open = use_state(|| None::<AnswerKind>);
    let me = ctx.me();
    let kinds = answer_kinds(&me);
    let n = p.number;
    if kinds.is_empty() {
        return html! {
            <p class="muted small answer-note" id={format!("answer-note-{n}")}>{
                me.notice(RecordKind::JournalEntry, lang).unwrap_or_else(|| T::AnswerNotAllowed.get(lang).to_owned())
            }</p>
        };
    }
    let close = {
        let open = open.clone();
        Callback::from(move |()| open.set(None))
    };
    html! {
        <div class="answer">
            <div class="actions">
                { for kinds.iter().map(|k| {
                    let (open, k) = (open.clone(), *k);
                    let active = *open == Some(k);
                    html! {
                        <button type="button" id={format!("answer-{}-{n}", k.code())} class={classes!("small", active.then_some("primary"))}
                            onclick={Callback::from(move |_| open.set(if active { None } else { Some(k) }))}>{ k.button().get(lang) }</button>
                    }
                }) }
            </div>
            if let Some(kind) = *open { <AnswerForm number={n} kind={kind} done={close} /> }
            if kinds == [AnswerKind::Report] { { permissions::note(&me, RecordKind::Task, lang) } }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct AnswerFormProps {
    number: u32,
    kind: AnswerKind,
    done: Callback<()>,
}

/// A journal entry, a task or a situation report answering inject `number`: the fields of the
/// screen's own form that an answer needs (the rest can be added on that screen afterwards).
#[function_component(AnswerForm)]
fn answer_form(p: &AnswerFormProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let (n, kind) = (p.number, p.kind);
    let form = use_form(
        "inject-answer",
        initial(&[
            ("ans_kind", JournalKind::Information.code().into()),
            ("ans_priority", Priority::High.code().into()),
        ]),
    );
    let onsubmit = {
        let ctx2 = ctx.clone();
        let saved = ctx.saved.clone();
        let done = p.done.clone();
        on_submit::<calls::AnswerInject>(
            &form,
            move |form, errors| {
                let input = match kind {
                    AnswerKind::Journal => {
                        let input = JournalInput {
                            kind: JournalKind::parse(&form.get("ans_kind")),
                            text: form.get("ans_text"),
                            ..JournalInput::default()
                        };
                        add_prefixed(errors, input.validate(), lang);
                        RecordInput::JournalEntry(input)
                    }
                    AnswerKind::Task => {
                        let input = TaskInput {
                            title: form.get("ans_title"),
                            description: form.get("ans_text"),
                            assignees: list_field(form, "ans_assignees"),
                            deadline: time_field(form, "ans_deadline", errors, lang),
                            priority: Priority::parse(&form.get("ans_priority")),
                            ..TaskInput::default()
                        };
                        add_prefixed(errors, input.validate(), lang);
                        RecordInput::Task(input)
                    }
                    AnswerKind::Report => {
                        let me = ctx2.me();
                        let sender = me
                            .fixed_orp()
                            .map_or_else(|| ctx2.space.name.clone(), str::to_owned);
                        let situation = required(form, "ans_text", errors, lang);
                        let input = SitrepInput {
                            kind: Some(ReportKind::Situation),
                            sender,
                            as_of: Some(time::now()),
                            situation,
                            measures: form.get("ans_measures"),
                            ..SitrepInput::default()
                        };
                        add_prefixed(errors, input.validate(), lang);
                        RecordInput::SituationReport(input)
                    }
                };
                Some(NewAnswer {
                    space: ctx2.space.id.clone(),
                    inject: n,
                    input,
                })
            },
            move |_id, form| {
                form.dispatch(FormAction::Reset);
                saved.emit(());
                done.emit(());
            },
        )
    };
    let journal_kinds: Vec<(String, String)> = JournalKind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_owned(),
                label(lang, k.label_cs(), k.label_en()).to_owned(),
            )
        })
        .collect();
    html! {
        <form class="card form answer-form" id={format!("answer-form-{n}")} {onsubmit} novalidate=true>
            <h3>{ format!("{} #{n}", T::AnswerTo.get(lang)) }</h3>
            { match kind {
                AnswerKind::Journal => html! { <>
                    { select(&form, "ans_kind", T::EntryKind.get(lang), journal_kinds) }
                    { field(&form, "ans_text", T::EntryText.get(lang), Kind::Area, "") }
                </> },
                AnswerKind::Task => html! { <>
                    { field(&form, "ans_title", T::Title.get(lang), Kind::Text, "") }
                    { field(&form, "ans_text", T::Description.get(lang), Kind::Area, "") }
                    { field(&form, "ans_assignees", T::Assignees.get(lang), Kind::Text, T::AssigneesHint.get(lang)) }
                    <div class="row2">
                        { field(&form, "ans_deadline", T::Deadline.get(lang), Kind::Text, &time::hint(lang)) }
                        { select(&form, "ans_priority", T::Priority.get(lang), priority_options(lang)) }
                    </div>
                </> },
                AnswerKind::Report => html! { <>
                    { field(&form, "ans_text", T::Situation.get(lang), Kind::Area, "") }
                    { field(&form, "ans_measures", T::Measures.get(lang), Kind::Area, "") }
                </> },
            } }
            { submit_row(&form, T::AnswerSubmit.get(lang), "answer-submit", lang) }
        </form>
    }
}

/// The model's field problems, under the answer form's own field names.
fn add_prefixed(
    errors: &mut crate::widgets::Errors,
    found: Vec<krizlink_core::api::FieldError>,
    lang: Lang,
) {
    for e in found {
        let key = match e.field.as_str() {
            "text" | "description" | "situation" => "ans_text".to_owned(),
            other => format!("ans_{other}"),
        };
        errors
            .entry(key)
            .or_insert_with(|| crate::widgets::problem_text(e.problem, lang));
    }
}

#[derive(Properties, PartialEq)]
struct FaceProps {
    shown: Shown,
}

/// The clock's phase and exercise time; a running clock's time moves every second (from the
/// status's elapsed time and when it arrived, with no call to the shell).
#[function_component(ClockFace)]
fn clock_face(p: &FaceProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let s = &p.shown.status;
    let running = s.phase == Phase::Running;
    let _ = use_ticks_while(FACE_MS, running);
    let elapsed = if running {
        s.elapsed_ms + (time::now().0 - p.shown.at.0).max(0)
    } else {
        s.elapsed_ms
    };
    html! {
        <div class="clock-face">
            <span id="exercise-time" class="clock-time">{ t_plus(elapsed) }</span>
            <span id="exercise-phase" class={classes!("clock-phase", format!("phase-{}", s.phase.code()))}>{ phase_label(s.phase, lang) }</span>
            if let Some(t) = s.started {
                <span class="muted">{ format!("{} {}", T::ExStartedAt.get(lang), time::short(t)) }</span>
            }
            if let Some(t) = s.stopped {
                <span class="muted">{ format!("{} {}", T::ExStoppedAt.get(lang), time::short(t)) }</span>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ControlProps {
    shown: Shown,
    show: Callback<ExerciseStatus>,
    error: Option<String>,
}

/// Exercise control: the clock with its buttons, the jump, the sample scenario, the next
/// injects, the released ones with their three times, and the ad-hoc inject form.
#[function_component(Control)]
fn control(p: &ControlProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let space = ctx.space.id.clone();
    let status = p.shown.status.clone();
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let confirm_stop = use_state(|| false);
    let all_next = use_state(|| false);
    // A durable action: its status is shown and "Uloženo" announced.
    let done = {
        let show = p.show.clone();
        let saved = ctx.saved.clone();
        let confirm_stop = confirm_stop.clone();
        Callback::from(move |s: ExerciseStatus| {
            confirm_stop.set(false);
            show.emit(s);
            saved.emit(());
        })
    };
    let clock = |action: ClockAction| {
        let (space, busy, error, done) = (space.clone(), busy.clone(), error.clone(), done.clone());
        Callback::from(move |_: MouseEvent| {
            let args = ExerciseClock {
                space: space.clone(),
                action,
                inject: None,
            };
            send::<calls::ExerciseClockCmd>(args, busy.clone(), error.clone(), done.clone());
        })
    };
    let ask_stop = {
        let confirm_stop = confirm_stop.clone();
        Callback::from(move |_: MouseEvent| confirm_stop.set(true))
    };
    let no_stop = {
        let confirm_stop = confirm_stop.clone();
        Callback::from(move |_: MouseEvent| confirm_stop.set(false))
    };
    let load_sample = {
        let (space, busy, error, done) = (space.clone(), busy.clone(), error.clone(), done.clone());
        Callback::from(move |_: MouseEvent| {
            let args = SpaceRef {
                space: space.clone(),
            };
            send::<calls::ImportSampleScenario>(args, busy.clone(), error.clone(), done.clone());
        })
    };
    let jump = use_form("exercise-jump", Values::new());
    let on_jump = {
        let space = space.clone();
        let done = done.clone();
        on_submit::<calls::ExerciseClockCmd>(
            &jump,
            move |form, errors| {
                let n = count_field(form, "jump", errors, lang);
                if n.is_none() && !errors.contains_key("jump") {
                    required(form, "jump", errors, lang);
                }
                Some(ExerciseClock {
                    space: space.clone(),
                    action: ClockAction::Jump,
                    inject: n,
                })
            },
            move |s: Reply<calls::ExerciseClockCmd>, form| {
                form.dispatch(FormAction::Reset);
                done.emit(s);
            },
        )
    };
    let adhoc = use_form(
        "exercise-adhoc",
        initial(&[
            ("to", "všichni".into()),
            ("from", "řízení cvičení".into()),
            ("channel", Channel::Phone.code().into()),
        ]),
    );
    let on_adhoc = {
        let space = space.clone();
        let done = done.clone();
        on_submit::<calls::AdHocInjectCmd>(
            &adhoc,
            move |form, errors| {
                let to = required(form, "to", errors, lang);
                let text = required(form, "message", errors, lang);
                let channel = Channel::parse(&form.get("channel")).unwrap_or(Channel::Phone);
                Some(NewAdHocInject {
                    space: space.clone(),
                    to: to.trim().to_owned(),
                    from: form.get("from").trim().to_owned(),
                    channel,
                    subject: form.get("subject").trim().to_owned(),
                    text: text.trim().to_owned(),
                })
            },
            move |s, form| {
                form.dispatch(FormAction::Reset);
                done.emit(s);
            },
        )
    };
    let channels: Vec<(String, String)> = Channel::ALL
        .iter()
        .map(|c| {
            (
                c.code().to_owned(),
                label(lang, c.label_cs(), c.label_en()).to_owned(),
            )
        })
        .collect();
    let phase = status.phase;
    let button = |id: &'static str, text: T, onclick: Callback<MouseEvent>, primary: bool| {
        html! {
            <button type="button" id={id} class={classes!(primary.then_some("primary"))} disabled={*busy} {onclick}>{ text.get(lang) }</button>
        }
    };
    let next_shown = if *all_next { MAX_ROWS } else { NEXT_SHOWN };
    let toggle_next = {
        let all_next = all_next.clone();
        Callback::from(move |_: MouseEvent| all_next.set(!*all_next))
    };
    let error_text = (*error).clone().or_else(|| p.error.clone());
    html! {
        <div id="exercise" class="split exercise-control">
            <div class="stack">
                <section class="card" id="exercise-clock">
                    <h2>{ T::ExClock.get(lang) }</h2>
                    <ClockFace shown={p.shown.clone()} />
                    <div class="actions">
                        if phase == Phase::NotStarted { { button("clock-start", T::ExStart, clock(ClockAction::Start), true) } }
                        if phase == Phase::Running { { button("clock-pause", T::ExPause, clock(ClockAction::Pause), true) } }
                        if phase == Phase::Paused { { button("clock-resume", T::ExResume, clock(ClockAction::Resume), true) } }
                        if matches!(phase, Phase::Running | Phase::Paused) && !*confirm_stop {
                            <button type="button" id="clock-stop" class="danger" disabled={*busy} onclick={ask_stop}>{ T::ExStop.get(lang) }</button>
                        }
                    </div>
                    if *confirm_stop && matches!(phase, Phase::Running | Phase::Paused) {
                        <div class="member-editor" role="alertdialog" id="clock-stop-confirm">
                            <p>{ T::ExStopQuestion.get(lang) }</p>
                            <button type="button" id="clock-stop-yes" class="danger" disabled={*busy} onclick={clock(ClockAction::Stop)}>{ T::ExStopYes.get(lang) }</button>
                            <button type="button" id="clock-stop-no" onclick={no_stop}>{ T::CancelStep.get(lang) }</button>
                        </div>
                    }
                    if let Some(e) = error_text { <p class="form-error" role="alert">{ e }</p> }
                    if matches!(phase, Phase::Running | Phase::Paused) {
                        <form class="inline-form" id="exercise-jump" onsubmit={on_jump} novalidate=true>
                            { field(&jump, "jump", T::ExJump.get(lang), Kind::Text, T::ExInjectNumber.get(lang)) }
                            <button type="submit" id="jump-submit" disabled={jump.busy}>{ T::ExJumpSubmit.get(lang) }</button>
                        </form>
                        if let Some(m) = &jump.message { <p class="form-error" role="alert">{ m.clone() }</p> }
                    }
                    <p class="muted" id="exercise-scenario">{ match status.scenario_size {
                        Some(0) | None => T::ExEmptyScenario.get(lang).to_owned(),
                        Some(n) => format!("{}: {n} {}", T::ExScenario.get(lang), T::ExInjects.get(lang)),
                    } }</p>
                    if status.scenario_size == Some(0) {
                        <button type="button" id="load-sample" class="primary" disabled={*busy} onclick={load_sample}>{ T::ExLoadSample.get(lang) }</button>
                    }
                </section>
                <form class="card" id="exercise-adhoc" onsubmit={on_adhoc} novalidate=true>
                    <h2>{ T::ExAdHoc.get(lang) }</h2>
                    <p class="muted">{ T::ExAdHocHelp.get(lang) }</p>
                    { field(&adhoc, "to", T::ExTo.get(lang), Kind::Text, T::ExToHint.get(lang)) }
                    { field(&adhoc, "from", T::ExFrom.get(lang), Kind::Text, "řízení cvičení") }
                    { select(&adhoc, "channel", T::ExChannel.get(lang), channels) }
                    { field(&adhoc, "subject", T::ExSubject.get(lang), Kind::Text, "") }
                    { field(&adhoc, "message", T::ExMessage.get(lang), Kind::Area, "") }
                    { submit_row(&adhoc, T::ExAdHocSubmit.get(lang), "adhoc-submit", lang) }
                </form>
            </div>
            <div class="list-pane">
                <section class="card" id="exercise-next">
                    <h2>{ T::ExNext.get(lang) }</h2>
                    { next_table(&status.next, next_shown, lang) }
                    if status.next.len() > NEXT_SHOWN {
                        <button type="button" class="link" id="exercise-next-all" onclick={toggle_next}>{
                            if *all_next { T::ExNext.get(lang).to_owned() } else { format!("{} {}", T::ExMore.get(lang), status.next.len() - NEXT_SHOWN) }
                        }</button>
                    }
                </section>
                <section class="card" id="exercise-released">
                    <h2>{ format!("{} ({})", T::ExReleased.get(lang), status.released.len()) }</h2>
                    { released_table(&status.released, lang) }
                </section>
            </div>
        </div>
    }
}

/// The injects still to come: number, T+time (and the wall time it falls due while the clock
/// runs), komu, předmět, spouštěč.
fn next_table(next: &[Upcoming], shown: usize, lang: Lang) -> Html {
    if next.is_empty() {
        return html! { <p class="muted">{ T::ExNoNext.get(lang) }</p> };
    }
    html! {
        <table class="list">
            <thead><tr>
                <th>{ T::ExNumber.get(lang) }</th>
                <th>{ T::ExTime.get(lang) }</th>
                <th>{ T::ExTo.get(lang) }</th>
                <th>{ T::ExSubject.get(lang) }</th>
                <th>{ T::ExTrigger.get(lang) }</th>
            </tr></thead>
            <tbody>
                { for next.iter().take(shown).map(|u| html! {
                    <tr key={u.number}>
                        <td class="nowrap">{ format!("#{}", u.number) }</td>
                        <td class="nowrap">
                            { u.time.map_or("—".to_owned(), |t| t.to_string()) }
                            if let Some(due) = u.due_at { <span class="muted small">{ format!(" ({})", time::short(due)) }</span> }
                        </td>
                        <td>{ u.to.clone() }</td>
                        <td>{ u.subject.clone() }</td>
                        <td class="small">{ u.trigger.clone().unwrap_or_else(|| "—".to_owned()) }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

/// Every released inject, newest first, with plán / vydáno / dorazilo per target.
fn released_table(released: &[Released], lang: Lang) -> Html {
    if released.is_empty() {
        return html! { <p class="muted">{ T::ExNoReleased.get(lang) }</p> };
    }
    html! {
        <table class="list">
            <thead><tr>
                <th>{ T::ExInject.get(lang) }</th>
                <th>{ T::ExPlanned.get(lang) }</th>
                <th>{ T::ExReleasedAt.get(lang) }</th>
                <th>{ T::ExReached.get(lang) }</th>
            </tr></thead>
            <tbody>
                { for newest_first(released).into_iter().take(MAX_ROWS).map(|r| html! {
                    <tr key={r.record.to_string()}>
                        <td>
                            <span class="nowrap">{ number_text(r.number, lang) }</span>{ " " }
                            <strong>{ if r.subject.is_empty() { r.text.clone() } else { r.subject.clone() } }</strong>
                            <div class="muted small">{ format!("{} → {} · {}", r.from, r.to, channel_text(r.channel, lang)) }</div>
                        </td>
                        <td class="nowrap">{ r.scheduled.map_or("—".to_owned(), |t| t.to_string()) }</td>
                        <td class="nowrap">{ format!("{} ({})", time::short(r.released_at), r.released_at_t) }</td>
                        <td>
                            if r.reached.is_empty() { { "—" } }
                            <ul class="plain reach-list">
                                { for r.reached.iter().map(|x| html! {
                                    <li class={classes!("reach", if x.at_ms.is_some() { "delivered" } else { "pending" })}>{ reach_text(x, lang, at_ms) }</li>
                                }) }
                            </ul>
                        </td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krizlink_core::DeviceId;

    #[test]
    fn exercise_time_reads_t_plus_hours_and_minutes() {
        assert_eq!(t_plus(0), "T+00:00");
        assert_eq!(t_plus(59_999), "T+00:00");
        assert_eq!(t_plus(45 * 60_000 + 30_000), "T+00:45");
        assert_eq!(t_plus(26 * 3_600_000 + 5 * 60_000), "T+26:05");
        assert_eq!(t_plus(-5), "T+00:00");
    }

    #[test]
    fn each_target_says_when_or_not_yet() {
        let reach = |at| Reach {
            device: DeviceId([3; 32]),
            name: "Koordinátor Vsetín".into(),
            at_ms: at,
        };
        let at = |ms: u64| format!("{}:{:02}", ms / 100, ms % 100);
        assert_eq!(
            reach_text(&reach(Some(1432)), Lang::Cs, at),
            "Koordinátor Vsetín 14:32"
        );
        assert_eq!(
            reach_text(&reach(None), Lang::Cs, at),
            "Koordinátor Vsetín zatím ne"
        );
        assert_eq!(
            reach_text(&reach(None), Lang::En, at),
            "Koordinátor Vsetín not yet"
        );
        assert_eq!(phase_label(Phase::Paused, Lang::Cs), "přerušeno");
        assert_eq!(phase_label(Phase::Running, Lang::En), "running");
    }
}
