//! The evaluation of a drill (Vyhodnocení), for exercise leaders and evaluators: the hot wash
//! at the top, the expected actions (met, late, by whom and when, the response time, the
//! evaluator's comment), response times per ORP and per role, the injects nobody answered,
//! results by objective, the improvement plan and the timeline, with "Uložit PDF" and
//! "Uložit CSV" (the engine's documents, saved in the person's documents folder). Beside it the
//! evaluator's observation form (Pozorování): an inject, met or not, a comment and an optional
//! corrective action with its owner and due date.
//!
//! The engine computes the evaluation (`exercise_evaluation`); it is asked again whenever the
//! space changes (a response or an observation arrived) and while the drill screen polls.

use std::rc::Rc;

use krizlink_core::calls::{self, DocFormat, NewObservation, SaveEvaluation, SpaceRef};
use krizlink_core::exercise::evaluation::{
    minutes_text, Corrective, Evaluation, ExpectedResult, ResponseTimes,
};
use krizlink_core::exercise::Released;
use krizlink_core::RecordKind;
use yew::prelude::*;

use crate::i18n::{Lang, T};
use crate::widgets::{
    field, initial, on_submit, required, select, submit_row, time_field, use_form, FormAction, Kind,
};
use crate::{time, use_ctx};

/// Rows a table draws at most.
const MAX_ROWS: usize = 100;

/// "ano", "ne", "ne, pozdě" of an expected action, and whether the evaluator said so.
pub fn met_text(e: &ExpectedResult, lang: Lang) -> String {
    let mut text = if e.met { T::EvYes } else { T::EvNo }.get(lang).to_owned();
    if e.late {
        text.push_str(", ");
        text.push_str(T::EvLate.get(lang));
    }
    if e.judged {
        text.push_str(&format!(" ({})", T::EvJudged.get(lang)));
    }
    text
}

/// A timeline line's kind: "vstup" or the record kind of a response.
fn what_text(code: &str, lang: Lang) -> String {
    if code == "inject" {
        return T::ExInject.get(lang).to_owned();
    }
    let kinds = [
        (RecordKind::Task, T::EvTask),
        (RecordKind::SituationReport, T::EvReport),
        (RecordKind::ResourceRequest, T::EvRequest),
        (RecordKind::JournalEntry, T::EvJournal),
        (RecordKind::Incident, T::EvIncident),
    ];
    kinds
        .iter()
        .find(|(k, _)| k.code() == code)
        .map_or_else(|| code.to_owned(), |(_, t)| t.get(lang).to_owned())
}

fn numbers(list: &[u32]) -> String {
    list.iter()
        .map(|n| {
            if *n == 0 {
                "—".to_owned()
            } else {
                format!("#{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The evaluation shown, and of which space.
#[derive(Clone, PartialEq)]
struct Shown {
    space: String,
    evaluation: Rc<Evaluation>,
}

#[derive(Properties, PartialEq)]
pub struct EvaluationProps {
    /// The released injects (the observation form offers their numbers).
    pub released: Rc<Vec<Released>>,
    /// Asks the evaluation again (the drill screen's poll while the clock runs).
    pub polls: u32,
}

#[function_component(EvaluationView)]
pub fn evaluation_view(p: &EvaluationProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let space = ctx.space.id.clone();
    let shown = use_state(|| None::<Shown>);
    let error = use_state(|| None::<String>);
    let saving = use_state(|| false);
    let saved_path = use_state(|| None::<String>);
    let save_error = use_state(|| None::<String>);
    {
        let shown = shown.clone();
        let error = error.clone();
        let operations = ctx.info().operations;
        use_effect_with(
            (space.clone(), operations, p.polls),
            move |(space, _, _)| {
                let args = SpaceRef {
                    space: space.clone(),
                };
                let space = space.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match crate::bridge::call::<calls::ExerciseEvaluation>(&args).await {
                        Ok(evaluation) => {
                            if !shown
                                .as_ref()
                                .is_some_and(|s| s.space == space && *s.evaluation == evaluation)
                            {
                                shown.set(Some(Shown {
                                    space,
                                    evaluation: Rc::new(evaluation),
                                }));
                            }
                            error.set(None);
                        }
                        Err(m) => error.set(Some(m)),
                    }
                });
            },
        );
    }
    let save = |format: DocFormat| {
        let (space, saving, saved_path, save_error) = (
            space.clone(),
            saving.clone(),
            saved_path.clone(),
            save_error.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            if *saving {
                return;
            }
            saving.set(true);
            let args = SaveEvaluation {
                space: space.clone(),
                format,
            };
            let (saving, saved_path, save_error) =
                (saving.clone(), saved_path.clone(), save_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match crate::bridge::call::<calls::SaveEvaluationCmd>(&args).await {
                    Ok(path) => {
                        save_error.set(None);
                        saved_path.set(Some(path));
                    }
                    Err(m) => {
                        saved_path.set(None);
                        save_error.set(Some(m));
                    }
                }
                saving.set(false);
            });
        })
    };
    let current = shown.as_ref().filter(|s| s.space == space).cloned();
    let Some(current) = current else {
        return html! {
            <div id="evaluation">
                if let Some(e) = &*error {
                    <p class="form-error" role="alert">{ e.clone() }</p>
                } else {
                    <p class="muted">{ T::Loading.get(lang) }</p>
                }
            </div>
        };
    };
    let e = &current.evaluation;
    html! {
        <div id="evaluation" class="split evaluation">
            <div class="stack">
                <section class="card" id="evaluation-hotwash">
                    <h2>{ T::EvHotWash.get(lang) }</h2>
                    <p class="muted">{ format!("{}: {} ({}: {})", T::EvReleasedCount.get(lang), e.released, T::EvScenarioSize.get(lang), e.scenario_size) }
                        if let Some(t) = e.started { { format!(" · {} {}", T::ExStartedAt.get(lang), time::short(t)) } }
                        if let Some(t) = e.stopped { { format!(" · {} {}", T::ExStoppedAt.get(lang), time::short(t)) } }
                    </p>
                    <ul class="hot-wash">
                        { for e.hot_wash.iter().map(|line| html! { <li>{ line.clone() }</li> }) }
                    </ul>
                    <div class="actions">
                        <button type="button" id="save-pdf" class="primary" disabled={*saving} onclick={save(DocFormat::Pdf)}>{ T::SavePdf.get(lang) }</button>
                        <button type="button" id="save-csv" disabled={*saving} onclick={save(DocFormat::Csv)}>{ T::SaveCsv.get(lang) }</button>
                    </div>
                    if let Some(path) = &*saved_path {
                        <p class="saved-path" id="saved-path">{ format!("{} {path}", T::SavedTo.get(lang)) }</p>
                    }
                    if let Some(m) = &*save_error { <p class="form-error" role="alert">{ m.clone() }</p> }
                    if let Some(m) = &*error { <p class="form-error" role="alert">{ m.clone() }</p> }
                </section>
                <ObservationForm released={p.released.clone()} />
            </div>
            <div class="list-pane">
                <section class="card" id="evaluation-expected">
                    <h2>{ format!("{} ({})", T::EvExpected.get(lang), e.expected.len()) }</h2>
                    { expected_table(&e.expected, lang) }
                </section>
                <section class="card" id="evaluation-times">
                    <h2>{ T::EvTimes.get(lang) }</h2>
                    <div class="row2">
                        <div><h3>{ T::EvByOrp.get(lang) }</h3>{ times_table(&e.by_orp, T::EvOrp, lang) }</div>
                        <div><h3>{ T::EvByRole.get(lang) }</h3>{ times_table(&e.by_role, T::EvRole, lang) }</div>
                    </div>
                </section>
                <section class="card" id="evaluation-unanswered">
                    <h2>{ format!("{} ({})", T::EvUnanswered.get(lang), e.unanswered.len()) }</h2>
                    if e.unanswered.is_empty() {
                        <p class="muted">{ T::EvAllAnswered.get(lang) }</p>
                    } else {
                        <ul class="plain">
                            { for e.unanswered.iter().take(MAX_ROWS).map(|u| html! {
                                <li key={u.number}><span class="badge">{ format!("#{}", u.number) }</span>{ " " }{ u.subject.clone() }
                                    <span class="muted small">{ format!(" → {} · {} {}", u.to, T::ExReleasedAt.get(lang), time::short(u.released_at)) }</span></li>
                            }) }
                        </ul>
                    }
                </section>
                <section class="card" id="evaluation-objectives">
                    <h2>{ T::EvObjectives.get(lang) }</h2>
                    if e.by_objective.is_empty() { <p class="muted">{ T::EvNone.get(lang) }</p> }
                    <ul class="plain objective-list">
                        { for e.by_objective.iter().map(|o| html! {
                            <li key={o.objective.clone()}>
                                <strong>{ o.objective.clone() }</strong>
                                <span class={classes!("badge", (o.met < o.expected).then_some("level"))}>{ format!("{} {} {}", o.met, T::EvOf.get(lang), o.expected) }</span>
                                if !o.observations.is_empty() {
                                    <ul class="small">{ for o.observations.iter().map(|x| html! { <li>{ x.clone() }</li> }) }</ul>
                                }
                            </li>
                        }) }
                    </ul>
                </section>
                <section class="card" id="evaluation-plan">
                    <h2>{ T::EvPlan.get(lang) }</h2>
                    if e.plan.is_empty() {
                        <p class="muted">{ T::EvNoPlan.get(lang) }</p>
                    } else {
                        <table class="list">
                            <thead><tr>
                                <th>{ T::ExInject.get(lang) }</th>
                                <th>{ T::EvFinding.get(lang) }</th>
                                <th>{ T::EvAction.get(lang) }</th>
                                <th>{ T::EvOwner.get(lang) }</th>
                                <th>{ T::EvDue.get(lang) }</th>
                            </tr></thead>
                            <tbody>
                                { for e.plan.iter().take(MAX_ROWS).map(|x| html! {
                                    <tr>
                                        <td class="nowrap">{ format!("#{}", x.inject) }<div class="muted small">{ x.objective.clone() }</div></td>
                                        <td>{ x.finding.clone() }</td>
                                        <td>{ x.action.clone() }</td>
                                        <td>{ x.owner.clone() }</td>
                                        <td class="nowrap">{ x.due.map_or("—".to_owned(), time::short) }</td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    }
                </section>
                <section class="card" id="evaluation-timeline">
                    <h2>{ T::EvTimeline.get(lang) }</h2>
                    if e.timeline.is_empty() { <p class="muted">{ T::EvNone.get(lang) }</p> }
                    <ul class="plain timeline">
                        { for e.timeline.iter().take(MAX_ROWS * 3).map(|t| html! {
                            <li class={classes!(if t.what == "inject" { "tl-inject" } else { "tl-response" })}>
                                <span class="nowrap muted">{ time::short(t.at) }</span>{ " " }
                                <span class="badge">{ format!("{} {}", what_text(&t.what, lang), numbers(&t.injects)) }</span>{ " " }
                                { t.text.clone() }
                                <span class="muted small">{ format!(" — {}", t.who) }</span>
                            </li>
                        }) }
                    </ul>
                </section>
            </div>
        </div>
    }
}

/// The expected actions: číslo, předmět, komu, cíl, splněno, kdo a kdy, doba reakce, komentář.
fn expected_table(expected: &[ExpectedResult], lang: Lang) -> Html {
    if expected.is_empty() {
        return html! { <p class="muted">{ T::EvNoExpected.get(lang) }</p> };
    }
    html! {
        <table class="list expected-table">
            <thead><tr>
                <th>{ T::ExNumber.get(lang) }</th>
                <th>{ T::ExSubject.get(lang) }</th>
                <th>{ T::ExTo.get(lang) }</th>
                <th>{ T::EvObjective.get(lang) }</th>
                <th>{ T::EvMet.get(lang) }</th>
                <th>{ T::EvWhoWhen.get(lang) }</th>
                <th>{ T::EvResponseTime.get(lang) }</th>
                <th>{ T::EvComment.get(lang) }</th>
            </tr></thead>
            <tbody>
                { for expected.iter().take(MAX_ROWS).map(|x| {
                    let class = if x.late { "met-late" } else if x.met { "met-yes" } else { "met-no" };
                    html! {
                        <tr key={x.number}>
                            <td class="nowrap">{ format!("#{}", x.number) }</td>
                            <td title={format!("{}: {}", T::EvExpectedAction.get(lang), x.expected)}>{ x.subject.clone() }</td>
                            <td>{ x.to.clone() }</td>
                            <td class="small">{ x.objective.clone() }</td>
                            <td class={classes!("nowrap", class)}>{ met_text(x, lang) }</td>
                            <td class="small">{ match (&x.first_response_by, x.first_response_at) {
                                (Some(by), Some(at)) => format!("{by}, {}", time::short(at)),
                                _ => "—".to_owned(),
                            } }</td>
                            <td class="nowrap">{ x.response_ms.map_or("—".to_owned(), minutes_text) }</td>
                            <td class="small">{ if x.comment.is_empty() { "—".to_owned() } else { x.comment.clone() } }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}

/// Response times of the groups: answered, median, longest.
fn times_table(times: &[ResponseTimes], group: T, lang: Lang) -> Html {
    if times.is_empty() {
        return html! { <p class="muted">{ T::EvNoResponses.get(lang) }</p> };
    }
    html! {
        <table class="list">
            <thead><tr>
                <th>{ group.get(lang) }</th>
                <th>{ T::EvAnswered.get(lang) }</th>
                <th>{ T::EvMedian.get(lang) }</th>
                <th>{ T::EvLongest.get(lang) }</th>
            </tr></thead>
            <tbody>
                { for times.iter().map(|t| html! {
                    <tr key={t.group.clone()}>
                        <td>{ t.group.clone() }</td>
                        <td>{ t.answered }</td>
                        <td class="nowrap">{ minutes_text(t.median_ms) }</td>
                        <td class="nowrap">{ minutes_text(t.max_ms) }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

#[derive(Properties, PartialEq)]
struct ObservationProps {
    released: Rc<Vec<Released>>,
}

/// The evaluator's observation (Pozorování) on a released inject.
#[function_component(ObservationForm)]
fn observation_form(p: &ObservationProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let space = ctx.space.id.clone();
    // The released scenario injects, once each, by number.
    let mut injects: Vec<&Released> = p.released.iter().filter(|r| r.number != 0).collect();
    injects.sort_by_key(|r| (r.number, r.stamp_order));
    injects.dedup_by_key(|r| r.number);
    let first = injects
        .first()
        .map(|r| r.number.to_string())
        .unwrap_or_default();
    let form = use_form(
        "observation",
        initial(&[("obs_inject", first.clone()), ("obs_met", String::new())]),
    );
    // The default inject is the first released one, once there is one.
    {
        let form = form.clone();
        use_effect_with(first.clone(), move |first| {
            if form.get("obs_inject").is_empty() && !first.is_empty() {
                form.dispatch(FormAction::Set("obs_inject".into(), first.clone()));
            }
        });
    }
    let onsubmit = {
        let saved = ctx.saved.clone();
        on_submit::<calls::ObserveCmd>(
            &form,
            move |form, errors| {
                let inject = required(form, "obs_inject", errors, lang)
                    .trim()
                    .parse()
                    .ok();
                let met = match form.get("obs_met").as_str() {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                };
                let text = form.get("obs_text").trim().to_owned();
                if text.is_empty() && met.is_none() {
                    errors.insert(
                        "obs_text".into(),
                        T::EvObservationEmpty.get(lang).to_owned(),
                    );
                }
                let action = form.get("obs_action").trim().to_owned();
                let owner = form.get("obs_owner").trim().to_owned();
                let due = time_field(form, "obs_due", errors, lang);
                if action.is_empty() && (!owner.is_empty() || due.is_some()) {
                    errors.insert("obs_action".into(), T::EvActionMissing.get(lang).to_owned());
                }
                Some(NewObservation {
                    space: space.clone(),
                    inject: inject?,
                    met,
                    text,
                    corrective: (!action.is_empty()).then_some(Corrective { action, owner, due }),
                })
            },
            move |_id, form| {
                let inject = form.get("obs_inject");
                form.dispatch(FormAction::Reset);
                form.dispatch(FormAction::Set("obs_inject".into(), inject));
                saved.emit(());
            },
        )
    };
    let options: Vec<(String, String)> = injects
        .iter()
        .map(|r| {
            let subject = if r.subject.is_empty() {
                &r.text
            } else {
                &r.subject
            };
            let subject: String = subject.chars().take(60).collect();
            (r.number.to_string(), format!("#{} {subject}", r.number))
        })
        .collect();
    let verdicts = vec![
        (String::new(), T::EvNotJudged.get(lang).to_owned()),
        ("yes".to_owned(), T::EvYes.get(lang).to_owned()),
        ("no".to_owned(), T::EvNo.get(lang).to_owned()),
    ];
    html! {
        <form class="card form" id="observation-form" {onsubmit} novalidate=true>
            <h2>{ T::EvObservation.get(lang) }</h2>
            if options.is_empty() {
                <p class="muted">{ T::ExNoReleased.get(lang) }</p>
            } else {
                { select(&form, "obs_inject", T::ExInject.get(lang), options) }
                { select(&form, "obs_met", T::EvMet.get(lang), verdicts) }
                { field(&form, "obs_text", T::EvComment.get(lang), Kind::Area, "") }
                <fieldset class="corrective"><legend>{ T::EvCorrective.get(lang) }</legend>
                    { field(&form, "obs_action", T::EvAction.get(lang), Kind::Text, "") }
                    <div class="row2">
                        { field(&form, "obs_owner", T::EvOwner.get(lang), Kind::Text, "") }
                        { field(&form, "obs_due", T::EvDue.get(lang), Kind::Text, &time::hint(lang)) }
                    </div>
                </fieldset>
                { submit_row(&form, T::EvObserve.get(lang), "observation-submit", lang) }
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krizlink_core::Timestamp;

    fn expected(met: bool, late: bool, judged: bool) -> ExpectedResult {
        ExpectedResult {
            number: 4,
            subject: "Huslenky".into(),
            to: "ORP Vsetín".into(),
            objective: "Varování".into(),
            expected: "SitRep".into(),
            deadline: None,
            released_at: Timestamp(0),
            met,
            judged,
            first_response_at: None,
            first_response_by: None,
            response_ms: None,
            late,
            comment: String::new(),
        }
    }

    #[test]
    fn met_says_yes_no_late_and_who_judged() {
        assert_eq!(met_text(&expected(true, false, false), Lang::Cs), "ano");
        assert_eq!(
            met_text(&expected(false, true, false), Lang::Cs),
            "ne, pozdě"
        );
        assert_eq!(
            met_text(&expected(true, false, true), Lang::Cs),
            "ano (hodnotitel)"
        );
        assert_eq!(
            met_text(&expected(false, true, true), Lang::En),
            "no, late (evaluator)"
        );
        assert_eq!(what_text("task", Lang::Cs), "úkol");
        assert_eq!(what_text("inject", Lang::En), "Inject");
        assert_eq!(numbers(&[3, 0]), "#3, —");
    }
}
