//! Times as people type them into a deadline or an event-time field, in Czech or English:
//! a full date (`23. 11. 2026 18:00`, `2026-11-23 18:00`, a date alone = the end of that day),
//! a day word and a time (`dnes 8:00`, `zítra 18:00`, `pozítří 7:30`, `today 8:00`,
//! `tomorrow 18:00`), a time alone (`18:00` = today), or a span from now (`+2 h`, `+30 min`,
//! `+1 den`). Pure: the caller passes "now" in local time and turns the local result into a
//! timestamp with the time zone it knows.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::api::Problem;

/// The longest span `+N unit` accepted (a deadline a year ahead is already unusual).
const MAX_SPAN_DAYS: i64 = 366;

/// Parses a local date and time as typed, relative to `now` (local). Empty text is `None`.
pub fn parse_local_time_at(
    text: &str,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, Problem> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let normalised: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(span) = normalised.strip_prefix('+') {
        return span_from(now, span).map(Some);
    }
    let lower = normalised.to_lowercase();
    let (day, rest) = match lower.split_once(' ') {
        Some((word, rest)) => (day_word(word, now.date()), rest),
        None => (day_word(&lower, now.date()), ""),
    };
    if let Some(day) = day {
        if rest.is_empty() {
            return end_of(day).map(Some);
        }
        return clock(rest).map(|t| Some(day.and_time(t)));
    }
    if let Ok(t) = clock(&lower) {
        return Ok(Some(now.date().and_time(t)));
    }
    absolute(&normalised).map(Some)
}

/// A day named by a word, if `word` is one.
fn day_word(word: &str, today: NaiveDate) -> Option<NaiveDate> {
    let offset = match word {
        "dnes" | "dneska" | "today" => 0,
        "zítra" | "zitra" | "tomorrow" => 1,
        "pozítří" | "pozitri" => 2,
        "včera" | "vcera" | "yesterday" => -1,
        _ => return None,
    };
    today.checked_add_signed(Duration::days(offset))
}

/// `18:00`, `8:05`, `18.00` or `18` (hours alone).
fn clock(text: &str) -> Result<NaiveTime, Problem> {
    let text = text.trim().trim_end_matches('h').trim();
    let (h, m) = match text.split_once([':', '.']) {
        Some((h, m)) => (h, m),
        None => (text, "0"),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(Problem::NotATime);
    }
    let (h, m) = (
        h.parse::<u32>().map_err(|_| Problem::NotATime)?,
        m.parse::<u32>().map_err(|_| Problem::NotATime)?,
    );
    NaiveTime::from_hms_opt(h, m, 0).ok_or(Problem::NotATime)
}

fn end_of(day: NaiveDate) -> Result<NaiveDateTime, Problem> {
    NaiveTime::from_hms_opt(23, 59, 0)
        .map(|t| day.and_time(t))
        .ok_or(Problem::NotATime)
}

/// `2 h`, `2h`, `30 min`, `1 den`, `3 dny`, `2 d`: now plus that, to the minute.
fn span_from(now: NaiveDateTime, span: &str) -> Result<NaiveDateTime, Problem> {
    let span = span.trim();
    let split = span
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(span.len());
    let (number, unit) = span.split_at(split);
    let n: i64 = number.parse().map_err(|_| Problem::NotATime)?;
    let minutes = match unit.trim().to_lowercase().as_str() {
        "min" | "m" | "minut" | "minuty" | "minuta" | "minutes" => n,
        "h" | "hod" | "hodin" | "hodiny" | "hodina" | "hours" | "hour" => n.saturating_mul(60),
        "d" | "den" | "dny" | "dní" | "dni" | "days" | "day" => n.saturating_mul(24 * 60),
        _ => return Err(Problem::NotATime),
    };
    if minutes > MAX_SPAN_DAYS * 24 * 60 {
        return Err(Problem::TimeOutOfRange);
    }
    let base = now
        .date()
        .and_hms_opt(
            chrono::Timelike::hour(&now),
            chrono::Timelike::minute(&now),
            0,
        )
        .ok_or(Problem::NotATime)?;
    base.checked_add_signed(Duration::minutes(minutes))
        .ok_or(Problem::TimeOutOfRange)
}

/// A full date with a time, or a date alone (the end of that day).
fn absolute(normalised: &str) -> Result<NaiveDateTime, Problem> {
    let compact = normalised.replace(". ", ".");
    for (text, fmt) in [
        (compact.as_str(), "%d.%m.%Y %H:%M"),
        (normalised, "%Y-%m-%d %H:%M"),
        (normalised, "%Y-%m-%dT%H:%M"),
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(dt);
        }
    }
    for (text, fmt) in [
        (compact.trim_end_matches('.'), "%d.%m.%Y"),
        (normalised, "%Y-%m-%d"),
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(text, fmt) {
            return end_of(d);
        }
    }
    Err(Problem::NotATime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    fn parse(text: &str) -> Result<Option<NaiveDateTime>, Problem> {
        // Monday 30 November 2026, 14:53:20.
        let now = at(2026, 11, 30, 14, 53) + Duration::seconds(20);
        parse_local_time_at(text, now)
    }

    #[test]
    fn day_words_and_times_as_people_type_them() {
        assert_eq!(parse("zítra 18:00"), Ok(Some(at(2026, 12, 1, 18, 0))));
        assert_eq!(parse("Zítra  18:00"), Ok(Some(at(2026, 12, 1, 18, 0))));
        assert_eq!(parse("zitra 7.30"), Ok(Some(at(2026, 12, 1, 7, 30))));
        assert_eq!(parse("dnes 8:00"), Ok(Some(at(2026, 11, 30, 8, 0))));
        assert_eq!(parse("pozítří 6"), Ok(Some(at(2026, 12, 2, 6, 0))));
        assert_eq!(parse("včera 23:15"), Ok(Some(at(2026, 11, 29, 23, 15))));
        assert_eq!(parse("tomorrow 9:05"), Ok(Some(at(2026, 12, 1, 9, 5))));
        assert_eq!(parse("zítra"), Ok(Some(at(2026, 12, 1, 23, 59))));
        assert_eq!(parse("18:00"), Ok(Some(at(2026, 11, 30, 18, 0))));
        assert_eq!(parse("8:05"), Ok(Some(at(2026, 11, 30, 8, 5))));
    }

    #[test]
    fn spans_from_now() {
        assert_eq!(parse("+2 h"), Ok(Some(at(2026, 11, 30, 16, 53))));
        assert_eq!(parse("+2h"), Ok(Some(at(2026, 11, 30, 16, 53))));
        assert_eq!(parse("+30 min"), Ok(Some(at(2026, 11, 30, 15, 23))));
        assert_eq!(parse("+1 den"), Ok(Some(at(2026, 12, 1, 14, 53))));
        assert_eq!(parse("+3 dny"), Ok(Some(at(2026, 12, 3, 14, 53))));
        assert_eq!(parse("+400 d"), Err(Problem::TimeOutOfRange));
        assert_eq!(parse("+ h"), Err(Problem::NotATime));
        assert_eq!(parse("+2 týdny"), Err(Problem::NotATime));
        assert_eq!(
            parse("+99999999999999999999 h"),
            Err(Problem::NotATime),
            "a number too long for i64 is refused, not wrapped"
        );
    }

    #[test]
    fn full_dates_still_work() {
        assert_eq!(
            parse("23. 11. 2026 18:00"),
            Ok(Some(at(2026, 11, 23, 18, 0)))
        );
        assert_eq!(parse("23.11.2026 18:00"), Ok(Some(at(2026, 11, 23, 18, 0))));
        assert_eq!(
            parse(" 23. 11. 2026  18:00 "),
            Ok(Some(at(2026, 11, 23, 18, 0)))
        );
        assert_eq!(parse("2026-11-23 18:00"), Ok(Some(at(2026, 11, 23, 18, 0))));
        assert_eq!(parse("2026-11-23T18:00"), Ok(Some(at(2026, 11, 23, 18, 0))));
        assert_eq!(parse("24. 12. 2026"), Ok(Some(at(2026, 12, 24, 23, 59))));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   "), Ok(None));
    }

    #[test]
    fn nonsense_is_refused() {
        for text in [
            "zítra ráno",
            "25:00",
            "zítra 18:75",
            "18:000",
            "32. 11. 2026 18:00",
            "asap",
            "dnes dnes",
        ] {
            assert_eq!(parse(text), Err(Problem::NotATime), "{text}");
        }
    }
}
