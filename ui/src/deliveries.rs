//! Delivery (doručení): which member devices signed that they hold a record's latest version
//! and since when, from their own signed receipts ("doručeno od 14:32", "zatím nedoručeno"),
//! and how far the newest key rotation has reached ("Nový klíč (epocha 2) má 11 ze 14
//! zařízení"). Receipts arrive with sync and change no record, so no `space-changed` event
//! announces them: the shown section asks again every few seconds while it is open.

use std::rc::Rc;

use krizlink_core::calls::{self, RecordRef};
use krizlink_core::views::{Delivery, KeyProgress};
use krizlink_core::Timestamp;
use yew::prelude::*;

use crate::i18n::{Lang, T};
use crate::time;
use crate::use_ctx;

/// How often an open delivery or key-progress view asks again (receipts come without events).
pub const REFRESH_MS: u32 = 5_000;

/// The number of ticks of a timer running while the component is shown.
struct Ticks(u32);

impl Reducible for Ticks {
    type Action = ();

    fn reduce(self: Rc<Self>, (): ()) -> Rc<Self> {
        Rc::new(Ticks(self.0.wrapping_add(1)))
    }
}

/// A counter that grows every `ms` milliseconds while the calling component is mounted: put it
/// among an effect's dependencies to run the effect again periodically.
#[hook]
pub fn use_ticks(ms: u32) -> u32 {
    use_ticks_while(ms, true)
}

/// [`use_ticks`] with the timer running only while `on` (no timer, and no cost, otherwise).
#[hook]
pub fn use_ticks_while(ms: u32, on: bool) -> u32 {
    let ticks = use_reducer(|| Ticks(0));
    {
        let tick = ticks.dispatcher();
        use_effect_with((ms, on), move |&(ms, on)| {
            let interval =
                on.then(|| gloo::timers::callback::Interval::new(ms, move || tick.dispatch(())));
            move || drop(interval)
        });
    }
    ticks.0
}

/// One device's delivery as a sentence; `at` shows a time (ms since 1970).
pub fn delivery_text(d: &Delivery, lang: Lang, at: impl Fn(u64) -> String) -> String {
    match (d.holds, d.since_ms, lang) {
        (true, Some(t), Lang::Cs) if d.since_exact => format!("doručeno od {}", at(t)),
        (true, Some(t), Lang::En) if d.since_exact => format!("delivered since {}", at(t)),
        (true, Some(t), Lang::Cs) => format!("doručeno nejpozději od {}", at(t)),
        (true, Some(t), Lang::En) => format!("delivered, at the latest since {}", at(t)),
        (true, None, Lang::Cs) => "doručeno".to_owned(),
        (true, None, Lang::En) => "delivered".to_owned(),
        (false, _, _) => match (d.last_heard_ms, lang) {
            (Some(h), Lang::Cs) => format!("zatím nedoručeno (naposledy ohlášeno {})", at(h)),
            (Some(h), Lang::En) => format!("not delivered yet (last reported {})", at(h)),
            (None, Lang::Cs) => "zatím žádné potvrzení".to_owned(),
            (None, Lang::En) => "no confirmation yet".to_owned(),
        },
    }
}

/// "Doručeno: 3 z 5 zařízení".
pub fn delivery_summary(list: &[Delivery], lang: Lang) -> String {
    let held = list.iter().filter(|d| d.holds).count();
    match lang {
        Lang::Cs => format!(
            "Doručeno: {held} {} {} zařízení",
            krizlink_core::views::z_ze(list.len()),
            list.len()
        ),
        Lang::En => format!("Delivered: {held} of {} devices", list.len()),
    }
}

/// "Nový klíč (epocha 2) má 11 ze 14 zařízení", or just "Klíč: epocha 0" for a space whose key
/// was never rotated.
pub fn key_progress_text(p: &KeyProgress, lang: Lang) -> String {
    match (p.epoch, lang) {
        (0, _) => format!("{} 0", T::KeyEpoch.get(lang)),
        (e, Lang::Cs) => format!(
            "Nový klíč (epocha {e}) má {} {} {} zařízení",
            p.holding,
            krizlink_core::views::z_ze(p.total),
            p.total
        ),
        (e, Lang::En) => format!(
            "The new key (epoch {e}) is held by {} of {} devices",
            p.holding, p.total
        ),
    }
}

/// A receipt's time: the time of day if it is today, else the date too.
fn at(ms: u64) -> String {
    time::short(Timestamp(i64::try_from(ms).unwrap_or(i64::MAX)))
}

#[derive(Properties, PartialEq)]
pub struct DeliveriesProps {
    /// The record whose latest version is followed.
    pub record: RecordRef,
    /// The section's element id (`task-deliveries`, `report-deliveries`, …); its summary is
    /// `{id}-summary`.
    pub id: AttrValue,
}

/// The "Doručení" section of a record's detail: the summary and each member device's line,
/// asked again after each change of the space and every [`REFRESH_MS`].
#[function_component(Deliveries)]
pub fn deliveries(p: &DeliveriesProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    // Tagged with the record asked about, so another record's answer is never shown for this one.
    let list = use_state_eq(|| None::<(RecordRef, Vec<Delivery>)>);
    let error = use_state_eq(|| None::<String>);
    let ticks = use_ticks(REFRESH_MS);
    {
        let list = list.clone();
        let error = error.clone();
        let operations = ctx.info().operations;
        use_effect_with(
            (p.record.clone(), operations, ticks),
            move |(record, _, _)| {
                let record = record.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match crate::bridge::call::<calls::RecordDeliveries>(&record).await {
                        Ok(l) => {
                            list.set(Some((record, l)));
                            error.set(None);
                        }
                        Err(m) => error.set(Some(m)),
                    }
                });
            },
        );
    }
    html! {
        <section class="deliveries no-print" id={p.id.clone()}>
            <h3>{ T::Deliveries.get(lang) }</h3>
            if let Some((_, l)) = list.as_ref().filter(|(r, _)| *r == p.record) {
                <p class="muted" id={format!("{}-summary", p.id)}>{ delivery_summary(l, lang) }</p>
                <ul class="plain delivery-list">
                    { for l.iter().map(|d| html! {
                        <li key={d.device.to_string()} class={classes!(if d.holds { "delivered" } else { "pending" })}>
                            <strong>{ if d.name.trim().is_empty() { d.device.short() } else { d.name.clone() } }</strong>
                            if d.this_device { <span class="muted">{ format!(" ({})", T::You.get(lang)) }</span> }
                            { format!(" · {}", delivery_text(d, lang, at)) }
                        </li>
                    }) }
                </ul>
            }
            if let Some(e) = &*error { <p class="form-error" role="alert">{ e.clone() }</p> }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krizlink_core::DeviceId;

    fn delivery(holds: bool, since: Option<u64>, exact: bool, heard: Option<u64>) -> Delivery {
        Delivery {
            device: DeviceId([7; 32]),
            name: "Vsetín".into(),
            role: None,
            this_device: false,
            holds,
            since_ms: since,
            since_exact: exact,
            last_heard_ms: heard,
        }
    }

    fn clock(ms: u64) -> String {
        format!("{}:{:02}", ms / 100, ms % 100)
    }

    #[test]
    fn each_delivery_reads_as_one_sentence() {
        let cs = |d: &Delivery| delivery_text(d, Lang::Cs, clock);
        assert_eq!(
            cs(&delivery(true, Some(1432), true, None)),
            "doručeno od 14:32"
        );
        assert_eq!(
            cs(&delivery(true, Some(1432), false, Some(1500))),
            "doručeno nejpozději od 14:32"
        );
        assert_eq!(
            cs(&delivery(false, None, false, Some(1420))),
            "zatím nedoručeno (naposledy ohlášeno 14:20)"
        );
        assert_eq!(
            cs(&delivery(false, None, false, None)),
            "zatím žádné potvrzení"
        );
        assert_eq!(
            delivery_text(&delivery(true, Some(1432), true, None), Lang::En, clock),
            "delivered since 14:32"
        );
    }

    #[test]
    fn summary_counts_devices_holding_it() {
        let list = vec![
            delivery(true, Some(1), true, None),
            delivery(false, None, false, None),
            delivery(true, Some(2), false, Some(3)),
        ];
        assert_eq!(
            delivery_summary(&list, Lang::Cs),
            "Doručeno: 2 ze 3 zařízení"
        );
        assert_eq!(
            delivery_summary(&list, Lang::En),
            "Delivered: 2 of 3 devices"
        );
    }

    #[test]
    fn key_progress_names_the_epoch() {
        let p = |epoch, holding, total| KeyProgress {
            epoch,
            holding,
            total,
        };
        assert_eq!(key_progress_text(&p(0, 3, 3), Lang::Cs), "Klíč: epocha 0");
        assert_eq!(
            key_progress_text(&p(2, 11, 14), Lang::Cs),
            "Nový klíč (epocha 2) má 11 ze 14 zařízení"
        );
        assert_eq!(
            key_progress_text(&p(2, 11, 14), Lang::En),
            "The new key (epoch 2) is held by 11 of 14 devices"
        );
    }
}
