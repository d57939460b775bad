//! The font side of [`super`]: the one-byte encoding of the two standard fonts (Helvetica and
//! Helvetica-Bold, never embedded) and their advance widths from Adobe's Core 14 AFM files
//! (1997), in thousandths of the font size.
//!
//! Codes 32–126 are ASCII as in WinAnsiEncoding (the base encoding); codes from 128 on are
//! ours, named glyph by glyph in the font's `/Differences` ([`EXTRA`]), so every Czech letter
//! has its own standard glyph name and text extraction maps it back to the right character.

/// Advance widths of codes 32..=126 in Helvetica (WinAnsi: 39 is quotesingle, 96 grave).
const ASCII_REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // 32–47
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 48–63
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // 64–79
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 80–95
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // 96–111
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 112–126
];

/// Advance widths of codes 32..=126 in Helvetica-Bold.
const ASCII_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // 32–47
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 48–63
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // 64–79
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 80–95
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611,
    611, // 96–111
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // 112–126
];

/// The first code of [`EXTRA`].
pub(super) const FIRST_EXTRA: u8 = 128;

/// Characters beyond ASCII, from code 128 on: (character, glyph name, width in Helvetica,
/// width in Helvetica-Bold). Czech first, then typographic punctuation, then the letters of
/// Slovak and German names.
pub(super) const EXTRA: &[(char, &str, u16, u16)] = &[
    ('Á', "Aacute", 667, 722),
    ('á', "aacute", 556, 556),
    ('Č', "Ccaron", 722, 722),
    ('č', "ccaron", 500, 556),
    ('Ď', "Dcaron", 722, 722),
    ('ď', "dcaron", 643, 743),
    ('É', "Eacute", 667, 667),
    ('é', "eacute", 556, 556),
    ('Ě', "Ecaron", 667, 667),
    ('ě', "ecaron", 556, 556),
    ('Í', "Iacute", 278, 278),
    ('í', "iacute", 278, 278),
    ('Ň', "Ncaron", 722, 722),
    ('ň', "ncaron", 556, 611),
    ('Ó', "Oacute", 778, 778),
    ('ó', "oacute", 556, 611),
    ('Ř', "Rcaron", 722, 722),
    ('ř', "rcaron", 333, 389),
    ('Š', "Scaron", 667, 667),
    ('š', "scaron", 500, 556),
    ('Ť', "Tcaron", 611, 611),
    ('ť', "tcaron", 317, 389),
    ('Ú', "Uacute", 722, 722),
    ('ú', "uacute", 556, 611),
    ('Ů', "Uring", 722, 722),
    ('ů', "uring", 556, 611),
    ('Ý', "Yacute", 667, 667),
    ('ý', "yacute", 500, 556),
    ('Ž', "Zcaron", 611, 611),
    ('ž', "zcaron", 500, 500),
    ('–', "endash", 556, 556),
    ('—', "emdash", 1000, 1000),
    ('„', "quotedblbase", 333, 500),
    ('“', "quotedblleft", 333, 500),
    ('”', "quotedblright", 333, 500),
    ('‚', "quotesinglbase", 222, 278),
    ('‘', "quoteleft", 222, 278),
    ('’', "quoteright", 222, 278),
    ('…', "ellipsis", 1000, 1000),
    ('•', "bullet", 350, 350),
    ('°', "degree", 400, 400),
    ('§', "section", 556, 556),
    ('×', "multiply", 584, 584),
    ('€', "Euro", 556, 556),
    ('Ä', "Adieresis", 667, 722),
    ('ä', "adieresis", 556, 556),
    ('Ö', "Odieresis", 778, 778),
    ('ö', "odieresis", 556, 611),
    ('Ü', "Udieresis", 722, 722),
    ('ü', "udieresis", 556, 611),
    ('ß', "germandbls", 611, 611),
    ('Ô', "Ocircumflex", 778, 778),
    ('ô', "ocircumflex", 556, 611),
    ('Ľ', "Lcaron", 556, 611),
    ('ľ', "lcaron", 299, 400),
    ('Ĺ', "Lacute", 556, 611),
    ('ĺ', "lacute", 222, 278),
    ('Ŕ', "Racute", 722, 722),
    ('ŕ', "racute", 333, 389),
];

/// The last code either font uses.
pub(super) fn last_code() -> u8 {
    // EXTRA is a short constant list: 128 + its length stays below 256 (checked in a test).
    FIRST_EXTRA.saturating_add(u8::try_from(EXTRA.len().saturating_sub(1)).unwrap_or(u8::MAX))
}

/// The code printed for a character outside the fonts: a visible question mark.
pub(super) const REPLACEMENT: u8 = b'?';

/// The font's code for `c`, or `None` when neither font has it. A no-break space is a space.
pub(super) fn code(c: char) -> Option<u8> {
    match c {
        ' '..='~' => u8::try_from(u32::from(c)).ok(),
        '\u{a0}' | '\u{202f}' | '\u{2007}' => Some(b' '),
        '\u{2011}' => Some(b'-'),
        _ => EXTRA
            .iter()
            .position(|(x, ..)| *x == c)
            .and_then(|i| u8::try_from(i).ok())
            .map(|i| FIRST_EXTRA.saturating_add(i)),
    }
}

/// The advance width of `code` in thousandths of the font size.
pub(super) fn width(code: u8, bold: bool) -> u16 {
    let ascii = if bold { &ASCII_BOLD } else { &ASCII_REGULAR };
    match code {
        32..=126 => ascii[usize::from(code - 32)],
        _ => code
            .checked_sub(FIRST_EXTRA)
            .and_then(|i| EXTRA.get(usize::from(i)))
            .map(|&(_, _, regular, b)| if bold { b } else { regular })
            .unwrap_or(ascii[usize::from(REPLACEMENT - 32)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_czech_letter_has_a_code_and_the_table_fits_one_byte() {
        assert!(usize::from(FIRST_EXTRA) + EXTRA.len() <= 256);
        for c in "ÁáČčĎďÉéĚěÍíŇňÓóŘřŠšŤťÚúŮůÝýŽž–„“…".chars()
        {
            let code = code(c).expect("a Czech letter");
            assert!(code >= FIRST_EXTRA && code <= last_code(), "{c}");
        }
        assert_eq!(code('a'), Some(b'a'));
        assert_eq!(code('\u{3b1}'), None);
        assert_eq!(width(b'W', false), 944);
        assert_eq!(width(code('ř').expect("ř"), true), 389);
    }
}
