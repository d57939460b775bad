//! Tests of the sync loop's bookkeeping (the parent module), without a network: proofs per
//! peer, the push outbox, pulls under way and in flight, refusals, the pulled backlog, the idle
//! back-off, pull-backs, "unsent".

use super::*;

fn space(n: u8) -> SpaceId {
    SpaceId([n; 16])
}

fn op(device: u8, seq: u64) -> OpId {
    OpId {
        device: DeviceId([device; 32]),
        seq,
    }
}

fn vv(entries: &[(u8, u64)]) -> VersionVector {
    let mut vv = VersionVector::new();
    for (device, seq) in entries {
        vv.advance(DeviceId([*device; 32]), *seq);
    }
    vv
}

fn addr() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/7470".parse().unwrap()
}

/// Connects `peer`, which proves holding `spaces`.
fn proven(st: &mut SyncState, peer: PeerId, spaces: &[SpaceId]) {
    st.connected(peer, addr());
    st.challenge_sent(peer);
    st.challenge_answered(&peer, spaces.iter().copied().collect());
}

#[test]
fn nothing_of_a_space_goes_to_a_peer_before_it_proved_the_space() {
    let mut st = SyncState::default();
    let (peer, other, now) = (PeerId::random(), PeerId::random(), Instant::now());
    st.connected(peer, addr());
    st.connected(other, addr());
    assert!(!st.is_proving(&peer));
    st.challenge_sent(peer);
    assert!(st.is_proving(&peer), "its requests wait for the answer");
    assert!(!st.should_pull(&peer, space(1), true, now), "not proven");
    assert!(st.push_targets(space(1), None).is_empty());
    st.challenge_answered(&peer, BTreeSet::from([space(1)]));
    assert!(!st.is_proving(&peer));
    assert!(st.proved(&peer, space(1)) && !st.proved(&peer, space(2)));
    assert!(st.should_pull(&peer, space(1), false, now));
    assert!(!st.should_pull(&peer, space(2), true, now), "another space");
    assert_eq!(st.push_targets(space(1), None), vec![peer]);
    assert!(st.push_targets(space(1), Some(peer)).is_empty(), "not back");
    // A later proof adds to the first (a space joined meanwhile); a failed one takes
    // nothing away.
    st.challenge_sent(peer);
    st.challenge_answered(&peer, BTreeSet::from([space(2)]));
    st.challenge_sent(peer);
    st.challenge_failed(&peer);
    assert!(st.proved(&peer, space(1)) && st.proved(&peer, space(2)));
    assert!(!st.is_proving(&peer));
    // A stranger's failed challenge proves nothing; a disconnect forgets every proof.
    st.challenge_sent(other);
    st.challenge_failed(&other);
    assert!(!st.proved(&other, space(1)));
    st.disconnected(&peer);
    st.connected(peer, addr());
    assert!(!st.proved(&peer, space(1)), "proofs are per connection");
}

#[test]
fn pushes_wait_in_a_bounded_outbox_until_the_peer_has_room() {
    let mut st = SyncState::default();
    let peer = PeerId::random();
    proven(&mut st, peer, &[space(1), space(2)]);
    assert_eq!(
        st.queue_push(peer, space(1), &[vec![1], vec![2], vec![3]]),
        0
    );
    assert_eq!(st.queue_push(peer, space(2), &[vec![4]]), 0);
    assert_eq!(st.peers_with_pushes(), vec![peer]);
    assert_eq!(
        st.next_push(&peer, 2, 1 << 20),
        Some((space(1), vec![vec![1], vec![2]]))
    );
    assert_eq!(
        st.next_push(&peer, 2, 1 << 20),
        None,
        "one push under way at a time"
    );
    st.push_done(&peer);
    assert_eq!(
        st.next_push(&peer, 2, 1 << 20),
        Some((space(1), vec![vec![3]]))
    );
    st.push_done(&peer);
    for _ in 0..MAX_INFLIGHT_PER_PEER {
        st.request_sent(peer);
    }
    assert_eq!(st.next_push(&peer, 2, 1 << 20), None, "no room");
    st.request_done(&peer);
    assert_eq!(
        st.next_push(&peer, 2, 1 << 20),
        Some((space(2), vec![vec![4]]))
    );
    st.push_done(&peer);
    assert_eq!(st.next_push(&peer, 2, 1 << 20), None);
    assert!(st.peers_with_pushes().is_empty());
    assert_eq!(
        st.queue_push(peer, space(1), &[vec![1; 10], vec![2; 10]]),
        0
    );
    assert_eq!(
        st.next_push(&peer, 2, 15),
        Some((space(1), vec![vec![1; 10]])),
        "the byte bound, but at least one"
    );
    st.push_done(&peer);
    assert_eq!(
        st.next_push(&peer, 2, 5),
        Some((space(1), vec![vec![2; 10]]))
    );
    st.push_done(&peer);
    let big = vec![vec![0u8; 1 << 20]; 10];
    assert_eq!(
        st.queue_push(peer, space(1), &big),
        2,
        "beyond the bytes: dropped"
    );
    while st.next_push(&peer, 1000, usize::MAX).is_some() {
        st.push_done(&peer);
    }
    let many = vec![vec![0u8]; MAX_OUTBOX_OPS + 5];
    assert_eq!(
        st.queue_push(peer, space(1), &many),
        5,
        "beyond the bound: dropped"
    );
    assert_eq!(
        st.queue_push(PeerId::random(), space(1), &many[..3]),
        3,
        "not connected"
    );
}

#[test]
fn a_pull_waits_for_the_one_under_way_and_for_its_batch_to_be_stored() {
    let mut st = SyncState::default();
    let (peer, now) = (PeerId::random(), Instant::now());
    assert!(!st.should_pull(&peer, space(1), true, now), "not connected");
    proven(&mut st, peer, &[space(1), space(2)]);
    assert!(st.should_pull(&peer, space(1), false, now));
    st.pull_started(&peer, space(1));
    st.request_sent(peer);
    assert!(!st.should_pull(&peer, space(1), true, now), "one under way");
    assert!(
        st.should_pull(&peer, space(2), false, now),
        "other spaces go on"
    );
    st.request_done(&peer);
    st.pull_ended(&peer, space(1));
    st.saw_holding(peer, space(1), &vv(&[(1, 3)]), now, Utc::now());
    st.queue(peer, space(1), vec![vec![1]]);
    assert!(
        !st.should_pull(&peer, space(1), true, now),
        "its batch is not stored yet"
    );
    assert_eq!(st.next_batch(), Some((peer, space(1), vec![vec![1]])));
    assert!(!st.has_backlog());
    assert!(st.should_pull(&peer, space(1), false, now));
    st.queue(peer, space(1), Vec::new());
    assert!(!st.has_backlog(), "an empty batch is not queued");
}

#[test]
fn requests_in_flight_are_bounded_per_peer() {
    let mut st = SyncState::default();
    let (peer, now) = (PeerId::random(), Instant::now());
    proven(&mut st, peer, &[space(1)]);
    for _ in 0..MAX_INFLIGHT_PER_PEER {
        st.request_sent(peer);
    }
    assert!(!st.should_pull(&peer, space(1), true, now));
    st.request_done(&peer);
    assert!(st.should_pull(&peer, space(1), true, now));
    st.disconnected(&peer);
    st.request_done(&peer); // an answer after the disconnect changes nothing
    assert!(!st.is_tracked(&peer));
}

#[test]
fn a_refused_space_is_asked_again_only_with_a_reason_or_after_a_while() {
    let mut st = SyncState::default();
    let (peer, t0) = (PeerId::random(), Instant::now());
    proven(&mut st, peer, &[space(1)]);
    st.pull_started(&peer, space(1));
    st.refused(&peer, space(1), t0);
    let soon = t0 + Duration::from_secs(1);
    assert!(!st.should_pull(&peer, space(1), false, soon));
    assert!(
        st.should_pull(&peer, space(1), true, soon),
        "pulled by it, or pushed"
    );
    assert!(st.should_pull(&peer, space(1), false, t0 + REPROBE));
    st.holds(&peer, space(1), soon);
    assert!(st.should_pull(&peer, space(1), false, soon));
}

#[test]
fn the_next_pull_assumes_only_what_continues_each_sequence() {
    let mut st = SyncState::default();
    let peer = PeerId::random();
    let here = vv(&[(1, 2)]);
    let batch = [op(1, 3), op(1, 4), op(1, 6), op(2, 1), op(2, 3)];
    let assumed = st.assume_stored(peer, space(1), Some(&here), batch);
    assert_eq!(assumed, vv(&[(1, 4), (2, 1)]));
    // The next batch continues from what was assumed, even before anything is stored.
    let assumed = st.assume_stored(peer, space(1), Some(&here), [op(1, 5), op(2, 2)]);
    assert_eq!(assumed, vv(&[(1, 5), (2, 2)]));
    // Once caught up, the next pull starts from what is stored.
    st.caught_up(peer, space(1));
    let assumed = st.assume_stored(peer, space(1), None, []);
    assert_eq!(assumed, VersionVector::new());
}

#[test]
fn a_failed_store_drops_what_was_assumed_and_queued_for_that_peer_and_space() {
    let mut st = SyncState::default();
    let (a, b) = (PeerId::random(), PeerId::random());
    st.assume_stored(a, space(1), None, [op(1, 1)]);
    st.assume_stored(a, space(2), None, [op(1, 1)]);
    st.queue(a, space(1), vec![vec![1]]);
    st.queue(b, space(1), vec![vec![2]]);
    st.queue(a, space(1), vec![vec![3]]);
    st.queue(a, space(2), vec![vec![4]]);
    assert_eq!(st.next_batch(), Some((a, space(1), vec![vec![1]])));
    st.store_failed(a, space(1));
    assert_eq!(st.next_batch(), Some((b, space(1), vec![vec![2]])));
    assert_eq!(st.next_batch(), Some((a, space(2), vec![vec![4]])));
    assert_eq!(st.next_batch(), None);
    assert_eq!(
        st.assume_stored(a, space(1), None, []),
        VersionVector::new(),
        "forgotten"
    );
    assert_eq!(
        st.assume_stored(a, space(2), None, []),
        vv(&[(1, 1)]),
        "kept"
    );
}

#[test]
fn unsent_counts_what_no_peer_was_seen_to_hold_even_after_it_left() {
    let mut st = SyncState::default();
    let me = DeviceId([1; 32]);
    let (a, b, now) = (PeerId::random(), PeerId::random(), Instant::now());
    assert_eq!(st.unsent(space(1), &me, 7), 7);
    st.connected(a, addr());
    st.connected(b, addr());
    st.saw_holding(a, space(1), &vv(&[(1, 3)]), now, Utc::now());
    st.saw_holding(b, space(1), &vv(&[(1, 5), (2, 9)]), now, Utc::now());
    assert_eq!(st.unsent(space(1), &me, 7), 2);
    assert_eq!(st.unsent(space(2), &me, 7), 7, "per space");
    st.saw_holding(b, space(1), &vv(&[(1, 4)]), now, Utc::now());
    assert_eq!(st.unsent(space(1), &me, 7), 2, "what a peer held is merged");
    st.disconnected(&b);
    assert_eq!(st.unsent(space(1), &me, 7), 2, "kept after a disconnect");
    let infos = st.peer_infos(|_| true);
    assert_eq!(infos.len(), 2, "a peer synced with earlier is still listed");
    let gone = infos.iter().find(|i| i.peer_id == b.to_string()).unwrap();
    assert!(!gone.connected && gone.last_sync.is_some());
}

#[test]
fn what_peers_gone_held_is_kept_for_the_most_recently_seen_only() {
    let mut st = SyncState::default();
    let me = DeviceId([1; 32]);
    let now = Instant::now();
    let t0 = Utc::now();
    // A member connecting under ever new device ids, each claiming 256 devices.
    let big: Vec<(u8, u64)> = (0..=255u8).map(|d| (d, 1)).collect();
    let mut ids = Vec::new();
    for i in 0..(MAX_REMEMBERED_PEERS + 40) {
        let peer = PeerId::random();
        ids.push(peer);
        st.connected(peer, addr());
        let at = t0 + chrono::Duration::seconds(i as i64);
        st.saw_holding(peer, space(1), &vv(&big), now, at);
        st.disconnected(&peer);
    }
    assert_eq!(st.peer_have.len(), MAX_REMEMBERED_PEERS);
    assert_eq!(st.last_sync.len(), MAX_REMEMBERED_PEERS);
    // The most recently seen are kept, the oldest forgotten.
    let last = ids.last().unwrap();
    assert!(st.peer_have.contains_key(last));
    assert!(!st.peer_have.contains_key(&ids[0]));
    // A connected peer is never forgotten for peers gone.
    let honest = PeerId::random();
    st.connected(honest, addr());
    st.saw_holding(
        honest,
        space(1),
        &vv(&[(1, 5)]),
        now,
        t0 - chrono::Duration::days(1),
    );
    for _ in 0..10 {
        let peer = PeerId::random();
        st.connected(peer, addr());
        st.saw_holding(peer, space(1), &vv(&[(2, 1)]), now, Utc::now());
        st.disconnected(&peer);
    }
    assert!(st.peer_have.contains_key(&honest));
    assert_eq!(
        st.unsent(space(1), &me, 7),
        2,
        "the connected peer's holding counts"
    );
}

#[test]
fn more_is_pulled_at_once_only_while_batches_store_something_and_the_backlog_has_room() {
    let mut st = SyncState::default();
    let (peer, other) = (PeerId::random(), PeerId::random());
    proven(&mut st, peer, &[space(1), space(2)]);
    assert!(st.may_pull_more(&peer, space(1)));
    // A batch that stored nothing (all held back or known): "more" waits for the next round.
    st.batch_stored(&peer, space(1), false);
    assert!(!st.may_pull_more(&peer, space(1)));
    assert!(st.may_pull_more(&peer, space(2)), "per space");
    st.batch_stored(&peer, space(1), true);
    assert!(
        st.may_pull_more(&peer, space(1)),
        "a batch that stored something"
    );
    // Pulls under way and batches waiting of all peers together at the backlog's bound.
    proven(&mut st, other, &[space(1)]);
    for i in 0..MAX_BACKLOG {
        st.queue(other, space(1), vec![vec![i as u8]]);
    }
    assert!(!st.may_pull_more(&peer, space(1)));
    assert!(
        !st.may_pull_more(&PeerId::random(), space(1)),
        "a peer not tracked"
    );
}

#[test]
fn more_deferred_by_a_full_backlog_is_pulled_once_there_is_room_and_only_then() {
    let mut st = SyncState::default();
    let (peer, other, gone) = (PeerId::random(), PeerId::random(), PeerId::random());
    proven(&mut st, peer, &[space(1)]);
    proven(&mut st, other, &[space(1)]);
    for i in 0..MAX_BACKLOG {
        st.queue(other, space(1), vec![vec![i as u8]]);
    }
    let id = |seq| OpId {
        device: DeviceId([3; 32]),
        seq,
    };
    let assumed = st.assume_stored(peer, space(1), None, [id(1), id(2)]);
    assert!(!st.may_pull_more(&peer, space(1)));
    assert!(st.defer_more(peer, space(1)));
    assert_eq!(st.resumable(), None, "no room yet");
    // A stored batch makes room: the deferred "more" goes out from what was assumed.
    st.next_batch();
    assert_eq!(st.resumable(), Some((peer, space(1), assumed)));
    assert_eq!(st.resumable(), None, "once");
    // A peer whose batches store nothing is not deferred, and a peer gone is dropped.
    st.batch_stored(&other, space(1), false);
    assert!(!st.defer_more(other, space(1)));
    assert!(!st.defer_more(gone, space(1)));
    assert_eq!(st.resumable(), None);
}

#[test]
fn idle_pull_rounds_back_off_and_a_change_brings_them_back() {
    let mut st = SyncState::default();
    let base = Duration::from_secs(2);
    assert_eq!(st.round_interval(base), base);
    st.round_done();
    assert_eq!(
        st.round_interval(base),
        base,
        "the first round after a change"
    );
    st.round_done();
    assert_eq!(st.round_interval(base), 2 * base);
    st.round_done();
    assert_eq!(st.round_interval(base), 4 * base);
    for _ in 0..100 {
        st.round_done();
    }
    assert_eq!(st.round_interval(base), MAX_IDLE_INTERVAL);
    st.stirred();
    assert_eq!(st.round_interval(base), base);
    let slow = Duration::from_secs(60);
    assert_eq!(
        st.round_interval(slow),
        slow,
        "never below the configured interval"
    );
}

#[test]
fn a_pull_is_pulled_back_only_for_news() {
    let mut st = SyncState::default();
    let (peer, now) = (PeerId::random(), Instant::now());
    st.connected(peer, addr());
    let mine = vv(&[(1, 5), (2, 3)]);
    assert!(
        !st.pull_back(&peer, space(1), &vv(&[(1, 5)]), &mine),
        "behind"
    );
    assert!(!st.pull_back(&peer, space(1), &mine, &mine), "equal");
    let ahead = vv(&[(1, 5), (2, 3), (3, 1)]);
    assert!(st.pull_back(&peer, space(1), &ahead, &mine), "a new device");
    assert!(
        st.pull_back(&peer, space(1), &vv(&[(2, 4)]), &mine),
        "further on"
    );
    st.saw_holding(peer, space(1), &ahead, now, Utc::now());
    assert!(
        !st.pull_back(&peer, space(1), &ahead, &mine),
        "seen before: the rounds pull it, not every pull"
    );
    assert!(st.pull_back(&peer, space(2), &ahead, &mine), "per space");
}

#[test]
fn own_operations_are_published_once() {
    let mut st = SyncState::default();
    assert_eq!(st.published(space(1)), 0);
    st.set_published(space(1), 4);
    assert_eq!(st.published(space(1)), 4);
    assert_eq!(st.published(space(2)), 0);
}

#[test]
fn outboxes_of_all_peers_together_are_bounded_and_a_push_under_way_counts() {
    let mut st = SyncState::default();
    let envelope = vec![vec![0u8; 1 << 20]];
    let mut peers = Vec::new();
    // Many peers (one member under many device ids) that never answer a push.
    for _ in 0..(MAX_OUTBOX_TOTAL_BYTES >> 20) {
        let peer = PeerId::random();
        proven(&mut st, peer, &[space(1)]);
        assert_eq!(st.queue_push(peer, space(1), &envelope), 0);
        assert!(st.next_push(&peer, 1000, usize::MAX).is_some(), "under way");
        peers.push(peer);
    }
    let late = PeerId::random();
    proven(&mut st, late, &[space(1)]);
    assert_eq!(
        st.queue_push(late, space(1), &envelope),
        1,
        "the pushes under way fill the total: dropped (the peer's pulls fetch it)"
    );
    st.push_done(&peers[0]);
    assert_eq!(
        st.queue_push(late, space(1), &envelope),
        0,
        "answered: room"
    );
    st.disconnected(&peers[1]);
    assert_eq!(
        st.queue_push(late, space(1), &envelope),
        0,
        "a peer gone gives its share back"
    );
}

#[test]
fn pulls_under_way_and_batches_waiting_are_bounded_for_all_peers_together() {
    let mut st = SyncState::default();
    let now = Instant::now();
    for i in 0..MAX_BACKLOG {
        let peer = PeerId::random();
        proven(&mut st, peer, &[space(1)]);
        assert!(st.should_pull(&peer, space(1), false, now));
        st.pull_started(&peer, space(1));
        if i % 2 == 0 {
            // Answered "more" with a full batch, waiting to be stored.
            st.pull_ended(&peer, space(1));
            st.queue(peer, space(1), vec![vec![1]]);
        }
    }
    let other = PeerId::random();
    proven(&mut st, other, &[space(1)]);
    assert!(
        !st.should_pull(&other, space(1), true, now),
        "no more pulls until some are stored"
    );
    assert!(st.next_batch().is_some());
    assert!(
        st.should_pull(&other, space(1), true, now),
        "one stored: room"
    );
}
