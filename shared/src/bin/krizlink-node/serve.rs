//! `krizlink-node serve`, the control socket, and joining over the network.
//!
//! While a peer serves a data dir it holds the dir's lock; every other command on that dir is
//! sent to it over `DIR/control.sock` (a Unix socket, owner-only) as its arguments (and standard
//! input for imports, a new passphrase for `passphrase change`: both read by the client), runs
//! there between network events, and its output and exit code come back unchanged. So scripts
//! work the same whether a peer is serving or not. The socket is bound inside the private
//! (0700) data dir, so it is never reachable by others; both ends check the other's user id.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use krizlink_core::engine::node::Node;
use krizlink_core::engine::private;
use krizlink_core::engine::sync::{
    self, peer_of_device, Job, NetAction, NetEvent, NetStatus, SyncConfig,
};
use krizlink_core::SpaceId;

use crate::args::{Cli, Command, ExerciseCmd, PassphraseCmd, SitrepCmd, TaskCmd};
use crate::commands::dispatch;
use crate::output::{exit_code, one_line, Io};
use crate::secret;

/// Largest control request (arguments and standard input), bytes.
const MAX_CONTROL_REQUEST: u64 = 256 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct ControlRequest {
    args: Vec<String>,
    stdin: String,
    /// The new passphrase of `passphrase change`, asked for by the client where its person is:
    /// the serving peer never asks for one (`secret`).
    #[serde(default)]
    new_passphrase: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ControlReply {
    code: u8,
    stdout: String,
    stderr: String,
}

/// The control socket lives in the data dir, which is 0700 before the socket is bound
/// (`private::data_dir`): no other user can reach it at any moment, not even between `bind`
/// and the `chmod` after it. Connections from another user (root included) are refused too.
fn socket_path(dir: &Path) -> PathBuf {
    dir.join("control.sock")
}

/// Sends the command to a peer serving `dir`, if one is; prints its output and returns its
/// exit code. `None`: nobody serves this dir, run the command here. Standard input (for an
/// import) and a new passphrase are read here, where the person is, and sent with it.
pub(crate) fn forward(dir: &Path, args: &[String], command: &Command) -> Result<Option<u8>> {
    let sock = socket_path(dir);
    match std::fs::symlink_metadata(&sock) {
        Err(_) => return Ok(None),
        Ok(meta) if meta.file_type().is_symlink() => {
            bail!(
                "the control socket {}: {}",
                sock.display(),
                private::LINK_REFUSED
            )
        }
        Ok(_) => {}
    }
    let Ok(mut stream) = UnixStream::connect(&sock) else {
        return Ok(None);
    };
    let server = private::peer_uid(&stream).context("cannot check who serves the data dir")?;
    if !private::is_own_uid(server) {
        bail!(
            "the control socket {} is served by another user (uid {server}); nothing was sent",
            sock.display()
        );
    }
    let mut stdin = String::new();
    if matches!(command, Command::Task(TaskCmd::Import { .. })) {
        std::io::stdin()
            .read_to_string(&mut stdin)
            .context("cannot read standard input")?;
    }
    // A scenario file is read here and sent along: the serving peer may run elsewhere in the
    // file system. A file to write is named by its full path for the same reason.
    let mut args = args.to_vec();
    match command {
        Command::Exercise(ExerciseCmd::Import {
            file: Some(file), ..
        }) => {
            let bytes = crate::exercise::read_scenario_file(file)?;
            stdin = String::from_utf8(bytes).map_err(|_| {
                anyhow!("the file is not UTF-8 text; save the spreadsheet as \"CSV UTF-8\"")
            })?;
        }
        Command::Exercise(
            ExerciseCmd::Export { out: Some(out), .. }
            | ExerciseCmd::Evaluate { out: Some(out), .. },
        )
        | Command::Sitrep(SitrepCmd::Pdf { out, .. }) => {
            let full = std::path::absolute(out)
                .with_context(|| format!("cannot name {} in full", out.display()))?;
            for a in args.iter_mut() {
                if Path::new(a.as_str()) == out.as_path() {
                    *a = full.display().to_string();
                } else if a
                    .strip_prefix("--out=")
                    .is_some_and(|p| Path::new(p) == out.as_path())
                {
                    *a = format!("--out={}", full.display());
                }
            }
        }
        _ => {}
    }
    let new_passphrase = match command {
        Command::Passphrase(PassphraseCmd::Change {
            new_passphrase_file,
        }) => Some(secret::new_passphrase(new_passphrase_file.as_deref())?),
        _ => None,
    };
    let request = serde_json::to_vec(&ControlRequest {
        args,
        stdin,
        new_passphrase,
    })?;
    stream
        .write_all(&request)
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .context("cannot talk to the serving peer")?;
    let mut reply = String::new();
    stream
        .take(MAX_CONTROL_REQUEST)
        .read_to_string(&mut reply)
        .context("cannot read the serving peer's answer")?;
    let reply: ControlReply = serde_json::from_str(&reply)
        .map_err(|e| anyhow!("the serving peer's answer is unreadable: {e}"))?;
    print!("{}", reply.stdout);
    eprint!("{}", reply.stderr);
    Ok(Some(reply.code))
}

fn parse_addrs(what: &str, list: &[String]) -> Result<Vec<libp2p_addr::Multiaddr>> {
    list.iter()
        .map(|a| {
            a.parse().map_err(|e| {
                anyhow!("{what} {a:?} is not a multiaddr (e.g. /ip4/10.0.0.5/tcp/7470): {e}")
            })
        })
        .collect()
}

/// The multiaddr type, through the core crate's libp2p.
mod libp2p_addr {
    pub use libp2p::Multiaddr;
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

/// `serve`: runs until SIGINT/SIGTERM.
pub(crate) fn serve(
    node: &mut Node,
    listen: Vec<String>,
    peers: Vec<String>,
    mdns: bool,
    relays: Vec<String>,
) -> Result<()> {
    let listen = if listen.is_empty() {
        vec![
            "/ip4/0.0.0.0/tcp/7470".to_owned(),
            "/ip4/0.0.0.0/udp/7470/quic-v1".to_owned(),
        ]
    } else {
        listen
    };
    let cfg = SyncConfig {
        listen: parse_addrs("--listen", &listen)?,
        peers: parse_addrs("--peer", &peers)?,
        mdns,
        ..SyncConfig::default()
    };
    for text in relays {
        let (space, new) = node
            .accept_relay_grant(&text)
            .map_err(|e| anyhow!("--blind-relay: {e}"))?;
        if new {
            eprintln!("krizlink-node: now relaying space {space} (ciphertext only)");
        }
    }
    let dir = node.data_dir().to_owned();
    let peer_id =
        peer_of_device(&node.device_id()).ok_or_else(|| anyhow!("no network identity"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the network runtime")?;
    let status = runtime.block_on(async {
        let sock = socket_path(&dir);
        // The socket's dir must be private before the socket exists (it is since `Node::open`;
        // checked again right here): then nobody else can reach it, whatever its own mode.
        private::data_dir(&dir)
            .with_context(|| format!("cannot make the data dir {} private", dir.display()))?;
        // Only one process can hold the dir (the lock), so a socket file here is stale.
        let _ = std::fs::remove_file(&sock);
        let listener = tokio::net::UnixListener::bind(&sock)
            .with_context(|| format!("cannot create the control socket {}", sock.display()))?;
        // Belt and braces only (the umask makes it 0600 already, the dir keeps others out).
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", sock.display()))?;
        let (jobs_tx, mut jobs_rx) = mpsc::channel::<Job>(64);
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        println!("{peer_id}");
        let _ = std::io::stdout().flush();
        tokio::spawn(async move {
            while let Some(event) = events_rx.recv().await {
                if let NetEvent::Listening(addr) = event {
                    println!("{addr}");
                    let _ = std::io::stdout().flush();
                }
            }
        });
        tokio::spawn(control_loop(listener, jobs_tx));
        let status = sync::serve(node, cfg, &mut jobs_rx, Some(events_tx), shutdown_signal()).await;
        let _ = std::fs::remove_file(&sock);
        status.map_err(anyhow::Error::from)
    })?;
    // What `status` shows while nobody serves: the last known network state.
    if let Err(e) = sync::save_last_state(node, &status) {
        eprintln!("krizlink-node: cannot save the network state: {e}");
    }
    eprintln!("krizlink-node: stopped");
    Ok(())
}

async fn control_loop(listener: tokio::net::UnixListener, jobs: mpsc::Sender<Job>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(control_client(stream, jobs.clone()));
            }
            Err(e) => {
                eprintln!("krizlink-node: control socket: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn control_client(mut stream: tokio::net::UnixStream, jobs: mpsc::Sender<Job>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Only the data dir's own user may command it (not even root: the control socket runs
    // commands without the passphrase).
    match private::peer_uid(&stream) {
        Ok(uid) if private::is_own_uid(uid) => {}
        other => {
            let who = other.map_or_else(|e| format!("unknown ({e})"), |uid| format!("uid {uid}"));
            eprintln!("krizlink-node: control socket: refused a connection from {who}");
            let reply = reply_err(1, "refused: this control socket serves only its owner");
            if let Ok(bytes) = serde_json::to_vec(&reply) {
                let _ = stream.write_all(&bytes).await;
            }
            let _ = stream.shutdown().await;
            // Closing with the request unread would reset the connection before the refusal is
            // read: take (and drop) a little of it, for a second at most; nothing of it is used.
            let mut sink = [0u8; 4096];
            let drain = async {
                let mut left = 64 * 1024usize;
                while left > 0 {
                    match stream.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
            return;
        }
    }
    let mut raw = Vec::new();
    let read = (&mut stream)
        .take(MAX_CONTROL_REQUEST)
        .read_to_end(&mut raw)
        .await;
    let reply = match read {
        Err(e) => reply_err(1, &format!("cannot read the request: {e}")),
        Ok(_) => match serde_json::from_slice::<ControlRequest>(&raw) {
            Err(e) => reply_err(2, &format!("unreadable control request: {e}")),
            Ok(request) => run_forwarded(request, &jobs).await,
        },
    };
    if let Ok(bytes) = serde_json::to_vec(&reply) {
        let _ = stream.write_all(&bytes).await;
    }
    let _ = stream.shutdown().await;
}

fn reply_err(code: u8, message: &str) -> ControlReply {
    ControlReply {
        code,
        stdout: String::new(),
        stderr: format!("krizlink-node: {message}\n"),
    }
}

async fn run_forwarded(request: ControlRequest, jobs: &mpsc::Sender<Job>) -> ControlReply {
    let argv = std::iter::once("krizlink-node".to_owned()).chain(request.args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            return ControlReply {
                code: if e.use_stderr() { 2 } else { 0 },
                stdout: if e.use_stderr() {
                    String::new()
                } else {
                    e.to_string()
                },
                stderr: if e.use_stderr() {
                    e.to_string()
                } else {
                    String::new()
                },
            }
        }
    };
    let (tx, rx) = oneshot::channel::<(ControlReply, Option<JoinWait>)>();
    let stdin = request.stdin;
    let new_passphrase = request.new_passphrase;
    let job: Job = Box::new(move |node: &mut Node, net: &NetStatus| {
        let mut io = Io::collected(stdin.into_bytes(), new_passphrase);
        let (code, action, wait) = match cli.command {
            Command::Join {
                code: Some(code),
                offline: false,
                welcome: None,
                peer,
            } => match join_action(node, &code, &peer) {
                Ok((action, done)) => (0, Some(action), Some(done)),
                Err(e) => {
                    io.err
                        .push_str(&format!("krizlink-node: {}\n", one_line(&e)));
                    (exit_code(&e), None, None)
                }
            },
            command => match dispatch(node, &mut io, Some(net), command) {
                Ok(()) => (0, None, None),
                Err(e) => {
                    io.err
                        .push_str(&format!("krizlink-node: {}\n", one_line(&e)));
                    (exit_code(&e), None, None)
                }
            },
        };
        // A clock its staff disagrees with is told on every command, the write included.
        if let Some(notice) = node.clock_notice() {
            io.err
                .push_str(&format!("krizlink-node: warning: {notice}\n"));
        }
        let reply = ControlReply {
            code,
            stdout: io.out,
            stderr: io.err,
        };
        let _ = tx.send((reply, wait));
        action
    });
    if jobs.send(job).await.is_err() {
        return reply_err(1, "the serving peer is shutting down");
    }
    match rx.await {
        Ok((reply, None)) => reply,
        Ok((_, Some(wait))) => match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(Ok(Ok(space))) => ControlReply {
                code: 0,
                stdout: format!("{space}\n"),
                stderr: String::new(),
            },
            Ok(Ok(Err(reason))) => reply_err(1, &format!("joining failed: {reason}")),
            Ok(Err(_)) | Err(_) => {
                reply_err(1, "joining failed: the inviting device did not answer")
            }
        },
        Err(_) => reply_err(1, "the command did not finish"),
    }
}

type JoinWait = oneshot::Receiver<Result<SpaceId, String>>;

/// Prepares a network join: the request for the inviter, and where to reach it.
fn join_action(node: &mut Node, code: &str, extra: &[String]) -> Result<(NetAction, JoinWait)> {
    let Ok((secret, hint)) = sync::split_invite(code) else {
        bail!("the address part of the invite code (after @) is damaged")
    };
    let extra = parse_addrs("--peer", extra)?;
    let (inviter, mut addresses) = match hint {
        Some((peer, addrs)) => (peer, addrs),
        None => bail!(
            "this invite code does not say where the inviting device is: ask for a code created while it serves, or use `join CODE --offline`"
        ),
    };
    addresses.extend(extra);
    let request = node.request_join(secret)?;
    let (done, wait) = oneshot::channel();
    Ok((
        NetAction::Join {
            request,
            inviter,
            addresses,
            done,
        },
        wait,
    ))
}

/// `join CODE` when nobody serves this dir: a short-lived peer joins, syncs, and stops.
pub(crate) fn join_once(node: &mut Node, code: &str, extra: &[String]) -> Result<()> {
    let (action, wait) = join_action(node, code, extra)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the network runtime")?;
    let (jobs_tx, mut jobs_rx) = mpsc::channel::<Job>(8);
    let cfg = SyncConfig {
        mdns: false,
        sync_interval: Duration::from_millis(500),
        ..SyncConfig::default()
    };
    let (result_tx, result_rx) = oneshot::channel::<Result<SpaceId, String>>();
    let driver = async move {
        let first: Job = Box::new(move |_: &mut Node, _: &NetStatus| Some(action));
        if jobs_tx.send(first).await.is_err() {
            return;
        }
        let outcome = match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(Ok(r)) => r,
            _ => Err("the inviting device did not answer".to_owned()),
        };
        if let Ok(space) = outcome {
            // Let the first sync of the new space settle: stop once nothing arrived for a second.
            let mut last = u64::MAX;
            for _ in 0..40 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let (tx, rx) = oneshot::channel();
                let probe: Job = Box::new(move |node: &mut Node, _: &NetStatus| {
                    let _ = tx.send(node.have(space).map(|v| v.total()).unwrap_or(0));
                    None
                });
                if jobs_tx.send(probe).await.is_err() {
                    break;
                }
                let total = rx.await.unwrap_or(0);
                if total == last && total > 0 {
                    break;
                }
                last = total;
            }
        }
        let _ = result_tx.send(outcome);
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let outcome = runtime.block_on(async {
        let handle = tokio::spawn(async move {
            driver.await;
            let _ = stop_tx.send(());
        });
        let stop = async {
            let _ = stop_rx.await;
        };
        let served = sync::serve(node, cfg, &mut jobs_rx, None, stop).await;
        let _ = handle.await;
        served.map(|_| ())
    });
    outcome?;
    match result_rx.blocking_recv() {
        Ok(Ok(space)) => {
            println!("{space}");
            Ok(())
        }
        Ok(Err(reason)) => bail!("joining failed: {reason}"),
        Err(_) => bail!("joining was interrupted"),
    }
}
