//! Reports as PDF files, made by the engine itself (not the webview's print dialog): a
//! [`Document`] of headings, paragraphs, label–value fields and tables, laid out on A4 portrait
//! pages with margins, wrapped by measured text widths, broken across pages (a table repeats
//! its header row), numbered "Strana N z M", and in a drill marked CVIČENÍ at the top of every
//! page. This module owns the layout and the PDF file; the PDF syntax is `pdf-writer`'s.
//!
//! Text is set in the standard Helvetica and Helvetica-Bold (nothing embedded: a one-page
//! report is a few kilobytes) with an encoding whose `/Differences` name every Czech glyph
//! (`metrics`), so readers draw the real letters and text extraction (`pdftotext`) gives back
//! exactly the Czech text. A character neither font has is printed as a visible `?`, never
//! dropped. Every input is bounded ([`MAX_PAGES`], [`MAX_TEXT_BYTES`], ...): too much is a
//! [`PdfError`], never a panic.
//!
//! The situation report's document is built in `sitrep` ([`situation_report`]).

mod evaluation;
mod metrics;
mod sitrep;

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub use evaluation::evaluation;
pub use sitrep::situation_report;

/// A document to print: a title, an optional subtitle, and its blocks in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub title: String,
    pub subtitle: Option<String>,
    /// A drill's document: every page is marked CVIČENÍ at its top, and the title in the
    /// document information starts with "CVIČENÍ – ".
    pub exercise: bool,
    pub blocks: Vec<Block>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading(String),
    /// Text; a line break in it starts a new line.
    Paragraph(String),
    /// label: value lines (e.g. "Stav k: 1. 12. 2026 10:00")
    Fields(Vec<(String, String)>),
    /// a table with a header row; cells wrap; the header repeats on each new page
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
        /// Relative column widths, one per header.
        widths: Vec<f32>,
    },
}

/// The most pages a document may have.
pub const MAX_PAGES: usize = 500;
/// The most text, in bytes (UTF-8), that a document may hold in all.
pub const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;
/// The most blocks a document may have.
pub const MAX_BLOCKS: usize = 10_000;
/// The most columns a table may have.
pub const MAX_COLUMNS: usize = 12;
/// The narrowest a table column may come out, in points (8.5 mm).
pub const MIN_COLUMN_WIDTH: f32 = 24.0;

/// Why a document cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PdfError {
    #[error("the document would have more than {max} pages")]
    TooManyPages { max: usize },
    #[error("the document holds more than {max} bytes of text")]
    TooMuchText { max: usize },
    #[error("the document has more than {max} blocks")]
    TooManyBlocks { max: usize },
    #[error("a table has {columns} columns; at most {max} fit a page")]
    TooManyColumns { columns: usize, max: usize },
    #[error("a table has no columns")]
    NoColumns,
    #[error("a table has {headers} headers but {widths} column widths")]
    WidthsMismatch { headers: usize, widths: usize },
    #[error("a table's column widths must be positive numbers, each at least {MIN_COLUMN_WIDTH} pt on the page")]
    BadWidths,
    #[error("row {row} of a table has {cells} cells, the table {columns} columns")]
    RowShape {
        row: usize,
        cells: usize,
        columns: usize,
    },
    #[error("a table's header row is taller than half a page")]
    HeaderTooTall,
}

// The page: A4 portrait in points, 20 mm margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.69;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Where content starts below the top edge; lower in a drill, under the CVIČENÍ mark.
const TOP: f32 = PAGE_H - MARGIN;
const TOP_EXERCISE: f32 = PAGE_H - MARGIN - 14.0;
const BOTTOM: f32 = MARGIN;

const TITLE_SIZE: f32 = 16.0;
const SUBTITLE_SIZE: f32 = 11.0;
const HEADING_SIZE: f32 = 12.0;
const TEXT_SIZE: f32 = 10.0;
const TABLE_SIZE: f32 = 9.0;
const FOOTER_SIZE: f32 = 8.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
const CELL_PAD: f32 = 3.0;

/// The mark at the top of every page of a drill's document.
pub const EXERCISE_MARK: &str = "CVIČENÍ – EXERCISE – nejde o skutečnou událost";

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

#[derive(Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => REGULAR,
            Font::Bold => BOLD,
        }
    }

    fn bold(self) -> bool {
        self == Font::Bold
    }
}

/// Text in the fonts' one-byte encoding.
type Encoded = Vec<u8>;

/// The fonts' codes for `text`; a tab is a space, any other character the fonts lack a `?`.
fn encode(text: &str) -> Encoded {
    text.chars()
        .map(|c| match c {
            '\t' => b' ',
            c => metrics::code(c).unwrap_or(metrics::REPLACEMENT),
        })
        .collect()
}

/// The width of `codes` set in `font` at `size`, in points.
fn width(codes: &[u8], font: Font, size: f32) -> f32 {
    let units: u32 = codes
        .iter()
        .map(|&c| u32::from(metrics::width(c, font.bold())))
        .sum();
    units as f32 * size / 1000.0
}

/// `text` broken into lines no wider than `max` (a word wider than a line is broken between
/// its characters); a line break in the text starts a new line. Spaces between words are
/// collapsed to one. Never empty: empty text is one empty line.
fn wrap(text: &str, font: Font, size: f32, max: f32) -> Vec<Encoded> {
    let space = width(b" ", font, size);
    let mut lines = Vec::new();
    for hard in text.split('\n') {
        let encoded = encode(hard.trim_end_matches('\r'));
        let mut line: Encoded = Vec::new();
        let mut line_w = 0.0;
        for word in encoded.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            let word_w = width(word, font, size);
            let gap = if line.is_empty() { 0.0 } else { space };
            if line_w + gap + word_w <= max {
                if !line.is_empty() {
                    line.push(b' ');
                }
                line.extend_from_slice(word);
                line_w += gap + word_w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if word_w <= max {
                line.extend_from_slice(word);
                line_w = word_w;
                continue;
            }
            // Longer than a line: as many characters as fit on each (at least one).
            for &c in word {
                let w = width(&[c], font, size);
                if !line.is_empty() && line_w + w > max {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// One thing drawn on a page.
enum Op {
    Text {
        x: f32,
        /// The baseline.
        y: f32,
        font: Font,
        size: f32,
        text: Encoded,
    },
    /// A thin line.
    Line { x1: f32, y1: f32, x2: f32, y2: f32 },
    /// A light grey area (behind a table's header row).
    Shade { x: f32, y: f32, w: f32, h: f32 },
}

/// The pages laid out so far; `y` is the top of the free space on the last one.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
    top: f32,
}

impl Layout {
    fn new(exercise: bool) -> Result<Layout, PdfError> {
        let top = if exercise { TOP_EXERCISE } else { TOP };
        let mut layout = Layout {
            pages: Vec::new(),
            y: top,
            top,
        };
        layout.new_page()?;
        Ok(layout)
    }

    fn new_page(&mut self) -> Result<(), PdfError> {
        if self.pages.len() >= MAX_PAGES {
            return Err(PdfError::TooManyPages { max: MAX_PAGES });
        }
        self.pages.push(Vec::new());
        self.y = self.top;
        Ok(())
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Room for `height` more points on this page, else a new page.
    fn ensure(&mut self, height: f32) -> Result<(), PdfError> {
        if self.y - height < BOTTOM && self.y < self.top {
            self.new_page()?;
        }
        Ok(())
    }

    /// One line of text at `x`, below `y`; moves `y` down by the line's height.
    fn line(&mut self, x: f32, text: Encoded, font: Font, size: f32) -> Result<(), PdfError> {
        let height = size * LEADING;
        self.ensure(height)?;
        let baseline = self.y - size;
        self.push(Op::Text {
            x,
            y: baseline,
            font,
            size,
            text,
        });
        self.y -= height;
        Ok(())
    }

    fn lines(&mut self, text: &str, font: Font, size: f32) -> Result<(), PdfError> {
        for line in wrap(text, font, size, CONTENT_W) {
            self.line(MARGIN, line, font, size)?;
        }
        Ok(())
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn heading(&mut self, text: &str) -> Result<(), PdfError> {
        // Never alone at the foot of a page: with room for two lines of what follows.
        self.ensure(HEADING_SIZE * LEADING + 8.0 + 2.0 * TEXT_SIZE * LEADING)?;
        if self.y < self.top {
            self.gap(8.0);
        }
        self.lines(text, Font::Bold, HEADING_SIZE)?;
        self.gap(2.0);
        Ok(())
    }

    fn fields(&mut self, fields: &[(String, String)]) -> Result<(), PdfError> {
        let widest = fields
            .iter()
            .map(|(label, _)| width(&encode(&format!("{label}:")), Font::Bold, TEXT_SIZE))
            .fold(0.0, f32::max);
        let label_w = (widest + 8.0).min(CONTENT_W * 0.4);
        let value_w = CONTENT_W - label_w;
        let height = TEXT_SIZE * LEADING;
        for (label, value) in fields {
            let labels = wrap(&format!("{label}:"), Font::Bold, TEXT_SIZE, label_w - 8.0);
            let values = wrap(value, Font::Regular, TEXT_SIZE, value_w);
            let n = labels.len().max(values.len());
            let mut labels = labels.into_iter();
            let mut values = values.into_iter();
            for _ in 0..n {
                self.ensure(height)?;
                let baseline = self.y - TEXT_SIZE;
                if let Some(text) = labels.next() {
                    self.push(Op::Text {
                        x: MARGIN,
                        y: baseline,
                        font: Font::Bold,
                        size: TEXT_SIZE,
                        text,
                    });
                }
                if let Some(text) = values.next() {
                    self.push(Op::Text {
                        x: MARGIN + label_w,
                        y: baseline,
                        font: Font::Regular,
                        size: TEXT_SIZE,
                        text,
                    });
                }
                self.y -= height;
            }
        }
        Ok(())
    }

    fn table(
        &mut self,
        headers: &[String],
        rows: &[Vec<String>],
        widths: &[f32],
    ) -> Result<(), PdfError> {
        let columns = column_widths(headers, rows, widths)?;
        let lead = TABLE_SIZE * LEADING;
        let cells = |texts: &[String], font: Font| -> Vec<Vec<Encoded>> {
            texts
                .iter()
                .zip(&columns)
                .map(|(t, w)| wrap(t, font, TABLE_SIZE, w - 2.0 * CELL_PAD))
                .collect()
        };
        let header = cells(headers, Font::Bold);
        let header_lines = header.iter().map(Vec::len).max().unwrap_or(1);
        let header_h = header_lines as f32 * lead + 2.0 * CELL_PAD;
        if header_h > (self.top - BOTTOM) / 2.0 {
            return Err(PdfError::HeaderTooTall);
        }
        // The header and at least one line of the first row together.
        self.ensure(header_h + lead + 2.0 * CELL_PAD)?;
        self.row(&columns, &header, 0, header_lines, Font::Bold);
        for row in rows {
            let row = cells(row, Font::Regular);
            let n = row.iter().map(Vec::len).max().unwrap_or(1);
            let mut from = 0;
            while from < n {
                let room = ((self.y - BOTTOM - 2.0 * CELL_PAD) / lead).floor();
                let room = if room > 0.0 { room as usize } else { 0 };
                let rest = n - from;
                let fresh = self.y >= self.top - header_h - 0.01;
                let fits_a_page =
                    (rest as f32 * lead + 2.0 * CELL_PAD) <= self.top - BOTTOM - header_h;
                if rest <= room {
                    self.row(&columns, &row, from, n, Font::Regular);
                    break;
                }
                // Split a row only when it could not stand whole on a page of its own.
                if room > 0 && (fresh || !fits_a_page) {
                    self.row(&columns, &row, from, from + room, Font::Regular);
                    from += room;
                }
                self.new_page()?;
                self.row(&columns, &header, 0, header_lines, Font::Bold);
            }
        }
        self.gap(8.0);
        Ok(())
    }

    /// Lines `from..to` of a row of cells, framed; a header row is shaded.
    fn row(&mut self, columns: &[f32], cells: &[Vec<Encoded>], from: usize, to: usize, font: Font) {
        let lead = TABLE_SIZE * LEADING;
        let h = (to - from) as f32 * lead + 2.0 * CELL_PAD;
        let top = self.y;
        let bottom = top - h;
        if font == Font::Bold {
            self.push(Op::Shade {
                x: MARGIN,
                y: bottom,
                w: CONTENT_W,
                h,
            });
        }
        let mut x = MARGIN;
        for (cell, w) in cells.iter().zip(columns) {
            for (i, text) in cell.iter().enumerate().take(to).skip(from) {
                self.push(Op::Text {
                    x: x + CELL_PAD,
                    y: top - CELL_PAD - (i - from) as f32 * lead - TABLE_SIZE,
                    font,
                    size: TABLE_SIZE,
                    text: text.clone(),
                });
            }
            self.push(Op::Line {
                x1: x,
                y1: top,
                x2: x,
                y2: bottom,
            });
            x += w;
        }
        let right = MARGIN + CONTENT_W;
        for (x1, y1, x2, y2) in [
            (right, top, right, bottom),
            (MARGIN, top, right, top),
            (MARGIN, bottom, right, bottom),
        ] {
            self.push(Op::Line { x1, y1, x2, y2 });
        }
        self.y = bottom;
    }
}

/// The columns' widths on the page, from the relative `widths`; checks the table's shape.
fn column_widths(
    headers: &[String],
    rows: &[Vec<String>],
    widths: &[f32],
) -> Result<Vec<f32>, PdfError> {
    if headers.is_empty() {
        return Err(PdfError::NoColumns);
    }
    if headers.len() > MAX_COLUMNS {
        return Err(PdfError::TooManyColumns {
            columns: headers.len(),
            max: MAX_COLUMNS,
        });
    }
    if widths.len() != headers.len() {
        return Err(PdfError::WidthsMismatch {
            headers: headers.len(),
            widths: widths.len(),
        });
    }
    if let Some((row, cells)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != headers.len())
    {
        return Err(PdfError::RowShape {
            row: row + 1,
            cells: cells.len(),
            columns: headers.len(),
        });
    }
    let total: f32 = widths.iter().sum();
    if !total.is_finite() || widths.iter().any(|w| !w.is_finite() || *w <= 0.0) {
        return Err(PdfError::BadWidths);
    }
    let columns: Vec<f32> = widths.iter().map(|w| w / total * CONTENT_W).collect();
    if columns.iter().any(|w| *w < MIN_COLUMN_WIDTH) {
        return Err(PdfError::BadWidths);
    }
    Ok(columns)
}

/// Bytes of text in the document, up to `MAX_TEXT_BYTES + 1` (counting stops there).
fn text_bytes(doc: &Document) -> usize {
    let mut total = doc.title.len() + doc.subtitle.as_ref().map_or(0, String::len);
    for block in &doc.blocks {
        total = total.saturating_add(match block {
            Block::Heading(t) | Block::Paragraph(t) => t.len(),
            Block::Fields(f) => f.iter().map(|(l, v)| l.len() + v.len()).sum(),
            Block::Table { headers, rows, .. } => {
                let mut n: usize = headers.iter().map(String::len).sum();
                for row in rows {
                    n = n.saturating_add(row.iter().map(String::len).sum());
                    if n > MAX_TEXT_BYTES {
                        break;
                    }
                }
                n
            }
        });
        if total > MAX_TEXT_BYTES {
            break;
        }
    }
    total
}

/// The document as a PDF file.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    if doc.blocks.len() > MAX_BLOCKS {
        return Err(PdfError::TooManyBlocks { max: MAX_BLOCKS });
    }
    if text_bytes(doc) > MAX_TEXT_BYTES {
        return Err(PdfError::TooMuchText {
            max: MAX_TEXT_BYTES,
        });
    }
    let pages = layout(doc)?;
    Ok(write(doc, &pages))
}

fn layout(doc: &Document) -> Result<Vec<Vec<Op>>, PdfError> {
    let mut l = Layout::new(doc.exercise)?;
    l.lines(&doc.title, Font::Bold, TITLE_SIZE)?;
    if let Some(subtitle) = &doc.subtitle {
        l.lines(subtitle, Font::Regular, SUBTITLE_SIZE)?;
    }
    l.gap(4.0);
    let y = l.y;
    l.push(Op::Line {
        x1: MARGIN,
        y1: y,
        x2: MARGIN + CONTENT_W,
        y2: y,
    });
    l.gap(8.0);
    for block in &doc.blocks {
        match block {
            Block::Heading(text) => l.heading(text)?,
            Block::Paragraph(text) => {
                l.lines(text, Font::Regular, TEXT_SIZE)?;
                l.gap(4.0);
            }
            Block::Fields(fields) => {
                l.fields(fields)?;
                l.gap(4.0);
            }
            Block::Table {
                headers,
                rows,
                widths,
            } => l.table(headers, rows, widths)?,
        }
    }
    Ok(l.pages)
}

/// Text drawn centred on the page at baseline `y`.
fn centred(content: &mut Content, text: &str, font: Font, size: f32, y: f32) {
    let codes = encode(text);
    let x = (PAGE_W - width(&codes, font, size)) / 2.0;
    content
        .begin_text()
        .set_font(font.name(), size)
        .next_line(x, y)
        .show(Str(&codes))
        .end_text();
}

fn write(doc: &Document, pages: &[Vec<Op>]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    // Page i is object 6 + 2i, its content 7 + 2i (at most MAX_PAGES pages: no overflow).
    let page_ref = |i: usize| Ref::new(6 + 2 * i32::try_from(i).unwrap_or(0));
    let content_ref = |i: usize| Ref::new(7 + 2 * i32::try_from(i).unwrap_or(0));

    pdf.catalog(catalog).pages(tree).lang(TextStr("cs"));
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    let title = if doc.exercise {
        format!("CVIČENÍ – {}", doc.title)
    } else {
        doc.title.clone()
    };
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("KrizLink"));

    for (font_ref, font, base) in [
        (regular, Font::Regular, &b"Helvetica"[..]),
        (bold, Font::Bold, &b"Helvetica-Bold"[..]),
    ] {
        let last = metrics::last_code();
        let mut f = pdf.type1_font(font_ref);
        f.base_font(Name(base))
            .first_char(32)
            .last_char(last)
            .widths((32..=last).map(|c| f32::from(metrics::width(c, font.bold()))));
        let mut encoding = f.encoding_custom();
        encoding.base_encoding(Name(b"WinAnsiEncoding"));
        encoding.differences().consecutive(
            metrics::FIRST_EXTRA,
            metrics::EXTRA
                .iter()
                .map(|(_, glyph, ..)| Name(glyph.as_bytes())),
        );
    }

    let total = pages.len();
    for (i, ops) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_ref(i));
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();

        let mut content = Content::new();
        if doc.exercise {
            // A red frame across the top with the mark in it.
            let (top, h) = (PAGE_H - 22.0, 24.0);
            content
                .set_stroke_rgb(0.75, 0.0, 0.0)
                .set_line_width(1.5)
                .rect(MARGIN, top - h, CONTENT_W, h)
                .stroke()
                .set_fill_rgb(0.75, 0.0, 0.0);
            centred(&mut content, EXERCISE_MARK, Font::Bold, 12.0, top - h + 8.0);
        }
        content
            .set_fill_gray(0.0)
            .set_stroke_gray(0.0)
            .set_line_width(0.5);
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    font,
                    size,
                    text,
                } => {
                    content
                        .begin_text()
                        .set_font(font.name(), *size)
                        .next_line(*x, *y)
                        .show(Str(text))
                        .end_text();
                }
                Op::Line { x1, y1, x2, y2 } => {
                    content.move_to(*x1, *y1).line_to(*x2, *y2).stroke();
                }
                Op::Shade { x, y, w, h } => {
                    content
                        .set_fill_gray(0.88)
                        .rect(*x, *y, *w, *h)
                        .fill_nonzero()
                        .set_fill_gray(0.0);
                }
            }
        }
        content.set_fill_gray(0.3);
        centred(
            &mut content,
            &format!("Strana {} z {}", i + 1, total),
            Font::Regular,
            FOOTER_SIZE,
            BOTTOM / 2.0,
        );
        pdf.stream(content_ref(i), &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    /// How pdf-writer writes the encoded `text` in a content stream (hex for non-ASCII).
    fn shown(text: &str) -> Vec<u8> {
        let codes = encode(text);
        if codes.is_ascii() {
            format!("({text})").into_bytes()
        } else {
            let hex: String = codes.iter().map(|b| format!("{b:02X}")).collect();
            format!("<{hex}>").into_bytes()
        }
    }

    fn big_table(rows: usize) -> Document {
        Document {
            title: "Evakuace – přehled".into(),
            subtitle: None,
            exercise: false,
            blocks: vec![
                Block::Paragraph("Úvod".into()),
                Block::Table {
                    headers: vec!["Obec".into(), "Evakuováno".into(), "Poznámka".into()],
                    rows: (0..rows)
                        .map(|i| {
                            vec![
                                format!("Obec {i}"),
                                i.to_string(),
                                "dlouhá poznámka, která se zalomí na více řádků ".repeat(i % 4),
                            ]
                        })
                        .collect(),
                    widths: vec![2.0, 1.0, 4.0],
                },
            ],
        }
    }

    /// The pages' text ops of `font` at table size.
    fn header_cells(page: &[Op]) -> Vec<Vec<u8>> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text {
                    font: Font::Bold,
                    size,
                    text,
                    ..
                } if *size == TABLE_SIZE => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_long_table_breaks_pages_and_repeats_its_header_on_each() {
        let doc = big_table(300);
        let pages = layout(&doc).expect("laid out");
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let header = vec![encode("Obec"), encode("Evakuováno"), encode("Poznámka")];
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(header_cells(page), header, "page {}", i + 1);
            for op in page {
                if let Op::Text { y, .. } = op {
                    assert!(
                        *y >= BOTTOM - 1.0 && *y <= PAGE_H - MARGIN,
                        "page {}: y {y}",
                        i + 1
                    );
                }
            }
        }
        // Every row is there, once, in order.
        let rows: Vec<Vec<u8>> = pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                Op::Text { text, .. } if text.starts_with(b"Obec ") => Some(text.clone()),
                _ => None,
            })
            .collect();
        let expected: Vec<Vec<u8>> = (0..300).map(|i| encode(&format!("Obec {i}"))).collect();
        assert_eq!(rows, expected);
        let pdf = render(&doc).expect("rendered");
        let n = pages.len();
        for p in 1..=n {
            assert_eq!(contains(&pdf, &shown(&format!("Strana {p} z {n}"))), 1);
        }
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_not_lost() {
        let doc = Document {
            title: "T".into(),
            subtitle: None,
            exercise: false,
            blocks: vec![Block::Table {
                headers: vec!["A".into(), "B".into()],
                rows: vec![vec!["x".into(), "řádek\n".repeat(200)]],
                widths: vec![1.0, 1.0],
            }],
        };
        let pages = layout(&doc).expect("laid out");
        assert!(pages.len() >= 2);
        let lines = pages
            .iter()
            .flatten()
            .filter(|op| matches!(op, Op::Text { text, .. } if *text == encode("řádek")))
            .count();
        assert_eq!(lines, 200);
        for page in &pages {
            assert_eq!(header_cells(page), vec![encode("A"), encode("B")]);
        }
    }

    #[test]
    fn the_exercise_mark_is_on_every_page_and_in_the_title() {
        let mut doc = big_table(200);
        doc.exercise = true;
        let pdf = render(&doc).expect("rendered");
        let pages = layout(&doc).expect("laid out").len();
        assert!(pages >= 2);
        assert_eq!(contains(&pdf, &shown(EXERCISE_MARK)), pages);
        // The title in the document information, UTF-16 with a byte order mark.
        let title: String = "CVIČENÍ – Evakuace"
            .encode_utf16()
            .map(|u| format!("{u:04X}"))
            .collect();
        assert_eq!(contains(&pdf, format!("<FEFF{title}").as_bytes()), 1);

        doc.exercise = false;
        let pdf = render(&doc).expect("rendered");
        assert_eq!(contains(&pdf, &shown(EXERCISE_MARK)), 0);
        assert_eq!(contains(&pdf, &shown("CVIČENÍ")), 0);
    }

    #[test]
    fn czech_text_is_encoded_whole_and_strangers_become_question_marks() {
        let text = "Příliš žluťoučký kůň úpěl ďábelské ódy – „ano“…";
        let codes = encode(text);
        assert_eq!(codes.len(), text.chars().count());
        assert!(!codes.contains(&metrics::REPLACEMENT));
        assert_eq!(encode("a\u{3b1}b😀"), b"a?b?".to_vec());
        assert_eq!(encode("a\u{0}b"), b"a?b".to_vec());
    }

    #[test]
    fn wrapping_measures_the_words() {
        let lines = wrap(
            "aaa bbb ccc",
            Font::Regular,
            10.0,
            width(b"aaa bbb", Font::Regular, 10.0),
        );
        assert_eq!(lines, vec![b"aaa bbb".to_vec(), b"ccc".to_vec()]);
        let long = "W".repeat(100);
        let lines = wrap(&long, Font::Bold, 10.0, 100.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, Font::Bold, 10.0) <= 100.0));
        assert_eq!(lines.concat(), long.into_bytes());
    }

    #[test]
    fn too_much_is_an_error_not_a_panic() {
        let huge = Document {
            title: "T".into(),
            subtitle: None,
            exercise: false,
            blocks: vec![Block::Paragraph("slovo ".repeat(MAX_TEXT_BYTES / 6 + 1))],
        };
        assert_eq!(
            render(&huge),
            Err(PdfError::TooMuchText {
                max: MAX_TEXT_BYTES
            })
        );
        // Within the text bound but beyond the page bound.
        let long = Document {
            blocks: vec![Block::Paragraph("řádek\n".repeat(MAX_PAGES * 60))],
            ..huge.clone()
        };
        assert_eq!(
            render(&long),
            Err(PdfError::TooManyPages { max: MAX_PAGES })
        );
        let many = Document {
            blocks: vec![Block::Heading("H".into()); MAX_BLOCKS + 1],
            ..huge.clone()
        };
        assert_eq!(
            render(&many),
            Err(PdfError::TooManyBlocks { max: MAX_BLOCKS })
        );
        let table = |headers: usize, widths: Vec<f32>, row: usize| Document {
            blocks: vec![Block::Table {
                headers: vec!["h".into(); headers],
                rows: vec![vec!["c".into(); row]],
                widths,
            }],
            ..huge.clone()
        };
        assert_eq!(
            render(&table(2, vec![1.0], 2)),
            Err(PdfError::WidthsMismatch {
                headers: 2,
                widths: 1
            })
        );
        assert_eq!(
            render(&table(2, vec![1.0, 1.0], 3)),
            Err(PdfError::RowShape {
                row: 1,
                cells: 3,
                columns: 2
            })
        );
        for widths in [
            vec![1.0, f32::NAN],
            vec![1.0, -1.0],
            vec![1.0, 0.0],
            vec![1000.0, 1.0],
        ] {
            assert_eq!(render(&table(2, widths, 2)), Err(PdfError::BadWidths));
        }
        assert_eq!(render(&table(0, vec![], 0)), Err(PdfError::NoColumns));
        assert_eq!(
            render(&table(13, vec![1.0; 13], 13)),
            Err(PdfError::TooManyColumns {
                columns: 13,
                max: MAX_COLUMNS
            })
        );
        let tall_header = Document {
            blocks: vec![Block::Table {
                headers: vec!["x\n".repeat(100), "y".into()],
                rows: vec![],
                widths: vec![1.0, 1.0],
            }],
            ..huge
        };
        assert_eq!(render(&tall_header), Err(PdfError::HeaderTooTall));
    }

    #[test]
    fn a_page_is_a_pdf_with_the_czech_encoding_and_page_numbers() {
        let pdf = render(&Document {
            title: "Situační zpráva č. 1".into(),
            subtitle: Some("ORP Vsetín".into()),
            exercise: false,
            blocks: vec![Block::Fields(vec![(
                "Stav k".into(),
                "1. 12. 2026 10:00".into(),
            )])],
        })
        .expect("rendered");
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(contains(&pdf, b"/BaseFont /Helvetica-Bold"), 1);
        assert_eq!(contains(&pdf, b"/Ccaron"), 2);
        assert_eq!(contains(&pdf, b"(Strana 1 z 1)"), 1);
        assert!(pdf.len() < 20_000, "{} bytes", pdf.len());
    }
}
