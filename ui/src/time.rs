//! Times as people read and type them, in the webview's local time zone: `23. 11. 2026 18:00`.
//! Parsing of the text is shared with the shell (`krizlink_core::api::parse_local_time`);
//! only the time-zone step needs the webview's clock (`js_sys::Date`).

use chrono::{Datelike, Timelike};
use krizlink_core::api::{parse_local_time, Problem};
use krizlink_core::Timestamp;

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

/// Parses typed local time text; empty is `None`.
pub fn parse(text: &str) -> Result<Option<Timestamp>, Problem> {
    let Some(local) = parse_local_time(text)? else {
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
