//! The KrizLink UI root: mounts the Yew app into the desktop webview. For now it shows who we
//! are and what the desktop backend answered, which proves the whole path from the webview
//! through a typed Tauri command and back; the screens come with the desktop issue.

use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Tauri's command bridge (`app.withGlobalTauri` in tauri.conf.json).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str) -> Result<JsValue, JsValue>;
}

/// What the backend said when the UI announced itself.
#[derive(Clone, PartialEq)]
enum Backend {
    Waiting,
    Ready(String),
    Failed(String),
}

#[function_component(App)]
fn app() -> Html {
    let backend = use_state(|| Backend::Waiting);
    {
        let backend = backend.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match tauri_invoke("ui_ready").await {
                    Ok(v) => v.as_string().map(Backend::Ready).unwrap_or_else(|| {
                        Backend::Failed("Aplikace odpověděla v nečekaném tvaru.".into())
                    }),
                    // A rejected command carries a string; a missing bridge (the page opened
                    // outside the desktop app) throws a JS error, shown as JS prints it.
                    Err(e) => Backend::Failed(format!(
                        "Spojení s aplikací selhalo: {}",
                        e.as_string().unwrap_or_else(|| format!("{e:?}"))
                    )),
                };
                backend.set(answer);
            });
        });
    }
    let status = match &*backend {
        Backend::Waiting => html! { <p class="status">{ "Připojuji se k jádru aplikace…" }</p> },
        Backend::Ready(version) => html! {
            <p class="status ok" id="backend">{ format!("Jádro aplikace běží: {version}") }<br/>
            <span class="en">{ "The application core is running." }</span></p>
        },
        Backend::Failed(reason) => html! { <p class="status error" id="backend">{ reason }</p> },
    };
    html! {
        <main>
            <h1>{ "KrizLink" }</h1>
            <p class="lead">{ "Koordinace krizového štábu — funguje i bez sítě." }</p>
            <p class="en">{ "Crisis staff coordination that keeps working without the network." }</p>
            { status }
            <p class="notice">
                { "Není určeno pro utajované informace." }<br/>
                <span class="en">{ "Not for classified information." }</span>
            </p>
            <footer>{ format!("krizlink-ui {}", krizlink_core::VERSION) }</footer>
        </main>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
