//! The engine's thread inside the app. Once the identity is unlocked the node moves into one
//! thread that runs the sync peer (`krizlink_core::engine::sync::serve`) on its own
//! current-thread runtime; every command reaches the node as a job run between network events,
//! so the node is never shared. Network events become Tauri events: operations from other
//! devices emit `space-changed` (the open view reloads; a local write's command emits it
//! itself, once), peers coming and going, completed syncs and stored or sent operations emit
//! `network-changed` with the panel's [`NetworkView`].
//!
//! If the peer cannot start (no address to listen on), the thread still runs the jobs: the app
//! works offline and the panel says why.
//!
//! Network settings: `--listen ADDR`, `--peer ADDR` (repeatable) and `--no-mdns` on the command
//! line, or `KRIZLINK_LISTEN`, `KRIZLINK_PEERS` (addresses separated by spaces or commas) and
//! `KRIZLINK_MDNS=0`; peers a person adds in the panel are kept in `DIR/peers.txt`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use krizlink_core::api::{
    NetworkView, PeerView, SpaceChanged, MAX_SAVED_PEERS, NETWORK_CHANGED, SPACE_CHANGED,
};
use krizlink_core::engine::node::{Holding, Node};
use krizlink_core::engine::private;
use krizlink_core::engine::sync::libp2p::Multiaddr;
use krizlink_core::engine::sync::{
    self, peer_of_device, AddressError, Job, NetAction, NetEvent, NetStatus, SyncConfig,
};
use tauri::{AppHandle, Emitter};
use tokio::sync::{mpsc, oneshot};

use crate::errors::cs;

/// Network events are gathered this long before the panel is recomputed and sent once.
const SETTLE: Duration = Duration::from_millis(200);

/// How the app's peer runs (see the module doc).
#[derive(Clone, Debug)]
pub struct NetOptions {
    pub listen: Vec<Multiaddr>,
    pub peers: Vec<Multiaddr>,
    pub mdns: bool,
    /// Settings that could not be used, as Czech sentences (shown in the panel).
    pub problems: Vec<String>,
}

impl NetOptions {
    /// From the command line and the environment.
    pub fn from_env() -> NetOptions {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut listen_text = Vec::new();
        let mut peer_text = Vec::new();
        let mut mdns = std::env::var("KRIZLINK_MDNS").map_or(true, |v| v != "0");
        let mut i = 0;
        while i < args.len() {
            match args[i].as_str() {
                "--listen" | "--peer" if i + 1 < args.len() => {
                    let list = if args[i] == "--listen" {
                        &mut listen_text
                    } else {
                        &mut peer_text
                    };
                    list.push(args[i + 1].clone());
                    i += 1;
                }
                "--no-mdns" => mdns = false,
                _ => {}
            }
            i += 1;
        }
        let split = |var: &str| -> Vec<String> {
            std::env::var(var)
                .unwrap_or_default()
                .split([' ', ',', '\n'])
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().to_owned())
                .collect()
        };
        if listen_text.is_empty() {
            listen_text = split("KRIZLINK_LISTEN");
        }
        peer_text.extend(split("KRIZLINK_PEERS"));
        let mut problems = Vec::new();
        let mut parse = |texts: Vec<String>| -> Vec<Multiaddr> {
            texts
                .into_iter()
                .filter_map(|t| match parse_address(&t) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        problems.push(format!("Nastavení sítě: {e}"));
                        None
                    }
                })
                .collect()
        };
        let mut listen = parse(listen_text);
        let peers = parse(peer_text);
        if listen.is_empty() {
            // Any free port: mDNS finds peers on the staff room's network, and a peer that dials
            // this laptop learns the ports from identify.
            listen = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect();
        }
        NetOptions {
            listen,
            peers,
            mdns,
            problems,
        }
    }
}

/// A peer address as a person typed it, or a Czech sentence saying what is wrong.
pub fn parse_address(text: &str) -> Result<Multiaddr, String> {
    sync::dial_address(text).map_err(|e| match e {
        AddressError::Empty => "Zadejte adresu uzlu.".to_owned(),
        AddressError::TooLong(max) => format!("Adresa uzlu je delší než {max} znaků."),
        AddressError::NotAnAddress(t) => format!(
            "„{t}“ není adresa uzlu; má tvar /ip4/192.168.1.10/tcp/7470 (případně s /p2p/…)."
        ),
        AddressError::NoTransport(t) => {
            format!("„{t}“ neuvádí port TCP ani QUIC (např. /tcp/7470).")
        }
    })
}

/// The saved peer addresses (`DIR/peers.txt`, one per line; bounded, bad lines skipped).
pub fn saved_peers(dir: &Path) -> Vec<String> {
    private::read_to_string(&peers_path(dir))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && parse_address(l).is_ok())
        .take(MAX_SAVED_PEERS)
        .map(str::to_owned)
        .collect()
}

pub fn save_peers(dir: &Path, peers: &[String]) -> Result<(), String> {
    let mut text = String::from("# KrizLink: peer addresses this app dials, one per line\n");
    for p in peers {
        text.push_str(p);
        text.push('\n');
    }
    // 0600 and never through a planted link, like every file in the data dir.
    private::write_atomic(&peers_path(dir), text.as_bytes())
        .map_err(|e| format!("Seznam uzlů nelze uložit ({e})."))
}

fn peers_path(dir: &Path) -> PathBuf {
    dir.join("peers.txt")
}

/// What the person sees of the node's warnings: its notices as they are (Czech first), and its
/// English warnings for administrators behind a Czech label.
fn shown_warnings(node: &Node) -> Vec<String> {
    node.notices()
        .iter()
        .cloned()
        .chain(
            node.warnings()
                .iter()
                .map(|w| format!("Upozornění pro správce: {w}")),
        )
        .collect()
}

/// The node's thread, seen from the commands.
pub struct Running {
    jobs: mpsc::Sender<Job>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    pub name: String,
    pub device: String,
    /// What the person is told, as of the node's last job (a write may add a notice: writes
    /// stamped in the future by a clock that ran ahead were stamped again).
    warnings: Arc<Mutex<Vec<String>>>,
    /// Why the peer is not running, when it could not start.
    failure: Arc<Mutex<Option<String>>>,
    problems: Vec<String>,
}

impl Running {
    /// Moves `node` into its thread and starts the peer.
    pub fn start(node: Node, opts: &NetOptions, app: AppHandle) -> Running {
        let name = node.name().to_owned();
        let device = node.device_id().to_string();
        let warnings = Arc::new(Mutex::new(shown_warnings(&node)));
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(64);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let failure = Arc::new(Mutex::new(None));
        let mut peers: Vec<Multiaddr> = opts.peers.clone();
        peers.extend(
            saved_peers(node.data_dir())
                .iter()
                .filter_map(|p| p.parse().ok()),
        );
        let cfg = SyncConfig {
            listen: opts.listen.clone(),
            peers,
            mdns: opts.mdns,
            ..SyncConfig::default()
        };
        let ctx = ThreadCtx {
            app,
            jobs: jobs_tx.clone(),
            failure: failure.clone(),
            problems: opts.problems.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("krizlink-engine".into())
            .spawn(move || engine_thread(node, cfg, jobs_rx, stop_rx, ctx))
            .ok();
        Running {
            jobs: jobs_tx,
            stop: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(thread),
            name,
            device,
            warnings,
            failure,
            problems: opts.problems.clone(),
        }
    }

    /// What the person is told of the node's warnings, as of its last job.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Runs `f` on the node between network events and returns its answer.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node, &NetStatus) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        self.run_then(move |node, status| (f(node, status), None))
            .await
    }

    /// [`Running::run`], then the network work the job asks for.
    pub async fn run_then<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node, &NetStatus) -> (Result<T, String>, Option<NetAction>) + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = oneshot::channel();
        let warnings = self.warnings.clone();
        let job: Job = Box::new(move |node, status| {
            let (answer, action) = f(node, status);
            if let Ok(mut shown) = warnings.lock() {
                if shown.len() != node.warnings().len() + node.notices().len() {
                    *shown = shown_warnings(node);
                }
            }
            let _ = tx.send(answer);
            action
        });
        let stopped = || "Jádro aplikace neběží; restartujte ji prosím.".to_owned();
        self.jobs.send(job).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// The panel's view now.
    pub async fn view(&self, dir: PathBuf) -> Result<NetworkView, String> {
        let failure = self.failure.lock().ok().and_then(|f| f.clone());
        let problems = self.problems.clone();
        self.run(move |node, status| Ok(network_view(node, status, &dir, failure, &problems)))
            .await
    }

    /// Stops the peer and closes the node (everything is durable already); a job still
    /// waiting gets "not running". Waits for the thread.
    pub fn stop(&self) {
        if let Some(stop) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

struct ThreadCtx {
    app: AppHandle,
    jobs: mpsc::Sender<Job>,
    failure: Arc<Mutex<Option<String>>>,
    problems: Vec<String>,
}

fn engine_thread(
    mut node: Node,
    cfg: SyncConfig,
    mut jobs: mpsc::Receiver<Job>,
    stop: oneshot::Receiver<()>,
    ctx: ThreadCtx,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("krizlink-desktop: cannot start the engine's runtime: {e}");
            return;
        }
    };
    let dir = node.data_dir().to_owned();
    runtime.block_on(async {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        tokio::spawn(forward_events(
            events_rx,
            ctx.app.clone(),
            ctx.jobs.clone(),
            dir.clone(),
            ctx.failure.clone(),
            ctx.problems.clone(),
        ));
        let mut stop = stop;
        let served = sync::serve(
            &mut node,
            cfg,
            &mut jobs,
            Some(events_tx.clone()),
            async {
                let _ = (&mut stop).await;
            },
        )
        .await;
        match served {
            Ok(status) => {
                if let Err(e) = sync::save_last_state(&node, &status) {
                    eprintln!("krizlink-desktop: cannot save the network state: {e}");
                }
            }
            Err(e) => {
                // Offline: the jobs still run, the panel says why.
                let reason = format!(
                    "Synchronizace se nespustila: {e}. Aplikace pracuje bez sítě; změny se uloží a odešlou po restartu s funkční sítí."
                );
                eprintln!("krizlink-desktop: {reason}");
                set_failure(&ctx.failure, Some(reason.clone()));
                let offline = NetStatus {
                    peer_id: peer_of_device(&node.device_id())
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    listen: Vec::new(),
                    peers: Vec::new(),
                    unsent: BTreeMap::new(),
                };
                let view = network_view(&node, &offline, &dir, Some(reason), &ctx.problems);
                if let Err(e) = ctx.app.emit(NETWORK_CHANGED, view) {
                    eprintln!("krizlink-desktop: cannot emit {NETWORK_CHANGED}: {e}");
                }
                loop {
                    tokio::select! {
                        _ = &mut stop => break,
                        job = jobs.recv() => match job {
                            Some(job) => {
                                let _ = job(&mut node, &offline);
                            }
                            None => break,
                        },
                    }
                }
            }
        }
    });
    if let Err(e) = node.close() {
        eprintln!("krizlink-desktop: warning on close: {}", cs(&e));
    }
}

fn set_failure(slot: &Mutex<Option<String>>, value: Option<String>) {
    if let Ok(mut f) = slot.lock() {
        *f = value;
    }
}

/// Turns network events into Tauri events: `space-changed` at once, `network-changed` after the
/// events have settled for [`SETTLE`] (a catch-up stores many batches; the panel is sent once).
async fn forward_events(
    mut events: mpsc::UnboundedReceiver<NetEvent>,
    app: AppHandle,
    jobs: mpsc::Sender<Job>,
    dir: PathBuf,
    failure: Arc<Mutex<Option<String>>>,
    problems: Vec<String>,
) {
    while let Some(first) = events.recv().await {
        let mut spaces = Vec::new();
        let note = |event: NetEvent, spaces: &mut Vec<_>| {
            if let NetEvent::Changed(space) = event {
                if !spaces.contains(&space) {
                    spaces.push(space);
                }
            }
        };
        note(first, &mut spaces);
        let settle = tokio::time::sleep(SETTLE);
        tokio::pin!(settle);
        loop {
            tokio::select! {
                () = &mut settle => break,
                more = events.recv() => match more {
                    Some(event) => note(event, &mut spaces),
                    None => break,
                },
            }
        }
        for space in spaces {
            let payload = SpaceChanged {
                space: space.to_string(),
            };
            if let Err(e) = app.emit(SPACE_CHANGED, payload) {
                eprintln!("krizlink-desktop: cannot emit {SPACE_CHANGED}: {e}");
            }
        }
        let app = app.clone();
        let dir = dir.clone();
        let failure = failure.lock().ok().and_then(|f| f.clone());
        let problems = problems.clone();
        let job: Job = Box::new(move |node, status| {
            let view = network_view(node, status, &dir, failure, &problems);
            if let Err(e) = app.emit(NETWORK_CHANGED, view) {
                eprintln!("krizlink-desktop: cannot emit {NETWORK_CHANGED}: {e}");
            }
            None
        });
        // The engine thread is gone when the app closes; nothing to tell then.
        if jobs.send(job).await.is_err() {
            break;
        }
    }
}

/// The panel's view: the peer's status with member names for the devices behind peers.
pub fn network_view(
    node: &Node,
    status: &NetStatus,
    dir: &Path,
    failure: Option<String>,
    problems: &[String],
) -> NetworkView {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (space, holding) in node.held_spaces() {
        if holding != Holding::Member {
            continue;
        }
        if let Ok(replica) = node.replica(space) {
            for m in replica.members() {
                names.entry(m.device.to_string()).or_insert(m.name.clone());
            }
        }
    }
    let mut peers: Vec<PeerView> = status
        .peers
        .iter()
        .filter(|p| p.connected || p.last_sync.is_some())
        .map(|p| PeerView {
            peer_id: p.peer_id.clone(),
            name: p.device.as_ref().and_then(|d| names.get(d).cloned()),
            device: p.device.clone(),
            connected: p.connected,
            addresses: p.addresses.clone(),
            last_sync: p.last_sync.clone(),
        })
        .collect();
    peers.sort_by(|a, b| {
        b.connected
            .cmp(&a.connected)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.peer_id.cmp(&b.peer_id))
    });
    NetworkView {
        running: failure.is_none(),
        error: failure
            .into_iter()
            .chain(problems.iter().cloned())
            .reduce(|a, b| format!("{a} {b}")),
        listen: status.listen.clone(),
        peers,
        unsent: status.unsent.iter().map(|(s, n)| (s.clone(), *n)).collect(),
        saved_peers: saved_peers(dir),
    }
}
