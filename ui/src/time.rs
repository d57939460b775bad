//! Times as people read and type them, in the webview's local time zone: `23. 11. 2026 18:00`
//! to read; `zítra 18:00`, `18:00`, `+2 h` or a full date to type. Parsing of the text is
//! shared (`krizlink_core::when`); only "now" and the time-zone step need the webview's clock
//! (`js_sys::Date`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use krizlink_core::api::{parse_local_time_at, Problem};
use krizlink_core::Timestamp;

use crate::i18n::Lang;

/// Milliseconds since the epoch, now.
pub fn now() -> Timestamp {
    Timestamp(js_sys::Date::now() as i64)
}

/// `23. 11. 2026 18:05` in local time.
pub fn format(t: Timestamp) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.0 as f64));
    format!(
        "{}. {}. {} {}:{:02}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// `14:32` for a time of today, else the whole `23. 11. 2026 14:32` (local time).
pub fn short(t: Timestamp) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.0 as f64));
    let today = js_sys::Date::new_0();
    let same_day = d.get_date() == today.get_date()
        && d.get_month() == today.get_month()
        && d.get_full_year() == today.get_full_year();
    if same_day {
        format!("{}:{:02}", d.get_hours(), d.get_minutes())
    } else {
        format(t)
    }
}

/// Now in local time, to the second.
fn local_now() -> Option<NaiveDateTime> {
    let d = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())?.and_hms_opt(
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds(),
    )
}

/// Parses typed local time text (see the module doc); empty is `None`.
pub fn parse(text: &str) -> Result<Option<Timestamp>, Problem> {
    let now = local_now().ok_or(Problem::NotATime)?;
    let Some(local) = parse_local_time_at(text, now)? else {
        return Ok(None);
    };
    let d = js_sys::Date::new_with_year_month_day_hr_min_sec(
        local.year() as u32,
        local.month0() as i32,
        local.day() as i32,
        local.hour() as i32,
        local.minute() as i32,
        0,
    );
    let ms = d.get_time();
    if ms.is_nan() {
        return Err(Problem::NotATime);
    }
    let t = Timestamp(ms as i64);
    if t.is_plausible() {
        Ok(Some(t))
    } else {
        Err(Problem::TimeOutOfRange)
    }
}

/// The text a time field starts with: now, rounded to the minute.
pub fn now_text() -> String {
    format(now())
}

/// Today's date as typed: `30. 11. 2026`.
pub fn today_text() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{}. {}. {}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year()
    )
}

/// A time field's hint, with today's date.
pub fn hint(lang: Lang) -> String {
    match lang {
        Lang::Cs => format!("{} 18:00 · zítra 8:00 · +2 h", today_text()),
        Lang::En => format!("{} 18:00 · tomorrow 8:00 · +2 h", today_text()),
    }
}

/// The message for a time that could not be read, with today's date as the full example.
pub fn problem(p: Problem, lang: Lang) -> String {
    match (p, lang) {
        (Problem::NotATime, Lang::Cs) => format!(
            "Zadejte datum a čas, např. zítra 18:00, 18:00, +2 h nebo {} 18:00.",
            today_text()
        ),
        (Problem::NotATime, Lang::En) => format!(
            "Enter a date and time, e.g. tomorrow 18:00, 18:00, +2 h or {} 18:00.",
            today_text()
        ),
        (p, Lang::Cs) => p.cs(),
        (p, Lang::En) => p.en(),
    }
}
