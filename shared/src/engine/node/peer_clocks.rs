//! Whether this device's clock agrees with its staff's: every pull and every answer to one
//! carries the sender's wall clock (`sync::proto`), and only between peers that proved a space
//! to each other.
//!
//! Peers refuse operations stamped more than 5 minutes ahead of their own clock, so a laptop
//! whose clock runs ahead writes what nobody accepts, and one whose clock runs behind refuses
//! what everybody writes. Both are told at once, while the clock is still wrong: once the
//! median difference to the peers heard from in the last 15 minutes is beyond that bound, a
//! notice says by how much and which way (Czech first), in the app's banner and on the CLI's
//! stderr (also for commands forwarded to a serving node, e.g. the write itself); it goes away
//! once the clocks agree again. Which clock is wrong cannot be known from two of them, so the
//! notice says so when only one peer speaks. Once the clock is right, the writes it
//! stamped in the future go out (`node/clock.rs`).

use super::*;

/// Peers whose clock is remembered (the most recently heard).
const MAX_PEER_CLOCKS: usize = 64;
/// A peer's clock counts for this long after it was heard.
const RECENT_MS: u64 = 15 * 60 * 1000;

/// The differences between this device's clock and its peers' (see the module doc).
#[derive(Debug, Default)]
pub(super) struct PeerClocks {
    /// Per peer device: this clock minus theirs (ms; positive: this one is ahead), and when
    /// it was heard (this clock).
    seen: BTreeMap<DeviceId, (i64, u64)>,
    /// The notice now among the node's notices, if any.
    told: Option<String>,
}

impl Node {
    /// Takes a peer's wall clock `peer_ms`, as it sent it now.
    pub fn observe_peer_clock(&mut self, peer: DeviceId, peer_ms: u64) {
        let now = now_ms();
        let clocks = &mut self.peer_clocks;
        let difference = (now as i64).saturating_sub(peer_ms.min(i64::MAX as u64) as i64);
        clocks.seen.insert(peer, (difference, now));
        if clocks.seen.len() > MAX_PEER_CLOCKS {
            if let Some(oldest) = clocks
                .seen
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(d, _)| *d)
            {
                clocks.seen.remove(&oldest);
            }
        }
        let notice = clock_notice(&clocks.seen, now);
        if notice == clocks.told {
            return; // the same words (figures are rounded): nothing to tell anew
        }
        if let Some(old) = clocks.told.take() {
            self.notices.retain(|n| *n != old);
        }
        if let Some(notice) = notice {
            self.notices.push(notice.clone());
            self.peer_clocks.told = Some(notice);
        }
    }

    /// The notice about this device's clock, while it disagrees with its peers'.
    pub fn clock_notice(&self) -> Option<&str> {
        self.peer_clocks.told.as_deref()
    }
}

/// The notice for the differences `seen`, if their median over recent peers is beyond the
/// bound peers accept.
fn clock_notice(seen: &BTreeMap<DeviceId, (i64, u64)>, now: u64) -> Option<String> {
    let mut recent: Vec<i64> = seen
        .values()
        .filter(|(_, at)| now.saturating_sub(*at) <= RECENT_MS)
        .map(|(d, _)| *d)
        .collect();
    if recent.is_empty() {
        return None;
    }
    recent.sort_unstable();
    let median = recent[recent.len() / 2];
    if median.unsigned_abs() <= HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS {
        return None;
    }
    let off = median.unsigned_abs();
    let by = if off >= 86_400_000 {
        format!("{:.0} d", off as f64 / 86_400_000.0)
    } else if off >= 3_600_000 {
        format!("{:.0} h", off as f64 / 3_600_000.0)
    } else {
        format!("{} min", off.div_ceil(60_000))
    };
    let n = recent.len();
    let (unsure_cs, unsure_en) = if n < 2 {
        (
            " Ze dvou hodin nelze poznat, které jdou špatně: jsou-li tyto správně, opravte je \
             na druhém zařízení.",
            " Two clocks cannot tell which is wrong: if this one is right, fix the other \
             device's.",
        )
    } else {
        ("", "")
    };
    let (way_cs, effect_cs, way_en, effect_en) = if median > 0 {
        (
            "napřed",
            "co zde zapíšete, štáb nepřijme",
            "ahead of",
            "what you write here is not accepted by the staff",
        )
    } else {
        (
            "pozadu",
            "zápisy ostatních sem nedorazí",
            "behind",
            "the others' writes do not arrive here",
        )
    };
    Some(format!(
        "Hodiny tohoto počítače jdou o {by} {way_cs} oproti zařízením štábu (podle {n}); \
         {effect_cs}, dokud hodiny neopravíte. Zkontrolujte datum a čas.{unsure_cs} / This \
         computer's clock is {by} {way_en} its staff's devices (by {n}); {effect_en} until \
         the clock is fixed. Check the date and time.{unsure_en}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::testing::{new_node, scratch};

    const DAY: u64 = 86_400_000;

    #[test]
    fn a_clock_a_month_off_is_told_while_it_is_wrong_and_not_after() {
        let dir = scratch("peer-clocks");
        let mut node = new_node(&dir, "laptop");
        let peers: Vec<DeviceId> = (1..=3u8).map(|i| DeviceId([i; 32])).collect();
        // Its peers' clocks are 30 days behind this one: this one runs ahead.
        for p in &peers {
            node.observe_peer_clock(*p, now_ms() - 30 * DAY);
        }
        let told = node.clock_notice().expect("told").to_owned();
        assert!(
            told.starts_with("Hodiny tohoto počítače jdou o 30 d napřed"),
            "{told}"
        );
        assert!(!told.contains("Ze dvou hodin"), "three peers agree: {told}");
        assert_eq!(node.notices(), std::slice::from_ref(&told));
        // Heard again: one notice, not one per pull; it says how many peers it is based on.
        assert!(told.contains("(podle 3)"), "{told}");
        node.observe_peer_clock(peers[0], now_ms() - 30 * DAY);
        assert_eq!(node.notices().len(), 1);
        // The clock is put right: the peers agree again and the notice goes.
        for p in &peers {
            node.observe_peer_clock(*p, now_ms() + 2_000);
        }
        assert_eq!(node.clock_notice(), None);
        assert!(node.notices().is_empty());
        // One peer far ahead of this one: this clock looks behind, and the notice says that
        // two clocks cannot tell which is wrong.
        let mut other = new_node(&dir, "other");
        other.observe_peer_clock(peers[0], now_ms() + 2 * 3_600_000);
        let told = other.clock_notice().expect("told");
        assert!(
            told.contains("o 2 h pozadu") && told.contains("Ze dvou hodin"),
            "{told}"
        );
        // A few seconds either way are nothing.
        let mut fine = new_node(&dir, "fine");
        fine.observe_peer_clock(peers[0], now_ms() + 60_000);
        fine.observe_peer_clock(peers[1], now_ms() - 60_000);
        assert_eq!(fine.clock_notice(), None);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_peer_naming_a_time_at_the_ends_of_the_range_is_only_a_large_difference() {
        let dir = scratch("peer-clocks-extreme");
        let mut node = new_node(&dir, "laptop");
        node.observe_peer_clock(DeviceId([1; 32]), u64::MAX);
        assert!(node.clock_notice().is_some_and(|n| n.contains("pozadu")));
        node.observe_peer_clock(DeviceId([1; 32]), 0);
        assert!(node.clock_notice().is_some_and(|n| n.contains("napřed")));
        assert_eq!(node.notices().len(), 1);
        for i in 0..200u8 {
            node.observe_peer_clock(DeviceId([i; 32]), now_ms());
        }
        assert!(node.peer_clocks.seen.len() <= MAX_PEER_CLOCKS);
        assert_eq!(node.clock_notice(), None);
        let _ = fs::remove_dir_all(&dir);
    }
}
