//! The network panel (síť): which computers are reachable now, when this one last synced with
//! each, how many of this device's changes have not reached any other computer yet
//! ("Neodesláno: N změn"), the peer addresses this app dials (add and remove), and this
//! computer's own addresses for an administrator. Also the top bar's indicator and the offline
//! banner. What it shows arrives as the `network-changed` event; nothing here polls.

use std::rc::Rc;

use krizlink_core::api::NetworkView;
use krizlink_core::calls::{self, PeerAddress};
use yew::prelude::*;

use crate::i18n::{Lang, T};
use crate::use_ctx;
use crate::widgets::{field, on_submit_with, submit_row, use_form, FormAction, Kind, Values};

/// "3 změny" / "3 changes", with the Czech plural forms.
pub fn changes(n: u64, lang: Lang) -> String {
    match lang {
        Lang::Cs => match n {
            1 => "1 změna".to_owned(),
            2..=4 => format!("{n} změny"),
            _ => format!("{n} změn"),
        },
        Lang::En if n == 1 => "1 change".to_owned(),
        Lang::En => format!("{n} changes"),
    }
}

/// "Neodesláno: 3 změny".
pub fn unsent_text(n: u64, lang: Lang) -> String {
    format!("{}: {}", T::Unsent.get(lang), changes(n, lang))
}

/// An RFC 3339 time as local `23. 11. 2026 18:05:09`.
fn local_seconds(rfc3339: &str) -> String {
    let ms = js_sys::Date::parse(rfc3339);
    if ms.is_nan() {
        return rfc3339.to_owned();
    }
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!(
        "{}. {}. {} {}:{:02}:{:02}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// The top bar's indicator: online with N computers, or offline; the unsent count when there
/// is something unsent. Opens the panel.
pub fn indicator(net: &NetworkView, space: &str, lang: Lang, open: Callback<MouseEvent>) -> Html {
    let connected = net.connected();
    let unsent = net.unsent_in(space);
    let (class, text) = if connected > 0 {
        (
            "net online",
            format!("● {}: {connected}", T::Online.get(lang)),
        )
    } else {
        ("net offline", format!("○ {}", T::Offline.get(lang)))
    };
    html! {
        <button id="net-indicator" class={class} onclick={open} title="Alt+9">
            { text }
            if unsent > 0 {
                <span id="unsent-count" class="unsent">{ format!(" · {}", unsent_text(unsent, lang)) }</span>
            }
        </button>
    }
}

/// The offline banner: shown while no other computer is connected.
pub fn offline_banner(net: &NetworkView, space: &str, lang: Lang) -> Html {
    if net.connected() > 0 {
        return html! {};
    }
    let unsent = net.unsent_in(space);
    html! {
        <p class="banner offline" id="offline-banner" role="status">
            <strong>{ T::OfflineTitle.get(lang) }</strong>
            { " " }{ T::OfflineText.get(lang) }
            if unsent > 0 { { " " }{ unsent_text(unsent, lang) }{ "." } }
        </p>
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub net: Rc<NetworkView>,
    /// A new view after adding or removing an address.
    pub on_view: Callback<NetworkView>,
}

#[function_component(Network)]
pub fn network(p: &Props) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let net = &p.net;
    let form = use_form("peer", Values::new());
    let on_add = {
        let on_view = p.on_view.clone();
        // The shell's sentence about the address goes next to the field; the text stays.
        on_submit_with::<calls::AddPeer>(
            &form,
            Some("peer_address"),
            |form, _| {
                Some(PeerAddress {
                    address: form.get("peer_address").trim().to_owned(),
                })
            },
            move |v, form| {
                on_view.emit(v);
                form.dispatch(FormAction::Reset);
            },
        )
    };
    let remove = |address: String| {
        let on_view = p.on_view.clone();
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let args = PeerAddress {
                address: address.clone(),
            };
            let on_view = on_view.clone();
            let form = form.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match crate::bridge::call::<calls::RemovePeer>(&args).await {
                    Ok(v) => on_view.emit(v),
                    Err(m) => form.dispatch(FormAction::Failed(m)),
                }
            });
        })
    };
    let connected = net.connected();
    let unsent = net.unsent_in(&ctx.space.id);
    html! {
        <div class="two-col" id="network-panel">
            <section class="card">
                <h2>{ T::Network.get(lang) }</h2>
                if let Some(e) = &net.error {
                    <p class="banner error" id="network-error">{ e.clone() }</p>
                }
                <p id="network-summary" class={classes!("net-summary", if connected > 0 { "online" } else { "offline" })}>
                    if connected > 0 {
                        { format!("{}: {connected}", T::ConnectedComputers.get(lang)) }
                    } else {
                        { T::NoPeers.get(lang) }
                    }
                </p>
                <p id="network-unsent" class={classes!("net-unsent", (unsent > 0).then_some("pending"))}>
                    { unsent_text(unsent, lang) }
                    <span class="muted small">{ " — " }{ T::UnsentHelp.get(lang) }</span>
                </p>
                <table class="list" id="peer-list">
                    <thead><tr>
                        <th>{ T::Computer.get(lang) }</th>
                        <th>{ T::State.get(lang) }</th>
                        <th>{ T::LastSync.get(lang) }</th>
                    </tr></thead>
                    <tbody>
                    { for net.peers.iter().map(|peer| {
                        let name = peer.name.clone().unwrap_or_else(|| T::UnknownComputer.get(lang).to_owned());
                        let short = peer.device.as_deref().map(|d| d.chars().take(8).collect::<String>())
                            .unwrap_or_else(|| peer.peer_id.chars().rev().take(8).collect::<String>().chars().rev().collect());
                        html! {
                            <tr class={classes!("peer", if peer.connected { "connected" } else { "gone" })}>
                                <td>{ name }<span class="muted small">{ format!(" ({short})") }</span></td>
                                <td>{ if peer.connected { T::PeerConnected.get(lang) } else { T::PeerGone.get(lang) } }</td>
                                <td class="nowrap">{ peer.last_sync.as_deref().map(local_seconds).unwrap_or_else(|| "—".to_owned()) }</td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
                if net.peers.is_empty() {
                    <p class="muted">{ T::NoPeersYet.get(lang) }</p>
                }
            </section>
            <section class="card">
                <form id="peer-form" onsubmit={on_add} novalidate=true>
                    <h2>{ T::PeerAddresses.get(lang) }</h2>
                    <p class="muted">{ T::PeerAddressHelp.get(lang) }</p>
                    { field(&form, "peer_address", T::PeerAddress.get(lang), Kind::Text, "/ip4/192.168.1.10/tcp/7470") }
                    { submit_row(&form, T::AddPeer.get(lang), "peer-submit", lang) }
                </form>
                <ul class="saved-peers" id="saved-peers">
                    { for net.saved_peers.iter().map(|a| html! {
                        <li><code>{ a.clone() }</code>{ " " }
                            <button class="danger small" onclick={remove(a.clone())}>{ T::Remove.get(lang) }</button></li>
                    }) }
                </ul>
                <details>
                    <summary>{ T::OwnAddresses.get(lang) }</summary>
                    <ul class="own-addresses">
                        { for net.listen.iter().map(|a| html! { <li><code>{ a.clone() }</code></li> }) }
                    </ul>
                </details>
            </section>
        </div>
    }
}
