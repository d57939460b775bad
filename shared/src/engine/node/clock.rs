//! A clock that was wrong: this device's own operations stamped further in the future than
//! its staff accept (its clock ran ahead while they were written, and has been put right since).
//!
//! Peers refuse such stamps (so nobody is dragged into the future) and hold back every later
//! operation of this device behind them, so the device would be cut off from its staff until
//! real time caught up — days, for a clock a month ahead. Once this device's clock is right
//! again (it is, when its own last stamp lies beyond the accepted skew of its own time), the
//! operations still stamped in the future are stamped again at the real time: the same ids and
//! content, a fresh session (so no nonce is used twice), the log rewritten all or nothing and
//! the space rebuilt from it. No peer has them (every peer and relay refuses such stamps), so
//! nothing diverges; the person is told, and the audit log records it.

use super::*;

/// What [`Node::restamp_future_writes`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restamped {
    /// Operations stamped again.
    pub count: usize,
    /// How far ahead of the real time the furthest of them was.
    pub ahead_ms: u64,
}

impl Restamped {
    /// One sentence for the person (Czech first, as the app speaks), for the CLI and the app.
    pub fn notice(&self) -> String {
        let days = self.ahead_ms as f64 / 86_400_000.0;
        let ahead = if days >= 1.0 {
            format!("{days:.0} d")
        } else {
            format!("{} min", self.ahead_ms.div_ceil(60_000))
        };
        format!(
            "Hodiny tohoto počítače šly napřed (o {ahead}); {} zápisů bylo označeno časem z \
             budoucnosti a štáb by je nepřijal. Byly znovu označeny skutečným časem a odejdou \
             při příští synchronizaci. / This computer's clock was ahead (by {ahead}); {} writes \
             carried a future time its staff would refuse. They were stamped again with the real \
             time and go out with the next sync.",
            self.count, self.count
        )
    }
}

impl Node {
    /// Whether this device's clock for `space` stands further ahead of `now_ms` than peers
    /// accept: its clock ran ahead and has been put right since.
    pub(super) fn stamps_ahead(&self, space: SpaceId, now_ms: u64) -> bool {
        self.spaces.get(&space).is_some_and(|st| {
            st.clock.last().wall_ms > now_ms.saturating_add(HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS)
        })
    }

    /// Stamps this device's own operations of `space` that lie beyond the accepted skew again
    /// at the real time (see the module doc). `None` when there were none.
    pub fn restamp_future_writes(
        &mut self,
        space: SpaceId,
        now_ms: u64,
    ) -> Result<Option<Restamped>, NodeError> {
        if !self.stamps_ahead(space, now_ms) {
            return Ok(None);
        }
        let limit = now_ms.saturating_add(HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS);
        let me = self.keys.device_id();
        let path = self.log_path(space);
        if let Some(Err(reason)) = self.spaces.get(&space).map(|st| st.log.as_ref()) {
            return Err(NodeError::Damaged(reason.clone()));
        }
        let entries = OpLog::read_intact_prefix(&path)?;
        // The clock goes on from the newest stamp that stays: every other one is accepted.
        let mut base = Hlc::default();
        let mut future = Vec::new();
        for (i, bytes) in entries.iter().enumerate() {
            let Ok(env) = Envelope::decode(bytes) else {
                continue;
            };
            if env.id.device == me && env.hlc.wall_ms > limit {
                future.push(i);
            } else if env.hlc.wall_ms <= limit {
                base = base.max(env.hlc);
            }
        }
        if future.is_empty() {
            // Only a remote stamp stood there (it cannot: those are refused); start afresh.
            if let Some(st) = self.spaces.get_mut(&space) {
                st.clock = HlcClock::resume(base, HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS);
            }
            return Ok(None);
        }
        let mut clock = HlcClock::resume(base, HlcClock::DEFAULT_MAX_FUTURE_SKEW_MS);
        // A fresh session: the content is sealed again under new stamps, never under a nonce
        // it was sealed under before.
        let session = next_session(&self.dir)?;
        self.session = Some(session);
        let mut rewritten = entries.clone();
        let mut ahead_ms = 0;
        for i in &future {
            let bytes = &entries[*i];
            let envelope = Envelope::decode(bytes)?;
            let key = self
                .space_key(space, envelope.epoch)
                .ok_or(EnvelopeError::UnknownEpoch)?;
            let mut op = envelope.open(key)?;
            ahead_ms = ahead_ms.max(op.hlc.wall_ms.saturating_sub(now_ms));
            op.hlc = clock.tick(now_ms);
            let sealed = Envelope::seal(&op, envelope.epoch, session, key, &self.keys)?;
            rewritten[*i] = sealed.encode()?;
        }
        // The log first (all or nothing), then everything derived from it — from whichever
        // log is on disk, should the rewrite have failed.
        drop(self.spaces.remove(&space));
        let rewrite = OpLog::rewrite(&path, &rewritten);
        self.load_space(space)?;
        rewrite?;
        let done = Restamped {
            count: future.len(),
            ahead_ms,
        };
        self.audit(
            AuditEvent::WritesRestamped,
            &[
                ("space", space.to_string()),
                ("operations", done.count.to_string()),
                ("ahead_ms", done.ahead_ms.to_string()),
            ],
        )?;
        self.notices.push(done.notice());
        Ok(Some(done))
    }
}
