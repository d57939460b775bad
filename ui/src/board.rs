//! The situation board, the space's home: active incidents with their level, open tasks by
//! status and deadline with the overdue ones marked, the latest situation report of each
//! sender (ORP), and open resource requests. With `big` it is the projector mode.

//!
//! It draws the [`BoardView`] the engine computed: counts and the few records shown, never
//! every record of the space.

use krizlink_core::snapshot::BoardView;
use yew::prelude::*;

use crate::i18n::{label, T};
use crate::{time, use_ctx};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub big: bool,
}

#[function_component(Board)]
pub fn board(p: &Props) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let empty = BoardView::default();
    let b = ctx.data.board.as_ref().unwrap_or(&empty);
    let incidents = &b.incidents;
    let open_requests = &b.open_requests;
    let overdue = b.overdue(ctx.now);
    html! {
        <section id="board" class={classes!("board", p.big.then_some("big"))}>
            <div class="board-head">
                <h1 id="board-title">{ ctx.space.name.clone() }</h1>
                <span class="as-of">{ format!("{} {}", T::AsOf.get(lang), time::format(ctx.now)) }</span>
                if overdue > 0 {
                    <span class="badge overdue" id="overdue-count">{ format!("{}: {overdue}", T::Overdue.get(lang)) }</span>
                }
                if p.big {
                    <span class="muted">{ T::BoardExit.get(lang) }</span>
                }
            </div>
            <div class="board-grid">
                <div class="panel">
                    <h2>{ T::ActiveIncidents.get(lang) }</h2>
                    if incidents.is_empty() { <p class="muted">{ T::NoneActive.get(lang) }</p> }
                    <ul class="plain">
                    { for incidents.iter().map(|i| html! {
                        <li class="incident">
                            <strong>{ i.title.clone() }</strong>
                            <span class="muted">{ format!(" · {}", label(lang, i.kind.label_cs(), i.kind.label_en())) }</span>
                            if let Some(l) = i.level { <span class="badge level">{ label(lang, l.label_cs(), l.label_en()) }</span> }
                            <span class="badge">{ label(lang, i.state.label_cs(), i.state.label_en()) }</span>
                            if let Some(place) = &i.place { <div class="muted">{ place.clone() }</div> }
                        </li>
                    }) }
                    </ul>
                </div>
                <div class="panel">
                    <h2>{ T::OpenRequests.get(lang) }</h2>
                    if open_requests.is_empty() { <p class="muted">{ T::NoneOpen.get(lang) }</p> }
                    <ul class="plain">
                    { for open_requests.iter().map(|r| html! {
                        <li>
                            <strong>{ format!("{} {}", r.quantity.map(|q| q.to_string()).unwrap_or_default(), r.unit.clone().unwrap_or_default()).trim().to_owned() }</strong>
                            { format!(" {} ", r.item) }
                            <span class="muted">{ format!("({})", r.requester) }</span>
                            <span class="badge">{ label(lang, r.status.label_cs(), r.status.label_en()) }</span>
                        </li>
                    }) }
                    </ul>
                </div>
                <div class="panel wide">
                    <h2>{ T::Tasks.get(lang) }</h2>
                    <div class="columns">
                    { for b.columns.iter().map(|col| {
                        let st = col.status;
                        html! {
                            <div class="column">
                                <h3>{ format!("{} ({})", label(lang, st.label_cs(), st.label_en()), col.count) }</h3>
                                { for col.tasks.iter().map(|t| {
                                    let late = t.is_overdue(ctx.now);
                                    html! {
                                        <div class={classes!("task-card", late.then_some("late"), format!("prio-{}", t.priority.code()))}>
                                            <div class="title">{ t.title.clone() }</div>
                                            <div class="meta">
                                                if let Some(dl) = t.deadline { <span>{ format!("{} {}", T::Due.get(lang), time::format(dl)) }</span> }
                                                if late { <span class="badge overdue">{ T::Overdue.get(lang) }</span> }
                                                if !t.assignees.is_empty() { <span>{ format!(" · {}", t.assignees.join(", ")) }</span> }
                                            </div>
                                        </div>
                                    }
                                }) }
                                if col.count > col.tasks.len() { <p class="muted">{ format!("+ {}", col.count - col.tasks.len()) }</p> }
                            </div>
                        }
                    }) }
                    </div>
                </div>
                <div class="panel wide">
                    <h2>{ T::LatestReports.get(lang) }</h2>
                    { for b.latest_reports.iter().map(|r| html! {
                        <div class="report-line">
                            <strong>{ r.sender.clone() }</strong>
                            <span class="muted">{ format!(" · {} {}", T::AsOf.get(lang), time::format(r.as_of)) }</span>
                            <div class="numbers">
                                { for [(T::Evacuated, r.evacuated), (T::Injured, r.injured), (T::Dead, r.dead), (T::Missing, r.missing)]
                                    .into_iter().filter_map(|(t, n)| n.map(|n| html! { <span class="num">{ format!("{}: {n}", t.get(lang)) }</span> })) }
                            </div>
                            if let Some(s) = &r.situation { <div class="clip">{ s.clone() }</div> }
                        </div>
                    }) }
                    if !b.any_reports { <p class="muted">{ T::NoReports.get(lang) }</p> }
                </div>
            </div>
        </section>
    }
}
