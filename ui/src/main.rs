//! The KrizLink UI root: the app state (who is signed in, which space, its snapshot), the top
//! bar, the screens, the keyboard shortcuts and the help dialog. Screens live in their own
//! modules and get what they show through the [`Ctx`] context (and their form drafts through
//! [`widgets::Drafts`]). A space is loaded as one snapshot of what the shown screen needs
//! (`open_space`, one engine job); every change comes back from the shell as the
//! `space-changed` event, which reloads it once (no polling).

mod board;
mod bridge;
mod contacts;
mod deliveries;
mod evaluation;
mod exercise;
mod first_run;
mod i18n;
mod incidents;
mod journal;
mod keys;
mod members;
mod network;
mod permissions;
mod qr;
mod reports;
mod requests;
mod screen;
mod tasks;
mod time;
mod widgets;

use std::rc::Rc;

use gloo::events::EventListener;
use gloo::storage::{LocalStorage, Storage};
use krizlink_core::api::{
    AppStatus, NetworkView, SpaceChanged, SpaceInfo, NETWORK_CHANGED, SPACE_CHANGED,
};
use krizlink_core::calls::{self, Nothing, OpenSpace};
use krizlink_core::snapshot::{self, SpaceSnapshot, Wants};
use krizlink_core::views::{
    Contact, Incident, JournalEntry, ResourceRequest, SituationReport, Task,
};
use krizlink_core::Timestamp;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::i18n::{Lang, T};
pub use crate::screen::Screen;

/// What every screen gets, as a context.
#[derive(Clone, PartialEq)]
pub struct Ctx {
    pub lang: Lang,
    pub space: SpaceInfo,
    /// The shown space as one engine job saw it (the lists the screen asked for; its tasks are
    /// in `tasks`).
    pub data: Rc<SpaceSnapshot>,
    /// The shown space's tasks, shared: a change replaces the changed tasks and copies the
    /// pointers to the others.
    pub tasks: Rc<Vec<Rc<Task>>>,
    /// This device's id (hex), to recognise its own records.
    pub device: String,
    pub now: Timestamp,
    /// Announces a durable write ("Uloženo").
    pub saved: Callback<()>,
    /// Opens a screen (and focuses a field on it).
    pub go: Callback<(Screen, Option<&'static str>)>,
}

impl Ctx {
    pub fn t(&self, t: T) -> &'static str {
        t.get(self.lang)
    }

    /// The shown space as the newest answer describes it: the snapshot's (loaded after every
    /// change, so a role change that arrived by sync shows) when it is of this space.
    pub fn info(&self) -> &SpaceInfo {
        if self.data.info.id == self.space.id {
            &self.data.info
        } else {
            &self.space
        }
    }

    /// What the person may do in the shown space.
    pub fn me(&self) -> permissions::Me {
        permissions::Me::of(self.info())
    }

    pub fn tasks(&self) -> &[Rc<Task>] {
        &self.tasks
    }

    pub fn reports(&self) -> &[SituationReport] {
        self.data.reports.as_deref().unwrap_or_default()
    }

    pub fn journal(&self) -> &[JournalEntry] {
        self.data.journal.as_deref().unwrap_or_default()
    }

    pub fn requests(&self) -> &[ResourceRequest] {
        self.data.requests.as_deref().unwrap_or_default()
    }

    pub fn incidents(&self) -> &[Incident] {
        self.data.incidents.as_deref().unwrap_or_default()
    }

    pub fn contacts(&self) -> &[Contact] {
        self.data.contacts.as_deref().unwrap_or_default()
    }
}

/// The screens' context; every screen component calls this.
#[hook]
pub fn use_ctx() -> Ctx {
    use_context::<Ctx>().expect("screens are rendered inside the root's Ctx provider")
}

pub struct AppState {
    status: Option<AppStatus>,
    load_error: Option<String>,
    spaces: Vec<SpaceInfo>,
    /// The list of spaces has arrived since the last unlock.
    spaces_loaded: bool,
    space: Option<String>,
    screen: Screen,
    /// The space set-up screen is open over a signed-in app.
    setup: bool,
    /// The shown space's snapshot, if one has arrived (without its tasks: they are `tasks`).
    data: Option<Rc<SpaceSnapshot>>,
    /// The tasks of that snapshot, merged with every change since.
    tasks: Rc<Vec<Rc<Task>>>,
    /// Drafts of the forms, kept across screens.
    drafts: widgets::Drafts,
    /// What the network panel shows (from `network-changed`).
    net: Rc<NetworkView>,
    lang: Lang,
    dark: bool,
    board_mode: bool,
    help: bool,
    /// Bumped by every `space-changed` event for the shown space.
    generation: u32,
    /// Snapshots shown so far (on the root as `data-snapshots`, so a test can count reloads).
    snapshots: u32,
    /// The next load asks for every task (a list of changes did not fit the one shown).
    full_next: bool,
    /// When the last durable write was confirmed.
    saved_at: Option<Timestamp>,
    now: Timestamp,
}

/// Whether an action brought new data (then "now" is taken afresh).
enum Kind {
    Data,
    Other,
}

pub enum Action {
    Status(AppStatus),
    LoadError(String),
    Spaces(Vec<SpaceInfo>),
    Select(String),
    Go(Screen),
    /// A snapshot, with the generation and the wants it was asked for.
    Data(u32, Wants, Box<SpaceSnapshot>),
    Changed(String),
    Net(NetworkView),
    Setup(bool),
    Help(bool),
    Escape,
    Board,
    Theme,
    Lang,
    Saved,
    /// The node's warnings now (a write may have added one).
    Warnings(Vec<String>),
    Tick,
}

impl Reducible for AppState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        if let Action::Warnings(w) = &action {
            // Unchanged (nearly always): the same state, so nothing re-renders.
            if self.status.as_ref().is_none_or(|st| &st.warnings == w) {
                return self;
            }
        }
        let action_kind = if matches!(action, Action::Data(..)) {
            Kind::Data
        } else {
            Kind::Other
        };
        let mut s = AppState {
            status: self.status.clone(),
            load_error: self.load_error.clone(),
            spaces: self.spaces.clone(),
            space: self.space.clone(),
            data: self.data.clone(),
            tasks: self.tasks.clone(),
            drafts: self.drafts.clone(),
            net: self.net.clone(),
            ..*self
        };
        match action {
            Action::Status(st) => {
                s.status = Some(st);
                s.load_error = None;
            }
            Action::LoadError(e) => s.load_error = Some(e),
            Action::Spaces(list) => {
                s.spaces_loaded = true;
                if s.space
                    .as_ref()
                    .is_none_or(|id| !list.iter().any(|x| &x.id == id))
                {
                    s.space = list.first().map(|x| x.id.clone());
                }
                s.spaces = list;
            }
            Action::Select(id) => {
                s.space = Some(id);
                s.setup = false;
                s.screen = Screen::Board;
                s.generation += 1;
            }
            Action::Go(screen) => {
                // The drill screen exists in an exercise space only.
                let drill = s
                    .space
                    .as_ref()
                    .and_then(|id| s.spaces.iter().find(|x| &x.id == id))
                    .is_some_and(|x| x.exercise);
                if screen != Screen::Exercise || drill {
                    s.screen = screen;
                }
                s.help = false;
                s.board_mode = false;
            }
            Action::Data(generation, wants, mut d) => {
                // A late answer to an older question (another screen, an earlier change) is
                // dropped: what is shown is always the newest state the screen asked for.
                if s.space.as_deref() == Some(d.info.id.as_str())
                    && generation == s.generation
                    && wants == s.screen.wants()
                {
                    let came: Vec<Rc<Task>> = d
                        .tasks
                        .take()
                        .unwrap_or_default()
                        .into_iter()
                        .map(Rc::new)
                        .collect();
                    // Only the changed tasks came: merge them into the list shown (the others
                    // are shared, not copied), or, if they do not fit it, ask once more for
                    // everything.
                    let fits = |prev: &SpaceSnapshot| {
                        prev.info.id == d.info.id && prev.tasks_token == d.tasks_since
                    };
                    let tasks = match (&d.tasks_since, &s.data) {
                        (None, _) => Some(came),
                        (Some(_), Some(prev)) if fits(prev) => {
                            let mut all = (*s.tasks).clone();
                            snapshot::merge_changed_tasks(&mut all, came);
                            Some(all)
                        }
                        (Some(_), _) => None,
                    };
                    match tasks {
                        Some(tasks) => {
                            d.tasks_since = None;
                            s.data = Some(Rc::new(*d));
                            s.tasks = Rc::new(tasks);
                            s.snapshots += 1;
                            s.full_next = false;
                        }
                        None => {
                            s.full_next = true;
                            s.generation += 1;
                        }
                    }
                }
            }
            Action::Changed(space) => {
                if s.space.as_deref() == Some(space.as_str()) {
                    s.generation += 1;
                }
            }
            Action::Net(view) => s.net = Rc::new(view),
            Action::Setup(open) => s.setup = open,
            Action::Help(open) => s.help = open,
            Action::Escape => {
                if s.help {
                    s.help = false;
                } else {
                    s.board_mode = false;
                }
            }
            Action::Board => {
                s.board_mode = !s.board_mode;
                if s.board_mode {
                    s.screen = Screen::Board;
                }
            }
            Action::Theme => {
                s.dark = !s.dark;
                let _ = LocalStorage::set("krizlink.theme", if s.dark { "dark" } else { "light" });
            }
            Action::Lang => {
                s.lang = match s.lang {
                    Lang::Cs => Lang::En,
                    Lang::En => Lang::Cs,
                };
                let _ = LocalStorage::set("krizlink.lang", s.lang.code());
            }
            Action::Saved => s.saved_at = Some(time::now()),
            Action::Warnings(w) => {
                if let Some(st) = s.status.as_mut() {
                    st.warnings = w;
                }
            }
            Action::Tick => s.now = time::now(),
        }
        // "Now" (for what is overdue) moves with the clock tick and with new data only, so an
        // action that changes nothing on the screens does not re-render them.
        if matches!(action_kind, Kind::Data) {
            s.now = time::now();
        }
        Rc::new(s)
    }
}

/// Asks the shell for the status and the spaces.
pub fn refresh_status(d: UseReducerDispatcher<AppState>) {
    wasm_bindgen_futures::spawn_local(async move {
        match bridge::call::<calls::GetStatus>(&Nothing {}).await {
            Ok(st) => {
                let unlocked = st.unlocked;
                d.dispatch(Action::Status(st));
                if unlocked {
                    match bridge::call::<calls::ListSpaces>(&Nothing {}).await {
                        Ok(list) => d.dispatch(Action::Spaces(list)),
                        Err(e) => d.dispatch(Action::LoadError(e)),
                    }
                }
            }
            Err(e) => d.dispatch(Action::LoadError(e)),
        }
    });
}

#[function_component(App)]
fn app() -> Html {
    let state = use_reducer(|| AppState {
        status: None,
        load_error: None,
        spaces: Vec::new(),
        spaces_loaded: false,
        space: None,
        screen: Screen::Board,
        setup: false,
        data: None,
        tasks: Rc::default(),
        drafts: widgets::Drafts::default(),
        net: Rc::new(NetworkView::default()),
        lang: LocalStorage::get::<String>("krizlink.lang")
            .ok()
            .and_then(|c| Lang::from_code(&c))
            .unwrap_or(Lang::Cs),
        dark: LocalStorage::get::<String>("krizlink.theme")
            .ok()
            .as_deref()
            == Some("dark"),
        board_mode: false,
        help: false,
        generation: 0,
        snapshots: 0,
        full_next: false,
        saved_at: None,
        now: time::now(),
    });
    let d = state.dispatcher();
    // Made once, so the screens' context stays equal across renders of the root (a "saved"
    // mark or a busy form does not re-render every screen of a 10,000-task space).
    let go = {
        let d = d.clone();
        use_callback(
            (),
            move |(screen, focus): (Screen, Option<&'static str>), _| {
                d.dispatch(Action::Go(screen));
                if let Some(id) = focus {
                    widgets::focus_later(id);
                }
            },
        )
    };
    let saved = {
        let d = d.clone();
        use_callback((), move |(), _| {
            d.dispatch(Action::Saved);
            // A write may bring a warning the person must see at once (writes stamped in the
            // future by a clock that ran ahead were stamped again).
            let d = d.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(st) = bridge::call::<calls::GetStatus>(&Nothing {}).await {
                    d.dispatch(Action::Warnings(st.warnings));
                }
            });
        })
    };

    // Once: status, the change event, the keyboard, a clock tick for "overdue".
    {
        let d = d.clone();
        let go = go.clone();
        use_effect_with((), move |_| {
            refresh_status(d.clone());
            let dc = d.clone();
            bridge::listen(SPACE_CHANGED, move |event| {
                let payload = js_sys::Reflect::get(&event, &"payload".into()).ok();
                if let Some(p) =
                    payload.and_then(|p| serde_wasm_bindgen::from_value::<SpaceChanged>(p).ok())
                {
                    dc.dispatch(Action::Changed(p.space));
                }
            });
            let dn = d.clone();
            bridge::listen(NETWORK_CHANGED, move |event| {
                let payload = js_sys::Reflect::get(&event, &"payload".into()).ok();
                if let Some(view) =
                    payload.and_then(|p| serde_wasm_bindgen::from_value::<NetworkView>(p).ok())
                {
                    dn.dispatch(Action::Net(view));
                }
            });
            let dk = d.clone();
            let keys = web_sys::window().and_then(|w| w.document()).map(|doc| {
                EventListener::new(&doc, "keydown", move |e| {
                    if let Some(e) = e.dyn_ref::<KeyboardEvent>() {
                        if keys::shortcut(e, &dk, &go) {
                            e.prevent_default();
                        }
                    }
                })
            });
            let dt = d.clone();
            let tick =
                gloo::timers::callback::Interval::new(30_000, move || dt.dispatch(Action::Tick));
            wasm_bindgen_futures::spawn_local(async {
                let _ = bridge::call::<calls::UiReady>(&Nothing {}).await;
            });
            move || {
                drop(keys);
                drop(tick);
            }
        });
    }

    // Load what the shown screen needs of the shown space whenever the space, the screen or
    // its records change: one command, one engine job, one consistent snapshot.
    {
        let d = d.clone();
        let space = state.space.clone();
        let unlocked = state.status.as_ref().is_some_and(|s| s.unlocked);
        let wants = state.screen.wants();
        // With the same lists shown, only what changed since the snapshot held is asked for.
        let since = state
            .data
            .as_ref()
            .filter(|d| !state.full_next && state.space.as_deref() == Some(d.info.id.as_str()))
            .filter(|d| d.wants == wants)
            .and_then(|d| d.tasks_token);
        use_effect_with(
            (space, state.generation, unlocked, wants),
            move |(space, generation, unlocked, wants)| {
                if let (Some(space), true) = (space.clone(), *unlocked) {
                    let (generation, wants) = (*generation, *wants);
                    wasm_bindgen_futures::spawn_local(async move {
                        let args = OpenSpace {
                            space,
                            wants,
                            since,
                        };
                        match bridge::call::<calls::OpenSpaceCmd>(&args).await {
                            Ok(snap) => d.dispatch(Action::Data(generation, wants, Box::new(snap))),
                            Err(e) => d.dispatch(Action::LoadError(e)),
                        }
                    });
                }
            },
        );
    }

    // Once unlocked: the network as it is now (later changes come as events).
    {
        let d = d.clone();
        let unlocked = state.status.as_ref().is_some_and(|s| s.unlocked);
        use_effect_with(unlocked, move |unlocked| {
            if *unlocked {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(view) = bridge::call::<calls::NetworkStatus>(&Nothing {}).await {
                        d.dispatch(Action::Net(view));
                    }
                });
            }
        });
    }

    // The projector mode scales every rem-sized thing: the whole page grows.
    use_effect_with(state.board_mode, |big| {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            // A class, not a style attribute: the content security policy allows no inline
            // styles (style-src 'self').
            let _ = root.class_list().toggle_with_force("projector", *big);
        }
    });

    let lang = state.lang;
    let theme = if state.dark {
        "theme-dark"
    } else {
        "theme-light"
    };
    let root_classes = classes!("app", theme, state.board_mode.then_some("board-mode"));
    let Some(status) = state.status.clone() else {
        let msg = state
            .load_error
            .clone()
            .unwrap_or_else(|| T::Connecting.get(lang).to_owned());
        return html! { <div class={root_classes}><main class="center"><p id="connecting">{ msg }</p></main></div> };
    };
    let current = state
        .space
        .as_ref()
        .and_then(|id| state.spaces.iter().find(|s| &s.id == id))
        .cloned();
    if status.unlocked && !state.spaces_loaded {
        return html! { <div class={root_classes}><main class="center"><p>{ T::Loading.get(lang) }</p></main></div> };
    }
    let body = match (&current, status.unlocked, state.setup) {
        (Some(space), true, false) => {
            let ctx = Ctx {
                lang,
                space: space.clone(),
                data: state
                    .data
                    .clone()
                    .unwrap_or_else(|| Rc::new(SpaceSnapshot::of_nothing(space.clone()))),
                tasks: state.tasks.clone(),
                device: status.device.clone().unwrap_or_default(),
                now: state.now,
                saved: saved.clone(),
                go: go.clone(),
            };
            html! {
                <ContextProvider<Ctx> context={ctx.clone()}>
                    <ContextProvider<widgets::Drafts> context={state.drafts.for_space(&space.id)}>
                        { main_view(&state, &ctx, &d) }
                    </ContextProvider<widgets::Drafts>>
                </ContextProvider<Ctx>>
            }
        }
        _ => html! {
            <first_run::FirstRun lang={lang} status={status.clone()} has_spaces={!state.spaces.is_empty()}
                on_status={{ let d = d.clone(); Callback::from(move |()| refresh_status(d.clone())) }}
                on_space={{ let d = d.clone(); Callback::from(move |id: String| { d.dispatch(Action::Select(id)); refresh_status(d.clone()); }) }}
                on_cancel={{ let d = d.clone(); Callback::from(move |()| d.dispatch(Action::Setup(false))) }} />
        },
    };
    html! {
        <div class={root_classes} lang={lang.code()} data-snapshots={state.snapshots.to_string()}>
            { body }
            if state.help { { keys::help_dialog(lang, &d) } }
        </div>
    }
}

fn main_view(state: &AppState, ctx: &Ctx, d: &UseReducerDispatcher<AppState>) -> Html {
    let lang = ctx.lang;
    let wants = state.screen.wants();
    let loaded = state
        .data
        .as_ref()
        .is_some_and(|d| d.info.id == ctx.space.id && d.wants == wants);
    let screen = if !loaded && wants != Wants::default() {
        html! { <p class="muted">{ T::Loading.get(lang) }</p> }
    } else {
        match state.screen {
            Screen::Board => html! { <board::Board big={state.board_mode} /> },
            Screen::Tasks => html! { <tasks::Tasks /> },
            Screen::Reports => html! { <reports::Reports /> },
            Screen::Journal => html! { <journal::Journal /> },
            Screen::Requests => html! { <requests::Requests /> },
            Screen::Incidents => html! { <incidents::Incidents /> },
            Screen::Contacts => html! { <contacts::Contacts /> },
            Screen::Members => html! { <members::Members /> },
            Screen::Exercise if ctx.space.exercise => html! { <exercise::Exercise /> },
            Screen::Exercise => html! { <board::Board big={false} /> },
            Screen::Network => html! {
                <network::Network net={state.net.clone()}
                    on_view={{ let d = d.clone(); Callback::from(move |v| d.dispatch(Action::Net(v))) }} />
            },
        }
    };
    if state.board_mode {
        return html! { <main class="board-main">{ screen }</main> };
    }
    let on_space = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if v == "+" {
                d.dispatch(Action::Setup(true));
            } else {
                d.dispatch(Action::Select(v));
            }
        })
    };
    let saved = state.saved_at.map(|t| {
        let text = format!("{} {}", T::Saved.get(lang), time::format(t));
        let hm = text.rsplit(' ').next().unwrap_or_default().to_owned();
        html! { <span id="saved" class="saved" title={text}>{ format!("✓ {} {hm}", T::Saved.get(lang)) }</span> }
    });
    let toggle = |a: fn() -> Action| {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a()))
    };
    html! {
        <>
        <header class="topbar">
            <span class="brand">{ "KrizLink" }</span>
            <select id="space-select" class="space-select" onchange={on_space} aria-label={T::Space.get(lang)}>
                { for state.spaces.iter().map(|s| html! {
                    <option value={s.id.clone()} selected={s.id == ctx.space.id}>{
                        if s.exercise { format!("CVIČENÍ — {}", s.name) } else { s.name.clone() }
                    }</option>
                }) }
                <option value="+">{ T::AddSpace.get(lang) }</option>
            </select>
            <span class="role">{ match lang { Lang::Cs => ctx.space.role_cs.clone(), Lang::En => ctx.space.role.replace('_', " ") } }</span>
            <span class="spacer"></span>
            // Always there, so the mark appearing does not rebuild the rest of the bar.
            <span class="saved-slot">{ for saved }</span>
            <button id="board-mode" onclick={toggle(|| Action::Board)} title="Alt+B">{ T::BoardMode.get(lang) }</button>
            <button id="theme" onclick={toggle(|| Action::Theme)} title="Alt+T">{ if state.dark { T::Light.get(lang) } else { T::Dark.get(lang) } }</button>
            <button id="lang" onclick={toggle(|| Action::Lang)} title="Alt+L">{ match lang { Lang::Cs => "English", Lang::En => "Čeština" } }</button>
            <button id="help" onclick={toggle(|| Action::Help(true))} title="F1">{ "?" }</button>
        </header>
        <nav class="tabs">
            { for Screen::ALL.iter().enumerate().map(|(i, s)| {
                let go = ctx.go.clone();
                let s = *s;
                html! {
                    <button id={format!("nav-{}", s.id())} class={classes!("tab", (s == state.screen).then_some("active"))}
                        onclick={Callback::from(move |_| go.emit((s, None)))} title={format!("Alt+{}", i + 1)}>
                        { s.title().get(lang) }
                    </button>
                }
            }) }
            if ctx.space.exercise {
                <button id={format!("nav-{}", Screen::Exercise.id())} class={classes!("tab", "tab-exercise", (state.screen == Screen::Exercise).then_some("active"))}
                    onclick={{ let go = ctx.go.clone(); Callback::from(move |_| go.emit((Screen::Exercise, None))) }} title="Alt+0">
                    { T::Exercise.get(lang) }
                </button>
            }
            <span class="spacer"></span>
            { network::indicator(&state.net, &ctx.space.id, lang, { let go = ctx.go.clone(); Callback::from(move |_| go.emit((Screen::Network, None))) }) }
        </nav>
        if ctx.space.exercise {
            // A drill is never taken for a real event: every screen of an exercise space says so.
            <p class="banner exercise" id="exercise-banner" role="note">
                <strong>{ "CVIČENÍ" }</strong>{ match lang {
                    Lang::Cs => " — tento prostor je cvičný, nejde o skutečnou událost.",
                    Lang::En => " — EXERCISE: this space is a drill, not a real event.",
                } }
            </p>
        }
        { network::offline_banner(&state.net, &ctx.space.id, lang) }
        if let Some(reason) = &ctx.space.read_only {
            <p class="banner warn">{ reason.clone() }</p>
        }
        if let Some(e) = &state.load_error {
            <p class="banner error">{ e.clone() }</p>
        }
        { for state.status.iter().flat_map(|st| st.warnings.iter()).map(|w| html! {
            <p class="banner warn node-warning">{ w.clone() }</p>
        }) }
        <main class={classes!("screen", format!("screen-{}", state.screen.id()))}>{ screen }</main>
        <footer class="notice-line">{ T::NotClassified.get(lang) }</footer>
        </>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
