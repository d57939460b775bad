//! The keyboard: the shortcuts (Alt+1 … Alt+9 for the screens, Alt+0 for the drill screen of an
//! exercise space, Alt+N/J/S/R for a new task,
//! journal entry, report or request, Alt+F, B, T, L, H, F1 and Esc) and the help dialog that
//! lists them.

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::i18n::{Lang, T};
use crate::{widgets, Action, AppState, Screen};

/// Maps a key press to an action; `true` when it was a shortcut.
pub fn shortcut(
    e: &KeyboardEvent,
    d: &UseReducerDispatcher<AppState>,
    go: &Callback<(Screen, Option<&'static str>)>,
) -> bool {
    let typing = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
        .unwrap_or(false);
    if e.key() == "Escape" {
        d.dispatch(Action::Escape);
        return true;
    }
    if e.key() == "F1" || (!typing && e.key() == "?") {
        d.dispatch(Action::Help(true));
        return true;
    }
    if !e.alt_key() || e.ctrl_key() || e.meta_key() {
        return false;
    }
    let code = e.code();
    if let Some(n) = code
        .strip_prefix("Digit")
        .and_then(|n| n.parse::<usize>().ok())
    {
        if n == 0 {
            // The reducer ignores it outside an exercise space.
            go.emit((Screen::Exercise, None));
            return true;
        }
        if let Some(screen) = n.checked_sub(1).and_then(|i| Screen::ALL.get(i)) {
            go.emit((*screen, None));
            return true;
        }
    }
    match code.as_str() {
        "KeyN" => go.emit((Screen::Tasks, Some("f-title"))),
        "KeyJ" => go.emit((Screen::Journal, Some("f-text"))),
        "KeyS" => go.emit((Screen::Reports, Some("f-sender"))),
        "KeyR" => go.emit((Screen::Requests, Some("f-requester"))),
        "KeyF" => widgets::focus_later("filter"),
        "KeyB" => d.dispatch(Action::Board),
        "KeyT" => d.dispatch(Action::Theme),
        "KeyL" => d.dispatch(Action::Lang),
        "KeyH" => d.dispatch(Action::Help(true)),
        _ => return false,
    }
    true
}

pub fn help_dialog(lang: Lang, d: &UseReducerDispatcher<AppState>) -> Html {
    let close = {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::Help(false)))
    };
    let rows: Vec<(String, &str)> = Screen::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("Alt+{}", i + 1), s.title().get(lang)))
        .chain([
            ("Alt+0".to_owned(), T::KeyExercise.get(lang)),
            ("Alt+N".to_owned(), T::KeyNewTask.get(lang)),
            ("Alt+J".to_owned(), T::KeyJournal.get(lang)),
            ("Alt+S".to_owned(), T::KeyReport.get(lang)),
            ("Alt+R".to_owned(), T::KeyRequest.get(lang)),
            ("Alt+F".to_owned(), T::KeyFilter.get(lang)),
            ("Alt+B".to_owned(), T::KeyBoard.get(lang)),
            ("Alt+T".to_owned(), T::KeyTheme.get(lang)),
            ("Alt+L".to_owned(), T::KeyLang.get(lang)),
            ("Ctrl+Enter".to_owned(), T::KeySubmit.get(lang)),
            ("F1, Alt+H".to_owned(), T::Help.get(lang)),
            ("Esc".to_owned(), T::KeyEscape.get(lang)),
        ])
        .collect();
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="help-title">
            <div class="dialog" id="help-dialog">
                <h2 id="help-title">{ T::Shortcuts.get(lang) }</h2>
                <table class="keys">
                    { for rows.into_iter().map(|(k, v)| html! { <tr><td><kbd>{ k }</kbd></td><td>{ v }</td></tr> }) }
                </table>
                <button class="primary" onclick={close}>{ T::Close.get(lang) }</button>
            </div>
        </div>
    }
}
