//! The bridge to the desktop shell: the typed commands of `krizlink_core::calls` ([`call`])
//! and Tauri events ([`listen`]). Arguments and answers are the plain serde types the command
//! declares; a failed command carries one Czech sentence.

use krizlink_core::calls::{Args, Command, Reply};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Tauri's command bridge (`app.withGlobalTauri` in tauri.conf.json).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// Tauri's event subscription; resolves to the unlisten function.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// Calls command `C`; its arguments travel under the key `args`. The error is the shell's
/// Czech sentence.
pub async fn call<C: Command>(args: &Args<C>) -> Result<Reply<C>, String> {
    #[derive(Serialize)]
    struct Wrapped<'a, A> {
        args: &'a A,
    }
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = Wrapped { args }
        .serialize(&serializer)
        .map_err(|e| format!("Vnitřní chyba rozhraní: {e}"))?;
    match tauri_invoke(C::NAME, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| format!("Aplikace odpověděla v nečekaném tvaru: {e}")),
        Err(e) => Err(e.as_string().unwrap_or_else(|| {
            "Spojení s jádrem aplikace selhalo; restartujte ji prosím.".to_owned()
        })),
    }
}

/// Subscribes `handler` to a Tauri event for the life of the page.
pub fn listen(event: &'static str, handler: impl FnMut(JsValue) + 'static) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(handler);
    wasm_bindgen_futures::spawn_local(async move {
        if tauri_listen(event, &closure).await.is_ok() {
            // The page lives as long as the app: keep the handler for good.
            closure.forget();
        }
    });
}
