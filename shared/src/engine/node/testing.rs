//! Helpers for the tests of the node's submodules: a staff of a chair and a joined member on
//! disk, a sync between two nodes in process, a task written, the titles a node shows.

use super::*;
use crate::engine::keystore::KdfParams;
use crate::record::FieldValue;

pub(crate) const PASS: &str = "heslo-pro-test";

/// A fresh scratch directory.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krizlink-node-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// A new identity at `dir/name`.
pub(crate) fn new_node(dir: &Path, name: &str) -> Node {
    Node::init(&dir.join(name), name, PASS, KdfParams::for_tests()).unwrap()
}

/// A chair at `dir/chair` with one space, and a member at `dir/member` that joined it and
/// holds what the chair holds.
pub(crate) fn staff(dir: &Path) -> (Node, Node, SpaceId) {
    let mut chair = new_node(dir, "chair");
    let space = chair.create_space("Krizový štáb ORP Vsetín").unwrap();
    let member = joined(&mut chair, space, dir, "member");
    (chair, member, space)
}

/// A new device at `dir/name`, invited by `chair` into `space` and synced from it.
pub(crate) fn joined(chair: &mut Node, space: SpaceId, dir: &Path, name: &str) -> Node {
    joined_as(chair, space, dir, name, StaffRole::Member, None)
}

/// A new device at `dir/name` invited by `chair` as `role` (bound to `orp`), synced from it.
pub(crate) fn joined_as(
    chair: &mut Node,
    space: SpaceId,
    dir: &Path,
    name: &str,
    role: StaffRole,
    orp: Option<&str>,
) -> Node {
    let code = chair.create_invite_for(space, role, orp, 60).unwrap();
    let mut node = new_node(dir, name);
    let request = node.request_join(&code).unwrap();
    let welcome = chair.accept_join(&request).unwrap();
    node.finish_join(&welcome).unwrap();
    sync(chair, &mut node, space);
    node
}

/// Sends `to` everything `from` holds of `space` that `to` lacks.
pub(crate) fn sync(from: &Node, to: &mut Node, space: SpaceId) -> Received {
    let theirs = to.replica(space).unwrap().version_vector().clone();
    let (batch, _) = from
        .envelopes_missing_from(space, &theirs, 10_000, usize::MAX)
        .unwrap();
    to.receive(space, batch, "test peer").unwrap()
}

/// What a pull of `space` by `to` from `from` brings (the newer member lists, then the
/// envelopes, tips compared, as `sync` does), stored by `to`.
pub(crate) fn pull(from: &Node, to: &mut Node, space: SpaceId) -> Received {
    let lists = from.member_lists_newer_than(space, to.member_list_mark(space));
    to.accept_member_lists(space, lists, "test peer").unwrap();
    let have = to.have(space).unwrap();
    let tips = to.tips(space, &have);
    let ends: Vec<(DeviceId, u64)> = have.devices().map(|(d, s)| (*d, *s)).collect();
    let mut batch = from.envelopes_at_other_tips(space, &ends, &tips);
    let (missing, _) = from
        .envelopes_missing_from(space, &have, 10_000, usize::MAX)
        .unwrap();
    batch.extend(missing);
    to.receive(space, batch, "test peer").unwrap()
}

/// A staff whose member's laptop was backed up, then wrote a task that reached the chair:
/// the chair, the space, and the backup's path (the member is closed). A second passes
/// before it returns, so that a copy started now takes a higher session than the member's
/// last run (the start counter never falls below the seconds since 2020).
pub(crate) fn backed_up_then_written(dir: &Path) -> (Node, SpaceId, PathBuf) {
    let (mut chair, member, space) = staff(dir);
    member.close().unwrap();
    let copy = dir.join("member-copy");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.join("member"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(copied.success());
    let mut member = Node::open(&dir.join("member"), PASS).unwrap();
    task(&mut member, space, "Zápis před obnovou");
    sync(&member, &mut chair, space);
    member.close().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    (chair, space, copy)
}

/// A new device at `dir/name` that relays `space` blind, granted by `chair`.
pub(crate) fn granted_relay(chair: &mut Node, space: SpaceId, dir: &Path, name: &str) -> Node {
    let mut relay = new_node(dir, name);
    let grant = chair.grant_relay(space, relay.device_id()).unwrap();
    assert_eq!(relay.accept_relay_grant(&grant).unwrap(), (space, true));
    relay
}

/// The envelope `node` holds for operation `seq` of `device`.
pub(crate) fn envelope_at(node: &Node, space: SpaceId, device: DeviceId, seq: u64) -> Vec<u8> {
    let store = match node.spaces.get(&space) {
        Some(st) => &st.store,
        None => &node.relays.get(&space).unwrap().store,
    };
    store.get(&OpId { device, seq }).unwrap().to_vec()
}

/// Writes a task titled `title`.
pub(crate) fn task(node: &mut Node, space: SpaceId, title: &str) -> RecordId {
    node.create_record(
        space,
        RecordKind::Task,
        vec![Change::Set {
            value: FieldValue::Title(title.into()),
            bases: Default::default(),
        }],
    )
    .unwrap()
}

/// The titles of the tasks `node` shows, sorted.
pub(crate) fn titles(node: &Node, space: SpaceId) -> Vec<String> {
    let mut t: Vec<String> = node
        .replica(space)
        .unwrap()
        .tasks()
        .into_iter()
        .map(|t| t.title)
        .collect();
    t.sort();
    t
}
