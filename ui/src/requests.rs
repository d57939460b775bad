//! Resource requests (požadavky na síly a prostředky): the form, and each request's track from
//! new through review and approval to done, or rejected with a reason, or escalated.

use krizlink_core::api::{Problem, RecordInput, RequestInput};
use krizlink_core::authority::Action;
use krizlink_core::calls::{self, MoveStatus};
use krizlink_core::record::{Priority, RequestStatus};
use krizlink_core::views::ResourceRequest;
use krizlink_core::{RecordKind, Status};
use yew::prelude::*;

use crate::i18n::{label, T};
use crate::permissions;
use crate::tasks::{created, new_record, priority_options, record_ref, write};
use crate::widgets::{
    add_errors, count_field, field, initial, on_submit, problem_text, scoped_field, select,
    submit_row, time_field, use_form, Errors, Form, FormAction, Kind, Values,
};
use crate::{time, use_ctx};

fn defaults() -> Values {
    initial(&[("priority", "normal".into())])
}

#[function_component(Requests)]
pub fn requests() -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let form = use_form("request", defaults());
    let onsubmit = {
        let ctx2 = ctx.clone();
        on_submit::<calls::CreateRecord>(
            &form,
            move |form, errors| {
                let requester = match ctx2.me().fixed_orp() {
                    Some(orp) => orp.to_owned(),
                    None => form.get("requester"),
                };
                let input = RequestInput {
                    requester,
                    item: form.get("item"),
                    quantity: count_field(form, "quantity", errors, lang),
                    unit: form.get("unit"),
                    delivery_place: form.get("delivery_place"),
                    needed_by: time_field(form, "needed_by", errors, lang),
                    priority: Priority::parse(&form.get("priority")),
                    reason: form.get("reason"),
                };
                add_errors(errors, input.validate(), lang);
                Some(new_record(&ctx2, RecordInput::ResourceRequest(input)))
            },
            created(&ctx),
        )
    };
    let mut list: Vec<&ResourceRequest> = ctx.requests().iter().collect();
    list.sort_by_key(|r| {
        (
            r.status.is_terminal(),
            std::cmp::Reverse(r.priority),
            r.needed_by.is_none(),
            r.needed_by,
        )
    });
    let me = ctx.me();
    let may_create = me.may_create(RecordKind::ResourceRequest);
    let fixed = me.fixed_orp().map(str::to_owned);
    html! {
        <div class="split">
            if !may_create {
                { permissions::locked(&me, RecordKind::ResourceRequest, T::NewRequest.get(lang), lang) }
            } else {
            <form class="card form" id="request-form" {onsubmit} novalidate=true>
                <h2>{ T::NewRequest.get(lang) }</h2>
                if let Some(orp) = &fixed {
                    <div class="field">
                        <label for="f-requester">{ T::Requester.get(lang) }</label>
                        <input id="f-requester" type="text" value={orp.clone()} readonly=true />
                    </div>
                } else {
                    { field(&form, "requester", T::Requester.get(lang), Kind::Text, "") }
                }
                { field(&form, "item", T::Item.get(lang), Kind::Text, "") }
                <div class="row2">
                    { field(&form, "quantity", T::Quantity.get(lang), Kind::Text, "") }
                    { field(&form, "unit", T::Unit.get(lang), Kind::Text, "") }
                </div>
                { field(&form, "delivery_place", T::DeliveryPlace.get(lang), Kind::Text, "") }
                { field(&form, "needed_by", T::NeededBy.get(lang), Kind::Text, &time::hint(lang)) }
                { select(&form, "priority", T::Priority.get(lang), priority_options(lang)) }
                { field(&form, "reason", T::Reason.get(lang), Kind::Area, "") }
                { submit_row(&form, T::CreateRequest.get(lang), "request-submit", lang) }
            </form>
            }
            <div class="list-pane" id="request-list">
                { permissions::note_if(may_create, &me, RecordKind::ResourceRequest, lang) }
                if list.is_empty() { <p class="muted">{ T::NoneOpen.get(lang) }</p> }
                { for list.into_iter().map(|r| html! { <RequestCard request={r.clone()} /> }) }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct CardProps {
    request: ResourceRequest,
}

#[function_component(RequestCard)]
fn request_card(p: &CardProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let r = &p.request;
    let reason = use_reducer(Form::default);
    let error = use_state(|| None::<String>);
    // Delivery is asked for only while shown: every card polling would be one call per request.
    let show_delivery = use_state(|| false);
    let toggle_delivery = {
        let show = show_delivery.clone();
        Callback::from(move |_: MouseEvent| show.set(!*show))
    };
    let button = |to: RequestStatus| {
        let ctx = ctx.clone();
        let me = record_ref(&ctx, RecordKind::ResourceRequest, r.meta.id);
        let reason = reason.clone();
        let error = error.clone();
        let onclick = Callback::from(move |_| {
            let note = reason.get("status_reason");
            if to == RequestStatus::Rejected && note.trim().is_empty() {
                let mut errors = Errors::new();
                errors.insert(
                    "status_reason".into(),
                    format!(
                        "{} {}",
                        problem_text(Problem::Required, lang),
                        T::RejectNeedsReason.get(lang)
                    ),
                );
                reason.dispatch(FormAction::Errors(errors));
                return;
            }
            let args = MoveStatus {
                record: me.clone(),
                to: Status::Request(to),
                note,
            };
            write::<calls::MoveStatusCmd>(&ctx, args, error.clone());
        });
        html! { <button class={classes!((to == RequestStatus::Rejected).then_some("danger"))} {onclick}>{ label(lang, to.label_cs(), to.label_en()) }</button> }
    };
    let me = ctx.me();
    let moves: Vec<RequestStatus> = RequestStatus::ALL
        .iter()
        .copied()
        .filter(|s| r.status.can_move_to(*s))
        .filter(|s| {
            let action = match s {
                RequestStatus::Approved | RequestStatus::Rejected | RequestStatus::Escalated => {
                    Action::Decide
                }
                _ => Action::MoveStatus,
            };
            me.may_on_request(action, &r.requester)
        })
        .collect();
    html! {
        <section class={classes!("card", "request", r.status.is_terminal().then_some("done"))}>
            <div class="request-head">
                <strong>{ format!("{} {} {}", r.quantity.map(|q| q.to_string()).unwrap_or_default(), r.unit.clone().unwrap_or_default(), r.item).trim().to_owned() }</strong>
                <span class="badge">{ label(lang, r.status.label_cs(), r.status.label_en()) }</span>
                <span class="badge">{ label(lang, r.priority.label_cs(), r.priority.label_en()) }</span>
            </div>
            <div class="muted">
                { format!("{}: {}", T::Requester.get(lang), r.requester) }
                if let Some(sim) = r.meta.simulated_label_cs() { { " · " }<span class="badge simulated">{ sim }</span> }
                if let Some(t) = r.needed_by { { format!(" · {} {}", T::NeededBy.get(lang), time::format(t)) } }
                if let Some(pl) = &r.delivery_place { { format!(" · {pl}") } }
            </div>
            if let Some(why) = &r.reason { <p class="pre">{ why.clone() }</p> }
            if let Some(note) = &r.status_note { <p><strong>{ format!("{}: ", T::StatusReason.get(lang)) }</strong>{ note.clone() }</p> }
            if !r.status_conflicts.is_empty() {
                <p class="conflict-box">{ format!("{}: {}", T::StatusConflict.get(lang),
                    r.status_conflicts.iter().map(|s| label(lang, s.label_cs(), s.label_en())).collect::<Vec<_>>().join(", ")) }</p>
            }
            if !moves.is_empty() {
                <div class="actions">
                    { for moves.into_iter().map(button) }
                </div>
                { scoped_field(&reason, &r.meta.id.short(), "status_reason", T::StatusReason.get(lang), Kind::Text, "") }
            }
            <button type="button" class="link" id={format!("request-delivery-{}", r.meta.id.short())} onclick={toggle_delivery}>{ T::Deliveries.get(lang) }</button>
            if *show_delivery {
                <crate::deliveries::Deliveries record={record_ref(&ctx, RecordKind::ResourceRequest, r.meta.id)} id={format!("request-deliveries-{}", r.meta.id.short())} />
            }
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </section>
    }
}
