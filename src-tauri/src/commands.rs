//! The typed Tauri commands: each one is declared once in `krizlink_core::calls` (its name,
//! argument and answer types; `main.rs` checks the registration against that list), takes its
//! arguments as `args`, calls the engine in one job and maps the error to one Czech sentence.
//! Only the plain types of `krizlink_core::api`, `snapshot` and `views` cross into the UI.
//! Record writes go through the engine's one write path (`Node::create_from`, `edit_fields`,
//! `add_comment`), which validates the form input, checks references and fills the device's
//! defaults, exactly as for the CLI; this file only maps their errors to Czech.
//! Every write returns after the engine made it durable (the op log is fdatasync'ed) and then
//! emits [`SPACE_CHANGED`] once, so the open view reloads without polling.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use krizlink_core::api::{
    AppStatus, NetworkView, SpaceChanged, SpaceInfo, MAX_SAVED_PEERS, MIN_PASSPHRASE_CHARS,
    SPACE_CHANGED,
};
use krizlink_core::calls::{self, Args, DocFormat, Reply};
use krizlink_core::engine::documents;
use krizlink_core::engine::keystore::KdfParams;
use krizlink_core::engine::node::{Node, NodeError, ObservationInput, WriteError};
use krizlink_core::engine::pdf;
use krizlink_core::engine::sync::{self, NetAction};
use krizlink_core::exercise::{msel, AdHocInject, ExerciseStatus, Target, SAMPLE_SCENARIO_CSV};
use krizlink_core::record::ClockAction;
use krizlink_core::snapshot::SpaceSnapshot;
use krizlink_core::{DeviceId, RecordId, RecordKind, SpaceId, Timestamp};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::errors::{cs, exercise_cs, write_cs};
use crate::network::{parse_address, save_peers, saved_peers, NetOptions, Running};

/// The engine inside the app: the data dir and, once unlocked, the node's thread.
pub struct Engine {
    pub dir: PathBuf,
    net: NetOptions,
    running: Mutex<Option<Arc<Running>>>,
}

type Answer<T> = Result<T, String>;

fn internal() -> String {
    "Vnitřní chyba aplikace; restartujte ji prosím.".to_owned()
}

impl Engine {
    pub fn new(dir: PathBuf, net: NetOptions) -> Engine {
        Engine {
            dir,
            net,
            running: Mutex::new(None),
        }
    }

    fn running(&self) -> Answer<Arc<Running>> {
        self.running
            .lock()
            .map_err(|_| internal())?
            .clone()
            .ok_or_else(|| "Nejprve odemkněte identitu heslem.".into())
    }

    /// Runs `f` with the unlocked node (in the engine's thread, between network events).
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node) -> Answer<T> + Send + 'static,
    ) -> Answer<T> {
        self.running()?.run(move |node, _| f(node)).await
    }

    fn is_unlocked(&self) -> bool {
        self.running.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    fn status(&self) -> AppStatus {
        let running = self.running.lock().ok().and_then(|g| g.clone());
        AppStatus {
            initialised: self.dir.join("keystore.krz").exists(),
            unlocked: running.is_some(),
            name: running.as_ref().map(|r| r.name.clone()),
            device: running.as_ref().map(|r| r.device.clone()),
            data_dir: self.dir.display().to_string(),
            version: krizlink_core::VERSION.to_owned(),
            warnings: running.map(|r| r.warnings()).unwrap_or_default(),
        }
    }

    /// Starts the engine's thread with the unlocked node.
    fn put(&self, app: AppHandle, node: Node) -> Answer<()> {
        let mut guard = self.running.lock().map_err(|_| internal())?;
        *guard = Some(Arc::new(Running::start(node, &self.net, app)));
        Ok(())
    }

    /// Stops sync and closes the node; everything is durable already.
    pub fn close(&self) {
        let running = self.running.lock().ok().and_then(|mut g| g.take());
        if let Some(running) = running {
            running.stop();
        }
    }
}

fn space_id(text: &str) -> Answer<SpaceId> {
    text.parse()
        .map_err(|_| "Neplatný identifikátor prostoru.".to_owned())
}

fn record_id(text: &str) -> Answer<RecordId> {
    text.parse()
        .map_err(|_| "Neplatný identifikátor záznamu.".to_owned())
}

fn changed(app: &AppHandle, space: SpaceId) {
    let payload = SpaceChanged {
        space: space.to_string(),
    };
    if let Err(e) = app.emit(SPACE_CHANGED, payload) {
        eprintln!("krizlink-desktop: cannot emit {SPACE_CHANGED}: {e}");
    }
}

fn space_info(node: &Node, id: SpaceId) -> Answer<SpaceInfo> {
    let damaged = node.damaged_spaces();
    let grant = node
        .authority(id)
        .ok()
        .and_then(|a| a.current(node.device_id()).cloned());
    node.spaces()
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| SpaceInfo {
            id: s.id.to_string(),
            name: s.name,
            role: s.role.code().to_owned(),
            role_cs: s.role.label_cs().to_owned(),
            records: s.records,
            operations: s.operations,
            read_only: damaged
                .iter()
                .find(|(d, _)| *d == s.id)
                .map(|_| "Záznam operací je poškozený; prostor je jen pro čtení.".to_owned()),
            orp: grant.as_ref().and_then(|g| g.orp.clone()),
            member_name: grant.map(|g| g.name),
            exercise: s.exercise,
        })
        .ok_or_else(|| "Tento pracovní prostor na tomto počítači není.".to_owned())
}

/// Called by the UI once it is mounted (and by the smoke check).
#[tauri::command]
pub fn ui_ready(app: AppHandle, args: Args<calls::UiReady>) -> Reply<calls::UiReady> {
    let calls::Nothing {} = args;
    crate::smoke_ui_ready(app);
    format!("KrizLink {}", krizlink_core::VERSION)
}

#[tauri::command]
pub async fn app_status(
    engine: State<'_, Engine>,
    args: Args<calls::GetStatus>,
) -> Answer<Reply<calls::GetStatus>> {
    let calls::Nothing {} = args;
    Ok(engine.status())
}

#[tauri::command]
pub async fn init_identity(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::InitIdentity>,
) -> Answer<Reply<calls::InitIdentity>> {
    let calls::NewIdentity { name, passphrase } = args;
    if name.trim().is_empty() {
        return Err("Vyplňte své jméno.".into());
    }
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(format!(
            "Heslo musí mít alespoň {MIN_PASSPHRASE_CHARS} znaků."
        ));
    }
    let node =
        Node::init(&engine.dir, &name, &passphrase, KdfParams::default()).map_err(|e| cs(&e))?;
    engine.put(app, node)?;
    Ok(engine.status())
}

#[tauri::command]
pub async fn unlock(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::Unlock>,
) -> Answer<Reply<calls::Unlock>> {
    if engine.is_unlocked() {
        return Ok(engine.status());
    }
    let node = Node::open(&engine.dir, &args.passphrase).map_err(|e| cs(&e))?;
    engine.put(app, node)?;
    Ok(engine.status())
}

#[tauri::command]
pub async fn list_spaces(
    engine: State<'_, Engine>,
    args: Args<calls::ListSpaces>,
) -> Answer<Reply<calls::ListSpaces>> {
    let calls::Nothing {} = args;
    engine
        .with(move |node| {
            node.spaces()
                .iter()
                .map(|s| space_info(node, s.id))
                .collect()
        })
        .await
}

#[tauri::command]
pub async fn create_space(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::CreateSpace>,
) -> Answer<Reply<calls::CreateSpace>> {
    let (id, info) = engine
        .with(move |node| {
            let id = node.create_space(&args.name).map_err(|e| cs(&e))?;
            Ok((id, space_info(node, id)?))
        })
        .await?;
    changed(&app, id);
    Ok(info)
}

#[tauri::command]
pub async fn create_invite(
    engine: State<'_, Engine>,
    args: Args<calls::CreateInvite>,
) -> Answer<Reply<calls::CreateInvite>> {
    let space = space_id(&args.space)?;
    let role = args.role;
    let valid_hours = args.valid_hours;
    let orp = Some(args.orp.trim().to_owned()).filter(|o| !o.is_empty());
    if !(1..=720).contains(&valid_hours) {
        return Err("Pozvánka musí platit 1 až 720 hodin.".into());
    }
    // While sync runs, the code carries after `@` where this device can be reached, so the
    // invited device joins over the network in one step.
    engine
        .running()?
        .run(move |node, net| {
            let code = node
                .create_invite_for(space, role, orp.as_deref(), valid_hours * 60)
                .map_err(|e| cs(&e))?;
            let hint = sync::invite_hint(net);
            Ok(if hint.is_empty() {
                code
            } else {
                format!("{code}@{hint}")
            })
        })
        .await
}

/// Every member device of a space with its standing now (removed ones too).
#[tauri::command]
pub async fn list_members(
    engine: State<'_, Engine>,
    args: Args<calls::ListMembers>,
) -> Answer<Reply<calls::ListMembers>> {
    let space = space_id(&args.space)?;
    engine
        .with(move |node| node.member_standings(space).map_err(|e| cs(&e)))
        .await
}

/// Changes a member's role (and ORP binding): the engine checks that this device may (chair or
/// secretary), that an ORP coordinator names an ORP and that the last chair stays.
#[tauri::command]
pub async fn change_member(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::ChangeMemberCmd>,
) -> Answer<Reply<calls::ChangeMemberCmd>> {
    let space = space_id(&args.space)?;
    let device: DeviceId = args
        .device
        .trim()
        .parse()
        .map_err(|_| "Neplatný identifikátor zařízení.".to_owned())?;
    let role = args.role;
    let orp = Some(args.orp.trim().to_owned()).filter(|o| !o.is_empty());
    engine
        .with(move |node| {
            node.change_member(space, device, role, orp.as_deref())
                .map_err(|e| cs(&e))
        })
        .await?;
    changed(&app, space);
    Ok(())
}

/// Revokes one device of a member: its later writes count nowhere and everyone else gets a new
/// space key it cannot read (the engine checks that this device may, and keeps the last chair).
#[tauri::command]
pub async fn revoke_device(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::RevokeDevice>,
) -> Answer<Reply<calls::RevokeDevice>> {
    let space = space_id(&args.space)?;
    let device: DeviceId = args
        .device
        .trim()
        .parse()
        .map_err(|_| "Neplatný identifikátor zařízení.".to_owned())?;
    let (epoch, _) = engine
        .with(move |node| node.remove_devices(space, &[device]).map_err(|e| cs(&e)))
        .await?;
    changed(&app, space);
    Ok(epoch)
}

/// Which member devices signed that they hold a record's latest version, and since when; a
/// record not (yet) here has no deliveries to show.
#[tauri::command]
pub async fn record_deliveries(
    engine: State<'_, Engine>,
    args: Args<calls::RecordDeliveries>,
) -> Answer<Reply<calls::RecordDeliveries>> {
    let (space, kind, record) = target(&args)?;
    engine
        .with(move |node| match node.deliveries(space, kind, record) {
            Err(NodeError::UnknownRecord { .. }) => Ok(Vec::new()),
            other => other.map_err(|e| cs(&e)),
        })
        .await
}

/// How far the newest key rotation of a space has reached (member devices holding its key).
#[tauri::command]
pub async fn key_progress(
    engine: State<'_, Engine>,
    args: Args<calls::KeyProgressCmd>,
) -> Answer<Reply<calls::KeyProgressCmd>> {
    let space = space_id(&args.space)?;
    engine
        .with(move |node| node.key_progress(space).map_err(|e| cs(&e)))
        .await
}

/// The secret part of an invite code, or a sentence when the part after `@` is damaged.
fn invite_secret(code: &str) -> Answer<String> {
    sync::split_invite(code)
        .map(|(secret, _)| secret.to_owned())
        .map_err(|_| "Část kódu pozvánky za znakem @ (adresa zvoucího) je poškozená; zkopírujte celý kód znovu.".to_owned())
}

/// Offline exchange, step 1: the join request to hand to the inviting device.
#[tauri::command]
pub async fn request_join(
    engine: State<'_, Engine>,
    args: Args<calls::RequestJoin>,
) -> Answer<Reply<calls::RequestJoin>> {
    let secret = invite_secret(&args.code)?;
    engine
        .with(move |node| node.request_join(&secret).map_err(|e| cs(&e)))
        .await
}

/// How long a network join waits for the inviting device.
const JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Joins over the network with a code that carries the inviting device's address (after `@`):
/// the request goes to it, its welcome comes back, and sync fetches the space.
#[tauri::command]
pub async fn join_network(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::JoinNetwork>,
) -> Answer<Reply<calls::JoinNetwork>> {
    let code = args.code;
    let (secret, hint) = match sync::split_invite(&code) {
        Ok((secret, Some(hint))) => (secret.to_owned(), hint),
        Ok((_, None)) => {
            return Err(
                "Kód neobsahuje adresu zvoucího počítače; použijte výměnu žádosti a odpovědi."
                    .into(),
            )
        }
        Err(_) => return Err(invite_secret(&code).err().unwrap_or_default()),
    };
    let running = engine.running()?;
    let (done, wait) = tokio::sync::oneshot::channel();
    running
        .run_then(move |node, _| match node.request_join(&secret) {
            Ok(request) => (
                Ok(()),
                Some(NetAction::Join {
                    request,
                    inviter: hint.0,
                    addresses: hint.1,
                    done,
                }),
            ),
            Err(e) => (Err(cs(&e)), None),
        })
        .await?;
    let space = match tokio::time::timeout(JOIN_TIMEOUT, wait).await {
        Ok(Ok(Ok(space))) => space,
        Ok(Ok(Err(reason))) => {
            return Err(format!(
                "Připojení k prostoru se nepodařilo ({reason}). Zkuste to znovu, nebo použijte výměnu žádosti a odpovědi."
            ))
        }
        Ok(Err(_)) | Err(_) => {
            return Err("Zvoucí počítač neodpověděl do 60 sekund. Je zapnutý a ve stejné síti? Jinak použijte výměnu žádosti a odpovědi.".into())
        }
    };
    let info = running.run(move |node, _| space_info(node, space)).await?;
    changed(&app, space);
    Ok(info)
}

/// What the network panel shows now (later changes arrive as `network-changed` events).
#[tauri::command]
pub async fn network_status(
    engine: State<'_, Engine>,
    args: Args<calls::NetworkStatus>,
) -> Answer<Reply<calls::NetworkStatus>> {
    let calls::Nothing {} = args;
    let running = match engine.running() {
        Ok(r) => r,
        Err(_) => return Ok(NetworkView::default()),
    };
    running.view(engine.dir.clone()).await
}

/// Adds a peer address to dial (kept in the data dir for the next start).
#[tauri::command]
pub async fn add_peer(
    engine: State<'_, Engine>,
    args: Args<calls::AddPeer>,
) -> Answer<Reply<calls::AddPeer>> {
    let addr = parse_address(&args.address)?;
    let mut saved = saved_peers(&engine.dir);
    let text = addr.to_string();
    if !saved.contains(&text) {
        if saved.len() >= MAX_SAVED_PEERS {
            return Err(format!(
                "Seznam uzlů má už {MAX_SAVED_PEERS} adres; nejprve některou odeberte."
            ));
        }
        saved.push(text);
        save_peers(&engine.dir, &saved)?;
    }
    let running = engine.running()?;
    running
        .run_then(move |_, _| (Ok(()), Some(NetAction::Dial(addr))))
        .await?;
    running.view(engine.dir.clone()).await
}

/// Removes a saved peer address (an open connection stays until it closes).
#[tauri::command]
pub async fn remove_peer(
    engine: State<'_, Engine>,
    args: Args<calls::RemovePeer>,
) -> Answer<Reply<calls::RemovePeer>> {
    let address = args.address;
    let mut saved = saved_peers(&engine.dir);
    saved.retain(|p| p != &address);
    save_peers(&engine.dir, &saved)?;
    let running = engine.running()?;
    if let Ok(addr) = parse_address(&address) {
        running
            .run_then(move |_, _| (Ok(()), Some(NetAction::Forget(addr))))
            .await?;
    }
    running.view(engine.dir.clone()).await
}

#[tauri::command]
pub async fn accept_join(
    engine: State<'_, Engine>,
    args: Args<calls::AcceptJoin>,
) -> Answer<Reply<calls::AcceptJoin>> {
    engine
        .with(move |node| node.accept_join(&args.code).map_err(|e| cs(&e)))
        .await
}

#[tauri::command]
pub async fn finish_join(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::FinishJoin>,
) -> Answer<Reply<calls::FinishJoin>> {
    let (id, info) = engine
        .with(move |node| {
            let id = node.finish_join(&args.code).map_err(|e| cs(&e))?;
            Ok((id, space_info(node, id)?))
        })
        .await?;
    changed(&app, id);
    Ok(info)
}

/// What the shown screen needs of a space, every list from the same state (one engine job).
#[tauri::command]
pub async fn open_space(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::OpenSpaceCmd>,
) -> Answer<Reply<calls::OpenSpaceCmd>> {
    let space = space_id(&args.space)?;
    let (wants, since) = (args.wants, args.since);
    let snapshot = engine
        .with(move |node| {
            let info = space_info(node, space)?;
            let replica = node.replica(space).map_err(|e| cs(&e))?;
            Ok(SpaceSnapshot::of(info, replica, wants, since))
        })
        .await?;
    // The window's title says which space is open, and that a drill is one.
    if let Some(window) = app.get_webview_window("main") {
        let title = if snapshot.info.exercise {
            format!("CVIČENÍ — {} — KrizLink", snapshot.info.name)
        } else {
            format!("{} — KrizLink", snapshot.info.name)
        };
        let _ = window.set_title(&title);
    }
    Ok(snapshot)
}

/// Creates a record of any kind from its form; answers its id once durable.
#[tauri::command]
pub async fn create_record(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::CreateRecord>,
) -> Answer<Reply<calls::CreateRecord>> {
    let space = space_id(&args.space)?;
    let input = args.input;
    let id = engine
        .with(move |node| node.create_from(space, &input).map_err(|e| write_cs(&e)))
        .await?;
    changed(&app, space);
    Ok(id.to_string())
}

/// The space and record a command names.
fn target(r: &calls::RecordRef) -> Answer<(SpaceId, RecordKind, RecordId)> {
    Ok((space_id(&r.space)?, r.kind, record_id(&r.id)?))
}

/// Changes scalar fields and sets of a record. Each value replaces every version of its field
/// this device shows, so choosing a value of a conflicting field resolves the conflict; the
/// choice is an ordinary operation, logged and synced.
#[tauri::command]
pub async fn edit_record(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::EditRecordCmd>,
) -> Answer<Reply<calls::EditRecordCmd>> {
    let (space, kind, record) = target(&args.record)?;
    let edit = args.edit;
    engine
        .with(move |node| {
            node.edit_fields(space, kind, record, &edit)
                .map_err(|e| write_cs(&e))
        })
        .await?;
    changed(&app, space);
    Ok(())
}

/// Moves a task's or request's status (from the status this device shows; with a conflict
/// shown, the move names every concurrent status and so resolves it).
#[tauri::command]
pub async fn move_status(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::MoveStatusCmd>,
) -> Answer<Reply<calls::MoveStatusCmd>> {
    let (space, kind, record) = target(&args.record)?;
    let (to, note) = (args.to, args.note);
    engine
        .with(move |node| {
            node.move_status(space, record, kind, to, note.trim().to_owned())
                .map_err(|e| cs(&e))
        })
        .await?;
    changed(&app, space);
    Ok(())
}

#[tauri::command]
pub async fn add_comment(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::AddCommentCmd>,
) -> Answer<Reply<calls::AddCommentCmd>> {
    let (space, kind, record) = target(&args.record)?;
    let text = args.text;
    engine
        .with(move |node| {
            node.add_comment(space, kind, record, &text)
                .map_err(|e| write_cs(&e))
        })
        .await?;
    changed(&app, space);
    Ok(())
}

/// The concurrent values of each conflicting field of a record, the shown one first.
#[tauri::command]
pub async fn record_conflicts(
    engine: State<'_, Engine>,
    args: Args<calls::RecordConflicts>,
) -> Answer<Reply<calls::RecordConflicts>> {
    let (space, kind, record) = target(&args)?;
    engine
        .with(
            move |node| match node.field_conflicts(space, kind, record) {
                // A record not (yet) here has no conflicts to show.
                Err(WriteError::NoSuchRecord { .. }) => Ok(Vec::new()),
                other => other.map_err(|e| write_cs(&e)),
            },
        )
        .await
}

/// Wall time now, as the engine reads it (ms since 1970, UTC).
fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

/// Where a drill stands now (the engine's status, taken in the same job as an action).
fn exercise_now(node: &Node, space: SpaceId) -> Answer<ExerciseStatus> {
    node.exercise_status(space, now())
        .map_err(|e| exercise_cs(&e))
}

/// Where a drill stands: its clock, the released injects with when each reached its targets,
/// and for exercise control the injects still to come. Releases happen in the engine's thread
/// on its timer; the UI asks again while the clock runs.
#[tauri::command]
pub async fn exercise_status(
    engine: State<'_, Engine>,
    args: Args<calls::ExerciseStatusCmd>,
) -> Answer<Reply<calls::ExerciseStatusCmd>> {
    let space = space_id(&args.space)?;
    engine.with(move |node| exercise_now(node, space)).await
}

/// Starts, pauses, resumes or stops the exercise clock, or jumps it to an inject's time
/// (the engine checks that this device is exercise control and that the action fits).
#[tauri::command]
pub async fn exercise_clock(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::ExerciseClockCmd>,
) -> Answer<Reply<calls::ExerciseClockCmd>> {
    let space = space_id(&args.space)?;
    let (action, inject) = (args.action, args.inject);
    let status = engine
        .with(move |node| {
            match (action, inject) {
                (ClockAction::Jump, Some(n)) => node.jump_to_inject(space, n),
                (ClockAction::Jump, None) => {
                    return Err("Uveďte číslo vstupu, na který skočit.".to_owned())
                }
                (action, _) => node.clock_action(space, action, None),
            }
            .map_err(|e| exercise_cs(&e))?;
            exercise_now(node, space)
        })
        .await?;
    changed(&app, space);
    Ok(status)
}

/// Imports the shipped sample scenario (a flood in the Zlín region) into a drill.
#[tauri::command]
pub async fn import_sample_scenario(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::ImportSampleScenario>,
) -> Answer<Reply<calls::ImportSampleScenario>> {
    let space = space_id(&args.space)?;
    let status = engine
        .with(move |node| {
            let injects =
                msel::import_csv(SAMPLE_SCENARIO_CSV).map_err(|e| exercise_cs(&e.into()))?;
            node.import_scenario(space, &injects)
                .map_err(|e| exercise_cs(&e))?;
            exercise_now(node, space)
        })
        .await?;
    changed(&app, space);
    Ok(status)
}

/// Releases an ad-hoc inject at once (mimořádný vstup), from exercise control.
#[tauri::command]
pub async fn ad_hoc_inject(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::AdHocInjectCmd>,
) -> Answer<Reply<calls::AdHocInjectCmd>> {
    let space = space_id(&args.space)?;
    let to = Target::parse(&args.to)
        .ok_or_else(|| "Komu: napište „všichni“, „ORP název“, roli nebo jméno člena.".to_owned())?;
    let from = match args.from.trim() {
        "" => "řízení cvičení".to_owned(),
        from => from.to_owned(),
    };
    let ad_hoc = AdHocInject {
        to,
        from,
        channel: args.channel,
        subject: args.subject,
        text: args.text,
    };
    let status = engine
        .with(move |node| {
            node.ad_hoc_inject(space, &ad_hoc, now())
                .map_err(|e| exercise_cs(&e))?;
            exercise_now(node, space)
        })
        .await?;
    changed(&app, space);
    Ok(status)
}

/// The evaluation of a drill: expected actions met or not, response times, unanswered
/// injects, results by objective, the hot wash, the improvement plan and the timeline
/// (the engine lets exercise leaders and evaluators only).
#[tauri::command]
pub async fn exercise_evaluation(
    engine: State<'_, Engine>,
    args: Args<calls::ExerciseEvaluation>,
) -> Answer<Reply<calls::ExerciseEvaluation>> {
    let space = space_id(&args.space)?;
    engine
        .with(move |node| node.evaluation(space).map_err(|e| exercise_cs(&e)))
        .await
}

/// A document the engine rendered, as one Czech sentence when it cannot be.
fn rendered(doc: &pdf::Document) -> Answer<Vec<u8>> {
    pdf::render(doc).map_err(|e| {
        eprintln!("krizlink-desktop: cannot render a PDF: {e}");
        "PDF nelze vytvořit, protože dokument je příliš rozsáhlý.".to_owned()
    })
}

/// Saves `bytes` in the person's documents folder (`engine::documents`) under a name made from
/// `name`, never over an existing file; answers the file's full path.
async fn save_document(name: String, extension: &'static str, bytes: Vec<u8>) -> Answer<String> {
    let dir = documents::documents_dir(|k| std::env::var_os(k)).ok_or_else(|| {
        "Nelze zjistit složku dokumentů (není nastavena proměnná HOME ani XDG_DOCUMENTS_DIR)."
            .to_owned()
    })?;
    let folder = dir.join(documents::FOLDER);
    let saved = tauri::async_runtime::spawn_blocking(move || {
        documents::save(&dir, &name, extension, &bytes)
    })
    .await
    .map_err(|_| internal())?;
    match saved {
        Ok(path) => Ok(path.display().to_string()),
        Err(e) => {
            eprintln!("krizlink-desktop: cannot save in {}: {e}", folder.display());
            Err(format!(
                "Soubor nelze uložit do složky {}; zkontrolujte, že do ní lze zapisovat a disk není plný.",
                folder.display()
            ))
        }
    }
}

/// Saves the drill's evaluation as the engine's PDF or as CSV (semicolons) in the documents
/// folder; answers the file's full path.
#[tauri::command]
pub async fn save_evaluation(
    engine: State<'_, Engine>,
    args: Args<calls::SaveEvaluationCmd>,
) -> Answer<Reply<calls::SaveEvaluationCmd>> {
    let space = space_id(&args.space)?;
    let format = args.format;
    let evaluation = engine
        .with(move |node| node.evaluation(space).map_err(|e| exercise_cs(&e)))
        .await?;
    let name = format!("Vyhodnocení cvičení – {}", evaluation.name);
    let bytes = match format {
        DocFormat::Pdf => rendered(&pdf::evaluation(&evaluation, &chrono::Local))?,
        DocFormat::Csv => msel::evaluation_csv(&evaluation).map_err(|e| {
            eprintln!("krizlink-desktop: cannot write the evaluation CSV: {e}");
            internal()
        })?,
    };
    save_document(name, format.extension(), bytes).await
}

/// Records an evaluator's observation on an inject of the scenario: the verdict, a comment and
/// a corrective action for the improvement plan (evaluators and exercise leaders).
#[tauri::command]
pub async fn observe(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::ObserveCmd>,
) -> Answer<Reply<calls::ObserveCmd>> {
    let space = space_id(&args.space)?;
    let input = ObservationInput {
        inject: args.inject,
        met: args.met,
        text: args.text,
        corrective: args.corrective.filter(|c| !c.action.trim().is_empty()),
    };
    let id = engine
        .with(move |node| node.observe(space, &input).map_err(|e| exercise_cs(&e)))
        .await?;
    changed(&app, space);
    Ok(id.to_string())
}

/// Creates a player's record that answers a released inject: the engine's write path with the
/// inject's release linked, so the evaluation counts it as the response.
#[tauri::command]
pub async fn answer_inject(
    app: AppHandle,
    engine: State<'_, Engine>,
    args: Args<calls::AnswerInject>,
) -> Answer<Reply<calls::AnswerInject>> {
    let space = space_id(&args.space)?;
    let (number, input) = (args.inject, args.input);
    let id = engine
        .with(move |node| {
            let release = node
                .release_of(space, number)
                .map_err(|e| exercise_cs(&e))?;
            node.create_linked(space, &input, &[release], None)
                .map_err(|e| write_cs(&e))
        })
        .await?;
    changed(&app, space);
    Ok(id.to_string())
}

/// Saves a situation report as the engine's PDF (the report only; marked CVIČENÍ in a drill)
/// in the documents folder; answers the file's full path.
#[tauri::command]
pub async fn save_report_pdf(
    engine: State<'_, Engine>,
    args: Args<calls::SaveReportPdf>,
) -> Answer<Reply<calls::SaveReportPdf>> {
    let space = space_id(&args.space)?;
    let id = record_id(&args.id)?;
    let (report, exercise) = engine
        .with(move |node| {
            let exercise = node.is_exercise(space);
            let report = node
                .replica(space)
                .map_err(|e| cs(&e))?
                .situation_reports()
                .into_iter()
                .find(|r| r.meta.id == id)
                .ok_or_else(|| "Tato situační zpráva v prostoru není.".to_owned())?;
            Ok((report, exercise))
        })
        .await?;
    let doc = pdf::situation_report(&report, exercise, &chrono::Local);
    let name = format!(
        "{}{} – {}",
        if exercise { "CVIČENÍ – " } else { "" },
        doc.title,
        report.sender
    );
    let bytes = rendered(&doc)?;
    save_document(name, DocFormat::Pdf.extension(), bytes).await
}
