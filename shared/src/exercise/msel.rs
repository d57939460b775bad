//! Scenario import and export: a spreadsheet MSEL as CSV (semicolons as Czech spreadsheets
//! write them, or commas or tabs; English or Czech column names, with or without diacritics)
//! and JSON. An import is all or nothing: every problem is reported with its line and column
//! (CSV) or its element and field (JSON), and nothing is returned until every row is valid.

use serde::{Deserialize, Serialize};

use super::{
    check_scenario, fold_diacritics, parse_channel, ExerciseTime, Inject, InjectProblem, Target,
    Trigger, MAX_INJECTS,
};

/// The first line of every exercise document the engine writes (CSV, text).
pub const EXERCISE_MARK: &str = "=== CVIČENÍ / EXERCISE — nejde o skutečnou událost ===";

/// Largest scenario file read: 8 MiB.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Problems reported at most (the rest are counted).
const MAX_REPORTED: usize = 50;

/// A scenario column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Number,
    Time,
    From,
    To,
    Channel,
    Subject,
    Content,
    Expected,
    Deadline,
    Objective,
    Notes,
    Trigger,
}

impl Column {
    const ALL: [Column; 12] = [
        Column::Number,
        Column::Time,
        Column::From,
        Column::To,
        Column::Channel,
        Column::Subject,
        Column::Content,
        Column::Expected,
        Column::Deadline,
        Column::Objective,
        Column::Notes,
        Column::Trigger,
    ];

    /// The header the export writes (Czech, as the glossary's MSEL).
    fn header_cs(self) -> &'static str {
        match self {
            Column::Number => "Číslo",
            Column::Time => "Čas",
            Column::From => "Od",
            Column::To => "Komu",
            Column::Channel => "Způsob",
            Column::Subject => "Předmět",
            Column::Content => "Zpráva",
            Column::Expected => "Očekávaná reakce",
            Column::Deadline => "Termín reakce",
            Column::Objective => "Cíl",
            Column::Notes => "Poznámka pro hodnotitele",
            Column::Trigger => "Spouštěč",
        }
    }

    /// Names accepted on import, folded (lower case, no diacritics).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Number => &[
                "cislo",
                "c.",
                "cislo vstupu",
                "number",
                "no",
                "no.",
                "#",
                "inject",
                "inject number",
                "inject no",
                "inject #",
            ],
            Column::Time => &["cas", "cas vstupu", "time", "scheduled time", "t+"],
            Column::From => &["od", "odesilatel", "from", "originator"],
            Column::To => &["komu", "adresat", "prijemce", "to", "recipient"],
            Column::Channel => &["zpusob", "kanal", "method", "channel", "means"],
            Column::Subject => &["predmet", "subject", "title"],
            Column::Content => &[
                "zprava",
                "text",
                "obsah",
                "message",
                "content",
                "inject text",
                "description",
            ],
            Column::Expected => &[
                "ocekavana reakce",
                "ocekavana cinnost",
                "expected action",
                "expected actions",
                "expected response",
                "expected player action",
            ],
            Column::Deadline => &[
                "termin reakce",
                "termin",
                "deadline",
                "expected by",
                "response deadline",
            ],
            Column::Objective => &["cil", "cil cviceni", "objective", "exercise objective"],
            Column::Notes => &[
                "poznamka pro hodnotitele",
                "poznamka",
                "evaluator notes",
                "notes",
                "notes for evaluators",
            ],
            Column::Trigger => &["spoustec", "trigger"],
        }
    }

    fn field(self) -> &'static str {
        match self {
            Column::Number => "number",
            Column::Time => "time",
            Column::From => "from",
            Column::To => "to",
            Column::Channel => "channel",
            Column::Subject => "subject",
            Column::Content => "content",
            Column::Expected => "expected",
            Column::Deadline => "deadline",
            Column::Objective => "objective",
            Column::Notes => "evaluator_notes",
            Column::Trigger => "trigger",
        }
    }

    fn of_field(field: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.field() == field)
    }

    fn from_header(text: &str) -> Option<Column> {
        let t = fold_diacritics(text.trim_start_matches('\u{feff}'));
        Column::ALL
            .into_iter()
            .find(|c| c.aliases().contains(&t.as_str()))
    }

    const REQUIRED: [Column; 5] = [
        Column::Number,
        Column::From,
        Column::To,
        Column::Channel,
        Column::Content,
    ];
}

/// One problem of an import, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// Line in the file (1-based), when known.
    pub line: Option<u64>,
    /// Column (1-based) and its header, or a JSON element's field.
    pub column: Option<(usize, String)>,
    pub message: String,
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.line, &self.column) {
            (Some(l), Some((c, name))) => write!(f, "line {l}, column {c} ({name}): ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            (None, Some((_, name))) => write!(f, "{name}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// Why a scenario file was not imported: every problem found (nothing was imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the scenario was not imported ({} problem{}):\n{}", .total, if *.total == 1 { "" } else { "s" }, lines(.problems, *.total))]
pub struct ImportError {
    pub problems: Vec<ImportProblem>,
    pub total: usize,
}

fn lines(problems: &[ImportProblem], total: usize) -> String {
    let mut out: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    if total > problems.len() {
        out.push(format!("  … and {} more", total - problems.len()));
    }
    out.join("\n")
}

impl ImportError {
    fn one(line: Option<u64>, message: impl Into<String>) -> ImportError {
        ImportError {
            problems: vec![ImportProblem {
                line,
                column: None,
                message: message.into(),
            }],
            total: 1,
        }
    }
}

struct Problems {
    list: Vec<ImportProblem>,
    total: usize,
}

impl Problems {
    fn push(&mut self, p: ImportProblem) {
        self.total += 1;
        if self.list.len() < MAX_REPORTED {
            self.list.push(p);
        }
    }
    /// Ends the row checks of an import: a file without a single inject is a problem too.
    fn finish_rows(mut self, found: usize) -> Result<(), ImportError> {
        if found == 0 && self.total == 0 {
            self.push(ImportProblem {
                line: None,
                column: None,
                message: "the file holds no injects".into(),
            });
        }
        self.finish()
    }

    fn finish(self) -> Result<(), ImportError> {
        if self.total == 0 {
            Ok(())
        } else {
            Err(ImportError {
                problems: self.list,
                total: self.total,
            })
        }
    }
}

/// A file's format, from its name or its first character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text.trim().to_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// JSON when the file name ends in `.json` or the text starts with `{` or `[`.
    pub fn guess(file_name: &str, bytes: &[u8]) -> Format {
        let first = bytes
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace() && *b != 0xef && *b != 0xbb && *b != 0xbf);
        if file_name.to_lowercase().ends_with(".json") || matches!(first, Some(b'{' | b'[')) {
            Format::Json
        } else {
            Format::Csv
        }
    }
}

/// Reads a scenario file of either format.
pub fn import(format: Format, bytes: &[u8]) -> Result<Vec<Inject>, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::one(
            None,
            format!(
                "the file is {} bytes; a scenario file may have at most {MAX_FILE_BYTES}",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
            + 1;
        ImportError::one(
            Some(line),
            "the file is not UTF-8 text; save the spreadsheet as \"CSV UTF-8\"",
        )
    })?;
    let text = text.trim_start_matches('\u{feff}');
    match format {
        Format::Csv => import_csv(text),
        Format::Json => import_json(text),
    }
}

fn delimiter(header: &str) -> u8 {
    let count = |c: char| header.matches(c).count();
    let (semi, comma, tab) = (count(';'), count(','), count('\t'));
    if tab > semi && tab > comma {
        b'\t'
    } else if comma > semi {
        b','
    } else {
        b';'
    }
}

/// Reads a CSV scenario.
pub fn import_csv(text: &str) -> Result<Vec<Inject>, ImportError> {
    // The exercise mark an export starts with is not a row.
    let (text, skipped) = match text.split_once('\n') {
        Some((first, rest)) if first.trim().starts_with("===") && first.contains("CVIČENÍ") => {
            (rest, 1)
        }
        _ => (text, 0),
    };
    let header_line = text.lines().next().unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(header_line))
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::one(Some(1), format!("the header line cannot be read: {e}")))?
        .clone();
    let mut problems = Problems {
        list: Vec::new(),
        total: 0,
    };
    let mut columns: Vec<Option<Column>> = Vec::with_capacity(headers.len());
    for (i, name) in headers.iter().enumerate() {
        let column = Column::from_header(name);
        if column.is_none() && !name.trim().is_empty() {
            problems.push(ImportProblem {
                line: Some(1),
                column: Some((i + 1, name.to_owned())),
                message: format!(
                    "{name:?} is not a scenario column; the columns are {} (or Number, Time, From, To, Method, Subject, Message, Expected Action, Deadline, Objective, Notes, Trigger)",
                    Column::ALL.map(Column::header_cs).join(", ")
                ),
            });
        }
        if let Some(c) = column {
            if columns.contains(&Some(c)) {
                problems.push(ImportProblem {
                    line: Some(1),
                    column: Some((i + 1, name.to_owned())),
                    message: format!("a second {} column", c.header_cs()),
                });
            }
        }
        columns.push(column);
    }
    for required in Column::REQUIRED {
        if !columns.contains(&Some(required)) {
            problems.push(ImportProblem {
                line: Some(1),
                column: None,
                message: format!(
                    "the column {} ({}) is missing",
                    required.header_cs(),
                    required
                        .aliases()
                        .get(3)
                        .copied()
                        .unwrap_or(required.field())
                ),
            });
        }
    }
    problems.finish()?;
    let mut problems = Problems {
        list: Vec::new(),
        total: 0,
    };
    let mut injects = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() + skipped);
                problems.push(ImportProblem {
                    line,
                    column: None,
                    message: format!("the line cannot be read: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line()) + skipped;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() > columns.len() {
            problems.push(ImportProblem {
                line: Some(line),
                column: Some((columns.len() + 1, String::new())),
                message: format!(
                    "the line has {} fields, the header {}",
                    record.len(),
                    columns.len()
                ),
            });
            continue;
        }
        if injects.len() >= MAX_INJECTS {
            problems.push(ImportProblem {
                line: Some(line),
                column: None,
                message: format!("a scenario holds at most {MAX_INJECTS} injects"),
            });
            break;
        }
        let cell = |c: Column| -> (usize, &str) {
            columns
                .iter()
                .position(|x| *x == Some(c))
                .map_or((0, ""), |i| (i + 1, record.get(i).unwrap_or("").trim()))
        };
        let mut fields = RawInject::default();
        for c in Column::ALL {
            fields.set(c, cell(c).1.to_owned());
        }
        match fields.into_inject() {
            Ok(inject) => {
                injects.push(inject);
                lines.push(line);
            }
            Err((c, message)) => {
                let (index, _) = cell(c);
                problems.push(ImportProblem {
                    line: Some(line),
                    column: Some((
                        index,
                        headers
                            .get(index.wrapping_sub(1))
                            .unwrap_or(c.header_cs())
                            .to_owned(),
                    )),
                    message,
                });
            }
        }
    }
    problems.finish_rows(injects.len())?;
    check_scenario(&injects).map_err(|(i, p)| {
        let column = Column::of_field(p.field()).unwrap_or(Column::Number);
        let index = columns.iter().position(|x| *x == Some(column));
        ImportError {
            problems: vec![ImportProblem {
                line: lines.get(i).copied(),
                column: index.map(|i| (i + 1, headers.get(i).unwrap_or("").to_owned())),
                message: p.to_string(),
            }],
            total: 1,
        }
    })?;
    Ok(injects)
}

/// The fields of one inject as text, as both formats carry them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInject {
    #[serde(default, deserialize_with = "number_or_text")]
    pub number: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub expected: String,
    #[serde(default)]
    pub deadline: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub evaluator_notes: String,
    #[serde(default)]
    pub trigger: String,
}

fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        N(u64),
        S(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::N(n) => n.to_string(),
        Either::S(s) => s,
    })
}

impl RawInject {
    fn set(&mut self, c: Column, v: String) {
        let slot = match c {
            Column::Number => &mut self.number,
            Column::Time => &mut self.time,
            Column::From => &mut self.from,
            Column::To => &mut self.to,
            Column::Channel => &mut self.channel,
            Column::Subject => &mut self.subject,
            Column::Content => &mut self.content,
            Column::Expected => &mut self.expected,
            Column::Deadline => &mut self.deadline,
            Column::Objective => &mut self.objective,
            Column::Notes => &mut self.evaluator_notes,
            Column::Trigger => &mut self.trigger,
        };
        *slot = v;
    }

    /// The inject, or the first column with its problem.
    fn into_inject(self) -> Result<Inject, (Column, String)> {
        let number = self
            .number
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                (
                    Column::Number,
                    format!("{:?} is not an inject number (1, 2, 3 …)", self.number),
                )
            })?;
        let time = optional(&self.time)
            .map(ExerciseTime::parse)
            .transpose()
            .map_err(|e| (Column::Time, e.to_string()))?;
        let deadline = optional(&self.deadline)
            .map(ExerciseTime::parse)
            .transpose()
            .map_err(|e| (Column::Deadline, e.to_string()))?;
        let to = Target::parse(&self.to).ok_or_else(|| {
            (
                Column::To,
                format!(
                    "{:?} names no recipient; write \"všichni\", \"ORP <name>\", a role (e.g. \"předseda štábu\") or a member's name",
                    self.to
                ),
            )
        })?;
        let channel = parse_channel(&self.channel).ok_or_else(|| {
            (
                Column::Channel,
                format!(
                    "{:?} is not a channel; write telefonát, e-mail, datová zpráva, osobně or rádio",
                    self.channel
                ),
            )
        })?;
        let trigger = optional(&self.trigger)
            .map(|t| {
                Trigger::parse(t).ok_or_else(|| {
                    (
                        Column::Trigger,
                        format!(
                            "{t:?} is not a trigger; write po-termínu:N, úkol-přijat:N, zpráva-odeslána:ORP <name> or požadavek-štítek:<tag>"
                        ),
                    )
                })
            })
            .transpose()?;
        let inject = Inject {
            number,
            time,
            from: self.from.trim().to_owned(),
            to,
            channel,
            subject: self.subject.trim().to_owned(),
            content: self.content.trim().to_owned(),
            expected: self.expected.trim().to_owned(),
            deadline,
            objective: self.objective.trim().to_owned(),
            evaluator_notes: self.evaluator_notes.trim().to_owned(),
            trigger,
        };
        inject.check().map_err(|p: InjectProblem| {
            (
                Column::of_field(p.field()).unwrap_or(Column::Number),
                p.to_string(),
            )
        })?;
        Ok(inject)
    }

    fn of(inject: &Inject) -> RawInject {
        RawInject {
            number: inject.number.to_string(),
            time: inject.time.map(|t| t.to_string()).unwrap_or_default(),
            from: inject.from.clone(),
            to: inject.to.to_string(),
            channel: inject.channel.label_cs().to_owned(),
            subject: inject.subject.clone(),
            content: inject.content.clone(),
            expected: inject.expected.clone(),
            deadline: inject.deadline.map(|t| t.to_string()).unwrap_or_default(),
            objective: inject.objective.clone(),
            evaluator_notes: inject.evaluator_notes.clone(),
            trigger: inject
                .trigger
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default(),
        }
    }

    fn get(&self, c: Column) -> &str {
        match c {
            Column::Number => &self.number,
            Column::Time => &self.time,
            Column::From => &self.from,
            Column::To => &self.to,
            Column::Channel => &self.channel,
            Column::Subject => &self.subject,
            Column::Content => &self.content,
            Column::Expected => &self.expected,
            Column::Deadline => &self.deadline,
            Column::Objective => &self.objective,
            Column::Notes => &self.evaluator_notes,
            Column::Trigger => &self.trigger,
        }
    }
}

fn optional(text: &str) -> Option<&str> {
    let t = text.trim();
    (!t.is_empty()).then_some(t)
}

/// The JSON file: `{"exercise": true, "injects": [...]}` (a bare array is read too).
#[derive(Serialize, Deserialize)]
struct JsonScenario {
    #[serde(default)]
    exercise: bool,
    injects: Vec<RawInject>,
}

/// Reads a JSON scenario.
pub fn import_json(text: &str) -> Result<Vec<Inject>, ImportError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ImportError {
        problems: vec![ImportProblem {
            line: Some(e.line() as u64),
            column: Some((e.column(), String::new())),
            message: format!("not JSON: {e}"),
        }],
        total: 1,
    })?;
    let elements = match value {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(mut o) => match o.remove("injects") {
            Some(serde_json::Value::Array(a)) => a,
            _ => {
                return Err(ImportError::one(
                    None,
                    "the JSON object has no \"injects\" array",
                ))
            }
        },
        _ => {
            return Err(ImportError::one(
                None,
                "a JSON scenario is an object with an \"injects\" array",
            ))
        }
    };
    if elements.len() > MAX_INJECTS {
        return Err(ImportError::one(
            None,
            format!("a scenario holds at most {MAX_INJECTS} injects"),
        ));
    }
    let mut problems = Problems {
        list: Vec::new(),
        total: 0,
    };
    let mut injects = Vec::new();
    for (i, element) in elements.into_iter().enumerate() {
        let at = |field: &str| Some((i + 1, format!("injects[{i}].{field}")));
        let raw: RawInject = match serde_json::from_value(element) {
            Ok(r) => r,
            Err(e) => {
                problems.push(ImportProblem {
                    line: None,
                    column: at(""),
                    message: e.to_string(),
                });
                continue;
            }
        };
        match raw.into_inject() {
            Ok(inject) => injects.push(inject),
            Err((c, message)) => problems.push(ImportProblem {
                line: None,
                column: at(c.field()),
                message,
            }),
        }
    }
    problems.finish_rows(injects.len())?;
    check_scenario(&injects).map_err(|(i, p)| ImportError {
        problems: vec![ImportProblem {
            line: None,
            column: Some((i + 1, format!("injects[{i}].{}", p.field()))),
            message: p.to_string(),
        }],
        total: 1,
    })?;
    Ok(injects)
}

/// Writes the scenario as CSV: the exercise mark ([`EXERCISE_MARK`], skipped on import), then
/// semicolons, the Czech header, UTF-8 (as Czech spreadsheets read it).
pub fn export_csv(injects: &[Inject]) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::new();
    out.extend_from_slice(EXERCISE_MARK.as_bytes());
    out.push(b'\n');
    let mut writer = csv::WriterBuilder::new().delimiter(b';').from_writer(out);
    writer.write_record(Column::ALL.map(Column::header_cs))?;
    for inject in injects {
        let raw = RawInject::of(inject);
        writer.write_record(Column::ALL.map(|c| raw.get(c)))?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

/// Writes the scenario as JSON (`"exercise": true` marks it as an exercise document).
pub fn export_json(injects: &[Inject]) -> Result<Vec<u8>, serde_json::Error> {
    let doc = JsonScenario {
        exercise: true,
        injects: injects.iter().map(RawInject::of).collect(),
    };
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}

fn time_cell(t: Option<crate::record::Timestamp>) -> String {
    t.and_then(crate::record::Timestamp::to_datetime)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The evaluation as CSV (semicolons, UTF-8): the exercise mark, then one section per part
/// (hot wash, expected actions, response times per ORP and per role, objectives, improvement
/// plan, timeline), each with its own header line, separated by an empty line.
pub fn evaluation_csv(e: &super::evaluation::Evaluation) -> Result<Vec<u8>, csv::Error> {
    use super::evaluation::minutes_text;
    let mut out = Vec::new();
    out.extend_from_slice(EXERCISE_MARK.as_bytes());
    out.push(b'\n');
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_writer(out);
    w.write_record([format!("Vyhodnocení cvičení: {}", e.name)])?;
    w.write_record(["Bezprostřední rozbor"])?;
    for line in &e.hot_wash {
        w.write_record([line])?;
    }
    w.write_record([""])?;
    w.write_record([
        "Číslo",
        "Předmět",
        "Komu",
        "Cíl",
        "Očekávaná reakce",
        "Termín",
        "Vydáno",
        "Splněno",
        "Hodnotil",
        "První reakce",
        "Kdo",
        "Doba reakce",
        "Pozdě",
        "Komentář hodnotitele",
    ])?;
    for x in &e.expected {
        w.write_record([
            x.number.to_string(),
            x.subject.clone(),
            x.to.clone(),
            x.objective.clone(),
            x.expected.clone(),
            x.deadline.map(|d| d.to_string()).unwrap_or_default(),
            time_cell(Some(x.released_at)),
            if x.met { "ano" } else { "ne" }.into(),
            if x.judged {
                "hodnotitel"
            } else {
                "automaticky"
            }
            .into(),
            time_cell(x.first_response_at),
            x.first_response_by.clone().unwrap_or_default(),
            x.response_ms.map(minutes_text).unwrap_or_default(),
            if x.late { "ano" } else { "" }.into(),
            x.comment.clone(),
        ])?;
    }
    for (title, rows) in [
        ("Doby reakce podle ORP", &e.by_orp),
        ("Doby reakce podle role", &e.by_role),
    ] {
        w.write_record([""])?;
        w.write_record([title, "Odpovědí", "Medián", "Nejdelší"])?;
        for r in rows {
            w.write_record([
                r.group.clone(),
                r.answered.to_string(),
                minutes_text(r.median_ms),
                minutes_text(r.max_ms),
            ])?;
        }
    }
    w.write_record([""])?;
    w.write_record(["Cíl", "Očekávaných reakcí", "Splněno", "Pozorování"])?;
    for o in &e.by_objective {
        w.write_record([
            o.objective.clone(),
            o.expected.to_string(),
            o.met.to_string(),
            o.observations.join(" | "),
        ])?;
    }
    w.write_record([""])?;
    w.write_record([
        "Plán nápravných opatření: vstup",
        "Cíl",
        "Zjištění",
        "Opatření",
        "Odpovídá",
        "Termín",
    ])?;
    for p in &e.plan {
        w.write_record([
            p.inject.to_string(),
            p.objective.clone(),
            p.finding.clone(),
            p.action.clone(),
            p.owner.clone(),
            time_cell(p.due),
        ])?;
    }
    w.write_record([""])?;
    w.write_record(["Časová osa: čas", "Co", "Vstupy", "Text", "Kdo"])?;
    for t in &e.timeline {
        w.write_record([
            time_cell(Some(t.at)),
            t.what.clone(),
            t.injects
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            t.text.clone(),
            t.who.clone(),
        ])?;
    }
    w.into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}
