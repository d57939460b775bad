//! A staff of real `krizlink-node` processes for the suite and the benchmarks: running the
//! CLI on a data dir, serving (`serve` on 127.0.0.1, stopped with SIGTERM on drop), founding a
//! space and joining it over the network, and reading what a data dir holds.

use std::io::BufRead;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{workspace_bin, TempDir};

/// The passphrase of every data dir the suite makes.
pub const PASS: &str = "heslo-pro-test-1234";

pub fn node(dir: &Path, args: &[&str]) -> Output {
    Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("KRIZLINK_PASSPHRASE", PASS)
        .output()
        .expect("krizlink-node runs")
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = node(dir, args);
    assert!(
        out.status.success(),
        "krizlink-node {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A running `serve`; stopped with SIGTERM on drop.
pub struct Serving {
    child: Option<Child>,
    pub addr: String,
    err_path: PathBuf,
}

pub fn serve(dir: &Path, args: &[&str]) -> Serving {
    serve_on(dir, "/ip4/127.0.0.1/tcp/0", args)
}

pub fn serve_on(dir: &Path, listen: &str, args: &[&str]) -> Serving {
    serve_under(&[], dir, listen, args)
}

/// `serve` run under the program `under` with its arguments (e.g. `env` with a preloaded
/// library: it must exec the node, so that a signal to the child reaches the node).
pub fn serve_under(under: &[&str], dir: &Path, listen: &str, args: &[&str]) -> Serving {
    let err_path = PathBuf::from(format!(
        "{}.serve-{}.err",
        dir.display(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let mut command = match under.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(workspace_bin("krizlink-node"));
            c
        }
        None => Command::new(workspace_bin("krizlink-node")),
    };
    let mut child = command
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", listen, "--no-mdns"])
        .args(args)
        .env("KRIZLINK_PASSPHRASE", PASS)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut peer = String::new();
    let mut addr = String::new();
    lines.read_line(&mut peer).expect("peer id line");
    lines.read_line(&mut addr).expect("address line");
    assert!(
        peer.trim().starts_with("12D3Koo"),
        "first line is the peer id: {peer:?}"
    );
    assert!(
        addr.trim().starts_with("/ip4/127.0.0.1/") && addr.trim().ends_with(peer.trim()),
        "second line is a listen address with the peer id: {addr:?}"
    );
    // The control socket is up before the listen address is printed.
    Serving {
        child: Some(child),
        addr: addr.trim().to_owned(),
        err_path,
    }
}

impl Serving {
    /// A `serve` started by the caller (its log not kept).
    pub fn adopt(child: Child, addr: String) -> Serving {
        Serving {
            child: Some(child),
            addr,
            err_path: PathBuf::new(),
        }
    }

    /// The serving process's id (to sample its memory from /proc).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = child.wait().expect("serve exits");
            assert!(status.success(), "serve stops cleanly on SIGTERM: {status}");
        }
    }

    pub fn kill_9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    /// CPU time (user + system) the process has used so far, from /proc.
    pub fn cpu_time(&self) -> Duration {
        let pid = self.child.as_ref().expect("running").id();
        cpu_time(pid).expect("the serving process's /proc/PID/stat")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).expect("json output")
}

pub fn space_info(dir: &Path, space: &str) -> serde_json::Value {
    json(dir, &["space", "list", "--json"])
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["id"] == space)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

pub fn state_hash(dir: &Path, space: &str) -> String {
    space_info(dir, space)["state_hash"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

pub fn task_titles(dir: &Path, space: &str) -> Vec<String> {
    let mut titles: Vec<String> = json(dir, &["task", "list", "--space", space, "--json"])
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["title"].as_str().unwrap_or("").to_owned())
        .collect();
    titles.sort();
    titles
}

pub fn has_task(dir: &Path, space: &str, title: &str) -> bool {
    task_titles(dir, space).iter().any(|t| t == title)
}

/// A founder with a space, serving.
pub fn founder(root: &TempDir, name: &str) -> (PathBuf, String, Serving) {
    let dir = root.path().join(name);
    ok(&dir, &["init", "--name", name]);
    let space = ok(&dir, &["space", "create", "Povodňová komise ORP Vsetín"]);
    let serving = serve(&dir, &[]);
    (dir, space, serving)
}

/// A new device that joins `space` in one step over the network through `inviter` (serving).
pub fn joined(root: &TempDir, name: &str, inviter: &Path, space: &str, role: &str) -> PathBuf {
    let dir = root.path().join(name);
    ok(&dir, &["init", "--name", name]);
    let code = ok(
        inviter,
        &["invite", "create", "--space", space, "--role", role],
    );
    assert!(
        code.contains('@'),
        "a serving peer's invite says where it is"
    );
    assert_eq!(ok(&dir, &["join", &code]), space);
    dir
}

/// A device that joins `space` over the network through `inviter` as `role` (an ORP
/// coordinator bound to `orp`).
pub fn joined_as(
    root: &TempDir,
    name: &str,
    inviter: &Path,
    space: &str,
    role: &str,
    orp: Option<&str>,
) -> PathBuf {
    let dir = root.path().join(name);
    ok(&dir, &["init", "--name", name]);
    let mut args = vec!["invite", "create", "--space", space, "--role", role];
    if let Some(orp) = orp {
        args.extend(["--orp", orp]);
    }
    let code = ok(inviter, &args);
    assert_eq!(ok(&dir, &["join", &code]), space);
    dir
}

/// A grant by the chair at `chair` for the device at `relay` to relay `space` blind.
pub fn relay_grant(chair: &Path, space: &str, relay: &Path) -> String {
    let device = std::fs::read_to_string(relay.join("device.id")).expect("device.id");
    ok(
        chair,
        &[
            "space",
            "grant-relay",
            "--space",
            space,
            "--relay",
            device.trim(),
        ],
    )
}

/// CPU time (user + system) process `pid` has used so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime
    // are fields 14 and 15 of the line, 12 and 13 after it.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks()? as f64,
    ))
}

/// Clock ticks per second (`getconf CLK_TCK`), asked once.
fn clock_ticks() -> Option<u64> {
    static TICKS: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    })
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes of all files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
