//! The bridge to the desktop shell: typed Tauri commands (`invoke`) and the change event
//! (`listen`). Arguments and answers are the plain serde types of `krizlink_core::api` and
//! `views`; a failed command carries one Czech sentence.

use serde::de::DeserializeOwned;
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

/// Calls a command with named arguments; the error is the shell's Czech sentence.
pub async fn invoke<A: Serialize, T: DeserializeOwned>(
    command: &str,
    args: &A,
) -> Result<T, String> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args
        .serialize(&serializer)
        .map_err(|e| format!("Vnitřní chyba rozhraní: {e}"))?;
    match tauri_invoke(command, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| format!("Aplikace odpověděla v nečekaném tvaru: {e}")),
        Err(e) => Err(e.as_string().unwrap_or_else(|| {
            "Spojení s jádrem aplikace selhalo; restartujte ji prosím.".to_owned()
        })),
    }
}

/// Calls a command without arguments.
pub async fn call<T: DeserializeOwned>(command: &str) -> Result<T, String> {
    invoke(command, &NoArgs {}).await
}

#[derive(Serialize)]
struct NoArgs {}

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
