//! Sync between real `krizlink-node serve` processes on 127.0.0.1: convergence, relaying
//! through a peer in the middle, partitions with conflicting edits, kill -9 during a sync,
//! outsiders, and malformed traffic.
//!
//! Long because each test is a whole multi-process scenario that reads alone; the process
//! helpers (`Serving`, `wait_until`, ...) are in `krizlink_tests::staff`, shared with the
//! other modules and the benchmarks.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use krizlink_core::engine::envelope::Envelope;
use krizlink_core::engine::keys::{DeviceKeys, SpaceKey};
use krizlink_core::engine::oplog::OpLog;
use krizlink_core::engine::sync::libp2p;
use krizlink_core::{Hlc, OpId, Operation, RecordKind};
use krizlink_tests::staff::*;
use krizlink_tests::{workspace_bin, TempDir};

/// Imports one task per line of `lines` into `space` at `dir` with `krizlink-node task import`.
fn import_tasks(dir: &Path, space: &str, lines: &str) {
    let mut import = Command::new(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(dir)
        .args(["task", "import", "--space", space])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("import runs");
    import
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("lines written");
    assert!(import.wait().expect("import ends").success());
}

#[test]
fn two_peers_converge_live_and_after_writing_apart() {
    let root = TempDir::new("sync-two");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);

    ok(
        &a,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Evakuace ZŠ Jasenice",
        ],
    );
    wait_until("A's task appears on B", Duration::from_secs(10), || {
        has_task(&b, &space, "Evakuace ZŠ Jasenice")
    });
    let status = json(&a, &["status", "--json"]);
    assert_eq!(status["serving"], true);
    assert!(
        status["peers"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["connected"] == true)),
        "A sees B connected: {status}"
    );

    // Apart: both write, then meet.
    b_serving.stop();
    ok(
        &a,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Pytle s pískem",
        ],
    );
    ok(
        &b,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Uzavírka mostu",
        ],
    );
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    wait_until("identical state hashes", Duration::from_secs(15), || {
        state_hash(&a, &space) == state_hash(&b, &space)
    });
    assert_eq!(task_titles(&a, &space).len(), 3);
    assert_eq!(task_titles(&a, &space), task_titles(&b, &space));
    wait_until("nothing unsent on A", Duration::from_secs(10), || {
        json(&a, &["status", "--json"])["spaces"][0]["unsent"] == 0
    });
    b_serving.stop();
    a_serving.stop();
}

#[test]
fn peers_sync_over_quic_and_through_a_blind_relay_that_cannot_read() {
    let root = TempDir::new("sync-quic-relay");
    let a = root.path().join("Alena");
    ok(&a, &["init", "--name", "Alena"]);
    let space = ok(&a, &["space", "create", "Krizový štáb ORP Vsetín"]);
    let a_serving = serve_on(&a, "/ip4/127.0.0.1/udp/0/quic-v1", &[]);
    assert!(a_serving.addr.contains("/quic-v1/"), "{}", a_serving.addr);
    // B joins over QUIC (the invite carries A's QUIC address), then only ever talks to the relay.
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let r = root.path().join("relay");
    ok(&r, &["init", "--name", "Krajský server"]);
    let grant = relay_grant(&a, &space, &r);
    let r_serving = serve_on(
        &r,
        "/ip4/127.0.0.1/udp/0/quic-v1",
        &["--peer", &a_serving.addr, "--blind-relay", &grant],
    );
    let b_serving = serve(&b, &["--peer", &r_serving.addr]);
    let marker = "Přes relé: uzavřít lávku";
    ok(&a, &["task", "add", "--space", &space, "--title", marker]);
    wait_until(
        "A's write reaches B through the blind relay",
        Duration::from_secs(20),
        || has_task(&b, &space, marker),
    );
    ok(
        &b,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Odpověď přes relé",
        ],
    );
    wait_until("and B's write reaches A", Duration::from_secs(20), || {
        has_task(&a, &space, "Odpověď přes relé")
    });
    let relay = json(&r, &["status", "--json"]);
    assert_eq!(relay["spaces"][0]["holding"], "blind_relay", "{relay}");
    r_serving.stop();
    for entry in walk(&r) {
        let bytes = std::fs::read(&entry).expect("readable");
        assert!(
            !contains(&bytes, marker.as_bytes()),
            "the relay stored plaintext in {}",
            entry.display()
        );
    }
    b_serving.stop();
    a_serving.stop();
}

#[test]
fn a_write_reaches_the_far_end_through_the_peer_in_the_middle() {
    let root = TempDir::new("sync-line");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "secretary");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    // C is invited by B and only ever talks to B.
    let c = joined(&root, "Cyril", &b, &space, "member");
    let c_serving = serve(&c, &["--peer", &b_serving.addr]);

    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "První hlášení"],
    );
    wait_until(
        "A's write reaches C through B",
        Duration::from_secs(10),
        || has_task(&c, &space, "První hlášení"),
    );

    // B restarts in between: on the same address, so C's backoff redial finds it again.
    let b_addr = b_serving.addr.clone();
    b_serving.stop();
    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "Druhé hlášení"],
    );
    let listen = b_addr.split("/p2p/").next().expect("address").to_owned();
    let b_serving = {
        let mut child = Command::new(workspace_bin("krizlink-node"))
            .arg("--data-dir")
            .arg(&b)
            .args([
                "serve",
                "--listen",
                &listen,
                "--no-mdns",
                "--peer",
                &a_serving.addr,
            ])
            .env("KRIZLINK_PASSPHRASE", PASS)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("B restarts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("peer id");
        Serving::adopt(child, b_addr)
    };
    wait_until(
        "the second write reaches C after B restarted",
        Duration::from_secs(40),
        || has_task(&c, &space, "Druhé hlášení"),
    );
    wait_until("all three identical", Duration::from_secs(15), || {
        let h = state_hash(&a, &space);
        h == state_hash(&b, &space) && h == state_hash(&c, &space)
    });
    let c_status = json(&c, &["status", "--json"]);
    let a_peer = a_serving
        .addr
        .rsplit('/')
        .next()
        .expect("peer id")
        .to_owned();
    assert!(
        !c_status["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .any(|p| p["peer_id"] == a_peer.as_str()),
        "C never connected to A: {c_status}"
    );
    c_serving.stop();
    b_serving.stop();
    a_serving.stop();
}

#[test]
fn a_partition_with_conflicting_moves_heals_with_the_conflict_visible() {
    let root = TempDir::new("sync-partition");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    let task = ok(
        &a,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Hráz u Lidečka",
        ],
    );
    wait_until("the task reaches B", Duration::from_secs(10), || {
        has_task(&b, &space, "Hráz u Lidečka")
    });
    b_serving.stop();
    ok(
        &a,
        &["task", "status", "--space", &space, &task, "accepted"],
    );
    ok(
        &b,
        &["task", "status", "--space", &space, &task, "cancelled"],
    );
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    wait_until(
        "healed: identical state hashes",
        Duration::from_secs(15),
        || state_hash(&a, &space) == state_hash(&b, &space),
    );
    for dir in [&a, &b] {
        let tasks = json(dir, &["task", "list", "--space", &space, "--json"]);
        let t = &tasks[0];
        let mut seen = vec![t["status"].as_str().unwrap_or("").to_owned()];
        for s in t["status_conflicts"].as_array().expect("status_conflicts") {
            seen.push(s.as_str().unwrap_or("").to_owned());
        }
        seen.sort();
        assert_eq!(
            seen,
            ["accepted", "cancelled"],
            "both moves are visible on every side: {t}"
        );
    }
    b_serving.stop();
    a_serving.stop();
}

#[test]
fn kill_9_in_the_middle_of_a_sync_loses_nothing() {
    let root = TempDir::new("sync-kill");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let lines: String = (0..3000).map(|n| format!("Úkol číslo {n}\n")).collect();
    import_tasks(&a, &space, &lines);
    let b_log = b.join("spaces").join(format!("{space}.log"));
    let before = std::fs::metadata(&b_log).map(|m| m.len()).unwrap_or(0);
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    wait_until("B has started receiving", Duration::from_secs(20), || {
        std::fs::metadata(&b_log).map(|m| m.len()).unwrap_or(0) > before
    });
    b_serving.kill_9();
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    wait_until("converged after the crash", Duration::from_secs(60), || {
        state_hash(&a, &space) == state_hash(&b, &space)
    });
    assert_eq!(task_titles(&b, &space).len(), 3000);
    b_serving.stop();
    a_serving.stop();
}

/// Appends raw envelopes to a relay's log for `space`, as a hostile relay could.
fn plant(dir: &Path, space: &str, envelopes: &[Vec<u8>]) {
    let (mut log, _, _) =
        OpLog::open(&dir.join("spaces").join(format!("{space}.log"))).expect("relay log");
    for e in envelopes {
        log.append(e).expect("planted");
    }
}

#[test]
fn a_relay_gets_only_ciphertext_and_its_forgeries_are_rejected_by_every_member() {
    let root = TempDir::new("sync-outsider");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    let marker = "TAJNÉ-ČÍSLO-EVAKUACE-4471";
    ok(&a, &["task", "add", "--space", &space, "--title", marker]);
    let hash_before = state_hash(&a, &space);

    // A relay the chair granted (a hostile one, as it turns out) asks for everything.
    let o = root.path().join("outsider");
    ok(&o, &["init", "--name", "Cizí"]);
    let grant = relay_grant(&a, &space, &o);
    // A grant is for one device: another cannot use it.
    let other = root.path().join("other");
    ok(&other, &["init", "--name", "Jiný"]);
    let out = node(
        &other,
        &[
            "serve",
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--blind-relay",
            &grant,
        ],
    );
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("issued for another device"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o_serving = serve(&o, &["--peer", &a_serving.addr, "--blind-relay", &grant]);
    let o_log = o.join("spaces").join(format!("{space}.log"));
    wait_until(
        "the outsider holds the ciphertext",
        Duration::from_secs(10),
        || {
            json(&o, &["status", "--json"])["spaces"][0]["operations"]
                .as_u64()
                .unwrap_or(0)
                >= json(&a, &["status", "--json"])["spaces"][0]["operations"]
                    .as_u64()
                    .unwrap_or(u64::MAX)
        },
    );
    o_serving.stop();
    for entry in walk(&o) {
        let bytes = std::fs::read(&entry).expect("readable");
        assert!(
            !contains(&bytes, marker.as_bytes()),
            "{} holds the plaintext",
            entry.display()
        );
    }
    let out = node(&o, &["task", "list", "--space", &space]);
    assert!(!out.status.success(), "the outsider cannot read the space");

    // Forgeries: an operation signed with the outsider's own key, and a member's envelope
    // with a changed header (a later sequence number) under the member's old signature.
    let intruder = DeviceKeys::generate().expect("keys");
    let space_id = space.parse().expect("space id");
    let forged_op = Operation::new_record(
        OpId {
            device: intruder.device_id(),
            seq: 1,
        },
        Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 0,
        },
        space_id,
        RecordKind::Task,
        vec![krizlink_core::Change::Set {
            value: krizlink_core::FieldValue::Title("Podvržený úkol".into()),
            bases: Default::default(),
        }],
    )
    .expect("op");
    let own_key = Envelope::seal(
        &forged_op,
        0,
        1,
        &SpaceKey::generate().expect("key"),
        &intruder,
    )
    .expect("sealed")
    .encode()
    .expect("encoded");
    let (_, entries, _) = OpLog::open(&o_log).expect("log");
    let mut replayed = Envelope::decode(entries.last().expect("an envelope")).expect("decodes");
    replayed.id.seq += 100;
    let replayed = replayed.encode().expect("encoded");
    plant(&o, &space, &[own_key, replayed]);

    let o_serving = serve(&o, &["--peer", &a_serving.addr, "--peer", &b_serving.addr]);
    for member in [&a, &b] {
        wait_until(
            "both forgeries audited as rejected",
            Duration::from_secs(15),
            || {
                let audit = std::fs::read_to_string(member.join("audit.log")).unwrap_or_default();
                audit.matches("operation_rejected").count() >= 2
                    && audit.contains(&intruder.device_id().to_string())
            },
        );
    }
    assert_eq!(
        state_hash(&a, &space),
        hash_before,
        "nothing forged applied on A"
    );
    assert_eq!(
        state_hash(&b, &space),
        hash_before,
        "nothing forged applied on B"
    );
    assert!(!has_task(&a, &space, "Podvržený úkol"));
    o_serving.stop();
    b_serving.stop();
    a_serving.stop();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_none_or(|e| e != "sock") {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

mod garbage {
    //! A libp2p client that speaks the sync protocol's name but sends raw bytes.
    use super::libp2p;
    use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use libp2p::StreamProtocol;
    use std::io;

    #[derive(Clone, Default)]
    pub struct RawCodec;

    impl libp2p::request_response::Codec for RawCodec {
        type Protocol = StreamProtocol;
        type Request = Vec<u8>;
        type Response = Vec<u8>;

        async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
        where
            T: AsyncRead + Unpin + Send,
        {
            let mut buf = Vec::new();
            io.take(1 << 20).read_to_end(&mut buf).await?;
            Ok(buf)
        }

        async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
        where
            T: AsyncRead + Unpin + Send,
        {
            let mut buf = Vec::new();
            io.take(8 << 20).read_to_end(&mut buf).await?;
            Ok(buf)
        }

        async fn write_request<T>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            req: Vec<u8>,
        ) -> io::Result<()>
        where
            T: AsyncWrite + Unpin + Send,
        {
            io.write_all(&req).await?;
            io.close().await
        }

        async fn write_response<T>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            res: Vec<u8>,
        ) -> io::Result<()>
        where
            T: AsyncWrite + Unpin + Send,
        {
            io.write_all(&res).await?;
            io.close().await
        }
    }
}

/// Sends each raw request over the sync protocol, each from a fresh libp2p identity on a new
/// connection; returns how many got an answer.
fn send_raw(addr: &str, requests: Vec<Vec<u8>>) -> usize {
    send_raw_on(addr, krizlink_core::engine::sync::proto::PROTOCOL, requests)
}

/// [`send_raw`] on a given protocol name.
fn send_raw_on(addr: &str, protocol: libp2p::StreamProtocol, requests: Vec<Vec<u8>>) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    requests
        .into_iter()
        .filter(|r| runtime.block_on(send_one(addr, protocol.clone(), r.clone())))
        .count()
}

async fn send_one(addr: &str, protocol: libp2p::StreamProtocol, request: Vec<u8>) -> bool {
    use libp2p::futures::StreamExt;
    use libp2p::request_response::{self, ProtocolSupport};
    use libp2p::swarm::SwarmEvent;
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                garbage::RawCodec,
                [(protocol, ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(5)),
            )
        })
        .expect("behaviour")
        .build();
    let addr: libp2p::Multiaddr = addr.parse().expect("multiaddr");
    let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() else {
        panic!("address has a peer id");
    };
    swarm.dial(addr).expect("dial");
    let deadline = tokio::time::sleep(Duration::from_secs(8));
    tokio::pin!(deadline);
    let mut request = Some(request);
    loop {
        tokio::select! {
            () = &mut deadline => return false,
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { .. } => {
                    if let Some(r) = request.take() {
                        swarm.behaviour_mut().send_request(&peer, r);
                    }
                }
                SwarmEvent::Behaviour(request_response::Event::Message { .. }) => return true,
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. })
                | SwarmEvent::OutgoingConnectionError { .. } => return false,
                _ => {}
            },
        }
    }
}

#[test]
fn malformed_traffic_does_not_stop_a_peer_serving_its_members() {
    let root = TempDir::new("sync-garbage");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");

    // Below libp2p: random bytes and an oversize junk stream on the listen port.
    let port: u16 = a_serving
        .addr
        .split('/')
        .nth(4)
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for size in [64usize, 4096, 8 << 20] {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let junk: Vec<u8> = (0..size)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = s.write_all(&junk);
        }
    }
    // Inside the sync protocol: a frame claiming 4 GiB, a frame of random bytes, a wrong
    // version, trailing bytes after a valid message, and a valid push of junk envelopes.
    let frame = |body: Vec<u8>| {
        let mut f = (body.len() as u32).to_le_bytes().to_vec();
        f.extend(body);
        f
    };
    let valid_push = krizlink_core::engine::sync::proto::encode(
        &krizlink_core::engine::sync::proto::Request::Push {
            space: space.parse().expect("space"),
            envelopes: krizlink_core::engine::sync::proto::envelopes_to_wire(vec![
                vec![1, 2, 3],
                vec![0xff; 500],
            ])
            .expect("wire"),
        },
    )
    .expect("encoded");
    let mut trailing = valid_push.clone();
    trailing.push(0);
    let requests = vec![
        vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3],
        frame((0..300u32).map(|i| (i * 7) as u8).collect()),
        frame(vec![99, 0, 0]),
        frame(trailing),
        frame(valid_push),
    ];
    let answered = send_raw(&a_serving.addr, requests);
    assert_eq!(answered, 1, "only the valid push got an answer");
    // A peer of the previous protocol version gets no answer, and the node says why.
    let old = libp2p::StreamProtocol::new("/krizlink/sync/2");
    assert_eq!(
        send_raw_on(&a_serving.addr, old, vec![vec![1, 0, 0, 0, 0]]),
        0
    );
    wait_until(
        "the node says why it does not sync",
        Duration::from_secs(5),
        || a_serving.log().contains("does not speak /krizlink/sync/4"),
    );

    // The member still syncs both ways.
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    ok(
        &b,
        &["task", "add", "--space", &space, "--title", "Po útoku"],
    );
    wait_until("B's write still reaches A", Duration::from_secs(10), || {
        has_task(&a, &space, "Po útoku")
    });
    let log = a_serving.log();
    assert!(
        log.contains("disconnecting peer"),
        "the peer that broke the protocol was disconnected and logged: {log}"
    );
    b_serving.stop();
    a_serving.stop();
}

#[test]
fn two_idle_synced_peers_use_almost_no_cpu_and_still_sync() {
    let root = TempDir::new("sync-idle");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    let lines: String = (0..50)
        .map(|n| format!("Úkol na klidné odpoledne {n}\n"))
        .collect();
    import_tasks(&a, &space, &lines);
    wait_until("B has the 50 tasks", Duration::from_secs(20), || {
        task_titles(&b, &space).len() == 50
    });
    std::thread::sleep(Duration::from_secs(2));

    // Nothing to do for 10 s. Two peers that pulled each other without end (every pull was
    // pulled back) used about 6 s of CPU each here in a debug build; quiet ones use a few
    // hundredths (the 250 ms timer, a pull round now and then, libp2p's pings). The bound
    // leaves room for a loaded machine either way.
    let idle = Duration::from_secs(10);
    let (a0, b0) = (a_serving.cpu_time(), b_serving.cpu_time());
    std::thread::sleep(idle);
    let (a_cpu, b_cpu) = (a_serving.cpu_time() - a0, b_serving.cpu_time() - b0);
    let bound = Duration::from_millis(1000);
    assert!(
        a_cpu < bound && b_cpu < bound,
        "idle for {idle:?}, A used {a_cpu:?} and B {b_cpu:?} of CPU (bound {bound:?})"
    );

    // Quiet is not deaf: a write after the idle spell still arrives promptly (a push), both ways.
    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "Po klidu z A"],
    );
    wait_until(
        "A's write reaches B after idling",
        Duration::from_secs(5),
        || has_task(&b, &space, "Po klidu z A"),
    );
    ok(
        &b,
        &["task", "add", "--space", &space, "--title", "Po klidu z B"],
    );
    wait_until(
        "B's write reaches A after idling",
        Duration::from_secs(5),
        || has_task(&a, &space, "Po klidu z B"),
    );
    b_serving.stop();
    a_serving.stop();
}

#[test]
fn a_damaged_op_log_is_reported_once_not_on_every_batch() {
    let root = TempDir::new("sync-damaged");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    for i in 0..3 {
        ok(
            &a,
            &[
                "task",
                "add",
                "--space",
                &space,
                "--title",
                &format!("Před {i}"),
            ],
        );
    }
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    wait_until("B has the tasks", Duration::from_secs(10), || {
        task_titles(&b, &space).len() == 3
    });
    b_serving.stop();
    // Damage an early entry of B's log: the space is read-only on B until it is repaired.
    let log = b.join("spaces").join(format!("{space}.log"));
    let frames = OpLog::read_intact_prefix(&log).expect("log");
    assert!(frames.len() >= 3, "{} entries", frames.len());
    let at = frames[0].len() + 8 + 8 + 10;
    let mut bytes = std::fs::read(&log).expect("log");
    bytes[at] ^= 0xff;
    std::fs::write(&log, &bytes).expect("write");

    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "Po poškození"],
    );
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    // New operations arrive by pulls (on connecting, and in rounds) and by pushes.
    for i in 0..3 {
        std::thread::sleep(Duration::from_secs(1));
        ok(
            &a,
            &[
                "task",
                "add",
                "--space",
                &space,
                "--title",
                &format!("Další {i}"),
            ],
        );
    }
    std::thread::sleep(Duration::from_secs(3));
    let told: Vec<String> = b_serving
        .log()
        .lines()
        .filter(|l| l.contains("cannot store") || l.contains("is not synced"))
        .map(str::to_owned)
        .collect();
    assert!(
        told.len() <= 1,
        "the read-only space is reported at most once, not per batch: {told:#?}"
    );
    assert_eq!(
        std::fs::read(&log).expect("log"),
        bytes,
        "the damaged file is left for an administrator"
    );
    b_serving.stop();
    a_serving.stop();
}

/// A laptop whose clock ran a month ahead (faketime) wrote a task offline; then its clock was
/// put right and it wrote another. It is told at once, its staff get both tasks within
/// seconds, and nobody's clock is dragged into the future.
#[test]
fn a_laptop_whose_clock_ran_a_month_ahead_is_not_cut_off_from_its_staff() {
    let root = TempDir::new("sync-clock-ahead");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    let ahead = Command::new("faketime")
        .args(["-f", "+30d"])
        .arg(workspace_bin("krizlink-node"))
        .arg("--data-dir")
        .arg(&b)
        .args([
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Psáno s hodinami napřed",
        ])
        .env("KRIZLINK_PASSPHRASE", PASS)
        .output()
        .expect("faketime runs (scripts/setup.sh installs it)");
    assert!(
        ahead.status.success(),
        "{}",
        String::from_utf8_lossy(&ahead.stderr)
    );
    // The clock is right again: the next write says what happened and goes out as usual.
    let out = node(
        &b,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Psáno se správnými hodinami",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(
        told.contains("Hodiny tohoto počítače šly napřed (o 30 d)") && told.contains("1 zápis"),
        "the person is told at once: {told}"
    );
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    wait_until(
        "both tasks reach the staff",
        Duration::from_secs(15),
        || task_titles(&a, &space).len() == 2,
    );
    wait_until("nothing unsent on B", Duration::from_secs(15), || {
        json(&b, &["status", "--json"])["spaces"][0]["unsent"] == 0
    });
    // Nobody's clock is in the future: A's next task is stamped now, not in a month.
    ok(
        &a,
        &["task", "add", "--space", &space, "--title", "Psáno u štábu"],
    );
    let tasks = json(&a, &["task", "list", "--space", &space, "--json"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let tomorrow = krizlink_core::Timestamp(now + 24 * 3600 * 1000)
        .to_datetime()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .expect("a time");
    for t in tasks.as_array().expect("array") {
        let created = t["created_at"].as_str().unwrap_or("~");
        assert!(created < tomorrow.as_str(), "stamped in the future: {t}");
    }
    let audit = std::fs::read_to_string(b.join("audit.log")).expect("B's audit log");
    assert!(audit.contains("\"event\":\"writes_restamped\""), "audited");
    b_serving.stop();
    a_serving.stop();
}

/// A laptop serving with its clock a month ahead is told at once, while the clock is still
/// wrong: on the write itself (a command forwarded to its serving node), and its staff's node
/// says the same from its side in its log.
#[test]
fn a_clock_a_month_ahead_is_told_on_the_write_while_it_is_still_wrong() {
    let root = TempDir::new("sync-clock-told");
    let (a, space, a_serving) = founder(&root, "Alena");
    let b = joined(&root, "Bedřich", &a, &space, "member");
    // libfaketime preloaded by `env`, which execs the node itself (the `faketime` wrapper
    // forks, so a signal to it would not reach the node).
    let preload = std::fs::read_dir("/usr/lib")
        .expect("/usr/lib")
        .flatten()
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists())
        .expect("libfaketime (scripts/setup.sh installs faketime)");
    let preload = format!("LD_PRELOAD={}", preload.display());
    let b_serving = serve_under(
        &[
            "env",
            &preload,
            "FAKETIME=+30d",
            "FAKETIME_DONT_FAKE_MONOTONIC=1",
        ],
        &b,
        "/ip4/127.0.0.1/tcp/0",
        &["--peer", &a_serving.addr],
    );
    wait_until(
        "A's node says its clock and its staff's disagree",
        Duration::from_secs(20),
        || a_serving.log().contains("jdou o 30 d pozadu"),
    );
    let out = node(
        &b,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Psáno s hodinami napřed",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(
        told.contains("Hodiny tohoto počítače jdou o 30 d napřed")
            && told.contains("štáb nepřijme"),
        "the write says the clock is wrong while it is: {told}"
    );
    assert!(
        b_serving.log().contains("jdou o 30 d napřed"),
        "and B's node logs it"
    );
    b_serving.stop();
    a_serving.stop();
}

/// A founder A (serving) and a member B whose data dir is copied aside (the backup), then
/// writes "Psáno před poruchou", which reaches A; B stops serving. Returns A, the space, A's
/// serving, B and the backup.
fn backed_up_then_written(root: &TempDir) -> (PathBuf, String, Serving, PathBuf, PathBuf) {
    let (a, space, a_serving) = founder(root, "Alena");
    let b = joined(root, "Bedřich", &a, &space, "member");
    let backup = root.path().join("Bedřich-backup");
    let copied = Command::new("cp").arg("-a").arg(&b).arg(&backup).status();
    assert!(copied.is_ok_and(|s| s.success()), "backup copied");
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    ok(
        &b,
        &[
            "task",
            "add",
            "--space",
            &space,
            "--title",
            "Psáno před poruchou",
        ],
    );
    wait_until("A has B's task", Duration::from_secs(15), || {
        has_task(&a, &space, "Psáno před poruchou")
    });
    b_serving.stop();
    (a, space, a_serving, b, backup)
}

/// Puts `backup` back as `b` and writes "Psáno po obnovení" there, offline: the number B's
/// lost write had, other content. (A real restore takes longer than the second the start
/// counter's floor needs to move on.)
fn restore_and_write(b: &Path, backup: &Path, space: &str) {
    std::fs::remove_dir_all(b).expect("old dir removed");
    std::fs::rename(backup, b).expect("backup restored");
    std::thread::sleep(Duration::from_millis(1100));
    ok(
        b,
        &[
            "task",
            "add",
            "--space",
            space,
            "--title",
            "Psáno po obnovení",
        ],
    );
}

/// A laptop's data dir is restored from a backup and written on while it is away: it now holds
/// other writes under numbers its staff already have. When it meets its staff again, both
/// sides report the forked device (audit, status), every replica keeps the same write under
/// the old number, and the laptop writes its own again under a fresh one: every node ends with
/// both writes and the same state.
#[test]
fn a_restored_laptop_written_on_is_healed_so_every_node_has_both_writes() {
    let root = TempDir::new("sync-restored");
    let (a, space, a_serving, b, backup) = backed_up_then_written(&root);
    // A third member, who saw the write before the failure, syncs with A only.
    let c = joined(&root, "Cyril", &a, &space, "member");
    let c_serving = serve(&c, &["--peer", &a_serving.addr]);
    wait_until("C has B's task", Duration::from_secs(15), || {
        has_task(&c, &space, "Psáno před poruchou")
    });
    // The backup is put back, and B writes offline: the same number, other content.
    restore_and_write(&b, &backup, &space);
    let b_serving = serve(&b, &["--peer", &a_serving.addr]);
    let forked = |dir: &Path| {
        json(dir, &["status", "--json"])["forked_devices"]
            .as_array()
            .map(|f| f.len())
            .unwrap_or(0)
    };
    let both = |dir: &Path| {
        has_task(dir, &space, "Psáno před poruchou") && has_task(dir, &space, "Psáno po obnovení")
    };
    wait_until(
        "every node has both writes",
        Duration::from_secs(30),
        || both(&a) && both(&b) && both(&c),
    );
    wait_until(
        "every node has the same state",
        Duration::from_secs(30),
        || {
            let h = state_hash(&a, &space);
            h == state_hash(&b, &space) && h == state_hash(&c, &space)
        },
    );
    wait_until("A reports B forked", Duration::from_secs(15), || {
        forked(&a) == 1
    });
    let status = json(&b, &["status", "--json"]);
    assert_eq!(status["forked_devices"][0]["this_device"], true, "{status}");
    let told = status["notices"].to_string();
    assert!(
        told.contains("Byly zapsány znovu pod novými čísly") && told.contains(" / "),
        "the person on the restored laptop is told: {told}"
    );
    assert_eq!(task_titles(&a, &space).len(), 2, "no write twice");
    let audit = std::fs::read_to_string(a.join("audit.log")).expect("A's audit log");
    assert_eq!(
        audit.matches("\"event\":\"device_forked\"").count(),
        1,
        "audited once"
    );
    let audit = std::fs::read_to_string(b.join("audit.log")).expect("B's audit log");
    assert!(audit.contains("\"event\":\"fork_healed\""), "audited");
    c_serving.stop();
    b_serving.stop();
    a_serving.stop();
}

/// The same restore, met first by a blind relay: it takes the restored laptop's write (it
/// cannot read it), then meets the staff, which hold another write under that number. It keeps
/// the staff's, as every member would (the rule needs only the clear header), and the laptop,
/// which talks to the relay alone, ends with both writes like everyone else.
#[test]
fn a_blind_relay_that_took_the_restored_laptops_write_first_keeps_what_members_keep() {
    let root = TempDir::new("sync-restored-relay");
    let (a, space, a_serving, b, backup) = backed_up_then_written(&root);
    restore_and_write(&b, &backup, &space);
    // The relay meets the restored laptop first, and takes everything it holds.
    let r = root.path().join("relay");
    ok(&r, &["init", "--name", "Krajský server"]);
    let grant = relay_grant(&a, &space, &r);
    let b_serving = serve(&b, &[]);
    let r_serving = serve(&r, &["--peer", &b_serving.addr, "--blind-relay", &grant]);
    let operations =
        |dir: &Path| json(dir, &["status", "--json"])["spaces"][0]["operations"].clone();
    wait_until("the relay holds B's write", Duration::from_secs(20), || {
        operations(&r) == operations(&b)
    });
    r_serving.stop();
    b_serving.stop();
    // Then the staff, and the laptop talks to the relay alone.
    let r_serving = serve(&r, &["--peer", &a_serving.addr, "--blind-relay", &grant]);
    let b_serving = serve(&b, &["--peer", &r_serving.addr]);
    let both = |dir: &Path| {
        has_task(dir, &space, "Psáno před poruchou") && has_task(dir, &space, "Psáno po obnovení")
    };
    wait_until("A and B have both writes", Duration::from_secs(30), || {
        both(&a) && both(&b)
    });
    wait_until(
        "A and B have the same state",
        Duration::from_secs(30),
        || state_hash(&a, &space) == state_hash(&b, &space),
    );
    let audit = std::fs::read_to_string(r.join("audit.log")).expect("the relay's audit log");
    assert!(
        audit.contains("\"event\":\"fork_healed\""),
        "the relay replaced the loser"
    );
    b_serving.stop();
    r_serving.stop();
    a_serving.stop();
}
