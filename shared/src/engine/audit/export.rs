//! Exporting the audit log for a SIEM: JSON lines, RFC 5424 syslog and CEF.

use super::*;

/// Formats for SIEM export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Syslog,
    Cef,
}

/// Renders every entry in `format`, one line each.
pub fn export(
    path: &Path,
    format: ExportFormat,
    hostname: &str,
) -> Result<Vec<String>, AuditError> {
    export_marked(path, format, hostname, &BTreeSet::new())
}

/// The mark an entry about an exercise space carries in every format.
pub const EXERCISE_MARK: &str = "CVIČENÍ";

/// [`export`], every entry about one of `exercise_spaces` (by its `space` detail) marked as an
/// exercise: `"exercise": true` in JSON, `exercise="CVIČENÍ"` in syslog, `cs2=CVIČENÍ` in CEF.
pub fn export_marked(
    path: &Path,
    format: ExportFormat,
    hostname: &str,
    exercise_spaces: &BTreeSet<String>,
) -> Result<Vec<String>, AuditError> {
    let Scan {
        entries, problems, ..
    } = scan(path)?;
    if let Some(p) = problems.first() {
        return Err(AuditError::Broken(p.to_string()));
    }
    let host = sanitize_token(hostname);
    Ok(entries
        .iter()
        .map(|e| {
            let drill = e
                .detail
                .iter()
                .any(|(k, v)| k == "space" && exercise_spaces.contains(v));
            match format {
                ExportFormat::Jsonl => {
                    let mut value = serde_json::to_value(e).unwrap_or_default();
                    if let (true, Some(map)) = (drill, value.as_object_mut()) {
                        map.insert("exercise".into(), serde_json::Value::Bool(true));
                    }
                    value.to_string()
                }
                ExportFormat::Syslog => syslog_line(e, &host, drill),
                ExportFormat::Cef => cef_line(e, &host, drill),
            }
        })
        .collect())
}

fn sanitize_token(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if t.is_empty() {
        "-".to_owned()
    } else {
        t
    }
}

/// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`; facility 10 (authpriv).
fn syslog_line(e: &AuditEntry, host: &str, drill: bool) -> String {
    let severity = match e.event.severity() {
        7.. => 4,   // warning
        5 | 6 => 5, // notice
        _ => 6,     // informational
    };
    let pri = 10 * 8 + severity;
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(']', "\\]")
    };
    let mut sd = format!(
        "[krizlink@32473 seq=\"{}\" device=\"{}\" hash=\"{}\"",
        e.seq, e.device, e.hash
    );
    for (k, v) in &e.detail {
        let name: String = k
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(32)
            .collect();
        sd.push_str(&format!(" {name}=\"{}\"", escape(v)));
    }
    if drill {
        sd.push_str(&format!(" exercise=\"{EXERCISE_MARK}\""));
    }
    sd.push(']');
    format!(
        "<{pri}>1 {} {host} krizlink-node - {} {sd} {}",
        e.time,
        e.event.name(),
        e.event.name()
    )
}

/// ArcSight CEF: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
fn cef_line(e: &AuditEntry, host: &str, drill: bool) -> String {
    let ext = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('=', "\\=")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    };
    let millis = DateTime::parse_from_rfc3339(&e.time)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0);
    let mut extension = format!(
        "rt={millis} dvchost={} deviceExternalId={} cn1Label=seq cn1={} cs1Label=hash cs1={}",
        ext(host),
        e.device,
        e.seq,
        e.hash
    );
    let detail: Vec<String> = e.detail.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if drill {
        extension.push_str(&format!(" cs2Label=exercise cs2={EXERCISE_MARK}"));
    }
    if !detail.is_empty() {
        extension.push_str(&format!(" msg={}", ext(&detail.join("; "))));
    }
    format!(
        "CEF:0|KrizLink|krizlink-node|{}|{}|{}|{}|{extension}",
        crate::VERSION,
        e.event.name(),
        e.event.name().replace('_', " "),
        e.event.severity()
    )
}
