//! Reading command-line values: space and record ids, RFC 3339 times, and enumerations given by
//! code or by Czech or English label (docs/CLI.md, "Values").

use anyhow::{anyhow, bail, Result};

use krizlink_core::engine::node::Node;
use krizlink_core::record::Priority;
use krizlink_core::{RecordId, SpaceId, Timestamp};

/// The codes of an enumeration's values, for the message naming what is accepted.
macro_rules! codes {
    ($t:ty) => {
        <$t>::ALL.iter().map(|v| v.code()).collect::<Vec<_>>()
    };
}

pub(crate) use codes;

/// A space id that this device holds.
pub(crate) fn parse_space(node: &Node, text: &str) -> Result<SpaceId> {
    let id: SpaceId = text
        .parse()
        .map_err(|e| anyhow!("space id {text:?}: {e}"))?;
    node.replica(id)?;
    Ok(id)
}

pub(crate) fn parse_record(text: &str) -> Result<RecordId> {
    text.parse().map_err(|e| anyhow!("record id {text:?}: {e}"))
}

/// An RFC 3339 time between 1970 and 9999; `what` names the flag in the message.
pub(crate) fn parse_time(what: &str, text: &str) -> Result<Timestamp> {
    let t = Timestamp::parse_rfc3339(text).map_err(|_| {
        anyhow!("{what}: {text:?} is not an RFC 3339 time such as 2026-11-23T18:00:00+01:00")
    })?;
    if !t.is_plausible() {
        bail!("{what}: {text:?} is outside the years 1970 to 9999");
    }
    Ok(t)
}

/// An optional time flag.
pub(crate) fn opt_time(what: &str, text: Option<String>) -> Result<Option<Timestamp>> {
    text.map(|t| parse_time(what, &t)).transpose()
}

pub(crate) fn parse_enum<T>(
    what: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
    codes: &[&str],
) -> Result<T> {
    parse(text).ok_or_else(|| anyhow!("unknown {what} {text:?}; use one of: {}", codes.join(", ")))
}

pub(crate) fn priority(text: Option<String>) -> Result<Option<Priority>> {
    text.map(|p| parse_enum("priority", &p, Priority::parse, &codes!(Priority)))
        .transpose()
}
